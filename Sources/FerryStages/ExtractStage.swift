import FerryCore
import FerryZendesk
import Foundation

/// `ferry-extract`: reads a source into canonical bundle parts under stages/extract.
///
/// Parts end only between units (a ticket never parts from its comments), once
/// a part holds `bundle.part_records` records. After each part is durable the
/// checkpoint records the source position after it, so a killed run resumes
/// from the last finished part and writes the same bytes it would have written.
public struct ExtractStage {
    public let context: PipelineContext
    public let reporter: Reporter

    public init(context: PipelineContext, reporter: Reporter) {
        self.context = context
        self.reporter = reporter
    }

    /// The configured source connector.
    public func makeSource() throws -> SourceConnector {
        let settings = context.config.source
        switch settings.type {
        case "zendesk-export":
            return ZendeskExportSource(root: context.resolve(settings.path), system: settings.system)
        default:
            throw FerryError.config(file: context.configName, detail: "source.type: unknown source \"\(settings.type)\"", hint: "use zendesk-export (the connectors are listed in docs/connectors/)")
        }
    }

    /// Extracts everything, or only a demo selection when `demo` is given.
    public func run(source explicitSource: SourceConnector? = nil, demo: DemoSelection.Request? = nil) throws -> StageResult {
        let source = try explicitSource ?? makeSource()
        let directory = context.stage(.extract)
        let lock = try directory.lock()
        defer { withExtendedLifetime(lock) {} }
        let fingerprint = Hash.sha256("extract v1\n\(try source.fingerprint())\n\(demo.map { "demo \($0)" } ?? "full")\n\(PipelineConfig.fingerprintText(context.config.source))\n\(PipelineConfig.fingerprintText(context.config.bundle))")

        var checkpoint = try directory.loadCheckpoint() ?? Checkpoint(stage: "extract", fingerprint: fingerprint)
        if checkpoint.fingerprint == fingerprint, checkpoint.status == .complete {
            directory.touchCheckpoint()
            let counts = checkpoint.totalCounts
            return StageResult(stage: .extract, counts: counts, parts: checkpoint.parts.count, upToDate: true,
                               summary: StageResult.summaryLines(.extract, counts, parts: checkpoint.parts.count, upToDate: true),
                               exitStatus: StageResult.status(for: counts))
        }
        if checkpoint.fingerprint != fingerprint {
            if !checkpoint.parts.isEmpty { reporter.info("the source or its settings changed since the last run; extracting from the start") }
            checkpoint = Checkpoint(stage: "extract", fingerprint: fingerprint)
            try directory.removeOutputs()
        } else if !checkpoint.parts.isEmpty {
            reporter.info("resuming after part \(checkpoint.parts.count) of an interrupted run")
        }
        directory.removeTemporaries()
        try directory.saveCheckpoint(checkpoint)

        let sink = try PartSink(directory: directory, checkpoint: checkpoint, system: source.system, settings: context.config.bundle, reporter: reporter)
        if let demo {
            let agents = context.config.map.agents
            let named = Set(([agents.defaultAgent].compactMap { $0 } + Array(agents.map.values)).compactMap(Cleaning.normalizeEmail))
            let selection = try DemoSelection.plan(demo, source: source, includeEmails: named, reporter: reporter)
            try source.extract(from: checkpoint.parts.last?.position, into: SelectingSink(base: sink, selection: selection), reporter: reporter)
        } else {
            try source.extract(from: checkpoint.parts.last?.position, into: sink, reporter: reporter)
        }
        checkpoint = try sink.finish()
        let counts = checkpoint.totalCounts
        return StageResult(stage: .extract, counts: counts, parts: checkpoint.parts.count,
                           summary: StageResult.summaryLines(.extract, counts, parts: checkpoint.parts.count, upToDate: false),
                           exitStatus: StageResult.status(for: counts))
    }
}

/// The extract stage's side of the source contract: fills parts, closes them
/// at unit boundaries, and checkpoints each one once it is durable.
final class PartSink: ExtractSink {
    private let directory: StageDirectory
    private var checkpoint: Checkpoint
    private let system: String
    private let settings: BundleSettings
    private let reporter: Reporter
    private var writer: BundleWriter?
    private var counts = StageCounts()
    private var newestUpdate: String?
    private var lastPosition: SourcePosition?

    init(directory: StageDirectory, checkpoint: Checkpoint, system: String, settings: BundleSettings, reporter: Reporter) throws {
        self.directory = directory
        self.checkpoint = checkpoint
        self.system = system
        self.settings = settings
        self.reporter = reporter
        newestUpdate = checkpoint.cursor?["updated_at"]
    }

    private func currentWriter() throws -> BundleWriter {
        if let writer { return writer }
        let number = checkpoint.parts.count + 1
        let made = try BundleWriter(destination: directory.partURL(number), stage: "extract", sourceSystem: system,
                                    part: number, zstdLevel: settings.zstdLevel)
        writer = made
        return made
    }

    func emit<R: CanonicalRecord>(_ record: R) throws {
        try currentWriter().write(record)
        counts[R.entity].read += 1
        counts[R.entity].written += 1
    }

    /// A record left out on purpose (outside a demo selection): counted, not written.
    func filtered(_ entity: EntityType) {
        counts[entity].read += 1
        counts[entity].filtered += 1
    }

    func reject(_ reject: Reject) throws {
        try currentWriter().reject(reject)
        if let entity = reject.entity {
            counts[entity].read += 1
            counts[entity].rejected += 1
        } else {
            counts.unattributedRejects += 1
        }
    }

    func addBlob(copyingFrom url: URL) throws -> (sha256: String, size: UInt64) {
        try currentWriter().addBlob(copyingFrom: url)
    }

    func sawUpdate(_ timestamp: String?) {
        guard let timestamp else { return }
        if newestUpdate.map({ timestamp > $0 }) ?? true { newestUpdate = timestamp }
    }

    func endOfUnit(position: SourcePosition) throws {
        lastPosition = position
        if let writer, writer.recordCount >= settings.partRecords {
            try closePart()
        }
    }

    private var cursor: [String: String]? { newestUpdate.map { ["updated_at": $0] } }

    private func closePart() throws {
        guard let writer else { return }
        let manifest = try writer.finish(cursor: cursor)
        let size = (try? FileManager.default.attributesOfItem(atPath: writer.destination.path)[.size] as? UInt64) ?? 0
        checkpoint.parts.append(PartRecord(
            file: writer.destination.lastPathComponent, contentDigest: PartRecord.contentDigest(of: manifest),
            bytes: size, records: writer.recordCount, position: lastPosition, counts: counts))
        checkpoint.cursor = cursor
        try directory.saveCheckpoint(checkpoint)
        reporter.info("part \(manifest.part) written: \(writer.recordCount) records, \(size) bytes")
        self.writer = nil
        counts = StageCounts()
    }

    /// Closes the last part (an empty source still gets one empty part, so the
    /// next stage has something to read) and marks the stage complete.
    func finish() throws -> Checkpoint {
        if writer != nil || checkpoint.parts.isEmpty {
            _ = try currentWriter()
            try closePart()
        }
        checkpoint.status = .complete
        checkpoint.cursor = cursor
        try directory.saveCheckpoint(checkpoint)
        return checkpoint
    }
}
