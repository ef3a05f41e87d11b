import Foundation
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

    public init(stage: String, format: Format = .text, quiet: Bool = false) {
        self.stage = stage
        self.format = format
        self.quiet = quiet
        isTerminal = isatty(STDERR_FILENO) != 0 && format == .text
        interval = isTerminal ? 0.2 : 5
    }

    public func info(_ message: String) {
        guard !quiet else { return }
        emit(level: "info", message)
    }

    public func warning(_ message: String) { emit(level: "warning", message) }

    public func error(_ message: String) { emit(level: "error", message) }

    /// Call often; prints at most every `interval` seconds. `total` enables a percentage and time left.
    public func progress(done: Int, total: Int?, unit: String) {
        guard !quiet else { return }
        let now = Date()
        guard now.timeIntervalSince(lastProgress) >= interval else { return }
        lastProgress = now
        let elapsed = max(now.timeIntervalSince(started), 0.001)
        let rate = Double(done) / elapsed
        var text = "\(done)"
        if let total, total > 0 {
            let fraction = min(1, Double(done) / Double(total))
            let left = rate > 0 ? Double(total - done) / rate : 0
            text += "/\(total) \(unit) (\(Int(fraction * 100))%), \(Int(rate))/s, about \(Int(left.rounded()))s left"
        } else {
            text += " \(unit), \(Int(rate))/s"
        }
        if isTerminal {
            Self.writeStderr("\r\u{1b}[2K\(stage): \(text)")
            progressShown = true
        } else {
            emit(level: "progress", text)
        }
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

    private func emit(level: String, _ message: String) {
        if progressShown {
            Self.writeStderr("\r\u{1b}[2K")
            progressShown = false
        }
        switch format {
        case .text:
            let prefix = level == "info" || level == "progress" ? "" : "\(level): "
            Self.writeStderr("ferry-\(stage): \(prefix)\(message)\n")
        case .json:
            let object: [String: String] = ["time": Clock.nowISO8601(), "stage": stage, "level": level, "message": message]
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            if let data = try? encoder.encode(object) {
                Self.writeStderr(String(decoding: data, as: UTF8.self) + "\n")
            }
        }
    }
}
