import Foundation

/// What a target's `upsert` did with one record. The Int64 is the
/// record's target id (the SQLite archive: its `id` in the entity's table; RT: the ticket, user, queue, custom field or transaction id).
public enum LoadOutcome: Equatable, Sendable {
    /// A new row was written.
    case created(Int64)
    /// The content hash changed: the row was rewritten in place (same id) and
    /// its child rows and search row replaced.
    case updated(Int64)
    /// The content hash is the one already loaded: nothing was written.
    case unchanged(Int64)
    /// The record could not be loaded (a reference that does not resolve, for
    /// one); the reason is also in `id_map.reason`. Nothing else was written.
    case failed(String)

    /// The target id, unless the record failed.
    public var targetID: Int64? {
        switch self {
        case .created(let id), .updated(let id), .unchanged(let id): return id
        case .failed: return nil
        }
    }
}

/// One row of a target's ID map: where a source record went, and how.
public struct IDMapEntry: Equatable, Sendable {
    public enum Status: String, Sendable {
        case loaded
        case failed
    }

    public var entity: EntityType
    public var sourceID: String
    /// The row's id in the entity table. Nil for a record that failed before
    /// it was ever loaded; kept when a later version of a loaded record fails,
    /// so a fixed version updates the same row.
    public var targetID: Int64?
    /// The caller's SHA-256 of the record's canonical JSON, as last attempted.
    public var contentHash: String?
    public var status: Status
    /// Why the record failed; nil when loaded.
    public var reason: String?
    /// When the entry last changed (ISO 8601, UTC).
    public var updatedAt: String

    public init(entity: EntityType, sourceID: String, targetID: Int64?, contentHash: String?, status: Status, reason: String?, updatedAt: String) {
        self.entity = entity; self.sourceID = sourceID; self.targetID = targetID; self.contentHash = contentHash
        self.status = status; self.reason = reason; self.updatedAt = updatedAt
    }
}

/// What became of a record the source no longer has.
public enum DeletionOutcome: Equatable, Sendable {
    case deleted
    case marked
    /// Never loaded (or merged away): nothing to do.
    case absent
    /// Other records still refer to it, so it is kept and marked instead.
    case stillReferenced(String)
}

/// A help desk Ferry writes to (`ferry-load`) and reads back (`ferry-verify`).
/// docs/connectors/README.md describes the contract; `HelpDeskArchive`
/// (FerrySQLite) and `RTTarget` (FerryRT) implement it.
///
/// Idempotency is the target's job: every record is keyed by (kind, source ID)
/// in an ID map with the content hash last loaded, so loading a part again
/// creates nothing twice. A target that has transactions (SQLite) commits a
/// part with its `markPartLoaded` atomically; one that has not (a REST API)
/// writes each record's ID map entry only after the server confirmed it, and
/// finds records created just before a crash in the server itself.
public protocol TargetConnector: AnyObject {
    /// Where the target is, for messages (a file path, a URL).
    var location: String { get }
    func isPartLoaded(fingerprint: String, part: String, contentDigest: String) throws -> Bool
    func loadedPartSummary(fingerprint: String, part: String) throws -> String?
    /// Everything in `body` commits together (SQLite), or is carried out
    /// record by record when `body` returns (an API; see the type's docs).
    func transaction(_ body: () throws -> Void) throws
    func upsert<R: CanonicalRecord>(_ record: R, contentHash: String) throws -> LoadOutcome
    func storeBlob(sha256: String, size: UInt64, _ produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws
    func markPartLoaded(fingerprint: String, part: String, contentDigest: String, summary: String?) throws
    func applyDeletion(_ entity: EntityType, sourceID: String, reason: String, keepMarked: Bool) throws -> DeletionOutcome
    func failedRecords() throws -> [(entity: EntityType, sourceID: String)]
    /// The loaded record rebuilt from the target, references as source IDs.
    func fetch<R: CanonicalRecord>(_ type: R.Type, sourceID: String) throws -> R?
    func targetID(_ entity: EntityType, sourceID: String) throws -> Int64?
    func idMapEntry(_ entity: EntityType, sourceID: String) throws -> IDMapEntry?
    func commentCount(ticketSourceID: String) throws -> Int
    /// SHA-256 and size of the stored bytes of the attachment(s) with this SHA-256.
    func blobDigest(_ sha256: String) throws -> (sha256: String, size: UInt64)?
    /// The record as this target can hold it: what it cannot keep is cleared or
    /// normalised the way `fetch` returns it. Verify compares
    /// `comparable(expected)` with `fetch`. The SQLite archive keeps everything.
    func comparable<R: CanonicalRecord>(_ record: R) -> R
}

extension TargetConnector {
    public func comparable<R: CanonicalRecord>(_ record: R) -> R { record }
}

/// A target whose knowledge base bodies Ferry rewrites after the load
/// (`target.kb_links`): links into the source's help center become links to
/// the target's articles, sections and categories. Links can only be resolved
/// once every part is in, so the rewriting runs over what the target holds,
/// and it must be idempotent: a rerun, a replay or a delta rewrites only what
/// became resolvable since. The SQLite archive and the Zendesk target have it.
public protocol KnowledgeBaseLinkTarget: TargetConnector {
    /// The hosts of the source's own knowledge base URLs, as the loaded records name them.
    func knowledgeBaseHosts() throws -> Set<String>
    /// The locale of a loaded category, section or article, by its target ID.
    func knowledgeBaseLocale(_ entity: EntityType, targetID: Int64) throws -> String?
    /// Whether comment bodies can still be changed once loaded (Zendesk's imported comments cannot).
    var rewritesComments: Bool { get }
    /// Passes every loaded article body, translation body and (with
    /// `includeComments`) comment body through `transform` (entity, source ID,
    /// HTML -> new HTML) and writes what changed. Returns how many bodies changed.
    func rewriteHTML(includeComments: Bool, _ transform: (EntityType, String, String) throws -> String?) throws -> Int
}
