@testable import FerryCore
import Foundation
import Testing

/// The support layer: timestamps, line splitting, NDJSON files, crash-safe
/// files, hashing, CSV reports, configuration loading and exit codes.
@Suite struct SupportTests {

    // MARK: Timestamp

    @Test(arguments: [
        ("2024-03-05T14:22:10Z", "2024-03-05T14:22:10Z"),
        ("2024-03-05T14:22:10z", "2024-03-05T14:22:10Z"),
        ("2024-03-05T14:22:10.123Z", "2024-03-05T14:22:10Z"),
        ("2024-03-05T14:22:10,5Z", "2024-03-05T14:22:10Z"),
        ("2024-03-05T14:22:10.999999+00:00", "2024-03-05T14:22:10Z"),
        ("2024-03-05T14:22:10+02:00", "2024-03-05T12:22:10Z"),
        ("2024-03-05T14:22:10-0530", "2024-03-05T19:52:10Z"),
        ("2024-03-05T01:30:00+02:00", "2024-03-04T23:30:00Z"),        // back across midnight
        ("2024-03-01T01:00:00+02:00", "2024-02-29T23:00:00Z"),        // into a leap day
        ("2023-12-31T20:00:00-05:30", "2024-01-01T01:30:00Z"),        // forward across a year
        ("2024-03-05 14:22:10", "2024-03-05T14:22:10Z"),              // space, no zone: UTC
        ("2024-03-05 14:22:10+01:00", "2024-03-05T13:22:10Z"),
        ("2024-03-05T14:22", "2024-03-05T14:22:00Z"),
        ("2024-03-05", "2024-03-05T00:00:00Z"),
        ("2024-02-29", "2024-02-29T00:00:00Z"),
    ])
    func timestampNormalizes(input: String, expected: String) {
        #expect(Timestamp.normalize(input) == expected, "\(input)")
    }

    @Test(arguments: [
        "", "garbage", "yesterday", "2024", "2024-03", "24-03-05", "2024/03/05", "2024-3-5",
        "2024-13-01", "2024-00-10", "2024-02-30", "2023-02-29", "2024-04-31", "2024-03-00", "2024-03-32",
        "2024-03-05T25:00:00Z", "2024-03-05T14:60:00Z", "2024-03-05T14:22:10Q", "2024-03-05T14:22:10+2",
        "2024-03-05X14:22:10Z", "2024-03-05T14:22:10Z trailing", "2024-03-05T", "2024-03-05T1:2:3",
    ])
    func timestampRefuses(input: String) {
        #expect(Timestamp.normalize(input) == nil, "\(input) should be refused")
    }

    @Test(arguments: [
        "2024-02-30T10:00:00+02:00",
        "2023-02-29T12:00:00-05:00",
        "2024-04-31T08:00:00+0100",
    ])
    func timestampRefusesImpossibleDatesWithAnOffset(input: String) {
        // An impossible calendar date must be refused whatever zone it is written in.
        #expect(Timestamp.normalize(input) == nil, "\(input) should be refused, got \(Timestamp.normalize(input) ?? "nil")")
    }

    // MARK: LineSplitter

    typealias Line = (text: String, number: Int, after: UInt64)

    static func split(_ text: String, chunk: Int, firstLineNumber: Int = 1, startOffset: UInt64 = 0) throws -> [Line] {
        let bytes = Array(text.utf8)
        var splitter = LineSplitter(firstLineNumber: firstLineNumber, startOffset: startOffset)
        var out: [Line] = []
        let body: (UnsafeRawBufferPointer, Int, UInt64) throws -> Void = { line, number, after in
            out.append((String(decoding: line, as: UTF8.self), number, after))
        }
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + chunk)
            try bytes[offset..<end].withUnsafeBytes { try splitter.feed($0, body) }
            offset = end
        }
        try splitter.finish(body)
        return out
    }

    @Test func splitterHandlesLFCRLFAndAFinalLineWithoutNewline() throws {
        let text = "first\r\nsecond\n\nfourth\r\nlast"
        let expected: [Line] = [("first", 1, 7), ("second", 2, 14), ("", 3, 15), ("fourth", 4, 23), ("last", 5, 27)]
        for chunk in [1, 2, 3, 5, 7, 64, 1 << 16] {
            let lines = try Self.split(text, chunk: chunk)
            #expect(lines.map { $0.text } == expected.map { $0.text }, "chunk \(chunk)")
            #expect(lines.map { $0.number } == expected.map { $0.number }, "chunk \(chunk)")
            #expect(lines.map { $0.after } == expected.map { $0.after }, "chunk \(chunk)")
        }
    }

    @Test func splitterKeepsMultibyteCharactersSplitAcrossChunks() throws {
        let text = "Zoë 👩🏽‍💻 ünïcødé\r\nשלום\n"
        let lines = try Self.split(text, chunk: 1)
        #expect(lines.map { $0.text } == ["Zoë 👩🏽‍💻 ünïcødé", "שלום"])
        #expect(lines.last?.after == UInt64(text.utf8.count))
    }

    @Test func splitterWithoutTrailingNewlineAndEmptyInput() throws {
        #expect(try Self.split("", chunk: 4).isEmpty)
        #expect(try Self.split("\n", chunk: 4).map { $0.text } == [""])
        let one = try Self.split("only", chunk: 3)
        #expect(one.map { $0.text } == ["only"])
        #expect(one.map { $0.after } == [4])
        // A CR that ends the stream without LF is still a line ending's half, not content.
        #expect(try Self.split("a\r", chunk: 1).map { $0.text } == ["a"])
    }

    @Test func splitterResumesFromAnOffset() throws {
        let text = "one\ntwo\r\nthree\nfour"
        let all = try Self.split(text, chunk: 3)
        let offsetAfterTwo = all[1].after
        #expect(offsetAfterTwo == 9)
        let rest = String(decoding: Array(text.utf8)[Int(offsetAfterTwo)...], as: UTF8.self)
        let resumed = try Self.split(rest, chunk: 2, firstLineNumber: 3, startOffset: offsetAfterTwo)
        #expect(resumed.map { $0.text } == ["three", "four"])
        #expect(resumed.map { $0.number } == [3, 4])
        #expect(resumed.map { $0.after } == Array(all[2...].map { $0.after }))
    }

    @Test func splitterHandlesLinesLongerThanAChunk() throws {
        let long = String(repeating: "x", count: 200_000)
        let lines = try Self.split("a\n\(long)\nb", chunk: 1 << 16)
        #expect(lines.map { $0.text.count } == [1, 200_000, 1])
        #expect(lines[1].text == long)
    }

    // MARK: NDJSONFile

    @Test func ndjsonFileSkipsBlankLinesAndKeepsLineNumbers() throws {
        let folder = try TestFolder("ferry-ndjson")
        let url = try folder.write("x.ndjson", "{\"a\":1}\r\n\n   \n\t\r\n{\"b\":2}\n{\"c\":3}")
        var got: [(String, Int, UInt64)] = []
        try NDJSONFile.forEachLine(url) { line, number, after in got.append((String(decoding: line, as: UTF8.self), number, after)) }
        #expect(got.map { $0.0 } == ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"])
        #expect(got.map { $0.1 } == [1, 5, 6], "blank lines are skipped but still counted")
        #expect(got.map { $0.2 } == [9, 25, 32])
    }

    @Test func ndjsonFileResumesFromAByteOffset() throws {
        let folder = try TestFolder("ferry-ndjson")
        var text = ""
        for i in 1...50_000 { text += "{\"id\":\(i),\"pad\":\"\(String(repeating: "p", count: i % 17))\"}\n" }
        let url = try folder.write("big.ndjson", text)
        var all: [(Int, UInt64, Data)] = []
        try NDJSONFile.forEachLine(url) { line, number, after in all.append((number, after, line)) }
        #expect(all.count == 50_000)
        #expect(all.last?.1 == UInt64(text.utf8.count))

        let stop = 31_337 // resume after this line, which lies beyond the first 64 KiB chunk
        let (_, offset, _) = all[stop - 1]
        var resumed: [(Int, UInt64, Data)] = []
        try NDJSONFile.forEachLine(url, fromOffset: offset, firstLineNumber: stop + 1) { line, number, after in
            resumed.append((number, after, line))
        }
        #expect(resumed.count == 50_000 - stop)
        #expect(resumed.first?.0 == stop + 1)
        #expect(resumed.first?.2 == Data("{\"id\":\(stop + 1),\"pad\":\"\(String(repeating: "p", count: (stop + 1) % 17))\"}".utf8))
        #expect(resumed.map { $0.0 } == all[stop...].map { $0.0 })
        #expect(resumed.map { $0.1 } == all[stop...].map { $0.1 })
        #expect(resumed.map { $0.2 } == all[stop...].map { $0.2 })
    }

    @Test func ndjsonFileMissingIsAnIOError() throws {
        let folder = try TestFolder("ferry-ndjson")
        let error = #expect(throws: FerryError.self) { try NDJSONFile.forEachLine(folder.file("absent.ndjson")) { _, _, _ in } }
        guard case .io(let path, _)? = error else {
            Issue.record("expected io, got \(String(describing: error))")
            return
        }
        #expect(path.hasSuffix("absent.ndjson"))
    }

    // MARK: DurableFile, HashingFileWriter, FileChunks, Hash

    @Test func durableWriteReplacesWholeFilesAndLeavesNoTemporary() throws {
        let folder = try TestFolder("ferry-durable")
        let url = folder.file("state.json")
        try DurableFile.write(Data("first".utf8), to: url)
        #expect(try Data(contentsOf: url) == Data("first".utf8))
        try DurableFile.write(Data("second, longer".utf8), to: url)
        #expect(try Data(contentsOf: url) == Data("second, longer".utf8))
        try DurableFile.write(Data("3".utf8), to: url)
        #expect(try Data(contentsOf: url) == Data("3".utf8), "a shorter file does not keep the old tail")
        #expect(folder.listing() == ["state.json"])
        let temp = DurableFile.temporarySibling(of: url)
        #expect(temp.deletingLastPathComponent() == url.deletingLastPathComponent())
        #expect(temp.lastPathComponent.hasPrefix(".state.json.tmp-"))

        // Into a folder that does not exist: an io error naming the path, nothing left behind.
        let error = #expect(throws: FerryError.self) { try DurableFile.write(Data("x".utf8), to: folder.file("nope/state.json")) }
        #expect(error?.exitStatus == .ioError)
    }

    @Test func hashingWriterMatchesTheFileItWrites() throws {
        let folder = try TestFolder("ferry-hashing")
        let url = folder.file("member.ndjson")
        let writer = try HashingFileWriter(url: url)
        var expected = Data()
        for i in 0..<10_000 {
            let line = Data("{\"n\":\(i)}".utf8)
            try writer.appendLine(line)
            expected.append(line); expected.append(0x0a)
        }
        // Raw appends, small and larger than the buffer, between lines.
        let big = Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0) })
        try big.withUnsafeBytes { try writer.append($0) }
        expected.append(big)
        try Data("tail".utf8).withUnsafeBytes { try writer.append($0) }
        expected.append(Data("tail".utf8))
        #expect(writer.lines == 10_000)
        let (sha, bytes) = try writer.finish()
        #expect(bytes == UInt64(expected.count))
        #expect(sha == Hash.sha256(expected))
        #expect(try Data(contentsOf: url) == expected)
        let streamed = try Hash.sha256(fileAt: url)
        #expect(streamed.sha256 == sha)
        #expect(streamed.size == bytes)
    }

    @Test func fileChunksReadsEveryByteInBoundedChunks() throws {
        let folder = try TestFolder("ferry-chunks")
        let url = folder.file("blob.bin")
        let data = Data((0..<(3 * FileChunks.chunkSize + 123)).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        try data.write(to: url)
        var back = Data()
        var largest = 0
        try FileChunks.read(url) { chunk in
            back.append(contentsOf: chunk)
            largest = max(largest, chunk.count)
        }
        #expect(back == data)
        #expect(largest <= FileChunks.chunkSize)
        #expect(throws: FerryError.self) { try FileChunks.read(folder.file("absent")) { _ in } }
    }

    @Test func hashesAreKnownValues() {
        #expect(Hash.sha256("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Hash.sha256("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var stream = SHA256Stream()
        stream.update(Data("a".utf8))
        stream.update(Data("bc".utf8))
        #expect(stream.hexDigest() == Hash.sha256("abc"))
        #expect(stream.byteCount == 3)
    }

    // MARK: CSVFile

    @Test func csvQuotesOnlyWhatNeedsIt() {
        #expect(CSVFile.line(["plain", "with space", ""]) == "plain,with space,")
        #expect(CSVFile.line(["a,b"]) == "\"a,b\"")
        #expect(CSVFile.line(["say \"hi\""]) == "\"say \"\"hi\"\"\"")
        #expect(CSVFile.line(["two\nlines", "cr\rhere", "crlf\r\nx"]) == "\"two\nlines\",\"cr\rhere\",\"crlf\r\nx\"")
    }

    static let csvRows: [[String]] = [
        ["t-1", "plain", "42", ""],
        ["t-2", "comma, inside", "quote \"inside\"", "both, \"of\" them"],
        ["t-3", "new\nline", "carriage\rreturn", "crlf\r\nend"],
        ["t-4", "ünïcødé 👩🏽‍💻", " leading and trailing ", "'single'"],
        ["t-5", "\"", ",", "\n"],
    ]

    @Test func csvIsWrittenCrashSafely() throws {
        let folder = try TestFolder("ferry-csv")
        let url = folder.file("records.csv")
        let csv = try CSVFile(url: url, header: ["id", "a", "b", "c"])
        for row in Self.csvRows { try csv.append(row) }
        #expect(csv.rows == Self.csvRows.count)
        #expect(!FileManager.default.fileExists(atPath: url.path), "the report appears only at finish")
        try csv.finish()
        #expect(folder.listing() == ["records.csv"])
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.hasPrefix("id,a,b,c\n"))
        #expect(text.hasSuffix("\n"))
    }

    @Test(.enabled(if: TestTools.hasPython3, "needs python3"))
    func csvReadsBackThroughPythonsCSVModule() throws {
        let folder = try TestFolder("ferry-csv")
        let url = folder.file("records.csv")
        let csv = try CSVFile(url: url, header: ["id", "a", "b", "c"])
        for row in Self.csvRows { try csv.append(row) }
        try csv.finish()
        let script = """
        import csv, json, sys
        with open(sys.argv[1], newline='', encoding='utf-8') as f:
            rows = list(csv.reader(f, strict=True))
        sys.stdout.write(json.dumps(rows))
        """
        let output = try TestTools.run(TestTools.python3!, ["-c", script, url.path]).stdout
        let rows = try JSONDecoder().decode([[String]].self, from: Data(output.utf8))
        #expect(rows.first == ["id", "a", "b", "c"])
        #expect(Array(rows.dropFirst()) == Self.csvRows)
    }

    // MARK: PipelineConfig

    static let repoRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func repositoryPipelineLoads() throws {
        let config = try PipelineConfig.load(from: Self.repoRoot.appendingPathComponent("pipeline.yml"))
        #expect(config.version == 1)
        #expect(config.stagesDir == "stages")
        #expect(config.bundle == BundleSettings(partRecords: 50_000, zstdLevel: 3))
        #expect(config.source.type == "zendesk-export")
        #expect(config.source.system == "zendesk")
        #expect(config.map.statuses["hold"] == "on_hold")
        #expect(config.map.statuses.count == 6)
        #expect(config.map.groups["Tier 1 Support"] == "Support")
        #expect(config.map.agents.defaultAgent == "olivia.bennett@support.acme.example")
        #expect(config.map.agents.reassignInactive)
        #expect(config.map.customFields.fields["Order number"] == .some(FieldTarget(key: "order_number")))
        #expect(config.map.customFields.unlisted == .keep)
        #expect(config.map.missingUsers == .placeholder)
        #expect(config.target.type == "sqlite")
        #expect(config.target.path == nil)
    }

    @Test func minimalConfigTakesDefaults() throws {
        let folder = try TestFolder("ferry-config")
        let url = try folder.write("pipeline.yml", "version: 1\n")
        let config = try PipelineConfig.load(from: url)
        #expect(config == PipelineConfig())
        let nulled = try folder.write("nulled.yml", "version: 1\nmap:\n  custom_fields:\n    unlisted: drop\n    fields:\n      Internal notes: ~\n")
        let loaded = try PipelineConfig.load(from: nulled)
        #expect(loaded.map.customFields.unlisted == .drop)
        #expect(loaded.map.customFields.fields["Internal notes"] == .some(nil), "~ drops the field")
    }

    static func configError(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> (file: String, detail: String, path: String) {
        let folder = try TestFolder("ferry-config")
        let url = try folder.write("pipeline.yml", yaml)
        let error = #expect(throws: FerryError.self, sourceLocation: sourceLocation) { try PipelineConfig.load(from: url) }
        guard case .config(let file, let detail, _)? = error else {
            Issue.record("expected a config error, got \(String(describing: error))", sourceLocation: sourceLocation)
            return ("", "", url.path)
        }
        #expect(error?.exitStatus == .usage, sourceLocation: sourceLocation)
        return (file, detail, url.path)
    }

    @Test func zeroPartRecordsIsRefusedByKey() throws {
        let e = try Self.configError("version: 1\nbundle: {part_records: 0}\n")
        #expect(e.file == e.path)
        #expect(e.detail.contains("bundle.part_records"), "\(e.detail)")
    }

    @Test func wrongTypeIsRefusedByKeyPath() throws {
        let e = try Self.configError("version: 1\nmap: {statuses: [a, b]}\n")
        #expect(e.file == e.path)
        #expect(e.detail.hasPrefix("map.statuses"), "\(e.detail)")
        let nested = try Self.configError("map:\n  agents:\n    reassign_inactive: sometimes\n")
        #expect(nested.detail.hasPrefix("map.agents.reassign_inactive"), "\(nested.detail)")
        let level = try Self.configError("bundle:\n  zstd_level: 42\n")
        #expect(level.detail.contains("bundle.zstd_level"), "\(level.detail)")
        let version = try Self.configError("version: 2\n")
        #expect(version.detail.contains("version"), "\(version.detail)")
        let policy = try Self.configError("map:\n  missing_users: invent\n")
        #expect(policy.detail.hasPrefix("map.missing_users"), "\(policy.detail)")
    }

    @Test func brokenYAMLIsAConfigError() throws {
        let e = try Self.configError("map:\n  statuses:\n    open: [unclosed\n")
        #expect(!e.detail.isEmpty)
    }

    @Test func missingConfigFileIsAConfigError() throws {
        let folder = try TestFolder("ferry-config")
        let url = folder.file("absent.yml")
        let error = #expect(throws: FerryError.self) { try PipelineConfig.load(from: url) }
        guard case .config(let file, _, let hint)? = error else {
            Issue.record("expected a config error, got \(String(describing: error))")
            return
        }
        #expect(file == url.path)
        #expect(hint.contains("--config"))
    }

    // MARK: Exit codes and errors

    @Test func exitStatusesKeepTheirDocumentedValues() {
        #expect(FerryCore.ExitStatus.ok.rawValue == 0)
        #expect(FerryCore.ExitStatus.differences.rawValue == 1)
        #expect(FerryCore.ExitStatus.usage.rawValue == 2)
        #expect(FerryCore.ExitStatus.finishedWithRejects.rawValue == 3)
        #expect(FerryCore.ExitStatus.dataError.rawValue == 65)
        #expect(FerryCore.ExitStatus.noInput.rawValue == 66)
        #expect(FerryCore.ExitStatus.software.rawValue == 70)
        #expect(FerryCore.ExitStatus.cannotCreate.rawValue == 73)
        #expect(FerryCore.ExitStatus.ioError.rawValue == 74)
        #expect(FerryCore.ExitStatus.tryAgainLater.rawValue == 75)
        #expect(FerryCore.ExitStatus.allCases.map(\.rawValue) == [0, 1, 2, 3, 65, 66, 70, 73, 74, 75])
    }

    @Test func errorsMapToExitStatusesAndSayWhatToDo() {
        let cases: [(FerryError, FerryCore.ExitStatus)] = [
            (.usage("bad flag"), .usage),
            (.config(file: "p.yml", detail: "d", hint: "h"), .usage),
            (.unmappedValues(report: "r"), .usage),
            (.missingInput(path: "/x", hint: "run extract"), .noInput),
            (.badBundle(path: "/b", detail: "d"), .dataError),
            (.badInput(file: "f", line: 3, detail: "d"), .dataError),
            (.io(path: "/p", detail: "disk full"), .ioError),
            (.locked(path: "/l", holder: "pid 1"), .tryAgainLater),
            (.internalError("oops"), .software),
        ]
        for (error, status) in cases {
            #expect(error.exitStatus == status, "\(error)")
            #expect(!error.description.isEmpty)
        }
        #expect(FerryError.badInput(file: "tickets.json", line: 57, detail: "bad").description == "tickets.json:57: bad")
        #expect(FerryError.badInput(file: "tickets.json", line: nil, detail: "bad").description == "tickets.json: bad")
        #expect(FerryError.missingInput(path: "/x", hint: "run extract").description.contains("what to do: run extract"))
        #expect(FerryError.posix("/nope", "open", errno: ENOENT).description.contains("No such file or directory"))
    }

    @Test func textTableAlignsColumns() {
        let table = TextTable.render([["entity", "read", ""], ["users", "7", "ok"], ["ticket_fields", "1234", ""]])
        #expect(table == """
        entity         read
        users             7  ok
        ticket_fields  1234
        """)
    }
}

/// The API targets' attachment spool: streamed, checked, published only when right.
struct BlobSpoolTests {
    @Test func storesCheckedBytesAndRefusesWrongOnesLeavingNothing() throws {
        let folder = try TestFolder()
        let spool = BlobSpool(directory: folder.file("spool"))
        let bytes = Data((0..<200_000).map { UInt8($0 % 251) })
        let sha = Hash.sha256(bytes)
        func feed(_ data: Data) -> ((UnsafeRawBufferPointer) throws -> Void) throws -> Void {
            { sink in
                for start in stride(from: 0, to: data.count, by: 65_536) {
                    try data[start..<min(start + 65_536, data.count)].withUnsafeBytes { try sink($0) }
                }
            }
        }
        #expect(throws: FerryError.self) { try spool.store(sha256: sha, size: UInt64(bytes.count), feed(bytes.dropLast())) }
        #expect(folder.listing("spool").isEmpty)
        try spool.store(sha256: sha, size: UInt64(bytes.count), feed(bytes))
        #expect(try Data(contentsOf: spool.url(sha)) == bytes)
        #expect(folder.listing("spool") == [sha])
    }
}
