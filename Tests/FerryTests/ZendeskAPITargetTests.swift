import FerryCore
import FerryStages
import FerryZendeskAPI
import Foundation
import Testing

/// The sample migration loaded into the emulator through the zendesk-api target.
@Suite(.serialized)
struct ZendeskAPITargetTests {
    static let repo = ZendeskTestKit.samples.deletingLastPathComponent().deletingLastPathComponent()

    /// The repository's pipeline.yml with the emulator as target, stages in `folder`.
    static func context(_ folder: TestFolder, _ emulator: ZendeskEmulator, requestsPerMinute: Int, retries: Int = 6) throws -> PipelineContext {
        var config = try PipelineConfig.load(from: repo.appendingPathComponent("pipeline.yml"))
        config.source.path = ZendeskTestKit.samples.path
        let credentials = try folder.write("zendesk-credentials", "email=admin@example.com\ntoken=test-token\n")
        config.target = TargetSettings(type: "zendesk-api", zendesk: ZendeskAPISettings(
            url: emulator.base, credentialsFile: credentials.path, requestsPerMinute: requestsPerMinute, incrementalRequestsPerMinute: requestsPerMinute, maxConcurrency: 4, timeoutSeconds: 10, retries: retries))
        return PipelineContext(config: config, baseDirectory: repo, stagesRoot: folder.url.appendingPathComponent("stages"))
    }

    static func runUpToMap(_ context: PipelineContext) throws {
        _ = try ExtractStage(context: context, reporter: Reporter(stage: "extract", quiet: true)).run()
        _ = try DedupeStage(context: context, reporter: Reporter(stage: "dedupe", quiet: true)).run()
        _ = try MapStage(context: context, reporter: Reporter(stage: "map", quiet: true)).run()
    }

    static func objects(_ lines: [String]?) -> [[String: Any]] {
        (lines ?? []).compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    @Test func loadKeepsTimestampsAndAuthorsThrough429sAnd5xxWithoutDuplicates() async throws { try await ZendeskTestKit.onThread { try Self.loadKeepsTimestampsAndAuthorsThrough429sAnd5xxWithoutDuplicatesBody() } }

    static func loadKeepsTimestampsAndAuthorsThrough429sAnd5xxWithoutDuplicatesBody() throws {
        let folder = try TestFolder("zd-api-load")
        let emulator = ZendeskEmulator()
        emulator.limitPerMinute = 100_000
        try emulator.start()
        defer { emulator.stop() }
        let perMinute = 6000
        let context = try Self.context(folder, emulator, requestsPerMinute: perMinute)
        try Self.runUpToMap(context)

        emulator.lock.lock()
        emulator.injected = [4: 429, 9: 503, 20: 502, 33: 429, 41: 500, 57: 503]
        // The first ticket import is carried out but its answer is lost: a blind retry would import it twice.
        emulator.writes.failAfterProcessingPaths = ["/api/v2/imports/tickets/create_many.json": 1]
        emulator.lock.unlock()

        let load = LoadStage(context: context, reporter: Reporter(stage: "load", quiet: true))
        let result = try load.run()
        let mapped = try ZendeskTestKit.records(folder, stage: "map")
        let tickets = Self.objects(mapped.members["tickets.ndjson"])
        let comments = Self.objects(mapped.members["comments.ndjson"])
        let attachments = Self.objects(mapped.members["attachments.ndjson"])
        #expect(tickets.count == 200)
        #expect(result.counts[.tickets].rejected == 0, "\(result.summary)")

        let target = try load.openTarget()
        emulator.lock.lock()
        let imported = emulator.tickets
        let importedComments = emulator.comments
        let importCount = emulator.writes.importedTicketCount
        emulator.lock.unlock()
        // Every ticket once: no duplicate from the lost answer or the retries.
        #expect(importCount == tickets.count)
        #expect(Set(imported.compactMap { $0["external_id"] as? String }).count == tickets.count)

        var commentsByTicket: [String: [[String: Any]]] = [:]
        for c in comments { commentsByTicket[c["ticket_id"] as! String, default: []].append(c) }
        var checkedComments = 0
        var importedAttachments = 0
        for t in tickets {
            let sourceID = t["id"] as! String
            guard let targetID = try target.targetID(.tickets, sourceID: sourceID),
                  let z = imported.first(where: { ZendeskEmulator.id($0) == targetID }) else {
                Issue.record("ticket \(sourceID) not in the target"); continue
            }
            #expect(z["created_at"] as? String == t["created_at"] as? String, "ticket \(sourceID) created_at")
            let source = (commentsByTicket[sourceID] ?? []).sorted { ($0["created_at"] as? String ?? "", $0["id"] as! String) < ($1["created_at"] as? String ?? "", $1["id"] as! String) }
            let target = importedComments[targetID] ?? []
            #expect(source.count == target.count, "ticket \(sourceID): \(source.count) comments, \(target.count) imported")
            for (s, z) in zip(source, target) {
                let author = try (s["author_id"] as? String).flatMap { try load.openTarget().targetID(.users, sourceID: $0) }
                #expect((z["author_id"] as? NSNumber)?.int64Value == author, "comment \(s["id"]!) author")
                #expect(z["created_at"] as? String == s["created_at"] as? String)
                #expect(z["public"] as? Bool == s["public"] as? Bool)
                importedAttachments += (z["attachments"] as? [Any])?.count ?? 0
                checkedComments += 1
            }
        }
        #expect(checkedComments == comments.count)
        #expect(importedAttachments == attachments.filter { $0["parent_type"] as? String == "comment" }.count)
        #expect(emulator.requests.filter(\.injected).count >= 6)
        // The lost answer happened, and the connector looked the tickets up instead of importing them again.
        #expect(emulator.requests.contains { $0.path.hasSuffix("create_many.json") && $0.status == 500 })
        #expect(emulator.requests.contains { $0.path == "/api/v2/tickets.json" && $0.query["external_id"] != nil })
        #expect(emulator.recordedViolations.isEmpty, "\(emulator.recordedViolations)")

        let times = emulator.requests.filter { !$0.path.hasPrefix("/cdn/") }.map(\.time)
        for (i, t) in times.enumerated() {
            let inWindow = times[i...].prefix { $0 < t + 1 }.count
            #expect(inWindow <= perMinute / 60 + 1, "\(inWindow) requests within one second")
        }

        // ferry-verify reads every loaded record back from the emulator.
        let verify = try VerifyStage(context: context, reporter: Reporter(stage: "verify", quiet: true)).run()
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.url.appendingPathComponent("stages/verify/summary.json"))) as? [String: Any]
        let entities = summary?["entities"] as? [String: [String: Int]] ?? [:]
        #expect(entities["tickets"]?["migrated"] == tickets.count, "\(entities["tickets"] ?? [:])")
        #expect(entities["comments"]?["migrated"] == comments.count, "\(entities["comments"] ?? [:])")
        #expect(entities["users"]?["differing"] == 0 && entities["organizations"]?["differing"] == 0, "\(entities)")
        #expect(entities["attachments"]?["migrated"] == attachments.filter { $0["parent_type"] as? String == "comment" }.count, "\(entities["attachments"] ?? [:])")
        // The Help Center: categories, sections and articles with their translations (article attachments are not uploaded yet).
        for (entity, member) in [("kb_categories", "kb_categories.ndjson"), ("kb_sections", "kb_sections.ndjson"), ("kb_articles", "kb_articles.ndjson")] {
            #expect(entities[entity]?["migrated"] == mapped.members[member]?.count, "\(entity): \(entities[entity] ?? [:])")
        }
        let differencesCSV = (try? String(contentsOf: folder.url.appendingPathComponent("stages/verify/differences.csv"), encoding: .utf8)) ?? ""
        #expect(differencesCSV.split(separator: "\n").count <= 1, "\(differencesCSV.prefix(2000))")
        #expect(entities["tickets"]?["differing"] == 0 && entities["comments"]?["differing"] == 0 && entities["ticket_fields"]?["differing"] == 0 && entities["groups"]?["differing"] == 0)

        // Loading everything again (another target setting: every part is gone through) creates nothing.
        let again = try Self.context(folder, emulator, requestsPerMinute: perMinute - 1)
        let second = try LoadStage(context: again, reporter: Reporter(stage: "load", quiet: true)).run()
        #expect(second.counts[.tickets].inserted == 0)
        emulator.lock.lock()
        #expect(emulator.writes.importedTicketCount == tickets.count)
        emulator.lock.unlock()
    }


    /// A load that stops right after Zendesk imported a batch (its answer lost, no retries left),
    /// as after a crash: the next run finds the pending tickets by external_id and imports none twice.
    @Test func aLoadStoppedAfterAnImportFindsItsTicketsInsteadOfImportingAgain() async throws {
        try await ZendeskTestKit.onThread { try Self.stoppedLoadBody() }
    }

    static func stoppedLoadBody() throws {
        let folder = try TestFolder("zd-api-stopped")
        let emulator = ZendeskEmulator()
        emulator.limitPerMinute = 100_000
        try emulator.start()
        defer { emulator.stop() }
        let once = try Self.context(folder, emulator, requestsPerMinute: 6000, retries: 1)
        try Self.runUpToMap(once)
        emulator.lock.lock()
        emulator.writes.failAfterProcessingPaths = ["/api/v2/imports/tickets/create_many.json": 1]
        emulator.lock.unlock()
        #expect(throws: FerryError.self) { try LoadStage(context: once, reporter: Reporter(stage: "load", quiet: true)).run() }
        emulator.lock.lock()
        let importedBefore = emulator.writes.importedTicketCount
        emulator.lock.unlock()
        #expect(importedBefore == 100)

        let again = try Self.context(folder, emulator, requestsPerMinute: 6000)
        let result = try LoadStage(context: again, reporter: Reporter(stage: "load", quiet: true)).run()
        let tickets = ZendeskTestKit.ids(try ZendeskTestKit.records(folder, stage: "map").members["tickets.ndjson"])
        emulator.lock.lock()
        let imported = emulator.tickets
        let count = emulator.writes.importedTicketCount
        emulator.lock.unlock()
        #expect(count == tickets.count)
        #expect(Set(imported.compactMap { $0["external_id"] as? String }).count == tickets.count)
        #expect(result.counts[.tickets].rejected == 0)
        #expect(emulator.recordedViolations.isEmpty, "\(emulator.recordedViolations)")
    }
}
