import Foundation

/// `map.filters`: which tickets and articles move. A ticket every filter lets
/// through is migrated; one that any filter stops is skipped (with its comments
/// and attachments), and the skip names the filter, so the counts reconcile and
/// the report says why. Filters apply in ferry-map, after dedupe, so a filter
/// change replays only map, load and verify; extract still reads everything
/// (a demo's `--ticket-ids` is the way to extract less).
///
/// Lists are "any of": `statuses: [open, pending]` keeps tickets whose source
/// status is open or pending. Empty lists and absent keys filter nothing.
public struct TicketFilters: Codable, Equatable, Sendable {
    /// Keep tickets created at or after this time (ISO 8601 date or date-time, UTC).
    public var createdAfter: String?
    /// Keep tickets created before this time.
    public var createdBefore: String?
    public var updatedAfter: String?
    public var updatedBefore: String?
    /// Keep only tickets that carry at least one of these tags.
    public var tagsAny: [String]
    /// Skip tickets that carry any of these tags.
    public var tagsNone: [String]
    /// Source status values to keep.
    public var statuses: [String]
    /// Source group names (or ids) to keep.
    public var groups: [String]
    /// Source organization names (or ids) to keep.
    public var organizations: [String]
    /// Assignee e-mails (or user ids) to keep.
    public var assignees: [String]
    /// Field title (or id) -> values to keep; a multi-select matches when any value does.
    public var customFields: [String: [String]]
    /// Keep only these ticket ids.
    public var ticketIDs: [String]
    /// Skip these ticket ids.
    public var excludeTicketIDs: [String]
    /// Keep only these article ids.
    public var articleIDs: [String]

    public init(createdAfter: String? = nil, createdBefore: String? = nil, updatedAfter: String? = nil, updatedBefore: String? = nil, tagsAny: [String] = [], tagsNone: [String] = [], statuses: [String] = [], groups: [String] = [], organizations: [String] = [], assignees: [String] = [], customFields: [String: [String]] = [:], ticketIDs: [String] = [], excludeTicketIDs: [String] = [], articleIDs: [String] = []) {
        self.createdAfter = createdAfter; self.createdBefore = createdBefore
        self.updatedAfter = updatedAfter; self.updatedBefore = updatedBefore
        self.tagsAny = tagsAny; self.tagsNone = tagsNone; self.statuses = statuses; self.groups = groups
        self.organizations = organizations; self.assignees = assignees; self.customFields = customFields
        self.ticketIDs = ticketIDs; self.excludeTicketIDs = excludeTicketIDs; self.articleIDs = articleIDs
    }

    enum CodingKeys: String, CodingKey {
        case createdAfter = "created_after", createdBefore = "created_before"
        case updatedAfter = "updated_after", updatedBefore = "updated_before"
        case tagsAny = "tags_any", tagsNone = "tags_none", statuses, groups, organizations, assignees
        case customFields = "custom_fields", ticketIDs = "ticket_ids", excludeTicketIDs = "exclude_ticket_ids"
        case articleIDs = "article_ids"
    }

    public static let keyNames = CodingKeys.allNames

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        createdAfter = try c.decodeIfPresent(String.self, forKey: .createdAfter)
        createdBefore = try c.decodeIfPresent(String.self, forKey: .createdBefore)
        updatedAfter = try c.decodeIfPresent(String.self, forKey: .updatedAfter)
        updatedBefore = try c.decodeIfPresent(String.self, forKey: .updatedBefore)
        tagsAny = try c.decodeIfPresent([String].self, forKey: .tagsAny) ?? []
        tagsNone = try c.decodeIfPresent([String].self, forKey: .tagsNone) ?? []
        statuses = try c.decodeIfPresent([String].self, forKey: .statuses) ?? []
        groups = try c.decodeIfPresent([String].self, forKey: .groups) ?? []
        organizations = try c.decodeIfPresent([String].self, forKey: .organizations) ?? []
        assignees = try c.decodeIfPresent([String].self, forKey: .assignees) ?? []
        customFields = try c.decodeIfPresent([String: [String]].self, forKey: .customFields) ?? [:]
        ticketIDs = try c.decodeIfPresent([String].self, forKey: .ticketIDs) ?? []
        excludeTicketIDs = try c.decodeIfPresent([String].self, forKey: .excludeTicketIDs) ?? []
        articleIDs = try c.decodeIfPresent([String].self, forKey: .articleIDs) ?? []
    }

    /// Whether any filter is set (the plan says "no filters" otherwise).
    public var isEmpty: Bool { self == TicketFilters() }
}

/// `map.options`: what the services call migration options, applied in ferry-map.
public struct MigrationOptions: Codable, Equatable, Sendable {
    /// A tag added to every migrated ticket (e.g. "migrated-from-zendesk").
    public var tagTickets: String?
    /// The subject of every migrated ticket; `{id}` is the source ticket id,
    /// `{subject}` the source subject. E.g. "[ZD#{id}] {subject}".
    public var subjectTemplate: String?
    /// `keep`: inline images stay inline; `attachments`: they become ordinary
    /// attachments and the `<img>` in the comment becomes a "[image: name]" line.
    public var inlineImages: InlineImages
    /// `all` migrates every attachment; `none` skips them all (each counted as skipped).
    public var attachments: AttachmentPolicy
    /// Attachments larger than this many bytes are skipped (with the reason).
    public var maxAttachmentBytes: UInt64?
    /// At most this many attachments on one comment; the rest go onto follow-up
    /// comments by the same author at the same time (a rule some targets impose).
    public var maxAttachmentsPerComment: Int?
    /// Ticket events (field changes) become private notes (`note`) or are left out (`drop`).
    public var ticketEvents: EventPolicy
    /// Also write every custom field value of a ticket into one private note.
    public var customFieldsNote: Bool
    /// `keep` migrates deactivated users; `skip` leaves out those nothing refers to.
    public var inactiveUsers: InactiveUsers
    /// Migrate the translations of knowledge base articles.
    public var articleTranslations: Bool

    public enum InlineImages: String, Codable, Sendable { case keep, attachments }
    public enum AttachmentPolicy: String, Codable, Sendable { case all, none }
    public enum EventPolicy: String, Codable, Sendable { case note, drop }
    public enum InactiveUsers: String, Codable, Sendable { case keep, skip }

    public init(tagTickets: String? = nil, subjectTemplate: String? = nil, inlineImages: InlineImages = .keep, attachments: AttachmentPolicy = .all, maxAttachmentBytes: UInt64? = nil, maxAttachmentsPerComment: Int? = nil, ticketEvents: EventPolicy = .drop, customFieldsNote: Bool = false, inactiveUsers: InactiveUsers = .keep, articleTranslations: Bool = true) {
        self.tagTickets = tagTickets; self.subjectTemplate = subjectTemplate; self.inlineImages = inlineImages
        self.attachments = attachments; self.maxAttachmentBytes = maxAttachmentBytes
        self.maxAttachmentsPerComment = maxAttachmentsPerComment; self.ticketEvents = ticketEvents
        self.customFieldsNote = customFieldsNote; self.inactiveUsers = inactiveUsers; self.articleTranslations = articleTranslations
    }

    enum CodingKeys: String, CodingKey {
        case tagTickets = "tag_tickets", subjectTemplate = "subject_template", inlineImages = "inline_images"
        case attachments, maxAttachmentBytes = "max_attachment_bytes", maxAttachmentsPerComment = "max_attachments_per_comment"
        case ticketEvents = "ticket_events", customFieldsNote = "custom_fields_note", inactiveUsers = "inactive_users"
        case articleTranslations = "article_translations"
    }

    public static let keyNames = CodingKeys.allNames

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tagTickets = try c.decodeIfPresent(String.self, forKey: .tagTickets)
        subjectTemplate = try c.decodeIfPresent(String.self, forKey: .subjectTemplate)
        inlineImages = try c.decodeIfPresent(InlineImages.self, forKey: .inlineImages) ?? .keep
        attachments = try c.decodeIfPresent(AttachmentPolicy.self, forKey: .attachments) ?? .all
        maxAttachmentBytes = try c.decodeIfPresent(UInt64.self, forKey: .maxAttachmentBytes)
        maxAttachmentsPerComment = try c.decodeIfPresent(Int.self, forKey: .maxAttachmentsPerComment)
        ticketEvents = try c.decodeIfPresent(EventPolicy.self, forKey: .ticketEvents) ?? .drop
        customFieldsNote = try c.decodeIfPresent(Bool.self, forKey: .customFieldsNote) ?? false
        inactiveUsers = try c.decodeIfPresent(InactiveUsers.self, forKey: .inactiveUsers) ?? .keep
        articleTranslations = try c.decodeIfPresent(Bool.self, forKey: .articleTranslations) ?? true
    }
}

/// One entry of `map.custom_fields.fields`: where a source field goes. Written
/// either as a bare target key (`"Seats": seats`) or as a mapping that also
/// converts the type, maps options one by one and checks values:
///
/// ```yaml
/// "Seats": { key: seat_count, type: text }
/// "Plan": { key: plan, type: dropdown, options: { plan_pro: professional } }
/// ```
public struct FieldTarget: Codable, Equatable, Sendable {
    /// The target field key.
    public var key: String
    /// The target field type; absent keeps the source type.
    public var type: FieldType?
    /// Source option value -> target option value (drop-down and multi-select).
    /// Values not listed keep their value, and must then be options of the target field.
    public var options: [String: String]
    /// A regular expression every converted value must match (whole value).
    public var regexp: String?

    public init(key: String, type: FieldType? = nil, options: [String: String] = [:], regexp: String? = nil) {
        self.key = key; self.type = type; self.options = options; self.regexp = regexp
    }

    enum CodingKeys: String, CodingKey { case key, type, options, regexp }

    public static let keyNames = CodingKeys.allNames

    public init(from decoder: Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let key = try? single.decode(String.self) {
            self.init(key: key)
            return
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(key: try c.decode(String.self, forKey: .key),
                  type: try c.decodeIfPresent(FieldType.self, forKey: .type),
                  options: try c.decodeIfPresent([String: String].self, forKey: .options) ?? [:],
                  regexp: try c.decodeIfPresent(String.self, forKey: .regexp))
    }
}

extension CodingKey where Self: CaseIterable {
    static var allNames: [String] { allCases.map(\.stringValue) }
}

extension TicketFilters.CodingKeys: CaseIterable {}
extension MigrationOptions.CodingKeys: CaseIterable {}
extension FieldTarget.CodingKeys: CaseIterable {}
