import FerryCore
import Foundation
import GRDB
import GRDBSQLite

/// A value bound to, or read from, an SQL statement.
enum SQLValue {
    case null
    case int(Int64)
    case text(String)

    init(_ text: String?) { self = text.map(SQLValue.text) ?? .null }
    init(_ int: Int?) { self = int.map { .int(Int64($0)) } ?? .null }
    init(_ int: Int64?) { self = int.map(SQLValue.int) ?? .null }
    init(_ bool: Bool) { self = .int(bool ? 1 : 0) }
    /// Sizes are UInt64 in the model and INTEGER (signed 64-bit) in SQLite;
    /// the bit pattern keeps every value exact.
    init(_ size: UInt64) { self = .int(Int64(bitPattern: size)) }
}

/// SQLite's "copy the bytes now" destructor.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// One database access: GRDB's connection plus the archive path for messages.
///
/// Why statements are driven through the C API rather than GRDB's arguments
/// and rows: GRDB binds and reads text as C strings, which stops at the first
/// NUL character, and help desk text from e-mail does sometimes hold one. The
/// round trip must be exact, so text is bound and read with explicit lengths.
/// The statements themselves still come from GRDB's statement cache, so each
/// SQL string is compiled once per connection.
struct Connection {
    let db: Database
    let path: String

    var handle: OpaquePointer { db.sqliteConnection! }

    /// The cached statement for `sql`, reset and with its parameters bound.
    func statement(_ sql: String, _ values: [SQLValue] = []) throws -> SQLStatement {
        let cached: GRDB.Statement
        do {
            cached = try db.cachedStatement(sql: sql)
        } catch let error as DatabaseError {
            throw ArchiveErrors.map(error, path: path)
        }
        let statement = SQLStatement(handle: cached.sqliteStatement, connection: self, sql: sql)
        sqlite3_reset(statement.handle)
        sqlite3_clear_bindings(statement.handle)
        for (offset, value) in values.enumerated() {
            try statement.bind(value, at: Int32(offset + 1))
        }
        return statement
    }

    /// Runs a statement that returns no rows (or whose rows are not wanted).
    func execute(_ sql: String, _ values: [SQLValue] = []) throws {
        let statement = try self.statement(sql, values)
        defer { sqlite3_reset(statement.handle) }
        while try statement.step() {}
    }

    /// The first row of a query, read by `read`; nil when there is none.
    func queryOne<T>(_ sql: String, _ values: [SQLValue] = [], _ read: (inout RowReader) throws -> T) throws -> T? {
        let statement = try self.statement(sql, values)
        defer { sqlite3_reset(statement.handle) }
        guard try statement.step() else { return nil }
        var reader = RowReader(statement: statement)
        return try read(&reader)
    }

    /// Every row of a query, in order.
    func queryAll<T>(_ sql: String, _ values: [SQLValue] = [], _ read: (inout RowReader) throws -> T) throws -> [T] {
        let statement = try self.statement(sql, values)
        defer { sqlite3_reset(statement.handle) }
        var rows: [T] = []
        while try statement.step() {
            var reader = RowReader(statement: statement)
            rows.append(try read(&reader))
        }
        return rows
    }

    var changes: Int { Int(sqlite3_changes(handle)) }
    var lastInsertedRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Runs `body` so that all its writes happen or none do: a savepoint inside
    /// the caller's transaction (so a failed record does not spoil the batch),
    /// or a transaction of its own when there is none.
    func atomically<T>(_ savepoint: String = "ferry_record", _ body: () throws -> T) throws -> T {
        if !db.isInsideTransaction {
            var result: T?
            do {
                try db.inTransaction(.immediate) {
                    result = try body()
                    return .commit
                }
            } catch let error as DatabaseError {
                throw ArchiveErrors.map(error, path: path)
            }
            return result!
        }
        try execute("SAVEPOINT \(savepoint)")
        do {
            let result = try body()
            try execute("RELEASE \(savepoint)")
            return result
        } catch {
            // Undo this record's writes only; the enclosing transaction goes on.
            // (Both may fail if SQLite already rolled everything back, e.g. disk full.)
            try? execute("ROLLBACK TO \(savepoint)")
            try? execute("RELEASE \(savepoint)")
            throw error
        }
    }

    /// Runs several reads on one snapshot (a record and its child rows must
    /// agree even while another process writes), and with one lock
    /// acquisition instead of one per statement.
    func snapshot<T>(_ body: () throws -> T) throws -> T {
        guard !db.isInsideTransaction else { return try body() }
        try execute("BEGIN DEFERRED")
        // Read-only, so ending it cannot fail in a way that loses anything.
        defer { try? execute("COMMIT") }
        return try body()
    }

    func error(_ code: Int32, sql: String?) -> FerryError {
        ArchiveErrors.map(code: code, message: String(cString: sqlite3_errmsg(handle)), sql: sql, path: path)
    }
}

/// A prepared statement in use. Always reset by the `Connection` method that
/// made it, so no read transaction is left open by a half-read query.
struct SQLStatement {
    let handle: OpaquePointer
    let connection: Connection
    let sql: String

    func bind(_ value: SQLValue, at index: Int32) throws {
        let code: Int32
        switch value {
        case .null:
            code = sqlite3_bind_null(handle, index)
        case .int(let int):
            code = sqlite3_bind_int64(handle, index, int)
        case .text(let text):
            var text = text
            code = text.withUTF8 { bytes in
                // A nil base address would bind NULL; an empty string is not NULL.
                guard let base = bytes.baseAddress, bytes.count > 0 else {
                    return sqlite3_bind_text(handle, index, "", 0, transient)
                }
                return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                    sqlite3_bind_text64(handle, index, $0, sqlite3_uint64(bytes.count), transient, UInt8(SQLITE_UTF8))
                }
            }
        }
        guard code == SQLITE_OK else { throw connection.error(code, sql: sql) }
    }

    /// Steps once: true when a row is available, false when done.
    func step() throws -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code:
            let error = connection.error(code, sql: sql)
            sqlite3_reset(handle)
            throw error
        }
    }
}

/// Reads the columns of the current row from left to right.
struct RowReader {
    let statement: SQLStatement
    var column: Int32 = 0

    private var handle: OpaquePointer { statement.handle }

    private mutating func next() -> Int32 {
        defer { column += 1 }
        return column
    }

    private func missing(_ index: Int32) -> FerryError {
        let name = sqlite3_column_name(handle, index).map { String(cString: $0) } ?? "column \(index)"
        return .badInput(file: statement.connection.path, line: nil,
                         detail: "damaged archive: \(name) is NULL where a value is required (query: \(statement.sql.prefix(80)))")
    }

    mutating func optionalText() -> String? {
        let index = next()
        guard sqlite3_column_type(handle, index) != SQLITE_NULL else { return nil }
        // Ask for the text first, then its length, as SQLite's documentation says.
        guard let bytes = sqlite3_column_text(handle, index) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, index))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    mutating func text() throws -> String {
        let index = column
        guard let text = optionalText() else { throw missing(index) }
        return text
    }

    mutating func optionalInt64() -> Int64? {
        let index = next()
        guard sqlite3_column_type(handle, index) != SQLITE_NULL else { return nil }
        return sqlite3_column_int64(handle, index)
    }

    mutating func int64() throws -> Int64 {
        let index = column
        guard let value = optionalInt64() else { throw missing(index) }
        return value
    }

    mutating func optionalInt() -> Int? { optionalInt64().map { Int($0) } }
    mutating func int() throws -> Int { Int(try int64()) }
    mutating func bool() throws -> Bool { try int64() != 0 }
    mutating func uint64() throws -> UInt64 { UInt64(bitPattern: try int64()) }

    /// A JSON array of strings column (tags, labels, domain names).
    mutating func strings() throws -> [String] {
        let index = column
        let text = try self.text()
        do {
            return try JSONText.decodeStrings(text)
        } catch let problem as JSONText.Problem {
            let name = sqlite3_column_name(handle, index).map { String(cString: $0) } ?? "column \(index)"
            throw FerryError.badInput(file: statement.connection.path, line: nil, detail: "damaged archive: \(name): \(problem)")
        }
    }
}

/// Turns SQLite failures into Ferry's errors, so the stages can pick an exit
/// status and a person knows what to do.
enum ArchiveErrors {
    static func map(_ error: DatabaseError, path: String) -> FerryError {
        map(code: error.extendedResultCode.rawValue, message: error.message ?? "\(error)", sql: error.sql, path: path)
    }

    static func map(code: Int32, message: String, sql: String?, path: String) -> FerryError {
        let context = sql.map { " (while running: \($0.prefix(120)))" } ?? ""
        switch code & 0xFF {
        case SQLITE_BUSY, SQLITE_LOCKED:
            return .locked(path: path, holder: "another process has the archive open for writing: \(message)")
        case SQLITE_FULL, SQLITE_IOERR, SQLITE_CANTOPEN, SQLITE_READONLY, SQLITE_PERM, SQLITE_NOLFS:
            return .io(path: path, detail: "SQLite: \(message)")
        case SQLITE_CORRUPT, SQLITE_NOTADB:
            return .badInput(file: path, line: nil, detail: "the archive is damaged or not an SQLite database: \(message)")
        case SQLITE_TOOBIG:
            return .badInput(file: path, line: nil, detail: "a value is larger than SQLite can store: \(message)")
        default:
            return .internalError("SQLite error \(code): \(message)\(context)")
        }
    }
}
