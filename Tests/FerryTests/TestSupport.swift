import FerryCore
import Foundation
import Testing

/// A private folder under the system temporary directory, removed when the
/// value goes away. Tests keep it alive with `defer { _ = folder }` or by using it last.
final class TestFolder: @unchecked Sendable {
    let url: URL

    init(_ label: String = "ferry-tests") throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(label)-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    /// Names in the folder (hidden ones too), sorted.
    func listing(_ sub: String? = nil) -> [String] {
        let dir = sub.map { url.appendingPathComponent($0) } ?? url
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted()
    }

    func write(_ name: String, _ text: String) throws -> URL {
        let target = file(name)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: target)
        return target
    }
}

/// External tools the hostile-archive tests drive from the command line.
enum TestTools {
    static let bsdtar = "/usr/bin/bsdtar"
    static var hasBsdtar: Bool { FileManager.default.isExecutableFile(atPath: bsdtar) }

    static var python3: String? {
        for path in ["/usr/bin/python3", "/usr/local/bin/python3"] where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        return nil
    }
    static var hasPython3: Bool { python3 != nil }

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs a program to completion and returns its exit status and output.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:], check: Bool = true) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        // stderr goes to a file so neither stream can fill a pipe and block the tool.
        let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-tool-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errURL) }
        let errHandle = try FileHandle(forWritingTo: errURL)
        defer { try? errHandle.close() }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = errHandle
        try process.run()
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let stderrData = FileManager.default.contents(atPath: errURL.path) ?? Data()
        let result = Output(
            status: process.terminationStatus,
            stdout: String(decoding: stdoutData, as: UTF8.self),
            stderr: String(decoding: stderrData, as: UTF8.self))
        if check && result.status != 0 {
            throw TestFailure("\(executable) \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)")
        }
        return result
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension FerryError {
    var isBadBundle: Bool { if case .badBundle = self { return true } else { return false } }
    var isMissingInput: Bool { if case .missingInput = self { return true } else { return false } }
    var isLocked: Bool { if case .locked = self { return true } else { return false } }
    var isConfig: Bool { if case .config = self { return true } else { return false } }
}

/// Process memory figures from /proc/self/status, in bytes.
enum ProcessMemory {
    static func value(_ key: String) -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let kib = UInt64(fields[1]) else { return nil }
            return kib * 1024
        }
        return nil
    }

    static var peak: UInt64? { value("VmHWM") }
    static var resident: UInt64? { value("VmRSS") }

    /// Resets the peak to the current RSS (Linux 4.0+); false when not allowed.
    @discardableResult
    static func resetPeak() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        do { try handle.write(contentsOf: Data("5".utf8)) } catch { return false }
        return true
    }
}
