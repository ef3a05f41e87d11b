import FerryCore
import Foundation

/// report.html: the verification report as one self-contained page for the
/// people who decide whether to switch platforms.
///
/// Self-contained on purpose: inline CSS and inline SVG, no script, no font,
/// image or stylesheet from anywhere, and a Content-Security-Policy that forbids
/// loading anything, so the file can be mailed, archived or opened offline and
/// shows the same thing years later. Collapsible parts use `<details>`, which
/// needs no JavaScript.
///
/// Every string that comes from the data (names, subjects, bodies, reasons,
/// configuration) goes through `escape`; text cells carry `dir="auto"` so
/// Arabic and Hebrew lay out right to left within a left-to-right page.
struct VerifyHTMLReport {
    let document: VerifyReportDocument

    func render() -> String {
        var page = ""
        let d = document
        page.append("""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
            <meta name="generator" content="Ferry \(escape(d.ferryVersion))">
            <title>Ferry verification report: \(escape(Self.verdictTitle(d.verdict)))</title>
            <style>\(Self.css)</style>
            </head>
            <body>
            <main>

            """)
        header(&page)
        summary(&page)
        reasons(&page)
        differences(&page)
        links(&page)
        tickets(&page)
        run(&page)
        page.append("""
            <footer>Ferry \(escape(d.ferryVersion)) · report generated \(escape(d.generatedAt)) · \
            the same facts for machines: <code>\(escape(d.files.reportJSON))</code></footer>
            </main>
            </body>
            </html>

            """)
        return page
    }

    // MARK: - Sections

    private func header(_ page: inout String) {
        let d = document
        let totals = Self.total(d.summary)
        page.append("<header>\n<p class=\"eyebrow\">Ferry · migration verification</p>\n")
        page.append("<h1>\(escape(Self.verdictTitle(d.verdict)))</h1>\n")
        page.append("<p class=\"verdict \(d.verdict.rawValue)\" id=\"verdict\">\(escape(Self.verdictText(d)))</p>\n")
        page.append("<div class=\"tiles\">\n")
        for (label, value, kind) in [("records in the source", totals.all, "all"), ("migrated", totals.migrated, "migrated"),
                                     ("failed", totals.failed, "failed"), ("skipped", totals.skipped, "skipped"),
                                     ("different in the target", totals.differing, "different")] {
            page.append("<div class=\"tile \(kind)\"><span class=\"value\">\(value)</span><span class=\"label\">\(label)</span></div>\n")
        }
        page.append("</div>\n<dl class=\"facts\">\n")
        page.append("<dt>Target</dt><dd dir=\"auto\"><code>\(escape(d.summary.target))</code></dd>\n")
        page.append("<dt>Verified</dt><dd>\(escape(d.generatedAt))</dd>\n")
        page.append("<dt>Ferry</dt><dd>\(escape(d.ferryVersion))</dd>\n</dl>\n")
        let reasonCount = d.reasons.reduce(0) { $0 + $1.count }
        page.append("""
            <nav><a href="#summary">Summary</a><a href="#reasons">Failed and skipped (\(reasonCount))</a>\
            <a href="#differences">Differences (\(d.differences.rows))</a><a href="#tickets">Tickets side by side (\(d.tickets.tickets.count))</a>\
            <a href="#run">Run</a></nav>
            </header>

            """)
    }

    private func summary(_ page: inout String) {
        let d = document
        page.append("<section id=\"summary\">\n<h2>Summary by kind of record</h2>\n")
        page.append("<p class=\"lead\">Every record the source had ends up exactly once as migrated (in the target and equal to its source, field by field), failed (rejected by a stage, not loaded, missing or different) or skipped (merged into another record or left out on purpose). Created records are ones Ferry made, such as placeholder users.</p>\n")
        page.append(SummaryChart(summary: d.summary).svg())
        page.append("<table id=\"summary-table\" class=\"counts\">\n<thead><tr><th scope=\"col\">kind</th>")
        for column in Self.countColumns { page.append("<th scope=\"col\" class=\"num\">\(column.title)</th>") }
        page.append("<th scope=\"col\">adds up</th></tr></thead>\n<tbody>\n")
        for entity in EntityType.allCases {
            guard let counts = d.summary.entities[entity.rawValue] else { continue }
            countRow(&page, name: entity.rawValue, counts)
        }
        page.append("</tbody>\n<tfoot>\n")
        countRow(&page, name: "total", Self.total(d.summary))
        page.append("</tfoot>\n</table>\n")
        var notes = [d.summary.reconciles
            ? "Counts reconcile: all + created = migrated + failed + skipped for every kind."
            : "Counts do not reconcile: some records are unaccounted for. This is a bug in Ferry; please report it."]
        if d.recordsOutsideDemo > 0 {
            notes.append("Skipped includes \(d.recordsOutsideDemo) record(s) left out by extract (outside a demo selection, or unchanged since the last run in a delta); they are not listed in the CSV files.")
        }
        if d.summary.unattributedRejects > 0 {
            notes.append("\(d.summary.unattributedRejects) unreadable line(s) could not be given a kind; they are in failed.csv with an empty kind and not in these counts.")
        }
        for note in notes { page.append("<p class=\"note\">\(escape(note))</p>\n") }
        page.append("</section>\n\n")
    }

    private func countRow(_ page: inout String, name: String, _ counts: VerifyCounts) {
        page.append("<tr data-entity=\"\(escape(name))\"><th scope=\"row\">\(escape(name))</th>")
        for column in Self.countColumns {
            let value = counts[keyPath: column.value]
            let flag = value > 0 && (column.key == "failed" || column.key == "differing") ? " class=\"num alert\"" : " class=\"num\""
            page.append("<td data-count=\"\(column.key)\"\(flag)>\(value)</td>")
        }
        page.append(counts.reconciles ? "<td class=\"ok\">yes</td></tr>\n" : "<td class=\"alert\">NO</td></tr>\n")
    }

    private func reasons(_ page: inout String) {
        let d = document
        page.append("<section id=\"reasons\">\n<h2>Failed and skipped, by reason</h2>\n")
        guard !d.reasons.isEmpty else {
            page.append("<p class=\"empty\">No record failed or was skipped.</p>\n</section>\n\n")
            return
        }
        page.append("<p class=\"lead\">Reasons are grouped with ids and values taken out; each group shows up to \(ReasonGroups.maxExamples) examples. Every record is listed in <code>failed.csv</code> and <code>skipped.csv</code>.</p>\n")
        page.append("<table class=\"reasons\">\n<thead><tr><th scope=\"col\">status</th><th scope=\"col\">reason</th><th scope=\"col\" class=\"num\">records</th><th scope=\"col\">kinds</th><th scope=\"col\">examples (kind, source id, reason)</th></tr></thead>\n<tbody>\n")
        for group in d.reasons {
            let kinds = group.entities.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            page.append("<tr class=\"\(escape(group.status))\"><td><span class=\"badge \(escape(group.status))\">\(escape(group.status))</span></td>")
            page.append("<td dir=\"auto\">\(escape(group.reason))</td><td class=\"num\">\(group.count)</td><td dir=\"auto\">\(escape(kinds))</td><td><ul class=\"examples\">")
            for example in group.examples {
                page.append("<li><code>\(escape(example.entity.isEmpty ? "?" : example.entity)) \(escape(example.sourceID.isEmpty ? "(no id)" : example.sourceID))</code> <span dir=\"auto\">\(escape(example.reason))</span></li>")
            }
            if group.count > group.examples.count {
                page.append("<li class=\"more\">and \(group.count - group.examples.count) more in \(escape(group.status)).csv</li>")
            }
            page.append("</ul></td></tr>\n")
        }
        page.append("</tbody>\n</table>\n</section>\n\n")
    }

    private func links(_ page: inout String) {
        guard let links = document.unresolvedLinks else { return }
        page.append("<section id=\"links\">\n<h2>Knowledge base links</h2>\n")
        guard links.rows > 0 else {
            page.append("<p class=\"empty\">Every link to the source's knowledge base was rewritten to the target's URL.</p>\n</section>\n\n")
            return
        }
        page.append("<p class=\"note\">\(links.rows) link(s) point at knowledge base records that are not in the target, and were left as they are. Fix them by hand, or migrate the records they point at and load again.</p>\n")
        page.append("<table class=\"differences\">\n<thead><tr><th scope=\"col\">in</th><th scope=\"col\">source id</th><th scope=\"col\">link</th><th scope=\"col\">points at</th></tr></thead>\n<tbody>\n")
        for row in links.shown {
            page.append("<tr><td>\(escape(row.entity))</td><td><code>\(escape(row.recordID))</code></td><td class=\"value\"><code>\(escape(row.url))</code></td><td>\(escape(row.linkedEntity)) <code>\(escape(row.linkedID))</code></td></tr>\n")
        }
        page.append("</tbody>\n</table>\n<p class=\"note\">All of them are in <code>\(escape(links.csv))</code>.</p>\n</section>\n\n")
    }

    private func differences(_ page: inout String) {
        let d = document
        page.append("<section id=\"differences\">\n<h2>Field differences</h2>\n")
        guard d.differences.rows > 0 || d.summary.differences > 0 else {
            page.append("<p class=\"empty\">None: every migrated record equals its source, field by field, and every attachment's stored bytes match its SHA-256.</p>\n</section>\n\n")
            return
        }
        let missing = d.summary.differences - d.differences.rows
        if missing > 0 {
            page.append("<p class=\"note\">\(missing) record(s) are missing from the target; they are in failed.csv with the reason the load gave.</p>\n")
        }
        if d.differences.rows > 0 {
            page.append("<table class=\"differences\">\n<thead><tr><th scope=\"col\">kind</th><th scope=\"col\">source id</th><th scope=\"col\">target id</th><th scope=\"col\">field</th><th scope=\"col\">expected (source)</th><th scope=\"col\">actual (target)</th></tr></thead>\n<tbody>\n")
            for row in d.differences.shown {
                page.append("<tr><td>\(escape(row.entity))</td><td><code>\(escape(row.sourceID))</code></td><td><code>\(escape(row.targetID))</code></td><td><code>\(escape(row.field))</code></td>")
                page.append("<td class=\"value\" dir=\"auto\">\(escape(row.expected))</td><td class=\"value\" dir=\"auto\">\(escape(row.actual))</td></tr>\n")
            }
            page.append("</tbody>\n</table>\n")
            let more = d.differences.rows - d.differences.shown.count
            page.append("<p class=\"note\">\(more > 0 ? "Showing the first \(d.differences.shown.count) of \(d.differences.rows) rows; \(more) more are" : "All \(d.differences.rows) row(s) are also") in <code>\(escape(d.files.differences))</code>.</p>\n")
        }
        page.append("</section>\n\n")
    }

    private func tickets(_ page: inout String) {
        let sample = document.tickets
        page.append("<section id=\"tickets\">\n<h2>Tickets side by side</h2>\n")
        page.append("<p class=\"lead\">\(escape(sample.rule)) The source is the mapped record (stage map); the target is what the archive returns when read back. Names are looked up in the target by source id.</p>\n")
        if sample.moreDiffering {
            page.append("<p class=\"note\">More tickets differ than are shown here; every difference is in differences.csv.</p>\n")
        }
        if sample.tickets.isEmpty { page.append("<p class=\"empty\">No ticket was migrated.</p>\n") }
        // Expanded: the first ticket, the first with attachments, and every one that differs.
        let firstWithAttachments = sample.tickets.firstIndex { !$0.attachments.isEmpty }
        for (number, ticket) in sample.tickets.enumerated() {
            let open = ticket.hasDifferences || number == 0 || number == firstWithAttachments ? " open" : ""
            let badge = ticket.hasDifferences ? "<span class=\"badge failed\">differs</span>"
                : (ticket.inTarget ? "<span class=\"badge migrated\">equal</span>" : "<span class=\"badge failed\">not in target</span>")
            page.append("<details class=\"ticket\" id=\"ticket-\(escape(ticket.sourceID))\"\(open)>\n")
            page.append("<summary><span class=\"ticket-id\">Ticket \(escape(ticket.sourceID))</span> <span class=\"subject\" dir=\"auto\">\(escape(ticket.subject))</span> \(badge)</summary>\n")
            page.append("<p class=\"ids\">source id <code>\(escape(ticket.sourceID))</code> · target id <code>\(ticket.targetID.map(String.init) ?? "none")</code> · \(ticket.commentsInSource) comment(s) in the source, \(ticket.commentsInTarget) in the target · \(ticket.attachmentsInSource) attachment(s)</p>\n")
            fieldTable(&page, ticket)
            commentTable(&page, ticket)
            attachmentTable(&page, ticket)
            page.append("</details>\n")
        }
        page.append("</section>\n\n")
    }

    private func fieldTable(_ page: inout String, _ ticket: TicketComparison) {
        page.append("<table class=\"side\">\n<thead><tr><th scope=\"col\">field</th><th scope=\"col\">source</th><th scope=\"col\">target</th></tr></thead>\n<tbody>\n")
        for field in ticket.fields {
            page.append("<tr\(field.same ? "" : " class=\"differs\"")><th scope=\"row\" dir=\"auto\">\(escape(field.field))</th>")
            page.append("<td dir=\"auto\">\(optional(field.source))</td>")
            page.append("<td dir=\"auto\">\(ticket.inTarget ? optional(field.target) : "<span class=\"missing\">not in the target</span>")</td></tr>\n")
        }
        page.append("</tbody>\n</table>\n")
    }

    private func commentTable(_ page: inout String, _ ticket: TicketComparison) {
        guard !ticket.comments.isEmpty else { return }
        page.append("<table class=\"side comments\">\n<thead><tr><th scope=\"col\">comment</th><th scope=\"col\">source</th><th scope=\"col\">target</th></tr></thead>\n<tbody>\n")
        for comment in ticket.comments {
            page.append("<tr\(comment.same ? "" : " class=\"differs\"")><th scope=\"row\"><code>\(escape(comment.sourceID))</code></th>")
            page.append("<td>\(commentCell(comment.source))</td>")
            page.append("<td>\(comment.target.map(commentCell) ?? "<span class=\"missing\">not in the target</span>")</td></tr>\n")
        }
        page.append("</tbody>\n</table>\n")
        if ticket.commentsInSource > ticket.comments.count {
            page.append("<p class=\"note\">Showing the first \(ticket.comments.count) of \(ticket.commentsInSource) comments.</p>\n")
        }
    }

    private func commentCell(_ side: CommentSide) -> String {
        let visibility = escape(side.visibility)
        return "<div class=\"author\" dir=\"auto\">\(escape(side.author ?? "no author"))</div>"
            + "<div class=\"meta\"><span class=\"vis \(visibility)\">\(visibility)</span> · \(escape(side.createdAt ?? "no time"))</div>"
            + "<div class=\"body\" dir=\"auto\">\(escape(side.body))\(side.truncated ? "…" : "")</div>"
    }

    private func attachmentTable(_ page: inout String, _ ticket: TicketComparison) {
        guard !ticket.attachments.isEmpty else { return }
        page.append("<table class=\"attachments\">\n<thead><tr><th scope=\"col\">attachment</th><th scope=\"col\">comment</th><th scope=\"col\" class=\"num\">bytes (source / stored)</th><th scope=\"col\">SHA-256 expected / stored</th><th scope=\"col\">match</th></tr></thead>\n<tbody>\n")
        for a in ticket.attachments {
            let stored = a.storedSHA256.map { "<code>\(escape($0))</code>" } ?? "<span class=\"missing\">not stored</span>"
            let name = a.storedFileName == nil || a.storedFileName == a.fileName ? escape(a.fileName)
                : "\(escape(a.fileName)) → \(escape(a.storedFileName!))"
            page.append("<tr\(a.matches ? "" : " class=\"differs\"")><td dir=\"auto\">\(name)</td><td><code>\(escape(a.commentID))</code></td>")
            page.append("<td class=\"num\">\(a.expectedSize) / \(a.storedSize.map(String.init) ?? "–")</td>")
            page.append("<td class=\"sha\"><code>\(escape(a.expectedSHA256))</code><br>\(stored)</td>")
            page.append(a.matches ? "<td class=\"ok\">✓ yes</td></tr>\n" : "<td class=\"alert\">✗ no</td></tr>\n")
        }
        page.append("</tbody>\n</table>\n")
        if ticket.attachmentsInSource > ticket.attachments.count {
            page.append("<p class=\"note\">Showing the first \(ticket.attachments.count) of \(ticket.attachmentsInSource) attachments.</p>\n")
        }
    }

    private func run(_ page: inout String) {
        let d = document
        page.append("<section id=\"run\">\n<h2>Run</h2>\n<div class=\"two\">\n<div>\n<h3>Stages</h3>\n")
        page.append("<table class=\"timings\">\n<thead><tr><th scope=\"col\">stage</th><th scope=\"col\">finished</th><th scope=\"col\" class=\"num\">seconds after the previous stage</th></tr></thead>\n<tbody>\n")
        for stage in d.run.stages {
            page.append("<tr><td>\(escape(stage.stage))</td><td>\(escape(stage.finishedAt))</td><td class=\"num\">\(stage.secondsAfterPrevious.map { String(Int($0.rounded())) } ?? "–")</td></tr>\n")
        }
        page.append("<tr><td>verify</td><td>\(escape(d.run.verifyFinishedAt))</td><td class=\"num\">\(escape(String(format: "%.1f", d.run.verifySeconds))) (its own run)</td></tr>\n")
        page.append("</tbody>\n</table>\n<p class=\"note\">Times are when each stage's checkpoint was last written. A gap includes any wait between runs.</p>\n")
        page.append("<h3>Files</h3>\n<ul class=\"files\">\n")
        let files = d.files
        for (path, what) in [(files.records, "every source record: migrated, failed or skipped"), (files.migrated, "the migrated rows"),
                             (files.failed, "the failed rows, with stage and reason"), (files.skipped, "the skipped rows, with reason"),
                             (files.differences, "every differing field"), (files.summary, "the counts"),
                             (files.reportJSON, "this report, for machines"), (files.reportHTML, "this page")] {
            page.append("<li><code>\(escape(path))</code> <span>\(what)</span></li>\n")
        }
        page.append("</ul>\n</div>\n<div>\n<h3>Configuration</h3>\n")
        page.append("<p class=\"note\">\(d.run.configFile.map { "<code>\(escape($0))</code>, as read" } ?? "The configuration as loaded (the file could not be read again)"); values of keys naming a token, password, secret or <code>*_key</code> are shown as <code>\(ConfigRedaction.placeholder)</code>.</p>\n")
        page.append("<pre class=\"config\" dir=\"ltr\">\(escape(d.run.configuration))</pre>\n</div>\n</div>\n</section>\n\n")
    }

    // MARK: - Helpers

    private func optional(_ value: String?) -> String {
        guard let value else { return "<span class=\"none\">none</span>" }
        return value.isEmpty ? "<span class=\"none\">empty</span>" : escape(value)
    }

    /// The count columns: heading, summary.json key (the `data-count` attribute), value.
    static var countColumns: [(title: String, key: String, value: KeyPath<VerifyCounts, Int>)] {
        [("all", "all", \.all), ("created", "created", \.created), ("migrated", "migrated", \.migrated),
         ("failed", "failed", \.failed), ("skipped", "skipped", \.skipped), ("different", "differing", \.differing)]
    }

    static func total(_ summary: VerifyReport) -> VerifyCounts {
        var total = VerifyCounts()
        for counts in summary.entities.values {
            total.all += counts.all; total.created += counts.created; total.migrated += counts.migrated
            total.failed += counts.failed; total.skipped += counts.skipped; total.differing += counts.differing
        }
        return total
    }

    static func verdictTitle(_ verdict: VerifyReportDocument.Verdict) -> String {
        switch verdict {
        case .clean: return "Verification clean"
        case .differences: return "Differences found"
        case .unreconciled: return "Counts do not reconcile"
        }
    }

    static func verdictText(_ d: VerifyReportDocument) -> String {
        switch d.verdict {
        case .clean: return "Every migrated record equals its source, field by field; attachments match by SHA-256."
        case .differences: return "\(d.summary.differences) difference(s): records missing from the target or different in it. They are listed below and in differences.csv."
        case .unreconciled: return "Some records are unaccounted for: all + created does not equal migrated + failed + skipped. This is a bug in Ferry; please report it."
        }
    }

    static let css = """
        :root{--fg:#1c2230;--muted:#5a6478;--line:#dde2ea;--panel:#f5f7fa;--migrated:#2f7d4a;--failed:#c0392b;--different:#7b241c;--skipped:#98a2b3;--created:#3f6fb5;--hl:#fff4e5}
        *{box-sizing:border-box}
        body{margin:0;color:var(--fg);background:#fff;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans Arabic","Noto Sans Hebrew","DejaVu Sans",sans-serif}
        main{max-width:1200px;margin:0 auto;padding:28px 32px 56px}
        h1{font-size:28px;margin:2px 0 6px}
        h2{font-size:20px;margin:0 0 10px;padding-top:8px}
        h3{font-size:15px;margin:14px 0 6px}
        section{margin-top:32px}
        code,pre{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:12.5px}
        .eyebrow{margin:0;color:var(--muted);font-size:13px;letter-spacing:.04em;text-transform:uppercase}
        .verdict{margin:0 0 16px;font-size:16px}
        .verdict.clean{color:var(--migrated)} .verdict.differences,.verdict.unreconciled{color:var(--failed);font-weight:600}
        .tiles{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0 16px}
        .tile{flex:1 1 150px;border:1px solid var(--line);border-left-width:5px;border-radius:6px;padding:10px 14px;background:var(--panel)}
        .tile .value{display:block;font-size:26px;font-weight:650;font-variant-numeric:tabular-nums}
        .tile .label{color:var(--muted);font-size:13px}
        .tile.all{border-left-color:#1c2230} .tile.migrated{border-left-color:var(--migrated)} .tile.failed{border-left-color:var(--failed)}
        .tile.skipped{border-left-color:var(--skipped)} .tile.different{border-left-color:var(--different)}
        .facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0 0 14px;font-size:14px}
        .facts dt{color:var(--muted)} .facts dd{margin:0}
        nav{display:flex;gap:6px;flex-wrap:wrap;border-top:1px solid var(--line);border-bottom:1px solid var(--line);padding:8px 0}
        nav a{color:var(--fg);text-decoration:none;padding:3px 10px;border-radius:14px;background:var(--panel);font-size:14px}
        nav a:hover{background:var(--line)}
        .lead{color:var(--muted);margin:0 0 12px;max-width:900px}
        .note{color:var(--muted);font-size:13.5px;margin:8px 0}
        .empty{padding:12px 14px;background:var(--panel);border-radius:6px}
        table{border-collapse:collapse;width:100%;font-size:14px;margin:6px 0 10px}
        th,td{border-bottom:1px solid var(--line);padding:6px 10px;text-align:left;vertical-align:top}
        thead th{font-size:12.5px;color:var(--muted);font-weight:600;border-bottom:2px solid var(--line);white-space:nowrap}
        tfoot th,tfoot td{font-weight:650;border-top:2px solid var(--line)}
        .num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
        .alert{color:var(--failed);font-weight:650} .ok{color:var(--migrated)}
        table.counts{max-width:900px}
        .chart{display:block;width:100%;max-width:1000px;height:auto;margin:4px 0 8px}
        .chart text{font-size:13px;fill:var(--fg)} .chart .muted{fill:var(--muted)}
        .badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;white-space:nowrap}
        .badge.failed{background:var(--failed)} .badge.skipped{background:#667085} .badge.migrated{background:var(--migrated)}
        ul.examples{margin:0;padding-left:16px} ul.examples li{margin:0 0 3px} ul.examples .more{color:var(--muted);list-style:none}
        td.value{max-width:380px;overflow-wrap:anywhere;white-space:pre-wrap}
        details.ticket{border:1px solid var(--line);border-radius:8px;margin:10px 0;padding:0 14px}
        details.ticket[open]{padding-bottom:8px}
        details.ticket>summary{cursor:pointer;padding:10px 0;font-weight:600}
        .ticket-id{color:var(--muted);font-weight:600;margin-right:6px}
        .ids{color:var(--muted);font-size:13px;margin:0 0 6px}
        table.side th[scope=row]{width:160px;color:var(--muted);font-weight:500}
        table.side td{width:42%;overflow-wrap:anywhere}
        tr.differs td,tr.differs th{background:var(--hl)}
        tr.differs th[scope=row]{box-shadow:inset 3px 0 0 var(--failed)}
        .author{font-size:13px;font-weight:600}
        .meta{color:var(--muted);font-size:12.5px;margin-bottom:4px}
        .vis.private{color:#8a4b00;font-weight:600}
        .body{white-space:pre-wrap;overflow-wrap:anywhere}
        .missing{color:var(--failed);font-style:italic} .none{color:var(--muted);font-style:italic}
        td.sha code{font-size:11.5px;word-break:break-all}
        .two{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:28px}
        @media (max-width:900px){.two{grid-template-columns:1fr}}
        ul.files{padding-left:18px;font-size:13.5px} ul.files span{color:var(--muted)}
        pre.config{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:12px;overflow:auto;max-height:640px;white-space:pre-wrap}
        footer{margin-top:40px;padding-top:12px;border-top:1px solid var(--line);color:var(--muted);font-size:13px}
        @media print{details.ticket{break-inside:avoid} nav{display:none}}
        """
}

/// Escapes text for HTML element content and attribute values.
fileprivate func escape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for character in text.unicodeScalars {
        switch character {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.unicodeScalars.append(character)
        }
    }
    return out
}

/// The summary as a horizontal bar per kind of record, each bar split into
/// migrated, failed (rejected or not loaded), different and skipped. Bars are
/// 100 % wide whatever the count, because kinds range from a handful of
/// categories to millions of comments; the count is written at the end of the
/// bar, and a nonzero share gets at least a sliver so a single failure shows.
struct SummaryChart {
    let summary: VerifyReport

    static let segments: [(name: String, color: String)] = [
        ("migrated", "#2f7d4a"), ("failed", "#c0392b"), ("different", "#7b241c"), ("skipped", "#98a2b3"),
    ]

    func svg() -> String {
        let rows = EntityType.allCases.compactMap { entity in summary.entities[entity.rawValue].map { (entity.rawValue, $0) } }
        let width = 1000, labelWidth = 120.0, barX = 130.0, barWidth = 520.0, rowHeight = 28.0, top = 34.0
        let height = top + Double(rows.count) * rowHeight + 6
        var svg = "<svg class=\"chart\" role=\"img\" aria-labelledby=\"chart-title\" viewBox=\"0 0 \(width) \(Int(height))\">\n"
        svg += "<title id=\"chart-title\">Records per kind: migrated, failed, different and skipped</title>\n"
        var legendX = barX
        for segment in Self.segments {
            svg += "<rect x=\"\(legendX)\" y=\"6\" width=\"12\" height=\"12\" rx=\"2\" fill=\"\(segment.color)\"/><text x=\"\(legendX + 17)\" y=\"16\">\(segment.name)</text>\n"
            legendX += 110
        }
        for (index, (name, counts)) in rows.enumerated() {
            let y = top + Double(index) * rowHeight
            svg += "<text x=\"\(labelWidth)\" y=\"\(y + 15)\" text-anchor=\"end\">\(escape(name))</text>\n"
            let values = [counts.migrated, counts.failed - counts.differing, counts.differing, counts.skipped]
            let total = values.reduce(0, +)
            svg += "<rect x=\"\(barX)\" y=\"\(y + 2)\" width=\"\(barWidth)\" height=\"18\" rx=\"3\" fill=\"#eef1f5\"/>\n"
            if total > 0 {
                let minimum = 3.0
                let nonzero = values.filter { $0 > 0 }.count
                let scalable = barWidth - minimum * Double(nonzero)
                var x = barX
                for (segment, value) in zip(Self.segments, values) where value > 0 {
                    let width = minimum + scalable * Double(value) / Double(total)
                    svg += "<rect x=\"\(Self.format(x))\" y=\"\(y + 2)\" width=\"\(Self.format(width))\" height=\"18\" fill=\"\(segment.color)\"><title>\(escape(name)): \(value) \(segment.name)</title></rect>\n"
                    x += width
                }
            }
            var label = "\(counts.all) in source"
            if counts.created > 0 { label += " + \(counts.created) created" }
            let problems = [(counts.failed, "failed"), (counts.skipped, "skipped")].filter { $0.0 > 0 }.map { "\($0.0) \($0.1)" }
            if !problems.isEmpty { label += " · " + problems.joined(separator: ", ") }
            svg += "<text class=\"muted\" x=\"\(barX + barWidth + 10)\" y=\"\(y + 15)\">\(escape(label))</text>\n"
        }
        return svg + "</svg>\n"
    }

    static func format(_ value: Double) -> String { String(format: "%.1f", value) }
}
