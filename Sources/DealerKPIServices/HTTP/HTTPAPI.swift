import Foundation
public import Hummingbird
public import Logging
public import Postgres
public import Warehouse
import ServiceLifecycle

/// The daemon's HTTP API (Hummingbird 2).
///
/// | route | auth | answers |
/// |---|---|---|
/// | `GET /healthz` | none | 200 `ok` while the process serves |
/// | `GET /readyz` | none | 200 `ready`; 503 with the reason (database down, schema not current); cached ~1 s |
/// | `GET /metrics` | none | 200 Prometheus text |
/// | `POST /v1/reports` | store token | 201/200 (duplicates: 200), 400, 401, 403, 413, 415, 422, 503 (see `ReportUpload`); JSON, CSV or multipart (one upload) |
/// | `GET /v1/kpis` | operator token | 200, 400, 401, 403 (see `KPIQuery`) |
/// | `POST /v1/jobs/{name}/runs` | operator token | 202, 400, 401, 403, 404, 413 (see `JobRuns`) |
///
/// Every route: a declared body over `max_body_bytes` is 413 before it is read, bodies are read with that limit,
/// and a request must finish within `request_timeout` (else 503 with `Retry-After`). A database outage or time limit is 503, anything
/// unexpected 500; error bodies are `{"error": "..."}`. Unknown routes are 404.
///
/// Tokens: `Authorization: Bearer TOKEN`, a token from `ops.api_token` (`dealer-kpi tokens issue`), or for the
/// operator also the configured `operator_token` (`DEALER_KPI_OPERATOR_TOKEN`, compared in constant time).
///
/// Logs: one access line per request (method, path without query, route, status, duration, request id; never
/// headers or bodies) and one line per upload outcome (store, file name, counts, rules; never values).
///
/// Thread-safety: `Sendable`.
public struct HTTPAPI: Sendable {
    public let configuration: DaemonConfiguration
    public let pool: PostgresConnectionPool
    public let ingestor: ReportIngestor
    public let jobs: JobRunner
    public let tokens: TokenStore
    public let logger: Logger
    let readiness: ReadinessProbe
    let metrics: MetricsExporter

    /// - Parameters:
    ///   - logger: the logger of the application and its request handling (access lines, outcomes).
    public init(configuration: DaemonConfiguration, pool: PostgresConnectionPool, ingestor: ReportIngestor, jobs: JobRunner, logger: Logger) {
        MetricsBootstrap.bootstrap()
        self.configuration = configuration
        self.pool = pool
        self.ingestor = ingestor
        self.jobs = jobs
        self.logger = logger
        self.tokens = TokenStore(pool: pool, logger: logger)
        self.readiness = ReadinessProbe(pool: pool, logger: logger)
        let inbox = configuration.inboxDirectory.map {
            InboxProcessor(directory: URL(fileURLWithPath: $0), ingestor: ingestor, instance: configuration.instance, logger: logger)
        }
        self.metrics = MetricsExporter(pool: pool, inbox: inbox, logger: logger)
    }

    public init(context: DaemonContext) {
        self.init(configuration: context.configuration, pool: context.pool, ingestor: context.ingestor, jobs: context.jobs, logger: context.logger)
    }

    /// The routes and middleware.
    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: AccessLogMiddleware(logger: logger))
        router.add(middleware: BodyLimitMiddleware(maxBodyBytes: configuration.maxBodyBytes))
        let api = self
        let timed = RequestTimeout(timeout: configuration.requestTimeout)
        router.get("/healthz", use: timed { _, _ in HTTPJSON.text(.ok, "ok\n") })
        router.get("/readyz", use: timed { _, _ in
            switch await api.readiness.state() {
            case .ready: HTTPJSON.text(.ok, "ready\n")
            case .notReady(let reason): HTTPJSON.text(.serviceUnavailable, "not ready: \(reason)\n")
            }
        })
        router.get("/metrics", use: timed { _, _ in
            HTTPJSON.text(.ok, await api.metrics.render(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        })
        router.post("/v1/reports", use: timed { request, context in try await ReportUpload(api: api).handle(request, context: context) })
        router.get("/v1/kpis", use: timed { request, context in try await KPIQuery(api: api).handle(request, context: context) })
        router.post("/v1/jobs/{name}/runs", use: timed { request, context in try await JobRuns(api: api).handle(request, context: context) })
        return router
    }

    /// The application (a swift-service-lifecycle `Service`) listening on `http_host:http_port`. On graceful
    /// shutdown it stops accepting connections and finishes the requests in flight.
    public func application() -> Application<RouterResponder<BasicRequestContext>> {
        let idle = configuration.requestTimeout.components.seconds
        return Application(
            router: router(),
            server: .http1(configuration: .init(idleTimeout: .seconds(max(idle, 1)))),
            configuration: ApplicationConfiguration(address: .hostname(configuration.httpHost, port: configuration.httpPort)),
            logger: logger
        )
    }

    // MARK: authentication

    /// The caller's principal; 401 (with `WWW-Authenticate: Bearer`) without a valid token.
    func authenticate(_ request: Request) async throws -> TokenStore.Principal {
        switch BearerCredentials.parse(request) {
        case .none:
            throw APIError.unauthorized(credentialsGiven: false)
        case .malformed:
            throw APIError.unauthorized(credentialsGiven: true)
        case .token(let token):
            if let configured = configuration.operatorToken, !configured.value.isEmpty,
               TokenStore.constantTimeEquals(token, configured.value) {
                return TokenStore.Principal(role: .operator, storeCode: nil, tokenID: nil)
            }
            guard let principal = try await tokens.authenticate(token) else { throw APIError.unauthorized(credentialsGiven: true) }
            return principal
        }
    }
}

extension DaemonServices {
    /// The HTTP API service of a daemon.
    static func http(_ context: DaemonContext) -> any Service {
        HTTPAPI(context: context).application()
    }
}
