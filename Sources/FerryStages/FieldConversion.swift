import FerryCore
import Foundation

/// Converts one custom field's values from the source field's type to the
/// target field's (`map.custom_fields.fields` entries with `type`, `options`
/// or `regexp`). A value that cannot be converted is a `failure` with the reason
/// a person reads in the private note or the reject; it is never dropped quietly.
///
/// Rules (docs/pipeline-reference.md has the table):
/// - text / regexp: any scalar as text; a list joined with ", "; a text field
///   holds one line, so text with line breaks fails (textarea takes it).
/// - integer: whole numbers, also written as text ("12", "12.00").
/// - decimal: numbers and numeric text, kept as exact decimal text ("184.00").
/// - date: "YYYY-MM-DD", or an ISO 8601 date-time (its UTC date).
/// - checkbox: true/false, 1/0, and the words true, false, yes, no, on, off, checked, unchecked.
/// - dropdown: one option, mapped through `options`; it must be an option of the target field.
/// - multiselect: a list of options (one value becomes a list of one), each mapped and checked.
struct FieldConverter {
    let fieldTitle: String
    let targetType: FieldType
    /// Source option value -> target option value.
    let optionMap: [String: String]
    /// The target field's options; values of drop-downs and multi-selects must be among them.
    let targetOptions: Set<String>
    let pattern: NSRegularExpression?
    let patternText: String?

    enum Outcome: Equatable {
        case converted(JSONValue)
        case failure(String)
    }

    init(fieldTitle: String, targetType: FieldType, optionMap: [String: String], targetOptions: Set<String>, regexp: String?) throws {
        self.fieldTitle = fieldTitle
        self.targetType = targetType
        self.optionMap = optionMap
        self.targetOptions = targetOptions
        self.patternText = regexp
        self.pattern = try regexp.map { try NSRegularExpression(pattern: $0) }
    }

    func convert(_ value: JSONValue) -> Outcome {
        if value == .null { return .converted(.null) }
        let converted: Outcome
        switch targetType {
        case .text, .regexp: converted = toText(value, multiline: false)
        case .textarea: converted = toText(value, multiline: true)
        case .integer: converted = toInteger(value)
        case .decimal: converted = toDecimal(value)
        case .date: converted = toDate(value)
        case .checkbox: converted = toCheckbox(value)
        case .dropdown: converted = toDropdown(value)
        case .multiselect: converted = toMultiselect(value)
        }
        guard case .converted(let result) = converted, let pattern, let text = result.scalarText else { return converted }
        let range = NSRange(text.startIndex..., in: text)
        guard let match = pattern.firstMatch(in: text, range: range), match.range == range else {
            return .failure("\(Self.show(value)) does not match the pattern \(patternText ?? "")")
        }
        return converted
    }

    private func toText(_ value: JSONValue, multiline: Bool) -> Outcome {
        let text: String
        switch value {
        case .array(let items): text = items.compactMap(\.scalarText).joined(separator: ", ")
        case .object: return .failure("\(Self.show(value)) is an object, not text")
        default: text = value.scalarText ?? ""
        }
        if !multiline, text.contains(where: \.isNewline) {
            return .failure("\(Self.show(value)) has line breaks; a one-line text field cannot hold them (use type: textarea)")
        }
        return .converted(.string(text))
    }

    private func toInteger(_ value: JSONValue) -> Outcome {
        switch value {
        case .int: return .converted(value)
        case .double(let d) where d.rounded() == d && abs(d) < 9e15: return .converted(.int(Int64(d)))
        case .string(let s):
            let t = s.trimmingCharacters(in: .whitespaces)
            if let n = Int64(t) { return .converted(.int(n)) }
            if let decimal = Self.decimalText(t), let dot = decimal.firstIndex(of: "."),
               decimal[decimal.index(after: dot)...].allSatisfy({ $0 == "0" }), let n = Int64(decimal[..<dot]) {
                return .converted(.int(n))
            }
        default: break
        }
        return .failure("\(Self.show(value)) is not a whole number")
    }

    private func toDecimal(_ value: JSONValue) -> Outcome {
        switch value {
        case .int(let n): return .converted(.string(String(n)))
        case .double(let d): return .converted(.string(String(d)))
        case .string(let s):
            if let decimal = Self.decimalText(s.trimmingCharacters(in: .whitespaces)) { return .converted(.string(decimal)) }
        default: break
        }
        return .failure("\(Self.show(value)) is not a decimal number")
    }

    /// "184.00", "-3", "+0.5" -> themselves (without a leading +); anything else nil.
    static func decimalText(_ s: String) -> String? {
        var body = Substring(s)
        var sign = ""
        if body.first == "-" { sign = "-"; body = body.dropFirst() } else if body.first == "+" { body = body.dropFirst() }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts.allSatisfy({ $0.allSatisfy(\.isASCIIDigit) }),
              parts.count == 1 || !parts[1].isEmpty else { return nil }
        return sign + body
    }

    private func toDate(_ value: JSONValue) -> Outcome {
        guard case .string(let s) = value else { return .failure("\(Self.show(value)) is not a date") }
        let t = s.trimmingCharacters(in: .whitespaces)
        if let normalized = Timestamp.normalize(t) { return .converted(.string(String(normalized.prefix(10)))) }
        return .failure("\(Self.show(value)) is not a date (expected YYYY-MM-DD or an ISO 8601 date-time)")
    }

    private func toCheckbox(_ value: JSONValue) -> Outcome {
        switch value {
        case .bool: return .converted(value)
        case .int(0): return .converted(.bool(false))
        case .int(1): return .converted(.bool(true))
        case .string(let s):
            switch s.trimmingCharacters(in: .whitespaces).lowercased() {
            case "true", "yes", "on", "1", "checked": return .converted(.bool(true))
            case "false", "no", "off", "0", "unchecked", "": return .converted(.bool(false))
            default: break
            }
        default: break
        }
        return .failure("\(Self.show(value)) is not true or false")
    }

    /// A source option's target value, or `.failure` when the target field lacks it.
    private func option(_ raw: String) -> Outcome {
        let mapped = optionMap[raw] ?? raw
        guard targetOptions.contains(mapped) else {
            let known = targetOptions.sorted().prefix(8).joined(separator: ", ")
            return .failure("\"\(raw)\" is not an option of the target field (options: \(known.isEmpty ? "none" : known)); add it to options:")
        }
        return .converted(.string(mapped))
    }

    private func toDropdown(_ value: JSONValue) -> Outcome {
        let raw: String
        switch value {
        case .array(let items) where items.count == 1: raw = items[0].scalarText ?? ""
        case .array(let items): return .failure("\(Self.show(value)) holds \(items.count) values; a drop-down holds one")
        case .object: return .failure("\(Self.show(value)) is an object, not an option")
        default: raw = value.scalarText ?? ""
        }
        return option(raw)
    }

    private func toMultiselect(_ value: JSONValue) -> Outcome {
        let raws: [String]
        switch value {
        case .array(let items): raws = items.compactMap(\.scalarText)
        case .object: return .failure("\(Self.show(value)) is an object, not a list of options")
        default: raws = [value.scalarText ?? ""]
        }
        var out: [JSONValue] = []
        for raw in raws {
            switch option(raw) {
            case .converted(let mapped): if !out.contains(mapped) { out.append(mapped) }
            case .failure(let reason): return .failure(reason)
            }
        }
        return .converted(.array(out))
    }

    static func show(_ value: JSONValue) -> String {
        (try? String(decoding: JSONEncoder().encode(value), as: UTF8.self)) ?? "value"
    }
}

extension JSONValue {
    /// The value as text when it is a scalar (string, number, true/false).
    var scalarText: String? {
        switch self {
        case .string(let s): return s
        case .int(let n): return String(n)
        case .double(let d): return String(d)
        case .bool(let b): return b ? "true" : "false"
        default: return nil
        }
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

/// A source field with a converting map entry: its target definition and the
/// converter for its values.
struct FieldRule {
    let target: FieldTarget
    let targetType: FieldType
    /// The target field's options, in the source's order (mapped, without repeats),
    /// then option values the map adds.
    let targetOptions: [FieldOption]
    let converter: FieldConverter

    init(source: TicketField, target: FieldTarget, configFile: String) throws {
        self.target = target
        targetType = target.type ?? source.type
        var options: [FieldOption] = []
        if targetType == .dropdown || targetType == .multiselect {
            for option in source.options {
                let value = target.options[option.value] ?? option.value
                if !options.contains(where: { $0.value == value }) { options.append(FieldOption(id: option.id, name: option.name, value: value)) }
            }
            for value in Set(target.options.values).sorted() where !options.contains(where: { $0.value == value }) {
                options.append(FieldOption(name: value, value: value))
            }
        }
        targetOptions = options
        let pattern = target.regexp ?? (targetType == source.type ? source.regexp : nil)
        do {
            converter = try FieldConverter(fieldTitle: source.title, targetType: targetType, optionMap: target.options,
                                           targetOptions: Set(options.map(\.value)), regexp: pattern)
        } catch {
            throw FerryError.config(file: configFile, detail: "map.custom_fields.fields.\"\(source.title)\".regexp: \(pattern ?? "") is not a valid regular expression",
                                    hint: "fix the pattern (ICU syntax, matched against the whole value)")
        }
    }

    /// The field definition as the target gets it.
    func apply(to field: inout TicketField) {
        field.type = targetType
        field.options = targetOptions
        field.regexp = converter.patternText
    }
}
