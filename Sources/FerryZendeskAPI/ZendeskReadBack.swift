import FerryCore
import Foundation

/// Reads loaded records back from Zendesk for `ferry-verify`. A record is
/// rebuilt from the version Ferry loaded (the local ID map keeps it) with every
/// field Zendesk holds replaced by what Zendesk answers, references turned back
/// into source IDs; fields Zendesk does not hold are cleared on both sides by
/// `comparable`, so they are neither compared nor claimed.
final class ZendeskReadBack: @unchecked Sendable {
    let client: ZendeskClient
    let state: ZendeskState
    /// The comments of the last ticket read (verify reads a ticket's comments one after another).
    private var commentCache: (ticket: Int64, comments: [ZObject])?

    init(client: ZendeskClient, state: ZendeskState) { self.client = client; self.state = state }

    /// What Zendesk keeps of a record, the way `fetch` returns it.
    static func comparable<R: CanonicalRecord>(_ record: R) -> R {
        switch record {
        case var t as Ticket:
            // Zendesk makes the description from the first comment, sets the channel of an
            // import itself, has no solved_at on the ticket and keeps no audit history of an import.
            t.description = nil; t.channel = nil; t.solvedAt = nil; t.events = nil
            if t.status == "on_hold" { t.status = "hold" }
            return t as! R
        case var u as User:
            u.createdAt = nil; u.updatedAt = nil; u.active = true
            return u as! R
        case var o as Organization:
            o.createdAt = nil; o.updatedAt = nil
            return o as! R
        case var g as FerryCore.Group:
            g.createdAt = nil; g.updatedAt = nil
            return g as! R
        case var f as TicketField:
            f.createdAt = nil; f.updatedAt = nil
            f.options = f.options.map { FieldOption(id: nil, name: $0.name, value: $0.value) }
            return f as! R
        case var c as Comment:
            // The HTML body is what is imported; Zendesk renders the plain text from it.
            if c.bodyHTML?.isEmpty == false { c.bodyPlain = "" }
            return c as! R
        case var c as KBCategory:
            c.url = nil; c.createdAt = nil; c.updatedAt = nil
            return c as! R
        case var s as KBSection:
            s.url = nil; s.createdAt = nil; s.updatedAt = nil
            return s as! R
        case var a as KBArticle:
            // Help Center sets the times itself; the article's own locale is one of its translations.
            a.url = nil; a.createdAt = nil; a.updatedAt = nil; a.sourceLocale = nil
            if !a.translations.contains(where: { $0.locale.lowercased() == a.locale.lowercased() }) {
                a.translations.append(ArticleTranslation(locale: a.locale, title: a.title, bodyHTML: a.bodyHTML, draft: a.draft))
            }
            a.translations = a.translations.map { ArticleTranslation(locale: $0.locale.lowercased(), title: $0.title, bodyHTML: $0.bodyHTML, draft: $0.draft) }
                .sorted { $0.locale < $1.locale }
            return a as! R
        case var a as Attachment:
            // Zendesk decides the content type of an upload, and imported ticket attachments are
            // not inline; an article attachment keeps its inline flag.
            a.contentType = nil
            if a.parentType != .article { a.inline = false }
            return a as! R
        default:
            return record
        }
    }

    private func loaded<R: CanonicalRecord>(_ type: R.Type, _ sourceID: String) throws -> (R, Int64)? {
        guard let entry = try state.loaded(R.entity, sourceID), let target = entry.targetID, let text = entry.record else { return nil }
        return (Self.comparable(try JSONDecoder().decode(R.self, from: Data(text.utf8))), target)
    }

    private func source(_ entity: EntityType, _ value: Any?) throws -> String? {
        guard let id = ZendeskAPITarget.int(value) else { return nil }
        return try state.sourceID(entity, targetID: id) ?? "zendesk-target:\(id)"
    }

    private static func externalID(_ value: Any?) -> String? {
        guard let text = value as? String, !text.hasPrefix("ferry:") else { return nil }
        return text
    }

    func fetch<R: CanonicalRecord>(_ type: R.Type, sourceID: String) throws -> R? {
        guard let (record, target) = try loaded(type, sourceID) else { return nil }
        switch record {
        case var t as Ticket:
            guard let z = try client.get("/api/v2/tickets/\(target).json")?["ticket"] as? ZObject else { return nil }
            t.subject = z["subject"] as? String ?? ""
            t.status = z["status"] as? String ?? ""
            t.priority = z["priority"] as? String
            t.type = z["type"] as? String
            t.requesterID = try source(.users, z["requester_id"])
            t.submitterID = try source(.users, z["submitter_id"])
            t.assigneeID = try source(.users, z["assignee_id"])
            t.groupID = try source(.groups, z["group_id"])
            t.organizationID = try source(.organizations, z["organization_id"])
            t.tags = z["tags"] as? [String] ?? []
            t.ccIDs = try (z["collaborator_ids"] as? [Any] ?? []).compactMap { try source(.users, $0) }
            t.followerIDs = try (z["follower_ids"] as? [Any] ?? []).compactMap { try source(.users, $0) }
            t.customFields = try (z["custom_fields"] as? [ZObject] ?? []).compactMap { field in
                guard let id = try source(.ticketFields, field["id"]), let value = field["value"], !(value is NSNull) else { return nil }
                let data = try JSONSerialization.data(withJSONObject: ["v": value])
                guard let decoded = try? JSONDecoder().decode([String: JSONValue].self, from: data)["v"] else { return nil }
                return CustomFieldValue(fieldID: id, value: decoded)
            }
            t.externalID = Self.externalID(z["external_id"])
            t.createdAt = z["created_at"] as? String
            t.updatedAt = z["updated_at"] as? String
            return t as? R
        case var u as User:
            guard let z = try client.get("/api/v2/users/\(target).json")?["user"] as? ZObject else { return nil }
            u.name = z["name"] as? String ?? ""
            u.email = z["email"] as? String
            u.phone = z["phone"] as? String
            switch z["role"] as? String {
            case "admin": u.role = .admin
            case "agent": u.role = .agent
            default: u.role = .endUser
            }
            u.suspended = z["suspended"] as? Bool ?? false
            u.organizationID = try source(.organizations, z["organization_id"])
            u.locale = z["locale"] as? String
            u.timeZone = z["time_zone"] as? String
            u.tags = z["tags"] as? [String] ?? []
            u.externalID = Self.externalID(z["external_id"])
            return u as? R
        case var o as Organization:
            guard let z = try client.get("/api/v2/organizations/\(target).json")?["organization"] as? ZObject else { return nil }
            o.name = z["name"] as? String ?? ""
            o.domainNames = z["domain_names"] as? [String] ?? []
            o.details = z["details"] as? String
            o.notes = z["notes"] as? String
            o.tags = z["tags"] as? [String] ?? []
            o.externalID = Self.externalID(z["external_id"])
            return o as? R
        case var g as FerryCore.Group:
            guard let z = try client.allBlocking("/api/v2/groups.json", key: "groups").first(where: { ZendeskAPITarget.int($0["id"]) == target }) else { return nil }
            g.name = z["name"] as? String ?? ""
            g.description = z["description"] as? String
            return g as? R
        case var f as TicketField:
            guard let z = try client.allBlocking("/api/v2/ticket_fields.json", key: "ticket_fields").first(where: { ZendeskAPITarget.int($0["id"]) == target }) else { return nil }
            f.title = z["title"] as? String ?? ""
            f.description = z["description"] as? String
            f.active = z["active"] as? Bool ?? true
            f.required = z["required"] as? Bool ?? false
            f.regexp = z["regexp_for_validation"] as? String
            f.options = (z["custom_field_options"] as? [ZObject] ?? []).map { FieldOption(id: nil, name: $0["name"] as? String ?? "", value: $0["value"] as? String ?? "") }
            return f as? R
        case var c as Comment:
            guard let z = try comment(c, ticket: target) else { return nil }
            let importedHTML = c.bodyHTML?.isEmpty == false
            c.authorID = try source(.users, z["author_id"])
            c.isPublic = z["public"] as? Bool ?? true
            c.createdAt = z["created_at"] as? String
            if importedHTML {
                c.bodyHTML = z["html_body"] as? String
            } else {
                c.bodyPlain = z["plain_body"] as? String ?? ""
            }
            return c as? R
        case var a as Attachment where a.parentType == .article:
            // An article attachment's target ID is its own: found among its article's attachments.
            guard let article = try state.loaded(.kbArticles, a.parentID)?.targetID,
                  let match = try client.allBlocking("/api/v2/help_center/articles/\(article)/attachments.json", key: "article_attachments")
                      .first(where: { ZendeskAPITarget.int($0["id"]) == target }),
                  let url = match["content_url"] as? String, let digest = try download(url) else { return nil }
            (a.sha256, a.size) = digest
            a.fileName = match["file_name"] as? String ?? ""
            a.inline = match["inline"] as? Bool ?? false
            return a as? R
        case var a as Attachment:
            guard let (parent, ticket) = try loaded(Comment.self, a.parentID), let z = try comment(parent, ticket: ticket),
                  let match = (z["attachments"] as? [ZObject] ?? []).first(where: { $0["file_name"] as? String == a.fileName }),
                  let url = match["content_url"] as? String, let digest = try download(url) else { return nil }
            (a.sha256, a.size) = digest
            a.fileName = match["file_name"] as? String ?? ""
            return a as? R
        case var c as KBCategory:
            guard let z = try client.allBlocking("/api/v2/help_center/categories.json", key: "categories").first(where: { ZendeskAPITarget.int($0["id"]) == target }) else { return nil }
            c.name = z["name"] as? String ?? ""
            c.description = z["description"] as? String
            c.locale = z["locale"] as? String
            c.position = (z["position"] as? NSNumber)?.intValue
            return c as? R
        case var s as KBSection:
            guard let z = try client.allBlocking("/api/v2/help_center/sections.json", key: "sections").first(where: { ZendeskAPITarget.int($0["id"]) == target }) else { return nil }
            s.categoryID = try source(.kbCategories, z["category_id"]) ?? ""
            s.name = z["name"] as? String ?? ""
            s.description = z["description"] as? String
            s.locale = z["locale"] as? String
            s.position = (z["position"] as? NSNumber)?.intValue
            return s as? R
        case var a as KBArticle:
            guard let z = try client.get("/api/v2/help_center/articles/\(target).json")?["article"] as? ZObject else { return nil }
            a.sectionID = try source(.kbSections, z["section_id"]) ?? ""
            a.authorID = try source(.users, z["author_id"])
            a.title = z["title"] as? String ?? ""
            a.bodyHTML = z["body"] as? String ?? ""
            a.locale = z["locale"] as? String ?? ""
            a.labels = z["label_names"] as? [String] ?? []
            a.draft = z["draft"] as? Bool ?? false
            a.promoted = z["promoted"] as? Bool ?? false
            a.position = (z["position"] as? NSNumber)?.intValue
            a.translations = try client.allBlocking("/api/v2/help_center/articles/\(target)/translations.json", key: "translations").map {
                ArticleTranslation(locale: ($0["locale"] as? String ?? "").lowercased(), title: $0["title"] as? String ?? "", bodyHTML: $0["body"] as? String ?? "", draft: $0["draft"] as? Bool ?? false)
            }.sorted { $0.locale < $1.locale }
            return a as? R
        default:
            return nil
        }
    }

    /// SHA-256 and size of the bytes at an attachment's content_url (hashed from a temporary file, never held whole).
    private func download(_ url: String) throws -> (String, UInt64)? {
        let spool = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-zendesk-verify")
        guard let file = try client.download(url, into: spool) else { return nil }
        defer { try? FileManager.default.removeItem(at: file) }
        return try Hash.sha256(fileAt: file)
    }

    /// The Zendesk comment a loaded comment became: same time and author (the import keeps both).
    private func comment(_ c: Comment, ticket: Int64) throws -> ZObject? {
        let comments: [ZObject]
        if let cache = commentCache, cache.ticket == ticket { comments = cache.comments } else {
            comments = try client.allBlocking("/api/v2/tickets/\(ticket)/comments.json", key: "comments")
            commentCache = (ticket, comments)
        }
        let author = try c.authorID.flatMap { try state.loaded(.users, $0)?.targetID }
        return comments.first { $0["created_at"] as? String == c.createdAt && ZendeskAPITarget.int($0["author_id"]) == author }
    }
}
