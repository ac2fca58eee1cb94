import CivilCalendar
import DealerKPIServices
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Postgres
import Synchronization
import Testing
import TestSupport
import Warehouse

// Shared by the HTTP and token tests: a migrated warehouse with a little master data, the HTTP API over it,
// log capture, and report builders.

/// Every log line written through a `LogCapture` logger, formatted with its metadata.
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    var all: [String] { lines.withLock { $0 } }
    var text: String { all.joined(separator: "\n") }

    func logger(level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: "dealer-kpi.test") { label in Handler(label: label, capture: self) }
        logger.logLevel = level
        return logger
    }

    fileprivate func append(_ line: String) { lines.withLock { $0.append(line) } }

    struct Handler: LogHandler {
        let label: String
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var all = metadata
            if let extra = event.metadata { all.merge(extra) { _, new in new } }
            let fields = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            capture.append("\(event.level) \(label): \(event.message) \(fields)")
        }
    }
}

/// A migrated warehouse in its own database with the HTTP API over it.
struct HTTPTestEnv: Sendable {
    static let piiKey = Array("http-test-key-0123456789abcdef".utf8)

    let pool: PostgresConnectionPool
    let db: PostgresConnection
    let directory: URL
    let configuration: DaemonConfiguration
    let ingestor: ReportIngestor
    let jobs: JobRunner
    let api: HTTPAPI
    let tokens: TokenStore
    let logs: LogCapture

    /// Two days ago: a business date any receipt time of the test run may report.
    static var reportDate: CalendarDate { CalendarDate(daysSinceEpoch: Int(Date().timeIntervalSince1970 / 86_400) - 2) }

    static func with(migrate: Bool = true, masterData: Bool = true,
                     configure: (inout DaemonConfiguration) -> Void = { _ in },
                     _ body: (HTTPTestEnv) async throws -> Void) async throws {
        let fresh = try await TestPostgres.freshDatabase(prefix: "http")
        let db = try await PostgresConnection.connect(fresh.configuration, logger: TestPostgres.logger)
        if migrate { try await WarehouseSchema.migrator(logger: TestPostgres.logger).migrate(on: db) }
        let pool = PostgresConnectionPool(configuration: fresh.configuration, options: .init(maximumConnections: 4, acquireTimeout: .seconds(5)),
                                          logger: TestPostgres.logger)
        let dir = FileManager.default.temporaryDirectory.appending(path: "dkpi-http-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var configuration = DaemonConfiguration(database: fresh.configuration)
        configuration.instance = "http-test"
        configuration.requestTimeout = .seconds(60)
        configure(&configuration)
        let logs = LogCapture()
        let logger = logs.logger()
        let ingestor = ReportIngestor(pool: pool, settings: IngestSettings(piiKey: piiKey), logger: logger)
        let jobs = JobRunner(pool: pool, instance: "http-test", logger: logger)
        let env = HTTPTestEnv(pool: pool, db: db, directory: dir, configuration: configuration, ingestor: ingestor, jobs: jobs,
                              api: HTTPAPI(configuration: configuration, pool: pool, ingestor: ingestor, jobs: jobs, logger: logger),
                              tokens: TokenStore(pool: pool, logger: logger), logs: logs)
        do {
            if masterData && migrate { try await env.loadMasterData() }
            try await body(env)
        } catch {
            await env.close()
            throw error
        }
        await env.close()
    }

    func close() async {
        await pool.shutdown()
        await db.close()
        try? FileManager.default.removeItem(at: directory)
    }

    func loadMasterData() async throws {
        let files: [(String, String)] = [
            ("regions.csv", "region_code,region_name\nEAST,华东大区\n"),
            ("stores.csv", "store_code,store_name,region_code,city,opened_on,closed_on\nS1,上海一号店,EAST,上海,2020-01-01,\nS2,杭州二号店,EAST,杭州,2020-01-01,\n"),
            ("salespeople.csv", "salesperson_code,name,store_code,hired_on,left_on\nS1-01,王强,S1,2020-01-01,\nS2-01,赵敏,S2,2020-01-01,\n"),
            ("models.csv", "model_code,model_name,segment\nM1,华驰 S50,紧凑型轿车\n"),
        ]
        var paths: [String] = []
        for (name, text) in files {
            let url = directory.appending(path: name)
            try Data(text.utf8).write(to: url)
            paths.append(url.path)
        }
        let results = try await MasterDataLoader(pool: pool, logger: TestPostgres.logger).load(paths: paths)
        for r in results where !r.isAccepted { Issue.record("master data rejected: \(String(describing: r.rejection))") }
    }

    // MARK: queries

    func int(_ q: PostgresQuery) async throws -> Int { try await db.query(q)[0].decode(Int.self, column: 0) }

    func strings(_ q: PostgresQuery) async throws -> [String] {
        try await db.query(q).map { try $0.decode(String?.self, column: 0) ?? "NULL" }
    }

    /// Issues a store token and returns the secret.
    func storeToken(_ store: String = "S1") async throws -> String { try await tokens.issue(store: store).token.value }

    func operatorToken() async throws -> String { try await tokens.issue(store: nil).token.value }
}

// MARK: - requests

func bearer(_ token: String, contentType: String? = nil) -> HTTPFields {
    var h = HTTPFields()
    h[.authorization] = "Bearer \(token)"
    if let contentType { h[.contentType] = contentType }
    return h
}

extension TestResponse {
    var text: String { String(buffer: body) }

    /// The body as a JSON object (records an issue and returns [:] when it is not one).
    var json: [String: Any] {
        guard let o = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            Issue.record("not a JSON object: \(text)")
            return [:]
        }
        return o
    }
}

// MARK: - reports

/// A JSON daily report with one counted walk-in (with a new card and a test drive) and its prospect card.
func reportJSON(store: String = "S1", date: CalendarDate = HTTPTestEnv.reportDate, salesperson: String? = nil,
                customerName: String = "张伟", phone: String = "139 1234 5678", visitID: String = "V1") -> String {
    let sp = salesperson ?? "\(store)-01"
    return """
        {"format": "dealer-daily-report/1", "store": "\(store)", "business_date": "\(date)",
         "visits": [{"id": "\(visitID)", "channel": "walk_in", "purpose": "purchase", "salesperson": "\(sp)", "model": "M1",
                     "party_size": 2, "existing_card": null, "existing_order": false, "new_card": "A-\(store)-1", "test_drive": true}],
         "prospects": [{"card": "A-\(store)-1", "created_on": "\(date)", "salesperson": "\(sp)", "customer_name": \(jsonString(customerName)),
                        "phone": \(jsonString(phone)), "model": "M1", "level": "H", "source": "walk_in", "status": "open",
                        "closed_on": null, "lost_reason": null}]}
        """
}

func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "\""
}
