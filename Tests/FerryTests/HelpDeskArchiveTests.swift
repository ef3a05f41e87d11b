import FerryCore
import FerrySQLite
import Foundation
import GRDB
import Testing

/// The SQLite help desk archive: exact round trips, idempotent re-loads,
/// in-place updates, dangling references, streamed blobs, search and parts.
@Suite struct HelpDeskArchiveTests {
    let folder: URL
    let archiveURL: URL

    init() throws {
        folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("ferry-archive-tests-\(UUID().uuidString)", isDirectory: true)
        archiveURL = folder.appendingPathComponent("nested/archive.sqlite")
    }

    // MARK: Fixtures

    static func hash<R: CanonicalRecord>(_ record: R) throws -> String {
        Hash.sha256(try CanonicalJSON().encode(record))
    }

    /// One record of every kind, with values that are easy to get wrong.
    struct Fixture {
        var organization = Organization(
            id: "org-1", sourceSystem: "zendesk", name: "شركة المثال 🚀", domainNames: ["example.com", "example.org"],
            details: "", notes: nil, tags: ["vip", "emea", "vip"], externalID: "ext/1", createdAt: "2024-01-02T03:04:05Z")
        var user = User(
            id: "2999", sourceSystem: "zendesk", name: "דנה כהן", email: "dana@example.com", phone: "",
            role: .agent, active: true, suspended: false, organizationID: "org-1", locale: "he",
            timeZone: "Asia/Jerusalem", tags: [], externalID: nil, createdAt: "2024-01-02T03:04:05Z", updatedAt: nil)
        var otherUser = User(id: "3000", sourceSystem: "freshdesk", name: "Zoë 👩🏽‍💻", role: .endUser, active: false, suspended: true)
        var group = Group(id: "g-7", sourceSystem: "zendesk", name: "Tier 2", description: "")
        var field = TicketField(
            id: "360001", sourceSystem: "zendesk", key: nil, title: "Product", type: .dropdown, description: nil,
            active: true, required: false, position: 0, regexp: nil,
            options: [FieldOption(id: "1", name: "Widget", value: "widget"), FieldOption(name: "Gadget \"XL\"", value: "gadget/xl")])
        var keyedField = TicketField(
            id: "360002", sourceSystem: "zendesk", key: "refund_amount", title: "Refund", type: .decimal,
            description: "", active: false, required: true, position: nil, regexp: "^[0-9.]+$")
        var ticket = Ticket(
            id: "1001", sourceSystem: "zendesk", subject: "Printer is on fire 🔥", description: "It smells. ‏مرحبا‎",
            status: "open", priority: nil, type: "incident", requesterID: "2999", submitterID: "3000",
            assigneeID: "2999", groupID: "g-7", organizationID: "org-1", tags: ["zeta", "alpha", "mid"],
            customFields: [
                CustomFieldValue(fieldID: "360001", value: .string("widget")),
                CustomFieldValue(fieldID: "360002", value: .double(2.0)),
                CustomFieldValue(fieldID: "360002", value: .int(2)),
                CustomFieldValue(fieldID: "360002", value: .double(0.1)),
                CustomFieldValue(fieldID: "360001", value: .string("")),
                CustomFieldValue(fieldID: "360001", value: .string("2")),
                CustomFieldValue(fieldID: "360001", value: .null),
                CustomFieldValue(fieldID: "360001", value: .bool(false)),
                CustomFieldValue(fieldID: "360001", value: .array([.int(1), .double(1.0), .string("a\"b\\c\n\u{1}")])),
                CustomFieldValue(fieldID: "360001", value: .object(["z": .int(-9_223_372_036_854_775_807), "a": .object([:]), "m": .array([])])),
            ],
            ccIDs: ["3000", "2999", "3000"], followerIDs: ["2999"], channel: "email", externalID: "",
            createdAt: "2024-02-01T10:00:00Z", updatedAt: "2024-02-02T10:00:00Z", solvedAt: nil)
        var comment = FerryCore.Comment(
            id: "c-1", sourceSystem: "zendesk", ticketID: "1001", authorID: "2999", isPublic: false,
            bodyHTML: "<p>The <b>toner</b> melted</p>", bodyPlain: "The toner melted\u{0}after a NUL, émoji 😀",
            createdAt: "2024-02-01T10:05:00Z")
        var anonymousComment = FerryCore.Comment(id: "c-2", sourceSystem: "email", ticketID: "1001", authorID: nil, bodyHTML: nil, bodyPlain: "")
        var category = KBCategory(id: "cat-1", sourceSystem: "zendesk", name: "Hardware", description: nil, locale: "en-us", position: 3, url: "")
        var section = KBSection(id: "sec-1", sourceSystem: "zendesk", categoryID: "cat-1", name: "Printers", position: nil)
        var article = KBArticle(
            id: "art-1", sourceSystem: "zendesk", sectionID: "sec-1", authorID: "2999", title: "Extinguishing printers",
            bodyHTML: "<h1>Step&nbsp;one</h1><p>Unplug the <em>fuser</em> &amp; wait.</p><script>var x = 'hidden';</script>",
            locale: "en-us", sourceLocale: nil, labels: ["fire", "safety", "a"], draft: true, promoted: false, position: 0,
            url: nil,
            translations: [
                ArticleTranslation(locale: "he", title: "כיבוי מדפסות", bodyHTML: "<p>נתק</p>", draft: false, createdAt: nil, updatedAt: "2024-03-01T00:00:00Z"),
                ArticleTranslation(locale: "de", title: "Drucker löschen", bodyHTML: "", draft: true),
            ])
        var commentFile = FerryCore.Attachment(
            id: "a-1", sourceSystem: "zendesk", parentType: .comment, parentID: "c-1", fileName: "photo 1.jpg",
            contentType: "image/jpeg", size: 5_242_880, sha256: String(repeating: "ab", count: 32), inline: true)
        var articleFile = FerryCore.Attachment(
            id: "a-2", sourceSystem: "zendesk", parentType: .article, parentID: "art-1", fileName: "diagram.pdf",
            contentType: nil, size: UInt64.max, sha256: String(repeating: "cd", count: 32))
    }

    /// Loads every fixture record in dependency order; returns each outcome.
    @discardableResult
    func loadAll(_ f: Fixture, into archive: HelpDeskArchive) throws -> [LoadOutcome] {
        var outcomes: [LoadOutcome] = []
        try archive.transaction {
            func load<R: CanonicalRecord>(_ record: R) throws {
                outcomes.append(try archive.upsert(record, contentHash: try Self.hash(record)))
            }
            try load(f.organization)
            try load(f.user); try load(f.otherUser)
            try load(f.group)
            try load(f.field); try load(f.keyedField)
            try load(f.ticket)
            try load(f.comment); try load(f.anonymousComment)
            try load(f.category); try load(f.section); try load(f.article)
            try load(f.commentFile); try load(f.articleFile)
        }
        return outcomes
    }

    func expectRoundTrip(_ f: Fixture, _ archive: HelpDeskArchive) throws {
        #expect(try archive.fetch(Organization.self, sourceID: f.organization.id) == f.organization)
        #expect(try archive.fetch(User.self, sourceID: f.user.id) == f.user)
        #expect(try archive.fetch(User.self, sourceID: f.otherUser.id) == f.otherUser)
        #expect(try archive.fetch(Group.self, sourceID: f.group.id) == f.group)
        #expect(try archive.fetch(TicketField.self, sourceID: f.field.id) == f.field)
        #expect(try archive.fetch(TicketField.self, sourceID: f.keyedField.id) == f.keyedField)
        #expect(try archive.fetch(Ticket.self, sourceID: f.ticket.id) == f.ticket)
        #expect(try archive.fetch(FerryCore.Comment.self, sourceID: f.comment.id) == f.comment)
        #expect(try archive.fetch(FerryCore.Comment.self, sourceID: f.anonymousComment.id) == f.anonymousComment)
        #expect(try archive.fetch(KBCategory.self, sourceID: f.category.id) == f.category)
        #expect(try archive.fetch(KBSection.self, sourceID: f.section.id) == f.section)
        #expect(try archive.fetch(KBArticle.self, sourceID: f.article.id) == f.article)
        #expect(try archive.fetch(FerryCore.Attachment.self, sourceID: f.commentFile.id) == f.commentFile)
        #expect(try archive.fetch(FerryCore.Attachment.self, sourceID: f.articleFile.id) == f.articleFile)
    }

    func rowCounts(_ archive: HelpDeskArchive) throws -> [EntityType: Int] {
        var counts: [EntityType: Int] = [:]
        for entity in EntityType.allCases { counts[entity] = try archive.rowCount(entity) }
        return counts
    }

    /// Raw SQL on the archive file, to look at rows the API does not expose.
    func count(_ sql: String) throws -> Int {
        let queue = try DatabaseQueue(path: archiveURL.path)
        return try queue.read { try Int.fetchOne($0, sql: sql) ?? -1 }
    }

    // MARK: Tests

    @Test func everyKindRoundTripsExactly() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let archive = try HelpDeskArchive(path: archiveURL)
        let f = Fixture()
        let outcomes = try loadAll(f, into: archive)
        #expect(outcomes.count == 14)
        for outcome in outcomes {
            guard case .created = outcome else { Issue.record("expected .created, got \(outcome)"); continue }
        }
        try expectRoundTrip(f, archive)

        #expect(try archive.rowCount(.users) == 2)
        #expect(try archive.rowCount(.attachments) == 2)
        #expect(try archive.commentCount(ticketSourceID: "1001") == 2)
        #expect(try archive.commentCount(ticketSourceID: "nope") == 0)
        #expect(try archive.fetch(Ticket.self, sourceID: "nope") == nil)

        // References are stored as target ids and foreign keys hold.
        #expect(try count("SELECT count(*) FROM pragma_foreign_key_check") == 0)
        #expect(try count("SELECT count(*) FROM tickets t JOIN users u ON u.id = t.requester_id WHERE u.source_id = '2999'") == 1)
        #expect(try count("SELECT count(*) FROM ticket_collaborators") == 4)
        #expect(try count("SELECT count(*) FROM ticket_field_values") == f.ticket.customFields.count)
        #expect(try count("SELECT count(*) FROM kb_translations") == 2)
        #expect(try count("SELECT count(*) FROM id_map WHERE status = 'loaded'") == 14)

        // Closing and reopening changes nothing; the file is in WAL mode.
        let reopened = try HelpDeskArchive(path: archiveURL)
        try expectRoundTrip(f, reopened)
        let mode = try DatabaseQueue(path: archiveURL.path).read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
    }

    @Test func loadingTwiceChangesNothing() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let archive = try HelpDeskArchive(path: archiveURL)
        let f = Fixture()
        let first = try loadAll(f, into: archive)
        let countsBefore = try rowCounts(archive)
        let mapBefore = try count("SELECT count(*) FROM id_map")
        let searchBefore = try count("SELECT count(*) FROM search")

        let second = try loadAll(f, into: archive)
        #expect(second == first.map { LoadOutcome.unchanged($0.targetID!) })
        #expect(try rowCounts(archive) == countsBefore)
        #expect(try count("SELECT count(*) FROM id_map") == mapBefore)
        #expect(try count("SELECT count(*) FROM search") == searchBefore)
        #expect(try count("SELECT count(*) FROM ticket_collaborators") == 4)
        try expectRoundTrip(f, archive)

        // A fresh archive assigns the same target ids: loading is deterministic.
        let otherURL = folder.appendingPathComponent("other.sqlite")
        let other = try HelpDeskArchive(path: otherURL)
        #expect(try loadAll(f, into: other) == first)
    }

    @Test func changedContentUpdatesInPlace() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let archive = try HelpDeskArchive(path: archiveURL)
        var f = Fixture()
        try loadAll(f, into: archive)
        let ticketID = try #require(try archive.targetID(.tickets, sourceID: "1001"))
        let articleID = try #require(try archive.targetID(.kbArticles, sourceID: "art-1"))
        let counts = try rowCounts(archive)

        f.ticket.subject = "Scanner jammed"
        f.ticket.ccIDs = ["2999"]
        f.ticket.followerIDs = ["3000", "2999"]
        f.ticket.customFields = [CustomFieldValue(fieldID: "360002", value: .double(12.5))]
        f.ticket.priority = "urgent"
        f.ticket.sourceSystem = "zendesk-eu"
        #expect(try archive.upsert(f.ticket, contentHash: try Self.hash(f.ticket)) == .updated(ticketID))

        f.article.translations.removeFirst()
        f.article.labels = []
        #expect(try archive.upsert(f.article, contentHash: try Self.hash(f.article)) == .updated(articleID))

        #expect(try archive.fetch(Ticket.self, sourceID: "1001") == f.ticket)
        #expect(try archive.fetch(KBArticle.self, sourceID: "art-1") == f.article)
        #expect(try rowCounts(archive) == counts)
        // Child rows were replaced, not added to.
        #expect(try count("SELECT count(*) FROM ticket_collaborators") == 3)
        #expect(try count("SELECT count(*) FROM ticket_collaborators WHERE kind = 'cc'") == 1)
        #expect(try count("SELECT count(*) FROM ticket_field_values") == 1)
        #expect(try count("SELECT count(*) FROM kb_translations") == 1)
        // The search row follows the new subject.
        #expect(try archive.searchCount(matching: "scanner") == 1)
        #expect(try archive.searchCount(matching: "printer AND fire") == 0)
        #expect(try count("SELECT count(*) FROM search WHERE entity = 'tickets'") == 1)
        // Comments still point at the same ticket row.
        #expect(try archive.commentCount(ticketSourceID: "1001") == 2)
        #expect(try archive.idMapEntry(.tickets, sourceID: "1001")?.contentHash == (try Self.hash(f.ticket)))
    }

    @Test func danglingReferenceFailsTheRecordOnly() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let archive = try HelpDeskArchive(path: archiveURL)
        let f = Fixture()
        _ = try archive.upsert(f.organization, contentHash: try Self.hash(f.organization))

        // The ticket's requester 2999 was never loaded.
        let outcome = try archive.upsert(f.ticket, contentHash: try Self.hash(f.ticket))
        let reason = "requester_id 2999: no user with that source id was loaded"
        #expect(outcome == .failed(reason))
        let entry = try #require(try archive.idMapEntry(.tickets, sourceID: "1001"))
        #expect(entry.status == .failed)
        #expect(entry.reason == reason)
        #expect(entry.targetID == nil)
        #expect(try archive.rowCount(.tickets) == 0)
        #expect(try archive.targetID(.tickets, sourceID: "1001") == nil)
        #expect(try archive.fetch(Ticket.self, sourceID: "1001") == nil)
        #expect(try count("SELECT count(*) FROM search") == 0)

        // A comment on the failed ticket fails in turn, naming its own field.
        #expect(try archive.upsert(f.comment, contentHash: try Self.hash(f.comment))
                == .failed("ticket_id 1001: no ticket with that source id was loaded"))

        // References inside lists are checked too (cc 3000 is still missing).
        _ = try archive.upsert(f.user, contentHash: try Self.hash(f.user))
        _ = try archive.upsert(f.group, contentHash: try Self.hash(f.group))
        var ticket = f.ticket
        ticket.submitterID = nil
        #expect(try archive.upsert(ticket, contentHash: try Self.hash(ticket))
                == .failed("cc_ids 3000: no user with that source id was loaded"))
        ticket.ccIDs = []
        #expect(try archive.upsert(ticket, contentHash: try Self.hash(ticket))
                == .failed("custom_fields.field_id 360001: no ticket field with that source id was loaded"))

        // Once the missing records are loaded, the same record (same hash) loads.
        _ = try archive.upsert(f.otherUser, contentHash: try Self.hash(f.otherUser))
        _ = try archive.upsert(f.field, contentHash: try Self.hash(f.field))
        _ = try archive.upsert(f.keyedField, contentHash: try Self.hash(f.keyedField))
        guard case .created(let id) = try archive.upsert(f.ticket, contentHash: try Self.hash(f.ticket)) else {
            Issue.record("expected the ticket to load once its references exist"); return
        }
        #expect(try archive.idMapEntry(.tickets, sourceID: "1001")?.status == .loaded)
        #expect(try archive.idMapEntry(.tickets, sourceID: "1001")?.reason == nil)

        // A later version that dangles fails, but keeps the row and its id for the next fix.
        var broken = f.ticket
        broken.assigneeID = "4040"
        #expect(try archive.upsert(broken, contentHash: try Self.hash(broken))
                == .failed("assignee_id 4040: no user with that source id was loaded"))
        #expect(try archive.idMapEntry(.tickets, sourceID: "1001")?.targetID == id)
        #expect(try archive.fetch(Ticket.self, sourceID: "1001") == nil)
        #expect(try archive.upsert(f.ticket, contentHash: try Self.hash(f.ticket)) == .updated(id))
        #expect(try archive.fetch(Ticket.self, sourceID: "1001") == f.ticket)

        // Attachments resolve their parent by kind.
        var file = f.articleFile
        file.parentID = "c-1"
        #expect(try archive.upsert(file, contentHash: try Self.hash(file))
                == .failed("parent_id c-1: no article with that source id was loaded"))
    }

    @Test func fiveMegabyteBlobStreamsInAndOut() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let archive = try HelpDeskArchive(path: archiveURL)
        var bytes = [UInt8](repeating: 0, count: 5 * 1024 * 1024 + 123)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for i in bytes.indices {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            bytes[i] = UInt8(truncatingIfNeeded: state >> 33)
        }
        let data = Data(bytes)
        let sha = Hash.sha256(data)
        let chunk = 64 * 1024

        var calls = 0
        try archive.transaction {
            try archive.storeBlob(sha256: sha, size: UInt64(data.count)) { sink in
                calls += 1
                try data.withUnsafeBytes { all in
                    var offset = 0
                    while offset < all.count {
                        let end = min(offset + chunk, all.count)
                        try sink(UnsafeRawBufferPointer(rebasing: all[offset..<end]))
                        offset = end
                    }
                }
            }
        }
        #expect(calls == 1)
        #expect(try archive.hasBlob(sha))
        let digest = try #require(try archive.blobDigest(sha))
        #expect(digest.sha256 == sha)
        #expect(digest.size == UInt64(data.count))

        // Storing the same bytes again is a no-op: the producer is not even asked.
        try archive.storeBlob(sha256: sha, size: UInt64(data.count)) { _ in calls += 1 }
        #expect(calls == 1)
        #expect(try count("SELECT count(*) FROM blobs") == 1)

        // Bytes that do not match their key are refused and leave nothing behind.
        let wrong = String(repeating: "0", count: 64)
        #expect(throws: FerryError.self) {
            try archive.storeBlob(sha256: wrong, size: 3) { sink in
                try [UInt8](arrayLiteral: 1, 2, 3).withUnsafeBytes { try sink($0) }
            }
        }
        #expect(throws: FerryError.self) {
            try archive.storeBlob(sha256: Hash.sha256(Data([1, 2, 3])), size: 2) { sink in
                try [UInt8](arrayLiteral: 1, 2, 3).withUnsafeBytes { try sink($0) }
            }
        }
        #expect(try archive.hasBlob(wrong) == false)
        #expect(try archive.blobDigest(wrong) == nil)
        #expect(try count("SELECT count(*) FROM blobs") == 1)

        // An empty file is a blob like any other.
        let empty = Hash.sha256(Data())
        try archive.storeBlob(sha256: empty, size: 0) { _ in }
        #expect(try archive.blobDigest(empty)?.size == 0)
        #expect(try archive.blobDigest(empty)?.sha256 == empty)
    }

    @Test func searchFindsCommentsTicketsAndArticles() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let archive = try HelpDeskArchive(path: archiveURL)
        try loadAll(Fixture(), into: archive)
        #expect(try archive.searchCount(matching: "toner") == 1)        // comment body
        #expect(try archive.searchCount(matching: "emoji") == 1)        // diacritics folded ("émoji")
        #expect(try archive.searchCount(matching: "printer") == 1)      // ticket subject
        #expect(try archive.searchCount(matching: "smells") == 1)       // ticket description
        #expect(try archive.searchCount(matching: "fuser") == 1)        // article body, tags stripped
        #expect(try archive.searchCount(matching: "title: extinguishing") == 1)
        #expect(try archive.searchCount(matching: "hidden") == 0)       // script content is not text
        #expect(try archive.searchCount(matching: "nbsp") == 0)         // entities decoded
        #expect(try archive.searchCount(matching: "zebra") == 0)
        #expect(throws: FerryError.self) { try archive.searchCount(matching: "\"unbalanced") }
    }

    @Test func loadedPartsCommitWithTheirRows() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let archive = try HelpDeskArchive(path: archiveURL)
        let f = Fixture()
        #expect(try archive.isPartLoaded(fingerprint: "fp1", part: "organizations.ndjson", contentDigest: "d1") == false)

        // A batch that throws leaves neither its rows nor its part mark.
        struct Interrupted: Error {}
        #expect(throws: Interrupted.self) {
            try archive.transaction {
                _ = try archive.upsert(f.organization, contentHash: try Self.hash(f.organization))
                try archive.markPartLoaded(fingerprint: "fp1", part: "organizations.ndjson", contentDigest: "d1")
                throw Interrupted()
            }
        }
        #expect(try archive.isPartLoaded(fingerprint: "fp1", part: "organizations.ndjson", contentDigest: "d1") == false)
        #expect(try archive.rowCount(.organizations) == 0)
        #expect(try archive.idMapEntry(.organizations, sourceID: "org-1") == nil)

        try archive.transaction {
            _ = try archive.upsert(f.organization, contentHash: try Self.hash(f.organization))
            try archive.markPartLoaded(fingerprint: "fp1", part: "organizations.ndjson", contentDigest: "d1")
        }
        #expect(try archive.isPartLoaded(fingerprint: "fp1", part: "organizations.ndjson", contentDigest: "d1"))
        #expect(try archive.isPartLoaded(fingerprint: "fp1", part: "organizations.ndjson", contentDigest: "d2") == false)
        #expect(try archive.isPartLoaded(fingerprint: "fp2", part: "organizations.ndjson", contentDigest: "d1") == false)
        #expect(try archive.isPartLoaded(fingerprint: "fp1", part: "users.ndjson", contentDigest: "d1") == false)

        // Marking again with new content replaces the digest.
        try archive.markPartLoaded(fingerprint: "fp1", part: "organizations.ndjson", contentDigest: "d2")
        #expect(try archive.isPartLoaded(fingerprint: "fp1", part: "organizations.ndjson", contentDigest: "d2"))
        #expect(try archive.isPartLoaded(fingerprint: "fp1", part: "organizations.ndjson", contentDigest: "d1") == false)
        #expect(try count("SELECT count(*) FROM loaded_parts") == 1)

        // And it survives reopening.
        let reopened = try HelpDeskArchive(path: archiveURL)
        #expect(try reopened.isPartLoaded(fingerprint: "fp1", part: "organizations.ndjson", contentDigest: "d2"))
    }

    @Test func aRecordWrittenInPartNeverCommits() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let archive = try HelpDeskArchive(path: archiveURL)
        let f = Fixture()
        _ = try archive.upsert(f.organization, contentHash: try Self.hash(f.organization))
        for user in [f.user, f.otherUser] { _ = try archive.upsert(user, contentHash: try Self.hash(user)) }
        for record in [f.field, f.keyedField] { _ = try archive.upsert(record, contentHash: try Self.hash(record)) }
        _ = try archive.upsert(f.group, contentHash: try Self.hash(f.group))
        #expect(try archive.rowCount(.users) == 2)
        // Sabotage: user 3000's row disappears behind id_map's back, so the
        // ticket row inserts fine and then its cc row breaks a foreign key.
        try DatabaseQueue(path: archiveURL.path).writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA foreign_keys = OFF; DELETE FROM users WHERE source_id = '3000'")
        }
        var ticket = f.ticket
        ticket.submitterID = nil

        // The caller swallows the error and carries on: the batch must not commit.
        var swallowed = false
        #expect(throws: FerryError.self) {
            try archive.transaction {
                do { _ = try archive.upsert(ticket, contentHash: "h1") } catch { swallowed = true }
                var group = f.group
                group.name = "Renamed"
                _ = try archive.upsert(group, contentHash: "h2")
            }
        }
        #expect(swallowed)
        #expect(try archive.rowCount(.tickets) == 0)
        #expect(try count("SELECT count(*) FROM ticket_collaborators") == 0)
        #expect(try archive.fetch(Group.self, sourceID: f.group.id) == f.group)

        // Outside a batch the record is its own transaction: nothing is left either.
        #expect(throws: FerryError.self) { _ = try archive.upsert(ticket, contentHash: "h1") }
        #expect(try archive.rowCount(.tickets) == 0)
        #expect(try archive.idMapEntry(.tickets, sourceID: ticket.id) == nil)

        // The next batch starts clean.
        try archive.transaction { _ = try archive.upsert(f.group, contentHash: "h3") }
        #expect(try archive.idMapEntry(.groups, sourceID: f.group.id)?.contentHash == "h3")
    }

    @Test func refusesAnotherApplicationsDatabase() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let foreign = folder.appendingPathComponent("crm.sqlite")
        try DatabaseQueue(path: foreign.path).write { try $0.execute(sql: "CREATE TABLE contacts (id INTEGER PRIMARY KEY)") }
        #expect(throws: FerryError.self) { _ = try HelpDeskArchive(path: foreign) }
    }
}
