import FerryCore
import FerrySQLite
import Foundation

/// What verification found for one kind of record.
public struct VerifyCounts: Codable, Equatable, Sendable {
    /// Records the source had (everything extract read, readable or not).
    public var all = 0
    /// Records Ferry made (placeholder users for references to missing users).
    public var created = 0
    /// In the target and equal to the mapped record, field by field.
    public var migrated = 0
    /// Rejected by a stage, failed to load, missing from the target or different in it.
    public var failed = 0
    /// Merged into another record or left out on purpose, with the reason recorded.
    public var skipped = 0
    /// Of the failed: missing from the target or different in it (what makes verify exit 1).
    public var differing = 0

    public init() {}

    public var reconciles: Bool { all + created == migrated + failed + skipped }
}

/// The outcome of `ferry-verify`, also written as stages/verify/summary.json.
public struct VerifyReport: Codable, Sendable {
    public var entities: [String: VerifyCounts]
    public var differences: Int
    public var unattributedRejects: Int
    public var recordsCSV: String
    public var differencesCSV: String
    public var target: String
    public var verifiedAt: String
    /// Links into the source's knowledge base left unresolved (nil when target.kb_links is off).
    public var unresolvedLinks: Int?

    enum CodingKeys: String, CodingKey {
        case entities, differences, unattributedRejects = "unattributed_rejects", recordsCSV = "records_csv"
        case differencesCSV = "differences_csv", target, verifiedAt = "verified_at", unresolvedLinks = "unresolved_links"
    }

    public var reconciles: Bool { entities.values.allSatisfy(\.reconciles) }
    public var clean: Bool { differences == 0 && reconciles }

    public func table() -> String {
        var rows: [[String]] = [["entity", "all", "created", "migrated", "failed", "skipped", "different", ""]]
        var total = VerifyCounts()
        for entity in EntityType.allCases {
            guard let c = entities[entity.rawValue] else { continue }
            rows.append([entity.rawValue, "\(c.all)", "\(c.created)", "\(c.migrated)", "\(c.failed)", "\(c.skipped)", "\(c.differing)", c.reconciles ? "ok" : "DOES NOT ADD UP"])
            total.all += c.all; total.created += c.created; total.migrated += c.migrated
            total.failed += c.failed; total.skipped += c.skipped; total.differing += c.differing
        }
        rows.append(["total", "\(total.all)", "\(total.created)", "\(total.migrated)", "\(total.failed)", "\(total.skipped)", "\(total.differing)", ""])
        return TextTable.render(rows)
    }
}

/// `ferry-verify`: reads the target back and compares it with the map stage's
/// parts, record by record and field by field, attachment bytes by SHA-256.
///
/// Every record the source had ends up in exactly one row of records.csv:
/// migrated (in the target and equal), failed (rejected by a stage with its
/// reason, failed to load, missing or different) or skipped (merged or left
/// out on purpose, with the reason). Counts must reconcile with what extract
/// read. Known rejects do not fail verification (they were reported when they
/// happened); anything missing or different in the target does: exit 1.
///
/// Writes, in stages/verify: records.csv and its split by status
/// (migrated.csv, failed.csv, skipped.csv; `RecordLedger`), differences.csv
/// (`DifferenceLog`), summary.json (the counts), and report.html with
/// report.json (`VerifyReportDocument`): the counts as a chart and a table,
/// failures and skips by reason, the first differences, a side-by-side sample
/// of tickets (`TicketSampler`) and how the run was configured (`RunFacts`).
/// Records stream through; only bounded aggregates are kept for the report.
public struct VerifyStage {
    public let context: PipelineContext
    public let reporter: Reporter

    public init(context: PipelineContext, reporter: Reporter) {
        self.context = context
        self.reporter = reporter
    }

    public func run() throws -> StageResult {
        let started = Date()
        let directory = context.stage(.verify)
        let lock = try directory.lock()
        defer { withExtendedLifetime(lock) {} }
        directory.removeTemporaries()
        let (extract, extractParts) = try context.stage(.extract).finishedOutput()
        let (_, dedupeParts) = try context.stage(.dedupe).finishedOutput()
        let (mapCheckpoint, mapParts) = try context.stage(.map).finishedOutput()
        let load = LoadStage(context: context, reporter: reporter)
        guard context.config.target.type != "sqlite" || FileManager.default.fileExists(atPath: load.targetURL.path) else {
            throw FerryError.missingInput(path: load.targetURL.path, hint: "run ferry-load (or `make load`) first")
        }
        let archive = try load.openTarget()

        var counts: [EntityType: VerifyCounts] = [:]
        for entity in EntityType.allCases { counts[entity] = VerifyCounts() }
        let extractTotals = extract.totalCounts
        for entity in EntityType.allCases { counts[entity]!.all = extractTotals[entity].read }
        for entity in EntityType.allCases { counts[entity]!.created = mapCheckpoint.totalCounts[entity].created }
        // Records outside a demo selection: counted by extract, not listed one by one.
        let outsideDemo = extractTotals.total.filtered
        for entity in EntityType.allCases { counts[entity]!.skipped += extractTotals[entity].filtered }

        let records = try RecordLedger(directory: directory.url)
        let differences = try DifferenceLog(directory: directory.url)
        var sampler = TicketSampler()
        let decoder = JSONDecoder()
        var unattributed = 0

        // What earlier stages refused or folded away, with their reasons.
        for (stage, parts) in [(StageName.extract, extractParts), (.dedupe, dedupeParts), (.map, mapParts)] {
            for part in parts {
                try context.openBundle(part).read(line: { member, line, _ in
                    switch member {
                    case Reject.memberName:
                        let reject = try decoder.decode(Reject.self, from: line)
                        if let entity = reject.entity { counts[entity]!.failed += 1 } else { unattributed += 1 }
                        // Grouped by the reason alone: file, line and id differ from record to record.
                        try records.add(reject.entity, sourceID: reject.recordID ?? "", status: .failed,
                                        reason: "\(stage.rawValue): \(reject.summary)",
                                        groupReason: "\(stage.rawValue): " + (reject.field.map { "field \($0): " } ?? "") + reject.reason)
                    case Merge.memberName:
                        let merge = try decoder.decode(Merge.self, from: line)
                        counts[merge.entity]!.skipped += 1
                        try records.add(merge.entity, sourceID: merge.mergedID, status: .skipped,
                                        reason: "\(stage.rawValue): merged into \(merge.survivorID): \(merge.reason)")
                    case Skip.memberName:
                        let skip = try decoder.decode(Skip.self, from: line)
                        counts[skip.entity]!.skipped += 1
                        try records.add(skip.entity, sourceID: skip.recordID, status: .skipped, reason: "\(stage.rawValue): \(skip.reason)")
                    default:
                        return
                    }
                })
            }
        }

        // Every mapped record against the target.
        var comparer = RecordComparer(archive: archive)
        if let rewriter = try load.linkRewriter(archive), let knowledgeBase = archive as? any KnowledgeBaseLinkTarget {
            comparer.links = try KnowledgeBaseLinkCheck(rewriter: rewriter, resolve: LoadStage.resolver(knowledgeBase),
                                                        inComments: load.rewritesCommentLinks(archive),
                                                        csv: directory.url.appendingPathComponent("unresolved-links.csv"))
        }
        var differenceCount = 0
        var checked = 0
        let total = mapCheckpoint.parts.reduce(0) { $0 + $1.records }
        for (partIndex, part) in mapParts.enumerated() {
            var expectedComments: [String: Int] = [:]
            var ticketIDs: [String] = []
            try context.openBundle(part).read(line: { member, line, number in
                guard let entity = EntityType(memberName: member) else { return }
                let outcome: RecordComparer.Outcome
                do {
                    outcome = try comparer.compare(entity, line)
                } catch let error as DecodingError {
                    // The map stage wrote a line nobody can read back: a failed record, named by place.
                    let reject = Reject.undecodable(stage: .verify, part: part, member: member, line: number, entity: entity, error: error, raw: line)
                    counts[entity]!.failed += 1
                    counts[entity]!.differing += 1
                    differenceCount += 1
                    try records.add(entity, sourceID: reject.recordID ?? "", targetID: nil, status: .failed, reason: "verify: \(reject.summary)")
                    return
                }
                switch entity {
                case .tickets:
                    ticketIDs.append(outcome.sourceID)
                    sampler.noteTicket(outcome.sourceID, part: partIndex)
                case .comments: if let ticket = outcome.ticketID { expectedComments[ticket, default: 0] += 1 }
                case .attachments:
                    if sampler.wantsAttachment, outcome.commentID != nil, let ticket = try outcome.owningTicket(archive) {
                        sampler.noteAttachment(ticketID: ticket, part: partIndex)
                    }
                default: break
                }
                if outcome.failedToLoad != nil || !outcome.differences.isEmpty {
                    counts[entity]!.failed += 1
                    counts[entity]!.differing += 1
                    let reason = outcome.failedToLoad.map { "load: \($0)" } ?? "different in target: " + outcome.differences.map(\.field).joined(separator: ", ")
                    try records.add(entity, sourceID: outcome.sourceID, targetID: outcome.targetID, status: .failed, reason: reason)
                    for difference in outcome.differences {
                        try differences.add(entity, sourceID: outcome.sourceID, targetID: outcome.targetID,
                                            field: difference.field, expected: difference.expected, actual: difference.actual)
                        differenceCount += 1
                    }
                    if outcome.failedToLoad != nil { differenceCount += 1 }
                    if let ticket = try outcome.owningTicket(archive) { sampler.noteDifference(ticketID: ticket, part: partIndex) }
                } else {
                    counts[entity]!.migrated += 1
                    try records.add(entity, sourceID: outcome.sourceID, targetID: outcome.targetID, status: .migrated)
                }
                checked += 1
                reporter.progress(done: checked, total: total, unit: "records checked")
            })
            for ticket in ticketIDs {
                let expected = expectedComments[ticket] ?? 0
                let actual = try archive.commentCount(ticketSourceID: ticket)
                if expected != actual {
                    try differences.add(.tickets, sourceID: ticket, targetID: try archive.targetID(.tickets, sourceID: ticket),
                                        field: "comment_count", expected: String(expected), actual: String(actual))
                    differenceCount += 1
                    sampler.noteDifference(ticketID: ticket, part: partIndex)
                }
            }
        }
        try records.finish()
        try differences.finish()

        let report = VerifyReport(
            entities: Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) }),
            differences: differenceCount, unattributedRejects: unattributed,
            recordsCSV: records.all.url.path, differencesCSV: differences.csv.url.path,
            target: load.targetDescription, verifiedAt: Clock.nowISO8601(),
            unresolvedLinks: comparer.links?.csv.rows)
        try comparer.links?.csv.finish()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try DurableFile.write(try encoder.encode(report) + Data("\n".utf8), to: directory.url.appendingPathComponent("summary.json"))

        reporter.info("reading \(sampler.picks.count) sample ticket(s) back for the side-by-side view")
        let document = VerifyReportDocument(
            ferryVersion: FerryVersion.string, generatedAt: report.verifiedAt,
            verdict: VerifyReportDocument.verdict(for: report), summary: report, recordsOutsideDemo: outsideDemo,
            reasons: records.reasons.sorted,
            differences: DifferenceExcerpt(rows: differences.rows, shown: differences.shown),
            unresolvedLinks: comparer.links.map { UnresolvedLinks(rows: $0.csv.rows, shown: $0.shown, csv: $0.csv.url.path) },
            tickets: TicketSample(
                rule: TicketSampler.rule,
                tickets: try sampler.compare(mapParts: mapParts, archive: archive, context: context), moreDiffering: sampler.moreDiffering),
            run: RunFacts.gather(context: context, started: started, finished: Date()),
            files: ReportFiles(directory: directory.url))
        try document.write(to: directory.url)

        var summary = [report.table()]
        if outsideDemo > 0 { summary.append("skipped includes \(outsideDemo) record(s) left out by extract: outside a demo selection, or unchanged in a delta (not listed in records.csv)") }
        if unattributed > 0 { summary.append("plus \(unattributed) unreadable line(s) whose kind could not be known (failed, listed in records.csv)") }
        summary.append(report.reconciles ? "counts reconcile: all + created = migrated + failed + skipped for every kind"
                                         : "COUNTS DO NOT RECONCILE: some records are unaccounted for (a bug: please report it)")
        summary.append(differenceCount == 0 ? "verification clean: every migrated record equals its source, field by field; attachments match by SHA-256"
                                            : "verification found \(differenceCount) difference(s): see \(differences.csv.url.path)")
        summary.append("records: \(records.all.url.path) (\(records.all.rows) rows: "
                       + RecordStatus.allCases.map { "\(records.file($0).rows) in \($0.fileName)" }.joined(separator: ", ") + ")")
        summary.append("differences: \(differences.csv.url.path) (\(differences.rows) rows)")
        if let links = comparer.links {
            summary.append("knowledge base links: \(links.csv.rows == 0 ? "every link to the source's knowledge base points at the target" : "\(links.csv.rows) link(s) point at records not in the target: \(links.csv.url.path)")")
        }
        summary.append("report: \(document.files.reportHTML)")
        return StageResult(stage: .verify, summary: summary, exitStatus: report.clean ? .ok : .differences)
    }
}

/// One field that differs between the mapped record and the target.
public struct FieldDifference: Equatable, Sendable {
    public var field: String
    public var expected: String
    public var actual: String
}

/// Compares one mapped record with what the target holds for its source id.
struct RecordComparer {
    let archive: any TargetConnector
    /// When target.kb_links is set: expected bodies get the load's link rewriting.
    var links: KnowledgeBaseLinkCheck?
    let codec = RecordCodec()
    let json = CanonicalJSON()
    let decoder = JSONDecoder()

    struct Outcome {
        var sourceID: String
        var targetID: Int64?
        /// A comment's ticket; a ticket's own id.
        var ticketID: String?
        /// An attachment's comment, when it hangs off one.
        var commentID: String?
        var failedToLoad: String?
        var differences: [FieldDifference] = []

        /// The ticket this record belongs to (itself, a comment's ticket, an
        /// attachment's comment's ticket), for the report's sample of
        /// differing tickets. An attachment's comment is looked up in the
        /// target: the map part's comments have gone by when its attachments come.
        func owningTicket(_ archive: any TargetConnector) throws -> String? {
            if let ticketID { return ticketID }
            if let commentID { return try archive.fetch(Comment.self, sourceID: commentID)?.ticketID }
            return nil
        }
    }

    func compare(_ entity: EntityType, _ line: Data) throws -> Outcome {
        switch entity {
        case .organizations, .users, .groups, .ticketFields, .kbCategories, .kbSections, .kbArticles:
            return try compare(entity.recordType, line)
        case .tickets:
            var outcome = try compare(Ticket.self, line)
            outcome.ticketID = outcome.sourceID
            return outcome
        case .comments:
            var outcome = try compare(Comment.self, line)
            outcome.ticketID = try codec.decode(Comment.self, line).ticketID
            return outcome
        case .attachments:
            var outcome = try compare(Attachment.self, line)
            let attachment = try codec.decode(Attachment.self, line)
            if attachment.parentType == .comment { outcome.commentID = attachment.parentID }
            if outcome.failedToLoad == nil {
                if let (sha, size) = try archive.blobDigest(attachment.sha256) {
                    if sha != attachment.sha256 || size != attachment.size {
                        outcome.differences.append(FieldDifference(field: "blob", expected: "\(attachment.sha256) \(attachment.size) bytes", actual: "\(sha) \(size) bytes"))
                    }
                } else {
                    outcome.differences.append(FieldDifference(field: "blob", expected: "\(attachment.sha256) \(attachment.size) bytes", actual: "missing"))
                }
            }
            return outcome
        }
    }

    func compare<R: CanonicalRecord>(_ type: R.Type, _ line: Data) throws -> Outcome {
        var expected = archive.comparable(try codec.decode(type, line))
        if let links { expected = try links.expect(expected) }
        var outcome = Outcome(sourceID: expected.id)
        outcome.targetID = try archive.targetID(R.entity, sourceID: expected.id)
        guard let actual = try archive.fetch(type, sourceID: expected.id) else {
            let entry = try archive.idMapEntry(R.entity, sourceID: expected.id)
            outcome.failedToLoad = entry?.reason ?? "not in the target"
            return outcome
        }
        if actual == expected { return outcome }
        let left = try decoder.decode([String: JSONValue].self, from: json.encode(expected))
        let right = try decoder.decode([String: JSONValue].self, from: json.encode(actual))
        for key in Set(left.keys).union(right.keys).sorted() where left[key] != right[key] {
            outcome.differences.append(FieldDifference(field: key, expected: left[key]?.display ?? "(absent)", actual: right[key]?.display ?? "(absent)"))
        }
        return outcome
    }
}

/// Verify's side of knowledge base link rewriting: the expected article (and,
/// with in_comments, comment) bodies are the mapped ones with links rewritten
/// against the target, so a link the load missed shows as a difference; links
/// that resolve to nothing are collected for the report.
final class KnowledgeBaseLinkCheck {
    let rewriter: KBLinkRewriter
    let resolve: KBLinkRewriter.Resolve
    let inComments: Bool
    /// Every unresolved link, streamed; the first `shownLimit` also kept for the report.
    let csv: CSVFile
    private(set) var shown: [UnresolvedLink] = []
    static let shownLimit = 200

    init(rewriter: KBLinkRewriter, resolve: @escaping KBLinkRewriter.Resolve, inComments: Bool, csv url: URL) throws {
        self.rewriter = rewriter; self.resolve = resolve; self.inComments = inComments
        csv = try CSVFile(url: url, header: ["record_kind", "record_id", "url", "links_to_kind", "links_to_id"])
    }

    func expect<R: CanonicalRecord>(_ record: R) throws -> R {
        if var article = record as? KBArticle {
            try note(try rewriter.rewrite(&article, resolve: resolve), in: .kbArticles, article.id)
            return article as! R
        }
        if inComments, var comment = record as? Comment, let html = comment.bodyHTML {
            let result = try rewriter.rewrite(html, resolve: resolve)
            comment.bodyHTML = result.html
            try note(result.unresolved, in: .comments, comment.id)
            return comment as! R
        }
        return record
    }

    private func note(_ links: [KBLinkRewriter.Link], in entity: EntityType, _ id: String) throws {
        for link in links {
            let row = UnresolvedLink(entity: entity.rawValue, recordID: id, url: link.url, linkedEntity: link.entity.rawValue, linkedID: link.sourceID)
            try csv.append([row.entity, row.recordID, row.url, row.linkedEntity, row.linkedID])
            if shown.count < Self.shownLimit { shown.append(row) }
        }
    }
}
