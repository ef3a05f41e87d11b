import FerryCore
import Foundation

// The Zendesk API objects as they appear in a JSON export, one per line.
// Only fields Ferry migrates are decoded; unknown keys are ignored, as the
// API adds fields over time. Decoding errors carry the field's path, which
// becomes the reject's `field`.

/// Zendesk IDs are integers; exports made by scripts sometimes quote them.
/// Both are accepted; anything else (a name, a UUID) is refused with a reason.
struct ZendeskID: Decodable, Hashable {
    let value: String

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let number = try? c.decode(Int64.self) {
            value = String(number)
        } else if let text = try? c.decode(String.self) {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, trimmed.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected a numeric Zendesk id, found \"\(text.prefix(40))\"")
            }
            value = trimmed
        } else {
            throw DecodingError.typeMismatch(Int64.self, .init(codingPath: decoder.codingPath, debugDescription: "expected a numeric Zendesk id"))
        }
    }
}

struct ZOrganization: Decodable {
    let id: ZendeskID
    let name: String
    let domain_names: [String]?
    let details: String?
    let notes: String?
    let tags: [String]?
    let external_id: String?
    let created_at: String?
    let updated_at: String?
}

struct ZUser: Decodable {
    let id: ZendeskID
    let name: String?
    let email: String?
    let phone: String?
    let role: String?
    let active: Bool?
    let suspended: Bool?
    let organization_id: ZendeskID?
    let locale: String?
    let time_zone: String?
    let tags: [String]?
    let external_id: String?
    let created_at: String?
    let updated_at: String?
}

struct ZGroup: Decodable {
    let id: ZendeskID
    let name: String
    let description: String?
    let deleted: Bool?
    let created_at: String?
    let updated_at: String?
}

struct ZFieldOption: Decodable {
    let id: ZendeskID?
    let name: String
    let value: String
}

struct ZTicketField: Decodable {
    let id: ZendeskID
    let type: String
    let title: String
    let description: String?
    let active: Bool?
    let required: Bool?
    let position: Int?
    let regexp_for_validation: String?
    let custom_field_options: [ZFieldOption]?
    let created_at: String?
    let updated_at: String?
}

struct ZCustomFieldValue: Decodable {
    let id: ZendeskID
    let value: JSONValue?
}

struct ZVia: Decodable {
    let channel: String?
}

struct ZAttachment: Decodable {
    let id: ZendeskID
    let file_name: String
    let content_url: String
    let content_type: String?
    let size: UInt64?
    let inline: Bool?
}

struct ZComment: Decodable {
    let id: ZendeskID
    let author_id: ZendeskID?
    let body: String?
    let html_body: String?
    let plain_body: String?
    let `public`: Bool?
    let created_at: String?
    let attachments: [ZAttachment]?
}

struct ZTicket: Decodable {
    let id: ZendeskID
    let external_id: String?
    let subject: String?
    let description: String?
    let status: String
    let priority: String?
    let type: String?
    let requester_id: ZendeskID?
    let submitter_id: ZendeskID?
    let assignee_id: ZendeskID?
    let group_id: ZendeskID?
    let organization_id: ZendeskID?
    let tags: [String]?
    let custom_fields: [ZCustomFieldValue]?
    let collaborator_ids: [ZendeskID]?
    let follower_ids: [ZendeskID]?
    let email_cc_ids: [ZendeskID]?
    let via: ZVia?
    let created_at: String?
    let updated_at: String?
    let solved_at: String?
    let comments: [ZComment]?
    /// Ticket audits (GET /api/v2/tickets/{id}/audits), embedded like comments.
    let audits: [ZAudit]?
}

struct ZCategory: Decodable {
    let id: ZendeskID
    let name: String
    let description: String?
    let locale: String?
    let position: Int?
    let html_url: String?
    let created_at: String?
    let updated_at: String?
}

struct ZSection: Decodable {
    let id: ZendeskID
    let category_id: ZendeskID
    let name: String
    let description: String?
    let locale: String?
    let position: Int?
    let html_url: String?
    let created_at: String?
    let updated_at: String?
}

struct ZTranslation: Decodable {
    let locale: String
    let title: String
    let body: String?
    let draft: Bool?
    let created_at: String?
    let updated_at: String?
}

struct ZArticle: Decodable {
    let id: ZendeskID
    let section_id: ZendeskID
    let author_id: ZendeskID?
    let title: String
    let body: String?
    let locale: String?
    let source_locale: String?
    let label_names: [String]?
    let draft: Bool?
    let promoted: Bool?
    let position: Int?
    let html_url: String?
    let created_at: String?
    let updated_at: String?
    let translations: [ZTranslation]?
    let attachments: [ZAttachment]?
}

/// A ticket audit; only its "Change" events are migrated (as ticket events).
struct ZAudit: Decodable {
    let id: ZendeskID
    let author_id: ZendeskID?
    let created_at: String?
    let events: [ZAuditEvent]?
}

struct ZAuditEvent: Decodable {
    let type: String
    let field_name: String?
    let value: JSONValue?
    let previous_value: JSONValue?
}
