-- dealer-kpi core schema: dimensions, facts, report submissions and the change log.
-- Schemas: core (warehouse tables, may hold hashed/masked PII), kpi (snapshots, later), ops (operations),
-- bi (the stable views BI tools read). Business dates are `date` in the business time zone.

CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS ops;

-- Settings the SQL side needs (business time zone, due-time rule, reporting start). One row per key.
CREATE TABLE core.setting (
    key        text PRIMARY KEY,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO core.setting (key, value) VALUES
    ('business_time_zone', 'Asia/Shanghai'),
    ('due_days_after_business_date', '1'),
    ('due_time_of_day', '10:00');

-- ── Dimensions ──────────────────────────────────────────────────────────────────────────────────────
CREATE DOMAIN core.code AS text CHECK (VALUE ~ '^[A-Za-z0-9_-]{1,32}$');

CREATE TABLE core.region (
    region_code core.code PRIMARY KEY,
    region_name text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE core.store (
    store_code  core.code PRIMARY KEY,
    store_name  text NOT NULL,
    region_code core.code NOT NULL REFERENCES core.region,
    city        text,
    opened_on   date NOT NULL,
    closed_on   date,                       -- first day closed (exclusive)
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (closed_on IS NULL OR closed_on > opened_on)
);
CREATE INDEX store_region_idx ON core.store (region_code);

CREATE TABLE core.salesperson (
    salesperson_code core.code PRIMARY KEY,
    name             text NOT NULL,
    store_code       core.code NOT NULL REFERENCES core.store,  -- current store (master data is current state)
    hired_on         date NOT NULL,
    left_on          date,                  -- first day gone (exclusive)
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (left_on IS NULL OR left_on > hired_on)
);
CREATE INDEX salesperson_store_idx ON core.salesperson (store_code);

CREATE TABLE core.model (
    model_code core.code PRIMARY KEY,
    model_name text NOT NULL,
    segment    text,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The calendar in business dates: ISO week (Monday start), month, quarter, year.
CREATE TABLE core.calendar (
    day           date PRIMARY KEY,
    iso_year      int  NOT NULL,
    iso_week      int  NOT NULL,
    week_start    date NOT NULL,
    month_start   date NOT NULL,
    quarter_start date NOT NULL,
    year_start    date NOT NULL,
    iso_weekday   int  NOT NULL CHECK (iso_weekday BETWEEN 1 AND 7),
    is_weekend    boolean NOT NULL
);
INSERT INTO core.calendar
SELECT d::date,
       extract(isoyear FROM d)::int,
       extract(week FROM d)::int,
       date_trunc('week', d)::date,
       date_trunc('month', d)::date,
       date_trunc('quarter', d)::date,
       date_trunc('year', d)::date,
       extract(isodow FROM d)::int,
       extract(isodow FROM d) >= 6
FROM generate_series(DATE '2000-01-01', DATE '2100-12-31', interval '1 day') AS d;

-- ── Monthly inputs ─────────────────────────────────────────────────────────────────────────────────
CREATE TABLE core.monthly_plan (
    month            date NOT NULL CHECK (extract(day FROM month) = 1),
    store_code       core.code NOT NULL REFERENCES core.store,
    salesperson_code core.code REFERENCES core.salesperson,   -- NULL: the store's own plan row
    kpi              text NOT NULL CHECK (kpi IN ('PLAN_DELIVERIES', 'PLAN_REVENUE', 'PLAN_NEW_A_CARDS', 'EXPENSE_BUDGET')),
    value            numeric(16, 2) NOT NULL CHECK (value >= 0),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (month, store_code, salesperson_code, kpi)
);

CREATE TABLE core.monthly_expense (
    month      date NOT NULL CHECK (extract(day FROM month) = 1),
    store_code core.code NOT NULL REFERENCES core.store,
    amount     numeric(16, 2) NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (month, store_code)
);

-- ── Report submissions ─────────────────────────────────────────────────────────────────────────────
-- Every accepted file; one file may carry sections of many store-days (CSV).
CREATE TABLE core.ingested_file (
    file_id     bigserial PRIMARY KEY,
    file_name   text NOT NULL,
    checksum    text NOT NULL,               -- SHA-256 of the file's bytes, hex
    form        text NOT NULL CHECK (form IN ('json', 'csv_visits', 'csv_prospects', 'csv_sales')),
    encoding    text NOT NULL,
    received_at timestamptz NOT NULL,
    ingested_at timestamptz NOT NULL DEFAULT now(),
    row_count   int NOT NULL
);

-- One row per (store-day, version, file): which sections that file carried for that store-day.
CREATE TABLE core.report_submission (
    submission_id  bigserial PRIMARY KEY,
    store_code     core.code NOT NULL REFERENCES core.store,
    business_date  date NOT NULL,
    version        int  NOT NULL CHECK (version >= 1),
    received_at    timestamptz NOT NULL,
    due_at         timestamptz NOT NULL,
    on_time        boolean NOT NULL,         -- received_at <= due_at
    file_id        bigint NOT NULL REFERENCES core.ingested_file,
    source_file    text NOT NULL,
    source_checksum text NOT NULL,
    visit_rows     int,                      -- NULL: the section was not carried
    prospect_rows  int,
    sale_rows      int,
    UNIQUE (store_code, business_date, version, file_id)
);
CREATE INDEX report_submission_day_idx ON core.report_submission (store_code, business_date, version);

-- One row per store-day that has any accepted data: its current version and timeliness of version 1.
CREATE TABLE core.store_day_report (
    store_code          core.code NOT NULL REFERENCES core.store,
    business_date       date NOT NULL,
    current_version     int NOT NULL,
    current_received_at timestamptz NOT NULL,
    first_received_at   timestamptz NOT NULL,   -- version 1's receipt time (timeliness)
    due_at              timestamptz NOT NULL,
    on_time             boolean NOT NULL,       -- version 1 received by the due time
    visits_received_at  timestamptz,            -- receipt time of the visits now stored for the day
    PRIMARY KEY (store_code, business_date)
);
CREATE INDEX store_day_report_date_idx ON core.store_day_report (business_date);

-- ── Facts ──────────────────────────────────────────────────────────────────────────────────────────
-- The front-desk log: one row per visit line, replaced per (store, business_date).
-- The biggest fact (millions of rows a year) has no foreign keys to the dimensions: each cost 6-13 µs per
-- row at load (measured by bench/ingest: the three checks were more than half of the load time), and
-- ingest already checks store, salesperson and model against master data read in the same transaction;
-- master data is only ever upserted, never deleted. The submission it came from is still enforced.
CREATE TABLE core.visit (
    store_code       core.code NOT NULL,
    business_date    date NOT NULL,
    visit_id         text NOT NULL CHECK (length(visit_id) BETWEEN 1 AND 64),
    channel          text NOT NULL CHECK (channel IN ('walk_in', 'phone', 'event')),
    purpose          text NOT NULL CHECK (purpose IN ('purchase', 'after_sales', 'business', 'other')),
    salesperson_code core.code NOT NULL,
    model_code       core.code,
    party_size       int NOT NULL CHECK (party_size >= 1),
    existing_card    text,
    existing_order   boolean NOT NULL,
    new_card         text,
    test_drive       boolean NOT NULL,
    -- Counting flags (seed rules), derived at ingest:
    walkin_group     boolean NOT NULL,   -- counts toward WALKIN_GROUPS
    phone_group      boolean NOT NULL,   -- counts toward PHONE_GROUPS
    revisit          boolean NOT NULL,   -- REVISITS
    submission_id    bigint NOT NULL REFERENCES core.report_submission,
    source_line      text,               -- CSV line or JSON path, for tracing
    PRIMARY KEY (store_code, business_date, visit_id)
);
CREATE INDEX visit_date_idx ON core.visit (business_date);

-- A-cards (prospects): current state per (store, card) ...
CREATE TABLE core.prospect_card (
    store_code        core.code NOT NULL REFERENCES core.store,
    card_id           text NOT NULL CHECK (length(card_id) BETWEEN 1 AND 64),
    created_on        date NOT NULL,
    salesperson_code  core.code NOT NULL REFERENCES core.salesperson,
    customer_name_masked text,          -- e.g. 张*; the raw name is never stored
    phone_hash        text,             -- HMAC-SHA256 of the normalized phone, hex; never the phone
    model_code        core.code REFERENCES core.model,
    level             text NOT NULL CHECK (level IN ('H', 'A', 'B', 'C')),
    source            text NOT NULL CHECK (source IN ('walk_in', 'phone', 'event', 'other')),
    status            text NOT NULL CHECK (status IN ('open', 'ordered', 'lost')),
    closed_on         date,
    lost_reason       text,
    is_valid          boolean NOT NULL,
    invalid_reasons   text[] NOT NULL DEFAULT '{}',
    state_business_date date NOT NULL,   -- business_date of the report that set this state
    state_received_at timestamptz NOT NULL,
    state_sequence    bigint NOT NULL,   -- application order (ties of receipt time)
    submission_id     bigint NOT NULL REFERENCES core.report_submission,
    PRIMARY KEY (store_code, card_id),
    CHECK ((status = 'open') = (closed_on IS NULL)),
    CHECK (closed_on IS NULL OR closed_on >= created_on)
);
CREATE INDEX prospect_card_created_idx ON core.prospect_card (created_on);
CREATE INDEX prospect_card_closed_idx ON core.prospect_card (closed_on);

-- ... and every superseded state, with the submission that replaced it.
CREATE TABLE core.prospect_card_history (
    LIKE core.prospect_card,
    replaced_at            timestamptz NOT NULL DEFAULT now(),
    replaced_by_submission bigint NOT NULL REFERENCES core.report_submission
);
CREATE INDEX prospect_card_history_idx ON core.prospect_card_history (store_code, card_id);

-- Orders (C-cards when delivered): current state per (store, order) and history.
CREATE TABLE core.sales_order (
    store_code        core.code NOT NULL REFERENCES core.store,
    order_id          text NOT NULL CHECK (length(order_id) BETWEEN 1 AND 64),
    card_id           text,
    salesperson_code  core.code NOT NULL REFERENCES core.salesperson,
    model_code        core.code NOT NULL REFERENCES core.model,
    order_date        date NOT NULL,
    status            text NOT NULL CHECK (status IN ('ordered', 'delivered', 'cancelled')),
    delivery_date     date,
    cancel_date       date,
    vin               text CHECK (vin ~ '^[A-HJ-NPR-Z0-9]{17}$'),
    list_price        numeric(16, 2) CHECK (list_price >= 0),
    deal_price        numeric(16, 2) NOT NULL CHECK (deal_price > 0),
    collected         numeric(16, 2) NOT NULL CHECK (collected >= 0),
    state_business_date date NOT NULL,
    state_received_at timestamptz NOT NULL,
    state_sequence    bigint NOT NULL,
    submission_id     bigint NOT NULL REFERENCES core.report_submission,
    PRIMARY KEY (store_code, order_id),
    CHECK ((status = 'delivered') = (delivery_date IS NOT NULL)),
    CHECK ((status = 'cancelled') = (cancel_date IS NOT NULL)),
    CHECK (status <> 'delivered' OR vin IS NOT NULL)
);
CREATE UNIQUE INDEX sales_order_vin_idx ON core.sales_order (vin) WHERE vin IS NOT NULL;
CREATE INDEX sales_order_order_date_idx ON core.sales_order (order_date);
CREATE INDEX sales_order_delivery_idx ON core.sales_order (delivery_date);
CREATE INDEX sales_order_cancel_idx ON core.sales_order (cancel_date);

CREATE TABLE core.sales_order_history (
    LIKE core.sales_order,
    replaced_at            timestamptz NOT NULL DEFAULT now(),
    replaced_by_submission bigint NOT NULL REFERENCES core.report_submission
);
CREATE INDEX sales_order_history_idx ON core.sales_order_history (store_code, order_id);

-- Orders apply in one global sequence so "ties: the one applied last" is well defined.
CREATE SEQUENCE core.state_sequence;

-- ── Change log for incremental aggregation ─────────────────────────────────────────────────────────
-- Every (store, date range) whose KPI inputs a load may have changed. A range, not a day: a card closed
-- late changes the held-card stock of every day from its closing to today. `last_date` NULL means "to the
-- end of the reporting horizon". Consumers take rows with FOR UPDATE SKIP LOCKED and delete them in the
-- transaction that refreshes the snapshots.
CREATE TABLE core.kpi_change (
    change_id   bigserial PRIMARY KEY,
    store_code  core.code NOT NULL,
    first_date  date NOT NULL,
    last_date   date,
    reason      text NOT NULL,      -- visits | prospects | sales | report | master | plan | expense
    recorded_at timestamptz NOT NULL DEFAULT now(),
    CHECK (last_date IS NULL OR last_date >= first_date)
);
CREATE INDEX kpi_change_store_idx ON core.kpi_change (store_code);

-- The due time of a store-day's report: business_date + N days at HH:MM business time.
CREATE FUNCTION core.due_at(business_date date) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT ((business_date + (SELECT value::int FROM core.setting WHERE key = 'due_days_after_business_date'))
            + (SELECT value::time FROM core.setting WHERE key = 'due_time_of_day'))
           AT TIME ZONE (SELECT value FROM core.setting WHERE key = 'business_time_zone')
$$;

-- The business date of a moment (receipt day).
CREATE FUNCTION core.business_day(at timestamptz) RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT (at AT TIME ZONE (SELECT value FROM core.setting WHERE key = 'business_time_zone'))::date
$$;

-- The date ranges whose KPIs change when a card goes from state o_* to state n_* (o_* NULL: new card).
-- A card contributes NEW/INVALID on created_on, HELD on [created_on, closed_on) (open: to infinity), and
-- LOST on closed_on. When validity and salesperson stay the same only the days whose counts differ are
-- returned, so closing a card opened long ago touches the days from its closing on, not its whole life.
-- last_date NULL means open-ended (to the end of the reporting horizon).
CREATE FUNCTION core.card_change_ranges(
    o_created date, o_closed date, o_status text, o_valid boolean, o_salesperson text,
    n_created date, n_closed date, n_status text, n_valid boolean, n_salesperson text)
RETURNS TABLE (first_date date, last_date date)
LANGUAGE sql IMMUTABLE AS $$
    WITH s AS (
        SELECT o_created IS NULL OR o_valid IS DISTINCT FROM n_valid OR o_salesperson IS DISTINCT FROM n_salesperson AS whole,
               CASE WHEN o_status = 'open' THEN NULL ELSE o_closed END AS o_end,
               CASE WHEN n_status = 'open' THEN NULL ELSE n_closed END AS n_end
    )
    SELECT n_created, n_end FROM s WHERE whole
    UNION ALL
    SELECT o_created, o_end FROM s WHERE whole AND o_created IS NOT NULL
    UNION ALL
    SELECT least(o_created, n_created), greatest(o_created, n_created)
    FROM s WHERE NOT whole AND o_created <> n_created
    UNION ALL
    SELECT least(o_end, n_end), CASE WHEN o_end IS NULL OR n_end IS NULL THEN NULL ELSE greatest(o_end, n_end) END
    FROM s WHERE NOT whole AND (o_end IS DISTINCT FROM n_end OR o_status <> n_status)
$$;
