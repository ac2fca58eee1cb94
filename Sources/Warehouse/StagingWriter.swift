import CivilCalendar
import DailyReport
import Foundation
import Postgres

/// Writes validated records into the per-file staging tables, with the fields ingest derives in Swift:
/// the visit counting flags, the A-card validity and the protected PII. Runs inside a COPY producer, on the
/// connection's thread.
struct StagingWriter {
    let pii: PIIProtector
    let cardRules: ACardRules

    static let createStagingTables = """
        CREATE TEMP TABLE stg_visit (
            store_code text, business_date date, visit_id text, channel text, purpose text,
            salesperson_code text, model_code text, party_size int, existing_card text, existing_order boolean,
            new_card text, test_drive boolean, walkin_group boolean, phone_group boolean, revisit boolean,
            source_line text
        ) ON COMMIT DROP;
        CREATE TEMP TABLE stg_prospect (
            store_code text, business_date date, card_id text, created_on date, salesperson_code text,
            customer_name_masked text, phone_hash text, model_code text, level text, source text, status text,
            closed_on date, lost_reason text, is_valid boolean, invalid_reasons text[], source_line text
        ) ON COMMIT DROP;
        CREATE TEMP TABLE stg_sale (
            store_code text, business_date date, order_id text, card_id text, salesperson_code text, model_code text,
            order_date date, status text, delivery_date date, cancel_date date, vin text, list_price numeric,
            deal_price numeric, collected numeric, source_line text
        ) ON COMMIT DROP;
        CREATE TEMP TABLE stg_section (
            store_code text, business_date date, section text, row_count int
        ) ON COMMIT DROP;
        """

    static let copyVisits: PostgresQuery = "COPY stg_visit FROM STDIN"
    static let copyProspects: PostgresQuery = "COPY stg_prospect FROM STDIN"
    static let copySales: PostgresQuery = "COPY stg_sale FROM STDIN"

    static func copyStatement(for kind: SectionKind) -> PostgresQuery {
        switch kind {
        case .visits: copyVisits
        case .prospects: copyProspects
        case .sales: copySales
        }
    }

    func write(_ v: Visit, _ day: StoreDay, into w: inout PostgresCopyWriter) throws {
        let counts = VisitCounting.classify(v)
        try w.appendField(day.store)
        try w.appendField(day.businessDate.description)
        try w.appendField(v.id)
        try w.appendField(v.channel.rawValue)
        try w.appendField(v.purpose.rawValue)
        try w.appendField(v.salesperson)
        try w.appendField(v.model)
        w.appendField(v.partySize)
        try w.appendField(v.existingCard)
        w.appendField(v.existingOrder)
        try w.appendField(v.newCard)
        w.appendField(v.testDrive)
        w.appendField(counts.walkInGroup)
        w.appendField(counts.phoneGroup)
        w.appendField(counts.revisit)
        try w.appendField(v.origin.location.description)
        try w.endRow()
    }

    func write(_ p: Prospect, _ day: StoreDay, into w: inout PostgresCopyWriter) throws {
        let validity = cardRules.evaluate(p)
        try w.appendField(day.store)
        try w.appendField(day.businessDate.description)
        try w.appendField(p.card)
        try w.appendField(p.createdOn.description)
        try w.appendField(p.salesperson)
        try w.appendField(pii.maskedName(p.customerName))
        try w.appendField(pii.phoneHash(p.phone))
        try w.appendField(p.model)
        try w.appendField(p.level.rawValue)
        try w.appendField(p.source.rawValue)
        try w.appendField(p.status.rawValue)
        try w.appendField(p.closedOn?.description)
        try w.appendField(p.lostReason)
        w.appendField(validity.isValid)
        try w.appendField("{" + validity.reasons.map(\.rawValue).joined(separator: ",") + "}")
        try w.appendField(p.origin.location.description)
        try w.endRow()
    }

    func write(_ s: Sale, _ day: StoreDay, into w: inout PostgresCopyWriter) throws {
        try w.appendField(day.store)
        try w.appendField(day.businessDate.description)
        try w.appendField(s.order)
        try w.appendField(s.card)
        try w.appendField(s.salesperson)
        try w.appendField(s.model)
        try w.appendField(s.orderDate.description)
        try w.appendField(s.status.rawValue)
        try w.appendField(s.deliveryDate?.description)
        try w.appendField(s.cancelDate?.description)
        try w.appendField(s.vin)
        try w.appendField(encoding: s.listPrice)
        try w.appendField(encoding: s.dealPrice)
        try w.appendField(encoding: s.collected)
        try w.appendField(s.origin.location.description)
        try w.endRow()
    }

    func write(_ record: ReportRecord, _ day: StoreDay, into w: inout PostgresCopyWriter) throws {
        switch record {
        case .visit(let v): try write(v, day, into: &w)
        case .prospect(let p): try write(p, day, into: &w)
        case .sale(let s): try write(s, day, into: &w)
        }
    }
}
