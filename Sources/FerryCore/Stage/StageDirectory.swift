import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One stage's folder under `stages/`: its parts, its checkpoint and its lock.
public struct StageDirectory: Sendable {
    public let name: String
    public let url: URL

    public init(root: URL, name: String) {
        self.name = name
        url = root.appendingPathComponent(name)
    }

    public var checkpointURL: URL { url.appendingPathComponent("checkpoint.json") }

    public func partURL(_ number: Int) -> URL {
        url.appendingPathComponent(Self.partFileName(number))
    }

    public static func partFileName(_ number: Int) -> String {
        let digits = String(number)
        return "part-" + String(repeating: "0", count: max(0, 5 - digits.count)) + digits + ".tar.zst"
    }

    public func create() throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw FerryError.io(path: url.path, detail: "cannot create stage folder: \(error.localizedDescription)")
        }
    }

    public func loadCheckpoint() throws -> Checkpoint? {
        guard let data = FileManager.default.contents(atPath: checkpointURL.path) else { return nil }
        do {
            return try JSONDecoder().decode(Checkpoint.self, from: data)
        } catch {
            throw FerryError.badInput(file: checkpointURL.path, line: nil, detail: "checkpoint is unreadable (\(error)); delete it to start this stage over")
        }
    }

    public func saveCheckpoint(_ checkpoint: Checkpoint) throws {
        var copy = checkpoint
        copy.updatedAt = Clock.nowISO8601()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try DurableFile.write(try encoder.encode(copy) + Data("\n".utf8), to: checkpointURL)
    }


    /// The finished output of this stage, for the next stage to read.
    public func finishedOutput() throws -> (checkpoint: Checkpoint, parts: [URL]) {
        guard let checkpoint = try loadCheckpoint() else {
            throw FerryError.missingInput(path: checkpointURL.path, hint: "run ferry-\(name) (or `make \(name)`) first")
        }
        guard checkpoint.status == .complete else {
            throw FerryError.missingInput(path: checkpointURL.path, hint: "ferry-\(name) has not finished; run it again, it resumes where it stopped")
        }
        let parts = checkpoint.parts.map { url.appendingPathComponent($0.file) }
        for part in parts where !FileManager.default.fileExists(atPath: part.path) {
            throw FerryError.missingInput(path: part.path, hint: "the checkpoint lists it but it is gone; run ferry-\(name) again")
        }
        return (checkpoint, parts)
    }

    /// Removes what a killed run left half-done (temporary part files, work
    /// folders). Only called with the stage lock held, so nothing live is removed.
    public func removeTemporaries() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        for name in names where name.hasPrefix(".work-") || (name.hasPrefix(".") && name.contains(".tmp-")) {
            try? FileManager.default.removeItem(at: url.appendingPathComponent(name))
        }
    }

    /// Removes parts and work folders from an earlier, stale run.
    public func removeOutputs() throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        for name in names where name.hasPrefix("part-") || name.hasPrefix(".work-") || name.hasPrefix(".part-") {
            try? FileManager.default.removeItem(at: url.appendingPathComponent(name))
        }
    }

    /// Holds an exclusive lock on the stage folder for the life of the returned object,
    /// so two runs (cron and a person, say) never write the same stage at once.
    public func lock() throws -> StageLock {
        try create()
        return try StageLock(path: url.appendingPathComponent(".lock").path)
    }
}

/// An flock(2) on `.lock` in the stage folder. The kernel releases it when the
/// holder dies, even by SIGKILL, so a crash never leaves a stale lock behind.
/// The holder writes its PID into the file so a refused run can name it.
public final class StageLock {
    private let fd: Int32

    init(path: String) throws {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FerryError.posix(path, "open lock") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            close(fd)
            throw FerryError.locked(path: path, holder: holder.flatMap { $0.isEmpty ? nil : "PID \($0)" } ?? "another ferry process")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
