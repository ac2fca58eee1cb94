import DailyReport
import CivilCalendar
import CorpusGenerator
import Foundation
import LocalPostgres
import Postgres
import Warehouse

/// bench/aggregate: KPI snapshot refresh on 500 stores over one year.
///
/// Master data comes from the corpus generator (500 stores, their salespeople, models, plans, expenses).
/// The year of facts is written straight into the fact tables by SQL (`generate_series`, deterministic
/// shapes like the generator's: weekend peaks, capture ~75%, close ~15%, deliveries, payments, lost cards),
/// because pushing ~190,000 report files through ingest would take hours and this benchmark measures
/// aggregation, not ingest. Then, in the same run:
/// - the floor: one `GROUP BY` pass computing store-day visit counts from `core.visit`;
/// - a full rebuild (`SnapshotRefresher` full): goal <= 3x the floor;
/// - one new day of reports from every store through the real ingest path, then an incremental refresh:
///   goal <= 2% of the full rebuild;
/// - a month's league table of all stores from `bi` vs computed from the facts.
struct AggregateBenchmark {
    let workdir: URL
    let stores: Int
    let days: Int
    /// Stores per batch of the full rebuild (nil: the refresher's default).
    var batch: Int? = nil

    func run() async throws {
        let cluster = try BenchCluster.start(in: workdir)
        let admin = try await PostgresConnection.connect(cluster.configuration())
        _ = try? await admin.executeScript("DROP DATABASE IF EXISTS bench_aggregate")
        try await admin.executeScript("CREATE DATABASE bench_aggregate")
        await admin.close()
        let database = cluster.configuration(database: "bench_aggregate")
        let conn = try await PostgresConnection.connect(database)
        try await WarehouseSchema.migrator().migrate(on: conn)
        let pool = PostgresConnectionPool(configuration: database, options: .init(maximumConnections: 4))

        // Master data from the generator.
        let start = CalendarDate(year: 2025, month: 1, day: 1)!
        let corpusDir = workdir.appending(path: "aggregate-master-\(stores)")
        let config = CorpusConfiguration(stores: stores, days: days, seed: 99, startDate: start)
        _ = try SyntheticCorpus.generateMasterData(config, to: corpusDir.path)
        let master = MasterFileKind.allCases.map(\.rawValue).map { corpusDir.appending(path: "master/\($0).csv").path }
        for r in try await MasterDataLoader(pool: pool).load(paths: master) where !r.isAccepted {
            throw BenchError("master data rejected: \(r.rejection!)")
        }
        let end = start.adding(days: days - 1)
        try await SyntheticFacts.write(conn, from: start, through: end)
        let visits = try await conn.query("SELECT count(*) FROM core.visit")[0].decode(Int.self, column: 0)
        let cards = try await conn.query("SELECT count(*) FROM core.prospect_card")[0].decode(Int.self, column: 0)
        let orders = try await conn.query("SELECT count(*) FROM core.sales_order")[0].decode(Int.self, column: 0)
        try await conn.executeScript("VACUUM ANALYZE")
        print("aggregate: \(stores) stores, \(days) days: \(visits) visits, \(cards) cards, \(orders) orders")

        // The floor.
        var floors: [Double] = []
        for _ in 0..<3 {
            let t = Date()
            _ = try await conn.query("SELECT count(*) FROM (SELECT store_code, business_date, count(*), sum(walkin_group::int) FROM core.visit GROUP BY 1, 2) x")
            floors.append(Date().timeIntervalSince(t))
        }
        let floor = median(floors)

        // Full rebuild.
        var refresher = SnapshotRefresher(pool: pool, instance: "bench")
        if let batch { refresher.batchSize = batch }
        var t = Date()
        let full = try await refresher.refresh(mode: .full)
        let fullSeconds = Date().timeIntervalSince(t)
        let snapshotRows = try await conn.query("SELECT count(*) FROM kpi.snapshot")[0].decode(Int.self, column: 0)
        print("full rebuild: \(String(format: "%.1f", fullSeconds)) s, \(full.written) rows written; floor GROUP BY \(String(format: "%.2f", floor)) s")
        // A second floor for context: only writing the rows a full rebuild must store (the same rows into a
        // table with the same indexes), no computing.
        try await conn.executeScript("CREATE TEMP TABLE snapshot_copy (LIKE kpi.snapshot INCLUDING ALL)")
        t = Date()
        try await conn.executeScript("INSERT INTO snapshot_copy SELECT * FROM kpi.snapshot")
        let writeFloor = Date().timeIntervalSince(t)
        try await conn.executeScript("DROP TABLE snapshot_copy")
        print("write floor (the same \(snapshotRows) rows into a table with the same indexes): \(String(format: "%.1f", writeFloor)) s")

        // One new day from every store, through ingest.
        let newDay = end.adding(days: 1)
        let dayDir = workdir.appending(path: "aggregate-day")
        try? FileManager.default.removeItem(at: dayDir)
        try FileManager.default.createDirectory(at: dayDir, withIntermediateDirectories: true)
        let storeRows = try await conn.query("""
            SELECT s.store_code, array_to_string(array_agg(p.salesperson_code ORDER BY p.salesperson_code), ',')
            FROM core.store s JOIN core.salesperson p USING (store_code)
            WHERE s.opened_on <= \(newDay) AND (s.closed_on IS NULL OR s.closed_on > \(newDay))
              AND p.hired_on <= \(newDay) AND (p.left_on IS NULL OR p.left_on > \(newDay))
            GROUP BY s.store_code
            """)
        var paths: [String] = []
        for row in storeRows {
            let (store, people) = try row.decode((String, String).self)
            let sp = people.split(separator: ",").map(String.init)
            var visitsJSON: [String] = []
            for i in 0..<30 {
                visitsJSON.append("""
                    {"id": "N\(i)", "channel": "\(i % 5 == 0 ? "phone" : "walk_in")", "purpose": "purchase", "salesperson": "\(sp[i % sp.count])",
                     "model": null, "party_size": 2, "existing_card": null, "existing_order": false,
                     "new_card": \(i % 5 == 0 ? "\"NC-\(store)-\(i)\"" : "null"), "test_drive": \(i % 3 == 0)}
                    """)
            }
            let report = """
                {"format": "dealer-daily-report/1", "store": "\(store)", "business_date": "\(newDay)", "visits": [\(visitsJSON.joined(separator: ","))]}
                """
            let path = dayDir.appending(path: "\(store).json").path
            try Data(report.utf8).write(to: URL(fileURLWithPath: path))
            paths.append(path)
        }
        let ingestor = ReportIngestor(pool: pool, settings: IngestSettings(piiKey: Array("bench-key-0123456789abcdef".utf8)))
        let receivedAt = PostgresTimestamp.parse("\(newDay)T21:00:00+08:00")!
        for p in paths {
            let r = try await ingestor.ingest(path: p, receivedAt: receivedAt)
            if let rej = r.rejection { throw BenchError("new day rejected: \(rej)") }
        }
        t = Date()
        let incremental = try await refresher.refresh(mode: .incremental)
        let incrementalSeconds = Date().timeIntervalSince(t)
        print("incremental after one new day from \(paths.count) stores: \(String(format: "%.2f", incrementalSeconds)) s (\(incremental.storePeriods) store periods)")

        // League table: bi vs facts.
        let month = CalendarDate(year: end.year, month: end.month, day: 1)!
        let monthEnd = month.adding(months: 1).adding(days: -1)
        var bi: [Double] = []
        var facts: [Double] = []
        for _ in 0..<3 {
            t = Date()
            _ = try await conn.query("""
                SELECT store_code, value, rank FROM bi.kpi_values
                WHERE level = 'store' AND grain = 'month' AND period_start = \(month) AND kpi_code = 'CLOSE_RATE' ORDER BY rank
                """)
            bi.append(Date().timeIntervalSince(t))
            t = Date()
            _ = try await conn.query("""
                WITH traffic AS (SELECT store_code, sum((walkin_group OR phone_group)::int) AS traffic FROM core.visit
                                 WHERE business_date BETWEEN \(month) AND \(monthEnd) GROUP BY 1),
                     orders AS (SELECT store_code, count(*) AS orders FROM core.sales_order
                                WHERE order_date BETWEEN \(month) AND \(monthEnd) GROUP BY 1)
                SELECT t.store_code, o.orders::numeric / nullif(t.traffic, 0) AS close_rate,
                       rank() OVER (PARTITION BY s.region_code ORDER BY o.orders::numeric / nullif(t.traffic, 0) DESC NULLS LAST)
                FROM traffic t JOIN core.store s USING (store_code) LEFT JOIN orders o USING (store_code)
                """)
            facts.append(Date().timeIntervalSince(t))
        }
        await conn.close()
        await pool.shutdown()
        let fullRatio = fullSeconds / floor
        let incrementalRatio = incrementalSeconds / fullSeconds
        print(jsonLine([
            "bench": "aggregate", "stores": stores, "days": days, "visit_rows": visits, "cards": cards, "orders": orders,
            "snapshot_rows": snapshotRows,
            "floor_group_by_seconds": floor, "full_rebuild_seconds": fullSeconds,
            "full_vs_floor_ratio": (fullRatio * 100).rounded() / 100, "full_goal": "<= 3",
            "write_floor_seconds": writeFloor, "full_vs_write_floor_ratio": ((fullSeconds / writeFloor) * 100).rounded() / 100,
            "incremental_seconds": incrementalSeconds, "incremental_vs_full": (incrementalRatio * 10000).rounded() / 10000,
            "incremental_goal": "<= 0.02",
            "league_table_bi_seconds": median(bi), "league_table_facts_seconds": median(facts),
            "league_table_ratio_bi_vs_facts": ((median(bi) / median(facts)) * 1000).rounded() / 1000,
        ]))
    }
}

/// A year of facts written by SQL: deterministic, shaped like the generator's corpora.
enum SyntheticFacts {
    static func write(_ conn: PostgresConnection, from start: CalendarDate, through end: CalendarDate) async throws {
        try await conn.executeScript("""
            CREATE TEMP TABLE days AS
            SELECT s.store_code, d::date AS day, row_number() OVER () AS n
            FROM core.store s, generate_series(DATE '\(start)', DATE '\(end)', interval '1 day') d
            WHERE d::date >= s.opened_on AND (s.closed_on IS NULL OR d::date < s.closed_on);
            INSERT INTO core.ingested_file (file_id, file_name, checksum, form, encoding, received_at, row_count)
            VALUES (1, 'synthetic', 'synthetic', 'json', 'utf8', now(), 0);
            INSERT INTO core.store_day_report (store_code, business_date, current_version, current_received_at, first_received_at, due_at, on_time)
            SELECT store_code, day, 1, (day + time '21:00') AT TIME ZONE 'Asia/Shanghai', (day + time '21:00') AT TIME ZONE 'Asia/Shanghai',
                   core.due_at(day), true FROM days WHERE n % 97 <> 0;
            INSERT INTO core.report_submission (store_code, business_date, version, received_at, due_at, on_time, file_id, source_file, source_checksum, visit_rows)
            SELECT store_code, business_date, 1, first_received_at, due_at, true, 1, 'synthetic', 'synthetic', 0 FROM core.store_day_report;
            CREATE TEMP TABLE sub AS SELECT store_code, business_date, submission_id FROM core.report_submission;
            CREATE TEMP TABLE people AS
            SELECT store_code, array_agg(salesperson_code ORDER BY salesperson_code) AS codes FROM core.salesperson GROUP BY store_code;
            INSERT INTO core.visit (store_code, business_date, visit_id, channel, purpose, salesperson_code, model_code, party_size,
                                    existing_card, existing_order, new_card, test_drive, walkin_group, phone_group, revisit, submission_id)
            SELECT d.store_code, d.day, 'V' || i, CASE WHEN i % 6 = 0 THEN 'phone' WHEN i % 13 = 0 THEN 'event' ELSE 'walk_in' END,
                   CASE WHEN i % 11 = 0 THEN 'after_sales' ELSE 'purchase' END,
                   p.codes[1 + (i % array_length(p.codes, 1))], NULL, 2, NULL, i % 9 = 0, NULL, i % 3 = 0,
                   i % 6 <> 0 AND i % 13 <> 0 AND i % 11 <> 0 AND i % 9 <> 0, false, i % 9 = 0 AND i % 11 <> 0, s.submission_id
            FROM days d JOIN sub s ON s.store_code = d.store_code AND s.business_date = d.day
            JOIN people p ON p.store_code = d.store_code
            CROSS JOIN LATERAL generate_series(1, 18 + (d.n % 7) + CASE WHEN extract(isodow FROM d.day) >= 6 THEN 12 ELSE 0 END) AS i;
            INSERT INTO core.prospect_card (store_code, card_id, created_on, salesperson_code, model_code, level, source, status, closed_on,
                                            is_valid, state_business_date, state_received_at, state_sequence, submission_id)
            SELECT d.store_code, 'A-' || d.store_code || '-' || d.day || '-' || i, d.day, p.codes[1 + (i % array_length(p.codes, 1))], NULL, 'H', 'walk_in',
                   CASE WHEN i % 5 = 0 AND d.day + 20 <= DATE '\(end)' THEN 'ordered' WHEN i % 4 = 0 AND d.day + 10 <= DATE '\(end)' THEN 'lost' ELSE 'open' END,
                   CASE WHEN i % 5 = 0 AND d.day + 20 <= DATE '\(end)' THEN d.day + 20 WHEN i % 4 = 0 AND d.day + 10 <= DATE '\(end)' THEN d.day + 10 END,
                   i % 17 <> 0, d.day, now(), 0, s.submission_id
            FROM days d JOIN sub s ON s.store_code = d.store_code AND s.business_date = d.day
            JOIN people p ON p.store_code = d.store_code
            CROSS JOIN LATERAL generate_series(1, 14 + (d.n % 5)) AS i;
            INSERT INTO core.sales_order (store_code, order_id, card_id, salesperson_code, model_code, order_date, status, delivery_date, vin,
                                          list_price, deal_price, collected, state_business_date, state_received_at, state_sequence, submission_id)
            SELECT d.store_code, 'O-' || d.store_code || '-' || d.day || '-' || i, NULL, p.codes[1 + (i % array_length(p.codes, 1))],
                   (SELECT model_code FROM core.model ORDER BY model_code LIMIT 1), d.day,
                   CASE WHEN d.day + 14 <= DATE '\(end)' THEN 'delivered' ELSE 'ordered' END,
                   CASE WHEN d.day + 14 <= DATE '\(end)' THEN d.day + 14 END,
                   CASE WHEN d.day + 14 <= DATE '\(end)' THEN upper(substr(md5(d.store_code || d.day || i), 1, 17)) END,
                   159800.00, 152000.00 + i * 100, CASE WHEN d.day + 14 <= DATE '\(end)' THEN 152000.00 + i * 100 ELSE 5000.00 END,
                   d.day, now(), 0, s.submission_id
            FROM days d JOIN sub s ON s.store_code = d.store_code AND s.business_date = d.day
            JOIN people p ON p.store_code = d.store_code
            CROSS JOIN LATERAL generate_series(1, 2 + (d.n % 3)) AS i;
            SELECT setval('core.ingested_file_file_id_seq', 1);
            """)
    }
}
