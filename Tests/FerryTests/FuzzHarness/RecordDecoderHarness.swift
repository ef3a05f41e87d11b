// Shared by the libFuzzer target FuzzRecordDecoder (Sources/Fuzz/FuzzRecordDecoder
// links this file) and FuzzRegressionTests: one input, run the way Ferry reads it.
// See Tests/Fuzz/README.md.
import FerryCore
import FerryStages
import FerryZendesk
import Foundation

/// Runs fuzz bytes through the NDJSON record decoders. Errors are fine; a crash or a hang is the bug.
///
/// 1. The zendesk-export source: the bytes become every file of a throwaway export
///    folder (organizations.ndjson through help_center/articles.ndjson), and
///    `ZendeskExportSource.extract` reads them into a sink that keeps nothing but
///    re-encodes every record it gets, as the extract stage does. So one input runs
///    through line splitting, BOM handling, every entity's Zendesk decoder, the
///    mapper (timestamps, roles, field types, attachments and their paths) and rejects.
/// 2. The bundle line decoder: every line of the bytes through `RecordCodec.decodeAny`
///    for every canonical entity type, and each record that decodes back through the
///    canonical encoder, as dedupe, map, load and verify read bundle members.
enum RecordDecoderHarness {
    static func run(_ data: Data) {
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("ferry-fuzz-export-\(getpid())-\(UUID().uuidString)", isDirectory: true)
        defer { try? fm.removeItem(at: root) }
        do {
            try fm.createDirectory(at: root.appendingPathComponent("help_center"), withIntermediateDirectories: true)
            for (name, _) in ZendeskExportSource.files {
                try FuzzFiles.write(data, to: root.appendingPathComponent(name))
            }
        } catch {
            fatalError("fuzz harness: cannot write the export folder \(root.path): \(error)")
        }
        let source = ZendeskExportSource(root: root)
        let sink = DiscardingSink()
        do {
            try source.extract(from: nil, into: sink, reporter: Reporter(stage: "fuzz", quiet: true))
        } catch {
            // An error is an allowed outcome: it is what the stage would report.
        }

        let codec = RecordCodec()
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            let line = Data(line)
            for entity in EntityType.allCases {
                guard let record = try? codec.decodeAny(entity, line) else { continue }
                _ = try? codec.contentHash(record)
            }
        }
    }

    /// Keeps nothing; encodes what it is given the way the extract stage's part writer does.
    final class DiscardingSink: ExtractSink {
        let codec = RecordCodec()
        var records = 0
        var rejects = 0

        func emit<R: CanonicalRecord>(_ record: R) throws {
            _ = try codec.encode(record)
            records += 1
        }

        func reject(_ reject: Reject) throws {
            _ = try JSONEncoder().encode(reject)
            rejects += 1
        }

        func addBlob(copyingFrom url: URL) throws -> (sha256: String, size: UInt64) {
            try Hash.sha256(fileAt: url)
        }

        func endOfUnit(position: SourcePosition) throws {}

        func sawUpdate(_ timestamp: String?) {}
    }
}
