import FerryAPITarget
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
final class RTState: APITargetState, @unchecked Sendable {
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
        try super.init(url: url, label: "the RT load's ID map", idMapColumns: "target_name TEXT", schema: """
            CREATE INDEX IF NOT EXISTS id_map_name ON id_map (entity, target_name);
            CREATE TABLE IF NOT EXISTS rt_attachments (sha256 TEXT NOT NULL, attachment_id INTEGER NOT NULL, PRIMARY KEY (sha256, attachment_id));
            """)
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

    /// The source ID of a loaded RT object, by its RT name (users, queues, organizations).
    func sourceID(_ entity: EntityType, targetName: String) throws -> String? {
        try io { db in
            try String.fetchOne(db, sql: "SELECT source_id FROM id_map WHERE entity = ? AND target_name = ? AND status = 'loaded' ORDER BY source_id LIMIT 1",
                                arguments: [entity.rawValue, targetName])
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
