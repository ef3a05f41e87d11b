#if canImport(Glibc)
import Glibc
#endif

/// Normalises the timestamp spellings help desks export into the one form
/// Ferry stores: ISO 8601 in UTC to the second, "2024-03-05T14:22:10Z".
/// Accepted: `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM|±HHMM)`, the same with a space
/// instead of `T` (no zone means UTC), and a bare date `YYYY-MM-DD` (midnight UTC).
public enum Timestamp {
    public static func normalize(_ text: String) -> String? {
        let b = Array(text.utf8)
        func digits(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var value = 0
            for i in from..<(from + count) {
                let c = b[i]
                guard c >= 0x30, c <= 0x39 else { return nil }
                value = value * 10 + Int(c - 0x30)
            }
            return value
        }
        guard let year = digits(0, 4), year >= 1, b.count >= 10, b[4] == 0x2d, let month = digits(5, 2), b[7] == 0x2d, let day = digits(8, 2) else { return nil }
        var hour = 0, minute = 0, second = 0, offsetSeconds = 0
        var i = 10
        if b.count > 10 {
            guard b[10] == 0x54 || b[10] == 0x20, let h = digits(11, 2), b.count > 13, b[13] == 0x3a, let m = digits(14, 2) else { return nil }
            hour = h; minute = m; i = 16
            if i < b.count, b[i] == 0x3a {
                guard let s = digits(i + 1, 2) else { return nil }
                second = s; i += 3
            }
            if i < b.count, b[i] == 0x2e || b[i] == 0x2c {
                i += 1
                while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
            }
            if i < b.count {
                if b[i] == 0x5a || b[i] == 0x7a { i += 1 }
                else if b[i] == 0x2b || b[i] == 0x2d {
                    let sign = b[i] == 0x2b ? 1 : -1
                    guard let oh = digits(i + 1, 2) else { return nil }
                    var j = i + 3
                    var om = 0
                    if j < b.count, b[j] == 0x3a { j += 1 }
                    if let parsed = digits(j, 2) { om = parsed; j += 2 }
                    guard oh <= 14, om < 60 else { return nil }
                    offsetSeconds = sign * (oh * 3600 + om * 60)
                    i = j
                } else { return nil }
            }
            guard i == b.count else { return nil }
        }
        guard (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900); parts.tm_mon = Int32(month - 1); parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour); parts.tm_min = Int32(minute); parts.tm_sec = Int32(second)
        var epoch = timegm(&parts) - offsetSeconds
        var out = tm()
        gmtime_r(&epoch, &out)
        guard (1...9999).contains(Int(out.tm_year) + 1900) else { return nil }
        return format(out)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func format(_ t: tm) -> String {
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(t.tm_year + 1900, 4))-\(pad(t.tm_mon + 1, 2))-\(pad(t.tm_mday, 2))T\(pad(t.tm_hour, 2)):\(pad(t.tm_min, 2)):\(pad(t.tm_sec, 2))Z"
    }
}
