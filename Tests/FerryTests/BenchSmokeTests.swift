import Foundation
import Testing

/// The benchmark (bench/run.sh, `make bench`) at 2k tickets, only to check that it runs and
/// that its table has a row for every stage, every physical limit and every peer. No timing is
/// asserted. It needs release binaries at least as new as Sources/ and pipeline.yml (it does not
/// build them: `swift build -c release`) and the tools the benchmark drives; without them it is skipped.
@Suite(.serialized, .enabled(if: BenchSmoke.canRun))
struct BenchSmokeTests {
    @Test func benchmarkTableHasEveryStageAndPeer() throws {
        let folder = try TestFolder("ferry-bench-smoke")
        defer { _ = folder }
        let result = try BenchSmoke.run(tickets: 2000, in: folder.url)
        #expect(result.status == 0, "bench/run.sh exited \(result.status):\n\(result.stderr)")
        let rows = result.stdout.split(separator: "\n").filter { $0.hasPrefix("| ") }.map(String.init)
        var expected = [
            "ferry-extract", "ferry-dedupe", "ferry-map", "ferry-load (SQLite)", "ferry-verify",
            "cat tickets.ndjson > /dev/null", "zstd -3 (extract tickets member)", "zstd -d (extract tickets member)",
            "zstd round trip (-3 then -d)", "bsdtar pack part 1 (zstd)", "bsdtar unpack part 1 (zstd)",
            "python json lines (extract peer)", "jq -c lower-case e-mails (dedupe peer)",
            "jq -c status lookup (map peer)", "python sqlite3 executemany (load peer)",
        ]
        if BenchSmoke.hasExecutable("sqlite-utils") { expected.append("sqlite-utils insert --nl (load peer)") }
        for name in expected {
            #expect(rows.contains { $0.hasPrefix("| \(name) |") }, "no row for \(name) in:\n\(result.stdout)")
        }
        // Every stage with a peer reports a ratio against it, and every stage one against zstd.
        for stage in ["ferry-extract", "ferry-dedupe", "ferry-map", "ferry-load (SQLite)"] {
            let row = rows.first { $0.hasPrefix("| \(stage) |") } ?? ""
            #expect(row.contains("x vs "), "no ratio against a peer in: \(row)")
        }
        // Nothing written outside the scratch folder the test gave it.
        #expect(!result.stderr.contains("wrote "))
    }
}

enum BenchSmoke {
    static var root: URL { PipelineRun.repositoryRoot }
    static var release: URL { root.appendingPathComponent(".build/release") }

    static var canRun: Bool {
        let binaries = PipelineRun.stages.allSatisfy {
            FileManager.default.isExecutableFile(atPath: release.appendingPathComponent("ferry-\($0)").path)
        }
        return binaries && releaseIsFresh && FileManager.default.isExecutableFile(atPath: "/usr/bin/time")
            && ["bash", "jq", "zstd", "bsdtar", "python3", "flock"].allSatisfy(hasExecutable)
    }

    /// A release build older than the sources or pipeline.yml would run yesterday's code on
    /// today's configuration (and fail on keys it does not know): the test waits for a rebuild.
    static var releaseIsFresh: Bool {
        func modified(_ url: URL) -> Date? {
            (try? url.resourceValues(forKeys: [.contentModificationDateKey]))?.contentModificationDate
        }
        let built = PipelineRun.stages.compactMap { modified(release.appendingPathComponent("ferry-\($0)")) }.min() ?? .distantPast
        var inputs = [root.appendingPathComponent("Package.swift"), root.appendingPathComponent("pipeline.yml")]
        if let files = FileManager.default.enumerator(at: root.appendingPathComponent("Sources"), includingPropertiesForKeys: [.contentModificationDateKey]) {
            for case let url as URL in files where url.pathExtension == "swift" { inputs.append(url) }
        }
        return inputs.allSatisfy { (modified($0) ?? .distantPast) <= built }
    }

    static func hasExecutable(_ name: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
    }

    struct Result { let status: Int32; let stdout: String; let stderr: String }

    /// Runs `bash bench/run.sh --no-write N` with its data and scratch folders inside `folder`.
    static func run(tickets: Int, in folder: URL) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["bash", root.appendingPathComponent("bench/run.sh").path, "--no-write", String(tickets)]
        var environment = ProcessInfo.processInfo.environment
        environment["BIN"] = release.path
        environment["BENCH_DATA"] = folder.appendingPathComponent("data").path
        environment["BENCH_WORK"] = folder.appendingPathComponent("work").path
        environment["BENCH_RESULTS"] = folder.appendingPathComponent("results").path
        environment["BENCH_NO_PIP"] = "1"  // a test never reaches for the network
        process.environment = environment
        process.currentDirectoryURL = folder
        let errors = folder.appendingPathComponent("stderr.txt")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        let errorHandle = try FileHandle(forWritingTo: errors)
        defer { try? errorHandle.close() }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = errorHandle
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let stderr = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
        return Result(status: process.terminationStatus, stdout: String(decoding: data, as: UTF8.self), stderr: stderr)
    }
}
