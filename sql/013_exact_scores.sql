-- Scores exact to their 20 decimal places (docs/bi.md: "values of ratios and scores are rounded to 20
-- decimal places").
--
-- sql/002 rounded the deviation's numerator and then divided with PostgreSQL's default division scale
-- (about 20 significant digits), and never rounded the score: 100 + 1.3 x a deviation already cut short gave
-- scores like 109.285714285714285714282 where the exact value, rounded to 20 places, is
-- 109.28571428571428571429 (the shared examples' expected_scores.csv: 76 of 217 rows differed in the last
-- places), and the composite was the weighted mean of those. Now the deviation is computed to 40 decimal places
-- (the dividend is given scale 40, so the quotient keeps at least that), kpi.score keeps that precision, and
-- what BI reads is rounded once, at the end, to 20 places: the score in bi.kpi_values and the composite in
-- bi.scorecard (a weighted mean of the unrounded scores). The views are replaced with the same columns, so
-- their comments, grants and dependants stay.
CREATE OR REPLACE FUNCTION kpi.deviation(numerator numeric, denominator numeric, target numeric, direction text) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN numerator IS NULL OR denominator IS NULL OR denominator = 0 OR target IS NULL THEN NULL
        WHEN target = 0 THEN round(((CASE WHEN direction = 'higher' THEN numerator ELSE -numerator END) * 100)::numeric(1000, 40)
                                   / denominator, 40)
        WHEN direction = 'higher' THEN round(((numerator - target * denominator) * 100)::numeric(1000, 40) / (target * denominator), 40)
        ELSE round(((target * denominator - numerator) * 100)::numeric(1000, 40) / (target * denominator), 40)
    END
$$;

CREATE OR REPLACE FUNCTION kpi.score(deviation numeric, slope_above numeric, slope_below numeric, floor numeric, cap numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN deviation IS NULL THEN NULL
                ELSE least(cap, greatest(floor, 100 + CASE WHEN deviation >= 0 THEN slope_above ELSE slope_below END * deviation))
           END
$$;

CREATE OR REPLACE VIEW bi.kpi_values AS
SELECT v.level, v.grain, v.period_start, v.period_end, v.region_code, v.store_code, v.salesperson_code,
       v.kpi_code, c.name_zh AS kpi_name_zh, c.name_en AS kpi_name_en,
       v.value, v.numerator, v.denominator, v.target, trim_scale(round(v.score, 20)) AS score,
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

CREATE OR REPLACE VIEW bi.scorecard AS
WITH composite AS (
    SELECT level, grain, period_start, entity,
           trim_scale(round(sum(weight * score)::numeric(1000, 40) / nullif(sum(weight), 0), 20)) AS composite_score,
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
