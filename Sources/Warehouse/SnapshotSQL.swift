/// The SQL of a snapshot refresh. Every statement works on the temporary tables of the current batch:
///
/// - `rf_change(store_code, first_date, last_date, facts)`: what changed (last_date NULL: open-ended;
///   `facts`: the facts of those days changed, not only master data or report state)
/// - `rf_fact_day(store_code, day)`: store-days whose daily fact aggregates are recomputed
/// - `rf_period(store_code, grain, period_start, period_end)`: store periods whose snapshot rows are recomputed
/// - `rf_new`: the recomputed rows, merged into `kpi.snapshot` at the end
///
/// Parameters that vary per run are bound values (`$n`); the horizon is in `rf_horizon`.
enum SnapshotSQL {
    static let createWorkTables = """
        CREATE TEMP TABLE rf_horizon (hs date, he date, due_cutoff timestamptz, run_id bigint, computed_at timestamptz) ON COMMIT DROP;
        CREATE TEMP TABLE rf_change (store_code text, first_date date, last_date date, facts boolean) ON COMMIT DROP;
        CREATE TEMP TABLE rf_fact_day (store_code text, day date, PRIMARY KEY (store_code, day)) ON COMMIT DROP;
        CREATE TEMP TABLE rf_period (store_code text, grain text, period_start date, period_end date,
                                     lo date, hi date, PRIMARY KEY (store_code, grain, period_start)) ON COMMIT DROP;
        CREATE TEMP TABLE rf_stock (store_code text, day date, PRIMARY KEY (store_code, day)) ON COMMIT DROP;
        CREATE TEMP TABLE rf_held (store_code text, salesperson_code text, day date, held bigint) ON COMMIT DROP;
        CREATE TEMP TABLE rf_new (LIKE kpi.snapshot) ON COMMIT DROP;
        CREATE TEMP TABLE rf_scope (level text, grain text, period_start date, store_code text) ON COMMIT DROP;
        CREATE TEMP TABLE rf_old (LIKE kpi.snapshot) ON COMMIT DROP;
        CREATE TEMP TABLE rf_gone (LIKE kpi.snapshot) ON COMMIT DROP;
        CREATE TEMP TABLE rf_rollup (grain text, period_start date, period_end date, PRIMARY KEY (grain, period_start)) ON COMMIT DROP;
        """

    /// Clears the per-batch tables (the horizon stays).
    static let resetBatch = """
        TRUNCATE rf_change, rf_fact_day, rf_period, rf_stock, rf_held, rf_new, rf_scope;
        """

    /// The reporting horizon: configured start (or the earliest accepted business date) to the latest.
    static let horizon = """
        SELECT coalesce(nullif((SELECT value FROM core.setting WHERE key = 'reporting_start_date'), '')::date,
                        (SELECT min(business_date) FROM core.store_day_report)) AS hs,
               (SELECT max(business_date) FROM core.store_day_report) AS he
        """

    /// Store-days whose facts changed → rf_fact_day (days up to the horizon end; earlier days included).
    static let expandFactDays = """
        INSERT INTO rf_fact_day (store_code, day)
        SELECT DISTINCT c.store_code, d::date
        FROM rf_change c, rf_horizon h,
             generate_series(c.first_date, least(coalesce(c.last_date, h.he), h.he), interval '1 day') AS d
        WHERE c.facts AND c.first_date <= h.he
        ON CONFLICT DO NOTHING
        """

    /// Recomputes the daily aggregates of the store-days in rf_fact_day from the facts.
    ///
    /// Nested loops are allowed here (rf_fact_day is analyzed): a refresh of a few store-days reads the facts
    /// through their (store, date) indexes instead of hashing whole fact tables.
    static let recomputeSpDay = """
        SET LOCAL enable_nestloop = on;
        DELETE FROM kpi.sp_day d USING rf_fact_day f WHERE d.store_code = f.store_code AND d.day = f.day;
        INSERT INTO kpi.sp_day
        SELECT store_code, day, salesperson_code,
               sum(w), sum(p), sum(r), sum(t), sum(n), sum(i), sum(vc), sum(l), sum(o), sum(c), sum(dl),
               sum(rev), sum(lr), sum(dis), sum(col)
        FROM (
            SELECT v.store_code, v.business_date AS day, v.salesperson_code,
                   v.walkin_group::int AS w, v.phone_group::int AS p, v.revisit::int AS r, v.test_drive::int AS t,
                   0 AS n, 0 AS i, 0 AS vc, 0 AS l, 0 AS o, 0 AS c, 0 AS dl,
                   0::numeric AS rev, 0::numeric AS lr, 0::numeric AS dis, 0::numeric AS col
            FROM core.visit v JOIN rf_fact_day f ON f.store_code = v.store_code AND f.day = v.business_date
            UNION ALL
            SELECT k.store_code, k.created_on, k.salesperson_code, 0, 0, 0, 0,
                   k.is_valid::int, (NOT k.is_valid)::int, 0, 0, 0, 0, 0, 0, 0, 0, 0
            FROM core.prospect_card k JOIN rf_fact_day f ON f.store_code = k.store_code AND f.day = k.created_on
            UNION ALL
            SELECT k.store_code, k.closed_on, k.salesperson_code, 0, 0, 0, 0, 0, 0,
                   1, (k.status = 'lost')::int, 0, 0, 0, 0, 0, 0, 0
            FROM core.prospect_card k JOIN rf_fact_day f ON f.store_code = k.store_code AND f.day = k.closed_on
            WHERE k.is_valid
            UNION ALL
            SELECT o.store_code, o.order_date, o.salesperson_code, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0
            FROM core.sales_order o JOIN rf_fact_day f ON f.store_code = o.store_code AND f.day = o.order_date
            UNION ALL
            SELECT o.store_code, o.cancel_date, o.salesperson_code, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0
            FROM core.sales_order o JOIN rf_fact_day f ON f.store_code = o.store_code AND f.day = o.cancel_date
            UNION ALL
            SELECT o.store_code, o.delivery_date, o.salesperson_code, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
                   o.deal_price, coalesce(o.list_price, 0), coalesce(o.list_price - o.deal_price, 0), o.collected
            FROM core.sales_order o JOIN rf_fact_day f ON f.store_code = o.store_code AND f.day = o.delivery_date
            WHERE o.status = 'delivered'
        ) x
        GROUP BY store_code, day, salesperson_code;
        DELETE FROM kpi.sp_month m
        USING (SELECT DISTINCT store_code, date_trunc('month', day)::date AS month FROM rf_fact_day) f
        WHERE m.store_code = f.store_code AND m.day = f.month;
        INSERT INTO kpi.sp_month
        SELECT d.store_code, f.month, d.salesperson_code,
               sum(walkin_groups), sum(phone_groups), sum(revisits), sum(test_drives), sum(new_a_cards),
               sum(invalid_a_cards), sum(valid_closed), sum(lost_prospects), sum(orders), sum(cancellations),
               sum(deliveries), sum(revenue), sum(list_revenue), sum(discount), sum(collected)
        FROM (SELECT DISTINCT store_code, date_trunc('month', day)::date AS month FROM rf_fact_day) f
        JOIN kpi.sp_day d ON d.store_code = f.store_code
                         AND d.day >= f.month AND d.day < (f.month + interval '1 month')::date
        GROUP BY d.store_code, f.month, d.salesperson_code;
        SET LOCAL enable_nestloop = off;
        """

    /// The store periods (five grains) that contain a changed day and overlap the horizon, with their
    /// in-horizon part [lo, hi]; and the dates whose held-card stock they need.
    ///
    /// A changed day outside the horizon still matters when a period containing it overlaps the horizon (a plan
    /// or an expense of the month before the horizon starts or after it ends changes the quarter and the year):
    /// changed days are clipped to the years the horizon touches, not to the horizon itself.
    static let expandPeriods = """
        INSERT INTO rf_period (store_code, grain, period_start, period_end, lo, hi)
        SELECT DISTINCT x.store_code, g.grain, g.period_start, g.period_end,
               greatest(g.period_start, h.hs), least(g.period_end, h.he)
        FROM (
            SELECT c.store_code, d::date AS day
            FROM rf_change c, rf_horizon h,
                 generate_series(greatest(c.first_date, date_trunc('year', h.hs)::date),
                                 least(coalesce(c.last_date, h.he), (date_trunc('year', h.he) + interval '1 year - 1 day')::date),
                                 interval '1 day') AS d
            UNION
            SELECT store_code, day FROM rf_fact_day
        ) x
        CROSS JOIN rf_horizon h
        CROSS JOIN LATERAL kpi.enclosing_periods(x.day) AS g
        WHERE g.period_end >= h.hs AND g.period_start <= h.he
        ON CONFLICT DO NOTHING;
        INSERT INTO rf_stock (store_code, day)
        SELECT DISTINCT store_code, least(period_end, (SELECT he FROM rf_horizon)) FROM rf_period
        ON CONFLICT DO NOTHING;
        """

    /// Held A-cards per salesperson at each stock date: a running sum of (new valid - valid closed), read
    /// from whole months before the first needed date and days after.
    static let computeHeld = """
        INSERT INTO rf_held (store_code, salesperson_code, day, held)
        WITH lo AS (
            SELECT store_code, min(day) AS lo, date_trunc('month', min(day))::date AS lo_month, max(day) AS hi
            FROM rf_stock GROUP BY store_code
        ), base AS (
            SELECT m.store_code, m.salesperson_code, sum(m.new_a_cards - m.valid_closed) AS net
            FROM kpi.sp_month m JOIN lo ON lo.store_code = m.store_code AND m.day < lo.lo_month
            GROUP BY 1, 2
            UNION ALL
            SELECT d.store_code, d.salesperson_code, sum(d.new_a_cards - d.valid_closed)
            FROM kpi.sp_day d JOIN lo ON lo.store_code = d.store_code AND d.day >= lo.lo_month AND d.day < lo.lo
            GROUP BY 1, 2
        ), events AS (
            SELECT d.store_code, d.salesperson_code, d.day, d.new_a_cards - d.valid_closed AS net, false AS is_point
            FROM kpi.sp_day d JOIN lo ON lo.store_code = d.store_code AND d.day BETWEEN lo.lo AND lo.hi
            WHERE d.new_a_cards <> 0 OR d.valid_closed <> 0
        ), people AS (
            SELECT store_code, salesperson_code FROM base
            UNION
            SELECT store_code, salesperson_code FROM events
        ), timeline AS (
            SELECT store_code, salesperson_code, day, net, is_point FROM events
            UNION ALL
            SELECT p.store_code, p.salesperson_code, s.day, 0, true
            FROM people p JOIN rf_stock s USING (store_code)
        ), running AS (
            SELECT store_code, salesperson_code, day, is_point,
                   sum(net) OVER (PARTITION BY store_code, salesperson_code ORDER BY day, is_point
                                  ROWS UNBOUNDED PRECEDING) AS cum
            FROM timeline
        ), base_total AS (
            SELECT store_code, salesperson_code, sum(net) AS net FROM base GROUP BY 1, 2
        )
        SELECT r.store_code, r.salesperson_code, r.day, coalesce(b.net, 0) + r.cum
        FROM running r
        LEFT JOIN base_total b USING (store_code, salesperson_code)
        WHERE r.is_point
        """

    /// One grain's salesperson sums: each daily (day, week) or monthly (month, quarter, year) aggregate row is
    /// mapped to the one period of the grain that contains it, so the join to rf_period is an equality (a range
    /// join `day BETWEEN period_start AND period_end` compared every row of a store with every period of it:
    /// 36 M comparisons for 25 stores). `bounds` lets the scan use the primary key for a small refresh.
    private static func periodSums(grain: String, source: String, periodStart: String) -> String {
        let bound = source == "kpi.sp_day" ? "daily" : "monthly"
        return """
        SELECT p.store_code, p.grain, p.period_start, x.salesperson_code,
                   sum(x.walkin_groups) AS walkin_groups, sum(x.phone_groups) AS phone_groups, sum(x.revisits) AS revisits,
                   sum(x.test_drives) AS test_drives, sum(x.new_a_cards) AS new_a_cards, sum(x.invalid_a_cards) AS invalid_a_cards,
                   sum(x.lost_prospects) AS lost_prospects, sum(x.orders) AS orders, sum(x.cancellations) AS cancellations,
                   sum(x.deliveries) AS deliveries, sum(x.revenue) AS revenue, sum(x.list_revenue) AS list_revenue,
                   sum(x.discount) AS discount, sum(x.collected) AS collected
            FROM \(source) x
            JOIN rf_period p ON p.store_code = x.store_code AND p.grain = '\(grain)' AND p.period_start = \(periodStart)
            WHERE x.store_code = ANY ((SELECT stores FROM bounds)::text[])
              AND x.day BETWEEN (SELECT \(bound)_lo FROM bounds) AND (SELECT \(bound)_hi FROM bounds)
            GROUP BY 1, 2, 3, 4
        """
    }

    /// Salesperson rows of every period in rf_period: sums of daily (day, week, month) or monthly
    /// (quarter, year) aggregates, held cards at the stock date, own plans; for every salesperson employed
    /// at the store in the period's in-horizon part, with a non-zero measure, held cards or a plan.
    static let computeSalespersonRows = """
        INSERT INTO rf_new
        WITH bounds AS MATERIALIZED (
            SELECT array_agg(DISTINCT store_code) AS stores,
                   min(period_start) FILTER (WHERE grain IN ('day', 'week')) AS daily_lo,
                   max(period_end) FILTER (WHERE grain IN ('day', 'week')) AS daily_hi,
                   min(period_start) AS monthly_lo, max(period_end) AS monthly_hi
            FROM rf_period
        ), sums AS (
            \(periodSums(grain: "day", source: "kpi.sp_day", periodStart: "x.day"))
            UNION ALL
            \(periodSums(grain: "week", source: "kpi.sp_day", periodStart: "date_trunc('week', x.day)::date"))
            UNION ALL
            \(periodSums(grain: "month", source: "kpi.sp_month", periodStart: "x.day"))
            UNION ALL
            \(periodSums(grain: "quarter", source: "kpi.sp_month", periodStart: "date_trunc('quarter', x.day)::date"))
            UNION ALL
            \(periodSums(grain: "year", source: "kpi.sp_month", periodStart: "date_trunc('year', x.day)::date"))
        ), plans AS (
            SELECT p.store_code, p.grain, p.period_start, mp.salesperson_code,
                   sum(mp.value) FILTER (WHERE mp.kpi = 'PLAN_DELIVERIES') AS plan_deliveries,
                   sum(mp.value) FILTER (WHERE mp.kpi = 'PLAN_REVENUE') AS plan_revenue,
                   sum(mp.value) FILTER (WHERE mp.kpi = 'PLAN_NEW_A_CARDS') AS plan_new_a_cards
            FROM rf_period p
            JOIN core.monthly_plan mp ON mp.store_code = p.store_code AND mp.month BETWEEN p.period_start AND p.period_end
            WHERE p.grain IN ('month', 'quarter', 'year') AND mp.salesperson_code IS NOT NULL
            GROUP BY 1, 2, 3, 4
        ), held AS (
            SELECT p.store_code, p.grain, p.period_start, h.salesperson_code, h.held
            FROM rf_period p
            JOIN rf_held h ON h.store_code = p.store_code AND h.day = least(p.period_end, (SELECT he FROM rf_horizon))
        ), employed AS (
            SELECT p.store_code, p.grain, p.period_start, sp.salesperson_code
            FROM rf_period p
            JOIN core.salesperson sp ON sp.store_code = p.store_code
             AND sp.hired_on <= p.hi AND (sp.left_on IS NULL OR sp.left_on > p.lo)
        ), who AS (
            SELECT store_code, grain, period_start, salesperson_code FROM employed
            UNION SELECT store_code, grain, period_start, salesperson_code FROM sums
                  WHERE walkin_groups <> 0 OR phone_groups <> 0 OR revisits <> 0 OR test_drives <> 0 OR new_a_cards <> 0
                     OR invalid_a_cards <> 0 OR lost_prospects <> 0 OR orders <> 0 OR cancellations <> 0 OR deliveries <> 0
                     OR revenue <> 0 OR list_revenue <> 0 OR discount <> 0 OR collected <> 0
            UNION SELECT store_code, grain, period_start, salesperson_code FROM held WHERE held > 0
            UNION SELECT store_code, grain, period_start, salesperson_code FROM plans
                  WHERE plan_deliveries IS NOT NULL OR plan_revenue IS NOT NULL OR plan_new_a_cards IS NOT NULL
        )
        SELECT 'salesperson', w.grain, w.period_start, p.period_end, w.store_code || '/' || w.salesperson_code,
               st.region_code, w.store_code, w.salesperson_code,
               coalesce(s.walkin_groups, 0), coalesce(s.phone_groups, 0), coalesce(s.revisits, 0), coalesce(s.test_drives, 0),
               coalesce(s.new_a_cards, 0), coalesce(s.invalid_a_cards, 0), coalesce(h.held, 0), coalesce(s.lost_prospects, 0),
               coalesce(s.orders, 0), coalesce(s.cancellations, 0), coalesce(s.deliveries, 0),
               coalesce(s.revenue, 0), coalesce(s.list_revenue, 0), coalesce(s.discount, 0), coalesce(s.collected, 0),
               NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               pl.plan_deliveries, pl.plan_revenue, pl.plan_new_a_cards,
               (SELECT run_id FROM rf_horizon), (SELECT computed_at FROM rf_horizon)
        FROM who w
        JOIN rf_period p USING (store_code, grain, period_start)
        LEFT JOIN sums s USING (store_code, grain, period_start, salesperson_code)
        LEFT JOIN held h USING (store_code, grain, period_start, salesperson_code)
        LEFT JOIN plans pl USING (store_code, grain, period_start, salesperson_code)
        JOIN core.store st ON st.store_code = w.store_code
        """

    /// Store rows: sums of the store's salesperson rows, report counts of the in-horizon days, salespeople
    /// employed on the period's last day, expenses and plans (the store's own row, else the sum of its
    /// salespeople's) from month up. A row exists when the store is open on a day of the period within the
    /// horizon or has salesperson rows in it.
    static let computeStoreRows = """
        INSERT INTO rf_new
        WITH sp AS (
            SELECT store_code, grain, period_start,
                   sum(walkin_groups) AS walkin_groups, sum(phone_groups) AS phone_groups, sum(revisits) AS revisits,
                   sum(test_drives) AS test_drives, sum(new_a_cards) AS new_a_cards, sum(invalid_a_cards) AS invalid_a_cards,
                   sum(held_a_cards) AS held_a_cards, sum(lost_prospects) AS lost_prospects, sum(orders) AS orders,
                   sum(cancellations) AS cancellations, sum(deliveries) AS deliveries, sum(revenue) AS revenue,
                   sum(list_revenue) AS list_revenue, sum(discount) AS discount, sum(collected) AS collected
            FROM rf_new WHERE level = 'salesperson'
            GROUP BY 1, 2, 3
        ), period_days AS MATERIALIZED (
            -- Materialized so the join below is a hash join on (store, date); joined laterally the planner
            -- merged on the store alone and filtered millions of rows by date.
            SELECT p.store_code, p.grain, p.period_start, d::date AS day
            FROM rf_period p CROSS JOIN LATERAL generate_series(p.lo, p.hi, interval '1 day') AS d
        ), reports AS (
            SELECT x.store_code, x.grain, x.period_start,
                   count(*) FILTER (WHERE x.day >= st.opened_on AND (st.closed_on IS NULL OR x.day < st.closed_on)
                                      AND (r.store_code IS NOT NULL OR core.due_at(x.day) <= (SELECT due_cutoff FROM rf_horizon))) AS expected,
                   count(*) FILTER (WHERE r.on_time AND x.day >= st.opened_on AND (st.closed_on IS NULL OR x.day < st.closed_on)) AS on_time,
                   count(r.store_code) AS received,
                   count(*) FILTER (WHERE r.current_version > 1) AS corrected
            FROM period_days x
            JOIN core.store st ON st.store_code = x.store_code
            LEFT JOIN core.store_day_report r ON r.store_code = x.store_code AND r.business_date = x.day
            GROUP BY 1, 2, 3
        ), plans AS (
            SELECT p.store_code, p.grain, p.period_start,
                   sum(m.plan_deliveries) AS plan_deliveries, sum(m.plan_revenue) AS plan_revenue,
                   sum(m.plan_new_a_cards) AS plan_new_a_cards, sum(m.expense_budget) AS expense_budget
            FROM rf_period p
            JOIN LATERAL (
                SELECT mp.month,
                       coalesce(max(mp.value) FILTER (WHERE mp.kpi = 'PLAN_DELIVERIES' AND mp.salesperson_code IS NULL),
                                sum(mp.value) FILTER (WHERE mp.kpi = 'PLAN_DELIVERIES')) AS plan_deliveries,
                       coalesce(max(mp.value) FILTER (WHERE mp.kpi = 'PLAN_REVENUE' AND mp.salesperson_code IS NULL),
                                sum(mp.value) FILTER (WHERE mp.kpi = 'PLAN_REVENUE')) AS plan_revenue,
                       coalesce(max(mp.value) FILTER (WHERE mp.kpi = 'PLAN_NEW_A_CARDS' AND mp.salesperson_code IS NULL),
                                sum(mp.value) FILTER (WHERE mp.kpi = 'PLAN_NEW_A_CARDS')) AS plan_new_a_cards,
                       coalesce(max(mp.value) FILTER (WHERE mp.kpi = 'EXPENSE_BUDGET' AND mp.salesperson_code IS NULL),
                                sum(mp.value) FILTER (WHERE mp.kpi = 'EXPENSE_BUDGET')) AS expense_budget
                FROM core.monthly_plan mp
                WHERE mp.store_code = p.store_code AND mp.month BETWEEN p.period_start AND p.period_end
                GROUP BY mp.month
            ) m ON true
            WHERE p.grain IN ('month', 'quarter', 'year')
            GROUP BY 1, 2, 3
        ), expenses AS (
            SELECT p.store_code, p.grain, p.period_start, sum(e.amount) AS expense
            FROM rf_period p
            JOIN core.monthly_expense e ON e.store_code = p.store_code AND e.month BETWEEN p.period_start AND p.period_end
            WHERE p.grain IN ('month', 'quarter', 'year')
            GROUP BY 1, 2, 3
        )
        SELECT 'store', p.grain, p.period_start, p.period_end, p.store_code, st.region_code, p.store_code, NULL,
               coalesce(s.walkin_groups, 0), coalesce(s.phone_groups, 0), coalesce(s.revisits, 0), coalesce(s.test_drives, 0),
               coalesce(s.new_a_cards, 0), coalesce(s.invalid_a_cards, 0), coalesce(s.held_a_cards, 0), coalesce(s.lost_prospects, 0),
               coalesce(s.orders, 0), coalesce(s.cancellations, 0), coalesce(s.deliveries, 0),
               coalesce(s.revenue, 0), coalesce(s.list_revenue, 0), coalesce(s.discount, 0), coalesce(s.collected, 0),
               coalesce(r.expected, 0), coalesce(r.on_time, 0), coalesce(r.received, 0), coalesce(r.corrected, 0),
               (SELECT count(*) FROM core.salesperson x
                 WHERE x.store_code = p.store_code AND x.hired_on <= p.period_end AND (x.left_on IS NULL OR x.left_on > p.period_end)),
               CASE WHEN p.grain IN ('month', 'quarter', 'year') THEN coalesce(e.expense, 0) END,
               pl.expense_budget, pl.plan_deliveries, pl.plan_revenue, pl.plan_new_a_cards,
               (SELECT run_id FROM rf_horizon), (SELECT computed_at FROM rf_horizon)
        FROM rf_period p
        LEFT JOIN sp s USING (store_code, grain, period_start)
        LEFT JOIN reports r USING (store_code, grain, period_start)
        LEFT JOIN plans pl USING (store_code, grain, period_start)
        LEFT JOIN expenses e USING (store_code, grain, period_start)
        JOIN core.store st ON st.store_code = p.store_code
        WHERE s.store_code IS NOT NULL
           OR (st.opened_on <= p.hi AND (st.closed_on IS NULL OR st.closed_on > p.lo))
        """

    /// The snapshot rows the batch replaces: the salesperson and store rows of its store periods.
    static let scopeStorePeriods = """
        INSERT INTO rf_scope (level, grain, period_start, store_code)
        SELECT l.level, p.grain, p.period_start, p.store_code
        FROM rf_period p CROSS JOIN (VALUES ('salesperson'), ('store')) AS l(level)
        """

    /// Replaces the rows in scope with rf_new; superseded rows (changed or gone) go to the history with
    /// this run. Separate statements, so a changed row is deleted before its new version is inserted.
    ///
    /// The work tables are analyzed first and nested loops are allowed here only: with real row counts the
    /// planner reads the snapshot rows of the scope through its indexes (a small refresh touches a few
    /// thousand of millions of rows) and hashes when the scope is large.
    static let apply = """
        TRUNCATE rf_old, rf_gone;
        ANALYZE rf_new, rf_scope;
        SET LOCAL enable_nestloop = on;
        INSERT INTO rf_old
        SELECT o.* FROM rf_scope x
        JOIN kpi.snapshot o ON o.store_code = x.store_code AND o.level = x.level AND o.grain = x.grain AND o.period_start = x.period_start
        WHERE x.store_code IS NOT NULL
        UNION ALL
        SELECT o.* FROM rf_scope x
        JOIN kpi.snapshot o ON o.level = x.level AND o.grain = x.grain AND o.period_start = x.period_start
        WHERE x.store_code IS NULL;
        ANALYZE rf_old;
        INSERT INTO rf_gone
        SELECT o.* FROM rf_old o
        LEFT JOIN rf_new n ON n.level = o.level AND n.grain = o.grain AND n.period_start = o.period_start AND n.entity = o.entity
        WHERE n.level IS NULL
           OR (o.region_code, o.store_code, o.salesperson_code, o.period_end,
                   o.walkin_groups, o.phone_groups, o.revisits, o.test_drives, o.new_a_cards, o.invalid_a_cards,
                   o.held_a_cards, o.lost_prospects, o.orders, o.cancellations, o.deliveries, o.revenue, o.list_revenue,
                   o.discount, o.collected, o.reports_expected, o.reports_on_time, o.reports_received, o.reports_corrected,
                   o.active_salespeople, o.expense, o.expense_budget, o.plan_deliveries, o.plan_revenue, o.plan_new_a_cards)
              IS DISTINCT FROM
              (n.region_code, n.store_code, n.salesperson_code, n.period_end,
                   n.walkin_groups, n.phone_groups, n.revisits, n.test_drives, n.new_a_cards, n.invalid_a_cards,
                   n.held_a_cards, n.lost_prospects, n.orders, n.cancellations, n.deliveries, n.revenue, n.list_revenue,
                   n.discount, n.collected, n.reports_expected, n.reports_on_time, n.reports_received, n.reports_corrected,
                   n.active_salespeople, n.expense, n.expense_budget, n.plan_deliveries, n.plan_revenue, n.plan_new_a_cards);
        ANALYZE rf_gone;
        INSERT INTO kpi.snapshot_history SELECT g.*, (SELECT run_id FROM rf_horizon), now() FROM rf_gone g;
        DELETE FROM kpi.snapshot s USING rf_gone g
        WHERE s.level = g.level AND s.grain = g.grain AND s.period_start = g.period_start AND s.entity = g.entity;
        SET LOCAL enable_nestloop = off;
        """

    /// rf_new rows that are not already stored unchanged (rf_old holds every stored row of the scope).
    static let insertNew = """
        INSERT INTO kpi.snapshot
        SELECT n.* FROM rf_new n
        LEFT JOIN rf_old o ON o.level = n.level AND o.grain = n.grain AND o.period_start = n.period_start AND o.entity = n.entity
        LEFT JOIN rf_gone g ON g.level = n.level AND g.grain = n.grain AND g.period_start = n.period_start AND g.entity = n.entity
        WHERE o.level IS NULL OR g.level IS NOT NULL
        """

    /// Region and national rows for the periods in rf_rollup, from the (already applied) store rows.
    static let computeRollupRows = """
        TRUNCATE rf_new, rf_scope;
        INSERT INTO rf_new
        WITH stores AS (
            SELECT s.* FROM kpi.snapshot s JOIN rf_rollup p USING (grain, period_start) WHERE s.level = 'store'
        ), by_region AS (
            SELECT 'region' AS level, grain, period_start, max(period_end) AS period_end, region_code AS entity, region_code,
                   sum(walkin_groups) a1, sum(phone_groups) a2, sum(revisits) a3, sum(test_drives) a4, sum(new_a_cards) a5,
                   sum(invalid_a_cards) a6, sum(held_a_cards) a7, sum(lost_prospects) a8, sum(orders) a9,
                   sum(cancellations) a10, sum(deliveries) a11, sum(revenue) a12, sum(list_revenue) a13, sum(discount) a14,
                   sum(collected) a15, sum(reports_expected) a16, sum(reports_on_time) a17, sum(reports_received) a18,
                   sum(reports_corrected) a19, sum(active_salespeople) a20, sum(expense) a21, sum(expense_budget) a22,
                   sum(plan_deliveries) a23, sum(plan_revenue) a24, sum(plan_new_a_cards) a25
            FROM stores GROUP BY grain, period_start, region_code
        ), nation AS (
            SELECT 'national' AS level, p.grain, p.period_start, p.period_end, '' AS entity, NULL::text AS region_code,
                   coalesce(sum(walkin_groups), 0) a1, coalesce(sum(phone_groups), 0) a2, coalesce(sum(revisits), 0) a3,
                   coalesce(sum(test_drives), 0) a4, coalesce(sum(new_a_cards), 0) a5, coalesce(sum(invalid_a_cards), 0) a6,
                   coalesce(sum(held_a_cards), 0) a7, coalesce(sum(lost_prospects), 0) a8, coalesce(sum(orders), 0) a9,
                   coalesce(sum(cancellations), 0) a10, coalesce(sum(deliveries), 0) a11, coalesce(sum(revenue), 0) a12,
                   coalesce(sum(list_revenue), 0) a13, coalesce(sum(discount), 0) a14, coalesce(sum(collected), 0) a15,
                   coalesce(sum(reports_expected), 0) a16, coalesce(sum(reports_on_time), 0) a17,
                   coalesce(sum(reports_received), 0) a18, coalesce(sum(reports_corrected), 0) a19,
                   coalesce(sum(active_salespeople), 0) a20,
                   CASE WHEN p.grain IN ('month', 'quarter', 'year') THEN coalesce(sum(expense), 0) END a21,
                   sum(expense_budget) a22, sum(plan_deliveries) a23, sum(plan_revenue) a24, sum(plan_new_a_cards) a25
            FROM rf_rollup p LEFT JOIN stores s USING (grain, period_start)
            GROUP BY p.grain, p.period_start, p.period_end
        )
        SELECT level, grain, period_start, period_end, entity, region_code, NULL, NULL,
               a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25,
               (SELECT run_id FROM rf_horizon), (SELECT computed_at FROM rf_horizon)
        FROM (SELECT * FROM by_region UNION ALL SELECT * FROM nation) r;
        INSERT INTO rf_scope (level, grain, period_start, store_code)
        SELECT l.level, p.grain, p.period_start, NULL
        FROM rf_rollup p, (VALUES ('region'), ('national')) AS l(level);
        """

    /// Every period of every grain that overlaps the horizon (full rebuild's rollup scope).
    static let allRollupPeriods = """
        INSERT INTO rf_rollup (grain, period_start, period_end)
        SELECT DISTINCT g.grain, g.period_start, g.period_end
        FROM rf_horizon h
        CROSS JOIN LATERAL generate_series(h.hs, h.he, interval '1 day') AS d
        CROSS JOIN LATERAL kpi.enclosing_periods(d::date) AS g
        ON CONFLICT DO NOTHING
        """

    /// The periods of the store periods recomputed in this run (incremental rollup scope).
    static let touchedRollupPeriods = """
        INSERT INTO rf_rollup (grain, period_start, period_end)
        SELECT DISTINCT grain, period_start, period_end FROM rf_period
        ON CONFLICT DO NOTHING
        """
}
