// Shared by the libFuzzer target FuzzBundleReader (Sources/Fuzz/FuzzBundleReader
// links this file) and FuzzRegressionTests. See Tests/Fuzz/README.md.
import FerryCore
import Foundation

/// Runs fuzz bytes through the bundle reader: the bytes become a part file, and
/// `BundleReader(url:)` opens it (manifest, expansion check) and `read(line:blob:)`
/// streams every member and blob, reading each blob's bytes. Errors are fine
/// (a bad bundle must be refused); a crash or a hang is the bug.
enum BundleReaderHarness {
    static func run(_ data: Data) {
        let fm = FileManager.default
        let url = fm.temporaryDirectory.appendingPathComponent("ferry-fuzz-part-\(getpid())-\(UUID().uuidString).tar.zst")
        defer { try? fm.removeItem(at: url) }
        do {
            try FuzzFiles.write(data, to: url)
        } catch {
            fatalError("fuzz harness: cannot write \(url.path): \(error)")
        }
        do {
            let reader = try BundleReader(url: url)
            var lines = 0
            var blobBytes = 0
            try reader.read(line: { _, bytes, _ in
                lines += bytes.isEmpty ? 0 : 1
            }, blob: { blob in
                try blob.read { blobBytes += $0.count }
            })
        } catch {
            // A refused bundle is an allowed outcome.
        }
    }
}
