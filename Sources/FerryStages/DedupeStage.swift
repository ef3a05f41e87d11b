import FerryCore
import Foundation
import GRDB

/// `ferry-dedupe`: cleans records and merges duplicates.
///
/// Two passes. The first indexes every record's first appearance, every user's
/// normalised e-mail and every organization's name and domains (on disk, in a
/// scratch SQLite file) and decides the merges. The second rewrites each part:
/// exact copies are dropped, same-id-different-content records are rejected,
/// merged users and organizations are dropped in favour of their survivor, and
/// every reference to a merged record is rewritten to the survivor. Every drop
/// is recorded in merges.ndjson and every changed value in changes.ndjson.
public struct DedupeStage {
    public let context: PipelineContext
    public let reporter: Reporter

    public init(context: PipelineContext, reporter: Reporter) {
        self.context = context
        self.reporter = reporter
    }

    public func run() throws -> StageResult {
        let settings = context.config.dedupe
        let runner = PartwiseRunner(stage: .dedupe, context: context, reporter: reporter,
                                    settingsText: "dedupe v1\n" + PipelineConfig.fingerprintText(settings))
        let directory = context.stage(.dedupe)
        let kept = directory.url.appendingPathComponent("identities.sqlite")
        var index: DedupeIndex?
        return try runner.run(
            prepare: { input in
                // A delta merges against everyone earlier runs saw; a full run starts afresh.
                index = try DedupeIndex(directory: directory, settings: settings, seed: input.isDelta ? kept : nil, context: context)
                try index!.build(parts: input.parts, reporter: reporter)
            },
            transform: { part, reader, writer, counts in
                try index!.transform(partNumber: writer.part, reader: reader, writer: writer, counts: &counts)
            },
            finish: { try index!.scratch.persist(to: kept) })
    }
}

/// The dedupe stage's decisions, and the rewriting that applies them.
final class DedupeIndex {
    let settings: DedupeSettings
    let scratch: ScratchIndex
    let codec = RecordCodec()

    let context: PipelineContext

    init(directory: StageDirectory, settings: DedupeSettings, seed: URL?, context: PipelineContext) throws {
        self.settings = settings
        self.context = context
        // users and orgs persist across runs (for deltas); this_run marks rows this run has already
        // seen, so within one run the first appearance wins and across runs the newer data does.
        scratch = try ScratchIndex(directory: directory, name: "dedupe-index", schema: """
            CREATE TABLE seen(entity TEXT NOT NULL, id TEXT NOT NULL, part INTEGER NOT NULL, line INTEGER NOT NULL, hash TEXT NOT NULL, PRIMARY KEY(entity, id)) WITHOUT ROWID;
            CREATE TABLE users(id TEXT PRIMARY KEY, email TEXT, role_rank INTEGER, active INTEGER, created_at TEXT, seq INTEGER, phone TEXT, organization_id TEXT, this_run INTEGER NOT NULL DEFAULT 1, new_this_run INTEGER NOT NULL DEFAULT 1);
            CREATE INDEX users_email ON users(email);
            CREATE TABLE orgs(id TEXT PRIMARY KEY, created_at TEXT, seq INTEGER, this_run INTEGER NOT NULL DEFAULT 1);
            CREATE TABLE org_keys(key TEXT NOT NULL, id TEXT NOT NULL);
            CREATE INDEX org_keys_id ON org_keys(id);
            CREATE TABLE merged(entity TEXT NOT NULL, id TEXT NOT NULL, survivor TEXT NOT NULL, reason TEXT NOT NULL, PRIMARY KEY(entity, id)) WITHOUT ROWID;
            CREATE INDEX merged_survivor ON merged(entity, survivor);
            """, seed: seed, reset: """
            DELETE FROM seen; DELETE FROM merged; UPDATE users SET this_run = 0, new_this_run = 0; UPDATE orgs SET this_run = 0;
            """)
    }

    private struct Probe: Decodable { let id: String }

    // MARK: pass 1

    func build(parts: [URL], reporter: Reporter) throws {
        try scratch.queue.write { db in
            var seq = try Int.fetchOne(db, sql: "SELECT max(m) FROM (SELECT max(seq) AS m FROM users UNION ALL SELECT max(seq) FROM orgs)") ?? 0
            let seen = try db.cachedStatement(sql: "INSERT OR IGNORE INTO seen(entity, id, part, line, hash) VALUES (?, ?, ?, ?, ?)")
            let users = try db.cachedStatement(sql: """
                INSERT INTO users(id, email, role_rank, active, created_at, seq, phone, organization_id, this_run) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)
                ON CONFLICT(id) DO UPDATE SET email = excluded.email, role_rank = excluded.role_rank, active = excluded.active,
                    phone = excluded.phone, organization_id = excluded.organization_id, this_run = 1
                WHERE users.this_run = 0
                """)
            let orgs = try db.cachedStatement(sql: """
                INSERT INTO orgs(id, created_at, seq, this_run) VALUES (?, ?, ?, 1)
                ON CONFLICT(id) DO UPDATE SET this_run = 1 WHERE orgs.this_run = 0
                """)
            let dropKeys = try db.cachedStatement(sql: "DELETE FROM org_keys WHERE id = ?")
            let orgKeys = try db.cachedStatement(sql: "INSERT INTO org_keys(key, id) VALUES (?, ?)")
            for (index, url) in parts.enumerated() {
                let reader = try context.openBundle(url)
                try reader.read(line: { member, line, number in
                    guard let entity = EntityType(memberName: member) else { return }
                    seq += 1
                    switch entity {
                    case .users:
                        guard let user = try? self.codec.decode(User.self, line) else { return }
                        try seen.execute(arguments: [entity.rawValue, user.id, index + 1, number, Hash.sha256(line)])
                        guard db.changesCount > 0 else { return }
                        let rank = user.role == .admin ? 2 : user.role == .agent ? 1 : 0
                        // Only valid addresses identify a person: two users with "n/a" are not the same.
                        let email = Cleaning.normalizeEmail(user.email).flatMap { Cleaning.isValidEmail($0) ? $0 : nil }
                        try users.execute(arguments: [user.id, email, rank, user.active, user.createdAt, seq, user.phone, user.organizationID])
                    case .organizations:
                        guard let org = try? self.codec.decode(Organization.self, line) else { return }
                        try seen.execute(arguments: [entity.rawValue, org.id, index + 1, number, Hash.sha256(line)])
                        guard db.changesCount > 0 else { return }
                        try orgs.execute(arguments: [org.id, org.createdAt, seq])
                        try dropKeys.execute(arguments: [org.id])
                        try orgKeys.execute(arguments: ["name " + Cleaning.normalizeName(org.name), org.id])
                        for domain in Set(org.domainNames.compactMap(Cleaning.normalizeDomain)).sorted() {
                            try orgKeys.execute(arguments: ["domain " + domain, org.id])
                        }
                    default:
                        guard let probe = try? JSONDecoder().decode(Probe.self, from: line) else { return }
                        try seen.execute(arguments: [entity.rawValue, probe.id, index + 1, number, Hash.sha256(line)])
                    }
                })
                reporter.progress(done: index + 1, total: parts.count, unit: "parts indexed")
            }
            if settings.mergeUsersByEmail {
                try db.execute(sql: """
                    INSERT INTO merged(entity, id, survivor, reason)
                    SELECT 'users', id, survivor, 'same e-mail as user ' || survivor || ' after trimming and lower-casing (' || email || ')'
                    FROM (SELECT id, email, first_value(id) OVER (PARTITION BY email ORDER BY new_this_run, role_rank DESC, active DESC, created_at IS NULL, created_at, seq) AS survivor
                          FROM users WHERE email IS NOT NULL)
                    WHERE id != survivor
                    """)
            }
            if settings.mergeOrganizations {
                try mergeOrganizations(db)
            }
        }
    }

    /// Organizations sharing a normalised name or a domain form groups (transitively);
    /// the earliest created survives. Only organizations that share a key are loaded into memory.
    private func mergeOrganizations(_ db: Database) throws {
        let rows = try Row.fetchAll(db, sql: """
            SELECT k.key, k.id, o.created_at, o.seq FROM org_keys k JOIN orgs o ON o.id = k.id
            WHERE k.key IN (SELECT key FROM org_keys GROUP BY key HAVING count(DISTINCT id) > 1)
            ORDER BY k.key, o.seq
            """)
        var parent: [String: String] = [:]
        var order: [String: (String?, Int)] = [:]
        func find(_ x: String) -> String {
            var root = x
            while let p = parent[root], p != root { root = p }
            parent[x] = root
            return root
        }
        var keysByID: [String: [String]] = [:]
        var firstByKey: [String: String] = [:]
        for row in rows {
            let key: String = row["key"], id: String = row["id"]
            order[id] = (row["created_at"], row["seq"])
            if parent[id] == nil { parent[id] = id }
            keysByID[id, default: []].append(key)
            if let first = firstByKey[key] {
                let a = find(first), b = find(id)
                if a != b { parent[b] = a }
            } else {
                firstByKey[key] = id
            }
        }
        var components: [String: [String]] = [:]
        for id in parent.keys { components[find(id), default: []].append(id) }
        let insert = try db.cachedStatement(sql: "INSERT INTO merged(entity, id, survivor, reason) VALUES ('organizations', ?, ?, ?)")
        for members in components.values {
            let sorted = members.sorted { a, b in
                let (ca, sa) = order[a]!, (cb, sb) = order[b]!
                return (ca ?? "~", sa) < (cb ?? "~", sb)
            }
            let survivor = sorted[0]
            let survivorKeys = Set(keysByID[survivor] ?? [])
            for id in sorted.dropFirst() {
                let shared = (keysByID[id] ?? []).filter { survivorKeys.contains($0) }
                let why = shared.isEmpty ? "linked through another duplicate" : shared.map { $0.replacingOccurrences(of: "name ", with: "same name \"").replacingOccurrences(of: "domain ", with: "shared domain \"") + "\"" }.joined(separator: ", ")
                try insert.execute(arguments: [id, survivor, "duplicate of organization \(survivor): \(why)"])
            }
        }
    }

    // MARK: pass 2

    func transform(partNumber: Int, reader: BundleReader, writer: BundleWriter, counts: inout StageCounts) throws {
        let partURL = reader.url
        try scratch.queue.inDatabase { db in
            let seenLookup = try db.cachedStatement(sql: "SELECT part, line, hash FROM seen WHERE entity = ? AND id = ?")
            let mergedLookup = try db.cachedStatement(sql: "SELECT survivor, reason FROM merged WHERE entity = ? AND id = ?")
            let mergedInto = try db.cachedStatement(sql: "SELECT u.id, u.phone, u.organization_id FROM merged m JOIN users u ON u.id = m.id WHERE m.entity = 'users' AND m.survivor = ? ORDER BY u.seq")
            var survivorCache: [String: String] = [:]

            func survivor(_ entity: EntityType, _ id: String?) throws -> String? {
                guard let id else { return nil }
                let key = entity.rawValue + " " + id
                if let cached = survivorCache[key] { return cached }
                let found = try String.fetchOne(mergedLookup, arguments: [entity.rawValue, id]) ?? id
                // Bounded: most lookups repeat within a part (a ticket's people recur in its comments).
                if survivorCache.count > 20_000 { survivorCache.removeAll(keepingCapacity: true) }
                survivorCache[key] = found
                return found
            }
            func survivors(_ entity: EntityType, _ ids: [String]) throws -> [String] {
                var out: [String] = []
                for id in ids { if let s = try survivor(entity, id), !out.contains(s) { out.append(s) } }
                return out
            }

            /// Decides whether this line is the record's first appearance; drops or rejects later ones.
            func isFirstAppearance(_ entity: EntityType, _ id: String, line: Data, number: Int) throws -> Bool {
                guard let row = try Row.fetchOne(seenLookup, arguments: [entity.rawValue, id]) else { return true }
                let first = Occurrence(part: row["part"], line: row["line"], hash: row["hash"])
                if first.part == partNumber && first.line == number { return true }
                let whereFirst = first.describe(partURL.lastPathComponent, entity)
                if first.hash == Hash.sha256(line) {
                    try writer.merge(Merge(entity: entity, mergedID: id, survivorID: id, reason: "exact copy of the record at \(whereFirst)"))
                    counts[entity].merged += 1
                } else {
                    try writer.reject(Reject(stage: "dedupe", file: "\(partURL.lastPathComponent)/\(entity.memberName)", line: number,
                                             entity: entity, recordID: id, field: "id",
                                             reason: "id \(id) appears again with different content (first at \(whereFirst)); the first one is kept. Fix the export so each \(entity.singular) appears once"))
                    counts[entity].rejected += 1
                }
                return false
            }

            func handle<R: CanonicalRecord>(_ type: R.Type, _ line: Data, _ number: Int, _ member: String, clean: (inout R) throws -> Void) throws {
                let entity = R.entity
                counts[entity].read += 1
                var record: R
                do {
                    record = try codec.decode(type, line)
                } catch {
                    try writer.reject(.undecodable(stage: .dedupe, part: partURL, member: member, line: number, entity: entity, error: error, raw: line))
                    counts[entity].rejected += 1
                    return
                }
                guard try isFirstAppearance(entity, record.id, line: line, number: number) else { return }
                if entity == .users || entity == .organizations,
                   let row = try Row.fetchOne(mergedLookup, arguments: [entity.rawValue, record.id]) {
                    try writer.merge(Merge(entity: entity, mergedID: record.id, survivorID: row["survivor"], reason: row["reason"]))
                    counts[entity].merged += 1
                    return
                }
                let original = record
                try clean(&record)
                try writer.writeUnlessChanged(record, original: original, line: line)
                counts[entity].written += 1
            }

            func change(_ entity: EntityType, _ id: String, _ field: String, _ before: String?, _ after: String?, _ reason: String) throws {
                try writer.change(FieldChange(entity: entity, recordID: id, field: field,
                                              before: before.map(JSONValue.string) ?? .null, after: after.map(JSONValue.string) ?? .null, reason: reason))
            }

            try reader.read(line: { member, line, number in
                if try passDeletion(member, line, into: writer) { return }
                if isUnknownMember(member) {
                    return try rejectUnknownMember(.dedupe, part: partURL, member: member, line: number, raw: line, writer: writer, counts: &counts)
                }
                guard let entity = EntityType(memberName: member) else { return }
                switch entity {
                case .organizations:
                    try handle(Organization.self, line, number, member) { org in
                        let name = org.name.trimmingCharacters(in: .whitespacesAndNewlines)
                        if name != org.name { try change(.organizations, org.id, "name", org.name, name, "surrounding white space removed"); org.name = name }
                        var domains: [String] = []
                        for domain in org.domainNames.compactMap(Cleaning.normalizeDomain) where !domains.contains(domain) { domains.append(domain) }
                        if domains != org.domainNames {
                            try writer.change(FieldChange(entity: .organizations, recordID: org.id, field: "domain_names",
                                                          before: .array(org.domainNames.map(JSONValue.string)), after: .array(domains.map(JSONValue.string)),
                                                          reason: "domains trimmed, lower-cased and deduplicated"))
                            org.domainNames = domains
                        }
                    }
                case .users:
                    try handle(User.self, line, number, member) { user in
                        let name = user.name.trimmingCharacters(in: .whitespacesAndNewlines)
                        if name != user.name { try change(.users, user.id, "name", user.name, name, "surrounding white space removed"); user.name = name }
                        if let raw = user.email {
                            let normalized = Cleaning.normalizeEmail(raw)
                            if let normalized, !Cleaning.isValidEmail(normalized) {
                                try change(.users, user.id, "email", raw, nil, "not a valid e-mail address; removed, the user is kept")
                                user.email = nil
                            } else if normalized != raw {
                                try change(.users, user.id, "email", raw, normalized, "trimmed and lower-cased")
                                user.email = normalized
                            }
                        }
                        if let raw = user.phone {
                            if raw.trimmingCharacters(in: .whitespaces).isEmpty {
                                try change(.users, user.id, "phone", raw, nil, "empty phone number removed")
                                user.phone = nil
                            } else if let normalized = Cleaning.normalizePhone(raw), normalized != raw {
                                try change(.users, user.id, "phone", raw, normalized, "normalised to + and digits")
                                user.phone = normalized
                            }
                        }
                        user.organizationID = try survivor(.organizations, user.organizationID)
                        // A survivor takes what it lacks from the users merged into it.
                        if user.phone == nil || user.organizationID == nil {
                            for row in try Row.fetchAll(mergedInto, arguments: [user.id]) {
                                let mergedID: String = row["id"]
                                if user.phone == nil, let phone: String = row["phone"], let normalized = Cleaning.normalizePhone(phone) {
                                    try change(.users, user.id, "phone", nil, normalized, "taken from merged user \(mergedID)")
                                    user.phone = normalized
                                }
                                if user.organizationID == nil, let org: String = row["organization_id"] {
                                    let target = try survivor(.organizations, org)
                                    try change(.users, user.id, "organization_id", nil, target, "taken from merged user \(mergedID)")
                                    user.organizationID = target
                                }
                            }
                        }
                    }
                case .groups: try handle(Group.self, line, number, member) { _ in }
                case .ticketFields: try handle(TicketField.self, line, number, member) { _ in }
                case .tickets:
                    try handle(Ticket.self, line, number, member) { ticket in
                        let subject = ticket.subject.trimmingCharacters(in: .whitespacesAndNewlines)
                        if subject != ticket.subject { try change(.tickets, ticket.id, "subject", ticket.subject, subject, "surrounding white space removed"); ticket.subject = subject }
                        ticket.requesterID = try survivor(.users, ticket.requesterID)
                        ticket.submitterID = try survivor(.users, ticket.submitterID)
                        ticket.assigneeID = try survivor(.users, ticket.assigneeID)
                        ticket.organizationID = try survivor(.organizations, ticket.organizationID)
                        ticket.ccIDs = try survivors(.users, ticket.ccIDs)
                        ticket.followerIDs = try survivors(.users, ticket.followerIDs)
                        if var events = ticket.events {
                            for index in events.indices { events[index].authorID = try survivor(.users, events[index].authorID) }
                            ticket.events = events
                        }
                    }
                case .comments:
                    try handle(Comment.self, line, number, member) { comment in
                        comment.authorID = try survivor(.users, comment.authorID)
                    }
                case .kbCategories: try handle(KBCategory.self, line, number, member) { _ in }
                case .kbSections: try handle(KBSection.self, line, number, member) { _ in }
                case .kbArticles:
                    try handle(KBArticle.self, line, number, member) { article in
                        article.authorID = try survivor(.users, article.authorID)
                    }
                case .attachments: try handle(Attachment.self, line, number, member) { _ in }
                }
            }, blob: { blob in
                try copyBlob(blob, into: writer)
            })
        }
    }
}
