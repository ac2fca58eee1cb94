import DailyReport
import Foundation
import Postgres
import Synchronization
import Testing
import TestSupport
import Warehouse

/// The ingest fast path (docs/ingest-performance.md): visits COPYed straight into core.visit from memory or,
/// past `IngestSettings.visitBufferRows`, from a second reading of the file; master data cached between files
/// under a version token; the card and order staging tables kept per connection.
@Suite("Ingest: fast path")
struct IngestFastPathTests {
    /// Visits of `days` days of `store`, `perDay` each, with every counting flag combination cycling.
    static func visitReports(store: String, salesperson: String, days: [String], perDay: Int, prefix: String = "V") -> [Report] {
        days.map { date in
            Report(store: store, date: date, visits: (1...perDay).map { n in
                VisitRow(id: "\(prefix)\(n)", channel: ["walk_in", "phone", "event"][n % 3], purpose: n % 5 == 0 ? "after_sales" : "purchase",
                         salesperson: salesperson, model: n % 4 == 0 ? nil : "M2", partySize: n % 3 + 1,
                         existingCard: n % 7 == 0 ? "A-OLD-\(n)" : nil, existingOrder: n % 11 == 0,
                         newCard: n % 2 == 0 ? "A-\(date)-\(n)" : nil, testDrive: n % 3 == 0)
            })
        }
    }

    /// The same multi-day CSV file stores the same visits whether its rows wait in memory (default) or are
    /// read a second time because the file exceeds the buffer (a buffer of 7 rows here); corrections and
    /// out-of-order late files behave the same on both paths.
    @Test func visitsReadTwiceWhenTheFileExceedsTheBufferStoreTheSameRows() async throws {
        try await TestWarehouse.with { wh in
            let small = ReportIngestor(pool: wh.pool, settings: IngestSettings(piiKey: TestWarehouse.piiKey, visitBufferRows: 7),
                                       logger: TestPostgres.logger)
            let days = ["2026-03-02", "2026-03-03", "2026-03-04"]
            func ingest(_ ingestor: ReportIngestor, _ name: String, _ reports: [Report], _ receivedAt: String) async throws -> IngestResult {
                let path = try wh.write(name, CSVFile.visits(reports))
                let r = try await ingestor.ingest(path: path, receivedAt: at(receivedAt))
                #expect(r.isAccepted, "\(name): \(String(describing: r.rejection))")
                return r
            }
            // First versions: 3 days x 10 rows (more than 7: the second reading) vs the default buffer.
            let twice = try await ingest(small, "s1.csv", Self.visitReports(store: "S1", salesperson: "S1-01", days: days, perDay: 10), "2026-03-04T21:00:00+08:00")
            let once = try await ingest(wh.ingestor, "s2.csv", Self.visitReports(store: "S2", salesperson: "S2-01", days: days, perDay: 10), "2026-03-04T21:00:00+08:00")
            #expect(twice.visitRows == 30 && once.visitRows == 30)
            #expect(twice.storeDays.map(\.version) == [1, 1, 1])
            // A correction of the 3rd with fewer rows replaces that day only.
            _ = try await ingest(small, "s1-fix.csv", Self.visitReports(store: "S1", salesperson: "S1-01", days: ["2026-03-03"], perDay: 8, prefix: "W"),
                                 "2026-03-05T09:00:00+08:00")
            _ = try await ingest(wh.ingestor, "s2-fix.csv", Self.visitReports(store: "S2", salesperson: "S2-01", days: ["2026-03-03"], perDay: 8, prefix: "W"),
                                 "2026-03-05T09:00:00+08:00")
            // A late file received before both (an out-of-order historical load): the stored visits of the 3rd and
            // the 4th were received later, so it takes no visits; it only records new versions.
            let late = try await ingest(small, "s1-late.csv", Self.visitReports(store: "S1", salesperson: "S1-01", days: ["2026-03-03", "2026-03-04"], perDay: 9, prefix: "X"),
                                        "2026-03-04T20:00:00+08:00")
            _ = try await ingest(wh.ingestor, "s2-late.csv", Self.visitReports(store: "S2", salesperson: "S2-01", days: ["2026-03-03", "2026-03-04"], perDay: 9, prefix: "X"),
                                 "2026-03-04T20:00:00+08:00")
            #expect(late.storeDays.map(\.version) == [3, 2])

            let s1 = try await factProjection(wh, store: "S1")
            let s2 = try await factProjection(wh, store: "S2")
            #expect(s1.count == 10 + 8 + 10)
            #expect(s1 == s2)
            #expect(try await wh.strings("""
                SELECT business_date || ' ' || count(*) || ' ' || min(visit_id) FROM core.visit WHERE store_code = 'S1'
                GROUP BY business_date ORDER BY 1
                """) == ["2026-03-02 10 V1", "2026-03-03 8 W1", "2026-03-04 10 V1"])
            // Every stored visit belongs to the submission of the file that supplied it.
            #expect(try await wh.int("""
                SELECT count(*) FROM core.visit v JOIN core.report_submission s USING (submission_id)
                WHERE v.store_code <> s.store_code OR v.business_date <> s.business_date
                   OR s.source_file NOT IN ('s1.csv', 's1-fix.csv', 's2.csv', 's2-fix.csv')
                """) == 0)
            #expect(try await wh.strings("""
                SELECT reason || ' ' || count(*) FROM core.kpi_change WHERE reason IN ('report', 'visits') AND store_code = 'S1'
                GROUP BY reason ORDER BY 1
                """) == ["report 6", "visits 4"])
        }
    }

    /// Master data is cached between files; every change, by `dealer-kpi load` or by plain SQL, reaches the next
    /// file's validation.
    @Test func masterDataChangesReachTheNextFile() async throws {
        try await TestWarehouse.with(poolSize: 1) { wh in
            let date = "2026-03-04"
            let report = Report(store: "S1", date: date, visits: [VisitRow(id: "V1", salesperson: "S1-09", model: "M9")])
            let first = try await wh.ingest(report, name: "a.json", receivedAt: "2026-03-04T21:00:00+08:00")
            #expect(Set(first.rejection?.issues.map(\.rule) ?? []) == [.unknownSalesperson, .unknownModel])

            // A new salesperson through the loader: still the unknown model.
            let salespeople = MasterFixture.salespeople.trimmingCharacters(in: .newlines) + "\nS1-09,孙丽,S1,2026-03-01,\n"
            let loaded = try await wh.loader.load(paths: [try wh.write("salespeople-2.csv", salespeople)])
            #expect(loaded.allSatisfy { $0.isAccepted })
            let second = try await wh.ingest(report, name: "b.json", receivedAt: "2026-03-04T21:00:00+08:00")
            #expect(second.rejection?.issues.map(\.rule) == [.unknownModel])

            // A new model by plain SQL: accepted.
            _ = try await wh.query("INSERT INTO core.model (model_code, model_name) VALUES ('M9', '华驰 X9')")
            let third = try await wh.ingest(report, name: "c.json", receivedAt: "2026-03-04T21:00:00+08:00")
            #expect(third.isAccepted, "\(String(describing: third.rejection))")

            // The store closes (plain SQL): the next day's report is rejected.
            _ = try await wh.query("UPDATE core.store SET closed_on = '2026-03-05' WHERE store_code = 'S1'")
            let closed = Report(store: "S1", date: "2026-03-05", visits: [VisitRow(id: "V1")])
            let fourth = try await wh.ingest(closed, name: "d.json", receivedAt: "2026-03-05T21:00:00+08:00")
            #expect(fourth.rejection?.issues.map(\.rule) == [.storeNotOpen])

            // Reloading identical master data changes nothing, not even the version token.
            let token = try await wh.string("SELECT token::text FROM core.reference_data_version")
            _ = try await wh.loader.load(paths: [try wh.write("models-again.csv", MasterFixture.models)])
            #expect(try await wh.string("SELECT token::text FROM core.reference_data_version") == token)
        }
    }

    /// The card and order staging tables live as long as the connection: a file rejected after its rows were
    /// staged, and a committed file, leave nothing behind for the next file on the same connection.
    @Test func stagingTablesStartEmptyForEveryFileOnTheSameConnection() async throws {
        try await TestWarehouse.with(poolSize: 1) { wh in
            let date = "2026-03-04"
            func sales(_ store: String, _ salesperson: String, _ orders: [(String, Int)]) -> [Report] {
                [Report(store: store, date: date, sales: orders.map { order, n in
                    OrderRow(order: order, salesperson: salesperson, orderDate: date, status: "delivered", deliveryDate: date,
                             vin: vin(n), collected: "152000.00")
                })]
            }
            let a = try await wh.ingest("a.csv", CSVFile.sales(sales("S1", "S1-01", [("OA1", 1), ("OA2", 2)])), receivedAt: "2026-03-04T21:00:00+08:00")
            #expect(a.isAccepted)
            // Staged, then rejected by the VIN check against stored orders.
            let b = try await wh.ingest("b.csv", CSVFile.sales(sales("S2", "S2-01", [("OB1", 3), ("OB2", 1)])), receivedAt: "2026-03-04T21:00:00+08:00")
            #expect(b.rejection?.issues.map(\.rule) == [.duplicateId])
            let c = try await wh.ingest("c.csv", CSVFile.sales(sales("S2", "S2-01", [("OC1", 4)])), receivedAt: "2026-03-04T21:00:00+08:00")
            #expect(c.isAccepted)
            let cards = Report(store: "S1", date: date, prospects: [CardRow(card: "K1", createdOn: date)])
            let d = try await wh.ingest("d.csv", CSVFile.prospects([cards]), receivedAt: "2026-03-04T21:00:00+08:00")
            #expect(d.isAccepted)
            let e = try await wh.ingest("e.csv", CSVFile.prospects([Report(store: "S2", date: date, prospects: [CardRow(card: "K2", createdOn: date, salesperson: "S2-01")])]),
                                        receivedAt: "2026-03-04T21:00:00+08:00")
            #expect(e.isAccepted)
            #expect(try await wh.strings("SELECT store_code || ' ' || order_id FROM core.sales_order ORDER BY 1") == ["S1 OA1", "S1 OA2", "S2 OC1"])
            #expect(try await wh.strings("SELECT store_code || ' ' || card_id FROM core.prospect_card ORDER BY 1") == ["S1 K1", "S2 K2"])
            #expect(try await wh.strings("""
                SELECT source_file || ' ' || coalesce(sale_rows, prospect_rows) FROM core.report_submission ORDER BY submission_id
                """) == ["a.csv 2", "c.csv 1", "d.csv 1", "e.csv 1"])
        }
    }

    /// A foreign-key check PostgreSQL planned while core.report_submission was tiny is a sequential scan, and
    /// the session keeps that plan as the table grows. The ingest has the session plan again once the warehouse
    /// has grown (sql/007), so a later file's visits are checked through the index: counted here as the
    /// sequential scans of core.report_submission inside that file's own transaction.
    @Test func foreignKeyChecksArePlannedAgainAsTheWarehouseGrows() async throws {
        try await TestWarehouse.with(poolSize: 1) { wh in
            // Statistics saying "empty" (an operator's VACUUM ANALYZE right after set-up): the planner then
            // sizes the table by its pages at planning time.
            try await wh.db.executeScript("VACUUM ANALYZE core.report_submission")
            final class Scans: Sendable { let count = Mutex(-1) }
            func ingest(_ name: String, _ days: [String], perDay: Int, scans: Scans? = nil) async throws {
                let path = try wh.write(name, CSVFile.visits(Self.visitReports(store: "S1", salesperson: "S1-01", days: days, perDay: perDay)))
                let r = try await wh.ingestor.ingest(path: path, receivedAt: at("2026-03-10T21:00:00+08:00")) { conn, _ in
                    let n = try conn.runQuery("SELECT pg_stat_get_xact_numscans('core.report_submission'::regclass)")[0].decode(Int.self, column: 0)
                    scans?.count.withLock { $0 = n }
                }
                #expect(r.isAccepted, "\(name): \(String(describing: r.rejection))")
            }
            // The first file: its 20 visit rows have the check planned (and cached) against a one-page table.
            try await ingest("first.csv", ["2026-03-02"], perDay: 20)
            // PostgreSQL 15 counts a session's not yet reported scans of earlier transactions as this transaction's:
            // report them now (the pool's one connection is the ingest's session).
            try await wh.pool.withConnection { conn in _ = try await conn.query("SELECT pg_stat_force_next_flush()") }
            // A back-fill's worth of submissions arrives without any statistics being updated.
            try await wh.db.executeScript("""
                INSERT INTO core.report_submission (store_code, business_date, version, received_at, due_at, on_time, file_id,
                                                    source_file, source_checksum, visit_rows)
                SELECT 'S2', date '2020-01-01' + i, 1, now(), now(), true, (SELECT min(file_id) FROM core.ingested_file), 'bulk.csv', 'x', 0
                FROM generate_series(1, 3000) i
                """)
            let scans = Scans()
            try await ingest("second.csv", ["2026-03-03"], perDay: 200, scans: scans)
            let seqScans = scans.count.withLock { $0 }
            // Stale plan: one scan of 3,000 submissions per visit row (>= 200). Replanned: the index (none).
            #expect(seqScans >= 0 && seqScans < 10, "sequential scans of core.report_submission while loading 200 visits: \(seqScans)")
        }
    }

    /// core.session_plans_outdated(): true once per new session, then only after the submissions have grown by
    /// more than a quarter and at least 64 since the last time it said so; per session.
    @Test func sessionPlansAreOutdatedOncePerQuarterOfGrowth() async throws {
        try await TestWarehouse.with { wh in
            func outdated(_ conn: PostgresConnection) async throws -> Bool {
                try await conn.query("SELECT core.session_plans_outdated()")[0].decode(Bool.self, column: 0)
            }
            func grow(to n: Int) async throws {
                _ = try await wh.db.query("SELECT setval('core.report_submission_submission_id_seq', \(n))")
            }
            #expect(try await outdated(wh.db) == true)
            #expect(try await outdated(wh.db) == false)
            try await grow(to: 64)
            #expect(try await outdated(wh.db) == false)
            try await grow(to: 65)
            #expect(try await outdated(wh.db) == true)
            try await grow(to: 10_000)
            #expect(try await outdated(wh.db) == true)
            try await grow(to: 12_500)
            #expect(try await outdated(wh.db) == false)
            try await grow(to: 12_501)
            #expect(try await outdated(wh.db) == true)
            // Another session has made no plans yet.
            let other = try await wh.pool.withConnection { conn in [try await outdated(conn), try await outdated(conn)] }
            #expect(other == [true, false])
            // A rolled-back transaction forgets the mark (one more replanning, nothing worse).
            try await grow(to: 20_000)
            try await wh.db.executeScript("BEGIN")
            #expect(try await outdated(wh.db) == true)
            try await wh.db.executeScript("ROLLBACK")
            #expect(try await outdated(wh.db) == true)
            #expect(try await outdated(wh.db) == false)
        }
    }
}
