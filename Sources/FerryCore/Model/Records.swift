/// The canonical help desk model every connector reads into and writes from.
///
/// Every record carries the system it came from and its ID there (as a string,
/// since systems disagree on ID types); references between records are source
/// IDs, so a bundle is meaningful on its own, without any target. Timestamps
/// are ISO 8601 in UTC ("2024-03-05T14:22:10Z"). Optional fields encode as
/// absent keys, so adding a field later does not change old records' bytes.

extension EntityType {
    /// The record type this kind decodes to. Generic code takes it as `R.Type`
    /// (Swift opens the existential), so one generic function serves every
    /// kind instead of a switch per call site.
    public var recordType: any CanonicalRecord.Type {
        switch self {
        case .organizations: return Organization.self
        case .users: return User.self
        case .groups: return Group.self
        case .ticketFields: return TicketField.self
        case .tickets: return Ticket.self
        case .comments: return Comment.self
        case .kbCategories: return KBCategory.self
        case .kbSections: return KBSection.self
        case .kbArticles: return KBArticle.self
        case .attachments: return Attachment.self
        }
    }
}

/// A record of any kind: what stages need without knowing the concrete type.
public protocol CanonicalRecord: Codable, Equatable, Sendable {
    static var entity: EntityType { get }
    var id: String { get }
    var sourceSystem: String { get }
}

public struct Organization: CanonicalRecord {
    public static let entity = EntityType.organizations
    public var id: String
    public var sourceSystem: String
    public var name: String
    public var domainNames: [String]
    public var details: String?
    public var notes: String?
    public var tags: [String]
    public var externalID: String?
    public var createdAt: String?
    public var updatedAt: String?

    public init(id: String, sourceSystem: String, name: String, domainNames: [String] = [], details: String? = nil, notes: String? = nil, tags: [String] = [], externalID: String? = nil, createdAt: String? = nil, updatedAt: String? = nil) {
        self.id = id; self.sourceSystem = sourceSystem; self.name = name; self.domainNames = domainNames
        self.details = details; self.notes = notes; self.tags = tags; self.externalID = externalID
        self.createdAt = createdAt; self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, sourceSystem = "source_system", name, domainNames = "domain_names", details, notes, tags
        case externalID = "external_id", createdAt = "created_at", updatedAt = "updated_at"
    }
}

public enum UserRole: String, Codable, Sendable {
    case endUser = "end_user"
    case agent
    case admin

    public var isStaff: Bool { self != .endUser }
}

public struct User: CanonicalRecord {
    public static let entity = EntityType.users
    public var id: String
    public var sourceSystem: String
    public var name: String
    public var email: String?
    public var phone: String?
    public var role: UserRole
    public var active: Bool
    public var suspended: Bool
    public var organizationID: String?
    public var locale: String?
    public var timeZone: String?
    public var tags: [String]
    public var externalID: String?
    public var createdAt: String?
    public var updatedAt: String?

    public init(id: String, sourceSystem: String, name: String, email: String? = nil, phone: String? = nil, role: UserRole = .endUser, active: Bool = true, suspended: Bool = false, organizationID: String? = nil, locale: String? = nil, timeZone: String? = nil, tags: [String] = [], externalID: String? = nil, createdAt: String? = nil, updatedAt: String? = nil) {
        self.id = id; self.sourceSystem = sourceSystem; self.name = name; self.email = email; self.phone = phone
        self.role = role; self.active = active; self.suspended = suspended; self.organizationID = organizationID
        self.locale = locale; self.timeZone = timeZone; self.tags = tags; self.externalID = externalID
        self.createdAt = createdAt; self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, sourceSystem = "source_system", name, email, phone, role, active, suspended
        case organizationID = "organization_id", locale, timeZone = "time_zone", tags
        case externalID = "external_id", createdAt = "created_at", updatedAt = "updated_at"
    }
}

public struct Group: CanonicalRecord {
    public static let entity = EntityType.groups
    public var id: String
    public var sourceSystem: String
    public var name: String
    public var description: String?
    public var createdAt: String?
    public var updatedAt: String?

    public init(id: String, sourceSystem: String, name: String, description: String? = nil, createdAt: String? = nil, updatedAt: String? = nil) {
        self.id = id; self.sourceSystem = sourceSystem; self.name = name; self.description = description
        self.createdAt = createdAt; self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, sourceSystem = "source_system", name, description, createdAt = "created_at", updatedAt = "updated_at"
    }
}

/// Custom field types, named for what they hold rather than any vendor's words.
public enum FieldType: String, Codable, Sendable, CaseIterable {
    case text, textarea, integer, decimal, date, checkbox, dropdown, multiselect, regexp
}

public struct FieldOption: Codable, Equatable, Sendable {
    public var id: String?
    public var name: String
    public var value: String

    public init(id: String? = nil, name: String, value: String) {
        self.id = id; self.name = name; self.value = value
    }
}

public struct TicketField: CanonicalRecord {
    public static let entity = EntityType.ticketFields
    public var id: String
    public var sourceSystem: String
    /// The key the target knows the field by. Set by ferry-map; absent before.
    public var key: String?
    public var title: String
    public var type: FieldType
    public var description: String?
    public var active: Bool
    public var required: Bool
    public var position: Int?
    public var regexp: String?
    public var options: [FieldOption]
    public var createdAt: String?
    public var updatedAt: String?

    public init(id: String, sourceSystem: String, key: String? = nil, title: String, type: FieldType, description: String? = nil, active: Bool = true, required: Bool = false, position: Int? = nil, regexp: String? = nil, options: [FieldOption] = [], createdAt: String? = nil, updatedAt: String? = nil) {
        self.id = id; self.sourceSystem = sourceSystem; self.key = key; self.title = title; self.type = type
        self.description = description; self.active = active; self.required = required; self.position = position
        self.regexp = regexp; self.options = options; self.createdAt = createdAt; self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, sourceSystem = "source_system", key, title, type, description, active, required, position, regexp, options
        case createdAt = "created_at", updatedAt = "updated_at"
    }
}

public struct CustomFieldValue: Codable, Equatable, Sendable {
    public var fieldID: String
    public var value: JSONValue

    public init(fieldID: String, value: JSONValue) {
        self.fieldID = fieldID; self.value = value
    }

    enum CodingKeys: String, CodingKey { case fieldID = "field_id", value }
}

public struct Ticket: CanonicalRecord {
    public static let entity = EntityType.tickets
    public var id: String
    public var sourceSystem: String
    public var subject: String
    public var description: String?
    public var status: String
    public var priority: String?
    public var type: String?
    public var requesterID: String?
    public var submitterID: String?
    public var assigneeID: String?
    public var groupID: String?
    public var organizationID: String?
    public var tags: [String]
    public var customFields: [CustomFieldValue]
    public var ccIDs: [String]
    public var followerIDs: [String]
    public var channel: String?
    public var externalID: String?
    public var createdAt: String?
    public var updatedAt: String?
    public var solvedAt: String?
    /// What changed on the ticket and when (status, priority, assignee...), as
    /// the source recorded it. Absent when the source has none; ferry-map turns
    /// events into private notes or leaves them out (`map.options.ticket_events`),
    /// so targets never see this key.
    public var events: [TicketEvent]?

    public init(id: String, sourceSystem: String, subject: String, description: String? = nil, status: String, priority: String? = nil, type: String? = nil, requesterID: String? = nil, submitterID: String? = nil, assigneeID: String? = nil, groupID: String? = nil, organizationID: String? = nil, tags: [String] = [], customFields: [CustomFieldValue] = [], ccIDs: [String] = [], followerIDs: [String] = [], channel: String? = nil, externalID: String? = nil, createdAt: String? = nil, updatedAt: String? = nil, solvedAt: String? = nil, events: [TicketEvent]? = nil) {
        self.events = events
        self.id = id; self.sourceSystem = sourceSystem; self.subject = subject; self.description = description
        self.status = status; self.priority = priority; self.type = type; self.requesterID = requesterID
        self.submitterID = submitterID; self.assigneeID = assigneeID; self.groupID = groupID
        self.organizationID = organizationID; self.tags = tags; self.customFields = customFields
        self.ccIDs = ccIDs; self.followerIDs = followerIDs; self.channel = channel; self.externalID = externalID
        self.createdAt = createdAt; self.updatedAt = updatedAt; self.solvedAt = solvedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, sourceSystem = "source_system", subject, description, status, priority, type
        case requesterID = "requester_id", submitterID = "submitter_id", assigneeID = "assignee_id"
        case groupID = "group_id", organizationID = "organization_id", tags, customFields = "custom_fields"
        case ccIDs = "cc_ids", followerIDs = "follower_ids", channel, externalID = "external_id"
        case createdAt = "created_at", updatedAt = "updated_at", solvedAt = "solved_at", events
    }
}

/// One change event on a ticket (a Zendesk audit, an RT transaction): who changed what, when.
public struct TicketEvent: Codable, Equatable, Sendable {
    public var id: String
    public var authorID: String?
    public var createdAt: String?
    public var changes: [Change]

    public struct Change: Codable, Equatable, Sendable {
        /// The ticket field that changed ("status", "priority", "assignee_id", a custom field id...).
        public var field: String
        public var before: JSONValue?
        public var after: JSONValue?

        public init(field: String, before: JSONValue?, after: JSONValue?) {
            self.field = field; self.before = before; self.after = after
        }
    }

    public init(id: String, authorID: String? = nil, createdAt: String? = nil, changes: [Change]) {
        self.id = id; self.authorID = authorID; self.createdAt = createdAt; self.changes = changes
    }

    enum CodingKeys: String, CodingKey { case id, authorID = "author_id", createdAt = "created_at", changes }
}

public struct Comment: CanonicalRecord {
    public static let entity = EntityType.comments
    public var id: String
    public var sourceSystem: String
    public var ticketID: String
    public var authorID: String?
    public var isPublic: Bool
    public var bodyHTML: String?
    public var bodyPlain: String
    public var createdAt: String?

    public init(id: String, sourceSystem: String, ticketID: String, authorID: String? = nil, isPublic: Bool = true, bodyHTML: String? = nil, bodyPlain: String, createdAt: String? = nil) {
        self.id = id; self.sourceSystem = sourceSystem; self.ticketID = ticketID; self.authorID = authorID
        self.isPublic = isPublic; self.bodyHTML = bodyHTML; self.bodyPlain = bodyPlain; self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, sourceSystem = "source_system", ticketID = "ticket_id", authorID = "author_id"
        case isPublic = "public", bodyHTML = "body_html", bodyPlain = "body_plain", createdAt = "created_at"
    }
}

/// What an attachment hangs off.
public enum AttachmentParent: String, Codable, Sendable {
    case comment
    case article
}

/// Attachment metadata. The bytes travel as the bundle member `blobs/<sha256>`.
public struct Attachment: CanonicalRecord {
    public static let entity = EntityType.attachments
    public var id: String
    public var sourceSystem: String
    public var parentType: AttachmentParent
    public var parentID: String
    public var fileName: String
    public var contentType: String?
    public var size: UInt64
    public var sha256: String
    public var inline: Bool

    public init(id: String, sourceSystem: String, parentType: AttachmentParent, parentID: String, fileName: String, contentType: String? = nil, size: UInt64, sha256: String, inline: Bool = false) {
        self.id = id; self.sourceSystem = sourceSystem; self.parentType = parentType; self.parentID = parentID
        self.fileName = fileName; self.contentType = contentType; self.size = size; self.sha256 = sha256; self.inline = inline
    }

    enum CodingKeys: String, CodingKey {
        case id, sourceSystem = "source_system", parentType = "parent_type", parentID = "parent_id"
        case fileName = "file_name", contentType = "content_type", size, sha256, inline
    }
}

public struct KBCategory: CanonicalRecord {
    public static let entity = EntityType.kbCategories
    public var id: String
    public var sourceSystem: String
    public var name: String
    public var description: String?
    public var locale: String?
    public var position: Int?
    public var url: String?
    public var createdAt: String?
    public var updatedAt: String?

    public init(id: String, sourceSystem: String, name: String, description: String? = nil, locale: String? = nil, position: Int? = nil, url: String? = nil, createdAt: String? = nil, updatedAt: String? = nil) {
        self.id = id; self.sourceSystem = sourceSystem; self.name = name; self.description = description
        self.locale = locale; self.position = position; self.url = url; self.createdAt = createdAt; self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, sourceSystem = "source_system", name, description, locale, position, url
        case createdAt = "created_at", updatedAt = "updated_at"
    }
}

public struct KBSection: CanonicalRecord {
    public static let entity = EntityType.kbSections
    public var id: String
    public var sourceSystem: String
    public var categoryID: String
    public var name: String
    public var description: String?
    public var locale: String?
    public var position: Int?
    public var url: String?
    public var createdAt: String?
    public var updatedAt: String?

    public init(id: String, sourceSystem: String, categoryID: String, name: String, description: String? = nil, locale: String? = nil, position: Int? = nil, url: String? = nil, createdAt: String? = nil, updatedAt: String? = nil) {
        self.id = id; self.sourceSystem = sourceSystem; self.categoryID = categoryID; self.name = name
        self.description = description; self.locale = locale; self.position = position; self.url = url
        self.createdAt = createdAt; self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, sourceSystem = "source_system", categoryID = "category_id", name, description, locale, position, url
        case createdAt = "created_at", updatedAt = "updated_at"
    }
}

public struct ArticleTranslation: Codable, Equatable, Sendable {
    public var locale: String
    public var title: String
    public var bodyHTML: String
    public var draft: Bool
    public var createdAt: String?
    public var updatedAt: String?

    public init(locale: String, title: String, bodyHTML: String, draft: Bool = false, createdAt: String? = nil, updatedAt: String? = nil) {
        self.locale = locale; self.title = title; self.bodyHTML = bodyHTML; self.draft = draft
        self.createdAt = createdAt; self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case locale, title, bodyHTML = "body_html", draft, createdAt = "created_at", updatedAt = "updated_at"
    }
}

public struct KBArticle: CanonicalRecord {
    public static let entity = EntityType.kbArticles
    public var id: String
    public var sourceSystem: String
    public var sectionID: String
    public var authorID: String?
    public var title: String
    public var bodyHTML: String
    public var locale: String
    public var sourceLocale: String?
    public var labels: [String]
    public var draft: Bool
    public var promoted: Bool
    public var position: Int?
    public var url: String?
    public var translations: [ArticleTranslation]
    public var createdAt: String?
    public var updatedAt: String?

    public init(id: String, sourceSystem: String, sectionID: String, authorID: String? = nil, title: String, bodyHTML: String, locale: String, sourceLocale: String? = nil, labels: [String] = [], draft: Bool = false, promoted: Bool = false, position: Int? = nil, url: String? = nil, translations: [ArticleTranslation] = [], createdAt: String? = nil, updatedAt: String? = nil) {
        self.id = id; self.sourceSystem = sourceSystem; self.sectionID = sectionID; self.authorID = authorID
        self.title = title; self.bodyHTML = bodyHTML; self.locale = locale; self.sourceLocale = sourceLocale
        self.labels = labels; self.draft = draft; self.promoted = promoted; self.position = position; self.url = url
        self.translations = translations; self.createdAt = createdAt; self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, sourceSystem = "source_system", sectionID = "section_id", authorID = "author_id", title
        case bodyHTML = "body_html", locale, sourceLocale = "source_locale", labels, draft, promoted, position, url
        case translations, createdAt = "created_at", updatedAt = "updated_at"
    }
}
