import Foundation

/// `stages/<stage>/checkpoint.json`: what a stage has made durable.
///
/// A part is listed only after its file was fsynced and renamed into place, and
/// the checkpoint itself is replaced atomically, so after a crash the listed
/// parts are exactly the finished ones. The next stage reads its input from
/// this list, never from a folder listing, so a half-written file is never
/// mistaken for a finished one.
public struct Checkpoint: Codable, Equatable, Sendable {
    public enum Status: String, Codable, Sendable { case running, complete }

    public var stage: String
    /// Hash of everything the output depends on: input parts, relevant config, format version.
    /// A different fingerprint means the old output is stale and the stage starts over.
    public var fingerprint: String
    public var status: Status
    public var parts: [PartRecord]
    /// Counts of work done before the parts (a first pass), added to the parts' counts.
    public var counts: StageCounts
    /// Extract only: newest `updated_at` seen, where a delta run starts.
    public var cursor: [String: String]?
    public var updatedAt: String

    public init(stage: String, fingerprint: String) {
        self.stage = stage; self.fingerprint = fingerprint; status = .running; parts = []
        counts = StageCounts(); cursor = nil; updatedAt = Clock.nowISO8601()
    }

    enum CodingKeys: String, CodingKey {
        case stage, fingerprint, status, parts, counts, cursor, updatedAt = "updated_at"
    }

    /// The counts of the whole stage: first-pass counts plus every finished part's.
    public var totalCounts: StageCounts {
        var sum = counts
        for part in parts { sum.add(part.counts) }
        return sum
    }
}

public struct PartRecord: Codable, Equatable, Sendable {
    /// File name inside the stage folder, e.g. `part-00001.tar.zst`.
    public var file: String
    /// Hash over the members' SHA-256 and the blobs: equal content gives an
    /// equal digest even though the manifest's created_at differs.
    public var contentDigest: String
    public var bytes: UInt64
    public var records: Int
    /// The input part this part was made from (dedupe, map).
    public var input: String?
    /// Where the source reading stood after this part (extract).
    public var position: [String: String]?
    public var counts: StageCounts

    public init(file: String, contentDigest: String, bytes: UInt64, records: Int, input: String? = nil, position: [String: String]? = nil, counts: StageCounts) {
        self.file = file; self.contentDigest = contentDigest; self.bytes = bytes; self.records = records
        self.input = input; self.position = position; self.counts = counts
    }

    enum CodingKeys: String, CodingKey {
        case file, contentDigest = "content_digest", bytes, records, input, position, counts
    }

    public static func contentDigest(of manifest: Manifest) -> String {
        var text = "blobs \(manifest.blobs.count) \(manifest.blobs.bytes)\n"
        for member in manifest.members { text += "\(member.name) \(member.records) \(member.sha256)\n" }
        return Hash.sha256(text)
    }
}
