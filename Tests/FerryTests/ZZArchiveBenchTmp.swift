import FerryCore
import FerrySQLite
import Foundation
import Testing

@Test func zzArchiveBenchTmp() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-bench-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let archive = try HelpDeskArchive(path: dir.appendingPathComponent("a.sqlite"))
    let n = 20_000
    let clock = ContinuousClock()
    var t0 = clock.now
    for batch in stride(from: 0, to: n, by: 1000) {
        try archive.transaction {
            for i in batch..<batch + 1000 {
                let u = User(id: "u\(i)", sourceSystem: "zendesk", name: "User \(i)", email: "u\(i)@example.com", tags: ["a", "b"])
                _ = try archive.upsert(u, contentHash: "h\(i)")
            }
        }
    }
    print("users: \(clock.now - t0)")
    t0 = clock.now
    for batch in stride(from: 0, to: n, by: 1000) {
        try archive.transaction {
            for i in batch..<batch + 1000 {
                let t = Ticket(id: "t\(i)", sourceSystem: "zendesk", subject: "Subject \(i) printer", description: "Something about \(i) and more words here", status: "open", requesterID: "u\(i)", assigneeID: "u\((i * 7) % n)", tags: ["x", "y"], ccIDs: ["u\((i+1) % n)"])
                _ = try archive.upsert(t, contentHash: "h\(i)")
                for k in 0..<3 {
                    let c = Comment(id: "c\(i)-\(k)", sourceSystem: "zendesk", ticketID: "t\(i)", authorID: "u\(i)", bodyHTML: "<p>hello \(k)</p>", bodyPlain: "hello world comment number \(k) for ticket \(i) with some text")
                    _ = try archive.upsert(c, contentHash: "h\(i)-\(k)")
                }
            }
        }
    }
    print("tickets+3 comments: \(clock.now - t0)")
    t0 = clock.now
    try archive.transaction {
        for i in 0..<n { _ = try archive.upsert(Comment(id: "c\(i)-0", sourceSystem: "zendesk", ticketID: "t\(i)", authorID: "u\(i)", bodyHTML: "<p>hello 0</p>", bodyPlain: "hello world comment number 0 for ticket \(i) with some text"), contentHash: "h\(i)-0") }
    }
    print("unchanged comments: \(clock.now - t0)")
    t0 = clock.now
    for i in 0..<n { _ = try archive.fetch(Ticket.self, sourceID: "t\(i)") }
    print("fetch tickets: \(clock.now - t0)")
}
