import FerryCore
@testable import FerryStages
import Foundation
import Testing

/// Request Tracker 5 for real: scripts/rt-server.sh installs it (Debian's packages, as
/// root) and starts it on a port of its own with a fresh SQLite database. Then the
/// sample export goes through every stage into RT while ferry-load is killed with
/// SIGKILL several times and resumed, verify reads RT back (clean: nothing missing,
/// nothing different, no ticket with a comment too many), RT has exactly one ticket
/// per migrated ticket, and the rt source extracts RT back out into an SQLite archive,
/// which verifies clean too.
///
/// Runs when RT is installed or can be installed here; otherwise it is skipped, and
/// the reason is printed. FERRY_SKIP_RT=1 skips it; FERRY_RT_KILLS sets the kills (6).
@Suite(.serialized, .enabled(if: RTServer.usable, "needs Request Tracker 5 (scripts/rt-server.sh can-run); the reason is printed"))
struct RTIntegrationTests {
    static let kills = Int(ProcessInfo.processInfo.environment["FERRY_RT_KILLS"] ?? "") ?? 6

    @Test func samplesIntoRTWithKilledLoadsThenBackOutIntoSQLite() throws {
        let folder = try TestFolder("ferry-rt")
        let server = RTServer(port: 18090, directory: folder.url.appendingPathComponent("rt"))
        try server.start()
        defer { server.stop() }

        // The sample export without help_center/ (the RT target takes no knowledge base yet).
        let export = folder.url.appendingPathComponent("export")
        try FileManager.default.createDirectory(at: export, withIntermediateDirectories: true)
        let samples = PipelineRun.repositoryRoot.appendingPathComponent("samples/zendesk-export")
        for name in ["organizations.ndjson", "users.ndjson", "groups.ndjson", "ticket_fields.ndjson", "tickets.ndjson", "attachments"] {
            try FileManager.default.copyItem(at: samples.appendingPathComponent(name), to: export.appendingPathComponent(name))
        }
        let forward = try config(folder, "pipeline-rt.yml", name: "forward.yml", server: server) {
            $0.replacingOccurrences(of: "stages_dir: .rt/stages", with: "stages_dir: \(folder.url.path)/stages")
                .replacingOccurrences(of: "path: .rt/export", with: "path: \(export.path)")
        }
        for stage in ["extract", "dedupe", "map"] {
            let result = try run(stage, forward)
            #expect(result.status == 0 || result.status == 3, "\(stage): \(result.stderr)")
        }

        // Kill the load at seeded moments; each run resumes where the last one died.
        var rng = SplitMix64(seed: 5)
        var killed = 0
        for _ in 0..<Self.kills {
            let delay = 1.5 + Double(rng.next() % 1000) / 1000 * 12
            if try startAndKill("load", forward, after: delay) { killed += 1 } else { break }
        }
        let load = try run("load", forward)
        #expect(load.status == 0, "load after \(killed) kill(s): \(load.stdout) \(load.stderr)")
        print("RTIntegrationTests: ferry-load was killed \(killed) time(s), then finished:\n\(load.stdout)")

        let verify = try run("verify", forward)
        #expect(verify.status == 0, "verify against RT: \(verify.stdout)\n\(verify.stderr)")
        #expect(verify.stdout.contains("verification clean"))
        print(verify.stdout)
        // One RT ticket per migrated ticket, however often the load was killed
        // (verify compared every ticket's comments and attachments).
        let total = try server.ticketCount()
        #expect(total == 200, "RT holds \(total) tickets")

        // And back out of RT, into SQLite.
        let back = try config(folder, "pipeline-rt-back.yml", name: "back.yml", server: server) {
            $0.replacingOccurrences(of: "stages_dir: .rt/back/stages", with: "stages_dir: \(folder.url.path)/back")
        }
        for stage in PipelineRun.stages {
            let result = try run(stage, back)
            #expect(result.status == 0, "back \(stage): \(result.stdout)\n\(result.stderr)")
            if stage == "verify" { print(result.stdout) }
        }
    }

    private func config(_ folder: TestFolder, _ template: String, name: String, server: RTServer, _ edit: (String) -> String) throws -> URL {
        var text = try String(contentsOf: PipelineRun.repositoryRoot.appendingPathComponent(template), encoding: .utf8)
        text = edit(text)
            .replacingOccurrences(of: "url: http://127.0.0.1:18080", with: "url: http://127.0.0.1:\(server.port)")
            .replacingOccurrences(of: "credentials_file: .rt/credentials", with: "credentials_file: \(server.directory.path)/credentials")
        return try folder.write(name, text)
    }

    private func run(_ stage: String, _ config: URL) throws -> TestTools.Output {
        try TestTools.run(PipelineRun.binaries.appendingPathComponent("ferry-\(stage)").path, ["--config", config.path, "--quiet"], check: false)
    }

    private func startAndKill(_ stage: String, _ config: URL, after delay: TimeInterval) throws -> Bool {
        let process = Process()
        process.executableURL = PipelineRun.binaries.appendingPathComponent("ferry-\(stage)")
        process.arguments = ["--config", config.path, "--quiet"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        usleep(useconds_t(delay * 1_000_000))
        guard process.isRunning else { process.waitUntilExit(); return false }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return true
    }
}

/// scripts/rt-server.sh, for tests.
struct RTServer {
    let port: Int
    let directory: URL

    static var script: String { PipelineRun.repositoryRoot.appendingPathComponent("scripts/rt-server.sh").path }

    /// Whether RT can run here; when not, prints why (once).
    static let usable: Bool = {
        if ProcessInfo.processInfo.environment["FERRY_SKIP_RT"] == "1" {
            print("RTIntegrationTests skipped: FERRY_SKIP_RT=1")
            return false
        }
        guard let result = try? TestTools.run("/bin/bash", [script, "can-run"], check: false) else {
            print("RTIntegrationTests skipped: scripts/rt-server.sh could not be run")
            return false
        }
        if result.status != 0 {
            print("RTIntegrationTests skipped: \((result.stdout + result.stderr).trimmingCharacters(in: .whitespacesAndNewlines))")
            return false
        }
        return true
    }()

    private var environment: [String: String] { ["FERRY_RT_PORT": "\(port)", "FERRY_RT_DIR": directory.path] }

    /// Foundation's Process never saw the script exit when it left rt-server running in
    /// the background (waitUntilExit hung on a zombie), so start goes through posix_spawn
    /// and waitpid, with the output in a file.
    func start() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let log = directory.appendingPathComponent("start.log").path
        let command = "exec '\(Self.script)' start > '\(log)' 2>&1"
        let status = try Self.spawnAndWait(["/bin/bash", "-c", command], environment: environment)
        guard status == 0 else {
            throw TestFailure("scripts/rt-server.sh start failed (\(status)): \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }
    }

    static func spawnAndWait(_ arguments: [String], environment: [String: String]) throws -> Int32 {
        let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, arguments[0], nil, nil, argv, envp)
        guard code == 0 else { throw TestFailure("posix_spawn \(arguments[0]) failed: \(code)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return (status >> 8) & 0xff
    }

    func stop() {
        _ = try? TestTools.run("/bin/bash", [Self.script, "stop"], environment: environment, check: false)
    }

    /// Tickets in RT, as REST2 counts them.
    func ticketCount() throws -> Int {
        let url = "http://127.0.0.1:\(port)/REST/2.0/tickets?query=id%3E0&per_page=1"
        let result = try TestTools.run("/usr/bin/curl", ["-sS", "-u", "root:password", url])
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return Int("\(object?["total"] ?? -1)") ?? -1
    }
}
