import FerryCore
import Foundation

/// Everything the verification report states, built once by ferry-verify and
/// rendered twice: report.json for machines, report.html for people. Both come
/// from this one value, so they cannot disagree. Every part is bounded (reason
/// groups, the first differences, a sample of tickets), so the report's size
/// does not grow with the migration; the CSV files hold every row.
public struct VerifyReportDocument: Codable, Sendable {
    public enum Verdict: String, Codable, Sendable {
        /// Every migrated record equals its source and the counts reconcile.
        case clean
        /// Something is missing from the target or different in it.
        case differences
        /// Some records are unaccounted for (a bug).
        case unreconciled
    }

    public var ferryVersion: String
    public var generatedAt: String
    public var verdict: Verdict
    /// The counts, exactly as in summary.json.
    public var summary: VerifyReport
    /// Records left out by a demo selection: counted as skipped, not listed in the CSVs.
    public var recordsOutsideDemo: Int
    /// Failures and skips grouped by normalised reason, failed first, biggest first.
    public var reasons: [ReasonGroup]
    public var differences: DifferenceExcerpt
    /// Links into the source's knowledge base that could not be rewritten (nil when target.kb_links is off).
    public var unresolvedLinks: UnresolvedLinks?
    public var tickets: TicketSample
    public var run: RunFacts
    public var files: ReportFiles

    enum CodingKeys: String, CodingKey {
        case ferryVersion = "ferry_version", generatedAt = "generated_at", verdict, summary
        case recordsOutsideDemo = "records_outside_demo", reasons, differences, unresolvedLinks = "unresolved_links", tickets, run, files
    }

    public static func verdict(for summary: VerifyReport) -> Verdict {
        if !summary.reconciles { return .unreconciled }
        return summary.differences == 0 ? .clean : .differences
    }

    /// Writes report.json (sorted keys) and report.html into `directory`, each crash-safely.
    func write(to directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try DurableFile.write(try encoder.encode(self) + Data("\n".utf8), to: directory.appendingPathComponent(ReportFiles.jsonName))
        try DurableFile.write(Data(VerifyHTMLReport(document: self).render().utf8), to: directory.appendingPathComponent(ReportFiles.htmlName))
    }
}

/// The first rows of differences.csv and how many there are in all.
public struct DifferenceExcerpt: Codable, Sendable {
    /// Rows in differences.csv.
    public var rows: Int
    /// The first `DifferenceLog.shownLimit` of them, long values shortened.
    public var shown: [DifferenceRow]
}

/// A link in a migrated record to a knowledge base record the target does not have.
public struct UnresolvedLink: Codable, Equatable, Sendable {
    public var entity: String
    public var recordID: String
    public var url: String
    public var linkedEntity: String
    public var linkedID: String

    enum CodingKeys: String, CodingKey {
        case entity, recordID = "record_id", url, linkedEntity = "linked_entity", linkedID = "linked_id"
    }
}

/// The unresolved links: the first ones, how many in all, and the CSV holding all.
public struct UnresolvedLinks: Codable, Sendable {
    public var rows: Int
    public var shown: [UnresolvedLink]
    public var csv: String
}

/// The tickets shown side by side and the rule that chose them.
public struct TicketSample: Codable, Sendable {
    public var rule: String
    public var tickets: [TicketComparison]
    /// More tickets differ than the sample shows (all are in differences.csv).
    public var moreDiffering: Bool

    enum CodingKeys: String, CodingKey { case rule, tickets, moreDiffering = "more_differing" }
}

/// The files ferry-verify wrote, by path.
public struct ReportFiles: Codable, Sendable {
    static let htmlName = "report.html"
    static let jsonName = "report.json"

    public var records: String
    public var migrated: String
    public var failed: String
    public var skipped: String
    public var differences: String
    public var summary: String
    public var reportJSON: String
    public var reportHTML: String

    enum CodingKeys: String, CodingKey {
        case records, migrated, failed, skipped, differences, summary
        case reportJSON = "report_json", reportHTML = "report_html"
    }

    init(directory: URL) {
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        records = path("records.csv")
        migrated = path(RecordStatus.migrated.fileName)
        failed = path(RecordStatus.failed.fileName)
        skipped = path(RecordStatus.skipped.fileName)
        differences = path("differences.csv")
        summary = path("summary.json")
        reportJSON = path(Self.jsonName)
        reportHTML = path(Self.htmlName)
    }
}
