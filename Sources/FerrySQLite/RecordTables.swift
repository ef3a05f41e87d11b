import FerryCore

/// A canonical record kind the archive has a table for: how to turn a record
/// into a row (resolving its references first) and a row back into a record.
protocol ArchiveRecord: CanonicalRecord {
    static var table: TableSpec { get }
    /// Resolves every reference and renders every column, before anything is
    /// written, so a record with a dangling reference leaves no row behind.
    /// Throws `RecordProblem` for data the archive cannot take.
    func plan(_ refs: References) throws -> RowPlan
    /// Rebuilds the record from its row, translating target ids back to
    /// source ids. Nil when there is no row with that id.
    static func read(_ c: Connection, targetID: Int64) throws -> Self?
}

/// Why a record could not be loaded, in words for `id_map.reason` and rejects.
struct RecordProblem: Error {
    var reason: String
}

/// What `upsert` writes for one record.
struct RowPlan {
    /// Values of `TableSpec.columns`, in that order.
    var values: [SQLValue]
    /// Inserts the record's child rows (collaborators, field values,
    /// translations) once its target id is known.
    var writeChildren: ((Connection, Int64) throws -> Void)? = nil
    /// The record's row in the full-text `search` table, if it has one.
    var search: (title: String, body: String)? = nil
}

/// A table of rows owned by one record (replaced wholesale on update).
struct ChildTable: Sendable {
    let table: String
    let parentColumn: String
    let deleteSQL: String

    init(table: String, parentColumn: String) {
        self.table = table
        self.parentColumn = parentColumn
        deleteSQL = "DELETE FROM \(table) WHERE \(parentColumn) = ?"
    }
}

/// A table and the SQL that writes its rows, built once per kind.
struct TableSpec: Sendable {
    let entity: EntityType
    let name: String
    let columns: [String]
    let children: [ChildTable]
    /// Entity code in the `search` table's rowid (target_id * 4 + code), so a
    /// record's search row is found by rowid instead of a scan.
    let searchCode: Int64?
    let insertSQL: String
    let updateSQL: String

    init(_ entity: EntityType, name: String? = nil, columns: [String], children: [ChildTable] = [], searchCode: Int64? = nil) {
        self.entity = entity
        self.name = name ?? entity.rawValue
        self.columns = columns
        self.children = children
        self.searchCode = searchCode
        let all = ["source_system", "source_id"] + columns
        let quoted = all.map { "\"\($0)\"" }
        insertSQL = "INSERT INTO \"\(self.name)\" (\(quoted.joined(separator: ", "))) VALUES (\(Array(repeating: "?", count: all.count).joined(separator: ", ")))"
        // Guarded by source_id too: if someone deleted the row by hand and
        // SQLite handed its id to another record, the update must not land there.
        updateSQL = "UPDATE \"\(self.name)\" SET \(quoted.map { "\($0) = ?" }.joined(separator: ", ")) WHERE id = ? AND source_id = ?"
    }

    static func of(_ entity: EntityType) -> TableSpec {
        switch entity {
        case .organizations: return Organization.table
        case .users: return User.table
        case .groups: return Group.table
        case .ticketFields: return TicketField.table
        case .tickets: return Ticket.table
        case .comments: return Comment.table
        case .kbCategories: return KBCategory.table
        case .kbSections: return KBSection.table
        case .kbArticles: return KBArticle.table
        case .attachments: return Attachment.table
        }
    }
}

/// Resolves source-id references through `id_map`.
struct References {
    let connection: Connection

    static let lookupSQL = "SELECT target_id FROM id_map WHERE entity = ? AND source_id = ? AND status = 'loaded' AND target_id IS NOT NULL"

    func target(_ sourceID: String, _ entity: EntityType, field: String) throws -> Int64 {
        let found = try connection.queryOne(Self.lookupSQL, [.text(entity.rawValue), .text(sourceID)]) { try $0.int64() }
        guard let found else {
            throw RecordProblem(reason: "\(field) \(sourceID): no \(entity.singular) with that source id was loaded")
        }
        return found
    }

    func optional(_ sourceID: String?, _ entity: EntityType, field: String) throws -> SQLValue {
        guard let sourceID else { return .null }
        return .int(try target(sourceID, entity, field: field))
    }
}

/// `(SELECT source_id FROM table WHERE id = column)`: a target id back to its source id.
private func sourceID(of table: String, _ column: String) -> String {
    "(SELECT source_id FROM \"\(table)\" WHERE id = \(column))"
}

// MARK: - Organizations, users, groups, ticket fields

extension Organization: ArchiveRecord {
    static let table = TableSpec(.organizations, columns: [
        "name", "domain_names", "details", "notes", "tags", "external_id", "created_at", "updated_at",
    ])

    func plan(_ refs: References) throws -> RowPlan {
        RowPlan(values: [
            .text(name), .text(JSONText.encode(strings: domainNames)), SQLValue(details), SQLValue(notes),
            .text(JSONText.encode(strings: tags)), SQLValue(externalID), SQLValue(createdAt), SQLValue(updatedAt),
        ])
    }

    static let readSQL = """
        SELECT source_system, source_id, name, domain_names, details, notes, tags, external_id, created_at, updated_at
        FROM organizations WHERE id = ?
        """

    static func read(_ c: Connection, targetID: Int64) throws -> Organization? {
        try c.queryOne(readSQL, [.int(targetID)]) { r in
            let system = try r.text(), id = try r.text()
            return Organization(id: id, sourceSystem: system, name: try r.text(), domainNames: try r.strings(),
                                details: r.optionalText(), notes: r.optionalText(), tags: try r.strings(),
                                externalID: r.optionalText(), createdAt: r.optionalText(), updatedAt: r.optionalText())
        }
    }
}

extension User: ArchiveRecord {
    static let table = TableSpec(.users, columns: [
        "name", "email", "phone", "role", "active", "suspended", "organization_id", "locale", "time_zone",
        "tags", "external_id", "created_at", "updated_at",
    ])

    func plan(_ refs: References) throws -> RowPlan {
        RowPlan(values: [
            .text(name), SQLValue(email), SQLValue(phone), .text(role.rawValue), SQLValue(active), SQLValue(suspended),
            try refs.optional(organizationID, .organizations, field: "organization_id"),
            SQLValue(locale), SQLValue(timeZone), .text(JSONText.encode(strings: tags)), SQLValue(externalID),
            SQLValue(createdAt), SQLValue(updatedAt),
        ])
    }

    static let readSQL = """
        SELECT u.source_system, u.source_id, u.name, u.email, u.phone, u.role, u.active, u.suspended,
               \(sourceID(of: "organizations", "u.organization_id")), u.locale, u.time_zone, u.tags, u.external_id,
               u.created_at, u.updated_at
        FROM users u WHERE u.id = ?
        """

    static func read(_ c: Connection, targetID: Int64) throws -> User? {
        try c.queryOne(readSQL, [.int(targetID)]) { r in
            let system = try r.text(), id = try r.text(), name = try r.text(), email = r.optionalText(), phone = r.optionalText()
            let roleText = try r.text()
            guard let role = UserRole(rawValue: roleText) else {
                throw FerryError.badInput(file: c.path, line: nil, detail: "damaged archive: users.role \(roleText) is not a known role")
            }
            return User(id: id, sourceSystem: system, name: name, email: email, phone: phone, role: role,
                        active: try r.bool(), suspended: try r.bool(), organizationID: r.optionalText(),
                        locale: r.optionalText(), timeZone: r.optionalText(), tags: try r.strings(),
                        externalID: r.optionalText(), createdAt: r.optionalText(), updatedAt: r.optionalText())
        }
    }
}

extension Group: ArchiveRecord {
    static let table = TableSpec(.groups, columns: ["name", "description", "created_at", "updated_at"])

    func plan(_ refs: References) throws -> RowPlan {
        RowPlan(values: [.text(name), SQLValue(description), SQLValue(createdAt), SQLValue(updatedAt)])
    }

    static let readSQL = "SELECT source_system, source_id, name, description, created_at, updated_at FROM \"groups\" WHERE id = ?"

    static func read(_ c: Connection, targetID: Int64) throws -> Group? {
        try c.queryOne(readSQL, [.int(targetID)]) { r in
            let system = try r.text(), id = try r.text()
            return Group(id: id, sourceSystem: system, name: try r.text(), description: r.optionalText(),
                         createdAt: r.optionalText(), updatedAt: r.optionalText())
        }
    }
}

extension TicketField: ArchiveRecord {
    static let table = TableSpec(.ticketFields, columns: [
        "key", "title", "type", "description", "active", "required", "position", "regexp", "options",
        "created_at", "updated_at",
    ])

    func plan(_ refs: References) throws -> RowPlan {
        RowPlan(values: [
            SQLValue(key), .text(title), .text(type.rawValue), SQLValue(description), SQLValue(active), SQLValue(required),
            SQLValue(position), SQLValue(regexp), .text(try Self.encode(options)), SQLValue(createdAt), SQLValue(updatedAt),
        ])
    }

    /// Options as `[{"id":…,"name":…,"value":…}]`, the canonical JSON of `[FieldOption]`.
    static func encode(_ options: [FieldOption]) throws -> String {
        try JSONText.encode(.array(options.map { option in
            var object: [String: JSONValue] = ["name": .string(option.name), "value": .string(option.value)]
            if let id = option.id { object["id"] = .string(id) }
            return .object(object)
        }))
    }

    static func decodeOptions(_ text: String, path: String) throws -> [FieldOption] {
        let bad = FerryError.badInput(file: path, line: nil, detail: "damaged archive: ticket_fields.options is not a list of options")
        guard case .array(let items) = try JSONText.decode(text) else { throw bad }
        return try items.map { item in
            guard case .object(let object) = item, case .string(let name)? = object["name"],
                  case .string(let value)? = object["value"] else { throw bad }
            var id: String?
            if let rawID = object["id"] {
                guard case .string(let text) = rawID else { throw bad }
                id = text
            }
            return FieldOption(id: id, name: name, value: value)
        }
    }

    static let readSQL = """
        SELECT source_system, source_id, "key", title, type, description, active, required, position, regexp, options,
               created_at, updated_at
        FROM ticket_fields WHERE id = ?
        """

    static func read(_ c: Connection, targetID: Int64) throws -> TicketField? {
        try c.queryOne(readSQL, [.int(targetID)]) { r in
            let system = try r.text(), id = try r.text(), key = r.optionalText(), title = try r.text()
            let typeText = try r.text()
            guard let type = FieldType(rawValue: typeText) else {
                throw FerryError.badInput(file: c.path, line: nil, detail: "damaged archive: ticket_fields.type \(typeText) is not a known field type")
            }
            return TicketField(id: id, sourceSystem: system, key: key, title: title, type: type,
                               description: r.optionalText(), active: try r.bool(), required: try r.bool(),
                               position: r.optionalInt(), regexp: r.optionalText(),
                               options: try decodeOptions(try r.text(), path: c.path),
                               createdAt: r.optionalText(), updatedAt: r.optionalText())
        }
    }
}

// MARK: - Tickets and comments

extension Ticket: ArchiveRecord {
    static let table = TableSpec(.tickets, columns: [
        "subject", "description", "status", "priority", "type", "requester_id", "submitter_id", "assignee_id",
        "group_id", "organization_id", "tags", "channel", "external_id", "created_at", "updated_at", "solved_at",
    ], children: [
        ChildTable(table: "ticket_collaborators", parentColumn: "ticket_id"),
        ChildTable(table: "ticket_field_values", parentColumn: "ticket_id"),
    ], searchCode: 1)

    static let collaboratorSQL = "INSERT INTO ticket_collaborators (ticket_id, kind, position, user_id) VALUES (?, ?, ?, ?)"
    static let fieldValueSQL = "INSERT INTO ticket_field_values (ticket_id, position, field_id, value) VALUES (?, ?, ?, ?)"

    func plan(_ refs: References) throws -> RowPlan {
        let values: [SQLValue] = [
            .text(subject), SQLValue(description), .text(status), SQLValue(priority), SQLValue(type),
            try refs.optional(requesterID, .users, field: "requester_id"),
            try refs.optional(submitterID, .users, field: "submitter_id"),
            try refs.optional(assigneeID, .users, field: "assignee_id"),
            try refs.optional(groupID, .groups, field: "group_id"),
            try refs.optional(organizationID, .organizations, field: "organization_id"),
            .text(JSONText.encode(strings: tags)), SQLValue(channel), SQLValue(externalID),
            SQLValue(createdAt), SQLValue(updatedAt), SQLValue(solvedAt),
        ]
        let ccs = try ccIDs.map { try refs.target($0, .users, field: "cc_ids") }
        let followers = try followerIDs.map { try refs.target($0, .users, field: "follower_ids") }
        let fields: [(Int64, String)] = try customFields.map { custom in
            let fieldID = try refs.target(custom.fieldID, .ticketFields, field: "custom_fields.field_id")
            do {
                return (fieldID, try JSONText.encode(custom.value))
            } catch let problem as JSONText.Problem {
                throw RecordProblem(reason: "custom_fields \(custom.fieldID): \(problem)")
            }
        }
        return RowPlan(values: values, writeChildren: { c, ticket in
            for (position, user) in ccs.enumerated() {
                try c.execute(Self.collaboratorSQL, [.int(ticket), .text("cc"), SQLValue(position), .int(user)])
            }
            for (position, user) in followers.enumerated() {
                try c.execute(Self.collaboratorSQL, [.int(ticket), .text("follower"), SQLValue(position), .int(user)])
            }
            for (position, field) in fields.enumerated() {
                try c.execute(Self.fieldValueSQL, [.int(ticket), SQLValue(position), .int(field.0), .text(field.1)])
            }
        }, search: (subject, description ?? ""))
    }

    static let readSQL = """
        SELECT t.source_system, t.source_id, t.subject, t.description, t.status, t.priority, t.type,
               \(sourceID(of: "users", "t.requester_id")), \(sourceID(of: "users", "t.submitter_id")),
               \(sourceID(of: "users", "t.assignee_id")), \(sourceID(of: "groups", "t.group_id")),
               \(sourceID(of: "organizations", "t.organization_id")),
               t.tags, t.channel, t.external_id, t.created_at, t.updated_at, t.solved_at
        FROM tickets t WHERE t.id = ?
        """
    static let readCollaboratorsSQL = """
        SELECT c.kind, u.source_id FROM ticket_collaborators c JOIN users u ON u.id = c.user_id
        WHERE c.ticket_id = ? ORDER BY c.kind, c.position
        """
    static let readFieldValuesSQL = """
        SELECT f.source_id, v.value FROM ticket_field_values v JOIN ticket_fields f ON f.id = v.field_id
        WHERE v.ticket_id = ? ORDER BY v.position
        """

    static func read(_ c: Connection, targetID: Int64) throws -> Ticket? {
        guard var ticket = try c.queryOne(readSQL, [.int(targetID)], { r in
            let system = try r.text(), id = try r.text(), subject = try r.text(), description = r.optionalText()
            let status = try r.text(), priority = r.optionalText(), type = r.optionalText()
            let requester = r.optionalText(), submitter = r.optionalText(), assignee = r.optionalText()
            let group = r.optionalText(), organization = r.optionalText(), tags = try r.strings()
            return Ticket(id: id, sourceSystem: system, subject: subject, description: description, status: status,
                          priority: priority, type: type, requesterID: requester, submitterID: submitter,
                          assigneeID: assignee, groupID: group, organizationID: organization, tags: tags,
                          channel: r.optionalText(), externalID: r.optionalText(), createdAt: r.optionalText(),
                          updatedAt: r.optionalText(), solvedAt: r.optionalText())
        }) else { return nil }
        for (kind, user) in try c.queryAll(readCollaboratorsSQL, [.int(targetID)], { r in (try r.text(), try r.text()) }) {
            if kind == "cc" { ticket.ccIDs.append(user) } else { ticket.followerIDs.append(user) }
        }
        ticket.customFields = try c.queryAll(readFieldValuesSQL, [.int(targetID)]) { r in
            let field = try r.text(), text = try r.text()
            do {
                return CustomFieldValue(fieldID: field, value: try JSONText.decode(text))
            } catch let problem as JSONText.Problem {
                throw FerryError.badInput(file: c.path, line: nil, detail: "damaged archive: ticket_field_values.value of field \(field): \(problem)")
            }
        }
        return ticket
    }
}

extension Comment: ArchiveRecord {
    static let table = TableSpec(.comments, columns: [
        "ticket_id", "author_id", "public", "body_html", "body_plain", "created_at",
    ], searchCode: 2)

    func plan(_ refs: References) throws -> RowPlan {
        RowPlan(values: [
            .int(try refs.target(ticketID, .tickets, field: "ticket_id")),
            try refs.optional(authorID, .users, field: "author_id"),
            SQLValue(isPublic), SQLValue(bodyHTML), .text(bodyPlain), SQLValue(createdAt),
        ], search: ("", bodyPlain))
    }

    static let readSQL = """
        SELECT c.source_system, c.source_id, \(sourceID(of: "tickets", "c.ticket_id")), \(sourceID(of: "users", "c.author_id")),
               c.public, c.body_html, c.body_plain, c.created_at
        FROM comments c WHERE c.id = ?
        """

    static func read(_ c: Connection, targetID: Int64) throws -> Comment? {
        try c.queryOne(readSQL, [.int(targetID)]) { r in
            let system = try r.text(), id = try r.text()
            return Comment(id: id, sourceSystem: system, ticketID: try r.text(), authorID: r.optionalText(),
                           isPublic: try r.bool(), bodyHTML: r.optionalText(), bodyPlain: try r.text(),
                           createdAt: r.optionalText())
        }
    }
}

// MARK: - Knowledge base

extension KBCategory: ArchiveRecord {
    static let table = TableSpec(.kbCategories, columns: [
        "name", "description", "locale", "position", "url", "created_at", "updated_at",
    ])

    func plan(_ refs: References) throws -> RowPlan {
        RowPlan(values: [
            .text(name), SQLValue(description), SQLValue(locale), SQLValue(position), SQLValue(url),
            SQLValue(createdAt), SQLValue(updatedAt),
        ])
    }

    static let readSQL = """
        SELECT source_system, source_id, name, description, locale, position, url, created_at, updated_at
        FROM kb_categories WHERE id = ?
        """

    static func read(_ c: Connection, targetID: Int64) throws -> KBCategory? {
        try c.queryOne(readSQL, [.int(targetID)]) { r in
            let system = try r.text(), id = try r.text()
            return KBCategory(id: id, sourceSystem: system, name: try r.text(), description: r.optionalText(),
                              locale: r.optionalText(), position: r.optionalInt(), url: r.optionalText(),
                              createdAt: r.optionalText(), updatedAt: r.optionalText())
        }
    }
}

extension KBSection: ArchiveRecord {
    static let table = TableSpec(.kbSections, columns: [
        "category_id", "name", "description", "locale", "position", "url", "created_at", "updated_at",
    ])

    func plan(_ refs: References) throws -> RowPlan {
        RowPlan(values: [
            .int(try refs.target(categoryID, .kbCategories, field: "category_id")),
            .text(name), SQLValue(description), SQLValue(locale), SQLValue(position), SQLValue(url),
            SQLValue(createdAt), SQLValue(updatedAt),
        ])
    }

    static let readSQL = """
        SELECT s.source_system, s.source_id, \(sourceID(of: "kb_categories", "s.category_id")), s.name, s.description,
               s.locale, s.position, s.url, s.created_at, s.updated_at
        FROM kb_sections s WHERE s.id = ?
        """

    static func read(_ c: Connection, targetID: Int64) throws -> KBSection? {
        try c.queryOne(readSQL, [.int(targetID)]) { r in
            let system = try r.text(), id = try r.text()
            return KBSection(id: id, sourceSystem: system, categoryID: try r.text(), name: try r.text(),
                             description: r.optionalText(), locale: r.optionalText(), position: r.optionalInt(),
                             url: r.optionalText(), createdAt: r.optionalText(), updatedAt: r.optionalText())
        }
    }
}

extension KBArticle: ArchiveRecord {
    static let table = TableSpec(.kbArticles, columns: [
        "section_id", "author_id", "title", "body_html", "locale", "source_locale", "labels", "draft", "promoted",
        "position", "url", "created_at", "updated_at",
    ], children: [
        ChildTable(table: "kb_translations", parentColumn: "article_id"),
    ], searchCode: 3)

    static let translationSQL = """
        INSERT INTO kb_translations (article_id, position, locale, title, body_html, draft, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        """

    func plan(_ refs: References) throws -> RowPlan {
        let values: [SQLValue] = [
            .int(try refs.target(sectionID, .kbSections, field: "section_id")),
            try refs.optional(authorID, .users, field: "author_id"),
            .text(title), .text(bodyHTML), .text(locale), SQLValue(sourceLocale), .text(JSONText.encode(strings: labels)),
            SQLValue(draft), SQLValue(promoted), SQLValue(position), SQLValue(url), SQLValue(createdAt), SQLValue(updatedAt),
        ]
        let translations = self.translations
        return RowPlan(values: values, writeChildren: { c, article in
            for (position, t) in translations.enumerated() {
                try c.execute(Self.translationSQL, [
                    .int(article), SQLValue(position), .text(t.locale), .text(t.title), .text(t.bodyHTML),
                    SQLValue(t.draft), SQLValue(t.createdAt), SQLValue(t.updatedAt),
                ])
            }
        }, search: (title, HTMLText.plain(bodyHTML)))
    }

    static let readSQL = """
        SELECT a.source_system, a.source_id, \(sourceID(of: "kb_sections", "a.section_id")), \(sourceID(of: "users", "a.author_id")),
               a.title, a.body_html, a.locale, a.source_locale, a.labels, a.draft, a.promoted, a.position, a.url,
               a.created_at, a.updated_at
        FROM kb_articles a WHERE a.id = ?
        """
    static let readTranslationsSQL = """
        SELECT locale, title, body_html, draft, created_at, updated_at FROM kb_translations
        WHERE article_id = ? ORDER BY position
        """

    static func read(_ c: Connection, targetID: Int64) throws -> KBArticle? {
        guard var article = try c.queryOne(readSQL, [.int(targetID)], { r in
            let system = try r.text(), id = try r.text()
            return KBArticle(id: id, sourceSystem: system, sectionID: try r.text(), authorID: r.optionalText(),
                             title: try r.text(), bodyHTML: try r.text(), locale: try r.text(),
                             sourceLocale: r.optionalText(), labels: try r.strings(), draft: try r.bool(),
                             promoted: try r.bool(), position: r.optionalInt(), url: r.optionalText(),
                             createdAt: r.optionalText(), updatedAt: r.optionalText())
        }) else { return nil }
        article.translations = try c.queryAll(readTranslationsSQL, [.int(targetID)]) { r in
            ArticleTranslation(locale: try r.text(), title: try r.text(), bodyHTML: try r.text(), draft: try r.bool(),
                               createdAt: r.optionalText(), updatedAt: r.optionalText())
        }
        return article
    }
}

// MARK: - Attachments

extension Attachment: ArchiveRecord {
    static let table = TableSpec(.attachments, columns: [
        "comment_id", "article_id", "file_name", "content_type", "size", "sha256", "inline",
    ])

    func plan(_ refs: References) throws -> RowPlan {
        let comment: SQLValue, article: SQLValue
        switch parentType {
        case .comment:
            comment = .int(try refs.target(parentID, .comments, field: "parent_id"))
            article = .null
        case .article:
            comment = .null
            article = .int(try refs.target(parentID, .kbArticles, field: "parent_id"))
        }
        return RowPlan(values: [
            comment, article, .text(fileName), SQLValue(contentType), SQLValue(size), .text(sha256), SQLValue(inline),
        ])
    }

    static let readSQL = """
        SELECT a.source_system, a.source_id, \(sourceID(of: "comments", "a.comment_id")),
               \(sourceID(of: "kb_articles", "a.article_id")), a.file_name, a.content_type, a.size, a.sha256, a.inline
        FROM attachments a WHERE a.id = ?
        """

    static func read(_ c: Connection, targetID: Int64) throws -> Attachment? {
        try c.queryOne(readSQL, [.int(targetID)]) { r in
            let system = try r.text(), id = try r.text(), comment = r.optionalText(), article = r.optionalText()
            let parent: (AttachmentParent, String)
            if let comment {
                parent = (.comment, comment)
            } else if let article {
                parent = (.article, article)
            } else {
                throw FerryError.badInput(file: c.path, line: nil, detail: "damaged archive: attachment \(id) has neither a comment nor an article")
            }
            return Attachment(id: id, sourceSystem: system, parentType: parent.0, parentID: parent.1,
                              fileName: try r.text(), contentType: r.optionalText(), size: try r.uint64(),
                              sha256: try r.text(), inline: try r.bool())
        }
    }
}

// MARK: - Search text

enum HTMLText {
    /// Article HTML as words for the search index: tags (and script/style
    /// content) dropped, common entities decoded, whitespace collapsed.
    /// Only search uses it; the archive keeps the HTML as it came.
    static func plain(_ html: String) -> String {
        var out = ""
        out.reserveCapacity(html.utf8.count)
        var chars = html[...]
        var skipUntil: String?
        while let c = chars.first {
            if c == "<" {
                guard let close = chars.firstIndex(of: ">") else { break }
                let tag = chars[chars.index(after: chars.startIndex)..<close].lowercased()
                if let end = skipUntil {
                    if tag.hasPrefix(end) { skipUntil = nil }
                } else if tag.hasPrefix("script") || tag.hasPrefix("style") {
                    skipUntil = "/" + (tag.hasPrefix("script") ? "script" : "style")
                }
                out.append(" ")
                chars = chars[chars.index(after: close)...]
                continue
            }
            chars = chars.dropFirst()
            if skipUntil != nil { continue }
            if c == "&", let semicolon = chars.prefix(10).firstIndex(of: ";") {
                let name = chars[chars.startIndex..<semicolon]
                if let decoded = entity(String(name)) {
                    out.append(decoded)
                    chars = chars[chars.index(after: semicolon)...]
                    continue
                }
            }
            out.append(c)
        }
        return out.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    private static func entity(_ name: String) -> String? {
        switch name {
        case "amp": return "&"
        case "lt": return "<"
        case "gt": return ">"
        case "quot": return "\""
        case "apos", "#39": return "'"
        case "nbsp": return " "
        default:
            if name.hasPrefix("#x") || name.hasPrefix("#X"), let code = UInt32(name.dropFirst(2), radix: 16),
               let scalar = Unicode.Scalar(code) { return String(Character(scalar)) }
            if name.hasPrefix("#"), let code = UInt32(name.dropFirst()), let scalar = Unicode.Scalar(code) {
                return String(Character(scalar))
            }
            return nil
        }
    }
}
