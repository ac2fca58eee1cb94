import CivilCalendar
public import DailyReport
import Foundation
public import Logging
public import Postgres

/// The outcome of loading one master-data file.
public struct LoadResult: Sendable {
    public var file: String
    public var kind: MasterFileKind?
    public var rows: Int
    /// Rows inserted or changed (identical rows are left alone and cause no KPI refresh).
    public var changed: Int
    public var rejection: FileRejected?
    public var isAccepted: Bool { rejection == nil }
}

/// `dealer-kpi load`: master data, plans and expenses, kind detected from the header.
///
/// Files of one call are applied in dependency order (regions, stores, salespeople, models, plans,
/// expenses, calendar exceptions) whatever the argument order; each file is all-or-nothing in its own transaction. Rows are
/// upserted by key; a plan or expense row replaces the value for its key. Changes that move KPIs (store
/// dates or region, employment, plans, expenses) are written to the change log. A calendar exceptions file
/// (contract 1.1) replaces the rows of the dates it lists; it moves no KPI (openings and report expectations do
/// not follow the calendar), so it writes no change.
///
/// Thread-safety: `Sendable`.
public struct MasterDataLoader: Sendable {
    public let pool: PostgresConnectionPool
    private let logger: Logger

    public init(pool: PostgresConnectionPool, logger: Logger = Logger(label: "dealer-kpi.load")) {
        self.pool = pool
        self.logger = logger
    }

    /// Loads `paths` in dependency order, one transaction per file; a rejected file does not stop the others.
    /// `onResult` is told of each file as soon as its transaction ended (a caller can print it at once).
    public func load(paths: [String], onResult: (@Sendable (LoadResult) -> Void)? = nil) async throws -> [LoadResult] {
        var parsed: [(order: Int, index: Int, result: Result<MasterFile, FileRejected>, name: String)] = []
        for (i, path) in paths.enumerated() {
            let name = (path as NSString).lastPathComponent
            do {
                let file = try MasterDataReader.read(path: path, fileName: name)
                parsed.append((file.kind.loadOrder, i, .success(file), name))
            } catch {
                parsed.append((-1, i, .failure(error), name))
            }
        }
        var results: [LoadResult] = []
        for entry in parsed.sorted(by: { ($0.order, $0.index) < ($1.order, $1.index) }) {
            switch entry.result {
            case .failure(let rejection):
                results.append(LoadResult(file: entry.name, kind: nil, rows: 0, changed: 0, rejection: rejection))
                onResult?(results[results.count - 1])
            case .success(let file):
                do {
                    let changed = try await pool.withConnection { conn in
                        try await conn.withTransaction { conn in try MasterMerge.apply(file, conn) }
                    }
                    logger.info("loaded", metadata: ["file": "\(entry.name)", "kind": "\(file.kind.rawValue)", "changed": "\(changed)"])
                    results.append(LoadResult(file: entry.name, kind: file.kind, rows: file.rows.count, changed: changed, rejection: nil))
                } catch let rejection as FileRejected {
                    results.append(LoadResult(file: entry.name, kind: file.kind, rows: file.rows.count, changed: 0, rejection: rejection))
                }
                onResult?(results[results.count - 1])
            }
        }
        return results
    }
}

extension MasterRows {
    var count: Int {
        switch self {
        case .regions(let r): r.count
        case .stores(let r): r.count
        case .salespeople(let r): r.count
        case .models(let r): r.count
        case .plans(let r): r.count
        case .expenses(let r): r.count
        case .calendar(let r): r.count
        }
    }
}

/// Staging, reference checks and upserts per kind.
enum MasterMerge {
    static func apply(_ file: MasterFile, _ conn: isolated PostgresConnection) throws -> Int {
        switch file.rows {
        case .regions(let rows):
            try conn.runScript("CREATE TEMP TABLE stg (line int, region_code text, region_name text) ON COMMIT DROP")
            _ = try conn.runCopyFrom("COPY stg FROM STDIN") { w in
                for r in rows { w.appendField(r.line); try w.appendField(r.code); try w.appendField(r.name); try w.endRow() }
            }
            return try conn.runQuery("""
                INSERT INTO core.region AS t (region_code, region_name) SELECT region_code, region_name FROM stg
                ON CONFLICT (region_code) DO UPDATE SET region_name = EXCLUDED.region_name, updated_at = now()
                WHERE t.region_name IS DISTINCT FROM EXCLUDED.region_name
                """).affectedRows

        case .stores(let rows):
            try conn.runScript("CREATE TEMP TABLE stg (line int, store_code text, store_name text, region_code text, city text, opened_on date, closed_on date) ON COMMIT DROP")
            _ = try conn.runCopyFrom("COPY stg FROM STDIN") { w in
                for r in rows {
                    w.appendField(r.line); try w.appendField(r.code); try w.appendField(r.name); try w.appendField(r.regionCode)
                    try w.appendField(r.city); try w.appendField(r.openedOn.description); try w.appendField(r.closedOn?.description)
                    try w.endRow()
                }
            }
            try rejectUnknown(conn, file: file.file, field: "region_code", rule: .unknownRegion, what: "region", sql: """
                SELECT line, region_code FROM stg s WHERE NOT EXISTS (SELECT 1 FROM core.region r WHERE r.region_code = s.region_code) ORDER BY line LIMIT 100
                """)
            try conn.runScript("""
                INSERT INTO core.kpi_change (store_code, first_date, last_date, reason)
                SELECT s.store_code, least(s.opened_on, coalesce(t.opened_on, s.opened_on)), NULL, 'master'
                FROM stg s LEFT JOIN core.store t USING (store_code)
                WHERE t.store_code IS NULL
                   OR (t.region_code, t.opened_on, t.closed_on) IS DISTINCT FROM (s.region_code, s.opened_on, s.closed_on)
                """)
            return try conn.runQuery("""
                INSERT INTO core.store AS t (store_code, store_name, region_code, city, opened_on, closed_on)
                SELECT store_code, store_name, region_code, city, opened_on, closed_on FROM stg
                ON CONFLICT (store_code) DO UPDATE SET store_name = EXCLUDED.store_name, region_code = EXCLUDED.region_code,
                    city = EXCLUDED.city, opened_on = EXCLUDED.opened_on, closed_on = EXCLUDED.closed_on, updated_at = now()
                WHERE (t.store_name, t.region_code, t.city, t.opened_on, t.closed_on)
                      IS DISTINCT FROM (EXCLUDED.store_name, EXCLUDED.region_code, EXCLUDED.city, EXCLUDED.opened_on, EXCLUDED.closed_on)
                """).affectedRows

        case .salespeople(let rows):
            try conn.runScript("CREATE TEMP TABLE stg (line int, salesperson_code text, name text, store_code text, hired_on date, left_on date) ON COMMIT DROP")
            _ = try conn.runCopyFrom("COPY stg FROM STDIN") { w in
                for r in rows {
                    w.appendField(r.line); try w.appendField(r.code); try w.appendField(r.name); try w.appendField(r.storeCode)
                    try w.appendField(r.hiredOn.description); try w.appendField(r.leftOn?.description)
                    try w.endRow()
                }
            }
            try rejectUnknown(conn, file: file.file, field: "store_code", rule: .unknownStore, what: "store", sql: """
                SELECT line, store_code FROM stg s WHERE NOT EXISTS (SELECT 1 FROM core.store t WHERE t.store_code = s.store_code) ORDER BY line LIMIT 100
                """)
            // Employment feeds ACTIVE_SALESPEOPLE and which salesperson rows exist, at the old and new store.
            try conn.runScript("""
                INSERT INTO core.kpi_change (store_code, first_date, last_date, reason)
                SELECT x.store_code, x.first_date, NULL, 'master'
                FROM stg s LEFT JOIN core.salesperson t USING (salesperson_code)
                CROSS JOIN LATERAL (VALUES (s.store_code, least(s.hired_on, coalesce(t.hired_on, s.hired_on))),
                                           (t.store_code, t.hired_on)) AS x(store_code, first_date)
                WHERE x.store_code IS NOT NULL
                  AND (t.salesperson_code IS NULL
                       OR (t.store_code, t.hired_on, t.left_on) IS DISTINCT FROM (s.store_code, s.hired_on, s.left_on))
                """)
            return try conn.runQuery("""
                INSERT INTO core.salesperson AS t (salesperson_code, name, store_code, hired_on, left_on)
                SELECT salesperson_code, name, store_code, hired_on, left_on FROM stg
                ON CONFLICT (salesperson_code) DO UPDATE SET name = EXCLUDED.name, store_code = EXCLUDED.store_code,
                    hired_on = EXCLUDED.hired_on, left_on = EXCLUDED.left_on, updated_at = now()
                WHERE (t.name, t.store_code, t.hired_on, t.left_on)
                      IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.store_code, EXCLUDED.hired_on, EXCLUDED.left_on)
                """).affectedRows

        case .models(let rows):
            try conn.runScript("CREATE TEMP TABLE stg (line int, model_code text, model_name text, segment text) ON COMMIT DROP")
            _ = try conn.runCopyFrom("COPY stg FROM STDIN") { w in
                for r in rows { w.appendField(r.line); try w.appendField(r.code); try w.appendField(r.name); try w.appendField(r.segment); try w.endRow() }
            }
            return try conn.runQuery("""
                INSERT INTO core.model AS t (model_code, model_name, segment) SELECT model_code, model_name, segment FROM stg
                ON CONFLICT (model_code) DO UPDATE SET model_name = EXCLUDED.model_name, segment = EXCLUDED.segment, updated_at = now()
                WHERE (t.model_name, t.segment) IS DISTINCT FROM (EXCLUDED.model_name, EXCLUDED.segment)
                """).affectedRows

        case .plans(let rows):
            try conn.runScript("CREATE TEMP TABLE stg (line int, month date, store_code text, salesperson_code text, kpi text, value numeric) ON COMMIT DROP")
            _ = try conn.runCopyFrom("COPY stg FROM STDIN") { w in
                for r in rows {
                    w.appendField(r.line); try w.appendField(r.month.firstDay.description); try w.appendField(r.storeCode)
                    try w.appendField(r.salespersonCode); try w.appendField(r.kpi.rawValue); try w.appendField(encoding: r.value)
                    try w.endRow()
                }
            }
            try rejectUnknown(conn, file: file.file, field: "store_code", rule: .unknownStore, what: "store", sql: """
                SELECT line, store_code FROM stg s WHERE NOT EXISTS (SELECT 1 FROM core.store t WHERE t.store_code = s.store_code) ORDER BY line LIMIT 100
                """)
            try rejectUnknown(conn, file: file.file, field: "salesperson_code", rule: .unknownSalesperson, what: "salesperson", sql: """
                SELECT line, salesperson_code FROM stg s WHERE salesperson_code IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM core.salesperson t WHERE t.salesperson_code = s.salesperson_code) ORDER BY line LIMIT 100
                """)
            try conn.runScript("""
                INSERT INTO core.kpi_change (store_code, first_date, last_date, reason)
                SELECT DISTINCT s.store_code, s.month, (s.month + interval '1 month' - interval '1 day')::date, 'plan'
                FROM stg s LEFT JOIN core.monthly_plan t
                  ON t.month = s.month AND t.store_code = s.store_code AND t.kpi = s.kpi
                 AND t.salesperson_code IS NOT DISTINCT FROM s.salesperson_code
                WHERE t.value IS DISTINCT FROM s.value
                """)
            return try conn.runQuery("""
                INSERT INTO core.monthly_plan AS t (month, store_code, salesperson_code, kpi, value)
                SELECT month, store_code, salesperson_code, kpi, value FROM stg
                ON CONFLICT (month, store_code, salesperson_code, kpi) DO UPDATE SET value = EXCLUDED.value, updated_at = now()
                WHERE t.value IS DISTINCT FROM EXCLUDED.value
                """).affectedRows

        case .expenses(let rows):
            try conn.runScript("CREATE TEMP TABLE stg (line int, month date, store_code text, amount numeric) ON COMMIT DROP")
            _ = try conn.runCopyFrom("COPY stg FROM STDIN") { w in
                for r in rows {
                    w.appendField(r.line); try w.appendField(r.month.firstDay.description); try w.appendField(r.storeCode)
                    try w.appendField(encoding: r.amount); try w.endRow()
                }
            }
            try rejectUnknown(conn, file: file.file, field: "store_code", rule: .unknownStore, what: "store", sql: """
                SELECT line, store_code FROM stg s WHERE NOT EXISTS (SELECT 1 FROM core.store t WHERE t.store_code = s.store_code) ORDER BY line LIMIT 100
                """)
            try conn.runScript("""
                INSERT INTO core.kpi_change (store_code, first_date, last_date, reason)
                SELECT s.store_code, s.month, (s.month + interval '1 month' - interval '1 day')::date, 'expense'
                FROM stg s LEFT JOIN core.monthly_expense t ON t.month = s.month AND t.store_code = s.store_code
                WHERE t.amount IS DISTINCT FROM s.amount
                """)
            return try conn.runQuery("""
                INSERT INTO core.monthly_expense AS t (month, store_code, amount)
                SELECT month, store_code, amount FROM stg
                ON CONFLICT (month, store_code) DO UPDATE SET amount = EXCLUDED.amount, updated_at = now()
                WHERE t.amount IS DISTINCT FROM EXCLUDED.amount
                """).affectedRows

        case .calendar(let rows):
            try conn.runScript("CREATE TEMP TABLE stg (line int, day date, kind text, name_zh text) ON COMMIT DROP")
            _ = try conn.runCopyFrom("COPY stg FROM STDIN") { w in
                for r in rows {
                    w.appendField(r.line); try w.appendField(r.date.description); try w.appendField(r.kind.rawValue)
                    try w.appendField(r.nameZh); try w.endRow()
                }
            }
            // The warehouse calendar (core.calendar) spans the dates bi.calendar shows; an exception outside it
            // would be stored and never seen.
            let outside = try conn.runQuery("""
                SELECT line, day::text FROM stg s WHERE NOT EXISTS (SELECT 1 FROM core.calendar c WHERE c.day = s.day) ORDER BY line LIMIT 100
                """)
            if !outside.isEmpty {
                let span = try conn.runQuery("SELECT min(day)::text, max(day)::text FROM core.calendar")[0].decode((String, String).self)
                let issues = try outside.map { row in
                    let (line, day) = try row.decode((Int, String).self)
                    return ValidationIssue(file: file.file, location: .line(line), field: "date", value: day, rule: .range,
                                           message: "date must be within the warehouse calendar, \(span.0) to \(span.1)")
                }
                throw FileRejected(file: file.file, issues: issues, isTruncated: outside.count >= 100)
            }
            return try conn.runQuery("""
                INSERT INTO core.calendar_exception AS t (day, kind, name_zh) SELECT day, kind, name_zh FROM stg
                ON CONFLICT (day) DO UPDATE SET kind = EXCLUDED.kind, name_zh = EXCLUDED.name_zh, updated_at = now()
                WHERE (t.kind, t.name_zh) IS DISTINCT FROM (EXCLUDED.kind, EXCLUDED.name_zh)
                """).affectedRows
        }
    }

    /// Rejects the file when `sql` (returning line, code) finds references master data does not hold.
    private static func rejectUnknown(_ conn: isolated PostgresConnection, file: String, field: String, rule: Rule, what: String, sql: String) throws {
        let rows = try conn.runQuery(PostgresQuery(unsafeSQL: sql))
        guard !rows.isEmpty else { return }
        let issues = try rows.map { row in
            let (line, code) = try row.decode((Int, String).self)
            return ValidationIssue(file: file, location: .line(line), field: field, value: code, rule: rule,
                                   message: "unknown \(what) '\(code)': load it first (or in the same call)")
        }
        throw FileRejected(file: file, issues: issues, isTruncated: rows.count >= 100)
    }
}
