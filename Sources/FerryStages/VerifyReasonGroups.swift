import FerryCore

/// Failures and skips grouped by what went wrong, so the report says "6 users:
/// merged into #: same e-mail as user # ..." once instead of listing six rows
/// that differ only in their ids.
///
/// Memory stays bounded however many records fail: each group keeps a count,
/// a count per kind of record and at most `maxExamples` examples, and there
/// are at most `maxGroups` groups per status; reasons beyond that are counted
/// in one "(other reasons)" group. Every row is in records.csv anyway.
struct ReasonGroups {
    static let maxGroups = 100
    static let maxExamples = 3
    static let otherReasons = "(other reasons: see the CSV)"

    private var groups: [ReasonGroup] = []
    private var index: [String: Int] = [:]
    private var groupsPerStatus: [RecordStatus: Int] = [:]

    /// Counts one failed or skipped record under its normalised reason.
    /// `groupReason` is what to group by when it differs from the reason shown
    /// in the example (a reject groups by its reason, without file and line).
    mutating func add(status: RecordStatus, entity: String, sourceID: String, reason: String, groupReason: String? = nil) {
        var normalised = Self.normalise(groupReason ?? reason)
        var key = status.rawValue + "\u{0}" + normalised
        if index[key] == nil, groupsPerStatus[status, default: 0] >= Self.maxGroups {
            normalised = Self.otherReasons
            key = status.rawValue + "\u{0}" + normalised
        }
        let position: Int
        if let existing = index[key] {
            position = existing
        } else {
            position = groups.count
            index[key] = position
            groupsPerStatus[status, default: 0] += 1
            groups.append(ReasonGroup(status: status.rawValue, reason: normalised, count: 0, entities: [:], examples: []))
        }
        groups[position].count += 1
        groups[position].entities[entity.isEmpty ? "(unknown kind)" : entity, default: 0] += 1
        if groups[position].examples.count < Self.maxExamples {
            groups[position].examples.append(ReasonExample(entity: entity, sourceID: sourceID, reason: reason))
        }
    }

    /// Failed before skipped, biggest group first, then alphabetically (stable output).
    var sorted: [ReasonGroup] {
        groups.sorted { a, b in
            if a.status != b.status { return a.status == RecordStatus.failed.rawValue }
            if a.count != b.count { return a.count > b.count }
            return a.reason < b.reason
        }
    }

    /// Removes what varies from record to record so equal causes group together:
    /// quoted values become `"…"`, parenthesised details `(…)`, and any word
    /// holding a digit (ids, `file:line`, part names, dates) `#`, keeping the
    /// punctuation that ends it. "merged into 2079: same e-mail as user 2079
    /// (a@b.example)" and "merged into 2031: same e-mail as user 2031 (c@d.example)"
    /// both become "merged into #: same e-mail as user # (…)".
    static func normalise(_ reason: String) -> String {
        var collapsed = ""
        var depth = 0
        var inQuote = false
        for character in reason {
            if inQuote {
                if character == "\"" { inQuote = false; collapsed += "…\"" }
                continue
            }
            if depth > 0 {
                if character == "(" { depth += 1 }
                if character == ")" { depth -= 1; if depth == 0 { collapsed += "…)" } }
                continue
            }
            switch character {
            case "\"": inQuote = true; collapsed.append(character)
            case "(": depth = 1; collapsed.append(character)
            default: collapsed.append(character)
            }
        }
        if inQuote { collapsed += "…\"" }
        if depth > 0 { collapsed += "…)" }

        let trailing: Set<Character> = [":", ";", ",", ".", "!", "?"]
        let words = collapsed.split(separator: " ", omittingEmptySubsequences: false).map { word -> String in
            guard word.contains(where: \.isNumber) else { return String(word) }
            var end = word.endIndex
            while end > word.startIndex, trailing.contains(word[word.index(before: end)]) { end = word.index(before: end) }
            return "#" + word[end...]
        }
        return words.joined(separator: " ")
    }
}

/// One reason, how many records it covers, and a few of them.
public struct ReasonGroup: Codable, Equatable, Sendable {
    /// `failed` or `skipped`.
    public var status: String
    /// The normalised reason (ids and values replaced, see `ReasonGroups.normalise`).
    public var reason: String
    public var count: Int
    /// How many of each kind of record (entity name: count).
    public var entities: [String: Int]
    /// Up to three records with this reason, with their full reason.
    public var examples: [ReasonExample]
}

public struct ReasonExample: Codable, Equatable, Sendable {
    public var entity: String
    public var sourceID: String
    public var reason: String

    enum CodingKeys: String, CodingKey { case entity, sourceID = "source_id", reason }
}
