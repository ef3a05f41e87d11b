import FerryCore
import FerryHTTP
import Foundation

/// Request Tracker 5 as a migration source, over REST2 (docs/connectors/rt.md).
///
/// Reads, in this order: organizations (the distinct Organization values of
/// users; ID = the name), users (RT user ids; RT_System and Nobody left out),
/// queues as groups, global ticket custom fields as ticket fields (the fields
/// Ferry's RT target keeps canonical data in, "Tags", "Type", "Channel",
/// "Organization" and "Ferry Source", become ticket fields' values instead),
/// then the tickets the TicketSQL query `source.rt.query` finds, by id, each
/// with its correspondence (public comments) and comments (private), each
/// comment with its attachments. A ticket is one unit; its position is
/// `{"phase": "tickets", "after": "<id>"}`, so a resumed extract goes on with
/// the next ticket.
public final class RTSource: SourceConnector {
    public let system: String
    let settings: RTSettings
    let rt: RTClient
    let scratch: URL

    public init(settings: RTSettings, system: String, credentialsFile: URL?, scratch: URL, log: @escaping @Sendable (String) -> Void = { _ in }) throws {
        self.settings = settings
        self.system = system
        self.scratch = scratch
        rt = RTClient(settings: settings, credentials: try RTClient.credentials(settings, file: credentialsFile), log: log)
    }

    /// Changes when tickets change (the newest LastUpdated and their number), when
    /// users, queues or custom fields are added, or the query changes.
    public func fingerprint() throws -> String {
        let newest = try rt.request("GET", "/tickets", query: [("query", settings.query), ("orderby", "LastUpdated"), ("order", "DESC"), ("per_page", "1"), ("fields", "LastUpdated")])
        guard newest.ok, let object = newest.object else { throw rt.unexpected("GET", "/tickets", newest) }
        let last = (object["items"] as? [JSONObject])?.first?["LastUpdated"] as? String ?? "-"
        var text = "rt v1 \(rt.base) \(system) \(settings.query)\ntickets \(object["total"] ?? 0) \(last)\n"
        for collection in ["/users", "/queues/all", "/customfields"] {
            let reply = try rt.request(collection == "/customfields" ? "POST" : "GET", collection, query: [("per_page", "1")], body: collection == "/customfields" ? [] as [Any] : nil)
            text += "\(collection) \(reply.object?["total"] ?? reply.object?["count"] ?? 0)\n"
        }
        return Hash.sha256(text)
    }

    static let systemUsers: Set<String> = ["RT_System", "Nobody"]

    public func extract(from position: SourcePosition?, into sink: ExtractSink, reporter: Reporter) throws {
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        var after: Int64 = 0
        if let position {
            guard position["phase"] == "tickets", let value = position["after"].flatMap(Int64.init) else {
                throw FerryError.badInput(file: "stages/extract/checkpoint.json", line: nil, detail: "resume position \(position) is not one the rt source wrote; delete the checkpoint to extract from the start")
            }
            after = value
        }
        let fields = try readFields()
        if position == nil {
            try emitDirectory(fields: fields, into: sink)
            sink.sawUpdate(nil)
            try sink.endOfUnit(position: ["phase": "tickets", "after": "0"])
        }
        let query = "(\(settings.query)) AND id > \(after)"
        let total = Int("\(try rt.request("GET", "/tickets", query: [("query", query), ("per_page", "1")]).object?["total"] ?? 0)") ?? 0
        var done = 0
        var page = 1
        while true {
            let reply = try rt.request("GET", "/tickets", query: [("query", query), ("orderby", "id"), ("order", "ASC"), ("page", "\(page)"), ("per_page", "100")])
            guard reply.ok, let object = reply.object else { throw rt.unexpected("GET", "/tickets", reply) }
            let ids = (object["items"] as? [JSONObject] ?? []).compactMap { RTClient.id($0["id"]) }
            for id in ids {
                try extractTicket(id, fields: fields, into: sink)
                try sink.endOfUnit(position: ["phase": "tickets", "after": "\(id)"])
                done += 1
                reporter.progress(done: done, total: total, unit: "tickets")
            }
            let pages = Int("\(object["pages"] ?? 1)") ?? 1
            if ids.isEmpty || page >= pages { break }
            page += 1
        }
    }

    /// A ticket custom field and the canonical type Ferry reads its values as.
    struct Field {
        var id: Int64
        var name: String
        var type: FieldType
        var record: TicketField
    }

    static let keptInFields: Set<String> = ["Tags", "Type", "Channel", "Organization", RTTarget.sourceField]

    func readFields() throws -> [Int64: Field] {
        let items = try rt.all("POST", "/customfields", query: [("find_disabled_rows", "1")], body: [["field": "LookupType", "value": "RT::Queue-RT::Ticket"]])
        var fields: [Int64: Field] = [:]
        for item in items {
            guard let id = RTClient.id(item["id"]), let field = try rt.get("/customfield/\(id)"), let name = field["Name"] as? String,
                  !Self.keptInFields.contains(name) else { continue }
            let hint = (field["EntryHint"] as? String ?? "")
            let hinted = hint.hasPrefix("ferry:") ? hint.dropFirst(6).split(separator: ",").map(String.init) : []
            let many = "\(field["MaxValues"] ?? 1)" == "0"
            var type: FieldType
            switch field["Type"] as? String ?? "" {
            case "Select": type = many ? .multiselect : .dropdown
            case "Text", "Wikitext": type = .textarea
            case "Date": type = .date
            default: type = many ? .multiselect : .text
            }
            if let first = hinted.first, let known = FieldType(rawValue: first) { type = known }
            var options: [FieldOption] = []
            if field["Type"] as? String == "Select" {
                for valueID in try rt.all("GET", "/customfield/\(id)/values").compactMap({ RTClient.id($0["id"]) }) {
                    guard let value = try rt.get("/customfield/\(id)/value/\(valueID)"), let valueName = value["Name"] as? String else { continue }
                    let label = (value["Description"] as? String).flatMap { $0.isEmpty ? nil : $0 } ?? valueName
                    options.append(FieldOption(id: "\(valueID)", name: label, value: valueName))
                }
            }
            let record = TicketField(id: "\(id)", sourceSystem: system, title: name, type: type,
                                     description: (field["Description"] as? String).flatMap { $0.isEmpty ? nil : $0 },
                                     active: "\(field["Disabled"] ?? 0)" != "1" && !hinted.contains("inactive"),
                                     regexp: (field["Pattern"] as? String).flatMap { $0.isEmpty ? nil : $0 }, options: options,
                                     createdAt: RTClient.time(field["Created"]).flatMap(Timestamp.normalize),
                                     updatedAt: RTClient.time(field["LastUpdated"]).flatMap(Timestamp.normalize))
            fields[id] = Field(id: id, name: name, type: type, record: record)
        }
        return fields
    }

    /// Organizations, users, queues and ticket fields: one unit before the tickets.
    func emitDirectory(fields: [Int64: Field], into sink: ExtractSink) throws {
        // The collection names users by their Name; each is read whole (which gives its number).
        let names = try rt.all("GET", "/users", query: [("orderby", "id"), ("order", "ASC"), ("find_disabled_rows", "1")]).compactMap { RTClient.ref($0) }
        var users: [JSONObject] = []
        for name in names where !Self.systemUsers.contains(name) {
            guard let user = try rt.get("/user/\(name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? name)") else { continue }
            users.append(user)
        }
        users.sort { (RTClient.id($0["id"]) ?? 0) < (RTClient.id($1["id"]) ?? 0) }
        let organizations = Set(users.compactMap { ($0["Organization"] as? String).flatMap { $0.isEmpty ? nil : $0 } }).sorted()
        for name in organizations {
            try sink.emit(Organization(id: name, sourceSystem: system, name: name))
        }
        for user in users {
            guard let id = RTClient.id(user["id"]) else { continue }
            let email = (user["EmailAddress"] as? String).flatMap { $0.isEmpty ? nil : $0 }
            let realName = (user["RealName"] as? String).flatMap { $0.isEmpty ? nil : $0 } ?? user["Name"] as? String ?? "\(id)"
            let updated = RTClient.time(user["LastUpdated"]).flatMap(Timestamp.normalize)
            try sink.emit(User(id: "\(id)", sourceSystem: system, name: realName, email: email,
                               phone: (user["WorkPhone"] as? String).flatMap { $0.isEmpty ? nil : $0 },
                               role: "\(user["Privileged"] ?? 0)" == "1" ? .agent : .endUser,
                               active: "\(user["Disabled"] ?? 0)" != "1",
                               organizationID: (user["Organization"] as? String).flatMap { $0.isEmpty ? nil : $0 },
                               createdAt: RTClient.time(user["Created"]).flatMap(Timestamp.normalize), updatedAt: updated))
            sink.sawUpdate(updated)
        }
        for item in try rt.all("GET", "/queues/all") {
            guard let id = RTClient.id(item["id"]), let queue = try rt.get("/queue/\(id)") else { continue }
            try sink.emit(FerryCore.Group(id: "\(id)", sourceSystem: system, name: queue["Name"] as? String ?? "\(id)",
                                          description: (queue["Description"] as? String).flatMap { $0.isEmpty ? nil : $0 },
                                          createdAt: RTClient.time(queue["Created"]).flatMap(Timestamp.normalize),
                                          updatedAt: RTClient.time(queue["LastUpdated"]).flatMap(Timestamp.normalize)))
        }
        for field in fields.values.sorted(by: { $0.id < $1.id }) { try sink.emit(field.record) }
    }

    private var userNumbers: [String: String] = [:]

    /// A user reference ({"id": "jane@example.com"}) as the user's number, read once per name.
    private func userID(_ reference: Any?) throws -> String? {
        guard let name = RTClient.ref(reference), !Self.systemUsers.contains(name) else { return nil }
        if let number = Int64(name) { return "\(number)" }
        if let known = userNumbers[name] { return known }
        let number = try rt.get("/user/\(name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? name)").flatMap { RTClient.id($0["id"]) }.map { "\($0)" }
        userNumbers[name] = number
        return number
    }

    func extractTicket(_ id: Int64, fields: [Int64: Field], into sink: ExtractSink) throws {
        guard let ticket = try rt.get("/ticket/\(id)") else {
            try sink.reject(Reject(stage: "extract", entity: .tickets, recordID: "\(id)", reason: "ticket \(id) vanished from RT while it was read"))
            return
        }
        var tags: [String] = [], type: String?, channel: String?, organization: String?
        var values: [CustomFieldValue] = []
        for field in ticket["CustomFields"] as? [JSONObject] ?? [] {
            let list = RTClient.values(field["values"])
            switch field["name"] as? String ?? "" {
            case "Tags": tags = list
            case "Type": type = list.first
            case "Channel": channel = list.first
            case "Organization": organization = list.first
            case RTTarget.sourceField: continue
            default:
                guard let fieldID = RTClient.id(field["id"]), let known = fields[fieldID], !list.isEmpty else { continue }
                values.append(CustomFieldValue(fieldID: "\(fieldID)", value: RTTarget.canonicalValue(list, type: known.type)))
            }
        }
        let priority = "\(ticket["Priority"] ?? "0")"
        let updated = RTClient.time(ticket["LastUpdated"]).flatMap(Timestamp.normalize)
        let record = Ticket(id: "\(id)", sourceSystem: system, subject: ticket["Subject"] as? String ?? "", status: ticket["Status"] as? String ?? "new",
                            priority: priority == "0" ? nil : priority, type: type,
                            requesterID: try (ticket["Requestor"] as? [Any] ?? []).first.flatMap { try userID($0) },
                            submitterID: try userID(ticket["Creator"]),
                            assigneeID: try userID(ticket["Owner"]),
                            groupID: RTClient.id(ticket["Queue"]).map { "\($0)" }, organizationID: organization,
                            tags: tags, customFields: values.sorted { $0.fieldID < $1.fieldID },
                            ccIDs: try (ticket["Cc"] as? [Any] ?? []).compactMap { try userID($0) },
                            followerIDs: try (ticket["AdminCc"] as? [Any] ?? []).compactMap { try userID($0) },
                            channel: channel, createdAt: RTClient.time(ticket["Created"]).flatMap(Timestamp.normalize), updatedAt: updated,
                            solvedAt: RTClient.time(ticket["Resolved"]).flatMap(Timestamp.normalize))
        try sink.emit(record)
        sink.sawUpdate(updated)

        let query: [JSONObject] = [["field": "ObjectType", "value": "RT::Ticket"], ["field": "ObjectId", "value": id],
                                   ["field": "Type", "operator": "IN", "value": ["Correspond", "Comment"]]]
        let transactions = try rt.all("POST", "/transactions", query: [("orderby", "id"), ("order", "ASC")], body: query, fields: ["Type", "Created", "Creator"])
        for transaction in transactions {
            guard let transactionID = RTClient.id(transaction["id"]) else { continue }
            var parts: [JSONObject] = []
            for item in try rt.all("GET", "/transaction/\(transactionID)/attachments") {
                if let partID = RTClient.id(item["id"]), let part = try rt.get("/attachment/\(partID)") { parts.append(part) }
            }
            var html: String?, plain: String?
            var files: [JSONObject] = []
            for part in parts {
                let contentType = (part["ContentType"] as? String ?? "").lowercased()
                let fileName = part["Filename"] as? String ?? ""
                if !fileName.isEmpty { files.append(part); continue }
                guard let encoded = part["Content"] as? String, let data = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters) else { continue }
                if contentType == "text/html", html == nil { html = String(decoding: data, as: UTF8.self) }
                if contentType == "text/plain", plain == nil { plain = String(decoding: data, as: UTF8.self) }
            }
            let comment = Comment(id: "\(transactionID)", sourceSystem: system, ticketID: "\(id)", authorID: try userID(transaction["Creator"]),
                                  isPublic: transaction["Type"] as? String == "Correspond", bodyHTML: html, bodyPlain: plain ?? "",
                                  createdAt: RTClient.time(transaction["Created"]).flatMap(Timestamp.normalize))
            try sink.emit(comment)
            for file in files {
                guard let fileID = RTClient.id(file["id"]) else { continue }
                let bytes = (file["Content"] as? String).flatMap { Data(base64Encoded: $0, options: .ignoreUnknownCharacters) } ?? Data()
                let temporary = scratch.appendingPathComponent("attachment-\(fileID)")
                try bytes.write(to: temporary)
                defer { try? FileManager.default.removeItem(at: temporary) }
                let (sha256, size) = try sink.addBlob(copyingFrom: temporary)
                let disposition = (file["Headers"] as? String ?? "").lowercased()
                try sink.emit(Attachment(id: "\(fileID)", sourceSystem: system, parentType: .comment, parentID: "\(transactionID)",
                                         fileName: file["Filename"] as? String ?? "", contentType: file["ContentType"] as? String,
                                         size: size, sha256: sha256, inline: disposition.contains("content-disposition: inline") && (file["ContentType"] as? String ?? "").hasPrefix("image/")))
            }
        }
    }
}
