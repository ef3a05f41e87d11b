@testable import FerryCore
import Foundation
import Testing

/// The bundle format: what BundleWriter packs, BundleReader gives back exactly,
/// and anything altered, truncated or hostile is refused with a clear error.
@Suite struct BundleTests {

    // MARK: Fixtures

    /// One record of every kind plus rejects, merges, skips and changes, written
    /// in a deliberately scrambled order so member order is the writer's doing.
    struct Sample {
        /// 600 KB that zstd cannot shrink, so the blob is most of the packed part
        /// and half the part holds several whole zstd blocks (128 KiB each).
        static let blobBytes: Data = {
            var state: UInt64 = 0x5EED
            return Data((0..<600_000).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return UInt8(truncatingIfNeeded: state >> 56)
            })
        }()
        static var blobSHA: String { Hash.sha256(blobBytes) }

        let organization = Organization(id: "org-1", sourceSystem: "zendesk", name: "Acme / Europe", domainNames: ["acme.example"], tags: ["vip"], createdAt: "2024-01-02T03:04:05Z")
        let users = [
            User(id: "u-1", sourceSystem: "zendesk", name: "Dana Cohen", email: "dana@acme.example", role: .agent, organizationID: "org-1"),
            User(id: "u-2", sourceSystem: "zendesk", name: "Zoë 👩🏽‍💻", email: nil, phone: "+14155550100"),
        ]
        let group = Group(id: "g-1", sourceSystem: "zendesk", name: "Tier 1")
        let field = TicketField(id: "f-1", sourceSystem: "zendesk", title: "Order number", type: .text)
        let tickets = [
            Ticket(id: "t-1", sourceSystem: "zendesk", subject: "Printer on fire", status: "open", requesterID: "u-2", assigneeID: "u-1",
                   customFields: [CustomFieldValue(fieldID: "f-1", value: .string("A-17"))]),
            Ticket(id: "t-2", sourceSystem: "zendesk", subject: "Line\nbreaks \"quoted\" \\ and \u{2028}", status: "pending"),
            Ticket(id: "t-3", sourceSystem: "zendesk", subject: "Third", status: "solved", tags: ["a", "b"]),
        ]
        let comment = FerryCore.Comment(id: "c-1", sourceSystem: "zendesk", ticketID: "t-1", authorID: "u-2", bodyHTML: "<p>help</p>", bodyPlain: "help")
        let category = KBCategory(id: "cat-1", sourceSystem: "zendesk", name: "FAQ")
        let section = KBSection(id: "sec-1", sourceSystem: "zendesk", categoryID: "cat-1", name: "Billing")
        let article = KBArticle(id: "a-1", sourceSystem: "zendesk", sectionID: "sec-1", title: "Refunds", bodyHTML: "<p>30 days</p>", locale: "en-us")
        var attachment: FerryCore.Attachment {
            FerryCore.Attachment(id: "att-1", sourceSystem: "zendesk", parentType: .comment, parentID: "c-1", fileName: "photo.jpg",
                       contentType: "image/jpeg", size: UInt64(Self.blobBytes.count), sha256: Self.blobSHA)
        }
        let reject = Reject(stage: "extract", file: "tickets.json", line: 57, entity: .tickets, recordID: "t-9", field: "id", reason: "wrong type")
        let merge = Merge(entity: .users, mergedID: "u-3", survivorID: "u-1", reason: "same e-mail")
        let skip = Skip(entity: .tickets, recordID: "t-8", reason: "filtered")
        let change = FieldChange(entity: .users, recordID: "u-1", field: "email", before: .string(" Dana@Acme.example"), after: .string("dana@acme.example"), reason: "cleaned")

        /// Writes everything and returns the lines each member should hold, in write order.
        @discardableResult
        func write(to writer: BundleWriter) throws -> [String: [Data]] {
            let json = CanonicalJSON()
            var expected: [String: [Data]] = [:]
            func record<R: CanonicalRecord>(_ r: R) throws {
                try writer.write(r)
                expected[R.entity.memberName, default: []].append(try json.encode(r))
            }
            // Children before parents, outcomes interleaved: the writer must sort.
            try writer.change(change); expected[FieldChange.memberName, default: []].append(try json.encode(change))
            try record(attachment)
            try record(tickets[0])
            try writer.skip(skip); expected[Skip.memberName, default: []].append(try json.encode(skip))
            try record(comment)
            try record(users[0])
            try writer.merge(merge); expected[Merge.memberName, default: []].append(try json.encode(merge))
            try record(tickets[1])
            try record(article)
            try record(section)
            try record(category)
            try writer.reject(reject); expected[Reject.memberName, default: []].append(try json.encode(reject))
            try record(field)
            try record(group)
            try record(users[1])
            try record(organization)
            try record(tickets[2])
            let blob = Self.blobBytes
            let added = try blob.withUnsafeBytes { raw in
                try writer.addBlob { sink in
                    // Uneven chunks, so chunk boundaries are not a multiple of anything.
                    var offset = 0
                    var step = 1
                    while offset < raw.count {
                        let end = min(raw.count, offset + step)
                        try sink(UnsafeRawBufferPointer(rebasing: raw[offset..<end]))
                        offset = end
                        step = step * 3 + 1
                    }
                }
            }
            #expect(added.sha256 == Self.blobSHA)
            #expect(added.size == UInt64(blob.count))
            return expected
        }
    }

    static let expectedMemberOrder = [
        "organizations.ndjson", "users.ndjson", "groups.ndjson", "ticket_fields.ndjson", "tickets.ndjson",
        "comments.ndjson", "kb_categories.ndjson", "kb_sections.ndjson", "kb_articles.ndjson", "attachments.ndjson",
        "rejects.ndjson", "merges.ndjson", "skips.ndjson", "changes.ndjson",
    ]

    /// Writes the sample bundle into `folder` and returns its URL, manifest and expected lines.
    static func writeSample(in folder: TestFolder, name: String = "part-00001.tar.zst", cursor: [String: String]? = nil) throws -> (url: URL, manifest: Manifest, expected: [String: [Data]]) {
        let url = folder.file(name)
        let writer = try BundleWriter(destination: url, stage: "extract", sourceSystem: "zendesk", part: 1)
        let expected = try Sample().write(to: writer)
        let manifest = try writer.finish(cursor: cursor)
        return (url, manifest, expected)
    }

    struct ReadBack {
        var lines: [(member: String, line: Data, number: Int)] = []
        var blobs: [String: Data] = [:]
        var blobSizes: [String: UInt64] = [:]
    }

    static func readAll(_ url: URL) throws -> ReadBack {
        let reader = try BundleReader(url: url)
        var result = ReadBack()
        try reader.read(line: { member, line, number in
            result.lines.append((member, line, number))
        }, blob: { blob in
            var bytes = Data()
            try blob.read { bytes.append(contentsOf: $0) }
            result.blobs[blob.sha256] = bytes
            result.blobSizes[blob.sha256] = blob.size
        })
        return result
    }

    /// Reads a bundle to the end, ignoring what it holds; throws what the reader throws.
    static func drain(_ url: URL) throws {
        let reader = try BundleReader(url: url)
        try reader.read(line: { _, _, _ in })
    }

    // MARK: Round trip

    @Test func roundTripGivesBackEveryLineInMemberOrder() throws {
        let folder = try TestFolder("ferry-bundle")
        let (url, manifest, expected) = try Self.writeSample(in: folder, cursor: ["tickets": "2024-05-01T00:00:00Z"])

        // The manifest describes exactly what was written.
        #expect(manifest.format == Manifest.formatName)
        #expect(manifest.formatVersion == Manifest.currentVersion)
        #expect(manifest.stage == "extract")
        #expect(manifest.sourceSystem == "zendesk")
        #expect(manifest.part == 1)
        #expect(manifest.cursor == ["tickets": "2024-05-01T00:00:00Z"])
        #expect(manifest.members.map(\.name) == Self.expectedMemberOrder)
        for info in manifest.members {
            let lines = try #require(expected[info.name], "unexpected member \(info.name)")
            var bytes = Data()
            for line in lines { bytes.append(line); bytes.append(0x0a) }
            #expect(info.records == lines.count, "\(info.name) records")
            #expect(info.bytes == UInt64(bytes.count), "\(info.name) bytes")
            #expect(info.sha256 == Hash.sha256(bytes), "\(info.name) sha256")
        }
        #expect(manifest.records(of: .tickets) == 3)
        #expect(manifest.records(of: .users) == 2)
        #expect(manifest.blobs == BlobSummary(count: 1, bytes: UInt64(Sample.blobBytes.count)))

        // The reader sees the same manifest and gives back every line, byte for byte, in order.
        let reader = try BundleReader(url: url)
        #expect(reader.manifest == manifest)
        let back = try Self.readAll(url)
        var seenMembers: [String] = []
        for entry in back.lines where seenMembers.last != entry.member { seenMembers.append(entry.member) }
        #expect(seenMembers == Self.expectedMemberOrder, "each member streams once, in dependency order")
        for member in Self.expectedMemberOrder {
            let got = back.lines.filter { $0.member == member }
            #expect(got.map { $0.line } == expected[member], "\(member) lines")
            #expect(got.map { $0.number } == Array(stride(from: 1, through: got.count, by: 1)), "\(member) line numbers")
        }
        #expect(back.lines.count == expected.values.map(\.count).reduce(0, +))

        // The blob comes back identical, under its SHA-256.
        #expect(back.blobs.keys.sorted() == [Sample.blobSHA])
        #expect(back.blobs[Sample.blobSHA] == Sample.blobBytes)
        #expect(back.blobSizes[Sample.blobSHA] == UInt64(Sample.blobBytes.count))

        // Lines decode to the records that went in.
        let json = CanonicalJSON()
        let tickets = try back.lines.filter { $0.member == "tickets.ndjson" }.map { try json.decode(Ticket.self, from: $0.line) }
        #expect(tickets == Sample().tickets)
    }

    @Test(.enabled(if: TestTools.hasBsdtar, "needs /usr/bin/bsdtar"))
    func stockTarListsManifestFirst() throws {
        let folder = try TestFolder("ferry-bundle")
        let (url, _, _) = try Self.writeSample(in: folder)
        let listing = try TestTools.run(TestTools.bsdtar, ["-tf", url.path]).stdout
            .split(separator: "\n").map(String.init)
        #expect(listing.first == Manifest.memberName)
        #expect(listing == [Manifest.memberName] + Self.expectedMemberOrder + ["blobs/" + Sample.blobSHA])

        // And stock tools extract the same bytes the reader checks.
        let out = folder.file("x")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try TestTools.run(TestTools.bsdtar, ["-xf", url.path, "-C", out.path])
        let blob = try Data(contentsOf: out.appendingPathComponent("blobs/" + Sample.blobSHA))
        #expect(blob == Sample.blobBytes)
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: out.appendingPathComponent(Manifest.memberName)))
        let tickets = try Data(contentsOf: out.appendingPathComponent("tickets.ndjson"))
        #expect(Hash.sha256(tickets) == manifest.member(named: "tickets.ndjson")?.sha256)
    }

    @Test func blobsTheConsumerIgnoresAreStillChecked() throws {
        let folder = try TestFolder("ferry-bundle")
        let (url, _, _) = try Self.writeSample(in: folder)
        var offered: [String] = []
        try BundleReader(url: url).read(line: { _, _, _ in }, blob: { blob in offered.append(blob.sha256) })
        #expect(offered == [Sample.blobSHA])
    }

    @Test func addingTheSameBlobTwiceStoresItOnce() throws {
        let folder = try TestFolder("ferry-bundle")
        let url = folder.file("part-00001.tar.zst")
        let source = try folder.write("attachment.bin", String(repeating: "attachment bytes ", count: 5000))
        let writer = try BundleWriter(destination: url, stage: "extract", sourceSystem: "zendesk", part: 1)
        let first = try writer.addBlob(copyingFrom: source)
        #expect(writer.hasBlob(first.sha256))
        let second = try writer.addBlob(copyingFrom: source)
        #expect(first == second)
        #expect(!writer.hasBlob(String(repeating: "0", count: 64)))
        let manifest = try writer.finish()
        #expect(manifest.blobs == BlobSummary(count: 1, bytes: first.size))
        #expect(manifest.members.isEmpty)
        let back = try Self.readAll(url)
        #expect(back.blobs[first.sha256] == (try Data(contentsOf: source)))
        #expect(back.lines.isEmpty)
    }

    @Test func memberOrderPutsEntitiesFirstThenOutcomes() {
        let shuffled = ["changes.ndjson", "zzz.ndjson", "attachments.ndjson", "skips.ndjson", "users.ndjson",
                        "merges.ndjson", "organizations.ndjson", "rejects.ndjson", "tickets.ndjson"]
        #expect(BundleWriter.memberOrder(shuffled) == [
            "organizations.ndjson", "users.ndjson", "tickets.ndjson", "attachments.ndjson",
            "rejects.ndjson", "merges.ndjson", "skips.ndjson", "changes.ndjson", "zzz.ndjson",
        ])
    }

    // MARK: Determinism

    @Test func sameRecordsGiveIdenticalMembersAndDigest() throws {
        let a = try TestFolder("ferry-bundle-a")
        let b = try TestFolder("ferry-bundle-b")
        let first = try Self.writeSample(in: a)
        let second = try Self.writeSample(in: b, name: "other-name.tar.zst")
        #expect(first.manifest.members == second.manifest.members)
        #expect(first.manifest.blobs == second.manifest.blobs)
        #expect(PartRecord.contentDigest(of: first.manifest) == PartRecord.contentDigest(of: second.manifest))

        // One changed record changes that member's SHA-256 and the digest.
        let c = try TestFolder("ferry-bundle-c")
        let url = c.file("part-00001.tar.zst")
        let writer = try BundleWriter(destination: url, stage: "extract", sourceSystem: "zendesk", part: 1)
        try Sample().write(to: writer)
        try writer.write(Ticket(id: "t-4", sourceSystem: "zendesk", subject: "One more", status: "open"))
        let third = try writer.finish()
        #expect(third.member(named: "tickets.ndjson")?.sha256 != first.manifest.member(named: "tickets.ndjson")?.sha256)
        #expect(third.member(named: "users.ndjson") == first.manifest.member(named: "users.ndjson"))
        #expect(PartRecord.contentDigest(of: third) != PartRecord.contentDigest(of: first.manifest))
    }

    // MARK: Crash safety of the writer

    @Test func finalPathAppearsOnlyAtFinish() throws {
        let folder = try TestFolder("ferry-bundle")
        let url = folder.file("part-00001.tar.zst")
        let writer = try BundleWriter(destination: url, stage: "extract", sourceSystem: "zendesk", part: 1)
        try Sample().write(to: writer)
        #expect(!FileManager.default.fileExists(atPath: url.path), "no final part before finish")
        #expect(folder.listing() == [".work-part-00001.tar.zst"], "only the work folder exists while writing")
        #expect(writer.recordCount == 13, "entity records only, not outcomes")
        try writer.finish()
        #expect(FileManager.default.fileExists(atPath: url.path))
        #expect(folder.listing() == ["part-00001.tar.zst"], "no work folder or temporary file remains")
    }

    @Test func abandonedWriterLeavesNothing() throws {
        let folder = try TestFolder("ferry-bundle")
        let url = folder.file("part-00002.tar.zst")
        do {
            let writer = try BundleWriter(destination: url, stage: "map", sourceSystem: "zendesk", part: 2)
            try Sample().write(to: writer)
            #expect(!folder.listing().isEmpty)
        }
        #expect(folder.listing().isEmpty, "a writer dropped before finish removes its work folder and publishes nothing")
    }

    @Test func staleWorkFolderOfAKilledRunIsNotPacked() throws {
        let folder = try TestFolder("ferry-bundle")
        let url = folder.file("part-00001.tar.zst")
        // What a killed run could leave: a member and a blob the new run never wrote.
        _ = try folder.write(".work-part-00001.tar.zst/kb_articles.ndjson", "{\"left\":\"over\"}\n")
        _ = try folder.write(".work-part-00001.tar.zst/blobs/" + Hash.sha256("stale"), "stale")
        let writer = try BundleWriter(destination: url, stage: "extract", sourceSystem: "zendesk", part: 1)
        try writer.write(Ticket(id: "t-1", sourceSystem: "zendesk", subject: "s", status: "open"))
        let manifest = try writer.finish()
        #expect(manifest.members.map(\.name) == ["tickets.ndjson"])
        #expect(manifest.blobs == BlobSummary())
        let back = try Self.readAll(url)
        #expect(back.lines.count == 1)
        #expect(back.blobs.isEmpty)
        #expect(folder.listing() == ["part-00001.tar.zst"])
    }

    // MARK: Streaming large members

    /// 300,000 lines (~70 MB) and a 50 MB blob go through the writer and the
    /// reader while the process's peak memory grows by far less than the data.
    @Test func largeMembersStreamWithoutBeingHeldInMemory() throws {
        let folder = try TestFolder("ferry-bundle-big")
        let url = folder.file("part-00001.tar.zst")
        let lineCount = 300_000
        let blobChunks = 800 // x 64 KiB = 50 MiB
        let chunkSize = 1 << 16

        ProcessMemory.resetPeak()
        let before = ProcessMemory.resident ?? 0
        let peakBefore = ProcessMemory.peak ?? 0

        var linesHash = SHA256Stream()
        var blobHash = SHA256Stream()
        var blobSHA = ""
        do {
            let writer = try BundleWriter(destination: url, stage: "extract", sourceSystem: "zendesk", part: 1, zstdLevel: 1)
            let filler = String(repeating: "lorem ipsum dolor sit amet ", count: 6)
            for i in 0..<lineCount {
                let line = Data("{\"body_plain\":\"\(filler)\(i &* 2654435761 % 1_000_003)\",\"id\":\"c-\(i)\",\"source_system\":\"zendesk\",\"ticket_id\":\"t-\(i / 3)\"}".utf8)
                try writer.writeEncoded(line, entity: .comments)
                linesHash.update(line)
                linesHash.update(Data([0x0a]))
            }
            var chunk = [UInt8](repeating: 0, count: chunkSize)
            var rng = UInt64(0x1234_5678)
            for i in 0..<chunkSize { rng = rng &* 6364136223846793005 &+ 1442695040888963407; chunk[i] = UInt8(truncatingIfNeeded: rng >> 56) }
            let added = try writer.addBlob { sink in
                for n in 0..<blobChunks {
                    withUnsafeBytes(of: UInt64(n).littleEndian) { for (k, byte) in $0.enumerated() { chunk[k] = byte } }
                    try chunk.withUnsafeBytes { raw in
                        blobHash.update(raw)
                        try sink(raw)
                    }
                }
            }
            blobSHA = added.sha256
            #expect(added.size == UInt64(blobChunks * chunkSize))
            let manifest = try writer.finish()
            #expect(manifest.records(of: .comments) == lineCount)
            #expect(manifest.member(named: "comments.ndjson")?.bytes == linesHash.byteCount)
        }
        #expect(blobSHA == blobHash.hexDigest())
        let written = linesHash.byteCount + blobHash.byteCount

        var readLines = 0
        var lastNumber = 0
        var readHash = SHA256Stream()
        var readBlobHash = SHA256Stream()
        var readBlobSHA = ""
        try BundleReader(url: url).read(line: { member, line, number in
            #expect(member == "comments.ndjson")
            readLines += 1
            lastNumber = number
            readHash.update(line)
            readHash.update(Data([0x0a]))
        }, blob: { blob in
            readBlobSHA = blob.sha256
            try blob.read { readBlobHash.update($0) }
        })
        #expect(readLines == lineCount)
        #expect(lastNumber == lineCount)
        #expect(readHash.hexDigest() == linesHash.hexDigest())
        #expect(readBlobSHA == blobSHA)
        #expect(readBlobHash.hexDigest() == blobSHA)
        #expect(readBlobHash.byteCount == UInt64(blobChunks * chunkSize))

        let peakAfter = try #require(ProcessMemory.peak, "needs /proc/self/status")
        let baseline = max(before, peakBefore)
        let growth = peakAfter > baseline ? peakAfter - baseline : 0
        #expect(growth < written / 3, "peak RSS grew by \(growth >> 20) MiB for \(written >> 20) MiB of data")
    }

    // MARK: Integrity: altered, truncated and hostile bundles

    /// Extracts a sample bundle into a folder so a test can change it and repack it by hand.
    struct Unpacked {
        let folder: TestFolder
        let original: URL
        let dir: URL
        let manifest: Manifest

        init() throws {
            folder = try TestFolder("ferry-bundle-hostile")
            let written = try BundleTests.writeSample(in: folder)
            original = written.url
            manifest = written.manifest
            dir = folder.file("unpacked")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try TestTools.run(TestTools.bsdtar, ["-xf", original.path, "-C", dir.path])
        }

        /// Entries in the writer's order: manifest, members, blobs.
        var canonicalEntries: [String] {
            [Manifest.memberName] + manifest.members.map(\.name) + ["blobs/" + Sample.blobSHA]
        }

        func path(_ entry: String) -> URL { dir.appendingPathComponent(entry) }

        /// Packs `entries` (relative to the unpacked folder) in that order as pax + zstd.
        func repack(_ entries: [String], extra: [String] = [], name: String = "hostile.tar.zst") throws -> URL {
            let out = folder.file(name)
            try TestTools.run(TestTools.bsdtar, ["--format", "pax", "--zstd", "-cf", out.path, "-C", dir.path] + extra + entries)
            return out
        }
    }

    /// Runs the reader over `url` and returns the badBundle detail it fails with.
    static func badBundleDetail(_ url: URL, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let error = #expect(throws: FerryError.self, sourceLocation: sourceLocation) { try Self.drain(url) }
        guard let error else { return "" }
        guard case .badBundle(let path, let detail) = error else {
            Issue.record("expected badBundle, got \(error)", sourceLocation: sourceLocation)
            return ""
        }
        #expect(path == url.path, sourceLocation: sourceLocation)
        #expect(error.exitStatus == .dataError, sourceLocation: sourceLocation)
        return detail
    }

    @Test(.enabled(if: TestTools.hasBsdtar, "needs /usr/bin/bsdtar"))
    func repackedUnchangedBundleIsAccepted() throws {
        // The control for the tests below: repacking by hand is not itself what they detect.
        let u = try Unpacked()
        let url = try u.repack(u.canonicalEntries)
        let back = try Self.readAll(url)
        #expect(back.lines.count == 17)
        #expect(back.blobs[Sample.blobSHA] == Sample.blobBytes)
    }

    @Test(.enabled(if: TestTools.hasBsdtar, "needs /usr/bin/bsdtar"))
    func alteredMemberIsRefusedByName() throws {
        let u = try Unpacked()
        let tickets = u.path("tickets.ndjson")
        let text = try String(contentsOf: tickets, encoding: .utf8)
        #expect(text.contains("Printer on fire"))
        // Same length, different bytes: only the SHA-256 can tell.
        try Data(text.replacingOccurrences(of: "Printer on fire", with: "Scanner on fire").utf8).write(to: tickets)
        let sameLength = try u.repack(u.canonicalEntries, name: "same-length.tar.zst")
        let detail = try Self.badBundleDetail(sameLength)
        #expect(detail.contains("tickets.ndjson"), "\(detail)")
        #expect(detail.contains("SHA-256"), "\(detail)")

        // A line added (padding) changes the size.
        try Data((text + "{\"id\":\"t-99\"}\n").utf8).write(to: tickets)
        let padded = try u.repack(u.canonicalEntries, name: "padded.tar.zst")
        let paddedDetail = try Self.badBundleDetail(padded)
        #expect(paddedDetail.contains("tickets.ndjson"), "\(paddedDetail)")
    }

    /// Whether reading the bundle at `path` to the end fails with FerryError.badBundle.
    /// Run in a child process by the tests below: a reader that crashes on a
    /// file libarchive cannot open must fail the test, not end the test run.
    static func refusesAsBadBundle(_ path: String) -> Bool {
        do {
            try drain(URL(fileURLWithPath: path))
            return false
        } catch let error as FerryError {
            return error.isBadBundle
        } catch {
            return false
        }
    }

    /// A cut in the blob (half, all but 100 bytes) fails while streaming; a cut
    /// inside the first block (100, 10 bytes) fails when libarchive opens the file.
    @Test(arguments: ["half", "all but 100 bytes", "first 100 bytes", "first 10 bytes"])
    func truncatedBundleIsRefused(cut label: String) async throws {
        let folder = try TestFolder("ferry-bundle-truncated")
        let (url, _, _) = try Self.writeSample(in: folder)
        let bytes = try Data(contentsOf: url)
        let keep = switch label {
        case "half": bytes.count / 2
        case "all but 100 bytes": bytes.count - 100
        case "first 100 bytes": 100
        default: 10
        }
        let cut = folder.file("cut.tar.zst")
        try bytes.prefix(keep).write(to: cut)
        let path = cut.path
        await #expect(processExitsWith: .success, "a bundle cut to \(label) is refused with badBundle") { [path = path as String] in
            if !BundleTests.refusesAsBadBundle(path) { exit(2) }
        }
    }

    @Test func fileThatIsNotABundleIsRefused() async throws {
        let folder = try TestFolder("ferry-bundle-garbage")
        let garbage = try folder.write("garbage.tar.zst", String(repeating: "not a tar file at all\n", count: 100))
        let path = garbage.path
        await #expect(processExitsWith: .success, "a file that is not tar + zstd is refused with badBundle") { [path = path as String] in
            if !BundleTests.refusesAsBadBundle(path) { exit(2) }
        }
        let empty = try folder.write("empty.tar.zst", "")
        let emptyPath = empty.path
        await #expect(processExitsWith: .success, "an empty file is refused with badBundle") { [emptyPath = emptyPath as String] in
            if !BundleTests.refusesAsBadBundle(emptyPath) { exit(2) }
        }
        let missing = folder.file("absent.tar.zst")
        let missingError = #expect(throws: FerryError.self) { try BundleReader(url: missing) }
        #expect(missingError?.isMissingInput == true, "\(String(describing: missingError))")
    }

    @Test(.enabled(if: TestTools.hasBsdtar, "needs /usr/bin/bsdtar"))
    func symlinkEntryIsRefused() throws {
        let u = try Unpacked()
        // A symlink standing in for a listed member...
        try FileManager.default.removeItem(at: u.path("tickets.ndjson"))
        try FileManager.default.createSymbolicLink(atPath: u.path("tickets.ndjson").path, withDestinationPath: "/etc/passwd")
        let url = try u.repack(u.canonicalEntries)
        let detail = try Self.badBundleDetail(url)
        #expect(detail.contains("tickets.ndjson"), "\(detail)")
        #expect(detail.contains("not a regular file"), "\(detail)")

        // ...and one under a blob-like name.
        try FileManager.default.createSymbolicLink(atPath: u.path("blobs/" + String(repeating: "a", count: 64)).path, withDestinationPath: "../manifest.json")
        let second = try u.repack([Manifest.memberName, "blobs/" + String(repeating: "a", count: 64)], name: "blob-link.tar.zst")
        let secondDetail = try Self.badBundleDetail(second)
        #expect(secondDetail.contains("not a regular file"), "\(secondDetail)")
    }

    @Test(.enabled(if: TestTools.hasBsdtar, "needs /usr/bin/bsdtar"))
    func parentPathEntryIsRefused() throws {
        let u = try Unpacked()
        _ = try u.folder.write("unpacked/x", "escape\n")
        let url = try u.repack(u.canonicalEntries + ["x"], extra: ["-s", ",^x$,../x,"])
        let listing = try TestTools.run(TestTools.bsdtar, ["-tf", url.path]).stdout
        #expect(listing.contains("../x"), "the crafted archive really holds ../x: \(listing)")
        let detail = try Self.badBundleDetail(url)
        #expect(detail.contains("../x"), "\(detail)")

        // The same with the entry placed right after the manifest.
        let early = try u.repack([Manifest.memberName, "x"] + Array(u.canonicalEntries.dropFirst()), extra: ["-s", ",^x$,blobs/../../x,"], name: "early.tar.zst")
        let earlyDetail = try Self.badBundleDetail(early)
        #expect(earlyDetail.contains("blobs/../../x"), "\(earlyDetail)")
    }

    @Test(.enabled(if: TestTools.hasBsdtar, "needs /usr/bin/bsdtar"))
    func missingMemberIsRefusedByName() throws {
        let u = try Unpacked()
        let url = try u.repack(u.canonicalEntries.filter { $0 != "tickets.ndjson" })
        let detail = try Self.badBundleDetail(url)
        #expect(detail.contains("tickets.ndjson"), "\(detail)")
        #expect(detail.contains("missing"), "\(detail)")

        // A missing blob is caught by the manifest's blob count.
        let noBlob = try u.repack(Array(u.canonicalEntries.dropLast()), name: "no-blob.tar.zst")
        let blobDetail = try Self.badBundleDetail(noBlob)
        #expect(blobDetail.contains("blobs"), "\(blobDetail)")
    }

    @Test(.enabled(if: TestTools.hasBsdtar, "needs /usr/bin/bsdtar"))
    func blobWhoseContentDoesNotMatchItsNameIsRefused() throws {
        let u = try Unpacked()
        var bytes = Sample.blobBytes
        bytes[1000] ^= 0xff
        try bytes.write(to: u.path("blobs/" + Sample.blobSHA))
        let url = try u.repack(u.canonicalEntries)
        let detail = try Self.badBundleDetail(url)
        #expect(detail.contains(Sample.blobSHA), "\(detail)")
        #expect(detail.contains("does not match"), "\(detail)")

        // Also when the consumer reads the blob itself, and when it reads none of it.
        let reader = try BundleReader(url: url)
        #expect(throws: FerryError.self) { try reader.read(line: { _, _, _ in }, blob: { blob in try blob.read { _ in } }) }
        #expect(throws: FerryError.self) { try reader.read(line: { _, _, _ in }, blob: { _ in }) }
    }

    @Test(.enabled(if: TestTools.hasBsdtar, "needs /usr/bin/bsdtar"))
    func manifestNotFirstOrUnknownEntryIsRefused() throws {
        let u = try Unpacked()
        var entries = u.canonicalEntries
        entries.swapAt(0, 1)
        let notFirst = try u.repack(entries, name: "not-first.tar.zst")
        let error = #expect(throws: FerryError.self) { try BundleReader(url: notFirst) }
        #expect(error?.isBadBundle == true)
        #expect("\(String(describing: error))".contains(Manifest.memberName))

        _ = try u.folder.write("unpacked/notes.txt", "hello\n")
        let extra = try u.repack(u.canonicalEntries + ["notes.txt"], name: "extra.tar.zst")
        let detail = try Self.badBundleDetail(extra)
        #expect(detail.contains("notes.txt"), "\(detail)")

        let twice = try u.repack(u.canonicalEntries + ["tickets.ndjson"], name: "twice.tar.zst")
        let twiceDetail = try Self.badBundleDetail(twice)
        #expect(twiceDetail.contains("tickets.ndjson"), "\(twiceDetail)")
    }

    @Test(.enabled(if: TestTools.hasBsdtar, "needs /usr/bin/bsdtar"))
    func manifestFromTheFutureIsRefused() throws {
        let u = try Unpacked()
        var manifest = u.manifest
        manifest.formatVersion = Manifest.currentVersion + 1
        try JSONEncoder().encode(manifest).write(to: u.path(Manifest.memberName))
        let url = try u.repack(u.canonicalEntries)
        let error = #expect(throws: FerryError.self) { try BundleReader(url: url) }
        #expect(error?.isBadBundle == true)
        #expect("\(String(describing: error))".contains("upgrade"))
    }
}
