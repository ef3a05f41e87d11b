import FerryCore
import FerryHTTP
import FerryStages
import FerryZendesk
import FerryZendeskAPI
import Foundation
import Testing

/// Helpers shared by the zendesk-api tests: an emulator serving the sample
/// export, a client for it, and a stage folder to extract into.
enum ZendeskTestKit {
    /// Runs a test's synchronous body on a thread of its own. The stages wait for
    /// API requests that run on Swift's concurrency pool (`APIClient.sendBlocking`);
    /// blocking a pool thread with that wait, while other suites' tests hold the
    /// others, would deadlock a small machine. (A failed expectation in the body
    /// fails the run, attributed to test «unknown»: the thread has no test context.)
    static func onThread(_ body: @escaping @Sendable () throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            let thread = Thread {
                do { try body(); continuation.resume() } catch { continuation.resume(throwing: error) }
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("samples/zendesk-export")

    /// `limitPerMinute`: the account's limit the emulator announces and enforces
    /// (the connector paces to the lower of it and its own setting).
    static func emulator(tickets: Int? = nil, limitPerMinute: Int = 100_000) throws -> ZendeskEmulator {
        let emulator = ZendeskEmulator()
        emulator.limitPerMinute = limitPerMinute
        try emulator.start()
        try emulator.load(export: samples)
        if let tickets {
            emulator.lock.lock()
            emulator.tickets = Array(emulator.tickets.prefix(tickets))
            emulator.lock.unlock()
        }
        return emulator
    }

    static func settings(_ emulator: ZendeskEmulator, requestsPerMinute: Int = 60_000, concurrency: Int = 4) -> ZendeskAPISettings {
        // Page size 50: the 200 sample tickets take several pages of every incremental export.
        ZendeskAPISettings(url: emulator.base, requestsPerMinute: requestsPerMinute, incrementalRequestsPerMinute: requestsPerMinute,
                           maxConcurrency: concurrency, timeoutSeconds: 10, retries: 6, pageSize: 50)
    }

    static func client(_ settings: ZendeskAPISettings) throws -> ZendeskClient {
        let (credentials, scheme) = try ZendeskCredentials.resolve(settings, file: nil, environment: [
            settings.emailEnv: "admin@example.com", settings.tokenEnv: "test-token",
        ])
        return ZendeskClient(settings: settings, credentials: credentials, scheme: scheme)
    }

    static func source(_ emulator: ZendeskEmulator, folder: TestFolder, requestsPerMinute: Int = 60_000, concurrency: Int = 4) throws -> ZendeskAPISource {
        let settings = settings(emulator, requestsPerMinute: requestsPerMinute, concurrency: concurrency)
        return ZendeskAPISource(settings: settings, client: try client(settings), spool: folder.url.appendingPathComponent("spool"))
    }

    static func context(_ folder: TestFolder, stages: String = "stages", source: SourceSettings = .init()) -> PipelineContext {
        var config = PipelineConfig()
        config.source = source
        config.bundle.partRecords = 200
        return PipelineContext(config: config, baseDirectory: folder.url, stagesRoot: folder.url.appendingPathComponent(stages))
    }

    static func extract(_ folder: TestFolder, stages: String = "stages", source: SourceConnector, mode: ExtractMode = .full) throws -> StageResult {
        try ExtractStage(context: context(folder, stages: stages), reporter: Reporter(stage: "extract", quiet: true)).run(source: source, mode: mode)
    }

    /// Every record line of a stage's parts by member (rejects and other outcome members apart), sorted; and the blobs' digests.
    static func records(_ folder: TestFolder, stages: String = "stages", stage: String = "extract") throws -> (members: [String: [String]], blobs: Set<String>, rejects: [Reject]) {
        let directory = folder.url.appendingPathComponent(stages).appendingPathComponent(stage)
        let parts = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("part-") }.sorted()
        var members: [String: [String]] = [:]
        var blobs: Set<String> = []
        var rejects: [Reject] = []
        for part in parts {
            let reader = try BundleReader(url: directory.appendingPathComponent(part))
            try reader.read(line: { member, line, _ in
                if member == Reject.memberName { rejects.append(try JSONDecoder().decode(Reject.self, from: line)); return }
                guard EntityType(memberName: member) != nil else { return }
                members[member, default: []].append(String(decoding: line, as: UTF8.self))
            }, blob: { blob in blobs.insert(blob.sha256) })
        }
        for key in members.keys { members[key]!.sort() }
        return (members, blobs, rejects)
    }

    /// The ids in a member's lines.
    static func ids(_ lines: [String]?) -> [String] {
        (lines ?? []).compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["id"].map { "\($0)" }
        }
    }
}

@Suite(.serialized)
struct ZendeskAPISourceTests {
    /// The API gives the same canonical records as the file export of the same
    /// data. The export's 4 deliberately broken lines (2 cut-off objects, an id
    /// that is not a number, an array) cannot exist in an API: the emulator does
    /// not serve them, and the comparison leaves the file extract's rejects aside.
    @Test func emulatorExtractEqualsFileExtract() async throws { try await ZendeskTestKit.onThread { try Self.emulatorExtractEqualsFileExtractBody() } }

    static func emulatorExtractEqualsFileExtractBody() throws {
        let folder = try TestFolder("zd-api-equal")
        let emulator = try ZendeskTestKit.emulator()
        defer { emulator.stop() }

        let fileResult = try ZendeskTestKit.extract(folder, stages: "file", source: ZendeskExportSource(root: ZendeskTestKit.samples))
        let apiResult = try ZendeskTestKit.extract(folder, stages: "api", source: try ZendeskTestKit.source(emulator, folder: folder))
        let file = try ZendeskTestKit.records(folder, stages: "file")
        let api = try ZendeskTestKit.records(folder, stages: "api")

        #expect(file.rejects.count == 4)
        #expect(api.rejects.isEmpty, "\(api.rejects.map(\.reason))")
        #expect(Set(api.members.keys) == Set(file.members.keys))
        for (member, lines) in file.members {
            let got = api.members[member] ?? []
            #expect(got.count == lines.count, "\(member): \(got.count) from the API, \(lines.count) from the file")
            let missing = Set(lines).subtracting(got)
            #expect(missing.isEmpty, "\(member): \(missing.count) record(s) differ, e.g. \(missing.first?.prefix(300) ?? "")")
        }
        #expect(api.blobs == file.blobs)
        #expect(fileResult.counts.total.written == apiResult.counts.total.written)
        #expect(emulator.recordedViolations.isEmpty, "\(emulator.recordedViolations)")
        // Attachments came through the redirect to the file storage, without credentials.
        #expect(emulator.requests.filter { $0.path.hasPrefix("/cdn/") }.count == 25 || emulator.requests.filter { $0.path.hasPrefix("/cdn/") }.count == 26)
    }

    /// A delta starts each incremental export from the cursor the last complete
    /// run stored, and brings only what changed since.
    @Test func deltaViaCursorPicksUpOnlyChangedRecords() async throws { try await ZendeskTestKit.onThread { try Self.deltaViaCursorPicksUpOnlyChangedRecordsBody() } }

    static func deltaViaCursorPicksUpOnlyChangedRecordsBody() throws {
        let folder = try TestFolder("zd-api-delta")
        let emulator = try ZendeskTestKit.emulator(tickets: 30)
        defer { emulator.stop() }
        _ = try ZendeskTestKit.extract(folder, source: try ZendeskTestKit.source(emulator, folder: folder))
        let full = try ZendeskTestKit.records(folder)
        #expect(ZendeskTestKit.ids(full.members["tickets.ndjson"]).count == 30)
        let checkpoint = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.url.appendingPathComponent("stages/extract/checkpoint.json"))) as? [String: Any]
        let lastPosition = ((checkpoint?["parts"] as? [[String: Any]])?.last?["position"] as? [String: String]) ?? [:]
        #expect(lastPosition["end.tickets"] != nil && lastPosition["end.users"] != nil && lastPosition["end.organizations"] != nil)

        // An agent answers ticket 7 and a user changes their phone; nothing else changes.
        let later = Int64(Date().timeIntervalSince1970) - 120
        let ticketID: Int64 = emulator.tickets.compactMap(ZendeskEmulator.id).sorted()[6]
        emulator.addComment(ticket: ticketID, ["id": 99_000_001, "type": "Comment", "author_id": 2011, "body": "Fixed now.", "html_body": "<p>Fixed now.</p>",
                                               "plain_body": "Fixed now.", "public": true, "created_at": ZendeskEmulator.iso(later), "attachments": []])
        emulator.touch("tickets", id: ticketID, at: later, changes: ["status": "solved"])
        emulator.touch("users", id: 2005, at: later, changes: ["phone": "555 0199"])
        let before = emulator.requests.count

        _ = try ZendeskTestKit.extract(folder, source: try ZendeskTestKit.source(emulator, folder: folder), mode: .delta)
        let delta = try ZendeskTestKit.records(folder)
        #expect(ZendeskTestKit.ids(delta.members["tickets.ndjson"]) == ["\(ticketID)"])
        #expect(ZendeskTestKit.ids(delta.members["users.ndjson"]) == ["2005"])
        #expect(delta.members["organizations.ndjson"] == nil)
        #expect(delta.members["groups.ndjson"] == nil && delta.members["kb_articles.ndjson"] == nil)
        let oldComments = full.members["comments.ndjson"]!.filter { $0.contains("\"ticket_id\":\"\(ticketID)\"") }.count
        #expect(delta.members["comments.ndjson"]?.count == oldComments + 1)
        #expect(delta.members["comments.ndjson"]?.contains { $0.contains("Fixed now.") } == true)
        // The incremental exports continued from the stored cursors, not from start_time.
        let incremental = emulator.requests.dropFirst(before).filter { $0.path.hasPrefix("/api/v2/incremental/") }
        #expect(incremental.filter { $0.path.contains("cursor.json") }.allSatisfy { $0.query["cursor"] != nil && $0.query["start_time"] == nil })
        #expect(incremental.filter { $0.path.hasSuffix("organizations.json") }.allSatisfy { $0.query["start_time"] == lastPosition["end.organizations"] })
        // Only the changed ticket's comments and audits were fetched.
        #expect(emulator.requests.dropFirst(before).filter { $0.path.hasSuffix("/comments.json") }.count == 1)
        #expect(emulator.recordedViolations.isEmpty, "\(emulator.recordedViolations)")
    }

    /// 429s (with Retry-After) and 5xx on chosen requests: nothing lost, nothing
    /// twice, and the requests never come faster than the configured pace.
    @Test func ratelimitsAndServerErrorsSurvivedAtTheConfiguredPace() async throws { try await ZendeskTestKit.onThread { try Self.ratelimitsAndServerErrorsSurvivedAtTheConfiguredPaceBody() } }

    static func ratelimitsAndServerErrorsSurvivedAtTheConfiguredPaceBody() throws {
        let folder = try TestFolder("zd-api-rate")
        let emulator = try ZendeskTestKit.emulator(tickets: 12)
        defer { emulator.stop() }
        emulator.lock.lock()
        emulator.articles = Array(emulator.articles.prefix(3))
        emulator.injected = [3: 429, 9: 503, 16: 500, 24: 429, 31: 502]
        emulator.lock.unlock()
        let perMinute = 1200
        let source = try ZendeskTestKit.source(emulator, folder: folder, requestsPerMinute: perMinute)
        let result = try ZendeskTestKit.extract(folder, source: source)
        let got = try ZendeskTestKit.records(folder)

        let ticketIDs = ZendeskTestKit.ids(got.members["tickets.ndjson"])
        #expect(ticketIDs.count == 12 && Set(ticketIDs).count == 12)
        let expectedComments = emulator.tickets.compactMap(ZendeskEmulator.id).reduce(0) { $0 + (emulator.comments[$1]?.count ?? 0) }
        let commentIDs = ZendeskTestKit.ids(got.members["comments.ndjson"])
        #expect(commentIDs.count == expectedComments && Set(commentIDs).count == expectedComments)
        let expectedAttachments = emulator.tickets.compactMap(ZendeskEmulator.id).reduce(0) { total, id in
            total + (emulator.comments[id] ?? []).reduce(0) { $0 + (($1["attachments"] as? [Any])?.count ?? 0) }
        } + emulator.articles.compactMap(ZendeskEmulator.id).reduce(0) { $0 + (emulator.articleAttachments[$1]?.count ?? 0) }
        let attachmentIDs = ZendeskTestKit.ids(got.members["attachments.ndjson"])
        #expect(attachmentIDs.count == expectedAttachments && Set(attachmentIDs).count == expectedAttachments)
        #expect(result.counts.total.rejected == 0)

        let log = emulator.requests.filter { !$0.path.hasPrefix("/cdn/") }
        #expect(log.filter(\.injected).count == 5)
        // Never faster than the pace: in any one-second window at most perMinute/60 (+1 for the window's edge).
        let times = log.map(\.time)
        let perSecond = perMinute / 60
        for (i, t) in times.enumerated() {
            let inWindow = times[i...].prefix { $0 < t + 1 }.count
            #expect(inWindow <= perSecond + 1, "\(inWindow) requests within one second from \(t)")
        }
        // A 429's Retry-After holds every request back, not only the one that got it.
        for hit in log where hit.injected && hit.status == 429 {
            let soon = log.filter { $0.time > hit.time && $0.time < hit.time + 0.9 }
            #expect(soon.isEmpty, "\(soon.count) request(s) within Retry-After of a 429")
        }
        #expect(emulator.recordedViolations.isEmpty, "\(emulator.recordedViolations)")
    }

    /// The pace follows the account's limit when the server announces a lower
    /// one, and an exhausted quota waits for the reset.
    @Test func pacerFollowsTheRateLimitHeaders() async throws {
        let pacer = RatePacer(requestsPerMinute: 700)
        await pacer.observe(status: 200, headers: ["x-rate-limit": "400", "x-rate-limit-remaining": "399"])
        #expect(await pacer.requestsPerMinute == 400)
        await pacer.observe(status: 200, headers: ["ratelimit-limit": "1000", "ratelimit-remaining": "10", "ratelimit-reset": "5"])
        #expect(await pacer.requestsPerMinute == 400)
        let start = Date()
        await pacer.observe(status: 429, headers: ["retry-after": "1"])
        await pacer.waitTurn()
        #expect(Date().timeIntervalSince(start) >= 0.95)
    }

    /// Credentials: e-mail and API token (basic `email/token:TOKEN`), or an OAuth token (Bearer), never printed.
    @Test func credentialsFromTheEnvironment() throws {
        let settings = ZendeskAPISettings(subdomain: "acme")
        #expect(settings.baseURL == "https://acme.zendesk.com")
        let (basic, _) = try ZendeskCredentials.resolve(settings, file: nil, environment: ["FERRY_ZENDESK_EMAIL": "a@example.com", "FERRY_ZENDESK_API_TOKEN": "secret"])
        #expect(basic.authorization() == "Basic " + Data("a@example.com/token:secret".utf8).base64EncodedString())
        #expect(!basic.description.contains("secret"))
        let (oauth, scheme) = try ZendeskCredentials.resolve(settings, file: nil, environment: ["FERRY_ZENDESK_OAUTH_TOKEN": "bearer-secret", "FERRY_ZENDESK_EMAIL": "a@example.com"])
        #expect(oauth.authorization(tokenScheme: scheme) == "Bearer bearer-secret")
        #expect(throws: FerryError.self) { try ZendeskCredentials.resolve(settings, file: nil, environment: [:]) }
    }

    /// pipeline.yml: source.zendesk and target.zendesk, checked like every other section.
    @Test func pipelineSettings() throws {
        let folder = try TestFolder("zd-config")
        let url = try folder.write("pipeline.yml", "version: 1\nsource:\n  type: zendesk-api\n  zendesk:\n    subdomain: acme\n    requests_per_minute: 300\ntarget:\n  type: zendesk-api\n  zendesk:\n    url: http://127.0.0.1:9\n")
        let config = try PipelineConfig.load(from: url)
        #expect(config.source.zendesk?.baseURL == "https://acme.zendesk.com")
        #expect(config.source.zendesk?.requestsPerMinute == 300)
        #expect(config.source.zendesk?.incrementalRequestsPerMinute == 10)
        #expect(config.target.zendesk?.baseURL == "http://127.0.0.1:9")
        let misspelt = try folder.write("bad.yml", "version: 1\nsource:\n  type: zendesk-api\n  zendesk:\n    subdomain: acme\n    request_per_minute: 300\n")
        #expect(throws: FerryError.self) { try PipelineConfig.load(from: misspelt) }
        let missing = try folder.write("missing.yml", "version: 1\nsource:\n  type: zendesk-api\n")
        #expect(throws: FerryError.self) { try PipelineConfig.load(from: missing) }
        let tooFast = try folder.write("fast.yml", "version: 1\nsource:\n  type: zendesk-api\n  zendesk:\n    subdomain: acme\n    requests_per_minute: 0\n")
        #expect(throws: FerryError.self) { try PipelineConfig.load(from: tooFast) }
    }
}

/// `source.type: zendesk-api` in pipeline.yml, the way ferry-extract opens it (credentials from a file).
@Suite(.serialized)
struct ZendeskAPIConfiguredSourceTests {
    @Test func extractStageOpensTheConfiguredSource() async throws { try await ZendeskTestKit.onThread { try Self.extractStageOpensTheConfiguredSourceBody() } }

    static func extractStageOpensTheConfiguredSourceBody() throws {
        let folder = try TestFolder("zd-api-config-run")
        let emulator = try ZendeskTestKit.emulator(tickets: 10)
        defer { emulator.stop() }
        let credentials = try folder.write("credentials", "email=admin@example.com\ntoken=test-token\n")
        var settings = ZendeskTestKit.settings(emulator)
        settings.credentialsFile = credentials.path
        let context = ZendeskTestKit.context(folder, source: SourceSettings(type: "zendesk-api", zendesk: settings))
        let result = try ExtractStage(context: context, reporter: Reporter(stage: "extract", quiet: true)).run()
        #expect(result.counts[.tickets].written == 10)
        #expect(result.counts[.users].written == 150)
        #expect(emulator.recordedViolations.isEmpty, "\(emulator.recordedViolations)")
        // Without credentials anywhere: a configuration error (exit 2), not a request.
        settings.credentialsFile = nil
        settings.emailEnv = "FERRY_TEST_UNSET_EMAIL_\(UUID().uuidString.prefix(8))"
        settings.tokenEnv = "FERRY_TEST_UNSET_TOKEN"
        settings.oauthTokenEnv = "FERRY_TEST_UNSET_OAUTH"
        let bare = ZendeskTestKit.context(folder, stages: "bare", source: SourceSettings(type: "zendesk-api", zendesk: settings))
        #expect(throws: FerryError.self) { try ExtractStage(context: bare, reporter: Reporter(stage: "extract", quiet: true)).run() }
    }
}
