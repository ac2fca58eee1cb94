public import CivilCalendar
public import Foundation
public import Logging
public import Postgres
import Warehouse

/// The jobs a schedule or an operator can run.
public enum JobKind: String, Sendable, CaseIterable {
    /// Bring the snapshots up to date (incremental); with a date range, recompute those days first.
    case refresh
    /// Record store-days whose report is missing after its due time, then refresh.
    case closeDay = "close_day"
    /// Delete run history and superseded snapshot rows older than their retention.
    case retention
}

/// Why a run happened.
public enum JobTrigger: String, Sendable {
    case schedule, catchUp = "catch_up", manual, backfill, notify
}

/// Optional arguments of a run (`--from`/`--to` back-fills, `--full`).
public struct JobArguments: Sendable, Hashable {
    public var from: CalendarDate?
    public var to: CalendarDate?
    public var full = false
    public init(from: CalendarDate? = nil, to: CalendarDate? = nil, full: Bool = false) {
        self.from = from
        self.to = to
        self.full = full
    }

    var json: String {
        var parts: [String] = []
        if let from { parts.append("\"from\": \"\(from)\"") }
        if let to { parts.append("\"to\": \"\(to)\"") }
        if full { parts.append("\"full\": true") }
        return "{" + parts.joined(separator: ", ") + "}"
    }

    static func parse(json: String) -> JobArguments {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { return JobArguments() }
        return JobArguments(from: (object["from"] as? String).flatMap { CalendarDate(iso: $0) },
                            to: (object["to"] as? String).flatMap { CalendarDate(iso: $0) },
                            full: object["full"] as? Bool ?? false)
    }
}

/// The outcome of one run, as recorded in `ops.job_run`.
public struct JobRunRecord: Sendable {
    public var runID: Int
    public var job: JobKind
    public var status: String
    public var rows: Int?
    public var error: String?
}

/// Runs jobs and records each run in `ops.job_run` (job, scheduled for, started, finished, status, rows,
/// error, instance, trigger).
///
/// A scheduled firing is claimed by inserting its `(schedule_id, scheduled_for)` row: the insert succeeds
/// for exactly one daemon, which runs it; the others see the conflict and skip. Thread-safety: `Sendable`.
public struct JobRunner: Sendable {
    public let pool: PostgresConnectionPool
    public let instance: String
    /// Server-side limits for each job's transactions (refresh, close-day, retention); nil: the session's.
    public let timeouts: PostgresTimeouts?
    private let logger: Logger

    public init(pool: PostgresConnectionPool, instance: String, timeouts: PostgresTimeouts? = nil,
                logger: Logger = Logger(label: "dealer-kpi.jobs")) {
        self.pool = pool
        self.instance = instance
        self.timeouts = timeouts
        self.logger = logger
    }

    private var refresher: SnapshotRefresher {
        var refresher = SnapshotRefresher(pool: pool, instance: instance, logger: logger)
        refresher.timeouts = timeouts
        return refresher
    }

    /// Runs a scheduled firing if no daemon has claimed it yet; nil when another daemon did.
    public func runFiring(job: JobKind, scheduleID: Int, scheduledFor: Date, trigger: JobTrigger, arguments: JobArguments = JobArguments()) async throws -> JobRunRecord? {
        let claimed = try await pool.query("""
            INSERT INTO ops.job_run (job, schedule_id, scheduled_for, trigger, arguments, instance)
            VALUES (\(job.rawValue), \(scheduleID), \(scheduledFor), \(trigger.rawValue), \(arguments.json)::jsonb, \(instance))
            ON CONFLICT (schedule_id, scheduled_for) DO NOTHING
            RETURNING run_id
            """)
        guard let row = claimed.first else { return nil }
        return try await execute(runID: row.decode(Int.self, column: 0), job: job, arguments: arguments)
    }

    /// Runs a job now (operator request, back-fill, notification).
    public func runNow(job: JobKind, trigger: JobTrigger, arguments: JobArguments = JobArguments()) async throws -> JobRunRecord {
        let runID = try await pool.query("""
            INSERT INTO ops.job_run (job, trigger, arguments, instance)
            VALUES (\(job.rawValue), \(trigger.rawValue), \(arguments.json)::jsonb, \(instance))
            RETURNING run_id
            """)[0].decode(Int.self, column: 0)
        return try await execute(runID: runID, job: job, arguments: arguments)
    }

    /// Marks as failed the runs left `running` by a daemon that died (kill -9, power loss): those of this
    /// instance name (a restarted daemon with a configured name: its earlier process is gone) and those of a
    /// `host:pid` instance on this host whose process no longer exists. Runs of other hosts' unnamed
    /// instances cannot be judged from here and are left alone. Their work rolled back with them (a refresh
    /// is one transaction) and later runs redo it; this only keeps `jobs history` truthful.
    /// Returns how many runs were marked.
    @discardableResult
    public func markAbandonedRuns() async throws -> Int {
        let host = ProcessInfo.processInfo.hostName
        let rows = try await pool.query("SELECT run_id, instance FROM ops.job_run WHERE status = 'running' AND instance IS NOT NULL")
        var abandoned: [Int] = []
        for row in rows {
            let (runID, runInstance) = try row.decode((Int, String).self)
            if runInstance == instance, instance != "\(host):\(getpid())" {
                abandoned.append(runID)  // our own name, from before this process started
            } else if runInstance.hasPrefix(host + ":"), let pid = Int32(runInstance.dropFirst(host.count + 1)), pid != getpid(),
                      kill(pid, 0) == -1, errno == ESRCH {
                abandoned.append(runID)
            }
        }
        guard !abandoned.isEmpty else { return 0 }
        let marked = try await pool.query("""
            UPDATE ops.job_run SET status = 'failed', finished_at = clock_timestamp(),
                   error = 'abandoned: the daemon running it stopped before it finished (its work was rolled back)'
            WHERE run_id = ANY(\(abandoned)) AND status = 'running'
            """).affectedRows
        logger.warning("marked runs of stopped daemons as failed", metadata: ["runs": "\(abandoned)"])
        return marked
    }

    /// Asks the daemons to run a job (HTTP, or `jobs run --async`): queued in `ops.job_request` and
    /// announced on `dealer_kpi_jobs`. Returns the request id.
    public func request(job: JobKind, arguments: JobArguments = JobArguments(), trigger: JobTrigger = .manual, requestedBy: String) async throws -> Int {
        let triggerName = trigger == .backfill ? "backfill" : "manual"
        return try await pool.withConnection { conn in
            try await conn.withTransaction { conn in
                let id = try conn.runQuery("""
                    INSERT INTO ops.job_request (job, arguments, trigger, requested_by)
                    VALUES (\(job.rawValue), \(arguments.json)::jsonb, \(triggerName), \(requestedBy))
                    RETURNING request_id
                    """)[0].decode(Int.self, column: 0)
                _ = try conn.runQuery("SELECT pg_notify('dealer_kpi_jobs', \(String(id)))")
                return id
            }
        }
    }

    /// Runs queued requests, each claimed by exactly one daemon (`FOR UPDATE SKIP LOCKED`).
    public func runRequestedJobs() async throws {
        let instance = self.instance
        while true {
            let claimed: (runID: Int, job: String, arguments: String)? = try await pool.withConnection { conn in
                try await conn.withTransaction { conn in
                    let rows = try conn.runQuery("""
                        SELECT request_id, job, arguments::text, trigger FROM ops.job_request
                        WHERE run_id IS NULL ORDER BY request_id LIMIT 1 FOR UPDATE SKIP LOCKED
                        """)
                    guard let row = rows.first else { return nil }
                    let (requestID, job, arguments, trigger) = try row.decode((Int, String, String, String).self)
                    let runID = try conn.runQuery("""
                        INSERT INTO ops.job_run (job, trigger, arguments, instance)
                        VALUES (\(job), \(trigger), \(arguments)::jsonb, \(instance)) RETURNING run_id
                        """)[0].decode(Int.self, column: 0)
                    _ = try conn.runQuery("UPDATE ops.job_request SET run_id = \(runID) WHERE request_id = \(requestID)")
                    return (runID, job, arguments)
                }
            }
            guard let claimed else { return }
            guard let job = JobKind(rawValue: claimed.job) else { continue }
            _ = try? await execute(runID: claimed.runID, job: job, arguments: JobArguments.parse(json: claimed.arguments))
        }
    }

    private func execute(runID: Int, job: JobKind, arguments: JobArguments) async throws -> JobRunRecord {
        let started = ContinuousClock.now
        do {
            let rows = try await perform(job, arguments: arguments)
            try await pool.query("""
                UPDATE ops.job_run SET status = 'succeeded', finished_at = clock_timestamp(), rows = \(rows) WHERE run_id = \(runID)
                """)
            JobMetrics.recordRun(job: job, status: "succeeded", duration: ContinuousClock.now - started)
            logger.info("job succeeded", metadata: ["job": "\(job.rawValue)", "run": "\(runID)", "rows": "\(rows)"])
            return JobRunRecord(runID: runID, job: job, status: "succeeded", rows: rows, error: nil)
        } catch {
            let message = Task.isCancelled
                ? "cancelled (daemon shutdown or request): rolled back, nothing changed; \(error)"
                : String(describing: error)
            // Also when the task was cancelled (a shutdown): the status must not stay 'running'.
            let pool = self.pool
            _ = try? await withoutCancellation {
                try await pool.query("""
                    UPDATE ops.job_run SET status = 'failed', finished_at = clock_timestamp(), error = \(message) WHERE run_id = \(runID)
                    """)
            }
            JobMetrics.recordRun(job: job, status: "failed", duration: ContinuousClock.now - started)
            logger.error("job failed", metadata: ["job": "\(job.rawValue)", "run": "\(runID)", "error": "\(message)"])
            throw error
        }
    }

    /// Does the work; returns a row count for the history.
    private func perform(_ job: JobKind, arguments: JobArguments) async throws -> Int {
        switch job {
        case .refresh:
            if let from = arguments.from {
                let to = arguments.to ?? from
                try await pool.query("""
                    INSERT INTO core.kpi_change (store_code, first_date, last_date, reason)
                    SELECT store_code, \(from), \(to), 'backfill' FROM core.store
                    """)
            }
            let summary = try await refresher.refresh(mode: arguments.full ? .full : .incremental)
            return summary.written + summary.superseded

        case .closeDay:
            // Expected store-days (open, inside the horizon, due) with no report: record them.
            let recorded = try await pool.query("""
                INSERT INTO ops.missing_report (store_code, business_date, due_at)
                SELECT s.store_code, d::date, core.due_at(d::date)
                FROM core.store s,
                     generate_series(coalesce(\(arguments.from), (SELECT min(business_date) FROM core.store_day_report)),
                                     coalesce(\(arguments.to), (SELECT max(business_date) FROM core.store_day_report)),
                                     interval '1 day') AS d
                WHERE d::date >= s.opened_on AND (s.closed_on IS NULL OR d::date < s.closed_on)
                  AND core.due_at(d::date) <= now()
                  AND NOT EXISTS (SELECT 1 FROM core.store_day_report r WHERE r.store_code = s.store_code AND r.business_date = d::date)
                ON CONFLICT DO NOTHING
                """).affectedRows
            try await pool.query("""
                UPDATE ops.missing_report m SET arrived_at = r.first_received_at
                FROM core.store_day_report r
                WHERE m.arrived_at IS NULL AND r.store_code = m.store_code AND r.business_date = m.business_date
                """)
            let summary = try await refresher.refresh(mode: .incremental)
            return recorded + summary.written

        case .retention:
            let history = try await pool.query("""
                DELETE FROM kpi.snapshot_history
                WHERE superseded_at < now() - make_interval(days => (SELECT value::int FROM core.setting WHERE key = 'snapshot_history_retention_days'))
                """).affectedRows
            let runs = try await pool.query("""
                DELETE FROM ops.job_run
                WHERE finished_at < now() - make_interval(days => (SELECT value::int FROM core.setting WHERE key = 'job_run_retention_days'))
                """).affectedRows
            let refreshRuns = try await pool.query("""
                DELETE FROM kpi.refresh_run r
                WHERE r.finished_at < now() - make_interval(days => (SELECT value::int FROM core.setting WHERE key = 'job_run_retention_days'))
                  AND NOT EXISTS (SELECT 1 FROM kpi.refresh_state s WHERE s.last_run_id = r.run_id)
                  AND NOT EXISTS (SELECT 1 FROM kpi.snapshot_history h WHERE h.superseded_by_run = r.run_id)
                """).affectedRows
            return history + runs + refreshRuns
        }
    }
}
