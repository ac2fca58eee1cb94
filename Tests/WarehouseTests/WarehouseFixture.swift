import DailyReport
import Foundation
import Glibc
import Postgres
import Testing
import TestSupport
import Warehouse

// Shared by the warehouse integration tests: a fresh database with the schema per test, fixture files
// written by the test itself into a temporary directory (no dependency on /work/shared), and small
// builders for reports in JSON and CSV form.

/// A moment written RFC 3339 (`2026-03-02T21:30:00+08:00`).
func at(_ text: String) -> Date {
    guard let d = PostgresTimestamp.parse(text) else { fatalError("bad timestamp in test: \(text)") }
    return d
}

/// A migrated warehouse in its own database, a pool, the loader and ingestor, and a scratch directory.
struct TestWarehouse: Sendable {
    static let piiKey = Array("test-key-0123456789abcdef".utf8)

    let pool: PostgresConnectionPool
    /// A direct connection for assertions (not from the pool).
    let db: PostgresConnection
    let directory: URL
    let ingestor: ReportIngestor
    let loader: MasterDataLoader

    /// Runs `body` against a fresh warehouse, with the standard master data loaded unless `masterData` is false.
    static func with(masterData: Bool = true, poolSize: Int = 4, _ body: (TestWarehouse) async throws -> Void) async throws {
        try await ConcurrencyLimit.testDatabases.withSlot {
            try await withFreshWarehouse(masterData: masterData, poolSize: poolSize, body)
        }
    }

    private static func withFreshWarehouse(masterData: Bool, poolSize: Int, _ body: (TestWarehouse) async throws -> Void) async throws {
        let fresh = try await TestPostgres.freshDatabase(prefix: "wh")
        let db = try await PostgresConnection.connect(fresh.configuration, logger: TestPostgres.logger)
        try await WarehouseSchema.migrator(logger: TestPostgres.logger).migrate(on: db)
        let pool = PostgresConnectionPool(configuration: fresh.configuration,
                                          options: .init(maximumConnections: poolSize), logger: TestPostgres.logger)
        let dir = FileManager.default.temporaryDirectory.appending(path: "dkpi-wh-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let wh = TestWarehouse(pool: pool, db: db, directory: dir,
                           ingestor: ReportIngestor(pool: pool, settings: IngestSettings(piiKey: piiKey), logger: TestPostgres.logger),
                           loader: MasterDataLoader(pool: pool, logger: TestPostgres.logger))
        do {
            if masterData {
                let results = try await wh.loader.load(paths: try MasterFixture.writeAll(into: wh))
                for r in results where !r.isAccepted { Issue.record("master data rejected: \(String(describing: r.rejection))") }
            }
            try await body(wh)
        } catch {
            await wh.close()
            throw error
        }
        await wh.close()
    }

    func close() async {
        await pool.shutdown()
        await db.close()
        try? FileManager.default.removeItem(at: directory)
    }

    // MARK: files

    /// Writes `text` (UTF-8) to `name` in the scratch directory and returns the path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        try write(name, bytes: Array(text.utf8))
    }

    @discardableResult
    func write(_ name: String, bytes: [UInt8]) throws -> String {
        let url = directory.appending(path: name)
        try Data(bytes).write(to: url)
        return url.path
    }

    // MARK: ingest

    /// Writes and ingests a file received at `receivedAt` (RFC 3339).
    func ingest(_ name: String, _ text: String, receivedAt: String) async throws -> IngestResult {
        try await ingest(name, bytes: Array(text.utf8), receivedAt: receivedAt)
    }

    func ingest(_ name: String, bytes: [UInt8], receivedAt: String) async throws -> IngestResult {
        let path = try write(name, bytes: bytes)
        return try await ingestor.ingest(path: path, receivedAt: at(receivedAt))
    }

    /// Ingests a JSON report.
    func ingest(_ report: Report, name: String? = nil, receivedAt: String) async throws -> IngestResult {
        try await ingest(name ?? "\(report.store)_\(report.date).json", report.json(), receivedAt: receivedAt)
    }

    /// Ingests and expects acceptance; records the rejection otherwise.
    @discardableResult
    func accept(_ report: Report, name: String? = nil, receivedAt: String,
                sourceLocation: SourceLocation = #_sourceLocation) async throws -> IngestResult {
        let r = try await ingest(report, name: name, receivedAt: receivedAt)
        #expect(r.isAccepted, "expected \(r.file) to be accepted: \(String(describing: r.rejection))", sourceLocation: sourceLocation)
        return r
    }

    /// Runs `body` with a connection of a fresh LOGIN role that is only a member of `kpi_reader` (as a BI tool
    /// connects), checked to be no superuser; the role is dropped afterwards, also when `body` throws.
    func withReaderLogin(_ body: (PostgresConnection) async throws -> Void) async throws {
        let database = try #require(try await string("SELECT current_database()"))
        let role = "bi_login_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        let password = "reader-pw-\(UInt64.random(in: 0...UInt64.max))"
        try await db.executeScript("CREATE ROLE \(role) LOGIN PASSWORD '\(password)' IN ROLE kpi_reader")
        let server = try await TestPostgres.server()
        let reader = try await PostgresConnection.connect(server.configuration(database: database).with("user", role).with("password", password),
                                                          logger: TestPostgres.logger)
        do {
            #expect(try await reader.query("SELECT current_user::text")[0].decode(String.self, column: 0) == role)
            #expect(try await reader.query("SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles WHERE rolname = current_user")[0]
                .decode(Bool.self, column: 0) == false)
            try await body(reader)
        } catch {
            await reader.close()
            try? await db.executeScript("DROP ROLE IF EXISTS \(role)")
            throw error
        }
        await reader.close()
        try await db.executeScript("DROP ROLE IF EXISTS \(role)")
    }

    // MARK: queries

    func query(_ q: PostgresQuery) async throws -> PostgresRows { try await db.query(q) }

    func int(_ q: PostgresQuery) async throws -> Int { try await db.query(q)[0].decode(Int.self, column: 0) }

    func string(_ q: PostgresQuery) async throws -> String? { try await db.query(q)[0].decode(String?.self, column: 0) }

    func strings(_ q: PostgresQuery) async throws -> [String] {
        try await db.query(q).map { try $0.decode(String?.self, column: 0) ?? "NULL" }
    }

    func count(_ table: String, _ condition: String = "true") async throws -> Int {
        try await int(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table) WHERE \(condition)"))
    }

    /// Row counts of every table in schema `core`.
    func coreCounts() async throws -> [String: Int] {
        let tables = try await strings("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'core' AND table_type = 'BASE TABLE' ORDER BY 1")
        #expect(tables.contains("ingested_file") && tables.contains("report_submission") && tables.contains("kpi_change"))
        var counts: [String: Int] = [:]
        for t in tables { counts[t] = try await count("core.\(PostgresQuery.quoteIdentifier(t))") }
        return counts
    }

    /// A fingerprint of every fact and bookkeeping row (all columns of every core table except the calendar),
    /// to prove a rejected file changed nothing at all.
    func coreFingerprint() async throws -> [String: String] {
        let tables = try await strings("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'core' AND table_type = 'BASE TABLE' AND table_name <> 'calendar' ORDER BY 1")
        var out: [String: String] = [:]
        for t in tables {
            let q = "SELECT count(*)::text || ':' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') FROM core.\(PostgresQuery.quoteIdentifier(t)) x"
            out[t] = try await string(PostgresQuery(unsafeSQL: q))
        }
        return out
    }

    /// Every text-like value (text, domains over text, text arrays) in every table of schema `core`.
    func coreTextColumns() async throws -> [(table: String, column: String)] {
        try await query("""
            SELECT c.table_name::text, c.column_name::text
            FROM information_schema.columns c
            JOIN information_schema.tables t USING (table_schema, table_name)
            WHERE c.table_schema = 'core' AND t.table_type = 'BASE TABLE'
              AND (c.data_type IN ('text', 'character varying', 'character', 'ARRAY', 'json', 'jsonb'))
            ORDER BY 1, 2
            """).map { try $0.decode((String, String).self) }
    }

    /// How many stored text values in `core` contain `needle`.
    func coreOccurrences(of needle: String) async throws -> Int {
        var n = 0
        for (table, column) in try await coreTextColumns() {
            let q = "SELECT count(*) FROM core.\(PostgresQuery.quoteIdentifier(table)) WHERE strpos(\(PostgresQuery.quoteIdentifier(column))::text, $1) > 0"
            n += try await db.query(PostgresQuery(unsafeSQL: q, bindings: [.text(needle)]))[0].decode(Int.self, column: 0)
        }
        return n
    }

    /// Waits until `n` backends of this database wait for a lock (for deterministic interleavings).
    func waitForLockWaiters(_ n: Int, timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let waiting = try await int("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
            if waiting >= n { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("timed out waiting for \(n) lock waiter(s)")
    }
}

// MARK: - master data

/// The tiny master data set: one region, three stores (S3 opens 2026-03-10), four salespeople, three models,
/// March 2026 plans and expenses.
enum MasterFixture {
    static let regions = """
        region_code,region_name
        EAST,华东大区

        """
    static let stores = """
        store_code,store_name,region_code,city,opened_on,closed_on
        S1,上海一号店,EAST,上海,2020-01-01,
        S2,杭州二号店,EAST,杭州,2020-01-01,
        S3,南京三号店,EAST,,2026-03-10,

        """
    static let salespeople = """
        salesperson_code,name,store_code,hired_on,left_on
        S1-01,王强,S1,2020-01-01,
        S1-02,李娜,S1,2020-01-01,
        S2-01,赵敏,S2,2020-01-01,
        S3-01,钱坤,S3,2026-03-10,

        """
    static let models = """
        model_code,model_name,segment
        M1,华驰 S50,紧凑型轿车
        M2,华驰 T55,紧凑型SUV
        M3,华驰 E30,

        """
    static let plans = """
        month,store_code,salesperson_code,kpi,value
        2026-03,S1,,PLAN_DELIVERIES,10
        2026-03,S1,S1-01,PLAN_DELIVERIES,6
        2026-03,S1,S1-02,PLAN_DELIVERIES,4
        2026-03,S2,,PLAN_REVENUE,1500000.00

        """
    static let expenses = """
        month,store_code,amount
        2026-03,S1,50000.00
        2026-03,S2,42000.50

        """

    /// Writes every file; returns the paths in a deliberately wrong order (plans first, regions last).
    static func writeAll(into wh: TestWarehouse) throws -> [String] {
        [
            try wh.write("plans.csv", plans),
            try wh.write("expenses.csv", expenses),
            try wh.write("salespeople.csv", salespeople),
            try wh.write("models.csv", models),
            try wh.write("stores.csv", stores),
            try wh.write("regions.csv", regions),
        ]
    }
}

// MARK: - reports

struct VisitRow: Sendable {
    var id: String
    var channel = "walk_in"
    var purpose = "purchase"
    var salesperson = "S1-01"
    var model: String? = "M1"
    var partySize: Int? = 1
    var existingCard: String? = nil
    var existingOrder: Bool? = false
    var newCard: String? = nil
    var testDrive: Bool? = false
}

struct CardRow: Sendable {
    var card: String
    var createdOn: String
    var salesperson = "S1-01"
    var customerName: String? = "张伟"
    var phone: String? = "139 1234 5678"
    var model: String? = "M1"
    var level = "H"
    var source = "walk_in"
    var status = "open"
    var closedOn: String? = nil
    var lostReason: String? = nil
}

struct OrderRow: Sendable {
    var order: String
    var card: String? = nil
    var salesperson = "S1-01"
    var model = "M1"
    var orderDate: String
    var status = "ordered"
    var deliveryDate: String? = nil
    var cancelDate: String? = nil
    var vin: String? = nil
    var listPrice: String? = "159800.00"
    var dealPrice = "152000.00"
    var collected = "5000"
}

/// One store x one business date; a nil section is not carried.
struct Report: Sendable {
    var store: String
    var date: String
    var visits: [VisitRow]? = nil
    var prospects: [CardRow]? = nil
    var sales: [OrderRow]? = nil

    func json() -> String {
        var parts = ["\"format\": \"dealer-daily-report/1\"", "\"store\": \(J.s(store))", "\"business_date\": \(J.s(date))"]
        if let visits {
            parts.append("\"visits\": [" + visits.map { v in
                var m = ["\"id\": \(J.s(v.id))", "\"channel\": \(J.s(v.channel))", "\"purpose\": \(J.s(v.purpose))",
                         "\"salesperson\": \(J.s(v.salesperson))", "\"model\": \(J.s(v.model))"]
                if let p = v.partySize { m.append("\"party_size\": \(p)") }
                m += ["\"existing_card\": \(J.s(v.existingCard))", "\"existing_order\": \(J.b(v.existingOrder))",
                      "\"new_card\": \(J.s(v.newCard))", "\"test_drive\": \(J.b(v.testDrive))"]
                return "{" + m.joined(separator: ", ") + "}"
            }.joined(separator: ",\n  ") + "]")
        }
        if let prospects {
            parts.append("\"prospects\": [" + prospects.map { p in
                "{" + ["\"card\": \(J.s(p.card))", "\"created_on\": \(J.s(p.createdOn))", "\"salesperson\": \(J.s(p.salesperson))",
                       "\"customer_name\": \(J.s(p.customerName))", "\"phone\": \(J.s(p.phone))", "\"model\": \(J.s(p.model))",
                       "\"level\": \(J.s(p.level))", "\"source\": \(J.s(p.source))", "\"status\": \(J.s(p.status))",
                       "\"closed_on\": \(J.s(p.closedOn))", "\"lost_reason\": \(J.s(p.lostReason))"].joined(separator: ", ") + "}"
            }.joined(separator: ",\n  ") + "]")
        }
        if let sales {
            parts.append("\"sales\": [" + sales.map { s in
                "{" + ["\"order\": \(J.s(s.order))", "\"card\": \(J.s(s.card))", "\"salesperson\": \(J.s(s.salesperson))",
                       "\"model\": \(J.s(s.model))", "\"order_date\": \(J.s(s.orderDate))", "\"status\": \(J.s(s.status))",
                       "\"delivery_date\": \(J.s(s.deliveryDate))", "\"cancel_date\": \(J.s(s.cancelDate))", "\"vin\": \(J.s(s.vin))",
                       "\"list_price\": \(s.listPrice ?? "null")", "\"deal_price\": \(s.dealPrice)",
                       "\"collected\": \(s.collected)"].joined(separator: ", ") + "}"
            }.joined(separator: ",\n  ") + "]")
        }
        return "{\n" + parts.joined(separator: ",\n") + "\n}\n"
    }
}

/// JSON literals.
enum J {
    static func s(_ v: String?) -> String {
        guard let v else { return "null" }
        var out = "\""
        for u in v.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    static func b(_ v: Bool?) -> String { v.map { $0 ? "true" : "false" } ?? "null" }
}

/// CSV section files (one section, rows of any number of store-days).
enum CSVFile {
    static func cell(_ v: String?) -> String {
        guard let v else { return "" }
        if v.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return v
    }

    static func row(_ cells: [String?]) -> String { cells.map(cell).joined(separator: ",") + "\r\n" }

    static func bool(_ v: Bool?) -> String? { v.map { $0 ? "true" : "false" } }

    static let visitHeader = "store,business_date,visit_id,channel,purpose,salesperson,model,party_size,existing_card,existing_order,new_card,test_drive"
    static let prospectHeader = "store,business_date,card,created_on,salesperson,customer_name,phone,model,level,source,status,closed_on,lost_reason"
    static let saleHeader = "store,business_date,order,card,salesperson,model,order_date,status,delivery_date,cancel_date,vin,list_price,deal_price,collected"

    static func visitRow(_ store: String, _ date: String, _ v: VisitRow) -> String {
        row([store, date, v.id, v.channel, v.purpose, v.salesperson, v.model, v.partySize.map(String.init),
             v.existingCard, bool(v.existingOrder), v.newCard, bool(v.testDrive)])
    }

    static func visits(_ reports: [Report]) -> String {
        var out = visitHeader + "\r\n"
        for r in reports { for v in r.visits ?? [] { out += visitRow(r.store, r.date, v) } }
        return out
    }

    static func prospects(_ reports: [Report]) -> String {
        var out = prospectHeader + "\r\n"
        for r in reports {
            for p in r.prospects ?? [] {
                out += row([r.store, r.date, p.card, p.createdOn, p.salesperson, p.customerName, p.phone, p.model, p.level,
                            p.source, p.status, p.closedOn, p.lostReason])
            }
        }
        return out
    }

    static func sales(_ reports: [Report]) -> String {
        var out = saleHeader + "\r\n"
        for r in reports {
            for s in r.sales ?? [] {
                out += row([r.store, r.date, s.order, s.card, s.salesperson, s.model, s.orderDate, s.status, s.deliveryDate,
                            s.cancelDate, s.vin, s.listPrice, s.dealPrice, s.collected])
            }
        }
        return out
    }
}

/// UTF-8 → another encoding through glibc iconv (the tests may not depend on CorpusGenerator).
enum Iconv {
    static func convert(_ text: String, to encoding: String) -> [UInt8] {
        let cd = iconv_open(encoding, "UTF-8")
        precondition(cd != nil && Int(bitPattern: cd) != -1, "iconv cannot convert to \(encoding)")
        defer { iconv_close(cd) }
        var input = Array(text.utf8)
        var output = [UInt8](repeating: 0, count: input.count * 4 + 16)
        let produced = input.withUnsafeMutableBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf in
                var inPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(inBuf.baseAddress!).assumingMemoryBound(to: CChar.self)
                var inLeft = inBuf.count
                var outPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(outBuf.baseAddress!).assumingMemoryBound(to: CChar.self)
                var outLeft = outBuf.count
                let r = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
                precondition(r != -1 && inLeft == 0, "iconv failed (errno \(errno))")
                return outBuf.count - outLeft
            }
        }
        return Array(output[..<produced])
    }
}
