/// The kinds of record a bundle carries, in dependency order: a record only
/// refers to kinds listed before it, so loading members in this order never
/// meets a reference to something not loaded yet.
public enum EntityType: String, Codable, CaseIterable, Sendable, Comparable {
    case organizations
    case users
    case groups
    case ticketFields = "ticket_fields"
    case tickets
    case comments
    case kbCategories = "kb_categories"
    case kbSections = "kb_sections"
    case kbArticles = "kb_articles"
    case attachments

    /// The NDJSON member of a bundle that holds this kind.
    public var memberName: String { rawValue + ".ndjson" }

    public init?(memberName: String) {
        guard memberName.hasSuffix(".ndjson") else { return nil }
        self.init(rawValue: String(memberName.dropLast(7)))
    }

    public var order: Int { Self.allCases.firstIndex(of: self)! }

    public static func < (lhs: EntityType, rhs: EntityType) -> Bool { lhs.order < rhs.order }

    /// Singular noun for messages ("ticket 42").
    public var singular: String {
        switch self {
        case .organizations: return "organization"
        case .users: return "user"
        case .groups: return "group"
        case .ticketFields: return "ticket field"
        case .tickets: return "ticket"
        case .comments: return "comment"
        case .kbCategories: return "category"
        case .kbSections: return "section"
        case .kbArticles: return "article"
        case .attachments: return "attachment"
        }
    }
}
