import ArgumentParser
import FerryCLI
import FerryStages

/// ferry-verify: compares the target with stages/map, writes stages/verify/*.csv
struct FerryVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferry-verify",
        abstract: "Compare the target with the mapped records, field by field, and report.",
        discussion: """
            Reads every record of stages/map back from the target and compares it field \
            by field (subject, status, people, tags, custom fields, comments with their \
            authors and bodies, attachments by SHA-256 of the stored bytes), checks each \
            ticket's comment count, and accounts for every record the source had: \
            migrated, failed (with the stage and reason) or skipped (merged or left out).

            Prints all / created / migrated / failed / skipped per kind of record and writes
              stages/verify/report.html      the report to look at: charts, failures by reason,
                                             differences, tickets side by side (self-contained)
              stages/verify/records.csv      one row per source record, with target id and status
              stages/verify/migrated.csv, failed.csv, skipped.csv   the same rows, by status
              stages/verify/differences.csv  one row per differing field
              stages/verify/summary.json, report.json   the counts and findings, for machines

            Exits 1 when anything is missing from the target or different in it.

            \(exitCodeHelp)
            """)

    @OptionGroup var options: CommonOptions

    func run() throws {
        runStage(.verify, options: options) { context, reporter in
            try VerifyStage(context: context, reporter: reporter).run()
        }
    }
}

FerryVerify.main()
