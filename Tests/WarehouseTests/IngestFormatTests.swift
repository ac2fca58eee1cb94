import DailyReport
import Foundation
import Postgres
import Testing
import TestSupport
import Warehouse

/// A report that exercises every counting flag and validity rule (contract §4).
func flagReport(store: String, salesperson: String, vin: String, date: String = "2026-03-02") -> Report {
    Report(
        store: store, date: date,
        visits: [
            VisitRow(id: "V1", salesperson: salesperson, partySize: 3),                                          // walk-in: traffic
            VisitRow(id: "V2", salesperson: salesperson, newCard: "A-1", testDrive: true),                       // walk-in + card + test drive
            VisitRow(id: "V3", channel: "phone", salesperson: salesperson, newCard: "A-2"),                      // phone + card: phone group
            VisitRow(id: "V4", channel: "phone", salesperson: salesperson),                                      // phone, no card: nothing
            VisitRow(id: "V5", channel: "event", salesperson: salesperson, model: "M2", newCard: "A-3"),         // event + card: walk-in group
            VisitRow(id: "V6", channel: "event", salesperson: salesperson),                                      // event, no card: nothing
            VisitRow(id: "V7", salesperson: salesperson, existingCard: "A-0"),                                   // holder walks in: revisit
            VisitRow(id: "V8", salesperson: salesperson, existingOrder: true, testDrive: true),                  // order holder: revisit
            VisitRow(id: "V9", channel: "phone", salesperson: salesperson, existingCard: "A-0"),                 // holder phones: nothing
            VisitRow(id: "V10", purpose: "after_sales", salesperson: salesperson, model: nil, partySize: nil,
                     existingOrder: nil, testDrive: nil),                                                        // never traffic; defaults
        ],
        prospects: [
            CardRow(card: "A-1", createdOn: date, salesperson: salesperson),                                     // 张伟, valid
            CardRow(card: "A-2", createdOn: date, salesperson: salesperson, customerName: "王先生", phone: "138-0013-8000",
                    level: "B", source: "phone"),                                                                 // honorific + blacklisted
            CardRow(card: "A-3", createdOn: date, salesperson: salesperson, customerName: "欧阳娜娜", phone: "+86 139-1234-5678",
                    model: "M2", level: "A", source: "event"),                                                   // same phone as A-1
            CardRow(card: "A-4", createdOn: date, salesperson: salesperson, customerName: "小王", phone: "(021) 8575 9765",
                    model: nil, level: "C"),                                                                     // not full, no model
            CardRow(card: "A-0", createdOn: "2026-02-20", salesperson: salesperson, customerName: "陈思远", phone: "0571 55039666",
                    level: "A", status: "lost", closedOn: date, lostReason: "买了别家"),
        ],
        sales: [
            OrderRow(order: "O-1", card: "A-0", salesperson: salesperson, orderDate: "2026-02-25", status: "delivered",
                     deliveryDate: date, vin: vin, dealPrice: "152000.00", collected: "152000.00"),
            OrderRow(order: "O-2", salesperson: salesperson, model: "M3", orderDate: date, listPrice: nil,
                     dealPrice: "99800.5", collected: "5000"),
        ])
}

/// The stored facts of a store, without the store, salesperson and tracing columns.
func factProjection(_ wh: TestWarehouse, store: String) async throws -> [String] {
    let visits = try await wh.strings("""
        SELECT business_date || ' ' || visit_id || ' ' || channel || ' ' || purpose || ' ' || coalesce(model_code, '-') || ' '
               || party_size || ' ' || coalesce(existing_card, '-') || ' ' || existing_order::int || ' ' || coalesce(new_card, '-')
               || ' w' || walkin_group::int || ' p' || phone_group::int || ' r' || revisit::int || ' t' || test_drive::int
        FROM core.visit WHERE store_code = \(store) ORDER BY business_date, length(visit_id), visit_id
        """)
    let cards = try await wh.strings("""
        SELECT card_id || ' ' || created_on || ' ' || coalesce(customer_name_masked, '-') || ' ' || coalesce(phone_hash, '-') || ' '
               || coalesce(model_code, '-') || ' ' || level || ' ' || source || ' ' || status || ' ' || coalesce(closed_on::text, '-')
               || ' ' || coalesce(lost_reason, '-') || ' ' || is_valid || ' ' || array_to_string(invalid_reasons, ',')
               || ' @' || state_business_date
        FROM core.prospect_card WHERE store_code = \(store) ORDER BY card_id
        """)
    let orders = try await wh.strings("""
        SELECT order_id || ' ' || coalesce(card_id, '-') || ' ' || model_code || ' ' || order_date || ' ' || status || ' '
               || coalesce(delivery_date::text, '-') || ' ' || coalesce(cancel_date::text, '-') || ' '
               || coalesce(list_price::text, '-') || ' ' || deal_price || ' ' || collected || ' @' || state_business_date
        FROM core.sales_order WHERE store_code = \(store) ORDER BY order_id
        """)
    return visits + cards + orders
}

@Suite("Ingest: JSON and CSV forms")
struct IngestFormatTests {
    @Test func jsonReportStoresFlagsValidityAndProtectedPII() async throws {
        try await TestWarehouse.with { wh in
            let result = try await wh.accept(flagReport(store: "S1", salesperson: "S1-01", vin: "LFV2A21K8G3000001"),
                                             receivedAt: "2026-03-02T21:30:00+08:00")
            #expect(result.storeDays.map(\.version) == [1])
            #expect(result.storeDays.map(\.store) == ["S1"])
            #expect((result.visitRows, result.prospectRows, result.saleRows) == (10, 5, 2))

            let visits = try await wh.strings("""
                SELECT visit_id || ' ' || walkin_group::int || phone_group::int || revisit::int || test_drive::int || ' ' || party_size
                       || ' ' || coalesce(model_code, '-')
                FROM core.visit WHERE store_code = 'S1' AND business_date = '2026-03-02' ORDER BY length(visit_id), visit_id
                """)
            #expect(visits == ["V1 1000 3 M1", "V2 1001 1 M1", "V3 0100 1 M1", "V4 0000 1 M1", "V5 1000 1 M2",
                               "V6 0000 1 M1", "V7 0010 1 M1", "V8 0011 1 M1", "V9 0000 1 M1", "V10 0000 1 -"])

            let cards = try await wh.strings("""
                SELECT card_id || ' ' || is_valid || ' ' || array_to_string(invalid_reasons, ',') || ' ' || coalesce(customer_name_masked, '-')
                FROM core.prospect_card WHERE store_code = 'S1' ORDER BY card_id
                """)
            #expect(cards == ["A-0 true  陈*", "A-1 true  张*", "A-2 false name_honorific,phone_blacklisted 王*",
                              "A-3 true  欧*", "A-4 false name_not_full,no_model 小*"])
            let lost = try await wh.string("SELECT status || ' ' || closed_on || ' ' || lost_reason FROM core.prospect_card WHERE card_id = 'A-0'")
            #expect(lost == "lost 2026-03-02 买了别家")

            // Phones: a 64-hex keyed hash of the normalized number; notations of one number hash alike.
            let hashes = try await wh.query("SELECT card_id::text, phone_hash FROM core.prospect_card WHERE store_code = 'S1' ORDER BY card_id")
                .map { try $0.decode((String, String?).self) }
            let byCard = Dictionary(uniqueKeysWithValues: hashes.map { ($0.0, $0.1) })
            for (card, hash) in byCard {
                let h = try #require(hash, "card \(card) has no phone hash")
                #expect(h.count == 64 && h.allSatisfy { $0.isHexDigit && !$0.isUppercase }, "card \(card): \(h)")
            }
            #expect(byCard["A-1"]! == byCard["A-3"]!)
            #expect(Set(byCard.values).count == 4)
            // It is HMAC-SHA256 with the configured key over the normalized number (checked independently with
            // pgcrypto, in this throwaway database, where the server has it).
            if try await wh.int("SELECT count(*) FROM pg_available_extensions WHERE name = 'pgcrypto'") > 0 {
                try await wh.db.executeScript("CREATE EXTENSION IF NOT EXISTS pgcrypto SCHEMA public")
                let key = String(decoding: TestWarehouse.piiKey, as: UTF8.self)
                for (card, normalized) in [("A-1", "13912345678"), ("A-0", "057155039666"), ("A-4", "02185759765")] {
                    let expected = try await wh.string("SELECT encode(public.hmac(\(normalized)::text, \(key)::text, 'sha256'), 'hex')")
                    #expect(byCard[card]! == expected, "card \(card)")
                }
            }

            // The raw phones and names appear in no text column of any core table.
            for needle in ["13912345678", "1391234", "12345678", "8575", "85759765", "55039666", "13800138000", "0013-8000",
                           "张伟", "欧阳娜娜", "王先生", "小王", "陈思远"] {
                #expect(try await wh.coreOccurrences(of: needle) == 0, "\(needle) is stored somewhere in core")
            }
            #expect(try await wh.coreTextColumns().contains { $0.table == "prospect_card" && $0.column == "phone_hash" })

            let orders = try await wh.strings("""
                SELECT order_id || ' ' || status || ' ' || coalesce(vin, '-') || ' ' || coalesce(list_price::text, '-') || ' '
                       || deal_price || ' ' || collected
                FROM core.sales_order WHERE store_code = 'S1' ORDER BY order_id
                """)
            #expect(orders == ["O-1 delivered LFV2A21K8G3000001 159800.00 152000.00 152000.00", "O-2 ordered - - 99800.50 5000.00"])
            #expect(try await wh.strings("SELECT form || ' ' || encoding || ' ' || row_count FROM core.ingested_file") == ["json UTF-8 17"])
        }
    }

    @Test func csvSectionFilesStoreTheSameFactsAsJSON() async throws {
        try await TestWarehouse.with { wh in
            try await wh.accept(flagReport(store: "S1", salesperson: "S1-01", vin: "LFV2A21K8G3000001"),
                                receivedAt: "2026-03-02T21:30:00+08:00")
            let report = [flagReport(store: "S2", salesperson: "S2-01", vin: "LFV2A21K8G3000002")]
            // The three section files of one upload share one receipt time: together they are version 1.
            for (name, text) in [("visits.csv", CSVFile.visits(report)), ("prospects.csv", CSVFile.prospects(report)),
                                 ("sales.csv", CSVFile.sales(report))] {
                let r = try await wh.ingest(name, text, receivedAt: "2026-03-02T21:30:00+08:00")
                #expect(r.isAccepted, "\(name): \(String(describing: r.rejection))")
                #expect(r.storeDays.map(\.version) == [1])
            }
            let json = try await factProjection(wh, store: "S1")
            let csv = try await factProjection(wh, store: "S2")
            #expect(json.count == 17)
            #expect(csv == json)
            #expect(try await wh.strings("SELECT form FROM core.ingested_file ORDER BY file_id") == ["json", "csv_visits", "csv_prospects", "csv_sales"])
            #expect(try await wh.strings("""
                SELECT version || ' ' || coalesce(visit_rows::text, '-') || ' ' || coalesce(prospect_rows::text, '-') || ' ' || coalesce(sale_rows::text, '-')
                FROM core.report_submission WHERE store_code = 'S2' ORDER BY submission_id
                """) == ["1 10 - -", "1 - 5 -", "1 - - 2"])
            #expect(try await wh.string("SELECT current_version || ' ' || on_time FROM core.store_day_report WHERE store_code = 'S2'") == "1 true")
        }
    }

    @Test func gb18030AndBOMFilesAreDecoded() async throws {
        try await TestWarehouse.with { wh in
            let date = "2026-03-03"
            let report = Report(
                store: "S1", date: date,
                visits: [VisitRow(id: "来店-1", newCard: "A-GB1"), VisitRow(id: "来店-2", channel: "phone", newCard: "A-GB2")],
                prospects: [
                    CardRow(card: "A-GB1", createdOn: date, customerName: "张伟", phone: "１３９１２３４５６７８"),   // full-width digits
                    CardRow(card: "A-GB2", createdOn: date, customerName: "欧阳娜娜", phone: "13712345678", source: "phone",
                            status: "lost", closedOn: date, lostReason: "价格太高，去了别家 😀"),
                ])
            let prospectsGB = Iconv.convert(CSVFile.prospects([report]) + "合计,,,,,,,,,,,,\r\n", to: "GB18030")
            #expect(String(validating: prospectsGB, as: UTF8.self) == nil) // really not UTF-8: the fallback must decode it
            let visitsBOM = [0xEF, 0xBB, 0xBF] + Array(CSVFile.visits([report]).utf8)

            let v = try await wh.ingest("visits_bom.csv", bytes: visitsBOM, receivedAt: "2026-03-03T20:00:00+08:00")
            let p = try await wh.ingest("prospects_gbk.csv", bytes: prospectsGB, receivedAt: "2026-03-03T20:00:00+08:00")
            #expect(v.isAccepted, "\(String(describing: v.rejection))")
            #expect(p.isAccepted, "\(String(describing: p.rejection))")
            #expect((v.visitRows, p.prospectRows) == (2, 2)) // the total row is skipped

            #expect(try await wh.strings("SELECT file_name || ' ' || encoding FROM core.ingested_file ORDER BY file_id")
                    == ["visits_bom.csv UTF-8", "prospects_gbk.csv GB18030"])
            #expect(try await wh.strings("SELECT visit_id || ' ' || walkin_group::int || phone_group::int FROM core.visit ORDER BY visit_id")
                    == ["来店-1 10", "来店-2 01"])
            #expect(try await wh.strings("""
                SELECT card_id || ' ' || customer_name_masked || ' ' || is_valid || ' ' || coalesce(lost_reason, '-')
                FROM core.prospect_card ORDER BY card_id
                """) == ["A-GB1 张* true -", "A-GB2 欧* true 价格太高，去了别家 😀"])
            // The full-width phone normalizes to the same number (and hash) as the ASCII one.
            try await wh.accept(Report(store: "S1", date: date, prospects: [CardRow(card: "A-ASCII", createdOn: date, phone: "13912345678")]),
                                receivedAt: "2026-03-03T20:00:00+08:00")
            #expect(try await wh.int("SELECT count(DISTINCT phone_hash) FROM core.prospect_card WHERE card_id IN ('A-GB1', 'A-ASCII')") == 1)
            #expect(try await wh.coreOccurrences(of: "张伟") == 0)
            #expect(try await wh.coreOccurrences(of: "１３９１２３４５６７８") == 0)
        }
    }
}
