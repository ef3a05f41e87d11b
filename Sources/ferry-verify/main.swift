import ArgumentParser
import FerryCLI
import FerryCore
import FerryStages
import Foundation

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

            Also:
              ferry-verify --bundle part-00001.tar.zst   check a bundle someone handed you
              ferry-verify --purge [--dry-run]            delete migration data after retention.days

            \(exitCodeHelp)
            """)

    @OptionGroup var options: CommonOptions

    @Option(help: ArgumentHelp("Check this bundle file (every checksum and count; decrypts with FERRY_BUNDLE_PASSPHRASE) instead of verifying the target. Needs no pipeline.yml.", valueName: "file"))
    var bundle: String?

    @Flag(help: "Delete stage outputs, checkpoints and reports once retention.days have passed since the last clean verification; say what was deleted.")
    var purge = false

    @Flag(help: "With --purge: say what would be deleted, delete nothing.")
    var dryRun = false

    @Option(help: ArgumentHelp("With --purge: use this many days instead of retention.days (0 purges now).", valueName: "days"))
    var olderThanDays: Int?

    func validate() throws {
        if bundle != nil && purge { throw ValidationError("use --bundle or --purge, not both") }
        if (dryRun || olderThanDays != nil) && !purge { throw ValidationError("--dry-run and --older-than-days go with --purge") }
    }

    func run() throws {
        if let bundle {
            runTool(.verify, options: options) { _ in
                let encryption = try BundleEncryption.resolve(BundleSettings(), baseDirectory: URL(fileURLWithPath: "."), configName: "the environment")
                return try BundleCheck(encryption: encryption).run(URL(fileURLWithPath: bundle))
            }
        }
        runStage(.verify, options: options) { context, reporter in
            if purge { return try Retention(context: context, reporter: reporter).purge(days: olderThanDays, dryRun: dryRun) }
            return try VerifyStage(context: context, reporter: reporter).run()
        }
    }
}

FerryVerify.main()
