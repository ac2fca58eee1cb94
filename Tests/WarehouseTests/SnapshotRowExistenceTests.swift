import Foundation
import Postgres
import Testing
import TestSupport
import Warehouse

// Which rows exist (kpi-catalog.md "Which rows exist").
//
// Region E: E1 (open since 2020), E2 (opens 2025-06-18), E3 (closes: closed_on 2025-06-12, last day 06-11).
// Region W: W1, which opens 2025-07-02, after the horizon.
// Salespeople: E1-01 (E1, since 2020); E1-02 (E1, hired 2025-06-16); E1-03 (E1, left_on 2025-06-10: last day
// 06-09); E2-01 (E2, hired 06-18); E3-01 (E3, left with the store on 06-12); W1-01 (W1, hired 07-02).
// Reports: E1 on 2025-06-02 (E1-01's walk-in; E1-03 creates card C3) and on 2025-06-22 (C3 lost on 06-12).
// Horizon 2025-06-02 (Mon) .. 2025-06-22 (Sun): 21 days, ISO weeks 06-02, 06-09, 06-16, June, 2025-Q2, 2025.

enum SnapExistence {
    static let master: [(String, String)] = [
        ("regions.csv", "region_code,region_name\nE,东区\nW,西区\n"),
        ("stores.csv", """
            store_code,store_name,region_code,city,opened_on,closed_on
            E1,东一店,E,,2020-01-01,
            E2,东二店,E,,2025-06-18,
            E3,东三店,E,,2020-01-01,2025-06-12
            W1,西一店,W,,2025-07-02,

            """),
        ("salespeople.csv", """
            salesperson_code,name,store_code,hired_on,left_on
            E1-01,张一,E1,2020-01-01,
            E1-02,张二,E1,2025-06-16,
            E1-03,张三丰,E1,2020-01-01,2025-06-10
            E2-01,李一,E2,2025-06-18,
            E3-01,王一,E3,2020-01-01,2025-06-12
            W1-01,赵一,W1,2025-07-02,

            """),
        ("models.csv", "model_code,model_name\nM1,华驰 S50\n"),
        // A June plan at E1 for E3-01, who never works at E1: a plan row alone makes a salesperson row.
        ("plans.csv", "month,store_code,salesperson_code,kpi,value\n2025-06,E1,E3-01,PLAN_DELIVERIES,2\n"),
    ]

    /// Every date from `first` to `last` (inclusive), as text.
    static func days(_ first: String, _ last: String) -> [String] {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd"
        var out: [String] = []
        var d = f.date(from: first)!
        let end = f.date(from: last)!
        while d <= end {
            out.append(f.string(from: d))
            d = d.addingTimeInterval(86_400)
        }
        return out
    }

    /// The expected `grain period_start` keys: the given days, weeks, and June / 2025-Q2 / 2025.
    static func periods(days first: String, _ last: String, weeks: [String]) -> Set<String> {
        Set(days(first, last).map { "day \($0)" } + weeks.map { "week \($0)" }
            + ["month 2025-06-01", "quarter 2025-04-01", "year 2025-01-01"])
    }
}

@Suite("Snapshots: which rows exist")
struct SnapshotRowExistenceTests {
    @Test func storesOpeningAndClosingSalespeopleHiredAndLeavingAndNationalRows() async throws {
        try await SnapshotWarehouse.with { wh in
            try await wh.load(SnapExistence.master)
            try await wh.ingest(SnapReport(store: "E1", date: "2025-06-02",
                                           visits: [SnapVisit(id: "V1", salesperson: "E1-01")],
                                           prospects: [SnapCard(card: "C3", createdOn: "2025-06-02", salesperson: "E1-03")]),
                                receivedAt: "2025-06-02T21:00:00+08:00")
            try await wh.refresh()
            try await wh.ingest(SnapReport(store: "E1", date: "2025-06-22", visits: [],
                                           prospects: [SnapCard(card: "C3", createdOn: "2025-06-02", salesperson: "E1-03",
                                                                status: "lost", closedOn: "2025-06-12")]),
                                receivedAt: "2025-06-22T21:00:00+08:00")
            let incremental = try await wh.refresh()
            #expect(incremental.mode == .incremental)
            try await check(wh)
            let full = try await wh.refresh(.full)
            #expect(full.written == 0 && full.superseded == 0, "\(full)")
            try await check(wh)
        }
    }

    func check(_ wh: SnapshotWarehouse) async throws {
        var keys: [String: Set<String>] = [:]
        for row in try await wh.query("SELECT level, entity, grain || ' ' || period_start FROM kpi.snapshot") {
            let (level, entity, key) = try row.decode((String, String, String).self)
            keys["\(level) \(entity)", default: []].insert(key)
        }
        let allWeeks = ["2025-06-02", "2025-06-09", "2025-06-16"]
        let everything = SnapExistence.periods(days: "2025-06-02", "2025-06-22", weeks: allWeeks)
        let expected: [String: Set<String>] = [
            // National: every period overlapping the horizon, 21 + 3 + 1 + 1 + 1 = 27.
            "national ": everything,
            // Region E has an open store every day; region W's only store opens after the horizon: no rows.
            "region E": everything,
            "store E1": everything,
            // E2 opens 06-18: days 06-18..22 and the week of 06-16.
            "store E2": SnapExistence.periods(days: "2025-06-18", "2025-06-22", weeks: ["2025-06-16"]),
            // E3 is open 06-02..06-11: weeks of 06-02 and 06-09.
            "store E3": SnapExistence.periods(days: "2025-06-02", "2025-06-11", weeks: ["2025-06-02", "2025-06-09"]),
            "salesperson E1/E1-01": everything,
            // Hired 06-16.
            "salesperson E1/E1-02": SnapExistence.periods(days: "2025-06-16", "2025-06-22", weeks: ["2025-06-16"]),
            // Employed 06-02..06-09, then still holding C3 on 06-10 and 06-11, and losing it on 06-12 (LOST 1):
            // rows to 06-12; nothing in the week of 06-16.
            "salesperson E1/E1-03": SnapExistence.periods(days: "2025-06-02", "2025-06-12", weeks: ["2025-06-02", "2025-06-09"]),
            "salesperson E2/E2-01": SnapExistence.periods(days: "2025-06-18", "2025-06-22", weeks: ["2025-06-16"]),
            "salesperson E3/E3-01": SnapExistence.periods(days: "2025-06-02", "2025-06-11", weeks: ["2025-06-02", "2025-06-09"]),
            // Only the periods of its plan row (plans exist from month up).
            "salesperson E1/E3-01": ["month 2025-06-01", "quarter 2025-04-01", "year 2025-01-01"],
        ]
        #expect(Set(keys.keys) == Set(expected.keys), "entities: \(keys.keys.sorted())")
        for (entity, want) in expected.sorted(by: { $0.key < $1.key }) {
            let got = keys[entity] ?? []
            #expect(got == want, "\(entity): missing \(want.subtracting(got).sorted()), unexpected \(got.subtracting(want).sorted())")
        }

        let t = try await wh.kpis()
        // Active salespeople on the period's last day (left_on exclusive, hired_on inclusive).
        #expect(t.value("store", "day", "2025-06-09", "E1", "ACTIVE_SALESPEOPLE") == 2)    // E1-01, E1-03 (last day)
        #expect(t.value("store", "day", "2025-06-10", "E1", "ACTIVE_SALESPEOPLE") == 1)    // E1-01
        #expect(t.value("store", "day", "2025-06-16", "E1", "ACTIVE_SALESPEOPLE") == 2)    // E1-01, E1-02 (first day)
        #expect(t.value("store", "week", "2025-06-02", "E1", "ACTIVE_SALESPEOPLE") == 2)   // on 06-08: E1-01, E1-03
        #expect(t.value("store", "week", "2025-06-09", "E1", "ACTIVE_SALESPEOPLE") == 1)   // on 06-15: E1-01
        #expect(t.value("store", "month", "2025-06-01", "E1", "ACTIVE_SALESPEOPLE") == 2)  // on 06-30: E1-01, E1-02
        #expect(t.value("store", "month", "2025-06-01", "E3", "ACTIVE_SALESPEOPLE") == 0)  // E3-01 left on 06-12
        #expect(t.value("store", "month", "2025-06-01", "E2", "ACTIVE_SALESPEOPLE") == 1)
        #expect(t.value("region", "day", "2025-06-02", "E", "ACTIVE_SALESPEOPLE") == 3)    // E1-01, E1-03, E3-01
        #expect(t.value("national", "month", "2025-06-01", "", "ACTIVE_SALESPEOPLE") == 3)   // 2 + 1 + 0
        // Reports expected only on the days a store is open within the horizon.
        #expect(t.value("store", "month", "2025-06-01", "E1", "REPORTS_EXPECTED") == 21)
        #expect(t.value("store", "month", "2025-06-01", "E2", "REPORTS_EXPECTED") == 5)    // 06-18..22
        #expect(t.value("store", "month", "2025-06-01", "E3", "REPORTS_EXPECTED") == 10)   // 06-02..11
        #expect(t.value("store", "week", "2025-06-09", "E3", "REPORTS_EXPECTED") == 3)     // 06-09, 10, 11
        #expect(t.value("store", "week", "2025-06-16", "E2", "REPORTS_EXPECTED") == 5)
        #expect(t.value("national", "month", "2025-06-01", "", "REPORTS_EXPECTED") == 36)   // 21 + 5 + 10
        #expect(t.value("national", "month", "2025-06-01", "", "REPORTS_RECEIVED") == 2)
        // The salesperson who left keeps a row while holding a card, then the loss.
        #expect(t.value("salesperson", "day", "2025-06-11", "E1/E1-03", "HELD_A_CARDS") == 1)
        #expect(t.value("salesperson", "day", "2025-06-12", "E1/E1-03", "HELD_A_CARDS") == 0)
        #expect(t.value("salesperson", "day", "2025-06-12", "E1/E1-03", "LOST_PROSPECTS") == 1)
        #expect(t.value("salesperson", "month", "2025-06-01", "E1/E1-03", "NEW_A_CARDS") == 1)
        let plan = t["salesperson", "month", "2025-06-01", "E1/E3-01", "PLAN_ACHIEVEMENT"]
        #expect(plan?.numerator == 0 && plan?.denominator == 2)
        #expect(t.value("store", "quarter", "2025-04-01", "E1", "PLAN_DELIVERIES") == 2)   // the sum of its salespeople's rows
        // Zero rows carry every KPI of their level: 16 measures + 9 ratios for a salesperson day; + 5 measures
        // and 3 ratios for a store day.
        #expect(t.row("salesperson", "day", "2025-06-20", "E2/E2-01").count == 25)
        #expect(t.row("store", "day", "2025-06-20", "E2").count == 33)
        // A store month without plans or budget: + EXPENSE (0); no plan KPIs.
        #expect(t.row("store", "month", "2025-06-01", "E2").count == 34)
        #expect(t.value("store", "month", "2025-06-01", "E2", "EXPENSE") == 0)
    }
}

@Suite("Snapshots: reports expected once due")
struct SnapshotDueTests {
    /// A store-day is expected once its due time (next day 10:00) has passed or its report has arrived: on the
    /// latest business date (today) a store that has not reported yet is not missing. Uses the real clock.
    @Test func todayIsNotExpectedBeforeItsReportOrDueTime() async throws {
        try await SnapshotWarehouse.with { wh in
            try await wh.load(SnapHistory.master)
            let today = try await wh.string("SELECT core.business_day(now())::text")!
            let twoDaysAgo = try await wh.string("SELECT (core.business_day(now()) - 2)::text")!
            let yesterday = try await wh.string("SELECT (core.business_day(now()) - 1)::text")!
            let now = Date()
            for (store, date) in [("S1", twoDaysAgo), ("S2", twoDaysAgo), ("S2", yesterday), ("S1", today)] {
                let path = try wh.write("due/\(store)_\(date).json", SnapHistory.walkIns(store, date, 1).json())
                let r = try await wh.ingestor.ingest(path: path, receivedAt: now)
                #expect(r.isAccepted, "\(String(describing: r.rejection))")
            }
            try await wh.refresh()
            let t = try await wh.kpis(where: "grain = 'day'")
            #expect(t.value("store", "day", today, "S1", "REPORTS_EXPECTED") == 1)        // arrived
            #expect(t.value("store", "day", today, "S1", "REPORTS_ON_TIME") == 1)
            #expect(t.value("store", "day", today, "S2", "REPORTS_EXPECTED") == 0)        // due tomorrow 10:00
            #expect(t["store", "day", today, "S2", "REPORT_TIMELINESS"].map { $0.value == nil && $0.denominator == 0 } == true)
            #expect(t.value("store", "day", twoDaysAgo, "S2", "REPORTS_EXPECTED") == 1)
            #expect(t.value("national", "day", today, "", "REPORTS_EXPECTED") == 1)
        }
    }
}
