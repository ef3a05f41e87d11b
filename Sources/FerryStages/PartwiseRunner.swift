import FerryCore
import Foundation

/// The resume and no-op logic shared by the stages that turn each input part
/// into one output part (dedupe, map). Part N of the output is made from part
/// N of the input, so after a crash the stage skips the parts its checkpoint
/// lists and redoes only the rest.
struct PartwiseRunner {
    let stage: StageName
    let context: PipelineContext
    let reporter: Reporter
    /// Config and version text that, with the input, decides whether old output is still valid.
    let settingsText: String

    struct Input {
        let checkpoint: Checkpoint
        let parts: [URL]

        /// A delta run's input: only what changed since the last complete run.
        var isDelta: Bool { checkpoint.cursor?["since"] != nil }
    }

    func input() throws -> Input {
        guard let previous = stage.previous else { throw FerryError.internalError("\(stage) has no input stage") }
        let (checkpoint, parts) = try context.stage(previous).finishedOutput()
        return Input(checkpoint: checkpoint, parts: parts)
    }

    /// `prepare` runs once per run, before any part (a first pass over all input, say).
    /// `transform` fills the writer for one input part and adds to the counts.
    /// `finish` runs after the last part, before the stage is marked complete
    /// (to keep state for the next delta run, say).
    func run(
        prepare: (Input) throws -> Void,
        transform: (_ part: URL, _ reader: BundleReader, _ writer: BundleWriter, _ counts: inout StageCounts) throws -> Void,
        finish: () throws -> Void = {}
    ) throws -> StageResult {
        let directory = context.stage(stage)
        let lock = try directory.lock()
        defer { withExtendedLifetime(lock) {} }
        let input = try input()
        var fingerprintText = "\(stage.rawValue)\n\(settingsText)\n\(PipelineConfig.fingerprintText(context.config.bundle))\n"
        for part in input.checkpoint.parts { fingerprintText += "\(part.file) \(part.contentDigest)\n" }
        let fingerprint = Hash.sha256(fingerprintText)

        var checkpoint = try directory.loadCheckpoint() ?? Checkpoint(stage: stage.rawValue, fingerprint: fingerprint)
        if checkpoint.fingerprint == fingerprint, checkpoint.status == .complete {
            let counts = checkpoint.totalCounts
            return StageResult(stage: stage, counts: counts, parts: checkpoint.parts.count, upToDate: true,
                               summary: StageResult.summaryLines(stage, counts, parts: checkpoint.parts.count, upToDate: true),
                               exitStatus: StageResult.status(for: counts))
        }
        // The first pass (and the map's coverage check) runs before old output is
        // touched: a run that stops there leaves the last good output in place.
        try prepare(input)
        if checkpoint.fingerprint != fingerprint {
            if !checkpoint.parts.isEmpty { reporter.info("input or settings changed since the last run; starting over") }
            checkpoint = Checkpoint(stage: stage.rawValue, fingerprint: fingerprint)
            try directory.removeOutputs()
        } else if !checkpoint.parts.isEmpty {
            reporter.info("resuming after part \(checkpoint.parts.count) of \(input.parts.count)")
        }
        directory.removeTemporaries()
        try directory.saveCheckpoint(checkpoint)

        let totalRecords = input.checkpoint.parts.reduce(0) { $0 + $1.records }
        var recordsDone = checkpoint.parts.reduce(0) { $0 + $1.counts.total.read }
        for (index, partURL) in input.parts.enumerated() where index >= checkpoint.parts.count {
            let reader = try context.openBundle(partURL)
            let writer = try BundleWriter(destination: directory.partURL(index + 1), stage: stage.rawValue,
                                          sourceSystem: reader.manifest.sourceSystem, part: index + 1,
                                          zstdLevel: context.config.bundle.zstdLevel, encryption: context.encryption)
            var counts = StageCounts()
            try transform(partURL, reader, writer, &counts)
            let manifest = try writer.finish(cursor: reader.manifest.cursor)
            let size = (try? FileManager.default.attributesOfItem(atPath: writer.destination.path)[.size] as? UInt64) ?? 0
            checkpoint.parts.append(PartRecord(
                file: writer.destination.lastPathComponent, contentDigest: PartRecord.contentDigest(of: manifest),
                bytes: size, records: writer.recordCount, input: partURL.lastPathComponent, counts: counts))
            checkpoint.cursor = reader.manifest.cursor
            try directory.saveCheckpoint(checkpoint)
            recordsDone += counts.total.read
            reporter.progress(done: recordsDone, total: totalRecords, unit: "records")
        }
        try finish()
        checkpoint.status = .complete
        try directory.saveCheckpoint(checkpoint)
        let counts = checkpoint.totalCounts
        return StageResult(stage: stage, counts: counts, parts: checkpoint.parts.count,
                           summary: StageResult.summaryLines(stage, counts, parts: checkpoint.parts.count, upToDate: false),
                           exitStatus: StageResult.status(for: counts))
    }
}

/// A member a stage meets that is neither a kind of record Ferry knows nor one
/// of the outcome members each stage writes for itself (and does not carry on).
/// Its lines are rejected one by one, never dropped without a word.
func isUnknownMember(_ member: String) -> Bool {
    EntityType(memberName: member) == nil
        && ![Reject.memberName, Merge.memberName, Skip.memberName, FieldChange.memberName, Deletion.memberName].contains(member)
}

func rejectUnknownMember(_ stage: StageName, part: URL, member: String, line: Int, raw: Data, writer: BundleWriter, counts: inout StageCounts) throws {
    try writer.reject(Reject(stage: stage.rawValue, file: "\(part.lastPathComponent)/\(member)", line: line, recordID: Reject.visibleID(in: raw),
                             reason: "\(member) holds a kind of record this version of Ferry does not know; not migrated",
                             excerpt: String(decoding: raw.prefix(160), as: UTF8.self)))
    counts.unattributedRejects += 1
}

/// Passes deletions on unchanged; the load applies them.
func passDeletion(_ member: String, _ line: Data, into writer: BundleWriter) throws -> Bool {
    guard member == Deletion.memberName else { return false }
    try writer.passThrough(line, member: member)
    return true
}

/// Streams a part's blobs into the writer unchanged (attachments keep their bytes).
func copyBlob(_ blob: BundleReader.Blob, into writer: BundleWriter) throws {
    try writer.addBlob { sink in try blob.read(sink) }
}
