-- Contract 1.1, section 5 ("Duplicates, sections and uploads"; docs/contract.md).
--
-- A store-day's section content is the set of records a submission carries for it; ingest sends a digest
-- of it per (store-day, section) (Warehouse/SectionDigest.swift: keyed, independent of record order, form
-- and encoding). Compared with the digest of what was last delivered for that section:
--   * every section the submission carries for the store-day equal: a DUPLICATE (a retry): accepted, no new
--     version, no submission, no change to any fact; recorded in core.report_duplicate and answered as such;
--   * a section never delivered for the store-day: it COMPLETES the current version (no new version);
--   * a section delivered before with other content: a CORRECTION, version n+1, unless the submission has
--     the current version's receipt time (one upload, or files received together, join one version).

-- The digest of the content last delivered per section, and when it was received (visits_received_at
-- already exists). A section is "last delivered" in receipt order: a historical load stated to have arrived
-- before the stored section does not replace its digest, just as it does not replace newer visits.
ALTER TABLE core.store_day_report
    ADD COLUMN visits_digest         text,
    ADD COLUMN prospects_digest      text,
    ADD COLUMN prospects_received_at timestamptz,
    ADD COLUMN sales_digest          text,
    ADD COLUMN sales_received_at     timestamptz;

COMMENT ON COLUMN core.store_day_report.visits_digest IS
    'Digest of the visits section last delivered (contract 1.1); ''pre-1.1'' for a section delivered before digests existed';

-- Each submission keeps the digests of the sections it carried (NULL: not carried).
ALTER TABLE core.report_submission
    ADD COLUMN visits_digest    text,
    ADD COLUMN prospects_digest text,
    ADD COLUMN sales_digest     text;

-- Sections delivered before this migration have no digest. They get a marker that equals no digest, so the
-- first submission after the upgrade that carries such a section compares as a change, as every later
-- submission did before 1.1; from then on the digest is known.
UPDATE core.store_day_report r
SET visits_digest = CASE WHEN r.visits_received_at IS NOT NULL THEN 'pre-1.1' END,
    prospects_received_at = p.prospects_at,
    prospects_digest = CASE WHEN p.prospects_at IS NOT NULL THEN 'pre-1.1' END,
    sales_received_at = p.sales_at,
    sales_digest = CASE WHEN p.sales_at IS NOT NULL THEN 'pre-1.1' END
FROM (SELECT s.store_code, s.business_date,
             max(s.received_at) FILTER (WHERE s.prospect_rows IS NOT NULL) AS prospects_at,
             max(s.received_at) FILTER (WHERE s.sale_rows IS NOT NULL) AS sales_at
      FROM core.report_submission s
      GROUP BY s.store_code, s.business_date) p
WHERE p.store_code = r.store_code AND p.business_date = r.business_date;

-- Every duplicate received: a retry is not a version, but HQ and operations still see that it came.
CREATE TABLE core.report_duplicate (
    duplicate_id  bigserial PRIMARY KEY,
    store_code    core.code NOT NULL REFERENCES core.store,
    business_date date NOT NULL,
    version       int NOT NULL,              -- the version it repeated (the store-day's current one)
    received_at   timestamptz NOT NULL,
    file_id       bigint NOT NULL REFERENCES core.ingested_file,
    source_file   text NOT NULL
);
CREATE INDEX report_duplicate_day_idx ON core.report_duplicate (store_code, business_date);

-- The bookkeeping of one ingested file (sql/006), now with the section digests (one per element, parallel to
-- the other arrays) and the duplicate rule. Returns every store-day of the file; a duplicate store-day has
-- duplicate = true, no submission (submission_id NULL) and takes no visits; its version is the current one.
DROP FUNCTION core.ingest_file_begin(text, text, text, text, timestamptz, text[], date[], text[], int[]);

CREATE FUNCTION core.ingest_file_begin(
    p_file_name text, p_checksum text, p_form text, p_encoding text, p_received_at timestamptz,
    p_stores text[], p_dates date[], p_sections text[], p_row_counts int[], p_digests text[])
RETURNS TABLE (store_code text, business_date date, version int, submission_id bigint, takes_visits boolean,
               duplicate boolean, file_id bigint, state_sequence bigint)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    v_file_id    bigint;
    v_sequence   bigint;
    v_day        record;
    v_dup_stores text[];
    v_dup_dates  date[];
BEGIN
    IF cardinality(p_digests) IS DISTINCT FROM cardinality(p_stores) THEN
        RAISE EXCEPTION 'core.ingest_file_begin: % digests for % sections', cardinality(p_digests), cardinality(p_stores);
    END IF;

    PERFORM pg_advisory_xact_lock(hashtextextended(d.store_code || '/' || d.business_date::text, 7001))
    FROM (SELECT DISTINCT s.store_code, s.business_date FROM unnest(p_stores, p_dates) AS s(store_code, business_date)) d
    ORDER BY d.store_code, d.business_date;

    INSERT INTO core.ingested_file (file_name, checksum, form, encoding, received_at, row_count)
    VALUES (p_file_name, p_checksum, p_form, p_encoding, p_received_at,
            (SELECT coalesce(sum(n), 0) FROM unnest(p_row_counts) AS n))
    RETURNING ingested_file.file_id INTO v_file_id;
    v_sequence := nextval('core.state_sequence');

    -- Duplicates: store-days already reported whose every carried section equals what was last delivered.
    -- (The store-days are locked: nothing changes them before the statements below.)
    SELECT coalesce(array_agg(d.store_code), '{}'), coalesce(array_agg(d.business_date), '{}')
    INTO v_dup_stores, v_dup_dates
    FROM (
        SELECT s.store_code, s.business_date
        FROM unnest(p_stores, p_dates, p_sections, p_digests) AS s(store_code, business_date, section, digest)
        JOIN core.store_day_report r ON r.store_code = s.store_code AND r.business_date = s.business_date
        GROUP BY s.store_code, s.business_date
        HAVING bool_and(coalesce(s.digest = CASE s.section WHEN 'visits' THEN r.visits_digest
                                                           WHEN 'prospects' THEN r.prospects_digest
                                                           ELSE r.sales_digest END, false))
    ) d;

    -- Visits the file replaces: those of its (non-duplicate) visits store-days whose stored visits were
    -- received no later than this file; one index probe per replaced store-day.
    FOR v_day IN
        SELECT r.store_code, r.business_date
        FROM core.store_day_report r
        WHERE (r.store_code, r.business_date) IN (
                  SELECT s.store_code, s.business_date
                  FROM unnest(p_stores, p_dates, p_sections) AS s(store_code, business_date, section)
                  WHERE s.section = 'visits')
          AND (r.store_code, r.business_date) NOT IN (SELECT * FROM unnest(v_dup_stores, v_dup_dates))
          AND r.visits_received_at <= p_received_at
        ORDER BY 1, 2
    LOOP
        DELETE FROM core.visit v WHERE v.store_code = v_day.store_code AND v.business_date = v_day.business_date;
    END LOOP;

    -- Versions and the last delivered content per section. A new version only for a correction: a section
    -- delivered before with another digest, received at another time than the current version.
    INSERT INTO core.store_day_report AS r
        (store_code, business_date, current_version, current_received_at, first_received_at, due_at, on_time,
         visits_received_at, visits_digest, prospects_received_at, prospects_digest, sales_received_at, sales_digest)
    SELECT s.store_code, s.business_date, 1, p_received_at, p_received_at,
           core.due_at(s.business_date), p_received_at <= core.due_at(s.business_date),
           CASE WHEN bool_or(s.section = 'visits') THEN p_received_at END,
           max(s.digest) FILTER (WHERE s.section = 'visits'),
           CASE WHEN bool_or(s.section = 'prospects') THEN p_received_at END,
           max(s.digest) FILTER (WHERE s.section = 'prospects'),
           CASE WHEN bool_or(s.section = 'sales') THEN p_received_at END,
           max(s.digest) FILTER (WHERE s.section = 'sales')
    FROM unnest(p_stores, p_dates, p_sections, p_digests) AS s(store_code, business_date, section, digest)
    WHERE (s.store_code, s.business_date) NOT IN (SELECT * FROM unnest(v_dup_stores, v_dup_dates))
    GROUP BY s.store_code, s.business_date
    ON CONFLICT ON CONSTRAINT store_day_report_pkey DO UPDATE
    SET current_version = CASE WHEN r.current_received_at <> EXCLUDED.current_received_at
                                    AND (   r.visits_digest <> EXCLUDED.visits_digest
                                         OR r.prospects_digest <> EXCLUDED.prospects_digest
                                         OR r.sales_digest <> EXCLUDED.sales_digest)
                               THEN r.current_version + 1 ELSE r.current_version END,
        current_received_at = greatest(r.current_received_at, EXCLUDED.current_received_at),
        visits_received_at = CASE WHEN EXCLUDED.visits_received_at IS NOT NULL
                                       AND (r.visits_received_at IS NULL OR r.visits_received_at <= EXCLUDED.visits_received_at)
                                  THEN EXCLUDED.visits_received_at ELSE r.visits_received_at END,
        visits_digest = CASE WHEN EXCLUDED.visits_received_at IS NOT NULL
                                  AND (r.visits_received_at IS NULL OR r.visits_received_at <= EXCLUDED.visits_received_at)
                             THEN EXCLUDED.visits_digest ELSE r.visits_digest END,
        prospects_received_at = CASE WHEN EXCLUDED.prospects_received_at IS NOT NULL
                                          AND (r.prospects_received_at IS NULL OR r.prospects_received_at <= EXCLUDED.prospects_received_at)
                                     THEN EXCLUDED.prospects_received_at ELSE r.prospects_received_at END,
        prospects_digest = CASE WHEN EXCLUDED.prospects_received_at IS NOT NULL
                                     AND (r.prospects_received_at IS NULL OR r.prospects_received_at <= EXCLUDED.prospects_received_at)
                                THEN EXCLUDED.prospects_digest ELSE r.prospects_digest END,
        sales_received_at = CASE WHEN EXCLUDED.sales_received_at IS NOT NULL
                                      AND (r.sales_received_at IS NULL OR r.sales_received_at <= EXCLUDED.sales_received_at)
                                 THEN EXCLUDED.sales_received_at ELSE r.sales_received_at END,
        sales_digest = CASE WHEN EXCLUDED.sales_received_at IS NOT NULL
                                 AND (r.sales_received_at IS NULL OR r.sales_received_at <= EXCLUDED.sales_received_at)
                            THEN EXCLUDED.sales_digest ELSE r.sales_digest END;

    INSERT INTO core.report_duplicate (store_code, business_date, version, received_at, file_id, source_file)
    SELECT r.store_code, r.business_date, r.current_version, p_received_at, v_file_id, p_file_name
    FROM unnest(v_dup_stores, v_dup_dates) AS d(store_code, business_date)
    JOIN core.store_day_report r ON r.store_code = d.store_code AND r.business_date = d.business_date;

    IF cardinality(v_dup_stores) < (SELECT count(DISTINCT (s.store_code, s.business_date)) FROM unnest(p_stores, p_dates) AS s(store_code, business_date)) THEN
        PERFORM pg_notify('dealer_kpi_changes', p_file_name);
    END IF;

    -- The submissions, the change log (every new submission: 'report'; those taking visits: 'visits') and the
    -- result, in one statement (core.report_submission has no index on file_id).
    RETURN QUERY
    WITH submitted AS (
        INSERT INTO core.report_submission AS n
            (store_code, business_date, version, received_at, due_at, on_time, file_id, source_file, source_checksum,
             visit_rows, prospect_rows, sale_rows, visits_digest, prospects_digest, sales_digest)
        SELECT r.store_code, r.business_date, r.current_version, p_received_at, r.due_at,
               p_received_at <= r.due_at, v_file_id, p_file_name, p_checksum,
               max(s.row_count) FILTER (WHERE s.section = 'visits'),
               max(s.row_count) FILTER (WHERE s.section = 'prospects'),
               max(s.row_count) FILTER (WHERE s.section = 'sales'),
               max(s.digest) FILTER (WHERE s.section = 'visits'),
               max(s.digest) FILTER (WHERE s.section = 'prospects'),
               max(s.digest) FILTER (WHERE s.section = 'sales')
        FROM unnest(p_stores, p_dates, p_sections, p_row_counts, p_digests) AS s(store_code, business_date, section, row_count, digest)
        JOIN core.store_day_report r ON r.store_code = s.store_code AND r.business_date = s.business_date
        WHERE (s.store_code, s.business_date) NOT IN (SELECT * FROM unnest(v_dup_stores, v_dup_dates))
        GROUP BY r.store_code, r.business_date, r.current_version, r.due_at
        RETURNING n.store_code, n.business_date, n.version, n.submission_id, n.visit_rows IS NOT NULL AS carries_visits
    ), result AS (
        SELECT sub.store_code::text AS store_code, sub.business_date, sub.version, sub.submission_id,
               sub.carries_visits AND r.visits_received_at = p_received_at AS takes_visits, false AS duplicate
        FROM submitted sub
        JOIN core.store_day_report r ON r.store_code = sub.store_code AND r.business_date = sub.business_date
        UNION ALL
        SELECT r.store_code::text, r.business_date, r.current_version, NULL::bigint, false, true
        FROM unnest(v_dup_stores, v_dup_dates) AS d(store_code, business_date)
        JOIN core.store_day_report r ON r.store_code = d.store_code AND r.business_date = d.business_date
    ), logged AS (
        INSERT INTO core.kpi_change (store_code, first_date, last_date, reason)
        SELECT x.store_code, x.business_date, x.business_date, 'report' FROM result x WHERE NOT x.duplicate
        UNION ALL
        SELECT x.store_code, x.business_date, x.business_date, 'visits' FROM result x WHERE x.takes_visits
    )
    SELECT x.store_code, x.business_date, x.version, x.submission_id, x.takes_visits, x.duplicate, v_file_id, v_sequence
    FROM result x
    ORDER BY 1, 2;
END
$$;
