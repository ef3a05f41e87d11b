import ArgumentParser
import FerryCLI
import FerryStages

/// ferry-load: stages/map -> the target (the SQLite help desk archive by default)
struct FerryLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferry-load",
        abstract: "Load the mapped parts into the target help desk.",
        discussion: """
            Reads stages/map and writes the target named in pipeline.yml (target.type: \
            sqlite writes the archive at target.path). Each part is one transaction; the \
            target's id_map table keys every record by its source id and content hash, so \
            loading again creates nothing, and a replay after a mapping change updates \
            only the records whose mapped content changed.

            Deletions found by a delta extract are applied as target.deletions says \
            (keep, mark or delete).

            With target.kb_links.url set, the load ends by rewriting links to the source's \
            knowledge base (articles, sections, categories; any URL form) into the target's \
            URLs; links to records not in the target are left and listed by ferry-verify.

            Example:  ferry-load --config pipeline.yml
            Retry:    ferry-load --only-failed
            Query:    sqlite3 stages/load/helpdesk.sqlite "SELECT subject FROM tickets LIMIT 5"

            \(exitCodeHelp)
            """)

    @OptionGroup var options: CommonOptions

    @Flag(help: "Retry only the records whose last load failed (after fixing their cause).")
    var onlyFailed = false

    func run() throws {
        runStage(.load, options: options) { context, reporter in
            try LoadStage(context: context, reporter: reporter).run(onlyFailed: onlyFailed)
        }
    }
}

FerryLoad.main()
