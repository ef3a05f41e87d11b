import FerryCore
import FerryRT
import FerryZendesk
import FerryZendeskAPI
import Foundation

/// What an extract run takes from the source.
public enum ExtractMode: Sendable, Equatable {
    /// Everything.
    case full
    /// A demo: a sample or chosen records with everything they reference.
    case demo(DemoSelection.Request)
    /// Only what changed since the last complete run: records whose updated_at
    /// is newer than that run's cursor (a ticket with all its comments and
    /// attachments), plus a deletion for every record that run saw and the
    /// source no longer has.
    case delta
}

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
        case "rt":
            guard let rt = settings.rt else {
                throw FerryError.config(file: context.configName, detail: "source.type: rt needs a source.rt section", hint: "at least source.rt.url; docs/connectors/rt.md")
            }
            let reporter = self.reporter
            return try RTSource(settings: rt, system: settings.system, credentialsFile: rt.credentialsFile.map(context.resolve),
                                scratch: context.stage(.extract).url.appendingPathComponent(".work-rt"), log: { reporter.warning($0) })
        case "zendesk-api":
            guard let zendesk = settings.zendesk else {
                throw FerryError.config(file: context.configName, detail: "source.type: zendesk-api needs a source.zendesk section", hint: "docs/connectors/zendesk.md")
            }
            let (credentials, scheme) = try ZendeskCredentials.resolve(zendesk, file: zendesk.credentialsFile.map(context.resolve))
            let reporter = self.reporter
            let client = ZendeskClient(settings: zendesk, credentials: credentials, scheme: scheme, log: { reporter.warning($0) })
            return ZendeskAPISource(settings: zendesk, client: client, system: settings.system,
                                    spool: context.stage(.extract).url.appendingPathComponent("zendesk-downloads"))
        default:
            throw FerryError.config(file: context.configName, detail: "source.type: unknown source \"\(settings.type)\"", hint: "use zendesk-export, zendesk-api or rt (the connectors are listed in docs/connectors/)")
        }
    }

    public func run(source explicitSource: SourceConnector? = nil, mode: ExtractMode = .full) throws -> StageResult {
        let source = try explicitSource ?? makeSource()
        let directory = context.stage(.extract)
        let lock = try directory.lock()
        defer { withExtendedLifetime(lock) {} }
        let previous = try directory.loadCheckpoint()

        // A delta run starts from the cursor of the last complete run.
        var since: String?
        if mode == .delta {
            if let previous, previous.status == .running, let resumed = previous.cursor?["since"] {
                since = resumed
            } else if let previous, previous.status == .complete, let cursor = previous.cursor?["updated_at"] {
                since = cursor
            } else if previous?.status == .running {
                throw FerryError.usage("the last extract did not finish; run ferry-extract without --delta to finish it, then run the delta")
            } else {
                throw FerryError.usage("a delta needs a complete earlier extract to start from (stages/extract/checkpoint.json with a cursor); run ferry-extract without --delta first")
            }
        }
        let modeText: String
        switch mode {
        case .full: modeText = "full"
        case .demo(let request): modeText = "demo \(request)"
        case .delta: modeText = "delta since \(since!)"
        }
        let fingerprint = Hash.sha256("extract v1\n\(try source.fingerprint())\n\(modeText)\n\(PipelineConfig.fingerprintText(context.config.source))\n\(PipelineConfig.fingerprintText(context.config.bundle))")

        var checkpoint = previous ?? Checkpoint(stage: "extract", fingerprint: fingerprint)
        if checkpoint.fingerprint == fingerprint, checkpoint.status == .complete {
            let counts = checkpoint.totalCounts
            return StageResult(stage: .extract, counts: counts, parts: checkpoint.parts.count, upToDate: true,
                               summary: StageResult.summaryLines(.extract, counts, parts: checkpoint.parts.count, upToDate: true),
                               exitStatus: StageResult.status(for: counts))
        }
        // A demo's selection is planned before old output is touched, so a bad ID leaves it in place.
        var selection: DemoSelection?
        if case .demo(let request) = mode {
            let agents = context.config.map.agents
            let named = Set(([agents.defaultAgent].compactMap { $0 } + Array(agents.map.values)).compactMap(Cleaning.normalizeEmail))
            selection = try DemoSelection.plan(request, source: source, includeEmails: named, reporter: reporter)
        }
        let resuming = previous != nil && checkpoint.fingerprint == fingerprint && checkpoint.status == .running
        if !resuming {
            if !checkpoint.parts.isEmpty && mode != .delta {
                reporter.info("the source or its settings changed since the last run; extracting from the start")
            }
            checkpoint = Checkpoint(stage: "extract", fingerprint: fingerprint)
            if case .demo = mode {
                // A demo keeps no ID index, and does not retire the last run's: deltas stay possible.
            } else {
                checkpoint.cursor = ["ids": "source-ids-\(fingerprint.prefix(16)).sqlite"]
                if let previousIDs = previous?.cursor?["ids"] { checkpoint.cursor?["previous_ids"] = previousIDs }
            }
            if let since { checkpoint.cursor?["since"] = since; checkpoint.cursor?["updated_at"] = since }
            try directory.removeOutputs()
        } else if !checkpoint.parts.isEmpty {
            reporter.info("resuming after part \(checkpoint.parts.count) of an interrupted run")
        }
        directory.removeTemporaries()
        try directory.saveCheckpoint(checkpoint)

        // Demo runs leave the delta state (the source ID index) alone.
        var ids: SourceIDIndex?
        if case .demo = mode {} else if let name = checkpoint.cursor?["ids"] {
            ids = try SourceIDIndex(url: directory.url.appendingPathComponent(name), fresh: !resuming)
        }
        let sink = try PartSink(directory: directory, checkpoint: checkpoint, system: source.system,
                                settings: context.config.bundle, encryption: context.encryption, ids: ids, reporter: reporter)
        let position = checkpoint.parts.last?.position
        switch mode {
        case .full:
            try source.extract(from: position, into: sink, reporter: reporter)
        case .demo:
            try source.extract(from: position, into: FilteringSink(base: sink, keeps: selection!.contains), reporter: reporter)
        case .delta:
            let cutoff = since!
            let cursorSource = source as? CursorDeltaSource
            // A cursor source starts where the last complete run's cursors stand (kept in its last part's position).
            cursorSource?.startDelta(after: previous?.status == .complete ? previous?.parts.last?.position : position, since: cutoff)
            try source.extract(from: position, into: FilteringSink(base: sink, keeps: { record in
                guard let changed = updatedAt(record) else { return true }
                return changed > cutoff
            }), reporter: reporter)
            if cursorSource != nil {
                reporter.info("\(source.system): read through incremental cursors; records deleted in the source are not detected by this delta")
            } else if let ids, let previousName = checkpoint.cursor?["previous_ids"], checkpoint.cursor?["deletions"] == nil {
                let previousURL = directory.url.appendingPathComponent(previousName)
                if FileManager.default.fileExists(atPath: previousURL.path) {
                    try sink.recordDeletions(try ids.missing(comparedTo: previousURL), since: cutoff)
                } else {
                    reporter.warning("\(previousName) is missing: deletions cannot be detected in this delta")
                }
            }
        }
        try ids?.close()
        checkpoint = try sink.finish()
        // The old ID index is superseded once the checkpoint names the new one.
        if let old = checkpoint.cursor?["previous_ids"], old != checkpoint.cursor?["ids"] {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(at: directory.url.appendingPathComponent(old + suffix)) }
        }
        let counts = checkpoint.totalCounts
        var summary = StageResult.summaryLines(.extract, counts, parts: checkpoint.parts.count, upToDate: false)
        if let since { summary.append("delta: records changed after \(since); \(counts.total.filtered) unchanged record(s) left out; \(sink.deletionCount) deletion(s)") }
        return StageResult(stage: .extract, counts: counts, parts: checkpoint.parts.count, summary: summary,
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
    private let encryption: BundleEncryption
    private let ids: SourceIDIndex?
    private let reporter: Reporter
    private var writer: BundleWriter?
    private var counts = StageCounts()
    private var newestUpdate: String?
    private var lastPosition: SourcePosition?
    private(set) var deletionCount = 0

    init(directory: StageDirectory, checkpoint: Checkpoint, system: String, settings: BundleSettings, encryption: BundleEncryption, ids: SourceIDIndex?, reporter: Reporter) throws {
        self.encryption = encryption
        self.directory = directory
        self.checkpoint = checkpoint
        self.system = system
        self.settings = settings
        self.ids = ids
        self.reporter = reporter
        newestUpdate = checkpoint.cursor?["updated_at"]
        lastPosition = checkpoint.parts.last?.position
    }

    private func currentWriter() throws -> BundleWriter {
        if let writer { return writer }
        let number = checkpoint.parts.count + 1
        let made = try BundleWriter(destination: directory.partURL(number), stage: "extract", sourceSystem: system,
                                    part: number, zstdLevel: settings.zstdLevel, encryption: encryption)
        writer = made
        return made
    }

    func emit<R: CanonicalRecord>(_ record: R) throws {
        try currentWriter().write(record)
        ids?.saw(R.entity, record.id)
        counts[R.entity].read += 1
        counts[R.entity].written += 1
    }

    /// A record left out on purpose (outside a demo, unchanged in a delta): counted, not written.
    func filtered<R: CanonicalRecord>(_ record: R) {
        filtered(R.entity, id: record.id)
    }

    func filtered(_ entity: EntityType, id: String? = nil) {
        if let id { ids?.saw(entity, id) }
        counts[entity].read += 1
        counts[entity].filtered += 1
    }

    func reject(_ reject: Reject) throws {
        try currentWriter().reject(reject)
        if let entity = reject.entity {
            // A record the source still has, if unreadable now, is not a deletion.
            if let id = reject.recordID { ids?.saw(entity, id) }
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

    /// Writes the deletions a delta found into the current part.
    func recordDeletions(_ missing: [(EntityType, String)], since: String) throws {
        guard !missing.isEmpty else { return }
        let writer = try currentWriter()
        for (entity, id) in missing {
            try writer.deletion(Deletion(entity: entity, recordID: id, reason: "in the extraction before \(since) but no longer in the source"))
        }
        deletionCount = missing.count
        checkpoint.cursor?["deletions"] = "\(missing.count)"
    }

    private var cursor: [String: String]? {
        var cursor = checkpoint.cursor ?? [:]
        if let newestUpdate { cursor["updated_at"] = newestUpdate }
        return cursor.isEmpty ? nil : cursor
    }

    private func closePart() throws {
        guard let writer else { return }
        try ids?.commit()
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
