import Foundation

/// A CSV report written crash-safely (temporary file, fsync, rename) and
/// streamed row by row. RFC 4180 quoting, UTF-8, `\n` line ends: opens in
/// spreadsheets and in Python's csv module.
public final class CSVFile {
    public let url: URL
    private let temp: URL
    private let writer: HashingFileWriter
    public private(set) var rows = 0

    public init(url: URL, header: [String]) throws {
        self.url = url
        temp = DurableFile.temporarySibling(of: url)
        writer = try HashingFileWriter(url: temp)
        try writer.appendLine(Data(Self.line(header).utf8))
    }

    public func append(_ fields: [String]) throws {
        try writer.appendLine(Data(Self.line(fields).utf8))
        rows += 1
    }

    public func finish() throws {
        try writer.sync()
        try DurableFile.commit(temp, to: url)
    }

    static func line(_ fields: [String]) -> String {
        fields.map { field in
            // Scalars, not Characters: "\r\n" is one Character and would match neither.
            if field.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
                return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            }
            return field
        }.joined(separator: ",")
    }
}
