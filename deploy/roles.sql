-- Roles for a production database (run once as a superuser, before `dealer-kpi migrate`).
-- Replace the passwords, or use certificate authentication.

-- The owner of the schema: runs `dealer-kpi migrate`.
CREATE ROLE dealer_kpi_owner LOGIN PASSWORD 'change-me-owner';
-- The daemon's writer: reads and writes the warehouse, cannot change the schema.
CREATE ROLE dealer_kpi LOGIN PASSWORD 'change-me-writer';
-- BI tools (Superset, Metabase, Grafana): the bi views only, no PII.
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kpi_reader') THEN CREATE ROLE kpi_reader NOLOGIN; END IF;
END $$;
CREATE ROLE grafana LOGIN PASSWORD 'change-me-bi' IN ROLE kpi_reader;

CREATE DATABASE dealer_kpi OWNER dealer_kpi_owner;
\connect dealer_kpi
-- After `dealer-kpi migrate` (as dealer_kpi_owner), give the writer its rights:
--   GRANT USAGE ON SCHEMA core, kpi, ops, bi TO dealer_kpi;
--   GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA core, kpi, ops TO dealer_kpi;
--   GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA core, kpi, ops TO dealer_kpi;
--   GRANT SELECT ON ALL TABLES IN SCHEMA bi TO dealer_kpi;
--   ALTER DEFAULT PRIVILEGES FOR ROLE dealer_kpi_owner IN SCHEMA core, kpi, ops
--       GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO dealer_kpi;
-- The migrations grant kpi_reader USAGE on bi and SELECT on its views; nothing in core, kpi or ops.
