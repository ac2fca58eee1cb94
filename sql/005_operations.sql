-- Operations: inbox receipts (exactly-once ingest of spool files), API tokens, job schedules and runs.

-- One row per inbox file claim, written in the same transaction as the ingest it records (or, for a
-- rejection, right after): after a crash, a claimed file with a receipt is only moved, never ingested again.
CREATE TABLE ops.inbox_receipt (
    claim_id    uuid PRIMARY KEY,
    file_name   text NOT NULL,
    received_at timestamptz NOT NULL,
    outcome     text NOT NULL CHECK (outcome IN ('accepted', 'rejected')),
    errors      jsonb,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    instance    text
);

-- Bearer tokens: only a SHA-256 hash is stored; the token is shown once when issued.
CREATE TABLE ops.api_token (
    token_id    bigserial PRIMARY KEY,
    role        text NOT NULL CHECK (role IN ('store', 'operator')),
    store_code  core.code REFERENCES core.store,
    token_hash  text NOT NULL UNIQUE,
    label       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    last_used_at timestamptz,
    CHECK ((role = 'store') = (store_code IS NOT NULL))
);

-- Job schedules: a cron expression in an IANA time zone each; what to do about firings missed while no
-- daemon ran (skip them, or run once to catch up).
CREATE TABLE ops.job_schedule (
    schedule_id   bigserial PRIMARY KEY,
    name          text NOT NULL UNIQUE,
    job           text NOT NULL CHECK (job IN ('refresh', 'close_day', 'retention')),
    cron          text NOT NULL,
    time_zone     text NOT NULL,
    missed_policy text NOT NULL DEFAULT 'skip' CHECK (missed_policy IN ('skip', 'once')),
    paused        boolean NOT NULL DEFAULT false,
    arguments     jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    -- the latest firing a daemon has dealt with (run or skipped); firings after it are still due
    handled_through timestamptz
);

-- Run history. A scheduled firing is (schedule_id, scheduled_for): unique, so when several daemons see the
-- same firing only the one whose INSERT wins runs it (each firing runs exactly once).
CREATE TABLE ops.job_run (
    run_id        bigserial PRIMARY KEY,
    job           text NOT NULL,
    schedule_id   bigint REFERENCES ops.job_schedule ON DELETE SET NULL,
    scheduled_for timestamptz,
    trigger       text NOT NULL CHECK (trigger IN ('schedule', 'catch_up', 'manual', 'backfill', 'notify')),
    arguments     jsonb NOT NULL DEFAULT '{}',
    started_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at   timestamptz,
    status        text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed', 'skipped')),
    rows          bigint,
    error         text,
    instance      text,
    UNIQUE (schedule_id, scheduled_for)
);
CREATE INDEX job_run_started_idx ON ops.job_run (started_at DESC);

-- Requests to run a job now (CLI `jobs run`, HTTP POST /v1/jobs/{name}/runs), picked up by a daemon with
-- FOR UPDATE SKIP LOCKED; a NOTIFY wakes the daemons.
CREATE TABLE ops.job_request (
    request_id   bigserial PRIMARY KEY,
    job          text NOT NULL CHECK (job IN ('refresh', 'close_day', 'retention')),
    arguments    jsonb NOT NULL DEFAULT '{}',
    trigger      text NOT NULL DEFAULT 'manual' CHECK (trigger IN ('manual', 'backfill')),
    requested_at timestamptz NOT NULL DEFAULT now(),
    requested_by text,
    run_id       bigint REFERENCES ops.job_run
);

-- Store-days whose report had not arrived by its due time (written by the close_day job).
CREATE TABLE ops.missing_report (
    store_code    core.code NOT NULL REFERENCES core.store,
    business_date date NOT NULL,
    due_at        timestamptz NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    arrived_at    timestamptz,        -- filled when a late report arrives
    PRIMARY KEY (store_code, business_date)
);

INSERT INTO core.setting (key, value) VALUES ('job_run_retention_days', '90') ON CONFLICT DO NOTHING;

INSERT INTO ops.job_schedule (name, job, cron, time_zone, missed_policy) VALUES
    ('refresh-every-5-minutes', 'refresh', '*/5 * * * *', 'Asia/Shanghai', 'skip'),
    ('close-day', 'close_day', '5 10 * * *', 'Asia/Shanghai', 'once'),
    ('retention', 'retention', '30 3 * * *', 'Asia/Shanghai', 'once');
