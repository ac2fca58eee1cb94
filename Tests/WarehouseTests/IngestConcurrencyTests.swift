import DailyReport
import Foundation
import Postgres
import Testing
import TestSupport
import Warehouse

/// A 17-character VIN from `[A-HJ-NPR-Z0-9]`, distinct per `n`.
func vin(_ n: Int) -> String {
    let digits = String(n)
    return "LFV2A21K8G" + String(repeating: "0", count: 7 - digits.count) + digits
}

/// The advisory-lock key ingest uses for a store-day (ReportIngestor step 3).
func storeDayLock(_ store: String, _ date: String) -> PostgresQuery {
    "SELECT pg_advisory_lock(hashtextextended(\(store) || '/' || \(date), 7001))"
}

func storeDayUnlock(_ store: String, _ date: String) -> PostgresQuery {
    "SELECT pg_advisory_unlock(hashtextextended(\(store) || '/' || \(date), 7001))"
}

@Suite("Ingest: concurrency")
struct IngestConcurrencyTests {
    @Test func differentStoresIngestInParallel() async throws {
        try await TestWarehouse.with(poolSize: 4) { wh in
            var jobs: [(name: String, path: String, receivedAt: Date)] = []
            var n = 0
            for (store, salesperson, days) in [("S1", "S1-01", 2...7), ("S2", "S2-01", 2...7), ("S3", "S3-01", 10...12)] {
                for day in days {
                    n += 1
                    let date = "2026-03-\(day < 10 ? "0" : "")\(day)"
                    let report = Report(
                        store: store, date: date,
                        visits: (1...20).map { VisitRow(id: "V\($0)", channel: $0 % 4 == 0 ? "phone" : "walk_in", salesperson: salesperson,
                                                         newCard: $0 % 2 == 0 ? "A-\(date)-\($0)" : nil) },
                        prospects: (1...10).map { CardRow(card: "A-\(date)-\($0 * 2)", createdOn: date, salesperson: salesperson) },
                        sales: [OrderRow(order: "O-\(date)", salesperson: salesperson, orderDate: date, status: "delivered",
                                         deliveryDate: date, vin: vin(n), collected: "152000.00")])
                    let name = "\(store)_\(date).json"
                    jobs.append((name, try wh.write(name, report.json()), at("\(date)T21:30:00+08:00")))
                }
            }
            let ingestor = wh.ingestor
            let results = try await withThrowingTaskGroup(of: IngestResult.self) { group in
                for job in jobs {
                    group.addTask { try await ingestor.ingest(path: job.path, receivedAt: job.receivedAt) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.count == 15)
            for r in results { #expect(r.isAccepted, "\(r.file): \(String(describing: r.rejection))") }
            #expect(try await wh.strings("SELECT DISTINCT current_version::text FROM core.store_day_report") == ["1"])
            #expect(try await wh.count("core.store_day_report") == 15)
            #expect(try await wh.count("core.report_submission") == 15)
            #expect(try await wh.count("core.visit") == 15 * 20)
            #expect(try await wh.count("core.prospect_card") == 15 * 10)
            #expect(try await wh.count("core.sales_order", "status = 'delivered'") == 15)
            #expect(try await wh.strings("SELECT store_code || ' ' || count(*) FROM core.visit GROUP BY store_code ORDER BY 1") == ["S1 120", "S2 120", "S3 60"])
        }
    }

    @Test func twoIngestsOfTheSameStoreDaySerialize() async throws {
        try await TestWarehouse.with(poolSize: 4) { wh in
            let blocker = try await PostgresConnection.connect(wh.pool.configuration, logger: TestPostgres.logger)
            let ingestor = wh.ingestor
            for day in 2...4 {
                let date = "2026-03-0\(day)"
                let a = Report(store: "S1", date: date, visits: (1...3).map { VisitRow(id: "A\($0)") },
                               prospects: [CardRow(card: "KA", createdOn: date, level: "A")])
                let b = Report(store: "S1", date: date, visits: (1...5).map { VisitRow(id: "B\($0)", salesperson: "S1-02") },
                               prospects: [CardRow(card: "KB", createdOn: date, salesperson: "S1-02", level: "B")])
                let pathA = try wh.write("a_\(date).json", a.json())
                let pathB = try wh.write("b_\(date).json", b.json())
                let received = at("\(date)T21:30:00+08:00")
                // Hold the store-day so both ingests reach its lock before either can merge.
                _ = try await blocker.query(storeDayLock("S1", date))
                async let ra = ingestor.ingest(path: pathA, receivedAt: received)
                async let rb = ingestor.ingest(path: pathB, receivedAt: received)
                try await wh.waitForLockWaiters(2)
                _ = try await blocker.query(storeDayUnlock("S1", date))
                let (resultA, resultB) = try await (ra, rb)
                #expect(resultA.isAccepted && resultB.isAccepted)
                #expect(resultA.storeDays.map(\.version) == [1])
                #expect(resultB.storeDays.map(\.version) == [1])

                #expect(try await wh.string("SELECT current_version::text FROM core.store_day_report WHERE business_date = \(date)::date") == "1")
                #expect(try await wh.strings("SELECT version::text FROM core.report_submission WHERE business_date = \(date)::date") == ["1", "1"])
                let visits = try await wh.strings("SELECT visit_id FROM core.visit WHERE business_date = \(date)::date ORDER BY visit_id")
                #expect(visits == ["A1", "A2", "A3"] || visits == ["B1", "B2", "B3", "B4", "B5"], "\(visits)")
                // The visits belong to one submission, the one applied last; both cards were upserted.
                #expect(try await wh.int("SELECT count(DISTINCT submission_id) FROM core.visit WHERE business_date = \(date)::date") == 1)
                #expect(try await wh.strings("SELECT card_id || ' ' || level FROM core.prospect_card WHERE created_on = \(date)::date ORDER BY 1")
                        == ["KA A", "KB B"])
            }
            await blocker.close()
        }
    }

    /// A report of a later day and a late correction of an earlier day, for the same store, run at the same
    /// time: they lock different store-days, so only the state rule keeps the newer card and order.
    @Test func concurrentLateCorrectionNeverRevertsANewerState() async throws {
        try await TestWarehouse.with(poolSize: 4) { wh in
            let d1 = "2026-03-02", d2 = "2026-03-03"
            let blocker = try await PostgresConnection.connect(wh.pool.configuration, logger: TestPostgres.logger)
            let ingestor = wh.ingestor

            /// Ingests `day1`; then `day2` and a late re-send of `day1` (`late`) at once, both having read the
            /// stored state of `lockSQL`'s row before either writes.
            func race(_ name: String, day1: Report, day2: Report, late: Report, lockSQL: PostgresQuery) async throws {
                try await wh.accept(day1, name: "\(name)-1.json", receivedAt: "2026-03-02T21:30:00+08:00")
                let pathDay2 = try wh.write("\(name)-2.json", day2.json())
                let pathLate = try wh.write("\(name)-late.json", late.json())
                try await blocker.executeScript("BEGIN")
                _ = try await blocker.query(lockSQL)
                let newer = Task { try await ingestor.ingest(path: pathDay2, receivedAt: at("2026-03-03T21:30:00+08:00")) }
                try await wh.waitForLockWaiters(1)
                let older = Task { try await ingestor.ingest(path: pathLate, receivedAt: at("2026-03-04T09:00:00+08:00")) }
                try await wh.waitForLockWaiters(2)
                try await blocker.executeScript("COMMIT")
                let (rNew, rOld) = (try await newer.value, try await older.value)
                #expect(rNew.isAccepted && rOld.isAccepted)
                #expect(rOld.storeDays.map(\.version) == [2])
            }

            // A card: closed as lost on the 3rd; the late re-send of the 2nd still has it open.
            let cardDay1 = Report(store: "S1", date: d1, prospects: [CardRow(card: "K", createdOn: d1, level: "H")])
            let cardDay2 = Report(store: "S1", date: d2, prospects: [CardRow(card: "K", createdOn: d1, status: "lost", closedOn: d2, lostReason: "买了别家")])
            var cardLate = cardDay1
            cardLate.prospects![0].level = "C"
            try await race("card", day1: cardDay1, day2: cardDay2, late: cardLate,
                           lockSQL: "SELECT 1 FROM core.prospect_card WHERE card_id = 'K' FOR UPDATE")
            let card = try await wh.string("SELECT status || ' ' || level || ' @' || state_business_date FROM core.prospect_card WHERE card_id = 'K'")
            #expect(card == "lost H @2026-03-03")

            // An order: cancelled on the 3rd; the late re-send of the 2nd still has it ordered.
            let orderDay1 = Report(store: "S2", date: d1, sales: [OrderRow(order: "Q", salesperson: "S2-01", orderDate: d1, collected: "5000")])
            let orderDay2 = Report(store: "S2", date: d2, sales: [OrderRow(order: "Q", salesperson: "S2-01", orderDate: d1, status: "cancelled",
                                                                           cancelDate: d2, collected: "0")])
            var orderLate = orderDay1
            orderLate.sales![0].collected = "8000"
            try await race("order", day1: orderDay1, day2: orderDay2, late: orderLate,
                           lockSQL: "SELECT 1 FROM core.sales_order WHERE order_id = 'Q' FOR UPDATE")
            let order = try await wh.string("SELECT status || ' ' || collected || ' @' || state_business_date FROM core.sales_order WHERE order_id = 'Q'")
            #expect(order == "cancelled 0.00 @2026-03-03")
            await blocker.close()
        }
    }

    /// Two stores deliver orders with the same VIN at the same time: one is accepted, the other rejected
    /// with `duplicate_id` (not an infrastructure error from the unique index).
    @Test func concurrentDuplicateVINIsARejection() async throws {
        try await TestWarehouse.with(poolSize: 4) { wh in
            let date = "2026-03-03"
            func delivery(_ store: String, _ salesperson: String) -> Report {
                Report(store: store, date: date, sales: [
                    OrderRow(order: "O-\(store)", salesperson: salesperson, orderDate: date, status: "delivered", deliveryDate: date,
                             vin: vin(4242), collected: "152000.00"),
                ])
            }
            let pathS2 = try wh.write("s2.json", delivery("S2", "S2-01").json())
            let blocker = try await PostgresConnection.connect(wh.pool.configuration, logger: TestPostgres.logger)
            // S2's ingest checks the VIN (none stored yet) and then waits for its store-day ...
            _ = try await blocker.query(storeDayLock("S2", date))
            let ingestor = wh.ingestor
            let s2 = Task { try await ingestor.ingest(path: pathS2, receivedAt: at("2026-03-03T21:30:00+08:00")) }
            try await wh.waitForLockWaiters(1)
            // ... while S1 stores the same VIN.
            let s1 = try await wh.ingest(delivery("S1", "S1-01"), receivedAt: "2026-03-03T21:30:00+08:00")
            #expect(s1.isAccepted)
            let before = try await wh.coreFingerprint()
            _ = try await blocker.query(storeDayUnlock("S2", date))
            let result = try await s2.value
            let issue = try #require(result.rejection?.issues.first, "expected S2's file to be rejected")
            #expect(issue.rule == .duplicateId)
            #expect(issue.field == "vin")
            #expect(issue.value == vin(4242))
            #expect(issue.location == .jsonPath("$.sales[0].vin"))
            #expect(try await wh.coreFingerprint() == before)
            await blocker.close()
        }
    }
}
