@testable import FerryCore
@testable import FerryStages
import Foundation
import GRDB
import Testing

/// Custom field type conversion, one rule at a time (FieldConverter).
struct FieldConversionTests {
    static func converter(_ type: FieldType, options: [String: String] = [:], targetOptions: [String] = [], regexp: String? = nil) throws -> FieldConverter {
        try FieldConverter(fieldTitle: "F", targetType: type, optionMap: options, targetOptions: Set(targetOptions), regexp: regexp)
    }

    @Test(arguments: [
        // (target type, source value, converted value as JSON, or nil when it must fail)
        (FieldType.text, JSONValue.int(12), #""12""#),
        (.text, .bool(true), #""true""#),
        (.text, .array([.string("a"), .string("b")]), #""a, b""#),
        (.text, .string("two\nlines"), nil),
        (.textarea, .string("two\nlines"), #""two\nlines""#),
        (.integer, .string(" 25 "), "25"),
        (.integer, .string("184.00"), "184"),
        (.integer, .double(3.0), "3"),
        (.integer, .string("184.50"), nil),
        (.integer, .string("twelve"), nil),
        (.integer, .bool(true), nil),
        (.decimal, .string("184.00"), #""184.00""#),
        (.decimal, .int(7), #""7""#),
        (.decimal, .string("+0.5"), #""0.5""#),
        (.decimal, .string("1,5"), nil),
        (.date, .string("2024-03-05"), #""2024-03-05""#),
        (.date, .string("2024-03-05T23:30:00-02:00"), #""2024-03-06""#),
        (.date, .string("05/03/2024"), nil),
        (.date, .int(20240305), nil),
        (.checkbox, .string("Yes"), "true"),
        (.checkbox, .int(0), "false"),
        (.checkbox, .string("maybe"), nil),
        (.dropdown, .string("plan_pro"), #""professional""#),
        (.dropdown, .array([.string("basic")]), #""basic""#),
        (.dropdown, .array([.string("basic"), .string("plan_pro")]), nil),
        (.dropdown, .string("gold"), nil),
        (.multiselect, .string("basic"), #"["basic"]"#),
        (.multiselect, .array([.string("plan_pro"), .string("basic"), .string("professional")]), #"["professional","basic"]"#),
        (.multiselect, .array([.string("basic"), .string("gold")]), nil),
    ] as [(FieldType, JSONValue, String?)])
    func converts(type: FieldType, value: JSONValue, expected: String?) throws {
        let converter = try Self.converter(type, options: ["plan_pro": "professional"], targetOptions: ["basic", "professional"])
        let outcome = converter.convert(value)
        if let expected {
            #expect(outcome == .converted(try JSONDecoder().decode(JSONValue.self, from: Data(expected.utf8))))
        } else if case .failure(let reason) = outcome {
            #expect(!reason.isEmpty)
        } else {
            Issue.record("\(value) converted to \(type) as \(outcome), expected a failure")
        }
    }

    @Test func nullStaysNull() throws {
        #expect(try Self.converter(.integer).convert(.null) == .converted(.null))
    }

    @Test func regexpIsCheckedOnTheWholeConvertedValue() throws {
        let converter = try Self.converter(.text, regexp: "ORD-[0-9]{6}")
        #expect(converter.convert(.string("ORD-123456")) == .converted(.string("ORD-123456")))
        guard case .failure(let reason) = converter.convert(.string("ORD-123456-X")) else { Issue.record("a partial match passed"); return }
        #expect(reason.contains("does not match the pattern ORD-[0-9]{6}"))
    }

    @Test func targetDefinitionMapsOptionsAndType() throws {
        let source = TicketField(id: "4002", sourceSystem: "zendesk", title: "Plan", type: .dropdown,
                                 options: [FieldOption(name: "Free", value: "plan_free"), FieldOption(name: "Pro", value: "plan_pro"),
                                           FieldOption(name: "Pro (old)", value: "plan_pro_old")])
        let rule = try FieldRule(source: source, target: FieldTarget(key: "plan", type: .multiselect,
                                                                     options: ["plan_pro": "pro", "plan_pro_old": "pro", "plan_trial": "trial"]),
                                 configFile: "p.yml")
        var field = source
        rule.apply(to: &field)
        #expect(field.type == .multiselect)
        #expect(field.options.map(\.value) == ["plan_free", "pro", "trial"])
        #expect(rule.converter.convert(.string("plan_pro_old")) == .converted(.array([.string("pro")])))
    }

    @Test func badRegexpIsAConfigError() {
        let source = TicketField(id: "1", sourceSystem: "zendesk", title: "Serial", type: .text)
        #expect(throws: FerryError.self) { try FieldRule(source: source, target: FieldTarget(key: "s", regexp: "(unclosed"), configFile: "p.yml") }
    }
}

/// map.filters, decided one ticket at a time (TicketFilter).
struct TicketFilterTests {
    static func ticket(_ id: String = "1", status: String = "open", tags: [String] = [], group: String? = "10", org: String? = "20",
                       assignee: String? = "30", created: String? = "2024-03-05T10:00:00Z", fields: [CustomFieldValue] = []) -> Ticket {
        Ticket(id: id, sourceSystem: "zendesk", subject: "s", status: status, assigneeID: assignee, groupID: group, organizationID: org,
               tags: tags, customFields: fields, createdAt: created, updatedAt: created)
    }

    static func filter(_ filters: TicketFilters) throws -> TicketFilter {
        try TicketFilter(filters, configFile: "p.yml", groups: [("10", "Tier 1"), ("11", "Tier 2")], organizations: [("20", "Acme"), ("21", "Globex")],
                         users: { wanted in ["30": ["30"], "ann@example.com": ["31"]][wanted] ?? [] }, fields: [("4001", "Product")])
    }

    @Test func eachFilterSkipsWhatItShouldAndNamesItself() throws {
        let cases: [(TicketFilters, Ticket, String?)] = [
            (TicketFilters(createdAfter: "2024-03-06"), Self.ticket(), "map.filters.created_after"),
            (TicketFilters(createdAfter: "2024-03-05"), Self.ticket(), nil),
            (TicketFilters(createdBefore: "2024-03-05T10:00:00Z"), Self.ticket(), "map.filters.created_before"),
            (TicketFilters(createdBefore: "2024-03-06"), Self.ticket(created: nil), "map.filters.created_after/before"),
            (TicketFilters(updatedAfter: "2025-01-01"), Self.ticket(), "map.filters.updated_after"),
            (TicketFilters(updatedBefore: "2025-01-01"), Self.ticket(), nil),
            (TicketFilters(tagsAny: ["vip", "urgent"]), Self.ticket(tags: ["billing"]), "map.filters.tags_any"),
            (TicketFilters(tagsAny: ["vip", "urgent"]), Self.ticket(tags: ["billing", "vip"]), nil),
            (TicketFilters(tagsNone: ["spam"]), Self.ticket(tags: ["spam"]), "map.filters.tags_none"),
            (TicketFilters(statuses: ["solved", "closed"]), Self.ticket(status: "open"), "map.filters.statuses"),
            (TicketFilters(statuses: ["solved", "open"]), Self.ticket(status: "open"), nil),
            (TicketFilters(groups: ["tier 2"]), Self.ticket(group: "10"), "map.filters.groups"),
            (TicketFilters(groups: ["Tier 1"]), Self.ticket(group: "10"), nil),
            (TicketFilters(groups: ["Tier 1"]), Self.ticket(group: nil), "map.filters.groups"),
            (TicketFilters(organizations: ["21"]), Self.ticket(org: "20"), "map.filters.organizations"),
            (TicketFilters(organizations: ["acme"]), Self.ticket(org: "20"), nil),
            (TicketFilters(assignees: ["ann@example.com"]), Self.ticket(assignee: "30"), "map.filters.assignees"),
            (TicketFilters(assignees: ["30"]), Self.ticket(assignee: "30"), nil),
            (TicketFilters(customFields: ["Product": ["acme_api"]]), Self.ticket(fields: [CustomFieldValue(fieldID: "4001", value: .string("acme_cloud"))]), "map.filters.custom_fields"),
            (TicketFilters(customFields: ["4001": ["acme_api"]]), Self.ticket(fields: [CustomFieldValue(fieldID: "4001", value: .array([.string("x"), .string("acme_api")]))]), nil),
            (TicketFilters(customFields: ["Product": ["acme_api"]]), Self.ticket(), "map.filters.custom_fields"),
            (TicketFilters(ticketIDs: ["2", "3"]), Self.ticket("1"), "map.filters.ticket_ids"),
            (TicketFilters(ticketIDs: ["1"]), Self.ticket("1"), nil),
            (TicketFilters(excludeTicketIDs: ["1"]), Self.ticket("1"), "map.filters.exclude_ticket_ids"),
        ]
        for (filters, ticket, expected) in cases {
            let reason = try Self.filter(filters).reason(for: ticket)
            #expect(reason.map(TicketFilter.filterName) == expected, "\(filters) on \(ticket.id): \(reason ?? "kept")")
        }
    }

    @Test func articleIDsFilterArticles() throws {
        let filter = try Self.filter(TicketFilters(articleIDs: ["62000"]))
        let article = KBArticle(id: "62001", sourceSystem: "zendesk", sectionID: "1", title: "t", bodyHTML: "", locale: "en-us")
        #expect(filter.reason(for: article) == "map.filters.article_ids: not listed")
        #expect(try Self.filter(TicketFilters()).reason(for: article) == nil)
    }

    @Test func namesThatMatchNothingAreReportedAndBadDatesRefused() throws {
        #expect(try Self.filter(TicketFilters(groups: ["Tier 9"], assignees: ["nobody@example.com"])).unmatched.count == 2)
        #expect(throws: FerryError.self) { try Self.filter(TicketFilters(createdAfter: "last tuesday")) }
        #expect(throws: FerryError.self) { try Self.filter(TicketFilters(customFields: ["No such field": ["x"]])) }
    }
}

/// Knowledge base link recognition and rewriting (KBLinkRewriter).
struct KBLinkRewriterTests {
    let rewriter = KBLinkRewriter(template: "https://help.new.example/hc/{locale}/{kind}/{id}", sourceHosts: ["acme.zendesk.com"])
    let targets: [String: Int64] = ["kb_articles 62012": 13, "kb_sections 61005": 6, "kb_categories 60000": 1]

    func resolve(_ link: KBLinkRewriter.Link) -> (id: Int64, locale: String?)? {
        targets["\(link.entity.rawValue) \(link.sourceID)"].map { ($0, "en-us") }
    }

    @Test(arguments: [
        ("https://acme.zendesk.com/hc/en-us/articles/62012-Resetting-your-password", "https://help.new.example/hc/en-us/articles/13"),
        ("https://acme.zendesk.com/hc/de/articles/62012", "https://help.new.example/hc/de/articles/13"),
        ("https://ACME.zendesk.com/hc/articles/62012#steps", "https://help.new.example/hc/en-us/articles/13#steps"),
        ("/hc/en-us/articles/62012-Resetting-your-password#troubleshooting", "https://help.new.example/hc/en-us/articles/13#troubleshooting"),
        ("/hc/pt-br/articles/62012?page=2#steps", "https://help.new.example/hc/pt-br/articles/13#steps"),
        ("https://acme.zendesk.com/hc/en-us/sections/61005-Known-issues", "https://help.new.example/hc/en-us/sections/6"),
        ("//acme.zendesk.com/hc/en-us/categories/60000", "https://help.new.example/hc/en-us/categories/1"),
    ])
    func sourceURLFormsAreRewritten(source: String, target: String) {
        let html = "<p>See <a class=\"x\" href=\"\(source)\">this</a>.</p>"
        let result = rewriter.rewrite(html, resolve: resolve)
        #expect(result.html == "<p>See <a class=\"x\" href=\"\(target)\">this</a>.</p>")
        #expect(result.unresolved.isEmpty)
    }

    @Test func foreignLinksAreLeftAloneAndDanglingOnesReported() {
        let html = """
            <a href="https://status.acme.example/hc/en-us/articles/62012">status</a>
            <a href='attachments/50025/sample-invoice.pdf'>pdf</a>
            <a href='https://acme.zendesk.com/hc/en-us/articles/62099-Retired'>gone</a>
            <a href="https://acme.zendesk.com/hc/en-us/requests/7">a request</a>
            """
        let result = rewriter.rewrite(html, resolve: resolve)
        #expect(result.html == html)
        #expect(result.unresolved.map(\.sourceID) == ["62099"])
        #expect(result.unresolved.first?.entity == .kbArticles)
    }

    @Test func rewritingIsIdempotent() {
        let once = rewriter.rewrite("<a href=\"/hc/en-us/articles/62012#a\">x</a>", resolve: resolve).html
        #expect(rewriter.rewrite(once, resolve: resolve).html == once)
    }

    @Test func targetURLMustNotLookLikeASourceURL() throws {
        let folder = try TestFolder()
        let url = try folder.write("p.yml", """
            version: 1
            target:
              kb_links:
                url: https://acme.zendesk.com/hc/{locale}/{kind}/{id}
                source_hosts: [acme.zendesk.com]
            """)
        #expect(throws: FerryError.self) { try PipelineConfig.load(from: url) }
        let relative = try folder.write("r.yml", "version: 1\ntarget:\n  kb_links:\n    url: /hc/{kind}/{id}\n")
        #expect(throws: FerryError.self) { try PipelineConfig.load(from: relative) }
    }
}

/// The new pipeline.yml sections are checked like the rest: unknown keys by line, wrong types by key.
struct MapOptionsConfigTests {
    @Test func unknownKeysInTheNewSectionsAreNamedWithTheirLine() throws {
        let folder = try TestFolder()
        for (text, key, line) in [
            ("version: 1\nmap:\n  filters:\n    status: [open]\n", "map.filters.status", 4),
            ("version: 1\nmap:\n  options:\n    tag_ticket: x\n", "map.options.tag_ticket", 4),
            ("version: 1\nmap:\n  custom_fields:\n    fields:\n      Seats: { key: seats, kind: text }\n", "map.custom_fields.fields.Seats.kind", 5),
            ("version: 1\ntarget:\n  kb_links:\n    urls: x\n", "target.kb_links.urls", 4),
        ] {
            let url = try folder.write("k.yml", text)
            do {
                _ = try PipelineConfig.load(from: url)
                Issue.record("\(key) was accepted")
            } catch let error as FerryError {
                #expect("\(error)".contains("\(key): unknown key (line \(line))"), "\(error)")
            }
        }
    }

    @Test func wrongTypesAndValuesAreRefusedWithTheKey() throws {
        let folder = try TestFolder()
        for (text, key) in [
            ("version: 1\nmap:\n  options:\n    attachments: some\n", "map.options.attachments"),
            ("version: 1\nmap:\n  options:\n    max_attachments_per_comment: many\n", "map.options.max_attachments_per_comment"),
            ("version: 1\nmap:\n  custom_fields:\n    fields:\n      Seats: { key: seats, type: number }\n", "map.custom_fields.fields"),
            ("version: 1\nmap:\n  filters:\n    statuses: open\n", "map.filters.statuses"),
        ] {
            let url = try folder.write("t.yml", text)
            do {
                _ = try PipelineConfig.load(from: url)
                Issue.record("\(key) was accepted")
            } catch let error as FerryError {
                #expect("\(error)".contains(key), "\(error)")
            }
        }
    }

    @Test func createMissingFalseIsRefusedForTheArchive() throws {
        let folder = try TestFolder()
        let url = try folder.write("c.yml", "version: 1\nmap:\n  custom_fields:\n    create_missing: false\n")
        #expect(throws: FerryError.self) { try PipelineConfig.load(from: url) }
    }

    @Test func fieldEntriesTakeAKeyOrAMapping() throws {
        let folder = try TestFolder()
        let url = try folder.write("f.yml", """
            version: 1
            map:
              custom_fields:
                unconvertible: reject
                fields:
                  "Order number": order_number
                  "Seats": { key: seat_count, type: text }
                  "Plan": { key: plan, type: dropdown, options: { plan_pro: pro } }
                  "VIP": ~
            """)
        let fields = try PipelineConfig.load(from: url).map.customFields
        #expect(fields.unconvertible == .reject)
        #expect(fields.fields["Order number"] == .some(FieldTarget(key: "order_number")))
        #expect(fields.fields["Seats"] == .some(FieldTarget(key: "seat_count", type: .text)))
        #expect(fields.fields["Plan"] == .some(FieldTarget(key: "plan", type: .dropdown, options: ["plan_pro": "pro"])))
        #expect(fields.fields["VIP"] == .some(nil))
    }

    @Test func inlineImagesBecomeTextOnlyForTheCommentsOwnAttachments() {
        let html = #"<p>Look:</p><img src="attachments/50000/settings%20page.png" alt="x"><img src="https://cdn.example/logo.png">"#
        #expect(MapPlan.replacingInlineImages(html, fileNames: ["settings page.png"])
                == #"<p>Look:</p>[image: settings page.png]<img src="https://cdn.example/logo.png">"#)
    }
}
