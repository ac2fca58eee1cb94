-- The read side HQ needs (issue 13, items 1, 2, 4, 5): named dimensions, a holiday-aware calendar, the status
-- of every expected store-day report, and a KPI catalogue for BI tools. Every view is in `bi`, commented in
-- English and Chinese, carries no customer data, and is granted to kpi_reader (there are no default
-- privileges: sql/004 granted the views that existed then, so this migration grants again at its end).

-- ── Calendar exceptions (contract 1.1, section 1) ──────────────────────────────────────────────────
-- One row per listed date: `holiday` (a public holiday or bridge day off) or `workday` (a weekend day that is a
-- working day, 调休上班). A date not listed is a working day Monday to Friday and a weekend day otherwise.
-- Loaded by `dealer-kpi load` (header date,kind,name_zh); re-loading replaces the listed dates. Serves analysis
-- only: store openings and report expectations do not change with it, so it writes no KPI change.
CREATE TABLE core.calendar_exception (
    day        date PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('holiday', 'workday')),
    name_zh    text,
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE core.calendar_exception IS
    'Calendar exceptions master file (contract 1.1): public holidays and make-up working days (节假日与调休)';

-- ── KPI catalogue: unit and display format (BI tools' conditional and number formatting) ───────────
ALTER TABLE kpi.catalog
    ADD COLUMN unit           text,   -- count | CNY | ratio | units/person
    ADD COLUMN display_format text,   -- Excel-style number format
    ADD COLUMN d3_format      text;   -- d3-format specifier (Superset, Grafana)
-- One class per KPI (money, per person, ratio, count), and one unit and pair of formats per class.
UPDATE kpi.catalog c
SET unit = f.unit, display_format = f.display_format, d3_format = f.d3_format
FROM (VALUES ('money', 'CNY', '#,##0.00', ',.2f'), ('per_person', 'units/person', '#,##0.0', ',.1f'),
             ('ratio', 'ratio', '0.0%', '.1%'), ('count', 'count', '#,##0', ',d'))
     AS f(class, unit, display_format, d3_format)
WHERE f.class = CASE
        WHEN c.kpi_code IN ('REVENUE', 'LIST_REVENUE', 'DISCOUNT', 'COLLECTED', 'EXPENSE', 'PLAN_REVENUE', 'EXPENSE_BUDGET',
                            'AVG_DEAL_PRICE') THEN 'money'
        WHEN c.kpi_code = 'UNITS_PER_SALESPERSON' THEN 'per_person'
        WHEN c.kind = 'ratio' THEN 'ratio'
        ELSE 'count' END;
-- A KPI added later without them falls back on its kind (see bi.kpi_catalog).

-- ── Dimensions ─────────────────────────────────────────────────────────────────────────────────────
CREATE VIEW bi.dim_region AS
SELECT r.region_code::text AS region_code, r.region_name
FROM core.region r;

CREATE VIEW bi.dim_store AS
SELECT s.store_code::text AS store_code, s.store_name, s.city, s.region_code::text AS region_code, r.region_name,
       s.opened_on, s.closed_on
FROM core.store s
JOIN core.region r ON r.region_code = s.region_code;

-- Employees, not customers: the code, store and employment dates. (The name, asked for by issue 13, is not
-- exposed yet: the reader-role test counts salesperson_name as personal data; see docs/bi.md.)
CREATE VIEW bi.dim_salesperson AS
SELECT p.salesperson_code::text AS salesperson_code, p.store_code::text AS store_code, s.store_name,
       s.region_code::text AS region_code, p.hired_on, p.left_on
FROM core.salesperson p
JOIN core.store s ON s.store_code = p.store_code;

CREATE VIEW bi.dim_model AS
SELECT m.model_code::text AS model_code, m.model_name, m.segment
FROM core.model m;

-- ── Calendar ───────────────────────────────────────────────────────────────────────────────────────
-- Every date of core.calendar (2000-2100) with its labels and the holiday-aware working-day flag: a holiday is
-- never a working day (also on a weekday), a make-up workday always is (also on a weekend).
CREATE VIEW bi.calendar AS
SELECT c.day, c.iso_year, c.iso_week, c.week_start,
       extract(month FROM c.day)::int AS month, c.month_start,
       extract(quarter FROM c.day)::int AS quarter, c.quarter_start,
       extract(year FROM c.day)::int AS year,
       c.iso_weekday AS weekday,
       (ARRAY['星期一', '星期二', '星期三', '星期四', '星期五', '星期六', '星期日'])[c.iso_weekday] AS weekday_name_zh,
       (ARRAY['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'])[c.iso_weekday] AS weekday_name_en,
       c.is_weekend,
       coalesce(x.kind = 'holiday', false) AS is_holiday,
       CASE x.kind WHEN 'holiday' THEN false WHEN 'workday' THEN true ELSE NOT c.is_weekend END AS is_working_day,
       CASE WHEN x.kind = 'holiday' THEN x.name_zh END AS holiday_name_zh,
       x.kind AS exception_kind,
       x.name_zh AS exception_name_zh
FROM core.calendar c
LEFT JOIN core.calendar_exception x ON x.day = c.day;

-- ── Report status ──────────────────────────────────────────────────────────────────────────────────
-- One row per store-day of the reporting horizon (as the snapshot refresh defines it: the configured
-- reporting_start_date, else the earliest reported business date, to the latest reported one) on which the
-- store is open, plus any reported store-day of the horizon on which it was not. Status, as the KPIs count it:
-- on_time / late by version 1's receipt against its due time; missing when nothing arrived and the due time has
-- passed; not_due when nothing arrived yet and it is not due. `is_expected` is what REPORTS_EXPECTED counts
-- (open, and received or due), computed against now() rather than the last refresh.
CREATE VIEW bi.report_status AS
WITH h AS (
    -- The horizon and the due-time rule (core.due_at, read here: the reader may not call into core).
    SELECT coalesce(nullif((SELECT value FROM core.setting WHERE key = 'reporting_start_date'), '')::date,
                    (SELECT min(business_date) FROM core.store_day_report)) AS hs,
           (SELECT max(business_date) FROM core.store_day_report) AS he,
           (SELECT value::int FROM core.setting WHERE key = 'due_days_after_business_date') AS due_days,
           (SELECT value::time FROM core.setting WHERE key = 'due_time_of_day') AS due_time,
           (SELECT value FROM core.setting WHERE key = 'business_time_zone') AS tz
), store_days AS (
    -- Open store-days of the horizon ...
    SELECT s.store_code, d::date AS business_date, true AS is_open
    FROM h CROSS JOIN core.store s
    CROSS JOIN LATERAL generate_series(greatest(h.hs, s.opened_on), least(h.he, s.closed_on - 1), interval '1 day') AS d
    UNION ALL
    -- ... and reported store-days of the horizon on which the store was not open.
    SELECT r.store_code, r.business_date, false
    FROM h CROSS JOIN core.store_day_report r
    JOIN core.store s ON s.store_code = r.store_code
    WHERE r.business_date BETWEEN h.hs AND h.he
      AND NOT (r.business_date >= s.opened_on AND (s.closed_on IS NULL OR r.business_date < s.closed_on))
), dups AS (
    SELECT d.store_code, d.business_date, count(*) AS duplicates, max(d.received_at) AS last_duplicate_at
    FROM h CROSS JOIN core.report_duplicate d
    WHERE d.business_date BETWEEN h.hs AND h.he
    GROUP BY 1, 2
), x AS (
    SELECT sd.store_code, sd.business_date, sd.is_open,
           coalesce(r.due_at, ((sd.business_date + h.due_days) + h.due_time) AT TIME ZONE h.tz) AS due_at,
           r.store_code IS NOT NULL AS received,
           r.on_time, r.first_received_at, r.current_received_at, r.current_version,
           r.visits_received_at, r.prospects_received_at, r.sales_received_at
    FROM h CROSS JOIN store_days sd
    LEFT JOIN core.store_day_report r ON r.store_code = sd.store_code AND r.business_date = sd.business_date
)
SELECT x.store_code::text AS store_code, st.store_name, st.region_code::text AS region_code, x.business_date,
       CASE WHEN x.received THEN CASE WHEN x.on_time THEN 'on_time' ELSE 'late' END
            WHEN x.due_at <= now() THEN 'missing'
            ELSE 'not_due' END AS status,
       x.is_open AND (x.received OR x.due_at <= now()) AS is_expected,
       x.first_received_at,
       x.due_at,
       CASE WHEN x.received AND NOT x.on_time THEN x.first_received_at - x.due_at END AS late_by,
       x.current_received_at AS last_version_at,
       coalesce(x.current_version, 0) AS versions,
       coalesce(u.duplicates, 0) AS duplicates,
       u.last_duplicate_at,
       array_remove(ARRAY[CASE WHEN x.visits_received_at IS NOT NULL THEN 'visits' END,
                          CASE WHEN x.prospects_received_at IS NOT NULL THEN 'prospects' END,
                          CASE WHEN x.sales_received_at IS NOT NULL THEN 'sales' END], NULL) AS sections_received
FROM x
JOIN core.store st ON st.store_code = x.store_code
LEFT JOIN dups u ON u.store_code = x.store_code AND u.business_date = x.business_date;

-- The rollup per business date and region (nationally: sum the region rows).
CREATE VIEW bi.report_status_daily AS
SELECT s.business_date, s.region_code, g.region_name,
       count(*) FILTER (WHERE s.is_expected) AS expected,
       count(*) FILTER (WHERE s.status = 'on_time' AND s.is_expected) AS on_time,
       count(*) FILTER (WHERE s.status = 'late' AND s.is_expected) AS late,
       count(*) FILTER (WHERE s.status = 'missing' AND s.is_expected) AS missing,
       count(*) FILTER (WHERE s.status = 'not_due') AS not_due,
       count(*) FILTER (WHERE s.versions > 0) AS received,
       count(*) FILTER (WHERE s.versions > 1) AS corrected,
       coalesce(sum(s.duplicates), 0)::bigint AS duplicates,
       trim_scale(round(count(*) FILTER (WHERE s.status = 'on_time' AND s.is_expected)::numeric, 20)
                  / nullif(count(*) FILTER (WHERE s.is_expected), 0)) AS on_time_rate
FROM bi.report_status s
JOIN core.region g ON g.region_code = s.region_code
GROUP BY s.business_date, s.region_code, g.region_name;

-- ── KPI catalogue ──────────────────────────────────────────────────────────────────────────────────
CREATE VIEW bi.kpi_catalog AS
SELECT c.kpi_code, c.name_zh, c.name_en, c.kind,
       coalesce(c.unit, CASE c.kind WHEN 'ratio' THEN 'ratio' ELSE 'count' END) AS unit,
       c.direction,
       coalesce(c.display_format, CASE c.kind WHEN 'ratio' THEN '0.0%' ELSE '#,##0' END) AS display_format,
       coalesce(c.d3_format, CASE c.kind WHEN 'ratio' THEN '.1%' ELSE ',d' END) AS d3_format,
       c.sort_order AS display_order,
       c.ranked,
       r.target, r.target_unit, r.weight
FROM kpi.catalog c
LEFT JOIN kpi.scoring_rule r ON r.kpi_code = c.kpi_code AND r.level IS NULL;

-- ── Comments (English and Chinese) ─────────────────────────────────────────────────────────────────
COMMENT ON VIEW bi.dim_region IS 'Regions (大区维度表): one row per region.';
COMMENT ON VIEW bi.dim_store IS 'Stores (门店维度表): one row per store with city, region and opening dates.';
COMMENT ON VIEW bi.dim_salesperson IS 'Salespeople (销售顾问维度表): one row per salesperson with current store and employment dates.';
COMMENT ON VIEW bi.dim_model IS 'Car models (车型维度表): one row per model.';
COMMENT ON VIEW bi.calendar IS 'Calendar (日历): every date 2000-2100 with ISO week, month, quarter, weekday names and China''s holidays and make-up working days (节假日/调休) from the calendar master file.';
COMMENT ON VIEW bi.report_status IS 'Daily report status (日报状态): one row per store-day of the reporting horizon: on time, late, missing or not yet due, versions, duplicates, sections received.';
COMMENT ON VIEW bi.report_status_daily IS 'Daily report status per business date and region (日报到报汇总): expected, on time, late, missing.';
COMMENT ON VIEW bi.kpi_catalog IS 'KPI catalogue (指标目录): names, kind, unit, direction, display format and order of every KPI.';

DO $$
DECLARE
    c record;
    names jsonb := '{
      "region_code": "Region code (大区代码)", "region_name": "Region name (大区名称)",
      "store_code": "Store code (门店代码)", "store_name": "Store name (门店名称)", "city": "City (城市)",
      "opened_on": "First day open (开业日期)", "closed_on": "First day closed, exclusive; NULL while open (闭店日期)",
      "salesperson_code": "Salesperson code (销售顾问代码)",
      "hired_on": "First day employed (入职日期)", "left_on": "First day gone, exclusive; NULL while employed (离职日期)",
      "model_code": "Model code (车型代码)", "model_name": "Model name (车型名称)", "segment": "Segment (细分市场)",
      "day": "Business date (日期)", "iso_year": "ISO week-numbering year (ISO年)", "iso_week": "ISO week number 1-53 (ISO周)",
      "week_start": "Monday of the ISO week: period_start of grain week (周开始)",
      "month": "Month number 1-12 (月)", "month_start": "First day of the month: period_start of grain month (月开始)",
      "quarter": "Quarter 1-4 (季度)", "quarter_start": "First day of the quarter: period_start of grain quarter (季度开始)",
      "year": "Calendar year (年)", "weekday": "ISO weekday, Monday = 1 ... Sunday = 7 (星期)",
      "weekday_name_zh": "Weekday name in Chinese (星期名称)", "weekday_name_en": "Weekday name in English (星期英文名)",
      "is_weekend": "Saturday or Sunday (周末)", "is_holiday": "A public holiday or bridge day off (法定节假日)",
      "is_working_day": "A working day: Monday-Friday unless a holiday, or a make-up working day (工作日, 含调休上班)",
      "holiday_name_zh": "Name of the holiday (节日名称)",
      "exception_kind": "holiday | workday from the calendar master file; NULL: an ordinary day (日历例外类型)",
      "exception_name_zh": "Name given in the calendar master file, e.g. 国庆节调休上班 (例外说明)",
      "business_date": "Business date of the report (营业日期)",
      "status": "on_time | late | missing | not_due (到报状态: 及时/迟报/未报/未到期)",
      "is_expected": "Counts as expected (REPORTS_EXPECTED 应报): store open, and received or due (应报)",
      "first_received_at": "Receipt time of version 1 (首次报送时间)", "due_at": "Due time of the report (截止时间)",
      "late_by": "How late version 1 arrived (迟报时长)", "last_version_at": "Receipt time of the current version (最新版本时间)",
      "versions": "Versions received; 0 none, more than 1 corrected (版本数)",
      "duplicates": "Identical re-sends received (重复报送次数)", "last_duplicate_at": "Receipt time of the last duplicate (最近重复报送时间)",
      "sections_received": "Sections ever delivered: visits, prospects, sales (已报送部分)",
      "expected": "REPORTS_EXPECTED 应报日报数", "on_time": "REPORTS_ON_TIME 及时日报数", "late": "Reports received late (迟报数)",
      "missing": "Reports due and not received (未报数)", "not_due": "Store-days not yet due and not received (未到期)",
      "received": "REPORTS_RECEIVED 已报日报数", "corrected": "REPORTS_CORRECTED 更正日报数",
      "on_time_rate": "on_time / expected (日报及时率)",
      "kpi_code": "KPI code (指标代码)", "name_zh": "KPI name in Chinese (中文名称)", "name_en": "KPI name in English (英文名称)",
      "kind": "measure | ratio (度量/比率)", "unit": "count | CNY | ratio | units/person (单位)",
      "direction": "higher | lower is better; NULL: neither (方向)",
      "display_format": "Excel-style number format (显示格式)", "d3_format": "d3-format specifier for Superset/Grafana (d3格式)",
      "display_order": "Display order (显示顺序)", "ranked": "Ranked in bi.kpi_values (参与排名)",
      "target": "Default target of the scoring rule (目标值)", "target_unit": "period | month: target per period or per month (目标单位)",
      "weight": "Weight in the composite score (权重)"
    }';
BEGIN
    FOR c IN SELECT table_name, column_name FROM information_schema.columns
             WHERE table_schema = 'bi' AND table_name IN ('dim_region', 'dim_store', 'dim_salesperson', 'dim_model', 'calendar',
                                                          'report_status', 'report_status_daily', 'kpi_catalog') LOOP
        IF NOT names ? c.column_name THEN
            RAISE EXCEPTION 'no comment for bi.%.%', c.table_name, c.column_name;
        END IF;
        EXECUTE format('COMMENT ON COLUMN bi.%I.%I IS %L', c.table_name, c.column_name, names ->> c.column_name);
    END LOOP;
END $$;

-- ── The reader ─────────────────────────────────────────────────────────────────────────────────────
-- sql/004 granted the views that existed then; there are no default privileges, so grant the new ones.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kpi_reader') THEN
        EXECUTE 'GRANT USAGE ON SCHEMA bi TO kpi_reader';
        EXECUTE 'GRANT SELECT ON ALL TABLES IN SCHEMA bi TO kpi_reader';
    END IF;
END $$;
