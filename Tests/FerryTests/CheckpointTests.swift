@testable import FerryCore
import Foundation
import Testing

/// Checkpoints, stage folders, stage locks and the counts every stage reconciles.
@Suite struct CheckpointTests {

    static func counts(_ entity: EntityType, read: Int = 0, created: Int = 0, written: Int = 0, merged: Int = 0, rejected: Int = 0, filtered: Int = 0) -> StageCounts {
        var c = EntityCounts()
        c.read = read; c.created = created; c.written = written; c.merged = merged; c.rejected = rejected; c.filtered = filtered
        var s = StageCounts()
        s[entity] = c
        return s
    }

    static func sampleCheckpoint() -> Checkpoint {
        var checkpoint = Checkpoint(stage: "extract", fingerprint: Hash.sha256("config v1"))
        checkpoint.status = .complete
        checkpoint.cursor = ["tickets": "2024-05-01T00:00:00Z"]
        checkpoint.counts = counts(.groups, read: 2, written: 2)
        checkpoint.parts = [
            PartRecord(file: StageDirectory.partFileName(1), contentDigest: Hash.sha256("a"), bytes: 1234, records: 10,
                       input: nil, position: ["tickets": "t-10"], counts: counts(.tickets, read: 11, written: 10, rejected: 1)),
            PartRecord(file: StageDirectory.partFileName(2), contentDigest: Hash.sha256("b"), bytes: 99, records: 3,
                       input: "part-00007.tar.zst", counts: counts(.users, read: 4, written: 3, merged: 1)),
        ]
        return checkpoint
    }

    // MARK: StageDirectory and Checkpoint

    @Test func partFileNamesArePaddedToFiveDigits() {
        #expect(StageDirectory.partFileName(1) == "part-00001.tar.zst")
        #expect(StageDirectory.partFileName(42) == "part-00042.tar.zst")
        #expect(StageDirectory.partFileName(99999) == "part-99999.tar.zst")
        #expect(StageDirectory.partFileName(123456) == "part-123456.tar.zst")
        let dir = StageDirectory(root: URL(fileURLWithPath: "/srv/ferry/stages"), name: "map")
        #expect(dir.partURL(3).path == "/srv/ferry/stages/map/part-00003.tar.zst")
        #expect(dir.checkpointURL.path == "/srv/ferry/stages/map/checkpoint.json")
    }

    @Test func checkpointRoundTripsThroughTheStageFolder() throws {
        let root = try TestFolder("ferry-checkpoint")
        let dir = StageDirectory(root: root.url, name: "extract")
        #expect(try dir.loadCheckpoint() == nil, "no checkpoint yet")
        try dir.create()
        let checkpoint = Self.sampleCheckpoint()
        try dir.saveCheckpoint(checkpoint)

        // Atomic replacement: only the checkpoint itself, no temporary sibling.
        #expect(root.listing("extract") == ["checkpoint.json"])

        var loaded = try #require(try dir.loadCheckpoint())
        #expect(Timestamp.normalize(loaded.updatedAt) == loaded.updatedAt, "updated_at is a UTC timestamp")
        loaded.updatedAt = checkpoint.updatedAt
        #expect(loaded == checkpoint)

        // The file uses the documented snake_case keys.
        let text = try String(contentsOf: dir.checkpointURL, encoding: .utf8)
        for key in ["\"updated_at\"", "\"content_digest\"", "\"fingerprint\"", "\"status\" : \"complete\"", "\"position\""] {
            #expect(text.contains(key), "\(key) in \(text)")
        }

        // Saving again replaces it, still without leftovers.
        var next = loaded
        next.status = .running
        next.parts.removeLast()
        try dir.saveCheckpoint(next)
        #expect(root.listing("extract") == ["checkpoint.json"])
        let reloaded = try #require(try dir.loadCheckpoint())
        #expect(reloaded.status == .running)
        #expect(reloaded.parts.map(\.file) == ["part-00001.tar.zst"])
    }

    @Test func totalCountsAddFirstPassAndParts() {
        let total = Self.sampleCheckpoint().totalCounts
        #expect(total[.groups].read == 2)
        #expect(total[.tickets].written == 10)
        #expect(total[.tickets].rejected == 1)
        #expect(total[.users].merged == 1)
        #expect(total.total.read == 17)
        #expect(total.reconciles)
    }

    @Test func unreadableCheckpointSaysWhatToDo() throws {
        let root = try TestFolder("ferry-checkpoint")
        let dir = StageDirectory(root: root.url, name: "dedupe")
        try dir.create()
        try Data("{\"stage\": \"dedupe\", \"status\": \"half-writ".utf8).write(to: dir.checkpointURL)
        let error = #expect(throws: FerryError.self) { try dir.loadCheckpoint() }
        guard case .badInput(let file, _, let detail)? = error else {
            Issue.record("expected badInput, got \(String(describing: error))")
            return
        }
        #expect(file == dir.checkpointURL.path)
        #expect(detail.contains("delete it"))
    }

    @Test func finishedOutputNeedsACompleteCheckpointAndEveryPart() throws {
        let root = try TestFolder("ferry-checkpoint")
        let dir = StageDirectory(root: root.url, name: "extract")

        // Absent.
        let absent = #expect(throws: FerryError.self) { try dir.finishedOutput() }
        #expect(absent?.isMissingInput == true, "\(String(describing: absent))")
        #expect(absent?.exitStatus == .noInput)
        #expect("\(String(describing: absent))".contains("ferry-extract"))

        // Running.
        try dir.create()
        var checkpoint = Self.sampleCheckpoint()
        checkpoint.status = .running
        try dir.saveCheckpoint(checkpoint)
        for part in checkpoint.parts { try Data("x".utf8).write(to: dir.url.appendingPathComponent(part.file)) }
        let running = #expect(throws: FerryError.self) { try dir.finishedOutput() }
        #expect(running?.isMissingInput == true, "\(String(describing: running))")
        #expect("\(String(describing: running))".contains("has not finished"))

        // Complete with every part present.
        checkpoint.status = .complete
        try dir.saveCheckpoint(checkpoint)
        let output = try dir.finishedOutput()
        #expect(output.parts == [dir.partURL(1), dir.partURL(2)])
        #expect(output.checkpoint.parts == checkpoint.parts)

        // Complete but a listed part is gone.
        try FileManager.default.removeItem(at: dir.partURL(2))
        let gone = #expect(throws: FerryError.self) { try dir.finishedOutput() }
        guard case .missingInput(let path, _)? = gone else {
            Issue.record("expected missingInput, got \(String(describing: gone))")
            return
        }
        #expect(path == dir.partURL(2).path)
    }

    @Test func finishedOutputIgnoresUnlistedFiles() throws {
        // The next stage reads the checkpoint's list, never a folder listing.
        let root = try TestFolder("ferry-checkpoint")
        let dir = StageDirectory(root: root.url, name: "map")
        try dir.create()
        var checkpoint = Checkpoint(stage: "map", fingerprint: "f")
        checkpoint.status = .complete
        checkpoint.parts = [PartRecord(file: "part-00001.tar.zst", contentDigest: "d", bytes: 1, records: 1, counts: StageCounts())]
        try dir.saveCheckpoint(checkpoint)
        for name in ["part-00001.tar.zst", "part-00002.tar.zst", ".part-00003.tar.zst.tmp-1"] {
            try Data("x".utf8).write(to: dir.url.appendingPathComponent(name))
        }
        #expect(try dir.finishedOutput().parts == [dir.partURL(1)])
    }

    @Test func temporariesAndOutputsAreRemovedSelectively() throws {
        let root = try TestFolder("ferry-checkpoint")
        let dir = StageDirectory(root: root.url, name: "dedupe")
        try dir.create()
        for name in ["part-00001.tar.zst", ".part-00002.tar.zst.tmp-77", ".checkpoint.json.tmp-77", "checkpoint.json", "README.md"] {
            try Data("x".utf8).write(to: dir.url.appendingPathComponent(name))
        }
        try FileManager.default.createDirectory(at: dir.url.appendingPathComponent(".work-part-00002.tar.zst/blobs"), withIntermediateDirectories: true)
        dir.removeTemporaries()
        #expect(root.listing("dedupe") == ["README.md", "checkpoint.json", "part-00001.tar.zst"])
        try dir.removeOutputs()
        #expect(root.listing("dedupe") == ["README.md", "checkpoint.json"])
    }

    // MARK: StageLock

    @Test func secondLockOnTheSameStageIsRefused() throws {
        let root = try TestFolder("ferry-lock")
        let dir = StageDirectory(root: root.url, name: "load")
        let other = StageDirectory(root: root.url, name: "verify")
        do {
            let held = try dir.lock()
            let error = #expect(throws: FerryError.self) { try dir.lock() }
            #expect(error?.isLocked == true, "\(String(describing: error))")
            #expect(error?.exitStatus == .tryAgainLater)
            #expect(error?.exitStatus.rawValue == 75)
            // Another stage is independent.
            let otherLock = try other.lock()
            withExtendedLifetime(otherLock) {}
            withExtendedLifetime(held) {}
        }
        // Released with the object: the next run gets it.
        let again = try dir.lock()
        withExtendedLifetime(again) {}
    }

    // MARK: StageCounts

    @Test func countsReconcileOnlyWhenEveryRecordIsAccountedFor() {
        var c = EntityCounts()
        c.read = 10; c.created = 2; c.written = 7; c.merged = 2; c.rejected = 1; c.filtered = 2
        #expect(c.reconciles)
        c.inserted = 5; c.updated = 1; c.unchanged = 99 // load-only figures are not part of the sum
        #expect(c.reconciles)
        c.written = 6
        #expect(!c.reconciles, "one record lost")
        c.written = 8
        #expect(!c.reconciles, "one record too many")

        var stage = Self.counts(.tickets, read: 5, written: 5)
        #expect(stage.reconciles)
        stage[.users] = c
        #expect(!stage.reconciles, "one entity that does not add up spoils the stage")
        #expect(StageCounts().reconciles)
    }

    @Test func countsAddUp() {
        var a = Self.counts(.tickets, read: 5, written: 4, rejected: 1)
        a.unattributedRejects = 2
        var b = Self.counts(.tickets, read: 3, written: 3)
        b[.users] = Self.counts(.users, read: 1, created: 1, written: 2)[.users]
        b.unattributedRejects = 1
        a.add(b)
        #expect(a[.tickets].read == 8)
        #expect(a[.tickets].written == 7)
        #expect(a[.tickets].rejected == 1)
        #expect(a[.users].created == 1)
        #expect(a[.comments] == EntityCounts(), "absent entity reads as zeros")
        #expect(a.total.read == 9)
        #expect(a.total.written == 9)
        #expect(a.unattributedRejects == 3)
        #expect(a.rejectedTotal == 4)
        #expect(a.reconciles)
    }

    @Test func tableListsEveryEntityInDependencyOrder() {
        var counts = StageCounts()
        for (i, entity) in EntityType.allCases.reversed().enumerated() {
            var c = EntityCounts()
            c.read = 100 + i; c.written = 100 + i
            counts[entity] = c
        }
        var broken = counts[.comments]
        broken.written -= 1
        counts[.comments] = broken
        let table = counts.table()
        let lines = table.split(separator: "\n").map(String.init)
        #expect(lines.count == EntityType.allCases.count + 2, "header, one row per entity, total")
        #expect(lines.first?.hasPrefix("entity") == true)
        #expect(lines.last?.hasPrefix("total") == true)
        let names = lines.dropFirst().dropLast().map { String($0.prefix { $0 != " " }) }
        #expect(names == EntityType.allCases.map(\.rawValue))
        for line in lines.dropFirst().dropLast() {
            if line.hasPrefix("comments ") {
                #expect(line.hasSuffix("DOES NOT ADD UP"), "\(line)")
            } else {
                #expect(line.hasSuffix("ok"), "\(line)")
            }
        }
        // The total row sums the column.
        let totalRead = (0..<EntityType.allCases.count).map { 100 + $0 }.reduce(0, +)
        #expect(lines.last!.contains(" \(totalRead) "))

        let load = counts.loadTable()
        for entity in EntityType.allCases { #expect(load.contains(entity.rawValue)) }
        #expect(load.split(separator: "\n").first?.contains("inserted") == true)
    }

    @Test func tableLeavesOutEntitiesWithNoCounts() {
        let table = Self.counts(.tickets, read: 1, written: 1).table()
        #expect(table.contains("tickets"))
        #expect(!table.contains("users"))
    }

    @Test func countsWrittenBeforeNewerKeysStillDecode() throws {
        // An EntityCounts from before load's inserted/updated/unchanged existed.
        let old = Data(#"{"read": 4, "written": 3, "rejected": 1}"#.utf8)
        let entity = try JSONDecoder().decode(EntityCounts.self, from: old)
        #expect(entity.read == 4)
        #expect(entity.written == 3)
        #expect(entity.rejected == 1)
        #expect(entity.created == 0 && entity.merged == 0 && entity.filtered == 0)
        #expect(entity.inserted == 0 && entity.updated == 0 && entity.unchanged == 0)
        #expect(entity.reconciles)

        // And inside a whole StageCounts, as a checkpoint stores it.
        let stage = Data(#"{"entities": {"tickets": {"read": 2, "written": 2}, "users": {}}, "unattributed_rejects": 0}"#.utf8)
        let decoded = try JSONDecoder().decode(StageCounts.self, from: stage)
        #expect(decoded[.tickets].written == 2)
        #expect(decoded[.users] == EntityCounts())

        // Encoding and decoding gives the same counts back.
        let again = try JSONDecoder().decode(StageCounts.self, from: JSONEncoder().encode(decoded))
        #expect(again == decoded)
    }

    @Test func stageCountsWithoutUnattributedRejectsDecode() throws {
        // The same promise one level up: a counts object written before
        // unattributedRejects existed (or by hand) must stay readable.
        let stage = Data(#"{"entities": {"tickets": {"read": 2, "written": 2}}}"#.utf8)
        let decoded = try JSONDecoder().decode(StageCounts.self, from: stage)
        #expect(decoded[.tickets].read == 2)
        #expect(decoded.unattributedRejects == 0)
    }

    // MARK: PartRecord digest

    @Test func contentDigestIgnoresCreationTimeButNotContent() {
        let members = [MemberInfo(name: "tickets.ndjson", records: 2, bytes: 40, sha256: Hash.sha256("t"))]
        let a = Manifest(stage: "extract", sourceSystem: "zendesk", createdAt: "2024-01-01T00:00:00Z", part: 1, members: members, blobs: BlobSummary(count: 1, bytes: 5))
        var b = a
        b.createdAt = "2025-06-06T06:06:06Z"
        b.part = 7
        #expect(PartRecord.contentDigest(of: a) == PartRecord.contentDigest(of: b))
        var c = a
        c.members[0].sha256 = Hash.sha256("u")
        #expect(PartRecord.contentDigest(of: a) != PartRecord.contentDigest(of: c))
        var d = a
        d.blobs.bytes = 6
        #expect(PartRecord.contentDigest(of: a) != PartRecord.contentDigest(of: d))
        #expect(PartRecord.contentDigest(of: a).count == 64)
    }
}
