-- Salesperson names in bi.dim_salesperson (issue 13).
--
-- Decision: a salesperson's name is an employee's name from master data HQ itself owns and loads; HQ needs it
-- to read a league table of salespeople. The contract's PII rule is about customers (names, phones): those
-- stay out of bi (masked and hashed in core, never in a view). So the name is exposed here, as
-- `salesperson_name`, and only here: facts keep the code.
CREATE OR REPLACE VIEW bi.dim_salesperson AS
SELECT p.salesperson_code::text AS salesperson_code, p.store_code::text AS store_code, s.store_name,
       s.region_code::text AS region_code, p.hired_on, p.left_on, p.name AS salesperson_name
FROM core.salesperson p
JOIN core.store s ON s.store_code = p.store_code;

COMMENT ON COLUMN bi.dim_salesperson.salesperson_name IS
    'Salesperson name from master data: an employee, not customer data (销售顾问姓名)';

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kpi_reader') THEN
        EXECUTE 'GRANT SELECT ON bi.dim_salesperson TO kpi_reader';
    END IF;
END $$;
