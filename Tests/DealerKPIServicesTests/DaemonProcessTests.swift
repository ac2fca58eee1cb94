import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LocalPostgres
import Postgres
import Testing
import TestSupport

/// The real `dealer-kpi serve` binary as a child process: SIGTERM mid-work, kill -9 mid-work, and a
/// database outage while it runs. Each ends with every inbox file ingested exactly once.
@Suite("Daemon process: shutdown, crash and outage", .serialized)
struct DaemonProcessTests {
    /// `dealer-kpi`, built next to the test bundle by `swift build --build-tests`.
    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appending(path: "dealer-kpi")
    }

    struct Daemon {
        let process: Process
        let log: URL

        static func start(database: PostgresConfiguration, inbox: URL, port: Int, log: URL) throws -> Daemon {
            let p = Process()
            p.executableURL = DaemonProcessTests.binary
            p.arguments = ["serve", "--database-url", database.connectionString ?? "", "--inbox", inbox.path,
                           "--http", "127.0.0.1:\(port)", "--log-level", "info"]
            var env = ProcessInfo.processInfo.environment
            env["DEALER_KPI_PII_KEY"] = ServicesFixture.piiKey
            p.environment = env
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            try handle.seekToEnd()
            p.standardOutput = handle
            p.standardError = handle
            try p.run()
            return Daemon(process: p, log: log)
        }

        func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

        /// Waits for exit up to `timeout`; returns the status, or nil if still running.
        func waitForExit(timeout: Duration) async -> Int32? {
            let deadline = ContinuousClock.now + timeout
            while process.isRunning {
                if ContinuousClock.now > deadline { return nil }
                try? await Task.sleep(for: .milliseconds(100))
            }
            return process.terminationStatus
        }
    }

    func dropAll(_ f: ServicesFixture, into inbox: URL) throws -> Int {
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        var n = 0
        for step in f.steps { for file in step.files { _ = try f.drop(file, receivedAt: step.receivedAt, into: inbox); n += 1 } }
        return n
    }

    func waitUntil(timeout: Duration, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    func httpStatus(_ port: Int, _ path: String) async -> Int? {
        guard let url = URL(string: "http://127.0.0.1:\(port)\(path)") else { return nil }
        var request = URLRequest(url: url)
        request.timeoutInterval = 3
        guard let (_, response) = try? await URLSession.shared.data(for: request) else { return nil }
        return (response as? HTTPURLResponse)?.statusCode
    }

    /// Every file once: one receipt per file, none pending, every accepted file's store-days recorded.
    func expectExactlyOnce(_ f: ServicesFixture, inbox: URL, files: Int) async throws {
        #expect(try await f.count("SELECT count(*) FROM ops.inbox_receipt") == files)
        #expect(try await f.count("SELECT count(DISTINCT file_name) FROM ops.inbox_receipt") <= files)
        #expect(try await f.count("SELECT count(*) FROM core.ingested_file") == f.count("SELECT count(*) FROM ops.inbox_receipt WHERE outcome = 'accepted'"))
        let pending = try FileManager.default.contentsOfDirectory(atPath: inbox.path).filter { !$0.hasPrefix(".") && $0 != "processed" && $0 != "rejected" }
        #expect(pending.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: inbox.appending(path: ".work").path).isEmpty)
    }

    @Test func sigtermFinishesCleanlyAndARestartCompletesTheInbox() async throws {
        let f = try await ServicesFixture.make(stores: 3, days: 8)
        defer { Task { await f.close() } }
        let inbox = f.scratch.appending(path: "inbox")
        let files = try dropAll(f, into: inbox)
        let port = try TestPostgres.freeTCPPort()
        let daemon = try Daemon.start(database: f.configuration, inbox: inbox, port: port, log: f.scratch.appending(path: "daemon.log"))
        _ = try await waitUntil(timeout: .seconds(30)) { try await f.count("SELECT count(*) FROM ops.inbox_receipt") >= 3 }
        #expect(try await waitUntil(timeout: .seconds(30)) { await httpStatus(port, "/healthz") == 200 })
        let stopping = ContinuousClock.now
        daemon.signal(SIGTERM)
        let status = await daemon.waitForExit(timeout: .seconds(40))
        #expect(status == 0, "exit status \(String(describing: status)); log: \((try? String(contentsOf: daemon.log, encoding: .utf8))?.suffix(2000) ?? "")")
        #expect(ContinuousClock.now - stopping < .seconds(35))
        if status == nil { daemon.signal(SIGKILL) }

        let again = try Daemon.start(database: f.configuration, inbox: inbox, port: port, log: f.scratch.appending(path: "daemon.log"))
        #expect(try await waitUntil(timeout: .seconds(60)) { try await f.count("SELECT count(*) FROM ops.inbox_receipt") == files })
        // Loads notify the daemon, which refreshes the snapshots within seconds (no cron tick needed): the
        // change log empties and the newest business date has store rows.
        #expect(try await waitUntil(timeout: .seconds(20)) {
            let pending = try await f.count("SELECT count(*) FROM core.kpi_change")
            let latest = try await f.count("""
                SELECT count(*) FROM kpi.snapshot WHERE level = 'store' AND grain = 'day'
                  AND period_start = (SELECT max(business_date) FROM core.store_day_report)
                """)
            return pending == 0 && latest > 0
        })
        #expect(try await f.count("SELECT count(*) FROM ops.job_run WHERE trigger = 'notify' AND status = 'succeeded'") >= 1)
        #expect(try await waitUntil(timeout: .seconds(30)) { await httpStatus(port, "/healthz") == 200 })
        again.signal(SIGTERM)
        #expect(await again.waitForExit(timeout: .seconds(40)) == 0)
        try await expectExactlyOnce(f, inbox: inbox, files: files)
        // Timeliness and versions come from the files' receipt times, whichever daemon run took them.
        #expect(try await f.count("SELECT count(*) FROM core.store_day_report WHERE current_version > 1") ==
                f.count("SELECT count(DISTINCT (store_code, business_date)) FROM core.report_submission WHERE version > 1"))
    }

    @Test func killMinusNineLosesNothingAndCountsNothingTwice() async throws {
        let f = try await ServicesFixture.make(stores: 6, days: 20, seed: 11)
        defer { Task { await f.close() } }
        let inbox = f.scratch.appending(path: "inbox")
        let files = try dropAll(f, into: inbox)
        let port = try TestPostgres.freeTCPPort()
        var kills = 0
        var killsMidRun = 0
        while try await f.count("SELECT count(*) FROM ops.inbox_receipt") < files, kills < 8 {
            let before = try await f.count("SELECT count(*) FROM ops.inbox_receipt")
            let daemon = try Daemon.start(database: f.configuration, inbox: inbox, port: port, log: f.scratch.appending(path: "daemon.log"))
            // Kill once it is working (however slow its start on a loaded machine), at a random moment.
            _ = try await waitUntil(timeout: .seconds(20)) { try await f.count("SELECT count(*) FROM ops.inbox_receipt") > before }
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...400)))
            daemon.signal(SIGKILL)
            _ = await daemon.waitForExit(timeout: .seconds(10))
            kills += 1
            let done = try await f.count("SELECT count(*) FROM ops.inbox_receipt")
            if done > 0 && done < files { killsMidRun += 1 }
        }
        #expect(killsMidRun >= 1, "no kill landed while the inbox was being processed (\(kills) kills)")
        let last = try Daemon.start(database: f.configuration, inbox: inbox, port: port, log: f.scratch.appending(path: "daemon.log"))
        #expect(try await waitUntil(timeout: .seconds(60)) { try await f.count("SELECT count(*) FROM ops.inbox_receipt") == files })
        // SIGTERM is handled once the daemon is up (before that the default action applies).
        #expect(try await waitUntil(timeout: .seconds(30)) { await httpStatus(port, "/healthz") == 200 })
        last.signal(SIGTERM)
        #expect(await last.waitForExit(timeout: .seconds(40)) == 0)
        try await expectExactlyOnce(f, inbox: inbox, files: files)
    }

    @Test func databaseOutageWhileRunning() async throws {
        let cluster = try TestPostgres.privateCluster(name: "daemon-outage")
        defer { try? cluster.destroy() }
        let admin = try await PostgresConnection.connect(cluster.configuration())
        try await admin.executeScript("CREATE DATABASE w")
        await admin.close()
        let f = try await ServicesFixture.make(stores: 2, days: 4, configuration: cluster.configuration(database: "w"))
        defer { Task { await f.close() } }
        let inbox = f.scratch.appending(path: "inbox")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        let port = try TestPostgres.freeTCPPort()
        let daemon = try Daemon.start(database: f.configuration, inbox: inbox, port: port, log: f.scratch.appending(path: "daemon.log"))
        defer { daemon.signal(SIGKILL) }
        #expect(try await waitUntil(timeout: .seconds(30)) { await httpStatus(port, "/readyz") == 200 })

        try cluster.stop()
        #expect(try await waitUntil(timeout: .seconds(20)) { await httpStatus(port, "/readyz") == 503 })
        #expect(await httpStatus(port, "/healthz") == 200) // still alive
        let files = try dropAll(f, into: inbox)
        try await Task.sleep(for: .seconds(2))
        #expect(daemon.process.isRunning)

        try cluster.start()
        #expect(try await waitUntil(timeout: .seconds(60)) { await httpStatus(port, "/readyz") == 200 })
        #expect(try await waitUntil(timeout: .seconds(60)) { (try? await f.count("SELECT count(*) FROM ops.inbox_receipt")) == files })
        daemon.signal(SIGTERM)
        #expect(await daemon.waitForExit(timeout: .seconds(40)) == 0)
        try await expectExactlyOnce(f, inbox: inbox, files: files)
    }
}
