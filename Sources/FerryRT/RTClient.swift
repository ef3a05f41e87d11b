import FerryCore
import FerryHTTP
import Foundation

/// A JSON object as REST2 sends it.
public typealias JSONObject = [String: Any]

/// Request Tracker's REST2 API (`<url>/REST/2.0`), synchronous, over `APIClient`
/// (bounded concurrency, timeouts, retries with backoff). Answers that retrying
/// cannot fix become typed errors: 401 and 403 stop the stage (`FerryError.remote`,
/// exit 2), 400 and 404 are returned to the caller, which decides whether the
/// record fails or the object is absent.
public final class RTClient: @unchecked Sendable {
    public let base: String
    public let api: APIClient
    public let service: String

    public init(settings: RTSettings, credentials: Credentials, log: @escaping @Sendable (String) -> Void = { _ in }) {
        var url = settings.url
        while url.hasSuffix("/") { url.removeLast() }
        base = url + "/REST/2.0"
        service = "Request Tracker at \(url)"
        api = APIClient(service: service, credentials: credentials,
                        settings: HTTPSettings(maxConcurrency: settings.maxConcurrency, timeout: settings.timeoutSeconds,
                                               retry: RetryPolicy(attempts: settings.retries)),
                        log: log)
    }

    public init(base: String, api: APIClient) {
        self.base = base; self.api = api; self.service = api.service
    }

    /// Resolves credentials as the settings say (file, else environment).
    public static func credentials(_ settings: RTSettings, file: URL?) throws -> Credentials {
        try Credentials.resolve(file: file, userEnv: settings.userEnv, passwordEnv: settings.passwordEnv,
                                tokenEnv: settings.tokenEnv, service: "Request Tracker at \(settings.url)")
    }

    public struct Reply {
        public var status: Int
        public var json: Any?
        public var text: String
        public var object: JSONObject? { json as? JSONObject }
        public var ok: Bool { (200..<300).contains(status) }
        /// RT's messages: a JSON list of strings, or {"message": …}.
        public var message: String {
            if let list = json as? [Any] { return list.map { "\($0)" }.joined(separator: "; ") }
            if let message = object?["message"] { return "\(message)" }
            return String(text.prefix(300))
        }
    }

    public func url(_ path: String, _ query: [(String, String)] = []) -> String {
        var result = path.hasPrefix("http") ? path : base + (path.hasPrefix("/") ? path : "/" + path)
        if !query.isEmpty {
            var allowed = CharacterSet.urlQueryAllowed
            allowed.remove(charactersIn: "&=+?/")
            result += (result.contains("?") ? "&" : "?") + query.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)" }.joined(separator: "&")
        }
        return result
    }

    public func request(_ method: String, _ path: String, query: [(String, String)] = [], body: Any? = nil) throws -> Reply {
        var headers = [("Accept", "application/json")]
        var data: Data?
        if let body {
            data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
            headers.append(("Content-Type", "application/json; charset=utf-8"))
        }
        let spec = HTTPRequestSpec(method: method, url: url(path, query), headers: headers, body: data)
        let response = try api.sendBlocking(spec)
        let json = response.body.isEmpty ? nil : try? JSONSerialization.jsonObject(with: response.body, options: [.fragmentsAllowed])
        let reply = Reply(status: response.status, json: json, text: response.text)
        switch response.status {
        case 401:
            throw FerryError.remote(service: service, detail: "\(spec.summary): the credentials were refused (HTTP 401)",
                                    hint: "check the user and password (or token) in the environment or the credentials file named in pipeline.yml")
        case 403:
            throw FerryError.remote(service: service, detail: "\(spec.summary): permission denied (HTTP 403): \(reply.message)",
                                    hint: "the RT user needs the rights to create and see users, queues, custom fields and tickets (SuperUser is simplest for a migration)")
        default:
            return reply
        }
    }

    /// GET; nil on 404.
    public func get(_ path: String, query: [(String, String)] = []) throws -> JSONObject? {
        let reply = try request("GET", path, query: query)
        if reply.status == 404 { return nil }
        guard reply.ok, let object = reply.object else { throw unexpected("GET", path, reply) }
        return object
    }

    /// Every item of a collection, page by page (`page`, `per_page`), with `fields`.
    public func all(_ method: String, _ path: String, query: [(String, String)] = [], body: Any? = nil, fields: [String] = []) throws -> [JSONObject] {
        var items: [JSONObject] = []
        var page = 1
        while true {
            var q = query + [("page", "\(page)"), ("per_page", "100")]
            if !fields.isEmpty { q.append(("fields", fields.joined(separator: ","))) }
            let reply = try request(method, path, query: q, body: body)
            if reply.status == 404 { return items }
            guard reply.ok, let object = reply.object else { throw unexpected(method, path, reply) }
            items += object["items"] as? [JSONObject] ?? []
            let pages = Int("\(object["pages"] ?? 1)") ?? 1
            if page >= pages || (object["items"] as? [Any])?.isEmpty != false { return items }
            page += 1
        }
    }

    public func unexpected(_ method: String, _ path: String, _ reply: Reply) -> FerryError {
        .remote(service: service, detail: "\(method) \(url(path)): HTTP \(reply.status): \(reply.message)",
                hint: "see the RT server's log; if RT rejects this data, fix it or the mapping, then run the stage again")
    }

    /// The id in a create reply ({"id": "12", …}) or a reference ({"id": …}).
    public static func id(_ value: Any?) -> Int64? {
        if let object = value as? JSONObject { return id(object["id"]) }
        if let number = value as? NSNumber { return number.int64Value }
        if let text = value as? String { return Int64(text) }
        return nil
    }

    /// A reference's id as text ({"type": "user", "id": "root"} -> "root").
    public static func ref(_ value: Any?) -> String? {
        if let object = value as? JSONObject, let id = object["id"] { return "\(id)" }
        return nil
    }

    /// A custom field's values as text. RT answers an update that set "" with a null
    /// value ([null]); null and empty values mean none.
    public static func values(_ value: Any?) -> [String] {
        (value as? [Any] ?? []).compactMap { $0 is NSNull ? nil : "\($0)" }.filter { !$0.isEmpty }
    }

    /// RT's timestamps ("2024-03-05T14:22:10Z"); "1970-01-01T00:00:00Z" means unset.
    public static func time(_ value: Any?) -> String? {
        guard let text = value as? String, !text.isEmpty, !text.hasPrefix("1970-01-01") else { return nil }
        return text
    }

    /// Canonical UTC ISO 8601 -> what RT takes on create ("2024-03-05 14:22:10").
    public static func rtTime(_ iso: String?) -> String? {
        guard let iso, iso.count >= 19 else { return nil }
        return String(iso.prefix(19)).replacingOccurrences(of: "T", with: " ")
    }
}
