import CivilCalendar
import DailyReport
import Foundation
import Postgres

/// The set-based merge of one file's staging tables into the warehouse. Runs inside the file's
/// transaction, after its store-days are locked.
enum IngestMerge {
    /// Assigns each store-day its version (1 for the first data, +1 for data received later than the
    /// current version, the same version for data received at the same time), records the submission and
    /// the report-level change. Returns the versions.
    static func versionsAndSubmissions(_ conn: isolated PostgresConnection, fileID: Int, received: Date, name: String, checksum: String) throws -> [IngestResult.StoreDayVersion] {
        let rows = try conn.runQuery("""
            INSERT INTO core.store_day_report AS r
                (store_code, business_date, current_version, current_received_at, first_received_at, due_at, on_time)
            SELECT DISTINCT store_code, business_date, 1, \(received)::timestamptz, \(received)::timestamptz,
                   core.due_at(business_date), \(received)::timestamptz <= core.due_at(business_date)
            FROM stg_section
            ON CONFLICT (store_code, business_date) DO UPDATE
            SET current_version = CASE WHEN r.current_received_at = EXCLUDED.current_received_at
                                       THEN r.current_version ELSE r.current_version + 1 END,
                current_received_at = greatest(r.current_received_at, EXCLUDED.current_received_at)
            RETURNING store_code, business_date, current_version
            """)
        let versions = try rows.map { row in
            let (store, date, version) = try row.decode((String, CalendarDate, Int).self)
            return IngestResult.StoreDayVersion(store: store, businessDate: date, version: version)
        }
        _ = try conn.runQuery("""
            INSERT INTO core.report_submission
                (store_code, business_date, version, received_at, due_at, on_time, file_id, source_file, source_checksum,
                 visit_rows, prospect_rows, sale_rows)
            SELECT r.store_code, r.business_date, r.current_version, \(received)::timestamptz, r.due_at,
                   \(received)::timestamptz <= r.due_at, \(fileID), \(name), \(checksum),
                   max(s.row_count) FILTER (WHERE s.section = 'visits'),
                   max(s.row_count) FILTER (WHERE s.section = 'prospects'),
                   max(s.row_count) FILTER (WHERE s.section = 'sales')
            FROM stg_section s
            JOIN core.store_day_report r USING (store_code, business_date)
            GROUP BY r.store_code, r.business_date, r.current_version, r.due_at
            """)
        try conn.runScript("""
            CREATE TEMP TABLE stg_submission ON COMMIT DROP AS
            SELECT store_code::text, business_date, submission_id, version
            FROM core.report_submission WHERE file_id = \(fileID);
            INSERT INTO core.kpi_change (store_code, first_date, last_date, reason)
            SELECT store_code, business_date, business_date, 'report' FROM stg_submission;
            """)
        return versions.sorted { ($0.store, $0.businessDate) < ($1.store, $1.businessDate) }
    }

    /// Replaces the visits of every store-day the file carries visits for, unless the stored visits were
    /// received later (an out-of-order historical load never reverts newer data).
    static func visits(_ conn: isolated PostgresConnection, received: Date) throws {
        _ = try conn.runQuery("""
            CREATE TEMP TABLE stg_visit_day ON COMMIT DROP AS
            SELECT s.store_code, s.business_date, sub.submission_id, r.visits_received_at IS NOT NULL AS replaces
            FROM stg_section s
            JOIN stg_submission sub USING (store_code, business_date)
            JOIN core.store_day_report r USING (store_code, business_date)
            WHERE s.section = 'visits'
              AND (r.visits_received_at IS NULL OR r.visits_received_at <= \(received)::timestamptz)
            """)
        // Only store-days whose visits were stored before have rows to delete (visits_received_at is set
        // whenever visits are stored); usually none, then the DELETE is skipped. A fresh temporary table has
        // no statistics: without them the planner may guess ~1,000 store-days and delete through a merge join
        // over the whole core.visit primary key (a cost growing with the table, ~0.1-0.2 s per file at 1M
        // rows); with them it probes the key once per replaced store-day.
        let replacing = try conn.runQuery("SELECT count(*) FROM stg_visit_day WHERE replaces")[0].decode(Int.self, column: 0)
        if replacing > 0 {
            try conn.runScript("""
                ANALYZE stg_visit_day;
                DELETE FROM core.visit v USING stg_visit_day d
                WHERE d.replaces AND v.store_code = d.store_code AND v.business_date = d.business_date;
                """)
        }
        try conn.runScript("""
            INSERT INTO core.visit
                (store_code, business_date, visit_id, channel, purpose, salesperson_code, model_code, party_size,
                 existing_card, existing_order, new_card, test_drive, walkin_group, phone_group, revisit,
                 submission_id, source_line)
            SELECT s.store_code, s.business_date, s.visit_id, s.channel, s.purpose, s.salesperson_code, s.model_code,
                   s.party_size, s.existing_card, s.existing_order, s.new_card, s.test_drive, s.walkin_group,
                   s.phone_group, s.revisit, d.submission_id, s.source_line
            FROM stg_visit s JOIN stg_visit_day d USING (store_code, business_date);
            INSERT INTO core.kpi_change (store_code, first_date, last_date, reason)
            SELECT store_code, business_date, business_date, 'visits' FROM stg_visit_day;
            """)
        _ = try conn.runQuery("""
            UPDATE core.store_day_report r SET visits_received_at = \(received)::timestamptz
            FROM stg_visit_day d WHERE r.store_code = d.store_code AND r.business_date = d.business_date
            """)
    }

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
