import Foundation
public import Logging
public import Postgres
public import ServiceLifecycle
public import Warehouse

/// `dealer-kpi serve`: the services of one daemon, run as a swift-service-lifecycle `ServiceGroup`.
///
/// - the inbox (when a directory is configured),
/// - the notified refresh (snapshots follow a load within seconds),
/// - the scheduler (cron jobs: refresh, close the day, retention; each firing runs exactly once across
///   daemons sharing the database),
/// - the HTTP API (reports upload, KPIs, health, readiness, metrics, job runs).
///
/// SIGTERM and SIGINT start a graceful shutdown: the inbox stops between files, the HTTP server stops
/// accepting requests and finishes those in flight, a running job finishes; after `shutdownGrace` whatever
/// is left is cancelled (its transaction rolls back). The process then exits 0.
public enum DealerKPIDaemon {
    /// Extra services to run in the group (tests, the demo).
    public typealias ServiceFactory = @Sendable (DaemonContext) -> [any Service]

    public static func run(_ configuration: DaemonConfiguration, logger: Logger, extraServices: ServiceFactory? = nil) async throws {
        guard let piiKey = configuration.piiKey else {
            throw DaemonConfiguration.Invalid(description: "DEALER_KPI_PII_KEY is not set (nor pii_key_file in the configuration): ingest needs a secret key to hash customer phone numbers")
        }
        let settings = try IngestSettings.fromEnvironment(["DEALER_KPI_PII_KEY": piiKey.value])
        let pool = PostgresConnectionPool(configuration: configuration.database,
                                          options: .init(maximumConnections: configuration.poolSize, acquireTimeout: .seconds(10)),
                                          logger: logger)
        let context = DaemonContext(configuration: configuration, pool: pool, ingestor: ReportIngestor(pool: pool, settings: settings, logger: logger),
                                    jobs: JobRunner(pool: pool, instance: configuration.instance, timeouts: configuration.timeouts.refresh, logger: logger),
                                    logger: logger)
        var services: [any Service] = []
        if let inbox = configuration.inboxDirectory {
            let processor = InboxProcessor(directory: URL(fileURLWithPath: inbox), ingestor: context.ingestor, instance: configuration.instance,
                                           timeouts: configuration.timeouts.inbox, logger: logger)
            try processor.prepare()
            services.append(InboxService(processor: processor, pollInterval: configuration.inboxPollInterval, logger: logger))
        }
        services.append(NotifiedRefreshService(configuration: configuration.database, jobs: context.jobs, debounce: configuration.refreshDebounce, logger: logger))
        services.append(SchedulerService(pool: pool, jobs: context.jobs, logger: logger))
        services += DaemonServices.additional(context)
        // Extra services (the demo's feeder) end the daemon gracefully when they finish.
        let extra = (extraServices?(context) ?? []).map {
            ServiceGroupConfiguration.ServiceConfiguration(service: $0, successTerminationBehavior: .gracefullyShutdownGroup,
                                                           failureTerminationBehavior: .gracefullyShutdownGroup)
        }

        var groupConfiguration = ServiceGroupConfiguration(
            services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) } + extra,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownGrace
        groupConfiguration.maximumCancellationDuration = .seconds(5)
        logger.info("dealer-kpi daemon starting", metadata: [
            "instance": "\(configuration.instance)", "database": "\(configuration.database.redactedDescription)",
            "inbox": "\(configuration.inboxDirectory ?? "none")", "http": "\(configuration.httpHost):\(configuration.httpPort)",
        ])
        do {
            try await ServiceGroup(configuration: groupConfiguration).run()
        } catch {
            await pool.shutdown()
            throw error
        }
        await pool.shutdown()
        logger.info("dealer-kpi daemon stopped")
    }
}

/// What the daemon's services share.
public struct DaemonContext: Sendable {
    public let configuration: DaemonConfiguration
    public let pool: PostgresConnectionPool
    public let ingestor: ReportIngestor
    public let jobs: JobRunner
    public let logger: Logger
}

/// Services assembled elsewhere in this module (scheduler, HTTP); an extension point so each lives in its
/// own file.
enum DaemonServices {
    static func additional(_ context: DaemonContext) -> [any Service] {
        [http(context)]
    }
}
