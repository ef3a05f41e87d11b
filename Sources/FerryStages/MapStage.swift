import FerryCore
import Foundation
import GRDB

/// `ferry-map`: applies pipeline.yml's `map` section and writes target-shaped parts.
///
/// A first pass reads every part and checks that the mapping covers the data:
/// every status, priority and type value, an agent for every assignee that
/// needs one, the default agent. If anything is unmapped the stage stops before
/// writing a single part, listing every unmapped value with how often and where
/// it occurs, so nothing half-mapped ever reaches the load.
///
/// Records keep their source IDs and references; "target-shaped" means their
/// values are in the target's vocabulary (statuses, agents, groups, field keys).
/// References to users missing from the export get an inactive placeholder
/// user (or a reject, as configured) so no reference dangles into the load.
public struct MapStage {
    public let context: PipelineContext
    public let reporter: Reporter

    public init(context: PipelineContext, reporter: Reporter) {
        self.context = context
        self.reporter = reporter
    }

    public func run() throws -> StageResult {
        let settings = context.config.map
        let runner = PartwiseRunner(stage: .map, context: context, reporter: reporter,
                                    settingsText: "map v1\n" + PipelineConfig.fingerprintText(settings))
        let directory = context.stage(.map)
        let kept = directory.url.appendingPathComponent("known.sqlite")
        var plan: MapPlan?
        return try runner.run(
            prepare: { input in
                // A delta resolves references against everyone earlier runs saw.
                let built = try MapPlan(directory: directory, settings: settings, seed: input.isDelta ? kept : nil, context: context)
                try built.scan(parts: input.parts, reporter: reporter)
                try built.checkCoverage(configFile: context.configName, reporter: reporter)
                plan = built
            },
            transform: { _, reader, writer, counts in
                try plan!.transform(partNumber: writer.part, reader: reader, writer: writer, counts: &counts)
            },
            finish: { try plan!.scratch.persist(to: kept) })
    }

    /// `ferry-map --plan`: what the map would do, without writing anything:
    /// records per kind, every status, priority, type, group, assignee and
    /// custom field with what it maps to, and every unmapped value. Exit status
    /// 2 when something is unmapped, as the real run would stop.
    public func plan() throws -> StageResult {
        let directory = context.stage(.map)
        let lock = try directory.lock()
        defer { withExtendedLifetime(lock) {} }
        let (input, parts) = try context.stage(.dedupe).finishedOutput()
        let isDelta = input.cursor?["since"] != nil
        let built = try MapPlan(directory: directory, settings: context.config.map,
                                seed: isDelta ? directory.url.appendingPathComponent("known.sqlite") : nil, context: context)
        try built.scan(parts: parts, reporter: reporter)
        var lines = ["ferry-map --plan: nothing is written; this is what ferry-map would do with stages/dedupe\(isDelta ? " (a delta)" : "")", ""]
        let counts = input.totalCounts
        lines.append(TextTable.render([["records", "count"]] + EntityType.allCases.compactMap { entity in
            counts.entities[entity.rawValue].map { [entity.rawValue, "\($0.written)"] }
        }))
        var coverage: String?
        do {
            try built.checkCoverage(configFile: context.configName, reporter: reporter)
        } catch let error as FerryError {
            guard case .unmappedValues(let report) = error else { throw error }
            coverage = report
        }
        lines += try built.planLines()
        lines += try built.filterLines(parts: parts)
        if let coverage {
            lines += ["", coverage]
            return StageResult(stage: .map, summary: lines, exitStatus: .usage)
        }
        lines += ["", "every value is mapped; `ferry-map` (or `make map`) will apply this plan"]
        return StageResult(stage: .map, summary: lines)
    }
}

/// Where a value occurs, kept for the unmapped-values report.
struct Occurrences {
    var count = 0
    var examples: [String] = []

    mutating func add(_ example: @autoclosure () -> String) {
        count += 1
        if examples.count < 3 { examples.append(example()) }
    }

    var text: String { "\(count) record(s), e.g. " + examples.joined(separator: ", ") }
}

/// What the map stage does with one record.
enum MapOutcome {
    case keep
    case reject(String)
    case merge(String, String)
    case skip(String)
}

/// The map stage's first-pass findings and the rules that follow from them.
final class MapPlan {
    let settings: MapSettings
    let scratch: ScratchIndex
    let codec = RecordCodec()
    var statuses: [String: Occurrences] = [:]
    var priorities: [String: Occurrences] = [:]
    var types: [String: Occurrences] = [:]
    var defaultAgentID: String?
    /// Agent e-mail (lower-cased) -> target agent's source id, for agents.map.
    var agentTargets: [String: String] = [:]
    var sourceSystem = "unknown"
    /// map.filters, resolved after the first pass.
    var filter: TicketFilter?
    /// Fields whose map entry converts type, options or pattern, by source field id.
    var fieldRules: [String: FieldRule] = [:]
    var fieldTitles: [String: String] = [:]

    let context: PipelineContext

    init(directory: StageDirectory, settings: MapSettings, seed: URL?, context: PipelineContext) throws {
        self.settings = settings
        self.context = context
        // users, orgs, groups and fields persist across runs (for deltas); the rest is per run.
        scratch = try ScratchIndex(directory: directory, name: "map-index", schema: """
            CREATE TABLE users(id TEXT PRIMARY KEY, email TEXT, role TEXT, active INTEGER) WITHOUT ROWID;
            CREATE INDEX users_email ON users(email);
            CREATE TABLE orgs(id TEXT PRIMARY KEY, name TEXT) WITHOUT ROWID;
            CREATE TABLE groups(id TEXT PRIMARY KEY, name TEXT, seq INTEGER, target TEXT, survivor TEXT) WITHOUT ROWID;
            CREATE TABLE fields(id TEXT PRIMARY KEY, title TEXT, key TEXT, dropped INTEGER, definition TEXT) WITHOUT ROWID;
            CREATE TABLE comment_attachments(id TEXT PRIMARY KEY, kept INTEGER, inline_names TEXT) WITHOUT ROWID;
            CREATE TABLE user_refs(id TEXT PRIMARY KEY, part INTEGER, example TEXT) WITHOUT ROWID;
            CREATE TABLE assignees(id TEXT PRIMARY KEY, count INTEGER, example TEXT) WITHOUT ROWID;
            CREATE TABLE placeholders(id TEXT PRIMARY KEY, part INTEGER, example TEXT) WITHOUT ROWID;
            CREATE INDEX placeholders_part ON placeholders(part);
            CREATE TABLE placeholders_kept(id TEXT PRIMARY KEY) WITHOUT ROWID;
            CREATE TABLE kb(entity TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY(entity, id)) WITHOUT ROWID;
            """, seed: seed, reset: """
            DELETE FROM user_refs; DELETE FROM assignees; DELETE FROM placeholders; DELETE FROM comment_attachments;
            INSERT OR IGNORE INTO users(id, email, role, active) SELECT id, NULL, 'end_user', 0 FROM placeholders_kept;
            """)
    }

    // MARK: pass 1

    func scan(parts: [URL], reporter: Reporter) throws {
        try scratch.queue.write { db in
            let users = try db.cachedStatement(sql: """
                INSERT INTO users(id, email, role, active) VALUES (?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET email = excluded.email, role = excluded.role, active = excluded.active
                """)
            let orgs = try db.cachedStatement(sql: "INSERT INTO orgs(id, name) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name")
            var groupSeq = try Int.fetchOne(db, sql: "SELECT max(seq) FROM groups") ?? 0
            let groups = try db.cachedStatement(sql: "INSERT INTO groups(id, name, seq) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name")
            let fields = try db.cachedStatement(sql: "INSERT INTO fields(id, title, definition) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET title = excluded.title, definition = excluded.definition")
            let commentAttachments = try db.cachedStatement(sql: """
                INSERT INTO comment_attachments(id, kept, inline_names) VALUES (?, 1, ?)
                ON CONFLICT(id) DO UPDATE SET kept = kept + 1, inline_names = coalesce(inline_names || char(10) || excluded.inline_names, inline_names, excluded.inline_names)
                """)
            let tracksAttachments = settings.options.maxAttachmentsPerComment != nil || settings.options.inlineImages == .attachments
            let refs = try db.cachedStatement(sql: "INSERT OR IGNORE INTO user_refs(id, part, example) VALUES (?, ?, ?)")
            let kb = try db.cachedStatement(sql: "INSERT OR IGNORE INTO kb(entity, id) VALUES (?, ?)")
            let assignees = try db.cachedStatement(sql: "INSERT INTO assignees(id, count, example) VALUES (?, 1, ?) ON CONFLICT(id) DO UPDATE SET count = count + 1")
            for (index, url) in parts.enumerated() {
                let part = index + 1
                let reader = try context.openBundle(url)
                sourceSystem = reader.manifest.sourceSystem
                let file = url.lastPathComponent
                try reader.read(line: { member, line, _ in
                    guard let entity = EntityType(memberName: member) else { return }
                    switch entity {
                    case .users:
                        guard let u = try? self.codec.decode(User.self, line) else { return }
                        try users.execute(arguments: [u.id, Cleaning.normalizeEmail(u.email), u.role.rawValue, u.active])
                    case .organizations:
                        guard let o = try? self.codec.decode(Organization.self, line) else { return }
                        try orgs.execute(arguments: [o.id, o.name])
                    case .groups:
                        guard let g = try? self.codec.decode(Group.self, line) else { return }
                        groupSeq += 1
                        try groups.execute(arguments: [g.id, g.name, groupSeq])
                    case .ticketFields:
                        guard let f = try? self.codec.decode(TicketField.self, line) else { return }
                        try fields.execute(arguments: [f.id, f.title, String(decoding: line, as: UTF8.self)])
                    case .tickets:
                        guard let t = try? self.codec.decode(Ticket.self, line) else { return }
                        let example = "ticket \(t.id) in \(file)"
                        self.statuses[t.status, default: Occurrences()].add(example)
                        if let p = t.priority { self.priorities[p, default: Occurrences()].add(example) }
                        if let ty = t.type { self.types[ty, default: Occurrences()].add(example) }
                        for id in [t.requesterID, t.submitterID].compactMap({ $0 }) + t.ccIDs + t.followerIDs {
                            try refs.execute(arguments: [id, part, example])
                        }
                        if let a = t.assigneeID { try assignees.execute(arguments: [a, example]) }
                        for author in (t.events ?? []).compactMap(\.authorID) { try refs.execute(arguments: [author, part, example]) }
                    case .comments:
                        guard let c = try? self.codec.decode(Comment.self, line), let author = c.authorID else { return }
                        try refs.execute(arguments: [author, part, "comment \(c.id) of ticket \(c.ticketID) in \(file)"])
                    case .attachments where tracksAttachments:
                        guard let a = try? self.codec.decode(Attachment.self, line), a.parentType == .comment,
                              self.attachmentSkipReason(a) == nil else { return }
                        try commentAttachments.execute(arguments: [a.parentID, a.inline ? a.fileName : nil])
                    case .kbCategories, .kbSections:
                        guard let probe = try? JSONDecoder().decode(IDProbe.self, from: line) else { return }
                        try kb.execute(arguments: [entity.rawValue, probe.id])
                    case .kbArticles:
                        guard let a = try? self.codec.decode(KBArticle.self, line) else { return }
                        try kb.execute(arguments: [entity.rawValue, a.id])
                        guard let author = a.authorID else { return }
                        try refs.execute(arguments: [author, part, "article \(a.id) in \(file)"])
                    default:
                        return
                    }
                })
                reporter.progress(done: part, total: parts.count, unit: "parts scanned")
            }
            try db.execute(sql: "INSERT INTO placeholders(id, part, example) SELECT id, part, example FROM user_refs WHERE id NOT IN (SELECT id FROM users)")
            try db.execute(sql: "INSERT OR IGNORE INTO placeholders_kept(id) SELECT id FROM placeholders")
            try resolveGroupsAndFields(db)
            try resolveRules(db)
        }
    }

    /// Why map.options leave an attachment out, or nil when it moves.
    func attachmentSkipReason(_ attachment: Attachment) -> String? {
        if settings.options.attachments == .none { return "map.options.attachments: none" }
        if let limit = settings.options.maxAttachmentBytes, attachment.size > limit {
            return "map.options.max_attachment_bytes: \(attachment.size) bytes is over \(limit)"
        }
        return nil
    }

    /// Builds the filters and the field converters from the first pass's findings.
    private func resolveRules(_ db: Database) throws {
        let file = context.configName
        filter = try TicketFilter(
            settings.filters, configFile: file,
            groups: try Row.fetchAll(db, sql: "SELECT id, name FROM groups ORDER BY seq").map { ($0["id"], $0["name"]) },
            organizations: try Row.fetchAll(db, sql: "SELECT id, coalesce(name, '') AS name FROM orgs ORDER BY id").map { ($0["id"], $0["name"]) },
            users: { wanted in
                try String.fetchAll(db, sql: "SELECT id FROM users WHERE id = ? OR email = ? ORDER BY id", arguments: [wanted, wanted.lowercased()])
            },
            fields: try Row.fetchAll(db, sql: "SELECT id, title FROM fields ORDER BY id").map { ($0["id"], $0["title"]) })
        fieldRules = [:]
        fieldTitles = Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT id, title FROM fields").map { ($0["id"], $0["title"]) })
        for row in try Row.fetchAll(db, sql: "SELECT id, title, definition FROM fields WHERE dropped = 0 ORDER BY id") {
            let id: String = row["id"], title: String = row["title"]
            guard let entry = settings.customFields.fields[title] ?? settings.customFields.fields[id], let target = entry,
                  target.type != nil || !target.options.isEmpty || target.regexp != nil else { continue }
            guard let text: String = row["definition"], let source = try? codec.decode(TicketField.self, Data(text.utf8)) else { continue }
            fieldRules[id] = try FieldRule(source: source, target: target, configFile: file)
        }
    }

    private func resolveGroupsAndFields(_ db: Database) throws {
        for row in try Row.fetchAll(db, sql: "SELECT id, name FROM groups ORDER BY seq") {
            let id: String = row["id"], name: String = row["name"]
            try db.execute(sql: "UPDATE groups SET target = ? WHERE id = ?", arguments: [settings.groups[name] ?? name, id])
        }
        try db.execute(sql: """
            UPDATE groups SET survivor = (SELECT g2.id FROM groups g2 WHERE g2.target = groups.target ORDER BY g2.seq LIMIT 1)
            """)
        for row in try Row.fetchAll(db, sql: "SELECT id, title FROM fields") {
            let id: String = row["id"], title: String = row["title"]
            let key: String?
            let dropped: Bool
            if let entry = settings.customFields.fields[title] ?? settings.customFields.fields[id] {
                key = entry?.key
                dropped = entry == nil
            } else {
                switch settings.customFields.unlisted {
                case .keep, .error: key = Self.slug(title); dropped = false
                case .drop: key = nil; dropped = true
                }
            }
            try db.execute(sql: "UPDATE fields SET key = ?, dropped = ? WHERE id = ?", arguments: [key, dropped, id])
        }
    }

    /// "Order number" -> "order_number": a key made from a title for fields the map does not name.
    static func slug(_ title: String) -> String {
        var out = ""
        for scalar in title.lowercased().unicodeScalars {
            if CharacterSet.alphanumerics.contains(scalar) { out.unicodeScalars.append(scalar) }
            else if !out.hasSuffix("_") { out.append("_") }
        }
        while out.hasSuffix("_") { out.removeLast() }
        while out.hasPrefix("_") { out.removeFirst() }
        return out.isEmpty ? "field" : out
    }

    /// Collects every gap between the data and the mapping; throws one error listing all of them.
    func checkCoverage(configFile: String, reporter: Reporter) throws {
        var problems: [String] = []
        func cover(_ name: String, _ map: [String: String], _ seen: [String: Occurrences]) {
            if map.isEmpty {
                if !seen.isEmpty { reporter.info("map.\(name): no map given, values kept as they are (\(seen.keys.sorted().joined(separator: ", ")))") }
                return
            }
            let missing = seen.keys.filter { map[$0] == nil }.sorted()
            guard !missing.isEmpty else { return }
            problems.append("map.\(name) has no entry for:")
            for value in missing { problems.append("    \"\(value)\": \(seen[value]!.text)") }
        }
        cover("statuses", settings.statuses, statuses)
        cover("priorities", settings.priorities, priorities)
        cover("types", settings.types, types)

        try scratch.queue.read { db in
            func staff(email: String) throws -> (id: String, active: Bool)? {
                guard let row = try Row.fetchOne(db, sql: "SELECT id, active FROM users WHERE email = ? AND role != 'end_user' ORDER BY active DESC, id LIMIT 1", arguments: [email.lowercased()]) else { return nil }
                return (row["id"], row["active"])
            }
            if let email = settings.agents.defaultAgent {
                if let found = try staff(email: email), found.active {
                    defaultAgentID = found.id
                } else {
                    problems.append("map.agents.default: \(email) is not an active agent or admin in the export; name one who is")
                }
            }
            for (from, to) in settings.agents.map.sorted(by: { $0.key < $1.key }) {
                if let found = try staff(email: to), found.active {
                    agentTargets[from.lowercased()] = found.id
                } else {
                    problems.append("map.agents.map: \(from) -> \(to): \(to) is not an active agent or admin in the export")
                }
                if try staff(email: from) == nil {
                    reporter.warning("map.agents.map: \(from) matches no agent in the export; the entry has no effect")
                }
            }
            var needDefault: [String] = []
            for row in try Row.fetchAll(db, sql: "SELECT a.id, a.count, a.example, u.email, u.role, u.active FROM assignees a LEFT JOIN users u ON u.id = a.id ORDER BY a.id") {
                let id: String = row["id"], count: Int = row["count"], example: String = row["example"]
                let resolution = resolveAssignee(id: id, email: row["email"], role: row["role"], active: row["active"])
                if case .needsDefault(let why) = resolution, defaultAgentID == nil {
                    needDefault.append("    assignee \(id) (\(why)): \(count) ticket(s), e.g. \(example)")
                }
            }
            if !needDefault.isEmpty {
                problems.append("map.agents.default is not set (or not usable), but these assignees need it:")
                problems += needDefault
            }
            let missingFields = try Row.fetchAll(db, sql: "SELECT id, title FROM fields ORDER BY id")
            for (key, _) in settings.customFields.fields.sorted(by: { $0.key < $1.key })
            where !missingFields.contains(where: { ($0["title"] as String) == key || ($0["id"] as String) == key }) {
                reporter.warning("map.custom_fields.fields: \"\(key)\" matches no ticket field title or id; the entry has no effect")
            }
            if settings.customFields.unlisted == .error {
                let unlisted = missingFields.filter { settings.customFields.fields[$0["title"] as String] == nil && settings.customFields.fields[$0["id"] as String] == nil }
                if !unlisted.isEmpty {
                    problems.append("map.custom_fields.unlisted is error, and these fields are not listed in map.custom_fields.fields:")
                    for row in unlisted { problems.append("    \"\(row["title"] as String)\" (id \(row["id"] as String))") }
                }
            }
            for name in settings.groups.keys.sorted() where try Int.fetchOne(db, sql: "SELECT count(*) FROM groups WHERE name = ?", arguments: [name]) == 0 {
                reporter.warning("map.groups: \"\(name)\" matches no group name in the export; the entry has no effect")
            }
            let placeholders = try Int.fetchOne(db, sql: "SELECT count(*) FROM placeholders") ?? 0
            if placeholders > 0 {
                let example = try String.fetchOne(db, sql: "SELECT 'user ' || id || ' (referenced by ' || example || ')' FROM placeholders ORDER BY id LIMIT 1") ?? ""
                switch settings.missingUsers {
                case .placeholder: reporter.info("\(placeholders) referenced user(s) are not in the export; each gets an inactive placeholder user, e.g. \(example)")
                case .reject: reporter.warning("\(placeholders) referenced user(s) are not in the export; records referring to them are rejected (map.missing_users: reject), e.g. \(example)")
                }
            }
        }
        for warning in filter?.unmatched ?? [] { reporter.warning("\(warning); the entry has no effect") }
        if !problems.isEmpty {
            throw FerryError.unmappedValues(report: """
                \(configFile): the mapping does not cover the data; nothing was written.
                  \(problems.joined(separator: "\n  "))
                  what to do: add the missing entries to the map section of \(configFile) (docs/pipeline-reference.md shows each) and run ferry-map again.
                """)
        }
    }

    /// The plan's tables, from the first pass (run `checkCoverage` first so agents are resolved).
    func planLines() throws -> [String] {
        var lines: [String] = []
        func section(_ title: String, _ rows: [[String]]) {
            lines += ["", title, TextTable.render(rows)]
        }
        func values(_ name: String, _ map: [String: String], _ seen: [String: Occurrences]) {
            section("map.\(name)", [["source value", "records", "target value"]] + seen.keys.sorted().map { value in
                [value, "\(seen[value]!.count)", map.isEmpty ? "\(value) (no map: kept)" : map[value] ?? "UNMAPPED"]
            })
        }
        values("statuses", settings.statuses, statuses)
        values("priorities", settings.priorities, priorities)
        values("types", settings.types, types)
        try scratch.queue.read { db in
            section("map.groups", [["source group", "id", "target group"]] + (try Row.fetchAll(db, sql: "SELECT g.id, g.name, g.target, g.survivor FROM groups g ORDER BY g.seq")).map { row in
                let id: String = row["id"], survivor: String = row["survivor"]
                return [row["name"], id, (row["target"] as String) + (survivor == id ? "" : " (merged into group \(survivor))")]
            })
            section("map.agents (assignees)", [["assignee", "e-mail", "tickets", "becomes"]] + (try Row.fetchAll(db, sql: "SELECT a.id, a.count, u.email, u.role, u.active FROM assignees a LEFT JOIN users u ON u.id = a.id ORDER BY a.id")).map { row in
                let id: String = row["id"]
                let becomes: String
                switch resolveAssignee(id: id, email: row["email"], role: row["role"], active: row["active"]) {
                case .keep: becomes = "themselves"
                case .agent(let target, let why): becomes = "user \(target) (\(why))"
                case .needsDefault(let why): becomes = defaultAgentID.map { "default agent \($0) (\(why))" } ?? "UNMAPPED: \(why), and no default agent"
                }
                return [id, row["email"] ?? "", "\(row["count"] as Int)", becomes]
            })
            section("map.custom_fields (unconvertible values: \(settings.customFields.unconvertible.rawValue))",
                    [["ticket field", "id", "target key", "conversion"]] + (try Row.fetchAll(db, sql: "SELECT id, title, key, dropped FROM fields ORDER BY id")).map { row in
                let id: String = row["id"]
                let conversion = fieldRules[id].map { rule in
                    "to \(rule.targetType.rawValue)" + (rule.target.options.isEmpty ? "" : ", \(rule.target.options.count) option(s) mapped")
                        + (rule.converter.patternText.map { ", must match \($0)" } ?? "")
                } ?? ""
                return [row["title"], id, (row["dropped"] as Bool? ?? false) ? "dropped" : (row["key"] as String? ?? ""), conversion]
            })
            let placeholders = try Int.fetchOne(db, sql: "SELECT count(*) FROM placeholders") ?? 0
            lines += ["", "users referenced but not in the export: \(placeholders) (map.missing_users: \(settings.missingUsers.rawValue))"]
        }
        return lines
    }

    /// The plan's filter table: how many tickets and articles each filter
    /// leaves out (a second read of the tickets and articles; nothing is written).
    func filterLines(parts: [URL]) throws -> [String] {
        guard let filter, !settings.filters.isEmpty else { return ["", "map.filters: none; every ticket and article moves"] }
        var skipped: [String: (tickets: Int, articles: Int)] = [:]
        var tickets = 0, articles = 0
        for url in parts {
            try context.openBundle(url).read(line: { member, line, _ in
                switch EntityType(memberName: member) {
                case .tickets?:
                    guard let ticket = try? self.codec.decode(Ticket.self, line) else { return }
                    tickets += 1
                    if let why = filter.reason(for: ticket) { skipped[TicketFilter.filterName(why), default: (0, 0)].tickets += 1 }
                case .kbArticles?:
                    guard let article = try? self.codec.decode(KBArticle.self, line) else { return }
                    articles += 1
                    if let why = filter.reason(for: article) { skipped[TicketFilter.filterName(why), default: (0, 0)].articles += 1 }
                default: return
                }
            })
        }
        let skippedTickets = skipped.values.reduce(0) { $0 + $1.tickets }, skippedArticles = skipped.values.reduce(0) { $0 + $1.articles }
        var lines = ["", "map.filters: \(skippedTickets) of \(tickets) ticket(s) and \(skippedArticles) of \(articles) article(s) are skipped (with their comments and attachments)",
                     TextTable.render([["filter", "tickets skipped", "articles skipped"]] + skipped.keys.sorted().map { [$0, "\(skipped[$0]!.tickets)", "\(skipped[$0]!.articles)"] })]
        lines += filter.unmatched.map { "warning: \($0)" }
        return lines
    }

    enum AssigneeResolution {
        case keep
        case agent(String, reason: String)
        case needsDefault(String)
    }

    func resolveAssignee(id: String, email: String?, role: String?, active: Bool?) -> AssigneeResolution {
        guard let role else { return .needsDefault("not in the export") }
        if let email, let target = agentTargets[email] { return .agent(target, reason: "map.agents.map: \(email)") }
        if role == UserRole.endUser.rawValue { return .needsDefault("an end user, not an agent") }
        if active == false && settings.agents.reassignInactive { return .needsDefault("deactivated agent \(email ?? "without e-mail")") }
        return .keep
    }

    private struct IDProbe: Decodable { let id: String }

    // MARK: options

    /// map.options on one kept ticket: tag, subject, and the private notes that
    /// carry what the target has no place for (unconvertible values, all custom
    /// fields, ticket events). Notes are new comments with ids made from the
    /// ticket's, so a replay writes the same ones again instead of new ones.
    func applyOptions(_ ticket: inout Ticket, sourceFields: [CustomFieldValue], unconverted: [String], notes: inout [Comment], writer: BundleWriter,
                      isPlaceholder: (String) throws -> Bool) throws {
        let options = settings.options
        func note(_ id: String, author: String?, at time: String?, _ lines: [String]) {
            notes.append(Comment(id: id, sourceSystem: ticket.sourceSystem, ticketID: ticket.id, authorID: author, isPublic: false,
                                 bodyPlain: lines.joined(separator: "\n"), createdAt: time))
        }
        if !unconverted.isEmpty {
            note("ferry-fields-\(ticket.id)", author: defaultAgentID, at: ticket.createdAt,
                 ["Custom field values the target field could not take (migrated by Ferry):"] + unconverted.map { "- \($0)" })
        }
        if options.customFieldsNote, !sourceFields.isEmpty {
            note("ferry-custom-fields-\(ticket.id)", author: defaultAgentID, at: ticket.createdAt,
                 ["Custom fields in \(sourceSystem) (migrated by Ferry):"] + sourceFields.map { value in
                    "- \(fieldTitles[value.fieldID] ?? value.fieldID): \(value.value.scalarText ?? FieldConverter.show(value.value))"
                 })
        }
        if let events = ticket.events {
            switch options.ticketEvents {
            case .note:
                for event in events {
                    var author = event.authorID
                    if let id = author, settings.missingUsers == .reject, try isPlaceholder(id) { author = nil }
                    note("ferry-event-\(ticket.id)-\(event.id)", author: author, at: event.createdAt,
                         ["Ticket event in \(sourceSystem) at \(event.createdAt ?? "an unknown time") (migrated by Ferry):"] + event.changes.map { change in
                            "- \(change.field): \(Self.describe(change.before)) → \(Self.describe(change.after))"
                         })
                }
            case .drop:
                try writer.change(FieldChange(entity: .tickets, recordID: ticket.id, field: "events", before: .int(Int64(events.count)), after: .null,
                                              reason: "map.options.ticket_events: drop (\(events.count) event(s) not migrated)"))
            }
            ticket.events = nil
        }
        if let template = options.subjectTemplate {
            ticket.subject = template.replacingOccurrences(of: "{id}", with: ticket.id).replacingOccurrences(of: "{subject}", with: ticket.subject)
        }
        if let tag = options.tagTickets, !ticket.tags.contains(tag) { ticket.tags.append(tag) }
    }

    static func describe(_ value: JSONValue?) -> String {
        guard let value, value != .null else { return "(empty)" }
        if case .array(let items) = value { return items.compactMap(\.scalarText).joined(separator: ", ") }
        return value.scalarText ?? FieldConverter.show(value)
    }

    /// `<img ... src=".../name">` of the comment's own inline attachments ->
    /// "[image: name]", for map.options.inline_images: attachments.
    static func replacingInlineImages(_ html: String, fileNames: Set<String>) -> String {
        guard let regex = try? NSRegularExpression(pattern: #"<img\b[^>]*\bsrc\s*=\s*"([^"]*)"[^>]*>"#, options: [.caseInsensitive]) else { return html }
        var out = ""
        var last = html.startIndex
        for match in regex.matches(in: html, range: NSRange(html.startIndex..., in: html)) {
            guard let whole = Range(match.range, in: html), let src = Range(match.range(at: 1), in: html) else { continue }
            let name = String(html[src].split(separator: "/").last ?? "").removingPercentEncoding ?? ""
            guard fileNames.contains(name) else { continue }
            out += html[last..<whole.lowerBound] + "[image: \(name)]"
            last = whole.upperBound
        }
        return out + html[last...]
    }

    // MARK: pass 2

    func transform(partNumber: Int, reader: BundleReader, writer: BundleWriter, counts: inout StageCounts) throws {
        let partURL = reader.url
        try scratch.queue.inDatabase { db in
            let userLookup = try db.cachedStatement(sql: "SELECT email, role, active FROM users WHERE id = ?")
            let placeholderLookup = try db.cachedStatement(sql: "SELECT 1 FROM placeholders WHERE id = ?")
            let orgLookup = try db.cachedStatement(sql: "SELECT 1 FROM orgs WHERE id = ?")
            let groupLookup = try db.cachedStatement(sql: "SELECT name, target, survivor FROM groups WHERE id = ?")
            let fieldLookup = try db.cachedStatement(sql: "SELECT key, dropped, title FROM fields WHERE id = ?")
            let kbLookup = try db.cachedStatement(sql: "SELECT 1 FROM kb WHERE entity = ? AND id = ?")
            let refLookup = try db.cachedStatement(sql: "SELECT 1 FROM user_refs WHERE id = ?")
            let assigneeLookup = try db.cachedStatement(sql: "SELECT 1 FROM assignees WHERE id = ?")
            let attachmentLookup = try db.cachedStatement(sql: "SELECT kept, inline_names FROM comment_attachments WHERE id = ?")
            let options = settings.options
            // Left out by map.filters (their children follow them out), and the
            // blobs this part's kept attachments need.
            var skippedTickets = Set<String>(), skippedComments = Set<String>(), skippedArticles = Set<String>()
            var neededBlobs = Set<String>()
            var attachmentIndex: [String: Int] = [:]
            // Per part (a ticket and its children always share a part), so memory stays bounded.
            var keptTickets = Set<String>(), keptComments = Set<String>(), keptArticles = Set<String>()
            var rejectedTickets = Set<String>()
            var rejectedComments = Set<String>()
            var placeholdersEmitted = false

            func isPlaceholder(_ id: String) throws -> Bool { try Row.fetchOne(placeholderLookup, arguments: [id]) != nil }

            /// Whether a migrated record will point at this user: as requester, CC,
            /// author, an assignee who keeps their tickets, or a target of map.agents.
            func isReferenced(_ user: User) throws -> Bool {
                if try Row.fetchOne(refLookup, arguments: [user.id]) != nil { return true }
                if user.id == defaultAgentID || agentTargets.values.contains(user.id) { return true }
                guard try Row.fetchOne(assigneeLookup, arguments: [user.id]) != nil else { return false }
                if case .keep = resolveAssignee(id: user.id, email: Cleaning.normalizeEmail(user.email), role: user.role.rawValue, active: user.active) { return true }
                return false
            }

            /// Placeholders go into the part that first refers to them, before any ticket of it.
            func emitPlaceholders() throws {
                guard !placeholdersEmitted else { return }
                placeholdersEmitted = true
                guard settings.missingUsers == .placeholder else { return }
                for row in try Row.fetchAll(db, sql: "SELECT id, example FROM placeholders WHERE part = ? ORDER BY id", arguments: [partNumber]) {
                    let id: String = row["id"], example: String = row["example"]
                    try writer.write(User(id: id, sourceSystem: sourceSystem, name: "Unknown user \(id)", role: .endUser,
                                          active: false, tags: ["ferry-placeholder"]))
                    try writer.change(FieldChange(entity: .users, recordID: id, field: "id", before: .null, after: .string(id),
                                                  reason: "placeholder: user \(id) is referenced (\(example)) but not in the export"))
                    counts[.users].created += 1
                    counts[.users].written += 1
                }
            }

            func reject(_ entity: EntityType, _ id: String, _ number: Int, field: String?, _ reason: String) throws {
                try writer.reject(Reject(stage: "map", file: "\(partURL.lastPathComponent)/\(entity.memberName)", line: number,
                                         entity: entity, recordID: id, field: field, reason: reason))
                counts[entity].rejected += 1
            }

            /// A missing user: nil when the reference is fine, else the reject reason.
            func missingUser(_ id: String?, _ field: String) throws -> String? {
                guard let id, settings.missingUsers == .reject, try isPlaceholder(id) else { return nil }
                return "\(field) \(id) is not in the export (map.missing_users: reject)"
            }

            func handle<R: CanonicalRecord>(_ type: R.Type, _ line: Data, _ number: Int, _ member: String, map: (inout R) throws -> MapOutcome) throws {
                counts[R.entity].read += 1
                var record: R
                let original: R
                do {
                    record = try codec.decode(type, line)
                    original = record
                } catch {
                    try writer.reject(.undecodable(stage: .map, part: partURL, member: member, line: number, entity: R.entity, error: error, raw: line))
                    counts[R.entity].rejected += 1
                    return
                }
                switch try map(&record) {
                case .keep:
                    try writer.writeUnlessChanged(record, original: original, line: line)
                    counts[R.entity].written += 1
                case .reject(let reason):
                    try reject(R.entity, record.id, number, field: nil, reason)
                case .merge(let survivor, let reason):
                    try writer.merge(Merge(entity: R.entity, mergedID: record.id, survivorID: survivor, reason: reason))
                    counts[R.entity].merged += 1
                case .skip(let reason):
                    try writer.skip(Skip(entity: R.entity, recordID: record.id, reason: reason))
                    counts[R.entity].filtered += 1
                }
            }

            try reader.read(line: { member, line, number in
                if try passDeletion(member, line, into: writer) { return }
                if isUnknownMember(member) {
                    return try rejectUnknownMember(.map, part: partURL, member: member, line: number, raw: line, writer: writer, counts: &counts)
                }
                guard let entity = EntityType(memberName: member) else { return }
                if entity > .users { try emitPlaceholders() }
                switch entity {
                case .organizations: try handle(Organization.self, line, number, member) { _ in .keep }
                case .users:
                    try handle(User.self, line, number, member) { user in
                        if let org = user.organizationID, try Row.fetchOne(orgLookup, arguments: [org]) == nil {
                            try writer.change(FieldChange(entity: .users, recordID: user.id, field: "organization_id", before: .string(org), after: .null, reason: "organization \(org) is not in the export"))
                            user.organizationID = nil
                        }
                        if options.inactiveUsers == .skip, !user.active, try !isReferenced(user) {
                            return .skip("map.options.inactive_users: skip (deactivated, and no migrated record refers to them)")
                        }
                        return .keep
                    }
                case .groups:
                    try handle(Group.self, line, number, member) { group in
                        let row = try Row.fetchOne(groupLookup, arguments: [group.id])
                        let target: String = row?["target"] ?? group.name
                        let survivor: String = row?["survivor"] ?? group.id
                        if survivor != group.id {
                            return .merge(survivor, "map.groups: \"\(group.name)\" maps to \"\(target)\", which group \(survivor) already becomes")
                        }
                        group.name = target
                        return .keep
                    }
                case .ticketFields:
                    try handle(TicketField.self, line, number, member) { field in
                        let row = try Row.fetchOne(fieldLookup, arguments: [field.id])
                        if row?["dropped"] == true { return .skip("map.custom_fields drops \"\(field.title)\"") }
                        field.key = row?["key"] ?? MapPlan.slug(field.title)
                        if !settings.customFields.createMissing {
                            return .skip("map.custom_fields.create_missing is false: the target already has field \(field.key ?? "")")
                        }
                        fieldRules[field.id]?.apply(to: &field)
                        return .keep
                    }
                case .tickets:
                    var notes: [Comment] = []
                    try handle(Ticket.self, line, number, member) { ticket in
                        if let why = filter?.reason(for: ticket) {
                            skippedTickets.insert(ticket.id)
                            return .skip(why)
                        }
                        for (field, id) in [("requester_id", ticket.requesterID), ("submitter_id", ticket.submitterID)] {
                            if let reason = try missingUser(id, field) { rejectedTickets.insert(ticket.id); return .reject(reason) }
                        }
                        for id in ticket.ccIDs + ticket.followerIDs {
                            if let reason = try missingUser(id, "cc or follower") { rejectedTickets.insert(ticket.id); return .reject(reason) }
                        }
                        if !settings.statuses.isEmpty { ticket.status = settings.statuses[ticket.status]! }
                        if let p = ticket.priority, !settings.priorities.isEmpty { ticket.priority = settings.priorities[p]! }
                        if let t = ticket.type, !settings.types.isEmpty { ticket.type = settings.types[t]! }
                        if let assignee = ticket.assigneeID {
                            let row = try Row.fetchOne(userLookup, arguments: [assignee])
                            switch resolveAssignee(id: assignee, email: row?["email"], role: row?["role"], active: row?["active"]) {
                            case .keep: break
                            case .agent(let target, _): ticket.assigneeID = target
                            case .needsDefault(let why):
                                ticket.assigneeID = defaultAgentID
                                try writer.change(FieldChange(entity: .tickets, recordID: ticket.id, field: "assignee_id", before: .string(assignee),
                                                              after: defaultAgentID.map(JSONValue.string) ?? .null, reason: "assignee is \(why): given to map.agents.default"))
                            }
                        }
                        if let group = ticket.groupID {
                            if let row = try Row.fetchOne(groupLookup, arguments: [group]) {
                                ticket.groupID = row["survivor"]
                            } else {
                                try writer.change(FieldChange(entity: .tickets, recordID: ticket.id, field: "group_id", before: .string(group), after: .null, reason: "group \(group) is not in the export"))
                                ticket.groupID = nil
                            }
                        }
                        if let org = ticket.organizationID, try Row.fetchOne(orgLookup, arguments: [org]) == nil {
                            try writer.change(FieldChange(entity: .tickets, recordID: ticket.id, field: "organization_id", before: .string(org), after: .null, reason: "organization \(org) is not in the export"))
                            ticket.organizationID = nil
                        }
                        var kept: [CustomFieldValue] = []
                        for value in ticket.customFields {
                            let row = try Row.fetchOne(fieldLookup, arguments: [value.fieldID])
                            if row == nil {
                                try writer.change(FieldChange(entity: .tickets, recordID: ticket.id, field: "custom_fields.\(value.fieldID)", before: value.value, after: .null, reason: "ticket field \(value.fieldID) is not in the export"))
                            } else if row?["dropped"] == true {
                                try writer.change(FieldChange(entity: .tickets, recordID: ticket.id, field: "custom_fields.\(value.fieldID)", before: value.value, after: .null, reason: "map.custom_fields drops \"\(row?["title"] as String? ?? value.fieldID)\""))
                            } else {
                                kept.append(value)
                            }
                        }
                        let sourceFields = ticket.customFields
                        var unconverted: [String] = []
                        ticket.customFields = []
                        for value in kept {
                            guard let rule = fieldRules[value.fieldID] else { ticket.customFields.append(value); continue }
                            switch rule.converter.convert(value.value) {
                            case .converted(let converted):
                                ticket.customFields.append(CustomFieldValue(fieldID: value.fieldID, value: converted))
                            case .failure(let why):
                                let title = rule.converter.fieldTitle
                                if settings.customFields.unconvertible == .reject {
                                    rejectedTickets.insert(ticket.id)
                                    return .reject("custom_fields.\(value.fieldID) (\(title)): \(why) (target type \(rule.targetType.rawValue); map.custom_fields.unconvertible: reject)")
                                }
                                unconverted.append("\(title) (\(rule.target.key), \(rule.targetType.rawValue)): \(why)")
                                try writer.change(FieldChange(entity: .tickets, recordID: ticket.id, field: "custom_fields.\(value.fieldID)", before: value.value, after: .null,
                                                              reason: "cannot convert to \(rule.targetType.rawValue) (\(why)): moved to a private note"))
                            }
                        }
                        try applyOptions(&ticket, sourceFields: sourceFields, unconverted: unconverted, notes: &notes, writer: writer,
                                         isPlaceholder: isPlaceholder)
                        keptTickets.insert(ticket.id)
                        return .keep
                    }
                    for note in notes {
                        try writer.write(note)
                        counts[.comments].created += 1
                        counts[.comments].written += 1
                    }
                case .comments:
                    var followUps: [Comment] = []
                    try handle(Comment.self, line, number, member) { comment in
                        if skippedTickets.contains(comment.ticketID) {
                            skippedComments.insert(comment.id)
                            return .skip("its ticket \(comment.ticketID) is left out by map.filters")
                        }
                        if rejectedTickets.contains(comment.ticketID) {
                            rejectedComments.insert(comment.id)
                            return .reject("its ticket \(comment.ticketID) was rejected")
                        }
                        guard keptTickets.contains(comment.ticketID) else {
                            rejectedComments.insert(comment.id)
                            return .reject("its ticket \(comment.ticketID) is not in the export")
                        }
                        if let reason = try missingUser(comment.authorID, "author_id") { rejectedComments.insert(comment.id); return .reject(reason) }
                        keptComments.insert(comment.id)
                        guard let row = try Row.fetchOne(attachmentLookup, arguments: [comment.id]) else { return .keep }
                        if options.inlineImages == .attachments, let html = comment.bodyHTML, let names: String = row["inline_names"] {
                            comment.bodyHTML = MapPlan.replacingInlineImages(html, fileNames: Set(names.split(separator: "\n").map(String.init)))
                        }
                        if let limit = options.maxAttachmentsPerComment, let count: Int = row["kept"], count > limit {
                            for index in 1...((count - 1) / limit) {
                                let id = "\(comment.id)-ferry-\(index + 1)"
                                let first = index * limit + 1, last = min(count, (index + 1) * limit)
                                followUps.append(Comment(id: id, sourceSystem: comment.sourceSystem, ticketID: comment.ticketID, authorID: comment.authorID,
                                                         isPublic: comment.isPublic,
                                                         bodyPlain: "Attachments \(first)–\(last) of \(count) of the comment above (the target takes at most \(limit) per comment).",
                                                         createdAt: comment.createdAt))
                                keptComments.insert(id)
                            }
                        }
                        return .keep
                    }
                    for comment in followUps {
                        try writer.write(comment)
                        counts[.comments].created += 1
                        counts[.comments].written += 1
                    }
                case .kbCategories: try handle(KBCategory.self, line, number, member) { _ in .keep }
                case .kbSections:
                    try handle(KBSection.self, line, number, member) { section in
                        guard try Row.fetchOne(kbLookup, arguments: [EntityType.kbCategories.rawValue, section.categoryID]) != nil else {
                            // Its articles must not pass as if the section would be loaded.
                            try db.execute(sql: "DELETE FROM kb WHERE entity = ? AND id = ?", arguments: [EntityType.kbSections.rawValue, section.id])
                            return .reject("its category \(section.categoryID) is not in the export")
                        }
                        return .keep
                    }
                case .kbArticles:
                    try handle(KBArticle.self, line, number, member) { article in
                        if let why = filter?.reason(for: article) {
                            skippedArticles.insert(article.id)
                            return .skip(why)
                        }
                        if !options.articleTranslations, !article.translations.isEmpty {
                            try writer.change(FieldChange(entity: .kbArticles, recordID: article.id, field: "translations",
                                                          before: .array(article.translations.map { .string($0.locale) }), after: .array([]),
                                                          reason: "map.options.article_translations is false"))
                            article.translations = []
                        }
                        if try Row.fetchOne(kbLookup, arguments: [EntityType.kbSections.rawValue, article.sectionID]) == nil {
                            return .reject("its section \(article.sectionID) is not in the export")
                        }
                        if let reason = try missingUser(article.authorID, "author_id") { return .reject(reason) }
                        keptArticles.insert(article.id)
                        return .keep
                    }
                case .attachments:
                    try handle(Attachment.self, line, number, member) { attachment in
                        switch attachment.parentType {
                        case .comment where skippedComments.contains(attachment.parentID):
                            return .skip("its comment \(attachment.parentID) is left out by map.filters")
                        case .article where skippedArticles.contains(attachment.parentID):
                            return .skip("its article \(attachment.parentID) is left out by map.filters")
                        case .comment where !keptComments.contains(attachment.parentID):
                            return .reject(rejectedComments.contains(attachment.parentID)
                                ? "its comment \(attachment.parentID) was rejected" : "its comment \(attachment.parentID) is not in the export")
                        case .article where !keptArticles.contains(attachment.parentID):
                            return .reject("its article \(attachment.parentID) was rejected or is not in the export")
                        default:
                            break
                        }
                        if let why = attachmentSkipReason(attachment) { return .skip(why) }
                        if attachment.inline, options.inlineImages == .attachments { attachment.inline = false }
                        if let limit = options.maxAttachmentsPerComment, attachment.parentType == .comment {
                            let index = attachmentIndex[attachment.parentID, default: 0]
                            attachmentIndex[attachment.parentID] = index + 1
                            if index >= limit {
                                let moved = "\(attachment.parentID)-ferry-\(index / limit + 1)"
                                try writer.change(FieldChange(entity: .attachments, recordID: attachment.id, field: "parent_id", before: .string(attachment.parentID),
                                                              after: .string(moved), reason: "map.options.max_attachments_per_comment: \(limit)"))
                                attachment.parentID = moved
                            }
                        }
                        neededBlobs.insert(attachment.sha256)
                        return .keep
                    }
                }
            }, blob: { blob in
                // Blobs follow the records in a part; only kept attachments' bytes move on.
                if neededBlobs.contains(blob.sha256) { try copyBlob(blob, into: writer) }
            })
            try emitPlaceholders()
        }
    }
}
