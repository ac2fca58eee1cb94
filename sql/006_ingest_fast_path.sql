-- Ingest fast path (issue 3's benchmark goals; docs/ingest-performance.md).
--
-- 1. A token that changes whenever the master data the report validators read (stores, salespeople,
--    models) changes, so ingest can keep that data in memory between files and re-read it only when the
--    token differs. The token is random, not a counter: a database restored from a backup gets back the
--    token of exactly the data it restores, so a cached copy can never be taken for another state. It is
--    bumped by statement-level triggers in the same transaction as the change, whatever made it
--    (`dealer-kpi load`, an operator's SQL, a test): an ingest's snapshot sees the token and the data of
--    the same committed state.
CREATE TABLE core.reference_data_version (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    token      uuid NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO core.reference_data_version (token) VALUES (gen_random_uuid());

-- Bumps only when rows really changed (an upsert of identical master data changes nothing, not even this
-- token); transition tables need one trigger per event.
CREATE FUNCTION core.bump_reference_data_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' OR EXISTS (SELECT 1 FROM changed_rows) THEN
        UPDATE core.reference_data_version SET token = gen_random_uuid(), changed_at = now();
    END IF;
    RETURN NULL;
END
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['store', 'salesperson', 'model'] LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON core.%I REFERENCING NEW TABLE AS changed_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION core.bump_reference_data_version()', t || '_inserted_reference_version', t);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON core.%I REFERENCING NEW TABLE AS changed_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION core.bump_reference_data_version()', t || '_updated_reference_version', t);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON core.%I REFERENCING OLD TABLE AS changed_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION core.bump_reference_data_version()', t || '_deleted_reference_version', t);
        EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON core.%I
                        FOR EACH STATEMENT EXECUTE FUNCTION core.bump_reference_data_version()', t || '_truncated_reference_version', t);
    END LOOP;
END
$$;

-- 2. The bookkeeping of one ingested file in one round trip (it was ~10 statements per file, a fixed cost
--    that dominated small files). Called inside the file's transaction after the file was parsed and
--    validated, with one element per report section the file carries (store, business date, section, rows).
--    In order: locks the store-days (transaction-level advisory locks in store/date order: different stores
--    proceed in parallel, the same store-day serializes); records the file; draws the state sequence
--    number; deletes the visits the file replaces; assigns each store-day its version (1 for the first data,
--    +1 for data received later than the current version, the same version for data received at the same
--    time) and, for visits sections, decides which store-days take the file's visits (not when the stored
--    visits were received later: an out-of-order historical load never reverts newer data); notifies
--    listeners (delivered at commit); records the submissions and the change log ('report' for every
--    store-day, 'visits' for those taking visits). The caller then COPYs the visits of the store-days returned with
--    takes_visits straight into core.visit with the returned submission_id, and merges cards and orders.
--    Every statement runs with a fresh snapshot (a VOLATILE function under READ COMMITTED), so after
--    waiting for a lock it sees what the previous holder committed.
CREATE FUNCTION core.ingest_file_begin(
    p_file_name text, p_checksum text, p_form text, p_encoding text, p_received_at timestamptz,
    p_stores text[], p_dates date[], p_sections text[], p_row_counts int[])
RETURNS TABLE (store_code text, business_date date, version int, submission_id bigint, takes_visits boolean,
               file_id bigint, state_sequence bigint)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    v_file_id  bigint;
    v_sequence bigint;
    v_day      record;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(d.store_code || '/' || d.business_date::text, 7001))
    FROM (SELECT DISTINCT s.store_code, s.business_date FROM unnest(p_stores, p_dates) AS s(store_code, business_date)) d
    ORDER BY d.store_code, d.business_date;

    INSERT INTO core.ingested_file (file_name, checksum, form, encoding, received_at, row_count)
    VALUES (p_file_name, p_checksum, p_form, p_encoding, p_received_at,
            (SELECT coalesce(sum(n), 0) FROM unnest(p_row_counts) AS n))
    RETURNING ingested_file.file_id INTO v_file_id;
    v_sequence := nextval('core.state_sequence');

    -- Visits the file replaces: those of its visits store-days whose stored visits were received no later
    -- than this file (usually none are stored yet); one index probe per replaced store-day.
    FOR v_day IN
        SELECT r.store_code, r.business_date
        FROM core.store_day_report r
        WHERE (r.store_code, r.business_date) IN (
                  SELECT s.store_code, s.business_date
                  FROM unnest(p_stores, p_dates, p_sections) AS s(store_code, business_date, section)
                  WHERE s.section = 'visits')
          AND r.visits_received_at <= p_received_at
        ORDER BY 1, 2
    LOOP
        DELETE FROM core.visit v WHERE v.store_code = v_day.store_code AND v.business_date = v_day.business_date;
    END LOOP;

    -- Versions, and the receipt time of the visits each store-day now holds (it becomes this file's when the
    -- file carries the day's visits and the stored ones are not newer: takes_visits below).
    INSERT INTO core.store_day_report AS r
        (store_code, business_date, current_version, current_received_at, first_received_at, due_at, on_time,
         visits_received_at)
    SELECT s.store_code, s.business_date, 1, p_received_at, p_received_at,
           core.due_at(s.business_date), p_received_at <= core.due_at(s.business_date),
           CASE WHEN bool_or(s.section = 'visits') THEN p_received_at END
    FROM unnest(p_stores, p_dates, p_sections) AS s(store_code, business_date, section)
    GROUP BY s.store_code, s.business_date
    ON CONFLICT ON CONSTRAINT store_day_report_pkey DO UPDATE
    SET current_version = CASE WHEN r.current_received_at = EXCLUDED.current_received_at
                               THEN r.current_version ELSE r.current_version + 1 END,
        current_received_at = greatest(r.current_received_at, EXCLUDED.current_received_at),
        visits_received_at = CASE WHEN EXCLUDED.visits_received_at IS NOT NULL
                                       AND (r.visits_received_at IS NULL OR r.visits_received_at <= EXCLUDED.visits_received_at)
                                  THEN EXCLUDED.visits_received_at ELSE r.visits_received_at END;

    PERFORM pg_notify('dealer_kpi_changes', p_file_name);

    -- The submissions, the change log (every store-day: 'report'; those taking visits: 'visits') and the
    -- result, in one statement: the new rows are known from RETURNING (core.report_submission has no index on
    -- file_id: looking them up again would scan it).
    RETURN QUERY
    WITH submitted AS (
        INSERT INTO core.report_submission AS n
            (store_code, business_date, version, received_at, due_at, on_time, file_id, source_file, source_checksum,
             visit_rows, prospect_rows, sale_rows)
        SELECT r.store_code, r.business_date, r.current_version, p_received_at, r.due_at,
               p_received_at <= r.due_at, v_file_id, p_file_name, p_checksum,
               max(s.row_count) FILTER (WHERE s.section = 'visits'),
               max(s.row_count) FILTER (WHERE s.section = 'prospects'),
               max(s.row_count) FILTER (WHERE s.section = 'sales')
        FROM unnest(p_stores, p_dates, p_sections, p_row_counts) AS s(store_code, business_date, section, row_count)
        JOIN core.store_day_report r ON r.store_code = s.store_code AND r.business_date = s.business_date
        GROUP BY r.store_code, r.business_date, r.current_version, r.due_at
        RETURNING n.store_code, n.business_date, n.version, n.submission_id, n.visit_rows IS NOT NULL AS carries_visits
    ), result AS (
        SELECT sub.store_code::text AS store_code, sub.business_date, sub.version, sub.submission_id,
               sub.carries_visits AND r.visits_received_at = p_received_at AS takes_visits
        FROM submitted sub
        JOIN core.store_day_report r ON r.store_code = sub.store_code AND r.business_date = sub.business_date
    ), logged AS (
        INSERT INTO core.kpi_change (store_code, first_date, last_date, reason)
        SELECT x.store_code, x.business_date, x.business_date, 'report' FROM result x
        UNION ALL
        SELECT x.store_code, x.business_date, x.business_date, 'visits' FROM result x WHERE x.takes_visits
    )
    SELECT x.store_code, x.business_date, x.version, x.submission_id, x.takes_visits, v_file_id, v_sequence
    FROM result x
    ORDER BY 1, 2;
END
$$;
