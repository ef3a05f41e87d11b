import FerryCore
import Foundation
import GRDB
import Testing

/// Runs the five real executables on the samples, the way `make` does, and
/// checks the outcome against facts the sample generator computed
/// (samples/zendesk-export/expected.json), not against numbers typed here.
@Suite(.serialized)
struct EndToEndTests {
    let run: PipelineRun
    let expected: SampleFacts

    init() throws {
        run = try PipelineRun(partRecords: 300)
        expected = try SampleFacts.load()
    }

    @Test func samplesMigrateAndVerifyClean() throws {
        let statuses = try run.runAll()
        #expect(statuses == ["extract": 3, "dedupe": 0, "map": 0, "load": 0, "verify": 0])

        let summary = try run.verifySummary()
        func counts(_ entity: String) -> [String: Int] { summary.entities[entity] ?? [:] }
        let brokenTickets = expected.brokenLines.filter { $0.file == "tickets.ndjson" }.count
        let brokenUsers = expected.brokenLines.filter { $0.file == "users.ndjson" }.count
        let duplicateUsers = expected.duplicateUserEmails.values.reduce(0) { $0 + $1.count - 1 }
        let duplicateOrgs = expected.duplicateOrganizations.reduce(0) { $0 + $1.count - 1 }

        #expect(counts("tickets") == ["all": expected.counts["tickets"]! + brokenTickets, "created": 0, "migrated": expected.counts["tickets"]!, "failed": brokenTickets, "skipped": 0, "differing": 0])
        #expect(counts("users") == ["all": expected.counts["users"]! + brokenUsers, "created": 1, "migrated": expected.counts["users"]! - duplicateUsers + 1, "failed": brokenUsers, "skipped": duplicateUsers, "differing": 0])
        #expect(counts("organizations")["migrated"] == expected.counts["organizations"]! - duplicateOrgs)
        #expect(counts("organizations")["skipped"] == duplicateOrgs)
        #expect(counts("comments")["migrated"] == expected.counts["comments"])
        #expect(counts("attachments")["migrated"] == expected.counts["attachments"])
        #expect(counts("groups")["migrated"] == expected.counts["groups"])
        #expect(counts("ticket_fields")["migrated"] == expected.counts["ticket_fields"])
        #expect(counts("kb_categories")["migrated"] == expected.counts["categories"])
        #expect(counts("kb_sections")["migrated"] == expected.counts["sections"])
        #expect(counts("kb_articles")["migrated"] == expected.counts["articles"])
        #expect(summary.differences == 0)

        // The target holds exactly the migrated records.
        let rows = try run.targetRowCounts()
        #expect(rows["tickets"] == expected.counts["tickets"])
        #expect(rows["comments"] == expected.counts["comments"])
        #expect(rows["attachments"] == expected.counts["attachments"])
        #expect(rows["blobs"] == expected.counts["unique_attachment_contents"])
        #expect(rows["kb_translations"] == expected.counts["translations"])
    }

    @Test func brokenSampleLinesAreRejectedWithTheirLineNumbers() throws {
        _ = try run.runAll()
        var rejects: [(file: String, line: Int)] = []
        for part in try run.parts("extract") {
            try BundleReader(url: part).read(line: { member, line, _ in
                guard member == Reject.memberName else { return }
                let reject = try JSONDecoder().decode(Reject.self, from: line)
                rejects.append((reject.file ?? "", reject.line ?? 0))
            })
        }
        let got = rejects.map { "\($0.file):\($0.line)" }.sorted()
        let want = expected.brokenLines.map { "\($0.file):\($0.line)" }.sorted()
        #expect(got == want)
    }

    @Test func secondRunDoesNothingAndReloadCreatesNoDuplicate() throws {
        _ = try run.runAll()
        let before = try run.targetRowCounts()
        let digests = try run.parts("map").map { try BundleReader(url: $0).manifest.members.map(\.sha256) }

        // make again: every stage says it is up to date.
        for stage in PipelineRun.stages.dropLast() {
            let result = try run.stage(stage)
            #expect(result.output.contains("nothing to do"), "\(stage) was not a no-op: \(result.output)")
        }
        // Force the load to go through every record again: the ID map must keep it from duplicating.
        try FileManager.default.removeItem(at: run.stages.appendingPathComponent("load/checkpoint.json"))
        let queue = try DatabaseQueue(path: run.target.path)
        try queue.write { try $0.execute(sql: "DELETE FROM loaded_parts") }
        try queue.close()
        let reload = try run.stage("load")
        #expect(reload.status == 0)
        #expect(reload.output.contains("inserted 0, updated 0"), "reload changed the target: \(reload.output)")
        #expect(try run.targetRowCounts() == before)
        #expect(try run.stage("verify").status == 0)
        // Members are byte-identical across runs.
        #expect(try run.parts("map").map { try BundleReader(url: $0).manifest.members.map(\.sha256) } == digests)
    }

    @Test func unmappedStatusStopsMapBeforeWritingAnything() throws {
        _ = try run.stage("extract")
        _ = try run.stage("dedupe")
        try run.editConfig { $0.replacingOccurrences(of: "    hold: on_hold\n", with: "") }
        let result = try run.stage("map")
        #expect(result.status == 2)
        let holds = expected.ticketsByStatus["hold"] ?? 0
        #expect(holds > 0)
        #expect(result.output.contains("\"hold\": \(holds) record(s)"), "report does not list hold: \(result.output)")
        #expect(try run.parts("map", requireComplete: false).isEmpty)
    }

    /// `ferry-map --plan` shows every value with its target and writes nothing.
    @Test func planShowsEveryMappingAndWritesNothing() throws {
        _ = try run.stage("extract")
        _ = try run.stage("dedupe")
        let plan = try run.stage("map", ["--plan"])
        #expect(plan.status == 0, "\(plan.output)")
        let holds = try #require(expected.ticketsByStatus["hold"])
        let lines = plan.output.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
        #expect(lines.contains("hold \(holds) on_hold"), "\(plan.output)")
        #expect(lines.contains { $0.hasPrefix("2010 ben.carter@support.acme.example") && $0.contains("default agent 2000") })
        #expect(lines.contains("Order number 4000 order_number"))
        #expect(try run.parts("map", requireComplete: false).isEmpty)

        try run.editConfig { $0.replacingOccurrences(of: "    hold: on_hold\n", with: "") }
        let unmapped = try run.stage("map", ["--plan"])
        #expect(unmapped.status == 2)
        #expect(unmapped.output.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }.contains("hold \(holds) UNMAPPED"))
        #expect(try run.parts("map", requireComplete: false).isEmpty)
    }

    @Test func verifyReportsAChangedTargetField() throws {
        _ = try run.runAll()
        let queue = try DatabaseQueue(path: run.target.path)
        try queue.write { db in
            try db.execute(sql: "UPDATE tickets SET subject = 'tampered' WHERE id = (SELECT target_id FROM id_map WHERE entity = 'tickets' AND source_id = '7')")
        }
        try queue.close()
        let result = try run.stage("verify")
        #expect(result.status == 1)
        let differences = try String(contentsOf: run.stages.appendingPathComponent("verify/differences.csv"), encoding: .utf8)
        #expect(differences.contains("tickets,7,"))
        #expect(differences.contains(",subject,"))
    }

    /// Every make target parses and plans (a syntax slip in the Makefile breaks `make` for everyone).
    @Test(.enabled(if: PipelineRun.hasTool("make")))
    func everyMakeTargetParses() throws {
        let root = PipelineRun.repositoryRoot.path
        for target in ["all", "test", "demo", "delta", "plan", "kill-test", "clean", "help", "report-screenshot"] {
            let output = try PipelineRun.shell("make -n -C '\(root)' \(target) STAGES=/tmp/ferry-make-n >/dev/null 2>&1 && echo parsed")
            #expect(output.contains("parsed"), "make -n \(target) fails")
        }
    }

    @Test(.enabled(if: PipelineRun.hasTool("bsdtar") && PipelineRun.hasTool("jq")))
    func bundlesOpenWithStockTools() throws {
        _ = try run.runAll()
        for stage in ["extract", "dedupe", "map"] {
            let part = try run.parts(stage)[0]
            let result = try PipelineRun.shell("bsdtar -xOf '\(part.path)' tickets.ndjson | jq -c .id | wc -l")
            #expect(Int(result.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 > 0, "\(stage): \(result)")
        }
    }

    @Test(.enabled(if: PipelineRun.hasTool("python3")))
    func recordsCSVHoldsOneRowPerRecord() throws {
        _ = try run.runAll()
        let summary = try run.verifySummary()
        let expectedRows = summary.entities.values.reduce(0) { $0 + ($1["migrated"] ?? 0) + ($1["failed"] ?? 0) + ($1["skipped"] ?? 0) }
        let csv = run.stages.appendingPathComponent("verify/records.csv").path
        let rows = try PipelineRun.shell("python3 -c 'import csv,sys; print(sum(1 for _ in csv.DictReader(open(sys.argv[1], newline=\"\"))))' '\(csv)'")
        #expect(Int(rows.trimmingCharacters(in: .whitespacesAndNewlines)) == expectedRows)
    }
}

/// Facts about the samples, computed by samples/generate.py.
struct SampleFacts {
    struct BrokenLine: Decodable { let file: String; let line: Int }
    let counts: [String: Int]
    let brokenLines: [BrokenLine]
    let duplicateUserEmails: [String: [Int]]
    let duplicateOrganizations: [[Int]]
    let ticketsByStatus: [String: Int]

    static func load() throws -> SampleFacts {
        let url = PipelineRun.repositoryRoot.appendingPathComponent("samples/zendesk-export/expected.json")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let counts = object["counts"] as! [String: Any]
        let broken = try JSONDecoder().decode([BrokenLine].self, from: JSONSerialization.data(withJSONObject: object["broken_lines"]!))
        return SampleFacts(
            counts: counts.compactMapValues { $0 as? Int },
            brokenLines: broken,
            duplicateUserEmails: object["duplicate_user_emails"] as! [String: [Int]],
            duplicateOrganizations: object["duplicate_organizations"] as! [[Int]],
            ticketsByStatus: counts["tickets_by_status"] as? [String: Int] ?? [:])
    }
}

/// A private copy of the sample pipeline in a temporary folder, and the means to run its stages.
struct PipelineRun {
    static let stages = ["extract", "dedupe", "map", "load", "verify"]
    let root: URL
    let config: URL
    var stagesDirectory: URL { root.appendingPathComponent("stages") }
    var stages: URL { stagesDirectory }
    var target: URL { stages.appendingPathComponent("load/helpdesk.sqlite") }

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Where `swift build` put the executables: beside the test binary.
    static var binaries: URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent(),
            repositoryRoot.appendingPathComponent(".build/debug"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("ferry-extract").path) }
            ?? repositoryRoot.appendingPathComponent(".build/debug")
    }

    /// Variables added to the stages' environment (a passphrase, say).
    var environment: [String: String] = [:]

    /// The same pipeline folder, run with another environment.
    init(reusing other: PipelineRun, environment: [String: String]) throws {
        root = other.root
        config = other.config
        self.environment = environment
    }

    init(partRecords: Int, environment: [String: String] = [:]) throws {
        self.environment = environment
        root = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        config = root.appendingPathComponent("pipeline.yml")
        var text = try String(contentsOf: Self.repositoryRoot.appendingPathComponent("pipeline.yml"), encoding: .utf8)
        text = text.replacingOccurrences(of: "path: samples/zendesk-export", with: "path: \(Self.repositoryRoot.path)/samples/zendesk-export")
        text = text.replacingOccurrences(of: "part_records: 50000", with: "part_records: \(partRecords)")
        try text.write(to: config, atomically: true, encoding: .utf8)
    }

    func editConfig(_ change: (String) -> String) throws {
        let text = try String(contentsOf: config, encoding: .utf8)
        let changed = change(text)
        precondition(changed != text, "the edit changed nothing")
        try changed.write(to: config, atomically: true, encoding: .utf8)
    }

    struct StageOutput { let status: Int32; let output: String }

    func stage(_ name: String, _ extra: [String] = []) throws -> StageOutput {
        let process = Process()
        process.executableURL = Self.binaries.appendingPathComponent("ferry-\(name)")
        process.arguments = ["--config", config.path] + extra
        process.currentDirectoryURL = root
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return StageOutput(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    @discardableResult
    func runAll() throws -> [String: Int32] {
        var statuses: [String: Int32] = [:]
        for name in Self.stages {
            let result = try stage(name)
            statuses[name] = result.status
            if result.status != 0 && result.status != 3 { Issue.record("ferry-\(name) exited \(result.status):\n\(result.output)"); break }
        }
        return statuses
    }

    func parts(_ stage: String, requireComplete: Bool = true) throws -> [URL] {
        let directory = StageDirectory(root: stages, name: stage)
        if requireComplete { return try directory.finishedOutput().parts }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.url.path)) ?? []
        return names.filter { $0.hasPrefix("part-") }.map { directory.url.appendingPathComponent($0) }
    }

    struct Summary { let entities: [String: [String: Int]]; let differences: Int }

    func verifySummary() throws -> Summary {
        let data = try Data(contentsOf: stages.appendingPathComponent("verify/summary.json"))
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let entities = (object["entities"] as! [String: [String: Any]]).mapValues { $0.compactMapValues { $0 as? Int } }
        return Summary(entities: entities, differences: object["differences"] as! Int)
    }

    func targetRowCounts() throws -> [String: Int] {
        let queue = try DatabaseQueue(path: target.path)
        defer { try? queue.close() }
        return try queue.read { db in
            var counts: [String: Int] = [:]
            for table in ["organizations", "users", "groups", "ticket_fields", "tickets", "comments", "attachments", "blobs",
                          "kb_categories", "kb_sections", "kb_articles", "kb_translations", "ticket_collaborators", "ticket_field_values", "id_map"] {
                counts[table] = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)")
            }
            return counts
        }
    }

    static func hasTool(_ name: String) -> Bool {
        ["/usr/bin", "/bin", "/usr/local/bin"].contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
    }

    static func shell(_ command: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
