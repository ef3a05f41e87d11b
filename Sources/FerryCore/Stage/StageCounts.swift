/// What happened to every record a stage read. The stage prints it at the end
/// and refuses to call itself finished when it does not add up:
/// `read + created = written + merged + rejected + filtered`.
public struct EntityCounts: Codable, Equatable, Sendable {
    /// Records the stage read from its input.
    public var read = 0
    /// Records the stage made itself (placeholder users for dangling references).
    public var created = 0
    public var written = 0
    /// Folded into another record (duplicates) or dropped as an exact copy.
    public var merged = 0
    public var rejected = 0
    /// Left out on purpose by a filter.
    public var filtered = 0
    /// Load only: of the written records, how many the target newly got, had
    /// changed, or already held unchanged. Not part of the reconciliation.
    public var inserted = 0
    public var updated = 0
    public var unchanged = 0
    /// Load only: records the source no longer has, removed from (or marked in) the target.
    public var deleted = 0

    public init() {}

    enum CodingKeys: String, CodingKey { case read, created, written, merged, rejected, filtered, inserted, updated, unchanged, deleted }

    /// Absent counts read as 0, so checkpoints stay readable when a count is added.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func value(_ key: CodingKeys) throws -> Int { try c.decodeIfPresent(Int.self, forKey: key) ?? 0 }
        read = try value(.read); created = try value(.created); written = try value(.written)
        merged = try value(.merged); rejected = try value(.rejected); filtered = try value(.filtered)
        inserted = try value(.inserted); updated = try value(.updated); unchanged = try value(.unchanged)
        deleted = try value(.deleted)
    }

    public var reconciles: Bool { read + created == written + merged + rejected + filtered }

    public static func += (lhs: inout EntityCounts, rhs: EntityCounts) {
        lhs.read += rhs.read; lhs.created += rhs.created; lhs.written += rhs.written
        lhs.merged += rhs.merged; lhs.rejected += rhs.rejected; lhs.filtered += rhs.filtered
        lhs.inserted += rhs.inserted; lhs.updated += rhs.updated; lhs.unchanged += rhs.unchanged
        lhs.deleted += rhs.deleted
    }
}

public struct StageCounts: Codable, Equatable, Sendable {
    /// Keyed by entity raw value, so the JSON is stable and readable.
    public var entities: [String: EntityCounts] = [:]
    /// Lines that could not even be attributed to a record kind.
    public var unattributedRejects = 0

    public init() {}

    enum CodingKeys: String, CodingKey { case entities, unattributedRejects = "unattributed_rejects" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        entities = try c.decodeIfPresent([String: EntityCounts].self, forKey: .entities) ?? [:]
        unattributedRejects = try c.decodeIfPresent(Int.self, forKey: .unattributedRejects) ?? 0
    }

    public subscript(entity: EntityType) -> EntityCounts {
        get { entities[entity.rawValue] ?? EntityCounts() }
        set { entities[entity.rawValue] = newValue }
    }

    public mutating func add(_ other: StageCounts) {
        for (key, value) in other.entities { entities[key, default: EntityCounts()] += value }
        unattributedRejects += other.unattributedRejects
    }

    public var total: EntityCounts {
        var sum = EntityCounts()
        for value in entities.values { sum += value }
        return sum
    }

    public var reconciles: Bool { entities.values.allSatisfy(\.reconciles) }
    public var rejectedTotal: Int { total.rejected + unattributedRejects }

    /// The load stage's table: what the target got.
    public func loadTable() -> String {
        var rows: [[String]] = [["entity", "read", "inserted", "updated", "unchanged", "failed", "deleted", ""]]
        for entity in EntityType.allCases {
            guard let c = entities[entity.rawValue] else { continue }
            rows.append([entity.rawValue, "\(c.read)", "\(c.inserted)", "\(c.updated)", "\(c.unchanged)", "\(c.rejected)", "\(c.deleted)", c.reconciles ? "ok" : "DOES NOT ADD UP"])
        }
        let t = total
        rows.append(["total", "\(t.read)", "\(t.inserted)", "\(t.updated)", "\(t.unchanged)", "\(t.rejected)", "\(t.deleted)", ""])
        return TextTable.render(rows)
    }

    /// A fixed-width table for the terminal, entities in dependency order.
    public func table() -> String {
        let header = ["entity", "read", "created", "written", "merged", "rejected", "filtered", ""]
        var rows: [[String]] = [header]
        for entity in EntityType.allCases {
            guard let c = entities[entity.rawValue] else { continue }
            rows.append([entity.rawValue, "\(c.read)", "\(c.created)", "\(c.written)", "\(c.merged)", "\(c.rejected)", "\(c.filtered)", c.reconciles ? "ok" : "DOES NOT ADD UP"])
        }
        let t = total
        rows.append(["total", "\(t.read)", "\(t.created)", "\(t.written)", "\(t.merged)", "\(t.rejected)", "\(t.filtered)", ""])
        return TextTable.render(rows)
    }
}

/// Numbers right-aligned, text left-aligned: enough for terminal reports.
/// A column is numeric when every cell below its header is a number.
public enum TextTable {
    public static func render(_ rows: [[String]]) -> String {
        guard let width = rows.map(\.count).max() else { return "" }
        var widths = Array(repeating: 0, count: width)
        var numeric = Array(repeating: true, count: width)
        for (r, row) in rows.enumerated() {
            for (i, cell) in row.enumerated() {
                widths[i] = max(widths[i], cell.count)
                if r > 0 && !cell.isEmpty && Int(cell) == nil { numeric[i] = false }
            }
        }
        return rows.map { row in
            row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return numeric[i] && i > 0 ? pad + cell : cell + pad
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }.joined(separator: "\n")
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
