public import ArgumentParser
public import DealerKPIServices
import Foundation
public import Logging
import Postgres
import Warehouse

@main
struct DealerKPI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dealer-kpi",
        abstract: "Turns car dealers' daily sales reports into a PostgreSQL KPI warehouse.",
        discussion: """
            Exit statuses: 0 done; 1 data rejected (nothing of it stored); 64 usage error; 70 internal error;
            75 temporary (database unreachable, timeout or cancellation; retry later); 78 configuration.
            """,
        version: "dealer-kpi \(DealerKPIVersion.current)",
        subcommands: [
            Migrate.self, Load.self, Ingest.self, Aggregate.self, Serve.self, Demo.self,
            Generate.self, Tokens.self, Schedule.self, Jobs.self,
        ]
    )

    /// Runs the command and turns what ended it into the documented exit status (`CommandExit`).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if let status = CommandExit.status(for: error) {
                FileHandle.standardError.write(Data("dealer-kpi: \(error)\n".utf8))
                Foundation.exit(status)
            }
            exit(withError: error)
        }
    }
}

/// Prints a line and flushes it, so a script or person watching sees each file as it commits.
let printNow: WarehouseCommands.Emit = { line in
    print(line)
    fflush(nil) // all streams: naming `stdout` is not concurrency-safe under Swift 6
}

/// Options every command that talks to the database accepts.
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "PostgreSQL URL or conninfo (else DATABASE_URL, else libpq's PG* variables).")
    var databaseURL: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevelOption: Logger.Level?

    @Option(name: .customLong("log-format"), help: "text or json (logs go to standard error).")
    var logFormatOption: LogFormat?

    var logLevel: Logger.Level { logLevelOption ?? .info }
    var logFormat: LogFormat { logFormatOption ?? .text }
    var logLevelGiven: Bool { logLevelOption != nil }
    var logFormatGiven: Bool { logFormatOption != nil }

    func bootstrap() -> Logger {
        LogSetup.bootstrap(level: logLevel, format: logFormat)
        return Logger(label: "dealer-kpi")
    }

    var database: PostgresConfiguration { DatabaseTarget.configuration(flag: databaseURL) }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
extension LogFormat: ExpressibleByArgument {}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create or upgrade the warehouse schema.")
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Show what would be applied; change nothing.") var dryRun = false
    @Flag(help: "List every migration with its state.") var status = false

    func run() async throws {
        let logger = global.bootstrap()
        let mode: SchemaOperations.Mode = status ? .status : (dryRun ? .dryRun : .apply)
        for line in try await SchemaOperations.migrate(global.database, mode: mode, logger: logger) { print(line) }
    }
}

struct Load: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Load master data, plans and expenses (CSV; kind detected from the header).")
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print results as JSON.") var json = false
    @Argument(help: "CSV files.") var files: [String]

    func run() async throws {
        let logger = global.bootstrap()
        let failed = try await WarehouseCommands.load(global.database, paths: files, json: json, logger: logger, emit: printNow)
        if failed { throw ExitCode(CommandExit.rejectedData) }
    }
}

struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Ingest daily reports (JSON or CSV).")
    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("received-at"), help: "RFC 3339 receipt time, for historical loads.") var receivedAt: String?
    @Option(help: "A manifest.json of steps: each step is one upload with its own receipt time; stops at the first rejected step.")
    var manifest: String?
    @Flag(help: "Print one JSON object per file (JSON Lines).") var json = false
    @Argument(help: "Report files: one upload (one receipt time, all or nothing).") var files: [String] = []

    func run() async throws {
        let logger = global.bootstrap()
        let settings = try IngestSettings.fromEnvironment()
        let failed = try await WarehouseCommands.ingest(global.database, paths: files, manifest: manifest, receivedAt: receivedAt,
                                                        json: json, settings: settings, logger: logger, emit: printNow)
        if failed { throw ExitCode(CommandExit.rejectedData) }
    }
}

struct Aggregate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Bring every KPI snapshot up to date.")
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Rebuild everything.") var full = false

    func run() async throws {
        let logger = global.bootstrap()
        for line in try await AggregateCommand.run(global.database, full: full, logger: logger) { print(line) }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the daemon: inbox, scheduler and HTTP API.")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Configuration file.") var config: String?
    @Option(help: "Inbox directory.") var inbox: String?
    @Option(help: "HTTP listen address HOST:PORT (default 127.0.0.1:8700).") var http: String?

    func run() async throws {
        var configuration = try DaemonConfiguration.load(file: config, databaseURLFlag: global.databaseURL, inboxFlag: inbox, httpFlag: http)
        if global.logLevelGiven { configuration.logLevel = global.logLevel }
        if global.logFormatGiven { configuration.logFormat = global.logFormat }
        LogSetup.bootstrap(level: configuration.logLevel, format: configuration.logFormat)
        try await DealerKPIDaemon.run(configuration, logger: Logger(label: "dealer-kpi"))
    }
}

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Zero-setup demonstration on an embedded PostgreSQL: sample data, ingest, aggregation, the daemon.")
    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("data-dir"), help: "Where the demo keeps its cluster, corpus and inbox (default: DEALER_KPI_DEMO_DIR or /var/tmp/dealer-kpi-demo).")
    var dataDirectory: String?
    @Option(help: "Stores in the sample corpus.") var stores: Int = 12
    @Option(help: "Business days in the sample corpus (ending yesterday).") var days: Int = 60
    @Option(help: "HTTP listen address HOST:PORT.") var http: String = "127.0.0.1:8700"
    @Flag(name: .customLong("exit-when-done"), help: "Exit after ingesting and aggregating instead of serving until Ctrl-C.")
    var exitWhenDone = false

    func run() async throws {
        let logger = global.bootstrap()
        var demo = DealerKPIServices.Demo(dataDirectory: dataDirectory ?? DealerKPIServices.Demo.defaultDataDirectory)
        demo.stores = stores
        demo.days = days
        demo.exitWhenDone = exitWhenDone
        guard let colon = http.lastIndex(of: ":"), let port = Int(http[http.index(after: colon)...]) else {
            throw ValidationError("--http must be HOST:PORT")
        }
        demo.httpHost = String(http[..<colon])
        demo.httpPort = port
        try await demo.run(logger: logger)
    }
}
