import Foundation

/// A folder of attachment bytes, one file per SHA-256, that an API target keeps
/// between `storeBlob` (when the load reads a part's blobs) and the upload of
/// the attachment that needs them. Bytes stream to a temporary file with a
/// running hash and are renamed into place only when size and SHA-256 match
/// the bundle's claim, so the spool never holds a partial or wrong file and no
/// attachment is ever held whole in memory.
public struct BlobSpool: Sendable {
    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    /// Where the bytes of `sha256` are (or will be).
    public func url(_ sha256: String) -> URL {
        directory.appendingPathComponent(sha256)
    }

    /// Stores the bytes `produce` streams, checked against `sha256` and `size`.
    /// Already there: the bytes are drained unread, since the reader must move past them.
    public func store(sha256: String, size: UInt64, _ produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let file = url(sha256)
        if FileManager.default.fileExists(atPath: file.path) { try produce { _ in }; return }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let temp = DurableFile.temporarySibling(of: file)
        do {
            let writer = try HashingFileWriter(url: temp)
            try produce { chunk in try writer.append(chunk) }
            try writer.sync()
            let (digest, bytes) = try writer.finish()
            guard bytes == size, digest == sha256.lowercased() else {
                throw FerryError.badInput(file: "blobs/\(sha256)", line: nil,
                                          detail: "expected \(size) bytes with SHA-256 \(sha256), got \(bytes) bytes with SHA-256 \(digest)")
            }
            try DurableFile.commit(temp, to: file)
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw error
        }
    }
}
