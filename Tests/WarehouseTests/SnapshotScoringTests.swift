import Foundation
import Postgres
import Testing
import TestSupport
import Warehouse

// Scores, composite scores, ranks and comparisons, worked out by hand on March 2025 store rows.
//
// Region R1: stores P1..P4; region R2: store Q1. Reports: P1 on 2024-03-05 (a year earlier), P1 on
// 2025-02-05 (the month before), every store on 2025-03-05. Scoring rules are adjusted by the test:
//   TEST_DRIVE_RATE   (higher) target 1.00, weight 2; at salesperson level target 0.80
//   INVALID_CARD_RATE (lower)  target 0.25, weight 1, slope below 0.5 (so the floor can be reached)
//   EXPENSE_VARIANCE  (lower)  target 0 (percentage points), weight 1
//   every other KPI weight 0.
// March 2025:
//   store  walk-ins  test drives       valid/invalid cards  orders (delivered)        expense / budget
//   P1     6 + 4     6 + 4 = 10        3 / 1                1 (deal 100000, coll. 100000)  10500 / 10000
//   P2     10        10 + 1 after-sales 4 / 1               1 (deal 100000, coll. 50000)   9000 / 10000
//   P3     10        9                 2 / 2                0                          - / -
//   P4     10        10 + 10 after-sales 0 / 4              0                          10000 / 10000
//   Q1     10        10                0 / 0                0                          - / 10000
// (P1's walk-ins and test drives are P1-01's 6 and P1-02's 4; P1-01 has the cards and the order.)

enum SnapScoring {
    static let master: [(String, String)] = [
        ("regions.csv", """
            region_code,region_name
            R1,一区
            R2,二区

            """),
        ("stores.csv", """
            store_code,store_name,region_code,city,opened_on,closed_on
            P1,一店,R1,,2020-01-01,
            P2,二店,R1,,2020-01-01,
            P3,三店,R1,,2020-01-01,
            P4,四店,R1,,2020-01-01,
            Q1,五店,R2,,2020-01-01,

            """),
        ("salespeople.csv", """
            salesperson_code,name,store_code,hired_on,left_on
            P1-01,甲一,P1,2020-01-01,
            P1-02,甲二,P1,2020-01-01,
            P2-01,乙一,P2,2020-01-01,
            P3-01,丙一,P3,2020-01-01,
            P4-01,丁一,P4,2020-01-01,
            Q1-01,戊一,Q1,2020-01-01,

            """),
        ("models.csv", "model_code,model_name\nM1,华驰 S50\n"),
        ("plans.csv", """
            month,store_code,salesperson_code,kpi,value
            2025-03,P1,,EXPENSE_BUDGET,10000
            2025-03,P2,,EXPENSE_BUDGET,10000
            2025-03,P4,,EXPENSE_BUDGET,10000
            2025-03,Q1,,EXPENSE_BUDGET,10000

            """),
        ("expenses.csv", """
            month,store_code,amount
            2025-03,P1,10500
            2025-03,P2,9000
            2025-03,P4,10000

            """),
    ]

    /// `walkIns` purchase walk-ins of which the first `testDrives` test-drove, then `afterSalesTestDrives`
    /// after-sales visits with a test drive (test drives count whatever the purpose; not traffic).
    static func visits(_ prefix: String, _ salesperson: String, walkIns: Int, testDrives: Int, afterSalesTestDrives: Int = 0) -> [SnapVisit] {
        (0..<walkIns).map { SnapVisit(id: "\(prefix)W\($0)", salesperson: salesperson, testDrive: $0 < testDrives) }
            + (0..<afterSalesTestDrives).map { SnapVisit(id: "\(prefix)A\($0)", purpose: "after_sales", salesperson: salesperson, testDrive: true) }
    }

    /// `valid` valid and `invalid` invalid (placeholder name) cards created on `date`.
    static func cards(_ salesperson: String, _ date: String, valid: Int, invalid: Int) -> [SnapCard] {
        (0..<valid).map { SnapCard(card: "K\($0)", createdOn: date, salesperson: salesperson, phone: "1391234\(String(format: "%04d", $0))") }
            + (0..<invalid).map { SnapCard(card: "X\($0)", createdOn: date, salesperson: salesperson, name: "王先生") }
    }

    static func delivered(_ id: String, _ salesperson: String, _ date: String, vin: String, collected: String) -> SnapOrder {
        SnapOrder(order: id, salesperson: salesperson, orderDate: date, status: "delivered", deliveryDate: date, vin: vin,
                  listPrice: "100000", dealPrice: "100000", collected: collected)
    }

    static func load(_ wh: SnapshotWarehouse) async throws {
        try await wh.load(master)
        let d = "2025-03-05"
        let at = "2025-03-05T20:00:00+08:00"
        // A year earlier: P1 4 walk-ins, 2 test drives (rate 2/4 = 0.5). The month before: 5 walk-ins, 4 test drives (0.8).
        try await wh.ingest(SnapReport(store: "P1", date: "2024-03-05", visits: visits("Y", "P1-01", walkIns: 4, testDrives: 2)),
                            receivedAt: "2024-03-05T20:00:00+08:00")
        try await wh.ingest(SnapReport(store: "P1", date: "2025-02-05", visits: visits("F", "P1-01", walkIns: 5, testDrives: 4)),
                            receivedAt: "2025-02-05T20:00:00+08:00")
        try await wh.ingest(SnapReport(store: "P1", date: d,
                                       visits: visits("a", "P1-01", walkIns: 6, testDrives: 6) + visits("b", "P1-02", walkIns: 4, testDrives: 4),
                                       prospects: cards("P1-01", d, valid: 3, invalid: 1),
                                       sales: [delivered("O1", "P1-01", d, vin: "LFV2A21K8G3000101", collected: "100000")]),
                            receivedAt: at)
        try await wh.ingest(SnapReport(store: "P2", date: d, visits: visits("a", "P2-01", walkIns: 10, testDrives: 10, afterSalesTestDrives: 1),
                                       prospects: cards("P2-01", d, valid: 4, invalid: 1),
                                       sales: [delivered("O1", "P2-01", d, vin: "LFV2A21K8G3000102", collected: "50000")]),
                            receivedAt: at)
        try await wh.ingest(SnapReport(store: "P3", date: d, visits: visits("a", "P3-01", walkIns: 10, testDrives: 9),
                                       prospects: cards("P3-01", d, valid: 2, invalid: 2)),
                            receivedAt: at)
        try await wh.ingest(SnapReport(store: "P4", date: d, visits: visits("a", "P4-01", walkIns: 10, testDrives: 10, afterSalesTestDrives: 10),
                                       prospects: cards("P4-01", d, valid: 0, invalid: 4)),
                            receivedAt: at)
        try await wh.ingest(SnapReport(store: "Q1", date: d, visits: visits("a", "Q1-01", walkIns: 10, testDrives: 10)), receivedAt: at)
        try await wh.db.executeScript("""
            UPDATE kpi.scoring_rule SET weight = 0;
            UPDATE kpi.scoring_rule SET target = 1.00, weight = 2 WHERE kpi_code = 'TEST_DRIVE_RATE';
            UPDATE kpi.scoring_rule SET target = 0.25, weight = 1, slope_below = 0.5 WHERE kpi_code = 'INVALID_CARD_RATE';
            UPDATE kpi.scoring_rule SET weight = 1 WHERE kpi_code = 'EXPENSE_VARIANCE';
            INSERT INTO kpi.scoring_rule (kpi_code, level, target, weight, direction) VALUES ('TEST_DRIVE_RATE', 'salesperson', 0.80, 2, 'higher');
            """)
        try await wh.refresh(.full)
    }
}

@Suite("Snapshots: scores, composites, ranks and comparisons")
struct SnapshotScoringTests {
    @Test func scoresCompositesRanksAndComparisons() async throws {
        try await SnapshotWarehouse.with { wh in
            try await SnapScoring.load(wh)
            let t = try await wh.kpis(where: "grain IN ('month', 'quarter', 'year') OR period_start IN ('2025-03-03', '2025-03-05')")
            let m = "2025-03-01"
            func score(_ store: String, _ kpi: String) -> Decimal? { t["store", "month", m, store, kpi]?.score }

            // TEST_DRIVE_RATE, higher, target 1.00:
            #expect(score("P1", "TEST_DRIVE_RATE") == 100)                     // 10/10 = 1.0: target met
            #expect(snapClose(score("P2", "TEST_DRIVE_RATE"), 113))           // 11/10 = 1.1: d = +10 -> 100 + 1.3 x 10
            #expect(snapClose(score("P3", "TEST_DRIVE_RATE"), 97))            // 9/10 = 0.9: d = -10 -> 100 - 0.3 x 10
            #expect(score("P4", "TEST_DRIVE_RATE") == 150)                    // 20/10 = 2.0: d = +100 -> 230, capped at 150
            #expect(t["store", "month", m, "P1", "TEST_DRIVE_RATE"]?.target == 1)
            // INVALID_CARD_RATE, lower, target 0.25, 0.5 points per % below:
            #expect(score("P1", "INVALID_CARD_RATE") == 100)                  // 1/4 = 0.25
            #expect(snapClose(score("P2", "INVALID_CARD_RATE"), 126))         // 1/5 = 0.2: d = (0.25 - 0.2) / 0.25 x 100 = +20 -> 126
            #expect(snapClose(score("P3", "INVALID_CARD_RATE"), 50))          // 2/4 = 0.5: d = -100 -> 100 - 0.5 x 100
            #expect(score("P4", "INVALID_CARD_RATE") == 0)                    // 4/4 = 1.0: d = -300 -> -50, floor 0
            #expect(score("Q1", "INVALID_CARD_RATE") == nil)                  // 0/0: no value, no score
            // EXPENSE_VARIANCE, lower, target 0: deviation in percentage points, d = (0 - V) x 100:
            #expect(snapClose(score("P1", "EXPENSE_VARIANCE"), snapDec("98.5")))  // (10500 - 10000) / 10000 = 0.05: d = -5 -> 98.5
            #expect(snapClose(score("P2", "EXPENSE_VARIANCE"), 113))          // (9000 - 10000) / 10000 = -0.1: d = +10 -> 113
            #expect(score("P4", "EXPENSE_VARIANCE") == 100)                   // 0
            #expect(score("Q1", "EXPENSE_VARIANCE") == 150)                   // (0 - 10000) / 10000 = -1: d = +100 -> 230 -> 150
            #expect(t["store", "month", m, "P3", "EXPENSE_VARIANCE"] == nil)  // no budget: no KPI
            #expect(t["store", "month", m, "P1", "EXPENSE_VARIANCE"]?.target == 0)
            // A level-specific rule wins: salesperson target 0.80, P1-01's 6/6 = 1.0: d = +25 -> 132.5.
            #expect(snapClose(t["salesperson", "month", m, "P1/P1-01", "TEST_DRIVE_RATE"]?.score, snapDec("132.5")))
            // Quarter and year rows are scored too: P1's Feb + Mar test drives (4 + 10) / walk-ins (5 + 10) = 14/15:
            // d = (14/15 - 1) x 100 = -20/3 -> 100 - 0.3 x 20/3 = 98. The month before alone: 4/5 = 0.8: d = -20 -> 94.
            #expect(snapClose(t["store", "quarter", "2025-01-01", "P1", "TEST_DRIVE_RATE"]?.score, 98))
            #expect(snapClose(t["store", "year", "2025-01-01", "P1", "TEST_DRIVE_RATE"]?.score, 98))
            #expect(snapClose(t["store", "month", "2025-02-01", "P1", "TEST_DRIVE_RATE"]?.score, 94))
            // Day and week rows are not scored; measures and unscored ratios never are.
            #expect(t["store", "day", "2025-03-05", "P1", "TEST_DRIVE_RATE"]?.value == 1)
            #expect(t["store", "day", "2025-03-05", "P1", "TEST_DRIVE_RATE"]?.score == nil)
            #expect(t["store", "week", "2025-03-03", "P1", "TEST_DRIVE_RATE"]?.value == 1)
            #expect(t["store", "week", "2025-03-03", "P1", "TEST_DRIVE_RATE"]?.score == nil)
            #expect(t["national", "day", "2025-03-05", "", "TEST_DRIVE_RATE"]?.score == nil)
            #expect(t["store", "month", m, "P1", "TRAFFIC"]?.score == nil)
            #expect(t["store", "month", m, "P1", "AVG_DEAL_PRICE"].map { $0.score == nil && $0.target == nil && $0.value == 100000 } == true)

            // Ranks among the stores of R1, best = 1, direction-aware, ties share the best rank:
            func ranks(_ kpi: String) -> [String?] { ["P1", "P2", "P3", "P4"].map { t["store", "month", m, $0, kpi]?.rank.map(String.init) } }
            func peers(_ kpi: String) -> [Int?] { ["P1", "P2", "P3", "P4"].map { t["store", "month", m, $0, kpi]?.peerCount } }
            #expect(ranks("TEST_DRIVE_RATE") == ["3", "2", "4", "1"])          // 1.0, 1.1, 0.9, 2.0 (higher is better)
            #expect(ranks("INVALID_CARD_RATE") == ["2", "1", "3", "4"])        // 0.25, 0.2, 0.5, 1.0 (lower is better)
            #expect(ranks("ORDERS") == ["1", "1", "3", "3"])                   // 1, 1, 0, 0: ties share the best rank
            #expect(ranks("COLLECTION_RATE") == ["1", "2", nil, nil])          // 1.0, 0.5, NULL, NULL: NULLs unranked
            #expect(peers("COLLECTION_RATE") == [2, 2, 2, 2])                  // peers with a value
            #expect(peers("TEST_DRIVE_RATE") == [4, 4, 4, 4])
            #expect(ranks("WALKIN_GROUPS") == [nil, nil, nil, nil])            // not a ranked measure
            #expect(ranks("AVG_DEAL_PRICE") == [nil, nil, nil, nil])           // no direction
            func rankOf(_ level: String, _ entity: String, _ kpi: String) -> String {
                let v = t[level, "month", m, entity, kpi]
                return "\(v?.rank.map(String.init) ?? "-")/\(v?.peerCount.map(String.init) ?? "-")"
            }
            #expect(rankOf("store", "Q1", "TEST_DRIVE_RATE") == "1/1")   // alone in R2
            // Salespeople within their store: P1-01 6/6 and P1-02 4/4 tie; orders 1 and 0.
            #expect(t["salesperson", "month", m, "P1/P1-01", "TEST_DRIVE_RATE"]?.rank == 1)
            #expect(t["salesperson", "month", m, "P1/P1-02", "TEST_DRIVE_RATE"]?.rank == 1)
            #expect(rankOf("salesperson", "P1/P1-02", "ORDERS") == "2/2")
            // Regions nationally: R1 (10 + 11 + 9 + 20) / 40 = 1.25 before R2 10/10 = 1.0; national rows unranked.
            #expect(rankOf("region", "R1", "TEST_DRIVE_RATE") == "1/2")
            #expect(t["region", "month", m, "R2", "TEST_DRIVE_RATE"]?.rank == 2)
            #expect(t["national", "month", m, "", "TEST_DRIVE_RATE"] != nil && rankOf("national", "", "TEST_DRIVE_RATE") == "-/-")

            // Previous period and a year earlier: P1's March test-drive rate 1.0; February 4/5; March 2024 2/4.
            let p1 = t["store", "month", m, "P1", "TEST_DRIVE_RATE"]
            #expect(snapClose(p1?.prevValue, snapDec("0.8")) && snapClose(p1?.yoyValue, snapDec("0.5")), "\(String(describing: p1))")
            // P2 had no walk-ins in February (0/0) nor in March 2024 (its row exists: the horizon starts 2024-03-05):
            // previous and year-ago values NULL; its ORDERS were 0 in both.
            #expect(t["store", "month", m, "P2", "TEST_DRIVE_RATE"].map { $0.prevValue == nil && $0.yoyValue == nil } == true)
            #expect(t["store", "month", m, "P2", "ORDERS"].map { $0.prevValue == 0 && $0.yoyValue == 0 } == true)
            // Day: the day before (0/0, NULL) and 2024-03-05 (0.5). ISO week 10 of 2025 (from 03-03) compares with
            // week 10 of 2024 (from 2024-03-04): 0.5. Year 2025 (14/15) with 2024 (0.5) as previous and year-ago value.
            let day = t["store", "day", "2025-03-05", "P1", "TEST_DRIVE_RATE"]
            #expect(day?.prevValue == nil && snapClose(day?.yoyValue, snapDec("0.5")))
            #expect(snapClose(t["store", "week", "2025-03-03", "P1", "TEST_DRIVE_RATE"]?.yoyValue, snapDec("0.5")))
            let year = t["store", "year", "2025-01-01", "P1", "TEST_DRIVE_RATE"]
            #expect(snapClose(year?.value, Decimal(14) / Decimal(15)) && snapClose(year?.prevValue, snapDec("0.5")) && snapClose(year?.yoyValue, snapDec("0.5")))
            #expect(t["store", "month", m, "P1", "WALKIN_GROUPS"].map { $0.prevValue == 5 && $0.yoyValue == 4 } == true)

            // Composite = sum(weight x score) / sum(weight) over the weighted KPIs with a value:
            //   P1: (2 x 100 + 1 x 100 + 1 x 98.5) / 4 = 398.5 / 4 = 99.625
            //   P2: (2 x 113 + 1 x 126 + 1 x 113) / 4 = 465 / 4 = 116.25
            //   P3: (2 x 97 + 1 x 50) / 3 = 244 / 3 = 81.333...   (no EXPENSE_VARIANCE: no budget)
            //   P4: (2 x 150 + 1 x 0 + 1 x 100) / 4 = 400 / 4 = 100
            //   Q1: (2 x 100 + 1 x 150) / 3 = 350 / 3 = 116.666... (no INVALID_CARD_RATE: no cards)
            let rows = try await wh.query("""
                SELECT store_code, composite_score::text, total_weight::text, rank, peer_count, national_rank, national_peer_count
                FROM bi.scorecard WHERE level = 'store' AND grain = 'month' AND period_start = '2025-03-01'
                """)
            var card: [String: (Decimal?, Decimal?, Int?, Int?, Int?, Int?)] = [:]
            for r in rows {
                let (s, c, w, rk, pc, nr, np) = try r.decode((String, String?, String?, Int?, Int?, Int?, Int?).self)
                card[s] = (c.map(snapDec), w.map(snapDec), rk, pc, nr, np)
            }
            func expectCard(_ store: String, composite: Decimal, weight: Decimal, rank: Int, peers: Int, nationalRank: Int,
                            sourceLocation: SourceLocation = #_sourceLocation) {
                let c = card[store]
                #expect(c != nil && snapClose(c?.0, composite) && c?.1 == weight && c?.2 == rank && c?.3 == peers && c?.4 == nationalRank && c?.5 == 5,
                        "\(store): \(String(describing: c))", sourceLocation: sourceLocation)
            }
            expectCard("P1", composite: snapDec("99.625"), weight: 4, rank: 3, peers: 4, nationalRank: 4)
            expectCard("P2", composite: snapDec("116.25"), weight: 4, rank: 1, peers: 4, nationalRank: 2)
            expectCard("P3", composite: Decimal(244) / Decimal(3), weight: 3, rank: 4, peers: 4, nationalRank: 5)
            expectCard("P4", composite: 100, weight: 4, rank: 2, peers: 4, nationalRank: 3)
            expectCard("Q1", composite: Decimal(350) / Decimal(3), weight: 3, rank: 1, peers: 1, nationalRank: 1)
            // Salespeople in P1: P1-01 has TD (target 0.80: 132.5, weight 2) and INVALID 1/4 (100, weight 1):
            // (2 x 132.5 + 100) / 3 = 365 / 3; P1-02 only TD 4/4 (132.5): 132.5. Ranked within P1.
            let sp = try await wh.query("""
                SELECT salesperson_code, composite_score::text, rank, peer_count FROM bi.scorecard
                WHERE level = 'salesperson' AND grain = 'month' AND period_start = '2025-03-01' AND store_code = 'P1'
                ORDER BY salesperson_code
                """).map { try $0.decode((String, String, Int, Int).self) }
            #expect(sp.count == 2)
            if sp.count == 2 {
                #expect(sp[0].0 == "P1-01" && snapClose(snapDec(sp[0].1), Decimal(365) / Decimal(3)) && sp[0].2 == 2 && sp[0].3 == 2)
                #expect(sp[1].0 == "P1-02" && snapClose(snapDec(sp[1].1), snapDec("132.5")) && sp[1].2 == 1 && sp[1].3 == 2)
            }
            // Only month, quarter and year rows are in the scorecard.
            #expect(try await wh.strings("SELECT DISTINCT grain FROM bi.scorecard").sorted() == ["month", "quarter", "year"])
        }
    }
}
