import Foundation

/// The passphrase bundles are encrypted with, and whether new bundles are.
///
/// The passphrase comes only from the environment or a file (never from
/// pipeline.yml or the command line, which end up in shell histories, process
/// lists and reports) and is never printed: `description` hides it.
public struct BundleEncryption: Sendable, CustomStringConvertible {
    /// Encrypt the parts this run writes.
    public let encryptOutput: Bool
    package let passphrase: Data?
    /// log2 of scrypt's N for new files.
    public let workFactor: Int

    public init(encryptOutput: Bool, passphrase: Data?, workFactor: Int = 16) {
        self.encryptOutput = encryptOutput
        self.passphrase = passphrase
        self.workFactor = workFactor
    }

    public static let none = BundleEncryption(encryptOutput: false, passphrase: nil)

    public var description: String {
        "BundleEncryption(encryptOutput: \(encryptOutput), passphrase: \(passphrase == nil ? "none" : "set, not shown"))"
    }

    /// The passphrase for reading an encrypted bundle, or the error that says how to give one.
    func passphraseForReading(_ path: String) throws -> Data {
        guard let passphrase else {
            throw FerryError.config(file: path, detail: "the bundle is encrypted (age format) and no passphrase is set",
                                    hint: "export FERRY_BUNDLE_PASSPHRASE (or name a file holding it in bundle.passphrase_file)")
        }
        return passphrase
    }

    /// Resolves the settings of pipeline.yml's `bundle` section against the environment.
    public static func resolve(_ settings: BundleSettings, baseDirectory: URL, environment: [String: String] = ProcessInfo.processInfo.environment, configName: String) throws -> BundleEncryption {
        var passphrase: Data?
        if let file = settings.passphraseFile {
            let url = file.hasPrefix("/") ? URL(fileURLWithPath: file) : baseDirectory.appendingPathComponent(file)
            guard var text = try? String(contentsOf: url, encoding: .utf8) else {
                throw FerryError.config(file: configName, detail: "bundle.passphrase_file: cannot read \(url.path)", hint: "create the file (readable only by you: chmod 600) or remove the key")
            }
            while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
            guard !text.isEmpty else {
                throw FerryError.config(file: configName, detail: "bundle.passphrase_file: \(url.path) is empty", hint: "put the passphrase in the file (one line)")
            }
            passphrase = Data(text.utf8)
        } else if let value = environment[settings.passphraseEnv], !value.isEmpty {
            passphrase = Data(value.utf8)
        }
        if settings.encrypt && passphrase == nil {
            throw FerryError.config(file: configName, detail: "bundle.encrypt is true but no passphrase is set",
                                    hint: "export \(settings.passphraseEnv)=... (or set bundle.passphrase_file to a file holding it)")
        }
        return BundleEncryption(encryptOutput: settings.encrypt, passphrase: passphrase, workFactor: settings.scryptWorkFactor)
    }
}
