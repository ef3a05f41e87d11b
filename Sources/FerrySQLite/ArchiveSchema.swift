import GRDB

/// The archive's schema, as GRDB migrations, so an archive written by this
/// version can be opened (and extended in place) by later ones.
///
/// Conventions, documented column by column in docs/sqlite-archive.md:
/// - Every entity table has `id INTEGER PRIMARY KEY` (the target id, assigned
///   by SQLite) plus `source_system` and `source_id`. Rows are deleted only
///   for a delta's deletions under `target.deletions: delete`; without
///   `AUTOINCREMENT` SQLite may then hand the largest deleted id out again,
///   which is harmless because every lookup goes through `id_map`.
/// - References are target ids with foreign keys (enforced: GRDB turns
///   `foreign_keys` on), so the archive can be queried with plain joins.
/// - Lists that have no identity of their own (tags, labels, field options)
///   are JSON text; lists whose items are references or records
///   (collaborators, custom field values, translations) are child tables with
///   a `position` column that keeps the source order.
/// - Booleans are INTEGER 0/1; timestamps are the canonical ISO 8601 text.
enum ArchiveSchema {
    /// `PRAGMA application_id`: "FRRY". Lets Ferry refuse to write its tables
    /// into some other application's SQLite file given by mistake.
    static let applicationID: Int32 = 0x4652_5259

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: help desk archive") { db in
            try db.execute(sql: "PRAGMA application_id = \(applicationID)")
            try db.execute(sql: v1)
        }
        migrator.registerMigration("v2: part summaries and deletions") { db in
            try db.execute(sql: v2)
        }
        migrator.registerMigration("v3: encrypted attachment blobs") { db in
            try db.execute(sql: "ALTER TABLE blobs ADD COLUMN encrypted INTEGER NOT NULL DEFAULT 0")
        }
        return migrator
    }

    /// `loaded_parts.summary`: the load's counts for the part, committed with
    /// it, so a resumed load reports the same totals as an uninterrupted one.
    /// `id_map.deleted_in_source`: why a record the source no longer has is
    /// kept and marked (target.deletions: mark), NULL otherwise.
    static let v2 = """
        ALTER TABLE loaded_parts ADD COLUMN summary TEXT;
        ALTER TABLE id_map ADD COLUMN deleted_in_source TEXT;
        """

    static let v1 = """
        CREATE TABLE organizations (
            id INTEGER PRIMARY KEY,
            source_system TEXT NOT NULL,
            source_id TEXT NOT NULL,
            name TEXT NOT NULL,
            domain_names TEXT NOT NULL DEFAULT '[]',
            details TEXT,
            notes TEXT,
            tags TEXT NOT NULL DEFAULT '[]',
            external_id TEXT,
            created_at TEXT,
            updated_at TEXT
        );

        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            source_system TEXT NOT NULL,
            source_id TEXT NOT NULL,
            name TEXT NOT NULL,
            email TEXT,
            phone TEXT,
            role TEXT NOT NULL CHECK (role IN ('end_user', 'agent', 'admin')),
            active INTEGER NOT NULL,
            suspended INTEGER NOT NULL,
            organization_id INTEGER REFERENCES organizations(id),
            locale TEXT,
            time_zone TEXT,
            tags TEXT NOT NULL DEFAULT '[]',
            external_id TEXT,
            created_at TEXT,
            updated_at TEXT
        );

        CREATE TABLE "groups" (
            id INTEGER PRIMARY KEY,
            source_system TEXT NOT NULL,
            source_id TEXT NOT NULL,
            name TEXT NOT NULL,
            description TEXT,
            created_at TEXT,
            updated_at TEXT
        );

        CREATE TABLE ticket_fields (
            id INTEGER PRIMARY KEY,
            source_system TEXT NOT NULL,
            source_id TEXT NOT NULL,
            "key" TEXT,
            title TEXT NOT NULL,
            type TEXT NOT NULL,
            description TEXT,
            active INTEGER NOT NULL,
            required INTEGER NOT NULL,
            position INTEGER,
            regexp TEXT,
            options TEXT NOT NULL DEFAULT '[]',
            created_at TEXT,
            updated_at TEXT
        );

        CREATE TABLE tickets (
            id INTEGER PRIMARY KEY,
            source_system TEXT NOT NULL,
            source_id TEXT NOT NULL,
            subject TEXT NOT NULL,
            description TEXT,
            status TEXT NOT NULL,
            priority TEXT,
            type TEXT,
            requester_id INTEGER REFERENCES users(id),
            submitter_id INTEGER REFERENCES users(id),
            assignee_id INTEGER REFERENCES users(id),
            group_id INTEGER REFERENCES "groups"(id),
            organization_id INTEGER REFERENCES organizations(id),
            tags TEXT NOT NULL DEFAULT '[]',
            channel TEXT,
            external_id TEXT,
            created_at TEXT,
            updated_at TEXT,
            solved_at TEXT
        );

        CREATE TABLE ticket_collaborators (
            ticket_id INTEGER NOT NULL REFERENCES tickets(id),
            kind TEXT NOT NULL CHECK (kind IN ('cc', 'follower')),
            position INTEGER NOT NULL,
            user_id INTEGER NOT NULL REFERENCES users(id),
            PRIMARY KEY (ticket_id, kind, position)
        ) WITHOUT ROWID;

        CREATE TABLE ticket_field_values (
            ticket_id INTEGER NOT NULL REFERENCES tickets(id),
            position INTEGER NOT NULL,
            field_id INTEGER NOT NULL REFERENCES ticket_fields(id),
            value TEXT NOT NULL,
            PRIMARY KEY (ticket_id, position)
        );

        CREATE TABLE comments (
            id INTEGER PRIMARY KEY,
            source_system TEXT NOT NULL,
            source_id TEXT NOT NULL,
            ticket_id INTEGER NOT NULL REFERENCES tickets(id),
            author_id INTEGER REFERENCES users(id),
            public INTEGER NOT NULL,
            body_html TEXT,
            body_plain TEXT NOT NULL,
            created_at TEXT
        );
        CREATE INDEX comments_by_ticket ON comments(ticket_id);

        CREATE TABLE kb_categories (
            id INTEGER PRIMARY KEY,
            source_system TEXT NOT NULL,
            source_id TEXT NOT NULL,
            name TEXT NOT NULL,
            description TEXT,
            locale TEXT,
            position INTEGER,
            url TEXT,
            created_at TEXT,
            updated_at TEXT
        );

        CREATE TABLE kb_sections (
            id INTEGER PRIMARY KEY,
            source_system TEXT NOT NULL,
            source_id TEXT NOT NULL,
            category_id INTEGER NOT NULL REFERENCES kb_categories(id),
            name TEXT NOT NULL,
            description TEXT,
            locale TEXT,
            position INTEGER,
            url TEXT,
            created_at TEXT,
            updated_at TEXT
        );
        CREATE INDEX kb_sections_by_category ON kb_sections(category_id);

        CREATE TABLE kb_articles (
            id INTEGER PRIMARY KEY,
            source_system TEXT NOT NULL,
            source_id TEXT NOT NULL,
            section_id INTEGER NOT NULL REFERENCES kb_sections(id),
            author_id INTEGER REFERENCES users(id),
            title TEXT NOT NULL,
            body_html TEXT NOT NULL,
            locale TEXT NOT NULL,
            source_locale TEXT,
            labels TEXT NOT NULL DEFAULT '[]',
            draft INTEGER NOT NULL,
            promoted INTEGER NOT NULL,
            position INTEGER,
            url TEXT,
            created_at TEXT,
            updated_at TEXT
        );
        CREATE INDEX kb_articles_by_section ON kb_articles(section_id);

        CREATE TABLE kb_translations (
            article_id INTEGER NOT NULL REFERENCES kb_articles(id),
            position INTEGER NOT NULL,
            locale TEXT NOT NULL,
            title TEXT NOT NULL,
            body_html TEXT NOT NULL,
            draft INTEGER NOT NULL,
            created_at TEXT,
            updated_at TEXT,
            PRIMARY KEY (article_id, position)
        );

        CREATE TABLE attachments (
            id INTEGER PRIMARY KEY,
            source_system TEXT NOT NULL,
            source_id TEXT NOT NULL,
            comment_id INTEGER REFERENCES comments(id),
            article_id INTEGER REFERENCES kb_articles(id),
            file_name TEXT NOT NULL,
            content_type TEXT,
            size INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            inline INTEGER NOT NULL,
            CHECK ((comment_id IS NULL) <> (article_id IS NULL))
        );
        CREATE INDEX attachments_by_comment ON attachments(comment_id) WHERE comment_id IS NOT NULL;
        CREATE INDEX attachments_by_article ON attachments(article_id) WHERE article_id IS NOT NULL;

        CREATE TABLE blobs (
            sha256 TEXT PRIMARY KEY,
            size INTEGER NOT NULL,
            data BLOB NOT NULL
        );

        CREATE VIRTUAL TABLE search USING fts5(
            entity UNINDEXED,
            target_id UNINDEXED,
            title,
            body,
            tokenize = 'unicode61 remove_diacritics 2'
        );

        CREATE TABLE id_map (
            entity TEXT NOT NULL,
            source_id TEXT NOT NULL,
            target_id INTEGER,
            content_hash TEXT,
            status TEXT NOT NULL CHECK (status IN ('loaded', 'failed')),
            reason TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (entity, source_id)
        ) WITHOUT ROWID;

        CREATE TABLE loaded_parts (
            fingerprint TEXT NOT NULL,
            part TEXT NOT NULL,
            content_digest TEXT NOT NULL,
            loaded_at TEXT NOT NULL,
            PRIMARY KEY (fingerprint, part)
        ) WITHOUT ROWID;
        """
}
