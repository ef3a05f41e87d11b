import FerryCore
import FerryHTTP
import Foundation

/// Request Tracker 5 as a migration target, over REST2 (docs/connectors/rt.md).
///
/// - groups become queues, agents privileged users, end users unprivileged
///   users (RT name: the e-mail address, else `ferry-<system>-<id>`);
///   organizations are no RT objects: their name goes on each member user's
///   Organization (and, with `organizations: custom_field`, on each ticket's
///   "Organization" custom field);
/// - ticket fields become global ticket custom fields named by their key;
///   tickets keep their source ID as RT id (`keep_ticket_ids`), status,
///   priority (a number), owner, requestor, Cc (AdminCc for followers),
///   creator, Created and Resolved; tags, type and channel go to the custom
///   fields "Tags", "Type" and "Channel"; "Ferry Source" holds `<system>:<id>`;
/// - public comments become correspondence and private ones comments, with
///   their attachments in the same transaction; RT stamps them with the time of
///   the load and the loading user, so each body starts with a header line that
///   keeps the original author and time: `[Ferry: comment 10000; author 2017;
///   written 2023-01-16T16:54:42Z; public; by Jane Doe <jane@example.com>]`.
///
/// Comments and attachments are written when the part's records have all been
/// seen (`transaction`), because attachments and their bytes come after the
/// comments in a bundle. Knowledge base records are not taken (RT articles are
/// not built yet): they fail with a reason.
public final class RTTarget: TargetConnector, @unchecked Sendable {
    public let location: String
    let settings: RTSettings
    let rt: RTClient
    let state: RTState
    let spool: BlobSpool
    let log: @Sendable (String) -> Void
    private let json = CanonicalJSON()

    /// Comments waiting for the end of the part, with their attachments.
    private struct PendingComment {
        var comment: Comment
        var hash: String
        var ticket: Int64
        var attachments: [(Attachment, String)] = []
    }
    private var pending: [PendingComment] = []
    private var pendingIndex: [String: Int] = [:]
    private var pendingPart: (fingerprint: String, part: String, digest: String, summary: String?)?
    private var inTransaction = false
    private var fieldNames: [String: Int64] = [:]
    private var lastAttachment: (id: Int64, object: JSONObject, bytes: Data)?

    public static let sourceField = "Ferry Source"
    static let fixedFields: [(name: String, multiple: Bool)] = [(sourceField, false), ("Tags", true), ("Type", false), ("Channel", false), ("Organization", false)]

    public init(settings: RTSettings, stateURL: URL, credentialsFile: URL?, log: @escaping @Sendable (String) -> Void = { _ in }) throws {
        self.settings = settings
        self.log = log
        let credentials = try RTClient.credentials(settings, file: credentialsFile)
        rt = RTClient(settings: settings, credentials: credentials, log: log)
        location = rt.service
        state = try RTState(url: stateURL)
        spool = BlobSpool(directory: stateURL.deletingLastPathComponent().appendingPathComponent("rt-blobs"))
        // Reachable, and the credentials work: fail fast with exit 75 or 2.
        guard try rt.get("/rt") != nil else {
            throw FerryError.remote(service: rt.service, detail: "no REST2 API at \(rt.base)", hint: "check target.rt.url (the server's base URL, without /REST/2.0)")
        }
    }

    // MARK: - Parts

    public func isPartLoaded(fingerprint: String, part: String, contentDigest: String) throws -> Bool {
        try state.isPartLoaded(fingerprint: fingerprint, part: part, digest: contentDigest)
    }

    public func loadedPartSummary(fingerprint: String, part: String) throws -> String? {
        try state.partSummary(fingerprint: fingerprint, part: part)
    }

    /// Runs `body` (which upserts records, stores blobs and marks the part),
    /// then writes the part's comments with their attachments, then marks the
    /// part loaded. Every record is in the ID map as soon as RT confirmed it, so
    /// a crash anywhere costs only the redoing of the unconfirmed rest.
    public func transaction(_ body: () throws -> Void) throws {
        pending = []; pendingIndex = [:]; pendingPart = nil
        inTransaction = true
        defer { inTransaction = false; pending = []; pendingIndex = [:]; pendingPart = nil }
        try body()
        try flushComments()
        if let mark = pendingPart {
            try state.markPart(fingerprint: mark.fingerprint, part: mark.part, digest: mark.digest, summary: mark.summary)
        }
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

    private struct Failure: Error { var reason: String }

    public func upsert<R: CanonicalRecord>(_ record: R, contentHash: String) throws -> LoadOutcome {
        let entity = R.entity
        let prior = try state.entry(entity, record.id)
        if let prior, prior.status == "loaded", prior.contentHash == contentHash, let target = prior.targetID {
            return .unchanged(target)
        }
        let wasLoaded = prior?.status == "loaded" && prior?.targetID != nil
        let text = String(decoding: try json.encode(record), as: UTF8.self)
        do {
            let (target, name): (Int64, String?)
            switch record {
            case let organization as Organization: (target, name) = (0, organization.name)
            case let user as User: (target, name) = try writeUser(user, existing: prior)
            case let group as FerryCore.Group: (target, name) = try writeQueue(group, existing: prior)
            case let field as TicketField: (target, name) = try writeField(field, existing: prior)
            case let ticket as Ticket: (target, name) = try writeTicket(ticket, hash: contentHash, existing: prior)
            case let comment as Comment: return try queueComment(comment, hash: contentHash, prior: prior)
            case let attachment as Attachment: return try queueAttachment(attachment, hash: contentHash, prior: prior)
            default:
                throw Failure(reason: "the Request Tracker target does not take \(entity.rawValue) (knowledge base records; docs/connectors/rt.md)")
            }
            try state.setLoaded(entity, record.id, targetID: target, targetName: name, hash: contentHash, record: text)
            return wasLoaded ? .updated(target) : .created(target)
        } catch let failure as Failure {
            try state.setFailed(entity, record.id, hash: contentHash, reason: failure.reason)
            return .failed(failure.reason)
        }
    }

    private func path(_ component: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#")
        return component.addingPercentEncoding(withAllowedCharacters: allowed) ?? component
    }

    /// The RT user name Ferry gives a source user.
    public static func userName(_ user: User) -> String {
        if let email = user.email?.trimmingCharacters(in: .whitespaces), !email.isEmpty { return email.lowercased() }
        return "ferry-\(user.sourceSystem)-\(user.id)"
    }

    private func refer(_ entity: EntityType, _ id: String?, _ what: String) throws -> RTState.Entry? {
        guard let id else { return nil }
        guard let entry = try state.loaded(entity, id) else {
            throw Failure(reason: "\(what) \(id) is not loaded (\(entity.singular) missing or failed)")
        }
        return entry
    }

    private func check(_ reply: RTClient.Reply, _ what: String) throws -> RTClient.Reply {
        if reply.ok { return reply }
        if reply.status == 400 || reply.status == 404 || reply.status == 409 || reply.status == 422 {
            throw Failure(reason: "RT refused the \(what): \(reply.message)")
        }
        throw rt.unexpected("", what, reply)
    }

    private func writeUser(_ user: User, existing: RTState.Entry?) throws -> (Int64, String?) {
        let name = existing?.targetName ?? Self.userName(user)
        var body: JSONObject = ["RealName": user.name, "Privileged": user.role.isStaff ? 1 : 0, "Disabled": user.active ? 0 : 1]
        if let email = user.email, !email.isEmpty { body["EmailAddress"] = email }
        if let phone = user.phone { body["WorkPhone"] = phone }
        if let organization = try refer(.organizations, user.organizationID, "organization") {
            body["Organization"] = organization.targetName ?? ""
        } else {
            body["Organization"] = ""
        }
        if let found = try rt.get("/user/\(path(name))"), let id = RTClient.id(found["id"]) {
            _ = try check(try rt.request("PUT", "/user/\(id)", body: body), "user \(name)")
            return (id, name)
        }
        body["Name"] = name
        let reply = try check(try rt.request("POST", "/user", body: body), "user \(name)")
        // REST2 answers a new user with its name as id; its number comes from a read.
        guard let created = try rt.get("/user/\(path(name))"), let id = RTClient.id(created["id"]) else {
            throw rt.unexpected("POST", "/user", reply)
        }
        return (id, name)
    }

    private func writeQueue(_ group: FerryCore.Group, existing: RTState.Entry?) throws -> (Int64, String?) {
        var body: JSONObject = ["Description": group.description ?? ""]
        if let id = existing?.targetID, try rt.get("/queue/\(id)") != nil {
            body["Name"] = group.name
            _ = try check(try rt.request("PUT", "/queue/\(id)", body: body), "queue \(group.name)")
            return (id, group.name)
        }
        if let found = try rt.get("/queue/\(path(group.name))"), let id = RTClient.id(found["id"]) {
            _ = try check(try rt.request("PUT", "/queue/\(id)", body: body), "queue \(group.name)")
            return (id, group.name)
        }
        body["Name"] = group.name
        let reply = try check(try rt.request("POST", "/queue", body: body), "queue \(group.name)")
        guard let id = RTClient.id(reply.object?["id"]) else { throw rt.unexpected("POST", "/queue", reply) }
        return (id, group.name)
    }

    /// A global ticket custom field by name, created when missing.
    func customField(_ name: String, multiple: Bool, type: String = "Freeform", extra: JSONObject = [:]) throws -> Int64 {
        if let id = fieldNames[name] { return id }
        let found = try rt.all("POST", "/customfields", body: [["field": "Name", "value": name], ["field": "LookupType", "value": "RT::Queue-RT::Ticket"]])
        if let id = found.compactMap({ RTClient.id($0["id"]) }).min() {
            fieldNames[name] = id
            return id
        }
        var body: JSONObject = ["Name": name, "Type": type, "MaxValues": multiple ? 0 : 1, "LookupType": "RT::Queue-RT::Ticket", "Queue": 0]
        for (key, value) in extra { body[key] = value }
        let reply = try check(try rt.request("POST", "/customfield", body: body), "custom field \(name)")
        guard let id = RTClient.id(reply.object?["id"]) else { throw rt.unexpected("POST", "/customfield", reply) }
        fieldNames[name] = id
        return id
    }

    /// RT's type for a canonical field type, and whether it holds several values.
    static func rtType(_ type: FieldType) -> (String, Bool) {
        switch type {
        case .textarea: return ("Text", false)
        case .date: return ("Date", false)
        case .dropdown: return ("Select", false)
        case .multiselect: return ("Select", true)
        case .text, .integer, .decimal, .checkbox, .regexp: return ("Freeform", false)
        }
    }

    private func writeField(_ field: TicketField, existing: RTState.Entry?) throws -> (Int64, String?) {
        let name = field.key ?? field.title
        let (type, multiple) = Self.rtType(field.type)
        // The canonical type rides in EntryHint (RT has no integer, decimal or checkbox fields).
        // An inactive field stays enabled: a disabled RT custom field takes no values, and
        // tickets still have them. "inactive" in the hint says so (docs/connectors/rt.md).
        let body: JSONObject = ["Description": field.description ?? "", "Pattern": field.regexp ?? "",
                                "EntryHint": "ferry:\(field.type.rawValue)" + (field.active ? "" : ",inactive"), "Disabled": 0]
        let id: Int64
        if let known = existing?.targetID { id = known } else { id = try customField(name, multiple: multiple, type: type, extra: body) }
        var update = body
        update["Name"] = name
        _ = try check(try rt.request("PUT", "/customfield/\(id)", body: update), "custom field \(name)")
        if type == "Select" {
            let values = try rt.all("GET", "/customfield/\(id)/values", fields: ["Name", "Description"])
            let have = Set(values.compactMap { $0["name"] as? String ?? $0["Name"] as? String })
            for (position, option) in field.options.enumerated() where !have.contains(option.value) {
                _ = try check(try rt.request("POST", "/customfield/\(id)/value", body: ["Name": option.value, "Description": option.name, "SortOrder": position]),
                              "value \(option.value) of custom field \(name)")
            }
        }
        fieldNames[name] = id
        return (id, name)
    }

    /// Custom field values as RT takes them: text, or a list for several values.
    static func rtValue(_ value: JSONValue) -> Any? {
        switch value {
        case .null: return nil
        case .bool(let flag): return flag ? "true" : "false"
        case .int(let number): return "\(number)"
        case .double(let number): return "\(number)"
        case .string(let text): return text.isEmpty ? nil : text
        case .array(let items):
            let values = items.compactMap { rtValue($0) as? String }
            return values.isEmpty ? nil : values
        case .object: return nil
        }
    }

    private func ticketBody(_ ticket: Ticket) throws -> JSONObject {
        var body: JSONObject = ["Subject": ticket.subject, "Status": ticket.status]
        if let group = try refer(.groups, ticket.groupID, "group") { body["Queue"] = group.targetID.map { "\($0)" } ?? settings.defaultQueue } else { body["Queue"] = settings.defaultQueue }
        if let priority = ticket.priority {
            guard let number = Int(priority) else {
                throw Failure(reason: "priority \"\(priority)\" is not a number; RT priorities are numbers (map priorities to numbers in pipeline.yml, e.g. low: \"25\")")
            }
            body["Priority"] = number
        }
        func names(_ ids: [String], _ what: String) throws -> [String] {
            try ids.compactMap { try refer(.users, $0, what)?.targetName }
        }
        if let requester = try refer(.users, ticket.requesterID, "requester") { body["Requestor"] = [requester.targetName ?? ""] } else { body["Requestor"] = [] }
        body["Cc"] = try names(ticket.ccIDs, "cc")
        body["AdminCc"] = try names(ticket.followerIDs, "follower")
        body["Owner"] = try refer(.users, ticket.assigneeID, "assignee")?.targetName ?? "Nobody"
        var fields: JSONObject = [Self.sourceField: "\(ticket.sourceSystem):\(ticket.id)"]
        _ = try customField(Self.sourceField, multiple: false)
        fields["Tags"] = ticket.tags
        _ = try customField("Tags", multiple: true)
        fields["Type"] = ticket.type ?? ""
        _ = try customField("Type", multiple: false)
        fields["Channel"] = ticket.channel ?? ""
        _ = try customField("Channel", multiple: false)
        if settings.organizations == "custom_field" {
            _ = try customField("Organization", multiple: false)
            fields["Organization"] = try refer(.organizations, ticket.organizationID, "organization")?.targetName ?? ""
        }
        for value in ticket.customFields {
            guard let field = try refer(.ticketFields, value.fieldID, "ticket field"), let name = field.targetName else { continue }
            fields[name] = Self.rtValue(value.value) ?? ""
        }
        // No empty values: an update with "" leaves a null value in RT (so a value the
        // source removed is not cleared by an update; docs/connectors/rt.md).
        body["CustomFields"] = fields.filter { _, value in
            if let text = value as? String { return !text.isEmpty }
            return true
        }
        return body
    }

    private func writeTicket(_ ticket: Ticket, hash: String, existing: RTState.Entry?) throws -> (Int64, String?) {
        var body = try ticketBody(ticket)
        let marker = "\(ticket.sourceSystem):\(ticket.id)"
        if let id = existing?.targetID, existing?.status == "loaded" {
            body["Owner"] = body["Owner"]
            _ = try check(try rt.request("PUT", "/ticket/\(id)", body: body), "ticket \(ticket.id)")
            return (id, nil)
        }
        let wanted = settings.keepTicketIDs ? Int64(ticket.id).flatMap { $0 > 0 ? $0 : nil } : nil
        // A create that a crash interrupted: look for it before creating again.
        if existing?.status == "pending" || wanted != nil {
            if let id = try findTicket(marker: marker, id: wanted) {
                // Created before a crash, perhaps not yet moved to its status: bring it up to date.
                _ = try check(try rt.request("PUT", "/ticket/\(id)", body: body), "ticket \(ticket.id)")
                return (id, nil)
            }
        }
        if let wanted, try rt.get("/ticket/\(wanted)") != nil {
            throw Failure(reason: "RT already has a ticket \(wanted) that Ferry did not create; set target.rt.keep_ticket_ids: false to let RT number the tickets")
        }
        try state.setPending(.tickets, ticket.id, hash: hash, targetID: wanted)
        if let wanted { body["id"] = wanted }
        if let created = RTClient.rtTime(ticket.createdAt) { body["Created"] = created }
        if let creator = try refer(.users, ticket.submitterID, "submitter")?.targetID { body["Creator"] = creator }
        if let resolved = RTClient.rtTime(ticket.solvedAt) { body["Resolved"] = resolved }
        var reply = try rt.request("POST", "/ticket", body: body)
        // RT's lifecycles allow only some statuses on create (default: new, open, resolved,
        // rejected): create it open, then move it to its status.
        var later: String?
        if reply.status == 400, reply.message.contains("can not have status") {
            later = ticket.status
            body["Status"] = "open"
            reply = try rt.request("POST", "/ticket", body: body)
        }
        _ = try check(reply, "ticket \(ticket.id)")
        guard let id = RTClient.id(reply.object?["id"]) else { throw rt.unexpected("POST", "/ticket", reply) }
        if let later {
            _ = try check(try rt.request("PUT", "/ticket/\(id)", body: ["Status": later]), "status \(later) of ticket \(ticket.id)")
        }
        return (id, nil)
    }

    /// A ticket Ferry created from this source record, by id or by its "Ferry Source" field.
    private func findTicket(marker: String, id: Int64?) throws -> Int64? {
        if let id {
            guard let ticket = try rt.get("/ticket/\(id)") else { return nil }
            return Self.customFieldValues(ticket)[Self.sourceField]?.first == marker ? id : nil
        }
        let found = try rt.all("GET", "/tickets", query: [("query", "'CF.{\(Self.sourceField)}' = '\(marker.replacingOccurrences(of: "'", with: "\\'"))'")])
        return found.compactMap { RTClient.id($0["id"]) }.min()
    }

    static func customFieldValues(_ ticket: JSONObject) -> [String: [String]] {
        var result: [String: [String]] = [:]
        for field in ticket["CustomFields"] as? [JSONObject] ?? [] {
            guard let name = field["name"] as? String else { continue }
            // An update with "" leaves an empty value in RT (a create does not): empty means none.
            result[name] = RTClient.values(field["values"])
        }
        return result
    }

    // MARK: - Comments and attachments

    private func queueComment(_ comment: Comment, hash: String, prior: RTState.Entry?) throws -> LoadOutcome {
        do {
            if let prior, prior.status == "loaded", let target = prior.targetID {
                // RT keeps transactions as they were written: a changed comment is not rewritten.
                log("comment \(comment.id) changed in the source, but RT transactions cannot be edited; it stays as first loaded (docs/connectors/rt.md)")
                return .updated(target)
            }
            guard let ticket = try refer(.tickets, comment.ticketID, "ticket")?.targetID else { throw Failure(reason: "ticket \(comment.ticketID) has no RT id") }
            _ = try refer(.users, comment.authorID, "author")
            pendingIndex[comment.id] = pending.count
            pending.append(PendingComment(comment: comment, hash: hash, ticket: ticket))
            return .created(0)
        } catch let failure as Failure {
            try state.setFailed(.comments, comment.id, hash: hash, reason: failure.reason)
            return .failed(failure.reason)
        }
    }

    private func queueAttachment(_ attachment: Attachment, hash: String, prior: RTState.Entry?) throws -> LoadOutcome {
        do {
            if let prior, prior.status == "loaded", let target = prior.targetID {
                if prior.contentHash != hash { log("attachment \(attachment.id) changed in the source, but RT attachments cannot be edited; it stays as first loaded") }
                return prior.contentHash == hash ? .unchanged(target) : .updated(target)
            }
            guard attachment.parentType == .comment else {
                throw Failure(reason: "the Request Tracker target does not take knowledge base attachments (docs/connectors/rt.md)")
            }
            guard let index = pendingIndex[attachment.parentID] else {
                if try state.loaded(.comments, attachment.parentID) != nil {
                    throw Failure(reason: "comment \(attachment.parentID) is already in RT, and RT cannot add an attachment to a written transaction")
                }
                throw Failure(reason: "comment \(attachment.parentID) is not loaded (missing or failed)")
            }
            pending[index].attachments.append((attachment, hash))
            return .created(0)
        } catch let failure as Failure {
            try state.setFailed(.attachments, attachment.id, hash: hash, reason: failure.reason)
            return .failed(failure.reason)
        }
    }

    /// The header line that starts every comment Ferry writes into RT.
    public static func header(_ comment: Comment, authorName: String?) -> String {
        var text = "[Ferry: comment \(comment.id); author \(comment.authorID ?? "-"); written \(comment.createdAt ?? "-"); \(comment.isPublic ? "public" : "internal")"
        if let authorName { text += "; by \(authorName)" }
        return text + "]"
    }

    /// RT 5.0.3 fails (HTTP 500, "Wide character") on a file name that is not ASCII in a
    /// JSON upload; an RFC 2047 encoded word is decoded by RT and stored as the UTF-8 name.
    static func headerSafe(_ name: String) -> String {
        guard name.unicodeScalars.contains(where: { !$0.isASCII }) else { return name }
        return "=?UTF-8?B?" + Data(name.utf8).base64EncodedString() + "?="
    }

    static func escapeHTML(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// The body RT gets: the header line, then the comment (HTML when there is some).
    func commentContent(_ comment: Comment) throws -> (String, String) {
        var authorName: String?
        if let author = comment.authorID, let entry = try state.loaded(.users, author), let record = entry.record,
           let user = try? JSONDecoder().decode(User.self, from: Data(record.utf8)) {
            authorName = user.email.map { "\(user.name) <\($0)>" } ?? user.name
        }
        let header = Self.header(comment, authorName: authorName)
        if let html = comment.bodyHTML { return ("<p>" + Self.escapeHTML(header) + "</p>\n" + html, "text/html") }
        return (header + "\n\n" + comment.bodyPlain, "text/plain")
    }

    private func flushComments() throws {
        for item in pending {
            let comment = item.comment
            let (content, type) = try commentContent(comment)
            var transaction: Int64?
            if try state.entry(.comments, comment.id)?.status == "pending" {
                transaction = try findComment(comment.id, ticket: item.ticket)
            }
            if transaction == nil {
                var files: [JSONObject] = []
                for (attachment, _) in item.attachments {
                    let file = spool.url(attachment.sha256)
                    guard let bytes = FileManager.default.contents(atPath: file.path) else {
                        throw FerryError.internalError("attachment \(attachment.id): its bytes (blob \(attachment.sha256)) were not in the part")
                    }
                    files.append(["FileName": Self.headerSafe(attachment.fileName), "FileType": attachment.contentType ?? "application/octet-stream",
                                  "FileContent": bytes.base64EncodedString()])
                }
                try state.setPending(.comments, comment.id, hash: item.hash, targetID: nil)
                var body: JSONObject = ["Content": content, "ContentType": type]
                if !files.isEmpty { body["Attachments"] = files }
                let reply = try rt.request("POST", "/ticket/\(item.ticket)/\(comment.isPublic ? "correspond" : "comment")", body: body)
                guard reply.ok else { throw rt.unexpected("POST", "/ticket/\(item.ticket)/\(comment.isPublic ? "correspond" : "comment")", reply) }
                // REST2 does not say which transaction it made. The load holds the stage lock, so
                // it is the ticket's newest; one with files is read back to map them (and checked),
                // one without is taken as it is (verify compares its header with the comment).
                transaction = item.attachments.isEmpty ? try commentTransactions(ticket: item.ticket, newestOnly: true).first
                                                       : try findComment(comment.id, ticket: item.ticket)
            }
            guard let transaction else {
                throw FerryError.remote(service: rt.service, detail: "comment \(comment.id) was posted to ticket \(item.ticket) but cannot be found in its history",
                                        hint: "run ferry-load again; it looks for the comment before posting it again")
            }
            // Map the transaction's files to the attachments, by name and order.
            let parts = try transactionParts(transaction)
            var files = parts.filter { ($0["Filename"] as? String).map { !$0.isEmpty } ?? false }
            for (attachment, hash) in item.attachments {
                guard let index = files.firstIndex(where: { $0["Filename"] as? String == attachment.fileName }), let id = RTClient.id(files[index]["id"]) else {
                    throw FerryError.remote(service: rt.service, detail: "attachment \(attachment.fileName) of comment \(comment.id) is missing from RT transaction \(transaction)",
                                            hint: "look at the transaction in RT; run ferry-load again")
                }
                files.remove(at: index)
                try state.addAttachment(sha256: attachment.sha256, attachmentID: id)
                try state.setLoaded(.attachments, attachment.id, targetID: id, targetName: nil, hash: hash,
                                    record: String(decoding: try json.encode(attachment), as: UTF8.self))
            }
            try state.setLoaded(.comments, comment.id, targetID: transaction, targetName: nil, hash: item.hash,
                                record: String(decoding: try json.encode(comment), as: UTF8.self))
        }
    }

    /// Correspondence and comments of a ticket, oldest first.
    func commentTransactions(ticket: Int64, newestOnly: Bool = false) throws -> [Int64] {
        let query: [JSONObject] = [["field": "ObjectType", "value": "RT::Ticket"], ["field": "ObjectId", "value": ticket],
                                   ["field": "Type", "operator": "IN", "value": ["Correspond", "Comment"]]]
        if newestOnly {
            let reply = try rt.request("POST", "/transactions", query: [("orderby", "id"), ("order", "DESC"), ("per_page", "1")], body: query)
            guard reply.ok else { throw rt.unexpected("POST", "/transactions", reply) }
            return (reply.object?["items"] as? [JSONObject] ?? []).compactMap { RTClient.id($0["id"]) }
        }
        return try rt.all("POST", "/transactions", query: [("orderby", "id"), ("order", "ASC")], body: query).compactMap { RTClient.id($0["id"]) }
    }

    /// The attachments (MIME parts) of a transaction, each read whole.
    func transactionParts(_ transaction: Int64) throws -> [JSONObject] {
        let items = try rt.all("GET", "/transaction/\(transaction)/attachments")
        return try items.compactMap { item in
            guard let id = RTClient.id(item["id"]) else { return nil }
            return try rt.get("/attachment/\(id)")
        }
    }

    /// The text part of a transaction that carries Ferry's header.
    static func bodyPart(_ parts: [JSONObject]) -> (text: String, type: String)? {
        for part in parts {
            let type = (part["ContentType"] as? String ?? "").lowercased()
            guard type == "text/html" || type == "text/plain", ((part["Filename"] as? String) ?? "").isEmpty,
                  let encoded = part["Content"] as? String,
                  let data = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters) else { continue }
            let text = String(decoding: data, as: UTF8.self)
            if text.hasPrefix("[Ferry: comment ") || text.hasPrefix("<p>[Ferry: comment ") { return (text, type) }
        }
        return nil
    }

    /// The transaction holding comment `id`, newest first (it is usually the last one).
    private func findComment(_ id: String, ticket: Int64) throws -> Int64? {
        for transaction in try commentTransactions(ticket: ticket).reversed() {
            if let body = Self.bodyPart(try transactionParts(transaction)), Self.parseHeader(body.text)?.id == id { return transaction }
        }
        return nil
    }

    struct Header {
        var id: String
        var authorID: String?
        var createdAt: String?
        var isPublic: Bool
        var body: String
    }

    /// Splits Ferry's header line from the body RT returns.
    static func parseHeader(_ text: String) -> Header? {
        let html = text.hasPrefix("<p>[Ferry: ")
        let start = html ? text.index(text.startIndex, offsetBy: 3) : text.startIndex
        let close = html ? "]</p>\n" : "]\n\n"
        guard let end = text.range(of: close, range: start..<text.endIndex) else { return nil }
        var line = String(text[text.index(after: start)..<end.lowerBound])
        if html { line = line.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&") }
        let fields = line.components(separatedBy: "; ")
        guard fields.count >= 4, fields[0].hasPrefix("Ferry: comment "), fields[1].hasPrefix("author "), fields[2].hasPrefix("written ") else { return nil }
        let author = String(fields[1].dropFirst(7)), written = String(fields[2].dropFirst(8))
        return Header(id: String(fields[0].dropFirst(15)), authorID: author == "-" ? nil : author, createdAt: written == "-" ? nil : written,
                      isPublic: fields[3] == "public", body: String(text[end.upperBound...]))
    }

    // MARK: - Deletions

    public func applyDeletion(_ entity: EntityType, sourceID: String, reason: String, keepMarked: Bool) throws -> DeletionOutcome {
        guard let entry = try state.loaded(entity, sourceID) else { return .absent }
        try state.markDeleted(entity, sourceID, reason: reason)
        if keepMarked { return .marked }
        switch entity {
        case .tickets:
            if let id = entry.targetID { _ = try rt.request("PUT", "/ticket/\(id)", body: ["Status": "deleted"]) }
            return .deleted
        case .users:
            if let id = entry.targetID { _ = try rt.request("PUT", "/user/\(id)", body: ["Disabled": 1]) }
            return .stillReferenced("RT keeps users; the user is disabled and marked")
        default:
            return .stillReferenced("RT cannot delete \(entity.rawValue); marked in the ID map")
        }
    }

    // MARK: - Reading back (ferry-verify)

    public func targetID(_ entity: EntityType, sourceID: String) throws -> Int64? {
        try state.loaded(entity, sourceID)?.targetID
    }

    public func idMapEntry(_ entity: EntityType, sourceID: String) throws -> IDMapEntry? {
        guard let entry = try state.entry(entity, sourceID) else { return nil }
        let status: IDMapEntry.Status = entry.status == "loaded" ? .loaded : .failed
        let reason = entry.status == "pending" ? "its creation in RT was interrupted; run ferry-load again" : entry.reason
        return IDMapEntry(entity: entity, sourceID: sourceID, targetID: entry.targetID, contentHash: entry.contentHash,
                          status: status, reason: reason, updatedAt: entry.updatedAt)
    }

    public func commentCount(ticketSourceID: String) throws -> Int {
        guard let ticket = try state.loaded(.tickets, ticketSourceID)?.targetID else { return 0 }
        return try commentTransactions(ticket: ticket).count
    }

    private func attachmentObject(_ id: Int64) throws -> (JSONObject, Data)? {
        if let last = lastAttachment, last.id == id { return (last.object, last.bytes) }
        guard let object = try rt.get("/attachment/\(id)") else { return nil }
        let bytes = (object["Content"] as? String).flatMap { Data(base64Encoded: $0, options: .ignoreUnknownCharacters) } ?? Data()
        lastAttachment = (id, object, bytes)
        return (object, bytes)
    }

    public func blobDigest(_ sha256: String) throws -> (sha256: String, size: UInt64)? {
        guard let id = try state.attachmentID(sha256: sha256), let (_, bytes) = try attachmentObject(id) else { return nil }
        return (Hash.sha256(bytes), UInt64(bytes.count))
    }

    public func fetch<R: CanonicalRecord>(_ type: R.Type, sourceID: String) throws -> R? {
        guard let entry = try state.loaded(R.entity, sourceID) else { return nil }
        let system = entry.record.flatMap { try? JSONDecoder().decode(SystemProbe.self, from: Data($0.utf8)).sourceSystem } ?? ""
        switch R.entity {
        case .organizations:
            // Not an RT object: its name is on its users (compared there).
            return Organization(id: sourceID, sourceSystem: system, name: entry.targetName ?? "") as? R
        case .users: return try fetchUser(sourceID, entry, system) as? R
        case .groups: return try fetchQueue(sourceID, entry, system) as? R
        case .ticketFields: return try fetchField(sourceID, entry, system) as? R
        case .tickets: return try fetchTicket(sourceID, entry, system) as? R
        case .comments: return try fetchComment(sourceID, entry, system) as? R
        case .attachments: return try fetchAttachment(sourceID, entry, system) as? R
        default: return nil
        }
    }

    private struct SystemProbe: Decodable {
        let sourceSystem: String
        enum CodingKeys: String, CodingKey { case sourceSystem = "source_system" }
    }

    private func userSourceID(_ reference: Any?) throws -> String? {
        guard let name = RTClient.ref(reference) else { return nil }
        return try state.sourceID(.users, targetName: name)
    }

    private func fetchUser(_ sourceID: String, _ entry: RTState.Entry, _ system: String) throws -> User? {
        guard let id = entry.targetID, let user = try rt.get("/user/\(id)") else { return nil }
        let organization = (user["Organization"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        let email = (user["EmailAddress"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        let phone = (user["WorkPhone"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        let privileged = "\(user["Privileged"] ?? 0)" == "1"
        let disabled = "\(user["Disabled"] ?? 0)" == "1"
        return User(id: sourceID, sourceSystem: system, name: user["RealName"] as? String ?? "", email: email, phone: phone,
                    role: privileged ? .agent : .endUser, active: !disabled,
                    organizationID: try organization.flatMap { try state.sourceID(.organizations, targetName: $0) })
    }

    private func fetchQueue(_ sourceID: String, _ entry: RTState.Entry, _ system: String) throws -> FerryCore.Group? {
        guard let id = entry.targetID, let queue = try rt.get("/queue/\(id)") else { return nil }
        let description = (queue["Description"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        return FerryCore.Group(id: sourceID, sourceSystem: system, name: queue["Name"] as? String ?? "", description: description)
    }

    private func fetchField(_ sourceID: String, _ entry: RTState.Entry, _ system: String) throws -> TicketField? {
        guard let id = entry.targetID, let field = try rt.get("/customfield/\(id)") else { return nil }
        let name = field["Name"] as? String ?? ""
        let hint = field["EntryHint"] as? String ?? ""
        let hintParts = hint.hasPrefix("ferry:") ? hint.dropFirst(6).split(separator: ",").map(String.init) : []
        let type = hintParts.first.flatMap { FieldType(rawValue: $0) } ?? .text
        var options: [FieldOption] = []
        if field["Type"] as? String == "Select" {
            // The collection lists names only; each value's Description (the option's label) needs a read.
            let values = try rt.all("GET", "/customfield/\(id)/values").compactMap { RTClient.id($0["id"]) }
            var sorted: [(Int, FieldOption)] = []
            for valueID in values {
                guard let value = try rt.get("/customfield/\(id)/value/\(valueID)"), let name = value["Name"] as? String else { continue }
                let label = (value["Description"] as? String).flatMap { $0.isEmpty ? nil : $0 } ?? name
                sorted.append((Int("\(value["SortOrder"] ?? 0)") ?? 0, FieldOption(name: label, value: name)))
            }
            options = sorted.sorted { $0.0 < $1.0 }.map { $0.1 }
        }
        let pattern = (field["Pattern"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        let description = (field["Description"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        return TicketField(id: sourceID, sourceSystem: system, key: name, title: name, type: type, description: description,
                           active: "\(field["Disabled"] ?? 0)" != "1" && !hintParts.contains("inactive"), regexp: pattern, options: options)
    }

    /// A custom field value back in canonical form, by the field's type.
    static func canonicalValue(_ values: [String], type: FieldType) -> JSONValue {
        if type == .multiselect { return .array(values.map { .string($0) }) }
        guard let value = values.first else { return .null }
        switch type {
        case .checkbox: return .bool(value == "true" || value == "1")
        case .integer: return Int64(value).map { .int($0) } ?? .string(value)
        case .decimal: return .string(value)   // as written: "472.90" stays "472.90"
        default: return .string(value)
        }
    }

    private func fetchTicket(_ sourceID: String, _ entry: RTState.Entry, _ system: String) throws -> Ticket? {
        guard let id = entry.targetID, let ticket = try rt.get("/ticket/\(id)") else { return nil }
        let fields = Self.customFieldValues(ticket)
        var custom: [CustomFieldValue] = []
        for field in ticket["CustomFields"] as? [JSONObject] ?? [] {
            guard let fieldID = RTClient.id(field["id"]), let source = try state.sourceID(.ticketFields, targetID: fieldID),
                  let record = try state.loaded(.ticketFields, source)?.record,
                  let definition = try? JSONDecoder().decode(TicketField.self, from: Data(record.utf8)) else { continue }
            let values = RTClient.values(field["values"])
            guard !values.isEmpty else { continue }
            custom.append(CustomFieldValue(fieldID: source, value: Self.canonicalValue(values, type: definition.type)))
        }
        let queue = RTClient.id(ticket["Queue"])
        let requestors = try (ticket["Requestor"] as? [Any] ?? []).compactMap { try userSourceID($0) }
        let owner = RTClient.ref(ticket["Owner"]) == "Nobody" ? nil : try userSourceID(ticket["Owner"])
        let priority = "\(ticket["Priority"] ?? "0")"
        var organization: String?
        if settings.organizations == "custom_field", let name = fields["Organization"]?.first {
            organization = try state.sourceID(.organizations, targetName: name)
        }
        return Ticket(id: sourceID, sourceSystem: system, subject: ticket["Subject"] as? String ?? "", status: ticket["Status"] as? String ?? "",
                      priority: priority == "0" ? nil : priority, type: fields["Type"]?.first,
                      requesterID: requestors.first, submitterID: try userSourceID(ticket["Creator"]), assigneeID: owner,
                      groupID: try queue.flatMap { try state.sourceID(.groups, targetID: $0) }, organizationID: organization,
                      tags: (fields["Tags"] ?? []).sorted(), customFields: custom.sorted { $0.fieldID < $1.fieldID },
                      ccIDs: try (ticket["Cc"] as? [Any] ?? []).compactMap { try userSourceID($0) }.sorted(),
                      followerIDs: try (ticket["AdminCc"] as? [Any] ?? []).compactMap { try userSourceID($0) }.sorted(),
                      channel: fields["Channel"]?.first, createdAt: RTClient.time(ticket["Created"]), solvedAt: RTClient.time(ticket["Resolved"]))
    }

    private func fetchComment(_ sourceID: String, _ entry: RTState.Entry, _ system: String) throws -> Comment? {
        guard let id = entry.targetID, let transaction = try rt.get("/transaction/\(id)"),
              let ticket = RTClient.id((transaction["Object"] as? JSONObject)?["id"]),
              let ticketSource = try state.sourceID(.tickets, targetID: ticket) else { return nil }
        guard let (text, type) = Self.bodyPart(try transactionParts(id)), let header = Self.parseHeader(text) else {
            return Comment(id: sourceID, sourceSystem: system, ticketID: ticketSource, bodyPlain: "(no Ferry header in RT transaction \(id))")
        }
        let isPublic = transaction["Type"] as? String == "Correspond"
        return Comment(id: header.id, sourceSystem: system, ticketID: ticketSource, authorID: header.authorID, isPublic: isPublic && header.isPublic,
                       bodyHTML: type == "text/html" ? header.body : nil, bodyPlain: type == "text/html" ? "" : header.body, createdAt: header.createdAt)
    }

    private func fetchAttachment(_ sourceID: String, _ entry: RTState.Entry, _ system: String) throws -> Attachment? {
        guard let id = entry.targetID, let (object, bytes) = try attachmentObject(id),
              let transaction = RTClient.id(object["TransactionId"]),
              let comment = try state.sourceID(.comments, targetID: transaction) else { return nil }
        return Attachment(id: sourceID, sourceSystem: system, parentType: .comment, parentID: comment,
                          fileName: object["Filename"] as? String ?? "", contentType: object["ContentType"] as? String,
                          size: UInt64(bytes.count), sha256: Hash.sha256(bytes), inline: false)
    }

    /// What RT keeps of a record (docs/connectors/rt.md, "What RT keeps").
    public func comparable<R: CanonicalRecord>(_ record: R) -> R {
        switch record {
        case var user as User:
            if user.role == .admin { user.role = .agent }
            user.suspended = false; user.locale = nil; user.timeZone = nil; user.tags = []; user.externalID = nil
            user.createdAt = nil; user.updatedAt = nil
            if user.email?.isEmpty == true { user.email = nil }
            return user as! R
        case var organization as Organization:
            organization = Organization(id: organization.id, sourceSystem: organization.sourceSystem, name: organization.name)
            return organization as! R
        case var group as FerryCore.Group:
            group.createdAt = nil; group.updatedAt = nil
            if group.description?.isEmpty == true { group.description = nil }
            return group as! R
        case var field as TicketField:
            field.title = field.key ?? field.title; field.key = field.key ?? field.title
            field.required = false; field.position = nil; field.createdAt = nil; field.updatedAt = nil
            if field.description?.isEmpty == true { field.description = nil }
            if field.regexp?.isEmpty == true { field.regexp = nil }
            field.options = [.dropdown, .multiselect].contains(field.type) ? field.options.map { FieldOption(name: $0.name, value: $0.value) } : []
            return field as! R
        case var ticket as Ticket:
            ticket.description = nil; ticket.updatedAt = nil; ticket.externalID = nil
            if settings.organizations != "custom_field" { ticket.organizationID = nil }
            ticket.tags = ticket.tags.sorted(); ticket.ccIDs = ticket.ccIDs.sorted(); ticket.followerIDs = ticket.followerIDs.sorted()
            if ticket.type?.isEmpty == true { ticket.type = nil }
            if ticket.channel?.isEmpty == true { ticket.channel = nil }
            // RT holds text: a decimal comes back as written ("472.90"), so a number is compared as its text.
            ticket.customFields = ticket.customFields.filter { Self.rtValue($0.value) != nil }.map { value in
                guard case .double(let number) = value.value else { return value }
                return CustomFieldValue(fieldID: value.fieldID, value: .string("\(number)"))
            }.sorted { $0.fieldID < $1.fieldID }
            return ticket as! R
        case var comment as Comment:
            if comment.bodyHTML != nil { comment.bodyPlain = "" }
            return comment as! R
        case var attachment as Attachment:
            attachment.inline = false
            return attachment as! R
        default:
            return record
        }
    }
}
