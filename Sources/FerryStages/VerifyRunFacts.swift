import FerryCore
import Foundation

/// Ferry's version, as reports state it.
public enum FerryVersion {
    public static let string = "0.1.0"
}

/// How the migration was run, for the report's last section: the
/// configuration (secrets redacted), when each stage finished, and how long
/// verify took. An auditor can tell from it which settings produced the data.
public struct RunFacts: Codable, Equatable, Sendable {
    /// The configuration file as read, or nil when it could not be read again
    /// (then `configuration` is the configuration as loaded, in JSON).
    public var configFile: String?
    public var configuration: String
    public var stages: [StageTiming]
    public var verifyStartedAt: String
    public var verifyFinishedAt: String
    public var verifySeconds: Double

    enum CodingKeys: String, CodingKey {
        case configFile = "config_file", configuration, stages, verifyStartedAt = "verify_started_at"
        case verifyFinishedAt = "verify_finished_at", verifySeconds = "verify_seconds"
    }

    /// Gathers the facts; `started` is when verify began.
    static func gather(context: PipelineContext, started: Date, finished: Date) -> RunFacts {
        let file = URL(fileURLWithPath: context.configName).standardizedFileURL
        let text = FileManager.default.contents(atPath: file.path).map { String(decoding: $0, as: UTF8.self) }
        let configuration = text ?? {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            return (try? String(decoding: encoder.encode(context.config), as: UTF8.self)) ?? ""
        }()

        var stages: [StageTiming] = []
        var previous: Date?
        for stage in StageName.allCases where stage != .verify {
            guard let checkpoint = try? context.stage(stage).loadCheckpoint() else { continue }
            let finishedAt = Self.date(checkpoint.updatedAt)
            var gap: Double?
            if let previous, let finishedAt { gap = finishedAt.timeIntervalSince(previous) }
            stages.append(StageTiming(stage: stage.rawValue, finishedAt: checkpoint.updatedAt, secondsAfterPrevious: gap))
            previous = finishedAt ?? previous
        }
        return RunFacts(
            configFile: text == nil ? nil : file.path,
            configuration: ConfigRedaction.redact(configuration),
            stages: stages,
            verifyStartedAt: Self.iso8601(started), verifyFinishedAt: Self.iso8601(finished),
            verifySeconds: (finished.timeIntervalSince(started) * 10).rounded() / 10)
    }

    static func iso8601(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}

/// When a stage's checkpoint was last written (its finish, for a complete stage).
public struct StageTiming: Codable, Equatable, Sendable {
    public var stage: String
    public var finishedAt: String
    /// Seconds since the stage before it finished: its run time when the
    /// stages ran back to back (make), more when they ran at different times.
    public var secondsAfterPrevious: Double?

    enum CodingKeys: String, CodingKey {
        case stage, finishedAt = "finished_at", secondsAfterPrevious = "seconds_after_previous"
    }
}

/// Hides secrets in configuration text before it goes into a report: the value
/// of every key that contains `token`, `password` or `secret`, or ends in
/// `_key` (any case), becomes `[redacted]`.
///
/// Works on the YAML text rather than on decoded values so the report shows
/// the file as the operator wrote it, comments included. It handles
/// `key: value` lines, flow mappings (`{api_token: abc, x: 1}`), and a secret
/// key whose value is a nested block or a block scalar (`|`, `>`): every more
/// indented line under it is redacted too. The JSON fallback
/// (`"password": "x"`) is matched the same way.
public enum ConfigRedaction {
    public static let placeholder = "[redacted]"

    public static func isSecret(_ key: String) -> Bool {
        let k = key.lowercased()
        return k.contains("token") || k.contains("password") || k.contains("secret") || k.hasSuffix("_key")
    }

    public static func redact(_ text: String) -> String {
        var out: [String] = []
        var redactBelow: Int?   // indentation of a secret key whose value is the block below it
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            let indent = line.prefix { $0 == " " || $0 == "-" }.count
            let blank = line.trimmingCharacters(in: .whitespaces).isEmpty
            if let base = redactBelow {
                if blank { out.append(line); continue }
                if indent > base {
                    out.append(String(repeating: " ", count: indent) + placeholder)
                    continue
                }
                redactBelow = nil
            }
            let (redacted, opensBlock) = redactLine(line)
            if opensBlock { redactBelow = indent }
            out.append(redacted)
        }
        return out.joined(separator: "\n")
    }

    /// `key: rest` at the start of a line (after indentation and an optional `- `).
    private static let blockPair = try! NSRegularExpression(pattern: #"^(\s*(?:-\s+)?)(["']?)([A-Za-z0-9_.\-]+)\2(\s*:)(.*)$"#)
    /// `key: value` inside a flow mapping; the value ends at `,` or `}` unless quoted.
    private static let flowPair = try! NSRegularExpression(pattern: #"(["']?)([A-Za-z0-9_.\-]+)\1(\s*:\s*)("(?:[^"\\]|\\.)*"|'[^']*'|[^,}\]]*)"#)

    /// Redacts secret values on one line; says whether a secret key's value is the block below.
    private static func redactLine(_ line: String) -> (String, Bool) {
        let ns = line as NSString
        guard let match = blockPair.firstMatch(in: line, range: NSRange(location: 0, length: ns.length)) else {
            return (redactFlow(line), false)
        }
        let head = ns.substring(to: match.range(at: 4).location + match.range(at: 4).length)
        let rest = ns.substring(with: match.range(at: 5))
        let value = rest.trimmingCharacters(in: .whitespaces)
        if isSecret(ns.substring(with: match.range(at: 3))) {
            if value.isEmpty || value.hasPrefix("#") { return (line, true) }
            return (head + " " + placeholder, value.hasPrefix("|") || value.hasPrefix(">"))
        }
        return (head + redactFlow(rest), false)
    }

    /// Redacts secret values of `key: value` pairs in a flow mapping (`{api_token: abc, x: 1}`).
    private static func redactFlow(_ text: String) -> String {
        guard text.contains("{") else { return text }
        let ns = text as NSString
        var result = ns
        for match in flowPair.matches(in: text, range: NSRange(location: 0, length: ns.length)).reversed()
        where isSecret(ns.substring(with: match.range(at: 2))) {
            result = result.replacingCharacters(in: match.range(at: 4), with: placeholder) as NSString
        }
        return result as String
    }
}
