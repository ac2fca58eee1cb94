import CivilCalendar
import CorpusGenerator
@testable import DealerKPIServices
import Foundation
import Postgres
import Testing
import TestSupport
import Warehouse

/// A migrated warehouse with a small generated corpus (master data loaded), for the services' tests.
struct ServicesFixture: Sendable {
    static let piiKey = "services-test-key-0123456789"

    let configuration: PostgresConfiguration
    let pool: PostgresConnectionPool
    let ingestor: ReportIngestor
    let corpus: URL
    let scratch: URL
    /// Manifest steps: (received_at, file paths relative to the corpus).
    let steps: [(receivedAt: Date, files: [String])]

    static func make(stores: Int = 2, days: Int = 4, seed: UInt64 = 7, configuration given: PostgresConfiguration? = nil) async throws -> ServicesFixture {
        let configuration: PostgresConfiguration
        if let given {
            configuration = given
        } else {
            configuration = try await TestPostgres.freshDatabase(prefix: "svc").configuration
        }
        let db = try await PostgresConnection.connect(configuration, logger: TestPostgres.logger)
        try await WarehouseSchema.migrator(logger: TestPostgres.logger).migrate(on: db)
        await db.close()
        let scratch = FileManager.default.temporaryDirectory.appending(path: "dkpi-svc-\(getpid())-\(UUID().uuidString.prefix(8))")
        let corpus = scratch.appending(path: "corpus")
        try FileManager.default.createDirectory(at: corpus, withIntermediateDirectories: true)
        var config = CorpusConfiguration(stores: stores, days: days, seed: seed, startDate: CalendarDate(year: 2026, month: 3, day: 2)!)
        config.missingShare = 0
        _ = try SyntheticCorpus.generate(config, to: corpus.path, overwrite: true)
        let pool = PostgresConnectionPool(configuration: configuration, options: .init(maximumConnections: 4, acquireTimeout: .seconds(5)), logger: TestPostgres.logger)
        let master = ["regions", "stores", "salespeople", "models", "plans", "expenses"].map { corpus.appending(path: "master/\($0).csv").path }
        let loaded = try await MasterDataLoader(pool: pool, logger: TestPostgres.logger).load(paths: master)
        for r in loaded where !r.isAccepted { Issue.record("master data rejected: \(String(describing: r.rejection))") }
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: corpus.appending(path: "manifest.json"))) as! [[String: Any]]
        let steps = manifest.map { step in
            (PostgresTimestamp.parse(step["received_at"] as! String)!, step["files"] as! [String])
        }
        return ServicesFixture(configuration: configuration, pool: pool,
                               ingestor: ReportIngestor(pool: pool, settings: IngestSettings(piiKey: Array(piiKey.utf8)), logger: TestPostgres.logger),
                               corpus: corpus, scratch: scratch, steps: steps)
    }

    func close() async {
        await pool.shutdown()
        try? FileManager.default.removeItem(at: scratch)
    }

    /// Drops a corpus file into `inbox` the way a writer should: NAME.tmp, modification time = its receipt
    /// time, then rename.
    func drop(_ relative: String, receivedAt: Date, into inbox: URL) throws -> String {
        let name = relative.replacingOccurrences(of: "/", with: "_")
        let tmp = inbox.appending(path: name + ".tmp")
        try FileManager.default.copyItem(at: corpus.appending(path: relative), to: tmp)
        try FileManager.default.setAttributes([.modificationDate: receivedAt], ofItemAtPath: tmp.path)
        #expect(rename(tmp.path, inbox.appending(path: name).path) == 0)
        return name
    }

    func count(_ sql: String) async throws -> Int {
        try await pool.query(PostgresQuery(unsafeSQL: sql))[0].decode(Int.self, column: 0)
    }

    /// Row counts of the tables a load writes, to compare before/after.
    func warehouseCounts() async throws -> [String: Int] {
        var out: [String: Int] = [:]
        for t in ["core.visit", "core.prospect_card", "core.sales_order", "core.report_submission", "core.store_day_report", "core.ingested_file", "ops.inbox_receipt"] {
            out[t] = try await count("SELECT count(*) FROM \(t)")
        }
        return out
    }
}
