public import Foundation
public import Postgres

/// `dealer-kpi jobs history`: the latest runs, newest first.
public struct JobHistory: Sendable {
    public struct Entry: Sendable {
        public var runID: Int
        public var job: String
        public var schedule: String?
        public var scheduledFor: Date?
        public var trigger: String
        public var status: String
        public var startedAt: Date
        public var finishedAt: Date?
        public var rows: Int?
        public var error: String?
        public var instance: String?
    }

    public let pool: PostgresConnectionPool
    public init(pool: PostgresConnectionPool) { self.pool = pool }

    public func latest(limit: Int = 50, job: String? = nil) async throws -> [Entry] {
        let rows = try await pool.query("""
            SELECT r.run_id, r.job, s.name, r.scheduled_for, r.trigger, r.status, r.started_at, r.finished_at, r.rows, r.error, r.instance
            FROM ops.job_run r LEFT JOIN ops.job_schedule s USING (schedule_id)
            WHERE \(job) IS NULL OR r.job = \(job)
            ORDER BY r.run_id DESC LIMIT \(limit)
            """)
        return try rows.map { row in
            let (id, job, schedule, scheduledFor, trigger, status, started, finished, count, error, instance) =
                try row.decode((Int, String, String?, Date?, String, String, Date, Date?, Int?, String?, String?).self)
            return Entry(runID: id, job: job, schedule: schedule, scheduledFor: scheduledFor, trigger: trigger, status: status,
                         startedAt: started, finishedAt: finished, rows: count, error: error, instance: instance)
        }
    }
}
