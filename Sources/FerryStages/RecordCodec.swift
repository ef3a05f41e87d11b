import FerryCore
import Foundation

/// Decodes a member's line into the record type its entity calls for.
/// One decoder per stage run: JSONDecoder is costly to create.
public final class RecordCodec {
    private let decoder = JSONDecoder()
    private let json = CanonicalJSON()

    public init() {}

    public func decode<R: CanonicalRecord>(_ type: R.Type, _ line: Data) throws -> R {
        try decoder.decode(type, from: line)
    }

    public func encode<R: CanonicalRecord>(_ record: R) throws -> Data {
        try json.encode(record)
    }

    /// SHA-256 of the canonical encoding: the content hash the ID map stores.
    public func contentHash<R: CanonicalRecord>(_ record: R) throws -> String {
        Hash.sha256(try json.encode(record))
    }

    /// Decodes any entity's line, for code that switches on the record's type.
    public func decodeAny(_ entity: EntityType, _ line: Data) throws -> any CanonicalRecord {
        try decode(entity.recordType, line)
    }
}

extension Reject {
    /// A reject for a bundle line the stage could not decode.
    static func undecodable(stage: StageName, part: URL, member: String, line: Int, entity: EntityType?, error: Error, raw: Data) -> Reject {
        let field = (error as? DecodingError)?.fieldPath
        let reason = (error as? DecodingError)?.reason ?? "\(error)"
        return Reject(stage: stage.rawValue, file: "\(part.lastPathComponent)/\(member)", line: line, entity: entity,
                      recordID: Reject.visibleID(in: raw), field: field?.isEmpty == true ? nil : field, reason: reason,
                      excerpt: String(decoding: raw.prefix(160), as: UTF8.self))
    }
}
