@testable import FerryCore
import Foundation
import GRDB
import Testing

/// Retention and bundle checks: the other half of protecting migration data.
@Suite(.serialized)
struct RetentionAndBundleCheckTests {
    @Test func purgeWaitsForRetentionThenDeletesEverythingButTheTargetAndSaysWhat() throws {
        let run = try PipelineRun(partRecords: 300)
        _ = try run.runAll()
        let kept = try run.stage("verify", ["--purge"])
        #expect(kept.status == 0)
        #expect(kept.output.contains("retention: kept"), "\(kept.output)")
        #expect(FileManager.default.fileExists(atPath: run.stages.appendingPathComponent("extract/checkpoint.json").path))

        let dry = try run.stage("verify", ["--purge", "--older-than-days", "0", "--dry-run"])
        #expect(dry.output.contains("would delete"), "\(dry.output)")
        #expect(FileManager.default.fileExists(atPath: run.stages.appendingPathComponent("extract/checkpoint.json").path))

        let purged = try run.stage("verify", ["--purge", "--older-than-days", "0"])
        #expect(purged.status == 0, "\(purged.output)")
        #expect(purged.output.contains("extract/part-00001.tar.zst"))
        #expect(purged.output.contains("verify/records.csv"))
        for stage in ["extract", "dedupe", "map", "verify"] {
            let left = try FileManager.default.contentsOfDirectory(atPath: run.stages.appendingPathComponent(stage).path).filter { $0 != ".lock" }
            #expect(left.isEmpty, "\(stage) still holds \(left)")
        }
        #expect(FileManager.default.fileExists(atPath: run.target.path), "the target archive is the migrated help desk: kept")
    }

    @Test func bundleCheckVouchesForAGoodBundleAndRefusesAnAlteredOne() throws {
        let run = try PipelineRun(partRecords: 300)
        _ = try run.stage("extract")
        let part = try run.parts("extract")[0]
        let good = try run.stage("verify", ["--bundle", part.path])
        #expect(good.status == 0, "\(good.output)")
        #expect(good.output.contains("intact"))
        var bytes = try Data(contentsOf: part)
        bytes[bytes.count / 2] ^= 0xff
        let altered = run.root.appendingPathComponent("altered.tar.zst")
        try bytes.write(to: altered)
        let bad = try run.stage("verify", ["--bundle", altered.path])
        #expect(bad.status == 65, "\(bad.output)")
    }
}

/// Encryption at rest: the age format, streaming, wrong keys, tampering, the
/// standard `age` tool both ways, and a whole pipeline run with encrypted parts.
struct EncryptionTests {
    static let passphrase = Data("correct horse battery staple".utf8)

    static func encrypt(_ plain: Data, passphrase: Data = passphrase, piece: Int = 10_000) throws -> Data {
        var out = Data()
        let encryptor = try AgeEncryptor(passphrase: passphrase, workFactor: 10) { out.append(contentsOf: $0) }
        var offset = 0
        while offset < plain.count {
            let end = min(plain.count, offset + piece)
            try plain[offset..<end].withUnsafeBytes { try encryptor.write($0) }
            offset = end
        }
        try encryptor.finish()
        return out
    }

    static func decrypt(_ sealed: Data, passphrase: Data = passphrase) throws -> Data {
        var offset = 0
        let decryptor = try AgeDecryptor(passphrase: passphrase) { count in
            let end = min(sealed.count, offset + count)
            defer { offset = end }
            return sealed[offset..<end]
        }
        var out = Data()
        while let chunk = try decryptor.nextChunk() { out.append(chunk) }
        return out
    }

    @Test(arguments: [0, 1, 65_535, 65_536, 65_537, 200_000])
    func roundTripsEverySize(_ size: Int) throws {
        let plain = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let sealed = try Self.encrypt(plain)
        #expect(sealed.starts(with: Data("age-encryption.org/v1\n-> scrypt ".utf8)))
        #expect(try Self.decrypt(sealed) == plain)
    }

    @Test func wrongPassphraseIsRefusedClearly() throws {
        let sealed = try Self.encrypt(Data("secret".utf8))
        #expect(throws: AgeError.wrongPassphrase) { try Self.decrypt(sealed, passphrase: Data("nope".utf8)) }
    }

    @Test func anAlteredOrCutFileIsRefused() throws {
        let sealed = try Self.encrypt(Data(repeating: 7, count: 150_000))
        var altered = sealed
        altered[altered.count - 100] ^= 0x01
        #expect(throws: (any Error).self) { try Self.decrypt(altered) }
        #expect(throws: (any Error).self) { try Self.decrypt(sealed.prefix(sealed.count - 70_000)) }
        // Dropping a whole trailing chunk must not pass as a shorter file.
        let header = sealed.count - 150_000 - 3 * 16
        #expect(throws: (any Error).self) { try Self.decrypt(sealed.prefix(header + 2 * (65_536 + 16))) }
    }

    static var ageInterop: Bool {
        PipelineRun.hasTool("age") && PipelineRun.hasTool("python3")
            && (try? PipelineRun.shell("python3 -c 'import pexpect' && echo ok").contains("ok")) == true
    }

    /// Drives `age`, which reads passphrases from a terminal only, through a pseudo-terminal.
    static func runAge(_ mode: String, _ input: URL, _ output: URL) throws -> String {
        let script = """
            import pexpect, sys
            mode, pw, inp, out = sys.argv[1:5]
            args = ['-d', '-o', out, inp] if mode == 'd' else ['-p', '-o', out, inp]
            child = pexpect.spawn('age', args, timeout=120)
            child.expect('(?i)passphrase'); child.sendline(pw)
            if mode == 'e':
                child.expect('(?i)confirm'); child.sendline(pw)
            child.expect(pexpect.EOF); child.close(); print('exit', child.exitstatus)
            """
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("age-\(UUID().uuidString).py")
        try script.write(to: file, atomically: true, encoding: .utf8)
        return try PipelineRun.shell("python3 '\(file.path)' \(mode) '\(String(decoding: passphrase, as: UTF8.self))' '\(input.path)' '\(output.path)'")
    }

    @Test(.enabled(if: EncryptionTests.ageInterop))
    func theStandardAgeToolReadsFerrysFilesAndFerryReadsAges() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("age-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let plain = Data((0..<150_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        try Self.encrypt(plain).write(to: dir.appendingPathComponent("ferry.age"))
        #expect(try Self.runAge("d", dir.appendingPathComponent("ferry.age"), dir.appendingPathComponent("ferry.out")).contains("exit 0"))
        #expect(try Data(contentsOf: dir.appendingPathComponent("ferry.out")) == plain)

        try plain.write(to: dir.appendingPathComponent("plain"))
        #expect(try Self.runAge("e", dir.appendingPathComponent("plain"), dir.appendingPathComponent("age.age")).contains("exit 0"))
        #expect(try Self.decrypt(Data(contentsOf: dir.appendingPathComponent("age.age"))) == plain)
    }

    /// The whole pipeline with encrypted parts; a wrong passphrase stops the next
    /// stage with a clear error and nothing written; the passphrase appears in no output.
    @Test func encryptedPipelineVerifiesCleanAndNeverLeaksThePassphrase() throws {
        let secret = "planted-\(UUID().uuidString)"
        let run = try PipelineRun(partRecords: 300, environment: ["FERRY_BUNDLE_PASSPHRASE": secret])
        try run.editConfig {
            $0.replacingOccurrences(of: "  encrypt: false\n", with: "  encrypt: true\n  scrypt_work_factor: 10\n")
              .replacingOccurrences(of: "  encrypt_attachments: false", with: "  encrypt_attachments: true")
        }
        var outputs = ""
        for stage in ["extract", "dedupe"] {
            let result = try run.stage(stage)
            #expect([0, 3].contains(result.status), "\(stage): \(result.output)")
            outputs += result.output
        }
        let part = try run.parts("dedupe")[0]
        #expect(Age.isEncrypted(part))
        #expect(throws: FerryError.self) { try BundleReader(url: part) }

        let wrong = try PipelineRun(reusing: run, environment: ["FERRY_BUNDLE_PASSPHRASE": "not-it"])
        let refused = try wrong.stage("map")
        #expect(refused.status == 2, "\(refused.output)")
        #expect(refused.output.contains("wrong passphrase"))
        #expect(try run.parts("map", requireComplete: false).isEmpty)

        for stage in ["map", "load", "verify"] {
            let result = try run.stage(stage)
            #expect(result.status == 0, "\(stage): \(result.output)")
            outputs += result.output
        }
        #expect(!outputs.contains(secret))
        // Attachment bytes are stored encrypted in the archive, and verify read them back through the passphrase.
        let queue = try DatabaseQueue(path: run.target.path)
        let plainBlobs = try queue.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM blobs WHERE encrypted = 0 OR substr(data, 1, 21) != CAST('age-encryption.org/v1' AS BLOB)") }
        let blobs = try queue.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM blobs") }
        try queue.close()
        #expect(plainBlobs == 0)
        #expect((blobs ?? 0) > 0)
        // Every file the run wrote, decrypted where it is a bundle.
        let files = FileManager.default.enumerator(at: run.root, includingPropertiesForKeys: nil)!.compactMap { $0 as? URL }
        let encryption = BundleEncryption(encryptOutput: false, passphrase: Data(secret.utf8))
        for file in files where (try? file.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            let bytes = try Data(contentsOf: file)
            #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(file.path) holds the passphrase")
            if file.lastPathComponent.hasPrefix("part-") {
                try BundleReader(url: file, encryption: encryption).read(line: { _, line, _ in
                    #expect(line.range(of: Data(secret.utf8)) == nil)
                })
            }
        }
    }
}
