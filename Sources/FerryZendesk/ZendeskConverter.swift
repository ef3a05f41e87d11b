import FerryCore
import Foundation

/// Turns one Zendesk API object (a line of an export, or an item of an API
/// page) into canonical records in a sink. Shared by the `zendesk-export` file
/// source and the `zendesk-api` source, so both read the same objects the same
/// way. An object that cannot be read becomes a reject pointing at `file` and
/// `line` (an export's file and line; an API endpoint and the item's place).
public struct ZendeskConverter {
    public let system: String
    public let root: URL
    public let sink: ExtractSink
    /// Fetches an http(s) `content_url` into a local file the caller may delete
    /// afterwards; nil when the server has no such file (the attachment is
    /// rejected). When absent, remote URLs are rejected (the file export).
    public let download: ((String) throws -> URL?)?

    public init(system: String, root: URL, sink: ExtractSink, download: ((String) throws -> URL?)? = nil) {
        self.system = system; self.root = root; self.sink = sink; self.download = download
    }

    public func convert(_ line: Data, entity: EntityType, file: String, line number: Int, decoder: JSONDecoder = JSONDecoder()) throws {
        let context = LineContext(file: file, line: number, entity: entity, raw: line)
        do {
            try decode(line, entity: entity, context: context, decoder: decoder)
        } catch let error as DecodingError {
            // A line that is not JSON at all gets a diagnosis; a wrong field keeps the decoder's words.
            let notJSON: Bool
            if case .dataCorrupted(let c) = error, c.codingPath.isEmpty { notJSON = true } else { notJSON = false }
            try sink.reject(context.reject(field: error.fieldPath, reason: notJSON ? JSONDiagnosis.explain(line) : error.reason))
        } catch let error as ConversionError {
            try sink.reject(context.reject(recordID: error.recordID, field: error.field, reason: error.reason))
        }
    }

    private func decode(_ line: Data, entity: EntityType, context: LineContext, decoder: JSONDecoder) throws {
        if line.contains(0) {
            throw ConversionError(field: nil, reason: "the line holds NUL bytes: the file is not UTF-8 (UTF-16 files look like this); re-export it as UTF-8 or convert it with iconv")
        }
        guard line.first == UInt8(ascii: "{") || line.drop(while: { $0 == 0x20 || $0 == 0x09 || $0 == 0xef || $0 == 0xbb || $0 == 0xbf }).first == UInt8(ascii: "{") else {
            throw ConversionError(field: nil, reason: "not a JSON object (each line must be one \(entity.singular) object)")
        }
        let data = line.starts(with: [0xef, 0xbb, 0xbf]) ? line.dropFirst(3) : line
        let mapper = ZendeskRecordMapper(system: system, root: root, sink: sink, download: download)
        switch entity {
        case .organizations: try sink.emit(try mapper.organization(decoder.decode(ZOrganization.self, from: data)))
        case .users: try sink.emit(try mapper.user(decoder.decode(ZUser.self, from: data)))
        case .groups: try sink.emit(try mapper.group(decoder.decode(ZGroup.self, from: data)))
        case .ticketFields: try sink.emit(try mapper.ticketField(decoder.decode(ZTicketField.self, from: data)))
        case .tickets: try mapper.ticket(decoder.decode(ZTicket.self, from: data), context: context)
        case .kbCategories: try sink.emit(try mapper.category(decoder.decode(ZCategory.self, from: data)))
        case .kbSections: try sink.emit(try mapper.section(decoder.decode(ZSection.self, from: data)))
        case .kbArticles: try mapper.article(decoder.decode(ZArticle.self, from: data), context: context)
        case .comments, .attachments: break
        }
    }
}
