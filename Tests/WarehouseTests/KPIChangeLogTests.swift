import DailyReport
import Foundation
import Postgres
import Testing
import TestSupport
import Warehouse

@Suite("Ingest: the KPI change log")
struct KPIChangeLogTests {
    /// The change-log rows written after `afterID`, as `reason first last` (last `open` when NULL).
    func changes(_ wh: TestWarehouse, after afterID: Int) async throws -> [String] {
        try await wh.strings("""
            SELECT reason || ' ' || store_code || ' ' || first_date || ' ' || coalesce(last_date::text, 'open')
            FROM core.kpi_change WHERE change_id > \(afterID) ORDER BY reason, first_date, change_id
            """)
    }

    func lastChange(_ wh: TestWarehouse) async throws -> Int {
        try await wh.int("SELECT coalesce(max(change_id), 0) FROM core.kpi_change")
    }

    @Test func closingACardLogsFromTheClosingDayToOpenEnd() async throws {
        try await TestWarehouse.with { wh in
            var mark = try await lastChange(wh)
            try await wh.accept(Report(store: "S1", date: "2026-03-02", prospects: [CardRow(card: "K", createdOn: "2026-03-02")]),
                                receivedAt: "2026-03-02T21:30:00+08:00")
            // A new open card counts from its creation on, with no end.
            #expect(try await changes(wh, after: mark) == ["prospects S1 2026-03-02 open", "report S1 2026-03-02 2026-03-02"])

            mark = try await lastChange(wh)
            try await wh.accept(Report(store: "S1", date: "2026-03-05", prospects: [
                CardRow(card: "K", createdOn: "2026-03-02", status: "lost", closedOn: "2026-03-05", lostReason: "预算不足"),
            ]), receivedAt: "2026-03-05T21:30:00+08:00")
            let logged = try await changes(wh, after: mark)
            #expect(logged.contains("prospects S1 2026-03-05 open"), "\(logged)")
            // Closing changes the held stock from the closing day on, not the days before it.
            #expect(try await wh.int("""
                SELECT count(*) FROM core.kpi_change WHERE change_id > \(mark) AND reason = 'prospects' AND first_date < '2026-03-05'
                """) == 0)
            #expect(logged == ["prospects S1 2026-03-05 open", "report S1 2026-03-05 2026-03-05"])

            // Re-sending the same report is a duplicate (contract 1.1): nothing at all is logged.
            mark = try await lastChange(wh)
            try await wh.accept(Report(store: "S1", date: "2026-03-05", prospects: [
                CardRow(card: "K", createdOn: "2026-03-02", status: "lost", closedOn: "2026-03-05", lostReason: "预算不足"),
            ]), name: "again.json", receivedAt: "2026-03-06T08:00:00+08:00")
            #expect(try await changes(wh, after: mark) == [])

            // A correction that keeps the card's counted state (only the free-text reason changes) changes no
            // card count: only the report itself is logged.
            try await wh.accept(Report(store: "S1", date: "2026-03-05", prospects: [
                CardRow(card: "K", createdOn: "2026-03-02", status: "lost", closedOn: "2026-03-05", lostReason: "预算不足,已购他牌"),
            ]), name: "corr.json", receivedAt: "2026-03-06T09:00:00+08:00")
            #expect(try await changes(wh, after: mark) == ["report S1 2026-03-05 2026-03-05"])
        }
    }

    @Test func visitsOnlyReportLogsExactlyItsBusinessDate() async throws {
        try await TestWarehouse.with { wh in
            try await wh.accept(Report(store: "S2", date: "2026-03-02", visits: [VisitRow(id: "V1", salesperson: "S2-01")],
                                       prospects: [CardRow(card: "K", createdOn: "2026-03-02", salesperson: "S2-01")]),
                                receivedAt: "2026-03-02T21:30:00+08:00")
            let mark = try await lastChange(wh)
            try await wh.accept(Report(store: "S2", date: "2026-03-06", visits: [VisitRow(id: "V1", salesperson: "S2-01"),
                                                                                 VisitRow(id: "V2", channel: "phone", salesperson: "S2-01")]),
                                receivedAt: "2026-03-06T21:30:00+08:00")
            let logged = try await changes(wh, after: mark)
            #expect(!logged.isEmpty)
            #expect(logged.allSatisfy { $0.hasSuffix(" S2 2026-03-06 2026-03-06") }, "\(logged)")
            #expect(Set(logged.map { $0.split(separator: " ")[0] }) == ["report", "visits"])

            // An empty visits section empties the day, and logs that day only.
            let mark2 = try await lastChange(wh)
            try await wh.accept(Report(store: "S2", date: "2026-03-06", visits: []), name: "empty.json", receivedAt: "2026-03-07T08:00:00+08:00")
            #expect(try await wh.count("core.visit", "business_date = '2026-03-06'") == 0)
            #expect(try await changes(wh, after: mark2).allSatisfy { $0.hasSuffix(" S2 2026-03-06 2026-03-06") })
            #expect(try await wh.count("core.visit", "business_date = '2026-03-02'") == 1)
        }
    }
}
