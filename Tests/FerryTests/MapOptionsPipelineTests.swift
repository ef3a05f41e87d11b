import FerryCore
import Foundation
import GRDB
import Testing

/// Filters, migration options, custom field conversion, demo sampling and
/// knowledge base link rewriting, through the real executables on the samples.
/// Expected numbers come from the sample files themselves (read here with
/// JSONSerialization), never typed in.
@Suite(.serialized)
struct MapOptionsPipelineTests {
    /// The valid ticket objects of the sample export (broken lines left out, as extract rejects them).
    static func sampleTickets(_ folder: URL = PipelineRun.repositoryRoot.appendingPathComponent("samples/zendesk-export")) throws -> [[String: Any]] {
        try String(contentsOf: folder.appendingPathComponent("tickets.ndjson"), encoding: .utf8).split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], object["id"] is Int else { return nil }
            return object
        }
    }

    static func sampleArticles() throws -> [[String: Any]] {
        let url = PipelineRun.repositoryRoot.appendingPathComponent("samples/zendesk-export/help_center/articles.ndjson")
        return try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    static func comments(_ ticket: [String: Any]) -> [[String: Any]] { ticket["comments"] as? [[String: Any]] ?? [] }
    static func attachments(_ object: [String: Any]) -> [[String: Any]] { object["attachments"] as? [[String: Any]] ?? [] }

    func query<T: DatabaseValueConvertible>(_ run: PipelineRun, _ sql: String) throws -> T? {
        let queue = try DatabaseQueue(path: run.target.path)
        defer { try? queue.close() }
        return try queue.read { try T.fetchOne($0, sql: sql) }
    }

    func skippedReasons(_ run: PipelineRun) throws -> [String] {
        try String(contentsOf: run.stages.appendingPathComponent("verify/skipped.csv"), encoding: .utf8).split(separator: "\n").map(String.init)
    }

    // MARK: filters

    @Test func statusAndTagFiltersSkipTicketsWithTheirChildrenAndThePlanCountsThem() throws {
        let run = try PipelineRun(partRecords: 300)
        try run.editConfig { $0.replacingOccurrences(of: "  missing_users: placeholder", with: """
              missing_users: placeholder
              filters:
                statuses: [solved, closed]
                tags_none: [vip]
            """) }
        let tickets = try Self.sampleTickets()
        let kept = tickets.filter { ["solved", "closed"].contains($0["status"] as? String) && !(($0["tags"] as? [String]) ?? []).contains("vip") }
        let skipped = tickets.filter { t in !kept.contains { ($0["id"] as! Int) == (t["id"] as! Int) } }
        #expect(!kept.isEmpty && !skipped.isEmpty)

        _ = try run.stage("extract")
        _ = try run.stage("dedupe")
        let plan = try run.stage("map", ["--plan"])
        #expect(plan.status == 0, "\(plan.output)")
        #expect(plan.output.contains("map.filters: \(skipped.count) of \(tickets.count) ticket(s)"), "\(plan.output)")
        let planLines = plan.output.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
        let byStatus = skipped.filter { !["solved", "closed"].contains($0["status"] as? String) }.count
        #expect(planLines.contains("map.filters.statuses \(byStatus) 0"), "\(plan.output)")
        #expect(planLines.contains("map.filters.tags_none \(skipped.count - byStatus) 0"), "\(plan.output)")

        let statuses = try run.runAll()
        #expect(statuses["verify"] == 0)
        let summary = try run.verifySummary()
        #expect(summary.entities["tickets"]?["skipped"] == skipped.count)
        #expect(summary.entities["tickets"]?["migrated"] == kept.count)
        #expect(summary.entities["comments"]?["skipped"] == skipped.reduce(0) { $0 + Self.comments($1).count })
        #expect(summary.entities["attachments"]?["skipped"] == skipped.reduce(0) { $0 + Self.comments($1).reduce(0) { $0 + Self.attachments($1).count } })
        #expect(summary.differences == 0)
        #expect(try query(run, "SELECT count(*) FROM tickets") as Int? == kept.count)
        #expect(try skippedReasons(run).contains { $0.hasPrefix("tickets,") && $0.contains("map: map.filters.statuses: status") })
    }

    // MARK: options

    @Test func everyOptionShowsInTheTargetAndVerifyStaysClean() throws {
        let run = try PipelineRun(partRecords: 300)
        // A copy of the export with one more user: deactivated, and referred to by nothing.
        let export = run.root.appendingPathComponent("export")
        try FileManager.default.copyItem(at: PipelineRun.repositoryRoot.appendingPathComponent("samples/zendesk-export"), to: export)
        let users = try FileHandle(forWritingTo: export.appendingPathComponent("users.ndjson"))
        try users.seekToEnd()
        try users.write(contentsOf: Data(#"{"id":2777,"name":"Former Customer","email":"former.customer@example.com","role":"end-user","active":false,"created_at":"2023-01-01T00:00:00Z","updated_at":"2023-01-01T00:00:00Z"}"#.utf8 + [0x0a]))
        try users.close()
        let sizeLimit = 5000
        try run.editConfig {
            $0.replacingOccurrences(of: "path: \(PipelineRun.repositoryRoot.path)/samples/zendesk-export", with: "path: \(export.path)")
                .replacingOccurrences(of: "  missing_users: placeholder", with: """
                  missing_users: placeholder
                  options:
                    tag_tickets: migrated-from-zendesk
                    subject_template: "[ZD#{id}] {subject}"
                    inline_images: attachments
                    max_attachment_bytes: \(sizeLimit)
                    max_attachments_per_comment: 1
                    ticket_events: note
                    custom_fields_note: true
                    inactive_users: skip
                    article_translations: false
                """)
        }
        let statuses = try run.runAll()
        #expect(statuses["verify"] == 0)
        let summary = try run.verifySummary()
        #expect(summary.differences == 0)

        let tickets = try Self.sampleTickets(export)
        let articles = try Self.sampleArticles()
        // Tag and subject on every ticket.
        #expect(try query(run, "SELECT count(*) FROM tickets WHERE tags NOT LIKE '%\"migrated-from-zendesk\"%'") as Int? == 0)
        #expect(try query(run, "SELECT count(*) FROM tickets WHERE subject NOT LIKE '[ZD#' || source_id || '] %'") as Int? == 0)
        #expect(try query(run, "SELECT count(*) FROM tickets") as Int? == tickets.count)
        // Attachments over the size are skipped, with the reason.
        let ticketAttachments = tickets.flatMap { Self.comments($0).flatMap(Self.attachments) }
        let allAttachments = ticketAttachments + articles.flatMap(Self.attachments)
        let tooBig = allAttachments.filter { ($0["size"] as! Int) > sizeLimit }.count
        #expect(tooBig > 0)
        #expect(summary.entities["attachments"]?["skipped"] == tooBig)
        #expect(try skippedReasons(run).filter { $0.contains("map.options.max_attachment_bytes") }.count == tooBig)
        #expect(try query(run, "SELECT count(*) FROM attachments WHERE size > \(sizeLimit)") as Int? == 0)
        // At most one attachment per comment; the rest on follow-up comments.
        #expect(try query(run, "SELECT max(n) FROM (SELECT count(*) AS n FROM attachments WHERE comment_id IS NOT NULL GROUP BY comment_id)") as Int? == 1)
        let followUps = tickets.flatMap(Self.comments).reduce(0) { total, comment in
            total + max(0, Self.attachments(comment).filter { ($0["size"] as! Int) <= sizeLimit }.count - 1)
        }
        #expect(followUps > 0)
        #expect(try query(run, "SELECT count(*) FROM comments WHERE source_id LIKE '%-ferry-%'") as Int? == followUps)
        // Inline images are ordinary attachments, named in the comment's text.
        #expect(try query(run, "SELECT count(*) FROM attachments WHERE inline = 1") as Int? == 0)
        let inlineComments = Set(tickets.flatMap(Self.comments).filter { c in
            Self.attachments(c).contains { ($0["inline"] as? Bool) == true && ($0["size"] as! Int) <= sizeLimit }
        }.map { "\($0["id"] as! Int)" })
        #expect(!inlineComments.isEmpty)
        #expect(try query(run, "SELECT count(*) FROM comments WHERE body_html LIKE '%[image: %'") as Int? == inlineComments.count)
        // Ticket events and custom fields as private notes.
        let events = tickets.flatMap { $0["audits"] as? [[String: Any]] ?? [] }.filter { audit in
            (audit["events"] as? [[String: Any]] ?? []).contains { ($0["type"] as? String) == "Change" }
        }.count
        #expect(events > 0)
        #expect(try query(run, "SELECT count(*) FROM comments WHERE source_id LIKE 'ferry-event-%' AND public = 0") as Int? == events)
        let withFields = tickets.filter { ($0["custom_fields"] as? [[String: Any]] ?? []).contains { !($0["value"] is NSNull) } }.count
        #expect(try query(run, "SELECT count(*) FROM comments WHERE source_id LIKE 'ferry-custom-fields-%' AND public = 0") as Int? == withFields)
        #expect(summary.entities["comments"]?["created"] == followUps + events + withFields)
        // No translations; the unreferenced deactivated user is left out, the referenced one kept.
        #expect(try query(run, "SELECT count(*) FROM kb_translations") as Int? == 0)
        #expect(try skippedReasons(run).contains { $0.hasPrefix("users,2777,") && $0.contains("inactive_users") })
        #expect(try query(run, "SELECT count(*) FROM users WHERE source_id = '2777'") as Int? == 0)
        #expect(try query(run, "SELECT count(*) FROM users WHERE source_id = '2010'") as Int? == 1)
    }

    @Test func attachmentsNoneSkipsEveryAttachmentAndEventsAreDroppedByDefault() throws {
        let run = try PipelineRun(partRecords: 300)
        try run.editConfig { $0.replacingOccurrences(of: "  missing_users: placeholder", with: """
              missing_users: placeholder
              options:
                attachments: none
            """) }
        let statuses = try run.runAll()
        #expect(statuses["verify"] == 0)
        let summary = try run.verifySummary()
        let tickets = try Self.sampleTickets()
        let all = tickets.flatMap { Self.comments($0).flatMap(Self.attachments) }.count + (try Self.sampleArticles()).flatMap(Self.attachments).count
        #expect(all > 0)
        #expect(summary.entities["attachments"]?["skipped"] == all)
        #expect(summary.differences == 0)
        #expect(try query(run, "SELECT count(*) FROM attachments") as Int? == 0)
        #expect(try query(run, "SELECT count(*) FROM blobs") as Int? == 0)
        #expect(try skippedReasons(run).filter { $0.contains("map.options.attachments: none") }.count == all)
        // ticket_events defaults to drop: no notes, and a change record per ticket with events.
        #expect(try query(run, "SELECT count(*) FROM comments WHERE source_id LIKE 'ferry-%'") as Int? == 0)
        var dropped = 0
        for part in try run.parts("map") {
            try BundleReader(url: part).read(line: { member, line, _ in
                guard member == FieldChange.memberName, let change = try? JSONDecoder().decode(FieldChange.self, from: line),
                      change.field == "events" else { return }
                #expect(change.reason.hasPrefix("map.options.ticket_events: drop"))
                dropped += 1
            })
        }
        #expect(dropped == tickets.filter { !($0["audits"] as? [Any] ?? []).isEmpty }.count)
    }

    // MARK: custom field conversion

    static let conversions = [
        "    fields:",
        "      \"Order number\": order_number",
        "      \"Product\": product",
        "      \"Seats\": { key: seats, type: text }",
        "      \"VIP\": { key: vip, type: text }",
        "      \"Refund amount\": { key: refund_amount, type: integer }",
        "      \"Plan\": { key: plan, type: dropdown, options: { plan_free: free, plan_starter: starter, plan_pro: pro, plan_enterprise: enterprise } }",
        "      \"Affected modules\": { key: affected_modules, type: multiselect }",
        "      \"Purchase date\": { key: purchase_date, type: text, regexp: \"20[0-9]{2}-[0-9]{2}-[0-9]{2}\" }",
        "      \"Serial number\": serial_number",
        "      \"Customer notes\": customer_notes",
    ].joined(separator: "\n")

    /// Tickets with a value the conversions above cannot take: a refund with
    /// cents (not a whole number) or a module the field does not offer.
    static func unconvertible(_ tickets: [[String: Any]]) throws -> [Int] {
        let fields = try String(contentsOf: PipelineRun.repositoryRoot.appendingPathComponent("samples/zendesk-export/ticket_fields.ndjson"), encoding: .utf8)
            .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let modules = fields.first { ($0["title"] as? String) == "Affected modules" }!
        let moduleOptions = Set((modules["custom_field_options"] as! [[String: Any]]).map { $0["value"] as! String })
        let moduleID = modules["id"] as! Int
        let refundID = fields.first { ($0["title"] as? String) == "Refund amount" }!["id"] as! Int
        return tickets.filter { ticket in
            (ticket["custom_fields"] as? [[String: Any]] ?? []).contains { value in
                switch (value["id"] as? Int, value["value"]) {
                case (refundID?, let amount as String): return !(amount.hasSuffix(".00") || !amount.contains("."))
                case (moduleID?, let chosen as [String]): return !Set(chosen).isSubset(of: moduleOptions)
                default: return false
                }
            }
        }.map { $0["id"] as! Int }
    }

    @Test(arguments: ["note", "reject"])
    func customFieldsConvertAndUnconvertibleValuesAreNeverLost(policy: String) throws {
        let run = try PipelineRun(partRecords: 300)
        try run.editConfig { text in
            let start = text.range(of: "    fields:\n")!.lowerBound
            let end = text.range(of: "  missing_users:")!.lowerBound
            return text.replacingCharacters(in: start..<end, with: Self.conversions + "\n    unconvertible: \(policy)\n")
        }
        let tickets = try Self.sampleTickets()
        let failing = try Self.unconvertible(tickets)
        #expect(!failing.isEmpty)
        let statuses = try run.runAll()
        #expect(statuses["verify"] == 0)
        let summary = try run.verifySummary()
        #expect(summary.differences == 0)
        #expect(try query(run, "SELECT type FROM ticket_fields WHERE key = 'plan'") as String? == "dropdown")
        #expect(try query(run, "SELECT type FROM ticket_fields WHERE key = 'seats'") as String? == "text")
        #expect(try query(run, "SELECT count(*) FROM ticket_field_values v JOIN ticket_fields f ON f.id = v.field_id WHERE f.key = 'plan' AND v.value NOT IN ('\"free\"', '\"starter\"', '\"pro\"', '\"enterprise\"')") as Int? == 0)
        #expect(try query(run, "SELECT count(*) FROM ticket_field_values v JOIN ticket_fields f ON f.id = v.field_id WHERE f.key = 'seats' AND v.value NOT LIKE '\"%\"'") as Int? == 0)
        #expect(try query(run, "SELECT count(*) FROM ticket_field_values v JOIN ticket_fields f ON f.id = v.field_id WHERE f.key = 'vip' AND v.value NOT IN ('\"true\"', '\"false\"')") as Int? == 0)
        if policy == "note" {
            #expect(summary.entities["tickets"]?["migrated"] == tickets.count)
            #expect(try query(run, "SELECT count(*) FROM comments WHERE source_id LIKE 'ferry-fields-%' AND public = 0") as Int? == failing.count)
            let note: String? = try query(run, "SELECT body_plain FROM comments WHERE source_id = 'ferry-fields-\(failing[0])'")
            #expect(note?.contains("(refund_amount, integer)") == true || note?.contains("(affected_modules, multiselect)") == true, "\(note ?? "no note")")
        } else {
            #expect(summary.entities["tickets"]?["failed"] == failing.count + 3)  // + the 3 broken lines
            let failed = try String(contentsOf: run.stages.appendingPathComponent("verify/failed.csv"), encoding: .utf8)
            #expect(failed.contains("tickets,\(failing[0]),,failed,\"map: "))
            #expect(failed.contains("map.custom_fields.unconvertible: reject"))
        }
    }

    // MARK: demo

    @Test func demoSamplesAreDeterministicAndClosed() throws {
        let run = try PipelineRun(partRecords: 300)
        func demo(_ name: String, _ flags: [String]) throws -> (digests: [String], records: [String: [[String: Any]]]) {
            let result = try run.stage("extract", ["--stages-dir", name] + flags)
            #expect(result.status == 0 || result.status == 3, "\(result.output)")
            let directory = StageDirectory(root: run.root.appendingPathComponent(name), name: "extract")
            var digests: [String] = []
            var records: [String: [[String: Any]]] = [:]
            for part in try directory.finishedOutput().parts {
                let reader = try BundleReader(url: part)
                digests += reader.manifest.members.map(\.sha256)
                try reader.read(line: { member, line, _ in
                    guard let entity = EntityType(memberName: member) else { return }
                    records[entity.rawValue, default: []].append(try JSONSerialization.jsonObject(with: line) as! [String: Any])
                })
            }
            return (digests, records)
        }
        let first = try demo("demo-a", ["--sample", "20", "--seed", "7"])
        let again = try demo("demo-b", ["--sample", "20", "--seed", "7"])
        let other = try demo("demo-c", ["--sample", "20", "--seed", "8"])
        #expect(first.digests == again.digests)
        #expect(first.digests != other.digests)
        #expect(first.records["tickets"]?.count == 20)
        #expect(first.records["kb_articles"]?.count == 20)

        // Closure: everything a sampled record refers to is in the sample (or missing from the export itself).
        func ids(_ entity: String, _ records: [String: [[String: Any]]]) -> Set<String> { Set((records[entity] ?? []).map { $0["id"] as! String }) }
        let full = try demo("full", [])
        let allUsers = ids("users", full.records)
        let users = ids("users", first.records), orgs = ids("organizations", first.records), groups = ids("groups", first.records)
        let fields = ids("ticket_fields", first.records), comments = ids("comments", first.records), tickets = ids("tickets", first.records)
        let sections = ids("kb_sections", first.records), categories = ids("kb_categories", first.records), articles = ids("kb_articles", first.records)
        func userPresent(_ id: Any?) -> Bool { guard let id = id as? String else { return true }; return users.contains(id) || !allUsers.contains(id) }
        for ticket in first.records["tickets"] ?? [] {
            for key in ["requester_id", "submitter_id", "assignee_id"] { #expect(userPresent(ticket[key]), "ticket \(ticket["id"]!) \(key)") }
            for id in (ticket["cc_ids"] as? [String] ?? []) + (ticket["follower_ids"] as? [String] ?? []) { #expect(userPresent(id)) }
            if let org = ticket["organization_id"] as? String { #expect(orgs.contains(org)) }
            if let group = ticket["group_id"] as? String { #expect(groups.contains(group)) }
            for value in ticket["custom_fields"] as? [[String: Any]] ?? [] { #expect(fields.contains(value["field_id"] as! String)) }
            let expectedComments = full.records["comments"]!.filter { ($0["ticket_id"] as! String) == (ticket["id"] as! String) }.count
            #expect(first.records["comments"]!.filter { ($0["ticket_id"] as! String) == (ticket["id"] as! String) }.count == expectedComments)
        }
        for comment in first.records["comments"] ?? [] {
            #expect(tickets.contains(comment["ticket_id"] as! String))
            #expect(userPresent(comment["author_id"]))
        }
        for attachment in first.records["attachments"] ?? [] {
            #expect((attachment["parent_type"] as! String == "comment" ? comments : articles).contains(attachment["parent_id"] as! String))
        }
        for article in first.records["kb_articles"] ?? [] {
            #expect(sections.contains(article["section_id"] as! String))
            #expect(userPresent(article["author_id"]))
        }
        for section in first.records["kb_sections"] ?? [] { #expect(categories.contains(section["category_id"] as! String)) }
        for user in first.records["users"] ?? [] {
            if let org = user["organization_id"] as? String { #expect(orgs.contains(org), "user \(user["id"]!) organization") }
        }
    }

    // MARK: knowledge base links

    @Test func everyInternalLinkIsRewrittenAndTheDanglingOneReported() throws {
        let run = try PipelineRun(partRecords: 300)
        let statuses = try run.runAll()
        #expect(statuses["verify"] == 0)
        let verify = try run.stage("verify")
        #expect(verify.output.contains("link(s) point at records not in the target"))

        // Source-form links in the sample: articles (bodies and translations) and ticket comments.
        let sourceLink = try NSRegularExpression(pattern: #"href="(?:https://acme\.zendesk\.com)?/hc/(?:[^"/]*/)?(?:articles|sections|categories)/([0-9]+)"#)
        func links(_ html: String) -> [String] {
            sourceLink.matches(in: html, range: NSRange(html.startIndex..., in: html)).map { String(html[Range($0.range(at: 1), in: html)!]) }
        }
        var bodies = try Self.sampleArticles().flatMap { a in [a["body"] as! String] + (a["translations"] as! [[String: Any]]).map { $0["body"] as! String } }
        bodies += try Self.sampleTickets().flatMap(Self.comments).compactMap { $0["html_body"] as? String }
        let all = bodies.flatMap(links)
        let dangling = all.filter { $0 == "62099" }.count
        #expect(dangling > 0 && all.count > dangling * 10)

        let queue = try DatabaseQueue(path: run.target.path)
        defer { try? queue.close() }
        let stored = try queue.read { db in
            try String.fetchAll(db, sql: "SELECT body_html FROM kb_articles UNION ALL SELECT body_html FROM kb_translations UNION ALL SELECT coalesce(body_html, '') FROM comments")
        }
        #expect(stored.flatMap(links) == Array(repeating: "62099", count: dangling))
        let rewritten = stored.reduce(0) { $0 + $1.components(separatedBy: "href=\"https://help.acme.example/hc/").count - 1 }
        #expect(rewritten == all.count - dangling)
        // Every rewritten link names a record that exists in the target.
        let targets = try NSRegularExpression(pattern: #"https://help\.acme\.example/hc/(?:[a-z-]+/)?(articles|sections|categories)/([0-9]+)"#)
        for html in stored {
            for m in targets.matches(in: html, range: NSRange(html.startIndex..., in: html)) {
                let table = "kb_" + String(html[Range(m.range(at: 1), in: html)!])
                let id = String(html[Range(m.range(at: 2), in: html)!])
                #expect(try queue.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM \(table) WHERE id = ?", arguments: [id]) } == 1)
            }
        }
        let csv = try String(contentsOf: run.stages.appendingPathComponent("verify/unresolved-links.csv"), encoding: .utf8)
        let rows = csv.split(separator: "\n").dropFirst()
        #expect(rows.count == dangling)
        #expect(rows.allSatisfy { $0.hasPrefix("kb_articles,62021,") && $0.hasSuffix(",kb_articles,62099") })
        let html = try String(contentsOf: run.stages.appendingPathComponent("verify/report.html"), encoding: .utf8)
        #expect(html.contains("Knowledge base links") && html.contains("62099-Classic-dashboards"))
    }
}
