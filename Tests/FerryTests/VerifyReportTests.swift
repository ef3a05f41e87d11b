import FerryCore
@testable import FerryStages
import Foundation
import GRDB
import Testing

/// The verification report of the sample migration: report.html, report.json
/// and the split CSVs, checked against summary.json (the counts verify
/// computed), never against numbers typed here. The pipeline runs through the
/// real executables with `PipelineRun` (EndToEndTests.swift).
@Suite(.serialized)
struct VerifyReportTests {
    /// One clean sample migration shared by the tests that only read its
    /// output: a pipeline run costs seconds.
    static let sample = Result { try SampleReport() }

    struct SampleReport: Sendable {
        let run: PipelineRun
        /// What ferry-verify printed (stdout and stderr together).
        let verifyOutput: String
        let html: String
        var directory: URL { run.stages.appendingPathComponent("verify") }
        /// summary.json, decoded loosely.
        var summary: [String: Any] { (try? Self.json(directory.appendingPathComponent("summary.json"))) ?? [:] }

        init() throws {
            run = try PipelineRun(partRecords: 300)
            for stage in PipelineRun.stages.dropLast() {
                let result = try run.stage(stage)
                guard result.status == 0 || result.status == 3 else { throw TestFailure("ferry-\(stage) exited \(result.status): \(result.output)") }
            }
            let verify = try run.stage("verify")
            guard verify.status == 0 else { throw TestFailure("ferry-verify exited \(verify.status): \(verify.output)") }
            verifyOutput = verify.output
            html = try String(contentsOf: run.stages.appendingPathComponent("verify/report.html"), encoding: .utf8)
        }

        /// The per-kind counts of summary.json: entity → (all, created, migrated, failed, skipped, differing).
        var entities: [String: [String: Int]] {
            (summary["entities"] as! [String: [String: Any]]).mapValues { $0.compactMapValues { $0 as? Int } }
        }

        func total(_ key: String) -> Int { entities.values.reduce(0) { $0 + ($1[key] ?? 0) } }

        static func json(_ url: URL) throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        }
    }

    // MARK: - report.html

    @Test func verifyEndsByPrintingTheReportPath() throws {
        let sample = try Self.sample.get()
        let last = sample.verifyOutput.split(separator: "\n").last.map(String.init) ?? ""
        let path = sample.directory.appendingPathComponent("report.html").path
        #expect(last == "report: \(path)")
        #expect(FileManager.default.fileExists(atPath: path))
    }

    @Test func reportIsOneFileThatLoadsNothing() throws {
        let html = try Self.sample.get().html.lowercased()
        #expect(html.hasPrefix("<!doctype html>"))
        #expect(html.contains("<meta charset=\"utf-8\">"))
        #expect(html.contains("content-security-policy"))
        // Tags only: text from the data is escaped, so "<" never starts one there.
        for reference in ["<script", "<link", "<img", "<iframe", "<object", "<embed", "@import", "url(http"] {
            #expect(!html.contains(reference), "report.html contains \(reference)")
        }
    }

    @Test func summaryTableHoldsTheCountsOfSummaryJSON() throws {
        let sample = try Self.sample.get()
        let table = Self.summaryTable(in: sample.html)
        #expect(table == sample.entities)
        // The headline number people look for first.
        #expect(table["tickets"]?["migrated"] == sample.entities["tickets"]?["migrated"])
        #expect(sample.html.contains("<svg class=\"chart\""))
    }

    @Test func reportShowsReasonsTicketsAndTheRun() throws {
        let sample = try Self.sample.get()
        let html = sample.html
        // The six duplicate users share one normalised reason.
        #expect(html.contains("dedupe: merged into #: same e-mail as user # after trimming and lower-casing (…)"))
        #expect(html.contains("id=\"ticket-1\""))
        #expect(html.contains("dir=\"auto\""))
        #expect(html.contains("Ferry \(FerryVersion.string)"))
        #expect(html.contains("merge_users_by_email: true"))
        // Non-Latin text and emoji from the samples arrive intact.
        #expect(html.contains("URGENT 🔥 dashboard not loading"))
    }

    /// A comment body and a subject with markup, changed in the target so the
    /// ticket differs and is sampled: the report must show the text, not run it.
    @Test func reportEscapesMarkupFromTheData() throws {
        let run = try PipelineRun(partRecords: 300)
        _ = try run.runAll()
        let body = #"<script>alert("ferry")</script> & <b>bold</b>"#
        let queue = try DatabaseQueue(path: run.target.path)
        try queue.write { db in
            let ticket = "(SELECT target_id FROM id_map WHERE entity = 'tickets' AND source_id = '7')"
            try db.execute(sql: "UPDATE tickets SET subject = '<i>tampered</i>' WHERE id = \(ticket)")
            try db.execute(sql: "UPDATE comments SET body_plain = ? WHERE ticket_id = \(ticket)", arguments: [body])
        }
        try queue.close()
        let verify = try run.stage("verify")
        #expect(verify.status == 1)
        let html = try String(contentsOf: run.stages.appendingPathComponent("verify/report.html"), encoding: .utf8)
        #expect(html.contains("&lt;script&gt;alert(&quot;ferry&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"))
        #expect(html.contains("&lt;i&gt;tampered&lt;/i&gt;"))
        #expect(!html.contains("<script"))
        #expect(!html.contains("<b>bold</b>"))
        #expect(!html.contains("<i>tampered</i>"))
        // The differing ticket is in the side-by-side sample, marked.
        let ticket = try #require(html.range(of: "id=\"ticket-7\""))
        #expect(html[ticket.upperBound...].prefix(400).contains("differs"))
        let report = try SampleReport.json(run.stages.appendingPathComponent("verify/report.json"))
        #expect(report["verdict"] as? String == "differences")
    }

    // MARK: - CSV files

    @Test(.enabled(if: TestTools.hasPython3))
    func splitCSVsOpenWithPythonAndHoldExactlyTheCountedRows() throws {
        let sample = try Self.sample.get()
        let script = """
            import csv, json, sys
            out = {}
            for name in ["records", "migrated", "failed", "skipped"]:
                with open(sys.argv[1] + "/" + name + ".csv", newline="", encoding="utf-8") as f:
                    reader = csv.DictReader(f)
                    rows = list(reader)
                    out[name] = {"header": reader.fieldnames, "rows": len(rows), "statuses": sorted({r["status"] for r in rows})}
            print(json.dumps(out))
            """
        let output = try TestTools.run(TestTools.python3!, ["-c", script, sample.directory.path])
        let files = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as! [String: [String: Any]]
        let header = ["entity", "source_id", "target_id", "status", "reason"]
        for name in ["records", "migrated", "failed", "skipped"] {
            #expect(files[name]?["header"] as? [String] == header, "\(name).csv header")
        }
        let unattributed = sample.summary["unattributed_rejects"] as? Int ?? 0
        #expect(files["migrated"]?["rows"] as? Int == sample.total("migrated"))
        #expect(files["failed"]?["rows"] as? Int == sample.total("failed") + unattributed)
        #expect(files["skipped"]?["rows"] as? Int == sample.total("skipped"))
        #expect(files["migrated"]?["statuses"] as? [String] == ["migrated"])
        #expect(files["failed"]?["statuses"] as? [String] == ["failed"])
        #expect(files["skipped"]?["statuses"] as? [String] == ["skipped"])
        let split = ["migrated", "failed", "skipped"].reduce(0) { $0 + (files[$1]?["rows"] as? Int ?? 0) }
        #expect(files["records"]?["rows"] as? Int == split)
        #expect(sample.total("failed") > 0 && sample.total("skipped") > 0, "the samples have failures and skips to list")
    }

    // MARK: - report.json

    @Test func reportJSONAgreesWithSummaryJSON() throws {
        let sample = try Self.sample.get()
        let url = sample.directory.appendingPathComponent("report.json")
        let report = try SampleReport.json(url)
        #expect(NSDictionary(dictionary: report["summary"] as! [String: Any]).isEqual(to: sample.summary))
        #expect(report["ferry_version"] as? String == FerryVersion.string)
        #expect(report["verdict"] as? String == "clean")

        let reasons = report["reasons"] as! [[String: Any]]
        func grouped(_ status: String) -> Int {
            reasons.filter { $0["status"] as? String == status }.reduce(0) { $0 + ($1["count"] as? Int ?? 0) }
        }
        #expect(grouped("failed") == sample.total("failed") + (sample.summary["unattributed_rejects"] as? Int ?? 0))
        #expect(grouped("skipped") == sample.total("skipped"))
        #expect(reasons.allSatisfy { ($0["examples"] as? [Any])?.count ?? 0 <= 3 })

        // The sample: the first tickets in source order, each equal in the target,
        // and one with attachments whose stored bytes hash to the expected SHA-256.
        let tickets = (report["tickets"] as! [String: Any])["tickets"] as! [[String: Any]]
        var sourceOrder: [String] = []
        for part in try sample.run.parts("map") {
            try BundleReader(url: part).read(line: { member, line, _ in
                guard member == EntityType.tickets.memberName, sourceOrder.count < TicketSampler.firstCount else { return }
                sourceOrder.append(try JSONDecoder().decode(Ticket.self, from: line).id)
            })
        }
        #expect(tickets.prefix(TicketSampler.firstCount).map { $0["source_id"] as? String } == sourceOrder)
        #expect(tickets.count <= TicketSampler.limit)
        #expect(tickets.allSatisfy { $0["in_target"] as? Bool == true && $0["has_differences"] as? Bool == false })
        let attachments = tickets.flatMap { $0["attachments"] as? [[String: Any]] ?? [] }
        #expect(!attachments.isEmpty)
        #expect(attachments.allSatisfy { $0["matches"] as? Bool == true && $0["stored_sha256"] as? String == $0["expected_sha256"] as? String })

        // Sorted keys: the top-level keys appear in order.
        let text = try String(contentsOf: url, encoding: .utf8)
        let keys = text.split(separator: "\n").filter { $0.hasPrefix("  \"") }.map { $0.dropFirst(3).prefix { $0 != "\"" } }
        #expect(keys.map(String.init) == keys.map(String.init).sorted())
        #expect(keys.count == report.count)
    }

    // MARK: - Headless Chromium

    /// Renders the report the way a person's browser would, with JavaScript on:
    /// the page must load without a console message and show the counts.
    @Test(.enabled(if: Self.chromium != nil, "needs chromium (or chromium-browser) on PATH: apt-get install chromium"))
    func chromiumRendersTheReportWithoutConsoleErrors() throws {
        let sample = try Self.sample.get()
        let chromium = Self.chromium!
        let page = sample.directory.appendingPathComponent("report.html")

        let rendered = try Self.render(page, chromium: chromium)
        #expect(rendered.dom.contains("id=\"summary-table\""))
        #expect(Self.summaryTable(in: rendered.dom) == sample.entities)
        #expect(Self.consoleErrors(rendered.stderr).isEmpty, "console: \(Self.consoleErrors(rendered.stderr))")

        // The check above is only worth something if Chromium reports console
        // errors this way: a page with a broken script must be caught.
        let folder = try TestFolder("ferry-chromium")
        let broken = try folder.write("broken.html", "<!DOCTYPE html><meta charset=\"utf-8\"><p>x</p><script>notDefined()</script>")
        #expect(!Self.consoleErrors(try Self.render(broken, chromium: chromium).stderr).isEmpty)

        let png = folder.file("report.png")
        try TestTools.run(chromium, Self.chromiumFlags + ["--screenshot=\(png.path)", "--window-size=1280,2400", page.absoluteString], check: false)
        let bytes = try Data(contentsOf: png)
        #expect(bytes.count > 10_000 && bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]))
    }

    static let chromiumFlags = ["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0"]

    static func render(_ page: URL, chromium: String) throws -> (dom: String, stderr: String) {
        let output = try TestTools.run(chromium, chromiumFlags + ["--dump-dom", page.absoluteString], check: false)
        return (output.stdout, output.stderr)
    }

    /// Chromium's log lines for the page's console ("INFO:CONSOLE(1)] "Uncaught ...").
    static func consoleErrors(_ stderr: String) -> [String] {
        stderr.split(separator: "\n").map(String.init).filter { $0.contains("CONSOLE") || $0.contains("Uncaught") }
    }

    /// Chromium from Debian's package (`chromium`) or Ubuntu's (`chromium-browser`), found on PATH.
    static var chromium: String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for name in ["chromium", "chromium-browser"] {
            for folder in path.split(separator: ":") {
                let candidate = "\(folder)/\(name)"
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        return nil
    }

    // MARK: - Reading the summary table

    /// The summary table's counts as the page shows them: `<tr data-entity="tickets">`
    /// rows with `<td data-count="migrated" ...>200</td>` cells (attribute order free,
    /// so it reads Chromium's serialised DOM as well as the file).
    static func summaryTable(in html: String) -> [String: [String: Int]] {
        guard let start = html.range(of: "id=\"summary-table\""),
              let end = html.range(of: "</table>", range: start.upperBound..<html.endIndex) else { return [:] }
        let table = String(html[start.upperBound..<end.lowerBound])
        let row = try! NSRegularExpression(pattern: #"<tr[^>]*data-entity="([^"]+)"[^>]*>(.*?)</tr>"#, options: [.dotMatchesLineSeparators])
        let cell = try! NSRegularExpression(pattern: #"<td[^>]*data-count="([a-z]+)"[^>]*>\s*(\d+)\s*</td>"#)
        var counts: [String: [String: Int]] = [:]
        let ns = table as NSString
        for match in row.matches(in: table, range: NSRange(location: 0, length: ns.length)) {
            let entity = ns.substring(with: match.range(at: 1))
            guard entity != "total" else { continue }
            let cells = ns.substring(with: match.range(at: 2))
            let cellsNS = cells as NSString
            for c in cell.matches(in: cells, range: NSRange(location: 0, length: cellsNS.length)) {
                counts[entity, default: [:]][cellsNS.substring(with: c.range(at: 1))] = Int(cellsNS.substring(with: c.range(at: 2)))
            }
        }
        return counts
    }

    // MARK: - Pure parts

    @Test func reasonsGroupWithIdsAndValuesTakenOut() {
        #expect(ReasonGroups.normalise("dedupe: merged into 2079: same e-mail as user 2079 after trimming (a@b.example)")
                == "dedupe: merged into #: same e-mail as user # after trimming (…)")
        #expect(ReasonGroups.normalise("dedupe: merged into 12: exact copy of the record at part-00001.tar.zst/users.ndjson:12")
                == ReasonGroups.normalise("dedupe: merged into 99: exact copy of the record at part-00003.tar.zst/users.ndjson:4051"))
        #expect(ReasonGroups.normalise(#"found "not-a-number" (see line 4)"#) == #"found "…" (…)"#)

        var groups = ReasonGroups()
        for id in 1...5 {
            groups.add(status: .skipped, entity: "users", sourceID: "\(id)", reason: "dedupe: merged into \(id + 100): exact copy of the record at part-00001.tar.zst/users.ndjson:\(id)")
        }
        groups.add(status: .failed, entity: "tickets", sourceID: "9", reason: "extract: tickets.ndjson:9 ticket 9: bad", groupReason: "extract: bad")
        let sorted = groups.sorted
        #expect(sorted.map(\.status) == ["failed", "skipped"])
        #expect(sorted[1].count == 5 && sorted[1].examples.count == ReasonGroups.maxExamples)
        #expect(sorted[1].examples.map(\.sourceID) == ["1", "2", "3"])
        #expect(sorted[0].reason == "extract: bad" && sorted[0].examples[0].reason.contains("tickets.ndjson:9"))
    }

    @Test func reasonGroupsStayBounded() {
        var groups = ReasonGroups()
        for n in 0..<(ReasonGroups.maxGroups + 50) {
            groups.add(status: .failed, entity: "tickets", sourceID: "\(n)", reason: "reason \(String(repeating: "x", count: n % 200 + 1))")
        }
        let sorted = groups.sorted
        #expect(sorted.count == ReasonGroups.maxGroups + 1)
        #expect(sorted.reduce(0) { $0 + $1.count } == ReasonGroups.maxGroups + 50)
        #expect(sorted.first { $0.reason == ReasonGroups.otherReasons }?.count == 50)
    }

    @Test func configurationSecretsAreRedacted() {
        let yaml = """
            version: 1
            source:
              type: zendesk-api
              api_token: abc123   # from the admin page
              password: "hunter2"
              subdomain: acme
            target: {type: http, client_secret: s3cr3t, url: "https://x.example"}
            signing_key: |
              -----BEGIN KEY-----
              MIIB
            keys:
              token_store:
                a: 1
            after: kept
            """
        let redacted = ConfigRedaction.redact(yaml)
        for secret in ["abc123", "hunter2", "s3cr3t", "MIIB", "BEGIN KEY", "a: 1"] {
            #expect(!redacted.contains(secret), "\(secret) is still in:\n\(redacted)")
        }
        for kept in ["version: 1", "type: zendesk-api", "subdomain: acme", "type: http", "url: \"https://x.example\"", "after: kept", "keys:"] {
            #expect(redacted.contains(kept), "\(kept) is gone from:\n\(redacted)")
        }
        #expect(redacted.contains("api_token: [redacted]"))
        #expect(redacted.split(separator: "\n").count == yaml.split(separator: "\n").count)
    }
}
