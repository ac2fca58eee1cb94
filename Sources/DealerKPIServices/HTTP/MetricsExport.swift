import Foundation
import Logging
import Metrics
import Postgres
import Prometheus
import Synchronization
import Warehouse

/// Process-wide metrics set-up: swift-metrics backed by swift-prometheus, once per process.
///
/// `bootstrap()` is idempotent. If swift-metrics was already bootstrapped with a `PrometheusMetricsFactory`
/// (by an embedding program), its registry is reused; if with some other backend, the metrics recorded
/// through swift-metrics go there and `/metrics` shows only what it computes at scrape time.
public enum MetricsBootstrap {
    private static let registryState = Mutex<PrometheusCollectorRegistry?>(nil)

    /// Bootstraps swift-metrics with Prometheus (first call only). The daemon's HTTP service calls it when it
    /// is assembled, before any service runs.
    public static func bootstrap() {
        _ = registry
    }

    /// The registry `GET /metrics` emits.
    static var registry: PrometheusCollectorRegistry {
        registryState.withLock { state in
            if let state { return state }
            let registry: PrometheusCollectorRegistry
            if let existing = MetricsSystem.factory as? PrometheusMetricsFactory {
                registry = existing.registry
            } else if MetricsSystem.factory is NOOPMetricsHandler {
                registry = PrometheusCollectorRegistry()
                var factory = PrometheusMetricsFactory(registry: registry)
                factory.defaultDurationHistogramBuckets = [
                    .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                    .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5),
                    .seconds(10), .seconds(30), .seconds(60), .seconds(120),
                ]
                MetricsSystem.bootstrap(factory)
            } else {
                registry = PrometheusCollectorRegistry()
            }
            state = registry
            return registry
        }
    }
}

/// `GET /metrics`: the Prometheus text exposition of everything recorded through swift-metrics (reports,
/// rows, rejections, ingest durations, jobs, HTTP requests; see `ServiceMetrics.swift` and
/// `AccessLogMiddleware`), plus gauges computed at scrape time:
///
/// - `dealer_kpi_database_up` — 1 when the database answered this scrape, else 0;
/// - `dealer_kpi_snapshot_age_seconds` — now minus the newest `kpi.snapshot.computed_at` (absent while there
///   are no snapshots or the database is down);
/// - `dealer_kpi_db_pool_connections{state="open|idle|leased"}` and `dealer_kpi_db_pool_waiting` — the
///   connection pool;
/// - `dealer_kpi_inbox_backlog_files` — complete files waiting in the inbox or claimed and unfinished (only
///   when an inbox is configured).
///
/// The database part is cached for `databaseCacheFor` (the snapshot age needs a scan of `kpi.snapshot`) and
/// bounded by a 2 s deadline, so a slow or absent database never stalls a scrape.
actor MetricsExporter {
    let pool: PostgresConnectionPool
    let inbox: InboxProcessor?
    let databaseCacheFor: Duration
    let logger: Logger
    private var cachedDatabase: (up: Bool, snapshotAge: Double?, at: ContinuousClock.Instant)?

    init(pool: PostgresConnectionPool, inbox: InboxProcessor?, databaseCacheFor: Duration = .seconds(5), logger: Logger) {
        self.pool = pool
        self.inbox = inbox
        self.databaseCacheFor = databaseCacheFor
        self.logger = logger
    }

    func render() async -> String {
        var out = MetricsBootstrap.registry.emitToString()
        if !out.isEmpty && !out.hasSuffix("\n") { out += "\n" }

        let database = await databaseGauges()
        gauge(&out, "dealer_kpi_database_up", "1 when the database answered the last check of this scrape, else 0.",
              [("", database.up ? "1" : "0")])
        if let age = database.snapshotAge {
            gauge(&out, "dealer_kpi_snapshot_age_seconds", "Seconds since the newest KPI snapshot row was computed.",
                  [("", String(format: "%.3f", age))])
        }
        let stats = await pool.statistics
        gauge(&out, "dealer_kpi_db_pool_connections", "Database connections of the daemon's pool by state.", [
            ("{state=\"open\"}", String(stats.open)), ("{state=\"idle\"}", String(stats.idle)), ("{state=\"leased\"}", String(stats.leased)),
        ])
        gauge(&out, "dealer_kpi_db_pool_waiting", "Tasks waiting for a pooled database connection.", [("", String(stats.waiting))])
        if let inbox {
            let waiting = ((try? inbox.completeFiles().count) ?? 0) + ((try? inbox.claimedFiles().count) ?? 0)
            gauge(&out, "dealer_kpi_inbox_backlog_files", "Report files waiting in the inbox (complete, or claimed and unfinished).",
                  [("", String(waiting))])
        }
        return out
    }

    private func gauge(_ out: inout String, _ name: String, _ help: String, _ samples: [(labels: String, value: String)]) {
        out += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n"
        for s in samples { out += "\(name)\(s.labels) \(s.value)\n" }
    }

    private func databaseGauges() async -> (up: Bool, snapshotAge: Double?) {
        if let c = cachedDatabase, ContinuousClock.now - c.at < databaseCacheFor { return (c.up, c.snapshotAge) }
        let pool = self.pool
        var result: (up: Bool, snapshotAge: Double?) = (false, nil)
        do {
            let answer = try await Deadline.run(within: .seconds(2)) {
                try await pool.query("SELECT extract(epoch FROM now() - max(computed_at))::float8 FROM kpi.snapshot")
                    .first?.decode(Double?.self, column: 0)
            }
            if let answer { result = (true, answer) }
        } catch {
            logger.debug("metrics: database gauges unavailable", metadata: ["error": "\(error)"])
        }
        cachedDatabase = (result.up, result.snapshotAge, ContinuousClock.now)
        return result
    }
}
