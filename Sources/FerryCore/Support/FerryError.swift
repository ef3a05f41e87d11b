import Foundation

/// Process exit codes shared by every Ferry executable.
///
/// They follow sysexits(3) where a meaning exists there, so cron jobs and make
/// can tell "try again later" from "fix your data" from "fix your config".
public enum ExitStatus: Int32, Sendable, CaseIterable {
    /// The stage finished and everything it read went somewhere expected.
    case ok = 0
    /// `ferry-verify` found missing or different records in the target.
    case differences = 1
    /// Bad pipeline.yml (including unmapped values) or a request that cannot be
    /// carried out as asked. (A malformed command line is refused by the argument
    /// parser with 64, EX_USAGE, before any stage code runs.)
    case usage = 2
    /// The stage finished, but some records were rejected; they are listed in
    /// the bundle's `rejects.ndjson`. make treats this as success with a warning.
    case finishedWithRejects = 3
    /// Input data cannot be used at all (unreadable bundle, checksum mismatch).
    case dataError = 65
    /// The input the stage needs does not exist (run the previous stage first).
    case noInput = 66
    /// A bug in Ferry. Please report it with the message.
    case software = 70
    /// An output file or folder could not be created.
    case cannotCreate = 73
    /// Reading or writing failed (disk full, permissions, I/O error).
    case ioError = 74
    /// Temporary condition (another run holds the lock, a server is busy): retry later.
    case tryAgainLater = 75
}

/// Every error a stage can stop with. Each case renders as a message a person
/// can act on: what happened, where (file, line, record, field), and what to do.
public enum FerryError: Error, CustomStringConvertible, Sendable {
    case usage(String)
    case config(file: String, detail: String, hint: String)
    case unmappedValues(report: String)
    case missingInput(path: String, hint: String)
    case badBundle(path: String, detail: String)
    case badInput(file: String, line: Int?, detail: String)
    case io(path: String, detail: String)
    case locked(path: String, holder: String)
    /// A remote system (a help desk's API) cannot be reached or keeps failing
    /// after retries: temporary, run the stage again later (exit 75).
    case unavailable(service: String, detail: String, hint: String)
    /// A remote system refused a request in a way retrying will not fix
    /// (wrong credentials, missing rights, a request it does not understand).
    case remote(service: String, detail: String, hint: String)
    case internalError(String)

    public var exitStatus: ExitStatus {
        switch self {
        case .usage, .config, .unmappedValues: return .usage
        case .missingInput: return .noInput
        case .badBundle, .badInput: return .dataError
        case .io: return .ioError
        case .locked, .unavailable: return .tryAgainLater
        case .remote: return .usage
        case .internalError: return .software
        }
    }

    public var description: String {
        switch self {
        case .usage(let message):
            return message
        case .config(let file, let detail, let hint):
            return "\(file): \(detail)\n  what to do: \(hint)"
        case .unmappedValues(let report):
            return report
        case .missingInput(let path, let hint):
            return "input not found: \(path)\n  what to do: \(hint)"
        case .badBundle(let path, let detail):
            return "\(path): unusable bundle: \(detail)\n  what to do: re-run the stage that wrote it, or ask whoever sent it for a fresh copy"
        case .badInput(let file, let line, let detail):
            let location = line.map { "\(file):\($0)" } ?? file
            return "\(location): \(detail)"
        case .io(let path, let detail):
            return "\(path): \(detail)\n  what to do: check free disk space and permissions, then run the stage again; it resumes"
        case .locked(let path, let holder):
            return "\(path) is locked by another run (\(holder))\n  what to do: wait for it to finish, then try again"
        case .unavailable(let service, let detail, let hint):
            return "\(service) is unavailable: \(detail)\n  what to do: \(hint)"
        case .remote(let service, let detail, let hint):
            return "\(service) refused a request: \(detail)\n  what to do: \(hint)"
        case .internalError(let message):
            return "internal error: \(message)\n  please report this with the command you ran"
        }
    }

    /// Wraps a POSIX failure with the path it concerns.
    public static func posix(_ path: String, _ operation: String, errno code: Int32 = errno) -> FerryError {
        .io(path: path, detail: "\(operation) failed: \(String(cString: strerror(code)))")
    }
}
