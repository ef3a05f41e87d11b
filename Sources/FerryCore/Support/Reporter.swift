import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// How a stage talks to the person or program that runs it. Messages go to
/// stderr so stdout stays clean for the final summary; `--quiet` keeps only
/// warnings and errors, `--log-format json` makes every line a JSON object for
/// log collectors. Progress is a self-updating line on a terminal and a plain
/// line every few seconds otherwise (cron, CI, make -j logs).
public final class Reporter: @unchecked Sendable {
    public enum Format: String, Sendable, CaseIterable { case text, json }

    public let stage: String
    public let format: Format
    public let quiet: Bool
    private let isTerminal: Bool
    private var lastProgress = Date()
    private let interval: TimeInterval
    private var progressShown = false
    private var started = Date()
    /// Messages go through swift-log with `StageLogHandler`, which writes Ferry's
    /// text or JSON lines; a program embedding the stages can read `logger`.
    public let logger: Logger

    public init(stage: String, format: Format = .text, quiet: Bool = false) {
        self.stage = stage
        self.format = format
        self.quiet = quiet
        isTerminal = isatty(STDERR_FILENO) != 0 && format == .text
        interval = isTerminal ? 0.2 : 5
        var logger = Logger(label: "ferry.\(stage)") { _ in StageLogHandler(stage: stage, format: format) }
        logger.logLevel = quiet ? .warning : .info
        self.logger = logger
    }

    public func info(_ message: String) {
        clearProgress()
        logger.info("\(message)")
    }

    public func warning(_ message: String) {
        clearProgress()
        logger.warning("\(message)")
    }

    public func error(_ message: String) {
        clearProgress()
        logger.error("\(message)")
    }

    private func clearProgress() {
        if progressShown {
            Self.writeStderr("\r\u{1b}[2K")
            progressShown = false
        }
    }

    /// Call often; prints at most every `interval` seconds. `total` enables a percentage and time left.
    public func progress(done: Int, total: Int?, unit: String) {
        guard !quiet else { return }
        let now = Date()
        guard now.timeIntervalSince(lastProgress) >= interval else { return }
        lastProgress = now
        let elapsed = max(now.timeIntervalSince(started), 0.001)
        let rate = Double(done) / elapsed
        var text = "\(done)"
        var bar = ""
        if let total, total > 0 {
            let fraction = min(1, Double(done) / Double(total))
            let left = rate > 0 ? Double(max(0, total - done)) / rate : 0
            text += "/\(total) \(unit) (\(Int(fraction * 100))%), \(Int(rate))/s, about \(Self.duration(left)) left"
            let filled = Int(fraction * 24)
            bar = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: 24 - filled) + "] "
        } else {
            text += " \(unit), \(Int(rate))/s"
        }
        if isTerminal {
            Self.writeStderr("\r\u{1b}[2K\(stage): \(bar)\(text)")
            progressShown = true
        } else {
            logger.info("\(text)", metadata: ["kind": "progress"])
        }
    }

    /// "42s", "3m05s", "1h02m": time left, as a person reads it.
    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m" + String(format: "%02ds", s % 60) }
        return "\(s / 3600)h" + String(format: "%02dm", (s % 3600) / 60)
    }

    /// Writes straight to file descriptor 2 (no shared C FILE, no buffering surprises).
    public static func writeStderr(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(STDERR_FILENO, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { return }
                offset += n
            }
        }
    }

}

/// Formats Ferry's log lines: `ferry-<stage>: message` (with `warning:` or
/// `error:` before the message where it is one) or, for `--log-format json`,
/// one JSON object per line with time, stage, level and message.
public struct StageLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let stage: String
    let format: Reporter.Format

    public init(stage: String, format: Reporter.Format) {
        self.stage = stage
        self.format = format
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let isProgress = event.metadata?["kind"] == "progress"
        switch format {
        case .text:
            let prefix: String
            switch event.level {
            case .warning: prefix = "warning: "
            case .error, .critical: prefix = "error: "
            default: prefix = ""
            }
            Reporter.writeStderr("ferry-\(stage): \(prefix)\(event.message)\n")
        case .json:
            let object: [String: String] = [
                "time": Clock.nowISO8601(), "stage": stage,
                "level": isProgress ? "progress" : event.level.rawValue, "message": "\(event.message)",
            ]
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            if let data = try? encoder.encode(object) {
                Reporter.writeStderr(String(decoding: data, as: UTF8.self) + "\n")
            }
        }
    }
}
