import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A local Zendesk for the `zendesk-api` connector's tests: the documented
/// endpoints on 127.0.0.1 (an ephemeral port), served from fixtures (the
/// sample export), with Zendesk's pagination (incremental exports: cursor-based
/// with `after_cursor` / `end_of_stream`, time-based with `end_time` /
/// `next_page`; lists: `page[size]`, `meta.has_more`, `links.next`), its
/// rate-limit headers (`x-rate-limit`, `x-rate-limit-remaining`, `ratelimit-*`),
/// 429 with Retry-After above the limit, its error bodies
/// (`{"error": ..., "description": ...}`), and failures injected on chosen
/// requests. Every request is logged, and whatever departs from the documented
/// shapes (a missing or wrong Authorization, an incremental request with both or
/// neither of start_time and cursor, a page size above the limit, an unknown
/// endpoint, a malformed import) is recorded in `violations`.
///
/// References: developer.zendesk.com/api-reference — Incremental Exports,
/// Ticket Comments, Ticket Audits, Groups, Ticket Fields, Help Center
/// (categories, sections, articles, translations, article attachments),
/// Ticket Import, Attachments (uploads), Users and Organizations
/// (create_or_update_many), Job Statuses, Rate limits.
final class ZendeskEmulator: @unchecked Sendable {
    typealias Object = [String: Any]

    struct LoggedRequest {
        var time: Double
        var method: String
        var path: String
        var query: [String: String]
        var status: Int
        var injected: Bool
    }

    struct Response {
        var status: Int
        var headers: [(String, String)] = []
        var body: Data = Data()
    }

    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var channel: Channel?
    private(set) var port = 0
    var base: String { "http://127.0.0.1:\(port)" }
    /// The attachment CDN host (another origin: downloads there must carry no credentials).
    var cdnBase: String { "http://localhost:\(port)" }

    let lock = NSLock()
    // Read side (the source account).
    var organizations: [Object] = []
    var users: [Object] = []
    var groups: [Object] = []
    var ticketFields: [Object] = []
    var tickets: [Object] = []
    var comments: [Int64: [Object]] = [:]
    var audits: [Int64: [Object]] = [:]
    var categories: [Object] = []
    var sections: [Object] = []
    var articles: [Object] = []
    var translations: [Int64: [Object]] = [:]
    var articleAttachments: [Int64: [Object]] = [:]
    /// Attachment bytes by token.
    var files: [String: (name: String, type: String, data: Data)] = [:]

    // Behaviour.
    /// The account's limit per minute (sliding window); above it, 429 with Retry-After.
    var limitPerMinute = 700
    /// Request number (1-based, every request counts) -> status to answer instead.
    var injected: [Int: Int] = [:]
    /// Retry-After (seconds) on injected 429s.
    var injectedRetryAfter = "1"
    /// Expected Authorization header value.
    var expectedAuthorization: String
    private(set) var log: [LoggedRequest] = []
    private(set) var violations: [String] = []
    private var requestCount = 0
    let writes = EmulatorWrites()
    let started = Date()

    /// `email`/`token`: the API token credentials the emulator accepts.
    init(email: String = "admin@example.com", token: String = "test-token") {
        expectedAuthorization = "Basic " + Data("\(email)/token:\(token)".utf8).base64EncodedString()
    }

    // Never waits: the last reference may go away on an event loop thread, where waiting is not allowed.
    deinit {
        channel?.close(promise: nil)
        group.shutdownGracefully { _ in }
    }

    func start() throws {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(EmulatorHTTPHandler(emulator: self))
                }
            }
        let bound = try bootstrap.bind(host: "127.0.0.1", port: 0).wait()
        channel = bound
        port = bound.localAddress?.port ?? 0
    }

    func stop() { try? channel?.close().wait(); channel = nil }

    // MARK: - Fixtures

    /// Loads the sample export: every line that is a JSON object with a numeric
    /// id (the export's deliberately broken lines cannot be served by an API and
    /// are left out). Tickets lose their embedded comments and audits and
    /// articles their translations and attachments: those come through their
    /// own endpoints; attachments' content_url points at the emulator.
    func load(export root: URL) throws {
        func lines(_ name: String) -> [Object] {
            guard let text = try? String(contentsOf: root.appendingPathComponent(name), encoding: .utf8) else { return [] }
            return text.split(separator: "\n").compactMap { line in
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? Object,
                      object["id"] is NSNumber else { return nil }
                return object
            }
        }
        lock.lock(); defer { lock.unlock() }
        organizations = lines("organizations.ndjson")
        users = lines("users.ndjson")
        groups = lines("groups.ndjson")
        ticketFields = lines("ticket_fields.ndjson")
        categories = lines("help_center/categories.ndjson")
        sections = lines("help_center/sections.ndjson")
        func serveAttachments(_ list: Any?) -> [Object] {
            (list as? [Object] ?? []).map { attachment in
                var a = attachment
                let relative = a["content_url"] as? String ?? ""
                let token = "tok\(Self.id(a) ?? 0)"
                let data = (try? Data(contentsOf: root.appendingPathComponent(relative))) ?? Data()
                files[token] = (a["file_name"] as? String ?? "file", a["content_type"] as? String ?? "application/octet-stream", data)
                let name = (a["file_name"] as? String ?? "file").addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "file"
                a["content_url"] = "\(base)/attachments/token/\(token)/?name=\(name)"
                a["url"] = "\(base)/api/v2/attachments/\(Self.id(a) ?? 0).json"
                return a
            }
        }
        tickets = lines("tickets.ndjson").map { ticket in
            var t = ticket
            let id = Self.id(t)!
            comments[id] = (t.removeValue(forKey: "comments") as? [Object] ?? []).map { comment in
                var c = comment
                c["attachments"] = serveAttachments(c["attachments"])
                return c
            }
            audits[id] = t.removeValue(forKey: "audits") as? [Object] ?? []
            t["url"] = "\(base)/api/v2/tickets/\(id).json"
            return t
        }
        articles = lines("help_center/articles.ndjson").map { article in
            var a = article
            let id = Self.id(a)!
            translations[id] = a.removeValue(forKey: "translations") as? [Object] ?? []
            articleAttachments[id] = serveAttachments(a.removeValue(forKey: "attachments")).map { var x = $0; x["article_id"] = id; return x }
            return a
        }
    }

    static func id(_ object: Object) -> Int64? { (object["id"] as? NSNumber)?.int64Value }

    static func epoch(_ value: Any?) -> Int64 {
        guard let text = value as? String, let date = ISO8601DateFormatter().date(from: text) else { return 0 }
        return Int64(date.timeIntervalSince1970)
    }

    static func iso(_ epoch: Int64) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(epoch)))
    }

    /// Changes a record as an agent would: new values and a new updated_at.
    func touch(_ kind: String, id: Int64, at epoch: Int64, changes: Object = [:]) {
        lock.lock(); defer { lock.unlock() }
        func apply(_ list: inout [Object]) {
            guard let index = list.firstIndex(where: { Self.id($0) == id }) else { return }
            for (k, v) in changes { list[index][k] = v }
            list[index]["updated_at"] = Self.iso(epoch)
        }
        switch kind {
        case "tickets": apply(&tickets)
        case "users": apply(&users)
        case "organizations": apply(&organizations)
        default: break
        }
    }

    func addComment(ticket: Int64, _ comment: Object) {
        lock.lock(); defer { lock.unlock() }
        comments[ticket, default: []].append(comment)
    }

    var requests: [LoggedRequest] { lock.lock(); defer { lock.unlock() }; return log }
    var recordedViolations: [String] { lock.lock(); defer { lock.unlock() }; return violations }

    // MARK: - Serving

    func violation(_ text: String) { violations.append(text) }

    func handle(method: String, uri: String, headers: HTTPHeaders, body: Data) -> Response {
        lock.lock(); defer { lock.unlock() }
        requestCount += 1
        let number = requestCount
        let now = Date().timeIntervalSince(started)
        let (path, query) = Self.split(uri)
        let host = headers.first(name: "host") ?? ""
        var response: Response
        var wasInjected = false
        if path.hasPrefix("/cdn/") {
            // The file CDN: no rate limit, and no credentials may come here.
            if headers.first(name: "authorization") != nil { violation("credentials sent to the attachment CDN (\(host)\(path))") }
            let token = path.split(separator: "/").dropFirst(1).first.map(String.init) ?? ""
            if let file = files[token] {
                response = Response(status: 200, headers: [("Content-Type", file.type)], body: file.data)
            } else {
                response = Self.error(404, "RecordNotFound", "Not found")
            }
            log.append(LoggedRequest(time: now, method: method, path: path, query: query, status: response.status, injected: false))
            return response
        }
        // Sliding one-minute window of the account's requests.
        let windowStart = now - 60
        let recent = log.filter { $0.time > windowStart && !$0.path.hasPrefix("/cdn/") }
        let remaining = limitPerMinute - recent.count - 1
        let reset = recent.first.map { Int(ceil($0.time + 60 - now)) } ?? 60
        let rateHeaders = [("X-Rate-Limit", "\(limitPerMinute)"), ("X-Rate-Limit-Remaining", "\(max(0, remaining))"),
                           ("ratelimit-limit", "\(limitPerMinute)"), ("ratelimit-remaining", "\(max(0, remaining))"), ("ratelimit-reset", "\(max(1, reset))")]
        if headers.first(name: "authorization") != expectedAuthorization {
            violation("\(method) \(path): Authorization missing or wrong")
            response = Response(status: 401, headers: [("Content-Type", "application/json"), ("WWW-Authenticate", "Basic realm=\"Web Password\"")],
                                body: Data(#"{"error":"Couldn't authenticate you"}"#.utf8))
        } else if remaining < 0 {
            response = Self.error(429, "TooManyRequests", "Rate limit exceeded")
            response.headers.append(("Retry-After", "\(max(1, reset))"))
        } else if let status = injected[number] {
            wasInjected = true
            if status == 429 {
                response = Self.error(429, "TooManyRequests", "Rate limit exceeded")
                response.headers.append(("Retry-After", injectedRetryAfter))
            } else {
                response = Response(status: status, headers: [("Content-Type", "text/html")], body: Data("<html><body>\(status) Service Unavailable</body></html>".utf8))
            }
        } else {
            writes.contentType = headers.first(name: "content-type") ?? ""
            response = route(method: method, path: path, query: query, body: body)
            let suffix = method == "POST" ? writes.failAfterProcessingPostSuffixes.keys.first(where: { path.hasSuffix($0) && writes.failAfterProcessingPostSuffixes[$0]! > 0 }) : nil
            let lose = writes.failAfterProcessing.contains(number) || (writes.failAfterProcessingPaths[path] ?? 0) > 0 || suffix != nil
            if (writes.failAfterProcessingPaths[path] ?? 0) > 0 { writes.failAfterProcessingPaths[path]! -= 1 }
            if let suffix { writes.failAfterProcessingPostSuffixes[suffix]! -= 1 }
            if lose {
                // Carried out, but the answer is lost: a client that repeats the request blindly duplicates.
                wasInjected = true
                response = Self.error(500, "InternalServerError", "Something went wrong")
            }
        }
        response.headers += rateHeaders
        log.append(LoggedRequest(time: now, method: method, path: path, query: query, status: response.status, injected: wasInjected))
        return response
    }

    static func split(_ uri: String) -> (String, [String: String]) {
        let parts = uri.split(separator: "?", maxSplits: 1)
        var query: [String: String] = [:]
        if parts.count > 1 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
                query[kv[0]] = kv.count > 1 ? kv[1] : ""
            }
        }
        return (String(parts[0]), query)
    }

    static func json(_ status: Int, _ object: Any) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return Response(status: status, headers: [("Content-Type", "application/json; charset=utf-8")], body: data)
    }

    static func error(_ status: Int, _ error: String, _ description: String) -> Response {
        json(status, ["error": error, "description": description])
    }

    func route(method: String, path: String, query: [String: String], body: Data) -> Response {
        let segments = path.split(separator: "/").map(String.init)
        func matches(_ pattern: String) -> [String]? {
            let p = pattern.split(separator: "/").map(String.init)
            guard p.count == segments.count else { return nil }
            var captured: [String] = []
            for (a, b) in zip(p, segments) {
                if a == "*" { captured.append(b.replacingOccurrences(of: ".json", with: "")) } else if a != b { return nil }
            }
            return captured
        }
        if method == "GET" {
            if segments.first == "attachments", segments.count >= 3, segments[1] == "token" {
                let token = segments[2]
                guard files[token] != nil else { return Self.error(404, "RecordNotFound", "Not found") }
                // As Zendesk does: a redirect to the file storage.
                return Response(status: 302, headers: [("Location", "\(cdnBase)/cdn/\(token)/\(query["name"] ?? "file")")])
            }
            switch path {
            case "/api/v2/incremental/tickets/cursor.json": return incrementalCursor("tickets", tickets, query)
            case "/api/v2/incremental/users/cursor.json": return incrementalCursor("users", users, query)
            case "/api/v2/incremental/organizations.json": return incrementalTime("organizations", organizations, query)
            case "/api/v2/groups.json": return list("groups", groups, path, query)
            case "/api/v2/ticket_fields.json": return list("ticket_fields", ticketFields, path, query)
            case "/api/v2/help_center/categories.json": return list("categories", categories, path, query)
            case "/api/v2/help_center/sections.json": return list("sections", sections, path, query)
            case "/api/v2/help_center/articles.json": return list("articles", articles, path, query)
            default: break
            }
            if let c = matches("/api/v2/tickets/*/comments.json"), let id = Int64(c[0]) {
                guard tickets.contains(where: { Self.id($0) == id }) else { return Self.error(404, "RecordNotFound", "Not found") }
                return list("comments", comments[id] ?? [], path, query)
            }
            if let c = matches("/api/v2/tickets/*/audits.json"), let id = Int64(c[0]) {
                guard tickets.contains(where: { Self.id($0) == id }) else { return Self.error(404, "RecordNotFound", "Not found") }
                return list("audits", audits[id] ?? [], path, query)
            }
            if let c = matches("/api/v2/help_center/articles/*/translations.json"), let id = Int64(c[0]) {
                return list("translations", translations[id] ?? [], path, query)
            }
            if let c = matches("/api/v2/help_center/articles/*/attachments.json"), let id = Int64(c[0]) {
                return list("article_attachments", articleAttachments[id] ?? [], path, query)
            }
        }
        if let response = routeWrite(method: method, path: path, segments: segments, query: query, body: body) { return response }
        violation("\(method) \(path): no such endpoint")
        return Self.error(404, "InvalidEndpoint", "Not found")
    }

    // MARK: - Pagination

    /// Records in export order: updated_at, then id.
    static func exportOrder(_ items: [Object]) -> [(Int64, Int64, Object)] {
        items.map { (epoch($0["updated_at"]), id($0) ?? 0, $0) }.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
    }

    static func cursor(_ updated: Int64, _ id: Int64) -> String { Data("\(updated).\(id)".utf8).base64EncodedString() }

    static func decodeCursor(_ text: String) -> (Int64, Int64)? {
        guard let data = Data(base64Encoded: text) else { return nil }
        let parts = String(decoding: data, as: UTF8.self).split(separator: ".")
        guard parts.count == 2, let a = Int64(parts[0]), let b = Int64(parts[1]) else { return nil }
        return (a, b)
    }

    /// GET /api/v2/incremental/{tickets,users}/cursor.json?start_time= | cursor=
    func incrementalCursor(_ key: String, _ items: [Object], _ query: [String: String]) -> Response {
        let perPage = Int(query["per_page"] ?? "1000") ?? 1000
        if perPage > 1000 { violation("incremental \(key): per_page \(perPage) above 1000") }
        let ordered = Self.exportOrder(items)
        let after: (Int64, Int64)
        switch (query["start_time"], query["cursor"]) {
        case (let start?, nil):
            guard let t = Int64(start) else { return Self.error(400, "InvalidValue", "start_time must be a Unix epoch time") }
            after = (t - 1, Int64.max)
        case (nil, let cursor?):
            guard let c = Self.decodeCursor(cursor) else { return Self.error(400, "InvalidPaginationParameter", "invalid cursor") }
            after = c
        default:
            violation("incremental \(key): needs exactly one of start_time and cursor, got \(query)")
            return Self.error(400, "InvalidPaginationParameter", "start_time or cursor is required")
        }
        let rest = ordered.filter { ($0.0, $0.1) > after }
        let page = Array(rest.prefix(perPage))
        let last = page.last.map { Self.cursor($0.0, $0.1) } ?? query["cursor"] ?? Self.cursor(after.0, after.1 == Int64.max ? 0 : after.1)
        let endOfStream = rest.count <= perPage
        return Self.json(200, [
            key: page.map(\.2), "after_cursor": last, "before_cursor": page.first.map { Self.cursor($0.0, $0.1) } ?? NSNull(),
            "after_url": "\(base)/api/v2/incremental/\(key)/cursor.json?cursor=\(last)", "before_url": NSNull(),
            "end_of_stream": endOfStream,
        ])
    }

    /// GET /api/v2/incremental/organizations.json?start_time= (time-based: end_time, next_page).
    func incrementalTime(_ key: String, _ items: [Object], _ query: [String: String]) -> Response {
        guard let startText = query["start_time"], let start = Int64(startText) else {
            violation("incremental \(key): start_time missing")
            return Self.error(400, "InvalidValue", "start_time is required")
        }
        if query["cursor"] != nil { violation("incremental \(key): the time-based export takes no cursor") }
        let perPage = Int(query["per_page"] ?? "1000") ?? 1000
        let rest = Self.exportOrder(items).filter { $0.0 >= start }
        let page = Array(rest.prefix(perPage))
        let end = page.last?.0 ?? start
        return Self.json(200, [
            key: page.map(\.2), "count": page.count, "end_time": end, "end_of_stream": rest.count <= perPage,
            "next_page": "\(base)/api/v2/incremental/\(key).json?start_time=\(end)",
        ])
    }

    /// Cursor pagination of lists: page[size] (at most 100), page[after]; meta and links.
    func list(_ key: String, _ items: [Object], _ path: String, _ query: [String: String]) -> Response {
        let size = Int(query["page[size]"] ?? "100") ?? 100
        if size > 100 { violation("\(path): page[size] \(size) above 100") }
        if query["page"] != nil || query["per_page"] != nil { violation("\(path): offset pagination used where cursor pagination is documented") }
        var start = 0
        if let after = query["page[after]"] {
            guard let data = Data(base64Encoded: after), let offset = Int(String(decoding: data, as: UTF8.self)) else {
                return Self.error(400, "InvalidPaginationParameter", "invalid page[after]")
            }
            start = offset
        }
        let page = Array(items.dropFirst(start).prefix(size))
        let next = start + page.count
        let hasMore = next < items.count
        let afterCursor = Data("\(next)".utf8).base64EncodedString()
        return Self.json(200, [
            key: page,
            "meta": ["has_more": hasMore, "after_cursor": hasMore ? afterCursor : NSNull(), "before_cursor": start > 0 ? Data("\(start)".utf8).base64EncodedString() : NSNull()] as Object,
            "links": ["next": hasMore ? "\(base)\(path)?page[size]=\(size)&page[after]=\(afterCursor)" : NSNull(), "prev": NSNull()] as Object,
        ])
    }

    /// Write endpoints (the target side); defined in ZendeskEmulatorWrites.swift.
    func routeWrite(method: String, path: String, segments: [String], query: [String: String], body: Data) -> Response? {
        writeRoute(method: method, path: path, segments: segments, query: query, body: body)
    }
}

/// Collects a request, hands it to the emulator, writes the answer (keep-alive).
final class EmulatorHTTPHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Weak: the server must not keep the emulator alive (it would then be released on an event loop thread).
    weak var emulator: ZendeskEmulator?
    private var head: HTTPRequestHead?
    private var body = Data()

    init(emulator: ZendeskEmulator) { self.emulator = emulator }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = Data()
        case .body(var buffer):
            if let bytes = buffer.readBytes(length: buffer.readableBytes) { body.append(contentsOf: bytes) }
        case .end:
            guard let head else { return }
            guard let emulator else { context.close(promise: nil); return }
            let response = emulator.handle(method: head.method.rawValue, uri: head.uri, headers: head.headers, body: body)
            var headers = HTTPHeaders()
            for (name, value) in response.headers { headers.add(name: name, value: value) }
            headers.replaceOrAdd(name: "Content-Length", value: "\(response.body.count)")
            let keepAlive = head.isKeepAlive
            if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: HTTPResponseStatus(statusCode: response.status), headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
            let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if !keepAlive { done.whenComplete { [context] _ in context.close(promise: nil) } }
            self.head = nil
        }
    }
}
