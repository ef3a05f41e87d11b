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

    /// Runs `bash bench/run.sh --no-write N` with its data and scratch folders inside `folder`.
    static func run(tickets: Int, in folder: URL) throws -> TestTools.Output {
        try TestTools.run("/usr/bin/env", ["bash", root.appendingPathComponent("bench/run.sh").path, "--no-write", String(tickets)],
                          in: folder, environment: [
                            "BIN": release.path,
                            "BENCH_DATA": folder.appendingPathComponent("data").path,
                            "BENCH_WORK": folder.appendingPathComponent("work").path,
                            "BENCH_RESULTS": folder.appendingPathComponent("results").path,
                            "BENCH_NO_PIP": "1",  // a test never reaches for the network
                          ], check: false)
    }
}
