import AsyncHTTPClient
import FerryCore
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// One HTTP request, as the API connectors build it. Headers never hold
/// credentials: the client adds them when it sends, so a request can be
/// logged or put in an error message safely.
public struct HTTPRequestSpec: Sendable, Equatable {
    public var method: String
    /// Absolute URL.
    public var url: String
    public var headers: [(String, String)]
    public var body: Data?
    /// A body streamed from a file (an attachment upload), instead of `body`.
    public var fileBody: HTTPFileBody?
    /// When set, a 2xx answer's body is streamed into this file (an attachment
    /// download) and the response's `body` stays empty; other answers are read as usual.
    public var responseFile: URL?

    public init(method: String, url: String, headers: [(String, String)] = [], body: Data? = nil,
                fileBody: HTTPFileBody? = nil, responseFile: URL? = nil) {
        self.method = method; self.url = url; self.headers = headers; self.body = body
        self.fileBody = fileBody; self.responseFile = responseFile
    }

    public static func == (lhs: HTTPRequestSpec, rhs: HTTPRequestSpec) -> Bool {
        lhs.method == rhs.method && lhs.url == rhs.url && lhs.body == rhs.body
            && lhs.fileBody == rhs.fileBody && lhs.responseFile == rhs.responseFile
            && lhs.headers.map { "\($0.0): \($0.1)" } == rhs.headers.map { "\($0.0): \($0.1)" }
    }

    /// "GET http://host/REST/2.0/ticket/5", for messages (no credentials, no body).
    public var summary: String { "\(method) \(url)" }
}

/// A request body read from a file while it is sent, so an attachment is never
/// held whole in memory: `prefix`, the file's bytes, then `suffix` (a
/// multipart form wraps the file so). The length is known up front
/// (Content-Length), and every attempt reads the file afresh.
public struct HTTPFileBody: Sendable, Equatable {
    public var prefix: Data
    public var file: URL
    public var suffix: Data
    /// The file's size when the body was made; a file that changes size while it is sent fails the attempt.
    public let fileSize: Int64

    public init(prefix: Data = Data(), file: URL, suffix: Data = Data()) throws {
        self.prefix = prefix; self.file = file; self.suffix = suffix
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
            fileSize = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        } catch {
            throw FerryError.io(path: file.path, detail: "cannot be read for upload: \(error.localizedDescription)")
        }
    }

    public var length: Int64 { Int64(prefix.count) + fileSize + Int64(suffix.count) }

    /// The body in chunks of at most 256 KiB.
    public var chunks: Chunks { Chunks(body: self) }

    public struct Chunks: AsyncSequence, Sendable {
        public typealias Element = ByteBuffer
        let body: HTTPFileBody

        public func makeAsyncIterator() -> Iterator { Iterator(body: body) }

        public struct Iterator: AsyncIteratorProtocol {
            let body: HTTPFileBody
            private var step = 0
            private var handle: FileHandle?
            private var read: Int64 = 0

            init(body: HTTPFileBody) { self.body = body }

            public mutating func next() async throws -> ByteBuffer? {
                while true {
                    switch step {
                    case 0:
                        step = 1
                        if !body.prefix.isEmpty { return ByteBuffer(data: body.prefix) }
                    case 1:
                        if handle == nil { handle = try FileHandle(forReadingFrom: body.file) }
                        if let data = try handle?.read(upToCount: 256 * 1024), !data.isEmpty {
                            read += Int64(data.count)
                            guard read <= body.fileSize else { throw HTTPTransportError.connection("\(body.file.path) grew while it was sent") }
                            return ByteBuffer(data: data)
                        }
                        try handle?.close()
                        handle = nil
                        guard read == body.fileSize else { throw HTTPTransportError.connection("\(body.file.path) shrank while it was sent") }
                        step = 2
                    case 2:
                        step = 3
                        if !body.suffix.isEmpty { return ByteBuffer(data: body.suffix) }
                    default:
                        return nil
                    }
                }
            }
        }
    }
}

/// A response. JSON pages are read whole; an attachment download with
/// `responseFile` is streamed to that file and `body` stays empty.
public struct HTTPResponseData: Sendable {
    public var status: Int
    /// Header names lower-cased.
    public var headers: [String: String]
    public var body: Data

    public init(status: Int, headers: [String: String] = [:], body: Data = Data()) {
        self.status = status; self.headers = headers; self.body = body
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// What actually sends a request: AsyncHTTPClient in production, a stub in tests.
/// Throws `HTTPTransportError.connection` (retried) for a failure to reach the
/// server or a reply cut off, and `.timeout` when the deadline passed.
public protocol HTTPTransport: Sendable {
    func send(_ request: HTTPRequestSpec, authorization: String?, timeout: Double) async throws -> HTTPResponseData
}

public enum HTTPTransportError: Error, Sendable, CustomStringConvertible {
    case connection(String)
    case timeout(Double)
    case tooLarge(Int)

    public var description: String {
        switch self {
        case .connection(let detail): return "connection failed: \(detail)"
        case .timeout(let seconds): return "no complete answer within \(Int(seconds)) s"
        case .tooLarge(let limit): return "the response is larger than \(limit) bytes"
        }
    }
}

/// AsyncHTTPClient, one process-wide client (connection pool) on NIO's shared
/// event loop group. It lives as long as the process, so it is never shut down.
public struct AsyncHTTPTransport: HTTPTransport {
    /// Responses read into memory larger than this are refused (downloads into a file have no limit).
    public static let maxResponseBytes = 1 << 30

    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(120))
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .enabled(limit: .ratio(1000))
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    public init() {}

    public func send(_ request: HTTPRequestSpec, authorization: String?, timeout: Double) async throws -> HTTPResponseData {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        if let authorization { outgoing.headers.replaceOrAdd(name: "Authorization", value: authorization) }
        if let file = request.fileBody {
            outgoing.body = .stream(file.chunks, length: .known(file.length))
        } else if let body = request.body {
            outgoing.body = .bytes(ByteBuffer(data: body))
        }
        let deadline = TimeAmount.milliseconds(Int64(timeout * 1000))
        do {
            let response = try await Self.client.execute(outgoing, timeout: deadline)
            var headers: [String: String] = [:]
            for header in response.headers { headers[header.name.lowercased()] = header.value }
            if let file = request.responseFile, (200..<300).contains(Int(response.status.code)) {
                try await Self.write(response.body, to: file)
                return HTTPResponseData(status: Int(response.status.code), headers: headers)
            }
            let body = try await response.body.collect(upTo: Self.maxResponseBytes)
            return HTTPResponseData(status: Int(response.status.code), headers: headers, body: Data(buffer: body))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw HTTPTransportError.timeout(timeout)
        } catch let error as NIOTooManyBytesError {
            _ = error
            throw HTTPTransportError.tooLarge(Self.maxResponseBytes)
        } catch let error as HTTPTransportError {
            throw error
        } catch {
            throw HTTPTransportError.connection(String(describing: error))
        }
    }

    /// Streams a response body into `file` (created or truncated: a retried download starts over).
    static func write(_ body: HTTPClientResponse.Body, to file: URL) async throws {
        guard FileManager.default.createFile(atPath: file.path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = try? FileHandle(forWritingTo: file) else {
            throw FerryError.io(path: file.path, detail: "cannot be created for a download")
        }
        defer { try? handle.close() }
        for try await buffer in body {
            try handle.write(contentsOf: Data(buffer: buffer))
        }
    }
}

/// How an API connector talks to its server: how many requests at once, how
/// long each may take, and how failures are retried.
public struct HTTPSettings: Sendable, Equatable {
    /// Requests in flight at once (the others wait their turn).
    public var maxConcurrency: Int
    /// Seconds a request may take, connection and whole answer included.
    public var timeout: Double
    public var retry: RetryPolicy

    public init(maxConcurrency: Int = 4, timeout: Double = 60, retry: RetryPolicy = RetryPolicy()) {
        self.maxConcurrency = max(1, maxConcurrency); self.timeout = timeout; self.retry = retry
    }
}

/// Retries with exponential backoff and full jitter, for 429, 5xx, timeouts
/// and connection errors; a `Retry-After` header (seconds or an HTTP date) is
/// honoured, up to `maxRetryAfter`.
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts in all, the first included.
    public var attempts: Int
    /// Seconds: the backoff ceiling of the first retry; doubled for each further one.
    public var baseDelay: Double
    /// Seconds: no computed backoff is longer.
    public var maxDelay: Double
    /// Seconds: a longer Retry-After is cut to this.
    public var maxRetryAfter: Double

    public init(attempts: Int = 6, baseDelay: Double = 0.5, maxDelay: Double = 30, maxRetryAfter: Double = 120) {
        self.attempts = max(1, attempts); self.baseDelay = baseDelay; self.maxDelay = maxDelay; self.maxRetryAfter = maxRetryAfter
    }

    /// Whether a response with this status is worth another try.
    public static func isRetryable(status: Int) -> Bool { status == 429 || status == 408 || (500...599).contains(status) && status != 501 }

    /// Seconds to wait before retry number `retry` (1 for the first retry).
    /// `jitter` is a random number in 0..<1. With a Retry-After, that is the
    /// wait (capped); otherwise a random wait up to base * 2^(retry-1), capped.
    public func delay(retry: Int, retryAfter: Double?, jitter: Double) -> Double {
        if let retryAfter { return min(max(0, retryAfter), maxRetryAfter) }
        let ceiling = min(maxDelay, baseDelay * pow(2, Double(max(0, retry - 1))))
        return ceiling * min(max(jitter, 0), 1)
    }

    /// A Retry-After value in seconds: "120", or an HTTP date (RFC 9110) from `now`.
    public static func parseRetryAfter(_ value: String?, now: Date = Date()) -> Double? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if let seconds = Double(value) { return max(0, seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return max(0, date.timeIntervalSince(now))
    }
}

/// Credentials for an API: a user name and password (HTTP basic) or a token.
/// They are read from environment variables or a file, never from pipeline.yml,
/// and never printed: `description` shows only which kind and where from.
public struct Credentials: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public enum Secret: Sendable {
        case basic(user: String, password: String)
        case token(String)
    }

    public let secret: Secret
    /// Where they came from ("environment FERRY_RT_USER/FERRY_RT_PASSWORD"), for messages.
    public let origin: String

    public init(_ secret: Secret, origin: String) { self.secret = secret; self.origin = origin }

    /// The Authorization header value. `tokenScheme`: RT uses "token".
    public func authorization(tokenScheme: String = "token") -> String {
        switch secret {
        case .basic(let user, let password):
            return "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
        case .token(let token):
            return "\(tokenScheme) \(token)"
        }
    }

    public var user: String? { if case .basic(let user, _) = secret { return user } else { return nil } }

    public var description: String {
        switch secret {
        case .basic(let user, _): return "user \(user) with a password (from \(origin))"
        case .token: return "a token (from \(origin))"
        }
    }

    public var debugDescription: String { description }

    /// From a file (`key=value` lines: `user` and `password`, or `token`; `#` comments),
    /// else from the environment (a token variable, else user and password variables).
    public static func resolve(file: URL?, userEnv: String, passwordEnv: String, tokenEnv: String,
                               environment: [String: String] = ProcessInfo.processInfo.environment,
                               service: String) throws -> Credentials {
        if let file {
            guard let data = FileManager.default.contents(atPath: file.path) else {
                throw FerryError.config(file: file.path, detail: "the credentials file cannot be read",
                                        hint: "create it with `user=...` and `password=...` lines (or `token=...`), readable only by you (chmod 600)")
            }
            var values: [String: String] = [:]
            for raw in String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline) {
                let line = raw.trimmingCharacters(in: .whitespaces)
                guard !line.isEmpty, !line.hasPrefix("#"), let equals = line.firstIndex(of: "=") else { continue }
                values[line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()] = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            }
            if let token = values["token"], !token.isEmpty { return Credentials(.token(token), origin: "file \(file.path)") }
            if let user = values["user"], !user.isEmpty, let password = values["password"] {
                return Credentials(.basic(user: user, password: password), origin: "file \(file.path)")
            }
            throw FerryError.config(file: file.path, detail: "the credentials file has neither a `token=` line nor `user=` and `password=` lines",
                                    hint: "write `user=NAME` and `password=SECRET` on two lines, or `token=SECRET`")
        }
        if let token = environment[tokenEnv], !token.isEmpty { return Credentials(.token(token), origin: "environment \(tokenEnv)") }
        if let user = environment[userEnv], !user.isEmpty, let password = environment[passwordEnv] {
            return Credentials(.basic(user: user, password: password), origin: "environment \(userEnv)/\(passwordEnv)")
        }
        throw FerryError.config(file: "pipeline.yml", detail: "no credentials for \(service): neither \(tokenEnv) nor \(userEnv) and \(passwordEnv) are set, and no credentials_file is named",
                                hint: "export \(userEnv)=... and \(passwordEnv)=... (or \(tokenEnv)=...), or name a file with them in credentials_file")
    }
}

/// Lets at most `limit` tasks through at once; the others wait in order.
actor ConcurrencyLimiter {
    private let limit: Int
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { self.limit = max(1, limit) }

    func acquire() async {
        if running < limit { running += 1; return }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty { running -= 1 } else { waiting.removeFirst().resume() }
    }
}

/// An API client: sends requests through a transport with credentials, a
/// concurrency bound, a deadline and retries. Stages are synchronous; they call
/// `sendBlocking`, which runs the request on Swift's concurrency pool and waits.
public final class APIClient: Sendable {
    public let service: String
    public let settings: HTTPSettings
    private let transport: any HTTPTransport
    private let authorization: String?
    private let limiter: ConcurrencyLimiter
    private let sleeper: @Sendable (Double) async -> Void
    private let jitter: @Sendable () -> Double
    private let log: @Sendable (String) -> Void

    /// `service` names the server in messages ("Request Tracker at http://…").
    /// `log` receives one line per retry (never credentials).
    public init(service: String, credentials: Credentials?, settings: HTTPSettings = HTTPSettings(),
                transport: any HTTPTransport = AsyncHTTPTransport(), tokenScheme: String = "token",
                sleeper: @escaping @Sendable (Double) async -> Void = { seconds in try? await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000)) },
                jitter: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
                log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.service = service; self.settings = settings; self.transport = transport
        self.authorization = credentials?.authorization(tokenScheme: tokenScheme)
        self.limiter = ConcurrencyLimiter(limit: settings.maxConcurrency)
        self.sleeper = sleeper; self.jitter = jitter; self.log = log
    }

    /// Sends with retries. Returns any response that is not retryable (2xx,
    /// 3xx, 4xx but 408/429), or throws `FerryError.unavailable` (exit 75) when
    /// every attempt failed with a retryable status, a timeout or a connection error.
    public func send(_ request: HTTPRequestSpec) async throws -> HTTPResponseData {
        await limiter.acquire()
        var released = false
        func release() async { if !released { released = true; await limiter.release() } }
        var lastProblem = ""
        for attempt in 1...settings.retry.attempts {
            var retryAfter: Double?
            do {
                let response = try await transport.send(request, authorization: authorization, timeout: settings.timeout)
                if !RetryPolicy.isRetryable(status: response.status) {
                    await release()
                    return response
                }
                retryAfter = RetryPolicy.parseRetryAfter(response.headers["retry-after"])
                lastProblem = "HTTP \(response.status)" + (retryAfter.map { " (Retry-After \(Int($0)) s)" } ?? "")
            } catch let error as HTTPTransportError {
                if case .tooLarge = error {
                    await release()
                    throw FerryError.remote(service: service, detail: "\(request.summary): \(error)", hint: "the object is too large to migrate through this API")
                }
                lastProblem = error.description
            } catch {
                lastProblem = String(describing: error)
            }
            guard attempt < settings.retry.attempts else { break }
            let wait = settings.retry.delay(retry: attempt, retryAfter: retryAfter, jitter: jitter())
            log("\(request.summary): \(lastProblem); retry \(attempt) of \(settings.retry.attempts - 1) in \(String(format: "%.1f", wait)) s")
            // The slot is given up while waiting, so a server asking us to slow down gets fewer requests.
            await release()
            await sleeper(wait)
            await limiter.acquire()
            released = false
        }
        await release()
        throw FerryError.unavailable(service: service, detail: "\(request.summary): \(lastProblem) after \(settings.retry.attempts) attempt(s)",
                                     hint: "check that the server runs and answers (and the URL in pipeline.yml), then run the stage again; it resumes")
    }

    /// `send`, for synchronous callers (the stages). The request runs on
    /// `BlockingBridgeExecutor`, not on Swift's cooperative pool, so a caller
    /// that is itself on the pool (a test, a task) cannot starve it.
    public func sendBlocking(_ request: HTTPRequestSpec) throws -> HTTPResponseData {
        let box = ResultBox()
        let done = DispatchSemaphore(value: 0)
        Task.detached(executorPreference: BlockingBridgeExecutor.shared) { [self] in
            do { box.set(.success(try await self.send(request))) } catch { box.set(.failure(error)) }
            done.signal()
        }
        done.wait()
        return try box.get() as! HTTPResponseData
    }

    /// Runs `body` for every element, at most `settings.maxConcurrency` at once; results in input order.
    public func map<T: Sendable, U: Sendable>(_ items: [T], _ body: @escaping @Sendable (T) async throws -> U) async throws -> [U] {
        let width = settings.maxConcurrency
        return try await withThrowingTaskGroup(of: (Int, U).self) { group in
            var results = [U?](repeating: nil, count: items.count)
            var next = 0
            while next < items.count && next < width {
                let index = next, item = items[index]
                group.addTask { (index, try await body(item)) }
                next += 1
            }
            while let (index, value) = try await group.next() {
                results[index] = value
                if next < items.count {
                    let index = next, item = items[index]
                    group.addTask { (index, try await body(item)) }
                    next += 1
                }
            }
            return results.map { $0! }
        }
    }

    /// `map`, for synchronous callers (the stages); like `sendBlocking`, never
    /// from a task on Swift's cooperative pool (it would wait for a thread it holds).
    public func mapBlocking<T: Sendable, U: Sendable>(_ items: [T], _ body: @escaping @Sendable (T) async throws -> U) throws -> [U] {
        let box = ResultBox()
        let done = DispatchSemaphore(value: 0)
        Task.detached(executorPreference: BlockingBridgeExecutor.shared) { [self] in
            do { box.set(.success(try await self.map(items, body))) } catch { box.set(.failure(error)) }
            done.signal()
        }
        done.wait()
        return try box.get() as! [U]
    }
}

/// Where the blocking wrappers run their async work: threads of a dispatch
/// queue, outside Swift's cooperative pool. A synchronous caller blocks its
/// thread until the work is done; when that thread belongs to the pool (a
/// synchronous test, code called from a task) and the work ran on the pool
/// too, a 2-core machine's two pool threads could all end up waiting for work
/// that has no thread left to run on. Child tasks inherit the preference.
final class BlockingBridgeExecutor: TaskExecutor, @unchecked Sendable {
    static let shared = BlockingBridgeExecutor()
    private let queue = DispatchQueue(label: "ferry.http.blocking-bridge", attributes: .concurrent)

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}

/// A result handed from a task to a waiting thread.
private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<Any, Error>?

    func set(_ value: Result<Any, Error>) { lock.lock(); result = value; lock.unlock() }

    func set<T>(_ value: Result<T, Error>) { set(value.map { $0 as Any }) }

    func get() throws -> Any {
        lock.lock(); defer { lock.unlock() }
        return try result!.get()
    }

}
