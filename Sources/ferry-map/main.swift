import ArgumentParser
import FerryCLI
import FerryStages

/// ferry-map: stages/dedupe -> stages/map
struct FerryMap: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferry-map",
        abstract: "Apply the map section of pipeline.yml and write target-shaped parts.",
        discussion: """
            Reads stages/dedupe and writes stages/map. Maps statuses, priorities and types, \
            agents (by e-mail, with a default agent for unknown, deleted or deactivated ones), \
            groups (by name; groups mapped to one name merge) and custom fields (title or id \
            to a target key, optionally converting type and options; null drops a field).

            It also applies map.filters (tickets and articles skipped, with the filter \
            named, their comments and attachments with them) and map.options (a tag, a \
            subject template, attachment limits, inline images as attachments, ticket \
            events and custom fields as private notes, inactive users, translations). \
            docs/pipeline-reference.md has every key.

            Before writing anything it checks that the mapping covers the data. If a status, \
            priority or type has no entry, or an assignee needs a default agent that is not \
            set, it stops with exit status 2 and lists every unmapped value, how often and \
            where it occurs.

            Example:  ferry-map --config pipeline.yml
            Preview:  ferry-map --plan      (or `make plan`; writes nothing)

            \(exitCodeHelp)
            """)

    @OptionGroup var options: CommonOptions

    @Flag(help: "Print what the map would do (every value and what it maps to, every unmapped value) and write nothing.")
    var plan = false

    func run() throws {
        runStage(.map, options: options) { context, reporter in
            let stage = MapStage(context: context, reporter: reporter)
            return try plan ? stage.plan() : stage.run()
        }
    }
}

FerryMap.main()
