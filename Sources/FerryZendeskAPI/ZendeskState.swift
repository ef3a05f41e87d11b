import FerryAPITarget
import FerryCore
import Foundation
import GRDB

/// The Zendesk load's local, durable memory (`stages/load/zendesk-state.sqlite`):
/// which source record became which Zendesk object, with the content hash last
/// loaded. The API has no transactions, so this is what makes a load idempotent:
/// a ticket is written `pending` (with the external_id it is imported under)
/// before its import is sent, and `loaded` only once Zendesk reported its id; a
/// pending ticket makes the next attempt look for it in Zendesk by external_id
/// before importing anything again.
final class ZendeskState: APITargetState, @unchecked Sendable {
    struct Entry {
        var targetID: Int64?
        var contentHash: String?
        var status: String
        var reason: String?
        var lookupKey: String?
        var record: String?
        var updatedAt: String
    }

    init(url: URL) throws {
        try super.init(url: url, label: "the Zendesk load's ID map", idMapColumns: "lookup_key TEXT", schema: """
            CREATE TABLE IF NOT EXISTS blobs (sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS kb_rewrites (
                source_id TEXT NOT NULL, locale TEXT NOT NULL, digest TEXT NOT NULL,
                PRIMARY KEY (source_id, locale));
            """)
    }

    func entry(_ entity: EntityType, _ sourceID: String) throws -> Entry? {
        try io { db in
            try Row.fetchOne(db, sql: "SELECT target_id, content_hash, status, reason, lookup_key, record, updated_at FROM id_map WHERE entity = ? AND source_id = ?",
                             arguments: [entity.rawValue, sourceID]).map {
                Entry(targetID: $0[0], contentHash: $0[1], status: $0[2], reason: $0[3], lookupKey: $0[4], record: $0[5], updatedAt: $0[6])
            }
        }
    }

    func loaded(_ entity: EntityType, _ sourceID: String) throws -> Entry? {
        guard let entry = try entry(entity, sourceID), entry.status == "loaded" else { return nil }
        return entry
    }

    func setLoaded(_ entity: EntityType, _ sourceID: String, targetID: Int64?, hash: String, record: String?, lookupKey: String? = nil) throws {
        try io { db in
            try db.execute(sql: """
                INSERT INTO id_map (entity, source_id, target_id, content_hash, status, reason, lookup_key, record, updated_at)
                VALUES (?, ?, ?, ?, 'loaded', NULL, ?, ?, ?)
                ON CONFLICT (entity, source_id) DO UPDATE SET target_id = excluded.target_id, content_hash = excluded.content_hash,
                    status = 'loaded', reason = NULL, lookup_key = COALESCE(excluded.lookup_key, id_map.lookup_key),
                    record = excluded.record, updated_at = excluded.updated_at
                """, arguments: [entity.rawValue, sourceID, targetID, hash, lookupKey, record, Clock.nowISO8601()])
        }
    }

    func setPending(_ entity: EntityType, _ sourceID: String, hash: String, lookupKey: String) throws {
        try io { db in
            try db.execute(sql: """
                INSERT INTO id_map (entity, source_id, content_hash, status, lookup_key, updated_at) VALUES (?, ?, ?, 'pending', ?, ?)
                ON CONFLICT (entity, source_id) DO UPDATE SET status = 'pending', content_hash = excluded.content_hash,
                    lookup_key = excluded.lookup_key, updated_at = excluded.updated_at
                """, arguments: [entity.rawValue, sourceID, hash, lookupKey, Clock.nowISO8601()])
        }
    }

    func addBlob(sha256: String, size: UInt64) throws {
        try io { db in try db.execute(sql: "INSERT OR IGNORE INTO blobs (sha256, size) VALUES (?, ?)", arguments: [sha256, Int64(size)]) }
    }

    func blob(_ sha256: String) throws -> UInt64? {
        try io { db in try Int64.fetchOne(db, sql: "SELECT size FROM blobs WHERE sha256 = ?", arguments: [sha256]).map(UInt64.init) }
    }

    func count(_ entity: EntityType, where clause: String, _ value: String) throws -> Int {
        try io { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM id_map WHERE entity = ? AND status = 'loaded' AND \(clause)", arguments: [entity.rawValue, value]) ?? 0
        }
    }

    /// Loaded records of one kind in source ID order, `limit` at a time after `after`.
    func loadedRecords(_ entity: EntityType, after: String, limit: Int) throws -> [(sourceID: String, targetID: Int64, record: String)] {
        try io { db in
            try Row.fetchAll(db, sql: """
                SELECT source_id, target_id, record FROM id_map
                WHERE entity = ? AND status = 'loaded' AND source_id > ? AND target_id IS NOT NULL AND record IS NOT NULL
                ORDER BY source_id LIMIT ?
                """, arguments: [entity.rawValue, after, limit]).map { ($0[0], $0[1], $0[2]) }
        }
    }

    /// The target IDs of loaded records with this lookup key (an article's attachments).
    func loadedTargetIDs(_ entity: EntityType, lookupKey: String) throws -> Set<Int64> {
        try io { db in
            Set(try Int64.fetchAll(db, sql: "SELECT target_id FROM id_map WHERE entity = ? AND status = 'loaded' AND lookup_key = ? AND target_id IS NOT NULL",
                                   arguments: [entity.rawValue, lookupKey]))
        }
    }

    // MARK: Knowledge base link rewriting

    /// SHA-256 of the body last written for an article translation by the link rewriting; nil while Zendesk holds the body as loaded.
    func rewrittenDigest(article sourceID: String, locale: String) throws -> String? {
        try io { db in
            try String.fetchOne(db, sql: "SELECT digest FROM kb_rewrites WHERE source_id = ? AND locale = ?", arguments: [sourceID, locale])
        }
    }

    func setRewritten(article sourceID: String, locale: String, digest: String) throws {
        try io { db in
            try db.execute(sql: "INSERT OR REPLACE INTO kb_rewrites (source_id, locale, digest) VALUES (?, ?, ?)", arguments: [sourceID, locale, digest])
        }
    }

    /// An article written again (created, or its translations updated) holds its bodies as loaded.
    func clearRewritten(article sourceID: String) throws {
        try io { db in try db.execute(sql: "DELETE FROM kb_rewrites WHERE source_id = ?", arguments: [sourceID]) }
    }
}
