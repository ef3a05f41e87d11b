import FerryCore
@testable import FerryStages
import Foundation
import GRDB
import Testing

/// The index a stage keeps for delta runs (`stages/map/known.sqlite`,
/// `stages/dedupe/known.sqlite`) outlives the Ferry that wrote it.
@Suite struct ScratchIndexTests {
    /// The map index as the Ferry before the map options kept it: orgs without
    /// their name, fields without their definition, no comment_attachments table.
    static let olderMapIndex = """
        CREATE TABLE orgs(id TEXT PRIMARY KEY) WITHOUT ROWID;
        CREATE TABLE fields(id TEXT PRIMARY KEY, title TEXT, key TEXT, dropped INTEGER) WITHOUT ROWID;
        INSERT INTO orgs VALUES ('71001');
        INSERT INTO fields VALUES ('360001', 'Plan', 'plan', 0);
        """

    static let currentSchema = """
        CREATE TABLE orgs(id TEXT PRIMARY KEY, name TEXT) WITHOUT ROWID;
        CREATE TABLE fields(id TEXT PRIMARY KEY, title TEXT, key TEXT, dropped INTEGER, definition TEXT) WITHOUT ROWID;
        CREATE TABLE comment_attachments(id TEXT PRIMARY KEY, kept INTEGER, inline_names TEXT) WITHOUT ROWID;
        CREATE INDEX fields_title ON fields(title);
        """

    @Test func anIndexKeptByAnOlderFerryIsBroughtUpToTheCurrentSchemaForADelta() throws {
        let folder = try TestFolder("ferry-scratch")
        let kept = folder.file("known.sqlite")
        let older = try DatabaseQueue(path: kept.path)
        try older.write { try $0.execute(sql: Self.olderMapIndex) }
        try older.close()
        let directory = StageDirectory(root: folder.url, name: "map")
        try FileManager.default.createDirectory(at: directory.url, withIntermediateDirectories: true)

        // The reset of a delta run writes into the new columns and tables at once.
        let index = try ScratchIndex(directory: directory, name: "map-index", schema: Self.currentSchema, seed: kept,
                                     reset: "UPDATE fields SET definition = '{}' WHERE definition IS NULL; DELETE FROM comment_attachments;")
        try index.queue.read { db throws in
            #expect(try db.columns(in: "orgs").map(\.name) == ["id", "name"])
            #expect(try db.columns(in: "fields").map(\.name) == ["id", "title", "key", "dropped", "definition"])
            #expect(try db.tableExists("comment_attachments"))
            #expect(try db.indexes(on: "fields").contains { $0.name == "fields_title" })
            // What the older run knew is still there.
            #expect(try String.fetchOne(db, sql: "SELECT id FROM orgs") == "71001")
            #expect(try Row.fetchOne(db, sql: "SELECT title, definition FROM fields WHERE id = '360001'").map { [$0["title"] as String, $0["definition"] as String] } == ["Plan", "{}"])
        }
        // The kept file itself is not touched: it is the last complete run's.
        let keptAfter = try DatabaseQueue(path: kept.path)
        #expect(try keptAfter.read { try $0.columns(in: "orgs").count } == 1)
    }

    @Test func anIndexAtTheCurrentSchemaIsUsedAsItIs() throws {
        let folder = try TestFolder("ferry-scratch")
        let kept = folder.file("known.sqlite")
        let current = try DatabaseQueue(path: kept.path)
        try current.write { try $0.execute(sql: Self.currentSchema + "INSERT INTO orgs VALUES ('71001', 'Acme');") }
        try current.close()
        let directory = StageDirectory(root: folder.url, name: "map")
        try FileManager.default.createDirectory(at: directory.url, withIntermediateDirectories: true)
        let index = try ScratchIndex(directory: directory, name: "map-index", schema: Self.currentSchema, seed: kept, reset: "")
        try index.queue.read { db throws in
            #expect(try db.columns(in: "orgs").map(\.name) == ["id", "name"])
            #expect(try String.fetchOne(db, sql: "SELECT name FROM orgs") == "Acme")
            #expect(try db.indexes(on: "fields").filter { $0.name == "fields_title" }.count == 1)
        }
    }
}
