import FerryCore
import Foundation
import GRDB
import GRDBSQLite

/// Ferry's SQLite help desk archive: the default migration target, and what
/// `ferry-verify` reads back.
///
/// One table per kind of record, keyed by a target id SQLite assigns, with
/// references stored as target ids; `id_map` ties each (kind, source id) to its
/// target id and the content hash last loaded, which is what makes loading
/// idempotent and resumable. The schema is described in docs/sqlite-archive.md.
///
/// Writes are batched by the caller: call `upsert`, `storeBlob` and
/// `markPartLoaded` inside `transaction { }` so a batch costs one commit. A
/// record's rows never commit in part: a record with bad data fails before
/// anything is written; an `upsert` that throws part-way (disk full, say)
/// makes the batch roll back; `storeBlob` has a savepoint of its own; and
/// called outside a batch, each method is its own transaction.
///
/// An archive is used from one thread at a time; calls from other threads wait
/// their turn on the connection's queue.
public final class HelpDeskArchive: KnowledgeBaseLinkTarget, Sendable {
    /// The archive file.
    public let url: URL
    public var location: String { url.path }
    private let path: String
    private let queue: DatabaseQueue
    /// Encrypt new attachment blobs with this passphrase (age format), when set.
    private let blobPassphrase: Data?
    /// Read encrypted blobs with this passphrase.
    private let readPassphrase: Data?
    private let batch = BatchState()

    /// Opens the archive at `path`, creating it (and its folder) if needed, and
    /// brings its schema up to date.
    ///
    /// The connection uses WAL with `synchronous = NORMAL`: a commit is an
    /// append to the WAL without an fsync, and a crash can lose at most the
    /// last few commits, never corrupt the file; `loaded_parts` and `id_map`
    /// are committed with the rows they describe, so a load resumes correctly.
    /// `encryption`: the passphrase for encrypted blobs; `encryptBlobs`: whether new ones are encrypted.
    public init(path: URL, encryption: BundleEncryption = .none, encryptBlobs: Bool = false) throws {
        if encryptBlobs && encryption.passphrase == nil {
            throw FerryError.config(file: "pipeline.yml", detail: "target.encrypt_attachments is true but no passphrase is set",
                                    hint: "export FERRY_BUNDLE_PASSPHRASE (or set bundle.passphrase_file)")
        }
        blobPassphrase = encryptBlobs ? encryption.passphrase : nil
        readPassphrase = encryption.passphrase
        url = path
        self.path = path.path
        let folder = path.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw FerryError.io(path: folder.path, detail: "cannot create the archive's folder: \(error.localizedDescription)")
        }

        var config = Configuration()
        config.label = "ferry-archive"
        config.journalMode = .wal
        config.foreignKeysEnabled = true
        // Another process writing (a second load) waits a little, then fails as "locked".
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            try db.execute(sql: """
                PRAGMA synchronous = NORMAL;
                PRAGMA cache_size = -65536;
                PRAGMA temp_store = MEMORY;
                """)
        }
        let archivePath = self.path
        do {
            queue = try DatabaseQueue(path: archivePath, configuration: config)
            try queue.writeWithoutTransaction { db in
                let appID = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
                let tableCount = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") ?? 0
                guard appID == ArchiveSchema.applicationID || (appID == 0 && tableCount == 0) else {
                    throw FerryError.usage("\(archivePath) is an SQLite database but not a Ferry help desk archive; give the archive a path of its own")
                }
            }
            let migrator = ArchiveSchema.migrator
            try migrator.migrate(queue)
            if try queue.read({ try migrator.hasBeenSuperseded($0) }) {
                throw FerryError.usage("\(archivePath) was written by a newer version of Ferry; use that version (or a new archive)")
            }
        } catch let error as DatabaseError {
            throw ArchiveErrors.map(error, path: archivePath)
        }
    }

    /// Runs `body` on the connection. Reentrant, so the methods below work
    /// both inside `transaction { }` and on their own.
    private func access<T>(_ body: (Connection) throws -> T) throws -> T {
        let path = self.path
        do {
            return try queue.unsafeReentrantWrite { db in try body(Connection(db: db, path: path)) }
        } catch let error as DatabaseError {
            throw ArchiveErrors.map(error, path: path)
        }
    }

    // MARK: - Writing

    /// Runs `body` as one write transaction (BEGIN IMMEDIATE ... COMMIT): the
    /// caller's batch of records commits together, or not at all if `body`
    /// throws (the error is rethrown). IMMEDIATE takes the write lock up front,
    /// so a concurrent writer is reported at once instead of at commit.
    /// Nested calls become savepoints of the outer transaction.
    ///
    /// If an `upsert` failed part-way through its writes inside the batch and
    /// the caller caught the error and went on, the batch is rolled back
    /// instead of committed (and `FerryError.internalError` thrown), so a
    /// half-written record can never be committed. See `upsert` for why
    /// records are not each wrapped in a savepoint.
    public func transaction(_ body: () throws -> Void) throws {
        try access { c in
            let outermost = !c.db.isInsideTransaction
            let before = batch.partialWrite
            if outermost { batch.partialWrite = nil }
            defer { if outermost { batch.partialWrite = nil } }
            do {
                try c.atomically("ferry_batch") {
                    try body()
                    if outermost, let failure = batch.partialWrite {
                        throw FerryError.internalError("a record was written only in part (\(failure)) and the error was caught inside the transaction; the batch was rolled back instead of committed")
                    }
                }
            } catch {
                // A nested batch rolled back to its savepoint took its partial writes with it.
                if !outermost { batch.partialWrite = before }
                throw error
            }
        }
    }

    static let idMapLookupSQL = "SELECT target_id, content_hash, status, reason, updated_at FROM id_map WHERE entity = ? AND source_id = ?"
    static let idMapLoadedSQL = """
        INSERT INTO id_map (entity, source_id, target_id, content_hash, status, reason, updated_at)
        VALUES (?, ?, ?, ?, 'loaded', NULL, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        ON CONFLICT (entity, source_id) DO UPDATE SET target_id = excluded.target_id,
            content_hash = excluded.content_hash, status = 'loaded', reason = NULL, updated_at = excluded.updated_at,
            deleted_in_source = NULL
        """
    static let idMapFailedSQL = """
        INSERT INTO id_map (entity, source_id, target_id, content_hash, status, reason, updated_at)
        VALUES (?, ?, ?, ?, 'failed', ?, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        ON CONFLICT (entity, source_id) DO UPDATE SET target_id = excluded.target_id,
            content_hash = excluded.content_hash, status = 'failed', reason = excluded.reason, updated_at = excluded.updated_at
        """
    static let searchSQL = "INSERT OR REPLACE INTO search (rowid, entity, target_id, title, body) VALUES (?, ?, ?, ?, ?)"

    /// Inserts or updates one record, keyed by (entity, source id) in `id_map`.
    ///
    /// - `contentHash` is the caller's SHA-256 of the record's canonical JSON.
    ///   The same hash as the one loaded means the row is already right:
    ///   `.unchanged`, and nothing is written (re-running a load is cheap).
    /// - A different hash rewrites the row in place, keeping its target id
    ///   (so references to it stay valid), and replaces its child rows
    ///   (collaborators, custom field values, translations) and search row:
    ///   `.updated`. A record never loaded before is `.created`.
    /// - References in the record (organizationID, requesterID, ccIDs,
    ///   custom field ids, parentID, ...) are source ids, resolved through
    ///   `id_map` to loaded records of the referenced kind. One that does not
    ///   resolve fails the record: `.failed("requester_id 2999: no user with
    ///   that source id was loaded")`, recorded in `id_map` with status
    ///   'failed'; no entity row is written or changed. A failed record is
    ///   retried whenever it is upserted again, whatever its hash.
    ///
    /// Throws only for problems with the archive itself (disk full, locked,
    /// damaged), never for the record's data. After a throw inside a batch,
    /// the batch will not commit.
    ///
    /// Cost per new record: one id_map lookup, one per reference, then the
    /// row, its child rows, its search row and its id_map row, all through
    /// cached statements; an unchanged record costs only the lookup.
    public func upsert<R: CanonicalRecord>(_ record: R, contentHash: String) throws -> LoadOutcome {
        guard let storable = record as? any ArchiveRecord else {
            throw FerryError.internalError("the SQLite archive has no table for \(R.entity.rawValue) (\(R.self))")
        }
        return try access { c in try self.upsert(storable, contentHash: contentHash, c) }
    }

    private func upsert<A: ArchiveRecord>(_ record: A, contentHash: String, _ c: Connection) throws -> LoadOutcome {
        let spec = A.table
        let entity = SQLValue.text(spec.entity.rawValue)
        let sourceID = SQLValue.text(record.id)
        let existing = try c.queryOne(Self.idMapLookupSQL, [entity, sourceID]) { r in
            (target: r.optionalInt64(), hash: r.optionalText(), status: r.optionalText())
        }
        if let existing, existing.status == IDMapEntry.Status.loaded.rawValue,
           let target = existing.target, existing.hash == contentHash {
            return .unchanged(target)
        }

        let plan: RowPlan
        do {
            plan = try record.plan(References(connection: c))
        } catch let problem as RecordProblem {
            try c.execute(Self.idMapFailedSQL, [entity, sourceID, SQLValue(existing?.target), .text(contentHash), .text(problem.reason)])
            return .failed(problem.reason)
        }

        return try recordWrites(c) {
            let row: [SQLValue] = [.text(record.sourceSystem), sourceID] + plan.values
            var target: Int64?
            if let old = existing?.target {
                try c.execute(spec.updateSQL, row + [.int(old), sourceID])
                if c.changes > 0 {
                    target = old
                    for child in spec.children {
                        try c.execute(child.deleteSQL, [.int(old)])
                    }
                }
                // No change: the row was deleted outside Ferry; write it anew below.
            }
            let outcome: LoadOutcome
            if let target {
                outcome = .updated(target)
            } else {
                try c.execute(spec.insertSQL, row)
                target = c.lastInsertedRowID
                outcome = .created(target!)
            }
            let id = target!
            try plan.writeChildren?(c, id)
            if let code = spec.searchCode, let search = plan.search {
                try c.execute(Self.searchSQL, [.int(id * 4 + code), entity, .int(id), .text(search.title), .text(search.body)])
            }
            try c.execute(Self.idMapLoadedSQL, [entity, sourceID, .int(id), .text(contentHash)])
            return outcome
        }
    }

    /// Runs one record's writes (row, children, search row, id_map) so they
    /// land together.
    ///
    /// Outside a batch they get a transaction of their own. Inside a batch
    /// they run without a savepoint: savepoints cost about a third of the load
    /// time (every page a record touches is first copied to the statement
    /// journal), and the batch already gives atomicity, because a throw out of
    /// `transaction`'s body rolls the whole batch back. The one hole, a caller
    /// that catches the error and carries on, is closed by remembering the
    /// failure and refusing to commit the batch.
    private func recordWrites<T>(_ c: Connection, _ body: () throws -> T) throws -> T {
        guard c.db.isInsideTransaction else { return try c.atomically("ferry_record", body) }
        do {
            return try body()
        } catch {
            batch.partialWrite = "\(error)"
            throw error
        }
    }

    // MARK: - Loaded parts

    /// Whether the load stage already committed this input part (with this
    /// exact content) into the archive, so a resumed load can skip it.
    public func isPartLoaded(fingerprint: String, part: String, contentDigest: String) throws -> Bool {
        try access { c in
            try c.queryOne("SELECT 1 FROM loaded_parts WHERE fingerprint = ? AND part = ? AND content_digest = ?",
                           [.text(fingerprint), .text(part), .text(contentDigest)]) { _ in true } ?? false
        }
    }

    /// Records that a part is loaded, with the load's counts for it (`summary`,
    /// the caller's JSON). Call it inside the transaction that wrote the part's
    /// rows, so the two commit together.
    public func markPartLoaded(fingerprint: String, part: String, contentDigest: String, summary: String? = nil) throws {
        try access { c in
            try c.execute("""
                INSERT INTO loaded_parts (fingerprint, part, content_digest, loaded_at, summary)
                VALUES (?, ?, ?, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), ?)
                ON CONFLICT (fingerprint, part) DO UPDATE SET content_digest = excluded.content_digest,
                    loaded_at = excluded.loaded_at, summary = excluded.summary
                """, [.text(fingerprint), .text(part), .text(contentDigest), summary.map(SQLValue.text) ?? .null])
        }
    }

    /// The summary stored with a loaded part, if any.
    public func loadedPartSummary(fingerprint: String, part: String) throws -> String? {
        try access { c in
            try c.queryOne("SELECT summary FROM loaded_parts WHERE fingerprint = ? AND part = ?",
                           [.text(fingerprint), .text(part)]) { $0.optionalText() } ?? nil
        }
    }

    // MARK: - Retries and deletions

    /// Every record whose last load attempt failed, for `ferry-load --only-failed`.
    public func failedRecords() throws -> [(entity: EntityType, sourceID: String)] {
        try access { c in
            try c.queryAll("SELECT entity, source_id FROM id_map WHERE status = 'failed' ORDER BY entity, source_id") { r in
                (EntityType(rawValue: try r.text()) ?? .tickets, try r.text())
            }
        }
    }

    /// Source ids of every loaded record of one kind, in target id order.
    public func loadedSourceIDs(_ entity: EntityType) throws -> [String] {
        try access { c in
            try c.queryAll("SELECT source_id FROM id_map WHERE entity = ? AND status = 'loaded' ORDER BY target_id", [.text(entity.rawValue)]) { try $0.text() }
        }
    }

    public typealias DeletionOutcome = FerryCore.DeletionOutcome

    /// Removes a record (its row, child rows, search row and ID map entry), or
    /// marks it when `keepMarked` or when other records still refer to it.
    /// Attachment bytes stay: blobs are shared by content.
    public func applyDeletion(_ entity: EntityType, sourceID: String, reason: String, keepMarked: Bool) throws -> DeletionOutcome {
        try access { c in
            guard let target = try c.queryOne(References.lookupSQL, [.text(entity.rawValue), .text(sourceID)], { try $0.int64() }) else {
                return .absent
            }
            let mark = {
                try c.execute("UPDATE id_map SET deleted_in_source = ? WHERE entity = ? AND source_id = ?",
                              [.text(reason), .text(entity.rawValue), .text(sourceID)])
            }
            if keepMarked {
                try mark()
                return .marked
            }
            let spec = TableSpec.of(entity)
            do {
                try c.atomically("ferry_delete") {
                    for child in spec.children { try c.execute(child.deleteSQL, [.int(target)]) }
                    if let code = spec.searchCode { try c.execute("DELETE FROM search WHERE rowid = ?", [.int(target * 4 + code)]) }
                    try c.execute("DELETE FROM \"\(spec.name)\" WHERE id = ?", [.int(target)])
                    try c.execute("DELETE FROM id_map WHERE entity = ? AND source_id = ?", [.text(entity.rawValue), .text(sourceID)])
                }
                return .deleted
            } catch {
                // Foreign keys refuse the delete while other records point at this one.
                try mark()
                let text = "\(error)"
                return .stillReferenced(text.contains("787") || text.uppercased().contains("FOREIGN KEY")
                    ? "other records still refer to it" : text)
            }
        }
    }

    // MARK: - Knowledge base links

    /// Hosts of the source URLs the knowledge base records carry (`url`), so
    /// links to them are known to be the source's without configuration.
    public func knowledgeBaseHosts() throws -> Set<String> {
        try access { c in
            var hosts = Set<String>()
            for table in ["kb_articles", "kb_sections", "kb_categories"] {
                for url in try c.queryAll("SELECT DISTINCT url FROM \(table) WHERE url IS NOT NULL", [], { try $0.text() }) {
                    if let host = URLComponents(string: url)?.host?.lowercased() { hosts.insert(host) }
                }
            }
            return hosts
        }
    }

    /// Comments in the archive are rows like any other: their links are rewritten too.
    public var rewritesComments: Bool { true }

    /// The locale of a loaded KB record (sections and categories may have none).
    public func knowledgeBaseLocale(_ entity: EntityType, targetID: Int64) throws -> String? {
        let table: String
        switch entity {
        case .kbArticles: table = "kb_articles"
        case .kbSections: table = "kb_sections"
        case .kbCategories: table = "kb_categories"
        default: return nil
        }
        return try access { c in try c.queryOne("SELECT locale FROM \(table) WHERE id = ?", [.int(targetID)]) { $0.optionalText() } ?? nil }
    }

    /// Passes every stored article body, translation body and (with
    /// `includeComments`) comment HTML holding "/hc/" through `transform`
    /// (entity, source id, html -> new html or nil for unchanged) and stores
    /// what changed, in batches by id so memory stays bounded. Returns how
    /// many bodies changed. Run inside `transaction`.
    public func rewriteHTML(includeComments: Bool, _ transform: (EntityType, String, String) throws -> String?) throws -> Int {
        try access { c in
            var changed = 0
            /// `select` yields (sweep key, row id, position, source id, html) for keys after `?`;
            /// `update` takes (html, row id, position).
            func sweep(_ entity: EntityType, _ select: String, _ update: String) throws {
                var after: Int64 = -1
                while true {
                    let rows = try c.queryAll(select, [.int(after)]) { r in
                        (try r.int64(), try r.int64(), try r.int64(), try r.text(), try r.text())
                    }
                    guard let last = rows.last else { return }
                    after = last.0
                    for (_, rowID, position, sourceID, html) in rows {
                        guard let rewritten = try transform(entity, sourceID, html), rewritten != html else { continue }
                        try c.execute(update, [.text(rewritten), .int(rowID), .int(position)])
                        changed += 1
                    }
                }
            }
            try sweep(.kbArticles, """
                SELECT id, id, 0, source_id, body_html FROM kb_articles WHERE id > ? AND body_html LIKE '%/hc/%' ORDER BY id LIMIT 500
                """, "UPDATE kb_articles SET body_html = ? WHERE id = ? AND ? = 0")
            try sweep(.kbArticles, """
                SELECT t.article_id * 100000 + t.position, t.article_id, t.position, a.source_id, t.body_html
                FROM kb_translations t JOIN kb_articles a ON a.id = t.article_id
                WHERE t.article_id * 100000 + t.position > ? AND t.body_html LIKE '%/hc/%' ORDER BY 1 LIMIT 500
                """, "UPDATE kb_translations SET body_html = ? WHERE article_id = ? AND position = ?")
            if includeComments {
                try sweep(.comments, """
                    SELECT id, id, 0, source_id, body_html FROM comments WHERE id > ? AND body_html LIKE '%/hc/%' ORDER BY id LIMIT 500
                    """, "UPDATE comments SET body_html = ? WHERE id = ? AND ? = 0")
            }
            return changed
        }
    }

    // MARK: - Reading back (ferry-verify)

    /// The target id of a loaded record; nil when it was never loaded or its
    /// last attempt failed.
    public func targetID(_ entity: EntityType, sourceID: String) throws -> Int64? {
        try access { c in
            try c.queryOne(References.lookupSQL, [.text(entity.rawValue), .text(sourceID)]) { try $0.int64() }
        }
    }

    /// The `id_map` row of a record, loaded or failed; nil when never seen.
    public func idMapEntry(_ entity: EntityType, sourceID: String) throws -> IDMapEntry? {
        try access { c in
            try c.queryOne(Self.idMapLookupSQL, [.text(entity.rawValue), .text(sourceID)]) { r in
                let target = r.optionalInt64(), hash = r.optionalText(), statusText = try r.text()
                guard let status = IDMapEntry.Status(rawValue: statusText) else {
                    throw FerryError.badInput(file: c.path, line: nil, detail: "damaged archive: id_map.status \(statusText)")
                }
                return IDMapEntry(entity: entity, sourceID: sourceID, targetID: target, contentHash: hash,
                                  status: status, reason: r.optionalText(), updatedAt: try r.text())
            }
        }
    }

    /// Rebuilds a loaded record from the archive's rows, with references
    /// translated back to source ids, so verify can compare it (==) with the
    /// bundle's record. Nil when the record is not loaded (never seen, or its
    /// last attempt failed).
    public func fetch<R: CanonicalRecord>(_ type: R.Type, sourceID: String) throws -> R? {
        guard let storable = type as? any ArchiveRecord.Type else {
            throw FerryError.internalError("the SQLite archive has no table for \(R.entity.rawValue) (\(R.self))")
        }
        return try access { c in
            try c.snapshot {
                guard let target = try c.queryOne(References.lookupSQL, [.text(R.entity.rawValue), .text(sourceID)], { try $0.int64() })
                else { return nil }
                return try storable.read(c, targetID: target) as? R
            }
        }
    }

    /// How many comments the archive holds for a ticket (0 if the ticket is not loaded).
    public func commentCount(ticketSourceID: String) throws -> Int {
        try access { c in
            try c.queryOne("""
                SELECT count(*) FROM comments WHERE ticket_id =
                    (SELECT target_id FROM id_map WHERE entity = 'tickets' AND source_id = ?)
                """, [.text(ticketSourceID)]) { try $0.int() } ?? 0
        }
    }

    /// Rows in an entity's table.
    public func rowCount(_ entity: EntityType) throws -> Int {
        try access { c in
            try c.queryOne("SELECT count(*) FROM \"\(TableSpec.of(entity).name)\"") { try $0.int() } ?? 0
        }
    }

    /// Rows of the full-text `search` table matching an FTS5 query
    /// (`"refund"`, `"refund AND invoice"`, `"title: printer"`).
    public func searchCount(matching query: String) throws -> Int {
        try access { c in
            do {
                return try c.queryOne("SELECT count(*) FROM search WHERE search MATCH ?", [.text(query)]) { try $0.int() } ?? 0
            } catch FerryError.internalError(let message) {
                throw FerryError.usage("search query \(query): \(message)")
            }
        }
    }
}

/// Whether a record's writes failed part-way inside the current batch.
/// Only touched on the database queue, inside `access`, hence unchecked.
private final class BatchState: @unchecked Sendable {
    var partialWrite: String?
}

extension HelpDeskArchive {
    // MARK: - Blobs

    /// Bytes per read when streaming a blob out of the archive.
    static let readChunkSize = 64 * 1024

    /// Stores attachment bytes under their SHA-256, streaming them into the
    /// row so no file is ever held in memory whole: a row with a zeroblob of
    /// `size` bytes is inserted, then `produce` is handed a sink, and every
    /// chunk it passes is written at the next offset with `sqlite3_blob_write`.
    ///
    /// Content-addressed: when `sha256` is already stored this is a no-op
    /// (`produce` is not called), so identical files cost their bytes once.
    /// The bytes are hashed on the way in; if they are not exactly `size`
    /// bytes with that SHA-256, nothing is stored and `FerryError.badInput` is
    /// thrown, so a blob row's key always matches its content.
    ///
    /// SQLite caps one value at its length limit (1 GB by default); a larger
    /// file is refused with a clear error.
    public func storeBlob(sha256: String, size: UInt64, _ produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        try access { c in
            if try c.queryOne("SELECT 1 FROM blobs WHERE sha256 = ?", [.text(sha256)], { _ in true }) == true { return }
            let limit = UInt64(sqlite3_limit(c.handle, SQLITE_LIMIT_LENGTH, -1))
            guard size <= limit, size <= UInt64(Int32.max) else {
                throw FerryError.badInput(file: "blobs/\(sha256)", line: nil,
                                          detail: "\(size) bytes is more than the SQLite archive can hold in one value (\(limit) bytes)")
            }
            try c.atomically {
                // Encrypted, the stored value is an age file: header, nonce, and each
                // 64 KiB chunk 16 bytes longer; its size is known before a byte is written.
                var header = Data()
                let encryptor = try blobPassphrase.map { passphrase in
                    try AgeEncryptor(passphrase: passphrase, workFactor: 12) { header.append(contentsOf: $0) }
                }
                let chunks = size == 0 ? 1 : (size + UInt64(Age.payloadChunkSize) - 1) / UInt64(Age.payloadChunkSize)
                let stored = encryptor == nil ? size : UInt64(header.count) + size + chunks * 16
                try c.execute("INSERT INTO blobs (sha256, size, data, encrypted) VALUES (?, ?, zeroblob(?), ?)",
                              [.text(sha256), SQLValue(size), SQLValue(stored), SQLValue(encryptor != nil)])
                let rowid = c.lastInsertedRowID
                var blob: OpaquePointer?
                defer { if blob != nil { sqlite3_blob_close(blob) } }
                if stored > 0 {
                    let code = sqlite3_blob_open(c.handle, "main", "blobs", "data", rowid, 1, &blob)
                    guard code == SQLITE_OK else { throw c.error(code, sql: "sqlite3_blob_open(blobs.data)") }
                }
                var written: UInt64 = 0
                func store(_ bytes: UnsafeRawBufferPointer) throws {
                    guard bytes.count > 0 else { return }
                    guard written + UInt64(bytes.count) <= stored, let blob, let base = bytes.baseAddress else {
                        throw FerryError.badInput(file: "blobs/\(sha256)", line: nil, detail: "more bytes than the \(size) announced")
                    }
                    let code = sqlite3_blob_write(blob, base, Int32(bytes.count), Int32(written))
                    guard code == SQLITE_OK else { throw c.error(code, sql: "sqlite3_blob_write(blobs.data)") }
                    written += UInt64(bytes.count)
                }
                var offset: UInt64 = 0
                var hasher = SHA256Stream()
                if let encryptor {
                    try header.withUnsafeBytes(store)
                    encryptor.redirect(to: store)
                }
                try produce { chunk in
                    guard chunk.count > 0 else { return }
                    guard offset + UInt64(chunk.count) <= size else {
                        throw FerryError.badInput(file: "blobs/\(sha256)", line: nil, detail: "more bytes than the \(size) announced")
                    }
                    if let encryptor { try encryptor.write(chunk) } else { try store(chunk) }
                    hasher.update(chunk)
                    offset += UInt64(chunk.count)
                }
                try encryptor?.finish()
                let digest = hasher.hexDigest()
                guard offset == size, written == stored, digest == sha256.lowercased() else {
                    throw FerryError.badInput(file: "blobs/\(sha256)", line: nil,
                                              detail: "expected \(size) bytes with SHA-256 \(sha256), got \(offset) bytes with SHA-256 \(digest)")
                }
                if let handle = blob {
                    blob = nil
                    let code = sqlite3_blob_close(handle)
                    guard code == SQLITE_OK else { throw c.error(code, sql: "sqlite3_blob_close(blobs.data)") }
                }
            }
        }
    }

    public func hasBlob(_ sha256: String) throws -> Bool {
        try access { c in
            try c.queryOne("SELECT 1 FROM blobs WHERE sha256 = ?", [.text(sha256)]) { _ in true } ?? false
        }
    }

    /// Streams a stored blob through SHA-256 (64 KiB at a time) and returns
    /// the digest and byte count of what is actually stored, so verify checks
    /// the bytes rather than trusting the key. Nil if no blob has that key.
    public func blobDigest(_ sha256: String) throws -> (sha256: String, size: UInt64)? {
        try access { c in
            guard let (rowid, encrypted) = try c.queryOne("SELECT rowid, encrypted FROM blobs WHERE sha256 = ?", [.text(sha256)], { (try $0.int64(), try $0.bool()) })
            else { return nil }
            var blob: OpaquePointer?
            let code = sqlite3_blob_open(c.handle, "main", "blobs", "data", rowid, 0, &blob)
            guard code == SQLITE_OK, let blob else { throw c.error(code, sql: "sqlite3_blob_open(blobs.data)") }
            defer { sqlite3_blob_close(blob) }
            let total = Int(sqlite3_blob_bytes(blob))
            var hasher = SHA256Stream()
            if encrypted {
                guard let readPassphrase else {
                    throw FerryError.config(file: path, detail: "the archive's attachment blobs are encrypted and no passphrase is set",
                                            hint: "export FERRY_BUNDLE_PASSPHRASE (or set bundle.passphrase_file)")
                }
                var offset = 0
                let decryptor: AgeDecryptor
                do {
                    decryptor = try AgeDecryptor(passphrase: readPassphrase) { want in
                    let count = min(want, total - offset)
                    var data = Data(count: count)
                    let code = data.withUnsafeMutableBytes { sqlite3_blob_read(blob, $0.baseAddress, Int32(count), Int32(offset)) }
                    guard code == SQLITE_OK else { throw c.error(code, sql: "sqlite3_blob_read(blobs.data)") }
                    offset += count
                    return data
                    }
                } catch AgeError.wrongPassphrase {
                    throw FerryError.config(file: path, detail: "the archive's attachment blobs were encrypted with another passphrase",
                                            hint: "export the passphrase the archive was loaded with")
                }
                var size: UInt64 = 0
                do {
                    while let chunk = try decryptor.nextChunk() {
                        hasher.update(chunk)
                        size += UInt64(chunk.count)
                    }
                } catch let error as AgeError {
                    // A damaged stored blob is a difference verify reports, not a crash.
                    return ("unreadable: \(error)", size)
                }
                return (hasher.hexDigest(), size)
            }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.readChunkSize, alignment: 16)
            defer { buffer.deallocate() }
            var offset = 0
            while offset < total {
                let count = min(Self.readChunkSize, total - offset)
                let code = sqlite3_blob_read(blob, buffer.baseAddress, Int32(count), Int32(offset))
                guard code == SQLITE_OK else { throw c.error(code, sql: "sqlite3_blob_read(blobs.data)") }
                hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                offset += count
            }
            return (hasher.hexDigest(), UInt64(total))
        }
    }
}
