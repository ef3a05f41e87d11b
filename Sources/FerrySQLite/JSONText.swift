import FerryCore

/// The JSON text the archive stores in its JSON columns (tags, labels,
/// options, custom field values).
///
/// Why not `CanonicalJSON`: Foundation writes the double `2.0` as `2`, and
/// reads `2` (and even `2.0`) back as an integer, so a `.double(2.0)` custom
/// field value would come back from the archive as `.int(2)` and verify would
/// report a difference that is not there. This codec writes the same bytes as
/// `CanonicalJSON` (sorted keys, unescaped slashes, `\u00xx` for control
/// characters) except that a double always carries a `.` or an exponent
/// (`2.0`, `1e+300`), and it reads integer syntax as `.int` and anything else
/// as `.double`. So every `JSONValue` round-trips exactly, nested ones too.
enum JSONText {
    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    // MARK: Writing

    static func encode(_ value: JSONValue) throws -> String {
        var out = ""
        try write(value, to: &out)
        return out
    }

    /// A JSON array of strings (tags, labels, domain names).
    static func encode(strings: [String]) -> String {
        var out = "["
        for (index, string) in strings.enumerated() {
            if index > 0 { out.append(",") }
            writeString(string, to: &out)
        }
        out.append("]")
        return out
    }

    private static func write(_ value: JSONValue, to out: inout String) throws {
        switch value {
        case .null: out.append("null")
        case .bool(let b): out.append(b ? "true" : "false")
        case .int(let i): out.append(String(i))
        case .double(let d):
            guard d.isFinite else { throw Problem(description: "\(d) is not a JSON number") }
            // Swift's shortest round-trip rendering; it always has "." or "e".
            out.append(d.description)
        case .string(let s): writeString(s, to: &out)
        case .array(let items):
            out.append("[")
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(",") }
                try write(item, to: &out)
            }
            out.append("]")
        case .object(let members):
            out.append("{")
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { out.append(",") }
                writeString(key, to: &out)
                out.append(":")
                try write(members[key]!, to: &out)
            }
            out.append("}")
        }
    }

    private static func writeString(_ string: String, to out: inout String) {
        out.append("\"")
        var plainStart = string.unicodeScalars.startIndex
        let scalars = string.unicodeScalars
        var index = scalars.startIndex
        while index != scalars.endIndex {
            let scalar = scalars[index]
            let escape: String?
            switch scalar {
            case "\"": escape = "\\\""
            case "\\": escape = "\\\\"
            case "\n": escape = "\\n"
            case "\r": escape = "\\r"
            case "\t": escape = "\\t"
            case "\u{08}": escape = "\\b"
            case "\u{0C}": escape = "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    escape = "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    escape = nil
                }
            }
            if let escape {
                out.unicodeScalars.append(contentsOf: scalars[plainStart..<index])
                out.append(escape)
                plainStart = scalars.index(after: index)
            }
            index = scalars.index(after: index)
        }
        out.unicodeScalars.append(contentsOf: scalars[plainStart..<scalars.endIndex])
        out.append("\"")
    }

    // MARK: Reading

    static func decode(_ text: String) throws -> JSONValue {
        var parser = Parser(bytes: Array(text.utf8))
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.position == parser.bytes.count else { throw parser.problem("unexpected text after the value") }
        return value
    }

    static func decodeStrings(_ text: String) throws -> [String] {
        guard case .array(let items) = try decode(text) else { throw Problem(description: "expected a JSON array of strings") }
        return try items.map {
            guard case .string(let s) = $0 else { throw Problem(description: "expected a JSON array of strings") }
            return s
        }
    }

    private struct Parser {
        let bytes: [UInt8]
        var position = 0

        func problem(_ what: String) -> Problem {
            Problem(description: "malformed JSON at byte \(position): \(what)")
        }

        mutating func skipWhitespace() {
            while position < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[position]) { position += 1 }
        }

        mutating func expect(_ literal: String) throws {
            for byte in literal.utf8 {
                guard position < bytes.count, bytes[position] == byte else { throw problem("expected \(literal)") }
                position += 1
            }
        }

        mutating func value(depth: Int) throws -> JSONValue {
            guard depth < 512 else { throw problem("nested too deeply") }
            guard position < bytes.count else { throw problem("unexpected end") }
            switch bytes[position] {
            case UInt8(ascii: "n"): try expect("null"); return .null
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "["):
                position += 1
                var items: [JSONValue] = []
                skipWhitespace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "]") { position += 1; return .array(items) }
                while true {
                    skipWhitespace()
                    items.append(try value(depth: depth + 1))
                    skipWhitespace()
                    guard position < bytes.count else { throw problem("unterminated array") }
                    if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                    if bytes[position] == UInt8(ascii: "]") { position += 1; return .array(items) }
                    throw problem("expected , or ]")
                }
            case UInt8(ascii: "{"):
                position += 1
                var members: [String: JSONValue] = [:]
                skipWhitespace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "}") { position += 1; return .object(members) }
                while true {
                    skipWhitespace()
                    guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw problem("expected a member name") }
                    let key = try string()
                    skipWhitespace()
                    try expect(":")
                    skipWhitespace()
                    members[key] = try value(depth: depth + 1)
                    skipWhitespace()
                    guard position < bytes.count else { throw problem("unterminated object") }
                    if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                    if bytes[position] == UInt8(ascii: "}") { position += 1; return .object(members) }
                    throw problem("expected , or }")
                }
            default:
                return try number()
            }
        }

        mutating func number() throws -> JSONValue {
            let start = position
            var isInteger = true
            if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
            while position < bytes.count {
                let byte = bytes[position]
                if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                    position += 1
                } else if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
                            || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") {
                    isInteger = false
                    position += 1
                } else {
                    break
                }
            }
            let text = String(decoding: bytes[start..<position], as: UTF8.self)
            if isInteger, let int = Int64(text) { return .int(int) }
            // Integers too large for Int64 read as doubles, as JSONDecoder does.
            guard let double = Double(text), double.isFinite else {
                position = start
                throw problem("not a JSON value")
            }
            return .double(double)
        }

        mutating func string() throws -> String {
            position += 1 // opening quote
            var utf8: [UInt8] = []
            while true {
                guard position < bytes.count else { throw problem("unterminated string") }
                let byte = bytes[position]
                position += 1
                if byte == UInt8(ascii: "\"") { break }
                if byte != UInt8(ascii: "\\") { utf8.append(byte); continue }
                guard position < bytes.count else { throw problem("unterminated escape") }
                let escaped = bytes[position]
                position += 1
                switch escaped {
                case UInt8(ascii: "\""): utf8.append(0x22)
                case UInt8(ascii: "\\"): utf8.append(0x5C)
                case UInt8(ascii: "/"): utf8.append(0x2F)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code) {
                        // A surrogate pair spells one scalar beyond the BMP.
                        try expect("\\u")
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw problem("unpaired surrogate") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw problem("invalid \\u escape") }
                    UTF8.encode(scalar) { utf8.append($0) }
                default:
                    throw problem("invalid escape")
                }
            }
            return String(decoding: utf8, as: UTF8.self)
        }

        mutating func hex4() throws -> UInt32 {
            guard position + 4 <= bytes.count,
                  let code = UInt32(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16)
            else { throw problem("invalid \\u escape") }
            position += 4
            return code
        }
    }
}
