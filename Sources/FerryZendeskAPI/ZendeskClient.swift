import FerryCore
import FerryHTTP
import Foundation

/// A JSON object as the Zendesk API sends it.
public typealias ZObject = [String: Any]

/// Keeps requests below the account's rate limit: at most `requestsPerMinute`,
/// evenly spaced (a request waits for its slot, so there are never bursts),
/// slowed further when the server says so: a lower `x-rate-limit` /
/// `ratelimit-limit` lowers the pace, `x-rate-limit-remaining: 0` (or
/// `ratelimit-remaining: 0`) waits for `ratelimit-reset`, and a 429's
/// `Retry-After` holds every request back, not only the one that got it.
public actor RatePacer {
    public private(set) var requestsPerMinute: Double
    private var next: Double = 0
    /// No request starts before this (a 429's Retry-After, an exhausted quota).
    private var holdUntil: Double = 0
    private let clock: @Sendable () -> Double

    public init(requestsPerMinute: Int, clock: @escaping @Sendable () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }) {
        self.requestsPerMinute = Double(max(1, requestsPerMinute))
        self.clock = clock
    }

    /// Seconds between two requests.
    public var interval: Double { 60 / requestsPerMinute }

    /// Waits for this request's slot.
    public func waitTurn() async {
        while true {
            let now = clock()
            if holdUntil > now {
                try? await Task.sleep(nanoseconds: UInt64((holdUntil - now) * 1e9))
                continue
            }
            let slot = max(now, next)
            next = slot + interval
            if slot > now { try? await Task.sleep(nanoseconds: UInt64((slot - now) * 1e9)) }
            // A hold that came while waiting (another request got a 429) applies to this one too.
            if holdUntil <= clock() { return }
        }
    }

    public func observe(status: Int, headers: [String: String]) {
        let now = clock()
        if let limit = (headers["x-rate-limit"] ?? headers["ratelimit-limit"]).flatMap(Double.init), limit > 0, limit < requestsPerMinute {
            requestsPerMinute = limit
        }
        let remaining = (headers["x-rate-limit-remaining"] ?? headers["ratelimit-remaining"]).flatMap(Double.init)
        if remaining == 0, let reset = headers["ratelimit-reset"].flatMap(Double.init) {
            holdUntil = max(holdUntil, now + min(reset, 120))
        }
        if status == 429, let wait = RetryPolicy.parseRetryAfter(headers["retry-after"]) {
            holdUntil = max(holdUntil, now + min(wait, 120))
        }
    }
}

/// A transport that waits for the pacer's slot before every attempt (retries included).
/// Requests to the incremental exports also wait for `incremental`, their own, lower limit.
public struct PacedTransport: HTTPTransport {
    let base: any HTTPTransport
    let pacer: RatePacer
    let incremental: RatePacer?

    public init(base: any HTTPTransport = AsyncHTTPTransport(), pacer: RatePacer, incremental: RatePacer? = nil) {
        self.base = base; self.pacer = pacer; self.incremental = incremental
    }

    public func send(_ request: HTTPRequestSpec, authorization: String?, timeout: Double) async throws -> HTTPResponseData {
        if let incremental, request.url.contains("/api/v2/incremental/") { await incremental.waitTurn() }
        await pacer.waitTurn()
        let response = try await base.send(request, authorization: authorization, timeout: timeout)
        await pacer.observe(status: response.status, headers: response.headers)
        return response
    }
}

/// Zendesk credentials: an agent's e-mail with an API token (HTTP basic,
/// `email/token:TOKEN`), or an OAuth access token (Bearer).
public enum ZendeskCredentials {
    /// From `credentials_file` (`email=` and `token=` lines, or `oauth_token=`),
    /// else the environment (the OAuth variable wins over e-mail and token).
    public static func resolve(_ settings: ZendeskAPISettings, file: URL?,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> (Credentials, scheme: String) {
        var values: [String: String] = [:]
        var origin: String
        if let file {
            guard let data = FileManager.default.contents(atPath: file.path) else {
                throw FerryError.config(file: file.path, detail: "the credentials file cannot be read",
                                        hint: "create it with `email=...` and `token=...` lines (or `oauth_token=...`), readable only by you (chmod 600)")
            }
            for raw in String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline) {
                let line = raw.trimmingCharacters(in: .whitespaces)
                guard !line.isEmpty, !line.hasPrefix("#"), let equals = line.firstIndex(of: "=") else { continue }
                values[line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()] = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            }
            origin = "file \(file.path)"
        } else {
            values["oauth_token"] = environment[settings.oauthTokenEnv]
            values["email"] = environment[settings.emailEnv]
            values["token"] = environment[settings.tokenEnv]
            origin = "environment"
        }
        if let oauth = values["oauth_token"], !oauth.isEmpty {
            return (Credentials(.token(oauth), origin: file == nil ? "environment \(settings.oauthTokenEnv)" : origin), "Bearer")
        }
        if let email = values["email"], !email.isEmpty, let token = values["token"], !token.isEmpty {
            if file == nil { origin = "environment \(settings.emailEnv)/\(settings.tokenEnv)" }
            return (Credentials(.basic(user: "\(email)/token", password: token), origin: origin), "Bearer")
        }
        if let file {
            throw FerryError.config(file: file.path, detail: "the credentials file has neither `email=` and `token=` lines nor an `oauth_token=` line",
                                    hint: "write `email=agent@example.com` and `token=API_TOKEN` on two lines, or `oauth_token=...`")
        }
        throw FerryError.config(file: "pipeline.yml", detail: "no Zendesk credentials: neither \(settings.oauthTokenEnv) nor \(settings.emailEnv) and \(settings.tokenEnv) are set, and no credentials_file is named",
                                hint: "export \(settings.emailEnv)=agent@example.com and \(settings.tokenEnv)=... (an API token from Admin Center > Apps and integrations > Zendesk API), or \(settings.oauthTokenEnv)=...")
    }
}

/// The Zendesk REST API, synchronous, over `APIClient` (bounded concurrency,
/// timeouts, jittered retries honouring Retry-After) and a `RatePacer`.
/// 401 and 403 stop the stage (`FerryError.remote`); 404 is nil for GETs.
public final class ZendeskClient: @unchecked Sendable {
    public let base: String
    public let api: APIClient
    /// Attachment downloads redirected to another host (Zendesk's file CDN): no credentials, no pacing.
    let plain: APIClient
    /// The same pace and credentials, a single attempt: for requests that must not be repeated blindly (imports).
    let once: APIClient
    public let pacer: RatePacer
    public let service: String

    public init(settings: ZendeskAPISettings, credentials: Credentials, scheme: String, transport: any HTTPTransport = AsyncHTTPTransport(),
                log: @escaping @Sendable (String) -> Void = { _ in }) {
        base = settings.baseURL
        service = "Zendesk at \(base)"
        pacer = RatePacer(requestsPerMinute: settings.requestsPerMinute)
        let incremental = RatePacer(requestsPerMinute: settings.incrementalRequestsPerMinute)
        let http = HTTPSettings(maxConcurrency: settings.maxConcurrency, timeout: settings.timeoutSeconds, retry: RetryPolicy(attempts: settings.retries))
        api = APIClient(service: service, credentials: credentials, settings: http,
                        transport: PacedTransport(base: transport, pacer: pacer, incremental: incremental), tokenScheme: scheme, log: log)
        once = APIClient(service: service, credentials: credentials,
                         settings: HTTPSettings(maxConcurrency: settings.maxConcurrency, timeout: settings.timeoutSeconds, retry: RetryPolicy(attempts: 1)),
                         transport: PacedTransport(base: transport, pacer: pacer, incremental: incremental), tokenScheme: scheme, log: log)
        plain = APIClient(service: "attachment storage of \(service)", credentials: nil, settings: http, transport: transport, log: log)
    }

    public func url(_ path: String, _ query: [(String, String)] = []) -> String {
        var result = path.hasPrefix("http") ? path : base + (path.hasPrefix("/") ? path : "/" + path)
        if !query.isEmpty {
            var allowed = CharacterSet.urlQueryAllowed
            allowed.remove(charactersIn: "&=+?/[]")
            result += (result.contains("?") ? "&" : "?") + query.map {
                "\($0.0.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)"
            }.joined(separator: "&")
        }
        return result
    }

    public struct Reply: @unchecked Sendable {
        public var status: Int
        public var headers: [String: String]
        public var json: Any?
        public var body: Data
        public var object: ZObject? { json as? ZObject }
        public var ok: Bool { (200..<300).contains(status) }
        /// Zendesk's error body: {"error": "RecordInvalid", "description": "...", "details": {...}}.
        public var message: String {
            guard let object else { return String(decoding: body.prefix(300), as: UTF8.self) }
            var parts: [String] = []
            if let error = object["error"] { parts.append(error is String ? "\(error)" : (try? String(decoding: JSONSerialization.data(withJSONObject: error), as: UTF8.self)) ?? "") }
            if let description = object["description"] { parts.append("\(description)") }
            if let details = object["details"], let data = try? JSONSerialization.data(withJSONObject: details, options: [.sortedKeys]) {
                parts.append(String(decoding: data.prefix(300), as: UTF8.self))
            }
            return parts.isEmpty ? String(decoding: body.prefix(300), as: UTF8.self) : parts.joined(separator: ": ")
        }
    }

    func spec(_ method: String, _ path: String, query: [(String, String)], body: Any?) throws -> HTTPRequestSpec {
        var headers = [("Accept", "application/json")]
        var data: Data?
        if let body {
            data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
            headers.append(("Content-Type", "application/json"))
        }
        return HTTPRequestSpec(method: method, url: url(path, query), headers: headers, body: data)
    }

    func check(_ spec: HTTPRequestSpec, _ response: HTTPResponseData) throws -> Reply {
        let json = response.body.isEmpty ? nil : try? JSONSerialization.jsonObject(with: response.body, options: [.fragmentsAllowed])
        let reply = Reply(status: response.status, headers: response.headers, json: json, body: response.body)
        switch response.status {
        case 401:
            throw FerryError.remote(service: service, detail: "\(spec.summary): the credentials were refused (HTTP 401)",
                                    hint: "check the e-mail and API token (or OAuth token) in the environment or the credentials file named in pipeline.yml, and that token access is enabled in Admin Center")
        case 403:
            throw FerryError.remote(service: service, detail: "\(spec.summary): permission denied (HTTP 403): \(reply.message)",
                                    hint: "a migration needs an admin's credentials (Ticket Import and the incremental exports are admin-only)")
        default:
            return reply
        }
    }

    public func request(_ method: String, _ path: String, query: [(String, String)] = [], body: Any? = nil) throws -> Reply {
        let spec = try spec(method, path, query: query, body: body)
        return try check(spec, try api.sendBlocking(spec))
    }

    public func requestAsync(_ method: String, _ path: String, query: [(String, String)] = [], body: Any? = nil) async throws -> Reply {
        let spec = try spec(method, path, query: query, body: body)
        return try check(spec, try await api.send(spec))
    }

    /// One attempt, no retry; a retryable failure (429, 5xx, timeout) throws `FerryError.unavailable`.
    public func requestOnce(_ method: String, _ path: String, query: [(String, String)] = [], body: Any? = nil) throws -> Reply {
        let spec = try spec(method, path, query: query, body: body)
        return try check(spec, try once.sendBlocking(spec))
    }

    /// Raw bytes upload (`/api/v2/uploads?filename=`), streamed from `file`.
    public func upload(_ path: String, query: [(String, String)], file: URL, contentType: String) throws -> Reply {
        let spec = HTTPRequestSpec(method: "POST", url: url(path, query), headers: [("Accept", "application/json"), ("Content-Type", contentType)],
                                   fileBody: try HTTPFileBody(file: file))
        return try check(spec, try api.sendBlocking(spec))
    }

    /// A multipart/form-data POST (Help Center article attachments: text
    /// `fields`, then one file part), sent once: a retried upload could attach
    /// the file twice, so the caller looks for it before sending again. A
    /// retryable answer (429, 5xx) throws `FerryError.unavailable`.
    /// The file's bytes are streamed from `file`, between the form's other parts.
    public func uploadFormOnce(_ path: String, fields: [(String, String)], fileField: String, fileName: String,
                               contentType: String, file: URL) throws -> Reply {
        let boundary = "ferry-\(UUID().uuidString)"
        var prefix = Data()
        func line(_ text: String) { prefix.append(Data((text + "\r\n").utf8)) }
        for (name, value) in fields {
            line("--\(boundary)")
            line("Content-Disposition: form-data; name=\"\(Self.formQuoted(name))\"")
            line("")
            line(value)
        }
        line("--\(boundary)")
        line("Content-Disposition: form-data; name=\"\(Self.formQuoted(fileField))\"; filename=\"\(Self.formQuoted(fileName))\"")
        line("Content-Type: \(contentType)")
        line("")
        let suffix = Data("\r\n--\(boundary)--\r\n".utf8)
        let spec = HTTPRequestSpec(method: "POST", url: url(path), headers: [("Accept", "application/json"), ("Content-Type", "multipart/form-data; boundary=\(boundary)")],
                                   fileBody: try HTTPFileBody(prefix: prefix, file: file, suffix: suffix))
        let reply = try check(spec, try once.sendBlocking(spec))
        if reply.status == 429 || reply.status >= 500 {
            throw FerryError.unavailable(service: service, detail: "POST \(path): HTTP \(reply.status)", hint: "run the load again; it resumes")
        }
        return reply
    }

    /// A name in a form part's Content-Disposition, as browsers send it: quotes and line breaks percent-encoded.
    static func formQuoted(_ text: String) -> String {
        text.replacingOccurrences(of: "\"", with: "%22").replacingOccurrences(of: "\r", with: "%0D").replacingOccurrences(of: "\n", with: "%0A")
    }

    /// GET; nil on 404.
    public func get(_ path: String, query: [(String, String)] = []) throws -> ZObject? {
        let reply = try request("GET", path, query: query)
        return try object(reply, "GET", path)
    }

    public func getAsync(_ path: String, query: [(String, String)] = []) async throws -> ZObject? {
        let reply = try await requestAsync("GET", path, query: query)
        return try object(reply, "GET", path)
    }

    private func object(_ reply: Reply, _ method: String, _ path: String) throws -> ZObject? {
        if reply.status == 404 { return nil }
        guard reply.ok, let object = reply.object else { throw unexpected(method, path, reply) }
        return object
    }

    /// Every item of a cursor-paginated list (`page[size]`, `meta.has_more`, `meta.after_cursor`).
    public func allAsync(_ path: String, key: String, pageSize: Int = 100) async throws -> [ZObject]? {
        var items: [ZObject] = []
        var after: String?
        while true {
            var query = [("page[size]", "\(min(pageSize, 100))")]
            if let after { query.append(("page[after]", after)) }
            guard let page = try await getAsync(path, query: query) else { return after == nil ? nil : items }
            items += page[key] as? [ZObject] ?? []
            let meta = page["meta"] as? ZObject
            guard meta?["has_more"] as? Bool == true, let cursor = meta?["after_cursor"] as? String else { return items }
            after = cursor
        }
    }

    /// Downloads an attachment's content_url into a temporary file (streamed:
    /// the attachment is never held whole); nil on 404. A redirect to another
    /// host (the file CDN) is followed without credentials.
    public func download(_ address: String, into directory: URL) throws -> URL? {
        var target = address
        var sameHost = true
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("download-\(UUID().uuidString)")
        // Whatever ends without the file handed over leaves no partial download behind.
        var handedOver = false
        defer { if !handedOver { try? FileManager.default.removeItem(at: file) } }
        for _ in 0..<5 {
            let spec = HTTPRequestSpec(method: "GET", url: target, responseFile: file)
            let response = sameHost ? try api.sendBlocking(spec) : try plain.sendBlocking(spec)
            if [301, 302, 303, 307, 308].contains(response.status), let location = response.headers["location"] {
                let next = location.hasPrefix("/") ? Self.origin(of: target) + location : location
                sameHost = Self.origin(of: next) == Self.origin(of: base)
                target = next
                continue
            }
            if response.status == 404 { return nil }
            guard (200..<300).contains(response.status) else {
                _ = try check(spec, response)
                throw FerryError.remote(service: service, detail: "GET \(target): HTTP \(response.status)", hint: "the attachment cannot be downloaded; run the stage again later")
            }
            if !FileManager.default.fileExists(atPath: file.path) {
                // A transport that does not stream (a test's) hands the bytes over in the response.
                try response.body.write(to: file, options: .atomic)
            }
            handedOver = true
            return file
        }
        throw FerryError.remote(service: service, detail: "GET \(address): too many redirects", hint: "the attachment URL leads nowhere")
    }

    static func origin(of address: String) -> String {
        guard let url = URL(string: address), let scheme = url.scheme, let host = url.host else { return address }
        return "\(scheme)://\(host)" + (url.port.map { ":\($0)" } ?? "")
    }

    public func unexpected(_ method: String, _ path: String, _ reply: Reply) -> FerryError {
        .remote(service: service, detail: "\(method) \(url(path)): HTTP \(reply.status): \(reply.message)",
                hint: "Zendesk refused the request; fix the data or the mapping it names, then run the stage again")
    }
}
