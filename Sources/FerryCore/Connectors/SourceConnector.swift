import Foundation

/// Where a source's reading stands, as opaque strings the source alone
/// interprets ("file", "offset", "line" for files; an API cursor later).
/// The extract stage stores it in the checkpoint with each finished part.
public typealias SourcePosition = [String: String]

/// What a source hands its records to. The extract stage implements it and
/// decides where parts end; a source only reports where a unit (a record with
/// all its children, e.g. a ticket with its comments and attachments) ends.
public protocol ExtractSink: AnyObject {
    func emit<R: CanonicalRecord>(_ record: R) throws
    /// A record the source could not read. Counted against `reject.entity`.
    func reject(_ reject: Reject) throws
    /// Copies attachment bytes into the bundle, streamed; returns SHA-256 and size.
    func addBlob(copyingFrom url: URL) throws -> (sha256: String, size: UInt64)
    /// Marks the end of a unit. Everything emitted so far can be made durable,
    /// and reading can resume at `position`.
    func endOfUnit(position: SourcePosition) throws
    /// The newest updated_at the source saw, for delta runs.
    func sawUpdate(_ timestamp: String?)
}

/// A system Ferry reads from. Implementations read in a fixed order, so the
/// same source gives the same records in the same order every time.
public protocol SourceConnector {
    /// Written into every record's source_system.
    var system: String { get }
    /// Changes whenever the source's content may have changed (files: names, sizes, mtimes).
    func fingerprint() throws -> String
    /// Reads everything after `position` (from the start when nil) into the sink.
    func extract(from position: SourcePosition?, into sink: ExtractSink, reporter: Reporter) throws
}

/// A source that finds what changed by itself (an API's incremental export
/// cursors) instead of reading everything for the extract stage to filter.
/// In a delta run the stage calls `startDelta` before `extract`, with the
/// position the last complete run ended at (where the source keeps its
/// cursors) and that run's newest updated_at. Such a source reads only changed
/// records, so the stage does not infer deletions from records it did not see.
public protocol CursorDeltaSource: SourceConnector {
    func startDelta(after position: SourcePosition?, since: String)
}
