import Foundation

/// The cleaning rules of the dedupe stage, as pure functions tests can call.
public enum Cleaning {
    /// Trimmed and lower-cased; nil when empty.
    public static func normalizeEmail(_ raw: String?) -> String? {
        guard let raw else { return nil }
        let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        return trimmed.isEmpty ? nil : trimmed
    }

    /// A deliberately plain check: one @, something before it, a dot in the
    /// domain, no spaces. Stricter RFC 5322 checks refuse addresses that work.
    public static func isValidEmail(_ email: String) -> Bool {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return false }
        let domain = parts[1]
        guard domain.contains("."), !domain.hasPrefix("."), !domain.hasSuffix("."), !domain.contains("..") else { return false }
        return !email.contains(where: { $0.isWhitespace || $0 == "," || $0 == ";" || $0 == "<" || $0 == ">" })
    }

    /// `+` and digits only, `00` read as `+`; nil when the text holds no
    /// plausible number (fewer than 4 or more than 15 digits), so it is kept as it was.
    public static func normalizePhone(_ raw: String) -> String? {
        let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return nil }
        var out = ""
        for (index, ch) in trimmed.enumerated() {
            if ch.isASCII, ch.isNumber { out.append(ch) }
            else if ch == "+", index == 0 { out.append(ch) }
            else if " -.()/".contains(ch) { continue }
            else { return nil }
        }
        if out.hasPrefix("00") { out = "+" + out.dropFirst(2) }
        let digits = out.filter(\.isNumber).count
        guard (4...15).contains(digits) else { return nil }
        return out
    }

    /// Lower-cased, whitespace collapsed: "  ACME   corp " and "Acme Corp" agree.
    public static func normalizeName(_ raw: String) -> String {
        raw.lowercased().split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    public static func normalizeDomain(_ raw: String) -> String? {
        let d = raw.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        return d.isEmpty ? nil : d
    }
}
