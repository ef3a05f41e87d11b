import FerryCore
import Foundation
import GRDB

/// The RT load's local, durable memory (`stages/load/rt-state.sqlite`): which
/// source record became which RT object, with the content hash last loaded.
///
/// REST2 has no transactions, so this is what makes a load idempotent: a row is
/// written `loaded` only after RT confirmed the object; a ticket or comment
/// about to be created is first written `pending`, and a pending row makes the
/// next run look for the object in RT (by ticket id and the "Ferry Source"
/// custom field, or by the comment's "[Ferry: comment …]" header) before it
/// creates anything. Users, queues and custom fields are always looked up by
/// name first.
final class RTState: @unchecked Sendable {
    let url: URL
    private let queue: DatabaseQueue

    struct Entry {
        var targetID: Int64?
        var targetName: String?
        var contentHash: String?
        var status: String
        var reason: String?
        var record: String?
        var updatedAt: String
    }

    init(url: URL) throws {
        self.url = url
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            queue = try DatabaseQueue(path: url.path, configuration: configuration)
            try queue.write { db in
                try db.execute(sql: """
                    CREATE TABLE IF NOT EXISTS id_map (
                        entity TEXT NOT NULL, source_id TEXT NOT NULL, target_id INTEGER, target_name TEXT,
                        content_hash TEXT, status TEXT NOT NULL, reason TEXT, record TEXT, deleted_in_source TEXT,
                        updated_at TEXT NOT NULL, PRIMARY KEY (entity, source_id));
                    CREATE INDEX IF NOT EXISTS id_map_target ON id_map (entity, target_id);
                    CREATE INDEX IF NOT EXISTS id_map_name ON id_map (entity, target_name);
                    CREATE TABLE IF NOT EXISTS loaded_parts (
                        fingerprint TEXT NOT NULL, part TEXT NOT NULL, content_digest TEXT NOT NULL, summary TEXT,
                        PRIMARY KEY (fingerprint, part));
                    CREATE TABLE IF NOT EXISTS rt_attachments (sha256 TEXT NOT NULL, attachment_id INTEGER NOT NULL, PRIMARY KEY (sha256, attachment_id));
                    """)
            }
        } catch let error as DatabaseError {
            throw FerryError.io(path: url.path, detail: "the RT load's ID map cannot be opened: \(error.message ?? "\(error)")")
        }
    }

    private func io<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try queue.write(body) } catch let error as DatabaseError {
            if error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
                throw FerryError.locked(path: url.path, holder: "another ferry process")
            }
            throw FerryError.io(path: url.path, detail: error.message ?? "\(error)")
        }
    }

    func entry(_ entity: EntityType, _ sourceID: String) throws -> Entry? {
        try io { db in
            try Row.fetchOne(db, sql: "SELECT target_id, target_name, content_hash, status, reason, record, updated_at FROM id_map WHERE entity = ? AND source_id = ?",
                             arguments: [entity.rawValue, sourceID]).map {
                Entry(targetID: $0[0], targetName: $0[1], contentHash: $0[2], status: $0[3], reason: $0[4], record: $0[5], updatedAt: $0[6])
            }
        }
    }

    func loaded(_ entity: EntityType, _ sourceID: String) throws -> Entry? {
        guard let entry = try entry(entity, sourceID), entry.status == "loaded" else { return nil }
        return entry
    }

    func setLoaded(_ entity: EntityType, _ sourceID: String, targetID: Int64?, targetName: String?, hash: String, record: String) throws {
        try io { db in
            try db.execute(sql: """
                INSERT INTO id_map (entity, source_id, target_id, target_name, content_hash, status, reason, record, updated_at)
                VALUES (?, ?, ?, ?, ?, 'loaded', NULL, ?, ?)
                ON CONFLICT (entity, source_id) DO UPDATE SET target_id = excluded.target_id, target_name = excluded.target_name,
                    content_hash = excluded.content_hash, status = 'loaded', reason = NULL, record = excluded.record, updated_at = excluded.updated_at
                """, arguments: [entity.rawValue, sourceID, targetID, targetName, hash, record, Clock.nowISO8601()])
        }
    }

    /// About to create: a crash from here until `setLoaded` makes the next run look in RT first.
    func setPending(_ entity: EntityType, _ sourceID: String, hash: String, targetID: Int64?) throws {
        try io { db in
            try db.execute(sql: """
                INSERT INTO id_map (entity, source_id, target_id, content_hash, status, updated_at) VALUES (?, ?, ?, ?, 'pending', ?)
                ON CONFLICT (entity, source_id) DO UPDATE SET status = 'pending', target_id = COALESCE(excluded.target_id, id_map.target_id),
                    content_hash = excluded.content_hash, updated_at = excluded.updated_at
                """, arguments: [entity.rawValue, sourceID, targetID, hash, Clock.nowISO8601()])
        }
    }

    func setFailed(_ entity: EntityType, _ sourceID: String, hash: String, reason: String) throws {
        try io { db in
            try db.execute(sql: """
                INSERT INTO id_map (entity, source_id, content_hash, status, reason, updated_at) VALUES (?, ?, ?, 'failed', ?, ?)
                ON CONFLICT (entity, source_id) DO UPDATE SET status = 'failed', reason = excluded.reason,
                    content_hash = excluded.content_hash, updated_at = excluded.updated_at
                """, arguments: [entity.rawValue, sourceID, hash, reason, Clock.nowISO8601()])
        }
    }

    func markDeleted(_ entity: EntityType, _ sourceID: String, reason: String) throws {
        try io { db in
            try db.execute(sql: "UPDATE id_map SET deleted_in_source = ? WHERE entity = ? AND source_id = ?", arguments: [reason, entity.rawValue, sourceID])
        }
    }

    /// The source ID of a loaded RT object, by its RT id.
    func sourceID(_ entity: EntityType, targetID: Int64) throws -> String? {
        try io { db in
            try String.fetchOne(db, sql: "SELECT source_id FROM id_map WHERE entity = ? AND target_id = ? AND status = 'loaded' ORDER BY source_id LIMIT 1",
                                arguments: [entity.rawValue, targetID])
        }
    }

    /// The source ID of a loaded RT object, by its RT name (users, queues, organizations).
    func sourceID(_ entity: EntityType, targetName: String) throws -> String? {
        try io { db in
            try String.fetchOne(db, sql: "SELECT source_id FROM id_map WHERE entity = ? AND target_name = ? AND status = 'loaded' ORDER BY source_id LIMIT 1",
                                arguments: [entity.rawValue, targetName])
        }
    }

    func failed() throws -> [(entity: EntityType, sourceID: String)] {
        try io { db in
            try Row.fetchAll(db, sql: "SELECT entity, source_id FROM id_map WHERE status = 'failed' ORDER BY entity, source_id").compactMap { row in
                EntityType(rawValue: row[0]).map { ($0, row[1] as String) }
            }
        }
    }

    func isPartLoaded(fingerprint: String, part: String, digest: String) throws -> Bool {
        try io { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM loaded_parts WHERE fingerprint = ? AND part = ? AND content_digest = ?", arguments: [fingerprint, part, digest]) ?? false
        }
    }

    func partSummary(fingerprint: String, part: String) throws -> String? {
        try io { db in
            try String.fetchOne(db, sql: "SELECT summary FROM loaded_parts WHERE fingerprint = ? AND part = ?", arguments: [fingerprint, part])
        }
    }

    func markPart(fingerprint: String, part: String, digest: String, summary: String?) throws {
        try io { db in
            try db.execute(sql: "INSERT OR REPLACE INTO loaded_parts (fingerprint, part, content_digest, summary) VALUES (?, ?, ?, ?)",
                           arguments: [fingerprint, part, digest, summary])
        }
    }

    func addAttachment(sha256: String, attachmentID: Int64) throws {
        try io { db in
            try db.execute(sql: "INSERT OR IGNORE INTO rt_attachments (sha256, attachment_id) VALUES (?, ?)", arguments: [sha256, attachmentID])
        }
    }

    func attachmentID(sha256: String) throws -> Int64? {
        try io { db in
            try Int64.fetchOne(db, sql: "SELECT attachment_id FROM rt_attachments WHERE sha256 = ? ORDER BY attachment_id LIMIT 1", arguments: [sha256])
        }
    }
}
