import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Crash-safe file replacement: write a temporary file beside the target,
/// fsync it, rename it over the target, fsync the folder. A reader (or a
/// resumed stage) therefore sees either the old file or the new one, never half.
public enum DurableFile {
    public static func write(_ data: Data, to url: URL) throws {
        let temp = temporarySibling(of: url)
        let fd = open(temp.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FerryError.posix(temp.path, "create") }
        do {
            try data.withUnsafeBytes { try writeAll(fd: fd, $0, path: temp.path) }
            guard fsync(fd) == 0 else { throw FerryError.posix(temp.path, "fsync") }
        } catch {
            close(fd)
            unlink(temp.path)
            throw error
        }
        close(fd)
        try commit(temp, to: url)
    }

    /// Renames a finished, already fsynced temporary file over `url` and makes the rename durable.
    public static func commit(_ temp: URL, to url: URL) throws {
        guard rename(temp.path, url.path) == 0 else {
            let code = errno
            unlink(temp.path)
            throw FerryError.posix(url.path, "rename", errno: code)
        }
        try syncDirectory(url.deletingLastPathComponent())
    }

    public static func syncDirectory(_ dir: URL) throws {
        let fd = open(dir.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw FerryError.posix(dir.path, "open folder") }
        defer { close(fd) }
        _ = fsync(fd)
    }

    public static func temporarySibling(of url: URL) -> URL {
        url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
    }

    static func writeAll(fd: Int32, _ buffer: UnsafeRawBufferPointer, path: String) throws {
        var offset = 0
        while offset < buffer.count {
            let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw FerryError.posix(path, "write")
            }
            offset += n
        }
    }
}

/// A buffered append-only file writer that keeps a running SHA-256, byte and line count.
/// Used for NDJSON members while a bundle part is being built.
public final class HashingFileWriter {
    public let url: URL
    private let fd: Int32
    private var buffer: [UInt8] = []
    private let capacity = 1 << 16
    public private(set) var hash = SHA256Stream()
    public private(set) var lines = 0

    public init(url: URL) throws {
        self.url = url
        fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FerryError.posix(url.path, "create") }
        buffer.reserveCapacity(capacity)
    }

    deinit { close(fd) }

    public var byteCount: UInt64 { hash.byteCount + 0 }

    /// Appends one NDJSON line (the newline is added here).
    public func appendLine(_ line: Data) throws {
        buffer.append(contentsOf: line)
        buffer.append(0x0a)
        lines += 1
        if buffer.count >= capacity { try flush() }
    }

    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        if buffer.count + bytes.count > capacity { try flush() }
        if bytes.count >= capacity {
            hash.update(bytes)
            try DurableFile.writeAll(fd: fd, bytes, path: url.path)
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    public func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { raw in
            hash.update(raw)
            try DurableFile.writeAll(fd: fd, raw, path: url.path)
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and fsyncs, so a rename that follows publishes complete bytes.
    public func sync() throws {
        try flush()
        guard fsync(fd) == 0 else { throw FerryError.posix(url.path, "fsync") }
    }

    /// Flushes and returns the final (sha256, bytes).
    public func finish() throws -> (sha256: String, bytes: UInt64) {
        try flush()
        return (hash.hexDigest(), hash.byteCount)
    }
}

/// Reads a file in fixed-size chunks: the only way Ferry touches attachment bytes.
public enum FileChunks {
    public static let chunkSize = 1 << 16

    public static func read(_ url: URL, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FerryError.posix(url.path, "open") }
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, chunkSize)
            if n < 0 {
                if errno == EINTR { continue }
                throw FerryError.posix(url.path, "read")
            }
            if n == 0 { break }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }
}
