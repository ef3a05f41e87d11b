import ArgumentParser
import FerryCore
import FerryStages
import Foundation

/// Options every stage executable shares.
public struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The pipeline configuration file.", valueName: "path"))
    public var config: String = "pipeline.yml"

    @Option(name: .long, help: ArgumentHelp("Folder of the stage folders (overrides stages_dir in the configuration).", valueName: "path"))
    public var stagesDir: String?

    @Flag(name: .long, help: "Print only warnings, errors and the final summary.")
    public var quiet = false

    @Option(name: .long, help: ArgumentHelp("Log lines as plain text or one JSON object per line (text, json).", valueName: "format"))
    public var logFormat: String = "text"

    public init() {}

    public func validate() throws {
        guard Reporter.Format(rawValue: logFormat) != nil else {
            throw ValidationError("--log-format must be text or json, not \(logFormat)")
        }
    }

    public func reporter(for stage: StageName) -> Reporter {
        Reporter(stage: stage.rawValue, format: Reporter.Format(rawValue: logFormat) ?? .text, quiet: quiet)
    }

    public func context() throws -> PipelineContext {
        try PipelineContext.load(configPath: config, stagesDir: stagesDir)
    }
}

/// The exit codes, as every command's help shows them.
public let exitCodeHelp = """
    Exit codes: 0 done; 1 verification found differences; 2 configuration error \
    (including unmapped values); 3 done, but some records were rejected (see \
    rejects.ndjson); 64 wrong command line; 65 input data unusable; 66 input missing \
    (run the previous stage); 70 internal error; 74 cannot write output; 75 locked by \
    another run, try again later.
    """

/// Runs a stage body and turns its result or error into output and an exit code.
/// Every executable ends here, so they all report the same way.
public func runStage(_ stage: StageName, options: CommonOptions, _ body: (PipelineContext, Reporter) throws -> StageResult) -> Never {
    runTool(stage, options: options) { reporter in try body(try options.context(), reporter) }
}

/// Like `runStage`, for work that needs no pipeline.yml (checking a bundle someone handed you).
public func runTool(_ stage: StageName, options: CommonOptions, _ body: (Reporter) throws -> StageResult) -> Never {
    let reporter = options.reporter(for: stage)
    do {
        let result = try body(reporter)
        for line in result.summary { print(line) }
        if result.exitStatus == .finishedWithRejects {
            reporter.warning("finished with \(result.counts.rejectedTotal) rejected record(s); exit status 3")
        }
        exit(result.exitStatus.rawValue)
    } catch let error as FerryError {
        reporter.error(error.description)
        exit(error.exitStatus.rawValue)
    } catch {
        reporter.error("internal error: \(error)")
        exit(ExitStatus.software.rawValue)
    }
}
