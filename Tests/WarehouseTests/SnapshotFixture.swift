import Foundation
import Glibc
import Postgres
import Testing
import TestSupport
import Warehouse

// Fixtures of the KPI snapshot tests (Snapshot*Tests.swift): a migrated warehouse per test, master data and
// daily reports written by the tests themselves, the refresher, and readers of bi.kpi_values / bi.scorecard.
// Every name here starts with `Snap` or `snap` so it cannot collide with the ingest tests' fixtures.

/// Decimal from its text (never through a binary floating-point literal).
func snapDec(_ text: String) -> Decimal {
    guard let d = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) else { fatalError("bad decimal in test: \(text)") }
    return d
}

/// A migrated warehouse in its own database, with a pool, the loader, the ingestor and the refresher.
struct SnapshotWarehouse: Sendable {
    static let piiKey = Array("snapshot-test-key-0123456789".utf8)

    let databaseName: String
    let configuration: PostgresConfiguration
    let pool: PostgresConnectionPool
    /// A direct connection for assertions and test-only DDL (not from the pool).
    let db: PostgresConnection
    let directory: URL
    let ingestor: ReportIngestor
    let loader: MasterDataLoader
    let refresher: SnapshotRefresher

    static func with(poolSize: Int = 3, _ body: (SnapshotWarehouse) async throws -> Void) async throws {
        let wh = try await open(poolSize: poolSize)
        do {
            try await body(wh)
        } catch {
            await wh.close()
            throw error
        }
        await wh.close()
    }

    static func open(poolSize: Int = 3) async throws -> SnapshotWarehouse {
        let fresh = try await TestPostgres.freshDatabase(prefix: "snap")
        let db = try await PostgresConnection.connect(fresh.configuration, logger: TestPostgres.logger)
        try await WarehouseSchema.migrator(logger: TestPostgres.logger).migrate(on: db)
        let pool = PostgresConnectionPool(configuration: fresh.configuration, options: .init(maximumConnections: poolSize),
                                          logger: TestPostgres.logger)
        let dir = FileManager.default.temporaryDirectory.appending(path: "dkpi-snap-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return SnapshotWarehouse(
            databaseName: fresh.name, configuration: fresh.configuration, pool: pool, db: db, directory: dir,
            ingestor: ReportIngestor(pool: pool, settings: IngestSettings(piiKey: piiKey), logger: TestPostgres.logger),
            loader: MasterDataLoader(pool: pool, logger: TestPostgres.logger),
            refresher: SnapshotRefresher(pool: pool, instance: "snapshot-tests", logger: TestPostgres.logger))
    }

    func close() async {
        await pool.shutdown()
        await db.close()
        try? FileManager.default.removeItem(at: directory)
    }

    // MARK: input

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let url = directory.appending(path: name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    /// Loads master-data files given as (file name, CSV text); every file must be accepted.
    func load(_ files: [(String, String)], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let paths = try files.map { try write("master-\(UUID().uuidString.prefix(8))/\($0.0)", $0.1) }
        for r in try await loader.load(paths: paths) {
            #expect(r.isAccepted, "master file \(r.file) rejected: \(String(describing: r.rejection))", sourceLocation: sourceLocation)
        }
    }

    /// Ingests a report received at `receivedAt` (RFC 3339); it must be accepted.
    @discardableResult
    func ingest(_ report: SnapReport, receivedAt: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> IngestResult {
        let path = try write("reports/\(report.store)_\(report.date)_\(UUID().uuidString.prefix(8)).json", report.json())
        let r = try await ingestor.ingest(path: path, receivedAt: at(receivedAt))
        #expect(r.isAccepted, "report \(report.store) \(report.date) rejected: \(String(describing: r.rejection))", sourceLocation: sourceLocation)
        return r
    }

    @discardableResult
    func refresh(_ mode: SnapshotRefresher.Mode = .incremental) async throws -> RefreshSummary {
        try await refresher.refresh(mode: mode)
    }

    // MARK: queries

    func query(_ q: PostgresQuery) async throws -> PostgresRows { try await db.query(q) }

    func int(_ q: PostgresQuery) async throws -> Int { try await db.query(q)[0].decode(Int.self, column: 0) }

    func string(_ q: PostgresQuery) async throws -> String? { try await db.query(q)[0].decode(String?.self, column: 0) }

    func strings(_ q: PostgresQuery) async throws -> [String] {
        try await db.query(q).map { try $0.decode(String?.self, column: 0) ?? "NULL" }
    }

    /// The values of bi.kpi_values (those matching `condition`, SQL over its columns).
    func kpis(where condition: String = "true") async throws -> SnapKPITable {
        let rows = try await db.query(PostgresQuery(unsafeSQL: """
            SELECT level, grain, period_start::text, period_end::text,
                   CASE level WHEN 'salesperson' THEN store_code || '/' || salesperson_code WHEN 'store' THEN store_code
                              WHEN 'region' THEN region_code ELSE '' END,
                   kpi_code, value::text, numerator::text, denominator::text, target::text, score::text,
                   rank::text, peer_count::text, prev_value::text, yoy_value::text, region_code, store_code, salesperson_code
            FROM bi.kpi_values WHERE \(condition)
            """))
        var table = SnapKPITable()
        for row in rows {
            func s(_ i: Int) throws -> String? { try row.decode(String?.self, column: i) }
            func d(_ i: Int) throws -> Decimal? { try s(i).map(snapDec) }
            let key = SnapKPITable.key(try s(0)!, try s(1)!, try s(2)!, try s(4)!, try s(5)!)
            table.values[key] = SnapKPI(
                periodEnd: try s(3)!, value: try d(6), numerator: try d(7), denominator: try d(8), target: try d(9),
                score: try d(10), rank: try s(11).flatMap { Int($0) }, peerCount: try s(12).flatMap { Int($0) },
                prevValue: try d(13), yoyValue: try d(14), regionCode: try s(15), storeCode: try s(16), salespersonCode: try s(17))
        }
        return table
    }

    /// The snapshot rows as `level grain period_start entity`, sorted.
    func snapshotKeys(_ condition: String = "true") async throws -> [String] {
        try await strings(PostgresQuery(unsafeSQL: """
            SELECT level || ' ' || grain || ' ' || period_start || ' ' || entity FROM kpi.snapshot WHERE \(condition)
            """)).sorted()
    }

    /// A fingerprint of a table or query (row count and md5 of the sorted rows as text).
    func fingerprint(_ relation: String) async throws -> String {
        try await string(PostgresQuery(unsafeSQL: """
            SELECT count(*)::text || ':' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') FROM \(relation) x
            """)) ?? ""
    }
}

// MARK: - reports

struct SnapVisit: Sendable {
    var id: String
    var channel = "walk_in"
    var purpose = "purchase"
    var salesperson: String
    var model: String? = "M1"
    var existingCard: String? = nil
    var existingOrder = false
    var newCard: String? = nil
    var testDrive = false
}

struct SnapCard: Sendable {
    var card: String
    var createdOn: String
    var salesperson: String
    var name = "张伟"
    var phone = "13912345678"
    var model: String? = "M1"
    var status = "open"
    var closedOn: String? = nil
}

struct SnapOrder: Sendable {
    var order: String
    var salesperson: String
    var model = "M1"
    var orderDate: String
    var status = "ordered"
    var deliveryDate: String? = nil
    var cancelDate: String? = nil
    var vin: String? = nil
    /// Money as JSON number text.
    var listPrice: String? = nil
    var dealPrice: String
    var collected = "0"
}

/// One store x one business date in JSON form; a nil section is not carried.
struct SnapReport: Sendable {
    var store: String
    var date: String
    var visits: [SnapVisit]? = nil
    var prospects: [SnapCard]? = nil
    var sales: [SnapOrder]? = nil

    static func s(_ v: String?) -> String {
        guard let v else { return "null" }
        return "\"" + v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    func json() -> String {
        let s = SnapReport.s
        var parts = ["\"format\": \"dealer-daily-report/1\"", "\"store\": \(s(store))", "\"business_date\": \(s(date))"]
        if let visits {
            parts.append("\"visits\": [" + visits.map { v in
                "{\"id\": \(s(v.id)), \"channel\": \(s(v.channel)), \"purpose\": \(s(v.purpose)), \"salesperson\": \(s(v.salesperson)), "
                    + "\"model\": \(s(v.model)), \"party_size\": 2, \"existing_card\": \(s(v.existingCard)), "
                    + "\"existing_order\": \(v.existingOrder), \"new_card\": \(s(v.newCard)), \"test_drive\": \(v.testDrive)}"
            }.joined(separator: ",\n  ") + "]")
        }
        if let prospects {
            parts.append("\"prospects\": [" + prospects.map { p in
                "{\"card\": \(s(p.card)), \"created_on\": \(s(p.createdOn)), \"salesperson\": \(s(p.salesperson)), "
                    + "\"customer_name\": \(s(p.name)), \"phone\": \(s(p.phone)), \"model\": \(s(p.model)), \"level\": \"H\", "
                    + "\"source\": \"walk_in\", \"status\": \(s(p.status)), \"closed_on\": \(s(p.closedOn)), "
                    + "\"lost_reason\": \(p.status == "lost" ? s("价格") : "null")}"
            }.joined(separator: ",\n  ") + "]")
        }
        if let sales {
            parts.append("\"sales\": [" + sales.map { o in
                "{\"order\": \(s(o.order)), \"card\": null, \"salesperson\": \(s(o.salesperson)), \"model\": \(s(o.model)), "
                    + "\"order_date\": \(s(o.orderDate)), \"status\": \(s(o.status)), \"delivery_date\": \(s(o.deliveryDate)), "
                    + "\"cancel_date\": \(s(o.cancelDate)), \"vin\": \(s(o.vin)), \"list_price\": \(o.listPrice ?? "null"), "
                    + "\"deal_price\": \(o.dealPrice), \"collected\": \(o.collected)}"
            }.joined(separator: ",\n  ") + "]")
        }
        return "{\n" + parts.joined(separator: ",\n") + "\n}\n"
    }
}

// MARK: - expected values

/// One KPI value of bi.kpi_values.
struct SnapKPI: Sendable {
    var periodEnd: String
    var value: Decimal?
    var numerator: Decimal?
    var denominator: Decimal?
    var target: Decimal?
    var score: Decimal?
    var rank: Int?
    var peerCount: Int?
    var prevValue: Decimal?
    var yoyValue: Decimal?
    var regionCode: String?
    var storeCode: String?
    var salespersonCode: String?
}

/// bi.kpi_values keyed by level, grain, period start, entity (`STORE/SP`, `STORE`, `REGION`, `` national) and KPI.
struct SnapKPITable: Sendable {
    var values: [String: SnapKPI] = [:]

    static func key(_ level: String, _ grain: String, _ period: String, _ entity: String, _ kpi: String) -> String {
        "\(level) \(grain) \(period) \(entity) \(kpi)"
    }

    subscript(_ level: String, _ grain: String, _ period: String, _ entity: String, _ kpi: String) -> SnapKPI? {
        values[SnapKPITable.key(level, grain, period, entity, kpi)]
    }

    /// The KPIs of one snapshot row.
    func row(_ level: String, _ grain: String, _ period: String, _ entity: String) -> [String: SnapKPI] {
        let prefix = "\(level) \(grain) \(period) \(entity) "
        var out: [String: SnapKPI] = [:]
        for (k, v) in values where k.hasPrefix(prefix) {
            let code = String(k.dropFirst(prefix.count))
            if !code.contains(" ") { out[code] = v }
        }
        return out
    }

    /// The value of one KPI (nil when the row or KPI does not exist, or the value is NULL).
    func value(_ level: String, _ grain: String, _ period: String, _ entity: String, _ kpi: String) -> Decimal? {
        self[level, grain, period, entity, kpi]?.value
    }
}

/// What a test expects of one KPI: a measure's value (numerator = value, denominator NULL) or a ratio's
/// numerator and denominator (value = numerator / denominator, NULL when the denominator is 0).
enum SnapExpect: Sendable, CustomStringConvertible {
    case m(Decimal)
    case r(Decimal, Decimal)

    var description: String {
        switch self {
        case .m(let v): "measure \(v)"
        case .r(let n, let d): "ratio \(n)/\(d)"
        }
    }
}

func snapClose(_ a: Decimal?, _ b: Decimal?) -> Bool {
    switch (a, b) {
    case (nil, nil): true
    case let (x?, y?): abs(NSDecimalNumber(decimal: x - y).doubleValue) < 1e-12
    default: false
    }
}

/// Checks that the snapshot row holds exactly the KPIs of `expected` with those values.
func snapExpectRow(_ table: SnapKPITable, _ level: String, _ grain: String, _ period: String, _ entity: String,
                   _ expected: [String: SnapExpect], sourceLocation: SourceLocation = #_sourceLocation) {
    let got = table.row(level, grain, period, entity)
    let what = "\(level) \(grain) \(period) '\(entity)'"
    #expect(!got.isEmpty, "no snapshot row \(what)", sourceLocation: sourceLocation)
    if got.isEmpty { return }
    let missing = Set(expected.keys).subtracting(got.keys).sorted()
    let extra = Set(got.keys).subtracting(expected.keys).sorted()
    #expect(missing.isEmpty && extra.isEmpty, "\(what): KPIs missing \(missing), unexpected \(extra)", sourceLocation: sourceLocation)
    for (code, e) in expected.sorted(by: { $0.key < $1.key }) {
        guard let v = got[code] else { continue }
        switch e {
        case .m(let x):
            #expect(snapClose(v.value, x) && snapClose(v.numerator, x) && v.denominator == nil,
                    "\(what) \(code): expected \(x), got value \(String(describing: v.value)) numerator \(String(describing: v.numerator)) denominator \(String(describing: v.denominator))",
                    sourceLocation: sourceLocation)
        case .r(let n, let d):
            let value: Decimal? = d == 0 ? nil : n / d
            #expect(snapClose(v.numerator, n) && snapClose(v.denominator, d) && snapClose(v.value, value),
                    "\(what) \(code): expected \(n)/\(d) = \(String(describing: value)), got \(String(describing: v.numerator))/\(String(describing: v.denominator)) = \(String(describing: v.value))",
                    sourceLocation: sourceLocation)
        }
    }
}

/// The fact measures every row carries (all 16, TRAFFIC given by hand too).
func snapFacts(walkin: Int = 0, phone: Int = 0, traffic: Int = 0, revisits: Int = 0, testDrives: Int = 0, newCards: Int = 0,
               invalid: Int = 0, held: Int = 0, lost: Int = 0, orders: Int = 0, cancellations: Int = 0, deliveries: Int = 0,
               revenue: Int = 0, listRevenue: Int = 0, discount: Int = 0, collected: Int = 0) -> [String: SnapExpect] {
    [
        "WALKIN_GROUPS": .m(Decimal(walkin)), "PHONE_GROUPS": .m(Decimal(phone)), "TRAFFIC": .m(Decimal(traffic)),
        "REVISITS": .m(Decimal(revisits)), "TEST_DRIVES": .m(Decimal(testDrives)), "NEW_A_CARDS": .m(Decimal(newCards)),
        "INVALID_A_CARDS": .m(Decimal(invalid)), "HELD_A_CARDS": .m(Decimal(held)), "LOST_PROSPECTS": .m(Decimal(lost)),
        "ORDERS": .m(Decimal(orders)), "CANCELLATIONS": .m(Decimal(cancellations)), "DELIVERIES": .m(Decimal(deliveries)),
        "REVENUE": .m(Decimal(revenue)), "LIST_REVENUE": .m(Decimal(listRevenue)), "DISCOUNT": .m(Decimal(discount)),
        "COLLECTED": .m(Decimal(collected)),
    ]
}

/// The ratios every row carries; each argument is (numerator, denominator) worked out by hand.
func snapRatios(capture: (Int, Int), testDrive: (Int, Int), close: (Int, Int), loss: (Int, Int), cancel: (Int, Int),
                invalidCard: (Int, Int), avgDealPrice: (Int, Int), discountRate: (Int, Int), collection: (Int, Int)) -> [String: SnapExpect] {
    func r(_ p: (Int, Int)) -> SnapExpect { .r(Decimal(p.0), Decimal(p.1)) }
    return [
        "CAPTURE_RATE": r(capture), "TEST_DRIVE_RATE": r(testDrive), "CLOSE_RATE": r(close), "LOSS_RATE": r(loss),
        "CANCEL_RATE": r(cancel), "INVALID_CARD_RATE": r(invalidCard), "AVG_DEAL_PRICE": r(avgDealPrice),
        "DISCOUNT_RATE": r(discountRate), "COLLECTION_RATE": r(collection),
    ]
}

/// Store-and-up measures and ratios: report counts, active salespeople, timeliness, accuracy, units per salesperson.
func snapStoreKPIs(expected: Int, onTime: Int, received: Int, corrected: Int, active: Int,
                   timeliness: (Int, Int), accuracy: (Int, Int), unitsPerSalesperson: (Int, Int)) -> [String: SnapExpect] {
    [
        "REPORTS_EXPECTED": .m(Decimal(expected)), "REPORTS_ON_TIME": .m(Decimal(onTime)), "REPORTS_RECEIVED": .m(Decimal(received)),
        "REPORTS_CORRECTED": .m(Decimal(corrected)), "ACTIVE_SALESPEOPLE": .m(Decimal(active)),
        "REPORT_TIMELINESS": .r(Decimal(timeliness.0), Decimal(timeliness.1)),
        "REPORT_ACCURACY": .r(Decimal(accuracy.0), Decimal(accuracy.1)),
        "UNITS_PER_SALESPERSON": .r(Decimal(unitsPerSalesperson.0), Decimal(unitsPerSalesperson.1)),
    ]
}

func snapMerge(_ parts: [String: SnapExpect]...) -> [String: SnapExpect] {
    var out: [String: SnapExpect] = [:]
    for p in parts {
        for (k, v) in p {
            precondition(out[k] == nil, "KPI \(k) given twice in a test expectation")
            out[k] = v
        }
    }
    return out
}
