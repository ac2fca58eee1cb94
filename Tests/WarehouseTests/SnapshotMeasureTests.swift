import Foundation
import Postgres
import Testing
import TestSupport
import Warehouse

// Every measure and ratio at every level and grain on a tiny network, worked out by hand.
//
// Regions N (stores A1, A2) and S (store B1), open since 2020. Salespeople A1-01, A1-02 (A1), A2-01 (A2),
// B1-01 (B1) since 2020, and MV hired 2025-06-01 at A1, moved to A2 by a master-data reload on 2025-12-30.
// Reports (business date, receipt time +08:00; due time is the next day 10:00):
//   A2 2025-12-22 @12-22 21:00   A1 2025-12-22 @12-22 21:30   B1 2025-12-22 @12-23 09:00
//   A1 2025-12-29 @12-30 11:00 (late)                        B1 2025-12-31 @12-31 20:00
//   A2 2026-01-02 @01-02 21:00   A1 2026-01-05 @01-05 21:30 + correction @01-06 15:00   A1 2026-01-06 @01-06 21:30
// Horizon 2025-12-22 (Mon) .. 2026-01-06 (Tue): 16 days; ISO weeks 2025-12-22, 2025-12-29 (to 2026-01-04,
// spanning the new year) and 2026-01-05; months Dec and Jan; quarters 2025-Q4 and 2026-Q1; years 2025, 2026.
// Every store-day without a report is missing (expected, not received): A1 has reports on 4 of its 16 days.
//
// The facts, per salesperson and day, final state:
//   A1-01 12-22: walk-in V1 (new valid card K1, test drive), phone V2 (new card K2, invalid name 王先生),
//                revisit V4 (existing card, test drive); order O1 (list 200000, deal 190000).
//                01-05: revisit V1 (existing order), walk-in V2; K1 closed (ordered); O1 delivered, collected
//                150000, restated to 190000 by the 01-06 report (a later payment).
//   A1-02 12-22: walk-in V3, new valid card K3; an event contact without card and an after-sales visit (not
//                traffic). 12-29: walk-in with test drive. K3 lost on 12-30, reported only on 01-05 (closed late).
//                01-05: phone contact without card, corrected to a walk-in; O4 ordered and delivered (no list
//                price, deal 95000, collected 95000).
//   MV    12-22 at A1: walk-in, order O2 (open). 01-02 at A2 (after the move): walk-in with test drive, new card KA1.
//   A2-01 12-22: two walk-ins (one test drive); A2-O1 ordered and delivered (no list price, 80000, collected).
//   B1-01 12-22: new valid card KB1 with no visit at all (capture rate numerator 1, denominator 0).
//                12-31: two walk-ins (one with test drive and new card KB2), KB1 lost, B1-O1 ordered and cancelled.
// Held valid cards: K1 12-22..01-04, K3 12-22..12-29, KA1 from 01-02, KB1 12-22..12-30, KB2 from 12-31.
// Plans: A1 has salesperson PLAN_DELIVERIES only (Nov A1-01 1; Dec A1-01 2 + A1-02 1; Jan A1-01 1; Feb A1-01 3),
// A1-01 PLAN_NEW_A_CARDS Dec 3, A1 EXPENSE_BUDGET Dec and Jan 10000; A2 Dec own row 5 and A2-01 row 2 (the own
// row wins), PLAN_REVENUE 100000; B1 EXPENSE_BUDGET Dec 5000. Expenses: A1 Dec 11000, Jan 9000; B1 Dec 5000.

enum SnapNetwork {
    static let regions = """
        region_code,region_name
        N,北区
        S,南区

        """
    static let stores = """
        store_code,store_name,region_code,city,opened_on,closed_on
        A1,北区一店,N,北京,2020-01-01,
        A2,北区二店,N,天津,2020-01-01,
        B1,南区一店,S,广州,2020-01-01,

        """
    static func salespeople(moverStore: String) -> String {
        """
        salesperson_code,name,store_code,hired_on,left_on
        A1-01,王强,A1,2020-01-01,
        A1-02,李娜,A1,2020-01-01,
        A2-01,赵敏,A2,2020-01-01,
        B1-01,钱坤,B1,2020-01-01,
        MV,孙磊,\(moverStore),2025-06-01,

        """
    }
    static let models = """
        model_code,model_name,segment
        M1,华驰 S50,紧凑型轿车
        M2,华驰 T55,紧凑型SUV

        """
    static let plans = """
        month,store_code,salesperson_code,kpi,value
        2025-11,A1,A1-01,PLAN_DELIVERIES,1
        2025-12,A1,A1-01,PLAN_DELIVERIES,2
        2025-12,A1,A1-02,PLAN_DELIVERIES,1
        2026-01,A1,A1-01,PLAN_DELIVERIES,1
        2026-02,A1,A1-01,PLAN_DELIVERIES,3
        2025-12,A1,A1-01,PLAN_NEW_A_CARDS,3
        2025-12,A1,,EXPENSE_BUDGET,10000
        2026-01,A1,,EXPENSE_BUDGET,10000
        2025-12,A2,,PLAN_DELIVERIES,5
        2025-12,A2,A2-01,PLAN_DELIVERIES,2
        2025-12,A2,,PLAN_REVENUE,100000
        2025-12,B1,,EXPENSE_BUDGET,5000

        """
    static let expenses = """
        month,store_code,amount
        2025-12,A1,11000.00
        2026-01,A1,9000.00
        2025-12,B1,5000.00

        """

    static let a1Dec22 = SnapReport(store: "A1", date: "2025-12-22", visits: [
        SnapVisit(id: "V1", salesperson: "A1-01", newCard: "K1", testDrive: true),
        SnapVisit(id: "V2", channel: "phone", salesperson: "A1-01", newCard: "K2"),
        SnapVisit(id: "V3", salesperson: "A1-02"),
        SnapVisit(id: "V4", salesperson: "A1-01", existingCard: "K0", testDrive: true),
        SnapVisit(id: "V5", channel: "event", salesperson: "A1-02"),
        SnapVisit(id: "V6", purpose: "after_sales", salesperson: "A1-02"),
        SnapVisit(id: "V7", salesperson: "MV"),
    ], prospects: [
        SnapCard(card: "K1", createdOn: "2025-12-22", salesperson: "A1-01"),
        SnapCard(card: "K2", createdOn: "2025-12-22", salesperson: "A1-01", name: "王先生"),
        SnapCard(card: "K3", createdOn: "2025-12-22", salesperson: "A1-02", phone: "13812345678"),
    ], sales: [
        SnapOrder(order: "O1", salesperson: "A1-01", orderDate: "2025-12-22", listPrice: "200000", dealPrice: "190000", collected: "10000"),
        SnapOrder(order: "O2", salesperson: "MV", orderDate: "2025-12-22", listPrice: "105000", dealPrice: "100000"),
    ])
    static let a2Dec22 = SnapReport(store: "A2", date: "2025-12-22", visits: [
        SnapVisit(id: "V1", salesperson: "A2-01", testDrive: true),
        SnapVisit(id: "V2", salesperson: "A2-01", model: "M2"),
    ], sales: [
        SnapOrder(order: "A2-O1", salesperson: "A2-01", orderDate: "2025-12-22", status: "delivered", deliveryDate: "2025-12-22",
                  vin: "LFV2A21K8G3000011", dealPrice: "80000", collected: "80000"),
    ])
    static let b1Dec22 = SnapReport(store: "B1", date: "2025-12-22", visits: [], prospects: [
        SnapCard(card: "KB1", createdOn: "2025-12-22", salesperson: "B1-01", phone: "13700001111"),
    ])
    static let a1Dec29 = SnapReport(store: "A1", date: "2025-12-29", visits: [
        SnapVisit(id: "V1", salesperson: "A1-02", testDrive: true),
    ])
    static let b1Dec31 = SnapReport(store: "B1", date: "2025-12-31", visits: [
        SnapVisit(id: "V1", salesperson: "B1-01"),
        SnapVisit(id: "V2", salesperson: "B1-01", newCard: "KB2", testDrive: true),
    ], prospects: [
        SnapCard(card: "KB2", createdOn: "2025-12-31", salesperson: "B1-01", phone: "13700002222"),
        SnapCard(card: "KB1", createdOn: "2025-12-22", salesperson: "B1-01", phone: "13700001111", status: "lost", closedOn: "2025-12-31"),
    ], sales: [
        SnapOrder(order: "B1-O1", salesperson: "B1-01", orderDate: "2025-12-31", status: "cancelled", cancelDate: "2025-12-31",
                  dealPrice: "120000"),
    ])
    static let a2Jan02 = SnapReport(store: "A2", date: "2026-01-02", visits: [
        SnapVisit(id: "V1", salesperson: "MV", newCard: "KA1", testDrive: true),
    ], prospects: [
        SnapCard(card: "KA1", createdOn: "2026-01-02", salesperson: "MV", phone: "13600003333"),
    ])
    static func a1Jan05(correctedV3: Bool) -> SnapReport {
        SnapReport(store: "A1", date: "2026-01-05", visits: [
            SnapVisit(id: "V1", salesperson: "A1-01", existingOrder: true),
            SnapVisit(id: "V2", salesperson: "A1-01"),
            SnapVisit(id: "V3", channel: correctedV3 ? "walk_in" : "phone", salesperson: "A1-02"),
        ], prospects: correctedV3 ? nil : [
            SnapCard(card: "K1", createdOn: "2025-12-22", salesperson: "A1-01", status: "ordered", closedOn: "2026-01-05"),
            SnapCard(card: "K3", createdOn: "2025-12-22", salesperson: "A1-02", phone: "13812345678", status: "lost", closedOn: "2025-12-30"),
        ], sales: correctedV3 ? nil : [
            SnapOrder(order: "O1", salesperson: "A1-01", orderDate: "2025-12-22", status: "delivered", deliveryDate: "2026-01-05",
                      vin: "LFV2A21K8G3000012", listPrice: "200000", dealPrice: "190000", collected: "150000"),
            SnapOrder(order: "O4", salesperson: "A1-02", model: "M2", orderDate: "2026-01-05", status: "delivered", deliveryDate: "2026-01-05",
                      vin: "LFV2A21K8G3000013", dealPrice: "95000", collected: "95000"),
        ])
    }
    static let a1Jan06 = SnapReport(store: "A1", date: "2026-01-06", visits: [], sales: [
        SnapOrder(order: "O1", salesperson: "A1-01", orderDate: "2025-12-22", status: "delivered", deliveryDate: "2026-01-05",
                  vin: "LFV2A21K8G3000012", listPrice: "200000", dealPrice: "190000", collected: "190000"),
    ])

    static func loadMaster(_ wh: SnapshotWarehouse) async throws {
        try await wh.load([("plans.csv", plans), ("expenses.csv", expenses), ("salespeople.csv", salespeople(moverStore: "A1")),
                           ("models.csv", models), ("stores.csv", stores), ("regions.csv", regions)])
    }
}

@Suite("Snapshots: every measure and ratio, by hand")
struct SnapshotMeasureTests {
    /// Ingests the network step by step with an incremental refresh after every step (checking what each step
    /// must change), then checks every level and grain; a full rebuild afterwards changes nothing.
    @Test func everyMeasureAndRatioAtEveryLevelAndGrain() async throws {
        try await SnapshotWarehouse.with { wh in
            try await SnapNetwork.loadMaster(wh)
            let empty = try await wh.refresh()
            #expect(empty.horizon == nil)
            #expect(try await wh.int("SELECT count(*) FROM kpi.snapshot") == 0)

            try await wh.ingest(SnapNetwork.a2Dec22, receivedAt: "2025-12-22T21:00:00+08:00")
            try await wh.refresh()
            try await wh.ingest(SnapNetwork.a1Dec22, receivedAt: "2025-12-22T21:30:00+08:00")
            try await wh.refresh()
            try await wh.ingest(SnapNetwork.b1Dec22, receivedAt: "2025-12-23T09:00:00+08:00")
            try await wh.refresh()
            var t = try await wh.kpis()
            // Before the move MV is employed at A1: A1 has 3 active salespeople (A1-01, A1-02, MV).
            #expect(t.value("store", "day", "2025-12-22", "A1", "ACTIVE_SALESPEOPLE") == 3)
            #expect(t.value("salesperson", "day", "2025-12-22", "A1/MV", "WALKIN_GROUPS") == 1)

            try await wh.ingest(SnapNetwork.a1Dec29, receivedAt: "2025-12-30T11:00:00+08:00")
            try await wh.refresh()
            t = try await wh.kpis()
            // MV still employed at A1: a zero row on a day without facts.
            #expect(t.value("salesperson", "day", "2025-12-29", "A1/MV", "TRAFFIC") == 0)
            #expect(t.value("salesperson", "day", "2025-12-29", "A2/MV", "TRAFFIC") == nil)
            // Received 12-30 11:00, after the due time 12-30 10:00: received, not on time.
            #expect(t.value("store", "day", "2025-12-29", "A1", "REPORTS_RECEIVED") == 1)
            #expect(t.value("store", "day", "2025-12-29", "A1", "REPORTS_ON_TIME") == 0)

            // HQ moves MV to A2. Facts keep the store they were reported under.
            try await wh.load([("salespeople.csv", SnapNetwork.salespeople(moverStore: "A2"))])
            try await wh.refresh()
            t = try await wh.kpis()
            #expect(t["salesperson", "day", "2025-12-29", "A1/MV", "TRAFFIC"] == nil)
            #expect(t.value("salesperson", "day", "2025-12-29", "A2/MV", "TRAFFIC") == 0)
            #expect(t.value("salesperson", "day", "2025-12-22", "A1/MV", "WALKIN_GROUPS") == 1)
            #expect(t.value("store", "day", "2025-12-29", "A1", "ACTIVE_SALESPEOPLE") == 2)
            #expect(t.value("store", "day", "2025-12-29", "A2", "ACTIVE_SALESPEOPLE") == 2)

            try await wh.ingest(SnapNetwork.b1Dec31, receivedAt: "2025-12-31T20:00:00+08:00")
            try await wh.refresh()
            try await wh.ingest(SnapNetwork.a2Jan02, receivedAt: "2026-01-02T21:00:00+08:00")
            try await wh.refresh()
            t = try await wh.kpis()
            // K3 is still open as far as the warehouse knows: held by A1-02 on every day up to the horizon end.
            for day in ["2025-12-29", "2025-12-30", "2025-12-31", "2026-01-01", "2026-01-02"] {
                #expect(t.value("salesperson", "day", day, "A1/A1-02", "HELD_A_CARDS") == 1, "A1-02 held on \(day)")
            }
            #expect(t.value("store", "month", "2025-12-01", "A1", "HELD_A_CARDS") == 2)   // K1 + K3 on 12-31
            #expect(t.value("store", "month", "2025-12-01", "A1", "LOST_PROSPECTS") == 0)

            try await wh.ingest(SnapNetwork.a1Jan05(correctedV3: false), receivedAt: "2026-01-05T21:30:00+08:00")
            let afterLateClose = try await wh.refresh()
            #expect(afterLateClose.mode == .incremental)
            t = try await wh.kpis()
            // The report of 01-05 closes K3 as lost on 12-30: the day rows from 12-30 change, 12-29 does not.
            #expect(t.value("salesperson", "day", "2025-12-29", "A1/A1-02", "HELD_A_CARDS") == 1)
            for day in ["2025-12-30", "2025-12-31", "2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"] {
                #expect(t.value("salesperson", "day", day, "A1/A1-02", "HELD_A_CARDS") == 0, "A1-02 held on \(day)")
            }
            #expect(t.value("salesperson", "day", "2025-12-30", "A1/A1-02", "LOST_PROSPECTS") == 1)
            #expect(t.value("store", "month", "2025-12-01", "A1", "HELD_A_CARDS") == 1)   // K1 only
            #expect(t.value("store", "month", "2025-12-01", "A1", "LOST_PROSPECTS") == 1)
            #expect(t.value("salesperson", "day", "2026-01-05", "A1/A1-01", "COLLECTED") == 150000)
            #expect(t.value("salesperson", "day", "2026-01-05", "A1/A1-02", "WALKIN_GROUPS") == 0)   // a phone contact without card
            #expect(t.value("store", "day", "2026-01-05", "A1", "REPORTS_CORRECTED") == 0)

            try await wh.ingest(SnapNetwork.a1Jan05(correctedV3: true), receivedAt: "2026-01-06T15:00:00+08:00")
            try await wh.refresh()
            t = try await wh.kpis()
            #expect(t.value("salesperson", "day", "2026-01-05", "A1/A1-02", "WALKIN_GROUPS") == 1)
            #expect(t.value("store", "day", "2026-01-05", "A1", "REPORTS_CORRECTED") == 1)
            #expect(t.value("store", "day", "2026-01-05", "A1", "REPORTS_ON_TIME") == 1)   // version 1 was on time

            try await wh.ingest(SnapNetwork.a1Jan06, receivedAt: "2026-01-06T21:30:00+08:00")
            try await wh.refresh()
            t = try await wh.kpis()
            // The later payment restates the delivery day (01-05), not the day of the report (01-06).
            #expect(t.value("salesperson", "day", "2026-01-05", "A1/A1-01", "COLLECTED") == 190000)
            #expect(t.value("salesperson", "day", "2026-01-06", "A1/A1-01", "COLLECTED") == 0)
            try await checkFinal(wh, t)

            // A full rebuild finds the incrementally maintained snapshots already right.
            let full = try await wh.refresh(.full)
            #expect(full.mode == .full)
            #expect(full.written == 0 && full.superseded == 0, "full rebuild after incremental refreshes changed rows: \(full)")
            try await checkFinal(wh, try await wh.kpis())
        }
    }

    /// The same network ingested completely, then one full refresh: the same values.
    @Test func oneRefreshAtTheEndGivesTheSameValues() async throws {
        try await SnapshotWarehouse.with { wh in
            try await SnapNetwork.loadMaster(wh)
            try await wh.ingest(SnapNetwork.a2Dec22, receivedAt: "2025-12-22T21:00:00+08:00")
            try await wh.ingest(SnapNetwork.a1Dec22, receivedAt: "2025-12-22T21:30:00+08:00")
            try await wh.ingest(SnapNetwork.b1Dec22, receivedAt: "2025-12-23T09:00:00+08:00")
            try await wh.ingest(SnapNetwork.a1Dec29, receivedAt: "2025-12-30T11:00:00+08:00")
            try await wh.load([("salespeople.csv", SnapNetwork.salespeople(moverStore: "A2"))])
            try await wh.ingest(SnapNetwork.b1Dec31, receivedAt: "2025-12-31T20:00:00+08:00")
            try await wh.ingest(SnapNetwork.a2Jan02, receivedAt: "2026-01-02T21:00:00+08:00")
            try await wh.ingest(SnapNetwork.a1Jan05(correctedV3: false), receivedAt: "2026-01-05T21:30:00+08:00")
            try await wh.ingest(SnapNetwork.a1Jan05(correctedV3: true), receivedAt: "2026-01-06T15:00:00+08:00")
            try await wh.ingest(SnapNetwork.a1Jan06, receivedAt: "2026-01-06T21:30:00+08:00")
            let summary = try await wh.refresh(.full)
            #expect(summary.horizon.map { "\($0.lowerBound)..\($0.upperBound)" } == "2025-12-22..2026-01-06")
            try await checkFinal(wh, try await wh.kpis())
        }
    }

    /// Plans and expenses of months outside the horizon (2025-11, 2026-02) still count in its quarters and
    /// years; loaded after the snapshots exist, an incremental refresh must pick them up.
    @Test func plansAndExpensesOfMonthsOutsideTheHorizonReachItsQuartersAndYears() async throws {
        try await SnapshotWarehouse.with { wh in
            try await SnapNetwork.loadMaster(wh)
            try await wh.ingest(SnapNetwork.a2Dec22, receivedAt: "2025-12-22T21:00:00+08:00")
            try await wh.ingest(SnapNetwork.a1Dec22, receivedAt: "2025-12-22T21:30:00+08:00")
            try await wh.ingest(SnapNetwork.b1Dec22, receivedAt: "2025-12-23T09:00:00+08:00")
            try await wh.ingest(SnapNetwork.a1Jan05(correctedV3: false), receivedAt: "2026-01-05T21:30:00+08:00")
            try await wh.refresh()
            // Horizon 2025-12-22..2026-01-05. Before: A1's 2025-Q4 plan Nov 1 + Dec 3 = 4, 2026-Q1 Jan 1 + Feb 3 = 4.
            var t = try await wh.kpis(where: "grain IN ('quarter', 'year')")
            #expect(t.value("store", "quarter", "2025-10-01", "A1", "PLAN_DELIVERIES") == 4)
            #expect(t.value("store", "quarter", "2026-01-01", "A1", "PLAN_DELIVERIES") == 4)

            try await wh.load([("plans.csv", """
                month,store_code,salesperson_code,kpi,value
                2025-11,A1,A1-01,PLAN_DELIVERIES,2
                2026-02,A1,A1-01,PLAN_DELIVERIES,5
                2026-03,B1,,EXPENSE_BUDGET,800

                """),
                ("expenses.csv", """
                month,store_code,amount
                2025-10,B1,700
                2026-02,A1,3000

                """)])
            let s = try await wh.refresh()
            #expect(s.mode == .incremental)
            t = try await wh.kpis(where: "grain IN ('quarter', 'year')")
            // A1 2025-Q4 and 2025: Nov 2 + Dec (2 + 1) = 5; 2026-Q1 and 2026: Jan 1 + Feb 5 = 6.
            #expect(t.value("store", "quarter", "2025-10-01", "A1", "PLAN_DELIVERIES") == 5)
            #expect(t.value("store", "year", "2025-01-01", "A1", "PLAN_DELIVERIES") == 5)
            #expect(t.value("salesperson", "quarter", "2026-01-01", "A1/A1-01", "PLAN_DELIVERIES") == 6)
            #expect(t.value("store", "quarter", "2026-01-01", "A1", "PLAN_DELIVERIES") == 6)
            #expect(t.value("national", "year", "2026-01-01", "", "PLAN_DELIVERIES") == 6)
            // A1 2026-Q1 expense: Jan 9000 + Feb 3000 = 12000. B1 2025-Q4 expense: Oct 700 + Dec 5000 = 5700;
            // B1 2026-Q1 budget: Mar 800 (no expense: 0): variance (0 - 800) / 800.
            #expect(t.value("store", "quarter", "2026-01-01", "A1", "EXPENSE") == 12000)
            #expect(t.value("store", "quarter", "2025-10-01", "B1", "EXPENSE") == 5700)
            #expect(t.value("region", "year", "2025-01-01", "S", "EXPENSE") == 5700)
            let variance = t["store", "year", "2026-01-01", "B1", "EXPENSE_VARIANCE"]
            #expect(snapClose(variance?.numerator, -800) && snapClose(variance?.denominator, 800), "\(String(describing: variance))")

            let full = try await wh.refresh(.full)
            #expect(full.written == 0 && full.superseded == 0, "the incremental refresh missed changes: \(full)")
        }
    }

    /// Master-data changes after the snapshots exist: B1 moves to region N, A1-02 leaves on 2026-01-01 (last day
    /// 12-31). An incremental refresh restates every affected row, as a full rebuild would.
    @Test func masterDataChangesRestateIncrementally() async throws {
        try await SnapshotWarehouse.with { wh in
            try await SnapNetwork.loadMaster(wh)
            try await wh.ingest(SnapNetwork.a2Dec22, receivedAt: "2025-12-22T21:00:00+08:00")
            try await wh.ingest(SnapNetwork.a1Dec22, receivedAt: "2025-12-22T21:30:00+08:00")
            try await wh.ingest(SnapNetwork.b1Dec22, receivedAt: "2025-12-23T09:00:00+08:00")
            try await wh.ingest(SnapNetwork.a1Dec29, receivedAt: "2025-12-30T11:00:00+08:00")
            try await wh.ingest(SnapNetwork.b1Dec31, receivedAt: "2025-12-31T20:00:00+08:00")
            try await wh.ingest(SnapNetwork.a1Jan05(correctedV3: false), receivedAt: "2026-01-05T21:30:00+08:00")
            try await wh.refresh()

            try await wh.load([
                ("stores.csv", SnapNetwork.stores.replacingOccurrences(of: "B1,南区一店,S,", with: "B1,南区一店,N,")),
                ("salespeople.csv", SnapNetwork.salespeople(moverStore: "A1").replacingOccurrences(of: "A1-02,李娜,A1,2020-01-01,", with: "A1-02,李娜,A1,2020-01-01,2026-01-01")),
            ])
            let s = try await wh.refresh()
            #expect(s.mode == .incremental)
            let t = try await wh.kpis(where: "grain <> 'day' OR period_start IN ('2026-01-02', '2026-01-05')")
            // Region S has no store left: no rows at all. N now sums all three stores: its December traffic is
            // A1 5 + A2 2 + B1 2 = 9, the national value.
            #expect(try await wh.int("SELECT count(*) FROM kpi.snapshot WHERE level = 'region' AND entity = 'S'") == 0)
            #expect(t.value("region", "month", "2025-12-01", "N", "TRAFFIC") == 9)
            #expect(t.value("national", "month", "2025-12-01", "", "TRAFFIC") == 9)
            #expect(t["store", "month", "2025-12-01", "B1", "TRAFFIC"]?.regionCode == "N")
            #expect(t["salesperson", "month", "2025-12-01", "B1/B1-01", "TRAFFIC"]?.regionCode == "N")
            #expect(t["region", "month", "2025-12-01", "N", "TRAFFIC"]?.rank == 1 && t["region", "month", "2025-12-01", "N", "TRAFFIC"]?.peerCount == 1)
            // A1-02 left: in January only the periods of its 01-05 facts (order O4 delivered) keep a row. Active at
            // A1 (MV stays at A1 in this test): A1-01, A1-02, MV on 12-31; A1-01, MV on 01-31.
            #expect(t["salesperson", "day", "2026-01-02", "A1/A1-02", "TRAFFIC"] == nil)
            #expect(t.value("salesperson", "day", "2026-01-05", "A1/A1-02", "DELIVERIES") == 1)
            #expect(t.value("salesperson", "month", "2026-01-01", "A1/A1-02", "DELIVERIES") == 1)
            #expect(t.value("store", "month", "2026-01-01", "A1", "ACTIVE_SALESPEOPLE") == 2)
            #expect(t.value("store", "month", "2025-12-01", "A1", "ACTIVE_SALESPEOPLE") == 3)

            let full = try await wh.refresh(.full)
            #expect(full.written == 0 && full.superseded == 0, "the incremental refresh missed changes: \(full)")
        }
    }

    func checkFinal(_ wh: SnapshotWarehouse, _ t: SnapKPITable) async throws {
        try await checkRowsExist(wh, t)
        checkSalespersonRows(t)
        checkStoreRows(t)
        checkRegionAndNationalRows(t)
        checkTargets(t)
    }

    func checkRowsExist(_ wh: SnapshotWarehouse, _ t: SnapKPITable) async throws {
        // National: 16 days, weeks of 12-22, 12-29 (ISO week 1 of 2026, keyed by its Monday in 2025) and 01-05,
        // both months, both quarters, both years.
        #expect(try await wh.strings("""
            SELECT grain || ' ' || period_start || '..' || period_end FROM kpi.snapshot WHERE level = 'national' AND grain <> 'day'
            """).sorted() == [
                "month 2025-12-01..2025-12-31", "month 2026-01-01..2026-01-31",
                "quarter 2025-10-01..2025-12-31", "quarter 2026-01-01..2026-03-31",
                "week 2025-12-22..2025-12-28", "week 2025-12-29..2026-01-04", "week 2026-01-05..2026-01-11",
                "year 2025-01-01..2025-12-31", "year 2026-01-01..2026-12-31",
            ])
        #expect(try await wh.int("SELECT count(*) FROM kpi.snapshot WHERE level = 'national' AND grain = 'day'") == 16)   // 12-22..01-06
        // 25 periods each (16 + 3 + 2 + 2 + 2) for every store, region and employed salesperson; the moved
        // salesperson has rows at A1 only for the periods of its A1 facts (12-22), and at A2 for every period.
        #expect(Set(try await wh.strings("SELECT level || ' ' || entity || ' ' || count(*) FROM kpi.snapshot GROUP BY level, entity")) == [
            "national  25", "region N 25", "region S 25",
            "salesperson A1/A1-01 25", "salesperson A1/A1-02 25", "salesperson A1/MV 5", "salesperson A2/A2-01 25",
            "salesperson A2/MV 25", "salesperson B1/B1-01 25",
            "store A1 25", "store A2 25", "store B1 25",
        ])
        #expect(try await wh.snapshotKeys("entity = 'A1/MV'") == [
            "salesperson day 2025-12-22 A1/MV", "salesperson month 2025-12-01 A1/MV", "salesperson quarter 2025-10-01 A1/MV",
            "salesperson week 2025-12-22 A1/MV", "salesperson year 2025-01-01 A1/MV",
        ])
        // Codes of the levels above are filled in; national rows have none.
        let sp = t["salesperson", "month", "2025-12-01", "A1/A1-01", "TRAFFIC"]
        #expect(sp?.regionCode == "N" && sp?.storeCode == "A1" && sp?.salespersonCode == "A1-01")
        let store = t["store", "month", "2025-12-01", "B1", "TRAFFIC"]
        #expect(store?.regionCode == "S" && store?.storeCode == "B1" && store?.salespersonCode == nil)
        let region = t["region", "month", "2025-12-01", "N", "TRAFFIC"]
        #expect(region?.regionCode == "N" && region?.storeCode == nil && region?.salespersonCode == nil)
        let nation = t["national", "week", "2025-12-29", "", "TRAFFIC"]
        #expect(nation?.regionCode == nil && nation?.storeCode == nil && nation?.salespersonCode == nil)
        #expect(nation?.periodEnd == "2026-01-04")
    }

    func checkSalespersonRows(_ t: SnapKPITable) {
        // A1-01 on 12-22: walk-in V1 + phone V2 = traffic 2; revisit V4; test drives V1, V4; K1 valid, K2 invalid;
        // order O1 (delivered only in January).
        snapExpectRow(t, "salesperson", "day", "2025-12-22", "A1/A1-01", snapMerge(
            snapFacts(walkin: 1, phone: 1, traffic: 2, revisits: 1, testDrives: 2, newCards: 1, invalid: 1, held: 1, orders: 1),
            snapRatios(capture: (1, 2), testDrive: (2, 1),   // 2 test drives / 1 walk-in: a day ratio above 1, stored as computed
                       close: (1, 2), loss: (0, 0 + 1), cancel: (0, 1), invalidCard: (1, 1 + 1),
                       avgDealPrice: (0, 0), discountRate: (0, 0), collection: (0, 0))))
        // A1-02 in the week 12-29..01-04: walk-in with test drive on 12-29; K3 lost on 12-30 (reported on 01-05),
        // so not held on 01-04.
        snapExpectRow(t, "salesperson", "week", "2025-12-29", "A1/A1-02", snapMerge(
            snapFacts(walkin: 1, traffic: 1, testDrives: 1, held: 0, lost: 1),
            snapRatios(capture: (0, 1), testDrive: (1, 1), close: (0, 1), loss: (1, 1 + 0), cancel: (0, 0), invalidCard: (0, 0),
                       avgDealPrice: (0, 0), discountRate: (0, 0), collection: (0, 0))))
        // A1-01 in December: the 12-22 facts; K1 (created 12-22, closed 01-05) held at 12-31. Own plans: 2
        // deliveries, 3 new cards; no revenue plan, so no REVENUE_ACHIEVEMENT.
        snapExpectRow(t, "salesperson", "month", "2025-12-01", "A1/A1-01", snapMerge(
            snapFacts(walkin: 1, phone: 1, traffic: 2, revisits: 1, testDrives: 2, newCards: 1, invalid: 1, held: 1, orders: 1),
            snapRatios(capture: (1, 2), testDrive: (2, 1), close: (1, 2), loss: (0, 1), cancel: (0, 1), invalidCard: (1, 2),
                       avgDealPrice: (0, 0), discountRate: (0, 0), collection: (0, 0)),
            ["PLAN_DELIVERIES": .m(2), "PLAN_NEW_A_CARDS": .m(3),
             "PLAN_ACHIEVEMENT": .r(0, 2), "PLAN_DEVIATION": .r(2, 2)]))   // |2 - 0| / 2
        // A1-01 in January: walk-in V2 and revisit V1 on 01-05; O1 (ordered in December) delivered 01-05:
        // revenue 190000, list 200000, discount 200000 - 190000 = 10000, collected 190000 (restated by 01-06's report).
        snapExpectRow(t, "salesperson", "month", "2026-01-01", "A1/A1-01", snapMerge(
            snapFacts(walkin: 1, traffic: 1, revisits: 1, deliveries: 1, revenue: 190000, listRevenue: 200000, discount: 10000,
                      collected: 190000),
            snapRatios(capture: (0, 1), testDrive: (0, 1), close: (0, 1), loss: (0, 0), cancel: (0, 0), invalidCard: (0, 0),
                       avgDealPrice: (190000, 1), discountRate: (10000, 200000), collection: (190000, 190000)),
            ["PLAN_DELIVERIES": .m(1), "PLAN_ACHIEVEMENT": .r(1, 1), "PLAN_DEVIATION": .r(0, 1)]))   // |1 - 1| / 1
        // 2025-Q4 = the December facts; plans Nov 1 + Dec 2 = 3 (November is before the horizon but in the quarter).
        snapExpectRow(t, "salesperson", "quarter", "2025-10-01", "A1/A1-01", snapMerge(
            snapFacts(walkin: 1, phone: 1, traffic: 2, revisits: 1, testDrives: 2, newCards: 1, invalid: 1, held: 1, orders: 1),
            snapRatios(capture: (1, 2), testDrive: (2, 1), close: (1, 2), loss: (0, 1), cancel: (0, 1), invalidCard: (1, 2),
                       avgDealPrice: (0, 0), discountRate: (0, 0), collection: (0, 0)),
            ["PLAN_DELIVERIES": .m(3), "PLAN_NEW_A_CARDS": .m(3), "PLAN_ACHIEVEMENT": .r(0, 3), "PLAN_DEVIATION": .r(3, 3)]))
        // 2026 = the January facts; plans Jan 1 + Feb 3 = 4; deviation |4 - 1| = 3.
        snapExpectRow(t, "salesperson", "year", "2026-01-01", "A1/A1-01", snapMerge(
            snapFacts(walkin: 1, traffic: 1, revisits: 1, deliveries: 1, revenue: 190000, listRevenue: 200000, discount: 10000,
                      collected: 190000),
            snapRatios(capture: (0, 1), testDrive: (0, 1), close: (0, 1), loss: (0, 0), cancel: (0, 0), invalidCard: (0, 0),
                       avgDealPrice: (190000, 1), discountRate: (10000, 200000), collection: (190000, 190000)),
            ["PLAN_DELIVERIES": .m(4), "PLAN_ACHIEVEMENT": .r(1, 4), "PLAN_DEVIATION": .r(3, 4)]))
        // MV's facts reported by A1 before the move stay at A1: walk-in V7 and order O2.
        snapExpectRow(t, "salesperson", "month", "2025-12-01", "A1/MV", snapMerge(
            snapFacts(walkin: 1, traffic: 1, orders: 1),
            snapRatios(capture: (0, 1), testDrive: (0, 1), close: (1, 1), loss: (0, 0 + 1), cancel: (0, 1), invalidCard: (0, 0),
                       avgDealPrice: (0, 0), discountRate: (0, 0), collection: (0, 0))))
        // ... and at A2 (current master data) MV has a row for every period, zeros included.
        snapExpectRow(t, "salesperson", "month", "2025-12-01", "A2/MV", snapMerge(
            snapFacts(),
            snapRatios(capture: (0, 0), testDrive: (0, 0), close: (0, 0), loss: (0, 0), cancel: (0, 0), invalidCard: (0, 0),
                       avgDealPrice: (0, 0), discountRate: (0, 0), collection: (0, 0))))
        // MV at A2 in January: walk-in with test drive and new card KA1 on 01-02, held at the horizon end.
        snapExpectRow(t, "salesperson", "month", "2026-01-01", "A2/MV", snapMerge(
            snapFacts(walkin: 1, traffic: 1, testDrives: 1, newCards: 1, held: 1),
            snapRatios(capture: (1, 1), testDrive: (1, 1), close: (0, 1), loss: (0, 0), cancel: (0, 0), invalidCard: (0, 1),
                       avgDealPrice: (0, 0), discountRate: (0, 0), collection: (0, 0))))
        // A2-01's own December plan (2) is its row's plan, even though the store's own row (5) is A2's plan.
        let a201 = t["salesperson", "month", "2025-12-01", "A2/A2-01", "PLAN_ACHIEVEMENT"]
        #expect(a201?.numerator == 1 && a201?.denominator == 2)
        // The salesperson level has no store-level KPIs.
        #expect(t["salesperson", "month", "2025-12-01", "A2/A2-01", "REPORTS_EXPECTED"] == nil)
        #expect(t["salesperson", "month", "2025-12-01", "A2/A2-01", "EXPENSE"] == nil)
    }

    func checkStoreRows(_ t: SnapKPITable) {
        // A1 on 12-22: A1-01 (walk-in 1, phone 1) + A1-02 (walk-in 1) + MV (walk-in 1): walk-in 3, traffic 4;
        // new cards K1, K3; invalid K2; orders O1, O2. Report on time. Active: A1-01, A1-02 (MV now at A2).
        snapExpectRow(t, "store", "day", "2025-12-22", "A1", snapMerge(
            snapFacts(walkin: 3, phone: 1, traffic: 4, revisits: 1, testDrives: 2, newCards: 2, invalid: 1, held: 2, orders: 2),
            snapRatios(capture: (2, 4), testDrive: (2, 3), close: (2, 4), loss: (0, 0 + 2), cancel: (0, 2), invalidCard: (1, 2 + 1),
                       avgDealPrice: (0, 0), discountRate: (0, 0), collection: (0, 0)),
            snapStoreKPIs(expected: 1, onTime: 1, received: 1, corrected: 0, active: 2,
                          timeliness: (1, 1), accuracy: (1 - 0, 1), unitsPerSalesperson: (0, 2))))
        // A1 on 12-23: no report (missing): expected, not received; accuracy 0/0 is NULL. K1 and K3 held.
        snapExpectRow(t, "store", "day", "2025-12-23", "A1", snapMerge(
            snapFacts(held: 2),
            snapRatios(capture: (0, 0), testDrive: (0, 0), close: (0, 0), loss: (0, 0), cancel: (0, 0), invalidCard: (0, 0),
                       avgDealPrice: (0, 0), discountRate: (0, 0), collection: (0, 0)),
            snapStoreKPIs(expected: 1, onTime: 0, received: 0, corrected: 0, active: 2,
                          timeliness: (0, 1), accuracy: (0, 0), unitsPerSalesperson: (0, 2))))
        // A1 in the ISO week 12-29..01-04 (spans the new year): A1-02's walk-in 12-29 and K3 lost 12-30; K1 held
        // on 01-04. 7 expected days, one report (12-29, late), none on time.
        snapExpectRow(t, "store", "week", "2025-12-29", "A1", snapMerge(
            snapFacts(walkin: 1, traffic: 1, testDrives: 1, held: 1, lost: 1),
            snapRatios(capture: (0, 1), testDrive: (1, 1), close: (0, 1), loss: (1, 1), cancel: (0, 0), invalidCard: (0, 0),
                       avgDealPrice: (0, 0), discountRate: (0, 0), collection: (0, 0)),
            snapStoreKPIs(expected: 7, onTime: 0, received: 1, corrected: 0, active: 2,
                          timeliness: (0, 7), accuracy: (1, 1), unitsPerSalesperson: (0, 2))))
        // A1 in December: walk-in 1 + 2 + 1 (A1-01, A1-02, MV) = 4, phone 1, traffic 5; test drives 2 + 1 = 3;
        // new K1, K3; lost K3; held K1 at 12-31; orders O1, O2. Reports: 10 expected (12-22..31), received 12-22
        // and 12-29, on time 12-22 only. Plan: no store row, so the sum of its salespeople's: 2 + 1 = 3.
        // Expense 11000 against budget 10000: variance (11000 - 10000) / 10000.
        snapExpectRow(t, "store", "month", "2025-12-01", "A1", snapMerge(
            snapFacts(walkin: 4, phone: 1, traffic: 5, revisits: 1, testDrives: 3, newCards: 2, invalid: 1, held: 1, lost: 1, orders: 2),
            snapRatios(capture: (2, 5), testDrive: (3, 4), close: (2, 5), loss: (1, 1 + 2), cancel: (0, 2), invalidCard: (1, 3),
                       avgDealPrice: (0, 0), discountRate: (0, 0), collection: (0, 0)),
            snapStoreKPIs(expected: 10, onTime: 1, received: 2, corrected: 0, active: 2,
                          timeliness: (1, 10), accuracy: (2 - 0, 2), unitsPerSalesperson: (0, 2)),
            ["EXPENSE": .m(11000), "EXPENSE_BUDGET": .m(10000), "PLAN_DELIVERIES": .m(3), "PLAN_NEW_A_CARDS": .m(3),
             "PLAN_ACHIEVEMENT": .r(0, 3), "PLAN_DEVIATION": .r(3, 3), "EXPENSE_VARIANCE": .r(1000, 10000)]))
        // A1 in January: walk-ins V2 (A1-01) and corrected V3 (A1-02); revisit V1; order O4; deliveries O1, O4:
        // revenue 190000 + 95000 = 285000, list revenue 200000 (O4 has no list price), discount 10000,
        // collected 190000 + 95000. Reports: 6 expected (01-01..06), received 01-05 and 01-06, both on time,
        // 01-05 corrected. Plan 1 (A1-01's). Expense 9000 against 10000: variance -1000 / 10000.
        snapExpectRow(t, "store", "month", "2026-01-01", "A1", snapMerge(
            snapFacts(walkin: 2, traffic: 2, revisits: 1, orders: 1, deliveries: 2, revenue: 285000, listRevenue: 200000,
                      discount: 10000, collected: 285000),
            snapRatios(capture: (0, 2), testDrive: (0, 2), close: (1, 2), loss: (0, 0 + 1), cancel: (0, 1), invalidCard: (0, 0),
                       avgDealPrice: (285000, 2), discountRate: (10000, 200000), collection: (285000, 285000)),
            snapStoreKPIs(expected: 6, onTime: 2, received: 2, corrected: 1, active: 2,
                          timeliness: (2, 6), accuracy: (2 - 1, 2), unitsPerSalesperson: (2, 2)),
            ["EXPENSE": .m(9000), "EXPENSE_BUDGET": .m(10000), "PLAN_DELIVERIES": .m(1),
             "PLAN_ACHIEVEMENT": .r(2, 1), "PLAN_DEVIATION": .r(1, 1), "EXPENSE_VARIANCE": .r(-1000, 10000)]))
        // 2026-Q1 for A1: January's facts, plans Jan 1 + Feb 3 = 4, deviation |4 - 2| = 2.
        snapExpectRow(t, "store", "quarter", "2026-01-01", "A1", snapMerge(
            snapFacts(walkin: 2, traffic: 2, revisits: 1, orders: 1, deliveries: 2, revenue: 285000, listRevenue: 200000,
                      discount: 10000, collected: 285000),
            snapRatios(capture: (0, 2), testDrive: (0, 2), close: (1, 2), loss: (0, 1), cancel: (0, 1), invalidCard: (0, 0),
                       avgDealPrice: (285000, 2), discountRate: (10000, 200000), collection: (285000, 285000)),
            snapStoreKPIs(expected: 6, onTime: 2, received: 2, corrected: 1, active: 2,
                          timeliness: (2, 6), accuracy: (1, 2), unitsPerSalesperson: (2, 2)),
            ["EXPENSE": .m(9000), "EXPENSE_BUDGET": .m(10000), "PLAN_DELIVERIES": .m(4),
             "PLAN_ACHIEVEMENT": .r(2, 4), "PLAN_DEVIATION": .r(2, 4), "EXPENSE_VARIANCE": .r(-1000, 10000)]))
        // 2025 for A1: December's facts; plans Nov 1 + Dec 3 = 4.
        snapExpectRow(t, "store", "year", "2025-01-01", "A1", snapMerge(
            snapFacts(walkin: 4, phone: 1, traffic: 5, revisits: 1, testDrives: 3, newCards: 2, invalid: 1, held: 1, lost: 1, orders: 2),
            snapRatios(capture: (2, 5), testDrive: (3, 4), close: (2, 5), loss: (1, 3), cancel: (0, 2), invalidCard: (1, 3),
                       avgDealPrice: (0, 0), discountRate: (0, 0), collection: (0, 0)),
            snapStoreKPIs(expected: 10, onTime: 1, received: 2, corrected: 0, active: 2,
                          timeliness: (1, 10), accuracy: (2, 2), unitsPerSalesperson: (0, 2)),
            ["EXPENSE": .m(11000), "EXPENSE_BUDGET": .m(10000), "PLAN_DELIVERIES": .m(4), "PLAN_NEW_A_CARDS": .m(3),
             "PLAN_ACHIEVEMENT": .r(0, 4), "PLAN_DEVIATION": .r(4, 4), "EXPENSE_VARIANCE": .r(1000, 10000)]))
        // A2 in December: A2-01's two walk-ins (one test drive), A2-O1 ordered and delivered (no list price).
        // Plan: the store's own row 5 wins over A2-01's 2. No budget: EXPENSE (0, no input) but no EXPENSE_VARIANCE.
        snapExpectRow(t, "store", "month", "2025-12-01", "A2", snapMerge(
            snapFacts(walkin: 2, traffic: 2, testDrives: 1, orders: 1, deliveries: 1, revenue: 80000, collected: 80000),
            snapRatios(capture: (0, 2), testDrive: (1, 2), close: (1, 2), loss: (0, 1), cancel: (0, 1), invalidCard: (0, 0),
                       avgDealPrice: (80000, 1), discountRate: (0, 0), collection: (80000, 80000)),
            snapStoreKPIs(expected: 10, onTime: 1, received: 1, corrected: 0, active: 2,
                          timeliness: (1, 10), accuracy: (1, 1), unitsPerSalesperson: (1, 2)),
            ["EXPENSE": .m(0), "PLAN_DELIVERIES": .m(5), "PLAN_REVENUE": .m(100000),
             "PLAN_ACHIEVEMENT": .r(1, 5), "REVENUE_ACHIEVEMENT": .r(80000, 100000), "PLAN_DEVIATION": .r(5 - 1, 5)]))
        // B1 on 12-22: a valid card without any counted visit: capture rate 1/0 is NULL, both stored.
        // Received 12-23 09:00, before the due time 10:00.
        snapExpectRow(t, "store", "day", "2025-12-22", "B1", snapMerge(
            snapFacts(newCards: 1, held: 1),
            snapRatios(capture: (1, 0), testDrive: (0, 0), close: (0, 0), loss: (0, 0), cancel: (0, 0), invalidCard: (0, 1),
                       avgDealPrice: (0, 0), discountRate: (0, 0), collection: (0, 0)),
            snapStoreKPIs(expected: 1, onTime: 1, received: 1, corrected: 0, active: 1,
                          timeliness: (1, 1), accuracy: (1, 1), unitsPerSalesperson: (0, 1))))
        // B1 in December: walk-ins V1, V2 (test drive, KB2); KB1, KB2 new; KB1 lost; B1-O1 ordered and cancelled;
        // KB2 held at 12-31. Expense 5000 = budget 5000: variance 0 / 5000.
        snapExpectRow(t, "store", "month", "2025-12-01", "B1", snapMerge(
            snapFacts(walkin: 2, traffic: 2, testDrives: 1, newCards: 2, held: 1, lost: 1, orders: 1, cancellations: 1),
            snapRatios(capture: (2, 2), testDrive: (1, 2), close: (1, 2), loss: (1, 1 + 1), cancel: (1, 1), invalidCard: (0, 2),
                       avgDealPrice: (0, 0), discountRate: (0, 0), collection: (0, 0)),
            snapStoreKPIs(expected: 10, onTime: 2, received: 2, corrected: 0, active: 1,
                          timeliness: (2, 10), accuracy: (2, 2), unitsPerSalesperson: (0, 1)),
            ["EXPENSE": .m(5000), "EXPENSE_BUDGET": .m(5000), "EXPENSE_VARIANCE": .r(5000 - 5000, 5000)]))
        // B1 in January: no report at all (6 missing days), KB2 still held; no plan, no expense input.
        snapExpectRow(t, "store", "month", "2026-01-01", "B1", snapMerge(
            snapFacts(held: 1),
            snapRatios(capture: (0, 0), testDrive: (0, 0), close: (0, 0), loss: (0, 0), cancel: (0, 0), invalidCard: (0, 0),
                       avgDealPrice: (0, 0), discountRate: (0, 0), collection: (0, 0)),
            snapStoreKPIs(expected: 6, onTime: 0, received: 0, corrected: 0, active: 1,
                          timeliness: (0, 6), accuracy: (0, 0), unitsPerSalesperson: (0, 1)),
            ["EXPENSE": .m(0)]))
    }

    func checkRegionAndNationalRows(_ t: SnapKPITable) {
        // Region N in December = A1 + A2: walk-in 4 + 2, phone 1, traffic 5 + 2, test drives 3 + 1, orders 2 + 1;
        // reports expected 10 + 10, on time 1 + 1, received 2 + 1; active 2 + 2; expense 11000 + 0, budget
        // 10000 (A1 only); plans 3 + 5 deliveries, 100000 revenue (A2), 3 new cards (A1).
        snapExpectRow(t, "region", "month", "2025-12-01", "N", snapMerge(
            snapFacts(walkin: 6, phone: 1, traffic: 7, revisits: 1, testDrives: 4, newCards: 2, invalid: 1, held: 1, lost: 1,
                      orders: 3, deliveries: 1, revenue: 80000, collected: 80000),
            snapRatios(capture: (2, 7), testDrive: (4, 6), close: (3, 7), loss: (1, 1 + 3), cancel: (0, 3), invalidCard: (1, 3),
                       avgDealPrice: (80000, 1), discountRate: (0, 0), collection: (80000, 80000)),
            snapStoreKPIs(expected: 20, onTime: 2, received: 3, corrected: 0, active: 4,
                          timeliness: (2, 20), accuracy: (3, 3), unitsPerSalesperson: (1, 4)),
            ["EXPENSE": .m(11000), "EXPENSE_BUDGET": .m(10000), "PLAN_DELIVERIES": .m(8), "PLAN_REVENUE": .m(100000),
             "PLAN_NEW_A_CARDS": .m(3), "PLAN_ACHIEVEMENT": .r(1, 8), "REVENUE_ACHIEVEMENT": .r(80000, 100000),
             "PLAN_DEVIATION": .r(8 - 1, 8), "EXPENSE_VARIANCE": .r(11000 - 10000, 10000)]))
        // Region S in the week 12-29..01-04 = B1's 12-31: 7 expected days, one report on time.
        snapExpectRow(t, "region", "week", "2025-12-29", "S", snapMerge(
            snapFacts(walkin: 2, traffic: 2, testDrives: 1, newCards: 1, held: 1, lost: 1, orders: 1, cancellations: 1),
            snapRatios(capture: (1, 2), testDrive: (1, 2), close: (1, 2), loss: (1, 2), cancel: (1, 1), invalidCard: (0, 1),
                       avgDealPrice: (0, 0), discountRate: (0, 0), collection: (0, 0)),
            snapStoreKPIs(expected: 7, onTime: 1, received: 1, corrected: 0, active: 1,
                          timeliness: (1, 7), accuracy: (1, 1), unitsPerSalesperson: (0, 1))))
        // Region N on 01-02: A1 (no report; K1 held) + A2 (MV's walk-in with test drive and KA1; report on time).
        snapExpectRow(t, "region", "day", "2026-01-02", "N", snapMerge(
            snapFacts(walkin: 1, traffic: 1, testDrives: 1, newCards: 1, held: 1 + 1),
            snapRatios(capture: (1, 1), testDrive: (1, 1), close: (0, 1), loss: (0, 0), cancel: (0, 0), invalidCard: (0, 1),
                       avgDealPrice: (0, 0), discountRate: (0, 0), collection: (0, 0)),
            snapStoreKPIs(expected: 2, onTime: 1, received: 1, corrected: 0, active: 4,
                          timeliness: (1, 2), accuracy: (1, 1), unitsPerSalesperson: (0, 4))))
        // Region N in 2025-Q4: December's facts (nothing earlier); plans A1 (Nov 1 + Dec 3) + A2 5 = 9 deliveries.
        snapExpectRow(t, "region", "quarter", "2025-10-01", "N", snapMerge(
            snapFacts(walkin: 6, phone: 1, traffic: 7, revisits: 1, testDrives: 4, newCards: 2, invalid: 1, held: 1, lost: 1,
                      orders: 3, deliveries: 1, revenue: 80000, collected: 80000),
            snapRatios(capture: (2, 7), testDrive: (4, 6), close: (3, 7), loss: (1, 4), cancel: (0, 3), invalidCard: (1, 3),
                       avgDealPrice: (80000, 1), discountRate: (0, 0), collection: (80000, 80000)),
            snapStoreKPIs(expected: 20, onTime: 2, received: 3, corrected: 0, active: 4,
                          timeliness: (2, 20), accuracy: (3, 3), unitsPerSalesperson: (1, 4)),
            ["EXPENSE": .m(11000), "EXPENSE_BUDGET": .m(10000), "PLAN_DELIVERIES": .m(9), "PLAN_REVENUE": .m(100000),
             "PLAN_NEW_A_CARDS": .m(3), "PLAN_ACHIEVEMENT": .r(1, 9), "REVENUE_ACHIEVEMENT": .r(80000, 100000),
             "PLAN_DEVIATION": .r(9 - 1, 9), "EXPENSE_VARIANCE": .r(1000, 10000)]))
        // Region S in 2026 = B1's January: no report (6 expected days), KB2 held; no plan, no expense input.
        snapExpectRow(t, "region", "year", "2026-01-01", "S", snapMerge(
            snapFacts(held: 1),
            snapRatios(capture: (0, 0), testDrive: (0, 0), close: (0, 0), loss: (0, 0), cancel: (0, 0), invalidCard: (0, 0),
                       avgDealPrice: (0, 0), discountRate: (0, 0), collection: (0, 0)),
            snapStoreKPIs(expected: 6, onTime: 0, received: 0, corrected: 0, active: 1,
                          timeliness: (0, 6), accuracy: (0, 0), unitsPerSalesperson: (0, 1)),
            ["EXPENSE": .m(0)]))
        // National 2025-Q4 = national December (below) with the quarter's plans: deliveries 4 (A1) + 5 (A2) = 9.
        snapExpectRow(t, "national", "quarter", "2025-10-01", "", snapMerge(
            snapFacts(walkin: 8, phone: 1, traffic: 9, revisits: 1, testDrives: 5, newCards: 4, invalid: 1, held: 2, lost: 2,
                      orders: 4, cancellations: 1, deliveries: 1, revenue: 80000, collected: 80000),
            snapRatios(capture: (4, 9), testDrive: (5, 8), close: (4, 9), loss: (2, 6), cancel: (1, 4), invalidCard: (1, 5),
                       avgDealPrice: (80000, 1), discountRate: (0, 0), collection: (80000, 80000)),
            snapStoreKPIs(expected: 30, onTime: 4, received: 5, corrected: 0, active: 5,
                          timeliness: (4, 30), accuracy: (5, 5), unitsPerSalesperson: (1, 5)),
            ["EXPENSE": .m(16000), "EXPENSE_BUDGET": .m(15000), "PLAN_DELIVERIES": .m(9), "PLAN_REVENUE": .m(100000),
             "PLAN_NEW_A_CARDS": .m(3), "PLAN_ACHIEVEMENT": .r(1, 9), "REVENUE_ACHIEVEMENT": .r(80000, 100000),
             "PLAN_DEVIATION": .r(8, 9), "EXPENSE_VARIANCE": .r(1000, 15000)]))
        // National December = N + S (B1 December above): walk-in 6 + 2, traffic 7 + 2, test drives 4 + 1,
        // new cards 2 + 2, held 1 + 1, lost 1 + 1, orders 3 + 1, cancellations 0 + 1; reports 20 + 10 expected,
        // 2 + 2 on time, 3 + 2 received; active 4 + 1; expense 11000 + 5000, budget 10000 + 5000.
        snapExpectRow(t, "national", "month", "2025-12-01", "", snapMerge(
            snapFacts(walkin: 8, phone: 1, traffic: 9, revisits: 1, testDrives: 5, newCards: 4, invalid: 1, held: 2, lost: 2,
                      orders: 4, cancellations: 1, deliveries: 1, revenue: 80000, collected: 80000),
            snapRatios(capture: (4, 9), testDrive: (5, 8), close: (4, 9), loss: (2, 2 + 4), cancel: (1, 4), invalidCard: (1, 4 + 1),
                       avgDealPrice: (80000, 1), discountRate: (0, 0), collection: (80000, 80000)),
            snapStoreKPIs(expected: 30, onTime: 4, received: 5, corrected: 0, active: 5,
                          timeliness: (4, 30), accuracy: (5, 5), unitsPerSalesperson: (1, 5)),
            ["EXPENSE": .m(16000), "EXPENSE_BUDGET": .m(15000), "PLAN_DELIVERIES": .m(8), "PLAN_REVENUE": .m(100000),
             "PLAN_NEW_A_CARDS": .m(3), "PLAN_ACHIEVEMENT": .r(1, 8), "REVENUE_ACHIEVEMENT": .r(80000, 100000),
             "PLAN_DEVIATION": .r(7, 8), "EXPENSE_VARIANCE": .r(16000 - 15000, 15000)]))
        // National week 12-29..01-04: A1 (walk-in 12-29, K3 lost, K1 held) + A2 (MV 01-02, KA1 held) + B1 (12-31,
        // KB2 held). Reports: 3 x 7 expected; received A1 12-29 (late), A2 01-02, B1 12-31 (both on time).
        snapExpectRow(t, "national", "week", "2025-12-29", "", snapMerge(
            snapFacts(walkin: 1 + 1 + 2, traffic: 4, testDrives: 1 + 1 + 1, newCards: 0 + 1 + 1, held: 1 + 1 + 1, lost: 1 + 0 + 1,
                      orders: 1, cancellations: 1),
            snapRatios(capture: (2, 4), testDrive: (3, 4), close: (1, 4), loss: (2, 2 + 1), cancel: (1, 1), invalidCard: (0, 2),
                       avgDealPrice: (0, 0), discountRate: (0, 0), collection: (0, 0)),
            snapStoreKPIs(expected: 21, onTime: 2, received: 3, corrected: 0, active: 5,
                          timeliness: (2, 21), accuracy: (3, 3), unitsPerSalesperson: (0, 5))))
        // National week 01-05..01-11, of which 01-05 and 01-06 are in the horizon: A1's January deliveries, 2 x 3
        // expected days, A1's two reports. Held at the horizon end 01-06: KA1 (A2) and KB2 (B1).
        snapExpectRow(t, "national", "week", "2026-01-05", "", snapMerge(
            snapFacts(walkin: 2, traffic: 2, revisits: 1, held: 2, orders: 1, deliveries: 2, revenue: 285000, listRevenue: 200000,
                      discount: 10000, collected: 285000),
            snapRatios(capture: (0, 2), testDrive: (0, 2), close: (1, 2), loss: (0, 1), cancel: (0, 1), invalidCard: (0, 0),
                       avgDealPrice: (285000, 2), discountRate: (10000, 200000), collection: (285000, 285000)),
            snapStoreKPIs(expected: 6, onTime: 2, received: 2, corrected: 1, active: 5,
                          timeliness: (2, 6), accuracy: (1, 2), unitsPerSalesperson: (2, 5))))
        // National on 12-25: nothing happened; K1, K3 (A1) and KB1 (B1) held; 3 reports missing.
        snapExpectRow(t, "national", "day", "2025-12-25", "", snapMerge(
            snapFacts(held: 3),
            snapRatios(capture: (0, 0), testDrive: (0, 0), close: (0, 0), loss: (0, 0), cancel: (0, 0), invalidCard: (0, 0),
                       avgDealPrice: (0, 0), discountRate: (0, 0), collection: (0, 0)),
            snapStoreKPIs(expected: 3, onTime: 0, received: 0, corrected: 0, active: 5,
                          timeliness: (0, 3), accuracy: (0, 0), unitsPerSalesperson: (0, 5))))
        // National 2026: A1's January (above) + MV's 01-02 at A2; held KA1 + KB2; reports A1 6/2/2/1, A2 6/1/1/0,
        // B1 6/0/0/0; active at 2026-12-31: 5; expense 9000, budget 10000 (A1); plan deliveries 1 + 3 (A1-01 Jan, Feb).
        snapExpectRow(t, "national", "year", "2026-01-01", "", snapMerge(
            snapFacts(walkin: 3, traffic: 3, revisits: 1, testDrives: 1, newCards: 1, held: 2, orders: 1, deliveries: 2,
                      revenue: 285000, listRevenue: 200000, discount: 10000, collected: 285000),
            snapRatios(capture: (1, 3), testDrive: (1, 3), close: (1, 3), loss: (0, 1), cancel: (0, 1), invalidCard: (0, 1),
                       avgDealPrice: (285000, 2), discountRate: (10000, 200000), collection: (285000, 285000)),
            snapStoreKPIs(expected: 18, onTime: 3, received: 3, corrected: 1, active: 5,
                          timeliness: (3, 18), accuracy: (3 - 1, 3), unitsPerSalesperson: (2, 5)),
            ["EXPENSE": .m(9000), "EXPENSE_BUDGET": .m(10000), "PLAN_DELIVERIES": .m(4),
             "PLAN_ACHIEVEMENT": .r(2, 4), "PLAN_DEVIATION": .r(2, 4), "EXPENSE_VARIANCE": .r(-1000, 10000)]))
    }

    func checkTargets(_ t: SnapKPITable) {
        // UNITS_PER_SALESPERSON: target 8 a month, 24 a quarter, 96 a year; day and week rows have no target
        // and no score. A1 delivered 2 with 2 salespeople: 1 unit each.
        //   month:   d = (1 - 8) / 8 x 100 = -87.5           -> 100 + 0.3 x -87.5 = 73.75
        //   quarter: d = (1 - 24) / 24 x 100 = -95.8333...   -> 100 - 0.3 x 2300/24 = 100 - 28.75 = 71.25
        //   year:    d = (1 - 96) / 96 x 100 = -98.9583...   -> 100 - 0.3 x 9500/96 = 100 - 29.6875 = 70.3125
        let month = t["store", "month", "2026-01-01", "A1", "UNITS_PER_SALESPERSON"]
        #expect(month?.target == 8 && snapClose(month?.score, snapDec("73.75")), "\(String(describing: month))")
        let quarter = t["store", "quarter", "2026-01-01", "A1", "UNITS_PER_SALESPERSON"]
        #expect(quarter?.target == 24 && snapClose(quarter?.score, snapDec("71.25")), "\(String(describing: quarter))")
        let year = t["store", "year", "2026-01-01", "A1", "UNITS_PER_SALESPERSON"]
        #expect(year?.target == 96 && snapClose(year?.score, snapDec("70.3125")), "\(String(describing: year))")
        let week = t["store", "week", "2026-01-05", "A1", "UNITS_PER_SALESPERSON"]
        #expect(week != nil && week?.target == nil && week?.score == nil)
        let day = t["store", "day", "2026-01-05", "A1", "UNITS_PER_SALESPERSON"]
        #expect(day != nil && day?.target == nil && day?.score == nil)
    }
}
