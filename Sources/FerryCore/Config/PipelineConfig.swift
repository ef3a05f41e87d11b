import Foundation
import Yams

/// `pipeline.yml`, decoded. Every section has defaults so a minimal file works;
/// docs/pipeline-reference.md describes each key.
public struct PipelineConfig: Codable, Equatable, Sendable {
    public var version: Int
    /// Folder holding one sub-folder per stage. Relative paths are relative to pipeline.yml.
    public var stagesDir: String
    public var bundle: BundleSettings
    public var source: SourceSettings
    public var dedupe: DedupeSettings
    public var map: MapSettings
    public var target: TargetSettings
    public var retention: RetentionSettings

    enum CodingKeys: String, CodingKey {
        case version, stagesDir = "stages_dir", bundle, source, dedupe, map, target, retention
    }

    public init(version: Int = 1, stagesDir: String = "stages", bundle: BundleSettings = .init(), source: SourceSettings = .init(), dedupe: DedupeSettings = .init(), map: MapSettings = .init(), target: TargetSettings = .init(), retention: RetentionSettings = .init()) {
        self.version = version; self.stagesDir = stagesDir; self.bundle = bundle; self.source = source
        self.dedupe = dedupe; self.map = map; self.target = target; self.retention = retention
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decodeIfPresent(Int.self, forKey: .version) ?? 1
        stagesDir = try c.decodeIfPresent(String.self, forKey: .stagesDir) ?? "stages"
        bundle = try c.decodeIfPresent(BundleSettings.self, forKey: .bundle) ?? .init()
        source = try c.decodeIfPresent(SourceSettings.self, forKey: .source) ?? .init()
        dedupe = try c.decodeIfPresent(DedupeSettings.self, forKey: .dedupe) ?? .init()
        map = try c.decodeIfPresent(MapSettings.self, forKey: .map) ?? .init()
        target = try c.decodeIfPresent(TargetSettings.self, forKey: .target) ?? .init()
        retention = try c.decodeIfPresent(RetentionSettings.self, forKey: .retention) ?? .init()
    }

    /// Loads and validates pipeline.yml; errors name the file, the key path and what to do.
    public static func load(from url: URL) throws -> PipelineConfig {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw FerryError.config(file: url.path, detail: "cannot read the file", hint: "pass --config with the path of your pipeline.yml")
        }
        let text = String(decoding: data, as: UTF8.self)
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw FerryError.config(file: url.path, detail: "the file is empty", hint: "start from the pipeline.yml in Ferry's repository; docs/pipeline-reference.md lists every key")
        }
        try checkKeys(text, file: url.path)
        let config: PipelineConfig
        do {
            config = try YAMLDecoder().decode(PipelineConfig.self, from: text)
        } catch let error as DecodingError {
            var reason: String
            var hint = "fix that key; docs/pipeline-reference.md lists every key with an example"
            if case .dataCorrupted(let context) = error { reason = context.debugDescription } else { reason = error.reason }
            // "Cannot initialize DeletionPolicy from invalid String value purge" -> the accepted values.
            if let match = reason.range(of: #"^Cannot initialize (\w+) from invalid \w+ value (.*)$"#, options: .regularExpression) {
                let words = reason[match].split(separator: " ")
                let typeName = String(words[2])
                reason = "\"\(words.dropFirst(7).joined(separator: " "))\" is not accepted"
                if let accepted = acceptedValues[typeName] { hint = "the accepted values are: \(accepted.joined(separator: ", "))" }
            }
            let line = Self.line(of: error.fieldPath, in: text).map { " (line \($0))" } ?? ""
            throw FerryError.config(file: url.path, detail: "\(error.fieldPath.isEmpty ? "(top level)" : error.fieldPath): \(reason)\(line)", hint: hint)
        } catch {
            throw FerryError.config(file: url.path, detail: "not valid YAML: \(error)", hint: "check indentation and quoting near the place named")
        }
        try config.validate(file: url.path)
        return config
    }

    /// The keys each section may hold. A misspelt key would otherwise be
    /// ignored silently and its default used, which is how mappings go wrong.
    /// Sections whose keys are the user's own values (statuses, groups...) are not listed.
    static let knownKeys: [String: [String]] = [
        "": ["version", "stages_dir", "bundle", "source", "dedupe", "map", "target", "retention"],
        "retention": ["days", "include_target"],
        "bundle": ["part_records", "zstd_level", "encrypt", "passphrase_env", "passphrase_file", "scrypt_work_factor", "max_expansion"],
        "source": ["type", "path", "system", "rt", "zendesk"],
        "source.rt": RTSettings.keys,
        "source.zendesk": ZendeskAPISettings.keys,
        "dedupe": ["merge_users_by_email", "merge_organizations"],
        "map": ["statuses", "priorities", "types", "agents", "groups", "custom_fields", "missing_users", "filters", "options"],
        "map.agents": ["default", "map", "reassign_inactive"],
        "map.custom_fields": ["fields", "unlisted", "unconvertible", "create_missing"],
        "map.custom_fields.fields.*": FieldTarget.keyNames,
        "map.filters": TicketFilters.keyNames,
        "map.options": MigrationOptions.keyNames,
        "target": ["type", "path", "deletions", "encrypt_attachments", "kb_links", "rt", "zendesk"],
        "target.kb_links": ["url", "source_hosts", "in_comments"],
        "target.rt": RTSettings.keys,
        "target.zendesk": ZendeskAPISettings.keys,
    ]

    /// The values each enumerated setting accepts, by Swift type name, for errors.
    static let acceptedValues: [String: [String]] = [
        "MissingUserPolicy": ["placeholder", "reject"],
        "DeletionPolicy": ["keep", "mark", "delete"],
        "Unlisted": ["keep", "drop", "error"],
        "Unconvertible": ["note", "reject"],
        "InlineImages": ["keep", "attachments"],
        "AttachmentPolicy": ["all", "none"],
        "EventPolicy": ["note", "drop"],
        "InactiveUsers": ["keep", "skip"],
        "FieldType": FieldType.allCases.map(\.rawValue),
    ]

    /// The line of a dotted key path in the YAML text, for error messages.
    static func line(of path: String, in text: String) -> Int? {
        guard !path.isEmpty, var node = try? Yams.compose(yaml: text) else { return nil }
        var line: Int?
        for component in path.split(separator: ".") {
            if let mapping = node.mapping, let entry = mapping.first(where: { $0.key.string == String(component) }) {
                line = entry.key.mark?.line
                node = entry.value
            } else if let sequence = node.sequence, let index = Int(component), sequence.indices.contains(index) {
                node = sequence[index]
                line = node.mark?.line
            } else {
                break
            }
        }
        return line
    }

    static func checkKeys(_ text: String, file: String) throws {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw FerryError.config(file: file, detail: "not valid YAML: \(error)", hint: "check indentation and quoting near the line named")
        }
        guard let root else { return }
        func walk(_ node: Node, _ path: String) throws {
            // "a.b.*" covers every user-named key under a.b (the entries of custom_fields.fields).
            let wildcard = path.split(separator: ".").dropLast().joined(separator: ".") + ".*"
            guard let mapping = node.mapping else { return }
            guard let allowed = knownKeys[path] ?? knownKeys[wildcard] else {
                // The user's own keys (statuses, field titles...): only what lies below them is checked.
                for (key, value) in mapping { if let name = key.string { try walk(value, "\(path).\(name)") } }
                return
            }
            for (key, value) in mapping {
                guard let name = key.string else { continue }
                let childPath = path.isEmpty ? name : "\(path).\(name)"
                guard allowed.contains(name) else {
                    let line = key.mark.map { " (line \($0.line))" } ?? ""
                    let close = allowed.filter { $0.hasPrefix(String(name.prefix(3))) }
                    let suggestion = close.isEmpty ? "the keys here are: \(allowed.joined(separator: ", "))" : "did you mean \(close.joined(separator: " or "))?"
                    throw FerryError.config(file: file, detail: "\(childPath): unknown key\(line)", hint: suggestion)
                }
                try walk(value, childPath)
            }
        }
        try walk(root, "")
    }

    func validate(file: String) throws {
        guard version == 1 else {
            throw FerryError.config(file: file, detail: "version: \(version) is not supported", hint: "set version: 1")
        }
        guard bundle.partRecords >= 1 else {
            throw FerryError.config(file: file, detail: "bundle.part_records: must be at least 1", hint: "the default is 50000")
        }
        guard (10...Age.maxWorkFactor).contains(bundle.scryptWorkFactor) else {
            throw FerryError.config(file: file, detail: "bundle.scrypt_work_factor: \(bundle.scryptWorkFactor) is outside 10...\(Age.maxWorkFactor)", hint: "16 is a good default; age itself uses 18")
        }
        guard bundle.maxExpansion >= 10 else {
            throw FerryError.config(file: file, detail: "bundle.max_expansion: \(bundle.maxExpansion) is below 10", hint: "NDJSON compresses 5 to 20 times; the default is 1000")
        }
        try source.rt?.validate(file: file, section: "source")
        try source.zendesk?.validate(file: file, section: "source")
        try target.zendesk?.validate(file: file, section: "target")
        if source.type == "zendesk-api" && source.zendesk == nil {
            throw FerryError.config(file: file, detail: "source.type: zendesk-api needs a source.zendesk section", hint: "at least source.zendesk.subdomain (or url); docs/connectors/zendesk.md")
        }
        if target.type == "zendesk-api" && target.zendesk == nil {
            throw FerryError.config(file: file, detail: "target.type: zendesk-api needs a target.zendesk section", hint: "at least target.zendesk.subdomain (or url); docs/connectors/zendesk.md")
        }
        try target.rt?.validate(file: file, section: "target")
        if target.type == "rt" && target.rt == nil {
            throw FerryError.config(file: file, detail: "target.type: rt needs a target.rt section", hint: "at least target.rt.url; docs/connectors/rt.md")
        }
        if source.type == "rt" && source.rt == nil {
            throw FerryError.config(file: file, detail: "source.type: rt needs a source.rt section", hint: "at least source.rt.url; docs/connectors/rt.md")
        }
        if !map.customFields.createMissing, target.type == "sqlite" {
            throw FerryError.config(file: file, detail: "map.custom_fields.create_missing: false, but the SQLite archive has no fields of its own",
                                    hint: "keep it true for target.type sqlite (every value needs its field definition); false is for targets that already have the fields")
        }
        if let url = target.kbLinks.url {
            let lower = url.lowercased()
            guard lower.hasPrefix("https://") || lower.hasPrefix("http://"), url.contains("{id}") else {
                throw FerryError.config(file: file, detail: "target.kb_links.url: \"\(url)\" must be an absolute http(s) URL holding {id}",
                                        hint: "for example https://help.example.com/hc/{locale}/{kind}/{id} ({kind}: articles, sections or categories)")
            }
            let host = lower.split(separator: "/").dropFirst(1).first.map(String.init) ?? ""
            guard !target.kbLinks.sourceHosts.map({ $0.lowercased() }).contains(host) else {
                throw FerryError.config(file: file, detail: "target.kb_links.url: the host \(host) is also in target.kb_links.source_hosts",
                                        hint: "a rewritten link must not look like a source link; use the target help center's host")
            }
        }
        guard (1...19).contains(bundle.zstdLevel) else {
            throw FerryError.config(file: file, detail: "bundle.zstd_level: \(bundle.zstdLevel) is outside 1...19", hint: "3 is a good default")
        }
    }

    /// Canonical JSON of a section, for stage fingerprints: a config change that
    /// matters to a stage makes that stage redo its work; others stay finished.
    public static func fingerprintText<T: Encodable>(_ section: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? String(decoding: encoder.encode(section), as: UTF8.self)) ?? ""
    }
}

public struct BundleSettings: Codable, Equatable, Sendable {
    /// Records per part file before a new part starts (a ticket always stays with its comments).
    public var partRecords: Int
    public var zstdLevel: Int
    /// Encrypt the parts stages write (age format, passphrase). Encrypted input is
    /// read whenever a passphrase is available, whatever this says.
    public var encrypt: Bool
    /// The environment variable holding the passphrase.
    public var passphraseEnv: String
    /// A file holding the passphrase instead (relative to pipeline.yml).
    public var passphraseFile: String?
    /// log2 of scrypt's N for new files (16 = 64 MiB of memory per part; age itself uses 18).
    public var scryptWorkFactor: Int
    /// A bundle claiming to unpack to more than this many times its file size is
    /// refused before anything is unpacked (a decompression bomb).
    public var maxExpansion: Int

    public init(partRecords: Int = 50_000, zstdLevel: Int = 3, encrypt: Bool = false, passphraseEnv: String = "FERRY_BUNDLE_PASSPHRASE", passphraseFile: String? = nil, scryptWorkFactor: Int = 16, maxExpansion: Int = 1000) {
        self.maxExpansion = maxExpansion
        self.partRecords = partRecords; self.zstdLevel = zstdLevel; self.encrypt = encrypt
        self.passphraseEnv = passphraseEnv; self.passphraseFile = passphraseFile; self.scryptWorkFactor = scryptWorkFactor
    }

    enum CodingKeys: String, CodingKey {
        case partRecords = "part_records", zstdLevel = "zstd_level", encrypt, passphraseEnv = "passphrase_env"
        case passphraseFile = "passphrase_file", scryptWorkFactor = "scrypt_work_factor", maxExpansion = "max_expansion"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        partRecords = try c.decodeIfPresent(Int.self, forKey: .partRecords) ?? 50_000
        zstdLevel = try c.decodeIfPresent(Int.self, forKey: .zstdLevel) ?? 3
        encrypt = try c.decodeIfPresent(Bool.self, forKey: .encrypt) ?? false
        passphraseEnv = try c.decodeIfPresent(String.self, forKey: .passphraseEnv) ?? "FERRY_BUNDLE_PASSPHRASE"
        passphraseFile = try c.decodeIfPresent(String.self, forKey: .passphraseFile)
        scryptWorkFactor = try c.decodeIfPresent(Int.self, forKey: .scryptWorkFactor) ?? 16
        maxExpansion = try c.decodeIfPresent(Int.self, forKey: .maxExpansion) ?? 1000
    }
}

public struct SourceSettings: Codable, Equatable, Sendable {
    /// Connector name. `zendesk-export` reads a folder in the shape of Zendesk's JSON export.
    public var type: String
    /// Folder of the export (relative to pipeline.yml).
    public var path: String
    /// Name written into every record's source_system.
    public var system: String
    /// `type: rt`: the Request Tracker to read (docs/connectors/rt.md).
    public var rt: RTSettings?
    /// `type: zendesk-api`: the Zendesk account to read (docs/connectors/zendesk.md).
    public var zendesk: ZendeskAPISettings?

    public init(type: String = "zendesk-export", path: String = "samples/zendesk-export", system: String = "zendesk", rt: RTSettings? = nil, zendesk: ZendeskAPISettings? = nil) {
        self.type = type; self.path = path; self.system = system; self.rt = rt; self.zendesk = zendesk
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decodeIfPresent(String.self, forKey: .type) ?? "zendesk-export"
        path = try c.decodeIfPresent(String.self, forKey: .path) ?? "samples/zendesk-export"
        system = try c.decodeIfPresent(String.self, forKey: .system) ?? "zendesk"
        rt = try c.decodeIfPresent(RTSettings.self, forKey: .rt)
        zendesk = try c.decodeIfPresent(ZendeskAPISettings.self, forKey: .zendesk)
    }
}

public struct DedupeSettings: Codable, Equatable, Sendable {
    /// Merge users whose e-mails are equal after trimming and lower-casing.
    public var mergeUsersByEmail: Bool
    /// Merge organizations with the same normalised name or a shared domain.
    public var mergeOrganizations: Bool

    public init(mergeUsersByEmail: Bool = true, mergeOrganizations: Bool = true) {
        self.mergeUsersByEmail = mergeUsersByEmail; self.mergeOrganizations = mergeOrganizations
    }

    enum CodingKeys: String, CodingKey {
        case mergeUsersByEmail = "merge_users_by_email", mergeOrganizations = "merge_organizations"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mergeUsersByEmail = try c.decodeIfPresent(Bool.self, forKey: .mergeUsersByEmail) ?? true
        mergeOrganizations = try c.decodeIfPresent(Bool.self, forKey: .mergeOrganizations) ?? true
    }
}

public struct MapSettings: Codable, Equatable, Sendable {
    /// Source status -> target status. Every status in the data must be listed.
    public var statuses: [String: String]
    /// Source priority -> target priority. Every priority in the data must be listed.
    public var priorities: [String: String]
    /// Source ticket type -> target type. Every type in the data must be listed.
    public var types: [String: String]
    public var agents: AgentMapping
    /// Source group name -> target group name. Groups mapped to one name are merged.
    public var groups: [String: String]
    public var customFields: CustomFieldMapping
    /// What to do with a reference to a user who is not in the export.
    public var missingUsers: MissingUserPolicy
    /// Which tickets and articles move.
    public var filters: TicketFilters
    /// Migration options (tags, subject template, attachments, notes...).
    public var options: MigrationOptions

    public enum MissingUserPolicy: String, Codable, Sendable {
        /// Create an inactive placeholder end user "Unknown user <id>" and keep the reference.
        case placeholder
        /// Reject the record that refers to the missing user.
        case reject
    }

    public init(statuses: [String: String] = [:], priorities: [String: String] = [:], types: [String: String] = [:], agents: AgentMapping = .init(), groups: [String: String] = [:], customFields: CustomFieldMapping = .init(), missingUsers: MissingUserPolicy = .placeholder, filters: TicketFilters = .init(), options: MigrationOptions = .init()) {
        self.statuses = statuses; self.priorities = priorities; self.types = types; self.agents = agents
        self.groups = groups; self.customFields = customFields; self.missingUsers = missingUsers
        self.filters = filters; self.options = options
    }

    enum CodingKeys: String, CodingKey {
        case statuses, priorities, types, agents, groups, customFields = "custom_fields", missingUsers = "missing_users"
        case filters, options
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        statuses = try c.decodeIfPresent([String: String].self, forKey: .statuses) ?? [:]
        priorities = try c.decodeIfPresent([String: String].self, forKey: .priorities) ?? [:]
        types = try c.decodeIfPresent([String: String].self, forKey: .types) ?? [:]
        agents = try c.decodeIfPresent(AgentMapping.self, forKey: .agents) ?? .init()
        groups = try c.decodeIfPresent([String: String].self, forKey: .groups) ?? [:]
        customFields = try c.decodeIfPresent(CustomFieldMapping.self, forKey: .customFields) ?? .init()
        missingUsers = try c.decodeIfPresent(MissingUserPolicy.self, forKey: .missingUsers) ?? .placeholder
        filters = try c.decodeIfPresent(TicketFilters.self, forKey: .filters) ?? .init()
        options = try c.decodeIfPresent(MigrationOptions.self, forKey: .options) ?? .init()
    }
}

public struct AgentMapping: Codable, Equatable, Sendable {
    /// E-mail of the agent who takes tickets of unknown, deleted or deactivated agents.
    public var defaultAgent: String?
    /// Source agent e-mail -> target agent e-mail.
    public var map: [String: String]
    /// Whether tickets of deactivated agents go to the default agent (true) or stay with them.
    public var reassignInactive: Bool

    public init(defaultAgent: String? = nil, map: [String: String] = [:], reassignInactive: Bool = true) {
        self.defaultAgent = defaultAgent; self.map = map; self.reassignInactive = reassignInactive
    }

    enum CodingKeys: String, CodingKey { case defaultAgent = "default", map, reassignInactive = "reassign_inactive" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        defaultAgent = try c.decodeIfPresent(String.self, forKey: .defaultAgent)
        map = try c.decodeIfPresent([String: String].self, forKey: .map) ?? [:]
        reassignInactive = try c.decodeIfPresent(Bool.self, forKey: .reassignInactive) ?? true
    }
}

public struct CustomFieldMapping: Codable, Equatable, Sendable {
    /// Source field title (or ID) -> target field (a key, or key with type,
    /// options and regexp). `~` (null) drops the field.
    public var fields: [String: FieldTarget?]
    /// Fields not listed: `keep` under a key made from their title, `drop`, or `error`.
    public var unlisted: Unlisted
    /// A value that cannot be converted to its target field's type (or fails its
    /// regexp, or names an option the target lacks): `note` moves it into a
    /// private note on the ticket; `reject` rejects the ticket. Never dropped silently.
    public var unconvertible: Unconvertible
    /// Write the field definitions into the target (creating fields it lacks).
    /// `false` when the target already has them: definitions are skipped, values still load.
    public var createMissing: Bool

    public enum Unlisted: String, Codable, Sendable { case keep, drop, error }
    public enum Unconvertible: String, Codable, Sendable { case note, reject }

    public init(fields: [String: FieldTarget?] = [:], unlisted: Unlisted = .keep, unconvertible: Unconvertible = .note, createMissing: Bool = true) {
        self.fields = fields; self.unlisted = unlisted; self.unconvertible = unconvertible; self.createMissing = createMissing
    }

    enum CodingKeys: String, CodingKey { case fields, unlisted, unconvertible, createMissing = "create_missing" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        fields = try c.decodeIfPresent([String: FieldTarget?].self, forKey: .fields) ?? [:]
        unlisted = try c.decodeIfPresent(Unlisted.self, forKey: .unlisted) ?? .keep
        unconvertible = try c.decodeIfPresent(Unconvertible.self, forKey: .unconvertible) ?? .note
        createMissing = try c.decodeIfPresent(Bool.self, forKey: .createMissing) ?? true
    }
}

public struct TargetSettings: Codable, Equatable, Sendable {
    /// Connector name. `sqlite` writes Ferry's SQLite help desk archive.
    public var type: String
    /// The archive file (relative to pipeline.yml). When absent, `helpdesk.sqlite`
    /// in the load stage's folder, so a run with another --stages-dir (a demo)
    /// gets its own archive.
    public var path: String?
    /// What a delta's deletions (records the source no longer has) do to the target.
    public var deletions: DeletionPolicy
    /// Store attachment bytes in the SQLite archive encrypted (age format, the bundle passphrase).
    public var encryptAttachments: Bool
    /// `type: rt`: the Request Tracker to write (docs/connectors/rt.md).
    public var rt: RTSettings?
    /// Rewriting links to the source's knowledge base into the target's URLs.
    public var kbLinks: KBLinkSettings
    /// `type: zendesk-api`: the Zendesk account to write (docs/connectors/zendesk.md).
    public var zendesk: ZendeskAPISettings?

    public enum DeletionPolicy: String, Codable, Sendable {
        /// Leave the target as it is; the load reports how many.
        case keep
        /// Keep the record and note in the target's id_map that the source deleted it.
        case mark
        /// Remove the record (a record others still refer to is marked instead).
        case delete
    }

    public init(type: String = "sqlite", path: String? = nil, deletions: DeletionPolicy = .keep, encryptAttachments: Bool = false, kbLinks: KBLinkSettings = .init(), rt: RTSettings? = nil, zendesk: ZendeskAPISettings? = nil) {
        self.type = type; self.path = path; self.deletions = deletions; self.encryptAttachments = encryptAttachments; self.rt = rt
        self.kbLinks = kbLinks; self.zendesk = zendesk
    }

    enum CodingKeys: String, CodingKey { case type, path, deletions, encryptAttachments = "encrypt_attachments", kbLinks = "kb_links", rt, zendesk }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decodeIfPresent(String.self, forKey: .type) ?? "sqlite"
        path = try c.decodeIfPresent(String.self, forKey: .path)
        deletions = try c.decodeIfPresent(DeletionPolicy.self, forKey: .deletions) ?? .keep
        encryptAttachments = try c.decodeIfPresent(Bool.self, forKey: .encryptAttachments) ?? false
        kbLinks = try c.decodeIfPresent(KBLinkSettings.self, forKey: .kbLinks) ?? .init()
        rt = try c.decodeIfPresent(RTSettings.self, forKey: .rt)
        zendesk = try c.decodeIfPresent(ZendeskAPISettings.self, forKey: .zendesk)
    }
}

/// A Request Tracker 5 server reached through its REST2 API (`source.rt`, `target.rt`).
/// Credentials never appear here: only where to find them.
public struct RTSettings: Codable, Equatable, Sendable {
    static let keys = ["url", "credentials_file", "user_env", "password_env", "token_env", "max_concurrency",
                       "timeout_seconds", "retries", "default_queue", "organizations", "keep_ticket_ids", "query", "state"]

    /// The server's base URL ("http://127.0.0.1:18080"); REST2 is at <url>/REST/2.0.
    public var url: String
    /// A file with `user=` and `password=` lines (or `token=`), relative to pipeline.yml.
    public var credentialsFile: String?
    /// Environment variables holding the user name, password or token (a token wins).
    public var userEnv: String
    public var passwordEnv: String
    public var tokenEnv: String
    /// Requests in flight at once.
    public var maxConcurrency: Int
    /// Seconds one request may take.
    public var timeoutSeconds: Double
    /// Attempts per request (429, 5xx, timeouts and connection errors are retried).
    public var retries: Int
    /// Target: the queue of tickets without a group.
    public var defaultQueue: String
    /// Target: where an organization goes: `user_attribute` (the user's Organization) or
    /// `custom_field` (a user custom field named "Organization").
    public var organizations: String
    /// Target: give a ticket its source ID as its RT id when the ID is a number.
    public var keepTicketIDs: Bool
    /// Source: the TicketSQL query choosing the tickets to extract.
    public var query: String
    /// Target: the local ID map of the RT load (relative to pipeline.yml); default rt-state.sqlite in the load folder.
    public var state: String?

    public init(url: String = "http://127.0.0.1:18080", credentialsFile: String? = nil, userEnv: String = "FERRY_RT_USER",
                passwordEnv: String = "FERRY_RT_PASSWORD", tokenEnv: String = "FERRY_RT_TOKEN", maxConcurrency: Int = 4,
                timeoutSeconds: Double = 60, retries: Int = 6, defaultQueue: String = "General", organizations: String = "user_attribute",
                keepTicketIDs: Bool = true, query: String = "id > 0", state: String? = nil) {
        self.url = url; self.credentialsFile = credentialsFile; self.userEnv = userEnv; self.passwordEnv = passwordEnv
        self.tokenEnv = tokenEnv; self.maxConcurrency = maxConcurrency; self.timeoutSeconds = timeoutSeconds; self.retries = retries
        self.defaultQueue = defaultQueue; self.organizations = organizations; self.keepTicketIDs = keepTicketIDs
        self.query = query; self.state = state
    }

    enum CodingKeys: String, CodingKey {
        case url, credentialsFile = "credentials_file", userEnv = "user_env", passwordEnv = "password_env", tokenEnv = "token_env"
        case maxConcurrency = "max_concurrency", timeoutSeconds = "timeout_seconds", retries, defaultQueue = "default_queue"
        case organizations, keepTicketIDs = "keep_ticket_ids", query, state
    }

    public init(from decoder: Decoder) throws {
        let d = RTSettings()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        url = try c.decodeIfPresent(String.self, forKey: .url) ?? d.url
        credentialsFile = try c.decodeIfPresent(String.self, forKey: .credentialsFile)
        userEnv = try c.decodeIfPresent(String.self, forKey: .userEnv) ?? d.userEnv
        passwordEnv = try c.decodeIfPresent(String.self, forKey: .passwordEnv) ?? d.passwordEnv
        tokenEnv = try c.decodeIfPresent(String.self, forKey: .tokenEnv) ?? d.tokenEnv
        maxConcurrency = try c.decodeIfPresent(Int.self, forKey: .maxConcurrency) ?? d.maxConcurrency
        timeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds) ?? d.timeoutSeconds
        retries = try c.decodeIfPresent(Int.self, forKey: .retries) ?? d.retries
        defaultQueue = try c.decodeIfPresent(String.self, forKey: .defaultQueue) ?? d.defaultQueue
        organizations = try c.decodeIfPresent(String.self, forKey: .organizations) ?? d.organizations
        keepTicketIDs = try c.decodeIfPresent(Bool.self, forKey: .keepTicketIDs) ?? d.keepTicketIDs
        query = try c.decodeIfPresent(String.self, forKey: .query) ?? d.query
        state = try c.decodeIfPresent(String.self, forKey: .state)
    }

    func validate(file: String, section: String) throws {
        guard let parsed = URL(string: url), let scheme = parsed.scheme, ["http", "https"].contains(scheme), parsed.host != nil else {
            throw FerryError.config(file: file, detail: "\(section).rt.url: \"\(url)\" is not an http(s) URL", hint: "for example http://127.0.0.1:18080")
        }
        guard (1...64).contains(maxConcurrency) else {
            throw FerryError.config(file: file, detail: "\(section).rt.max_concurrency: \(maxConcurrency) is outside 1...64", hint: "4 is a good default")
        }
        guard timeoutSeconds > 0, (1...20).contains(retries) else {
            throw FerryError.config(file: file, detail: "\(section).rt: timeout_seconds must be positive and retries within 1...20", hint: "the defaults are 60 and 6")
        }
        guard ["user_attribute", "custom_field"].contains(organizations) else {
            throw FerryError.config(file: file, detail: "\(section).rt.organizations: \"\(organizations)\" is not user_attribute or custom_field", hint: "user_attribute writes the user's Organization; custom_field a user custom field \"Organization\"")
        }
    }
}

/// How long migration data may stay in the stage folders (`ferry-verify --purge`, `make purge`).
public struct RetentionSettings: Codable, Equatable, Sendable {
    /// Days after the last clean verification before stage data is deleted.
    public var days: Int
    /// Also delete the target archive when it lies inside the stage folders.
    public var includeTarget: Bool

    public init(days: Int = 5, includeTarget: Bool = false) {
        self.days = days; self.includeTarget = includeTarget
    }

    enum CodingKeys: String, CodingKey { case days, includeTarget = "include_target" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        days = try c.decodeIfPresent(Int.self, forKey: .days) ?? 5
        includeTarget = try c.decodeIfPresent(Bool.self, forKey: .includeTarget) ?? false
    }
}

/// `target.kb_links`: links to the source's knowledge base, rewritten after the load.
public struct KBLinkSettings: Codable, Equatable, Sendable {
    /// The target's URL for a KB record: `{kind}` (articles, sections, categories),
    /// `{id}` (its id in the target), `{locale}`. Absent: links are left as they are.
    public var url: String?
    /// Hosts whose /hc/ links are the source's, besides the hosts of the records' own URLs.
    public var sourceHosts: [String]
    /// Also rewrite links in ticket comments.
    public var inComments: Bool

    public init(url: String? = nil, sourceHosts: [String] = [], inComments: Bool = false) {
        self.url = url; self.sourceHosts = sourceHosts; self.inComments = inComments
    }

    enum CodingKeys: String, CodingKey { case url, sourceHosts = "source_hosts", inComments = "in_comments" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        url = try c.decodeIfPresent(String.self, forKey: .url)
        sourceHosts = try c.decodeIfPresent([String].self, forKey: .sourceHosts) ?? []
        inComments = try c.decodeIfPresent(Bool.self, forKey: .inComments) ?? false
    }
}

/// A Zendesk account reached through its REST API (`source.zendesk`, `target.zendesk`;
/// docs/connectors/zendesk.md). Credentials never appear here: only where to find them.
public struct ZendeskAPISettings: Codable, Equatable, Sendable {
    static let keys = ["subdomain", "url", "email_env", "token_env", "oauth_token_env", "credentials_file", "requests_per_minute",
                       "max_concurrency", "timeout_seconds", "retries", "start_time", "page_size", "state", "archive_immediately",
                       "incremental_requests_per_minute"]

    /// The account's subdomain: https://<subdomain>.zendesk.com.
    public var subdomain: String?
    /// The base URL instead of a subdomain (a test server: "http://127.0.0.1:8089").
    public var url: String?
    /// Environment variables: the agent's e-mail and API token (basic auth `email/token:TOKEN`),
    /// or an OAuth access token (Bearer), which wins when set.
    public var emailEnv: String
    public var tokenEnv: String
    public var oauthTokenEnv: String
    /// A file with `email=` and `token=` lines (or `oauth_token=`), relative to pipeline.yml.
    public var credentialsFile: String?
    /// Requests per minute Ferry sends at most: below the plan's limit (Team 200,
    /// Professional 400, Enterprise 700). A lower `x-rate-limit` from the server wins.
    public var requestsPerMinute: Int
    /// Requests per minute to the incremental export endpoints, which have their own limit (10 a minute).
    public var incrementalRequestsPerMinute: Int
    /// Requests in flight at once.
    public var maxConcurrency: Int
    /// Seconds one request may take.
    public var timeoutSeconds: Double
    /// Attempts per request (429, 5xx, timeouts and connection errors are retried).
    public var retries: Int
    /// Source: Unix time the first incremental export starts from (0: everything).
    public var startTime: Int64
    /// Items per page (incremental exports take up to 1000, lists up to 100).
    public var pageSize: Int
    /// Target: the local ID map (relative to pipeline.yml); default zendesk-state.sqlite in the load folder.
    public var state: String?
    /// Target: closed tickets go straight to the archive (Ticket Import's archive_immediately).
    public var archiveImmediately: Bool

    public init(subdomain: String? = nil, url: String? = nil, emailEnv: String = "FERRY_ZENDESK_EMAIL", tokenEnv: String = "FERRY_ZENDESK_API_TOKEN",
                oauthTokenEnv: String = "FERRY_ZENDESK_OAUTH_TOKEN", credentialsFile: String? = nil, requestsPerMinute: Int = 180,
                incrementalRequestsPerMinute: Int = 10,
                maxConcurrency: Int = 4, timeoutSeconds: Double = 60, retries: Int = 6, startTime: Int64 = 0, pageSize: Int = 1000,
                state: String? = nil, archiveImmediately: Bool = false) {
        self.incrementalRequestsPerMinute = incrementalRequestsPerMinute
        self.subdomain = subdomain; self.url = url; self.emailEnv = emailEnv; self.tokenEnv = tokenEnv; self.oauthTokenEnv = oauthTokenEnv
        self.credentialsFile = credentialsFile; self.requestsPerMinute = requestsPerMinute; self.maxConcurrency = maxConcurrency
        self.timeoutSeconds = timeoutSeconds; self.retries = retries; self.startTime = startTime; self.pageSize = pageSize
        self.state = state; self.archiveImmediately = archiveImmediately
    }

    enum CodingKeys: String, CodingKey {
        case subdomain, url, emailEnv = "email_env", tokenEnv = "token_env", oauthTokenEnv = "oauth_token_env"
        case credentialsFile = "credentials_file", requestsPerMinute = "requests_per_minute", maxConcurrency = "max_concurrency"
        case timeoutSeconds = "timeout_seconds", retries, startTime = "start_time", pageSize = "page_size", state
        case archiveImmediately = "archive_immediately", incrementalRequestsPerMinute = "incremental_requests_per_minute"
    }

    public init(from decoder: Decoder) throws {
        let d = ZendeskAPISettings()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        subdomain = try c.decodeIfPresent(String.self, forKey: .subdomain)
        url = try c.decodeIfPresent(String.self, forKey: .url)
        emailEnv = try c.decodeIfPresent(String.self, forKey: .emailEnv) ?? d.emailEnv
        tokenEnv = try c.decodeIfPresent(String.self, forKey: .tokenEnv) ?? d.tokenEnv
        oauthTokenEnv = try c.decodeIfPresent(String.self, forKey: .oauthTokenEnv) ?? d.oauthTokenEnv
        credentialsFile = try c.decodeIfPresent(String.self, forKey: .credentialsFile)
        requestsPerMinute = try c.decodeIfPresent(Int.self, forKey: .requestsPerMinute) ?? d.requestsPerMinute
        incrementalRequestsPerMinute = try c.decodeIfPresent(Int.self, forKey: .incrementalRequestsPerMinute) ?? d.incrementalRequestsPerMinute
        maxConcurrency = try c.decodeIfPresent(Int.self, forKey: .maxConcurrency) ?? d.maxConcurrency
        timeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds) ?? d.timeoutSeconds
        retries = try c.decodeIfPresent(Int.self, forKey: .retries) ?? d.retries
        startTime = try c.decodeIfPresent(Int64.self, forKey: .startTime) ?? d.startTime
        pageSize = try c.decodeIfPresent(Int.self, forKey: .pageSize) ?? d.pageSize
        state = try c.decodeIfPresent(String.self, forKey: .state)
        archiveImmediately = try c.decodeIfPresent(Bool.self, forKey: .archiveImmediately) ?? d.archiveImmediately
    }

    /// https://<subdomain>.zendesk.com, or `url`, without a trailing slash.
    public var baseURL: String {
        var base = url ?? "https://\(subdomain ?? "").zendesk.com"
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }

    func validate(file: String, section: String) throws {
        if let url {
            guard let parsed = URL(string: url), let scheme = parsed.scheme, ["http", "https"].contains(scheme), parsed.host != nil else {
                throw FerryError.config(file: file, detail: "\(section).zendesk.url: \"\(url)\" is not an http(s) URL", hint: "for example https://acme.zendesk.com, or set subdomain instead")
            }
        } else {
            guard let subdomain, !subdomain.isEmpty, subdomain.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
                throw FerryError.config(file: file, detail: "\(section).zendesk: neither subdomain nor url is set (or the subdomain is not a name)", hint: "subdomain: acme for https://acme.zendesk.com")
            }
        }
        guard (1...6000).contains(requestsPerMinute) else {
            throw FerryError.config(file: file, detail: "\(section).zendesk.requests_per_minute: \(requestsPerMinute) is outside 1...6000", hint: "stay below your plan's limit: Team 200, Professional 400, Enterprise 700 per minute")
        }
        guard (1...6000).contains(incrementalRequestsPerMinute) else {
            throw FerryError.config(file: file, detail: "\(section).zendesk.incremental_requests_per_minute: \(incrementalRequestsPerMinute) is outside 1...6000", hint: "Zendesk allows 10 a minute to the incremental exports (30 with the High Volume add-on)")
        }
        guard (1...64).contains(maxConcurrency) else {
            throw FerryError.config(file: file, detail: "\(section).zendesk.max_concurrency: \(maxConcurrency) is outside 1...64", hint: "4 is a good default")
        }
        guard timeoutSeconds > 0, (1...20).contains(retries), (1...1000).contains(pageSize), startTime >= 0 else {
            throw FerryError.config(file: file, detail: "\(section).zendesk: timeout_seconds must be positive, retries within 1...20, page_size within 1...1000 and start_time not negative", hint: "the defaults are 60, 6, 1000 and 0")
        }
    }
}
