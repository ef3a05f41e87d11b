import FerryCore
import Foundation

/// The Help Center side of the Zendesk target: categories, sections, articles
/// and their translations, article attachments, created through the Help
/// Center API (Help Center sets created_at and updated_at itself), and after
/// the last part the links between articles rewritten to their new URLs.
extension ZendeskAPITarget {
    /// A category, found by name or created.
    func writeCategory(_ category: KBCategory) throws -> Int64 {
        let existing = try client.allBlocking("/api/v2/help_center/categories.json", key: "categories")
        if let found = existing.first(where: { $0["name"] as? String == category.name }), let id = Self.int(found["id"]) { return id }
        var body: ZObject = ["name": category.name, "locale": category.locale ?? "en-us"]
        if let description = category.description { body["description"] = description }
        if let position = category.position { body["position"] = position }
        let reply = try checkReply(try client.request("POST", "/api/v2/help_center/categories.json", body: ["category": body]), "category \(category.name)")
        guard let id = Self.int((reply.object?["category"] as? ZObject)?["id"]) else { throw client.unexpected("POST", "/api/v2/help_center/categories.json", reply) }
        return id
    }

    /// A section of its (loaded) category, found by name or created.
    func writeSection(_ section: KBSection) throws -> Int64 {
        guard let category = try state.loaded(.kbCategories, section.categoryID)?.targetID else {
            throw Failure(reason: "category \(section.categoryID) is not loaded (category missing or failed)")
        }
        let path = "/api/v2/help_center/categories/\(category)/sections.json"
        let existing = try client.allBlocking(path, key: "sections")
        if let found = existing.first(where: { $0["name"] as? String == section.name }), let id = Self.int(found["id"]) { return id }
        var body: ZObject = ["name": section.name, "locale": section.locale ?? "en-us"]
        if let description = section.description { body["description"] = description }
        if let position = section.position { body["position"] = position }
        let reply = try checkReply(try client.request("POST", path, body: ["section": body]), "section \(section.name)")
        guard let id = Self.int((reply.object?["section"] as? ZObject)?["id"]) else { throw client.unexpected("POST", path, reply) }
        return id
    }

    /// An article in its (loaded) section, with its other translations. A
    /// create whose answer was lost is found by title in the section first.
    func writeArticle(_ article: KBArticle, hash: String, existing: ZendeskState.Entry?) throws -> Int64 {
        guard let section = try state.loaded(.kbSections, article.sectionID)?.targetID else {
            throw Failure(reason: "section \(article.sectionID) is not loaded (section missing or failed)")
        }
        let path = "/api/v2/help_center/sections/\(section)/articles.json"
        if let id = existing?.targetID, existing?.status == "loaded" {
            // Changed since it was loaded: its translations, its own locale's included, are updated in place.
            try state.clearRewritten(article: article.id)
            for translation in [ArticleTranslation(locale: article.locale, title: article.title, bodyHTML: article.bodyHTML, draft: article.draft)] + translations(article) {
                _ = try checkReply(try client.request("PUT", "/api/v2/help_center/articles/\(id)/translations/\(translation.locale).json",
                                                      body: ["translation": ["title": translation.title, "body": translation.bodyHTML, "draft": translation.draft]]),
                                   "translation \(translation.locale) of article \(article.id)")
            }
            return id
        }
        if existing?.status == "pending",
           let found = try client.allBlocking(path, key: "articles").first(where: { $0["title"] as? String == article.title }), let id = Self.int(found["id"]) {
            return id
        }
        var body: ZObject = ["title": article.title, "body": article.bodyHTML, "locale": article.locale, "draft": article.draft,
                             "promoted": article.promoted, "label_names": article.labels, "user_segment_id": NSNull(),
                             "permission_group_id": try permissionGroup()]
        if let position = article.position { body["position"] = position }
        if let author = try article.authorID.flatMap({ try state.loaded(.users, $0)?.targetID }) { body["author_id"] = author }
        try state.setPending(.kbArticles, article.id, hash: hash, lookupKey: article.title)
        try state.clearRewritten(article: article.id)
        let reply = try checkReply(try client.request("POST", path, body: ["article": body, "notify_subscribers": false]), "article \(article.id)")
        guard let id = Self.int((reply.object?["article"] as? ZObject)?["id"]) else { throw client.unexpected("POST", path, reply) }
        for translation in translations(article) {
            _ = try checkReply(try client.request("POST", "/api/v2/help_center/articles/\(id)/translations.json",
                                                  body: ["translation": ["locale": translation.locale, "title": translation.title, "body": translation.bodyHTML, "draft": translation.draft]]),
                               "translation \(translation.locale) of article \(article.id)")
        }
        return id
    }

    /// The translations besides the article's own locale (which the article itself carries).
    func translations(_ article: KBArticle) -> [ArticleTranslation] {
        article.translations.filter { $0.locale.lowercased() != article.locale.lowercased() }
    }

    /// Help Center requires a permission group on every new article: the first one.
    func permissionGroup() throws -> Int64 {
        guard let groups = try client.get("/api/v2/guide/permission_groups.json")?["permission_groups"] as? [ZObject],
              let id = groups.compactMap({ Self.int($0["id"]) }).min() else {
            throw Failure(reason: "the Help Center has no permission group (Guide admin > permission groups); articles cannot be created")
        }
        return id
    }

    /// Help Center's limit for one article attachment.
    static let articleAttachmentLimit: UInt64 = 20 * 1024 * 1024

    /// An article's attachment, uploaded to its loaded article (multipart,
    /// `inline` as the source had it). It is sent without blind retries: after
    /// a failed attempt, or when a crash left it pending, the article's
    /// attachments are looked at first for one of the same name and size that
    /// no other loaded attachment claims. A changed attachment replaces the old one.
    func writeArticleAttachment(_ attachment: Attachment, hash: String, existing: ZendeskState.Entry?) throws -> Int64 {
        guard let article = try state.loaded(.kbArticles, attachment.parentID)?.targetID else {
            throw Failure(reason: "article \(attachment.parentID) is not loaded (article missing or failed)")
        }
        guard attachment.size <= Self.articleAttachmentLimit else {
            throw Failure(reason: "\(attachment.fileName) is \(attachment.size) bytes; Help Center takes at most 20 MB per article attachment (skip it with map.options.attachments.max_bytes)")
        }
        let path = "/api/v2/help_center/articles/\(article)/attachments.json"
        let key = "article \(attachment.parentID)"
        if existing?.status == "loaded", let old = existing?.targetID {
            let reply = try client.request("DELETE", "/api/v2/help_center/articles/attachments/\(old).json")
            if !reply.ok && reply.status != 404 { _ = try checkReply(reply, "removal of the earlier version of attachment \(attachment.id)") }
        }
        let file = spool.url(attachment.sha256)
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw Failure(reason: "the bytes of attachment \(attachment.id) (SHA-256 \(attachment.sha256)) are not in the bundle")
        }
        var lookFirst = existing?.status == "pending"
        var attempt = 0
        while true {
            attempt += 1
            if lookFirst, let found = try findArticleAttachment(path, attachment, claimed: try state.loadedTargetIDs(.attachments, lookupKey: key)) {
                try state.addBlob(sha256: attachment.sha256, size: attachment.size)
                return found
            }
            try state.setPending(.attachments, attachment.id, hash: hash, lookupKey: key)
            do {
                let reply = try checkReply(try client.uploadFormOnce(path, fields: [("inline", attachment.inline ? "true" : "false")], fileField: "file",
                                                                     fileName: attachment.fileName, contentType: attachment.contentType ?? "application/octet-stream", file: file),
                                           "attachment \(attachment.fileName) of article \(attachment.parentID)")
                guard let id = Self.int((reply.object?["article_attachment"] as? ZObject)?["id"]) else { throw client.unexpected("POST", path, reply) }
                try state.addBlob(sha256: attachment.sha256, size: attachment.size)
                return id
            } catch let error as FerryError {
                guard attempt < settings.retries else { throw error }
                log("article attachment upload: \(error); looking for it on article \(attachment.parentID) before sending again (attempt \(attempt + 1) of \(settings.retries))")
                Thread.sleep(forTimeInterval: min(30, 0.5 * pow(2, Double(attempt - 1))) * Double.random(in: 0.5..<1))
                lookFirst = true
            }
        }
    }

    /// An attachment of the article with this name and size that no loaded record claims (the lowest ID).
    private func findArticleAttachment(_ path: String, _ attachment: Attachment, claimed: Set<Int64>) throws -> Int64? {
        try client.allBlocking(path, key: "article_attachments")
            .filter { $0["file_name"] as? String == attachment.fileName && Self.int($0["size"]) == Int64(attachment.size) }
            .compactMap { Self.int($0["id"]) }
            .filter { !claimed.contains($0) }
            .min()
    }

    /// Every loaded record of a kind, 200 at a time (memory stays bounded).
    func eachLoaded(_ entity: EntityType, _ body: (String, Int64, String) throws -> Void) throws {
        var after = ""
        while true {
            let batch = try state.loadedRecords(entity, after: after, limit: 200)
            guard let last = batch.last else { return }
            for row in batch { try body(row.sourceID, row.targetID, row.record) }
            after = last.sourceID
        }
    }
}

/// `target.kb_links` for Zendesk: article bodies and translations are
/// rewritten in Help Center after the load (a translation is written only when
/// its rewritten body differs from the one Zendesk holds, so a rerun writes
/// nothing new). Imported comments cannot be edited in Zendesk, so links in
/// comments are left as they are.
extension ZendeskAPITarget: KnowledgeBaseLinkTarget {
    public var rewritesComments: Bool { false }

    public func knowledgeBaseHosts() throws -> Set<String> {
        var hosts = Set<String>()
        for entity in [EntityType.kbArticles, .kbSections, .kbCategories] {
            try eachLoaded(entity) { _, _, record in
                if let url = Self.field("url", of: record), let host = URLComponents(string: url)?.host?.lowercased() { hosts.insert(host) }
            }
        }
        return hosts
    }

    public func knowledgeBaseLocale(_ entity: EntityType, targetID: Int64) throws -> String? {
        guard let sourceID = try state.sourceID(entity, targetID: targetID), let record = try state.loaded(entity, sourceID)?.record else { return nil }
        return Self.field("locale", of: record)
    }

    public func rewriteHTML(includeComments: Bool, _ transform: (EntityType, String, String) throws -> String?) throws -> Int {
        var changed = 0
        try eachLoaded(.kbArticles) { sourceID, targetID, record in
            let article = try JSONDecoder().decode(KBArticle.self, from: Data(record.utf8))
            let own = ArticleTranslation(locale: article.locale, title: article.title, bodyHTML: article.bodyHTML, draft: article.draft)
            for translation in [own] + translations(article) {
                let loaded = translation.bodyHTML
                let wanted = try transform(.kbArticles, sourceID, loaded) ?? loaded
                let locale = translation.locale
                let digest = Hash.sha256(Data(wanted.utf8))
                let holds = try state.rewrittenDigest(article: sourceID, locale: locale) ?? Hash.sha256(Data(loaded.utf8))
                guard digest != holds else { continue }
                do {
                    _ = try checkReply(try client.request("PUT", "/api/v2/help_center/articles/\(targetID)/translations/\(locale).json",
                                                          body: ["translation": ["body": wanted]]),
                                       "links in translation \(locale) of article \(sourceID)")
                    try state.setRewritten(article: sourceID, locale: locale, digest: digest)
                    changed += 1
                } catch let failure as Failure {
                    log("\(failure.reason); its links are left as they are (ferry-verify shows the difference)")
                }
            }
        }
        return changed
    }

    /// One top-level string of a stored record's JSON.
    static func field(_ name: String, of record: String) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(record.utf8)) as? ZObject)?[name] as? String
    }
}
