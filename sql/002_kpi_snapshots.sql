-- KPI snapshots: one wide row per level x grain x period x entity holding every stored measure
-- (numerators and denominators); ratios, targets, scores, ranks, previous-period and year-ago values are
-- derived in the bi views. See docs/aggregation-design.md.

CREATE SCHEMA IF NOT EXISTS kpi;
CREATE SCHEMA IF NOT EXISTS bi;

-- The reporting horizon's start can be fixed by configuration; default: earliest accepted business_date.
INSERT INTO core.setting (key, value) VALUES ('reporting_start_date', '') ON CONFLICT DO NOTHING;
INSERT INTO core.setting (key, value) VALUES ('snapshot_history_retention_days', '400') ON CONFLICT DO NOTHING;

-- Internal daily aggregates of the facts per (store, salesperson, day): the additive measures plus
-- valid_closed (valid cards closed that day), so held cards are a running sum of new_a_cards - valid_closed.
-- Only days with facts have rows; days before the reporting horizon are included (a card created before it
-- still counts in the periods it falls in). Maintained by the refresh from the change log.
CREATE TABLE kpi.sp_day (
    store_code       text NOT NULL,
    day              date NOT NULL,
    salesperson_code text NOT NULL,
    walkin_groups    bigint NOT NULL,
    phone_groups     bigint NOT NULL,
    revisits         bigint NOT NULL,
    test_drives      bigint NOT NULL,
    new_a_cards      bigint NOT NULL,
    invalid_a_cards  bigint NOT NULL,
    valid_closed     bigint NOT NULL,
    lost_prospects   bigint NOT NULL,
    orders           bigint NOT NULL,
    cancellations    bigint NOT NULL,
    deliveries       bigint NOT NULL,
    revenue          numeric(20, 2) NOT NULL,
    list_revenue     numeric(20, 2) NOT NULL,
    discount         numeric(20, 2) NOT NULL,
    collected        numeric(20, 2) NOT NULL,
    PRIMARY KEY (store_code, day, salesperson_code)
);

-- The same per month (sums of kpi.sp_day), so quarters, years and held-card stocks read at most 12 rows
-- per salesperson instead of a year of days.
CREATE TABLE kpi.sp_month (
    LIKE kpi.sp_day,
    PRIMARY KEY (store_code, day, salesperson_code)   -- day = first day of the month
);

-- Indexes the refresh uses to read one store's facts by date.
CREATE INDEX prospect_card_store_created_idx ON core.prospect_card (store_code, created_on);
CREATE INDEX prospect_card_store_closed_idx ON core.prospect_card (store_code, closed_on) WHERE closed_on IS NOT NULL;
CREATE INDEX sales_order_store_order_date_idx ON core.sales_order (store_code, order_date);
CREATE INDEX sales_order_store_delivery_idx ON core.sales_order (store_code, delivery_date) WHERE delivery_date IS NOT NULL;
CREATE INDEX sales_order_store_cancel_idx ON core.sales_order (store_code, cancel_date) WHERE cancel_date IS NOT NULL;

-- The day, ISO week (Monday start), month, quarter and year that contain a business date: one place for the
-- period arithmetic the refresh uses (a simple SQL function, so the planner inlines it).
CREATE FUNCTION kpi.enclosing_periods(day date)
RETURNS TABLE (grain text, period_start date, period_end date)
LANGUAGE sql IMMUTABLE AS $$
    SELECT g.grain, g.period_start, g.period_end
    FROM (VALUES
        ('day', day, day),
        ('week', date_trunc('week', day)::date, date_trunc('week', day)::date + 6),
        ('month', date_trunc('month', day)::date, (date_trunc('month', day) + interval '1 month' - interval '1 day')::date),
        ('quarter', date_trunc('quarter', day)::date, (date_trunc('quarter', day) + interval '3 months' - interval '1 day')::date),
        ('year', date_trunc('year', day)::date, (date_trunc('year', day) + interval '1 year' - interval '1 day')::date)
    ) AS g(grain, period_start, period_end)
$$;

-- Every refresh run.
CREATE TABLE kpi.refresh_run (
    run_id          bigserial PRIMARY KEY,
    mode            text NOT NULL CHECK (mode IN ('incremental', 'full')),
    started_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at     timestamptz,
    status          text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
    horizon_start   date,
    horizon_end     date,
    due_cutoff      timestamptz,     -- store-days due up to this moment were counted as expected
    store_days      int,             -- affected store-days recomputed
    rows_changed    int,
    error           text,
    instance        text
);

-- What the last successful refresh saw, so the next one knows what moved (horizon, due times).
CREATE TABLE kpi.refresh_state (
    singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    horizon_start date,
    horizon_end   date,
    due_cutoff    timestamptz,
    last_run_id   bigint REFERENCES kpi.refresh_run
);
INSERT INTO kpi.refresh_state (singleton) VALUES (true);

CREATE TABLE kpi.snapshot (
    level            text NOT NULL CHECK (level IN ('salesperson', 'store', 'region', 'national')),
    grain            text NOT NULL CHECK (grain IN ('day', 'week', 'month', 'quarter', 'year')),
    period_start     date NOT NULL,
    period_end       date NOT NULL,
    entity           text NOT NULL,   -- 'STORE/SALESPERSON', 'STORE', 'REGION' or '' (national)
    region_code      text,
    store_code       text,
    salesperson_code text,
    walkin_groups    bigint NOT NULL,
    phone_groups     bigint NOT NULL,
    revisits         bigint NOT NULL,
    test_drives      bigint NOT NULL,
    new_a_cards      bigint NOT NULL,
    invalid_a_cards  bigint NOT NULL,
    held_a_cards     bigint NOT NULL,
    lost_prospects   bigint NOT NULL,
    orders           bigint NOT NULL,
    cancellations    bigint NOT NULL,
    deliveries       bigint NOT NULL,
    revenue          numeric(20, 2) NOT NULL,
    list_revenue     numeric(20, 2) NOT NULL,
    discount         numeric(20, 2) NOT NULL,
    collected        numeric(20, 2) NOT NULL,
    -- store level and up (NULL below)
    reports_expected   bigint,
    reports_on_time    bigint,
    reports_received   bigint,
    reports_corrected  bigint,
    active_salespeople bigint,
    -- month and up (NULL below); plans NULL where no plan exists
    expense          numeric(20, 2),
    expense_budget   numeric(20, 2),
    plan_deliveries  numeric(20, 2),
    plan_revenue     numeric(20, 2),
    plan_new_a_cards numeric(20, 2),
    run_id           bigint NOT NULL,
    computed_at      timestamptz NOT NULL,
    PRIMARY KEY (level, grain, period_start, entity)
);
CREATE INDEX snapshot_store_idx ON kpi.snapshot (store_code, grain, period_start) WHERE store_code IS NOT NULL;
CREATE INDEX snapshot_region_idx ON kpi.snapshot (level, grain, period_start, region_code);
CREATE INDEX snapshot_computed_idx ON kpi.snapshot (computed_at);   -- freshness metric

-- Superseded snapshot rows: HQ can see that a period was restated after a correction, and by which run.
CREATE TABLE kpi.snapshot_history (
    LIKE kpi.snapshot,
    superseded_by_run bigint NOT NULL,
    superseded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX snapshot_history_key_idx ON kpi.snapshot_history (level, grain, period_start, entity);
CREATE INDEX snapshot_history_time_idx ON kpi.snapshot_history (superseded_at);

-- ── The KPI catalog ────────────────────────────────────────────────────────────────────────────────
CREATE TABLE kpi.catalog (
    kpi_code    text PRIMARY KEY,
    name_zh     text NOT NULL,
    name_en     text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('measure', 'ratio')),
    direction   text CHECK (direction IN ('higher', 'lower')),   -- NULL: not scored or ranked by direction
    ranked      boolean NOT NULL,
    sort_order  int NOT NULL
);
INSERT INTO kpi.catalog VALUES
    ('WALKIN_GROUPS', '来店组数', 'walk-in groups (counted walk-in and event groups)', 'measure', 'higher', false, 1),
    ('PHONE_GROUPS', '来电组数', 'phone groups (counted phone contacts)', 'measure', 'higher', false, 2),
    ('TRAFFIC', '来店(电)组数', 'traffic: walk-in + phone groups', 'measure', 'higher', true, 3),
    ('REVISITS', '二次来店组数', 'revisits by card or order holders', 'measure', 'higher', false, 4),
    ('TEST_DRIVES', '试乘试驾数', 'test drives', 'measure', 'higher', false, 5),
    ('NEW_A_CARDS', '新增A卡', 'new valid A-cards', 'measure', 'higher', true, 6),
    ('INVALID_A_CARDS', '无效A卡', 'new invalid A-cards', 'measure', 'lower', false, 7),
    ('HELD_A_CARDS', '保有A卡', 'held A-cards at period end', 'measure', 'higher', false, 8),
    ('LOST_PROSPECTS', '战败数', 'lost prospects', 'measure', 'lower', false, 9),
    ('ORDERS', '订单数', 'orders', 'measure', 'higher', true, 10),
    ('CANCELLATIONS', '退订数', 'cancellations', 'measure', 'lower', false, 11),
    ('DELIVERIES', '交车数 (C卡)', 'deliveries (C-cards)', 'measure', 'higher', true, 12),
    ('REVENUE', '销售收入', 'revenue (deal prices of deliveries)', 'measure', 'higher', true, 13),
    ('LIST_REVENUE', '指导价收入', 'list-price revenue of deliveries with a list price', 'measure', 'higher', false, 14),
    ('DISCOUNT', '优惠总额', 'discount (list - deal price)', 'measure', 'lower', false, 15),
    ('COLLECTED', '回款额', 'collected on deliveries', 'measure', 'higher', false, 16),
    ('EXPENSE', '实际费用', 'actual expense', 'measure', 'lower', false, 17),
    ('REPORTS_EXPECTED', '应报日报数', 'daily reports expected', 'measure', NULL, false, 18),
    ('REPORTS_ON_TIME', '及时日报数', 'daily reports on time', 'measure', 'higher', false, 19),
    ('REPORTS_RECEIVED', '已报日报数', 'daily reports received', 'measure', 'higher', false, 20),
    ('REPORTS_CORRECTED', '更正日报数', 'daily reports corrected', 'measure', 'lower', false, 21),
    ('ACTIVE_SALESPEOPLE', '在岗销售顾问', 'salespeople employed at period end', 'measure', NULL, false, 22),
    ('PLAN_DELIVERIES', '计划交车数', 'planned deliveries', 'measure', NULL, false, 23),
    ('PLAN_REVENUE', '计划销售收入', 'planned revenue', 'measure', NULL, false, 24),
    ('PLAN_NEW_A_CARDS', '计划新增A卡', 'planned new A-cards', 'measure', NULL, false, 25),
    ('EXPENSE_BUDGET', '费用预算', 'expense budget', 'measure', NULL, false, 26),
    ('CAPTURE_RATE', '留档率', 'capture rate: new A-cards / traffic', 'ratio', 'higher', true, 30),
    ('TEST_DRIVE_RATE', '试乘试驾率', 'test-drive rate: test drives / walk-in groups', 'ratio', 'higher', true, 31),
    ('CLOSE_RATE', '成交率', 'close rate: orders / traffic', 'ratio', 'higher', true, 32),
    ('LOSS_RATE', '战败率', 'loss rate: lost / (lost + orders)', 'ratio', 'lower', true, 33),
    ('CANCEL_RATE', '退订率', 'cancellation rate: cancellations / orders', 'ratio', 'lower', true, 34),
    ('INVALID_CARD_RATE', '无效A卡率', 'invalid card rate: invalid / (new + invalid)', 'ratio', 'lower', true, 35),
    ('AVG_DEAL_PRICE', '平均成交价', 'average deal price: revenue / deliveries', 'ratio', NULL, false, 36),
    ('DISCOUNT_RATE', '优惠率', 'discount rate: discount / list-price revenue', 'ratio', 'lower', true, 37),
    ('COLLECTION_RATE', '货款回笼率', 'collection rate: collected / revenue', 'ratio', 'higher', true, 38),
    ('PLAN_ACHIEVEMENT', '销售计划达成率', 'plan achievement: deliveries / planned deliveries', 'ratio', 'higher', true, 39),
    ('REVENUE_ACHIEVEMENT', '销售收入达成率', 'revenue achievement: revenue / planned revenue', 'ratio', 'higher', true, 40),
    ('PLAN_DEVIATION', '销售计划准确率 (偏差)', 'plan deviation: |plan - deliveries| / plan', 'ratio', 'lower', true, 41),
    ('EXPENSE_VARIANCE', '费用控制率', 'expense variance: (expense - budget) / budget', 'ratio', 'lower', true, 42),
    ('REPORT_TIMELINESS', '日报及时率', 'report timeliness: on time / expected', 'ratio', 'higher', true, 43),
    ('REPORT_ACCURACY', '报表准确率', 'report accuracy: (received - corrected) / received', 'ratio', 'higher', true, 44),
    ('UNITS_PER_SALESPERSON', '人均销量', 'units per salesperson: deliveries / active salespeople', 'ratio', 'higher', true, 45);

-- ── Scoring configuration (the seed's linear rule; defaults from the catalog) ──────────────────────
-- One row per KPI (level NULL: every level) or per KPI and level (overrides). target_unit 'month' scales
-- the target by the months in the period (UNITS_PER_SALESPERSON: 8 a month, 24 a quarter, 96 a year).
CREATE TABLE kpi.scoring_rule (
    kpi_code     text NOT NULL REFERENCES kpi.catalog,
    level        text CHECK (level IN ('salesperson', 'store', 'region', 'national')),
    target       numeric NOT NULL,
    target_unit  text NOT NULL DEFAULT 'period' CHECK (target_unit IN ('period', 'month')),
    weight       numeric NOT NULL DEFAULT 0 CHECK (weight >= 0),
    direction    text NOT NULL CHECK (direction IN ('higher', 'lower')),
    slope_above  numeric NOT NULL DEFAULT 1.3,   -- points per 1 % better than target
    slope_below  numeric NOT NULL DEFAULT 0.3,   -- points per 1 % worse than target
    cap          numeric NOT NULL DEFAULT 150,
    floor        numeric NOT NULL DEFAULT 0,
    UNIQUE NULLS NOT DISTINCT (kpi_code, level),
    CHECK (floor <= cap)
);
INSERT INTO kpi.scoring_rule (kpi_code, target, target_unit, weight, direction) VALUES
    ('CAPTURE_RATE', 0.70, 'period', 10, 'higher'),
    ('TEST_DRIVE_RATE', 0.40, 'period', 10, 'higher'),
    ('CLOSE_RATE', 0.20, 'period', 15, 'higher'),
    ('LOSS_RATE', 0.30, 'period', 5, 'lower'),
    ('CANCEL_RATE', 0.05, 'period', 0, 'lower'),
    ('INVALID_CARD_RATE', 0.05, 'period', 0, 'lower'),
    ('DISCOUNT_RATE', 0.05, 'period', 0, 'lower'),
    ('COLLECTION_RATE', 0.98, 'period', 10, 'higher'),
    ('PLAN_ACHIEVEMENT', 1.00, 'period', 30, 'higher'),
    ('REVENUE_ACHIEVEMENT', 1.00, 'period', 0, 'higher'),
    ('PLAN_DEVIATION', 0.10, 'period', 0, 'lower'),
    ('EXPENSE_VARIANCE', 0.00, 'period', 10, 'lower'),
    ('REPORT_TIMELINESS', 0.95, 'period', 10, 'higher'),
    ('REPORT_ACCURACY', 0.98, 'period', 0, 'higher'),
    ('UNITS_PER_SALESPERSON', 8, 'month', 0, 'higher');

-- The linear scoring rule: deviation in percent (relative; percentage points when the target is 0),
-- 100 + slope_above x d above target, 100 + slope_below x d below, clamped to [floor, cap].
-- Computed from the ratio's numerator and denominator (not its rounded value), to 20 decimal places.
CREATE FUNCTION kpi.deviation(numerator numeric, denominator numeric, target numeric, direction text) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN numerator IS NULL OR denominator IS NULL OR denominator = 0 OR target IS NULL THEN NULL
        WHEN target = 0 THEN trim_scale(round((CASE WHEN direction = 'higher' THEN numerator ELSE -numerator END) * 100, 20) / denominator)
        WHEN direction = 'higher' THEN trim_scale(round((numerator - target * denominator) * 100, 20) / (target * denominator))
        ELSE trim_scale(round((target * denominator - numerator) * 100, 20) / (target * denominator))
    END
$$;

CREATE FUNCTION kpi.score(deviation numeric, slope_above numeric, slope_below numeric, floor numeric, cap numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN deviation IS NULL THEN NULL
                ELSE trim_scale(least(cap, greatest(floor, 100 + CASE WHEN deviation >= 0 THEN slope_above ELSE slope_below END * deviation)))
           END
$$;
