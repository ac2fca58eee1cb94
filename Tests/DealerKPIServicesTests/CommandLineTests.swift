import CivilCalendar
import CorpusGenerator
import Foundation
import Postgres
import Testing
import TestSupport

/// The real `dealer-kpi` binary as scripts drive it: exit statuses, one line per file as it commits, the
/// version, and SIGTERM during a full rebuild.
@Suite("Command line: exit statuses, per-file output, SIGTERM (real binary)", .serialized)
struct CommandLineTests {
    static let piiKey = "cli-test-key-0123456789abcdef"

    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
        var jsonLines: [[String: Any]] {
            stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }
    }

    /// A scratch directory and the binary, with a clean environment (no PG* or DEALER_KPI_* of the caller).
    struct CLI {
        let scratch: URL
        let database: String?

        func start(_ arguments: [String], env extra: [String: String] = [:]) throws -> (Process, URL, URL) {
            let id = UUID().uuidString.prefix(8)
            let out = scratch.appending(path: "out-\(id)"), err = scratch.appending(path: "err-\(id)")
            for f in [out, err] { _ = FileManager.default.createFile(atPath: f.path, contents: nil) }
            let p = Process()
            p.executableURL = DaemonProcessTests.binary
            p.arguments = arguments
            var environment = ProcessInfo.processInfo.environment
            for key in environment.keys where key.hasPrefix("PG") || key.hasPrefix("DEALER_KPI_") || key == "DATABASE_URL" {
                environment[key] = nil
            }
            environment["DEALER_KPI_PII_KEY"] = CommandLineTests.piiKey
            if let database { environment["DATABASE_URL"] = database }
            environment.merge(extra) { _, new in new }
            p.environment = environment
            p.standardOutput = try FileHandle(forWritingTo: out)
            p.standardError = try FileHandle(forWritingTo: err)
            try p.run()
            return (p, out, err)
        }

        func run(_ arguments: [String], env: [String: String] = [:], timeout: Duration = .seconds(180)) async throws -> Run {
            let (p, out, err) = try start(arguments, env: env)
            guard try await CommandLineTests.wait(p, timeout) else {
                kill(p.processIdentifier, SIGKILL)
                Issue.record("dealer-kpi \(arguments) did not end within \(timeout)")
                throw CancellationError()
            }
            return Run(status: p.terminationStatus, stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                       stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
        }
    }

    static func wait(_ p: Process, _ timeout: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while p.isRunning {
            if ContinuousClock.now > deadline { return false }
            try await Task.sleep(for: .milliseconds(50))
        }
        return true
    }

    static func withCLI(migrated: Bool = true, _ body: (CLI, PostgresConfiguration) async throws -> Void) async throws {
        let fresh = try await TestPostgres.freshDatabase(prefix: "cli")
        let scratch = FileManager.default.temporaryDirectory.appending(path: "dkpi-cli-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let cli = CLI(scratch: scratch, database: fresh.configuration.connectionString)
        if migrated { #expect(try await cli.run(["migrate"]).status == 0) }
        try await body(cli, fresh.configuration)
    }

    /// A generated corpus in `scratch/corpus` with its master data loaded through the binary.
    static func corpus(_ cli: CLI, stores: Int, days: Int, start: CalendarDate) async throws -> URL {
        let corpus = cli.scratch.appending(path: "corpus")
        var config = CorpusConfiguration(stores: stores, days: days, seed: 11, startDate: start)
        config.missingShare = 0
        _ = try SyntheticCorpus.generate(config, to: corpus.path, overwrite: true)
        let master = ["regions", "stores", "salespeople", "models", "plans", "expenses"].map { corpus.appending(path: "master/\($0).csv").path }
        let loaded = try await cli.run(["load", "--json"] + master)
        #expect(loaded.status == 0, "\(loaded.stdout)\(loaded.stderr)")
        // One JSON line per file, each as it committed.
        #expect(loaded.jsonLines.count == master.count && loaded.jsonLines.allSatisfy { $0["accepted"] as? Bool == true })
        return corpus
    }

    /// 60 stores over a year-long horizon (two days of reports, then one a year later), aggregated: a full
    /// rebuild recomputes every store-period of the horizon, several seconds of work.
    static func yearLongHorizon(_ cli: CLI) async throws {
        let corpus = try await Self.corpus(cli, stores: 60, days: 2, start: CalendarDate(year: 2025, month: 12, day: 1)!)
        #expect(try await cli.run(["ingest", "--manifest", corpus.appending(path: "manifest.json").path]).status == 0)
        let firstVisits = try #require(try FileManager.default.contentsOfDirectory(atPath: corpus.appending(path: "csv").path)
            .sorted().first { $0.hasSuffix("_visits.csv") })
        let late = try String(contentsOf: corpus.appending(path: "csv/" + firstVisits), encoding: .utf8)
            .replacingOccurrences(of: "2025-12-01", with: "2026-11-30")
        try Data(late.utf8).write(to: cli.scratch.appending(path: "late_visits.csv"))
        #expect(try await cli.run(["ingest", cli.scratch.appending(path: "late_visits.csv").path]).status == 0)
        let built = try await cli.run(["aggregate"])
        #expect(built.status == 0, "\(built.stderr)")
    }

    static func snapshotFingerprint(_ db: PostgresConnection) async throws -> String {
        try await db.query("SELECT count(*) || ':' || md5(string_agg(s::text, ',' ORDER BY s::text)) FROM kpi.snapshot s")[0]
            .decode(String.self, column: 0)
    }

    @Test func sigtermDuringARequestedFullRefreshJobRollsItBackAndTheDaemonExitsZero() async throws {
        try await Self.withCLI { cli, configuration in
            try await Self.yearLongHorizon(cli)
            let observer = try await PostgresConnection.connect(configuration, logger: TestPostgres.logger)
            defer { Task { await observer.close() } }
            let before = try await Self.snapshotFingerprint(observer)
            let port = try TestPostgres.freeTCPPort()
            let operatorToken = "operator-token-for-the-cli-test-0123456789"
            let (daemon, _, log) = try cli.start(["serve", "--http", "127.0.0.1:\(port)", "--log-level", "info"],
                                                 env: ["DEALER_KPI_OPERATOR_TOKEN": operatorToken])
            defer { if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) } }
            var ready = false
            for _ in 0..<200 where !ready {
                ready = await HTTP.status("http://127.0.0.1:\(port)/readyz") == 200
                if !ready { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(ready, "the daemon never became ready: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
            #expect(await HTTP.status("http://127.0.0.1:\(port)/v1/jobs/refresh/runs", method: "POST", token: operatorToken,
                                      type: "application/json", body: "{\"full\": true}") == 202)
            var running = false
            for _ in 0..<200 where !running {
                running = try await observer.query("""
                    SELECT count(*) FROM ops.job_run WHERE job = 'refresh' AND status = 'running' AND arguments->>'full' = 'true'
                    """)[0].decode(Int.self, column: 0) == 1
                if !running { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(running, "the requested full refresh never started")
            try await Task.sleep(for: .seconds(1))
            let sent = ContinuousClock.now
            kill(daemon.processIdentifier, SIGTERM)
            #expect(try await Self.wait(daemon, .seconds(15)), "the daemon did not exit within 15 s of SIGTERM")
            #expect(ContinuousClock.now - sent < .seconds(15))
            #expect(daemon.terminationStatus == 0)
            #expect(try await Self.snapshotFingerprint(observer) == before)
            #expect(try await observer.query("""
                SELECT status || ' ' || left(error, 9) FROM ops.job_run WHERE job = 'refresh' AND arguments->>'full' = 'true'
                """)[0].decode(String.self, column: 0) == "failed cancelled")
        }
    }

    @Test func versionAndUsageErrors() async throws {
        let scratch = FileManager.default.temporaryDirectory.appending(path: "dkpi-cli-\(getpid())-v")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let cli = CLI(scratch: scratch, database: nil)
        let version = try await cli.run(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.hasPrefix("dealer-kpi 0.") && version.stdout.contains("contract 1.1"), "\(version.stdout)")

        let noFiles = try await cli.run(["ingest"])
        #expect(noFiles.status == 64 && noFiles.stderr.contains("no report files"), "\(noFiles.status) \(noFiles.stderr)")
        let both = try await cli.run(["ingest", "--manifest", "m.json", "--received-at", "2026-03-02T21:30:00+08:00"])
        #expect(both.status == 64, "\(both.stderr)")
        let badTime = try await cli.run(["ingest", "--received-at", "yesterday", "x.json"])
        #expect(badTime.status == 64 && badTime.stderr.contains("RFC 3339"), "\(badTime.stderr)")
        let unknownFlag = try await cli.run(["ingest", "--no-such-flag"])
        #expect(unknownFlag.status == 64)
        // A manifest that is not one: a usage error naming the step, before anything is ingested.
        try Data("[{\"files\": []}]".utf8).write(to: scratch.appending(path: "m.json"))
        let badManifest = try await cli.run(["ingest", "--manifest", scratch.appending(path: "m.json").path])
        #expect(badManifest.status == 64 && badManifest.stderr.contains("$[0].files"), "\(badManifest.stderr)")
    }

    @Test func databaseProblemsAreTemporaryOrConfiguration() async throws {
        let server = try await TestPostgres.server()
        let scratch = FileManager.default.temporaryDirectory.appending(path: "dkpi-cli-\(getpid())-db")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        // Nothing listens on port 1: temporary (75), retry later.
        let unreachable = try await CLI(scratch: scratch, database: "postgresql://postgres@127.0.0.1:1/x?connect_timeout=2").run(["migrate"])
        #expect(unreachable.status == 75, "\(unreachable.status) \(unreachable.stderr)")
        // A wrong password is configuration (78): retrying will not help.
        if let port = server.tcpPort {
            let wrong = try await CLI(scratch: scratch, database: "postgresql://postgres:wrong-password@127.0.0.1:\(port)/postgres").run(["migrate"])
            #expect(wrong.status == 78, "\(wrong.status) \(wrong.stderr)")
        }
    }

    @Test func ingestPrintsALinePerFileAsItsUploadCommitsAndStopsAtARejectedStep() async throws {
        try await Self.withCLI { cli, configuration in
            let corpus = try await Self.corpus(cli, stores: 2, days: 3, start: CalendarDate(year: 2026, month: 3, day: 2)!)
            let steps = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: corpus.appending(path: "manifest.json"))) as? [[String: Any]])
            #expect(steps.count >= 3)
            // A manifest of the first step, a step with a bad file among good ones, and a third step.
            let bad = corpus.appending(path: "bad.json")
            try Data("{\"format\": \"dealer-daily-report/1\", \"store\": \"NOPE\", \"business_date\": \"2026-03-01\", \"visits\": []}".utf8).write(to: bad)
            var second = steps[1]
            second["files"] = (second["files"] as! [String]) + ["bad.json"]
            let manifest = corpus.appending(path: "partial.json")
            try JSONSerialization.data(withJSONObject: [steps[0], second, steps[2]]).write(to: manifest)

            let run = try await cli.run(["ingest", "--json", "--manifest", manifest.path])
            #expect(run.status == 1, "\(run.stderr)")
            let lines = run.jsonLines
            let first = steps[0]["files"] as! [String]
            let secondFiles = second["files"] as! [String]
            // Step 1 committed and says so, file by file; step 2 is rejected as a whole: the bad file with its
            // own problem, the good ones with upload_rejected; then the note that step 3 was not ingested.
            #expect(lines.count == first.count + secondFiles.count + 1, "\(run.stdout)")
            for line in lines.prefix(first.count) {
                #expect(line["accepted"] as? Bool == true && line["step"] as? Int == 1 && line["received_at"] is String)
                #expect(line["duplicate"] as? Bool == false)
            }
            let rejected = Array(lines.dropFirst(first.count).prefix(secondFiles.count))
            #expect(rejected.allSatisfy { $0["accepted"] as? Bool == false })
            let rules = rejected.map { (($0["errors"] as? [[String: Any]]) ?? []).compactMap { $0["rule"] as? String } }
            #expect(rules.last == ["unknown_store"], "\(rules)")
            #expect(rules.dropLast().allSatisfy { $0 == ["upload_rejected"] }, "\(rules)")
            #expect(lines.last?["stopped_at_step"] as? Int == 2)

            let db = try await PostgresConnection.connect(configuration, logger: TestPostgres.logger)
            #expect(try await db.query("SELECT count(*) FROM core.ingested_file")[0].decode(Int.self, column: 0) == first.count)
            #expect(try await db.query("SELECT count(DISTINCT received_at) FROM core.ingested_file")[0].decode(Int.self, column: 0) == 1)
            await db.close()

            // The first step again: every file a duplicate, said per file; exit 0.
            let again = try await cli.run(["ingest", "--json", "--received-at", steps[0]["received_at"] as! String]
                                          + first.map { corpus.appending(path: $0).path })
            #expect(again.status == 0)
            #expect(again.jsonLines.count == first.count && again.jsonLines.allSatisfy { $0["duplicate"] as? Bool == true }, "\(again.stdout)")
        }
    }

    @Test func sigtermDuringAFullRebuildRollsItBackAndExitsZero() async throws {
        try await Self.withCLI { cli, configuration in
            try await Self.yearLongHorizon(cli)

            let observer = try await PostgresConnection.connect(configuration, logger: TestPostgres.logger)
            defer { Task { await observer.close() } }
            func snapshotFingerprint() async throws -> String { try await Self.snapshotFingerprint(observer) }
            func backends(_ pid: Int32) async throws -> Int {
                // Our own test connections aside, any backend of this database is the command's.
                try await observer.query("""
                    SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
                      AND backend_type = 'client backend'
                    """)[0].decode(Int.self, column: 0)
            }
            let before = try await snapshotFingerprint()
            #expect(!before.hasPrefix("0:"))

            // 1. Waiting: another session holds the refresh lock (SnapshotRefresher.lockKey), so the rebuild
            //    waits on the server. SIGTERM must still end it at once.
            let holder = try await PostgresConnection.connect(configuration, logger: TestPostgres.logger)
            try await holder.execute("SELECT pg_advisory_lock(\(Int64(0x6B70_695F_7265_6672)))")
            let (waiting, waitingOut, _) = try cli.start(["aggregate", "--full"])
            var sawWait = false
            for _ in 0..<200 where !sawWait {
                sawWait = try await observer.query("""
                    SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
                    """)[0].decode(Int.self, column: 0) == 1
                if !sawWait { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(sawWait, "the rebuild never waited for the refresh lock")
            let signalled = ContinuousClock.now
            kill(waiting.processIdentifier, SIGTERM)
            #expect(try await Self.wait(waiting, .seconds(10)), "aggregate did not exit within 10 s of SIGTERM")
            #expect(ContinuousClock.now - signalled < .seconds(10))
            #expect(waiting.terminationStatus == 0)
            #expect(try String(contentsOf: waitingOut, encoding: .utf8).contains("cancelled by SIGTERM"))
            #expect(try await observer.query("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")[0]
                    .decode(Int.self, column: 0) == 0)
            await holder.close()

            // 2. Working: SIGTERM a second into the rebuild's own statements.
            let (working, workingOut, workingErr) = try cli.start(["aggregate", "--full"])
            try await Task.sleep(for: .seconds(1.5))
            #expect(working.isRunning, "the rebuild ended before the signal: the corpus is too small to test this")
            let sent = ContinuousClock.now
            kill(working.processIdentifier, SIGTERM)
            #expect(try await Self.wait(working, .seconds(10)), "aggregate did not exit within 10 s of SIGTERM")
            #expect(ContinuousClock.now - sent < .seconds(10))
            #expect(working.terminationStatus == 0, "\((try? String(contentsOf: workingErr, encoding: .utf8)) ?? "")")
            #expect(try String(contentsOf: workingOut, encoding: .utf8).contains("cancelled by SIGTERM"))

            #expect(try await snapshotFingerprint() == before)
            #expect(try await backends(working.processIdentifier) == 0)
            #expect(try await observer.query("""
                SELECT count(*) FROM kpi.refresh_run WHERE mode = 'full' AND status = 'failed' AND error LIKE 'cancelled%'
                """)[0].decode(Int.self, column: 0) == 2)
        }
    }
}
