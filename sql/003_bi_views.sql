-- The BI contract: bi.kpi_values and bi.scorecard (stable), plus convenience views.
-- Ratios, targets, scores, ranks and comparisons are derived here from the stored snapshot rows, so they
-- are never stale. Filters on level, grain and period_start reach the snapshot's primary key.

-- Start of the previous period of the same grain.
CREATE FUNCTION kpi.previous_period_start(grain text, period_start date) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE grain
        WHEN 'day' THEN period_start - 1
        WHEN 'week' THEN period_start - 7
        WHEN 'month' THEN (period_start - interval '1 month')::date
        WHEN 'quarter' THEN (period_start - interval '3 months')::date
        WHEN 'year' THEN (period_start - interval '1 year')::date
    END
$$;

-- Start of the same period a year earlier (ISO week: the same week number of the previous ISO year,
-- NULL when that year has no such week; 29 February: the 28th).
CREATE FUNCTION kpi.year_ago_period_start(grain text, period_start date) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE grain
        WHEN 'week' THEN (
            SELECT CASE WHEN extract(week FROM monday)::int = wk THEN monday END
            FROM (SELECT extract(week FROM period_start)::int AS wk,
                         (make_date(extract(isoyear FROM period_start)::int - 1, 1, 4)
                          - (extract(isodow FROM make_date(extract(isoyear FROM period_start)::int - 1, 1, 4))::int - 1)
                          + 7 * (extract(week FROM period_start)::int - 1)) AS monday) w)
        ELSE (period_start - interval '1 year')::date
    END
$$;

-- One row per snapshot row and KPI that exists at its level and grain: measures (numerator = value,
-- denominator NULL) and ratios (sum/sum, 20 decimal places; NULL value on a zero denominator), with the
-- value of the previous period and of the same period a year earlier. Those come from joining the wide
-- snapshot rows on their primary key (not the KPI rows on themselves), so a full scan stays linear.
CREATE VIEW kpi.kpi_long AS
SELECT s.level, s.grain, s.period_start, s.period_end, s.entity,
       s.region_code, s.store_code, s.salesperson_code,
       CASE s.level WHEN 'salesperson' THEN s.store_code WHEN 'store' THEN s.region_code WHEN 'region' THEN '' END AS peer_group,
       k.kpi_code, k.numerator, k.denominator,
       CASE WHEN NOT k.is_ratio THEN k.numerator
            WHEN k.denominator = 0 THEN NULL
            ELSE trim_scale(round(k.numerator, 20) / k.denominator) END AS value,
       k.prev_value, k.yoy_value,
       s.computed_at, s.run_id
FROM kpi.snapshot s
LEFT JOIN kpi.snapshot p
       ON p.level = s.level AND p.grain = s.grain AND p.entity = s.entity
      AND p.period_start = kpi.previous_period_start(s.grain, s.period_start)
LEFT JOIN kpi.snapshot y
       ON y.level = s.level AND y.grain = s.grain AND y.entity = s.entity
      AND y.period_start = kpi.year_ago_period_start(s.grain, s.period_start)
CROSS JOIN LATERAL (VALUES
    ('WALKIN_GROUPS', s.walkin_groups::numeric, NULL::numeric, false, true,
     CASE WHEN true THEN p.walkin_groups::numeric END,
     CASE WHEN true THEN y.walkin_groups::numeric END),
    ('PHONE_GROUPS', s.phone_groups::numeric, NULL::numeric, false, true,
     CASE WHEN true THEN p.phone_groups::numeric END,
     CASE WHEN true THEN y.phone_groups::numeric END),
    ('TRAFFIC', (s.walkin_groups + s.phone_groups)::numeric, NULL::numeric, false, true,
     CASE WHEN true THEN (p.walkin_groups + p.phone_groups)::numeric END,
     CASE WHEN true THEN (y.walkin_groups + y.phone_groups)::numeric END),
    ('REVISITS', s.revisits::numeric, NULL::numeric, false, true,
     CASE WHEN true THEN p.revisits::numeric END,
     CASE WHEN true THEN y.revisits::numeric END),
    ('TEST_DRIVES', s.test_drives::numeric, NULL::numeric, false, true,
     CASE WHEN true THEN p.test_drives::numeric END,
     CASE WHEN true THEN y.test_drives::numeric END),
    ('NEW_A_CARDS', s.new_a_cards::numeric, NULL::numeric, false, true,
     CASE WHEN true THEN p.new_a_cards::numeric END,
     CASE WHEN true THEN y.new_a_cards::numeric END),
    ('INVALID_A_CARDS', s.invalid_a_cards::numeric, NULL::numeric, false, true,
     CASE WHEN true THEN p.invalid_a_cards::numeric END,
     CASE WHEN true THEN y.invalid_a_cards::numeric END),
    ('HELD_A_CARDS', s.held_a_cards::numeric, NULL::numeric, false, true,
     CASE WHEN true THEN p.held_a_cards::numeric END,
     CASE WHEN true THEN y.held_a_cards::numeric END),
    ('LOST_PROSPECTS', s.lost_prospects::numeric, NULL::numeric, false, true,
     CASE WHEN true THEN p.lost_prospects::numeric END,
     CASE WHEN true THEN y.lost_prospects::numeric END),
    ('ORDERS', s.orders::numeric, NULL::numeric, false, true,
     CASE WHEN true THEN p.orders::numeric END,
     CASE WHEN true THEN y.orders::numeric END),
    ('CANCELLATIONS', s.cancellations::numeric, NULL::numeric, false, true,
     CASE WHEN true THEN p.cancellations::numeric END,
     CASE WHEN true THEN y.cancellations::numeric END),
    ('DELIVERIES', s.deliveries::numeric, NULL::numeric, false, true,
     CASE WHEN true THEN p.deliveries::numeric END,
     CASE WHEN true THEN y.deliveries::numeric END),
    ('REVENUE', s.revenue, NULL::numeric, false, true,
     CASE WHEN true THEN p.revenue END,
     CASE WHEN true THEN y.revenue END),
    ('LIST_REVENUE', s.list_revenue, NULL::numeric, false, true,
     CASE WHEN true THEN p.list_revenue END,
     CASE WHEN true THEN y.list_revenue END),
    ('DISCOUNT', s.discount, NULL::numeric, false, true,
     CASE WHEN true THEN p.discount END,
     CASE WHEN true THEN y.discount END),
    ('COLLECTED', s.collected, NULL::numeric, false, true,
     CASE WHEN true THEN p.collected END,
     CASE WHEN true THEN y.collected END),
    ('EXPENSE', s.expense, NULL::numeric, false, s.expense IS NOT NULL,
     CASE WHEN p.expense IS NOT NULL THEN p.expense END,
     CASE WHEN y.expense IS NOT NULL THEN y.expense END),
    ('REPORTS_EXPECTED', s.reports_expected::numeric, NULL::numeric, false, s.reports_expected IS NOT NULL,
     CASE WHEN p.reports_expected IS NOT NULL THEN p.reports_expected::numeric END,
     CASE WHEN y.reports_expected IS NOT NULL THEN y.reports_expected::numeric END),
    ('REPORTS_ON_TIME', s.reports_on_time::numeric, NULL::numeric, false, s.reports_on_time IS NOT NULL,
     CASE WHEN p.reports_on_time IS NOT NULL THEN p.reports_on_time::numeric END,
     CASE WHEN y.reports_on_time IS NOT NULL THEN y.reports_on_time::numeric END),
    ('REPORTS_RECEIVED', s.reports_received::numeric, NULL::numeric, false, s.reports_received IS NOT NULL,
     CASE WHEN p.reports_received IS NOT NULL THEN p.reports_received::numeric END,
     CASE WHEN y.reports_received IS NOT NULL THEN y.reports_received::numeric END),
    ('REPORTS_CORRECTED', s.reports_corrected::numeric, NULL::numeric, false, s.reports_corrected IS NOT NULL,
     CASE WHEN p.reports_corrected IS NOT NULL THEN p.reports_corrected::numeric END,
     CASE WHEN y.reports_corrected IS NOT NULL THEN y.reports_corrected::numeric END),
    ('ACTIVE_SALESPEOPLE', s.active_salespeople::numeric, NULL::numeric, false, s.active_salespeople IS NOT NULL,
     CASE WHEN p.active_salespeople IS NOT NULL THEN p.active_salespeople::numeric END,
     CASE WHEN y.active_salespeople IS NOT NULL THEN y.active_salespeople::numeric END),
    ('PLAN_DELIVERIES', s.plan_deliveries, NULL::numeric, false, s.plan_deliveries IS NOT NULL,
     CASE WHEN p.plan_deliveries IS NOT NULL THEN p.plan_deliveries END,
     CASE WHEN y.plan_deliveries IS NOT NULL THEN y.plan_deliveries END),
    ('PLAN_REVENUE', s.plan_revenue, NULL::numeric, false, s.plan_revenue IS NOT NULL,
     CASE WHEN p.plan_revenue IS NOT NULL THEN p.plan_revenue END,
     CASE WHEN y.plan_revenue IS NOT NULL THEN y.plan_revenue END),
    ('PLAN_NEW_A_CARDS', s.plan_new_a_cards, NULL::numeric, false, s.plan_new_a_cards IS NOT NULL,
     CASE WHEN p.plan_new_a_cards IS NOT NULL THEN p.plan_new_a_cards END,
     CASE WHEN y.plan_new_a_cards IS NOT NULL THEN y.plan_new_a_cards END),
    ('EXPENSE_BUDGET', s.expense_budget, NULL::numeric, false, s.expense_budget IS NOT NULL,
     CASE WHEN p.expense_budget IS NOT NULL THEN p.expense_budget END,
     CASE WHEN y.expense_budget IS NOT NULL THEN y.expense_budget END),
    ('CAPTURE_RATE', s.new_a_cards::numeric, (s.walkin_groups + s.phone_groups)::numeric, true, true,
     CASE WHEN true AND (p.walkin_groups + p.phone_groups)::numeric <> 0 THEN trim_scale(round(p.new_a_cards::numeric, 20) / (p.walkin_groups + p.phone_groups)::numeric) END,
     CASE WHEN true AND (y.walkin_groups + y.phone_groups)::numeric <> 0 THEN trim_scale(round(y.new_a_cards::numeric, 20) / (y.walkin_groups + y.phone_groups)::numeric) END),
    ('TEST_DRIVE_RATE', s.test_drives::numeric, s.walkin_groups::numeric, true, true,
     CASE WHEN true AND p.walkin_groups::numeric <> 0 THEN trim_scale(round(p.test_drives::numeric, 20) / p.walkin_groups::numeric) END,
     CASE WHEN true AND y.walkin_groups::numeric <> 0 THEN trim_scale(round(y.test_drives::numeric, 20) / y.walkin_groups::numeric) END),
    ('CLOSE_RATE', s.orders::numeric, (s.walkin_groups + s.phone_groups)::numeric, true, true,
     CASE WHEN true AND (p.walkin_groups + p.phone_groups)::numeric <> 0 THEN trim_scale(round(p.orders::numeric, 20) / (p.walkin_groups + p.phone_groups)::numeric) END,
     CASE WHEN true AND (y.walkin_groups + y.phone_groups)::numeric <> 0 THEN trim_scale(round(y.orders::numeric, 20) / (y.walkin_groups + y.phone_groups)::numeric) END),
    ('LOSS_RATE', s.lost_prospects::numeric, (s.lost_prospects + s.orders)::numeric, true, true,
     CASE WHEN true AND (p.lost_prospects + p.orders)::numeric <> 0 THEN trim_scale(round(p.lost_prospects::numeric, 20) / (p.lost_prospects + p.orders)::numeric) END,
     CASE WHEN true AND (y.lost_prospects + y.orders)::numeric <> 0 THEN trim_scale(round(y.lost_prospects::numeric, 20) / (y.lost_prospects + y.orders)::numeric) END),
    ('CANCEL_RATE', s.cancellations::numeric, s.orders::numeric, true, true,
     CASE WHEN true AND p.orders::numeric <> 0 THEN trim_scale(round(p.cancellations::numeric, 20) / p.orders::numeric) END,
     CASE WHEN true AND y.orders::numeric <> 0 THEN trim_scale(round(y.cancellations::numeric, 20) / y.orders::numeric) END),
    ('INVALID_CARD_RATE', s.invalid_a_cards::numeric, (s.new_a_cards + s.invalid_a_cards)::numeric, true, true,
     CASE WHEN true AND (p.new_a_cards + p.invalid_a_cards)::numeric <> 0 THEN trim_scale(round(p.invalid_a_cards::numeric, 20) / (p.new_a_cards + p.invalid_a_cards)::numeric) END,
     CASE WHEN true AND (y.new_a_cards + y.invalid_a_cards)::numeric <> 0 THEN trim_scale(round(y.invalid_a_cards::numeric, 20) / (y.new_a_cards + y.invalid_a_cards)::numeric) END),
    ('AVG_DEAL_PRICE', s.revenue, s.deliveries::numeric, true, true,
     CASE WHEN true AND p.deliveries::numeric <> 0 THEN trim_scale(round(p.revenue, 20) / p.deliveries::numeric) END,
     CASE WHEN true AND y.deliveries::numeric <> 0 THEN trim_scale(round(y.revenue, 20) / y.deliveries::numeric) END),
    ('DISCOUNT_RATE', s.discount, s.list_revenue, true, true,
     CASE WHEN true AND p.list_revenue <> 0 THEN trim_scale(round(p.discount, 20) / p.list_revenue) END,
     CASE WHEN true AND y.list_revenue <> 0 THEN trim_scale(round(y.discount, 20) / y.list_revenue) END),
    ('COLLECTION_RATE', s.collected, s.revenue, true, true,
     CASE WHEN true AND p.revenue <> 0 THEN trim_scale(round(p.collected, 20) / p.revenue) END,
     CASE WHEN true AND y.revenue <> 0 THEN trim_scale(round(y.collected, 20) / y.revenue) END),
    ('PLAN_ACHIEVEMENT', s.deliveries::numeric, s.plan_deliveries, true, s.plan_deliveries IS NOT NULL,
     CASE WHEN p.plan_deliveries IS NOT NULL AND p.plan_deliveries <> 0 THEN trim_scale(round(p.deliveries::numeric, 20) / p.plan_deliveries) END,
     CASE WHEN y.plan_deliveries IS NOT NULL AND y.plan_deliveries <> 0 THEN trim_scale(round(y.deliveries::numeric, 20) / y.plan_deliveries) END),
    ('REVENUE_ACHIEVEMENT', s.revenue, s.plan_revenue, true, s.plan_revenue IS NOT NULL,
     CASE WHEN p.plan_revenue IS NOT NULL AND p.plan_revenue <> 0 THEN trim_scale(round(p.revenue, 20) / p.plan_revenue) END,
     CASE WHEN y.plan_revenue IS NOT NULL AND y.plan_revenue <> 0 THEN trim_scale(round(y.revenue, 20) / y.plan_revenue) END),
    ('PLAN_DEVIATION', abs(s.plan_deliveries - s.deliveries), s.plan_deliveries, true, s.plan_deliveries IS NOT NULL,
     CASE WHEN p.plan_deliveries IS NOT NULL AND p.plan_deliveries <> 0 THEN trim_scale(round(abs(p.plan_deliveries - p.deliveries), 20) / p.plan_deliveries) END,
     CASE WHEN y.plan_deliveries IS NOT NULL AND y.plan_deliveries <> 0 THEN trim_scale(round(abs(y.plan_deliveries - y.deliveries), 20) / y.plan_deliveries) END),
    ('EXPENSE_VARIANCE', s.expense - s.expense_budget, s.expense_budget, true, s.expense_budget IS NOT NULL AND s.expense IS NOT NULL,
     CASE WHEN p.expense_budget IS NOT NULL AND p.expense IS NOT NULL AND p.expense_budget <> 0 THEN trim_scale(round(p.expense - p.expense_budget, 20) / p.expense_budget) END,
     CASE WHEN y.expense_budget IS NOT NULL AND y.expense IS NOT NULL AND y.expense_budget <> 0 THEN trim_scale(round(y.expense - y.expense_budget, 20) / y.expense_budget) END),
    ('REPORT_TIMELINESS', s.reports_on_time::numeric, s.reports_expected::numeric, true, s.reports_expected IS NOT NULL,
     CASE WHEN p.reports_expected IS NOT NULL AND p.reports_expected::numeric <> 0 THEN trim_scale(round(p.reports_on_time::numeric, 20) / p.reports_expected::numeric) END,
     CASE WHEN y.reports_expected IS NOT NULL AND y.reports_expected::numeric <> 0 THEN trim_scale(round(y.reports_on_time::numeric, 20) / y.reports_expected::numeric) END),
    ('REPORT_ACCURACY', (s.reports_received - s.reports_corrected)::numeric, s.reports_received::numeric, true, s.reports_received IS NOT NULL,
     CASE WHEN p.reports_received IS NOT NULL AND p.reports_received::numeric <> 0 THEN trim_scale(round((p.reports_received - p.reports_corrected)::numeric, 20) / p.reports_received::numeric) END,
     CASE WHEN y.reports_received IS NOT NULL AND y.reports_received::numeric <> 0 THEN trim_scale(round((y.reports_received - y.reports_corrected)::numeric, 20) / y.reports_received::numeric) END),
    ('UNITS_PER_SALESPERSON', s.deliveries::numeric, s.active_salespeople::numeric, true, s.active_salespeople IS NOT NULL,
     CASE WHEN p.active_salespeople IS NOT NULL AND p.active_salespeople::numeric <> 0 THEN trim_scale(round(p.deliveries::numeric, 20) / p.active_salespeople::numeric) END,
     CASE WHEN y.active_salespeople IS NOT NULL AND y.active_salespeople::numeric <> 0 THEN trim_scale(round(y.deliveries::numeric, 20) / y.active_salespeople::numeric) END)
) AS k(kpi_code, numerator, denominator, is_ratio, applies, prev_value, yoy_value)
WHERE k.applies;

-- Targets and scores (month, quarter and year rows are scored; a level-specific rule wins).
CREATE VIEW kpi.kpi_scored AS
SELECT v.*,
       r.weight,
       CASE WHEN r.target_unit = 'month'
            THEN CASE WHEN v.grain IN ('month', 'quarter', 'year')
                      THEN r.target * (CASE v.grain WHEN 'month' THEN 1 WHEN 'quarter' THEN 3 ELSE 12 END) END
            ELSE r.target END AS target,
       CASE WHEN v.grain IN ('month', 'quarter', 'year') THEN
           kpi.score(kpi.deviation(v.numerator, v.denominator,
                                   r.target * (CASE WHEN r.target_unit = 'month'
                                                    THEN CASE v.grain WHEN 'month' THEN 1 WHEN 'quarter' THEN 3 ELSE 12 END
                                                    ELSE 1 END),
                                   r.direction),
                     r.slope_above, r.slope_below, r.floor, r.cap)
       END AS score
FROM kpi.kpi_long v
LEFT JOIN LATERAL (
    SELECT * FROM kpi.scoring_rule sr
    WHERE sr.kpi_code = v.kpi_code AND (sr.level = v.level OR sr.level IS NULL)
    ORDER BY sr.level NULLS LAST
    LIMIT 1
) r ON true;

CREATE VIEW bi.kpi_values AS
SELECT v.level, v.grain, v.period_start, v.period_end, v.region_code, v.store_code, v.salesperson_code,
       v.kpi_code, c.name_zh AS kpi_name_zh, c.name_en AS kpi_name_en,
       v.value, v.numerator, v.denominator, v.target, v.score,
       CASE WHEN c.ranked AND v.level <> 'national' AND v.value IS NOT NULL THEN
           rank() OVER (PARTITION BY v.level, v.grain, v.period_start, v.peer_group, v.kpi_code, (v.value IS NULL)
                        ORDER BY CASE WHEN c.direction = 'lower' THEN v.value END ASC,
                                 CASE WHEN c.direction = 'lower' THEN NULL ELSE v.value END DESC)
       END AS rank,
       CASE WHEN c.ranked AND v.level <> 'national' THEN
           count(v.value) OVER (PARTITION BY v.level, v.grain, v.period_start, v.peer_group, v.kpi_code)
       END AS peer_count,
       v.prev_value,
       v.yoy_value,
       v.computed_at
FROM kpi.kpi_scored v
JOIN kpi.catalog c USING (kpi_code);

CREATE VIEW bi.scorecard AS
WITH composite AS (
    SELECT level, grain, period_start, entity,
           trim_scale(round(sum(weight * score), 20) / nullif(sum(weight), 0)) AS composite_score,
           sum(weight) AS total_weight
    FROM kpi.kpi_scored
    WHERE grain IN ('month', 'quarter', 'year') AND score IS NOT NULL AND weight > 0
    GROUP BY level, grain, period_start, entity
)
SELECT s.level, s.grain, s.period_start, s.period_end, s.region_code, s.store_code, s.salesperson_code,
       c.composite_score, c.total_weight,
       CASE WHEN s.level <> 'national' AND c.composite_score IS NOT NULL THEN
           rank() OVER (PARTITION BY s.level, s.grain, s.period_start,
                                     CASE s.level WHEN 'salesperson' THEN s.store_code WHEN 'store' THEN s.region_code ELSE '' END,
                                     (c.composite_score IS NULL)
                        ORDER BY c.composite_score DESC)
       END AS rank,
       CASE WHEN s.level <> 'national' THEN
           count(c.composite_score) OVER (PARTITION BY s.level, s.grain, s.period_start,
                                          CASE s.level WHEN 'salesperson' THEN s.store_code WHEN 'store' THEN s.region_code ELSE '' END)
       END AS peer_count,
       CASE WHEN s.level = 'store' AND c.composite_score IS NOT NULL THEN
           rank() OVER (PARTITION BY s.level, s.grain, s.period_start, (c.composite_score IS NULL) ORDER BY c.composite_score DESC)
       END AS national_rank,
       CASE WHEN s.level = 'store' THEN
           count(c.composite_score) OVER (PARTITION BY s.level, s.grain, s.period_start)
       END AS national_peer_count,
       s.computed_at
FROM kpi.snapshot s
LEFT JOIN composite c USING (level, grain, period_start, entity)
WHERE s.grain IN ('month', 'quarter', 'year');

COMMENT ON SCHEMA bi IS 'Stable views for BI tools (Superset, Metabase, Grafana). Internal tables may change; these views may not.';
COMMENT ON VIEW bi.kpi_values IS 'One row per level x grain x period x entity x KPI: value, numerator, denominator, target, score, rank among peers, previous-period and year-ago values. KPI 指标值.';
COMMENT ON COLUMN bi.kpi_values.level IS 'salesperson | store | region | national (层级)';
COMMENT ON COLUMN bi.kpi_values.grain IS 'day | week (ISO, Monday start) | month | quarter | year, in the business time zone (周期粒度)';
COMMENT ON COLUMN bi.kpi_values.period_start IS 'First day of the period (期间开始)';
COMMENT ON COLUMN bi.kpi_values.period_end IS 'Last day of the period, inclusive; stocks are taken on this day (期间结束)';
COMMENT ON COLUMN bi.kpi_values.region_code IS 'Region (大区); filled on store and salesperson rows, NULL on national rows';
COMMENT ON COLUMN bi.kpi_values.store_code IS 'Store (4S店); NULL on region and national rows';
COMMENT ON COLUMN bi.kpi_values.salesperson_code IS 'Salesperson (销售顾问); only on salesperson rows';
COMMENT ON COLUMN bi.kpi_values.kpi_code IS 'KPI code, e.g. CLOSE_RATE (成交率); see kpi_name_zh / kpi_name_en';
COMMENT ON COLUMN bi.kpi_values.kpi_name_zh IS 'KPI name in Chinese (指标名称)';
COMMENT ON COLUMN bi.kpi_values.kpi_name_en IS 'KPI name and formula in English';
COMMENT ON COLUMN bi.kpi_values.value IS 'The value: a measure, or numerator / denominator for a ratio (NULL when the denominator is 0) (指标值)';
COMMENT ON COLUMN bi.kpi_values.numerator IS 'Numerator; equals value for measures. Re-aggregate ratios as sum(numerator) / sum(denominator) (分子)';
COMMENT ON COLUMN bi.kpi_values.denominator IS 'Denominator of a ratio; NULL for measures (分母)';
COMMENT ON COLUMN bi.kpi_values.target IS 'Target from the scoring rules (目标值)';
COMMENT ON COLUMN bi.kpi_values.score IS 'Linear score: 100 + 1.3 per % above target, - 0.3 per % below, clamped to [0, 150]; month, quarter and year rows only (得分)';
COMMENT ON COLUMN bi.kpi_values.rank IS 'Rank among peers (salespeople in their store, stores in their region, regions nationally), best = 1, ties share the best rank (排名)';
COMMENT ON COLUMN bi.kpi_values.peer_count IS 'Number of ranked peers (with a value) in the peer group (参与排名数)';
COMMENT ON COLUMN bi.kpi_values.prev_value IS 'Value of the previous period: day before, week before, month before... (上期值)';
COMMENT ON COLUMN bi.kpi_values.yoy_value IS 'Value of the same period a year earlier (去年同期值)';
COMMENT ON COLUMN bi.kpi_values.computed_at IS 'When the snapshot row was computed (计算时间)';

COMMENT ON VIEW bi.scorecard IS 'Weighted composite score per entity and month, quarter or year, with ranks. 综合评分 (绩效考核).';
COMMENT ON COLUMN bi.scorecard.level IS 'salesperson | store | region | national (层级)';
COMMENT ON COLUMN bi.scorecard.grain IS 'month | quarter | year (周期粒度)';
COMMENT ON COLUMN bi.scorecard.period_start IS 'First day of the period (期间开始)';
COMMENT ON COLUMN bi.scorecard.period_end IS 'Last day of the period (期间结束)';
COMMENT ON COLUMN bi.scorecard.region_code IS 'Region (大区)';
COMMENT ON COLUMN bi.scorecard.store_code IS 'Store (4S店)';
COMMENT ON COLUMN bi.scorecard.salesperson_code IS 'Salesperson (销售顾问)';
COMMENT ON COLUMN bi.scorecard.composite_score IS 'sum(weight x score) / sum(weight) over the scored KPIs that have a value (综合得分)';
COMMENT ON COLUMN bi.scorecard.total_weight IS 'Sum of the weights of the KPIs in the composite (权重合计)';
COMMENT ON COLUMN bi.scorecard.rank IS 'Rank of the composite among peers, best = 1 (排名)';
COMMENT ON COLUMN bi.scorecard.peer_count IS 'Number of ranked peers (参与排名数)';
COMMENT ON COLUMN bi.scorecard.national_rank IS 'Store rows: rank among all stores nationally (全国排名)';
COMMENT ON COLUMN bi.scorecard.national_peer_count IS 'Store rows: number of stores ranked nationally (全国参与排名数)';
COMMENT ON COLUMN bi.scorecard.computed_at IS 'When the snapshot row was computed (计算时间)';

COMMENT ON TABLE kpi.snapshot IS 'KPI snapshot rows: one per level x grain x period x entity with every stored measure (KPI 快照). Read through bi.kpi_values.';
COMMENT ON TABLE kpi.snapshot_history IS 'Superseded snapshot rows with the refresh run that replaced them (快照历史: restatements).';
COMMENT ON TABLE kpi.catalog IS 'KPI catalog: code, Chinese and English name, direction, ranked (指标目录).';
COMMENT ON TABLE kpi.scoring_rule IS 'Scoring configuration per KPI (and optionally per level): target, weight, direction, slopes, cap, floor (考核规则).';
COMMENT ON TABLE kpi.refresh_run IS 'Every snapshot refresh run (刷新记录).';
