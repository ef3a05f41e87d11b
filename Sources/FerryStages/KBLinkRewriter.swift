import FerryCore
import Foundation

/// Rewrites links to the source's knowledge base (articles, sections,
/// categories) into the target's URLs, once the linked records are loaded and
/// have target ids (`target.kb_links`). The services leave this to the
/// customer; a migrated help center whose links all lead back to the old one
/// breaks the day the old one is switched off.
///
/// Source URL forms recognised (Zendesk Help Center; other sources map theirs
/// onto the same shape): `https://HOST/hc/LOCALE/articles/ID-slug#anchor`,
/// without the locale, without the slug, relative (`/hc/...`), with a query.
/// HOST is any of `source_hosts` plus the hosts of the records' own URLs.
/// Anchors are kept. A link whose record is not in the target is left as it
/// is and reported (`unresolved`), with the record that holds it.
public struct KBLinkRewriter: Sendable {
    public let template: String
    public let sourceHosts: Set<String>

    /// What a link points at, as the resolver is asked for it.
    public struct Link: Equatable, Sendable {
        public var entity: EntityType
        public var sourceID: String
        public var locale: String?
        public var anchor: String?
        public var url: String
    }

    /// A resolved link's target: its id in the target and its locale there.
    public typealias Resolve = (Link) throws -> (id: Int64, locale: String?)?

    static let pattern: NSRegularExpression = {
        // href="...": group 1 is the quote, group 2 the URL.
        try! NSRegularExpression(pattern: #"\bhref\s*=\s*(["'])(.*?)\1"#, options: [.caseInsensitive])
    }()

    static let path: NSRegularExpression = {
        try! NSRegularExpression(pattern: #"^/hc/(?:([A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)/)?(articles|sections|categories)/([0-9]+)(?:-[^/?#]*)?/?(?:\?[^#]*)?(#.*)?$"#)
    }()

    public init(template: String, sourceHosts: Set<String>) {
        self.template = template
        self.sourceHosts = Set(sourceHosts.map { $0.lowercased() })
    }

    /// The knowledge base record a URL points at, or nil when it is not a link into the source's KB.
    public func parse(_ url: String) -> Link? {
        var rest = Substring(url.trimmingCharacters(in: .whitespaces))
        for scheme in ["https://", "http://", "//"] where rest.lowercased().hasPrefix(scheme) {
            rest = rest.dropFirst(scheme.count)
            let host = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            guard sourceHosts.contains(host.lowercased()) else { return nil }
            rest = rest.dropFirst(host.count)
            break
        }
        guard rest.hasPrefix("/hc/") else { return nil }
        let text = String(rest)
        guard let m = Self.path.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) else { return nil }
        func group(_ i: Int) -> String? { Range(m.range(at: i), in: text).map { String(text[$0]) } }
        let entity: EntityType
        switch group(2) {
        case "articles": entity = .kbArticles
        case "sections": entity = .kbSections
        default: entity = .kbCategories
        }
        return Link(entity: entity, sourceID: group(3) ?? "", locale: group(1), anchor: group(4), url: url)
    }

    /// The target URL for a resolved link.
    func targetURL(_ link: Link, id: Int64, locale: String?) -> String {
        let kind: String
        switch link.entity {
        case .kbArticles: kind = "articles"
        case .kbSections: kind = "sections"
        default: kind = "categories"
        }
        var url = template.replacingOccurrences(of: "{kind}", with: kind).replacingOccurrences(of: "{id}", with: String(id))
        let chosen = link.locale ?? locale ?? ""
        url = url.replacingOccurrences(of: "{locale}/", with: chosen.isEmpty ? "" : chosen + "/")
            .replacingOccurrences(of: "{locale}", with: chosen)
        return url + (link.anchor ?? "")
    }

    /// The HTML with every resolvable KB link rewritten, and the links that could not be.
    public func rewrite(_ html: String, resolve: Resolve) rethrows -> (html: String, unresolved: [Link]) {
        guard html.contains("/hc/") else { return (html, []) }
        var out = ""
        var last = html.startIndex
        var unresolved: [Link] = []
        for match in Self.pattern.matches(in: html, range: NSRange(html.startIndex..., in: html)) {
            guard let urlRange = Range(match.range(at: 2), in: html) else { continue }
            let raw = String(html[urlRange])
            guard let link = parse(raw.replacingOccurrences(of: "&amp;", with: "&")) else { continue }
            guard let target = try resolve(link) else { unresolved.append(link); continue }
            out += html[last..<urlRange.lowerBound]
            out += targetURL(link, id: target.id, locale: target.locale).replacingOccurrences(of: "&", with: "&amp;")
            last = urlRange.upperBound
        }
        return (out + html[last...], unresolved)
    }

    /// Rewrites an article's body and its translations' bodies.
    public func rewrite(_ article: inout KBArticle, resolve: Resolve) rethrows -> [Link] {
        var unresolved: [Link] = []
        let body = try rewrite(article.bodyHTML, resolve: resolve)
        article.bodyHTML = body.html
        unresolved += body.unresolved
        for index in article.translations.indices {
            let translated = try rewrite(article.translations[index].bodyHTML, resolve: resolve)
            article.translations[index].bodyHTML = translated.html
            unresolved += translated.unresolved
        }
        return unresolved
    }
}
