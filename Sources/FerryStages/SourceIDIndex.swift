import FerryCore
import Foundation
import GRDB

/// Every (entity, id) an extraction saw, kept beside the extract checkpoint so
/// the next delta run can tell which records the source no longer has.
///
/// Each run writes its own file (`source-ids-<run>.sqlite`) and the complete
/// checkpoint names the file of the run it completed, so the switch from the
/// old set to the new one is exactly as atomic as the checkpoint. IDs are
/// buffered per part and committed before the part is checkpointed: whatever
/// the checkpoint lists, the index holds.
final class SourceIDIndex {
    let url: URL
    private let queue: DatabaseQueue
    private var pending: [(String, String)] = []

    init(url: URL, fresh: Bool) throws {
        self.url = url
        if fresh {
            for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: url.path + suffix) }
        }
        var configuration = Configuration()
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL") }
        do {
            queue = try DatabaseQueue(path: url.path, configuration: configuration)
            try queue.write { db in
                try db.execute(sql: "CREATE TABLE IF NOT EXISTS ids(entity TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY(entity, id)) WITHOUT ROWID")
            }
        } catch {
            throw FerryError.io(path: url.path, detail: "cannot open the source ID index: \(error)")
        }
    }

    func saw(_ entity: EntityType, _ id: String) {
        pending.append((entity.rawValue, id))
    }

    /// Makes the buffered IDs durable. Called before a part is checkpointed.
    func commit() throws {
        guard !pending.isEmpty else { return }
        let batch = pending
        pending.removeAll(keepingCapacity: true)
        try queue.write { db in
            let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO ids(entity, id) VALUES (?, ?)")
            for (entity, id) in batch { try insert.execute(arguments: [entity, id]) }
        }
    }

    /// IDs in `previous` that this index does not hold, in entity dependency order, then by id.
    func missing(comparedTo previous: URL) throws -> [(EntityType, String)] {
        try commit()
        return try queue.write { db in
            try db.execute(sql: "ATTACH DATABASE ? AS previous", arguments: [previous.path])
            defer { try? db.execute(sql: "DETACH DATABASE previous") }
            return try Row.fetchAll(db, sql: "SELECT entity, id FROM previous.ids EXCEPT SELECT entity, id FROM main.ids ORDER BY entity, id")
                .compactMap { row in EntityType(rawValue: row["entity"]).map { ($0, row["id"] as String) } }
                .sorted { ($0.0.order, $0.1) < ($1.0.order, $1.1) }
        }
    }

    func close() throws {
        try commit()
        try queue.close()
    }
}

/// The newest change time a record carries, for delta runs. Comments and
/// attachments have none of their own: they follow their ticket or article.
func updatedAt(_ record: any CanonicalRecord) -> String? {
    switch record {
    case let r as Organization: return r.updatedAt
    case let r as User: return r.updatedAt
    case let r as Group: return r.updatedAt
    case let r as TicketField: return r.updatedAt
    case let r as Ticket: return r.updatedAt
    case let r as KBCategory: return r.updatedAt
    case let r as KBSection: return r.updatedAt
    case let r as KBArticle: return r.updatedAt
    default: return nil
    }
}
