@testable import FerryCore
import Foundation
import Testing

/// The canonical model: entity order, the JSON every record encodes to,
/// JSON values of unknown shape, and decoding errors that name the field.
@Suite struct ModelTests {
    let json = CanonicalJSON()

    static func text(_ data: Data) -> String { String(decoding: data, as: UTF8.self) }

    // MARK: EntityType

    @Test func entitiesAreInDependencyOrder() {
        #expect(EntityType.allCases.map(\.rawValue) == [
            "organizations", "users", "groups", "ticket_fields", "tickets", "comments",
            "kb_categories", "kb_sections", "kb_articles", "attachments",
        ])
        #expect(EntityType.organizations < .users)
        #expect(EntityType.users < .tickets)
        #expect(EntityType.tickets < .comments)
        #expect(EntityType.kbCategories < .kbSections)
        #expect(EntityType.kbSections < .kbArticles)
        #expect(EntityType.comments < .attachments)
        #expect(EntityType.allCases.sorted() == EntityType.allCases)
        #expect(EntityType.allCases.map(\.order) == Array(0..<EntityType.allCases.count))
    }

    @Test func memberNamesRoundTrip() {
        for entity in EntityType.allCases {
            #expect(entity.memberName == entity.rawValue + ".ndjson")
            #expect(EntityType(memberName: entity.memberName) == entity)
        }
        #expect(EntityType(memberName: "tickets.json") == nil)
        #expect(EntityType(memberName: "tickets") == nil)
        #expect(EntityType(memberName: "rejects.ndjson") == nil)
        #expect(EntityType(memberName: ".ndjson") == nil)
        #expect(EntityType.ticketFields.singular == "ticket field")
        #expect(EntityType.kbArticles.singular == "article")
    }

    @Test func recordsNameTheirEntity() {
        #expect(Organization.entity == .organizations)
        #expect(User.entity == .users)
        #expect(Group.entity == .groups)
        #expect(TicketField.entity == .ticketFields)
        #expect(Ticket.entity == .tickets)
        #expect(FerryCore.Comment.entity == .comments)
        #expect(KBCategory.entity == .kbCategories)
        #expect(KBSection.entity == .kbSections)
        #expect(KBArticle.entity == .kbArticles)
        #expect(FerryCore.Attachment.entity == .attachments)
        #expect(UserRole.endUser.isStaff == false)
        #expect(UserRole.agent.isStaff)
        #expect(UserRole.admin.isStaff)
    }

    // MARK: CanonicalJSON

    @Test func canonicalJSONSortsKeysLeavesSlashesAndOmitsNil() throws {
        let group = Group(id: "g/1", sourceSystem: "zendesk", name: "Tier 1/2")
        #expect(Self.text(try json.encode(group)) == #"{"id":"g/1","name":"Tier 1/2","source_system":"zendesk"}"#)

        let user = User(id: "u-1", sourceSystem: "zendesk", name: "Dana")
        let userText = Self.text(try json.encode(user))
        #expect(userText == #"{"active":true,"id":"u-1","name":"Dana","role":"end_user","source_system":"zendesk","suspended":false,"tags":[]}"#)
        for absent in ["email", "phone", "organization_id", "locale", "time_zone", "external_id", "created_at", "updated_at", "null"] {
            #expect(!userText.contains(absent), "\(absent) should be absent, not null")
        }

        let org = Organization(id: "o", sourceSystem: "s", name: "N", details: "see https://acme.example/about", createdAt: "2024-01-01T00:00:00Z")
        let orgText = Self.text(try json.encode(org))
        #expect(orgText.contains("https://acme.example/about"))
        #expect(!orgText.contains("\\/"))
        let keys = try #require(try JSONSerialization.jsonObject(with: json.encode(org)) as? [String: Any]).keys.sorted()
        // Keys appear in the text in sorted order.
        let positions = keys.map { orgText.range(of: "\"\($0)\":")!.lowerBound }
        #expect(positions == positions.sorted())
    }

    @Test func canonicalJSONIsByteStable() throws {
        let ticket = Ticket(id: "t-1", sourceSystem: "zendesk", subject: "Ünïcødé ✓ \"q\" \n tab\t", status: "open", tags: ["z", "a"],
                            customFields: [CustomFieldValue(fieldID: "2", value: .object(["b": .int(1), "a": .array([.bool(true), .null])]))])
        let first = try json.encode(ticket)
        let second = try CanonicalJSON().encode(try json.decode(Ticket.self, from: first))
        #expect(first == second)
        #expect(!first.contains(0x0a), "one line: newlines inside strings are escaped")
        #expect(Self.text(first).contains(#"{"field_id":"2","value":{"a":[true,null],"b":1}}"#))
        #expect(Self.text(first).contains(#""tags":["z","a"]"#), "array order is data, not sorted")
    }

    @Test func everyRecordKindRoundTrips() throws {
        let sha = Hash.sha256("x")
        try roundTrip(Organization(id: "1", sourceSystem: "z", name: "Acme", domainNames: ["acme.example"], details: "d", notes: "n", tags: ["t"], externalID: "e", createdAt: "2024-01-01T00:00:00Z", updatedAt: "2024-01-02T00:00:00Z"))
        try roundTrip(User(id: "2", sourceSystem: "z", name: "U", email: "u@x.io", phone: "+1555", role: .admin, active: false, suspended: true, organizationID: "1", locale: "de", timeZone: "Europe/Berlin", tags: ["a"], externalID: "x"))
        try roundTrip(Group(id: "3", sourceSystem: "z", name: "G", description: "desc"))
        try roundTrip(TicketField(id: "4", sourceSystem: "z", key: "order_number", title: "Order number", type: .dropdown, description: "d", active: false, required: true, position: 2, regexp: "^A", options: [FieldOption(id: "9", name: "One", value: "one"), FieldOption(name: "Two", value: "two")]))
        try roundTrip(Ticket(id: "5", sourceSystem: "z", subject: "S", description: "D", status: "open", priority: "high", type: "incident", requesterID: "2", submitterID: "2", assigneeID: "2", groupID: "3", organizationID: "1", tags: ["x"], customFields: [CustomFieldValue(fieldID: "4", value: .string("one"))], ccIDs: ["7"], followerIDs: ["8"], channel: "email", externalID: "e", createdAt: "2024-01-01T00:00:00Z", updatedAt: "2024-01-01T00:00:00Z", solvedAt: "2024-01-03T00:00:00Z"))
        try roundTrip(FerryCore.Comment(id: "6", sourceSystem: "z", ticketID: "5", authorID: "2", isPublic: false, bodyHTML: "<b>x</b>", bodyPlain: "x", createdAt: "2024-01-01T00:00:00Z"))
        try roundTrip(KBCategory(id: "7", sourceSystem: "z", name: "C", description: "d", locale: "en-us", position: 1, url: "https://x/y"))
        try roundTrip(KBSection(id: "8", sourceSystem: "z", categoryID: "7", name: "S", position: 0))
        try roundTrip(KBArticle(id: "9", sourceSystem: "z", sectionID: "8", authorID: "2", title: "T", bodyHTML: "<p/>", locale: "en-us", sourceLocale: "en-us", labels: ["l"], draft: true, promoted: true, position: 3, url: "https://x", translations: [ArticleTranslation(locale: "de", title: "T", bodyHTML: "<p/>", draft: true)]))
        try roundTrip(FerryCore.Attachment(id: "10", sourceSystem: "z", parentType: .article, parentID: "9", fileName: "a b.pdf", contentType: "application/pdf", size: 12_345_678_901, sha256: sha, inline: true))
        try roundTrip(Reject(stage: "extract", file: "tickets.json", line: 3, entity: .tickets, recordID: "5", field: "custom_fields.1.id", reason: "wrong type", excerpt: "{\"id\""))
        try roundTrip(Merge(entity: .organizations, mergedID: "11", survivorID: "1", reason: "same domain"))
        try roundTrip(Skip(entity: .kbArticles, recordID: "12", reason: "draft"))
        try roundTrip(FieldChange(entity: .users, recordID: "2", field: "phone", before: .string("(555) 1"), after: .null, reason: "not a phone number"))
    }

    func roundTrip<T: Codable & Equatable>(_ value: T, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let data = try json.encode(value)
        let back = try json.decode(T.self, from: data)
        #expect(back == value, sourceLocation: sourceLocation)
        #expect(try json.encode(back) == data, sourceLocation: sourceLocation)
    }

    @Test func outcomeRecordsUseSnakeCaseKeys() throws {
        let merge = Self.text(try json.encode(Merge(entity: .users, mergedID: "a", survivorID: "b", reason: "r")))
        #expect(merge == #"{"entity":"users","merged_id":"a","reason":"r","survivor_id":"b"}"#)
        let reject = Self.text(try json.encode(Reject(stage: "map", reason: "r")))
        #expect(reject == #"{"reason":"r","stage":"map"}"#)
        let change = Self.text(try json.encode(FieldChange(entity: .tickets, recordID: "t", field: "status", before: .string("hold"), after: .string("on_hold"), reason: "map.statuses")))
        #expect(change == #"{"after":"on_hold","before":"hold","entity":"tickets","field":"status","reason":"map.statuses","record_id":"t"}"#)
    }

    @Test func rejectSummaryReadsLikeALocation() {
        let full = Reject(stage: "extract", file: "tickets.ndjson", line: 57, entity: .tickets, recordID: "not-a-number", field: "id", reason: "wrong type")
        #expect(full.summary == "tickets.ndjson:57 ticket not-a-number field id: wrong type")
        #expect(Reject(stage: "x", file: "users.json", reason: "bad").summary == "users.json: bad")
        #expect(Reject(stage: "x", entity: .users, reason: "bad").summary == "user: bad")
    }

    // MARK: JSONValue

    @Test func jsonValueKeepsKindsApart() throws {
        func decode(_ text: String) throws -> JSONValue { try json.decode(JSONValue.self, from: Data(text.utf8)) }
        #expect(try decode("42") == .int(42))
        #expect(try decode("-7") == .int(-7))
        #expect(try decode("9007199254740993") == .int(9_007_199_254_740_993), "beyond Double precision stays exact")
        #expect(try decode("1.5") == .double(1.5))
        #expect(try decode("-0.25") == .double(-0.25))
        #expect(try decode("\"42\"") == .string("42"))
        #expect(try decode("\"true\"") == .string("true"))
        #expect(try decode("true") == .bool(true))
        #expect(try decode("false") == .bool(false))
        #expect(try decode("1") == .int(1), "1 is a number, not true")
        #expect(try decode("0") == .int(0), "0 is a number, not false")
        #expect(try decode("null") == .null)
        #expect(try decode("[1, \"1\", true, null, 2.5]") == .array([.int(1), .string("1"), .bool(true), .null, .double(2.5)]))
        #expect(try decode(#"{"a": {"b": [1]}, "c": "d"}"#) == .object(["a": .object(["b": .array([.int(1)])]), "c": .string("d")]))
        #expect(try decode("[]") == .array([]))
        #expect(try decode("{}") == .object([:]))
    }

    @Test func jsonValueRoundTrips() throws {
        let value = JSONValue.object([
            "int": .int(-12), "big": .int(Int64.max), "double": .double(3.25), "string": .string("a/b \"c\""),
            "bool": .bool(false), "null": .null, "array": .array([.int(1), .array([]), .object([:])]),
            "nested": .object(["x": .array([.string("y"), .double(0.5)])]),
        ])
        let data = try json.encode(value)
        let back = try json.decode(JSONValue.self, from: data)
        #expect(back == value)
        #expect(try json.encode(back) == data)
        #expect(Self.text(data).hasPrefix(#"{"array":[1,[],{}],"big":9223372036854775807,"bool":false"#))
    }

    @Test func jsonValueDisplay() {
        #expect(JSONValue.null.display == "null")
        #expect(JSONValue.int(3).display == "3")
        #expect(JSONValue.string("x").display == "x")
        #expect(JSONValue.array([.int(1), .bool(true)]).display == "[1, true]")
        #expect(JSONValue.object(["b": .int(2), "a": .int(1)]).display == "{a: 1, b: 2}")
    }

    // MARK: Decoding errors

    @Test func fieldPathNamesANestedWrongType() throws {
        let line = #"{"id":"t-1","source_system":"zendesk","subject":"s","status":"open","tags":[],"cc_ids":[],"follower_ids":[],"custom_fields":[{"field_id":"1","value":1},{"field_id":2,"value":"x"}]}"#
        do {
            _ = try json.decode(Ticket.self, from: Data(line.utf8))
            Issue.record("decoding should fail")
        } catch let error as DecodingError {
            #expect(error.fieldPath == "custom_fields.1.field_id")
            #expect(error.reason.contains("a string"), "\(error.reason)")
        }
    }

    @Test func fieldPathNamesAMissingKeyAndANull() throws {
        let missing = #"{"id":"t-1","source_system":"zendesk","status":"open","tags":[],"cc_ids":[],"follower_ids":[],"custom_fields":[]}"#
        do {
            _ = try json.decode(Ticket.self, from: Data(missing.utf8))
            Issue.record("decoding should fail")
        } catch let error as DecodingError {
            #expect(error.fieldPath == "subject")
            #expect(error.reason == "required field subject is missing")
        }
        let null = #"{"id":"c","source_system":"z","ticket_id":null,"public":true,"body_plain":"x"}"#
        do {
            _ = try json.decode(FerryCore.Comment.self, from: Data(null.utf8))
            Issue.record("decoding should fail")
        } catch let error as DecodingError {
            #expect(error.fieldPath == "ticket_id")
        }
        let malformed = #"{"id": "#
        do {
            _ = try json.decode(Group.self, from: Data(malformed.utf8))
            Issue.record("decoding should fail")
        } catch let error as DecodingError {
            #expect(error.fieldPath == "")
            #expect(!error.reason.isEmpty)
        }
    }

    @Test func typeNamesAreWords() {
        #expect(DecodingError.typeName(Int.self) == "a whole number")
        #expect(DecodingError.typeName(Double.self) == "a number")
        #expect(DecodingError.typeName(String.self) == "a string")
        #expect(DecodingError.typeName(Bool.self) == "true or false")
        #expect(DecodingError.typeName([String].self) == "an array")
        #expect(DecodingError.typeName([String: Int].self) == "an object")
    }
}
