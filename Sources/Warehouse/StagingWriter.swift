import CivilCalendar
import DailyReport
import Foundation
import Postgres

/// Writes validated records into core.visit and into the staging tables of cards and orders, with the
/// fields ingest derives in Swift: the visit counting flags, the A-card validity and the protected PII.
/// Runs inside a COPY producer, on the connection's thread.
struct StagingWriter {
    let pii: PIIProtector
    let cardRules: ACardRules

    /// The staging tables of cards and orders: created once per connection (a session's temporary
    /// tables), emptied at every commit; a rolled-back transaction leaves them empty too. Creating them
    /// per file cost ~2.5 ms of catalog work each time. A DO block, so an existing table raises no notice.
    static let createStagingTables = """
        DO $$ BEGIN
            IF to_regclass('pg_temp.stg_prospect') IS NULL THEN
                CREATE TEMP TABLE stg_prospect (
                    store_code text, business_date date, card_id text, created_on date, salesperson_code text,
                    customer_name_masked text, phone_hash text, model_code text, level text, source text, status text,
                    closed_on date, lost_reason text, is_valid boolean, invalid_reasons text[], source_line text
                ) ON COMMIT DELETE ROWS;
            END IF;
            IF to_regclass('pg_temp.stg_sale') IS NULL THEN
                CREATE TEMP TABLE stg_sale (
                    store_code text, business_date date, order_id text, card_id text, salesperson_code text, model_code text,
                    order_date date, status text, delivery_date date, cancel_date date, vin text, list_price numeric,
                    deal_price numeric, collected numeric, source_line text
                ) ON COMMIT DELETE ROWS;
            END IF;
        END $$
        """

    /// Visits go straight into the fact table (no staging): validation is complete before the COPY, and
    /// `core.ingest_file_begin` has already removed the visits they replace.
    static let copyVisits: PostgresQuery = """
        COPY core.visit (store_code, business_date, visit_id, channel, purpose, salesperson_code, model_code, party_size,
                         existing_card, existing_order, new_card, test_drive, walkin_group, phone_group, revisit,
                         submission_id, source_line) FROM STDIN
        """
    static let copyProspects: PostgresQuery = "COPY stg_prospect FROM STDIN"
    static let copySales: PostgresQuery = "COPY stg_sale FROM STDIN"

    /// The staging COPY for a CSV file of cards or orders (visits are not staged).
    static func copyStatement(for kind: SectionKind) -> PostgresQuery {
        switch kind {
        case .visits: copyVisits
        case .prospects: copyProspects
        case .sales: copySales
        }
    }

    /// One core.visit row, in `copyVisits`' column order.
    func write(_ v: Visit, _ day: StoreDay, submission: Int, into w: inout PostgresCopyWriter) throws {
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
        w.appendField(submission)
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

    /// A staged card or order record (visits are written with their submission id instead).
    func write(_ record: ReportRecord, _ day: StoreDay, into w: inout PostgresCopyWriter) throws {
        switch record {
        case .visit(let v): throw WarehouseError.configuration("visit \(v.id) of \(day) cannot be staged: visits are COPYed into core.visit")
        case .prospect(let p): try write(p, day, into: &w)
        case .sale(let s): try write(s, day, into: &w)
        }
    }
}

/// A file's visit records grouped by store-day in file order, held between parsing and the COPY into
/// core.visit (the submission ids exist only after the file's store-days are locked). Bounded: past
/// `limit` rows it lets go of them and says so (`overflowed`), and the caller reads the file again.
struct VisitBuffer: Sendable {
    let limit: Int
    private var index: [StoreDay: Int] = [:]
    private(set) var groups: [(StoreDay, [Visit])] = []
    private(set) var count = 0
    private(set) var overflowed = false

    init(limit: Int) { self.limit = limit }

    var isEmpty: Bool { groups.isEmpty && !overflowed }

    /// Registers a store-day's visits section, also when it holds no rows (it then replaces the day's visits with none).
    mutating func declare(_ day: StoreDay) {
        guard !overflowed, index[day] == nil else { return }
        index[day] = groups.count
        groups.append((day, []))
    }

    mutating func add(_ day: StoreDay, _ visit: Visit) {
        guard !overflowed else { return }
        count += 1
        if count > limit {
            overflowed = true
            groups = []
            index = [:]
            return
        }
        declare(day)
        groups[index[day]!].1.append(visit)
    }
}

/// Where a file's visits come from when they are loaded.
enum VisitSource: Sendable {
    case none
    case memory(VisitBuffer)
    /// Too many to hold: read the file again; the record counts per store-day it must deliver.
    case rereadFile([StoreDay: Int])
}
