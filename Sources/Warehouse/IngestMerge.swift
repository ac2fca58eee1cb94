import CivilCalendar
import DailyReport
import Foundation
import Postgres

/// The set-based merge of one file into the warehouse. Runs inside the file's transaction, after the
/// file was parsed and validated.
enum IngestMerge {
    /// What `core.ingest_file_begin` did for a file.
    struct Begun {
        var fileID: Int
        /// The state sequence number of the file's card and order states.
        var sequence: Int
        /// Every store-day of the file with its version (duplicates: the version they repeated), sorted by
        /// store then date.
        var versions: [IngestResult.StoreDayVersion]
        /// The submission id of every store-day of the file, in `versions`' order; nil for a duplicate.
        var submissionIDs: [Int?]
        /// The store-days that take the file's visits, with their submission ids (the others' stored visits
        /// were received later and stay, or are the same: a duplicate).
        var visitSubmissions: [StoreDay: Int]

        /// True when every store-day of the file is a duplicate: nothing is merged.
        var isDuplicateOnly: Bool { versions.allSatisfy(\.duplicate) }
    }

    /// One section of a file for `begin`: its store-day, kind, record count and content digest.
    struct Section {
        var day: StoreDay
        var kind: SectionKind
        var rows: Int
        var digest: String
    }

    /// Locks the file's store-days, records the file, tells duplicates from completions and corrections by
    /// the section digests (contract 1.1), assigns versions, records the submissions (or the duplicates) and
    /// the report-level change, deletes the visits the file replaces and logs the visits change, all in one
    /// round trip (`core.ingest_file_begin`, sql/009).
    static func begin(_ conn: isolated PostgresConnection, name: String, checksum: String, form: String, encoding: TextEncoding,
                      received: Date, sections: [Section]) throws -> Begun {
        let stores = sections.map(\.day.store)
        let dates = sections.map(\.day.businessDate)
        let kinds = sections.map(\.kind.rawValue)
        let rowCounts = sections.map { Int32(clamping: $0.rows) }
        let digests = sections.map(\.digest)
        let rows = try conn.runQuery("""
            SELECT store_code, business_date, version, submission_id, takes_visits, duplicate, file_id, state_sequence
            FROM core.ingest_file_begin(\(name), \(checksum), \(form), \(encoding.rawValue), \(received),
                                        \(stores), \(dates), \(kinds), \(rowCounts), \(digests))
            """)
        var begun = Begun(fileID: 0, sequence: 0, versions: [], submissionIDs: [], visitSubmissions: [:])
        for row in rows {
            let (store, date, version, submission, takesVisits, duplicate, fileID, sequence)
                = try row.decode((String, CalendarDate, Int, Int?, Bool, Bool, Int, Int).self)
            begun.fileID = fileID
            begun.sequence = sequence
            begun.versions.append(IngestResult.StoreDayVersion(store: store, businessDate: date, version: version, duplicate: duplicate))
            begun.submissionIDs.append(submission)
            if takesVisits, let submission { begun.visitSubmissions[StoreDay(store: store, businessDate: date)] = submission }
        }
        guard !rows.isEmpty else {
            throw WarehouseError.configuration("core.ingest_file_begin recorded no submission for \(name)")
        }
        return begun
    }

    /// `stg_submission`: the file's submissions, for the card and order merges (from what `begin` returned:
    /// core.report_submission has no index to find them by file).
    static func submissionsTable(_ conn: isolated PostgresConnection, _ begun: Begun) throws {
        // A duplicate store-day has no submission and takes no cards or orders: the merges join this table.
        let submitted = zip(begun.versions, begun.submissionIDs).compactMap { v, id in id.map { (v, $0) } }
        let stores = submitted.map(\.0.store)
        let dates = submitted.map(\.0.businessDate)
        let ids = submitted.map(\.1)
        let versions = submitted.map { Int32(clamping: $0.0.version) }
        _ = try conn.runQuery("""
            CREATE TEMP TABLE stg_submission ON COMMIT DROP AS
            SELECT * FROM unnest(\(stores)::text[], \(dates)::date[], \(ids)::bigint[], \(versions)::int[])
                AS s(store_code, business_date, submission_id, version)
            """)
    }

    /// Empties what one file of an upload left in the session's staging tables, so the next file of the same
    /// transaction starts clean (a single-file upload never needs it: commit empties them).
    static let resetStagingForNextFile = """
        DO $$ BEGIN
            DROP TABLE IF EXISTS pg_temp.stg_submission, pg_temp.stg_card, pg_temp.stg_order;
            IF to_regclass('pg_temp.stg_prospect') IS NOT NULL THEN DELETE FROM pg_temp.stg_prospect; END IF;
            IF to_regclass('pg_temp.stg_sale') IS NOT NULL THEN DELETE FROM pg_temp.stg_sale; END IF;
        END $$
        """

    /// Upserts cards whose reported state is newer than the stored one (later business_date; same date:
    /// received later or applied later), keeping the replaced state in the history.
    static func prospects(_ conn: isolated PostgresConnection, received: Date, sequence: Int) throws {
        _ = try conn.runQuery("""
            CREATE TEMP TABLE stg_card ON COMMIT DROP AS
            SELECT DISTINCT ON (s.store_code, s.card_id) s.*, sub.submission_id
            FROM stg_prospect s JOIN stg_submission sub USING (store_code, business_date)
            ORDER BY s.store_code, s.card_id, s.business_date DESC
            """)
        // Lock the stored states first (key order): a concurrent file of another day of the same store
        // (a different store-day lock) may be replacing them, and the staleness check below must see its
        // committed state, not this statement's snapshot.
        _ = try conn.runQuery("""
            SELECT 1 FROM core.prospect_card c JOIN stg_card w ON c.store_code = w.store_code AND c.card_id = w.card_id
            ORDER BY c.store_code, c.card_id FOR UPDATE OF c
            """)
        _ = try conn.runQuery("""
            DELETE FROM stg_card w USING core.prospect_card c
            WHERE c.store_code = w.store_code AND c.card_id = w.card_id
              AND (c.state_business_date, c.state_received_at) > (w.business_date, \(received)::timestamptz)
            """)
        try conn.runScript("""
            INSERT INTO core.kpi_change (store_code, first_date, last_date, reason)
            SELECT w.store_code, r.first_date, r.last_date, 'prospects'
            FROM stg_card w
            LEFT JOIN core.prospect_card c ON c.store_code = w.store_code AND c.card_id = w.card_id
            CROSS JOIN LATERAL core.card_change_ranges(
                c.created_on, c.closed_on, c.status, c.is_valid, c.salesperson_code,
                w.created_on, w.closed_on, w.status, w.is_valid, w.salesperson_code) r;
            INSERT INTO core.prospect_card_history
            SELECT c.*, now(), w.submission_id
            FROM core.prospect_card c JOIN stg_card w ON c.store_code = w.store_code AND c.card_id = w.card_id;
            """)
        // The WHERE on DO UPDATE covers a card first inserted by a concurrent file after the checks above:
        // its state is kept when it is newer.
        _ = try conn.runQuery("""
            INSERT INTO core.prospect_card AS c
                (store_code, card_id, created_on, salesperson_code, customer_name_masked, phone_hash, model_code,
                 level, source, status, closed_on, lost_reason, is_valid, invalid_reasons,
                 state_business_date, state_received_at, state_sequence, submission_id)
            SELECT store_code, card_id, created_on, salesperson_code, customer_name_masked, phone_hash, model_code,
                   level, source, status, closed_on, lost_reason, is_valid, invalid_reasons,
                   business_date, \(received)::timestamptz, \(sequence), submission_id
            FROM stg_card
            ON CONFLICT (store_code, card_id) DO UPDATE SET
                created_on = EXCLUDED.created_on, salesperson_code = EXCLUDED.salesperson_code,
                customer_name_masked = EXCLUDED.customer_name_masked, phone_hash = EXCLUDED.phone_hash,
                model_code = EXCLUDED.model_code, level = EXCLUDED.level, source = EXCLUDED.source,
                status = EXCLUDED.status, closed_on = EXCLUDED.closed_on, lost_reason = EXCLUDED.lost_reason,
                is_valid = EXCLUDED.is_valid, invalid_reasons = EXCLUDED.invalid_reasons,
                state_business_date = EXCLUDED.state_business_date, state_received_at = EXCLUDED.state_received_at,
                state_sequence = EXCLUDED.state_sequence, submission_id = EXCLUDED.submission_id
            WHERE (c.state_business_date, c.state_received_at) <= (EXCLUDED.state_business_date, EXCLUDED.state_received_at)
            """)
    }

    /// Upserts orders the same way; every date an order counts on (order, delivery, cancel), old and new,
    /// goes to the change log when anything that feeds a KPI changed.
    static func sales(_ conn: isolated PostgresConnection, received: Date, sequence: Int) throws {
        _ = try conn.runQuery("""
            CREATE TEMP TABLE stg_order ON COMMIT DROP AS
            SELECT DISTINCT ON (s.store_code, s.order_id) s.*, sub.submission_id
            FROM stg_sale s JOIN stg_submission sub USING (store_code, business_date)
            ORDER BY s.store_code, s.order_id, s.business_date DESC
            """)
        // As for cards: lock the stored states before checking which are newer.
        _ = try conn.runQuery("""
            SELECT 1 FROM core.sales_order o JOIN stg_order w ON o.store_code = w.store_code AND o.order_id = w.order_id
            ORDER BY o.store_code, o.order_id FOR UPDATE OF o
            """)
        _ = try conn.runQuery("""
            DELETE FROM stg_order w USING core.sales_order o
            WHERE o.store_code = w.store_code AND o.order_id = w.order_id
              AND (o.state_business_date, o.state_received_at) > (w.business_date, \(received)::timestamptz)
            """)
        try conn.runScript("""
            INSERT INTO core.kpi_change (store_code, first_date, last_date, reason)
            SELECT DISTINCT w.store_code, d.day, d.day, 'sales'
            FROM stg_order w
            LEFT JOIN core.sales_order o ON o.store_code = w.store_code AND o.order_id = w.order_id
            CROSS JOIN LATERAL (VALUES (o.order_date), (o.delivery_date), (o.cancel_date),
                                       (w.order_date), (w.delivery_date), (w.cancel_date)) AS d(day)
            WHERE d.day IS NOT NULL
              AND (o.order_id IS NULL
                   OR (o.salesperson_code, o.order_date, o.status, o.delivery_date, o.cancel_date, o.list_price,
                       o.deal_price, o.collected)
                      IS DISTINCT FROM
                      (w.salesperson_code, w.order_date, w.status, w.delivery_date, w.cancel_date, w.list_price,
                       w.deal_price, w.collected));
            INSERT INTO core.sales_order_history
            SELECT o.*, now(), w.submission_id
            FROM core.sales_order o JOIN stg_order w ON o.store_code = w.store_code AND o.order_id = w.order_id;
            """)
        // As for cards, a concurrently inserted newer order state is kept.
        _ = try conn.runQuery("""
            INSERT INTO core.sales_order AS o
                (store_code, order_id, card_id, salesperson_code, model_code, order_date, status, delivery_date,
                 cancel_date, vin, list_price, deal_price, collected, state_business_date, state_received_at,
                 state_sequence, submission_id)
            SELECT store_code, order_id, card_id, salesperson_code, model_code, order_date, status, delivery_date,
                   cancel_date, vin, list_price, deal_price, collected, business_date, \(received)::timestamptz,
                   \(sequence), submission_id
            FROM stg_order
            ON CONFLICT (store_code, order_id) DO UPDATE SET
                card_id = EXCLUDED.card_id, salesperson_code = EXCLUDED.salesperson_code,
                model_code = EXCLUDED.model_code, order_date = EXCLUDED.order_date, status = EXCLUDED.status,
                delivery_date = EXCLUDED.delivery_date, cancel_date = EXCLUDED.cancel_date, vin = EXCLUDED.vin,
                list_price = EXCLUDED.list_price, deal_price = EXCLUDED.deal_price, collected = EXCLUDED.collected,
                state_business_date = EXCLUDED.state_business_date, state_received_at = EXCLUDED.state_received_at,
                state_sequence = EXCLUDED.state_sequence, submission_id = EXCLUDED.submission_id
            WHERE (o.state_business_date, o.state_received_at) <= (EXCLUDED.state_business_date, EXCLUDED.state_received_at)
            """)
    }
}
