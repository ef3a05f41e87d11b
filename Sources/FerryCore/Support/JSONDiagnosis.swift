import Foundation

/// Says what is wrong with a line that did not parse as JSON, in words a
/// person can act on. JSONDecoder only says "not valid JSON"; this looks for
/// invalid UTF-8 first (where exports from old systems usually break), then
/// asks JSONSerialization, whose message names the position.
public enum JSONDiagnosis {
    public static func explain(_ line: Data) -> String {
        if let offset = firstInvalidUTF8(line) {
            return "not valid UTF-8 at byte \(offset + 1) (re-export the file as UTF-8, or convert it with iconv)"
        }
        do {
            _ = try JSONSerialization.jsonObject(with: line, options: [.fragmentsAllowed])
            return "malformed JSON"
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? error.localizedDescription
            let lowered = detail.lowercased()
            let truncated = (lowered.contains("end of file") || lowered.contains("unexpected end")) && !lowered.contains("surrogate")
            return "malformed JSON: \(detail)" + (truncated ? " (the line looks cut short)" : "")
        }
    }

    /// The offset of the first byte that breaks UTF-8, or nil when the data is valid UTF-8.
    public static func firstInvalidUTF8(_ data: Data) -> Int? {
        let bytes = [UInt8](data)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            let length: Int
            if b < 0x80 { length = 1 }
            else if b >= 0xC2 && b <= 0xDF { length = 2 }
            else if b >= 0xE0 && b <= 0xEF { length = 3 }
            else if b >= 0xF0 && b <= 0xF4 { length = 4 }
            else { return i }
            guard i + length <= bytes.count else { return i }
            for k in 1..<length where bytes[i + k] & 0xC0 != 0x80 { return i }
            if length == 3 {
                let c = bytes[i + 1]
                if (b == 0xE0 && c < 0xA0) || (b == 0xED && c > 0x9F) { return i }
            } else if length == 4 {
                let c = bytes[i + 1]
                if (b == 0xF0 && c < 0x90) || (b == 0xF4 && c > 0x8F) { return i }
            }
            i += length
        }
        return nil
    }
}
