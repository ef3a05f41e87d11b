import Foundation

/// The target side of the emulator: what `ferry-load` writes. Written records
/// go into the same collections the read endpoints serve, so what was loaded
/// can be read back (by `ferry-verify`, or by extracting from it again).
final class EmulatorWrites: @unchecked Sendable {
    var nextID: Int64 = 900_000
    var jobs: [String: (polls: Int, results: [[String: Any]])] = [:]
    var uploads: [String: (name: String, type: String, data: Data, used: Bool)] = [:]
    /// Request numbers answered 500 after the request was carried out (its answer lost).
    var failAfterProcessing: Set<Int> = []
    /// Path -> how many of its next requests are answered 500 after being carried out.
    var failAfterProcessingPaths: [String: Int] = [:]
    /// Path ending -> how many of the next POSTs to a path ending so are answered 500 after being carried out.
    var failAfterProcessingPostSuffixes: [String: Int] = [:]
    var importedTicketCount = 0
    /// The Content-Type of the request being answered (multipart uploads need its boundary).
    var contentType = ""
    /// Article attachments created, deleted included (a duplicate upload shows here).
    var articleAttachmentUploads = 0
}

extension ZendeskEmulator {
    func newID() -> Int64 { writes.nextID += 1; return writes.nextID }

    func writeRoute(method: String, path: String, segments: [String], query: [String: String], body: Data) -> Response? {
        let object = (try? JSONSerialization.jsonObject(with: body)) as? Object
        func needJSON() -> Response? {
            if object == nil { violation("\(method) \(path): the body is not a JSON object"); return Self.error(400, "InvalidJSON", "body is not JSON") }
            return nil
        }
        switch (method, path) {
        case ("POST", "/api/v2/organizations/create_or_update_many.json"):
            if let bad = needJSON() { return bad }
            guard let list = object?["organizations"] as? [Object], list.count <= 100 else {
                violation("create_or_update_many organizations: needs an organizations array of at most 100")
                return Self.error(400, "InvalidValue", "organizations: at most 100")
            }
            return job(list.enumerated().map { index, o in upsert(&organizations, o, match: ["external_id", "name"], index: index) })
        case ("POST", "/api/v2/users/create_or_update_many.json"):
            if let bad = needJSON() { return bad }
            guard let list = object?["users"] as? [Object], list.count <= 100 else {
                violation("create_or_update_many users: needs a users array of at most 100")
                return Self.error(400, "InvalidValue", "users: at most 100")
            }
            return job(list.enumerated().map { index, u in
                guard u["name"] is String else { return ["index": index, "success": false, "error": "RecordInvalid", "details": "Name: cannot be blank"] }
                return upsert(&users, u, match: ["email", "external_id"], index: index)
            })
        case ("POST", "/api/v2/groups.json"):
            if let bad = needJSON() { return bad }
            guard var group = object?["group"] as? Object, group["name"] is String else { return Self.error(422, "RecordInvalid", "Name: cannot be blank") }
            group["id"] = newID(); group["created_at"] = Self.iso(Int64(Date().timeIntervalSince1970)); group["updated_at"] = group["created_at"]
            groups.append(group)
            return Self.json(201, ["group": group])
        case ("POST", "/api/v2/ticket_fields.json"):
            if let bad = needJSON() { return bad }
            guard var field = object?["ticket_field"] as? Object, field["title"] is String, let type = field["type"] as? String,
                  ["text", "textarea", "checkbox", "date", "integer", "decimal", "regexp", "partialcreditcard", "multiselect", "tagger", "lookup"].contains(type) else {
                violation("ticket field without title or with an unknown type")
                return Self.error(422, "RecordInvalid", "Title or type invalid")
            }
            field["id"] = newID()
            ticketFields.append(field)
            return Self.json(201, ["ticket_field": field])
        case ("POST", "/api/v2/uploads.json"):
            guard let name = query["filename"], !name.isEmpty else {
                violation("upload without filename")
                return Self.error(400, "InvalidValue", "filename is required")
            }
            let token = "up\(newID())"
            let attachmentID = newID()
            writes.uploads[token] = (name, "application/octet-stream", body, false)
            files[token] = (name, "application/octet-stream", body)
            let attachment: Object = ["id": attachmentID, "file_name": name, "content_url": "\(base)/attachments/token/\(token)/?name=\(name)", "size": body.count, "inline": false]
            return Self.json(201, ["upload": ["token": token, "attachment": attachment, "attachments": [attachment]] as Object])
        case ("POST", "/api/v2/imports/tickets/create_many.json"):
            if let bad = needJSON() { return bad }
            guard let list = object?["tickets"] as? [Object], !list.isEmpty, list.count <= 100 else {
                violation("imports/tickets/create_many: needs a tickets array of 1 to 100")
                return Self.error(400, "InvalidValue", "tickets: 1 to 100")
            }
            var results: [Object] = []
            for (index, t) in list.enumerated() { results.append(importTicket(t, index: index)) }
            return job(results)
        case ("GET", "/api/v2/tickets.json"):
            guard let external = query["external_id"] else { return list("tickets", tickets, path, query) }
            let found = tickets.filter { $0["external_id"] as? String == external }
            return Self.json(200, ["tickets": found, "count": found.count, "next_page": NSNull(), "previous_page": NSNull()])
        default:
            break
        }
        if let response = helpCenterWrite(method: method, path: path, segments: segments, object: object, body: body) { return response }
        if method == "GET", segments.count == 4, segments[0] == "api", segments[2] == "job_statuses" {
            let id = segments[3].replacingOccurrences(of: ".json", with: "")
            guard let job = writes.jobs[id] else { return Self.error(404, "RecordNotFound", "Not found") }
            writes.jobs[id]!.polls += 1
            // Queued on the first look, working on the second, then completed.
            let status = job.polls == 0 ? "queued" : job.polls == 1 ? "working" : "completed"
            var body: Object = ["id": id, "url": "\(base)/api/v2/job_statuses/\(id).json", "status": status, "total": job.results.count,
                                "progress": status == "completed" ? job.results.count : 0]
            body["results"] = status == "completed" ? job.results : NSNull()
            return Self.json(200, ["job_status": body])
        }
        if segments.count == 4, segments[0] == "api", let id = Int64(segments[3].replacingOccurrences(of: ".json", with: "")) {
            func one(_ key: String, _ singular: String, _ items: inout [Object]) -> Response {
                guard let index = items.firstIndex(where: { Self.id($0) == id }) else { return Self.error(404, "RecordNotFound", "Not found") }
                if method == "PUT" {
                    guard let changes = object?[singular] as? Object else { violation("PUT \(path): no \(singular) object"); return Self.error(400, "InvalidValue", "\(singular) missing") }
                    for (k, v) in changes where k != "id" { items[index][k] = v }
                    items[index]["updated_at"] = Self.iso(Int64(Date().timeIntervalSince1970))
                }
                return Self.json(200, [singular: items[index]])
            }
            if method == "GET" || method == "PUT" {
                switch segments[2] {
                case "tickets": return one("tickets", "ticket", &tickets)
                case "users": return one("users", "user", &users)
                case "organizations": return one("organizations", "organization", &organizations)
                default: break
                }
            }
        }
        return nil
    }

    /// create_or_update: the first of `match` that the object has and an existing record shares decides.
    private func upsert(_ items: inout [Object], _ object: Object, match: [String], index: Int) -> Object {
        for key in match {
            guard let value = object[key] as? String, !value.isEmpty else { continue }
            if let at = items.firstIndex(where: { ($0[key] as? String)?.lowercased() == value.lowercased() }) {
                for (k, v) in object { items[at][k] = v }
                return ["index": index, "id": Self.id(items[at]) ?? 0, "action": "update", "status": "Updated", "success": true]
            }
        }
        var created = object
        let id = newID()
        created["id"] = id
        let now = Self.iso(Int64(Date().timeIntervalSince1970))
        created["created_at"] = now; created["updated_at"] = now
        items.append(created)
        return ["index": index, "id": id, "action": "create", "status": "Created", "success": true]
    }

    private func job(_ results: [Object]) -> Response {
        let id = "J\(newID())"
        writes.jobs[id] = (0, results)
        return Self.json(200, ["job_status": ["id": id, "url": "\(base)/api/v2/job_statuses/\(id).json", "status": "queued", "total": results.count, "progress": NSNull(), "results": NSNull()] as Object])
    }

    /// Ticket Import: timestamps, comment authors and times as given; uploads by token.
    private func importTicket(_ t: Object, index: Int) -> Object {
        func userExists(_ value: Any?) -> Bool {
            guard let id = (value as? NSNumber)?.int64Value else { return value == nil }
            return users.contains { Self.id($0) == id }
        }
        for key in ["requester_id", "submitter_id", "assignee_id"] where t[key] != nil && !userExists(t[key]) {
            return ["index": index, "success": false, "error": "RecordInvalid", "details": "\(key): no such user"]
        }
        guard t["subject"] is String || t["comments"] is [Object] else { return ["index": index, "success": false, "error": "RecordInvalid", "details": "no subject"] }
        let comments = t["comments"] as? [Object] ?? []
        let id = newID()
        var ticket = t
        ticket.removeValue(forKey: "comments")
        ticket["id"] = id
        ticket["url"] = "\(base)/api/v2/tickets/\(id).json"
        ticket["via"] = ["channel": "api"]
        let now = Self.iso(Int64(Date().timeIntervalSince1970))
        if ticket["created_at"] == nil { ticket["created_at"] = now }
        if ticket["updated_at"] == nil { ticket["updated_at"] = ticket["created_at"] }
        var stored: [Object] = []
        for c in comments {
            if c["value"] == nil && c["body"] == nil && c["html_body"] == nil { violation("imported comment without value, body or html_body") }
            if c["author_id"] != nil && !userExists(c["author_id"]) { violation("imported comment by unknown author \(c["author_id"]!)") }
            if let created = c["created_at"] as? String, Self.epoch(created) > Int64(Date().timeIntervalSince1970) { violation("imported comment dated in the future") }
            var comment: Object = ["id": newID(), "type": "Comment", "author_id": c["author_id"] ?? NSNull(), "public": c["public"] ?? true,
                                   "created_at": c["created_at"] ?? now, "attachments": [Object]()]
            let html = c["html_body"] as? String
            let plain = c["value"] as? String ?? c["body"] as? String
            comment["html_body"] = html ?? plain.map { "<p>\($0)</p>" } ?? ""
            comment["body"] = plain ?? html ?? ""
            comment["plain_body"] = plain ?? html ?? ""
            var attachments: [Object] = []
            for token in c["uploads"] as? [String] ?? [] {
                guard let upload = writes.uploads[token] else { violation("comment references unknown upload token \(token)"); continue }
                if upload.used { violation("upload token \(token) used twice") }
                writes.uploads[token]!.used = true
                attachments.append(["id": newID(), "file_name": upload.name, "content_type": upload.type, "size": upload.data.count,
                                    "content_url": "\(base)/attachments/token/\(token)/?name=\(upload.name)", "inline": false])
            }
            comment["attachments"] = attachments
            stored.append(comment)
        }
        if ticket["description"] == nil { ticket["description"] = stored.first?["body"] ?? "" }
        tickets.append(ticket)
        self.comments[id] = stored
        writes.importedTicketCount += 1
        return ["index": index, "id": id, "action": "create", "status": "Created", "success": true]
    }
}

extension ZendeskEmulator {
    /// Help Center: categories, sections, articles and translations, as the Help Center API creates them.
    func helpCenterWrite(method: String, path: String, segments: [String], object: Object?, body: Data) -> Response? {
        guard segments.count >= 4, segments[0] == "api", segments[1] == "v2" else { return nil }
        let now = Self.iso(Int64(Date().timeIntervalSince1970))
        if method == "GET", path == "/api/v2/guide/permission_groups.json" {
            return Self.json(200, ["permission_groups": [["id": 7001, "name": "Admins", "built_in": true] as Object], "meta": ["has_more": false] as Object])
        }
        guard segments[2] == "help_center" else { return nil }
        let rest = Array(segments.dropFirst(3)).map { $0.replacingOccurrences(of: ".json", with: "") }
        switch (method, rest.count) {
        case ("POST", 1) where rest[0] == "categories":
            guard var c = object?["category"] as? Object, c["name"] is String else { violation("category without name"); return Self.error(400, "InvalidValue", "name") }
            c["id"] = newID(); c["created_at"] = now; c["updated_at"] = now
            categories.append(c)
            return Self.json(201, ["category": c])
        case ("GET", 3) where rest[0] == "categories" && rest[2] == "sections":
            let id = Int64(rest[1]) ?? -1
            return list("sections", sections.filter { ($0["category_id"] as? NSNumber)?.int64Value == id }, path, [:])
        case ("POST", 3) where rest[0] == "categories" && rest[2] == "sections":
            guard let category = Int64(rest[1]), categories.contains(where: { Self.id($0) == category }) else { return Self.error(404, "RecordNotFound", "Not found") }
            guard var section = object?["section"] as? Object, section["name"] is String else { violation("section without name"); return Self.error(400, "InvalidValue", "name") }
            section["id"] = newID(); section["category_id"] = category; section["created_at"] = now; section["updated_at"] = now
            sections.append(section)
            return Self.json(201, ["section": section])
        case ("GET", 3) where rest[0] == "sections" && rest[2] == "articles":
            let id = Int64(rest[1]) ?? -1
            return list("articles", articles.filter { ($0["section_id"] as? NSNumber)?.int64Value == id }, path, [:])
        case ("POST", 3) where rest[0] == "sections" && rest[2] == "articles":
            guard let section = Int64(rest[1]), sections.contains(where: { Self.id($0) == section }) else { return Self.error(404, "RecordNotFound", "Not found") }
            guard var article = object?["article"] as? Object, article["title"] is String, article["locale"] is String else {
                violation("article without title or locale"); return Self.error(400, "InvalidValue", "title, locale")
            }
            // Documented as required on create: a permission group, and user_segment_id (null: everybody).
            if article["permission_group_id"] == nil || article.keys.contains("user_segment_id") == false {
                violation("article created without permission_group_id or user_segment_id")
                return Self.error(400, "RecordInvalid", "permission_group_id and user_segment_id are required")
            }
            let id = newID()
            article["id"] = id; article["section_id"] = section; article["source_locale"] = article["locale"]
            article["created_at"] = now; article["updated_at"] = now
            articles.append(article)
            translations[id] = [["id": newID(), "locale": article["locale"]!, "title": article["title"]!, "body": article["body"] ?? "", "draft": article["draft"] ?? false,
                                 "source_id": id, "source_type": "Article", "created_at": now, "updated_at": now]]
            return Self.json(201, ["article": article])
        case ("GET", 2) where rest[0] == "articles":
            guard let id = Int64(rest[1]), let article = articles.first(where: { Self.id($0) == id }) else { return Self.error(404, "RecordNotFound", "Not found") }
            return Self.json(200, ["article": article])
        case ("POST", 3) where rest[0] == "articles" && rest[2] == "translations":
            guard let id = Int64(rest[1]), articles.contains(where: { Self.id($0) == id }) else { return Self.error(404, "RecordNotFound", "Not found") }
            guard var t = object?["translation"] as? Object, let locale = t["locale"] as? String, t["title"] is String else {
                violation("translation without locale or title"); return Self.error(400, "InvalidValue", "locale, title")
            }
            if (translations[id] ?? []).contains(where: { ($0["locale"] as? String) == locale }) {
                return Self.error(400, "RecordInvalid", "Locale has already been taken")
            }
            t["id"] = newID(); t["source_id"] = id; t["source_type"] = "Article"; t["created_at"] = now; t["updated_at"] = now
            translations[id, default: []].append(t)
            return Self.json(201, ["translation": t])
        case ("PUT", 4) where rest[0] == "articles" && rest[2] == "translations":
            guard let id = Int64(rest[1]), let index = translations[id]?.firstIndex(where: { ($0["locale"] as? String) == rest[3] }) else { return Self.error(404, "RecordNotFound", "Not found") }
            for (k, v) in object?["translation"] as? Object ?? [:] { translations[id]![index][k] = v }
            translations[id]![index]["updated_at"] = now
            // The source locale's translation is the article's own title and body.
            if let a = articles.firstIndex(where: { Self.id($0) == id }), articles[a]["source_locale"] as? String == rest[3] {
                for key in ["title", "body", "draft"] { if let value = translations[id]![index][key] { articles[a][key] = value } }
                articles[a]["updated_at"] = now
            }
            return Self.json(200, ["translation": translations[id]![index]])
        case ("POST", 3) where rest[0] == "articles" && rest[2] == "attachments":
            // Create Article Attachment: multipart/form-data with `file` and an optional `inline`.
            guard let id = Int64(rest[1]), articles.contains(where: { Self.id($0) == id }) else { return Self.error(404, "RecordNotFound", "Not found") }
            guard let form = Self.multipart(writes.contentType, body), let file = form.first(where: { $0.name == "file" && $0.fileName != nil }) else {
                violation("POST \(path): not multipart/form-data with a file part (content type \(writes.contentType))")
                return Self.error(400, "InvalidValue", "file is required")
            }
            let inline = form.first(where: { $0.name == "inline" }).map { String(decoding: $0.data, as: UTF8.self) == "true" } ?? false
            let attachmentID = newID()
            let token = "art\(attachmentID)"
            let type = file.contentType ?? "application/octet-stream"
            files[token] = (file.fileName!, type, file.data)
            let name = file.fileName!.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "file"
            let attachment: Object = ["id": attachmentID, "url": "\(base)/api/v2/help_center/articles/attachments/\(attachmentID).json", "article_id": id,
                                      "file_name": file.fileName!, "content_url": "\(base)/attachments/token/\(token)/?name=\(name)", "content_type": type,
                                      "size": file.data.count, "inline": inline, "created_at": now, "updated_at": now]
            articleAttachments[id, default: []].append(attachment)
            writes.articleAttachmentUploads += 1
            return Self.json(201, ["article_attachment": attachment])
        case ("DELETE", 3) where rest[0] == "articles" && rest[1] == "attachments":
            guard let id = Int64(rest[2]) else { return Self.error(404, "RecordNotFound", "Not found") }
            var found = false
            for key in articleAttachments.keys { let before = articleAttachments[key]!.count; articleAttachments[key]!.removeAll { Self.id($0) == id }; found = found || articleAttachments[key]!.count != before }
            return found ? Response(status: 204) : Self.error(404, "RecordNotFound", "Not found")
        default:
            return nil
        }
    }
}

extension ZendeskEmulator {
    struct FormPart { var name: String; var fileName: String?; var contentType: String?; var data: Data }

    /// The parts of a multipart/form-data body (RFC 7578), or nil when the
    /// content type is not multipart/form-data with a boundary or a part is malformed.
    static func multipart(_ contentType: String, _ body: Data) -> [FormPart]? {
        guard contentType.lowercased().hasPrefix("multipart/form-data"),
              let boundary = contentType.components(separatedBy: "boundary=").dropFirst().first?.trimmingCharacters(in: CharacterSet(charactersIn: "\" ")) else { return nil }
        let delimiter = Data("--\(boundary)".utf8)
        let crlf = Data("\r\n".utf8)
        let headerEnd = Data("\r\n\r\n".utf8)
        var parts: [FormPart] = []
        var cursor = body.startIndex
        guard let first = body.range(of: delimiter, in: cursor..<body.endIndex), first.lowerBound == body.startIndex else { return nil }
        cursor = first.upperBound
        while true {
            // "--" after a delimiter ends the body.
            if body[cursor...].starts(with: Data("--".utf8)) { return parts }
            guard body[cursor...].starts(with: crlf) else { return nil }
            cursor += crlf.count
            guard let headersRange = body.range(of: headerEnd, in: cursor..<body.endIndex),
                  let next = body.range(of: crlf + delimiter, in: headersRange.upperBound..<body.endIndex) else { return nil }
            let headers = String(decoding: body[cursor..<headersRange.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
            var part = FormPart(name: "", fileName: nil, contentType: nil, data: Data(body[headersRange.upperBound..<next.lowerBound]))
            for header in headers {
                let lower = header.lowercased()
                if lower.hasPrefix("content-disposition:") {
                    for item in header.components(separatedBy: ";").dropFirst() {
                        let pair = item.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1).map(String.init)
                        guard pair.count == 2 else { continue }
                        let value = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")).removingPercentEncoding ?? pair[1]
                        if pair[0] == "name" { part.name = value } else if pair[0] == "filename" { part.fileName = value }
                    }
                } else if lower.hasPrefix("content-type:") {
                    part.contentType = String(header.dropFirst("content-type:".count)).trimmingCharacters(in: .whitespaces)
                }
            }
            parts.append(part)
            cursor = next.upperBound
        }
    }
}
