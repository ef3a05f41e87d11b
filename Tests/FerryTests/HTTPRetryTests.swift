@testable import FerryCore
@testable import FerryHTTP
import Foundation
import Testing

/// The HTTP layer of the API connectors: which answers are retried, how long
/// it waits (jittered backoff, Retry-After), that it gives up with exit 75,
/// that it never sends more requests at once than allowed, and that
/// credentials come from the environment or a file and are never shown.
@Suite struct HTTPRetryTests {
    /// A transport that answers from a script and records what it was sent.
    final class ScriptedTransport: HTTPTransport, @unchecked Sendable {
        enum Step { case status(Int, [String: String]), fail }
        private let lock = NSLock()
        private var steps: [Step]
        private(set) var sent: [(HTTPRequestSpec, String?)] = []
        private var running = 0
        private(set) var mostAtOnce = 0
        let delay: UInt64

        init(_ steps: [Step], delay: UInt64 = 0) { self.steps = steps; self.delay = delay }

        func send(_ request: HTTPRequestSpec, authorization: String?, timeout: Double) async throws -> HTTPResponseData {
            let step: Step = lock.withLock {
                sent.append((request, authorization))
                running += 1; mostAtOnce = max(mostAtOnce, running)
                return steps.isEmpty ? .status(200, [:]) : steps.removeFirst()
            }
            if delay > 0 { try? await Task.sleep(nanoseconds: delay) }
            lock.withLock { running -= 1 }
            switch step {
            case .status(let code, let headers): return HTTPResponseData(status: code, headers: headers, body: Data("{}".utf8))
            case .fail: throw HTTPTransportError.connection("connection refused")
            }
        }
    }

    final class Waits: @unchecked Sendable {
        let lock = NSLock()
        var seconds: [Double] = []
        func add(_ value: Double) { lock.withLock { seconds.append(value) } }
    }

    func client(_ transport: ScriptedTransport, attempts: Int = 4, concurrency: Int = 2, waits: Waits = Waits()) -> APIClient {
        APIClient(service: "Test server", credentials: Credentials(.basic(user: "u", password: "s3cret"), origin: "test"),
                  settings: HTTPSettings(maxConcurrency: concurrency, timeout: 5, retry: RetryPolicy(attempts: attempts, baseDelay: 1, maxDelay: 8)),
                  transport: transport, sleeper: { waits.add($0) }, jitter: { 0.5 })
    }

    // The tests run on Swift's cooperative pool, so they call the async API; the stages call
    // its blocking twins (sendBlocking, mapBlocking) from the main thread.

    @Test func retriesRetryableAnswersAndConnectionErrorsThenSucceeds() async throws {
        let transport = ScriptedTransport([.status(503, [:]), .fail, .status(429, ["retry-after": "7"]), .status(201, [:])])
        let waits = Waits()
        let response = try await client(transport, attempts: 5, waits: waits).send(HTTPRequestSpec(method: "POST", url: "http://x/ticket"))
        #expect(response.status == 201)
        #expect(transport.sent.count == 4)
        // Jittered exponential backoff (half of 1, 2), then the server's Retry-After.
        #expect(waits.seconds == [0.5, 1.0, 7.0])
        // Basic auth is added by the client, not part of the request (which is what gets logged).
        #expect(transport.sent.allSatisfy { $0.1 == "Basic " + Data("u:s3cret".utf8).base64EncodedString() })
        #expect(transport.sent.allSatisfy { !$0.0.headers.contains { $0.0.lowercased() == "authorization" } })
    }

    @Test func clientErrorsAreNotRetried() async throws {
        for status in [400, 401, 404, 409] {
            let transport = ScriptedTransport([.status(status, [:])])
            #expect(try await client(transport).send(HTTPRequestSpec(method: "GET", url: "http://x/a")).status == status)
            #expect(transport.sent.count == 1)
        }
    }

    @Test func givesUpWithExit75NamingTheRequestButNotTheSecret() async throws {
        let transport = ScriptedTransport([.fail, .fail, .fail])
        do {
            _ = try await client(transport, attempts: 3).send(HTTPRequestSpec(method: "GET", url: "http://x/REST/2.0/ticket/5"))
            Issue.record("expected an error")
        } catch let error as FerryError {
            #expect(error.exitStatus == .tryAgainLater)
            #expect(error.description.contains("GET http://x/REST/2.0/ticket/5"))
            #expect(error.description.contains("3 attempt"))
            #expect(!error.description.contains("s3cret"))
        }
        #expect(transport.sent.count == 3)
    }

    @Test func backoffIsCappedAndRetryAfterParsed() {
        let policy = RetryPolicy(attempts: 10, baseDelay: 0.5, maxDelay: 4, maxRetryAfter: 60)
        #expect(policy.delay(retry: 1, retryAfter: nil, jitter: 1) == 0.5)
        #expect(policy.delay(retry: 3, retryAfter: nil, jitter: 1) == 2)
        #expect(policy.delay(retry: 9, retryAfter: nil, jitter: 1) == 4)
        #expect(policy.delay(retry: 9, retryAfter: nil, jitter: 0) == 0)
        #expect(policy.delay(retry: 1, retryAfter: 600, jitter: 0.3) == 60)
        #expect(RetryPolicy.parseRetryAfter("120") == 120)
        let now = Date(timeIntervalSince1970: 1_445_412_480)   // Wed, 21 Oct 2015 07:28:00 GMT
        #expect(RetryPolicy.parseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now: now) == 30)
        #expect(RetryPolicy.parseRetryAfter("soon") == nil)
        #expect(RetryPolicy.isRetryable(status: 429) && RetryPolicy.isRetryable(status: 502) && !RetryPolicy.isRetryable(status: 404))
    }

    @Test func neverMoreRequestsAtOnceThanAllowed() async throws {
        let transport = ScriptedTransport([], delay: 20_000_000)
        let api = client(transport, concurrency: 3)
        // Twelve callers at once: the client lets three through at a time.
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<12 { group.addTask { try await api.send(HTTPRequestSpec(method: "GET", url: "http://x/\(index)")).status } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses == Array(repeating: 200, count: 12))
        #expect(transport.mostAtOnce == 3)
        #expect(transport.sent.count == 12)
        // map keeps the input order.
        let mapped = try await api.map(Array(0..<7)) { $0 * 2 }
        #expect(mapped == [0, 2, 4, 6, 8, 10, 12])
    }

    @Test func credentialsComeFromAFileOrTheEnvironmentAndAreNeverShown() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-cred-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("rt.credentials")
        try Data("# RT\nuser=root\npassword=p@ss=word\n".utf8).write(to: file)
        let fromFile = try Credentials.resolve(file: file, userEnv: "U", passwordEnv: "P", tokenEnv: "T", environment: [:], service: "RT")
        #expect(fromFile.authorization() == "Basic " + Data("root:p@ss=word".utf8).base64EncodedString())
        #expect(!"\(fromFile)".contains("p@ss") && !String(reflecting: fromFile).contains("p@ss"))
        let token = try Credentials.resolve(file: nil, userEnv: "U", passwordEnv: "P", tokenEnv: "T", environment: ["T": "abc123", "U": "x", "P": "y"], service: "RT")
        #expect(token.authorization() == "token abc123")
        #expect(!"\(token)".contains("abc123"))
        #expect(throws: FerryError.self) {
            try Credentials.resolve(file: nil, userEnv: "U", passwordEnv: "P", tokenEnv: "T", environment: [:], service: "RT")
        }
    }
}
