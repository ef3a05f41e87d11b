import FerryCore
import Foundation

/// `ferry-verify --bundle FILE`: checks a bundle someone handed you, with every
/// check a stage makes when it reads one (manifest first, SHA-256, byte and
/// record counts of each member, blob names against their content, unsafe
/// entries, decompression bombs), without needing a pipeline around it.
public struct BundleCheck {
    public let encryption: BundleEncryption

    public init(encryption: BundleEncryption) {
        self.encryption = encryption
    }

    public func run(_ url: URL) throws -> StageResult {
        let reader = try BundleReader(url: url, encryption: encryption)
        var blobs = 0
        try reader.read(line: { _, _, _ in }, blob: { _ in blobs += 1 })
        let m = reader.manifest
        var lines = ["\(url.path): intact\(reader.isEncrypted ? " (encrypted, age format)" : "")",
                     "format \(m.format) v\(m.formatVersion), stage \(m.stage), part \(m.part), source \(m.sourceSystem), written \(m.createdAt)"]
        lines.append(TextTable.render([["member", "records", "bytes", "sha256"]] + m.members.map {
            [$0.name, "\($0.records)", "\($0.bytes)", $0.sha256]
        }))
        lines.append("blobs: \(blobs) checked against their names, \(m.blobs.bytes) bytes")
        if let cursor = m.cursor, !cursor.isEmpty {
            lines.append("cursor: " + cursor.keys.sorted().map { "\($0)=\(cursor[$0]!)" }.joined(separator: " "))
        }
        return StageResult(stage: .verify, summary: lines)
    }
}
