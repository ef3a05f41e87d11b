import Foundation

/// The one JSON encoding Ferry writes: sorted keys, no escaped slashes, no
/// whitespace. Same record in, same bytes out, so members can be compared and
/// content-hashed byte for byte.
public final class CanonicalJSON: @unchecked Sendable {
    private let encoder: JSONEncoder
    private let decoder = JSONDecoder()

    public init() {
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    }

    public func encode<T: Encodable>(_ value: T) throws -> Data {
        try encoder.encode(value)
    }

    public func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try decoder.decode(type, from: data)
    }
}

/// A JSON value whose shape is not known in advance (custom field values, for one).
public enum JSONValue: Codable, Equatable, Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null; return }
        if let value = try? container.decode(Bool.self) { self = .bool(value); return }
        if let value = try? container.decode(Int64.self) { self = .int(value); return }
        if let value = try? container.decode(Double.self) {
            // A number a Double cannot hold exactly (an 20-digit order number, say) is
            // refused rather than rounded: a migration must not change data silently.
            if let exact = try? container.decode(Decimal.self), Decimal(string: "\(value)") != exact {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "the number \(exact) has more digits than can be kept exactly; send it as a string")
            }
            self = .double(value)
            return
        }
        if let value = try? container.decode(String.self) { self = .string(value); return }
        if let value = try? container.decode([JSONValue].self) { self = .array(value); return }
        if let value = try? container.decode([String: JSONValue].self) { self = .object(value); return }
        throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a JSON value")
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let v): try container.encode(v)
        case .int(let v): try container.encode(v)
        case .double(let v): try container.encode(v)
        case .string(let v): try container.encode(v)
        case .array(let v): try container.encode(v)
        case .object(let v): try container.encode(v)
        }
    }

    /// A short human rendering for reports and error messages.
    public var display: String {
        switch self {
        case .null: return "null"
        case .bool(let v): return String(v)
        case .int(let v): return String(v)
        case .double(let v): return String(v)
        case .string(let v): return v
        case .array(let v): return "[" + v.map(\.display).joined(separator: ", ") + "]"
        case .object(let v): return "{" + v.keys.sorted().map { "\($0): \(v[$0]!.display)" }.joined(separator: ", ") + "}"
        }
    }
}

extension DecodingError {
    /// The dotted path of the field a decoding error is about ("custom_fields.2.id").
    public var fieldPath: String {
        let path: [CodingKey]
        switch self {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): path = c.codingPath
        case .keyNotFound(let key, let c): path = c.codingPath + [key]
        @unknown default: path = []
        }
        return path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }

    /// What went wrong, in words, without Swift type names where avoidable.
    public var reason: String {
        switch self {
        case .typeMismatch(let type, let c):
            return "wrong type: expected \(Self.typeName(type)); \(c.debugDescription)"
        case .valueNotFound(let type, _):
            return "missing value: expected \(Self.typeName(type)), found null"
        case .keyNotFound(let key, _):
            return "required field \(key.stringValue) is missing"
        case .dataCorrupted(let c):
            if let underlying = c.underlyingError as NSError? {
                return "malformed JSON: \(underlying.userInfo[NSDebugDescriptionErrorKey] as? String ?? underlying.localizedDescription)"
            }
            return c.debugDescription
        @unknown default:
            return "\(self)"
        }
    }

    static func typeName(_ type: Any.Type) -> String {
        let name = String(describing: type)
        switch name {
        case "Int", "Int64", "UInt64": return "a whole number"
        case "Double", "Decimal": return "a number"
        case "String": return "a string"
        case "Bool": return "true or false"
        default:
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return name
        }
    }
}
