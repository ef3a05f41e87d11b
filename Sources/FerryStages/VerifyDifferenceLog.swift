import FerryCore
import Foundation

/// differences.csv (every differing field, streamed) and the first
/// `shownLimit` rows of it for the report, with long values shortened there:
/// the report stays small however much differs, the CSV keeps everything.
final class DifferenceLog {
    static let shownLimit = 200
    /// Characters of an expected or actual value the report shows.
    static let valueLimit = 300

    let csv: CSVFile
    private(set) var shown: [DifferenceRow] = []

    init(directory: URL) throws {
        csv = try CSVFile(url: directory.appendingPathComponent("differences.csv"),
                          header: ["entity", "source_id", "target_id", "field", "expected", "actual"])
    }

    var rows: Int { csv.rows }

    func add(_ entity: EntityType, sourceID: String, targetID: Int64?, field: String, expected: String, actual: String) throws {
        let target = targetID.map(String.init) ?? ""
        try csv.append([entity.rawValue, sourceID, target, field, expected, actual])
        if shown.count < Self.shownLimit {
            shown.append(DifferenceRow(entity: entity.rawValue, sourceID: sourceID, targetID: target, field: field,
                                       expected: Self.shorten(expected), actual: Self.shorten(actual)))
        }
    }

    func finish() throws { try csv.finish() }

    static func shorten(_ text: String) -> String {
        text.count > valueLimit ? String(text.prefix(valueLimit)) + "…" : text
    }
}

/// One row of differences.csv, as the report shows it.
public struct DifferenceRow: Codable, Equatable, Sendable {
    public var entity: String
    public var sourceID: String
    public var targetID: String
    public var field: String
    public var expected: String
    public var actual: String

    enum CodingKeys: String, CodingKey {
        case entity, sourceID = "source_id", targetID = "target_id", field, expected, actual
    }
}
