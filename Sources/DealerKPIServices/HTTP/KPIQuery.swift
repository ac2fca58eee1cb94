import CivilCalendar
import Foundation
import Hummingbird
import Postgres

/// `GET /v1/kpis?level=&grain=&period=&region=&store=&kpi=`: rows of `bi.kpi_values` (league tables) for HQ.
///
/// - Auth: an operator token (the configured one or an `operator` row of `ops.api_token`); 401 without a valid
///   token, 403 with a store token.
/// - `level` (salesperson, store, region, national) and `grain` (day, week, month, quarter, year) are required
///   (400 otherwise). `period` is the period's first day, `YYYY-MM-DD` (default: the latest period of that
///   level and grain with snapshots). `region`, `store`, `kpi` filter by code. Ranks are those of the whole
///   peer group whatever the filters.
/// - Order: `kpi_code`, then `rank` (nulls last), then the entity's codes.
/// - Numbers: `value`, `numerator`, `denominator`, `target`, `score`, `prev_value` and `yoy_value` are
///   PostgreSQL `numeric` values, sent as JSON **strings** holding the exact decimal (no binary floating point
///   anywhere on the way), or null; `rank` and `peer_count` are JSON integers; `computed_at` is RFC 3339 UTC.
///
/// Response: `{"level", "grain", "period_start" (null when there are no snapshots), "rows": [...]}`.
struct KPIQuery: Sendable {
    let api: HTTPAPI

    static let levels: Set<String> = ["salesperson", "store", "region", "national"]
    static let grains: Set<String> = ["day", "week", "month", "quarter", "year"]

    func handle(_ request: Request, context: some RequestContext) async throws -> Response {
        let principal = try await api.authenticate(request)
        guard principal.role == .operator else { throw APIError.forbidden("KPIs are read with an operator token") }

        let q = request.uri.queryParameters
        guard let level = q.get("level"), Self.levels.contains(level) else {
            throw APIError.badRequest("level is required: one of \(Self.levels.sorted().joined(separator: ", "))")
        }
        guard let grain = q.get("grain"), Self.grains.contains(grain) else {
            throw APIError.badRequest("grain is required: one of day, week, month, quarter, year")
        }
        func code(_ name: String) throws -> String? {
            guard let v = q.get(name), !v.isEmpty else { return nil }
            guard v.count <= 64, !v.unicodeScalars.contains(where: { $0.value < 0x20 }) else { throw APIError.badRequest("\(name) is not a valid code") }
            return v
        }
        let region = try code("region"), store = try code("store"), kpi = try code("kpi")

        let period: CalendarDate?
        if let text = q.get("period"), !text.isEmpty {
            guard let p = CalendarDate(iso: text) else { throw APIError.badRequest("period must be a date YYYY-MM-DD (the period's first day)") }
            period = p
        } else {
            period = try await api.pool.query("""
                SELECT max(period_start) FROM kpi.snapshot WHERE level = \(level) AND grain = \(grain)
                """).first?.decode(CalendarDate?.self, column: 0)
        }
        var object: [String: Any] = ["level": level, "grain": grain, "period_start": period.map { $0.description as Any } ?? NSNull()]
        guard let period else {
            object["rows"] = [Any]()
            return HTTPJSON.response(.ok, object)
        }

        var query: PostgresQuery = """
            SELECT level, grain, period_start::text, period_end::text, region_code, store_code, salesperson_code,
                   kpi_code, kpi_name_zh, kpi_name_en, value::text, numerator::text, denominator::text, target::text, score::text,
                   rank::bigint, peer_count::bigint, prev_value::text, yoy_value::text, computed_at
            FROM bi.kpi_values
            WHERE level = \(level) AND grain = \(grain) AND period_start = \(period)
            """
        if let region { query.append(" AND region_code = \(region)") }
        if let store { query.append(" AND store_code = \(store)") }
        if let kpi { query.append(" AND kpi_code = \(kpi)") }
        query.append(" ORDER BY kpi_code, rank NULLS LAST, region_code NULLS FIRST, store_code NULLS FIRST, salesperson_code NULLS FIRST")

        // Under the BI read limits (`timeouts.bi_read`): a statement over them is 503 with Retry-After.
        let finalQuery = query
        let rows = try await api.pool.withTransaction(timeouts: api.configuration.timeouts.biRead) { conn in
            try conn.runQuery(finalQuery)
        }
        var out: [[String: Any]] = []
        out.reserveCapacity(rows.count)
        let textColumns = ["level", "grain", "period_start", "period_end", "region_code", "store_code", "salesperson_code",
                           "kpi_code", "kpi_name_zh", "kpi_name_en", "value", "numerator", "denominator", "target", "score"]
        func orNull(_ v: Any?) -> Any { v ?? NSNull() }
        for row in rows {
            var o: [String: Any] = [:]
            for (i, name) in textColumns.enumerated() { o[name] = orNull(row.text(column: i)) }
            o["rank"] = orNull(try row.decode(Int?.self, column: 15))
            o["peer_count"] = orNull(try row.decode(Int?.self, column: 16))
            o["prev_value"] = orNull(row.text(column: 17))
            o["yoy_value"] = orNull(row.text(column: 18))
            o["computed_at"] = orNull(try row.decode(Date?.self, column: 19).map(HTTPJSON.timestamp))
            out.append(o)
        }
        object["rows"] = out
        return HTTPJSON.response(.ok, object)
    }
}
