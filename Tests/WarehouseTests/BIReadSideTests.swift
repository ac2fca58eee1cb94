import DailyReport
import Foundation
import Glibc
import Postgres
import Testing
import TestSupport
import Warehouse

/// Issue 13's read side (sql/011): the named dimensions, the holiday-aware calendar and its master file, the
/// status of every expected store-day report, the KPI catalogue; every view commented in English and Chinese
/// and readable by a login in `kpi_reader`.
@Suite("bi read side: dimensions, calendar, report status, KPI catalogue")
struct BIReadSideTests {
    static let newViews = ["dim_region", "dim_store", "dim_salesperson", "dim_model", "calendar",
                           "report_status", "report_status_daily", "kpi_catalog"]

    /// The new views as an SQL list (constants).
    static let newViewList = newViews.map { "'\($0)'" }.joined(separator: ", ")

    static let calendar2026: URL? = SharedExamples.directory.map { $0.appending(path: "calendar/cn-2026.csv") }
        .flatMap { FileManager.default.fileExists(atPath: $0.path) ? $0 : nil }

    // MARK: dimensions and catalogue

    @Test func dimensionsShowNames() async throws {
        try await TestWarehouse.with { wh in
            #expect(try await wh.strings("SELECT region_code || ' ' || region_name FROM bi.dim_region") == ["EAST 华东大区"])
            #expect(try await wh.strings("""
                SELECT concat_ws(' ', store_code, store_name, coalesce(city, '-'), region_code, region_name, opened_on, coalesce(closed_on::text, '-'))
                FROM bi.dim_store ORDER BY store_code
                """) == ["S1 上海一号店 上海 EAST 华东大区 2020-01-01 -",
                         "S2 杭州二号店 杭州 EAST 华东大区 2020-01-01 -",
                         "S3 南京三号店 - EAST 华东大区 2026-03-10 -"])
            #expect(try await wh.strings("""
                SELECT concat_ws(' ', salesperson_code, salesperson_name, store_code, store_name, region_code, hired_on, coalesce(left_on::text, '-'))
                FROM bi.dim_salesperson ORDER BY salesperson_code
                """) == ["S1-01 王强 S1 上海一号店 EAST 2020-01-01 -", "S1-02 李娜 S1 上海一号店 EAST 2020-01-01 -",
                         "S2-01 赵敏 S2 杭州二号店 EAST 2020-01-01 -", "S3-01 钱坤 S3 南京三号店 EAST 2026-03-10 -"])
            #expect(try await wh.strings("SELECT concat_ws(' ', model_code, model_name, coalesce(segment, '-')) FROM bi.dim_model ORDER BY 1")
                    == ["M1 华驰 S50 紧凑型轿车", "M2 华驰 T55 紧凑型SUV", "M3 华驰 E30 -"])
            // A league table with names: the dimensions join the KPI views on their codes.
            try await wh.accept(Report(store: "S1", date: "2026-03-02", visits: [VisitRow(id: "V1")]), receivedAt: "2026-03-02T21:00:00+08:00")
            _ = try await SnapshotRefresher(pool: wh.pool, logger: TestPostgres.logger).refresh(mode: .full)
            #expect(try await wh.strings("""
                SELECT d.store_name || ' ' || d.region_name || ' ' || v.value
                FROM bi.kpi_values v JOIN bi.dim_store d USING (store_code)
                WHERE v.level = 'store' AND v.grain = 'month' AND v.period_start = DATE '2026-03-01' AND v.kpi_code = 'TRAFFIC'
                ORDER BY v.store_code
                """) == ["上海一号店 华东大区 1", "杭州二号店 华东大区 0"]) // S3 opens after the horizon's end
        }
    }

    @Test func kpiCatalogHasUnitsFormatsAndEveryKPI() async throws {
        try await TestWarehouse.with(masterData: false) { wh in
            #expect(try await wh.count("bi.kpi_catalog") == wh.count("kpi.catalog"))
            #expect(try await wh.count("bi.kpi_catalog", "unit IS NULL OR display_format IS NULL OR d3_format IS NULL OR name_zh = '' OR name_en = ''") == 0)
            #expect(try await wh.int("SELECT count(DISTINCT display_order) FROM bi.kpi_catalog") == wh.count("bi.kpi_catalog"))
            let rows = try await wh.strings("""
                SELECT concat_ws('|', kpi_code, name_zh, kind, unit, coalesce(direction, '-'), display_format, d3_format, coalesce(target::text, '-'))
                FROM bi.kpi_catalog WHERE kpi_code IN ('CLOSE_RATE', 'REVENUE', 'ORDERS', 'REPORTS_EXPECTED', 'UNITS_PER_SALESPERSON', 'AVG_DEAL_PRICE')
                ORDER BY display_order
                """)
            #expect(rows == ["ORDERS|订单数|measure|count|higher|#,##0|,d|-",
                             "REVENUE|销售收入|measure|CNY|higher|#,##0.00|,.2f|-",
                             "REPORTS_EXPECTED|应报日报数|measure|count|-|#,##0|,d|-",
                             "CLOSE_RATE|成交率|ratio|ratio|higher|0.0%|.1%|0.20",
                             "AVG_DEAL_PRICE|平均成交价|ratio|CNY|-|#,##0.00|,.2f|-",
                             "UNITS_PER_SALESPERSON|人均销量|ratio|units/person|higher|#,##0.0|,.1f|8"])
            // Every KPI bi.kpi_values can show is in the catalogue.
            #expect(try await wh.int("SELECT count(*) FROM bi.kpi_catalog WHERE kind NOT IN ('measure', 'ratio') OR direction NOT IN ('higher', 'lower')") == 0)
        }
    }

    // MARK: calendar

    @Test(.enabled(if: calendar2026 != nil, "shared/examples/calendar/cn-2026.csv not present"))
    func the2026CalendarFromTheSharedExample() async throws {
        try await TestWarehouse.with { wh in
            let changesBefore = try await wh.count("core.kpi_change")
            let results = try await wh.loader.load(paths: [Self.calendar2026!.path])
            let result = try #require(results.first)
            #expect(result.kind == .calendar)
            #expect(result.isAccepted, "\(String(describing: result.rejection))")
            #expect(result.changed == 39)
            #expect(try await wh.count("core.kpi_change") == changesBefore, "the calendar moves no KPI")

            func day(_ d: String) async throws -> String? {
                try await wh.string("""
                    SELECT concat_ws(' ', weekday, weekday_name_zh, weekday_name_en, is_weekend::text, is_holiday::text, is_working_day::text,
                                     coalesce(holiday_name_zh, '-'))
                    FROM bi.calendar WHERE day = \(d)::date
                    """)
            }
            #expect(try await day("2026-10-01") == "4 星期四 Thursday false true false 国庆节")
            #expect(try await day("2026-10-04") == "7 星期日 Sunday true true false 国庆节")
            // 调休: a Saturday worked.
            #expect(try await day("2026-10-10") == "6 星期六 Saturday true false true -")
            #expect(try await day("2026-10-09") == "5 星期五 Friday false false true -")
            #expect(try await day("2026-10-11") == "7 星期日 Sunday true false false -")
            #expect(try await day("2026-02-17") == "2 星期二 Tuesday false true false 春节")
            #expect(try await day("2026-02-28") == "6 星期六 Saturday true false true -")
            // October 2026: 22 weekdays, 5 of them holidays, 1 Saturday worked.
            #expect(try await wh.int("SELECT count(*) FROM bi.calendar WHERE is_working_day AND month_start = DATE '2026-10-01'") == 18)
            #expect(try await wh.int("SELECT count(*) FROM bi.calendar WHERE is_holiday AND year = 2026") == 33)
            #expect(try await wh.int("SELECT count(*) FROM bi.calendar WHERE exception_kind = 'workday' AND year = 2026") == 6)
            // Labels: ISO week across the year boundary, quarter, month.
            #expect(try await wh.string("SELECT concat_ws(' ', iso_year, iso_week, week_start, year, quarter, quarter_start, month, month_start) FROM bi.calendar WHERE day = DATE '2027-01-01'")
                    == "2026 53 2026-12-28 2027 1 2027-01-01 1 2027-01-01")
            // Identical re-load: nothing changes.
            #expect(try await wh.loader.load(paths: [Self.calendar2026!.path]).first?.changed == 0)
        }
    }

    @Test func reloadingReplacesTheListedDatesOnly() async throws {
        try await TestWarehouse.with(masterData: false) { wh in
            let first = try wh.write("cal-a.csv", "date,kind,name_zh\n2026-10-01,holiday,国庆\n2026-10-02,holiday,国庆节\n2026-10-10,workday,国庆节调休上班\n")
            #expect(try await wh.loader.load(paths: [first]).first?.changed == 3)
            // A second file: one date renamed, one changed from holiday to... a holiday on a weekend stays a weekend day.
            let second = try wh.write("cal-b.csv", "kind,date\nholiday,2026-10-01\nholiday,2026-10-03\n")
            let r = try #require(try await wh.loader.load(paths: [second]).first)
            #expect(r.isAccepted && r.kind == .calendar)
            #expect(r.changed == 2)
            #expect(try await wh.strings("SELECT day || ' ' || kind || ' ' || coalesce(name_zh, '-') FROM core.calendar_exception ORDER BY day")
                    == ["2026-10-01 holiday -", "2026-10-02 holiday 国庆节", "2026-10-03 holiday -", "2026-10-10 workday 国庆节调休上班"])
        }
    }

    @Test func aRejectedCalendarFileChangesNothing() async throws {
        try await TestWarehouse.with { wh in
            let good = try wh.write("cal.csv", "date,kind,name_zh\n2026-10-01,holiday,国庆节\n2026-10-10,workday,国庆节调休上班\n")
            #expect(try await wh.loader.load(paths: [good]).first?.isAccepted == true)
            let before = try await wh.coreFingerprint()

            let badKind = try wh.write("cal-bad.csv", "date,kind,name_zh\n2026-10-01,holiday,国庆\n2026-10-02,vacation,国庆节\n2026-10-03,holiday,国庆节\n")
            let r = try #require(try await wh.loader.load(paths: [badKind]).first)
            #expect(!r.isAccepted)
            #expect(r.changed == 0)
            let issue = try #require(r.rejection?.issues.first)
            #expect(r.rejection?.issues.count == 1)
            #expect(issue.file == "cal-bad.csv")
            #expect(issue.location == .line(3))
            #expect(issue.field == "kind")
            #expect(issue.value == "vacation")
            #expect(issue.rule == .enumValue)

            // A date the warehouse calendar does not hold: rejected by the loader, all or nothing.
            let outside = try wh.write("cal-1999.csv", "date,kind,name_zh\n2026-10-05,holiday,国庆节\n1999-12-31,holiday,千禧\n")
            let o = try #require(try await wh.loader.load(paths: [outside]).first)
            #expect(!o.isAccepted)
            #expect(o.rejection?.issues.map { "\($0.location) \($0.field ?? "-") \($0.rule)" } == ["\(InputLocation.line(3)) date \(Rule.range)"])

            #expect(try await wh.coreFingerprint() == before)
            #expect(try await wh.strings("SELECT day || ' ' || name_zh FROM core.calendar_exception ORDER BY day") == ["2026-10-01 国庆节", "2026-10-10 国庆节调休上班"])
        }
    }

    // MARK: report status

    @Test func reportStatusOnTimeLateMissingCorrectedDuplicated() async throws {
        try await TestWarehouse.with { wh in
            // 2 March: S1 on time (due 3 March 10:00 business time), S2 late by 90 minutes.
            try await wh.accept(Report(store: "S1", date: "2026-03-02", visits: [VisitRow(id: "V1")]), receivedAt: "2026-03-02T21:00:00+08:00")
            try await wh.accept(Report(store: "S2", date: "2026-03-02", visits: [VisitRow(id: "V1", salesperson: "S2-01")]),
                                receivedAt: "2026-03-03T11:30:00+08:00")
            // 3 March: S1 on time, then corrected (version 2; timeliness stays version 1's); S2 missing.
            try await wh.accept(Report(store: "S1", date: "2026-03-03", visits: [VisitRow(id: "V1")]), receivedAt: "2026-03-03T20:00:00+08:00")
            try await wh.accept(Report(store: "S1", date: "2026-03-03", visits: [VisitRow(id: "V1"), VisitRow(id: "V2")]),
                                receivedAt: "2026-03-04T12:00:00+08:00")
            // 4 March: S1 on time, re-sent identically twice (duplicates), then its sales section (completes version 1);
            // S2 missing. S3 opens on 10 March: no row before.
            let day4 = Report(store: "S1", date: "2026-03-04", visits: [VisitRow(id: "V1")])
            try await wh.accept(day4, receivedAt: "2026-03-04T20:00:00+08:00")
            try await wh.accept(day4, name: "resend-1.json", receivedAt: "2026-03-04T22:00:00+08:00")
            try await wh.accept(day4, name: "resend-2.json", receivedAt: "2026-03-05T08:00:00+08:00")
            try await wh.accept(Report(store: "S1", date: "2026-03-04", sales: [OrderRow(order: "O-1", orderDate: "2026-03-04")]),
                                receivedAt: "2026-03-05T09:00:00+08:00")

            let rows = try await wh.strings("""
                SELECT concat_ws(' ', store_code, region_code, business_date, status, is_expected::text,
                                 coalesce(to_char(first_received_at AT TIME ZONE 'Asia/Shanghai', 'MM-DD HH24:MI'), '-'),
                                 to_char(due_at AT TIME ZONE 'Asia/Shanghai', 'MM-DD HH24:MI'), coalesce((extract(epoch FROM late_by) / 60)::int || 'min', '-'),
                                 versions, duplicates, array_to_string(sections_received, '+'))
                FROM bi.report_status ORDER BY business_date, store_code
                """)
            #expect(rows == [
                "S1 EAST 2026-03-02 on_time true 03-02 21:00 03-03 10:00 - 1 0 visits",
                "S2 EAST 2026-03-02 late true 03-03 11:30 03-03 10:00 90min 1 0 visits",
                "S1 EAST 2026-03-03 on_time true 03-03 20:00 03-04 10:00 - 2 0 visits",
                "S2 EAST 2026-03-03 missing true - 03-04 10:00 - 0 0 ",
                "S1 EAST 2026-03-04 on_time true 03-04 20:00 03-05 10:00 - 1 2 visits+sales",
                "S2 EAST 2026-03-04 missing true - 03-05 10:00 - 0 0 ",
            ])

            #expect(try await wh.strings("""
                SELECT concat_ws(' ', business_date, region_code, region_name, expected, on_time, late, missing, not_due, received, corrected, duplicates, on_time_rate)
                FROM bi.report_status_daily ORDER BY business_date
                """) == ["2026-03-02 EAST 华东大区 2 1 1 0 0 2 0 0 0.5",
                         "2026-03-03 EAST 华东大区 2 1 0 1 0 1 1 0 0.5",
                         "2026-03-04 EAST 华东大区 2 1 0 1 0 1 0 2 0.5"])

            // The view counts what the snapshots count (REPORTS_EXPECTED, _ON_TIME, _RECEIVED, _CORRECTED per store-day).
            _ = try await SnapshotRefresher(pool: wh.pool, logger: TestPostgres.logger).refresh(mode: .full)
            let mismatches = try await wh.strings("""
                SELECT s.store_code || ' ' || s.period_start
                FROM kpi.snapshot s
                LEFT JOIN bi.report_status r ON r.store_code = s.store_code AND r.business_date = s.period_start
                WHERE s.level = 'store' AND s.grain = 'day'
                  AND (s.reports_expected, s.reports_on_time, s.reports_received, s.reports_corrected)
                      IS DISTINCT FROM (coalesce(r.is_expected::int, 0), coalesce((r.is_expected AND r.status = 'on_time')::int, 0),
                                        coalesce((r.versions > 0)::int, 0), coalesce((r.versions > 1)::int, 0))
                ORDER BY 1
                """)
            #expect(mismatches == [])
            #expect(try await wh.int("SELECT count(*) FROM kpi.snapshot WHERE level = 'store' AND grain = 'day'") >= 6)

            // Not due: with a due rule far in the future a day without a report is not yet expected.
            try await wh.db.executeScript("UPDATE core.setting SET value = '3650' WHERE key = 'due_days_after_business_date'")
            #expect(try await wh.strings("SELECT store_code || ' ' || business_date || ' ' || status || ' ' || is_expected::text FROM bi.report_status WHERE versions = 0 ORDER BY business_date, store_code")
                    == ["S2 2026-03-03 not_due false", "S2 2026-03-04 not_due false"])
            #expect(try await wh.strings("SELECT expected || ' ' || missing || ' ' || not_due FROM bi.report_status_daily ORDER BY business_date")
                    == ["2 0 0", "1 0 1", "1 0 1"])
        }
    }

    @Test func reportStatusFollowsTheHorizonAndStoreOpenings() async throws {
        try await TestWarehouse.with { wh in
            #expect(try await wh.count("bi.report_status") == 0, "no report yet: no horizon")
            try await wh.accept(Report(store: "S1", date: "2026-03-08", visits: [VisitRow(id: "V1")]), receivedAt: "2026-03-08T21:00:00+08:00")
            try await wh.accept(Report(store: "S1", date: "2026-03-11", visits: [VisitRow(id: "V1")]), receivedAt: "2026-03-11T21:00:00+08:00")
            // 8-11 March: S1 and S2 every day, S3 from its opening on the 10th.
            #expect(try await wh.strings("SELECT store_code || ' ' || count(*) || ' ' || min(business_date) FROM bi.report_status GROUP BY store_code ORDER BY store_code")
                    == ["S1 4 2026-03-08", "S2 4 2026-03-08", "S3 2 2026-03-10"])
            // A configured reporting start moves the horizon's start.
            try await wh.db.executeScript("UPDATE core.setting SET value = '2026-03-06' WHERE key = 'reporting_start_date'")
            #expect(try await wh.int("SELECT count(*) FROM bi.report_status WHERE store_code = 'S2'") == 6)
            #expect(try await wh.strings("SELECT DISTINCT status FROM bi.report_status WHERE store_code = 'S2'") == ["missing"])
        }
    }

    // MARK: comments and the reader

    @Test func everyNewViewAndColumnIsCommentedInEnglishAndChinese() async throws {
        try await TestWarehouse.with(masterData: false) { wh in
            let missing = try await wh.strings(PostgresQuery(unsafeSQL: """
                SELECT c.relname || coalesce('.' || a.attname, '') || ': ' || coalesce(d.description, 'NO COMMENT')
                FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'bi'
                LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                LEFT JOIN pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = coalesce(a.attnum, 0)
                WHERE c.relname IN (\(Self.newViewList))
                  AND (d.description IS NULL OR d.description !~ '[A-Za-z]' OR d.description !~ '[一-龥]')
                UNION ALL
                SELECT c.relname || ': NO VIEW COMMENT' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'bi'
                WHERE c.relname IN (\(Self.newViewList)) AND obj_description(c.oid, 'pg_class') IS NULL
                ORDER BY 1
                """))
            #expect(missing == [])
            #expect(try await wh.int(PostgresQuery(unsafeSQL: "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'bi' AND c.relkind = 'v' AND c.relname IN (\(Self.newViewList))"))
                    == Self.newViews.count)
        }
    }

    @Test func aReaderLoginSelectsAndReflectsEveryNewView() async throws {
        try await TestWarehouse.with { wh in
            try await wh.accept(Report(store: "S1", date: "2026-03-02", visits: [VisitRow(id: "V1")]), receivedAt: "2026-03-02T21:00:00+08:00")
            let cal = try wh.write("cal.csv", "date,kind,name_zh\n2026-10-01,holiday,国庆节\n")
            #expect(try await wh.loader.load(paths: [cal]).first?.isAccepted == true)

            try await wh.withReaderLogin { reader in
                for view in Self.newViews {
                    let n = try await reader.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM bi.\(PostgresQuery.quoteIdentifier(view))"))[0]
                        .decode(Int.self, column: 0)
                    #expect(n > 0, "bi.\(view) is empty for the reader")
                    // Reflection as SQLAlchemy does it: columns and their comments through the catalog.
                    let commented = try await reader.query(PostgresQuery(unsafeSQL: """
                        SELECT count(*), count(col_description(format('bi.%I', $1::text)::regclass, ordinal_position::int))
                        FROM information_schema.columns WHERE table_schema = 'bi' AND table_name = $1::text
                        """, bindings: [.text(view)]))[0].decode((Int, Int).self)
                    #expect(commented.0 > 0 && commented.0 == commented.1, "bi.\(view): \(commented)")
                }
                #expect(try await reader.query("SELECT is_holiday FROM bi.calendar WHERE day = DATE '2026-10-01'")[0].decode(Bool.self, column: 0))
                #expect(try await reader.query("SELECT status FROM bi.report_status WHERE store_code = 'S1'")[0].decode(String.self, column: 0) == "on_time")
                // Still nothing outside bi: the new core table is not the reader's.
                do {
                    _ = try await reader.query("SELECT * FROM core.calendar_exception")
                    Issue.record("the reader could read core.calendar_exception")
                } catch {
                    #expect((error as? PostgresError)?.sqlState == .insufficientPrivilege, "\(error)")
                }
            }
        }
    }
}
