import FerryCore
import Foundation

/// Where a source record ended up, as records.csv says it.
public enum RecordStatus: String, CaseIterable, Codable, Sendable {
    case migrated, failed, skipped

    /// The CSV that holds exactly the rows of this status.
    public var fileName: String { rawValue + ".csv" }
}

/// The per-record CSVs of ferry-verify: records.csv (every record) and
/// migrated.csv, failed.csv and skipped.csv (the rows of one status each, same
/// columns), so a spreadsheet user can open just the failures.
///
/// Every row goes through `add`, which writes it to records.csv and to its
/// status's file and counts failures and skips into reason groups: the files
/// agree row for row by construction, and nothing is held per record.
final class RecordLedger {
    static let header = ["entity", "source_id", "target_id", "status", "reason"]

    let all: CSVFile
    private let byStatus: [RecordStatus: CSVFile]
    private(set) var reasons = ReasonGroups()

    init(directory: URL) throws {
        all = try CSVFile(url: directory.appendingPathComponent("records.csv"), header: Self.header)
        var files: [RecordStatus: CSVFile] = [:]
        for status in RecordStatus.allCases {
            files[status] = try CSVFile(url: directory.appendingPathComponent(status.fileName), header: Self.header)
        }
        byStatus = files
    }

    /// The file holding the rows of one status.
    func file(_ status: RecordStatus) -> CSVFile { byStatus[status]! }

    /// Records one source record's fate. `entity` is nil for an unreadable line
    /// whose kind could not be known; `groupReason` is passed to `ReasonGroups.add`.
    func add(_ entity: EntityType?, sourceID: String, targetID: Int64? = nil, status: RecordStatus, reason: String = "", groupReason: String? = nil) throws {
        let row = [entity?.rawValue ?? "", sourceID, targetID.map(String.init) ?? "", status.rawValue, reason]
        try all.append(row)
        try file(status).append(row)
        if status != .migrated {
            reasons.add(status: status, entity: entity?.rawValue ?? "", sourceID: sourceID, reason: reason, groupReason: groupReason)
        }
    }

    func finish() throws {
        try all.finish()
        for status in RecordStatus.allCases { try file(status).finish() }
    }
}
