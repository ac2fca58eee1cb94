import Cron
public import Foundation
public import Postgres

/// A schedule as stored in `ops.job_schedule`.
public struct JobSchedule: Sendable, Hashable {
    public var id: Int
    public var name: String
    public var job: JobKind
    public var cron: String
    public var timeZone: String
    public var missedPolicy: MissedPolicy
    public var paused: Bool
    public var handledThrough: Date?
    public var createdAt: Date

    /// What to do about firings that fell while no daemon was running.
    public enum MissedPolicy: String, Sendable, CaseIterable {
        /// Forget them; run from the next firing on.
        case skip
        /// Run once to catch up, however many were missed.
        case once
    }
}

/// `dealer-kpi schedule list|add|remove|pause|resume`: schedules live in the database, so every daemon
/// sharing it follows the same ones.
public struct JobScheduleStore: Sendable {
    public let pool: PostgresConnectionPool
    public init(pool: PostgresConnectionPool) { self.pool = pool }

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public func list() async throws -> [JobSchedule] {
        let rows = try await pool.query("""
            SELECT schedule_id, name, job, cron, time_zone, missed_policy, paused, handled_through, created_at
            FROM ops.job_schedule ORDER BY name
            """)
        return try rows.map { row in
            let (id, name, job, cron, zone, policy, paused, handled, created) =
                try row.decode((Int, String, String, String, String, String, Bool, Date?, Date).self)
            return JobSchedule(id: id, name: name, job: JobKind(rawValue: job) ?? .refresh, cron: cron, timeZone: zone,
                               missedPolicy: JobSchedule.MissedPolicy(rawValue: policy) ?? .skip, paused: paused,
                               handledThrough: handled, createdAt: created)
        }
    }

    /// Adds (or replaces, by name) a schedule after checking the expression and the time zone.
    @discardableResult
    public func add(name: String, job: JobKind, cron: String, timeZone: String, missedPolicy: JobSchedule.MissedPolicy) async throws -> JobSchedule {
        let schedule: CronSchedule
        do {
            schedule = try CronSchedule(expression: cron, timeZoneIdentifier: timeZone)
        } catch {
            throw Invalid(description: "schedule \(name): \(error.localizedDescription)")
        }
        guard !name.isEmpty, name.count <= 64 else { throw Invalid(description: "a schedule name is 1 to 64 characters") }
        try await pool.query("""
            INSERT INTO ops.job_schedule (name, job, cron, time_zone, missed_policy, handled_through)
            VALUES (\(name), \(job.rawValue), \(schedule.expression.description), \(timeZone), \(missedPolicy.rawValue), now())
            ON CONFLICT (name) DO UPDATE SET job = EXCLUDED.job, cron = EXCLUDED.cron, time_zone = EXCLUDED.time_zone,
                missed_policy = EXCLUDED.missed_policy, updated_at = now(), handled_through = now()
            """)
        try await pool.query("SELECT pg_notify('dealer_kpi_schedules', \(name))")
        guard let added = try await list().first(where: { $0.name == name }) else { throw Invalid(description: "schedule \(name) vanished") }
        return added
    }

    public func remove(name: String) async throws {
        let n = try await pool.query("DELETE FROM ops.job_schedule WHERE name = \(name)").affectedRows
        guard n == 1 else { throw Invalid(description: "no schedule named \(name)") }
        try await pool.query("SELECT pg_notify('dealer_kpi_schedules', \(name))")
    }

    /// Pauses (or resumes) a schedule. Resuming does not run the firings missed while paused.
    public func setPaused(name: String, _ paused: Bool) async throws {
        let n = try await pool.query("""
            UPDATE ops.job_schedule SET paused = \(paused), updated_at = now(),
                   handled_through = CASE WHEN \(paused) THEN handled_through ELSE now() END
            WHERE name = \(name)
            """).affectedRows
        guard n == 1 else { throw Invalid(description: "no schedule named \(name)") }
        try await pool.query("SELECT pg_notify('dealer_kpi_schedules', \(name))")
    }
}
