import Foundation

/// `manifest.json`, the first member of every bundle part. It says what the part
/// holds so a reader can check every member it streams (record count, bytes,
/// SHA-256) and refuse a truncated or altered bundle.
public struct Manifest: Codable, Equatable, Sendable {
    public static let formatName = "ferry-bundle"
    public static let currentVersion = 1
    public static let memberName = "manifest.json"

    public var format: String
    public var formatVersion: Int
    /// The stage that wrote the part: extract, dedupe or map.
    public var stage: String
    public var sourceSystem: String
    public var createdAt: String
    /// 1-based part number within the stage's output.
    public var part: Int
    public var members: [MemberInfo]
    public var blobs: BlobSummary
    /// Where the source reading stood after this part (extract), for resume and delta runs.
    public var cursor: [String: String]?

    public init(stage: String, sourceSystem: String, createdAt: String, part: Int, members: [MemberInfo], blobs: BlobSummary, cursor: [String: String]? = nil) {
        format = Self.formatName
        formatVersion = Self.currentVersion
        self.stage = stage; self.sourceSystem = sourceSystem; self.createdAt = createdAt; self.part = part
        self.members = members; self.blobs = blobs; self.cursor = cursor
    }

    enum CodingKeys: String, CodingKey {
        case format, formatVersion = "format_version", stage, sourceSystem = "source_system"
        case createdAt = "created_at", part, members, blobs, cursor
    }

    public func member(named name: String) -> MemberInfo? { members.first { $0.name == name } }

    /// Records of one entity in this part (0 when the member is absent).
    public func records(of entity: EntityType) -> Int { member(named: entity.memberName)?.records ?? 0 }
}

public struct MemberInfo: Codable, Equatable, Sendable {
    public var name: String
    public var records: Int
    public var bytes: UInt64
    public var sha256: String

    public init(name: String, records: Int, bytes: UInt64, sha256: String) {
        self.name = name; self.records = records; self.bytes = bytes; self.sha256 = sha256
    }
}

public struct BlobSummary: Codable, Equatable, Sendable {
    public var count: Int
    public var bytes: UInt64

    public init(count: Int = 0, bytes: UInt64 = 0) {
        self.count = count; self.bytes = bytes
    }
}

/// Timestamps Ferry writes itself (manifests, checkpoints, reports).
public enum Clock {
    public static func iso(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    public static func nowISO8601() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date())
    }
}
