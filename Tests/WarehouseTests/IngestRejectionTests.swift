import DailyReport
import Foundation
import Postgres
import Testing
import TestSupport
import Warehouse

/// A file that must be rejected with one issue, leaving the warehouse unchanged.
struct RejectionCase: Sendable, CustomTestStringConvertible {
    var name: String
    var file: String
    var content: String
    var receivedAt: String
    var rule: Rule
    var field: String
    var location: InputLocation
    var value: String?
    var testDescription: String { name }
}

let vinOfS1 = "LFV2A21K8G3000001"

let rejectionCases: [RejectionCase] = [
    RejectionCase(
        name: "business date after the receipt day (in business time)", file: "S1_0305.json",
        content: Report(store: "S1", date: "2026-03-05", visits: [VisitRow(id: "V1")]).json(),
        receivedAt: "2026-03-04T23:59:59+08:00", // 2026-03-04 15:59:59 UTC: still the 4th in Shanghai
        rule: .businessDateAfterReceipt, field: "business_date", location: .jsonPath("$.business_date"), value: "2026-03-05"),
    RejectionCase(
        name: "store not open yet", file: "S3_0309.json",
        content: Report(store: "S3", date: "2026-03-09", visits: [VisitRow(id: "V1", salesperson: "S3-01")]).json(),
        receivedAt: "2026-03-09T21:00:00+08:00",
        rule: .storeNotOpen, field: "store", location: .jsonPath("$.store"), value: "S3"),
    RejectionCase(
        name: "store not open (CSV)", file: "S3_visits.csv",
        content: CSVFile.visits([Report(store: "S1", date: "2026-03-09", visits: [VisitRow(id: "V1")]),
                                 Report(store: "S3", date: "2026-03-09", visits: [VisitRow(id: "V1", salesperson: "S3-01")])]),
        receivedAt: "2026-03-09T21:00:00+08:00",
        rule: .storeNotOpen, field: "store", location: .line(3), value: "S3"),
    RejectionCase(
        name: "unknown model", file: "S1_model.json",
        content: Report(store: "S1", date: "2026-03-03", visits: [VisitRow(id: "V1"), VisitRow(id: "V2", model: "X9")]).json(),
        receivedAt: "2026-03-03T21:00:00+08:00",
        rule: .unknownModel, field: "model", location: .jsonPath("$.visits[1].model"), value: "X9"),
    RejectionCase(
        name: "VIN of another store's order (JSON)", file: "S2_vin.json",
        content: Report(store: "S2", date: "2026-03-03", sales: [
            OrderRow(order: "O-9", salesperson: "S2-01", orderDate: "2026-03-01", status: "delivered", deliveryDate: "2026-03-03",
                     vin: vinOfS1, collected: "152000.00"),
        ]).json(),
        receivedAt: "2026-03-03T21:00:00+08:00",
        rule: .duplicateId, field: "vin", location: .jsonPath("$.sales[0].vin"), value: vinOfS1),
    RejectionCase(
        name: "VIN of another store's order (CSV)", file: "sales_vin.csv",
        content: CSVFile.sales([Report(store: "S2", date: "2026-03-03", sales: [
            OrderRow(order: "O-8", salesperson: "S2-01", orderDate: "2026-03-01", vin: "LFV2A21K8G3000077"),
            OrderRow(order: "O-9", salesperson: "S2-01", orderDate: "2026-03-01", status: "delivered", deliveryDate: "2026-03-03",
                     vin: vinOfS1, collected: "152000.00"),
        ])]),
        receivedAt: "2026-03-03T21:00:00+08:00",
        rule: .duplicateId, field: "vin", location: .line(3), value: vinOfS1),
    RejectionCase(
        name: "NUL byte in a CSV cell", file: "nul_visits.csv",
        content: CSVFile.visits([Report(store: "S1", date: "2026-03-03", visits: [VisitRow(id: "V1"), VisitRow(id: "V\u{0}2"), VisitRow(id: "V3")])]),
        receivedAt: "2026-03-03T21:00:00+08:00",
        rule: .controlCharacter, field: "visit_id", location: .line(3), value: "V\\u{0}2"),
    RejectionCase(
        name: "NUL in a JSON string", file: "nul.json",
        content: Report(store: "S1", date: "2026-03-03", prospects: [
            CardRow(card: "A-9", createdOn: "2026-03-03", status: "lost", closedOn: "2026-03-03", lostReason: "too\u{0}expensive"),
        ]).json(),
        receivedAt: "2026-03-03T21:00:00+08:00",
        rule: .controlCharacter, field: "lost_reason", location: .jsonPath("$.prospects[0].lost_reason"), value: "too\\u{0}expensive"),
]

@Suite("Ingest: rejections change nothing")
struct IngestRejectionTests {
    @Test(arguments: rejectionCases)
    func rejectedFileLeavesTheDatabaseUnchanged(_ c: RejectionCase) async throws {
        try await TestWarehouse.with { wh in
            // Some state to keep: S1's report of the 2nd, with order O-1 delivered with `vinOfS1`.
            try await wh.accept(flagReport(store: "S1", salesperson: "S1-01", vin: vinOfS1), receivedAt: "2026-03-02T21:30:00+08:00")
            let counts = try await wh.coreCounts()
            let before = try await wh.coreFingerprint()

            let result = try await wh.ingest(c.file, c.content, receivedAt: c.receivedAt)
            let rejection = try #require(result.rejection, "expected \(c.file) to be rejected")
            #expect(!result.isAccepted)
            #expect(result.storeDays.isEmpty)
            #expect(rejection.issues.count == 1, "\(rejection)")
            let issue = try #require(rejection.issues.first)
            #expect(issue.rule == c.rule)
            #expect(issue.file == c.file)
            #expect(issue.field == c.field)
            #expect(issue.location == c.location)
            #expect(issue.value == c.value)

            #expect(try await wh.coreCounts() == counts)
            #expect(try await wh.coreFingerprint() == before)
        }
    }

    @Test func badLastRowOfALargeCSVRejectsTheWholeFile() async throws {
        try await TestWarehouse.with { wh in
            try await wh.accept(flagReport(store: "S1", salesperson: "S1-01", vin: vinOfS1), receivedAt: "2026-03-02T21:30:00+08:00")
            try await wh.accept(Report(store: "S2", date: "2026-03-04", visits: [VisitRow(id: "OLD-1", salesperson: "S2-01")]),
                                receivedAt: "2026-03-04T12:00:00+08:00")
            let counts = try await wh.coreCounts()
            let before = try await wh.coreFingerprint()

            let n = 50_000
            func file(lastSalesperson: String) -> String {
                var text = CSVFile.visitHeader + "\r\n"
                text.reserveCapacity(n * 64)
                let channels = ["walk_in", "phone", "event"]
                for i in 1...n {
                    let v = VisitRow(id: "V\(i)", channel: channels[i % 3], salesperson: i == n ? lastSalesperson : "S2-01",
                                     model: i % 5 == 0 ? nil : "M2", newCard: i % 2 == 0 ? "A-\(i)" : nil)
                    text += CSVFile.visitRow(i % 1000 == 0 ? "S1" : "S2", "2026-03-04", v)
                }
                return text
            }
            let bad = try await wh.ingest("big_visits.csv", file(lastSalesperson: "NOPE-99"), receivedAt: "2026-03-04T21:30:00+08:00")
            let rejection = try #require(bad.rejection)
            #expect(rejection.issues.count == 1, "\(rejection)")
            let issue = try #require(rejection.issues.first)
            #expect(issue.rule == .unknownSalesperson)
            #expect(issue.location == .line(n + 1)) // the header is line 1
            #expect(issue.field == "salesperson")
            #expect(issue.value == "NOPE-99")
            #expect(issue.message.contains("NOPE-99"))

            let after = try await wh.coreCounts()
            #expect(after == counts)
            for table in ["ingested_file", "report_submission", "kpi_change", "visit", "store_day_report"] {
                #expect(after[table] == counts[table], "core.\(table)")
            }
            #expect(try await wh.coreFingerprint() == before)

            // The same file with a known salesperson on its last row is accepted: all 50,000 rows were streamed.
            let good = try await wh.ingest("big_visits_fixed.csv", file(lastSalesperson: "S2-01"), receivedAt: "2026-03-04T21:30:00+08:00")
            #expect(good.isAccepted, "\(String(describing: good.rejection))")
            #expect(good.visitRows == n)
            #expect(try await wh.count("core.visit", "business_date = '2026-03-04'") == n) // S2's OLD-1 replaced
            #expect(try await wh.count("core.visit", "visit_id = 'OLD-1'") == 0)
            #expect(try await wh.string("SELECT current_version::text FROM core.store_day_report WHERE store_code = 'S2' AND business_date = '2026-03-04'") == "2")
        }
    }

    @Test func hostileTextIsStoredVerbatim() async throws {
        try await TestWarehouse.with { wh in
            let injection = "'); DROP TABLE core.visit; --"
            let cardInjection = "x'); DELETE FROM core.prospect_card; --"
            let orderInjection = "O'||pg_sleep(5)||'"
            let report = Report(
                store: "S1", date: "2026-03-03",
                visits: [VisitRow(id: injection, newCard: cardInjection), VisitRow(id: "V2")],
                prospects: [CardRow(card: cardInjection, createdOn: "2026-03-03", status: "lost", closedOn: "2026-03-03",
                                    lostReason: injection)],
                sales: [OrderRow(order: orderInjection, card: cardInjection, orderDate: "2026-03-03")])
            try await wh.accept(report, receivedAt: "2026-03-03T21:00:00+08:00")
            #expect(try await wh.strings("SELECT visit_id FROM core.visit ORDER BY visit_id") == [injection, "V2"].sorted())
            #expect(try await wh.string("SELECT new_card FROM core.visit WHERE visit_id = \(injection)") == cardInjection)
            #expect(try await wh.strings("SELECT card_id || '|' || lost_reason FROM core.prospect_card") == [cardInjection + "|" + injection])
            #expect(try await wh.strings("SELECT order_id || '|' || card_id FROM core.sales_order") == [orderInjection + "|" + cardInjection])

            // Spreadsheet formulas in free text (CSV): stored as the text they are, not evaluated or altered.
            let formulas = ["=cmd|' /C calc'!A0", "+SUM(1,2)", "@A1", "-2+3", "=HYPERLINK(\"http://x\",\"y\")"]
            let cards = formulas.enumerated().map { i, f in
                CardRow(card: "F-\(i)", createdOn: "2026-03-03", status: "lost", closedOn: "2026-03-03", lostReason: f)
            }
            let r = try await wh.ingest("formulas.csv", CSVFile.prospects([Report(store: "S1", date: "2026-03-03", prospects: cards)]),
                                        receivedAt: "2026-03-03T21:00:00+08:00")
            #expect(r.isAccepted, "\(String(describing: r.rejection))")
            #expect(try await wh.strings("SELECT lost_reason FROM core.prospect_card WHERE card_id LIKE 'F-%' ORDER BY card_id") == formulas)
            #expect(try await wh.count("core.visit") == 2)
            #expect(try await wh.count("core.prospect_card") == 1 + formulas.count)
        }
    }
}
