import FerryCore
import FerrySQLite
import Foundation

/// `ferry-load`: writes the map stage's parts into the target.
///
/// Each part is loaded in one target transaction that also records the part
/// as loaded, so a killed load either committed a whole part or nothing of it,
/// and a rerun skips exactly the committed parts. Every record is keyed by
/// (entity, source id) in the target's ID map with the SHA-256 of its canonical
/// JSON: an unchanged record is skipped, a changed one updated in place, so a
/// second run creates nothing and a replay after a mapping fix updates only
/// what the fix changed.
public struct LoadStage {
    public let context: PipelineContext
    public let reporter: Reporter

    public init(context: PipelineContext, reporter: Reporter) {
        self.context = context
        self.reporter = reporter
    }

    public var targetURL: URL {
        context.config.target.path.map(context.resolve)
            ?? context.stage(.load).url.appendingPathComponent("helpdesk.sqlite")
    }

    public func openTarget() throws -> HelpDeskArchive {
        let settings = context.config.target
        guard settings.type == "sqlite" else {
            throw FerryError.config(file: context.configName, detail: "target.type: unknown target \"\(settings.type)\"", hint: "use sqlite (the connectors are listed in docs/connectors/)")
        }
        try FileManager.default.createDirectory(at: targetURL.deletingLastPathComponent(), withIntermediateDirectories: true)
        return try HelpDeskArchive(path: targetURL)
    }

    public func run() throws -> StageResult {
        let directory = context.stage(.load)
        let lock = try directory.lock()
        defer { withExtendedLifetime(lock) {} }
        let (input, parts) = try context.stage(.map).finishedOutput()
        let archive = try openTarget()
        let fingerprint = Hash.sha256("load v1\n\(input.fingerprint)")

        var checkpoint = try directory.loadCheckpoint() ?? Checkpoint(stage: "load", fingerprint: fingerprint)
        if checkpoint.fingerprint != fingerprint {
            checkpoint = Checkpoint(stage: "load", fingerprint: fingerprint)
        }
        var allLoaded = true
        for record in input.parts where try !archive.isPartLoaded(fingerprint: fingerprint, part: record.file, contentDigest: record.contentDigest) {
            allLoaded = false
        }
        if allLoaded, checkpoint.status == .complete {
            directory.touchCheckpoint()
            let counts = checkpoint.totalCounts
            return result(counts, parts: checkpoint.parts.count, upToDate: true)
        }
        directory.removeTemporaries()
        let codec = RecordCodec()
        let totalRecords = input.parts.reduce(0) { $0 + $1.records }
        var done = 0
        for (record, url) in zip(input.parts, parts) {
            if try archive.isPartLoaded(fingerprint: fingerprint, part: record.file, contentDigest: record.contentDigest) {
                done += record.records
                if !checkpoint.parts.contains(where: { $0.file == record.file }) {
                    reporter.info("\(record.file) is already in the target (loaded by an earlier run)")
                }
                continue
            }
            var counts = StageCounts()
            let reader = try BundleReader(url: url)
            try archive.transaction {
                try reader.read(line: { member, line, number in
                    guard let entity = EntityType(memberName: member) else { return }
                    counts[entity].read += 1
                    let outcome: LoadOutcome
                    do {
                        outcome = try load(entity, line, codec: codec, archive: archive)
                    } catch let error as DecodingError {
                        outcome = .failed("\(url.lastPathComponent)/\(member) line \(number): \(error.reason)")
                    }
                    switch outcome {
                    case .created: counts[entity].written += 1; counts[entity].inserted += 1
                    case .updated: counts[entity].written += 1; counts[entity].updated += 1
                    case .unchanged: counts[entity].written += 1; counts[entity].unchanged += 1
                    case .failed(let reason):
                        counts[entity].rejected += 1
                        reporter.warning("\(entity.singular) in \(url.lastPathComponent)/\(member) line \(number) not loaded: \(reason)")
                    }
                    done += 1
                    reporter.progress(done: done, total: totalRecords, unit: "records")
                }, blob: { blob in
                    try archive.storeBlob(sha256: blob.sha256, size: blob.size) { sink in try blob.read(sink) }
                })
                try archive.markPartLoaded(fingerprint: fingerprint, part: record.file, contentDigest: record.contentDigest)
            }
            checkpoint.parts.removeAll { $0.file == record.file }
            checkpoint.parts.append(PartRecord(file: record.file, contentDigest: record.contentDigest, bytes: 0,
                                               records: counts.total.written, input: record.file, counts: counts))
            try directory.saveCheckpoint(checkpoint)
        }
        checkpoint.status = .complete
        try directory.saveCheckpoint(checkpoint)
        return result(checkpoint.totalCounts, parts: checkpoint.parts.count, upToDate: false)
    }

    private func result(_ counts: StageCounts, parts: Int, upToDate: Bool) -> StageResult {
        var summary: [String] = []
        if upToDate { summary.append("ferry-load: every part of stages/map is already in the target; nothing to do") }
        summary.append(counts.loadTable())
        let t = counts.total
        summary.append("\(counts.reconciles ? "reconciled" : "NOT RECONCILED (a bug: please report it)"): read \(t.read) = in target \(t.written) (inserted \(t.inserted), updated \(t.updated), unchanged \(t.unchanged)) + failed \(t.rejected)")
        summary.append("target: \(targetURL.path)")
        if t.rejected > 0 { summary.append("failed records are in the target's id_map with status 'failed' and their reason; ferry-verify lists them") }
        return StageResult(stage: .load, counts: counts, parts: parts, upToDate: upToDate, summary: summary,
                           exitStatus: StageResult.status(for: counts))
    }

    private func load(_ entity: EntityType, _ line: Data, codec: RecordCodec, archive: HelpDeskArchive) throws -> LoadOutcome {
        let hash = Hash.sha256(line)
        switch entity {
        case .organizations: return try archive.upsert(codec.decode(Organization.self, line), contentHash: hash)
        case .users: return try archive.upsert(codec.decode(User.self, line), contentHash: hash)
        case .groups: return try archive.upsert(codec.decode(Group.self, line), contentHash: hash)
        case .ticketFields: return try archive.upsert(codec.decode(TicketField.self, line), contentHash: hash)
        case .tickets: return try archive.upsert(codec.decode(Ticket.self, line), contentHash: hash)
        case .comments: return try archive.upsert(codec.decode(Comment.self, line), contentHash: hash)
        case .kbCategories: return try archive.upsert(codec.decode(KBCategory.self, line), contentHash: hash)
        case .kbSections: return try archive.upsert(codec.decode(KBSection.self, line), contentHash: hash)
        case .kbArticles: return try archive.upsert(codec.decode(KBArticle.self, line), contentHash: hash)
        case .attachments: return try archive.upsert(codec.decode(Attachment.self, line), contentHash: hash)
        }
    }
}
