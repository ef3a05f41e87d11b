import FerryCore
import Foundation

/// The Help Center side of the Zendesk target: categories, sections, articles
/// and their translations, created through the Help Center API. Help Center
/// sets created_at and updated_at itself; article attachments are not uploaded.
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
            // Changed since it was loaded: its translations are updated in place.
            for translation in translations(article) {
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
}
