import DailyReport
import CivilCalendar
import CorpusGenerator
import Foundation
public import Logging
import LocalPostgres
import Postgres
import ServiceLifecycle
import Warehouse

/// `dealer-kpi demo`: the whole system on an embedded default, with nothing to set up.
///
/// 1. Starts (or reuses) a PostgreSQL cluster under the data directory, creates the `dealer_kpi`
///    database and migrates it.
/// 2. Makes a phone-hashing key for this data directory (`pii.key`, mode 600) if there is none.
/// 3. Generates a sample corpus (a national brand's shape, ending yesterday) and loads its master data.
/// 4. Runs the daemon (inbox + HTTP on localhost + scheduler) and drops the corpus' reports into the inbox in
///    their order of arrival, each with its historical receipt time as modification time.
/// 5. Waits until the inbox is empty and the snapshots are refreshed, then prints what to try next and
///    keeps serving until Ctrl-C (or exits, with `exitWhenDone`).
public struct Demo: Sendable {
    public var dataDirectory: String
    public var stores = 12
    public var days = 60
    public var seed: UInt64 = 42
    public var httpHost = "127.0.0.1"
    public var httpPort = 8700
    public var exitWhenDone = false

    public init(dataDirectory: String) { self.dataDirectory = dataDirectory }

    /// The default data directory: `DEALER_KPI_DEMO_DIR`, else `/var/tmp/dealer-kpi-demo` (persistent and
    /// reachable by the `postgres` user when the demo runs as root).
    public static var defaultDataDirectory: String {
        ProcessInfo.processInfo.environment["DEALER_KPI_DEMO_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/var/tmp/dealer-kpi-demo"
    }

    public func run(logger: Logger) async throws {
        let root = URL(fileURLWithPath: dataDirectory).standardizedFileURL
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        say("data directory: \(root.path)")

        // 1. Database.
        var clusterOptions = LocalPostgresCluster.Options()
        clusterOptions.socketPort = 5433
        let cluster = LocalPostgresCluster(directory: root.appending(path: "postgres"), options: clusterOptions, logger: logger)
        try cluster.start()
        let admin = try await PostgresConnection.connect(cluster.configuration())
        if try await admin.query("SELECT 1 FROM pg_database WHERE datname = 'dealer_kpi'").isEmpty {
            try await admin.executeScript("CREATE DATABASE dealer_kpi")
        }
        await admin.close()
        let database = cluster.configuration(database: "dealer_kpi")
        let migrationConnection = try await PostgresConnection.connect(database)
        let applied = try await WarehouseSchema.migrator(logger: logger).migrate(on: migrationConnection)
        await migrationConnection.close()
        say("PostgreSQL running (socket \(cluster.socketDirectory.path), port \(cluster.port)); \(applied.count) migrations applied")

        // 2. Key.
        let keyFile = root.appending(path: "pii.key")
        if !FileManager.default.fileExists(atPath: keyFile.path) {
            var bytes = [UInt8](repeating: 0, count: 32)
            for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
            let key = bytes.map { String(format: "%02x", $0) }.joined()
            try Data(key.utf8).write(to: keyFile)
            chmod(keyFile.path, 0o600)
        }
        let piiKey = try String(contentsOf: keyFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)

        // 3. Corpus and master data.
        let corpus = root.appending(path: "corpus")
        let inbox = root.appending(path: "inbox")
        let firstRun = !FileManager.default.fileExists(atPath: corpus.appending(path: "manifest.json").path)
        if firstRun {
            let yesterday = CalendarDate(daysSinceEpoch: Int(Date().timeIntervalSince1970 / 86_400) - 1)
            let config = CorpusConfiguration(stores: stores, days: days, seed: seed, startDate: yesterday.adding(days: -(days - 1)))
            let summary = try SyntheticCorpus.generate(config, to: corpus.path, overwrite: true)
            say("generated a sample corpus: \(summary)")
        }
        let pool = PostgresConnectionPool(configuration: database, options: .init(maximumConnections: 2), logger: logger)
        let masterFiles = MasterFileKind.allCases.map(\.rawValue).map { corpus.appending(path: "master/\($0).csv").path }
        let loaded = try await MasterDataLoader(pool: pool, logger: logger).load(paths: masterFiles)
        for r in loaded where !r.isAccepted { say("master data rejected: \(r.file): \(r.rejection!)") }
        await pool.shutdown()

        // 4. The daemon, with the corpus fed through its inbox.
        var configuration = DaemonConfiguration(database: database)
        configuration.piiKey = Secret(piiKey)
        configuration.inboxDirectory = inbox.path
        configuration.httpHost = httpHost
        configuration.httpPort = httpPort
        configuration.inboxPollInterval = .milliseconds(300)
        configuration.instance = "demo"
        let feeder = DemoFeeder(corpus: corpus, inbox: inbox, feed: firstRun, database: database, demo: self, exitWhenDone: exitWhenDone)
        try await DealerKPIDaemon.run(configuration, logger: logger) { context in [feeder.service(context)] }
    }

    func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}

/// Copies the corpus' reports into the inbox in manifest order, waits for the daemon to take them in, then
/// prints the next steps.
struct DemoFeeder: Sendable {
    let corpus: URL
    let inbox: URL
    let feed: Bool
    let database: PostgresConfiguration
    let demo: Demo
    let exitWhenDone: Bool

    func service(_ context: DaemonContext) -> any Service { Runner(feeder: self, context: context) }

    struct Runner: Service {
        let feeder: DemoFeeder
        let context: DaemonContext

        func run() async throws {
            try await cancelWhenGracefulShutdown { try await feeder.run(context) }
            // Returning ends the whole group (the demo is done); otherwise serve until Ctrl-C.
            if !feeder.exitWhenDone {
                try await gracefulShutdown()
            }
        }
    }

    func run(_ context: DaemonContext) async throws {
        if feed {
            let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: corpus.appending(path: "manifest.json"))) as? [[String: Any]] ?? []
            var count = 0
            for step in manifest {
                guard let at = (step["received_at"] as? String).flatMap(PostgresTimestamp.parse), let files = step["files"] as? [String] else { continue }
                for file in files {
                    let source = corpus.appending(path: file)
                    let name = file.replacingOccurrences(of: "/", with: "_")
                    let temporary = inbox.appending(path: name + ".tmp")
                    try? FileManager.default.removeItem(at: temporary)
                    try FileManager.default.copyItem(at: source, to: temporary)
                    try FileManager.default.setAttributes([.modificationDate: at], ofItemAtPath: temporary.path)
                    rename(temporary.path, inbox.appending(path: name).path)
                    count += 1
                }
            }
            demo.say("dropped \(count) report files into the inbox \(inbox.path); the daemon is ingesting them...")
            // Wait for the inbox to drain.
            while true {
                let pending = (try? FileManager.default.contentsOfDirectory(atPath: inbox.path))?.filter { !$0.hasPrefix(".") && $0 != "processed" && $0 != "rejected" } ?? []
                let working = (try? FileManager.default.contentsOfDirectory(atPath: inbox.appending(path: ".work").path)) ?? []
                if pending.isEmpty && working.isEmpty { break }
                try await Task.sleep(for: .seconds(1))
            }
        }
        let run = try await context.jobs.runNow(job: .refresh, trigger: .manual)
        let rejected = (try? FileManager.default.contentsOfDirectory(atPath: inbox.appending(path: "rejected").path))?.filter { !$0.hasSuffix(".errors.json") }.count ?? 0
        demo.say("snapshots refreshed (run \(run.runID)); rejected files: \(rejected) (see \(inbox.appending(path: "rejected").path))")
        try await printNextSteps(context)
    }

    private func printNextSteps(_ context: DaemonContext) async throws {
        let month = try await context.pool.query("SELECT max(period_start) FROM kpi.snapshot WHERE level = 'store' AND grain = 'month'")
        let latest = try month.first?.decode(CalendarDate?.self, column: 0)
        if let latest {
            let rows = try await context.pool.query("""
                SELECT store_code, coalesce(store_name, ''), traffic, deliveries, coalesce(round(close_rate * 100, 1)::text, '-'),
                       coalesce(round(composite_score, 1)::text, '-'), coalesce(national_rank::text, '-')
                FROM bi.store_month WHERE month = \(latest) ORDER BY national_rank NULLS LAST, store_code LIMIT 15
                """)
            demo.say("\nLeague table for \(latest.year)-\(latest.month < 10 ? "0" : "")\(latest.month) (bi.store_month):")
            demo.say("rank  store   traffic  deliveries  close%  score  name")
            for row in rows {
                let (code, name, traffic, deliveries, close, score, rank) = try row.decode((String, String, Int, Int, String, String, String).self)
                func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
                    let fill = String(repeating: " ", count: max(0, width - text.count))
                    return right ? fill + text : text + fill
                }
                demo.say("\(pad(rank, 5)) \(pad(code, 7)) \(pad(String(traffic), 7, right: true)) \(pad(String(deliveries), 11, right: true)) \(pad(close, 7, right: true)) \(pad(score, 6, right: true))  \(name)")
            }
        }
        let store = try await context.pool.query("SELECT store_code FROM core.store ORDER BY store_code LIMIT 1").first?.decode(String.self, column: 0) ?? "STORE"
        let psql = "psql \"\(database.connectionString ?? "")\""
        demo.say("""

            Try next:
              \(psql) -c "SELECT * FROM bi.store_month ORDER BY month DESC, national_rank LIMIT 20"
              dealer-kpi tokens issue --store \(store) --database-url "\(database.connectionString ?? "")"
              curl -H "Authorization: Bearer TOKEN" -H "Content-Type: application/json" --data-binary @REPORT.json http://\(demo.httpHost):\(demo.httpPort)/v1/reports
              curl http://\(demo.httpHost):\(demo.httpPort)/readyz ; curl http://\(demo.httpHost):\(demo.httpPort)/metrics
              drop more files into \(inbox.path) (write NAME.tmp, then rename)
            \(exitWhenDone ? "" : "The daemon keeps running; press Ctrl-C to stop.")
            """)
    }
}
