import FerryCore
import Foundation

/// Which records a demo migration takes: a seeded random sample of tickets and
/// articles (or chosen IDs) plus everything they reference (requesters, agents,
/// CC'd users, comment authors, their organizations, sections and categories;
/// all groups and ticket field definitions), so the demo's target is complete
/// and verifiable.
///
/// Found by reading the source three times without writing anything (choose;
/// collect references; collect the references of those), so memory holds only
/// the chosen IDs, never the export.
public struct DemoSelection: Sendable {
    public var tickets: Set<String> = []
    public var articles: Set<String> = []
    public var users: Set<String> = []
    public var organizations: Set<String> = []
    public var sections: Set<String> = []
    public var categories: Set<String> = []

    public enum Request: Sendable, Equatable {
        /// Up to `size` tickets and `size` articles, chosen uniformly at random with `seed`.
        case sample(size: Int, seed: UInt64)
        /// These ticket and article IDs (missing ones are reported).
        case ids(tickets: [String], articles: [String])
    }

    /// `includeEmails`: users the configuration names (the default agent, agent map
    /// targets), taken into every demo so its mapping works as the full run's does.
    public static func plan(_ request: Request, source: SourceConnector, includeEmails: Set<String> = [], reporter: Reporter) throws -> DemoSelection {
        var selection = DemoSelection()
        switch request {
        case .sample(let size, let seed):
            let chooser = ProbeSink()
            var ticketReservoir = Reservoir(size: size, seed: seed)
            var articleReservoir = Reservoir(size: size, seed: seed &+ 0x9E37_79B9)
            chooser.onRecord = { record in
                if let t = record as? Ticket { ticketReservoir.offer(t.id) }
                if let a = record as? KBArticle { articleReservoir.offer(a.id) }
            }
            try source.extract(from: nil, into: chooser, reporter: reporter)
            selection.tickets = Set(ticketReservoir.items)
            selection.articles = Set(articleReservoir.items)
        case .ids(let tickets, let articles):
            selection.tickets = Set(tickets)
            selection.articles = Set(articles)
        }

        // References of the chosen tickets, their comments, and the chosen articles.
        let references = ProbeSink()
        var seenTickets = Set<String>(), seenArticles = Set<String>()
        references.onRecord = { record in
            switch record {
            case let t as Ticket where selection.tickets.contains(t.id):
                seenTickets.insert(t.id)
                for id in [t.requesterID, t.submitterID, t.assigneeID].compactMap({ $0 }) + t.ccIDs + t.followerIDs { selection.users.insert(id) }
                for author in (t.events ?? []).compactMap(\.authorID) { selection.users.insert(author) }
                if let org = t.organizationID { selection.organizations.insert(org) }
            case let c as Comment where selection.tickets.contains(c.ticketID):
                if let author = c.authorID { selection.users.insert(author) }
            case let a as KBArticle where selection.articles.contains(a.id):
                seenArticles.insert(a.id)
                selection.sections.insert(a.sectionID)
                if let author = a.authorID { selection.users.insert(author) }
            default: break
            }
        }
        try source.extract(from: nil, into: references, reporter: reporter)
        if case .ids = request {
            let missingTickets = selection.tickets.subtracting(seenTickets).sorted()
            let missingArticles = selection.articles.subtracting(seenArticles).sorted()
            if !missingTickets.isEmpty || !missingArticles.isEmpty {
                throw FerryError.usage("not in the source: " + (missingTickets.map { "ticket \($0)" } + missingArticles.map { "article \($0)" }).joined(separator: ", ") + "; check the IDs you passed")
            }
        }

        // The organizations of the chosen users, the categories of the chosen sections.
        let second = ProbeSink()
        second.onRecord = { record in
            switch record {
            case let u as User where selection.users.contains(u.id) || includeEmails.contains(Cleaning.normalizeEmail(u.email) ?? ""):
                selection.users.insert(u.id)
                if let org = u.organizationID { selection.organizations.insert(org) }
            case let s as KBSection where selection.sections.contains(s.id):
                selection.categories.insert(s.categoryID)
            default: break
            }
        }
        try source.extract(from: nil, into: second, reporter: reporter)
        reporter.info("demo: \(selection.tickets.count) ticket(s), \(selection.articles.count) article(s), \(selection.users.count) user(s), \(selection.organizations.count) organization(s) selected")
        return selection
    }

    /// Whether a record belongs to the demo. Comments and attachments follow their parent.
    func contains(_ record: any CanonicalRecord) -> Bool {
        switch record {
        case let r as Organization: return organizations.contains(r.id)
        case let r as User: return users.contains(r.id)
        case is Group, is TicketField: return true  // definitions: small, and the mapping names them
        case let r as Ticket: return tickets.contains(r.id)
        case let r as Comment: return tickets.contains(r.ticketID)
        case let r as KBCategory: return categories.contains(r.id)
        case let r as KBSection: return sections.contains(r.id)
        case let r as KBArticle: return articles.contains(r.id)
        default: return true
        }
    }
}

/// Reservoir sampling (Algorithm R) with a seeded generator: the same seed and
/// the same source order always choose the same records, in one pass.
struct Reservoir {
    let size: Int
    var items: [String] = []
    var seen = 0
    var rng: SplitMix64

    init(size: Int, seed: UInt64) {
        self.size = size
        rng = SplitMix64(seed: seed)
    }

    mutating func offer(_ item: String) {
        seen += 1
        if items.count < size {
            items.append(item)
        } else {
            let j = Int(rng.next() % UInt64(seen))
            if j < size { items[j] = item }
        }
    }
}

/// A small, well-known deterministic generator (not for secrets).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A sink that only looks: it hands each record to a closure and copies no bytes.
final class ProbeSink: ExtractSink {
    var onRecord: (any CanonicalRecord) -> Void = { _ in }
    func emit<R: CanonicalRecord>(_ record: R) throws { onRecord(record) }
    func reject(_ reject: Reject) throws {}
    func addBlob(copyingFrom url: URL) throws -> (sha256: String, size: UInt64) { (String(repeating: "0", count: 64), 0) }
    func endOfUnit(position: SourcePosition) throws {}
    func sawUpdate(_ timestamp: String?) {}
}

/// Passes on the records a predicate keeps (a demo selection, the records
/// changed since the last run) and counts the rest as filtered. Children follow
/// the last ticket or article emitted (a unit is a record and its children), so
/// attachment bytes of a left-out ticket are never copied.
final class FilteringSink: ExtractSink {
    let base: PartSink
    let keeps: (any CanonicalRecord) -> Bool
    private var parentKept = true

    init(base: PartSink, keeps: @escaping (any CanonicalRecord) -> Bool) {
        self.base = base
        self.keeps = keeps
    }

    func emit<R: CanonicalRecord>(_ record: R) throws {
        let keep: Bool
        switch record {
        case is Ticket, is KBArticle:
            parentKept = keeps(record)
            keep = parentKept
        case is Comment, is Attachment:
            keep = parentKept
        default:
            keep = keeps(record)
        }
        if keep { try base.emit(record) } else { base.filtered(record) }
    }

    func reject(_ reject: Reject) throws {
        if reject.entity == .attachments && !parentKept { return base.filtered(.attachments, id: reject.recordID) }
        try base.reject(reject)
    }

    func addBlob(copyingFrom url: URL) throws -> (sha256: String, size: UInt64) {
        guard parentKept else { return (String(repeating: "0", count: 64), 0) }
        return try base.addBlob(copyingFrom: url)
    }

    func endOfUnit(position: SourcePosition) throws { try base.endOfUnit(position: position) }
    func sawUpdate(_ timestamp: String?) { base.sawUpdate(timestamp) }
}
