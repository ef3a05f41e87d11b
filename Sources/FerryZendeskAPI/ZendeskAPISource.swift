import FerryCore
import FerryZendesk
import Foundation

/// Source `zendesk-api`: a Zendesk account read through its REST API
/// (docs/connectors/zendesk.md), in this order:
///
///   organizations   incremental export, time-based (`/api/v2/incremental/organizations.json`)
///   users           incremental export, cursor-based (`/api/v2/incremental/users/cursor.json`)
///   groups, ticket fields                       cursor-paginated lists
///   tickets         incremental export, cursor-based (`/api/v2/incremental/tickets/cursor.json`),
///                   each with its comments and audits (`/api/v2/tickets/{id}/comments.json`,
///                   `audits.json`) and the comments' attachments downloaded from content_url
///   Help Center categories, sections, articles, each article with its translations and attachments
///
/// Objects go through the same decoding and mapping as the `zendesk-export`
/// source (`ZendeskConverter`), so both give the same canonical records.
///
/// The position after every unit names the stream, the cursor of the page
/// being read and how many of its items are done, plus the cursor each
/// incremental export ended at (`end.<stream>`). A killed run resumes at the
/// item after the last finished part; a delta (`startDelta`) starts every
/// incremental export where the last complete run's ended.
public final class ZendeskAPISource: CursorDeltaSource {
    public let system: String
    let settings: ZendeskAPISettings
    let client: ZendeskClient
    let spool: URL
    private var deltaStart: SourcePosition?
    private var deltaSince: String?

    static let streams = ["organizations", "users", "groups", "ticket_fields", "tickets", "categories", "sections", "articles"]
    static let incremental: Set<String> = ["organizations", "users", "tickets"]

    /// `spool`: a folder for attachments on their way into the bundle.
    public init(settings: ZendeskAPISettings, client: ZendeskClient, system: String = "zendesk", spool: URL) {
        self.settings = settings; self.client = client; self.system = system; self.spool = spool
    }

    public func fingerprint() throws -> String {
        // The API cannot tell cheaply whether anything changed: a delta run is how changes come in.
        Hash.sha256("zendesk-api v1 \(system) \(client.base) \(settings.startTime)")
    }

    public func startDelta(after position: SourcePosition?, since: String) {
        deltaStart = position
        deltaSince = since
    }

    /// What is being read and where: carried in every position.
    private struct Cursor {
        var stream: String
        var page: String = ""
        var index: Int = 0
        var ends: [String: String] = [:]
        var starts: [String: String] = [:]

        var position: SourcePosition {
            var p: SourcePosition = ["stream": stream, "page": page, "index": String(index)]
            for (k, v) in ends { p["end.\(k)"] = v }
            for (k, v) in starts { p["start.\(k)"] = v }
            return p
        }

        init(stream: String) { self.stream = stream }

        init(_ p: SourcePosition) {
            stream = p["stream"] ?? ZendeskAPISource.streams[0]
            page = p["page"] ?? ""
            index = Int(p["index"] ?? "0") ?? 0
            for (k, v) in p {
                if k.hasPrefix("end.") { ends[String(k.dropFirst(4))] = v }
                if k.hasPrefix("start.") { starts[String(k.dropFirst(6))] = v }
            }
        }
    }

    public func extract(from position: SourcePosition?, into sink: ExtractSink, reporter: Reporter) throws {
        var cursor: Cursor
        if let position {
            cursor = Cursor(position)
            guard cursor.stream == "end" || Self.streams.contains(cursor.stream) else {
                throw FerryError.badInput(file: "stages/extract/checkpoint.json", line: nil, detail: "resume position names the stream \(cursor.stream), which this source does not read; delete the checkpoint to extract from the start")
            }
        } else {
            cursor = Cursor(stream: Self.streams[0])
            // A delta starts each incremental export where the last complete run's ended.
            if let start = deltaStart {
                for stream in Self.incremental { if let end = start["end.\(stream)"] { cursor.starts[stream] = end } }
            }
        }
        guard let startIndex = Self.streams.firstIndex(of: cursor.stream) else { return }
        let converter = ZendeskConverter(system: system, root: spool, sink: sink, download: { [client, spool] url in
            try client.download(url, into: spool)
        })
        for stream in Self.streams[startIndex...] {
            if cursor.stream != stream { cursor.stream = stream; cursor.page = ""; cursor.index = 0 }
            reporter.info("reading \(stream) from \(client.service)")
            switch stream {
            case "organizations":
                try timeBased(stream, path: "/api/v2/incremental/organizations.json", entity: .organizations, cursor: &cursor, sink: sink, converter: converter)
            case "users":
                try cursorBased(stream, path: "/api/v2/incremental/users/cursor.json", entity: .users, cursor: &cursor, sink: sink, converter: converter)
            case "tickets":
                try cursorBased(stream, path: "/api/v2/incremental/tickets/cursor.json", entity: .tickets, cursor: &cursor, sink: sink, converter: converter)
            case "groups":
                try list(stream, path: "/api/v2/groups.json", key: "groups", entity: .groups, cursor: &cursor, sink: sink, converter: converter)
            case "ticket_fields":
                try list(stream, path: "/api/v2/ticket_fields.json", key: "ticket_fields", entity: .ticketFields, cursor: &cursor, sink: sink, converter: converter)
            case "categories":
                try list(stream, path: "/api/v2/help_center/categories.json", key: "categories", entity: .kbCategories, cursor: &cursor, sink: sink, converter: converter)
            case "sections":
                try list(stream, path: "/api/v2/help_center/sections.json", key: "sections", entity: .kbSections, cursor: &cursor, sink: sink, converter: converter)
            default:
                try list(stream, path: "/api/v2/help_center/articles.json", key: "articles", entity: .kbArticles, cursor: &cursor, sink: sink, converter: converter)
            }
            // The stream is done: the next run (or a resume) starts at the next one.
            let next = Self.streams.firstIndex(of: stream)! + 1
            cursor.stream = next < Self.streams.count ? Self.streams[next] : "end"
            cursor.page = ""; cursor.index = 0
            try sink.endOfUnit(position: cursor.position)
        }
    }

    // MARK: - Streams

    /// Cursor-based incremental export: `start_time` first (or the delta's
    /// cursor), then `cursor=after_cursor` until `end_of_stream`.
    private func cursorBased(_ stream: String, path: String, entity: EntityType, cursor: inout Cursor, sink: ExtractSink, converter: ZendeskConverter) throws {
        let key = stream
        var page = cursor.page.isEmpty ? (cursor.starts[stream] ?? "") : cursor.page
        var skip = cursor.index
        while true {
            var query = [("per_page", "\(settings.pageSize)")]
            query.append(page.isEmpty ? ("start_time", "\(settings.startTime)") : ("cursor", page))
            guard let reply = try client.get(path, query: query) else {
                throw FerryError.remote(service: client.service, detail: "GET \(client.url(path)): HTTP 404", hint: "the incremental exports need an admin's credentials on a Zendesk Support account")
            }
            let items = reply[key] as? [ZObject] ?? []
            try process(items, skip: skip, stream: stream, entity: entity, path: path, page: page, cursor: &cursor, sink: sink, converter: converter)
            let after = reply["after_cursor"] as? String
            if reply["end_of_stream"] as? Bool == true || after == nil {
                cursor.ends[stream] = after ?? (page.isEmpty ? nil : page)
                return
            }
            page = after!
            skip = 0
        }
    }

    /// Time-based incremental export (organizations): `start_time`, then
    /// `end_time` of each page until `end_of_stream`. Items at a page boundary
    /// come again on the next page (same updated_at second) and are skipped.
    private func timeBased(_ stream: String, path: String, entity: EntityType, cursor: inout Cursor, sink: ExtractSink, converter: ZendeskConverter) throws {
        var start = cursor.page.isEmpty ? (cursor.starts[stream] ?? "\(settings.startTime)") : cursor.page
        var skip = cursor.index
        var seen: Set<String> = []
        while true {
            guard let reply = try client.get(path, query: [("start_time", start), ("per_page", "\(settings.pageSize)")]) else {
                throw FerryError.remote(service: client.service, detail: "GET \(client.url(path)): HTTP 404", hint: "the incremental exports need an admin's credentials on a Zendesk Support account")
            }
            let items = (reply[stream] as? [ZObject] ?? [])
            var boundary: Set<String> = []
            let end = (reply["end_time"] as? NSNumber).map { "\($0.int64Value)" }
            let fresh = items.map { item -> ZObject? in
                let id = "\(item["id"] ?? "")"
                if let end, Timestamp.normalize(item["updated_at"] as? String ?? "").flatMap(Self.epoch) == Int64(end) { boundary.insert(id) }
                return seen.contains(id) ? nil : item
            }
            try process(fresh, skip: skip, stream: stream, entity: entity, path: path, page: start, cursor: &cursor, sink: sink, converter: converter)
            if reply["end_of_stream"] as? Bool == true || end == nil || end == start && fresh.allSatisfy({ $0 == nil }) {
                cursor.ends[stream] = end ?? start
                return
            }
            seen = boundary
            start = end!
            skip = 0
        }
    }

    static func epoch(_ iso: String) -> Int64? {
        let f = ISO8601DateFormatter()
        return f.date(from: iso).map { Int64($0.timeIntervalSince1970) }
    }

    /// A cursor-paginated list (`page[size]`, `page[after]`, `meta.has_more`).
    private func list(_ stream: String, path: String, key: String, entity: EntityType, cursor: inout Cursor, sink: ExtractSink, converter: ZendeskConverter) throws {
        var page = cursor.page
        var skip = cursor.index
        while true {
            var query = [("page[size]", "\(min(settings.pageSize, 100))")]
            if !page.isEmpty { query.append(("page[after]", page)) }
            guard let reply = try client.get(path, query: query) else {
                // Help Center off (404): no knowledge base to read.
                sink.sawUpdate(nil)
                return
            }
            let items = reply[key] as? [ZObject] ?? []
            try process(items, skip: skip, stream: stream, entity: entity, path: path, page: page, cursor: &cursor, sink: sink, converter: converter)
            let meta = reply["meta"] as? ZObject
            guard meta?["has_more"] as? Bool == true, let after = meta?["after_cursor"] as? String else { return }
            page = after
            skip = 0
        }
    }

    /// Completes the page's items (a ticket's comments and audits, an article's
    /// translations and attachments, fetched concurrently), then converts them in order.
    private func process(_ items: [ZObject?], skip: Int, stream: String, entity: EntityType, path: String, page: String,
                         cursor: inout Cursor, sink: ExtractSink, converter: ZendeskConverter) throws {
        let todo = Array(items.enumerated()).dropFirst(skip)
        let since = deltaSince
        let client = self.client
        let pageSize = settings.pageSize
        let lines: [Data?] = try client.api.mapBlocking(todo.map { $0.element.map(SendableObject.init) }) { boxed -> Data? in
            guard var item = boxed?.object else { return nil }
            let id = "\(item["id"] ?? "")"
            // In a delta, an article no newer than the last run is left out by the stage anyway.
            let unchanged = since.map { since in (Timestamp.normalize(item["updated_at"] as? String ?? "") ?? "") <= since } ?? false
            if entity == .tickets {
                item["comments"] = try await client.allAsync("/api/v2/tickets/\(id)/comments.json", key: "comments", pageSize: pageSize) ?? []
                item["audits"] = try await client.allAsync("/api/v2/tickets/\(id)/audits.json", key: "audits", pageSize: pageSize) ?? []
            } else if entity == .kbArticles && !unchanged {
                item["translations"] = try await client.allAsync("/api/v2/help_center/articles/\(id)/translations.json", key: "translations", pageSize: pageSize) ?? []
                item["attachments"] = try await client.allAsync("/api/v2/help_center/articles/\(id)/attachments.json", key: "article_attachments", pageSize: pageSize) ?? []
            }
            return try JSONSerialization.data(withJSONObject: item, options: [.sortedKeys])
        }
        for ((index, _), line) in zip(todo, lines) {
            if let line {
                try converter.convert(line, entity: entity, file: String(path.dropFirst()), line: index + 1)
            }
            cursor.page = page
            cursor.index = index + 1
            try sink.endOfUnit(position: cursor.position)
        }
    }
}

/// A JSON object handed between tasks (read-only once built).
struct SendableObject: @unchecked Sendable {
    let object: ZObject
    init(_ object: ZObject) { self.object = object }
}
