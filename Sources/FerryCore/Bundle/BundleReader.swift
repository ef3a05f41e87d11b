import CArchive
import Foundation

/// Streams a bundle part written by `BundleWriter` (or any tar + zstd with the
/// same layout). The manifest must come first; every member is checked against
/// it while it streams (SHA-256, byte and record counts) and every blob against
/// its own name, so a truncated, altered or padded bundle fails with a clear
/// error instead of feeding wrong data to the next stage. Entries that are not
/// regular files, or whose names are not a manifest member or `blobs/<sha256>`,
/// are refused before anything is read from them.
public final class BundleReader {
    public let url: URL
    public let manifest: Manifest
    private let encryption: BundleEncryption

    /// How much bigger than its file a bundle may claim to be once unpacked.
    /// NDJSON compresses 5 to 20 times; a "zip bomb" claims millions. Checked
    /// against the manifest before a byte is unpacked, and every entry's own
    /// size is checked against the manifest before it is read.
    public static let defaultMaxExpansion: UInt64 = 1000

    /// Reads and checks the manifest only. An age-encrypted bundle is decrypted
    /// on the fly with the passphrase in `encryption`.
    public init(url: URL, encryption: BundleEncryption = .none, maxExpansion: UInt64 = BundleReader.defaultMaxExpansion) throws {
        self.url = url
        self.encryption = encryption
        let stream = try ArchiveReadStream(url: url, encryption: encryption)
        manifest = try stream.readManifest()
        let fileSize = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? UInt64) ?? 0
        let claimed = manifest.members.reduce(manifest.blobs.bytes) { $0 &+ $1.bytes }
        if claimed > max(fileSize, 64 << 10) &* maxExpansion {
            throw FerryError.badBundle(path: url.path, detail: "the manifest claims \(claimed) bytes unpacked from a \(fileSize)-byte file, more than \(maxExpansion) times its size (a decompression bomb?); refused before unpacking")
        }
    }

    /// Whether the file is an encrypted bundle.
    public var isEncrypted: Bool { Age.isEncrypted(url) }

    public struct Blob {
        public let sha256: String
        public let size: UInt64
        fileprivate let stream: ArchiveReadStream

        /// Streams the blob's bytes in chunks.
        public func read(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
            try stream.readData(body)
        }
    }

    /// Streams every member in archive order. `line` gets (member name, line bytes,
    /// 1-based line number); `blob`, when given, gets each blob to read or ignore.
    public func read(
        line: (String, Data, Int) throws -> Void,
        blob: ((Blob) throws -> Void)? = nil
    ) throws {
        let stream = try ArchiveReadStream(url: url, encryption: encryption)
        _ = try stream.readManifest()
        var seen = Set<String>()
        var blobCount = 0
        var blobBytes: UInt64 = 0
        while let name = try stream.nextEntry() {
            if let info = manifest.member(named: name) {
                guard seen.insert(name).inserted else { throw bad("member \(name) appears twice") }
                guard stream.currentSize == info.bytes else {
                    throw bad("member \(name) declares \(stream.currentSize) bytes, the manifest says \(info.bytes); refused before reading it")
                }
                var hash = SHA256Stream()
                var splitter = LineSplitter()
                var count = 0
                try stream.readData { chunk in
                    hash.update(chunk)
                    try splitter.feed(chunk) { bytes, number, _ in
                        count += 1
                        try line(name, Data(bytes), number)
                    }
                }
                try splitter.finish { bytes, number, _ in
                    count += 1
                    try line(name, Data(bytes), number)
                }
                let digest = hash.hexDigest()
                guard hash.byteCount == info.bytes else {
                    throw bad("member \(name) has \(hash.byteCount) bytes, the manifest says \(info.bytes) (truncated or altered)")
                }
                guard digest == info.sha256 else {
                    throw bad("member \(name) SHA-256 is \(digest), the manifest says \(info.sha256) (altered or corrupt)")
                }
                guard count == info.records else {
                    throw bad("member \(name) holds \(count) lines, the manifest says \(info.records)")
                }
            } else if name.hasPrefix("blobs/"), Self.isSHA256(String(name.dropFirst(6))) {
                let sha = String(name.dropFirst(6))
                guard blobBytes + stream.currentSize <= manifest.blobs.bytes else {
                    throw bad("blob \(sha) declares \(stream.currentSize) bytes, beyond the \(manifest.blobs.bytes) the manifest gives all blobs; refused before reading it")
                }
                var hash = SHA256Stream()
                let size = stream.currentSize
                if let blob {
                    let hashing = HashingBlobStream(base: stream)
                    try blob(Blob(sha256: sha, size: size, stream: hashing))
                    try hashing.readData { _ in }
                    hash = hashing.hash
                } else {
                    try stream.readData { hash.update($0) }
                }
                guard hash.hexDigest() == sha else {
                    throw bad("blob \(sha) does not match its own name (SHA-256 \(hash.hexDigest()))")
                }
                blobCount += 1
                blobBytes += hash.byteCount
            } else {
                throw bad("unexpected entry \(name): only \(Manifest.memberName), the members it lists and blobs/<sha256> may appear")
            }
        }
        for info in manifest.members where !seen.contains(info.name) {
            throw bad("member \(info.name) is listed in the manifest but missing (truncated bundle?)")
        }
        guard blobCount == manifest.blobs.count, blobBytes == manifest.blobs.bytes else {
            throw bad("holds \(blobCount) blobs of \(blobBytes) bytes, the manifest says \(manifest.blobs.count) of \(manifest.blobs.bytes)")
        }
    }

    private func bad(_ detail: String) -> FerryError { .badBundle(path: url.path, detail: detail) }

    static func isSHA256(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}

/// libarchive's reader, one entry at a time, refusing unsafe entries.
class ArchiveReadStream {
    let path: String
    private let archive: OpaquePointer
    fileprivate(set) var currentSize: UInt64 = 0
    /// Manifests are small; anything larger is not a Ferry manifest.
    static let manifestLimit = 64 << 20

    init(url: URL, encryption: BundleEncryption = .none) throws {
        path = url.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw FerryError.missingInput(path: path, hint: "run the stage that writes it first")
        }
        archive = archive_read_new()!
        archive_read_support_filter_zstd(archive)
        archive_read_support_format_tar(archive)
        // deinit frees the handle on every path below: a throwing class initializer still runs deinit.
        if Age.isEncrypted(url) {
            let source = try DecryptingSource(path: path, passphrase: try encryption.passphraseForReading(path))
            decryptingStorage = source
            if archive_read_open(archive, Unmanaged.passUnretained(source).toOpaque(), nil, decryptingReadCallback, nil) != ARCHIVE_OK {
                throw failure("not a tar + zstd bundle inside the encryption")
            }
        } else {
            if archive_read_open_filename(archive, path, 1 << 16) != ARCHIVE_OK {
                let message = archive_error_string(archive).map { String(cString: $0) } ?? "unknown error"
                throw FerryError.badBundle(path: path, detail: "not a tar + zstd bundle: \(message)")
            }
        }
    }

    /// Keeps the decrypting source alive as long as the archive reads from it.
    private var decryptingStorage: DecryptingSource?

    /// For subclasses that wrap another stream.
    init(wrapping other: ArchiveReadStream) {
        path = other.path
        archive = other.archive
        decryptingStorage = other.decryptingStorage
        currentSize = other.currentSize
    }

    deinit {
        if type(of: self) == ArchiveReadStream.self { archive_read_free(archive) }
    }

    private func failure(_ what: String) -> FerryError {
        if let error = decryptingStorage?.error { return DecryptingSource.map(error, path: path) }
        let message = archive_error_string(archive).map { String(cString: $0) } ?? "unknown error"
        return .badBundle(path: path, detail: "\(what): \(message)")
    }

    /// Advances to the next entry and returns its name, or nil at the end.
    func nextEntry() throws -> String? {
        var entry: OpaquePointer?
        let code = archive_read_next_header(archive, &entry)
        if code == ARCHIVE_EOF { return nil }
        guard code >= ARCHIVE_WARN, let entry else { throw failure("cannot read the next entry (truncated or corrupt)") }
        let name = archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
        guard archive_entry_filetype(entry) == archiveRegularFile else {
            throw FerryError.badBundle(path: path, detail: "entry \(name) is not a regular file (links and devices are refused)")
        }
        guard !name.hasPrefix("/"), !name.split(separator: "/").contains(".."), !name.isEmpty else {
            throw FerryError.badBundle(path: path, detail: "entry \(name) has an absolute or parent path; refused")
        }
        currentSize = archive_entry_size_is_set(entry) != 0 ? UInt64(max(0, archive_entry_size(entry))) : 0
        return name
    }

    /// Streams the current entry's data.
    func readData(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let size = 1 << 16
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = archive_read_data(archive, buffer.baseAddress, size)
            if n == 0 { return }
            if n < 0 { throw failure("cannot read entry data (truncated or corrupt)") }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }

    func readManifest() throws -> Manifest {
        guard let name = try nextEntry() else {
            throw FerryError.badBundle(path: path, detail: "empty archive: no \(Manifest.memberName)")
        }
        guard name == Manifest.memberName else {
            throw FerryError.badBundle(path: path, detail: "first entry is \(name), expected \(Manifest.memberName)")
        }
        var data = Data()
        try readData { chunk in
            data.append(contentsOf: chunk)
            if data.count > Self.manifestLimit {
                throw FerryError.badBundle(path: path, detail: "\(Manifest.memberName) is larger than \(Self.manifestLimit) bytes")
            }
        }
        let manifest: Manifest
        do {
            manifest = try JSONDecoder().decode(Manifest.self, from: data)
        } catch {
            throw FerryError.badBundle(path: path, detail: "\(Manifest.memberName) is not a valid manifest: \(error)")
        }
        guard manifest.format == Manifest.formatName else {
            throw FerryError.badBundle(path: path, detail: "format is \(manifest.format), expected \(Manifest.formatName)")
        }
        guard manifest.formatVersion <= Manifest.currentVersion else {
            throw FerryError.badBundle(path: path, detail: "format version \(manifest.formatVersion) is newer than this Ferry understands (\(Manifest.currentVersion)); upgrade Ferry")
        }
        return manifest
    }
}

/// Hashes what the consumer reads from a blob, so the blob is checked even when
/// the consumer reads only part of it (the rest is drained and hashed after).
final class HashingBlobStream: ArchiveReadStream {
    private let base: ArchiveReadStream
    var hash = SHA256Stream()

    init(base: ArchiveReadStream) {
        self.base = base
        super.init(wrapping: base)
    }

    override func readData(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try base.readData { chunk in
            hash.update(chunk)
            try body(chunk)
        }
    }
}

/// Feeds libarchive plaintext from an age-encrypted file, one 64 KiB chunk at a time.
final class DecryptingSource {
    private let fd: Int32
    private var decryptor: AgeDecryptor!
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Age.chunkSize, alignment: 16)
    var error: Error?

    init(path: String, passphrase: Data) throws {
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            buffer.deallocate()
            throw FerryError.posix(path, "open")
        }
        let fd = self.fd
        do {
            decryptor = try AgeDecryptor(passphrase: passphrase) { count in
                var data = Data(count: count)
                let n = data.withUnsafeMutableBytes { read(fd, $0.baseAddress, count) }
                if n < 0 { throw FerryError.posix(path, "read") }
                return data.prefix(n)
            }
        } catch {
            throw Self.map(error, path: path)
        }
    }

    deinit {
        close(fd)
        buffer.deallocate()
    }

    /// The next plaintext chunk copied into `buffer`; its length, 0 at the end.
    func next() throws -> Int {
        guard let chunk = try decryptor.nextChunk() else { return 0 }
        chunk.copyBytes(to: buffer)
        return chunk.count
    }

    static func map(_ error: Error, path: String) -> FerryError {
        if let ferryError = error as? FerryError { return ferryError }
        guard let ageError = error as? AgeError else { return .badBundle(path: path, detail: "encrypted bundle: \(error)") }
        if ageError == .wrongPassphrase {
            return FerryError.config(file: path, detail: ageError.description,
                                     hint: "export the passphrase this bundle was written with (FERRY_BUNDLE_PASSPHRASE, or bundle.passphrase_file)")
        }
        return FerryError.badBundle(path: path, detail: "encrypted bundle: \(ageError.description)")
    }
}

/// libarchive's read callback when decrypting.
private func decryptingReadCallback(_: OpaquePointer?, _ context: UnsafeMutableRawPointer?, _ bufferOut: UnsafeMutablePointer<UnsafeRawPointer?>?) -> la_ssize_t {
    let source = Unmanaged<DecryptingSource>.fromOpaque(context!).takeUnretainedValue()
    do {
        let count = try source.next()
        bufferOut?.pointee = UnsafeRawPointer(source.buffer.baseAddress)
        return la_ssize_t(count)
    } catch {
        source.error = error
        return -1
    }
}
