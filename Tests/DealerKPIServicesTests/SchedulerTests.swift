@testable import DealerKPIServices
import Foundation
import Postgres
import ServiceLifecycle
import Testing
import TestSupport

@Suite("Scheduler: cron in time zones, exactly once across daemons")
struct SchedulerTests {
    @Test func twoDaemonsRunEveryFiringExactlyOnce() async throws {
        let f = try await ServicesFixture.make(days: 2)
        defer { Task { await f.close() } }
        try await f.pool.query("DELETE FROM ops.job_schedule")
        let store = JobScheduleStore(pool: f.pool)
        // Firings from the schedule's creation on are due (a firing a moment before the daemons start is
        // on time, not missed): on a loaded machine the daemons start seconds after the schedule is added.
        let started = Date()
        // Every 2 seconds (a leading seconds field), a cheap job.
        try await store.add(name: "fast", job: .retention, cron: "*/2 * * * * *", timeZone: "America/New_York", missedPolicy: .skip)

        // Two daemons, each with its own pool, as two processes would have.
        let pools = (0..<2).map { _ in PostgresConnectionPool(configuration: f.configuration, options: .init(maximumConnections: 2), logger: TestPostgres.logger) }
        var stopping = Date()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (i, pool) in pools.enumerated() {
                let service = SchedulerService(pool: pool, jobs: JobRunner(pool: pool, instance: "daemon-\(i)", logger: TestPostgres.logger),
                                               logger: TestPostgres.logger, tick: .milliseconds(200))
                group.addTask { try await service.run() }
            }
            try await Task.sleep(for: .seconds(9))
            stopping = Date()
            group.cancelAll()
        }
        for p in pools { await p.shutdown() }
        let finished = Date()

        let rows = try await f.pool.query("""
            SELECT scheduled_for, count(*), string_agg(instance, ','),
                   -- succeeded, or cut short by the cancellation (still running, or failed as it ended)
                   bool_and(status = 'succeeded' OR finished_at IS NULL OR finished_at >= \(stopping))
            FROM ops.job_run WHERE trigger = 'schedule' GROUP BY scheduled_for ORDER BY scheduled_for
            """)
        let firings = try rows.map { try $0.decode((Date, Int, String, Bool).self) }
        #expect(firings.count >= 3)
        for (at, n, _, ok) in firings {
            #expect(n == 1, "firing \(at) ran \(n) times")
            #expect(ok, "firing \(at) did not succeed and was not cut short by the cancellation")
            #expect(Int(at.timeIntervalSince1970) % 2 == 0)
        }
        // No gaps: consecutive firings are 2 s apart.
        for (a, b) in zip(firings, firings.dropFirst()) {
            #expect(abs(b.0.timeIntervalSince(a.0) - 2) < 0.001)
        }
        // Both daemons took part (each firing went to whichever claimed it first).
        let instances = Set(firings.flatMap { $0.2.split(separator: ",").map(String.init) })
        #expect(!instances.isEmpty)
        #expect(firings.allSatisfy { $0.0 > started.addingTimeInterval(-1) && $0.0 <= finished })
    }

    @Test func missedFiringsAreSkippedOrCaughtUpOnce() async throws {
        let f = try await ServicesFixture.make(days: 2)
        defer { Task { await f.close() } }
        try await f.pool.query("DELETE FROM ops.job_schedule")
        let store = JobScheduleStore(pool: f.pool)
        let skip = try await store.add(name: "skipper", job: .retention, cron: "* * * * *", timeZone: "Asia/Shanghai", missedPolicy: .skip)
        let once = try await store.add(name: "catcher", job: .retention, cron: "* * * * *", timeZone: "Asia/Shanghai", missedPolicy: .once)
        // The daemons were down for 30 minutes.
        try await f.pool.query("UPDATE ops.job_schedule SET handled_through = now() - interval '30 minutes'")
        let service = SchedulerService(pool: f.pool, jobs: JobRunner(pool: f.pool, instance: "t", logger: TestPostgres.logger), logger: TestPostgres.logger)
        for s in try await store.list() { try await service.handle(s, now: Date()) }

        let skipped = try await f.pool.query("SELECT status, trigger, error FROM ops.job_run WHERE schedule_id = \(skip.id) AND trigger = 'catch_up'")
        #expect(skipped.count == 1)
        #expect(try skipped[0].decode(String.self, column: 0) == "skipped")
        #expect(try skipped[0].decode(String.self, column: 2).contains("missed"))
        let caught = try await f.pool.query("SELECT status, trigger FROM ops.job_run WHERE schedule_id = \(once.id) AND trigger = 'catch_up'")
        #expect(caught.count == 1)
        #expect(try caught[0].decode(String.self, column: 0) == "succeeded")
        // Handled: a second pass right away runs nothing more for the missed period.
        let before = try await f.count("SELECT count(*) FROM ops.job_run")
        for s in try await store.list() { try await service.handle(s, now: Date()) }
        #expect(try await f.count("SELECT count(*) FROM ops.job_run") - before <= 2) // at most the current minute's firing each
    }

    @Test func scheduleValidationNamesTheProblem() async throws {
        let f = try await ServicesFixture.make(days: 1)
        defer { Task { await f.close() } }
        let store = JobScheduleStore(pool: f.pool)
        let badCron = await #expect(throws: JobScheduleStore.Invalid.self) {
            try await store.add(name: "x", job: .refresh, cron: "61 * * * *", timeZone: "UTC", missedPolicy: .skip)
        }
        #expect(badCron?.description.contains("minute") == true)
        let badZone = await #expect(throws: JobScheduleStore.Invalid.self) {
            try await store.add(name: "x", job: .refresh, cron: "0 * * * *", timeZone: "Mars/Olympus", missedPolicy: .skip)
        }
        #expect(badZone?.description.contains("Mars/Olympus") == true)
        try await store.setPaused(name: "close-day", true)
        #expect(try await store.list().first { $0.name == "close-day" }?.paused == true)
        await #expect(throws: JobScheduleStore.Invalid.self) { try await store.remove(name: "nope") }
    }

    @Test func jobRequestsRunOnceAcrossDaemons() async throws {
        let f = try await ServicesFixture.make(days: 2)
        defer { Task { await f.close() } }
        let a = JobRunner(pool: f.pool, instance: "a", logger: TestPostgres.logger)
        let b = JobRunner(pool: f.pool, instance: "b", logger: TestPostgres.logger)
        for _ in 0..<3 { _ = try await a.request(job: .retention, requestedBy: "test") }
        async let x: Void = a.runRequestedJobs()
        async let y: Void = b.runRequestedJobs()
        _ = try await (x, y)
        #expect(try await f.count("SELECT count(*) FROM ops.job_request WHERE run_id IS NULL") == 0)
        #expect(try await f.count("SELECT count(*) FROM ops.job_run WHERE trigger = 'manual'") == 3)
        #expect(try await f.count("SELECT count(DISTINCT run_id) FROM ops.job_request") == 3)
    }
}
