import FerryCore
import Foundation

/// Deletes migration data once it has served its purpose: customer names,
/// e-mails and conversations must not linger in stage folders for ever.
///
/// The clock starts at the last clean verification (stages/verify/summary.json)
/// or, when nothing was ever verified clean, at the newest checkpoint. Once
/// `retention.days` have passed, everything in the stage folders goes (parts,
/// checkpoints, indexes, reports), except their README files and the target
/// archive, which is the migrated help desk itself, not migration data
/// (unless `retention.include_target` says otherwise).
public struct Retention {
    public let context: PipelineContext
    public let reporter: Reporter

    public init(context: PipelineContext, reporter: Reporter) {
        self.context = context
        self.reporter = reporter
    }

    /// `now` and `days` can be given for tests and for a one-off early purge.
    public func purge(now: Date = Date(), days: Int? = nil, dryRun: Bool = false) throws -> StageResult {
        let settings = context.config.retention
        let keepDays = days ?? settings.days
        let root = context.stagesRoot
        let started = try clockStart()
        guard let started else {
            return StageResult(stage: .verify, summary: ["retention: \(root.path) holds no migration data; nothing to purge"])
        }
        let expires = started.date.addingTimeInterval(TimeInterval(keepDays) * 86_400)
        guard now >= expires else {
            let left = Int(expires.timeIntervalSince(now) / 3600)
            return StageResult(stage: .verify, summary: ["retention: kept; \(keepDays) day(s) after \(started.what) (\(Clock.iso(started.date))) end \(Clock.iso(expires)), in about \(left) hour(s)"])
        }
        let target = LoadStage(context: context, reporter: reporter).targetURL.standardizedFileURL
        var deleted: [String] = []
        var bytes: UInt64 = 0
        for stage in StageName.allCases {
            let folder = context.stage(stage).url
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
            for name in names where name != "README.md" && name != ".lock" {
                let url = folder.appendingPathComponent(name).standardizedFileURL
                // The archive itself, its -wal/-shm companions, or a folder that holds it.
                let isTarget = url.path == target.path || url.path.hasPrefix(target.path + "-") || target.path.hasPrefix(url.path + "/")
                if isTarget && !settings.includeTarget { continue }
                bytes += Self.size(of: url)
                if !dryRun {
                    do { try FileManager.default.removeItem(at: url) } catch {
                        throw FerryError.io(path: url.path, detail: "cannot delete: \(error.localizedDescription)")
                    }
                }
                deleted.append(url.path)
            }
        }
        var summary = ["retention: \(keepDays) day(s) after \(started.what) (\(Clock.iso(started.date))) have passed; \(dryRun ? "would delete" : "deleted") \(deleted.count) file(s), \(bytes) bytes:"]
        summary += deleted.map { "  \($0)" }
        if !settings.includeTarget { summary.append("kept the target archive \(target.path) (retention.include_target: false)") }
        return StageResult(stage: .verify, summary: summary)
    }

    /// When the retention clock started, and why.
    func clockStart() throws -> (date: Date, what: String)? {
        let summary = context.stage(.verify).url.appendingPathComponent("summary.json")
        if let data = FileManager.default.contents(atPath: summary.path),
           let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           (object["differences"] as? Int) == 0, let text = object["verified_at"] as? String,
           let date = ISO8601DateFormatter().date(from: text) {
            return (date, "the last clean verification")
        }
        var newest: Date?
        for stage in StageName.allCases {
            let checkpoint = context.stage(stage).checkpointURL
            if let modified = (try? FileManager.default.attributesOfItem(atPath: checkpoint.path))?[.modificationDate] as? Date {
                newest = max(newest ?? modified, modified)
            }
        }
        return newest.map { ($0, "the last stage run (never verified clean)") }
    }

    static func size(of url: URL) -> UInt64 {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return 0 }
        if !isDirectory.boolValue {
            return (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? UInt64) ?? 0
        }
        let items = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.fileSizeKey])?.compactMap { $0 as? URL } ?? []
        return items.reduce(0) { $0 + UInt64((try? $1.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0) }
    }
}
