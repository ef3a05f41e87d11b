import Foundation

/// A record a stage refused, with enough context to find and fix it.
/// Stored in the bundle member `rejects.ndjson`.
public struct Reject: Codable, Equatable, Sendable {
    public var stage: String
    public var file: String?
    public var line: Int?
    public var entity: EntityType?
    public var recordID: String?
    public var field: String?
    public var reason: String
    /// The first bytes of the offending line, for a person to recognise it.
    public var excerpt: String?

    public init(stage: String, file: String? = nil, line: Int? = nil, entity: EntityType? = nil, recordID: String? = nil, field: String? = nil, reason: String, excerpt: String? = nil) {
        self.stage = stage; self.file = file; self.line = line; self.entity = entity
        self.recordID = recordID; self.field = field; self.reason = reason; self.excerpt = excerpt
    }

    enum CodingKeys: String, CodingKey {
        case stage, file, line, entity, recordID = "record_id", field, reason, excerpt
    }

    /// One line for a terminal: "tickets.ndjson:57 ticket not-a-number field id: wrong type".
    public var summary: String {
        var parts: [String] = []
        if let file { parts.append(line.map { "\(file):\($0)" } ?? file) }
        if let entity { parts.append(entity.singular + (recordID.map { " \($0)" } ?? "")) }
        if let field { parts.append("field \(field)") }
        return parts.joined(separator: " ") + ": " + reason
    }

    public static let memberName = "rejects.ndjson"

    /// The id of a line that did not decode, when it can be seen, so the reject names the record.
    public static func visibleID(in raw: Data) -> String? {
        let text = String(decoding: raw.prefix(200), as: UTF8.self)
        guard let range = text.range(of: "\"id\":") else { return nil }
        let rest = text[range.upperBound...].drop { $0 == " " || $0 == "\"" }
        let id = rest.prefix { $0.isNumber || $0.isLetter || $0 == "-" || $0 == "_" }
        return id.isEmpty || id == "null" ? nil : String(id)
    }
}

/// A record that the dedupe stage folded into another one (or dropped as an
/// exact copy), and the map stage's merges of groups. Stored in `merges.ndjson`.
public struct Merge: Codable, Equatable, Sendable {
    public var entity: EntityType
    public var mergedID: String
    public var survivorID: String
    public var reason: String

    public init(entity: EntityType, mergedID: String, survivorID: String, reason: String) {
        self.entity = entity; self.mergedID = mergedID; self.survivorID = survivorID; self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case entity, mergedID = "merged_id", survivorID = "survivor_id", reason
    }

    public static let memberName = "merges.ndjson"
}

/// A field value a stage changed on purpose (cleaned e-mail, normalised phone,
/// an assignee given to the default agent, a reference to a record missing
/// from the export cleared), so nobody has to guess what happened to their
/// data. Stored in `changes.ndjson`. Not listed one by one: references
/// rewritten to a merge survivor (merges.ndjson says who became whom) and
/// values translated by the map section (pipeline.yml says how).
public struct FieldChange: Codable, Equatable, Sendable {
    public var entity: EntityType
    public var recordID: String
    public var field: String
    public var before: JSONValue
    public var after: JSONValue
    public var reason: String

    public init(entity: EntityType, recordID: String, field: String, before: JSONValue, after: JSONValue, reason: String) {
        self.entity = entity; self.recordID = recordID; self.field = field
        self.before = before; self.after = after; self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case entity, recordID = "record_id", field, before, after, reason
    }

    public static let memberName = "changes.ndjson"
}

/// A record a stage left out on purpose (a filter, a field the mapping drops).
/// Stored in `skips.ndjson`.
public struct Skip: Codable, Equatable, Sendable {
    public var entity: EntityType
    public var recordID: String
    public var reason: String

    public init(entity: EntityType, recordID: String, reason: String) {
        self.entity = entity; self.recordID = recordID; self.reason = reason
    }

    enum CodingKeys: String, CodingKey { case entity, recordID = "record_id", reason }

    public static let memberName = "skips.ndjson"
}

/// A record the source no longer has: found by a delta extract (in the previous
/// extraction, absent now). Stored in `deletions.ndjson`; later stages pass it
/// on and the load applies `target.deletions` (keep, mark or delete).
public struct Deletion: Codable, Equatable, Sendable {
    public var entity: EntityType
    public var recordID: String
    public var reason: String

    public init(entity: EntityType, recordID: String, reason: String) {
        self.entity = entity; self.recordID = recordID; self.reason = reason
    }

    enum CodingKeys: String, CodingKey { case entity, recordID = "record_id", reason }

    public static let memberName = "deletions.ndjson"
}
