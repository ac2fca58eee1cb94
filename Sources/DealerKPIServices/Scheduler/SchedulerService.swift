import Cron
import Foundation
import Logging
import Postgres
import ServiceLifecycle

/// Runs the jobs of `ops.job_schedule` at their cron times, each in its IANA time zone.
///
/// Exactly once across daemons: every daemon computes the same firings; a firing is claimed by inserting
/// its `(schedule_id, scheduled_for)` run row, which succeeds for one daemon only (unique constraint), and
/// only that daemon runs it. `handled_through` moves forward monotonically so a daemon that starts late
/// knows which firings were missed. Firings more than `lateness` behind are *missed*: policy `skip` records
/// the latest as skipped and moves on; `once` runs one catch-up for all of them.
struct SchedulerService: Service {
    let pool: PostgresConnectionPool
    let jobs: JobRunner
    let logger: Logger
    /// Longest the scheduler sleeps before looking again (schedule edits are also picked up then).
    var tick: Duration = .seconds(1)
    /// A firing this far behind the clock is treated as missed (the daemon was down).
    var lateness: TimeInterval = 60

    func run() async throws {
        let store = JobScheduleStore(pool: pool)
        do {
            try await jobs.markAbandonedRuns()
        } catch {
            logger.warning("could not check for runs of stopped daemons", metadata: ["error": "\(error)"])
        }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let schedules = try await store.list()
                for schedule in schedules where !schedule.paused {
                    if Task.isShuttingDownGracefully { return }
                    try await handle(schedule, now: Date())
                }
            } catch is CancellationError {
                return
            } catch let error as PostgresError where error.kind == .cancelled {
                // A database call in a cancelled task (a shutdown) ends with this kind, not CancellationError.
                return
            } catch {
                logger.warning("scheduler pass failed; retrying", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: tick) }
        }
    }

    func handle(_ schedule: JobSchedule, now: Date) async throws {
        guard let cron = try? CronSchedule(expression: schedule.cron, timeZoneIdentifier: schedule.timeZone) else {
            logger.error("invalid schedule skipped", metadata: ["schedule": "\(schedule.name)"])
            return
        }
        let since = schedule.handledThrough ?? schedule.createdAt
        let due = cron.firings(after: since, through: now, limit: 10_000)
        guard !due.isEmpty else { return }
        let missed = due.filter { now.timeIntervalSince($0) > lateness }
        let onTime = due.filter { now.timeIntervalSince($0) <= lateness }

        if let lastMissed = missed.last {
            switch schedule.missedPolicy {
            case .skip:
                let claimed = try await pool.query("""
                    INSERT INTO ops.job_run (job, schedule_id, scheduled_for, trigger, status, finished_at, instance, error)
                    VALUES (\(schedule.job.rawValue), \(schedule.id), \(lastMissed), 'catch_up', 'skipped', clock_timestamp(), \(jobs.instance),
                            \("\(missed.count) firing(s) missed while no daemon ran; skipped by policy"))
                    ON CONFLICT (schedule_id, scheduled_for) DO NOTHING
                    """).affectedRows
                if claimed > 0 {
                    logger.notice("missed firings skipped", metadata: ["schedule": "\(schedule.name)", "count": "\(missed.count)"])
                }
            case .once:
                if let run = try await runClaimed(schedule, at: lastMissed, trigger: .catchUp) {
                    logger.notice("caught up missed firings with one run", metadata: [
                        "schedule": "\(schedule.name)", "missed": "\(missed.count)", "run": "\(run.runID)",
                    ])
                }
            }
            try await advance(schedule, to: lastMissed)
        }
        for firing in onTime {
            if Task.isShuttingDownGracefully { return }
            _ = try await runClaimed(schedule, at: firing, trigger: .schedule)
            try await advance(schedule, to: firing)
        }
    }

    private func runClaimed(_ schedule: JobSchedule, at firing: Date, trigger: JobTrigger) async throws -> JobRunRecord? {
        do {
            return try await jobs.runFiring(job: schedule.job, scheduleID: schedule.id, scheduledFor: firing, trigger: trigger)
        } catch let error as PostgresError where error.isConnectionProblem {
            throw error
        } catch {
            // The run row says failed; the firing is handled (not retried in a loop).
            return nil
        }
    }

    private func advance(_ schedule: JobSchedule, to firing: Date) async throws {
        try await pool.query("""
            UPDATE ops.job_schedule SET handled_through = \(firing)
            WHERE schedule_id = \(schedule.id) AND (handled_through IS NULL OR handled_through < \(firing))
            """)
    }
}
