import FerryCore
import Foundation

/// Everything a stage needs to know about the run: the configuration, where
/// relative paths start, and where the stage folders are.
public struct PipelineContext: Sendable {
    public let config: PipelineConfig
    /// The folder holding pipeline.yml; relative paths in it start here.
    public let baseDirectory: URL
    public let stagesRoot: URL
    /// The configuration file's path as given, for messages that tell the user what to edit.
    public let configName: String
    /// Whether parts are encrypted, and the passphrase (from the environment or a file).
    public let encryption: BundleEncryption

    public init(config: PipelineConfig, baseDirectory: URL, stagesRoot: URL? = nil, configName: String = "pipeline.yml", encryption: BundleEncryption = .none) {
        self.config = config
        self.configName = configName
        self.encryption = encryption
        self.baseDirectory = baseDirectory
        self.stagesRoot = stagesRoot ?? Self.resolve(config.stagesDir, against: baseDirectory)
    }

    /// Loads pipeline.yml; `stagesDir` overrides the file's `stages_dir`.
    public static func load(configPath: String, stagesDir: String? = nil) throws -> PipelineContext {
        let url = URL(fileURLWithPath: configPath).standardizedFileURL
        let config = try PipelineConfig.load(from: url)
        let base = url.deletingLastPathComponent()
        let root = stagesDir.map { resolve($0, against: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)) }
        let encryption = try BundleEncryption.resolve(config.bundle, baseDirectory: base, configName: configPath)
        return PipelineContext(config: config, baseDirectory: base, stagesRoot: root, configName: configPath, encryption: encryption)
    }

    public func resolve(_ path: String) -> URL { Self.resolve(path, against: baseDirectory) }

    static func resolve(_ path: String, against base: URL) -> URL {
        path.hasPrefix("/") ? URL(fileURLWithPath: path).standardizedFileURL : base.appendingPathComponent(path).standardizedFileURL
    }

    public func stage(_ name: StageName) -> StageDirectory { StageDirectory(root: stagesRoot, name: name.rawValue) }

    /// Opens a part of any stage, decrypting it if it is encrypted.
    public func openBundle(_ url: URL) throws -> BundleReader {
        try BundleReader(url: url, encryption: encryption, maxExpansion: UInt64(config.bundle.maxExpansion))
    }
}

public enum StageName: String, CaseIterable, Sendable {
    case extract, dedupe, map, load, verify

    /// The stage whose output this one reads.
    public var previous: StageName? {
        switch self {
        case .extract: return nil
        case .dedupe: return .extract
        case .map: return .dedupe
        case .load, .verify: return .map
        }
    }
}

/// What a stage run did, for the executable to print and turn into an exit code.
public struct StageResult: Sendable {
    public var stage: StageName
    public var counts: StageCounts
    public var parts: Int
    /// The input was unchanged and the output already complete: nothing was done.
    public var upToDate: Bool
    /// Lines for stdout after the run (the counts table, report paths).
    public var summary: [String]
    public var exitStatus: ExitStatus

    public init(stage: StageName, counts: StageCounts = StageCounts(), parts: Int = 0, upToDate: Bool = false, summary: [String] = [], exitStatus: ExitStatus = .ok) {
        self.stage = stage; self.counts = counts; self.parts = parts; self.upToDate = upToDate
        self.summary = summary; self.exitStatus = exitStatus
    }

    /// The exit status the counts call for: rejects make it 3, a count that does not add up is a bug.
    static func status(for counts: StageCounts) -> ExitStatus {
        if !counts.reconciles { return .software }
        return counts.rejectedTotal > 0 ? .finishedWithRejects : .ok
    }

    static func summaryLines(_ stage: StageName, _ counts: StageCounts, parts: Int, upToDate: Bool) -> [String] {
        var lines: [String] = []
        if upToDate { lines.append("ferry-\(stage.rawValue): input and configuration unchanged since the last complete run; nothing to do") }
        lines.append(counts.table())
        let t = counts.total
        let verdict = counts.reconciles ? "reconciled" : "NOT RECONCILED (a bug: please report it)"
        lines.append("\(verdict): read \(t.read) + created \(t.created) = written \(t.written) + merged \(t.merged) + rejected \(t.rejected) + filtered \(t.filtered); \(parts) part(s)")
        if counts.unattributedRejects > 0 { lines.append("plus \(counts.unattributedRejects) line(s) rejected before their kind could be known") }
        if counts.rejectedTotal > 0 { lines.append("rejects are listed in rejects.ndjson of stages/\(stage.rawValue)/part-*.tar.zst (bsdtar -xOf PART rejects.ndjson | jq .)") }
        return lines
    }
}
