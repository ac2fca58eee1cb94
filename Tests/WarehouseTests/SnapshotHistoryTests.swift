import Foundation
import Postgres
import Testing
import TestSupport
import Warehouse

// Restatement history, the run log, no-op refreshes and failed refreshes.
//
// Region R with stores S1 and S2 (open since 2020), salespeople S1-01 and S2-01. Reports: S1 on 2025-04-28
// (Mon, one walk-in) and 2025-05-02 (Fri, one walk-in), S2 on 2025-04-28 (one walk-in); later a correction of
// S1's 2025-04-28 with two walk-ins, received 2025-05-03 10:00.

enum SnapHistory {
    static let master: [(String, String)] = [
        ("regions.csv", "region_code,region_name\nR,大区\n"),
        ("stores.csv", "store_code,store_name,region_code,city,opened_on,closed_on\nS1,一店,R,,2020-01-01,\nS2,二店,R,,2020-01-01,\n"),
        ("salespeople.csv", "salesperson_code,name,store_code,hired_on,left_on\nS1-01,王强,S1,2020-01-01,\nS2-01,李娜,S2,2020-01-01,\n"),
        ("models.csv", "model_code,model_name\nM1,华驰 S50\n"),
    ]

    static func walkIns(_ store: String, _ date: String, _ n: Int) -> SnapReport {
        SnapReport(store: store, date: date, visits: (0..<n).map { SnapVisit(id: "V\($0)", salesperson: "\(store)-01") })
    }

    static func load(_ wh: SnapshotWarehouse) async throws {
        try await wh.load(master)
        try await wh.ingest(walkIns("S1", "2025-04-28", 1), receivedAt: "2025-04-28T21:00:00+08:00")
        try await wh.ingest(walkIns("S2", "2025-04-28", 1), receivedAt: "2025-04-28T21:00:00+08:00")
        try await wh.ingest(walkIns("S1", "2025-05-02", 1), receivedAt: "2025-05-02T21:00:00+08:00")
    }

    static let correction = walkIns("S1", "2025-04-28", 2)
    static let correctionReceived = "2025-05-03T10:00:00+08:00"

    /// What a refresh may change, to show a failed one changed nothing.
    static func state(_ wh: SnapshotWarehouse) async throws -> [String] {
        var out: [String] = []
        for t in ["kpi.snapshot", "kpi.snapshot_history", "kpi.sp_day", "kpi.sp_month", "kpi.refresh_state", "core.kpi_change"] {
            out.append("\(t) \(try await wh.fingerprint(t))")
        }
        return out
    }
}

@Suite("Snapshots: history, run log and failures")
struct SnapshotHistoryTests {
    @Test func aCorrectionOfAPastMonthKeepsTheSupersededRowsWithTheRunThatReplacedThem() async throws {
        try await SnapshotWarehouse.with { wh in
            try await SnapHistory.load(wh)
            let first = try await wh.refresh()
            #expect(first.mode == .full)   // nothing refreshed before: a full rebuild
            #expect(first.written > 0 && first.superseded == 0)

            // A second refresh with no changes writes nothing.
            let idle = try await wh.refresh()
            #expect(idle.mode == .incremental)
            #expect(idle.written == 0 && idle.superseded == 0 && idle.changeRowsConsumed == 0, "\(idle)")
            #expect(try await wh.int("SELECT count(*) FROM kpi.snapshot_history") == 0)

            try await wh.ingest(SnapHistory.correction, receivedAt: SnapHistory.correctionReceived)
            let restated = try await wh.refresh()
            #expect(restated.mode == .incremental)
            #expect(restated.superseded > 0)
            // Every period containing 04-28 is restated at S1, its salesperson, the region and the nation; the
            // history holds the old values with the run that replaced them. S1's store rows: walk-ins were
            // day 04-28: 1; week 04-28..05-04: 1 + 1 (05-02); April: 1; 2025-Q2: 1 + 1; 2025: 1 + 1.
            #expect(try await wh.strings("""
                SELECT grain || ' ' || period_start || ' ' || walkin_groups || ' ' || reports_corrected || ' ' || (superseded_by_run = \(restated.runID))
                FROM kpi.snapshot_history WHERE level = 'store' AND entity = 'S1'
                """).sorted() == [
                    "day 2025-04-28 1 0 true", "month 2025-04-01 1 0 true", "quarter 2025-04-01 2 0 true",
                    "week 2025-04-28 2 0 true", "year 2025-01-01 2 0 true",
                ])
            #expect(try await wh.strings("""
                SELECT level || ' ' || grain || ' ' || period_start || ' ' || entity FROM kpi.snapshot_history WHERE level <> 'store'
                """).sorted() == [
                    "national day 2025-04-28 ", "national month 2025-04-01 ", "national quarter 2025-04-01 ",
                    "national week 2025-04-28 ", "national year 2025-01-01 ",
                    "region day 2025-04-28 R", "region month 2025-04-01 R", "region quarter 2025-04-01 R",
                    "region week 2025-04-28 R", "region year 2025-01-01 R",
                    "salesperson day 2025-04-28 S1/S1-01", "salesperson month 2025-04-01 S1/S1-01",
                    "salesperson quarter 2025-04-01 S1/S1-01", "salesperson week 2025-04-28 S1/S1-01",
                    "salesperson year 2025-01-01 S1/S1-01",
                ])
            #expect(try await wh.int("SELECT count(*) FROM kpi.snapshot_history") == restated.superseded)
            #expect(try await wh.int("SELECT count(*) FROM kpi.snapshot_history WHERE superseded_by_run <> \(restated.runID)") == 0)
            // The current rows: restated ones written by that run, the others untouched (S1's May, S2).
            #expect(try await wh.string("""
                SELECT walkin_groups || ' ' || reports_corrected || ' ' || (run_id = \(restated.runID)) FROM kpi.snapshot
                WHERE level = 'store' AND grain = 'month' AND period_start = '2025-04-01' AND entity = 'S1'
                """) == "2 1 true")
            #expect(try await wh.string("""
                SELECT walkin_groups || ' ' || (run_id = \(first.runID)) FROM kpi.snapshot
                WHERE level = 'store' AND grain = 'month' AND period_start = '2025-05-01' AND entity = 'S1'
                """) == "1 true")
            #expect(try await wh.int("SELECT count(*) FROM kpi.snapshot WHERE store_code = 'S2' AND run_id <> \(first.runID)") == 0)

            let idleAgain = try await wh.refresh()
            #expect(idleAgain.written == 0 && idleAgain.superseded == 0, "\(idleAgain)")
            #expect(try await wh.int("SELECT count(*) FROM kpi.snapshot_history") == restated.superseded)

            // The run log: every run succeeded, with its mode, horizon and the rows it changed.
            let runs = try await wh.strings("""
                SELECT run_id || ' ' || mode || ' ' || status || ' ' || horizon_start || ' ' || horizon_end || ' ' || rows_changed
                       || ' ' || (finished_at IS NOT NULL) || ' ' || instance
                FROM kpi.refresh_run ORDER BY run_id
                """)
            #expect(runs == [
                "\(first.runID) full succeeded 2025-04-28 2025-05-02 \(first.written) true snapshot-tests",
                "\(idle.runID) incremental succeeded 2025-04-28 2025-05-02 0 true snapshot-tests",
                "\(restated.runID) incremental succeeded 2025-04-28 2025-05-02 \(restated.written + restated.superseded) true snapshot-tests",
                "\(idleAgain.runID) incremental succeeded 2025-04-28 2025-05-02 0 true snapshot-tests",
            ])
            #expect(try await wh.int("SELECT last_run_id FROM kpi.refresh_state") == idleAgain.runID)
        }
    }

    /// A statement of the refresh fails (a trigger refuses national rows, which are written last, after the
    /// store rows and the history of the same run): the run rolls back entirely and is logged as failed.
    @Test(arguments: [SnapshotRefresher.Mode.incremental, .full])
    func aFailedRefreshChangesNothing(_ mode: SnapshotRefresher.Mode) async throws {
        try await SnapshotWarehouse.with { wh in
            try await SnapHistory.load(wh)
            try await wh.refresh()
            try await wh.ingest(SnapHistory.correction, receivedAt: SnapHistory.correctionReceived)
            try await wh.db.executeScript("""
                CREATE FUNCTION public.snap_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'snapshot test refuses % % %', NEW.level, NEW.grain, NEW.period_start; END $$;
                CREATE TRIGGER snap_test_refuse BEFORE INSERT ON kpi.snapshot FOR EACH ROW
                WHEN (NEW.level = 'national') EXECUTE FUNCTION public.snap_test_refuse();
                """)
            let before = try await SnapHistory.state(wh)
            #expect(try await wh.int("SELECT count(*) FROM core.kpi_change") > 0)
            let runsBefore = try await wh.int("SELECT count(*) FROM kpi.refresh_run")

            await #expect(throws: (any Error).self) { try await wh.refresh(mode) }

            #expect(try await SnapHistory.state(wh) == before)
            #expect(try await wh.int("SELECT count(*) FROM kpi.refresh_run") == runsBefore + 1)
            let failed = try await wh.string("SELECT mode || ' ' || status || ' ' || (finished_at IS NOT NULL) FROM kpi.refresh_run ORDER BY run_id DESC LIMIT 1")
            #expect(failed == "\(mode.rawValue) failed true")
            #expect(try await wh.int("SELECT count(*) FROM kpi.refresh_run WHERE status = 'failed' AND error LIKE '%snapshot test refuses national%'") == 1)
            #expect(try await wh.int("SELECT count(*) FROM kpi.refresh_run WHERE status = 'running'") == 0)

            // Once the cause is gone, the next refresh applies the correction.
            try await wh.db.executeScript("DROP TRIGGER snap_test_refuse ON kpi.snapshot")
            try await wh.refresh()
            #expect(try await wh.int("SELECT count(*) FROM core.kpi_change") == 0)
            #expect(try await wh.int("""
                SELECT walkin_groups FROM kpi.snapshot WHERE level = 'national' AND grain = 'day' AND period_start = '2025-04-28'
                """) == 2 + 1)   // S1 corrected to 2, S2 1
        }
    }

    /// A change-log row naming a store master data does not know (it cannot come from a load, but the table
    /// has no foreign key) is consumed and changes nothing.
    @Test func aChangeForAnUnknownStoreIsHarmless() async throws {
        try await SnapshotWarehouse.with { wh in
            try await SnapHistory.load(wh)
            try await wh.refresh()
            let before = try await wh.fingerprint("kpi.snapshot")
            try await wh.db.executeScript("""
                INSERT INTO core.kpi_change (store_code, first_date, last_date, reason) VALUES
                    ('NOPE', '2025-04-01', NULL, 'visits'), ('NOPE', '2025-04-28', '2025-04-28', 'master')
                """)
            let s = try await wh.refresh()
            #expect(s.changeRowsConsumed == 2 && s.written == 0 && s.superseded == 0, "\(s)")
            #expect(try await wh.fingerprint("kpi.snapshot") == before)
            #expect(try await wh.int("SELECT count(*) FROM core.kpi_change") == 0)
            #expect(try await wh.int("SELECT count(*) FROM kpi.sp_day WHERE store_code = 'NOPE'") == 0)
        }
    }

    /// Two refreshes at once serialize on the advisory lock; both succeed and the result is the full rebuild's.
    @Test func concurrentRefreshesSerialize() async throws {
        try await SnapshotWarehouse.with(poolSize: 4) { wh in
            try await SnapHistory.load(wh)
            try await wh.refresh()
            try await wh.ingest(SnapHistory.correction, receivedAt: SnapHistory.correctionReceived)
            async let one = wh.refresh()
            async let two = wh.refresh()
            let (x, y) = try await (one, two)
            #expect(x.changeRowsConsumed + y.changeRowsConsumed > 0)
            #expect(min(x.written, y.written) == 0, "the second refresh found nothing left to do: \(x) \(y)")
            let incremental = try await wh.fingerprint("(SELECT level, grain, period_start, entity, walkin_groups, reports_corrected FROM kpi.snapshot)")
            let full = try await wh.refresh(.full)
            #expect(full.written == 0 && full.superseded == 0)
            #expect(try await wh.fingerprint("(SELECT level, grain, period_start, entity, walkin_groups, reports_corrected FROM kpi.snapshot)") == incremental)
        }
    }
}
