import Crypto
import Foundation

/// Incremental SHA-256, used for bundle members, blobs and content hashes.
public struct SHA256Stream {
    private var hasher = SHA256()
    public private(set) var byteCount: UInt64 = 0

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: bytes)
        byteCount += UInt64(bytes.count)
    }

    public mutating func update(_ data: Data) {
        data.withUnsafeBytes { update($0) }
    }

    public func hexDigest() -> String {
        hasher.finalize().hexString
    }
}

extension Digest {
    /// Lower-case hexadecimal, the form used in manifests, blob names and the ID map.
    public var hexString: String {
        var out = ""
        out.reserveCapacity(Self.byteCount * 2)
        let digits = Array("0123456789abcdef".utf8)
        var bytes = [UInt8]()
        bytes.reserveCapacity(Self.byteCount * 2)
        for byte in self {
            bytes.append(digits[Int(byte >> 4)])
            bytes.append(digits[Int(byte & 0x0f)])
        }
        out = String(decoding: bytes, as: UTF8.self)
        return out
    }
}

public enum Hash {
    /// SHA-256 of bytes in memory, as lower-case hex.
    public static func sha256(_ data: Data) -> String {
        SHA256.hash(data: data).hexString
    }

    public static func sha256(_ string: String) -> String {
        sha256(Data(string.utf8))
    }

    /// Streams a file through SHA-256 without loading it.
    public static func sha256(fileAt url: URL) throws -> (sha256: String, size: UInt64) {
        var stream = SHA256Stream()
        try FileChunks.read(url) { stream.update($0) }
        return (stream.hexDigest(), stream.byteCount)
    }
}
