import CArchive
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Builds one bundle part: NDJSON members and content-addressed blobs are
/// streamed to files in a private work folder while records arrive (so no
/// member is held in memory), then packed into `tar` (pax) + zstd in canonical
/// order, fsynced, and renamed into place. Until `finish` returns, the final
/// path does not exist, so a crash never leaves a part that looks finished.
public final class BundleWriter {
    public let destination: URL
    public let stage: String
    public let sourceSystem: String
    public let part: Int
    public let zstdLevel: Int
    private let encryption: BundleEncryption
    private let workDir: URL
    private let blobDir: URL
    private var members: [String: HashingFileWriter] = [:]
    private var memberRecordCounts: [String: Int] = [:]
    private var blobCount = 0
    private var blobBytes: UInt64 = 0
    private let json = CanonicalJSON()
    /// Records written to entity members (not rejects, merges or changes).
    public private(set) var recordCount = 0

    public init(destination: URL, stage: String, sourceSystem: String, part: Int, zstdLevel: Int = 3, encryption: BundleEncryption = .none) throws {
        self.destination = destination
        self.encryption = encryption
        self.stage = stage
        self.sourceSystem = sourceSystem
        self.part = part
        self.zstdLevel = zstdLevel
        workDir = destination.deletingLastPathComponent()
            .appendingPathComponent(".work-\(destination.lastPathComponent)")
        blobDir = workDir.appendingPathComponent("blobs")
        try? FileManager.default.removeItem(at: workDir)
        do {
            try FileManager.default.createDirectory(at: blobDir, withIntermediateDirectories: true)
        } catch {
            throw FerryError.io(path: workDir.path, detail: "cannot create work folder: \(error.localizedDescription)")
        }
    }

    deinit { try? FileManager.default.removeItem(at: workDir) }

    /// Appends a record to its entity's member.
    public func write<R: CanonicalRecord>(_ record: R) throws {
        try writeLine(try json.encode(record), member: R.entity.memberName)
        recordCount += 1
    }

    /// Writes `record`; when a stage left it as it was, the input line itself,
    /// without paying for encoding it again (most comments pass dedupe and map
    /// untouched). Lines Ferry wrote are canonical, so the bytes are the same
    /// either way; a hand-made bundle's line passes on as it was written.
    public func writeUnlessChanged<R: CanonicalRecord>(_ record: R, original: R, line: Data) throws {
        if record == original {
            try writeEncoded(line, entity: R.entity)
        } else {
            try write(record)
        }
    }

    /// Appends an already-encoded canonical line (used when passing records through unchanged).
    public func writeEncoded(_ line: Data, entity: EntityType) throws {
        try writeLine(line, member: entity.memberName)
        recordCount += 1
    }

    public func reject(_ reject: Reject) throws {
        try writeLine(try json.encode(reject), member: Reject.memberName)
    }

    public func merge(_ merge: Merge) throws {
        try writeLine(try json.encode(merge), member: Merge.memberName)
    }

    public func deletion(_ deletion: Deletion) throws {
        try writeLine(try json.encode(deletion), member: Deletion.memberName)
    }

    /// Copies a line of a non-entity member (deletions) unchanged from an input part.
    public func passThrough(_ line: Data, member: String) throws {
        try writeLine(line, member: member)
    }

    public func skip(_ skip: Skip) throws {
        try writeLine(try json.encode(skip), member: Skip.memberName)
    }

    public func change(_ change: FieldChange) throws {
        try writeLine(try json.encode(change), member: FieldChange.memberName)
    }

    private func writeLine(_ line: Data, member name: String) throws {
        let writer: HashingFileWriter
        if let existing = members[name] {
            writer = existing
        } else {
            writer = try HashingFileWriter(url: workDir.appendingPathComponent(name))
            members[name] = writer
        }
        try writer.appendLine(line)
        memberRecordCounts[name, default: 0] += 1
    }

    /// Whether a blob with this SHA-256 is already in the part.
    public func hasBlob(_ sha256: String) -> Bool {
        FileManager.default.fileExists(atPath: blobDir.appendingPathComponent(sha256).path)
    }

    /// Streams bytes into a content-addressed blob. `produce` is called with a
    /// sink to push chunks to; returns the blob's SHA-256 and size.
    @discardableResult
    public func addBlob(_ produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws -> (sha256: String, size: UInt64) {
        let temp = blobDir.appendingPathComponent(".incoming")
        let writer = try HashingFileWriter(url: temp)
        try produce { try writer.append($0) }
        let (sha, size) = try writer.finish()
        let final = blobDir.appendingPathComponent(sha)
        if FileManager.default.fileExists(atPath: final.path) {
            unlink(temp.path)
        } else {
            guard rename(temp.path, final.path) == 0 else { throw FerryError.posix(final.path, "rename") }
            blobCount += 1
            blobBytes += size
        }
        return (sha, size)
    }

    /// Copies a local file into the part as a blob.
    @discardableResult
    public func addBlob(copyingFrom url: URL) throws -> (sha256: String, size: UInt64) {
        try addBlob { sink in try FileChunks.read(url, sink) }
    }

    /// Packs the part, makes it durable and returns its manifest. The writer is spent afterwards.
    @discardableResult
    public func finish(cursor: [String: String]? = nil) throws -> Manifest {
        var infos: [MemberInfo] = []
        for name in Self.memberOrder(Array(members.keys)) {
            let writer = members[name]!
            let (sha, bytes) = try writer.finish()
            infos.append(MemberInfo(name: name, records: memberRecordCounts[name] ?? 0, bytes: bytes, sha256: sha))
        }
        let manifest = Manifest(
            stage: stage, sourceSystem: sourceSystem, createdAt: Clock.nowISO8601(), part: part,
            members: infos, blobs: BlobSummary(count: blobCount, bytes: blobBytes), cursor: cursor)
        let pretty = JSONEncoder()
        pretty.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let manifestData = try pretty.encode(manifest) + Data("\n".utf8)

        let temp = DurableFile.temporarySibling(of: destination)
        let fd = open(temp.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FerryError.posix(temp.path, "create") }
        do {
            let archive = try ArchiveWriter(fd: fd, path: temp.path, zstdLevel: zstdLevel, encryption: encryption)
            try archive.addFile(named: Manifest.memberName, data: manifestData)
            for info in infos {
                try archive.addFile(named: info.name, from: workDir.appendingPathComponent(info.name), size: info.bytes)
            }
            let blobNames = try FileManager.default.contentsOfDirectory(atPath: blobDir.path)
                .filter { !$0.hasPrefix(".") }.sorted()
            for name in blobNames {
                let url = blobDir.appendingPathComponent(name)
                let size = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? UInt64 ?? 0
                try archive.addFile(named: "blobs/" + name, from: url, size: size)
            }
            try archive.close()
            guard fsync(fd) == 0 else { throw FerryError.posix(temp.path, "fsync") }
            close(fd)
        } catch {
            close(fd)
            unlink(temp.path)
            throw error
        }
        try DurableFile.commit(temp, to: destination)
        members.removeAll()
        try? FileManager.default.removeItem(at: workDir)
        return manifest
    }

    /// Entity members in dependency order, then rejects, merges, changes.
    static func memberOrder(_ names: [String]) -> [String] {
        func rank(_ name: String) -> Int {
            if let entity = EntityType(memberName: name) { return entity.order }
            switch name {
            case Reject.memberName: return 100
            case Merge.memberName: return 101
            case Skip.memberName: return 102
            case FieldChange.memberName: return 103
            case Deletion.memberName: return 104
            default: return 200
            }
        }
        return names.sorted { (rank($0), $0) < (rank($1), $1) }
    }
}

/// A thin, typed wrapper over libarchive's writer: pax tar, zstd filter, fixed
/// metadata (mtime 0, mode 0644, no owner) so packing is reproducible. With
/// encryption on, libarchive's output goes through an age encryptor on its
/// way to the file, so plaintext never touches the disk.
final class ArchiveWriter {
    private let archive: OpaquePointer
    private let path: String
    private var closed = false
    fileprivate let encryptor: AgeEncryptor?
    fileprivate var callbackError: Error?

    init(fd: Int32, path: String, zstdLevel: Int, encryption: BundleEncryption = .none) throws {
        guard let a = archive_write_new() else { throw FerryError.internalError("archive_write_new failed") }
        archive = a
        self.path = path
        if encryption.encryptOutput, let passphrase = encryption.passphrase {
            encryptor = try AgeEncryptor(passphrase: passphrase, workFactor: encryption.workFactor) { bytes in
                try DurableFile.writeAll(fd: fd, bytes, path: path)
            }
        } else {
            encryptor = nil
        }
        try check(archive_write_add_filter_zstd(a), "zstd filter (is libarchive built with zstd?)")
        try check(archive_write_set_filter_option(a, "zstd", "compression-level", String(zstdLevel)), "zstd level \(zstdLevel)")
        try check(archive_write_set_format_pax_restricted(a), "pax format")
        try check(archive_write_set_bytes_in_last_block(a, 1), "block padding")
        if encryptor != nil {
            try check(archive_write_open(a, Unmanaged.passUnretained(self).toOpaque(), nil, encryptingWriteCallback, nil), "open")
        } else {
            try check(archive_write_open_fd(a, fd), "open")
        }
    }

    deinit {
        if !closed { archive_write_close(archive) }
        archive_write_free(archive)
    }

    private func check(_ code: Int32, _ what: String) throws {
        if let callbackError { throw callbackError }
        if code < ARCHIVE_WARN {
            let message = archive_error_string(archive).map { String(cString: $0) } ?? "code \(code)"
            throw FerryError.io(path: path, detail: "libarchive \(what): \(message)")
        }
    }

    private func header(_ name: String, size: UInt64) throws {
        let entry = archive_entry_new()!
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, name)
        archive_entry_set_size(entry, la_int64_t(size))
        archive_entry_set_filetype(entry, archiveRegularFile)
        archive_entry_set_perm(entry, 0o644)
        archive_entry_set_mtime(entry, 0, 0)
        try check(archive_write_header(archive, entry), "header for \(name)")
    }

    private func data(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        let written = archive_write_data(archive, bytes.baseAddress, bytes.count)
        if written < 0 { try check(Int32(written), "data") }
    }

    func addFile(named name: String, data contents: Data) throws {
        try header(name, size: UInt64(contents.count))
        try contents.withUnsafeBytes { try data($0) }
        try check(archive_write_finish_entry(archive), "finish \(name)")
    }

    func addFile(named name: String, from url: URL, size: UInt64) throws {
        try header(name, size: size)
        try FileChunks.read(url) { try data($0) }
        try check(archive_write_finish_entry(archive), "finish \(name)")
    }

    func close() throws {
        closed = true
        try check(archive_write_close(archive), "close")
        try encryptor?.finish()
    }
}

/// libarchive's write callback when encrypting: compressed bytes in, age chunks out.
private func encryptingWriteCallback(_: OpaquePointer?, _ context: UnsafeMutableRawPointer?, _ buffer: UnsafeRawPointer?, _ length: Int) -> la_ssize_t {
    let writer = Unmanaged<ArchiveWriter>.fromOpaque(context!).takeUnretainedValue()
    do {
        try writer.encryptor!.write(UnsafeRawBufferPointer(start: buffer, count: length))
        return la_ssize_t(length)
    } catch {
        writer.callbackError = error
        return -1
    }
}

/// libarchive's AE_IFREG (a C macro Swift cannot import).
let archiveRegularFile: UInt32 = 0o100000
