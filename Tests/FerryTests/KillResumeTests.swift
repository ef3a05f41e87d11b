import FerryCore
@testable import FerryStages
import Foundation
import GRDB
import Testing

/// Kills each stage with SIGKILL at seeded random moments, resumes it until it
/// finishes, and checks that its output is identical to an uninterrupted run's:
/// the same NDJSON members byte for byte (by SHA-256), the same counts, the same
/// target rows (no duplicate, none missing). After every kill, every part the
/// checkpoint lists must read back whole.
///
/// FERRY_KILLS sets the kills per stage (default 20; `make kill-test KILLS=200`).
@Suite(.serialized, .enabled(if: PipelineRun.hasTool("python3")))
struct KillResumeTests {
    static let killsPerStage = Int(ProcessInfo.processInfo.environment["FERRY_KILLS"] ?? "") ?? 20

    @Test(arguments: PipelineRun.stages)
    func killedStageResumesToTheSameOutput(_ stage: String) throws {
        let reference = try ReferenceRun.shared()
        let duration = reference.durations[stage]!

        // The stages before this one: copied from the reference run, as if they had run here.
        let killed = try PipelineRun(source: reference.source, partRecords: 500)
        for name in PipelineRun.stages.prefix(while: { $0 != stage }) {
            try FileManager.default.createDirectory(at: killed.stages, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: reference.run.stages.appendingPathComponent(name), to: killed.stages.appendingPathComponent(name))
        }
        var rng = SplitMix64(seed: UInt64(PipelineRun.stages.firstIndex(of: stage)! + 1) &* 7919)
        var kills = 0
        var restarts = 0
        while kills < Self.killsPerStage {
            let fraction = 0.02 + Double(rng.next() % 1000) / 1000 * 0.6
            if try killed.startAndKill(stage, after: duration * fraction) {
                kills += 1
                try checkListedPartsAreWhole(killed, stage)
            } else {
                // It finished before the kill: start it over so the remaining kills land mid-run.
                restarts += 1
                try FileManager.default.removeItem(at: killed.stages.appendingPathComponent(stage))
                #expect(restarts < Self.killsPerStage * 4, "\(stage) keeps finishing before the kill")
            }
        }
        let final = try killed.stage(stage)
        #expect(final.status == 0 || final.status == 3, "\(stage) after \(kills) kills: \(final.output)")
        let got = try killed.signature(of: stage).split(separator: "\n")
        let want = try reference.run.signature(of: stage).split(separator: "\n")
        let firstDifference = zip(got, want).first { $0 != $1 }
        #expect(got == want, "\(stage) output differs after \(kills) kills: \(got.count) vs \(want.count) lines; first difference:\n\(firstDifference.map { "got:  \($0.0.prefix(300))\nwant: \($0.1.prefix(300))" } ?? "(one is a prefix of the other)")")
    }

    private func checkListedPartsAreWhole(_ run: PipelineRun, _ stage: String) throws {
        guard ["extract", "dedupe", "map"].contains(stage) else { return }
        let directory = StageDirectory(root: run.stages, name: stage)
        guard let checkpoint = try directory.loadCheckpoint() else { return }
        for part in checkpoint.parts {
            let reader = try BundleReader(url: directory.url.appendingPathComponent(part.file))
            try reader.read(line: { _, _, _ in })
            #expect(PartRecord.contentDigest(of: reader.manifest) == part.contentDigest)
        }
    }
}

/// One uninterrupted run of every stage over the generated export, made once
/// per test process, with how long each stage took (kill moments scale with it).
struct ReferenceRun {
    let source: URL
    let run: PipelineRun
    let durations: [String: TimeInterval]

    nonisolated(unsafe) private static var made: ReferenceRun?
    private static let lock = NSLock()

    static func shared() throws -> ReferenceRun {
        lock.lock()
        defer { lock.unlock() }
        if let made { return made }
        let source = try GeneratedExport.shared()
        let run = try PipelineRun(source: source, partRecords: 500)
        var durations: [String: TimeInterval] = [:]
        for name in PipelineRun.stages {
            let started = Date()
            let result = try run.stage(name)
            guard result.status == 0 || result.status == 3 else {
                throw FerryError.internalError("reference \(name) failed: \(result.output)")
            }
            durations[name] = Date().timeIntervalSince(started)
        }
        let reference = ReferenceRun(source: source, run: run, durations: durations)
        made = reference
        return reference
    }
}

/// A generated Zendesk-shaped export (2,000 tickets with attachments), made once per test process.
enum GeneratedExport {
    nonisolated(unsafe) private static var made: URL?
    private static let lock = NSLock()

    static func shared() throws -> URL {
        lock.lock()
        defer { lock.unlock() }
        if let made { return made }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-generated-\(getpid())")
        let script = PipelineRun.repositoryRoot.appendingPathComponent("bench/generate.py").path
        _ = try PipelineRun.shell("python3 '\(script)' --tickets 2000 --blobs --out '\(out.path)'")
        guard FileManager.default.fileExists(atPath: out.appendingPathComponent("tickets.ndjson").path) else {
            throw FerryError.internalError("bench/generate.py did not write \(out.path)")
        }
        made = out
        return out
    }
}

extension PipelineRun {
    /// A pipeline over another export, whose default agent is the generator's first agent.
    init(source: URL, partRecords: Int) throws {
        try self.init(partRecords: partRecords)
        try editConfig {
            $0.replacingOccurrences(of: "\(Self.repositoryRoot.path)/samples/zendesk-export", with: source.path)
                .replacingOccurrences(of: "default: olivia.bennett@support.acme.example", with: "default: agent0@support.example")
        }
    }

    /// Starts a stage and SIGKILLs it after `delay` seconds. False when it finished first.
    func startAndKill(_ name: String, after delay: TimeInterval) throws -> Bool {
        let process = Process()
        process.executableURL = Self.binaries.appendingPathComponent("ferry-\(name)")
        process.arguments = ["--config", config.path, "--quiet"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        usleep(useconds_t(max(0, delay) * 1_000_000))
        guard process.isRunning else {
            process.waitUntilExit()
            return false
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return process.terminationReason == .uncaughtSignal
    }

    /// Everything a stage's output should be equal in, and nothing that may differ (times).
    func signature(of stage: String) throws -> String {
        let directory = StageDirectory(root: stages, name: stage)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        func json<T: Encodable>(_ value: T) throws -> String { String(decoding: try encoder.encode(value), as: UTF8.self) }
        switch stage {
        case "extract", "dedupe", "map":
            let checkpoint = try #require(try directory.loadCheckpoint())
            var text = "\(checkpoint.status) \(try json(checkpoint.cursor ?? [:]))\n"
            for part in checkpoint.parts {
                text += "\(part.file) \(part.contentDigest) \(part.records) \(try json(part.counts)) \(try json(part.position ?? [:]))\n"
                let manifest = try BundleReader(url: directory.url.appendingPathComponent(part.file)).manifest
                for member in manifest.members { text += "  \(member.name) \(member.records) \(member.sha256)\n" }
                text += "  blobs \(manifest.blobs.count) \(manifest.blobs.bytes)\n"
            }
            return text
        case "load":
            let checkpoint = try #require(try directory.loadCheckpoint())
            var text = "\(checkpoint.status) \(try json(checkpoint.totalCounts))\n"
            let queue = try DatabaseQueue(path: target.path)
            defer { try? queue.close() }
            try queue.read { db in
                let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'search_%' AND name != 'grdb_migrations' ORDER BY name")
                for table in tables {
                    let columns = try Row.fetchAll(db, sql: "PRAGMA table_info(\(table))").map { $0["name"] as String }
                        .filter { !["updated_at", "loaded_at"].contains($0) || !["id_map", "loaded_parts"].contains(table) }
                    let order = table == "search" ? "rowid" : "1"
                    let select = columns.map { $0 == "data" ? "length(data) || ':' || hex(substr(data, 1, 32))" : "quote(\"\($0)\")" }
                        .joined(separator: " || ',' || ")
                    for row in try String.fetchAll(db, sql: "SELECT \(select) FROM \"\(table)\" ORDER BY \(order)") {
                        text += "\(table): \(row)\n"
                    }
                }
            }
            return text
        default:
            var summary = try String(contentsOf: directory.url.appendingPathComponent("summary.json"), encoding: .utf8)
            summary = summary.split(separator: "\n").filter { !$0.contains("verified_at") }.joined(separator: "\n")
                .replacingOccurrences(of: root.path, with: "ROOT")
            return summary
                + (try String(contentsOf: directory.url.appendingPathComponent("records.csv"), encoding: .utf8))
                + (try String(contentsOf: directory.url.appendingPathComponent("differences.csv"), encoding: .utf8))
        }
    }
}
