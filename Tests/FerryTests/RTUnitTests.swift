@testable import FerryCore
@testable import FerryRT
import Foundation
import Testing

/// The parts of the RT connector that need no server: its settings in pipeline.yml,
/// the comment header that keeps what RT cannot, and value conversions.
@Suite struct RTUnitTests {
    func load(_ yaml: String) throws -> PipelineConfig {
        let folder = try TestFolder("ferry-rt-config")
        let file = try folder.write("pipeline.yml", yaml)
        return try PipelineConfig.load(from: file)
    }

    @Test func settingsParseWithDefaultsAndUnknownKeysAreRefused() throws {
        let config = try load("""
            version: 1
            target:
              type: rt
              rt:
                url: http://rt.example:8080
                credentials_file: secrets/rt
                keep_ticket_ids: false
            """)
        let rt = try #require(config.target.rt)
        #expect(rt.url == "http://rt.example:8080" && rt.credentialsFile == "secrets/rt" && !rt.keepTicketIDs)
        #expect(rt.userEnv == "FERRY_RT_USER" && rt.maxConcurrency == 4 && rt.retries == 6 && rt.defaultQueue == "General")
        #expect(throws: FerryError.self) {
            try load("version: 1\ntarget:\n  type: rt\n  rt:\n    url: http://x\n    pasword: secret\n")
        }
        #expect(throws: FerryError.self) { try load("version: 1\ntarget:\n  type: rt\n") }
        #expect(throws: FerryError.self) { try load("version: 1\ntarget:\n  type: rt\n  rt:\n    url: ftp://x\n") }
        // The sqlite pipeline's fingerprint text does not change: an absent rt section encodes to nothing.
        #expect(!PipelineConfig.fingerprintText(TargetSettings()).contains("rt"))
    }

    @Test func commentHeaderRoundTrips() throws {
        let comment = Comment(id: "10000", sourceSystem: "zendesk", ticketID: "1", authorID: "2017", isPublic: false,
                              bodyHTML: "<p>Hi; there</p>", bodyPlain: "Hi; there", createdAt: "2023-01-16T16:54:42Z")
        let header = RTTarget.header(comment, authorName: "Zoë <z@example.com>")
        #expect(header == "[Ferry: comment 10000; author 2017; written 2023-01-16T16:54:42Z; internal; by Zoë <z@example.com>]")
        let html = try #require(RTTarget.parseHeader("<p>" + RTTarget.escapeHTML(header) + "</p>\n" + comment.bodyHTML!))
        #expect(html.id == "10000" && html.authorID == "2017" && html.createdAt == comment.createdAt && !html.isPublic && html.body == comment.bodyHTML)
        let plain = try #require(RTTarget.parseHeader(RTTarget.header(Comment(id: "7", sourceSystem: "s", ticketID: "1", bodyPlain: "x"), authorName: nil) + "\n\nline one\n"))
        #expect(plain.id == "7" && plain.authorID == nil && plain.createdAt == nil && plain.isPublic && plain.body == "line one\n")
        #expect(RTTarget.parseHeader("no header here") == nil)
    }

    @Test func valuesConvertBothWays() {
        #expect(RTTarget.rtValue(.bool(true)) as? String == "true")
        #expect(RTTarget.rtValue(.null) == nil && RTTarget.rtValue(.string("")) == nil && RTTarget.rtValue(.array([])) == nil)
        #expect(RTTarget.rtValue(.array([.string("a"), .string("b")])) as? [String] == ["a", "b"])
        #expect(RTTarget.canonicalValue(["true"], type: .checkbox) == .bool(true))
        #expect(RTTarget.canonicalValue(["12"], type: .integer) == .int(12))
        #expect(RTTarget.canonicalValue(["472.90"], type: .decimal) == .string("472.90"))
        #expect(RTTarget.canonicalValue(["a", "b"], type: .multiselect) == .array([.string("a"), .string("b")]))
        #expect(RTTarget.headerSafe("report.pdf") == "report.pdf")
        #expect(RTTarget.headerSafe("スクリーン.png") == "=?UTF-8?B?" + Data("スクリーン.png".utf8).base64EncodedString() + "?=")
        #expect(RTClient.rtTime("2024-03-05T14:22:10Z") == "2024-03-05 14:22:10")
        #expect(RTClient.time("1970-01-01T00:00:00Z") == nil)
        #expect(RTTarget.userName(User(id: "5", sourceSystem: "zendesk", name: "A", email: " Ann@Example.com ")) == "ann@example.com")
        #expect(RTTarget.userName(User(id: "5", sourceSystem: "zendesk", name: "A")) == "ferry-zendesk-5")
    }
}
