import FerryCore
import Foundation

/// `map.filters`, resolved against the export: group and organization names
/// and assignee e-mails become source ids once, after the map's first pass, so
/// deciding a ticket's fate is set lookups only. `reason` names the filter that
/// stops a ticket, which becomes its skip reason in the report.
struct TicketFilter {
    let filters: TicketFilters
    private let createdAfter: String?, createdBefore: String?, updatedAfter: String?, updatedBefore: String?
    private let statuses: Set<String>
    private let tagsAny: Set<String>, tagsNone: Set<String>
    private let groupIDs: Set<String>?, organizationIDs: Set<String>?, assigneeIDs: Set<String>?
    /// Field id -> accepted values.
    private let fieldValues: [String: Set<String>]
    private let ticketIDs: Set<String>, excludedTicketIDs: Set<String>, articleIDs: Set<String>

    /// Filter values that match nothing in the export: likely typos, reported as warnings.
    private(set) var unmatched: [String] = []

    /// - Parameters: the export's groups (id, name), organizations (id, name),
    ///   users (id, e-mail) and ticket fields (id, title), for name lookups.
    init(_ filters: TicketFilters, configFile: String, groups: [(String, String)], organizations: [(String, String)],
         users: (String) throws -> [String], fields: [(String, String)]) throws {
        self.filters = filters
        func time(_ value: String?, _ key: String) throws -> String? {
            guard let value else { return nil }
            guard let normalized = Timestamp.normalize(value) else {
                throw FerryError.config(file: configFile, detail: "map.filters.\(key): \"\(value)\" is not a date", hint: "write YYYY-MM-DD or an ISO 8601 date-time such as 2024-03-05T14:22:10Z")
            }
            return normalized
        }
        createdAfter = try time(filters.createdAfter, "created_after")
        createdBefore = try time(filters.createdBefore, "created_before")
        updatedAfter = try time(filters.updatedAfter, "updated_after")
        updatedBefore = try time(filters.updatedBefore, "updated_before")
        statuses = Set(filters.statuses)
        tagsAny = Set(filters.tagsAny)
        tagsNone = Set(filters.tagsNone)
        ticketIDs = Set(filters.ticketIDs)
        excludedTicketIDs = Set(filters.excludeTicketIDs)
        articleIDs = Set(filters.articleIDs)
        var unmatched: [String] = []
        func resolve(_ wanted: [String], _ known: [(String, String)], _ key: String) -> Set<String>? {
            guard !wanted.isEmpty else { return nil }
            var ids = Set<String>()
            for name in wanted {
                let hits = known.filter { $0.0 == name || $0.1.caseInsensitiveCompare(name) == .orderedSame }.map(\.0)
                if hits.isEmpty { unmatched.append("map.filters.\(key): \"\(name)\" matches no \(key.dropLast()) name or id in the export") }
                ids.formUnion(hits)
            }
            return ids
        }
        groupIDs = resolve(filters.groups, groups, "groups")
        organizationIDs = resolve(filters.organizations, organizations, "organizations")
        if filters.assignees.isEmpty {
            assigneeIDs = nil
        } else {
            var ids = Set<String>()
            for wanted in filters.assignees {
                let hits = try users(wanted)
                if hits.isEmpty { unmatched.append("map.filters.assignees: \"\(wanted)\" matches no user e-mail or id in the export") }
                ids.formUnion(hits)
            }
            assigneeIDs = ids
        }
        var fieldValues: [String: Set<String>] = [:]
        for (name, values) in filters.customFields.sorted(by: { $0.key < $1.key }) {
            let hits = fields.filter { $0.0 == name || $0.1 == name }.map(\.0)
            if hits.isEmpty {
                throw FerryError.config(file: configFile, detail: "map.filters.custom_fields: \"\(name)\" matches no ticket field title or id in the export",
                                        hint: "use a title or id from `ferry-map --plan` (the map.custom_fields table)")
            }
            for id in hits { fieldValues[id, default: []].formUnion(values) }
        }
        self.fieldValues = fieldValues
        self.unmatched = unmatched
    }

    /// Why the filters skip this ticket, or nil when it moves.
    func reason(for ticket: Ticket) -> String? {
        if !ticketIDs.isEmpty, !ticketIDs.contains(ticket.id) { return "map.filters.ticket_ids: not listed" }
        if excludedTicketIDs.contains(ticket.id) { return "map.filters.exclude_ticket_ids: listed" }
        func window(_ value: String?, after: String?, before: String?, _ name: String) -> String? {
            guard after != nil || before != nil else { return nil }
            guard let value else { return "map.filters.\(name)_after/before: the ticket has no \(name)_at" }
            if let after, value < after { return "map.filters.\(name)_after: \(name) \(value) is before \(after)" }
            if let before, value >= before { return "map.filters.\(name)_before: \(name) \(value) is not before \(before)" }
            return nil
        }
        if let why = window(ticket.createdAt, after: createdAfter, before: createdBefore, "created") { return why }
        if let why = window(ticket.updatedAt, after: updatedAfter, before: updatedBefore, "updated") { return why }
        if !statuses.isEmpty, !statuses.contains(ticket.status) { return "map.filters.statuses: status \(ticket.status) is not listed" }
        if !tagsAny.isEmpty, tagsAny.isDisjoint(with: ticket.tags) { return "map.filters.tags_any: none of the listed tags" }
        if let tag = ticket.tags.first(where: tagsNone.contains) { return "map.filters.tags_none: tagged \(tag)" }
        if let groupIDs, !groupIDs.contains(ticket.groupID ?? "") { return "map.filters.groups: group \(ticket.groupID ?? "none") is not listed" }
        if let organizationIDs, !organizationIDs.contains(ticket.organizationID ?? "") {
            return "map.filters.organizations: organization \(ticket.organizationID ?? "none") is not listed"
        }
        if let assigneeIDs, !assigneeIDs.contains(ticket.assigneeID ?? "") { return "map.filters.assignees: assignee \(ticket.assigneeID ?? "none") is not listed" }
        for (fieldID, wanted) in fieldValues.sorted(by: { $0.key < $1.key }) {
            let value = ticket.customFields.first { $0.fieldID == fieldID }?.value
            let values: [String]
            switch value {
            case .array(let items)?: values = items.compactMap(\.scalarText)
            case let scalar?: values = scalar.scalarText.map { [$0] } ?? []
            case nil: values = []
            }
            if wanted.isDisjoint(with: values) { return "map.filters.custom_fields: field \(fieldID) is \(values.isEmpty ? "empty" : values.joined(separator: ", ")), not a listed value" }
        }
        return nil
    }

    func reason(for article: KBArticle) -> String? {
        if !articleIDs.isEmpty, !articleIDs.contains(article.id) { return "map.filters.article_ids: not listed" }
        return nil
    }

    /// The reason with its specifics cut off, to group skips by filter in the plan.
    static func filterName(_ reason: String) -> String {
        String(reason.prefix { $0 != ":" })
    }
}
