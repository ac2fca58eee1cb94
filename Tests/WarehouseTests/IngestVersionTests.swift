import DailyReport
import Foundation
import Postgres
import Testing
import TestSupport
import Warehouse

@Suite("Ingest: versions, corrections and timeliness")
struct IngestVersionTests {
    @Test func sameFileReceivedLaterIsADuplicate_aChangedOneACorrection() async throws {
        try await TestWarehouse.with { wh in
            let report = flagReport(store: "S1", salesperson: "S1-01", vin: "LFV2A21K8G3000001")
            let first = try await wh.accept(report, name: "S1_20260302.json", receivedAt: "2026-03-02T21:30:00+08:00")
            #expect(first.storeDays.map(\.version) == [1])
            let facts = try await factProjection(wh, store: "S1")

            // Contract 1.1: the same content again is a duplicate, never a correction.
            let again = try await wh.accept(report, name: "S1_20260302.json", receivedAt: "2026-03-03T09:00:00+08:00")
            #expect(again.storeDays.map(\.version) == [1] && again.isDuplicate)
            #expect(try await factProjection(wh, store: "S1") == facts)
            #expect(try await wh.count("core.report_submission") == 1)

            // One visit changed: a correction, version 2, its whole report applied.
            var changed = report
            changed.visits![3].purpose = "after_sales"
            let corrected = try await wh.accept(changed, name: "S1_20260302_corr1.json", receivedAt: "2026-03-03T09:00:00+08:00")
            #expect(corrected.storeDays.map(\.version) == [2] && !corrected.isDuplicate)
            #expect(try await wh.count("core.visit") == 10)
            #expect(try await wh.count("core.prospect_card") == 5)
            #expect(try await wh.count("core.sales_order") == 2)
            #expect(try await wh.strings("SELECT version || ' ' || received_at || ' ' || on_time FROM core.report_submission ORDER BY submission_id")
                    == ["1 2026-03-02 13:30:00+00 true", "2 2026-03-03 01:00:00+00 true"])
            #expect(try await wh.string("""
                SELECT current_version || ' ' || first_received_at || ' ' || current_received_at || ' ' || on_time
                FROM core.store_day_report
                """) == "2 2026-03-02 13:30:00+00 2026-03-03 01:00:00+00 true")
            // The stored card and order states now come from version 2.
            #expect(try await wh.int("""
                SELECT count(*) FROM core.prospect_card c JOIN core.report_submission s USING (submission_id) WHERE s.version = 2
                """) == 5)

            // The correction re-sent: a duplicate of version 2.
            let third = try await wh.accept(changed, name: "S1_20260302_corr1.json", receivedAt: "2026-03-03T09:30:00+08:00")
            #expect(third.storeDays.map(\.version) == [2] && third.isDuplicate)
            #expect(try await wh.strings("SELECT version::text FROM core.report_submission ORDER BY submission_id") == ["1", "2"])
            #expect(try await wh.string("SELECT current_version::text FROM core.store_day_report") == "2")
        }
    }

    @Test func sameFileTwiceWithTheSameReceiptTimeIsADuplicateOfVersionOne() async throws {
        try await TestWarehouse.with { wh in
            let report = flagReport(store: "S1", salesperson: "S1-01", vin: "LFV2A21K8G3000001")
            try await wh.accept(report, receivedAt: "2026-03-02T21:30:00+08:00")
            let facts = try await factProjection(wh, store: "S1")
            let again = try await wh.accept(report, receivedAt: "2026-03-02T21:30:00+08:00")
            #expect(again.storeDays.map(\.version) == [1] && again.isDuplicate)
            #expect(try await wh.strings("SELECT version::text FROM core.report_submission ORDER BY submission_id") == ["1"])
            #expect(try await wh.string("SELECT current_version::text FROM core.store_day_report") == "1")
            #expect(try await factProjection(wh, store: "S1") == facts)
        }
    }

    @Test func correctionReplacesVisitsAndUpdatesCardsAndOrdersKeepingHistory() async throws {
        try await TestWarehouse.with { wh in
            let d = "2026-03-02"
            let original = Report(
                store: "S1", date: d,
                visits: [VisitRow(id: "V1", newCard: "C1"), VisitRow(id: "V2"), VisitRow(id: "V3", channel: "phone")],
                prospects: [CardRow(card: "C1", createdOn: d, customerName: "客户"), CardRow(card: "C2", createdOn: d, phone: "13700001111")],
                sales: [OrderRow(order: "O1", card: "C0", orderDate: "2026-02-27", collected: "5000")])
            try await wh.accept(original, receivedAt: "2026-03-02T21:30:00+08:00")
            #expect(try await wh.string("SELECT is_valid || ' ' || array_to_string(invalid_reasons, ',') FROM core.prospect_card WHERE card_id = 'C1'")
                    == "false name_placeholder")

            var corrected = original
            corrected.visits = [VisitRow(id: "V1", newCard: "C1"), VisitRow(id: "V2", purpose: "after_sales")]
            corrected.prospects = [CardRow(card: "C1", createdOn: d, customerName: "李明")]
            corrected.sales = [OrderRow(order: "O1", card: "C0", orderDate: "2026-02-27", status: "delivered", deliveryDate: d,
                                        vin: "LFV2A21K8G3000009", collected: "152000.00")]
            let r = try await wh.accept(corrected, name: "S1_20260302_corr1.json", receivedAt: "2026-03-07T15:40:00+08:00")
            #expect(r.storeDays.map(\.version) == [2])
            let v2 = try await wh.int("SELECT submission_id FROM core.report_submission WHERE version = 2")

            #expect(try await wh.strings("SELECT visit_id || ' ' || purpose || ' ' || walkin_group FROM core.visit ORDER BY visit_id")
                    == ["V1 purchase true", "V2 after_sales false"])
            #expect(try await wh.int("SELECT count(*) FROM core.visit WHERE submission_id <> \(v2)") == 0)
            #expect(try await wh.string("""
                SELECT customer_name_masked || ' ' || is_valid || ' ' || cardinality(invalid_reasons) || ' ' || submission_id
                FROM core.prospect_card WHERE card_id = 'C1'
                """) == "李* true 0 \(v2)")
            // C2 was not in the correction: it keeps its state from version 1.
            #expect(try await wh.string("SELECT (submission_id < \(v2))::text FROM core.prospect_card WHERE card_id = 'C2'") == "true")
            #expect(try await wh.strings("""
                SELECT card_id || ' ' || customer_name_masked || ' ' || is_valid || ' ' || array_to_string(invalid_reasons, ',')
                       || ' ' || (replaced_by_submission = \(v2))
                FROM core.prospect_card_history ORDER BY card_id
                """) == ["C1 客* false name_placeholder true"])
            #expect(try await wh.string("SELECT status || ' ' || delivery_date || ' ' || vin || ' ' || collected FROM core.sales_order WHERE order_id = 'O1'")
                    == "delivered 2026-03-02 LFV2A21K8G3000009 152000.00")
            #expect(try await wh.strings("""
                SELECT order_id || ' ' || status || ' ' || coalesce(vin, '-') || ' ' || collected || ' ' || (replaced_by_submission = \(v2))
                FROM core.sales_order_history
                """) == ["O1 ordered - 5000.00 true"])
        }
    }

    @Test func lateCorrectionOfAnOldDayNeverRevertsANewerState() async throws {
        try await TestWarehouse.with { wh in
            let d1 = "2026-03-02", d2 = "2026-03-03"
            let day1 = Report(store: "S1", date: d1,
                              visits: [VisitRow(id: "V1", newCard: "K"), VisitRow(id: "V2"), VisitRow(id: "V3")],
                              prospects: [CardRow(card: "K", createdOn: d1, level: "H")],
                              sales: [OrderRow(order: "Q", card: "K", orderDate: d1, collected: "5000")])
            try await wh.accept(day1, receivedAt: "2026-03-02T21:30:00+08:00")
            let day2 = Report(store: "S1", date: d2,
                              visits: [VisitRow(id: "V1", existingCard: "K")],
                              prospects: [CardRow(card: "K", createdOn: d1, level: "H", status: "ordered", closedOn: d2)],
                              sales: [OrderRow(order: "Q", card: "K", orderDate: d1, status: "delivered", deliveryDate: d2,
                                               vin: "LFV2A21K8G3000042", collected: "152000.00")])
            try await wh.accept(day2, receivedAt: "2026-03-03T21:30:00+08:00")
            let stateAfterDay2 = try await factProjection(wh, store: "S1")

            // The 2nd is re-sent on the 4th with an older view of K and Q (and fewer visits).
            var late = day1
            late.visits = [VisitRow(id: "V1", newCard: "K")]
            late.prospects = [CardRow(card: "K", createdOn: d1, level: "B")]
            late.sales = [OrderRow(order: "Q", card: "K", orderDate: d1, collected: "8000")]
            let r = try await wh.accept(late, name: "S1_20260302_corr1.json", receivedAt: "2026-03-04T10:00:00+08:00")
            #expect(r.storeDays.map { "\($0.businessDate) v\($0.version)" } == ["2026-03-02 v2"])

            #expect(try await wh.string("SELECT status || ' ' || level || ' ' || closed_on || ' @' || state_business_date FROM core.prospect_card WHERE card_id = 'K'")
                    == "ordered H 2026-03-03 @2026-03-03")
            #expect(try await wh.string("SELECT status || ' ' || collected || ' @' || state_business_date FROM core.sales_order WHERE order_id = 'Q'")
                    == "delivered 152000.00 @2026-03-03")
            // The correction still replaces its own day's visits.
            #expect(try await wh.strings("SELECT business_date || ' ' || visit_id FROM core.visit ORDER BY 1")
                    == ["2026-03-02 V1", "2026-03-03 V1"])
            let withoutDay1Visits = stateAfterDay2.filter { !$0.hasPrefix("2026-03-02 V") }
            #expect(try await factProjection(wh, store: "S1").filter { !$0.hasPrefix("2026-03-02 V") } == withoutDay1Visits)
            // Nothing claims the late correction replaced the newer states.
            #expect(try await wh.int("""
                SELECT count(*) FROM core.prospect_card_history h JOIN core.report_submission s ON s.submission_id = h.replaced_by_submission
                WHERE s.business_date = '2026-03-02' AND s.version = 2
                """) == 0)
        }
    }

    @Test func timelinessUsesTheStatedReceiptTimeAndTheBusinessTimeZone() async throws {
        try await TestWarehouse.with { wh in
            // Due: business_date + 1 at 10:00 Asia/Shanghai, inclusive.
            let onTime = try await wh.accept(Report(store: "S1", date: "2026-03-02", visits: [VisitRow(id: "V1")]),
                                             receivedAt: "2026-03-03T10:00:00+08:00")
            #expect(onTime.receivedAt == at("2026-03-03T02:00:00Z"))
            try await wh.accept(Report(store: "S2", date: "2026-03-02", visits: [VisitRow(id: "V1", salesperson: "S2-01")]),
                                receivedAt: "2026-03-03T10:00:01+08:00")
            #expect(try await wh.strings("""
                SELECT store_code || ' ' || due_at || ' ' || first_received_at || ' ' || on_time FROM core.store_day_report ORDER BY store_code
                """) == ["S1 2026-03-03 02:00:00+00 2026-03-03 02:00:00+00 true", "S2 2026-03-03 02:00:00+00 2026-03-03 02:00:01+00 false"])
            #expect(try await wh.strings("SELECT store_code || ' ' || on_time FROM core.report_submission ORDER BY store_code")
                    == ["S1 true", "S2 false"])
            #expect(try await wh.strings("SELECT received_at::text FROM core.ingested_file ORDER BY file_id")
                    == ["2026-03-03 02:00:00+00", "2026-03-03 02:00:01+00"])

            // A late correction does not change the timeliness of version 1.
            let corr = try await wh.accept(Report(store: "S1", date: "2026-03-02", visits: [VisitRow(id: "V1"), VisitRow(id: "V2")]),
                                           name: "S1_corr.json", receivedAt: "2026-03-05T12:00:00+08:00")
            #expect(corr.storeDays.map(\.version) == [2])
            #expect(try await wh.string("SELECT current_version || ' ' || on_time || ' ' || first_received_at || ' ' || current_received_at FROM core.store_day_report WHERE store_code = 'S1'")
                    == "2 true 2026-03-03 02:00:00+00 2026-03-05 04:00:00+00")
            #expect(try await wh.string("SELECT on_time::text FROM core.report_submission WHERE store_code = 'S1' AND version = 2") == "false")

            // The receipt day is the business day of the receipt time: 16:00 UTC on the 4th is already the 5th in Shanghai.
            let midnight = try await wh.accept(Report(store: "S2", date: "2026-03-05", visits: [VisitRow(id: "V1", salesperson: "S2-01")]),
                                               receivedAt: "2026-03-04T16:00:00Z")
            #expect(midnight.isAccepted)

            // Without a stated receipt time, the database clock is used.
            let recent = try await wh.string("SELECT (core.business_day(now()) - 10)::text")!
            let path = try wh.write("recent.json", Report(store: "S2", date: recent, visits: [VisitRow(id: "V1", salesperson: "S2-01")]).json())
            let now = try await wh.ingestor.ingest(path: path)
            #expect(now.isAccepted, "\(String(describing: now.rejection))")
            let received = try #require(now.receivedAt)
            #expect(abs(received.timeIntervalSinceNow) < 120)
            #expect(try await wh.string("""
                SELECT (abs(extract(epoch FROM now() - received_at)) < 120 AND NOT on_time)::text FROM core.report_submission
                WHERE business_date = \(recent)::date
                """) == "true")
        }
    }
}
