import FerryCore
import Foundation
import GRDB

/// A stage's private on-disk index (an SQLite file in the stage folder), for
/// facts that span all parts: which e-mails repeat, which users exist. Keeping
/// them on disk instead of in dictionaries keeps memory flat however large the
/// export. It is rebuilt at the start of every run (from nothing, or for a delta
/// from the index the last complete run kept), so it never needs to be
/// crash-safe itself: durability is paid for once, in `persist`.
final class ScratchIndex {
    let queue: DatabaseQueue
    let url: URL

    /// `seed`: the kept index of the last complete run, for delta runs; `reset`
    /// then clears what belongs to a single run. Without a seed, `schema` creates the tables.
    init(directory: StageDirectory, name: String, schema: String, seed: URL? = nil, reset: String = "") throws {
        url = directory.url.appendingPathComponent(".\(name).sqlite")
        for suffix in ["", "-wal", "-shm", "-journal"] {
            try? FileManager.default.removeItem(atPath: url.path + suffix)
        }
        let seeded = seed.map { FileManager.default.fileExists(atPath: $0.path) } ?? false
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // temp_store stays FILE: a GROUP BY or ORDER BY over a big table builds its
            // temporary b-tree on disk, so memory stays flat however big the export.
            try db.execute(sql: "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA temp_store = FILE; PRAGMA cache_size = -8192")
        }
        do {
            if seeded, let seed { try FileManager.default.copyItem(at: seed, to: url) }
            queue = try DatabaseQueue(path: url.path, configuration: configuration)
            try queue.write { db in
                if seeded {
                    try Self.upgrade(db, to: schema)
                    try db.execute(sql: reset)
                } else {
                    try db.execute(sql: schema)
                }
            }
        } catch {
            throw FerryError.io(path: url.path, detail: "cannot create the stage's index: \(error)")
        }
    }

    /// Brings an index kept by an older Ferry up to `schema`: missing tables and
    /// indexes are created, missing columns added (NULL in the old rows, which
    /// is what a column nobody wrote yet means). So a delta after an upgrade
    /// starts from the old run's index instead of failing on the new columns.
    static func upgrade(_ db: Database, to schema: String) throws {
        let reference = try DatabaseQueue()
        try reference.write { try $0.execute(sql: schema) }
        let wanted = try reference.read { ref in
            try Row.fetchAll(ref, sql: "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type DESC, name")
                .map { (type: $0["type"] as String, name: $0["name"] as String, table: $0["tbl_name"] as String, sql: $0["sql"] as String) }
        }
        for item in wanted where item.type == "table" {
            guard try db.tableExists(item.name) else { try db.execute(sql: item.sql); continue }
            let present = Set(try db.columns(in: item.name).map { $0.name.lowercased() })
            for column in try reference.read({ try $0.columns(in: item.name) }) where !present.contains(column.name.lowercased()) {
                try db.execute(sql: "ALTER TABLE \(item.name.quotedDatabaseIdentifier) ADD COLUMN \(column.name.quotedDatabaseIdentifier) \(column.type)")
            }
        }
        for item in wanted where item.type == "index" {
            if try !db.indexes(on: item.table).contains(where: { $0.name == item.name }) { try db.execute(sql: item.sql) }
        }
    }

    /// Keeps a durable copy at `destination` for the next delta run to start from.
    func persist(to destination: URL) throws {
        let temp = DurableFile.temporarySibling(of: destination)
        try? FileManager.default.removeItem(at: temp)
        do {
            try queue.inDatabase { db in try db.execute(sql: "VACUUM INTO ?", arguments: [temp.path]) }
            let handle = try FileHandle(forUpdating: temp)
            try handle.synchronize()
            try handle.close()
        } catch {
            throw FerryError.io(path: destination.path, detail: "cannot keep the stage's index: \(error)")
        }
        try DurableFile.commit(temp, to: destination)
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
