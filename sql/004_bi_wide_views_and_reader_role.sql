-- Convenience views for BI tools (one column per KPI), the weekday profile, and the read-only role.

-- One row per level x grain x period x entity, one column per KPI value (ratios computed as in
-- bi.kpi_values: sum/sum, NULL on a zero denominator). Plan-based columns are NULL where no plan exists.
CREATE VIEW bi.kpi_wide AS
SELECT s.level, s.grain, s.period_start, s.period_end, s.region_code, s.store_code, s.salesperson_code,
       s.walkin_groups, s.phone_groups, s.walkin_groups + s.phone_groups AS traffic, s.revisits, s.test_drives,
       s.new_a_cards, s.invalid_a_cards, s.held_a_cards, s.lost_prospects, s.orders, s.cancellations, s.deliveries,
       s.revenue, s.list_revenue, s.discount, s.collected, s.expense,
       s.reports_expected, s.reports_on_time, s.reports_received, s.reports_corrected, s.active_salespeople,
       s.plan_deliveries, s.plan_revenue, s.plan_new_a_cards, s.expense_budget,
       trim_scale(round(s.new_a_cards::numeric, 20) / nullif(s.walkin_groups + s.phone_groups, 0)) AS capture_rate,
       trim_scale(round(s.test_drives::numeric, 20) / nullif(s.walkin_groups, 0)) AS test_drive_rate,
       trim_scale(round(s.orders::numeric, 20) / nullif(s.walkin_groups + s.phone_groups, 0)) AS close_rate,
       trim_scale(round(s.lost_prospects::numeric, 20) / nullif(s.lost_prospects + s.orders, 0)) AS loss_rate,
       trim_scale(round(s.cancellations::numeric, 20) / nullif(s.orders, 0)) AS cancel_rate,
       trim_scale(round(s.invalid_a_cards::numeric, 20) / nullif(s.new_a_cards + s.invalid_a_cards, 0)) AS invalid_card_rate,
       trim_scale(round(s.revenue, 20) / nullif(s.deliveries, 0)) AS avg_deal_price,
       trim_scale(round(s.discount, 20) / nullif(s.list_revenue, 0)) AS discount_rate,
       trim_scale(round(s.collected, 20) / nullif(s.revenue, 0)) AS collection_rate,
       trim_scale(round(s.deliveries::numeric, 20) / nullif(s.plan_deliveries, 0)) AS plan_achievement,
       trim_scale(round(s.revenue, 20) / nullif(s.plan_revenue, 0)) AS revenue_achievement,
       trim_scale(round(abs(s.plan_deliveries - s.deliveries), 20) / nullif(s.plan_deliveries, 0)) AS plan_deviation,
       trim_scale(round(s.expense - s.expense_budget, 20) / nullif(s.expense_budget, 0)) AS expense_variance,
       trim_scale(round(s.reports_on_time::numeric, 20) / nullif(s.reports_expected, 0)) AS report_timeliness,
       trim_scale(round((s.reports_received - s.reports_corrected)::numeric, 20) / nullif(s.reports_received, 0)) AS report_accuracy,
       trim_scale(round(s.deliveries::numeric, 20) / nullif(s.active_salespeople, 0)) AS units_per_salesperson,
       s.computed_at
FROM kpi.snapshot s;

-- The league table: one row per store and month with its main KPIs, composite score and ranks.
CREATE VIEW bi.store_month AS
SELECT w.period_start AS month, w.region_code, w.store_code, st.store_name, st.city,
       w.traffic, w.new_a_cards, w.orders, w.deliveries, w.revenue, w.held_a_cards,
       w.capture_rate, w.test_drive_rate, w.close_rate, w.loss_rate, w.collection_rate,
       w.plan_deliveries, w.plan_achievement, w.revenue_achievement, w.expense_variance,
       w.report_timeliness, w.report_accuracy, w.units_per_salesperson,
       sc.composite_score, sc.rank AS region_rank, sc.peer_count AS region_peer_count,
       sc.national_rank, sc.national_peer_count, w.computed_at
FROM bi.kpi_wide w
JOIN core.store st ON st.store_code = w.store_code
LEFT JOIN bi.scorecard sc ON sc.level = 'store' AND sc.grain = 'month' AND sc.period_start = w.period_start
                         AND sc.store_code = w.store_code
WHERE w.level = 'store' AND w.grain = 'month';

-- Weekday profile (周期性分析): the average per ISO weekday over the trailing 8 weeks of the reporting
-- horizon, per store and nationally, from day rows.
CREATE VIEW bi.weekday_profile AS
WITH h AS (SELECT max(period_start) AS he FROM kpi.snapshot WHERE grain = 'day' AND level = 'national')
SELECT s.level, s.region_code, s.store_code,
       extract(isodow FROM s.period_start)::int AS iso_weekday,
       to_char(s.period_start, 'Dy') AS weekday_name,
       count(*) AS days,
       round(avg(s.walkin_groups + s.phone_groups), 2) AS avg_traffic,
       round(avg(s.test_drives), 2) AS avg_test_drives,
       round(avg(s.new_a_cards), 2) AS avg_new_a_cards,
       round(avg(s.orders), 2) AS avg_orders,
       round(avg(s.deliveries), 2) AS avg_deliveries,
       round(avg(s.revenue), 2) AS avg_revenue,
       min(s.period_start) AS window_start, max(s.period_start) AS window_end
FROM kpi.snapshot s, h
WHERE s.grain = 'day' AND s.level IN ('store', 'region', 'national')
  AND s.period_start > h.he - 56 AND s.period_start <= h.he
GROUP BY s.level, s.region_code, s.store_code, extract(isodow FROM s.period_start), to_char(s.period_start, 'Dy');

COMMENT ON VIEW bi.kpi_wide IS 'One row per level x grain x period x entity, one column per KPI (宽表: 每个指标一列). Ratios as in bi.kpi_values.';
COMMENT ON VIEW bi.store_month IS 'League table: one row per store and month with its main KPIs, composite score and regional/national ranks (门店月度排行).';
COMMENT ON VIEW bi.weekday_profile IS 'Average per ISO weekday over the trailing 8 weeks of the reporting horizon (周期性分析: 星期分布).';

DO $$
DECLARE
    c record;
    names jsonb := '{
      "level": "salesperson | store | region | national (层级)",
      "grain": "day | week | month | quarter | year (周期粒度)",
      "period_start": "First day of the period (期间开始)",
      "period_end": "Last day of the period, inclusive (期间结束)",
      "region_code": "Region (大区)", "store_code": "Store (4S店)", "salesperson_code": "Salesperson (销售顾问)",
      "walkin_groups": "WALKIN_GROUPS 来店组数", "phone_groups": "PHONE_GROUPS 来电组数", "traffic": "TRAFFIC 来店(电)组数",
      "revisits": "REVISITS 二次来店组数", "test_drives": "TEST_DRIVES 试乘试驾数", "new_a_cards": "NEW_A_CARDS 新增A卡",
      "invalid_a_cards": "INVALID_A_CARDS 无效A卡", "held_a_cards": "HELD_A_CARDS 保有A卡 (at period end)",
      "lost_prospects": "LOST_PROSPECTS 战败数", "orders": "ORDERS 订单数", "cancellations": "CANCELLATIONS 退订数",
      "deliveries": "DELIVERIES 交车数 (C卡)", "revenue": "REVENUE 销售收入 (CNY)", "list_revenue": "LIST_REVENUE 指导价收入 (CNY)",
      "discount": "DISCOUNT 优惠总额 (CNY)", "collected": "COLLECTED 回款额 (CNY)", "expense": "EXPENSE 实际费用 (CNY; month and up)",
      "reports_expected": "REPORTS_EXPECTED 应报日报数", "reports_on_time": "REPORTS_ON_TIME 及时日报数",
      "reports_received": "REPORTS_RECEIVED 已报日报数", "reports_corrected": "REPORTS_CORRECTED 更正日报数",
      "active_salespeople": "ACTIVE_SALESPEOPLE 在岗销售顾问 (at period end)",
      "plan_deliveries": "PLAN_DELIVERIES 计划交车数", "plan_revenue": "PLAN_REVENUE 计划销售收入",
      "plan_new_a_cards": "PLAN_NEW_A_CARDS 计划新增A卡", "expense_budget": "EXPENSE_BUDGET 费用预算",
      "capture_rate": "CAPTURE_RATE 留档率 = NEW_A_CARDS / TRAFFIC", "test_drive_rate": "TEST_DRIVE_RATE 试乘试驾率 = TEST_DRIVES / WALKIN_GROUPS",
      "close_rate": "CLOSE_RATE 成交率 = ORDERS / TRAFFIC", "loss_rate": "LOSS_RATE 战败率 = LOST / (LOST + ORDERS)",
      "cancel_rate": "CANCEL_RATE 退订率 = CANCELLATIONS / ORDERS", "invalid_card_rate": "INVALID_CARD_RATE 无效A卡率",
      "avg_deal_price": "AVG_DEAL_PRICE 平均成交价 = REVENUE / DELIVERIES", "discount_rate": "DISCOUNT_RATE 优惠率 = DISCOUNT / LIST_REVENUE",
      "collection_rate": "COLLECTION_RATE 货款回笼率 = COLLECTED / REVENUE", "plan_achievement": "PLAN_ACHIEVEMENT 销售计划达成率",
      "revenue_achievement": "REVENUE_ACHIEVEMENT 销售收入达成率", "plan_deviation": "PLAN_DEVIATION 销售计划准确率 (偏差)",
      "expense_variance": "EXPENSE_VARIANCE 费用控制率 = (EXPENSE - BUDGET) / BUDGET", "report_timeliness": "REPORT_TIMELINESS 日报及时率",
      "report_accuracy": "REPORT_ACCURACY 报表准确率", "units_per_salesperson": "UNITS_PER_SALESPERSON 人均销量",
      "computed_at": "When the snapshot row was computed (计算时间)",
      "month": "First day of the month (月份)", "store_name": "Store name (门店名称)", "city": "City (城市)",
      "composite_score": "Composite score 综合得分", "region_rank": "Rank of the composite within the region (大区排名)",
      "region_peer_count": "Stores ranked in the region", "national_rank": "Rank of the composite nationally (全国排名)",
      "national_peer_count": "Stores ranked nationally", "iso_weekday": "ISO weekday, Monday = 1 (星期)",
      "weekday_name": "Weekday name", "days": "Days averaged", "avg_traffic": "Average TRAFFIC per day (日均来店(电)组数)",
      "avg_test_drives": "Average TEST_DRIVES per day", "avg_new_a_cards": "Average NEW_A_CARDS per day",
      "avg_orders": "Average ORDERS per day", "avg_deliveries": "Average DELIVERIES per day",
      "avg_revenue": "Average REVENUE per day", "window_start": "First day averaged", "window_end": "Last day averaged"
    }';
BEGIN
    FOR c IN SELECT table_name, column_name FROM information_schema.columns
             WHERE table_schema = 'bi' AND table_name IN ('kpi_wide', 'store_month', 'weekday_profile') LOOP
        IF names ? c.column_name THEN
            EXECUTE format('COMMENT ON COLUMN bi.%I.%I IS %L', c.table_name, c.column_name, names ->> c.column_name);
        END IF;
    END LOOP;
END $$;

-- The read-only role for BI tools: the bi views and nothing else (no PII: core.* is not granted).
-- Roles are cluster-wide; deploy/roles.sql creates it ahead when the migrating user may not create roles.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kpi_reader') THEN
        BEGIN
            CREATE ROLE kpi_reader NOLOGIN;
        EXCEPTION
            WHEN insufficient_privilege THEN
                RAISE NOTICE 'cannot create role kpi_reader (no CREATEROLE); create it with deploy/roles.sql';
            WHEN duplicate_object OR unique_violation THEN
                NULL; -- created meanwhile by a migration of another database in the same cluster
        END;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kpi_reader') THEN
        EXECUTE 'GRANT USAGE ON SCHEMA bi TO kpi_reader';
        EXECUTE 'GRANT SELECT ON ALL TABLES IN SCHEMA bi TO kpi_reader';
    END IF;
END $$;
