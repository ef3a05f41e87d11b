import FerryCore
@testable import FerryHTTP
import FerryZendeskAPI
import Foundation
import NIOCore
import Testing

/// Attachments travel through the API connectors without being held whole:
/// an upload's body is read from its file while it is sent, a download is
/// written to its file as it arrives.
@Suite(.serialized)
struct HTTPStreamingTests {
    /// Bytes that are not all alike, so a chunk out of order would show.
    static func pattern(_ count: Int) -> Data { Data((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }) }

    static func collect(_ body: HTTPFileBody) async throws -> (Data, Int) {
        var all = Data()
        var chunks = 0
        for try await buffer in body.chunks {
            all.append(contentsOf: buffer.readableBytesView)
            chunks += 1
        }
        return (all, chunks)
    }

    @Test func aFileBodyIsThePrefixTheFileAndTheSuffixReadInChunks() async throws {
        let folder = try TestFolder("ferry-http-stream")
        let bytes = Self.pattern(600 * 1024 + 17)
        let file = folder.file("blob")
        try bytes.write(to: file)
        let body = try HTTPFileBody(prefix: Data("--head\r\n".utf8), file: file, suffix: Data("\r\n--tail--".utf8))
        #expect(body.length == Int64(8 + bytes.count + 10))
        let (all, chunks) = try await Self.collect(body)
        #expect(all == Data("--head\r\n".utf8) + bytes + Data("\r\n--tail--".utf8))
        // prefix, three file chunks of at most 256 KiB, suffix
        #expect(chunks == 5)
        // A second attempt (a retry) reads the file again from its start.
        let (again, _) = try await Self.collect(body)
        #expect(again == all)
    }

    @Test func aFileThatChangesSizeWhileItIsSentFailsTheAttempt() async throws {
        let folder = try TestFolder("ferry-http-stream")
        let file = folder.file("blob")
        try Self.pattern(1000).write(to: file)
        let body = try HTTPFileBody(file: file)
        try Self.pattern(2000).write(to: file)
        await #expect(throws: HTTPTransportError.self) { _ = try await Self.collect(body) }
        try Self.pattern(10).write(to: file)
        await #expect(throws: HTTPTransportError.self) { _ = try await Self.collect(body) }
    }

    @Test func anUploadAndItsDownloadStreamThroughRealHTTP() async throws {
        try await ZendeskTestKit.onThread { try Self.roundTripBody() }
    }

    static func roundTripBody() throws {
        let folder = try TestFolder("ferry-http-stream")
        let emulator = ZendeskEmulator()
        try emulator.start()
        defer { emulator.stop() }
        let client = try ZendeskTestKit.client(ZendeskTestKit.settings(emulator))
        let bytes = pattern(3 * 1024 * 1024 + 5)
        let file = folder.file("scan.pdf")
        try bytes.write(to: file)

        let reply = try client.upload("/api/v2/uploads.json", query: [("filename", "scan.pdf")], file: file, contentType: "application/pdf")
        #expect(reply.status == 201)
        let upload = reply.object?["upload"] as? [String: Any]
        let address = try #require((upload?["attachment"] as? [String: Any])?["content_url"] as? String)
        emulator.lock.lock()
        let received = emulator.files.values.first { $0.name == "scan.pdf" }?.data
        emulator.lock.unlock()
        #expect(received == bytes, "the emulator received \(received?.count ?? 0) of \(bytes.count) bytes")

        // Through Zendesk's redirect to its file storage, into a file of the spool.
        let downloaded = try #require(try client.download(address, into: folder.url.appendingPathComponent("spool")))
        #expect(try Data(contentsOf: downloaded) == bytes)
        #expect(emulator.recordedViolations.isEmpty, "\(emulator.recordedViolations)")
    }
}
