import FerryCore
import Foundation
import GRDB

/// A stage's private on-disk index (an SQLite file in the stage folder), for
/// facts that span all parts: which e-mails repeat, which users exist. Keeping
/// them on disk instead of in dictionaries keeps memory flat however large the
/// export. It is rebuilt from the input at the start of every run, so it never
/// needs to be crash-safe itself: durability is not worth paying for here.
final class ScratchIndex {
    let queue: DatabaseQueue
    let url: URL

    init(directory: StageDirectory, name: String, schema: String) throws {
        url = directory.url.appendingPathComponent(".\(name).sqlite")
        for suffix in ["", "-wal", "-shm", "-journal"] {
            try? FileManager.default.removeItem(atPath: url.path + suffix)
        }
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -32768")
        }
        do {
            queue = try DatabaseQueue(path: url.path, configuration: configuration)
            try queue.write { db in try db.execute(sql: schema) }
        } catch {
            throw FerryError.io(path: url.path, detail: "cannot create the stage's index: \(error)")
        }
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }
}

/// Identity of a record's first appearance, so a later copy can be told apart.
struct Occurrence: Equatable {
    let part: Int
    let line: Int
    let hash: String

    func describe(_ partFile: String, _ entity: EntityType) -> String {
        "\(StageDirectory.partFileName(part)) \(entity.memberName) line \(line)"
    }
}
