-- Replanning a session's cached plans while the warehouse grows (docs/ingest-performance.md).
--
-- PostgreSQL plans each foreign-key check (e.g. core.visit.submission_id -> core.report_submission) once
-- per connection and keeps the plan until something invalidates it (ANALYZE of the referenced table, DDL).
-- A plan made while a table is a page or two is a sequential scan, and it stays one while the table grows:
-- a back-fill into a new warehouse (or one analyzed while empty) then scans all of core.report_submission
-- for every visit row until autovacuum happens to analyze it. Measured in bench/ingest: 1,000,000 visit rows
-- took 75-79 s instead of 27-30 s in runs where that happened, and its timing decided the figure.
--
-- core.session_plans_outdated() tells the ingest whether the warehouse has grown by more than a quarter
-- (and at least 64 submissions) since this session's plans were made; the ingest then runs DISCARD PLANS,
-- so every cached plan, foreign-key checks included, is made again against the table's current size. The
-- mark is a session setting (reset by a rollback, which only costs one more replanning). The size is the
-- submission sequence, which only grows and needs no statistics.
CREATE FUNCTION core.session_plans_outdated() RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_now     bigint;
    v_planned bigint := nullif(current_setting('dealer_kpi.plans_made_at_submission', true), '')::bigint;
BEGIN
    SELECT CASE WHEN is_called THEN last_value ELSE 0 END INTO v_now FROM core.report_submission_submission_id_seq;
    IF v_planned IS NULL OR v_now > v_planned + greatest(64, v_planned / 4) THEN
        PERFORM set_config('dealer_kpi.plans_made_at_submission', v_now::text, false);
        RETURN true;
    END IF;
    RETURN false;
END
$$;
