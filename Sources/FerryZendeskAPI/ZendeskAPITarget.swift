import FerryCore
import FerryHTTP
import Foundation

/// Zendesk as a migration target, over its REST API (docs/connectors/zendesk.md).
///
/// - organizations and users: `create_or_update_many` (100 a request, a job
///   status polled to its end), matched by external_id (the record's own, else
///   `ferry:<system>:<id>`) and, for users, e-mail;
/// - groups and ticket fields: created when no group or field of that name exists;
/// - Help Center: categories, sections, articles with translations, article
///   attachments (multipart, to their article), then links rewritten;
/// - tickets: the Ticket Import API (`/api/v2/imports/tickets/create_many`, 100
///   a request), which keeps created_at, updated_at, solved_at, each comment's
///   author, time and public flag; attachments are uploaded first
///   (`/api/v2/uploads`) and referenced by token from their comment.
///
/// Records are queued while a part is read and written when it ends
/// (`transaction`), in reference order. A ticket is `pending` in the local ID
/// map (with the external_id it is imported under) before its import is sent:
/// imports are sent without blind retries, and after any failure, or a crash,
/// the pending tickets are looked up in Zendesk by external_id first, so none
/// is imported twice. The Help Center side (categories, sections, articles,
/// translations, article attachments, link rewriting) is in ZendeskKnowledgeBase.swift.
public final class ZendeskAPITarget: TargetConnector, @unchecked Sendable {
    public let location: String
    let settings: ZendeskAPISettings
    let client: ZendeskClient
    let state: ZendeskState
    let spool: BlobSpool
    let log: @Sendable (String) -> Void
    private let json = CanonicalJSON()

    struct Queued<R> { var record: R; var hash: String; var wasLoaded: Bool }
    private struct PendingTicket {
        var ticket: Ticket
        var hash: String
        var comments: [(Comment, String)] = []
        var attachments: [String: [(Attachment, String)]] = [:]
    }
    private var organizations: [Queued<Organization>] = []
    private var users: [Queued<User>] = []
    private var tickets: [PendingTicket] = []
    private var categories: [Queued<KBCategory>] = []
    private var sections: [Queued<KBSection>] = []
    private var articles: [Queued<KBArticle>] = []
    private var articleAttachments: [Queued<Attachment>] = []
    private var ticketIndex: [String: Int] = [:]
    private var commentTicket: [String: String] = [:]
    private var pendingPart: (fingerprint: String, part: String, digest: String, summary: String?)?
    private var inTransaction = false
    private var groupNames: [String: Int64]?
    private var fieldTitles: [String: Int64]?

    public init(settings: ZendeskAPISettings, client: ZendeskClient, stateURL: URL, log: @escaping @Sendable (String) -> Void = { _ in }) throws {
        self.settings = settings
        self.client = client
        self.log = log
        location = client.service
        state = try ZendeskState(url: stateURL)
        spool = BlobSpool(directory: stateURL.deletingLastPathComponent().appendingPathComponent("zendesk-blobs"))
    }

    /// The external_id a record is matched by in Zendesk.
    static func key(_ own: String?, _ system: String, _ id: String) -> String {
        if let own, !own.isEmpty { return own }
        return "ferry:\(system):\(id)"
    }

    // MARK: - Parts

    public func isPartLoaded(fingerprint: String, part: String, contentDigest: String) throws -> Bool {
        try state.isPartLoaded(fingerprint: fingerprint, part: part, digest: contentDigest)
    }

    public func loadedPartSummary(fingerprint: String, part: String) throws -> String? {
        try state.partSummary(fingerprint: fingerprint, part: part)
    }

    public func transaction(_ body: () throws -> Void) throws {
        clearQueues()
        inTransaction = true
        defer { inTransaction = false; clearQueues() }
        try body()
        try flush()
        if let mark = pendingPart {
            try state.markPart(fingerprint: mark.fingerprint, part: mark.part, digest: mark.digest, summary: mark.summary)
        }
    }

    private func clearQueues() {
        organizations = []; users = []; tickets = []; ticketIndex = [:]; commentTicket = [:]; pendingPart = nil
        categories = []; sections = []; articles = []; articleAttachments = []
    }

    public func markPartLoaded(fingerprint: String, part: String, contentDigest: String, summary: String?) throws {
        if inTransaction { pendingPart = (fingerprint, part, contentDigest, summary); return }
        try state.markPart(fingerprint: fingerprint, part: part, digest: contentDigest, summary: summary)
    }

    public func storeBlob(sha256: String, size: UInt64, _ produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        try spool.store(sha256: sha256, size: size, produce)
    }

    public func failedRecords() throws -> [(entity: EntityType, sourceID: String)] { try state.failed() }

    // MARK: - Records

    struct Failure: Error { var reason: String }

    public func upsert<R: CanonicalRecord>(_ record: R, contentHash: String) throws -> LoadOutcome {
        let entity = R.entity
        let prior = try state.entry(entity, record.id)
        if let prior, prior.status == "loaded", prior.contentHash == contentHash, let target = prior.targetID {
            return .unchanged(target)
        }
        let wasLoaded = prior?.status == "loaded" && prior?.targetID != nil
        do {
            switch record {
            case let organization as Organization:
                organizations.append(Queued(record: organization, hash: contentHash, wasLoaded: wasLoaded))
                return wasLoaded ? .updated(prior!.targetID!) : .created(0)
            case let user as User:
                users.append(Queued(record: user, hash: contentHash, wasLoaded: wasLoaded))
                return wasLoaded ? .updated(prior!.targetID!) : .created(0)
            case let group as FerryCore.Group:
                let id = try writeGroup(group)
                try state.setLoaded(.groups, group.id, targetID: id, hash: contentHash, record: try text(group))
                return wasLoaded ? .updated(id) : .created(id)
            case let field as TicketField:
                let id = try writeField(field)
                try state.setLoaded(.ticketFields, field.id, targetID: id, hash: contentHash, record: try text(field))
                return wasLoaded ? .updated(id) : .created(id)
            case let ticket as Ticket:
                if wasLoaded {
                    let id = prior!.targetID!
                    try updateTicket(ticket, id: id)
                    try state.setLoaded(.tickets, ticket.id, targetID: id, hash: contentHash, record: try text(ticket))
                    return .updated(id)
                }
                ticketIndex[ticket.id] = tickets.count
                tickets.append(PendingTicket(ticket: ticket, hash: contentHash))
                return .created(0)
            case let comment as Comment:
                if wasLoaded {
                    log("comment \(comment.id) changed in the source, but imported Zendesk comments cannot be edited; it stays as first loaded")
                    return .updated(prior!.targetID!)
                }
                guard let index = ticketIndex[comment.ticketID] else {
                    throw Failure(reason: "ticket \(comment.ticketID) was imported earlier: Ticket Import adds comments only with their ticket, so a comment added later is not loaded (docs/connectors/zendesk.md)")
                }
                tickets[index].comments.append((comment, contentHash))
                commentTicket[comment.id] = comment.ticketID
                return .created(0)
            case let category as KBCategory:
                categories.append(Queued(record: category, hash: contentHash, wasLoaded: wasLoaded))
                return wasLoaded ? .updated(prior!.targetID!) : .created(0)
            case let section as KBSection:
                sections.append(Queued(record: section, hash: contentHash, wasLoaded: wasLoaded))
                return wasLoaded ? .updated(prior!.targetID!) : .created(0)
            case let article as KBArticle:
                articles.append(Queued(record: article, hash: contentHash, wasLoaded: wasLoaded))
                return wasLoaded ? .updated(prior!.targetID!) : .created(0)
            case let attachment as Attachment where attachment.parentType == .article:
                // Uploaded to its article once the part's articles are written; a changed one replaces the old.
                articleAttachments.append(Queued(record: attachment, hash: contentHash, wasLoaded: wasLoaded))
                return wasLoaded ? .updated(prior!.targetID!) : .created(0)
            case let attachment as Attachment:
                if wasLoaded { return prior!.contentHash == contentHash ? .unchanged(prior!.targetID!) : .updated(prior!.targetID!) }
                guard let ticketID = commentTicket[attachment.parentID], let index = ticketIndex[ticketID] else {
                    throw Failure(reason: "comment \(attachment.parentID) is not being imported with its ticket in this part; an attachment is uploaded only with its comment")
                }
                tickets[index].attachments[attachment.parentID, default: []].append((attachment, contentHash))
                return .created(0)
            default:
                throw Failure(reason: "\(entity.rawValue) are not loaded into Zendesk (docs/connectors/zendesk.md)")
            }
        } catch let failure as Failure {
            try state.setFailed(entity, record.id, hash: contentHash, reason: failure.reason)
            return .failed(failure.reason)
        }
    }

    private func text<R: CanonicalRecord>(_ record: R) throws -> String { String(decoding: try json.encode(record), as: UTF8.self) }

    func checkReply(_ reply: ZendeskClient.Reply, _ what: String) throws -> ZendeskClient.Reply { try check(reply, what) }

    private func check(_ reply: ZendeskClient.Reply, _ what: String) throws -> ZendeskClient.Reply {
        if reply.ok { return reply }
        if [400, 404, 409, 422].contains(reply.status) { throw Failure(reason: "Zendesk refused the \(what): \(reply.message)") }
        throw client.unexpected("", what, reply)
    }

    private func refer(_ entity: EntityType, _ id: String?, _ what: String) throws -> Int64? {
        guard let id else { return nil }
        guard let entry = try state.loaded(entity, id), let target = entry.targetID else {
            throw Failure(reason: "\(what) \(id) is not loaded (\(entity.singular) missing or failed)")
        }
        return target
    }

    // MARK: - Groups and fields

    private func writeGroup(_ group: FerryCore.Group) throws -> Int64 {
        if groupNames == nil {
            let all = try client.allBlocking("/api/v2/groups.json", key: "groups")
            groupNames = Dictionary(all.compactMap { g in (g["name"] as? String).flatMap { n in Self.int(g["id"]).map { (n, $0) } } }, uniquingKeysWith: { a, _ in a })
        }
        if let id = groupNames?[group.name] { return id }
        var body: ZObject = ["name": group.name]
        if let description = group.description { body["description"] = description }
        let reply = try check(try client.request("POST", "/api/v2/groups.json", body: ["group": body]), "group \(group.name)")
        guard let id = Self.int((reply.object?["group"] as? ZObject)?["id"]) else { throw client.unexpected("POST", "/api/v2/groups.json", reply) }
        groupNames?[group.name] = id
        return id
    }

    static let fieldTypes: [FieldType: String] = [.text: "text", .textarea: "textarea", .integer: "integer", .decimal: "decimal", .date: "date",
                                                  .checkbox: "checkbox", .dropdown: "tagger", .multiselect: "multiselect", .regexp: "regexp"]

    private func writeField(_ field: TicketField) throws -> Int64 {
        if fieldTitles == nil {
            let all = try client.allBlocking("/api/v2/ticket_fields.json", key: "ticket_fields")
            fieldTitles = Dictionary(all.compactMap { f in (f["title"] as? String).flatMap { t in Self.int(f["id"]).map { (t, $0) } } }, uniquingKeysWith: { a, _ in a })
        }
        if let id = fieldTitles?[field.title] { return id }
        var body: ZObject = ["type": Self.fieldTypes[field.type] ?? "text", "title": field.title, "active": field.active, "required": field.required]
        if let description = field.description { body["description"] = description }
        if let regexp = field.regexp { body["regexp_for_validation"] = regexp }
        if let position = field.position { body["position"] = position }
        if !field.options.isEmpty { body["custom_field_options"] = field.options.map { ["name": $0.name, "value": $0.value] } }
        let reply = try check(try client.request("POST", "/api/v2/ticket_fields.json", body: ["ticket_field": body]), "ticket field \(field.title)")
        guard let id = Self.int((reply.object?["ticket_field"] as? ZObject)?["id"]) else { throw client.unexpected("POST", "/api/v2/ticket_fields.json", reply) }
        fieldTitles?[field.title] = id
        return id
    }

    static func int(_ value: Any?) -> Int64? {
        if let number = value as? NSNumber { return number.int64Value }
        if let text = value as? String { return Int64(text) }
        return nil
    }

    // MARK: - Flush

    private func flush() throws {
        try flushOrganizations()
        try flushUsers()
        try flushTickets()
        try flushKnowledgeBase()
    }

    /// Categories, then sections, then articles (an article names its author, loaded with the users).
    private func flushKnowledgeBase() throws {
        func each<R: CanonicalRecord>(_ queue: [Queued<R>], _ write: (Queued<R>) throws -> Int64) throws {
            for q in queue {
                do {
                    let id = try write(q)
                    try state.setLoaded(R.entity, q.record.id, targetID: id, hash: q.hash, record: try text(q.record))
                } catch let failure as Failure {
                    try state.setFailed(R.entity, q.record.id, hash: q.hash, reason: failure.reason)
                }
            }
        }
        try each(categories) { try writeCategory($0.record) }
        try each(sections) { try writeSection($0.record) }
        try each(articles) { try writeArticle($0.record, hash: $0.hash, existing: try state.entry(.kbArticles, $0.record.id)) }
        try each(articleAttachments) { try writeArticleAttachment($0.record, hash: $0.hash, existing: try state.entry(.attachments, $0.record.id)) }
    }

    /// Runs a bulk job and returns its results in request order (by `index` when given).
    private func job(_ path: String, body: ZObject, count: Int, what: String) throws -> [ZObject?] {
        let reply = try check(try client.request("POST", path, body: body), what)
        guard let started = reply.object?["job_status"] as? ZObject, let id = started["id"] as? String ?? (started["id"].map { "\($0)" }) else {
            throw client.unexpected("POST", path, reply)
        }
        guard let status = try endOfJob(started, id: id) else {
            throw FerryError.remote(service: client.service, detail: "job status \(id) of \(what) disappeared", hint: "run the load again: it resumes and finds what was written")
        }
        guard status["status"] as? String == "completed" else {
            throw Failure(reason: "Zendesk's job for \(what) ended \(status["status"] ?? "?"): \(status["message"] ?? "")")
        }
        return Self.results(of: status, count: count)
    }

    /// A job status polled (backing off to 5 s) until it completed, failed or was killed; nil when it disappeared.
    private func endOfJob(_ status: ZObject, id: String) throws -> ZObject? {
        var current = status
        var wait = 0.05
        while !["completed", "failed", "killed"].contains(current["status"] as? String ?? "") {
            Thread.sleep(forTimeInterval: wait)
            wait = min(wait * 2, 5)
            guard let polled = try client.get("/api/v2/job_statuses/\(id).json")?["job_status"] as? ZObject else { return nil }
            current = polled
        }
        return current
    }

    /// A finished job's results in request order (by `index` when given).
    private static func results(of status: ZObject, count: Int) -> [ZObject?] {
        var results = [ZObject?](repeating: nil, count: count)
        for (position, result) in (status["results"] as? [ZObject] ?? []).enumerated() {
            let index = int(result["index"]).map(Int.init) ?? position
            if index >= 0 && index < count { results[index] = result }
        }
        return results
    }

    private func flushOrganizations() throws {
        for batch in stride(from: 0, to: organizations.count, by: 100).map({ Array(organizations[$0..<min($0 + 100, organizations.count)]) }) {
            let body: [ZObject] = batch.map { q in
                let o = q.record
                var object: ZObject = ["name": o.name, "external_id": Self.key(o.externalID, o.sourceSystem, o.id), "domain_names": o.domainNames, "tags": o.tags]
                if let details = o.details { object["details"] = details }
                if let notes = o.notes { object["notes"] = notes }
                return object
            }
            try apply(batch, entity: .organizations, path: "/api/v2/organizations/create_or_update_many.json", body: ["organizations": body])
        }
    }

    private func flushUsers() throws {
        for batch in stride(from: 0, to: users.count, by: 100).map({ Array(users[$0..<min($0 + 100, users.count)]) }) {
            var sendable: [Queued<User>] = []
            var body: [ZObject] = []
            for q in batch {
                let u = q.record
                do {
                    var object: ZObject = ["name": u.name.isEmpty ? (u.email ?? "User \(u.id)") : u.name, "external_id": Self.key(u.externalID, u.sourceSystem, u.id),
                                           "role": u.role == .endUser ? "end-user" : u.role.rawValue, "tags": u.tags, "suspended": u.suspended]
                    if let email = u.email, !email.isEmpty { object["email"] = email; object["verified"] = true; object["skip_verify_email"] = true }
                    if let phone = u.phone, !phone.isEmpty { object["phone"] = phone }
                    if let locale = u.locale { object["locale"] = locale }
                    if let zone = u.timeZone { object["time_zone"] = zone }
                    if let org = try refer(.organizations, u.organizationID, "organization") { object["organization_id"] = org }
                    body.append(object)
                    sendable.append(q)
                } catch let failure as Failure {
                    try state.setFailed(.users, u.id, hash: q.hash, reason: failure.reason)
                }
            }
            if !body.isEmpty { try apply(sendable, entity: .users, path: "/api/v2/users/create_or_update_many.json", body: ["users": body]) }
        }
    }

    private func apply<R: CanonicalRecord>(_ batch: [Queued<R>], entity: EntityType, path: String, body: ZObject) throws {
        let results: [ZObject?]
        do {
            results = try job(path, body: body, count: batch.count, what: "\(batch.count) \(entity.rawValue)")
        } catch let failure as Failure {
            for q in batch { try state.setFailed(entity, q.record.id, hash: q.hash, reason: failure.reason) }
            return
        }
        for (q, result) in zip(batch, results) {
            if let result, let id = Self.int(result["id"]), result["success"] as? Bool != false {
                try state.setLoaded(entity, q.record.id, targetID: id, hash: q.hash, record: try text(q.record))
            } else {
                let reason = result.map { "\($0["error"] ?? "refused"): \($0["details"] ?? $0["description"] ?? "")" } ?? "no result in Zendesk's job"
                try state.setFailed(entity, q.record.id, hash: q.hash, reason: "Zendesk refused the \(entity.singular): \(reason)")
            }
        }
    }

    /// Zendesk's statuses; the canonical `on_hold` is Zendesk's `hold`.
    static func status(_ status: String) -> String? {
        let s = status == "on_hold" ? "hold" : status
        return ["new", "open", "pending", "hold", "solved", "closed"].contains(s) ? s : nil
    }

    private func ticketObject(_ p: PendingTicket, uploads: [String: [String]]) throws -> ZObject {
        let t = p.ticket
        guard let status = Self.status(t.status) else {
            throw Failure(reason: "status \"\(t.status)\" is not a Zendesk status (new, open, pending, hold, solved, closed); map it in map.statuses")
        }
        var object: ZObject = ["subject": t.subject, "status": status, "tags": t.tags, "external_id": Self.key(t.externalID, t.sourceSystem, t.id)]
        if let priority = t.priority { object["priority"] = priority }
        if let type = t.type { object["type"] = type }
        if let id = try refer(.users, t.requesterID, "requester") { object["requester_id"] = id }
        if let id = try refer(.users, t.submitterID, "submitter") { object["submitter_id"] = id }
        if let id = try refer(.users, t.assigneeID, "assignee") { object["assignee_id"] = id }
        if let id = try refer(.groups, t.groupID, "group") { object["group_id"] = id }
        if let id = try refer(.organizations, t.organizationID, "organization") { object["organization_id"] = id }
        let ccs = try t.ccIDs.compactMap { try refer(.users, $0, "cc") }
        if !ccs.isEmpty { object["collaborator_ids"] = ccs }
        let followers = try t.followerIDs.compactMap { try refer(.users, $0, "follower") }
        if !followers.isEmpty { object["follower_ids"] = followers }
        var fields: [ZObject] = []
        for value in t.customFields {
            guard let id = try refer(.ticketFields, value.fieldID, "ticket field") else { continue }
            fields.append(["id": id, "value": Self.any(value.value)])
        }
        if !fields.isEmpty { object["custom_fields"] = fields }
        if let created = t.createdAt { object["created_at"] = created }
        if let updated = t.updatedAt { object["updated_at"] = updated }
        if let solved = t.solvedAt { object["solved_at"] = solved }
        object["comments"] = try p.comments.map { comment, _ -> ZObject in
            var c: ZObject = ["public": comment.isPublic]
            if let html = comment.bodyHTML, !html.isEmpty { c["html_body"] = html } else { c["value"] = comment.bodyPlain.isEmpty ? " " : comment.bodyPlain }
            if let author = try refer(.users, comment.authorID, "comment author") { c["author_id"] = author }
            if let created = comment.createdAt { c["created_at"] = created }
            if let tokens = uploads[comment.id], !tokens.isEmpty { c["uploads"] = tokens }
            return c
        }
        return object
    }

    static func any(_ value: JSONValue) -> Any {
        switch value {
        case .null: return NSNull()
        case .bool(let b): return b
        case .int(let i): return i
        case .double(let d): return d
        case .string(let s): return s
        case .array(let items): return items.map(any)
        case .object(let o): return o.mapValues(any)
        }
    }

    /// A ticket imported before (its import's answer lost to a crash or a failure), found by external_id.
    private func findTicket(_ key: String) throws -> Int64? {
        guard let found = try client.get("/api/v2/tickets.json", query: [("external_id", key)]) else { return nil }
        let ids = (found["tickets"] as? [ZObject] ?? []).compactMap { Self.int($0["id"]) }
        return ids.min()
    }

    private func markTicketLoaded(_ p: PendingTicket, id: Int64) throws {
        try state.setLoaded(.tickets, p.ticket.id, targetID: id, hash: p.hash, record: try text(p.ticket))
        for (comment, hash) in p.comments {
            try state.setLoaded(.comments, comment.id, targetID: id, hash: hash, record: try text(comment), lookupKey: p.ticket.id)
            for (attachment, hash) in p.attachments[comment.id] ?? [] {
                try state.setLoaded(.attachments, attachment.id, targetID: id, hash: hash, record: try text(attachment), lookupKey: attachment.sha256)
            }
        }
    }

    private func failTicket(_ p: PendingTicket, _ reason: String) throws {
        try state.setFailed(.tickets, p.ticket.id, hash: p.hash, reason: reason)
        for (comment, hash) in p.comments {
            try state.setFailed(.comments, comment.id, hash: hash, reason: "its ticket failed: \(reason)")
            for (attachment, hash) in p.attachments[comment.id] ?? [] {
                try state.setFailed(.attachments, attachment.id, hash: hash, reason: "its ticket failed: \(reason)")
            }
        }
    }

    private func flushTickets() throws {
        var ready: [PendingTicket] = []
        for p in tickets {
            let key = Self.key(p.ticket.externalID, p.ticket.sourceSystem, p.ticket.id)
            // A ticket whose import was sent before a crash: look before importing again.
            if try state.entry(.tickets, p.ticket.id)?.status == "pending", let id = try findTicket(key) {
                try markTicketLoaded(p, id: id)
                continue
            }
            ready.append(p)
        }
        for start in stride(from: 0, to: ready.count, by: 100) {
            try importBatch(Array(ready[start..<min(start + 100, ready.count)]))
        }
    }

    private func upload(_ attachment: Attachment) throws -> String {
        let file = spool.url(attachment.sha256)
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw Failure(reason: "the bytes of attachment \(attachment.id) (SHA-256 \(attachment.sha256)) are not in the bundle")
        }
        let reply = try check(try client.upload("/api/v2/uploads.json", query: [("filename", attachment.fileName)], file: file,
                                                contentType: attachment.contentType ?? "application/octet-stream"), "upload of \(attachment.fileName)")
        guard let token = (reply.object?["upload"] as? ZObject)?["token"] as? String else { throw client.unexpected("POST", "/api/v2/uploads.json", reply) }
        try state.addBlob(sha256: attachment.sha256, size: attachment.size)
        return token
    }

    private func importBatch(_ batch: [PendingTicket]) throws {
        var objects: [ZObject] = []
        var sent: [PendingTicket] = []
        for p in batch {
            do {
                var tokens: [String: [String]] = [:]
                let object = try ticketObject(p, uploads: [:])
                for (commentID, attachments) in p.attachments {
                    for (attachment, _) in attachments { tokens[commentID, default: []].append(try upload(attachment)) }
                }
                objects.append(tokens.isEmpty ? object : try ticketObject(p, uploads: tokens))
                sent.append(p)
            } catch let failure as Failure {
                try failTicket(p, failure.reason)
            }
        }
        guard !sent.isEmpty else { return }
        for p in sent { try state.setPending(.tickets, p.ticket.id, hash: p.hash, lookupKey: Self.key(p.ticket.externalID, p.ticket.sourceSystem, p.ticket.id)) }
        var remaining = Array(zip(sent, objects))
        var attempt = 0
        while !remaining.isEmpty {
            attempt += 1
            var query: [(String, String)] = []
            if settings.archiveImmediately { query.append(("archive_immediately", "true")) }
            do {
                let results = try importOnce(remaining.map(\.1), query: query)
                for ((p, _), result) in zip(remaining, results) {
                    if let result, let id = Self.int(result["id"]) { try markTicketLoaded(p, id: id) } else {
                        try failTicket(p, "Zendesk refused the import: \(result.map { "\($0["error"] ?? "")  \($0["details"] ?? "")" } ?? "no result")")
                    }
                }
                return
            } catch let failure as Failure {
                for (p, _) in remaining { try failTicket(p, failure.reason) }
                return
            } catch let error as FerryError {
                // Sent without blind retries: whatever Zendesk did import is found by external_id, the rest is sent again.
                guard attempt < settings.retries else { throw error }
                log("ticket import: \(error); looking up the \(remaining.count) ticket(s) before sending again (attempt \(attempt + 1) of \(settings.retries))")
                Thread.sleep(forTimeInterval: min(30, 0.5 * pow(2, Double(attempt - 1))) * Double.random(in: 0.5..<1))
                var left: [(PendingTicket, ZObject)] = []
                for item in remaining {
                    if let id = try findTicket(Self.key(item.0.ticket.externalID, item.0.ticket.sourceSystem, item.0.ticket.id)) {
                        try markTicketLoaded(item.0, id: id)
                    } else {
                        left.append(item)
                    }
                }
                remaining = left
            }
        }
    }

    /// One import request with no retry of its own (a retried POST could import twice).
    private func importOnce(_ objects: [ZObject], query: [(String, String)]) throws -> [ZObject?] {
        let path = "/api/v2/imports/tickets/create_many.json"
        let reply = try client.requestOnce("POST", path, query: query, body: ["tickets": objects])
        if !reply.ok && !(400..<500).contains(reply.status) || reply.status == 429 {
            throw FerryError.unavailable(service: client.service, detail: "POST \(path): HTTP \(reply.status)", hint: "run the load again; it resumes")
        }
        guard reply.ok, let status = reply.object?["job_status"] as? ZObject, let id = status["id"].map({ "\($0)" }) else {
            throw Failure(reason: "Zendesk refused the import: HTTP \(reply.status): \(reply.message)")
        }
        guard let current = try endOfJob(status, id: id) else {
            throw FerryError.unavailable(service: client.service, detail: "job status \(id) of a ticket import disappeared", hint: "run the load again")
        }
        guard current["status"] as? String == "completed" else {
            throw FerryError.unavailable(service: client.service, detail: "ticket import job \(id) ended \(current["status"] ?? "?")", hint: "run the load again")
        }
        return Self.results(of: current, count: objects.count)
    }

    /// A ticket imported earlier whose fields changed: Ticket Import cannot
    /// update, so its fields are updated in place (comments stay as imported).
    private func updateTicket(_ ticket: Ticket, id: Int64) throws {
        var object = try ticketObject(PendingTicket(ticket: ticket, hash: ""), uploads: [:])
        for key in ["comments", "created_at", "updated_at", "solved_at", "external_id"] { object.removeValue(forKey: key) }
        _ = try check(try client.request("PUT", "/api/v2/tickets/\(id).json", body: ["ticket": object]), "update of ticket \(ticket.id)")
    }

    // MARK: - Read back

    public func applyDeletion(_ entity: EntityType, sourceID: String, reason: String, keepMarked: Bool) throws -> DeletionOutcome {
        guard try state.loaded(entity, sourceID) != nil else { return .absent }
        try state.markDeleted(entity, sourceID, reason: reason)
        return .marked
    }

    public func targetID(_ entity: EntityType, sourceID: String) throws -> Int64? { try state.loaded(entity, sourceID)?.targetID }

    public func idMapEntry(_ entity: EntityType, sourceID: String) throws -> IDMapEntry? {
        guard let e = try state.entry(entity, sourceID) else { return nil }
        return IDMapEntry(entity: entity, sourceID: sourceID, targetID: e.targetID, contentHash: e.contentHash,
                          status: e.status == "loaded" ? .loaded : .failed, reason: e.reason ?? (e.status == "pending" ? "import sent, answer not received" : nil), updatedAt: e.updatedAt)
    }

    public func commentCount(ticketSourceID: String) throws -> Int {
        try state.count(.comments, where: "lookup_key = ?", ticketSourceID)
    }

    public func blobDigest(_ sha256: String) throws -> (sha256: String, size: UInt64)? {
        try state.blob(sha256).map { (sha256, $0) }
    }

    public func fetch<R: CanonicalRecord>(_ type: R.Type, sourceID: String) throws -> R? {
        try reader().fetch(type, sourceID: sourceID)
    }

    public func comparable<R: CanonicalRecord>(_ record: R) -> R { ZendeskReadBack.comparable(record) }

    private lazy var readBack = ZendeskReadBack(client: client, state: state)
    func reader() -> ZendeskReadBack { readBack }
}

extension ZendeskClient {
    /// Every item of a cursor-paginated list, from a synchronous caller.
    func allBlocking(_ path: String, key: String) throws -> [ZObject] {
        var items: [ZObject] = []
        var after: String?
        while true {
            var query = [("page[size]", "100")]
            if let after { query.append(("page[after]", after)) }
            guard let page = try get(path, query: query) else { return items }
            items += page[key] as? [ZObject] ?? []
            let meta = page["meta"] as? ZObject
            guard meta?["has_more"] as? Bool == true, let cursor = meta?["after_cursor"] as? String else { return items }
            after = cursor
        }
    }
}
