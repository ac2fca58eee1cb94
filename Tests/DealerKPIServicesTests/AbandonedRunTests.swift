@testable import DealerKPIServices
import Foundation
import Postgres
import Testing
import TestSupport

/// A daemon killed mid-job leaves its `ops.job_run` row `running`; the next daemon marks it failed, and only
/// runs it can prove dead.
@Suite("Jobs: runs of stopped daemons are marked failed")
struct AbandonedRunTests {
    @Test func deadLocalProcessesAndOurOwnEarlierNameAreMarkedOthersAreLeft() async throws {
        let fixture = try await ServicesFixture.make(stores: 1, days: 1)
        defer { Task { await fixture.close() } }
        let host = ProcessInfo.processInfo.hostName

        // A pid that surely is dead: a child that has exited and been reaped.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let deadPID = child.processIdentifier

        let instances = [
            "dead-local": "\(host):\(deadPID)",
            "alive-local": "\(host):\(getpid())",
            "other-host": "some-other-host:\(deadPID)",
            "our-name": "kpi-1",
            "other-name": "kpi-2",
        ]
        var ids: [String: Int] = [:]
        for (label, instance) in instances {
            ids[label] = try await fixture.pool.query("""
                INSERT INTO ops.job_run (job, trigger, instance) VALUES ('refresh', 'manual', \(instance)) RETURNING run_id
                """)[0].decode(Int.self, column: 0)
        }
        let finished = try await fixture.pool.query("""
            INSERT INTO ops.job_run (job, trigger, instance, status, finished_at) VALUES ('refresh', 'manual', \(instances["dead-local"]!), 'succeeded', now())
            RETURNING run_id
            """)[0].decode(Int.self, column: 0)

        let marked = try await JobRunner(pool: fixture.pool, instance: "kpi-1", logger: TestPostgres.logger).markAbandonedRuns()
        #expect(marked == 2)

        func status(_ id: Int) async throws -> (String, String?) {
            try await fixture.pool.query("SELECT status, error FROM ops.job_run WHERE run_id = \(id)")[0].decode((String, String?).self)
        }
        for label in ["dead-local", "our-name"] {
            let (s, error) = try await status(ids[label]!)
            #expect(s == "failed", "\(label)")
            #expect(error?.hasPrefix("abandoned") == true, "\(label)")
        }
        for label in ["alive-local", "other-host", "other-name"] {
            #expect(try await status(ids[label]!).0 == "running", "\(label)")
        }
        #expect(try await status(finished).0 == "succeeded")

        // Idempotent: nothing more to mark.
        #expect(try await JobRunner(pool: fixture.pool, instance: "kpi-1", logger: TestPostgres.logger).markAbandonedRuns() == 0)
    }
}
