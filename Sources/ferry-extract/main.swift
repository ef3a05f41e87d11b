import ArgumentParser
import FerryCLI
import FerryStages

/// ferry-extract: source -> stages/extract/part-*.tar.zst
struct FerryExtract: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferry-extract",
        abstract: "Read the configured source into canonical bundle parts under stages/extract.",
        discussion: """
            Reads source.path (a Zendesk-shaped JSON export by default) line by line and \
            writes NDJSON bundles (tar + zstd) of organizations, users, groups, ticket \
            fields, tickets, comments, attachments and knowledge base content. Lines that \
            cannot be read are rejected with file, line, field and reason, and reading goes on.

            A rerun on an unchanged source does nothing; an interrupted run resumes from \
            its last finished part (stages/extract/checkpoint.json).

            Demo migrations take a seeded random sample, or chosen IDs, with everything \
            the chosen tickets and articles reference. Use another --stages-dir for them:
              ferry-extract --stages-dir .demo/stages --sample 20 --seed 1
              ferry-extract --stages-dir .demo/stages --ticket-ids 12,57 --article-ids 62003

            Delta migrations bring only what changed since the last complete extract:
              ferry-extract --delta     (then dedupe, map, load and verify as usual; `make delta`)

            Example:  ferry-extract --config pipeline.yml
            Inspect:  bsdtar -xOf stages/extract/part-00001.tar.zst tickets.ndjson | jq .

            \(exitCodeHelp)
            """)

    @OptionGroup var options: CommonOptions

    @Option(help: ArgumentHelp("Demo: take this many random tickets and as many articles.", valueName: "n"))
    var sample: Int?

    @Option(help: ArgumentHelp("Demo: the random seed; the same seed picks the same records.", valueName: "n"))
    var seed: UInt64 = 1

    @Option(help: ArgumentHelp("Demo: these ticket IDs (comma-separated) instead of a random sample.", valueName: "ids"))
    var ticketIds: String?

    @Option(help: ArgumentHelp("Demo: these article IDs (comma-separated) instead of a random sample.", valueName: "ids"))
    var articleIds: String?

    @Flag(help: "Only what changed since the last complete extract (its cursor), plus deletions.")
    var delta = false

    func validate() throws {
        if delta && (sample != nil || ticketIds != nil || articleIds != nil) {
            throw ValidationError("--delta cannot be combined with a demo selection")
        }
        if let sample, sample < 1 { throw ValidationError("--sample must be at least 1") }
        if sample != nil && (ticketIds != nil || articleIds != nil) {
            throw ValidationError("use either --sample or --ticket-ids/--article-ids, not both")
        }
    }

    var mode: ExtractMode {
        if delta { return .delta }
        return demo.map(ExtractMode.demo) ?? .full
    }

    var demo: DemoSelection.Request? {
        func list(_ text: String?) -> [String] {
            (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        if let sample { return .sample(size: sample, seed: seed) }
        if ticketIds != nil || articleIds != nil { return .ids(tickets: list(ticketIds), articles: list(articleIds)) }
        return nil
    }

    func run() throws {
        runStage(.extract, options: options) { context, reporter in
            try ExtractStage(context: context, reporter: reporter).run(mode: mode)
        }
    }
}

FerryExtract.main()
