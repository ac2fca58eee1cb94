import Foundation
import LocalPostgres
import Postgres
import Testing
import TestSupport
import Warehouse

/// The CI-sized version of `bench/faults`: the real `dealer-kpi serve` is killed with SIGKILL four times while it
/// ingests an inbox and refreshes the snapshots, and the database is stopped for a few seconds under a running
/// daemon; the outcome must equal a clean run of the same corpus (same names, receipt times and order, ingested
/// without a daemon): the same files, submissions, store-day reports, fact rows and `bi.kpi_values`, row for row.
@Suite("Fault injection: kills and an outage change nothing", .serialized)
struct FaultInjectionTests {
    typealias Daemon = DaemonProcessTests.Daemon

    func waitUntil(timeout: Duration, every interval: Duration = .milliseconds(100), _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: interval)
        }
        return false
    }

    /// The daemon's default instance name (host:pid), which its `ops.job_run` rows carry.
    func instance(of daemon: Daemon) -> String {
        "\(ProcessInfo.processInfo.hostName):\(daemon.process.processIdentifier)"
    }

    func count(_ f: ServicesFixture, _ query: PostgresQuery) async -> Int? {
        try? await f.pool.query(query)[0].decode(Int.self, column: 0)
    }

    /// Rows as text from both databases; returns the multiset difference both ways (EXCEPT ALL) and the row count.
    func difference(_ sql: String, clean: ServicesFixture, faulted: ServicesFixture) async throws -> (rows: Int, missing: [String], extra: [String]) {
        var counts: [String: Int] = [:]
        let cleanRows = try await clean.pool.query(PostgresQuery(unsafeSQL: sql)).map { try $0.decode(String.self, column: 0) }
        for r in cleanRows { counts[r, default: 0] += 1 }
        for r in try await faulted.pool.query(PostgresQuery(unsafeSQL: sql)).map({ try $0.decode(String.self, column: 0) }) { counts[r, default: 0] -= 1 }
        return (cleanRows.count, counts.filter { $0.value > 0 }.map(\.key), counts.filter { $0.value < 0 }.map(\.key))
    }

    @Test func killsAndAnOutageLeaveTheSameWarehouseAsACleanRun() async throws {
        let cluster = try TestPostgres.privateCluster(name: "faults")
        defer { try? cluster.destroy() }
        let admin = try await PostgresConnection.connect(cluster.configuration())
        try await admin.executeScript("CREATE DATABASE faulted")
        try await admin.executeScript("CREATE DATABASE clean")
        await admin.close()
        let f = try await ServicesFixture.make(stores: 3, days: 6, seed: 29, configuration: cluster.configuration(database: "faulted"))
        let c = try await ServicesFixture.make(stores: 3, days: 6, seed: 29, configuration: cluster.configuration(database: "clean"))
        defer { Task { await f.close(); await c.close() } }

        // The clean run: each step's files under their inbox names, in the inbox's order (receipt time, name).
        let staged = c.scratch.appending(path: "staged")
        try FileManager.default.createDirectory(at: staged, withIntermediateDirectories: true)
        var files = 0
        for step in c.steps {
            for relative in step.files.sorted(by: { $0.replacingOccurrences(of: "/", with: "_") < $1.replacingOccurrences(of: "/", with: "_") }) {
                let name = relative.replacingOccurrences(of: "/", with: "_")
                try FileManager.default.copyItem(at: c.corpus.appending(path: relative), to: staged.appending(path: name))
                _ = try await c.ingestor.ingest(path: staged.appending(path: name).path, displayName: name, receivedAt: step.receivedAt)
                files += 1
            }
        }
        _ = try await SnapshotRefresher(pool: c.pool, instance: "clean", logger: TestPostgres.logger).refresh(mode: .incremental)

        // The faulted run: four daemons killed with SIGKILL, two once they were seen ingesting, two once they were
        // seen refreshing. The first half of the corpus is in the inbox from the start; the second half arrives
        // while the database is stopped under the third daemon, which must then resume by itself.
        let inbox = f.scratch.appending(path: "inbox")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        let half = f.steps.count / 2
        for step in f.steps[..<half] { for file in step.files { _ = try f.drop(file, receivedAt: step.receivedAt, into: inbox) } }
        let port = try TestPostgres.freeTCPPort()
        let log = f.scratch.appending(path: "daemon.log")
        var logTail: String { (try? String(contentsOf: log, encoding: .utf8)).map { String($0.suffix(3000)) } ?? "" }
        var killsWhileWorkLeft = 0
        for kill in 0..<4 {
            let before = await count(f, "SELECT count(*) FROM ops.inbox_receipt") ?? 0
            let daemon = try Daemon.start(database: f.configuration, inbox: inbox, port: port, log: log)
            if kill == 2 {
                #expect(await waitUntil(timeout: .seconds(30)) { await DaemonProcessTests().httpStatus(port, "/readyz") == 200 })
                try cluster.stop()
                for step in f.steps[half...] { for file in step.files { _ = try f.drop(file, receivedAt: step.receivedAt, into: inbox) } }
                try await Task.sleep(for: .seconds(3))
                #expect(daemon.process.isRunning, "the daemon died while the database was down; log: \(logTail)")
                try cluster.start()
                #expect(await waitUntil(timeout: .seconds(40)) { await DaemonProcessTests().httpStatus(port, "/readyz") == 200 },
                        "the daemon did not become ready again after the outage")
                #expect(await waitUntil(timeout: .seconds(40)) { await count(f, "SELECT count(*) FROM ops.inbox_receipt") ?? 0 > before },
                        "the daemon did not resume ingesting after the outage; log: \(logTail)")
            }
            if kill % 2 == 0 {
                _ = await waitUntil(timeout: .seconds(20)) { await count(f, "SELECT count(*) FROM ops.inbox_receipt") ?? 0 > before }
                try await Task.sleep(for: .milliseconds(Int.random(in: 0...300)))
            } else {
                let name = instance(of: daemon)
                _ = await waitUntil(timeout: .seconds(20), every: .milliseconds(20)) {
                    await count(f, "SELECT count(*) FROM ops.job_run WHERE status = 'running' AND instance = \(name)") ?? 0 > 0
                }
                try await Task.sleep(for: .milliseconds(Int.random(in: 0...100)))
            }
            #expect(daemon.process.isRunning, "the daemon exited by itself; log: \(logTail)")
            daemon.signal(SIGKILL)
            _ = await daemon.waitForExit(timeout: .seconds(10))
            if await count(f, "SELECT count(*) FROM ops.inbox_receipt") ?? 0 < files { killsWhileWorkLeft += 1 }
        }
        #expect(killsWhileWorkLeft >= 1, "every kill landed after the inbox was done")

        let last = try Daemon.start(database: f.configuration, inbox: inbox, port: port, log: log)
        #expect(await waitUntil(timeout: .seconds(60)) { await count(f, "SELECT count(*) FROM ops.inbox_receipt") == files })
        #expect(await waitUntil(timeout: .seconds(30)) {
            guard await count(f, "SELECT count(*) FROM core.kpi_change") == 0 else { return false }
            return await count(f, """
                SELECT count(*) FROM kpi.refresh_run
                WHERE status = 'succeeded' AND started_at >= (SELECT max(recorded_at) FROM ops.inbox_receipt)
                """) ?? 0 > 0
        }, "no refresh caught up with the last file")
        #expect(await waitUntil(timeout: .seconds(30)) { await DaemonProcessTests().httpStatus(port, "/healthz") == 200 })
        last.signal(SIGTERM)
        let status = await last.waitForExit(timeout: .seconds(40))
        #expect(status == 0, "exit status \(String(describing: status)) after SIGTERM; log: \(logTail)")
        // Refreshes that the kills interrupted left no snapshot behind; the next one redid their work.
        try await DaemonProcessTests().expectExactlyOnce(f, inbox: inbox, files: files)

        for sql in [
            "SELECT (file_name, checksum, form, encoding, received_at, row_count)::text FROM core.ingested_file",
            """
            SELECT (store_code, business_date, version, received_at, due_at, on_time, source_file, source_checksum,
                    visit_rows, prospect_rows, sale_rows)::text FROM core.report_submission
            """,
            "SELECT t::text FROM core.store_day_report t",
            """
            SELECT (to_jsonb(v) - 'submission_id' || jsonb_build_object('file', s.source_file, 'version', s.version))::text
            FROM core.visit v JOIN core.report_submission s USING (submission_id)
            """,
            """
            SELECT (to_jsonb(p) - 'submission_id' - 'state_sequence' || jsonb_build_object('file', s.source_file, 'version', s.version))::text
            FROM core.prospect_card p JOIN core.report_submission s USING (submission_id)
            """,
            """
            SELECT (to_jsonb(o) - 'submission_id' - 'state_sequence' || jsonb_build_object('file', s.source_file, 'version', s.version))::text
            FROM core.sales_order o JOIN core.report_submission s USING (submission_id)
            """,
            "SELECT (to_jsonb(k) - 'computed_at')::text FROM bi.kpi_values k",
        ] {
            let d = try await difference(sql, clean: c, faulted: f)
            #expect(d.rows > 0, "nothing to compare: \(sql)")
            #expect(d.missing.isEmpty && d.extra.isEmpty,
                    "\(d.missing.count) rows missing, \(d.extra.count) extra in the faulted run (of \(d.rows)): \(sql)\nmissing: \(d.missing.prefix(3))\nextra: \(d.extra.prefix(3))")
        }
    }
}
