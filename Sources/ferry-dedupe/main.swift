import ArgumentParser
import FerryCLI
import FerryStages

/// ferry-dedupe: stages/extract -> stages/dedupe
struct FerryDedupe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferry-dedupe",
        abstract: "Clean records and merge duplicate users and organizations.",
        discussion: """
            Reads stages/extract and writes stages/dedupe, part for part. Cleans e-mails \
            (trimmed, lower-cased, invalid ones removed), phone numbers (+ and digits) and \
            names; drops exact duplicate records; rejects a record whose id appears again \
            with different content; merges users with the same e-mail and organizations \
            with the same name or a shared domain, rewriting every reference to the survivor.

            Every merge is listed in merges.ndjson and every changed value in changes.ndjson:
              bsdtar -xOf stages/dedupe/part-00001.tar.zst merges.ndjson | jq .

            \(exitCodeHelp)
            """)

    @OptionGroup var options: CommonOptions

    func run() throws {
        runStage(.dedupe, options: options) { context, reporter in
            try DedupeStage(context: context, reporter: reporter).run()
        }
    }
}

FerryDedupe.main()
