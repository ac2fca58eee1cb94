public import CivilCalendar
import Foundation
public import Logging
public import Postgres

/// How far a full rebuild is: `completed` of `total` steps, `step` names the one just finished.
public struct RefreshProgress: Sendable {
    public var completed: Int
    public var total: Int
    public var step: String
}

/// What one refresh did.
public struct RefreshSummary: Sendable {
    public var runID: Int
    public var mode: SnapshotRefresher.Mode
    public var horizon: ClosedRange<CalendarDate>?
    /// Store periods recomputed (store x grain x period).
    public var storePeriods: Int
    /// Snapshot rows replaced by a different value or removed (kept in the history).
    public var superseded: Int
    /// Snapshot rows written (new or changed).
    public var written: Int
    public var changeRowsConsumed: Int
}

/// Brings the KPI snapshots up to date.
///
/// Incremental mode consumes `core.kpi_change` (rows taken with `FOR UPDATE SKIP LOCKED`, deleted in the
/// same transaction), adds the days the horizon grew by and the store-days whose due time passed since the
/// last run, recomputes the daily fact aggregates of the changed store-days, then the salesperson and store
/// rows of every enclosing day, week, month, quarter and year, then region and national rows of those
/// periods. Full mode does the same for every store-day of the horizon in one pass (or in batches of
/// stores, see `batchSize`); progress is reported after each step. Both run in one transaction under an
/// advisory lock, so concurrent refreshes (several daemons) serialize and a failed run changes nothing;
/// superseded rows go to `kpi.snapshot_history`.
///
/// Thread-safety: `Sendable`.
public struct SnapshotRefresher: Sendable {
    public enum Mode: String, Sendable { case incremental, full }

    public let pool: PostgresConnectionPool
    public let instance: String
    private let logger: Logger
    /// Stores per batch in a full rebuild; nil (the default): every store in one pass.
    ///
    /// Each batch reads the fact and aggregate tables again (a batch's joins hash or scan them whole), so
    /// a batched rebuild grows with stores x facts. Batches only bound the temporary space a rebuild needs.
    public var batchSize: Int? = nil
    /// Server-side limits for the refresh transaction (`statement_timeout`...); nil: the session's own.
    public var timeouts: PostgresTimeouts? = nil

    static let lockKey: Int64 = 0x6B70_695F_7265_6672

    /// `instance` names this process in the run history (default: host name and pid).
    public init(pool: PostgresConnectionPool, instance: String? = nil, logger: Logger = Logger(label: "dealer-kpi.aggregate")) {
        self.pool = pool
        self.instance = instance ?? "\(ProcessInfo.processInfo.hostName):\(getpid())"
        self.logger = logger
    }

    /// Refreshes; `progress` is called after each step of a full rebuild (on the connection's thread); without
    /// it, a full rebuild logs each step.
    public func refresh(mode requested: Mode, progress: (@Sendable (RefreshProgress) -> Void)? = nil) async throws -> RefreshSummary {
        let instance = self.instance
        let batchSize = self.batchSize
        let logger = self.logger
        let timeouts = self.timeouts
        do {
            let summary = try await pool.withConnection { conn in
                try await conn.withTransaction(timeouts: timeouts) { conn in
                    try SnapshotRefresh(requested: requested, instance: instance, batchSize: batchSize, progress: progress, logger: logger).run(conn)
                }
            }
            logger.info("snapshots refreshed", metadata: [
                "run": "\(summary.runID)", "mode": "\(summary.mode.rawValue)", "store_periods": "\(summary.storePeriods)",
                "written": "\(summary.written)", "superseded": "\(summary.superseded)",
            ])
            return summary
        } catch {
            logger.error("snapshot refresh failed", metadata: ["error": "\(error)"])
            // The run's own row rolled back with it: record the failure separately, also when the task was
            // cancelled (a shutdown or a timeout): the record must not depend on the work having ended well.
            let pool = self.pool
            let message = Task.isCancelled ? "cancelled: rolled back, nothing changed; \(error)" : String(describing: error)
            _ = try? await withoutCancellation {
                try await pool.withConnection { conn in
                    try await conn.execute("""
                        INSERT INTO kpi.refresh_run (mode, status, finished_at, error, instance)
                        VALUES (\(requested.rawValue), 'failed', clock_timestamp(), \(message), \(instance))
                        """)
                }
            }
            throw error
        }
    }
}

/// One refresh inside its transaction, on the connection's thread.
struct SnapshotRefresh {
    let requested: SnapshotRefresher.Mode
    let instance: String
    let batchSize: Int?
    let progress: (@Sendable (RefreshProgress) -> Void)?
    let logger: Logger

    func run(_ conn: isolated PostgresConnection) throws -> RefreshSummary {
        _ = try conn.runQuery("SELECT pg_advisory_xact_lock(\(SnapshotRefresher.lockKey))")
        // The work tables are temporary, so the planner has no statistics for them and its row estimates
        // (generate_series x cross joins) run into the billions: that triggered JIT compilation costing
        // ~0.2-0.8 s per statement on a refresh of a handful of store-days. The statements are small set
        // operations; JIT never pays off here.
        _ = try conn.runQuery("SET LOCAL jit = off")
        // Every statement here is a bulk set operation over unanalyzed temporary tables and CTEs; with
        // their guessed row counts the planner chose nested loops between CTE scans (quadratic: a 20-store
        // rebuild took 30 s in one statement). Hash and merge joins are right for all of them.
        _ = try conn.runQuery("SET LOCAL enable_nestloop = off")
        // A batch sorts and hashes a few hundred MB at most; with the default 4 MB they spilled to disk
        // (an external merge of 41 MB for the daily aggregates of 25 stores). Local to this transaction.
        _ = try conn.runQuery("SET LOCAL work_mem = '256MB'")
        let runID = try conn.runQuery("""
            INSERT INTO kpi.refresh_run (mode, instance) VALUES (\(requested.rawValue), \(instance)) RETURNING run_id
            """)[0].decode(Int.self, column: 0)
        try conn.runScript(SnapshotSQL.createWorkTables)

        let horizonRow = try conn.runQuery(PostgresQuery(unsafeSQL: SnapshotSQL.horizon))[0]
        let (hs, he) = try horizonRow.decode((CalendarDate?, CalendarDate?).self)
        let state = try conn.runQuery("SELECT horizon_start, horizon_end, due_cutoff FROM kpi.refresh_state")[0]
        let (previousStart, previousEnd, previousCutoff) = try state.decode((CalendarDate?, CalendarDate?, Date?).self)

        var summary = RefreshSummary(runID: runID, mode: requested, horizon: nil, storePeriods: 0, superseded: 0, written: 0, changeRowsConsumed: 0)
        // Consume the change log (rows of loads still in flight are skipped and stay for the next run).
        try conn.runScript("""
            CREATE TEMP TABLE rf_consumed ON COMMIT DROP AS
            SELECT change_id, store_code, first_date, last_date, reason FROM core.kpi_change
            ORDER BY change_id FOR UPDATE SKIP LOCKED
            """)
        summary.changeRowsConsumed = try conn.runQuery("SELECT count(*) FROM rf_consumed")[0].decode(Int.self, column: 0)

        guard let hs, let he, hs <= he else {
            // Nothing accepted yet (or the configured start is after the data): no snapshot rows.
            try finishEmpty(conn, runID: runID)
            return summary
        }
        summary.horizon = hs...he
        _ = try conn.runQuery("INSERT INTO rf_horizon VALUES (\(hs), \(he), now(), \(runID), now())")

        var mode = requested
        if mode == .incremental, previousStart != hs || previousEnd == nil || previousEnd! > he {
            logger.info("the reporting horizon start moved: rebuilding everything", metadata: [
                "previous": "\(previousStart.map { "\($0)" } ?? "none")", "now": "\(hs)",
            ])
            mode = .full
        }
        summary.mode = mode

        if mode == .full {
            try runFull(conn, summary: &summary)
        } else {
            try runIncremental(conn, previousEnd: previousEnd!, previousCutoff: previousCutoff, summary: &summary)
        }

        _ = try conn.runQuery("DELETE FROM core.kpi_change WHERE change_id IN (SELECT change_id FROM rf_consumed)")
        _ = try conn.runQuery("""
            UPDATE kpi.refresh_state SET horizon_start = \(hs), horizon_end = \(he),
                   due_cutoff = (SELECT due_cutoff FROM rf_horizon), last_run_id = \(runID)
            """)
        _ = try conn.runQuery("""
            UPDATE kpi.refresh_run SET status = 'succeeded', finished_at = clock_timestamp(), horizon_start = \(hs),
                   horizon_end = \(he), due_cutoff = (SELECT due_cutoff FROM rf_horizon), store_days = \(summary.storePeriods),
                   rows_changed = \(summary.written + summary.superseded), mode = \(mode.rawValue)
            WHERE run_id = \(runID)
            """)
        _ = try conn.runQuery("SELECT pg_notify('dealer_kpi_snapshots', \(String(runID)))")
        return summary
    }

    private func runIncremental(_ conn: isolated PostgresConnection, previousEnd: CalendarDate, previousCutoff: Date?, summary: inout RefreshSummary) throws {
        try conn.runScript("""
            INSERT INTO rf_change (store_code, first_date, last_date, facts)
            SELECT store_code, first_date, last_date, reason IN ('visits', 'prospects', 'sales') FROM rf_consumed;
            """)
        // New days at the end of the horizon: every store (missing reports, stocks, employment).
        _ = try conn.runQuery("""
            INSERT INTO rf_change (store_code, first_date, last_date, facts)
            SELECT store_code, \(previousEnd.adding(days: 1)), h.he, false
            FROM core.store, rf_horizon h WHERE \(previousEnd.adding(days: 1)) <= h.he
            """)
        // Store-days whose report became due since the last run: their REPORTS_EXPECTED changes.
        if let previousCutoff {
            _ = try conn.runQuery("""
                INSERT INTO rf_change (store_code, first_date, last_date, facts)
                SELECT s.store_code, d::date, d::date, false
                FROM rf_horizon h, generate_series(h.hs, h.he, interval '1 day') AS d, core.store s
                WHERE core.due_at(d::date) > \(previousCutoff) AND core.due_at(d::date) <= h.due_cutoff
                """)
        }
        var steps = StepCounter.silent
        try runBatch(conn, mode: .incremental, summary: &summary, steps: &steps)
        _ = try conn.runQuery(PostgresQuery(unsafeSQL: SnapshotSQL.touchedRollupPeriods))
        try runRollups(conn, summary: &summary)
    }

    private func runFull(_ conn: isolated PostgresConnection, summary: inout RefreshSummary) throws {
        // Rows for periods that no longer overlap the horizon are superseded.
        try conn.runScript("""
            INSERT INTO kpi.snapshot_history
            SELECT s.*, h.run_id, now() FROM kpi.snapshot s, rf_horizon h WHERE s.period_end < h.hs OR s.period_start > h.he;
            DELETE FROM kpi.snapshot s USING rf_horizon h WHERE s.period_end < h.hs OR s.period_start > h.he;
            """)
        let stores = try conn.runQuery("SELECT store_code FROM core.store ORDER BY store_code").map { try $0.decode(String.self, column: 0) }
        let size = max(1, min(batchSize ?? stores.count, stores.count))
        let batches = stride(from: 0, to: stores.count, by: size).map { Array(stores[$0..<min($0 + size, stores.count)]) }
        var steps = StepCounter(total: batches.count * StepCounter.stepsPerBatch + 1, progress: progress, logger: logger)
        for batch in batches {
            try conn.runScript(SnapshotSQL.resetBatch)
            // Every day with facts of these stores, from their earliest fact (which may precede the horizon).
            _ = try conn.runQuery("""
                INSERT INTO rf_change (store_code, first_date, last_date, facts)
                SELECT s, least(h.hs,
                                (SELECT min(created_on) FROM core.prospect_card WHERE store_code = s),
                                (SELECT min(order_date) FROM core.sales_order WHERE store_code = s),
                                (SELECT min(business_date) FROM core.store_day_report WHERE store_code = s)),
                       NULL, true
                FROM unnest(\(batch)) AS s, rf_horizon h
                """)
            if batch.count == stores.count {
                // Refreshes serialize on the advisory lock and nothing else reads these tables.
                try conn.runScript("TRUNCATE kpi.sp_day, kpi.sp_month")
            } else {
                _ = try conn.runQuery("DELETE FROM kpi.sp_day WHERE store_code = ANY(\(batch))")
                _ = try conn.runQuery("DELETE FROM kpi.sp_month WHERE store_code = ANY(\(batch))")
            }
            try runBatch(conn, mode: .full, summary: &summary, steps: &steps)
        }
        _ = try conn.runQuery(PostgresQuery(unsafeSQL: SnapshotSQL.allRollupPeriods))
        try runRollups(conn, summary: &summary)
        steps.finished("region and national rows")
    }

    /// Recomputes everything rf_change names.
    private func runBatch(_ conn: isolated PostgresConnection, mode: SnapshotRefresher.Mode, summary: inout RefreshSummary,
                          steps: inout StepCounter) throws {
        // Statistics for the temporary work tables (autovacuum never analyzes them): without them the
        // planner hashes the whole calendar and sp_day for a change of one store-day.
        try conn.runScript("ANALYZE rf_horizon, rf_change")
        _ = try conn.runQuery(PostgresQuery(unsafeSQL: SnapshotSQL.expandFactDays))
        try conn.runScript("ANALYZE rf_fact_day")
        try conn.runScript(SnapshotSQL.recomputeSpDay)
        if mode == .full {
            // The aggregates were just rewritten wholesale (after a TRUNCATE their statistics say "empty"):
            // without fresh statistics the next statements planned for a few rows and ran 2-3x longer.
            try conn.runScript("ANALYZE kpi.sp_day, kpi.sp_month")
        }
        steps.finished("daily and monthly aggregates")
        try conn.runScript(SnapshotSQL.expandPeriods)
        try conn.runScript("ANALYZE rf_period, rf_stock")
        steps.finished("periods")
        // rf_stock is analyzed: a few stock dates read sp_day/sp_month through their keys.
        _ = try conn.runQuery("SET LOCAL enable_nestloop = on")
        _ = try conn.runQuery(PostgresQuery(unsafeSQL: SnapshotSQL.computeHeld))
        _ = try conn.runQuery("SET LOCAL enable_nestloop = off")
        steps.finished("held A-cards")
        _ = try conn.runQuery(PostgresQuery(unsafeSQL: SnapshotSQL.computeSalespersonRows))
        steps.finished("salesperson rows")
        _ = try conn.runQuery(PostgresQuery(unsafeSQL: SnapshotSQL.computeStoreRows))
        steps.finished("store rows")
        _ = try conn.runQuery(PostgresQuery(unsafeSQL: SnapshotSQL.scopeStorePeriods))
        summary.storePeriods += try conn.runQuery("SELECT count(*) FROM rf_period")[0].decode(Int.self, column: 0)
        try applyNewRows(conn, summary: &summary)
        steps.finished("salesperson and store rows stored")
    }

    private func runRollups(_ conn: isolated PostgresConnection, summary: inout RefreshSummary) throws {
        try conn.runScript(SnapshotSQL.computeRollupRows)
        try applyNewRows(conn, summary: &summary)
    }

    private func applyNewRows(_ conn: isolated PostgresConnection, summary: inout RefreshSummary) throws {
        try conn.runScript(SnapshotSQL.apply)
        summary.superseded += try conn.runQuery("SELECT count(*) FROM rf_gone")[0].decode(Int.self, column: 0)
        summary.written += try conn.runQuery(PostgresQuery(unsafeSQL: SnapshotSQL.insertNew)).affectedRows
    }

    private func finishEmpty(_ conn: isolated PostgresConnection, runID: Int) throws {
        try conn.runScript("""
            INSERT INTO kpi.snapshot_history SELECT s.*, \(runID), now() FROM kpi.snapshot s;
            DELETE FROM kpi.snapshot;
            DELETE FROM core.kpi_change WHERE change_id IN (SELECT change_id FROM rf_consumed);
            """)
        _ = try conn.runQuery("UPDATE kpi.refresh_run SET status = 'succeeded', finished_at = clock_timestamp() WHERE run_id = \(runID)")
    }
}

/// Counts the steps of a full rebuild and reports each: to the progress callback, else as a log line.
struct StepCounter {
    static let stepsPerBatch = 6
    /// For incremental refreshes: counts nothing, reports nothing.
    static let silent = StepCounter(total: 0, progress: nil, logger: nil)

    let total: Int
    let progress: (@Sendable (RefreshProgress) -> Void)?
    let logger: Logger?
    private(set) var completed = 0

    init(total: Int, progress: (@Sendable (RefreshProgress) -> Void)?, logger: Logger?) {
        self.total = total
        self.progress = progress
        self.logger = logger
    }

    mutating func finished(_ step: String) {
        guard total > 0 else { return }
        completed += 1
        if let progress {
            progress(RefreshProgress(completed: completed, total: total, step: step))
        } else {
            logger?.info("full rebuild progress", metadata: ["step": "\(completed)/\(total)", "done": "\(step)"])
        }
    }
}
