import FerryCore
import Foundation
import GRDB

/// The durable local memory of a target reached over an API (RT, Zendesk):
/// an SQLite file in the load's folder with the ID map (which source record
/// became which remote object, with the content hash last loaded, and why a
/// record failed) and the parts loaded. An API has no transactions, so this is
/// what makes such a load idempotent; each connector subclasses it with the
/// columns and tables of its own (RT keeps object names, Zendesk lookup keys).
open class APITargetState: @unchecked Sendable {
    public let url: URL
    private let queue: DatabaseQueue

    /// `label` names the store in errors ("the RT load's ID map"); `idMapColumns`
    /// are the connector's own id_map columns ("target_name TEXT"); `schema` its
    /// own tables and indexes (IF NOT EXISTS: an existing file is opened as it is).
    public init(url: URL, label: String, idMapColumns: String, schema: String) throws {
        self.url = url
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            queue = try DatabaseQueue(path: url.path, configuration: configuration)
            try queue.write { db in
                try db.execute(sql: """
                    CREATE TABLE IF NOT EXISTS id_map (
                        entity TEXT NOT NULL, source_id TEXT NOT NULL, target_id INTEGER, \(idMapColumns),
                        content_hash TEXT, status TEXT NOT NULL, reason TEXT, record TEXT, deleted_in_source TEXT,
                        updated_at TEXT NOT NULL, PRIMARY KEY (entity, source_id));
                    CREATE INDEX IF NOT EXISTS id_map_target ON id_map (entity, target_id);
                    CREATE TABLE IF NOT EXISTS loaded_parts (
                        fingerprint TEXT NOT NULL, part TEXT NOT NULL, content_digest TEXT NOT NULL, summary TEXT,
                        PRIMARY KEY (fingerprint, part));
                    \(schema)
                    """)
            }
        } catch let error as DatabaseError {
            throw FerryError.io(path: url.path, detail: "\(label) cannot be opened: \(error.message ?? "\(error)")")
        }
    }

    /// Runs `body` in a write transaction; a lock held by another process is `FerryError.locked`.
    public func io<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try queue.write(body) } catch let error as DatabaseError {
            if error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
                throw FerryError.locked(path: url.path, holder: "another ferry process")
            }
            throw FerryError.io(path: url.path, detail: error.message ?? "\(error)")
        }
    }

    public func setFailed(_ entity: EntityType, _ sourceID: String, hash: String, reason: String) throws {
        try io { db in
            try db.execute(sql: """
                INSERT INTO id_map (entity, source_id, content_hash, status, reason, updated_at) VALUES (?, ?, ?, 'failed', ?, ?)
                ON CONFLICT (entity, source_id) DO UPDATE SET status = 'failed', reason = excluded.reason,
                    content_hash = excluded.content_hash, updated_at = excluded.updated_at
                """, arguments: [entity.rawValue, sourceID, hash, reason, Clock.nowISO8601()])
        }
    }

    public func markDeleted(_ entity: EntityType, _ sourceID: String, reason: String) throws {
        try io { db in
            try db.execute(sql: "UPDATE id_map SET deleted_in_source = ? WHERE entity = ? AND source_id = ?", arguments: [reason, entity.rawValue, sourceID])
        }
    }

    /// The source ID of a loaded remote object, by its remote id.
    public func sourceID(_ entity: EntityType, targetID: Int64) throws -> String? {
        try io { db in
            try String.fetchOne(db, sql: "SELECT source_id FROM id_map WHERE entity = ? AND target_id = ? AND status = 'loaded' ORDER BY source_id LIMIT 1",
                                arguments: [entity.rawValue, targetID])
        }
    }

    public func failed() throws -> [(entity: EntityType, sourceID: String)] {
        try io { db in
            try Row.fetchAll(db, sql: "SELECT entity, source_id FROM id_map WHERE status = 'failed' ORDER BY entity, source_id").compactMap { row in
                EntityType(rawValue: row[0]).map { ($0, row[1] as String) }
            }
        }
    }

    public func isPartLoaded(fingerprint: String, part: String, digest: String) throws -> Bool {
        try io { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM loaded_parts WHERE fingerprint = ? AND part = ? AND content_digest = ?", arguments: [fingerprint, part, digest]) ?? false
        }
    }

    public func partSummary(fingerprint: String, part: String) throws -> String? {
        try io { db in
            try String.fetchOne(db, sql: "SELECT summary FROM loaded_parts WHERE fingerprint = ? AND part = ?", arguments: [fingerprint, part])
        }
    }

    public func markPart(fingerprint: String, part: String, digest: String, summary: String?) throws {
        try io { db in
            try db.execute(sql: "INSERT OR REPLACE INTO loaded_parts (fingerprint, part, content_digest, summary) VALUES (?, ?, ?, ?)",
                           arguments: [fingerprint, part, digest, summary])
        }
    }
}
