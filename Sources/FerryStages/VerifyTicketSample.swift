import FerryCore
import FerrySQLite
import Foundation

/// Chooses the tickets the report shows side by side, source against target,
/// and builds those comparisons, without holding more than the chosen few.
///
/// Pass 1, while verify compares every record: `noteTicket` for each ticket in
/// source order, `noteAttachment` while `wantsAttachment`, and `noteDifference`
/// for each ticket whose row, comments or attachments differ. Only picks are
/// kept (ticket id, part number), at most `limit`: the first `firstCount`
/// tickets; the ticket of the first attachment, so the sample shows an
/// attachment's checksums even when those tickets have none; then tickets that
/// differ.
///
/// Pass 2, `compare`: reads again only the map parts holding a pick (a ticket
/// always travels in one part with its comments and their attachments), keeps
/// the picked tickets with at most `commentLimit` comments and
/// `attachmentLimit` attachments each, and reads the same records back from
/// the target with `HelpDeskArchive.fetch`, the read-back verify itself uses.
struct TicketSampler {
    static let firstCount = 10
    static let limit = 20
    static let commentLimit = 50
    static let attachmentLimit = 50
    /// Characters of a comment's plain body shown.
    static let bodyLimit = 200

    struct Pick {
        let ticketID: String
        /// Index of the map part (in checkpoint order) that holds the ticket.
        let part: Int
        var differs: Bool
    }

    private(set) var picks: [Pick] = []
    private var firstPicked = 0
    /// Still looking for the first attachment's ticket.
    private(set) var wantsAttachment = true
    /// Some differing tickets did not fit in the sample.
    private(set) var moreDiffering = false

    /// Call for every ticket, in source order.
    mutating func noteTicket(_ id: String, part: Int) {
        guard firstPicked < Self.firstCount else { return }
        firstPicked += 1
        if !picks.contains(where: { $0.ticketID == id }), picks.count < Self.limit {
            picks.append(Pick(ticketID: id, part: part, differs: false))
        }
    }

    /// Call with the ticket of an attachment while `wantsAttachment`.
    mutating func noteAttachment(ticketID: String, part: Int) {
        wantsAttachment = false
        if !picks.contains(where: { $0.ticketID == ticketID }), picks.count < Self.limit {
            picks.append(Pick(ticketID: ticketID, part: part, differs: false))
        }
    }

    /// Call whenever something of a ticket differs (the ticket, a comment, an
    /// attachment, the comment count); repeated calls for one ticket are fine.
    mutating func noteDifference(ticketID: String, part: Int) {
        if let index = picks.firstIndex(where: { $0.ticketID == ticketID }) {
            picks[index].differs = true
            return
        }
        guard picks.count < Self.limit else {
            moreDiffering = true
            return
        }
        picks.append(Pick(ticketID: ticketID, part: part, differs: true))
    }

    /// The rule, in words, for the report.
    static let rule = "The first \(firstCount) tickets in source order, the ticket of the first attachment, and tickets that differ, \(limit) at most."

    /// Pass 2: the picked tickets, in source order, each beside what the target holds.
    func compare(mapParts: [URL], archive: any TargetConnector, context: PipelineContext) throws -> [TicketComparison] {
        let codec = RecordCodec()
        let names = TargetNames(archive: archive)
        var result: [TicketComparison] = []
        let byPart = Dictionary(grouping: picks, by: \.part)
        for partIndex in byPart.keys.sorted() where mapParts.indices.contains(partIndex) {
            let differs = Dictionary(byPart[partIndex]!.map { ($0.ticketID, $0.differs) }, uniquingKeysWith: { $0 || $1 })
            var tickets: [Ticket] = []
            var comments: [String: [Comment]] = [:]
            var commentTotals: [String: Int] = [:]
            var ticketOfComment: [String: String] = [:]
            var attachments: [String: [Attachment]] = [:]
            var attachmentTotals: [String: Int] = [:]
            try context.openBundle(mapParts[partIndex]).read(line: { member, line, _ in
                switch EntityType(memberName: member) {
                // Lines that do not decode are counted as failed by verify's main pass; the sample skips them.
                case .tickets?:
                    guard let ticket = try? codec.decode(Ticket.self, line) else { return }
                    if differs[ticket.id] != nil { tickets.append(ticket) }
                case .comments?:
                    guard let comment = try? codec.decode(Comment.self, line) else { return }
                    guard differs[comment.ticketID] != nil else { return }
                    ticketOfComment[comment.id] = comment.ticketID
                    commentTotals[comment.ticketID, default: 0] += 1
                    if comments[comment.ticketID, default: []].count < Self.commentLimit {
                        comments[comment.ticketID, default: []].append(comment)
                    }
                case .attachments?:
                    guard let attachment = try? codec.decode(Attachment.self, line) else { return }
                    guard attachment.parentType == .comment, let ticket = ticketOfComment[attachment.parentID] else { return }
                    attachmentTotals[ticket, default: 0] += 1
                    if attachments[ticket, default: []].count < Self.attachmentLimit {
                        attachments[ticket, default: []].append(attachment)
                    }
                default:
                    return
                }
            })
            for ticket in tickets {
                result.append(try Self.comparison(
                    of: ticket, differs: differs[ticket.id] ?? false,
                    comments: comments[ticket.id] ?? [], commentTotal: commentTotals[ticket.id] ?? 0,
                    attachments: attachments[ticket.id] ?? [], attachmentTotal: attachmentTotals[ticket.id] ?? 0,
                    archive: archive, names: names))
            }
        }
        return result
    }

    private static func comparison(of source: Ticket, differs: Bool, comments: [Comment], commentTotal: Int,
                                   attachments: [FerryCore.Attachment], attachmentTotal: Int,
                                   archive: any TargetConnector, names: TargetNames) throws -> TicketComparison {
        let target = try archive.fetch(Ticket.self, sourceID: source.id)
        func row(_ field: String, _ value: (Ticket) throws -> String?) throws -> FieldComparison {
            let left = try value(source)
            let right = try target.map(value) ?? nil
            return FieldComparison(field: field, source: left, target: right, inTarget: target != nil)
        }
        var fields = [
            try row("subject") { $0.subject },
            try row("status") { $0.status },
            try row("priority") { $0.priority },
            try row("type") { $0.type },
            try row("requester") { try names.person($0.requesterID) },
            try row("assignee") { try names.person($0.assigneeID) },
            try row("group") { try names.group($0.groupID) },
            try row("organization") { try names.organization($0.organizationID) },
            try row("tags") { $0.tags.joined(separator: ", ") },
        ]
        var fieldIDs = source.customFields.map(\.fieldID)
        for value in target?.customFields ?? [] where !fieldIDs.contains(value.fieldID) { fieldIDs.append(value.fieldID) }
        for fieldID in fieldIDs {
            fields.append(try row("field: " + names.field(fieldID)) { ticket in
                ticket.customFields.first { $0.fieldID == fieldID }.map(\.value.display)
            })
        }

        var commentRows: [CommentComparison] = []
        for comment in comments {
            let stored = try archive.fetch(Comment.self, sourceID: comment.id)
            commentRows.append(CommentComparison(
                sourceID: comment.id,
                source: try CommentSide(comment, names: names),
                target: try stored.map { try CommentSide($0, names: names) },
                same: stored == comment))
        }

        var attachmentRows: [AttachmentComparison] = []
        for attachment in attachments {
            let stored = try archive.fetch(FerryCore.Attachment.self, sourceID: attachment.id)
            let bytes = try stored.flatMap { try archive.blobDigest($0.sha256) }
            attachmentRows.append(AttachmentComparison(
                sourceID: attachment.id, commentID: attachment.parentID,
                fileName: attachment.fileName, storedFileName: stored?.fileName,
                expectedSize: attachment.size, storedSize: bytes?.size,
                expectedSHA256: attachment.sha256, storedSHA256: bytes?.sha256))
        }

        return TicketComparison(
            sourceID: source.id, targetID: try archive.targetID(.tickets, sourceID: source.id),
            subject: source.subject, hasDifferences: differs, inTarget: target != nil, fields: fields,
            comments: commentRows, commentsInSource: commentTotal,
            commentsInTarget: try archive.commentCount(ticketSourceID: source.id),
            attachments: attachmentRows, attachmentsInSource: attachmentTotal)
    }
}

/// Names for the ids a ticket refers to, read from the target (cached), so the
/// side-by-side view says "Noa Cohen <noa.cohen@example.com> · 2067" rather
/// than a bare id. Both sides are looked up by their source id in the target:
/// the referenced users, groups and fields are themselves verified field by
/// field, so the id is what this view compares.
final class TargetNames {
    private let archive: any TargetConnector
    private var cache: [String: String] = [:]

    init(archive: any TargetConnector) { self.archive = archive }

    func person(_ id: String?) throws -> String? {
        try lookup("user", id) { id in
            guard let user = try archive.fetch(User.self, sourceID: id) else { return "\(id) (not in the target)" }
            return user.name + (user.email.map { " <\($0)>" } ?? "") + " · \(id)"
        }
    }

    func group(_ id: String?) throws -> String? {
        try lookup("group", id) { id in
            try archive.fetch(FerryCore.Group.self, sourceID: id).map { "\($0.name) · \(id)" } ?? "\(id) (not in the target)"
        }
    }

    func organization(_ id: String?) throws -> String? {
        try lookup("organization", id) { id in
            try archive.fetch(Organization.self, sourceID: id).map { "\($0.name) · \(id)" } ?? "\(id) (not in the target)"
        }
    }

    /// A custom field's key in the target (its title when it has none), or its id.
    func field(_ id: String) throws -> String {
        try lookup("field", id) { id in
            try archive.fetch(TicketField.self, sourceID: id).map { $0.key ?? $0.title } ?? id
        } ?? id
    }

    private func lookup(_ kind: String, _ id: String?, _ make: (String) throws -> String) throws -> String? {
        guard let id else { return nil }
        let key = kind + " " + id
        if let known = cache[key] { return known }
        let name = try make(id)
        cache[key] = name
        return name
    }
}

/// One sampled ticket: its fields, comments and attachments, source beside target.
public struct TicketComparison: Codable, Equatable, Sendable {
    public var sourceID: String
    public var targetID: Int64?
    /// The source's subject, for the heading.
    public var subject: String
    /// Verify found a difference in this ticket, its comments or attachments.
    public var hasDifferences: Bool
    public var inTarget: Bool
    public var fields: [FieldComparison]
    /// The first `TicketSampler.commentLimit` comments of the source, each beside the target's.
    public var comments: [CommentComparison]
    public var commentsInSource: Int
    public var commentsInTarget: Int
    /// The first `TicketSampler.attachmentLimit` attachments of the ticket's comments.
    public var attachments: [AttachmentComparison]
    public var attachmentsInSource: Int

    enum CodingKeys: String, CodingKey {
        case sourceID = "source_id", targetID = "target_id", subject, hasDifferences = "has_differences"
        case inTarget = "in_target", fields, comments, commentsInSource = "comments_in_source"
        case commentsInTarget = "comments_in_target", attachments, attachmentsInSource = "attachments_in_source"
    }
}

/// One field of a sampled ticket; nil where the record has no value.
public struct FieldComparison: Codable, Equatable, Sendable {
    public var field: String
    public var source: String?
    public var target: String?
    public var same: Bool

    init(field: String, source: String?, target: String?, inTarget: Bool) {
        self.field = field; self.source = source; self.target = target
        same = inTarget && source == target
    }
}

public struct CommentComparison: Codable, Equatable, Sendable {
    public var sourceID: String
    public var source: CommentSide
    /// Nil when the target does not hold the comment.
    public var target: CommentSide?
    /// The whole comment (not only what is shown) equals its source.
    public var same: Bool

    enum CodingKeys: String, CodingKey { case sourceID = "source_id", source, target, same }
}

/// What the report shows of a comment: author, visibility, time and the start of its plain body.
public struct CommentSide: Codable, Equatable, Sendable {
    public var author: String?
    public var visibility: String
    public var createdAt: String?
    /// The first `TicketSampler.bodyLimit` characters of the plain body.
    public var body: String
    public var truncated: Bool

    enum CodingKeys: String, CodingKey { case author, visibility, createdAt = "created_at", body, truncated }

    init(_ comment: Comment, names: TargetNames) throws {
        author = try names.person(comment.authorID)
        visibility = comment.isPublic ? "public" : "private"
        createdAt = comment.createdAt
        body = String(comment.bodyPlain.prefix(TicketSampler.bodyLimit))
        truncated = comment.bodyPlain.count > TicketSampler.bodyLimit
    }
}

/// An attachment's metadata and bytes: what the source says against what the
/// target stores (SHA-256 and size of the stored bytes, hashed on reading).
public struct AttachmentComparison: Codable, Equatable, Sendable {
    public var sourceID: String
    public var commentID: String
    public var fileName: String
    public var storedFileName: String?
    public var expectedSize: UInt64
    public var storedSize: UInt64?
    public var expectedSHA256: String
    public var storedSHA256: String?
    public var matches: Bool

    init(sourceID: String, commentID: String, fileName: String, storedFileName: String?, expectedSize: UInt64, storedSize: UInt64?, expectedSHA256: String, storedSHA256: String?) {
        self.sourceID = sourceID; self.commentID = commentID; self.fileName = fileName; self.storedFileName = storedFileName
        self.expectedSize = expectedSize; self.storedSize = storedSize; self.expectedSHA256 = expectedSHA256; self.storedSHA256 = storedSHA256
        matches = storedFileName == fileName && storedSize == expectedSize && storedSHA256 == expectedSHA256.lowercased()
    }

    enum CodingKeys: String, CodingKey {
        case sourceID = "source_id", commentID = "comment_id", fileName = "file_name", storedFileName = "stored_file_name"
        case expectedSize = "expected_size", storedSize = "stored_size", expectedSHA256 = "expected_sha256"
        case storedSHA256 = "stored_sha256", matches
    }
}
