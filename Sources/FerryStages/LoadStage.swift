import FerryCore
import FerryRT
import FerrySQLite
import FerryZendeskAPI
import Foundation

/// `ferry-load`: writes the map stage's parts into the target.
///
/// Each part is loaded in one target transaction that also records the part
/// as loaded (with its counts), so a killed load either committed a whole part
/// or nothing of it, and a rerun skips exactly the committed parts and reports
/// the same totals. Every record is keyed by (entity, source id) in the
/// target's ID map with the SHA-256 of its canonical JSON: an unchanged record
/// is skipped, a changed one updated in place, so a second run creates nothing
/// and a replay after a mapping fix updates only what the fix changed.
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

    /// Where the target is, for messages: the archive's path, or the RT server's URL.
    public var targetDescription: String {
        if context.config.target.type == "rt", let rt = context.config.target.rt { return "Request Tracker at \(rt.url)" }
        if context.config.target.type == "zendesk-api", let zendesk = context.config.target.zendesk { return "Zendesk at \(zendesk.baseURL)" }
        return targetURL.path
    }

    /// The RT target's local state (its ID map), in the load folder unless target.rt.state says otherwise.
    public var rtStateURL: URL {
        context.config.target.rt?.state.map(context.resolve) ?? context.stage(.load).url.appendingPathComponent("rt-state.sqlite")
    }

    /// Opens the target `target.type` names: `sqlite` (the archive) or `rt` (Request Tracker 5).
    public func openTarget() throws -> any TargetConnector {
        let settings = context.config.target
        switch settings.type {
        case "sqlite":
            return try HelpDeskArchive(path: targetURL, encryption: context.encryption, encryptBlobs: settings.encryptAttachments)
        case "rt":
            guard let rt = settings.rt else {
                throw FerryError.config(file: context.configName, detail: "target.type: rt needs a target.rt section", hint: "at least target.rt.url; docs/connectors/rt.md")
            }
            let reporter = self.reporter
            return try RTTarget(settings: rt, stateURL: rtStateURL, credentialsFile: rt.credentialsFile.map(context.resolve),
                                log: { reporter.warning($0) })
        case "zendesk-api":
            guard let zendesk = settings.zendesk else {
                throw FerryError.config(file: context.configName, detail: "target.type: zendesk-api needs a target.zendesk section", hint: "docs/connectors/zendesk.md")
            }
            let reporter = self.reporter
            let (credentials, scheme) = try ZendeskCredentials.resolve(zendesk, file: zendesk.credentialsFile.map(context.resolve))
            let client = ZendeskClient(settings: zendesk, credentials: credentials, scheme: scheme, log: { reporter.warning($0) })
            let stateURL = zendesk.state.map(context.resolve) ?? context.stage(.load).url.appendingPathComponent("zendesk-state.sqlite")
            return try ZendeskAPITarget(settings: zendesk, client: client, stateURL: stateURL, log: { reporter.warning($0) })
        default:
            throw FerryError.config(file: context.configName, detail: "target.type: unknown target \"\(settings.type)\"", hint: "use sqlite, rt or zendesk-api (the connectors are listed in docs/connectors/)")
        }
    }

    /// Loads every part not loaded yet; with `onlyFailed`, retries just the
    /// records whose last attempt failed (after a fix to the data or mapping).
    public func run(onlyFailed: Bool = false) throws -> StageResult {
        let directory = context.stage(.load)
        let lock = try directory.lock()
        defer { withExtendedLifetime(lock) {} }
        let (input, parts) = try context.stage(.map).finishedOutput()
        let archive = try openTarget()
        if onlyFailed { return try retryFailed(archive: archive, parts: parts) }
        let fingerprint = Hash.sha256("load v1\n\(input.fingerprint)\n\(PipelineConfig.fingerprintText(context.config.target))")

        var checkpoint = try directory.loadCheckpoint() ?? Checkpoint(stage: "load", fingerprint: fingerprint)
        if checkpoint.fingerprint != fingerprint {
            checkpoint = Checkpoint(stage: "load", fingerprint: fingerprint)
        }
        var allLoaded = true
        for record in input.parts where try !archive.isPartLoaded(fingerprint: fingerprint, part: record.file, contentDigest: record.contentDigest) {
            allLoaded = false
        }
        if allLoaded, checkpoint.status == .complete {
            return result(checkpoint.totalCounts, parts: checkpoint.parts.count, upToDate: true)
        }
        directory.removeTemporaries()
        let codec = RecordCodec()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let totalRecords = input.parts.reduce(0) { $0 + $1.records }
        var done = 0
        for (record, url) in zip(input.parts, parts) {
            var counts = StageCounts()
            if try archive.isPartLoaded(fingerprint: fingerprint, part: record.file, contentDigest: record.contentDigest) {
                // Committed by a run that died before its checkpoint: its counts were kept with it.
                if !checkpoint.parts.contains(where: { $0.file == record.file }) {
                    if let summary = try archive.loadedPartSummary(fingerprint: fingerprint, part: record.file) {
                        counts = (try? JSONDecoder().decode(StageCounts.self, from: Data(summary.utf8))) ?? counts
                    }
                    checkpoint.parts.append(PartRecord(file: record.file, contentDigest: record.contentDigest, bytes: 0,
                                                       records: counts.total.written, input: record.file, counts: counts))
                    try directory.saveCheckpoint(checkpoint)
                }
                done += record.records
                continue
            }
            let reader = try context.openBundle(url)
            try archive.transaction {
                var deletions: [Deletion] = []
                try reader.read(line: { member, line, number in
                    if member == Deletion.memberName {
                        deletions.append(try JSONDecoder().decode(Deletion.self, from: line))
                        return
                    }
                    if isUnknownMember(member) {
                        counts.unattributedRejects += 1
                        reporter.warning("\(url.lastPathComponent)/\(member) line \(number): a kind of record this version of Ferry does not know; not loaded")
                        return
                    }
                    guard let entity = EntityType(memberName: member) else { return }
                    counts[entity].read += 1
                    let outcome: LoadOutcome
                    do {
                        outcome = try load(entity, line, codec: codec, archive: archive)
                    } catch let error as DecodingError {
                        outcome = .failed("\(url.lastPathComponent)/\(member) line \(number): \(error.reason)")
                    }
                    tally(outcome, entity, &counts, where: "\(url.lastPathComponent)/\(member) line \(number)")
                    done += 1
                    reporter.progress(done: done, total: totalRecords, unit: "records")
                }, blob: { blob in
                    try archive.storeBlob(sha256: blob.sha256, size: blob.size) { sink in try blob.read(sink) }
                })
                try apply(deletions, archive: archive, counts: &counts)
                let summary = String(decoding: try encoder.encode(counts), as: UTF8.self)
                try archive.markPartLoaded(fingerprint: fingerprint, part: record.file, contentDigest: record.contentDigest, summary: summary)
            }
            checkpoint.parts.removeAll { $0.file == record.file }
            checkpoint.parts.append(PartRecord(file: record.file, contentDigest: record.contentDigest, bytes: 0,
                                               records: counts.total.written, input: record.file, counts: counts))
            try directory.saveCheckpoint(checkpoint)
        }
        try rewriteKnowledgeBaseLinks(archive)
        checkpoint.status = .complete
        try directory.saveCheckpoint(checkpoint)
        return result(checkpoint.totalCounts, parts: checkpoint.parts.count, upToDate: false)
    }

    private func tally(_ outcome: LoadOutcome, _ entity: EntityType, _ counts: inout StageCounts, where location: String) {
        switch outcome {
        case .created: counts[entity].written += 1; counts[entity].inserted += 1
        case .updated: counts[entity].written += 1; counts[entity].updated += 1
        case .unchanged: counts[entity].written += 1; counts[entity].unchanged += 1
        case .failed(let reason):
            counts[entity].rejected += 1
            reporter.warning("\(entity.singular) in \(location) not loaded: \(reason)")
        }
    }

    /// Applies a delta's deletions, children before parents, as `target.deletions` says.
    private func apply(_ deletions: [Deletion], archive: any TargetConnector, counts: inout StageCounts) throws {
        guard !deletions.isEmpty else { return }
        let policy = context.config.target.deletions
        guard policy != .keep else {
            reporter.info("\(deletions.count) record(s) are no longer in the source; kept in the target (target.deletions: keep)")
            return
        }
        for deletion in deletions.sorted(by: { ($0.entity.order, $0.recordID) > ($1.entity.order, $1.recordID) }) {
            switch try archive.applyDeletion(deletion.entity, sourceID: deletion.recordID, reason: deletion.reason, keepMarked: policy == .mark) {
            case .deleted, .marked: counts[deletion.entity].deleted += 1
            case .absent: break
            case .stillReferenced(let why):
                counts[deletion.entity].deleted += 1
                reporter.warning("\(deletion.entity.singular) \(deletion.recordID) is gone from the source but other records still refer to it; marked instead of deleted (\(why))")
            }
        }
    }

    private func retryFailed(archive: any TargetConnector, parts: [URL]) throws -> StageResult {
        let failed = try archive.failedRecords()
        guard !failed.isEmpty else {
            return StageResult(stage: .load, summary: ["ferry-load --only-failed: no record failed last time; nothing to retry"])
        }
        var wanted = Set(failed.map { "\($0.entity.rawValue) \($0.sourceID)" })
        let codec = RecordCodec()
        var counts = StageCounts()
        for url in parts where !wanted.isEmpty {
            let reader = try context.openBundle(url)
            try archive.transaction {
                try reader.read(line: { member, line, number in
                    guard let entity = EntityType(memberName: member) else { return }
                    guard let id = try? JSONDecoder().decode(IDProbe.self, from: line).id, wanted.remove("\(entity.rawValue) \(id)") != nil else { return }
                    counts[entity].read += 1
                    tally(try load(entity, line, codec: codec, archive: archive), entity, &counts, where: "\(url.lastPathComponent)/\(member) line \(number)")
                }, blob: { blob in
                    try archive.storeBlob(sha256: blob.sha256, size: blob.size) { sink in try blob.read(sink) }
                })
            }
        }
        try rewriteKnowledgeBaseLinks(archive)
        try recordRetries(counts)
        var summary = ["ferry-load --only-failed: retried \(counts.total.read) of \(failed.count) failed record(s)"]
        summary.append(counts.loadTable())
        if !wanted.isEmpty { summary.append("\(wanted.count) failed record(s) are no longer in stages/map (fixed away by the mapping, or filtered)") }
        return StageResult(stage: .load, counts: counts, summary: summary, exitStatus: StageResult.status(for: counts))
    }

    private struct IDProbe: Decodable { let id: String }

    // MARK: knowledge base links

    /// The rewriter for `target.kb_links`, or nil when no target URL is configured
    /// or the target keeps no knowledge base whose bodies can be rewritten.
    public func linkRewriter(_ target: any TargetConnector) throws -> KBLinkRewriter? {
        let settings = context.config.target.kbLinks
        guard let template = settings.url, let knowledgeBase = target as? any KnowledgeBaseLinkTarget else { return nil }
        return KBLinkRewriter(template: template, sourceHosts: Set(settings.sourceHosts).union(try knowledgeBase.knowledgeBaseHosts()))
    }

    /// Resolves a link against the records loaded into the target.
    public static func resolver(_ target: any KnowledgeBaseLinkTarget) -> KBLinkRewriter.Resolve {
        { link in
            guard let id = try target.targetID(link.entity, sourceID: link.sourceID) else { return nil }
            return (id, try target.knowledgeBaseLocale(link.entity, targetID: id))
        }
    }

    /// Whether links in comments are rewritten: asked for, and the target can change loaded comments.
    public func rewritesCommentLinks(_ target: any TargetConnector) -> Bool {
        context.config.target.kbLinks.inComments && (target as? any KnowledgeBaseLinkTarget)?.rewritesComments == true
    }

    /// After every part is in: links into the source's knowledge base become
    /// the target's URLs (`target.kb_links`). It runs over the stored bodies,
    /// which is idempotent because a target URL never looks like a source one
    /// (the config check refuses a target host among the source hosts); so a
    /// rerun, a replay or a delta fixes whatever became resolvable since.
    /// Links whose record is not in the target stay as they are and are
    /// counted here; ferry-verify lists each with the record that holds it.
    func rewriteKnowledgeBaseLinks(_ target: any TargetConnector) throws {
        let settings = context.config.target.kbLinks
        guard let knowledgeBase = target as? any KnowledgeBaseLinkTarget else {
            if settings.url != nil {
                reporter.warning("target.kb_links: the \(context.config.target.type) target keeps no knowledge base; links are left as they are")
            }
            return
        }
        guard let rewriter = try linkRewriter(knowledgeBase) else { return }
        if settings.inComments && !knowledgeBase.rewritesComments {
            reporter.warning("target.kb_links.in_comments: the \(context.config.target.type) target cannot change a comment once loaded; links in comments are left as they are (article bodies and translations are rewritten)")
        }
        let resolve = Self.resolver(knowledgeBase)
        var unresolved = 0
        var changed = 0
        try knowledgeBase.transaction {
            changed = try knowledgeBase.rewriteHTML(includeComments: rewritesCommentLinks(knowledgeBase)) { entity, sourceID, html in
                let result = try rewriter.rewrite(html, resolve: resolve)
                for link in result.unresolved {
                    unresolved += 1
                    if unresolved <= 5 { reporter.warning("\(entity.singular) \(sourceID) links to \(link.url): \(link.entity.singular) \(link.sourceID) is not in the target; link left as it is") }
                }
                return result.html
            }
        }
        reporter.info("knowledge base links: \(changed) bodies rewritten to \(rewriter.template); \(unresolved) link(s) could not be resolved (listed by ferry-verify)")
    }

    /// Moves records a retry loaded from "failed" to "in target" in the load's
    /// checkpoint, so a later no-op run reports the target as it now is.
    private func recordRetries(_ retried: StageCounts) throws {
        let directory = context.stage(.load)
        guard var checkpoint = try directory.loadCheckpoint() else { return }
        for entity in EntityType.allCases {
            var fixed = retried[entity].written
            for index in checkpoint.parts.indices where fixed > 0 {
                let moved = min(fixed, checkpoint.parts[index].counts[entity].rejected)
                checkpoint.parts[index].counts[entity].rejected -= moved
                checkpoint.parts[index].counts[entity].written += moved
                checkpoint.parts[index].counts[entity].updated += moved
                fixed -= moved
            }
        }
        try directory.saveCheckpoint(checkpoint)
    }

    private func result(_ counts: StageCounts, parts: Int, upToDate: Bool) -> StageResult {
        var summary: [String] = []
        if upToDate { summary.append("ferry-load: every part of stages/map is already in the target; nothing to do") }
        summary.append(counts.loadTable())
        let t = counts.total
        summary.append("\(counts.reconciles ? "reconciled" : "NOT RECONCILED (a bug: please report it)"): read \(t.read) = in target \(t.written) (inserted \(t.inserted), updated \(t.updated), unchanged \(t.unchanged)) + failed \(t.rejected)")
        summary.append("target: \(targetDescription)")
        if t.rejected > 0 { summary.append("failed records are in the target's id_map with status 'failed' and their reason; fix the cause, then `ferry-load --only-failed`") }
        return StageResult(stage: .load, counts: counts, parts: parts, upToDate: upToDate, summary: summary,
                           exitStatus: StageResult.status(for: counts))
    }

    private func load(_ entity: EntityType, _ line: Data, codec: RecordCodec, archive: any TargetConnector) throws -> LoadOutcome {
        try load(entity.recordType, line, codec: codec, archive: archive)
    }

    private func load<R: CanonicalRecord>(_ type: R.Type, _ line: Data, codec: RecordCodec, archive: any TargetConnector) throws -> LoadOutcome {
        try archive.upsert(codec.decode(type, line), contentHash: Hash.sha256(line))
    }
}
