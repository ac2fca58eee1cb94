import CivilCalendar
import DailyReport
import Foundation
import Postgres
import Testing
import TestSupport
import Warehouse

/// Contract 1.1, section 5: duplicates, sections delivered for the first time, corrections, and uploads of
/// several files (one receipt time, one transaction).
private func isoDay(_ iso: String) -> CalendarDate { CalendarDate(iso: iso)! }

@Suite("Ingest: duplicates, sections and uploads (contract 1.1)")
struct IngestDuplicateTests {
    /// What a duplicate must leave untouched: every table of the store-day's state, the facts, the change log.
    func state(_ wh: TestWarehouse) async throws -> [String] {
        try await factProjection(wh, store: "S1") + wh.strings("""
            SELECT store_code || ' ' || business_date || ' v' || current_version || ' ' || current_received_at || ' '
                   || coalesce(visits_digest, '-') || ' ' || coalesce(prospects_digest, '-') || ' ' || coalesce(sales_digest, '-')
            FROM core.store_day_report ORDER BY 1
            """) + wh.strings("SELECT submission_id || ' v' || version FROM core.report_submission ORDER BY 1")
            + wh.strings("SELECT count(*)::text FROM core.kpi_change")
            + wh.strings("SELECT card_id || ' ' || state_received_at || ' ' || state_sequence FROM core.prospect_card ORDER BY 1")
            + wh.strings("SELECT count(*)::text FROM core.prospect_card_history")
    }

    @Test func anIdenticalReSendIsADuplicateWhateverItsReceiptTimeOrName() async throws {
        try await TestWarehouse.with { wh in
            let report = flagReport(store: "S1", salesperson: "S1-01", vin: "LFV2A21K8G3000001")
            let first = try await wh.accept(report, name: "S1_20260302.json", receivedAt: "2026-03-02T21:30:00+08:00")
            #expect(first.storeDays.map(\.version) == [1])
            #expect(!first.isDuplicate && first.storeDays.allSatisfy { !$0.duplicate })
            let before = try await state(wh)

            // A retry 41 minutes later, and another the next day under another name: never a correction.
            let retry = try await wh.accept(report, name: "S1_20260302.json", receivedAt: "2026-03-02T22:11:00+08:00")
            #expect(retry.isDuplicate)
            #expect(retry.storeDays == [IngestResult.StoreDayVersion(store: "S1", businessDate: isoDay("2026-03-02"), version: 1, duplicate: true)])
            let renamed = try await wh.accept(report, name: "retry-copy.json", receivedAt: "2026-03-03T09:00:00+08:00")
            #expect(renamed.isDuplicate)

            #expect(try await state(wh) == before)
            #expect(try await wh.strings("""
                SELECT version || ' ' || received_at || ' ' || source_file FROM core.report_duplicate ORDER BY duplicate_id
                """) == ["1 2026-03-02 14:11:00+00 S1_20260302.json", "1 2026-03-03 01:00:00+00 retry-copy.json"])
            // The files are recorded as received (operations see them), but no version and no submission.
            #expect(try await wh.count("core.ingested_file") == 3)
            #expect(try await wh.count("core.report_submission") == 1)
        }
    }

    @Test func contentNotBytesDecides_orderKeysFormPhoneAndMoneyNotation() async throws {
        try await TestWarehouse.with { wh in
            let d = "2026-03-02"
            let report = Report(store: "S1", date: d,
                                visits: [VisitRow(id: "V1", newCard: "C1"), VisitRow(id: "V2", channel: "phone"), VisitRow(id: "V3")],
                                prospects: [CardRow(card: "C1", createdOn: d, customerName: "张伟", phone: "139 1234 5678"),
                                            CardRow(card: "C2", createdOn: d, customerName: "李娜", phone: "13700001111")],
                                sales: [OrderRow(order: "O1", orderDate: d, dealPrice: "186000.00", collected: "5000")])
            try await wh.accept(report, receivedAt: "2026-03-02T21:30:00+08:00")
            let before = try await state(wh)

            // The same records in another order, written differently: the phone with a country code and
            // dashes, money without decimals, the name with surrounding spaces (trimmed by the field rules).
            var same = report
            same.visits = [VisitRow(id: "V3"), VisitRow(id: "V1", newCard: "C1"), VisitRow(id: "V2", channel: "phone")]
            same.prospects = [CardRow(card: "C2", createdOn: d, customerName: " 李娜 ", phone: "+86-137-0000-1111"),
                              CardRow(card: "C1", createdOn: d, customerName: "张伟", phone: "13912345678")]
            same.sales = [OrderRow(order: "O1", orderDate: d, dealPrice: "186000", collected: "5000.00")]
            #expect(try await wh.accept(same, name: "again.json", receivedAt: "2026-03-03T08:00:00+08:00").isDuplicate)

            // The same visits as a CSV export (another form, CRLF, a BOM): a duplicate too.
            let csv = try await wh.ingest("visits.csv", bytes: [0xEF, 0xBB, 0xBF] + Array(CSVFile.visits([same]).utf8),
                                          receivedAt: "2026-03-03T08:05:00+08:00")
            #expect(csv.isDuplicate)
            #expect(try await state(wh) == before)
            #expect(try await wh.count("core.report_duplicate") == 2)
        }
    }

    @Test func sectionFilesArrivingMinutesApartCompleteOneVersion() async throws {
        try await TestWarehouse.with { wh in
            let d = "2026-03-02"
            let day = Report(store: "S1", date: d, visits: [VisitRow(id: "V1", newCard: "C1"), VisitRow(id: "V2")],
                             prospects: [CardRow(card: "C1", createdOn: d)],
                             sales: [OrderRow(order: "O1", orderDate: d)])
            let visits = try await wh.ingest("visits.csv", CSVFile.visits([day]), receivedAt: "2026-03-02T21:30:00+08:00")
            let prospects = try await wh.ingest("prospects.csv", CSVFile.prospects([day]), receivedAt: "2026-03-02T21:36:00+08:00")
            let sales = try await wh.ingest("sales.csv", CSVFile.sales([day]), receivedAt: "2026-03-02T21:41:00+08:00")
            for r in [visits, prospects, sales] {
                #expect(r.isAccepted && !r.isDuplicate)
                #expect(r.storeDays.map(\.version) == [1])
            }
            #expect(try await wh.strings("SELECT version::text FROM core.report_submission ORDER BY submission_id") == ["1", "1", "1"])
            #expect(try await wh.string("SELECT current_version || ' ' || first_received_at FROM core.store_day_report")
                    == "1 2026-03-02 13:30:00+00")
            #expect(try await wh.count("core.visit") == 2)
            #expect(try await wh.count("core.prospect_card") == 1)
            #expect(try await wh.count("core.sales_order") == 1)

            // The prospects file sent again: a duplicate. Then changed: the first real correction.
            #expect(try await wh.ingest("prospects.csv", CSVFile.prospects([day]), receivedAt: "2026-03-02T22:00:00+08:00").isDuplicate)
            var changed = day
            changed.prospects = [CardRow(card: "C1", createdOn: d, level: "A")]
            let correction = try await wh.ingest("prospects2.csv", CSVFile.prospects([changed]), receivedAt: "2026-03-03T09:00:00+08:00")
            #expect(!correction.isDuplicate && correction.storeDays.map(\.version) == [2])
            #expect(try await wh.string("SELECT level FROM core.prospect_card") == "A")
        }
    }

    @Test func onlyAChangeToADeliveredSectionIsACorrection_andRevertingIsOneToo() async throws {
        try await TestWarehouse.with { wh in
            let d = "2026-03-02"
            let v1 = Report(store: "S1", date: d, visits: [VisitRow(id: "V1"), VisitRow(id: "V2")])
            try await wh.accept(v1, receivedAt: "2026-03-02T21:30:00+08:00")
            // Same visits plus a first prospects section: completes version 1.
            var withCards = v1
            withCards.prospects = [CardRow(card: "C1", createdOn: d)]
            #expect(try await wh.accept(withCards, receivedAt: "2026-03-02T23:00:00+08:00").storeDays.map(\.version) == [1])
            // One visit's purpose changed (the prospects identical): version 2.
            var changed = withCards
            changed.visits = [VisitRow(id: "V1"), VisitRow(id: "V2", purpose: "after_sales")]
            let corrected = try await wh.accept(changed, receivedAt: "2026-03-03T10:00:00+08:00")
            #expect(corrected.storeDays.map(\.version) == [2] && !corrected.isDuplicate)
            // Going back to the first content differs from what was last delivered: version 3, not a duplicate.
            let reverted = try await wh.accept(withCards, receivedAt: "2026-03-03T11:00:00+08:00")
            #expect(reverted.storeDays.map(\.version) == [3] && !reverted.isDuplicate)
            #expect(try await wh.strings("SELECT purpose FROM core.visit ORDER BY visit_id") == ["purchase", "purchase"])
        }
    }

    @Test func aCSVFileOfSeveralDaysIsJudgedPerStoreDay() async throws {
        try await TestWarehouse.with { wh in
            let d1 = Report(store: "S1", date: "2026-03-02", visits: [VisitRow(id: "V1")])
            let d2 = Report(store: "S1", date: "2026-03-03", visits: [VisitRow(id: "V1"), VisitRow(id: "V2")])
            try await wh.ingest("d1.csv", CSVFile.visits([d1]), receivedAt: "2026-03-02T21:30:00+08:00")
            let both = try await wh.ingest("both.csv", CSVFile.visits([d1, d2]), receivedAt: "2026-03-03T21:30:00+08:00")
            #expect(both.isAccepted && !both.isDuplicate)
            #expect(both.storeDays == [
                IngestResult.StoreDayVersion(store: "S1", businessDate: isoDay("2026-03-02"), version: 1, duplicate: true),
                IngestResult.StoreDayVersion(store: "S1", businessDate: isoDay("2026-03-03"), version: 1, duplicate: false),
            ])
            #expect(try await wh.strings("SELECT business_date || ' ' || visits_received_at FROM core.store_day_report ORDER BY 1")
                    == ["2026-03-02 2026-03-02 13:30:00+00", "2026-03-03 2026-03-03 13:30:00+00"])
            // The duplicate day's visits were not replaced (still from the first file's submission).
            #expect(try await wh.int("""
                SELECT count(*) FROM core.visit v JOIN core.report_submission s USING (submission_id)
                WHERE v.business_date = '2026-03-02' AND s.source_file = 'd1.csv'
                """) == 1)
        }
    }

    @Test func sectionsDeliveredBeforeDigestsExistedCompareAsChanged() async throws {
        try await TestWarehouse.with { wh in
            let report = Report(store: "S1", date: "2026-03-02", visits: [VisitRow(id: "V1")])
            try await wh.accept(report, receivedAt: "2026-03-02T21:30:00+08:00")
            // What sql/009 leaves for a section stored before 1.1.
            try await wh.query("UPDATE core.store_day_report SET visits_digest = 'pre-1.1'")
            #expect(try await wh.accept(report, receivedAt: "2026-03-03T09:00:00+08:00").storeDays.map(\.version) == [2])
            // From then on the digest is known.
            #expect(try await wh.accept(report, receivedAt: "2026-03-03T10:00:00+08:00").isDuplicate)
        }
    }

    @Test func anUploadIsAllOrNothingAndListsEveryFilesProblems() async throws {
        try await TestWarehouse.with { wh in
            let d = "2026-03-02"
            let day = Report(store: "S1", date: d, visits: [VisitRow(id: "V1")], prospects: [CardRow(card: "C1", createdOn: d)])
            let visits = try wh.write("visits.csv", CSVFile.visits([day]))
            let badCards = try wh.write("prospects.csv", CSVFile.prospects([day]).replacingOccurrences(of: ",H,", with: ",X,"))
            let badJSON = try wh.write("S2.json", "{\"format\": \"dealer-daily-report/1\", \"store\": \"NOPE\"")
            let before = try await wh.coreFingerprint()

            let rejected = try await wh.ingestor.ingest(upload: [IngestFile(path: visits), IngestFile(path: badCards), IngestFile(path: badJSON)],
                                                        receivedAt: at("2026-03-02T21:30:00+08:00"))
            #expect(!rejected.isAccepted)
            #expect(rejected.receivedAt == nil)
            #expect(rejected.files.map(\.file) == ["visits.csv", "prospects.csv", "S2.json"])
            #expect(rejected.files[0].rejection?.rules == [.uploadRejected])
            #expect(rejected.files[1].rejection?.rules.contains(.enumValue) == true)
            #expect(rejected.files[2].rejection?.rules.contains(.jsonSyntax) == true)
            #expect(try await wh.coreFingerprint() == before)

            // The good files as one upload: one transaction, one receipt time (the server's clock here).
            let cards = try wh.write("prospects-ok.csv", CSVFile.prospects([day]))
            let accepted = try await wh.ingestor.ingest(upload: [IngestFile(path: visits), IngestFile(path: cards)])
            #expect(accepted.isAccepted)
            #expect(accepted.storeDays == [IngestResult.StoreDayVersion(store: "S1", businessDate: isoDay("2026-03-02"), version: 1, duplicate: false)])
            #expect(try await wh.int("SELECT count(DISTINCT received_at) FROM core.ingested_file") == 1)
            #expect(try await wh.int("SELECT count(DISTINCT received_at) FROM core.report_submission") == 1)
            #expect(try await wh.count("core.visit") == 1)
            #expect(try await wh.count("core.prospect_card") == 1)
        }
    }

    @Test func aVINTakenByAnEarlierFileOfTheSameUploadIsStillADuplicateVIN() async throws {
        try await TestWarehouse.with { wh in
            let d = "2026-03-02"
            let first = Report(store: "S1", date: d, sales: [OrderRow(order: "O1", orderDate: d, status: "delivered", deliveryDate: d, vin: "LFV2A21K8G3000001")])
            let second = Report(store: "S1", date: "2026-03-03", sales: [OrderRow(order: "O2", orderDate: "2026-03-03", status: "delivered",
                                                                                 deliveryDate: "2026-03-03", vin: "LFV2A21K8G3000001")])
            let upload = try await wh.ingestor.ingest(upload: [IngestFile(path: try wh.write("a.json", first.json())),
                                                               IngestFile(path: try wh.write("b.json", second.json()))],
                                                      receivedAt: at("2026-03-03T21:30:00+08:00"))
            #expect(!upload.isAccepted)
            #expect(upload.files[1].rejection?.rules == [.duplicateId])
            #expect(try await wh.count("core.sales_order") == 0)
        }
    }
}
