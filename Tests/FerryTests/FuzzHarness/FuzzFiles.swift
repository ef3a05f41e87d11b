// Shared by both fuzz targets (linked into Sources/Fuzz/*) and FuzzRegressionTests.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes a fuzz input to a file without the fsync `Data.write(to:)` does, which
/// would make the disk, not the code under test, the fuzzer's bottleneck.
enum FuzzFiles {
    struct WriteError: Error { let path: String; let errno: Int32 }

    static func write(_ data: Data, to url: URL) throws {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw WriteError(path: url.path, errno: errno) }
        defer { close(fd) }
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                guard n > 0 else { throw WriteError(path: url.path, errno: errno) }
                offset += n
            }
        }
    }
}
