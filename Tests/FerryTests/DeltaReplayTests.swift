import FerryCore
import FerrySQLite
import Foundation
import GRDB
import Testing

/// Delta migrations and replays, end to end through the real executables.
@Suite(.serialized)
struct DeltaReplayTests {
    /// Full run; then the source changes (a ticket edited, a comment added, a ticket
    /// and a user added, a ticket deleted); the delta brings only that, and the
    /// target ends up equal, record for record, to a fresh full migration of the
    /// changed source.
    @Test func deltaMakesTheTargetEqualToAFreshFullMigration() throws {
        let source = try ChangeableExport()
        let run = try PipelineRun(partRecords: 300)
        try run.editConfig {
            $0.replacingOccurrences(of: "\(PipelineRun.repositoryRoot.path)/samples/zendesk-export", with: source.root.path)
              .replacingOccurrences(of: "  deletions: keep", with: "  deletions: delete")
        }
        #expect(try run.runAll().values.allSatisfy { $0 == 0 || $0 == 3 })

        try source.change()
        let extract = try run.stage("extract", ["--delta"])
        #expect([0, 3].contains(extract.status), "\(extract.output)")
        #expect(extract.output.contains("delta: records changed after"), "\(extract.output)")
        for stage in ["dedupe", "map", "load", "verify"] {
            let result = try run.stage(stage)
            #expect(result.status == 0, "\(stage): \(result.output)")
        }
        // Only the changes travelled: 3 tickets (edited, commented, new).
        let summary = try run.verifySummary()
        #expect(summary.entities["tickets"]?["migrated"] == 3)

        let fresh = try PipelineRun(partRecords: 300)
        try fresh.editConfig { $0.replacingOccurrences(of: "\(PipelineRun.repositoryRoot.path)/samples/zendesk-export", with: source.root.path) }
        #expect(try fresh.runAll().values.allSatisfy { $0 == 0 || $0 == 3 })

        let afterDelta = try ArchiveSnapshot(run.target)
        let afterFull = try ArchiveSnapshot(fresh.target)
        #expect(afterDelta.records.count == afterFull.records.count)
        for (key, value) in afterFull.records where afterDelta.records[key] != value {
            Issue.record("\(key): delta target has \(afterDelta.records[key] ?? "nothing"), full has \(value)")
        }
        for key in afterDelta.records.keys where afterFull.records[key] == nil {
            Issue.record("\(key) is in the delta target only")
        }
        #expect(afterDelta.records["tickets 7"] == nil, "the deleted ticket is still there")
        #expect(afterDelta.records["tickets 5"]?.contains("Edited subject") == true)
    }

    /// A mapping fix replayed: only the records whose mapped content changed are updated.
    @Test func replayAfterAMappingChangeUpdatesOnlyWhatChanged() throws {
        let run = try PipelineRun(partRecords: 300)
        _ = try run.runAll()
        let solved = try SampleFacts.load().ticketsByStatus["solved"] ?? 0
        #expect(solved > 0)
        try run.editConfig { $0.replacingOccurrences(of: "    solved: solved\n", with: "    solved: closed\n") }
        #expect(try run.stage("map").status == 0)
        let load = try run.stage("load")
        #expect(load.status == 0)
        let tickets = try #require(load.output.split(separator: "\n").first { $0.hasPrefix("tickets ") })
        let columns = tickets.split(separator: " ").map(String.init)
        // entity read inserted updated unchanged failed
        #expect(columns[2] == "0", "\(tickets)")
        #expect(columns[3] == String(solved), "\(tickets)")
        #expect(Int(columns[4]) == (Int(columns[1]) ?? 0) - solved, "\(tickets)")
        #expect(try run.stage("verify").status == 0)
    }
}

extension DeltaReplayTests {
    /// `target.deletions: keep` leaves a record the source deleted; `mark` keeps it and notes why.
    @Test(arguments: ["keep", "mark"])
    func deletionsAreKeptOrMarkedAsConfigured(_ policy: String) throws {
        let source = try ChangeableExport()
        let run = try PipelineRun(partRecords: 300)
        try run.editConfig {
            $0.replacingOccurrences(of: "\(PipelineRun.repositoryRoot.path)/samples/zendesk-export", with: source.root.path)
              .replacingOccurrences(of: "  deletions: keep", with: "  deletions: \(policy)")
        }
        _ = try run.runAll()
        try source.change()
        _ = try run.stage("extract", ["--delta"])
        for stage in ["dedupe", "map", "load", "verify"] { #expect(try run.stage(stage).status == 0) }
        let queue = try DatabaseQueue(path: run.target.path)
        defer { try? queue.close() }
        let row = try queue.read { try Row.fetchOne($0, sql: "SELECT status, deleted_in_source FROM id_map WHERE entity = 'tickets' AND source_id = '7'") }
        #expect(row?["status"] as String? == "loaded", "ticket 7 must stay in the target")
        let mark: String? = row?["deleted_in_source"]
        if policy == "mark" { #expect(mark?.contains("no longer in the source") == true) } else { #expect(mark == nil) }
    }

    /// `ferry-load --only-failed` retries just the records whose last load failed.
    @Test func onlyFailedRetriesJustTheFailedRecords() throws {
        let run = try PipelineRun(partRecords: 300)
        _ = try run.runAll()
        // Ticket 7's last load "failed" and its row went wrong: as after a crash of the target.
        let queue = try DatabaseQueue(path: run.target.path)
        try queue.write { db in
            try db.execute(sql: "UPDATE id_map SET status = 'failed', reason = 'simulated' WHERE entity = 'tickets' AND source_id = '7'")
            try db.execute(sql: "UPDATE tickets SET subject = 'half written' WHERE source_id = '7'")
        }
        try queue.close()
        let retry = try run.stage("load", ["--only-failed"])
        #expect(retry.status == 0, "\(retry.output)")
        #expect(retry.output.contains("retried 1 of 1 failed record(s)"), "\(retry.output)")
        #expect(try run.stage("verify").status == 0)
        let again = try run.stage("load", ["--only-failed"])
        #expect(again.output.contains("nothing to retry"), "\(again.output)")
    }

    /// Cron safety: a second run of a stage while one holds its lock exits 75 and names the holder.
    @Test func aSecondRunOfALockedStageExits75NamingTheHolder() throws {
        let run = try PipelineRun(partRecords: 300)
        _ = try run.stage("extract")
        let lock = try StageDirectory(root: run.stages, name: "dedupe").lock()
        let second = try run.stage("dedupe")
        withExtendedLifetime(lock) {}
        #expect(second.status == 75)
        #expect(second.output.contains("PID \(getpid())"), "\(second.output)")
    }
}

/// A copy of the sample export that a test can change the way a live help desk changes.
struct ChangeableExport {
    let root: URL

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-source-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: PipelineRun.repositoryRoot.appendingPathComponent("samples/zendesk-export"), to: root)
    }

    /// Edits ticket 5, adds a comment to ticket 6, adds ticket 900 by a new user, deletes ticket 7.
    func change() throws {
        let later = "2026-01-15T10:00:00Z"
        try rewrite("tickets.ndjson") { line in
            guard var ticket = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let id = ticket["id"] as? Int else { return [line] }
            switch id {
            case 5:
                ticket["subject"] = "Edited subject"
                ticket["updated_at"] = later
            case 6:
                var comments = ticket["comments"] as! [[String: Any]]
                var added = comments[0]
                added["id"] = 99_001
                added["created_at"] = later
                added["plain_body"] = "A reply added after the full migration."
                added["body"] = added["plain_body"]
                added["html_body"] = "<p>A reply added after the full migration.</p>"
                added["attachments"] = []
                comments.append(added)
                ticket["comments"] = comments
                ticket["updated_at"] = later
            case 7:
                return []
            case 8:
                var copy = ticket
                copy["id"] = 900
                copy["subject"] = "A ticket created after the full migration"
                copy["requester_id"] = 2_900
                copy["created_at"] = later
                copy["updated_at"] = later
                copy["comments"] = (copy["comments"] as! [[String: Any]]).enumerated().map { index, comment in
                    var c = comment
                    c["id"] = 99_100 + index
                    c["attachments"] = []
                    return c
                }
                return [line, try Self.json(copy)]
            default:
                return [line]
            }
            return [try Self.json(ticket)]
        }
        try rewrite("users.ndjson") { line in
            guard line.contains("\"id\":2001,") else { return [line] }
            let user: [String: Any] = ["id": 2_900, "name": "New Customer", "email": "new.customer@example.com", "role": "end-user",
                                       "active": true, "created_at": later, "updated_at": later]
            return [line, try Self.json(user)]
        }
    }

    static func json(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
    }

    private func rewrite(_ name: String, _ change: (String) throws -> [String]) throws {
        let url = root.appendingPathComponent(name)
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        let changed = try lines.flatMap(change)
        try (changed.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        // A later modification time, as a new export would have.
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(5)], ofItemAtPath: url.path)
    }
}

/// Every loaded record of an archive, by entity and source id, as canonical JSON:
/// two archives hold the same help desk when their snapshots are equal, whatever
/// target ids they assigned.
struct ArchiveSnapshot {
    var records: [String: String] = [:]

    init(_ url: URL) throws {
        let archive = try HelpDeskArchive(path: url)
        let json = CanonicalJSON()
        for entity in EntityType.allCases {
            for sourceID in try archive.loadedSourceIDs(entity) {
                let record: (any CanonicalRecord)? = try archive.fetch(entity.recordType, sourceID: sourceID)
                if let record { records["\(entity.rawValue) \(sourceID)"] = String(decoding: try json.encode(record), as: UTF8.self) }
            }
        }
    }
}
