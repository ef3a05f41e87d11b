import FerryCore
import Foundation
import GRDB
import Testing

/// The bad-input corpus (Tests/BadInput; its README lists every case) run
/// through the real executables. Each case is the small valid export in
/// Tests/BadInput/base with the files of Tests/BadInput/cases/<case> laid over
/// it, or a change the test makes itself (the 10 MB body, 100,000 nested
/// arrays, damaged bundles, a broken checkpoint).
///
/// What every case must show: no crash (every exit status is one Ferry
/// documents, never a signal and never 70), a clear error or a reject naming
/// file, line, record, field and reason, and counts that add up after every
/// stage that finishes (read + created = written + merged + rejected +
/// filtered in its checkpoint; verify's summary.json for runs that get there).
///
/// A case that shows a Ferry bug is written as Ferry should behave, inside
/// `withKnownIssue`, so the suite stays green until the bug is fixed (and then
/// fails, asking for the marker to be removed).
@Suite struct BadInputTests {

    // MARK: The control

    @Test func baseExportMigratesClean() throws {
        let c = try BadInputCase()
        let runs = try c.runAll()
        #expect(runs.statuses == ["extract": 0, "dedupe": 0, "map": 0, "load": 0, "verify": 0])
        let summary = try c.run.verifySummary()
        #expect(summary.entities.values.map { $0["all"] ?? -1 }.reduce(0, +) == BadInputCase.baseRecords)
        #expect(summary.entities.values.map { $0["migrated"] ?? -1 }.reduce(0, +) == BadInputCase.baseRecords)
        #expect(try c.rejects("extract").isEmpty)
    }

    // MARK: Lines that are not JSON, or not UTF-8

    @Test func malformedJSONLinesAreRejectedWithFileLineAndReason() throws {
        let c = try BadInputCase("malformed-json")
        let runs = try c.runAll()
        #expect(runs.statuses == ["extract": 3, "dedupe": 0, "map": 0, "load": 0, "verify": 0])

        let rejects = try c.rejects("extract")
        #expect(rejects.allSatisfy { $0.stage == "extract" && $0.file == "tickets.ndjson" && $0.entity == .tickets && !$0.reason.isEmpty })
        let byLine = Dictionary(rejects.map { ($0.line ?? 0, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byLine.keys.sorted() == [2, 4, 5, 6, 7, 8, 9], "\(rejects.map(\.summary))")
        // A line cut short: named by the id seen at its start, and said to be cut short.
        #expect(byLine[2]?.recordID == "3")
        #expect(byLine[2]?.reason.contains("cut short") == true, "\(byLine[2]?.reason ?? "")")
        // Two objects on one line, single quotes, a missing colon: malformed JSON with a position.
        #expect(byLine[4]?.recordID == "5")
        for line in [4, 5, 7] {
            #expect(byLine[line]?.reason.hasPrefix("malformed JSON") == true, "line \(line): \(byLine[line]?.reason ?? "")")
            #expect(byLine[line]?.reason.contains("character") == true, "line \(line): \(byLine[line]?.reason ?? "")")
        }
        #expect(byLine[7]?.recordID == "8")
        // A number and null: not an object.
        #expect(byLine[6]?.reason == "not a JSON object (each line must be one ticket object)")
        #expect(byLine[8]?.reason == "not a JSON object (each line must be one ticket object)")
        // {}: the missing id is named as the field.
        #expect(byLine[9]?.field == "id")
        #expect(byLine[9]?.reason == "required field id is missing")
        // Every reject keeps an excerpt of the line so a person can find it.
        #expect(rejects.allSatisfy { ($0.excerpt ?? "").isEmpty == false })

        // Line 3 ends its object with a trailing comma. Strict JSON (jq, Python) refuses it;
        // Foundation's parser accepts it, so the ticket migrates. Kept here so a change is seen.
        #expect(try c.records("extract", "tickets.ndjson").contains { $0["id"] as? String == "4" })

        let tickets = try c.counts("extract")["tickets"] ?? [:]
        #expect(tickets["read"] == 10 && tickets["written"] == 3 && tickets["rejected"] == 7, "\(tickets)")
        let summary = try c.run.verifySummary()
        #expect(summary.entities["tickets"]?["all"] == 10)
        #expect(summary.entities["tickets"]?["migrated"] == 3)
        #expect(summary.entities["tickets"]?["failed"] == 7)
        // records.csv lists each broken line with its file and line.
        let csv = try c.verifyFile("records.csv")
        for line in [2, 4, 5, 6, 7, 8, 9] { #expect(csv.contains("extract: tickets.ndjson:\(line) ticket")) }
    }

    @Test func invalidUTF8IsRejectedNamingTheByte() throws {
        let c = try BadInputCase("invalid-utf8")
        let runs = try c.runAll()
        #expect(runs.statuses == ["extract": 3, "dedupe": 0, "map": 0, "load": 0, "verify": 0])

        let lines = try c.caseLines("users.ndjson")
        let rejects = try c.rejects("extract")
        #expect(rejects.map(\.line) == [5, 6, 7, 8, 9], "\(rejects.map(\.summary))")
        for reject in rejects where (5...8).contains(reject.line ?? 0) {
            let raw = lines[reject.line! - 1]
            // The byte the reason names is the first one that breaks UTF-8 (1-based).
            let first = raw.firstIndex(where: { $0 >= 0x80 })! - raw.startIndex + 1
            #expect(reject.reason.hasPrefix("not valid UTF-8 at byte \(first) "), "line \(reject.line!): \(reject.reason)")
            #expect(reject.file == "users.ndjson" && reject.entity == .users)
            #expect(reject.recordID == String(2000 + reject.line! - 1))
        }
        // An escaped lone surrogate is valid UTF-8 but not valid JSON text.
        let surrogate = try #require(rejects.first { $0.line == 9 })
        #expect(surrogate.recordID == "2008")
        #expect(surrogate.reason.contains("surrogate"), "\(surrogate.reason)")
        #expect(!surrogate.reason.contains("cut short"), "\(surrogate.reason)")
        // Valid multi-byte text passes unchanged.
        let valid = try #require(try c.records("extract", "users.ndjson").first { $0["id"] as? String == "2009" })
        #expect(valid["name"] as? String == "Valid José 山本 🔥")
        #expect(try c.run.verifySummary().entities["users"]?["failed"] == 5)
    }

    @Test func utf16FileIsRejectedLineByLine() throws {
        let c = try BadInputCase("utf16-file")
        #expect(try c.caseBytes("groups.ndjson").starts(with: [0xff, 0xfe]), "the corpus file lost its UTF-16 byte-order mark")
        let runs = try c.runAll()
        #expect(runs.statuses == ["extract": 3, "dedupe": 0, "map": 0, "load": 0, "verify": 0])
        let rejects = try c.rejects("extract")
        #expect(!rejects.isEmpty && rejects.allSatisfy { $0.file == "groups.ndjson" && $0.entity == .groups })
        #expect(rejects.first?.line == 1)
        #expect(try c.counts("extract")["groups"]?["written"] == 0)
        // The group is gone, so map clears the tickets' reference to it and says so.
        let changes = try c.changes("map")
        #expect(changes.contains { $0["field"] as? String == "group_id" && ($0["reason"] as? String)?.contains("group 3000 is not in the export") == true })
        #expect(rejects.first?.reason.contains("UTF") == true, "\(rejects.first?.reason ?? "")")
    }

    @Test func byteOrderMarksAreSkipped() throws {
        let c = try BadInputCase("bom")
        #expect(try c.caseBytes("organizations.ndjson").starts(with: [0xef, 0xbb, 0xbf]), "the corpus file lost its BOM")
        #expect(try c.caseLines("users.ndjson")[2].starts(with: [0xef, 0xbb, 0xbf]), "the corpus file lost its mid-file BOM")
        let runs = try c.runAll()
        #expect(runs.statuses == ["extract": 0, "dedupe": 0, "map": 0, "load": 0, "verify": 0])
        #expect(try c.rejects("extract").isEmpty)
        #expect(try c.counts("extract").values.map { $0["written"] ?? 0 }.reduce(0, +) == BadInputCase.baseRecords)
        // No U+FEFF sneaks into the values.
        let orgs = try c.records("extract", "organizations.ndjson")
        #expect(orgs.first { $0["id"] as? String == "1000" }?["name"] as? String == "Acme Corp")
        let users = try c.records("extract", "users.ndjson")
        #expect(users.first { $0["id"] as? String == "2002" }?["name"] as? String == "Ada Customer")
        for stage in ["extract", "map"] {
            for member in ["organizations.ndjson", "users.ndjson", "tickets.ndjson", "kb_articles.ndjson"] {
                #expect(try !c.memberText(stage, member).contains("\u{FEFF}"), "\(stage) \(member)")
            }
        }
    }

    @Test func crlfLineEndingsAreReadAndLinesCountedAsAnEditorDoes() throws {
        let c = try BadInputCase("crlf")
        #expect(try c.caseBytes("users.ndjson").contains(Data("}\r\n".utf8)), "the corpus file lost its CRLF line ends")
        let runs = try c.runAll()
        #expect(runs.statuses == ["extract": 3, "dedupe": 0, "map": 0, "load": 0, "verify": 0])
        // Line 2 is blank (skipped, but counted), so the bad id is on line 3.
        let rejects = try c.rejects("extract")
        #expect(rejects.count == 1)
        #expect(rejects.first?.file == "tickets.ndjson")
        #expect(rejects.first?.line == 3)
        #expect(rejects.first?.field == "id")
        #expect(rejects.first?.recordID == "x9")
        #expect(rejects.first?.reason == "expected a numeric Zendesk id, found \"x9\"")
        #expect(try c.counts("extract").values.map { $0["written"] ?? 0 }.reduce(0, +) == BadInputCase.baseRecords)
        for stage in ["extract", "map"] {
            #expect(try !c.memberText(stage, "users.ndjson").contains("\\r"), "a carriage return got into a value")
        }
    }

    // MARK: Size and depth

    @Test func tenMegabyteCommentBodyMigratesWhole() throws {
        let body = String(repeating: "Zürich 🚀 line of a very long comment body\n", count: 10 * 1024 * 1024 / 44 + 1)
        #expect(body.utf8.count >= 10 * 1024 * 1024)
        // The body as it stands in JSON: the only character that needs escaping is the newline.
        let escaped = body.replacingOccurrences(of: "\n", with: "\\n")
        let c = try BadInputCase { export in
            let file = export.appendingPathComponent("tickets.ndjson")
            var text = try String(contentsOf: file, encoding: .utf8)
            let short = "\"plain_body\":\"Looking into it.\""
            precondition(text.contains(short), "base/tickets.ndjson changed: comment 10001 not found")
            text = text.replacingOccurrences(of: short, with: "\"plain_body\":\"\(escaped)\"")
            // A second huge line, cut off in the middle of its description.
            text += "{\"id\":3,\"subject\":\"huge and cut short\",\"status\":\"open\",\"description\":\"" + escaped.prefix(escaped.count / 2) + "\n"
            try Data(text.utf8).write(to: file)
        }
        let runs = try c.runAll()
        #expect(runs.statuses == ["extract": 3, "dedupe": 0, "map": 0, "load": 0, "verify": 0])
        let rejects = try c.rejects("extract")
        #expect(rejects.count == 1)
        #expect(rejects.first?.line == 3)
        #expect(rejects.first?.reason.contains("cut short") == true, "\(rejects.first?.reason ?? "")")
        #expect((rejects.first?.excerpt ?? "").utf8.count <= 200 * 4, "the reject copies the whole 10 MB line")

        // Every byte of the body is in the target.
        let queue = try DatabaseQueue(path: c.run.target.path)
        defer { try? queue.close() }
        let stored = try queue.read { db in
            try Int.fetchOne(db, sql: """
                SELECT length(CAST(body_plain AS BLOB)) FROM comments
                WHERE id = (SELECT target_id FROM id_map WHERE entity = 'comments' AND source_id = '10001')
                """)
        }
        #expect(stored == body.utf8.count)
        #expect(try c.run.verifySummary().entities["comments"]?["migrated"] == 4)
    }

    @Test func deepNestingIsRejectedWithoutACrash() throws {
        let depth = 100_000
        let arrays = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let objects = String(repeating: "{\"a\":", count: depth) + "1" + String(repeating: "}", count: depth)
        let shallow = String(repeating: "[", count: 100) + "\"kept\"" + String(repeating: "]", count: 100)
        let c = try BadInputCase { export in
            try BadInputCase.append(to: export.appendingPathComponent("tickets.ndjson"), [
                "{\"id\":3,\"subject\":\"deep custom field\",\"status\":\"open\",\"requester_id\":2002,\"custom_fields\":[{\"id\":4000,\"value\":\(arrays)}]}",
                "{\"id\":4,\"subject\":\"deep unknown key\",\"status\":\"open\",\"requester_id\":2002,\"x_extra\":\(arrays)}",
                "{\"id\":5,\"subject\":\"deep tags\",\"status\":\"open\",\"requester_id\":2002,\"tags\":\(arrays)}",
                "{\"id\":6,\"subject\":\"100 levels is fine\",\"status\":\"open\",\"requester_id\":2002,\"custom_fields\":[{\"id\":4000,\"value\":\(shallow)}]}",
            ])
            try BadInputCase.append(to: export.appendingPathComponent("users.ndjson"), [
                "{\"id\":2004,\"name\":\"deep objects\",\"role\":\"end-user\",\"x_profile\":\(objects)}",
            ])
        }
        let runs = try c.runAll()
        #expect(runs.statuses == ["extract": 3, "dedupe": 0, "map": 0, "load": 0, "verify": 0])
        let rejects = try c.rejects("extract")
        #expect(rejects.map { "\($0.file ?? ""):\($0.line ?? 0)" }.sorted() == ["tickets.ndjson:3", "tickets.ndjson:4", "tickets.ndjson:5", "users.ndjson:5"])
        for reject in rejects {
            #expect(reject.reason.contains("nested"), "\(reject.summary)")
            #expect(reject.recordID != nil, "\(reject.summary)")
        }
        let kept = try #require(try c.records("map", "tickets.ndjson").first { $0["id"] as? String == "6" })
        var value = (kept["custom_fields"] as? [[String: Any]])?.first?["value"]
        var levels = 0
        while let array = value as? [Any] { levels += 1; value = array.first }
        #expect(levels == 100 && value as? String == "kept")
        #expect(try c.run.verifySummary().entities["tickets"]?["migrated"] == 3)
    }

    // MARK: Wrong types

    @Test func wrongTypesAreRejectedNamingTheField() throws {
        let c = try BadInputCase("wrong-types")
        let runs = try c.runAll()
        #expect(runs.statuses == ["extract": 3, "dedupe": 0, "map": 0, "load": 0, "verify": 0])
        let rejects = try c.rejects("extract")
        let found = rejects.map { "\($0.file ?? "") \($0.line ?? 0) \($0.recordID ?? "-") \($0.field ?? "-")" }
        #expect(found == [
            "users.ndjson 7 abc id", "users.ndjson 8 2006 name", "users.ndjson 9 2007 active", "users.ndjson 10 2008 tags",
            "tickets.ndjson 4 4 subject", "tickets.ndjson 5 5 comments.0.id", "tickets.ndjson 6 6 status",
        ], "\(rejects.map(\.summary))")
        let reasons = Dictionary(rejects.map { ("\($0.file ?? "") \($0.line ?? 0)", $0.reason) }, uniquingKeysWith: { a, _ in a })
        #expect(reasons["users.ndjson 7"] == "expected a numeric Zendesk id, found \"abc\"")
        #expect(reasons["users.ndjson 8"]?.hasPrefix("wrong type: expected a string") == true)
        #expect(reasons["users.ndjson 9"]?.hasPrefix("wrong type: expected true or false") == true)
        #expect(reasons["users.ndjson 10"]?.hasPrefix("wrong type: expected an array") == true)
        #expect(reasons["tickets.ndjson 4"]?.hasPrefix("wrong type: expected a string") == true)
        #expect(reasons["tickets.ndjson 5"] == "expected a numeric Zendesk id, found \"c-1\"")

        // "2004" and " 2005 " are IDs; null where an array belongs reads as empty.
        let users = try c.records("extract", "users.ndjson")
        let stringID = try #require(users.first { $0["id"] as? String == "2004" })
        #expect(stringID["tags"] as? [String] == [])
        #expect(users.contains { $0["id"] as? String == "2005" })
        let tickets = try c.records("extract", "tickets.ndjson")
        let nulls = try #require(tickets.first { $0["id"] as? String == "3" })
        #expect(nulls["requester_id"] as? String == "2002")
        for key in ["tags", "custom_fields", "cc_ids", "follower_ids"] {
            #expect((nulls[key] as? [Any])?.isEmpty == true, "\(key): \(String(describing: nulls[key]))")
        }
        // The ticket with a bad comment id is one unit: its comment is not counted apart.
        #expect(try c.counts("extract")["comments"]?["read"] == 4)
        #expect(try c.run.verifySummary().entities["users"]?["migrated"] == 6)
        #expect(try c.run.verifySummary().entities["tickets"]?["migrated"] == 3)
    }

    @Test func aNumberTooBigForAnIntegerKeepsItsDigits() throws {
        let c = try BadInputCase("big-numbers")
        let runs = try c.runAll()
        #expect(runs.statuses["verify"] == 0)
        let ticket = try c.records("extract", "tickets.ndjson").first { $0["id"] as? String == "3" }
        let rejected = try c.rejects("extract").contains { $0.recordID == "3" }
        let text = try c.memberText("extract", "tickets.ndjson")
        #expect(rejected || text.contains("12345678901234567890"), "custom field stored as \(String(describing: (ticket?["custom_fields"] as? [[String: Any]])?.first?["value"]))")
    }

    // MARK: Duplicates

    @Test func duplicateIDsAreMergedWhenIdenticalAndRejectedWhenNot() throws {
        let c = try BadInputCase("duplicates")
        let runs = try c.runAll()
        #expect(runs.statuses == ["extract": 0, "dedupe": 3, "map": 0, "load": 0, "verify": 0])
        // Extract passes both copies on: it does not dedupe.
        #expect(try c.counts("extract")["users"]?["written"] == 6)

        let merges = try c.merges("dedupe")
        let exact = merges.map { "\($0.entity.rawValue) \($0.mergedID)" }.sorted()
        #expect(exact == ["attachments 50000", "comments 10000", "comments 10001", "comments 10002", "comments 10003",
                          "organizations 1000", "tickets 1", "users 2002"], "\(merges)")
        #expect(merges.allSatisfy { $0.mergedID == $0.survivorID && $0.reason.hasPrefix("exact copy of the record at part-00001.tar.zst ") })
        #expect(merges.first { $0.entity == .users }?.reason == "exact copy of the record at part-00001.tar.zst users.ndjson line 3")

        let rejects = try c.rejects("dedupe").filter { $0.entity != .comments }
        #expect(rejects.count == 2)
        let user = try #require(rejects.first { $0.entity == .users })
        #expect(user.recordID == "2003" && user.field == "id")
        // Both places: the reject's own (file, line) and the first appearance in the reason.
        #expect(user.file == "part-00001.tar.zst/users.ndjson" && user.line == 6)
        #expect(user.reason.contains("first at part-00001.tar.zst users.ndjson line 4"), "\(user.reason)")
        #expect(user.reason.contains("the first one is kept"))
        let ticket = try #require(rejects.first { $0.entity == .tickets })
        #expect(ticket.recordID == "2" && ticket.field == "id" && ticket.line == 4)
        #expect(ticket.reason.contains("first at part-00001.tar.zst tickets.ndjson line 2"), "\(ticket.reason)")

        // The first copy is the one migrated.
        let users = try c.records("map", "users.ndjson")
        #expect(users.first { $0["id"] as? String == "2003" }?["name"] as? String == "Bo Customer")
        let summary = try c.run.verifySummary()
        #expect(summary.entities["users"]?["skipped"] == 1 && summary.entities["users"]?["failed"] == 1)

        // The rejected copy of ticket 2 carried a comment the first copy does not have.
        let comment10009 = try c.records("map", "comments.ndjson").contains { $0["id"] as? String == "10009" }
        let rejectedLater = try (c.rejects("dedupe") + c.rejects("map")).contains { $0.recordID == "10009" && $0.reason.contains("ticket 2") }
        #expect(!comment10009 && rejectedLater, "comment 10009 of the rejected copy is in the map output: \(comment10009)")
    }

    // MARK: Broken references

    @Test func missingReferencesGetPlaceholdersClearedFieldsOrRejects() throws {
        let c = try BadInputCase("missing-references")
        let runs = try c.runAll()
        #expect(runs.statuses == ["extract": 0, "dedupe": 0, "map": 3, "load": 0, "verify": 0])

        // Users referenced but missing: placeholders, each with a change naming who referred to it.
        let placeholders = try c.records("map", "users.ndjson").filter { ($0["tags"] as? [String])?.contains("ferry-placeholder") == true }
        #expect(placeholders.compactMap { $0["id"] as? String }.sorted() == ["2996", "2997", "2999"])
        #expect(placeholders.allSatisfy { $0["active"] as? Bool == false })
        #expect(try c.counts("map")["users"]?["created"] == 3)
        let changes = try c.changes("map")
        func change(_ id: String, _ field: String) -> String? {
            changes.first { $0["record_id"] as? String == id && $0["field"] as? String == field }?["reason"] as? String
        }
        #expect(change("2999", "id")?.contains("referenced (ticket 3 in part-00001.tar.zst)") == true)
        #expect(change("2996", "id")?.contains("comment 10010 of ticket 3") == true)
        // References to other kinds are cleared, each with a change record.
        #expect(change("3", "group_id") == "group 3999 is not in the export")
        #expect(change("3", "organization_id") == "organization 1999 is not in the export")
        #expect(change("3", "custom_fields.4999") == "ticket field 4999 is not in the export")
        #expect(change("2010", "organization_id") == "organization 1998 is not in the export")
        #expect(change("3", "assignee_id")?.contains("given to map.agents.default") == true)
        let ticket = try #require(try c.records("map", "tickets.ndjson").first { $0["id"] as? String == "3" })
        #expect(ticket["group_id"] == nil && ticket["organization_id"] == nil)
        #expect(ticket["requester_id"] as? String == "2999")

        // Knowledge base: a section without its category and an article without its section are rejected.
        let rejects = try c.rejects("map")
        let found = rejects.map { "\($0.file ?? "") \($0.line ?? 0) \($0.recordID ?? "-")" }
        #expect(found == ["part-00001.tar.zst/kb_sections.ndjson 2 61001", "part-00001.tar.zst/kb_articles.ndjson 2 62001",
                          "part-00001.tar.zst/kb_articles.ndjson 3 62002"], "\(rejects.map(\.summary))")
        #expect(rejects.first { $0.recordID == "61001" }?.reason == "its category 60999 is not in the export")
        #expect(rejects.first { $0.recordID == "62001" }?.reason == "its section 61999 is not in the export")
        // The article in the section map rejected goes with it, not to a failed load.
        #expect(rejects.first { $0.recordID == "62002" }?.reason.contains("61001") == true)

        let summary = try c.run.verifySummary()
        #expect(summary.entities["users"]?["created"] == 3)
        #expect(summary.entities["kb_articles"]?["failed"] == 2 && summary.entities["kb_sections"]?["failed"] == 1)
        #expect(summary.differences == 0)
    }

    // MARK: Timestamps

    @Test func timestampsInManyFormatsAreNormalisedAndUnreadableOnesRejected() throws {
        let c = try BadInputCase("timestamps")
        let runs = try c.runAll()
        #expect(runs.statuses == ["extract": 3, "dedupe": 0, "map": 0, "load": 0, "verify": 0])
        let orgs = try c.records("extract", "organizations.ndjson")
        func created(_ id: Int) -> String? { orgs.first { $0["id"] as? String == String(id) }?["created_at"] as? String }
        // Z, +02:00, -0530, +02, a fraction, a space separator: the same instant.
        for id in 1100...1105 { #expect(created(id) == "2024-03-05T14:22:10Z", "organization \(id): \(created(id) ?? "nil")") }
        #expect(created(1106) == "2024-03-05T14:22:00Z")
        #expect(created(1107) == "2024-03-05T00:00:00Z")
        #expect(orgs.contains { $0["id"] as? String == "1108" } && created(1108) == nil)

        let rejects = try c.rejects("extract")
        let found = rejects.map { "\($0.file ?? "") \($0.line ?? 0) \($0.recordID ?? "-") \($0.field ?? "-")" }
        #expect(found == ["organizations.ndjson 12 1200 created_at", "organizations.ndjson 13 1201 updated_at",
                          "organizations.ndjson 14 1202 created_at", "tickets.ndjson 3 3 comments.1.created_at"], "\(rejects.map(\.summary))")
        #expect(rejects[0].reason == "unreadable timestamp \"05/03/2024\" (expected ISO 8601, e.g. 2024-03-05T14:22:10Z)")
        #expect(rejects[1].reason.contains("\"2024-02-30T10:00:00Z\""))
        #expect(rejects[2].reason.hasPrefix("wrong type: expected a string"))
        #expect(rejects[3].reason.contains("\"yesterday\""))
        // The whole ticket goes, with both its comments; they were never counted.
        #expect(try c.counts("extract")["comments"]?["read"] == 4)
        #expect(try c.run.verifySummary().entities["organizations"]?["migrated"] == 11)
    }

    @Test func impossibleTimestampsAreRejected() throws {
        let c = try BadInputCase("impossible-timestamps")
        let runs = try c.runAll()
        #expect(runs.statuses["verify"] == 0)
        let orgs = try c.records("extract", "organizations.ndjson")
        let stored = orgs.filter { ["1300", "1301"].contains($0["id"] as? String ?? "") }.map { "\($0["id"]!): \($0["created_at"] ?? "nil")" }
        let rejected = try c.rejects("extract").filter { $0.field == "created_at" }.compactMap(\.recordID)
        #expect(rejected.sorted() == ["1300", "1301"], "stored instead: \(stored)")
    }

    // MARK: Empty, missing and unknown

    @Test func emptyFilesGiveAnEmptyMigration() throws {
        let c = try BadInputCase("empty-files")
        #expect(try c.caseBytes("tickets.ndjson").isEmpty)
        #expect(try c.stage("extract").status == 0)
        try c.expectReconciled("extract", total: 0)
        #expect(try c.stage("dedupe").status == 0)
        try c.expectReconciled("dedupe", total: 0)
        // The sample configuration names a default agent the empty export does not have:
        // map stops with a configuration error that says so, before writing anything.
        let map = try c.stage("map")
        #expect(map.status == 2)
        #expect(map.output.contains("map.agents.default: olivia.bennett@support.acme.example is not an active agent or admin in the export"), "\(map.output)")
        #expect(try c.run.parts("map", requireComplete: false).isEmpty)
        // Without it, the empty export goes all the way through.
        try c.run.editConfig { $0.replacingOccurrences(of: "    default: olivia.bennett@support.acme.example\n", with: "") }
        for stage in ["map", "load", "verify"] {
            #expect(try c.stage(stage).status == 0)
            try c.expectReconciled(stage, total: 0)
        }
    }

    @Test func emptyExportFolderSaysWhatIsMissing() throws {
        let c = try BadInputCase { export in
            for name in try FileManager.default.contentsOfDirectory(atPath: export.path) {
                try FileManager.default.removeItem(at: export.appendingPathComponent(name))
            }
        }
        let extract = try c.stage("extract")
        #expect(extract.status == 0)
        for (file, kind) in [("organizations.ndjson", "organizations"), ("tickets.ndjson", "tickets"), ("help_center/articles.ndjson", "kb_articles")] {
            #expect(extract.output.contains("\(file): not in the export, no \(kind) to read"), "\(extract.output)")
        }
        try c.expectReconciled("extract", total: 0)
        try c.run.editConfig { $0.replacingOccurrences(of: "    default: olivia.bennett@support.acme.example\n", with: "") }
        for stage in ["dedupe", "map", "load", "verify"] {
            #expect(try c.stage(stage).status == 0)
            try c.expectReconciled(stage, total: 0)
        }
    }

    @Test func missingExportFolderExits66() throws {
        let c = try BadInputCase { export in try FileManager.default.removeItem(at: export) }
        let extract = try c.stage("extract")
        #expect(extract.status == 66)
        #expect(extract.output.contains("input not found: \(c.export.path)"), "\(extract.output)")
        #expect(extract.output.contains("set source.path in pipeline.yml to the folder of your Zendesk export"))
        #expect(try c.run.parts("extract", requireComplete: false).isEmpty)
        // And the next stage says what to run first.
        let dedupe = try c.stage("dedupe")
        #expect(dedupe.status == 66)
        #expect(dedupe.output.contains("run ferry-extract"), "\(dedupe.output)")
    }

    @Test func unknownFilesAreIgnored() throws {
        let c = try BadInputCase("unknown-files")
        let runs = try c.runAll()
        #expect(runs.statuses == ["extract": 0, "dedupe": 0, "map": 0, "load": 0, "verify": 0])
        #expect(try c.counts("extract").values.map { $0["read"] ?? 0 }.reduce(0, +) == BadInputCase.baseRecords)
        #expect(try c.rejects("extract").isEmpty)
        let members = try BundleReader(url: c.run.parts("extract")[0]).manifest.members.map(\.name)
        #expect(!members.contains { $0.contains("macros") || $0.contains("posts") })
        #expect(try BundleReader(url: c.run.parts("extract")[0]).manifest.blobs.count == 1)
    }

    // MARK: Damaged bundles and checkpoints

    enum Damage: String, CaseIterable, CustomTestStringConvertible {
        case none = "repacked unchanged", noManifest = "manifest missing", checksum = "checksum does not match", count = "record count does not match"
        var testDescription: String { rawValue }
    }

    @Test(.enabled(if: TestTools.hasBsdtar, "needs /usr/bin/bsdtar"), arguments: Damage.allCases)
    func damagedBundleStopsDedupeNamingTheMember(damage: Damage) throws {
        let c = try BadInputCase()
        #expect(try c.stage("extract").status == 0)
        let part = try c.run.parts("extract")[0]
        let unpacked = try UnpackedPart(part, in: c.run.root.appendingPathComponent("unpacked"))
        var entries = unpacked.entries
        switch damage {
        case .none: break
        case .noManifest: entries.removeFirst()
        case .checksum: try unpacked.edit("tickets.ndjson") { $0.replacingOccurrences(of: "Dashboard not loading", with: "Dashboard not Loading") }
        case .count: try unpacked.editManifest { manifest in
            let index = manifest.members.firstIndex { $0.name == "tickets.ndjson" }!
            manifest.members[index].records += 1
        }
        }
        try unpacked.pack(entries, to: part)

        let dedupe = try c.stage("dedupe")
        if damage == .none {
            // bsdtar pads the archive to 10240 bytes; the reader takes it all the same.
            #expect(dedupe.status == 0, "\(dedupe.output)")
            try c.expectReconciled("dedupe", total: BadInputCase.baseRecords)
            return
        }
        #expect(dedupe.status == 65, "\(dedupe.output)")
        #expect(dedupe.output.contains("\(part.path): unusable bundle"), "\(dedupe.output)")
        let member = damage == .noManifest ? "expected manifest.json" : "member tickets.ndjson"
        #expect(dedupe.output.contains(member), "\(dedupe.output)")
        switch damage {
        case .checksum: #expect(dedupe.output.contains("SHA-256"))
        case .count: #expect(dedupe.output.contains("holds 2 lines, the manifest says 3"))
        default: break
        }
        #expect(try c.run.parts("dedupe", requireComplete: false).isEmpty, "dedupe wrote a part from a damaged bundle")
    }

    /// The same checksum damage met by every other reader: map (dedupe's part),
    /// load (map's part, nothing reaches the target) and verify (extract's part).
    @Test(.enabled(if: TestTools.hasBsdtar, "needs /usr/bin/bsdtar"), arguments: [("map", "dedupe"), ("load", "map"), ("verify", "extract")])
    func damagedBundleStopsEveryReader(reader: String, damaged: String) throws {
        let c = try BadInputCase()
        for stage in PipelineRun.stages.prefix(while: { $0 != reader }) { #expect(try c.stage(stage).status == 0) }
        let part = try c.run.parts(damaged)[0]
        let unpacked = try UnpackedPart(part, in: c.run.root.appendingPathComponent("unpacked"))
        try unpacked.edit("tickets.ndjson") { $0.replacingOccurrences(of: "Refund please", with: "Refund PLEASE") }
        try unpacked.pack(unpacked.entries, to: part)

        let result = try c.stage(reader)
        #expect(result.status == 65, "\(result.output)")
        #expect(result.output.contains("\(part.path): unusable bundle: member tickets.ndjson SHA-256"), "\(result.output)")
        if reader == "load" {
            #expect(try c.run.targetRowCounts()["tickets"] == 0, "rows of a damaged part reached the target")
        }
    }

    /// A line that passes the checksums (the manifest was rewritten to match) but
    /// is not a canonical record: dedupe rejects it, load fails it, verify reports it.
    @Test(.enabled(if: TestTools.hasBsdtar, "needs /usr/bin/bsdtar"))
    func undecodableBundleLineIsRejectedByDedupe() throws {
        let c = try BadInputCase()
        #expect(try c.stage("extract").status == 0)
        let part = try c.run.parts("extract")[0]
        let unpacked = try UnpackedPart(part, in: c.run.root.appendingPathComponent("unpacked"))
        try unpacked.replaceLine("tickets.ndjson", 2, with: "{\"id\":\"2\",\"status\":7}")
        try unpacked.pack(unpacked.entries, to: part)

        let runs = try c.runAll(from: "dedupe")
        #expect(runs.statuses == ["dedupe": 3, "map": 3, "load": 0, "verify": 0])
        let reject = try #require(try c.rejects("dedupe").first)
        #expect(reject.file == "part-00001.tar.zst/tickets.ndjson" && reject.line == 2 && reject.entity == .tickets)
        #expect(reject.field != nil && !reject.reason.isEmpty, "\(reject.summary)")
        // Its comments have no ticket any more: map rejects them by name.
        #expect(try c.rejects("map").map { $0.recordID ?? "" }.sorted() == ["10002", "10003"])
        #expect(reject.recordID == "2", "\(reject.summary)")
    }

    /// A bundle whose manifest claims far more than its file could hold is refused before
    /// anything is unpacked; raising bundle.max_expansion lets the reader go on to the
    /// next check, the member's own declared size.
    @Test(.enabled(if: TestTools.hasBsdtar, "needs /usr/bin/bsdtar"))
    func decompressionBombIsRefusedBeforeUnpacking() throws {
        let c = try BadInputCase()
        #expect(try c.stage("extract").status == 0)
        let part = try c.run.parts("extract")[0]
        let unpacked = try UnpackedPart(part, in: c.run.root.appendingPathComponent("unpacked"))
        try unpacked.editManifest { $0.members[0].bytes = 1 << 40 }
        try unpacked.pack(unpacked.entries, to: part)
        #expect {
            try BundleReader(url: part)
        } throws: { error in
            "\(error)".contains("decompression bomb")
        }
        #expect {
            try BundleReader(url: part, maxExpansion: UInt64.max / (1 << 30)).read(line: { _, _, _ in })
        } throws: { error in
            "\(error)".contains("declares") && "\(error)".contains("refused before reading it")
        }
        let dedupe = try c.stage("dedupe")
        #expect(dedupe.status == 65, "\(dedupe.output)")
        #expect(dedupe.output.contains("decompression bomb"))
    }

    /// A member of a kind Ferry does not know (say, from a newer Ferry or a hand-made
    /// bundle), listed in the manifest with correct checksums.
    @Test(.enabled(if: TestTools.hasBsdtar, "needs /usr/bin/bsdtar"))
    func unknownEntityTypeInABundleIsNotDroppedSilently() throws {
        let c = try BadInputCase()
        #expect(try c.stage("extract").status == 0)
        let part = try c.run.parts("extract")[0]
        let unpacked = try UnpackedPart(part, in: c.run.root.appendingPathComponent("unpacked"))
        let macros = Data("{\"id\":\"9000\",\"title\":\"Close and thank\"}\n{\"id\":\"9001\",\"title\":\"Escalate\"}\n".utf8)
        try macros.write(to: unpacked.dir.appendingPathComponent("macros.ndjson"))
        try unpacked.editManifest { $0.members.append(MemberInfo(name: "macros.ndjson", records: 2, bytes: UInt64(macros.count), sha256: Hash.sha256(macros))) }
        try unpacked.pack(unpacked.entries + ["macros.ndjson"], to: part)

        let dedupe = try c.stage("dedupe")
        #expect(dedupe.status == 3, "\(dedupe.output)")
        try c.expectReconciled("dedupe", output: dedupe.output, total: BadInputCase.baseRecords)
        #expect(try !BundleReader(url: c.run.parts("dedupe")[0]).manifest.members.contains { $0.name == "macros.ndjson" })
        // Each line of the unknown member is a reject that names it; none vanishes.
        let rejects = try c.rejects("dedupe")
        #expect(rejects.filter { $0.file == "part-00001.tar.zst/macros.ndjson" }.map { $0.recordID ?? "" } == ["9000", "9001"], "\(rejects.map(\.summary))")
    }

    @Test(.enabled(if: TestTools.hasBsdtar, "needs /usr/bin/bsdtar"))
    func undecodableLineInAMapPartFailsAtLoadAndVerifyReportsIt() throws {
        let c = try BadInputCase()
        for stage in ["extract", "dedupe", "map"] { #expect(try c.stage(stage).status == 0) }
        let part = try c.run.parts("map")[0]
        let unpacked = try UnpackedPart(part, in: c.run.root.appendingPathComponent("unpacked"))
        try unpacked.replaceLine("tickets.ndjson", 2, with: "{\"id\":\"2\",\"status\":7}")
        try unpacked.pack(unpacked.entries, to: part)

        let load = try c.stage("load")
        #expect(load.status == 3, "\(load.output)")
        #expect(load.output.contains("part-00001.tar.zst/tickets.ndjson line 2"), "\(load.output)")
        try c.expectReconciled("load", total: BadInputCase.baseRecords)
        let verify = try c.run.stage("verify")
        #expect([1, 65].contains(verify.status), "exit \(verify.status): \(verify.output)")
        let failed = try String(contentsOf: c.run.stages.appendingPathComponent("verify/failed.csv"), encoding: .utf8)
        #expect(failed.contains("part-00001.tar.zst/tickets.ndjson:2 ticket 2 field source_system"), "\(failed)")
    }

    @Test(arguments: ["not json {", "", "{\"stage\":\"extract\"}"])
    func checkpointThatIsNotACheckpointIsAClearErrorNamingTheFile(content: String) throws {
        let c = try BadInputCase()
        #expect(try c.stage("extract").status == 0)
        let checkpoint = c.run.stages.appendingPathComponent("extract/checkpoint.json")
        try Data(content.utf8).write(to: checkpoint)
        // The next stage, and the stage that owns it.
        for stage in ["dedupe", "extract"] {
            let result = try c.stage(stage)
            #expect(result.status == 65, "ferry-\(stage): \(result.output)")
            #expect(result.output.contains("\(checkpoint.path): checkpoint is unreadable"), "ferry-\(stage): \(result.output)")
            #expect(result.output.contains("delete it"), "ferry-\(stage): \(result.output)")
        }
        #expect(try c.run.parts("dedupe", requireComplete: false).isEmpty)
        // Deleting it, as the message says, lets extract start over.
        try FileManager.default.removeItem(at: checkpoint)
        #expect(try c.stage("extract").status == 0)
        try c.expectReconciled("extract", total: BadInputCase.baseRecords)
    }
}

// MARK: - Running a case

/// One corpus case in a private pipeline folder: Tests/BadInput/base copied to
/// `<run root>/export`, the case's files laid over it, then `edit` applied, and
/// pipeline.yml pointed at it. The folder is removed when the value goes away.
final class BadInputCase: @unchecked Sendable {
    static let corpus = PipelineRun.repositoryRoot.appendingPathComponent("Tests/BadInput")
    /// Records in Tests/BadInput/base: 2 organizations, 4 users, a group, a field, 2 tickets
    /// with 4 comments and an attachment, a category, a section and an article.
    static let baseRecords = 18
    /// Every exit status Ferry documents except 70 (internal error): anything else is a crash.
    static let documentedStatuses: Set<Int32> = [0, 1, 2, 3, 64, 65, 66, 73, 74, 75]

    let name: String?
    let run: PipelineRun
    let export: URL

    init(_ name: String? = nil, edit: ((URL) throws -> Void)? = nil) throws {
        self.name = name
        run = try PipelineRun(partRecords: 50000)
        export = run.root.appendingPathComponent("export")
        let files = FileManager.default
        try files.copyItem(at: Self.corpus.appendingPathComponent("base"), to: export)
        if let name {
            let overlay = Self.corpus.appendingPathComponent("cases/\(name)")
            guard let walker = files.enumerator(at: overlay, includingPropertiesForKeys: [.isRegularFileKey]) else {
                throw TestFailure("no corpus case \(overlay.path)")
            }
            for case let url as URL in walker where (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true {
                let relative = String(url.standardizedFileURL.path.dropFirst(overlay.standardizedFileURL.path.count + 1))
                let target = export.appendingPathComponent(relative)
                try files.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                if files.fileExists(atPath: target.path) { try files.removeItem(at: target) }
                try files.copyItem(at: url, to: target)
            }
        }
        try edit?(export)
        let samples = PipelineRun.repositoryRoot.appendingPathComponent("samples/zendesk-export").path
        try run.editConfig { $0.replacingOccurrences(of: "path: \(samples)", with: "path: \(self.export.path)") }
    }

    deinit { try? FileManager.default.removeItem(at: run.root) }

    /// Runs one stage and checks it did not crash.
    @discardableResult
    func stage(_ name: String, _ extra: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> PipelineRun.StageOutput {
        let result = try run.stage(name, extra)
        #expect(Self.documentedStatuses.contains(result.status),
                "ferry-\(name) on case \(self.name ?? "base") ended with \(result.status): a crash or an internal error\n\(result.output)",
                sourceLocation: sourceLocation)
        return result
    }

    struct Runs {
        var statuses: [String: Int32] = [:]
        var outputs: [String: String] = [:]
    }

    /// Runs the stages in order from `first`, checking after each that finished
    /// that its counts reconcile; stops at the first that exits other than 0 or 3.
    @discardableResult
    func runAll(from first: String = "extract", sourceLocation: SourceLocation = #_sourceLocation) throws -> Runs {
        var runs = Runs()
        for name in PipelineRun.stages.drop(while: { $0 != first }) {
            let result = try stage(name, sourceLocation: sourceLocation)
            runs.statuses[name] = result.status
            runs.outputs[name] = result.output
            guard result.status == 0 || result.status == 3 || (name == "verify" && result.status == 1) else { break }
            try expectReconciled(name, output: result.output, sourceLocation: sourceLocation)
        }
        return runs
    }

    /// read + created = written + merged + rejected + filtered for every kind, from the
    /// stage's checkpoint.json (verify: all + created = migrated + failed + skipped in
    /// summary.json), and the stage said so. `total` is the expected total read (verify: all).
    func expectReconciled(_ stage: String, output: String? = nil, total: Int? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws {
        if let output {
            let said = stage == "verify" ? "counts reconcile: all + created = migrated + failed + skipped" : "reconciled: read "
            #expect(output.contains(said), "ferry-\(stage) did not say its counts reconcile:\n\(output)", sourceLocation: sourceLocation)
            #expect(!output.contains("NOT RECONCILED") && !output.contains("DOES NOT ADD UP") && !output.contains("DO NOT RECONCILE"),
                    "ferry-\(stage): \(output)", sourceLocation: sourceLocation)
        }
        if stage == "verify" {
            let summary = try run.verifySummary()
            for (entity, c) in summary.entities {
                let left = (c["all"] ?? 0) + (c["created"] ?? 0), right = (c["migrated"] ?? 0) + (c["failed"] ?? 0) + (c["skipped"] ?? 0)
                #expect(left == right, "verify \(entity): all + created = \(left), migrated + failed + skipped = \(right)", sourceLocation: sourceLocation)
            }
            if let total {
                #expect(summary.entities.values.map { $0["all"] ?? 0 }.reduce(0, +) == total, sourceLocation: sourceLocation)
            }
            return
        }
        let checkpoint = try JSONSerialization.jsonObject(with: Data(contentsOf: run.stages.appendingPathComponent("\(stage)/checkpoint.json"))) as! [String: Any]
        #expect(checkpoint["status"] as? String == "complete", "ferry-\(stage) did not complete", sourceLocation: sourceLocation)
        for (entity, c) in try counts(stage) {
            let left = (c["read"] ?? 0) + (c["created"] ?? 0)
            let right = (c["written"] ?? 0) + (c["merged"] ?? 0) + (c["rejected"] ?? 0) + (c["filtered"] ?? 0)
            #expect(left == right, "\(stage) \(entity): read + created = \(left), written + merged + rejected + filtered = \(right)", sourceLocation: sourceLocation)
        }
        if let total {
            #expect(try counts(stage).values.map { $0["read"] ?? 0 }.reduce(0, +) == total, sourceLocation: sourceLocation)
        }
    }

    /// A stage's counts per kind, summed over its checkpoint's parts and its own counts.
    func counts(_ stage: String) throws -> [String: [String: Int]] {
        let checkpoint = try JSONSerialization.jsonObject(with: Data(contentsOf: run.stages.appendingPathComponent("\(stage)/checkpoint.json"))) as! [String: Any]
        var sum: [String: [String: Int]] = [:]
        func add(_ counts: Any?) {
            let entities = (counts as? [String: Any])?["entities"] as? [String: [String: Any]] ?? [:]
            for (entity, values) in entities {
                for (key, value) in values { sum[entity, default: [:]][key, default: 0] += value as? Int ?? 0 }
            }
        }
        add(checkpoint["counts"])
        for part in checkpoint["parts"] as? [[String: Any]] ?? [] { add(part["counts"]) }
        return sum
    }

    // MARK: What the stages wrote

    func lines(_ stage: String, _ member: String) throws -> [Data] {
        var lines: [Data] = []
        for part in try run.parts(stage) {
            try BundleReader(url: part).read(line: { name, line, _ in if name == member { lines.append(line) } })
        }
        return lines
    }

    func rejects(_ stage: String) throws -> [Reject] {
        try lines(stage, Reject.memberName).map { try JSONDecoder().decode(Reject.self, from: $0) }
    }

    func merges(_ stage: String) throws -> [Merge] {
        try lines(stage, Merge.memberName).map { try JSONDecoder().decode(Merge.self, from: $0) }
    }

    func changes(_ stage: String) throws -> [[String: Any]] {
        try lines(stage, "changes.ndjson").map { try JSONSerialization.jsonObject(with: $0) as! [String: Any] }
    }

    func records(_ stage: String, _ member: String) throws -> [[String: Any]] {
        try lines(stage, member).map { try JSONSerialization.jsonObject(with: $0) as! [String: Any] }
    }

    func memberText(_ stage: String, _ member: String) throws -> String {
        try lines(stage, member).map { String(decoding: $0, as: UTF8.self) }.joined(separator: "\n")
    }

    func verifyFile(_ name: String) throws -> String {
        try String(contentsOf: run.stages.appendingPathComponent("verify/\(name)"), encoding: .utf8)
    }

    // MARK: The corpus files

    /// The committed bytes of the case's file (not the copy), to check they survived git.
    func caseBytes(_ file: String) throws -> Data {
        try Data(contentsOf: Self.corpus.appendingPathComponent("cases/\(name!)/\(file)"))
    }

    /// The committed file's lines, split on \n only.
    func caseLines(_ file: String) throws -> [Data] {
        try caseBytes(file).split(separator: 0x0a, omittingEmptySubsequences: false).map { Data($0) }
    }

    static func append(to file: URL, _ lines: [String]) throws {
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(lines.map { $0 + "\n" }.joined().utf8))
    }
}

/// A bundle part unpacked with bsdtar, to be changed and packed again the way
/// someone with stock tools would: `bsdtar --format pax --zstd -cf out.tar.zst manifest.json …`.
struct UnpackedPart {
    let dir: URL
    let manifest: Manifest

    init(_ part: URL, in dir: URL) throws {
        self.dir = dir
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try TestTools.run(TestTools.bsdtar, ["-xf", part.path, "-C", dir.path])
        manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: dir.appendingPathComponent(Manifest.memberName)))
    }

    /// The manifest, its members in its order, then the blobs: the order the writer uses.
    var entries: [String] {
        let blobs = (try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("blobs").path)) ?? []
        return [Manifest.memberName] + manifest.members.map(\.name) + blobs.sorted().map { "blobs/\($0)" }
    }

    /// Changes a member's text and leaves the manifest as it was (so the checksum no longer matches).
    func edit(_ member: String, _ change: (String) -> String) throws {
        let url = dir.appendingPathComponent(member)
        let text = try String(contentsOf: url, encoding: .utf8)
        let changed = change(text)
        precondition(changed != text && changed.utf8.count == text.utf8.count, "the edit must change bytes, not the size")
        try Data(changed.utf8).write(to: url)
    }

    func editManifest(_ change: (inout Manifest) -> Void) throws {
        var copy = manifest
        change(&copy)
        try JSONEncoder().encode(copy).write(to: dir.appendingPathComponent(Manifest.memberName))
    }

    /// Replaces one line of a member and rewrites the manifest to match, so only the content is wrong.
    func replaceLine(_ member: String, _ number: Int, with line: String) throws {
        let url = dir.appendingPathComponent(member)
        var lines = try Data(contentsOf: url).split(separator: 0x0a).map { Data($0) }
        lines[number - 1] = Data(line.utf8)
        let data = Data(lines.map { $0 + Data([0x0a]) }.joined())
        try data.write(to: url)
        try editManifest { manifest in
            let index = manifest.members.firstIndex { $0.name == member }!
            manifest.members[index].sha256 = Hash.sha256(data)
            manifest.members[index].bytes = UInt64(data.count)
            manifest.members[index].records = lines.count
        }
    }

    func pack(_ entries: [String], to out: URL) throws {
        try? FileManager.default.removeItem(at: out)
        try TestTools.run(TestTools.bsdtar, ["--format", "pax", "--zstd", "-cf", out.path, "-C", dir.path] + entries)
    }
}
