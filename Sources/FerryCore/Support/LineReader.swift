import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Splits a byte stream into lines without holding more than one line plus a
/// chunk in memory. Handles `\n` and `\r\n`; a final line without newline counts.
public struct LineSplitter {
    private var pending: [UInt8] = []
    /// 1-based number of the next line to be emitted.
    public private(set) var nextLineNumber: Int
    /// Bytes consumed through the end of the last emitted line (for resume offsets).
    public private(set) var consumedBytes: UInt64

    public init(firstLineNumber: Int = 1, startOffset: UInt64 = 0) {
        nextLineNumber = firstLineNumber
        consumedBytes = startOffset
    }

    /// Feeds a chunk; `body` receives each complete line (without its line ending),
    /// its line number, and the byte offset just after it.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer, Int, UInt64) throws -> Void) throws {
        guard let base = chunk.baseAddress, chunk.count > 0 else { return }
        var start = 0
        let bytes = base.assumingMemoryBound(to: UInt8.self)
        while start < chunk.count {
            guard let found = memchr(bytes + start, 0x0a, chunk.count - start) else {
                pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[start...]))
                return
            }
            let end = UnsafeRawPointer(found) - base
            let lineLength = end - start
            if pending.isEmpty {
                try emit(UnsafeRawBufferPointer(start: base + start, count: lineLength), lengthWithNewline: lineLength + 1, body)
            } else {
                pending.append(contentsOf: UnsafeRawBufferPointer(start: base + start, count: lineLength))
                let line = pending
                pending.removeAll(keepingCapacity: true)
                try line.withUnsafeBytes { try emit($0, lengthWithNewline: $0.count + 1, body) }
            }
            start = end + 1
        }
    }

    /// Emits the last line if the stream did not end with a newline.
    public mutating func finish(_ body: (UnsafeRawBufferPointer, Int, UInt64) throws -> Void) throws {
        guard !pending.isEmpty else { return }
        let line = pending
        pending.removeAll()
        try line.withUnsafeBytes { try emit($0, lengthWithNewline: $0.count, body) }
    }

    private mutating func emit(_ line: UnsafeRawBufferPointer, lengthWithNewline: Int, _ body: (UnsafeRawBufferPointer, Int, UInt64) throws -> Void) throws {
        var content = line
        if content.count > 0, content[content.count - 1] == 0x0d {
            content = UnsafeRawBufferPointer(rebasing: content[0..<(content.count - 1)])
        }
        let number = nextLineNumber
        nextLineNumber += 1
        consumedBytes += UInt64(lengthWithNewline)
        try body(content, number, consumedBytes)
    }
}

/// Reads an NDJSON file from a byte offset, line by line.
public enum NDJSONFile {
    /// Calls `body(line, lineNumber, offsetAfterLine)` for every line. Blank lines are skipped.
    public static func forEachLine(
        _ url: URL, fromOffset offset: UInt64 = 0, firstLineNumber: Int = 1,
        _ body: (Data, Int, UInt64) throws -> Void
    ) throws {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FerryError.posix(url.path, "open") }
        defer { close(fd) }
        if offset > 0, lseek(fd, off_t(offset), SEEK_SET) < 0 { throw FerryError.posix(url.path, "seek") }
        var splitter = LineSplitter(firstLineNumber: firstLineNumber, startOffset: offset)
        let size = FileChunks.chunkSize
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        let emit: (UnsafeRawBufferPointer, Int, UInt64) throws -> Void = { line, number, after in
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
            try body(Data(line), number, after)
        }
        while true {
            let n = read(fd, buffer.baseAddress, size)
            if n < 0 {
                if errno == EINTR { continue }
                throw FerryError.posix(url.path, "read")
            }
            if n == 0 { break }
            try splitter.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), emit)
        }
        try splitter.finish(emit)
    }
}
