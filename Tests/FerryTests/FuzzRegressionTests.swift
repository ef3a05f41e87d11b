import FerryCore
import Foundation
import Testing

/// Every input the fuzzers start from or ever crashed on, run through the same
/// harness the fuzz targets use (FuzzHarness/, linked into Sources/Fuzz/*), each
/// in its own process (an exit test), so a crash is a failed test, not a dead
/// test run. Inputs: the seed corpora (Tests/Fuzz/corpus/records, .../bundle) and
/// the crashes kept from `make fuzz` (Tests/Fuzz/regressions/<target>/).
/// See Tests/Fuzz/README.md.
///
/// An input that still crashes is listed in `knownCrashes` with what goes wrong
/// and where; it runs under `withKnownIssue`, so the suite stays green until the
/// bug is fixed, and then says so (the known issue is no longer recorded): take
/// the input off the list and keep the file as a regression test.
@Suite struct FuzzRegressionTests {
    /// An input file and the fuzz target whose harness runs it.
    struct Input: Sendable, CustomTestStringConvertible {
        /// "records" (FuzzRecordDecoder) or "bundle" (FuzzBundleReader).
        let harness: String
        /// Relative to Tests/Fuzz.
        let relativePath: String
        var testDescription: String { relativePath }
    }

    /// Inputs that crash today: relative path (under Tests/Fuzz) -> what goes wrong.
    static let knownCrashes: [String: String] = [:]

    static let fuzzFolder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz")

    static let folders: [(folder: String, harness: String)] = [
        ("corpus/records", "records"),
        ("regressions/FuzzRecordDecoder", "records"),
        ("corpus/bundle", "bundle"),
        ("regressions/FuzzBundleReader", "bundle"),
    ]

    static var inputs: [Input] {
        folders.flatMap { folder, harness in
            let names = (try? FileManager.default.contentsOfDirectory(atPath: fuzzFolder.appendingPathComponent(folder).path)) ?? []
            return names.filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted()
                .map { Input(harness: harness, relativePath: "\(folder)/\($0)") }
        }
    }

    /// Runs one input in a child process; the child must exit normally. When it
    /// does not, the end of its stderr (the crash message and backtrace) is printed.
    static func runsWithoutCrashing(_ input: Input) async {
        let path = fuzzFolder.appendingPathComponent(input.relativePath).path
        let harness = input.harness
        let result = await #expect(
            processExitsWith: .success, observing: [\.standardErrorContent],
            "\(input.relativePath) runs through the \(harness) harness without a crash"
        ) { [path = path as String, harness = harness as String] in
            guard let data = FileManager.default.contents(atPath: path) else { exit(3) }
            if harness == "bundle" { BundleReaderHarness.run(data) } else { RecordDecoderHarness.run(data) }
            exit(0)
        }
        if let result, result.exitStatus != .exitCode(0) {
            let lines = String(decoding: result.standardErrorContent, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            Reporter.writeStderr("== \(input.relativePath): \(result.exitStatus); the child's stderr ends:\n" + lines.suffix(60).joined(separator: "\n") + "\n")
        }
    }

    @Test func seedCorporaArePresent() {
        let inputs = Self.inputs
        #expect(inputs.contains { $0.relativePath.hasPrefix("corpus/records/") }, "no seed inputs in \(Self.fuzzFolder.path)/corpus/records")
        #expect(inputs.contains { $0.relativePath.hasPrefix("corpus/bundle/") }, "no seed inputs in \(Self.fuzzFolder.path)/corpus/bundle")
        for path in Self.knownCrashes.keys {
            #expect(inputs.contains { $0.relativePath == path }, "knownCrashes lists \(path), which is not in Tests/Fuzz")
        }
    }

    @Test(.timeLimit(.minutes(2)), arguments: inputs)
    func inputDoesNotCrash(_ input: Input) async {
        if let known = Self.knownCrashes[input.relativePath] {
            await withKnownIssue(Comment(rawValue: known)) {
                await Self.runsWithoutCrashing(input)
            }
        } else {
            await Self.runsWithoutCrashing(input)
        }
    }
}
