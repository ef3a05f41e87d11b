import Crypto
import _CryptoExtras
import Foundation

/// Encryption at rest in the age v1 format (https://age-encryption.org/v1),
/// passphrase recipient (scrypt), so another team can decrypt a bundle with the
/// standard `age` tool: `age -d part-00001.tar.zst | bsdtar -tf -`. Ferry
/// streams both ways in 64 KiB chunks; nothing is held whole in memory.
///
/// The file: a text header (version line, one `-> scrypt <salt> <log2 N>`
/// stanza whose body is the 16-byte file key sealed with ChaCha20-Poly1305
/// under scrypt(passphrase), and `--- <HMAC-SHA256 of the header>`), then a
/// 16-byte nonce, then the payload as ChaCha20-Poly1305 chunks (STREAM: an
/// 11-byte counter and a last-chunk flag as the nonce) under a key derived
/// from the file key with HKDF-SHA256. Tampering with any byte fails the read.
public enum Age {
    static let version = "age-encryption.org/v1"
    static let chunkSize = 64 * 1024
    /// Plaintext bytes per payload chunk (each sealed chunk is 16 bytes longer).
    public static let payloadChunkSize = chunkSize
    static let tagSize = 16
    /// The largest work factor Ferry accepts when decrypting (age's own limit is 22).
    static let maxWorkFactor = 22

    /// Whether a file starts like an age file (checked before choosing how to read it).
    public static func isEncrypted(_ url: URL) -> Bool {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return false }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: version.utf8.count + 1)) ?? Data()
        return head == Data((version + "\n").utf8)
    }

    static func base64(_ data: Data) -> String {
        var text = data.base64EncodedString()
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    static func unbase64(_ text: Substring) -> Data? {
        guard !text.contains("=") else { return nil }
        var padded = String(text)
        while padded.count % 4 != 0 { padded += "=" }
        return Data(base64Encoded: padded)
    }

    static func scryptKey(_ passphrase: Data, salt: Data, workFactor: Int) throws -> SymmetricKey {
        let fullSalt = Data("age-encryption.org/v1/scrypt".utf8) + salt
        return try KDF.Scrypt.deriveKey(from: passphrase, salt: fullSalt, outputByteCount: 32,
                                        rounds: 1 << workFactor, blockSize: 8, parallelism: 1)
    }

    static func headerKey(_ fileKey: SymmetricKey) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: fileKey, salt: Data(), info: Data("header".utf8), outputByteCount: 32)
    }

    static func payloadKey(_ fileKey: SymmetricKey, nonce: Data) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: fileKey, salt: nonce, info: Data("payload".utf8), outputByteCount: 32)
    }

    static func chunkNonce(_ counter: UInt64, last: Bool) throws -> ChaChaPoly.Nonce {
        var bytes = [UInt8](repeating: 0, count: 12)
        var c = counter
        for i in stride(from: 10, through: 3, by: -1) { bytes[i] = UInt8(c & 0xff); c >>= 8 }
        bytes[11] = last ? 1 : 0
        return try ChaChaPoly.Nonce(data: bytes)
    }

    static func random(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}

/// Why a decryption failed, in words a person can act on.
public enum AgeError: Error, CustomStringConvertible, Equatable {
    case notAgeFile
    case unsupportedRecipient(String)
    case workFactorTooHigh(Int)
    case wrongPassphrase
    case headerTampered
    case payloadTampered
    case truncated

    public var description: String {
        switch self {
        case .notAgeFile: return "not an age-encrypted file"
        case .unsupportedRecipient(let kind): return "encrypted for a \(kind) recipient; Ferry decrypts passphrase (scrypt) files only"
        case .workFactorTooHigh(let n): return "scrypt work factor \(n) is above the limit \(Age.maxWorkFactor)"
        case .wrongPassphrase: return "wrong passphrase: this bundle was encrypted with another one"
        case .headerTampered: return "the encryption header was altered"
        case .payloadTampered: return "the encrypted content was altered or damaged"
        case .truncated: return "the encrypted file is cut short"
        }
    }
}

/// Encrypts a stream: write plaintext in any sizes, then `finish`.
public final class AgeEncryptor {
    private var output: (UnsafeRawBufferPointer) throws -> Void
    private let key: SymmetricKey
    private var buffer = Data()
    private var counter: UInt64 = 0
    private var finished = false

    /// Writes the header at once. `workFactor` is log2 of scrypt's N (age's default is 18).
    public init(passphrase: Data, workFactor: Int = 16, output: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        self.output = output
        let fileKey = SymmetricKey(data: Age.random(16))
        let salt = Age.random(16)
        let wrapKey = try Age.scryptKey(passphrase, salt: salt, workFactor: workFactor)
        let sealed = try ChaChaPoly.seal(fileKey.withUnsafeBytes { Data($0) }, using: wrapKey, nonce: ChaChaPoly.Nonce(data: Data(count: 12)))
        var header = "\(Age.version)\n-> scrypt \(Age.base64(salt)) \(workFactor)\n\(Age.base64(sealed.ciphertext + sealed.tag))\n---"
        let mac = HMAC<SHA256>.authenticationCode(for: Data(header.utf8), using: Age.headerKey(fileKey))
        header += " \(Age.base64(Data(mac)))\n"
        let nonce = Age.random(16)
        key = Age.payloadKey(fileKey, nonce: nonce)
        try Data(header.utf8).withUnsafeBytes(output)
        try nonce.withUnsafeBytes(output)
    }

    /// Sends what follows the header somewhere else (once the header's size is known).
    public func redirect(to output: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        self.output = output
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            if buffer.count == Age.chunkSize { try seal(last: false) }
            let take = min(Age.chunkSize - buffer.count, bytes.count - offset)
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)]))
            offset += take
        }
    }

    /// Seals the last chunk. A full chunk is held back until more data or the
    /// end arrives, because only the last chunk may carry the last-chunk flag.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        try seal(last: true)
    }

    private func seal(last: Bool) throws {
        let box = try ChaChaPoly.seal(buffer, using: key, nonce: Age.chunkNonce(counter, last: last))
        try (box.ciphertext + box.tag).withUnsafeBytes(output)
        counter += 1
        buffer.removeAll(keepingCapacity: true)
    }
}

/// Decrypts a stream, pulling ciphertext from `input` (which returns up to the
/// requested number of bytes, or fewer only at the end).
public final class AgeDecryptor {
    private let input: (Int) throws -> Data
    private var pending = Data()
    private var key: SymmetricKey!
    private var counter: UInt64 = 0
    private var done = false

    public init(passphrase: Data, input: @escaping (Int) throws -> Data) throws {
        self.input = input
        let (headerText, macLine) = try readHeader()
        let lines = headerText.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.first == Substring(Age.version) else { throw AgeError.notAgeFile }
        guard lines.count >= 4 else { throw AgeError.headerTampered }
        let stanza = lines[1].split(separator: " ")
        guard stanza.first == "->" else { throw AgeError.headerTampered }
        guard stanza.count == 4, stanza[1] == "scrypt" else { throw AgeError.unsupportedRecipient(stanza.count > 1 ? String(stanza[1]) : "unknown") }
        guard let salt = Age.unbase64(stanza[2]), salt.count == 16, let workFactor = Int(stanza[3]), workFactor > 0 else { throw AgeError.headerTampered }
        guard workFactor <= Age.maxWorkFactor else { throw AgeError.workFactorTooHigh(workFactor) }
        guard let body = Age.unbase64(lines[2]), body.count == 32, lines[3] == "---" else { throw AgeError.headerTampered }
        let wrapKey = try Age.scryptKey(passphrase, salt: salt, workFactor: workFactor)
        let fileKeyBytes: Data
        do {
            fileKeyBytes = try ChaChaPoly.open(ChaChaPoly.SealedBox(nonce: ChaChaPoly.Nonce(data: Data(count: 12)), ciphertext: body.prefix(16), tag: body.suffix(16)), using: wrapKey)
        } catch {
            throw AgeError.wrongPassphrase
        }
        let fileKey = SymmetricKey(data: fileKeyBytes)
        guard let mac = Age.unbase64(macLine.dropFirst(4)),
              HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Data(headerText.utf8), using: Age.headerKey(fileKey)) else {
            throw AgeError.headerTampered
        }
        let nonce = try take(16)
        guard nonce.count == 16 else { throw AgeError.truncated }
        key = Age.payloadKey(fileKey, nonce: nonce)
    }

    /// Reads the header text up to and including "---" (what the MAC covers) and the MAC line.
    private func readHeader() throws -> (String, Substring) {
        var text = Data()
        while text.count < 64 * 1024 {
            let more = try input(256)
            if more.isEmpty { throw AgeError.truncated }
            text.append(more)
            guard let range = text.range(of: Data("\n--- ".utf8)),
                  let end = text[range.upperBound...].firstIndex(of: 0x0a) else { continue }
            let header = String(decoding: text[..<(range.lowerBound + 4)], as: UTF8.self)
            let macLine = String(decoding: text[(range.lowerBound + 1)..<end], as: UTF8.self)
            pending = Data(text[(end + 1)...])
            return (header, Substring(macLine))
        }
        throw AgeError.notAgeFile
    }

    private func take(_ count: Int) throws -> Data {
        while pending.count < count {
            let more = try input(max(count - pending.count, Age.chunkSize))
            if more.isEmpty { break }
            pending.append(more)
        }
        let out = pending.prefix(count)
        pending = Data(pending.dropFirst(out.count))
        return Data(out)
    }

    /// The next plaintext chunk, or nil at the end (after the last chunk checked out).
    public func nextChunk() throws -> Data? {
        guard !done else { return nil }
        // One byte past a full chunk tells whether this chunk is the last.
        let sealed = try take(Age.chunkSize + Age.tagSize + 1)
        let isLast = sealed.count <= Age.chunkSize + Age.tagSize
        let chunk = isLast ? sealed : sealed.prefix(Age.chunkSize + Age.tagSize)
        if !isLast { pending = sealed.suffix(1) + pending }
        guard chunk.count >= Age.tagSize else { throw AgeError.truncated }
        let plain: Data
        do {
            plain = try ChaChaPoly.open(ChaChaPoly.SealedBox(nonce: Age.chunkNonce(counter, last: isLast), ciphertext: chunk.dropLast(Age.tagSize), tag: chunk.suffix(Age.tagSize)), using: key)
        } catch {
            throw isLast ? AgeError.truncated : AgeError.payloadTampered
        }
        counter += 1
        if isLast {
            done = true
            if plain.isEmpty && counter > 1 { throw AgeError.payloadTampered }
        }
        return plain
    }
}
