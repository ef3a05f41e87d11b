import FerryCore
import Foundation

/// Source `zendesk-export`: a folder in the shape of Zendesk's JSON exports,
/// one API object per line (see docs/connectors/zendesk-export.md):
///
///     organizations.ndjson  users.ndjson  groups.ndjson  ticket_fields.ndjson
///     tickets.ndjson        (each ticket with its `comments`, as the JSON export has them)
///     help_center/categories.ndjson  help_center/sections.ndjson  help_center/articles.ndjson
///     attachments/...       (files named by each attachment's relative content_url)
///
/// Files are read in that order, line by line, so memory stays flat; a line
/// that cannot be read becomes a reject with file, line, field and reason, and
/// reading goes on. A `.json` file is accepted where the `.ndjson` one is absent.
public final class ZendeskExportSource: SourceConnector {
    public let root: URL
    public let system: String

    /// The files of an export in reading order, with the kind each holds.
    public static let files: [(name: String, entity: EntityType)] = [
        ("organizations.ndjson", .organizations),
        ("users.ndjson", .users),
        ("groups.ndjson", .groups),
        ("ticket_fields.ndjson", .ticketFields),
        ("tickets.ndjson", .tickets),
        ("help_center/categories.ndjson", .kbCategories),
        ("help_center/sections.ndjson", .kbSections),
        ("help_center/articles.ndjson", .kbArticles),
    ]

    public init(root: URL, system: String = "zendesk") {
        self.root = root.standardizedFileURL
        self.system = system
    }

    /// The file actually present for a logical name (`x.ndjson`, else `x.json`), if any.
    func presentFile(_ name: String) -> URL? {
        let primary = root.appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: primary.path) { return primary }
        let alternate = root.appendingPathComponent(String(name.dropLast(7)) + ".json")
        if FileManager.default.fileExists(atPath: alternate.path) { return alternate }
        return nil
    }

    public func fingerprint() throws -> String {
        try checkRoot()
        var text = "zendesk-export v1 \(system)\n"
        for (name, _) in Self.files {
            guard let url = presentFile(name) else { text += "\(name) absent\n"; continue }
            let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
            let size = attributes[.size] as? UInt64 ?? 0
            let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            text += "\(url.lastPathComponent) \(size) \(modified)\n"
        }
        return Hash.sha256(text)
    }

    private func checkRoot() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FerryError.missingInput(path: root.path, hint: "set source.path in pipeline.yml to the folder of your Zendesk export")
        }
    }

    public func extract(from position: SourcePosition?, into sink: ExtractSink, reporter: Reporter) throws {
        try checkRoot()
        var startIndex = 0
        if let position {
            guard let index = Self.files.firstIndex(where: { $0.name == position["file"] }) else {
                throw FerryError.badInput(file: "stages/extract/checkpoint.json", line: nil, detail: "resume position names \(position["file"] ?? "no file"), which this source does not read; delete the checkpoint to extract from the start")
            }
            startIndex = index
        }
        let decoder = JSONDecoder()
        // Progress counts bytes of the export: known up front, so the bar shows time left.
        let sizes = Self.files.map { file in presentFile(file.name).flatMap { try? FileManager.default.attributesOfItem(atPath: $0.path)[.size] as? Int } ?? 0 }
        let totalKB = sizes.reduce(0, +) / 1024
        for (index, (name, entity)) in Self.files.enumerated() where index >= startIndex {
            let doneBefore = sizes[..<index].reduce(0, +)
            guard let url = presentFile(name) else {
                reporter.info("\(name): not in the export, no \(entity.rawValue) to read")
                continue
            }
            let resuming = index == startIndex && position != nil
            let offset = resuming ? UInt64(position?["offset"] ?? "0") ?? 0 : 0
            let firstLine = resuming ? (Int(position?["line"] ?? "0") ?? 0) + 1 : 1
            let displayName = url.path.hasPrefix(root.path + "/") ? String(url.path.dropFirst(root.path.count + 1)) : url.lastPathComponent
            let converter = ZendeskConverter(system: system, root: root, sink: sink)
            try NDJSONFile.forEachLine(url, fromOffset: offset, firstLineNumber: firstLine) { line, number, after in
                try converter.convert(line, entity: entity, file: displayName, line: number, decoder: decoder)
                try sink.endOfUnit(position: ["file": name, "offset": String(after), "line": String(number)])
                reporter.progress(done: (doneBefore + Int(after)) / 1024, total: totalKB, unit: "KB of the export")
            }
        }
    }
}

/// A field that decoded but cannot become a canonical value (a timestamp nobody can read).
struct ConversionError: Error {
    var recordID: String?
    var field: String?
    var reason: String
}

/// Where a line came from, to build rejects that point at it.
struct LineContext {
    let file: String
    let line: Int
    let entity: EntityType
    let raw: Data

    func reject(recordID: String? = nil, field: String?, reason: String, entity: EntityType? = nil) -> Reject {
        let text = String(decoding: raw.prefix(160), as: UTF8.self)
        return Reject(stage: "extract", file: file, line: line, entity: entity ?? self.entity, recordID: recordID ?? Reject.visibleID(in: raw),
                      field: field?.isEmpty == true ? nil : field, reason: reason, excerpt: text)
    }

}
