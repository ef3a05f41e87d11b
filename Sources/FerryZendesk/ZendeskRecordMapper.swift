import FerryCore
import Foundation

/// Turns Zendesk API objects into canonical records. Vendor words become
/// Ferry's words here and nowhere else (tagger -> dropdown, end-user -> end_user).
struct ZendeskRecordMapper {
    let system: String
    let root: URL
    let sink: ExtractSink
    var download: ((String) throws -> URL?)? = nil

    func time(_ value: String?, _ field: String, _ id: String) throws -> String? {
        guard let value, !value.isEmpty else { return nil }
        guard let normalized = Timestamp.normalize(value) else {
            throw ConversionError(recordID: id, field: field, reason: "unreadable timestamp \"\(value.prefix(40))\" (expected ISO 8601, e.g. 2024-03-05T14:22:10Z)")
        }
        return normalized
    }

    func organization(_ o: ZOrganization) throws -> Organization {
        let id = o.id.value
        let updated = try time(o.updated_at, "updated_at", id)
        sink.sawUpdate(updated)
        return Organization(id: id, sourceSystem: system, name: o.name, domainNames: o.domain_names ?? [], details: o.details,
                            notes: o.notes, tags: o.tags ?? [], externalID: o.external_id,
                            createdAt: try time(o.created_at, "created_at", id), updatedAt: updated)
    }

    func user(_ u: ZUser) throws -> User {
        let id = u.id.value
        let role: UserRole
        switch u.role ?? "end-user" {
        case "end-user", "end_user", "enduser": role = .endUser
        case "agent": role = .agent
        case "admin": role = .admin
        default: throw ConversionError(recordID: id, field: "role", reason: "unknown role \"\(u.role ?? "")\" (expected end-user, agent or admin)")
        }
        let updated = try time(u.updated_at, "updated_at", id)
        sink.sawUpdate(updated)
        return User(id: id, sourceSystem: system, name: u.name ?? "", email: u.email, phone: u.phone, role: role,
                    active: u.active ?? true, suspended: u.suspended ?? false, organizationID: u.organization_id?.value,
                    locale: u.locale, timeZone: u.time_zone, tags: u.tags ?? [], externalID: u.external_id,
                    createdAt: try time(u.created_at, "created_at", id), updatedAt: updated)
    }

    func group(_ g: ZGroup) throws -> Group {
        let id = g.id.value
        return Group(id: id, sourceSystem: system, name: g.name, description: g.description,
                     createdAt: try time(g.created_at, "created_at", id), updatedAt: try time(g.updated_at, "updated_at", id))
    }

    static let fieldTypes: [String: FieldType] = [
        "text": .text, "textarea": .textarea, "integer": .integer, "decimal": .decimal, "date": .date,
        "checkbox": .checkbox, "tagger": .dropdown, "dropdown": .dropdown, "multiselect": .multiselect, "regexp": .regexp,
    ]

    func ticketField(_ f: ZTicketField) throws -> TicketField {
        let id = f.id.value
        guard let type = Self.fieldTypes[f.type] else {
            throw ConversionError(recordID: id, field: "type", reason: "unsupported custom field type \"\(f.type)\" (supported: \(Self.fieldTypes.keys.sorted().joined(separator: ", ")))")
        }
        return TicketField(id: id, sourceSystem: system, title: f.title, type: type, description: f.description,
                           active: f.active ?? true, required: f.required ?? false, position: f.position,
                           regexp: f.regexp_for_validation,
                           options: (f.custom_field_options ?? []).map { FieldOption(id: $0.id?.value, name: $0.name, value: $0.value) },
                           createdAt: try time(f.created_at, "created_at", id), updatedAt: try time(f.updated_at, "updated_at", id))
    }

    /// A ticket and everything hanging off it, emitted as one unit.
    func ticket(_ t: ZTicket, context: LineContext) throws {
        let id = t.id.value
        let updated = try time(t.updated_at, "updated_at", id)
        var events: [TicketEvent] = []
        for (index, audit) in (t.audits ?? []).enumerated() {
            let changes = (audit.events ?? []).filter { $0.type == "Change" && $0.field_name != nil }.map {
                TicketEvent.Change(field: $0.field_name!, before: $0.previous_value, after: $0.value)
            }
            guard !changes.isEmpty else { continue }
            events.append(TicketEvent(id: audit.id.value, authorID: audit.author_id?.value,
                                      createdAt: try time(audit.created_at, "audits.\(index).created_at", id), changes: changes))
        }
        let ticket = Ticket(
            id: id, sourceSystem: system, subject: t.subject ?? "", description: t.description,
            status: t.status, priority: t.priority, type: t.type, requesterID: t.requester_id?.value,
            submitterID: t.submitter_id?.value, assigneeID: t.assignee_id?.value, groupID: t.group_id?.value,
            organizationID: t.organization_id?.value, tags: t.tags ?? [],
            customFields: (t.custom_fields ?? []).compactMap { field in
                guard let value = field.value, value != .null else { return nil }
                return CustomFieldValue(fieldID: field.id.value, value: value)
            },
            ccIDs: (t.email_cc_ids ?? t.collaborator_ids ?? []).map(\.value),
            followerIDs: (t.follower_ids ?? []).map(\.value), channel: t.via?.channel, externalID: t.external_id,
            createdAt: try time(t.created_at, "created_at", id), updatedAt: updated,
            solvedAt: try time(t.solved_at, "solved_at", id), events: events.isEmpty ? nil : events)
        // Comments are converted before anything is emitted, so a bad timestamp
        // rejects the whole ticket rather than leaving half of it.
        var comments: [(Comment, [ZAttachment])] = []
        for (index, c) in (t.comments ?? []).enumerated() {
            let commentID = c.id.value
            let plain = c.plain_body ?? c.body ?? ""
            let created: String?
            do {
                created = try time(c.created_at, "comments.\(index).created_at", id)
            }
            comments.append((Comment(id: commentID, sourceSystem: system, ticketID: id, authorID: c.author_id?.value,
                                     isPublic: c.public ?? true, bodyHTML: c.html_body, bodyPlain: plain, createdAt: created),
                             c.attachments ?? []))
        }
        sink.sawUpdate(updated)
        try sink.emit(ticket)
        for (index, (comment, attachments)) in comments.enumerated() {
            try sink.emit(comment)
            for (position, a) in attachments.enumerated() {
                try attachment(a, parent: .comment, parentID: comment.id, field: "comments.\(index).attachments.\(position)", context: context)
            }
        }
    }

    func category(_ c: ZCategory) throws -> KBCategory {
        let id = c.id.value
        return KBCategory(id: id, sourceSystem: system, name: c.name, description: c.description, locale: c.locale,
                          position: c.position, url: c.html_url, createdAt: try time(c.created_at, "created_at", id),
                          updatedAt: try time(c.updated_at, "updated_at", id))
    }

    func section(_ s: ZSection) throws -> KBSection {
        let id = s.id.value
        return KBSection(id: id, sourceSystem: system, categoryID: s.category_id.value, name: s.name, description: s.description,
                         locale: s.locale, position: s.position, url: s.html_url,
                         createdAt: try time(s.created_at, "created_at", id), updatedAt: try time(s.updated_at, "updated_at", id))
    }

    func article(_ a: ZArticle, context: LineContext) throws {
        let id = a.id.value
        var translations: [ArticleTranslation] = []
        for (index, t) in (a.translations ?? []).enumerated() {
            translations.append(ArticleTranslation(
                locale: t.locale, title: t.title, bodyHTML: t.body ?? "", draft: t.draft ?? false,
                createdAt: try time(t.created_at, "translations.\(index).created_at", id),
                updatedAt: try time(t.updated_at, "translations.\(index).updated_at", id)))
        }
        let updated = try time(a.updated_at, "updated_at", id)
        let article = KBArticle(
            id: id, sourceSystem: system, sectionID: a.section_id.value, authorID: a.author_id?.value, title: a.title,
            bodyHTML: a.body ?? "", locale: a.locale ?? a.source_locale ?? "en-us", sourceLocale: a.source_locale,
            labels: a.label_names ?? [], draft: a.draft ?? false, promoted: a.promoted ?? false, position: a.position,
            url: a.html_url, translations: translations, createdAt: try time(a.created_at, "created_at", id), updatedAt: updated)
        sink.sawUpdate(updated)
        try sink.emit(article)
        for (position, attachment) in (a.attachments ?? []).enumerated() {
            try self.attachment(attachment, parent: .article, parentID: id, field: "attachments.\(position)", context: context)
        }
    }

    /// Copies the attachment's file into the bundle. A missing or unsafe file
    /// rejects the attachment alone; its comment or article still migrates.
    func attachment(_ a: ZAttachment, parent: AttachmentParent, parentID: String, field: String, context: LineContext) throws {
        let id = a.id.value
        func reject(_ reason: String) throws {
            try sink.reject(context.reject(recordID: id, field: field + ".content_url", reason: reason, entity: .attachments))
        }
        if a.content_url.hasPrefix("http://") || a.content_url.hasPrefix("https://") {
            if let download {
                guard let file = try download(a.content_url) else {
                    return try reject("the server has no file at \(a.content_url.prefix(120)) (HTTP 404)")
                }
                defer { try? FileManager.default.removeItem(at: file) }
                let (sha, size) = try sink.addBlob(copyingFrom: file)
                return try sink.emit(Attachment(id: id, sourceSystem: system, parentType: parent, parentID: parentID, fileName: a.file_name,
                                                contentType: a.content_type, size: size, sha256: sha, inline: a.inline ?? false))
            }
            return try reject("remote URL \(a.content_url.prefix(80)): the zendesk-export source reads files inside the export folder only")
        }
        // Resolve links before the check: a symlink inside the export must not lead outside it.
        let file = root.appendingPathComponent(a.content_url).standardizedFileURL.resolvingSymlinksInPath()
        guard file.path.hasPrefix(root.resolvingSymlinksInPath().path + "/") else {
            return try reject("path \(a.content_url) leads outside the export folder; refused")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            return try reject("file \(a.content_url) is not in the export")
        }
        let (sha, size) = try sink.addBlob(copyingFrom: file)
        try sink.emit(Attachment(id: id, sourceSystem: system, parentType: parent, parentID: parentID, fileName: a.file_name,
                                 contentType: a.content_type, size: size, sha256: sha, inline: a.inline ?? false))
    }
}
