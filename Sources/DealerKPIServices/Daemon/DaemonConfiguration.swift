public import Foundation
public import Logging
public import Postgres
import Yams

/// A secret (key, password, token): never printed, never logged.
public struct Secret: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    /// `dump()` and other reflection show no value either.
    public var customMirror: Mirror { Mirror(self, children: []) }
}

/// Everything `dealer-kpi serve` needs, from a YAML file with environment overrides and command-line flags
/// on top (flags > environment > file > defaults). Secrets come from the environment or from files whose
/// path the configuration names (`*_file`), never from the YAML itself, and are never logged.
///
/// See `deploy/dealer-kpi.yaml` for a documented example. Value type; `Sendable`.
public struct DaemonConfiguration: Sendable {
    public var database: PostgresConfiguration
    public var poolSize = 8
    public var piiKey: Secret?
    public var operatorToken: Secret?
    public var httpHost = "127.0.0.1"
    public var httpPort = 8700
    public var maxBodyBytes = 50 << 20
    public var requestTimeout: Duration = .seconds(120)
    public var inboxDirectory: String?
    public var inboxPollInterval: Duration = .seconds(1)
    public var refreshDebounce: Duration = .seconds(1)
    public var shutdownGrace: Duration = .seconds(30)
    /// Server-side limits per kind of work (YAML `timeouts:`); a limit that passes rolls the work back and
    /// surfaces as `PostgresError.Kind.timeout`.
    public var timeouts = WorkTimeouts()
    public var instance: String
    public var logLevel: Logger.Level = .info
    public var logFormat: LogFormat = .text

    public init(database: PostgresConfiguration = PostgresConfiguration()) {
        self.database = database
        self.instance = "\(ProcessInfo.processInfo.hostName):\(getpid())"
    }

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// The YAML file's shape (all optional).
    struct File: Decodable {
        struct Database: Decodable {
            var url: String?
            var password_file: String?
            var pool_size: Int?
        }
        struct HTTP: Decodable {
            var listen: String?
            var max_body_bytes: Int?
            var request_timeout_seconds: Double?
            var operator_token_file: String?
        }
        struct Inbox: Decodable {
            var directory: String?
            var poll_interval_seconds: Double?
        }
        struct Refresh: Decodable {
            var debounce_seconds: Double?
        }
        struct Logging: Decodable {
            var level: String?
            var format: String?
        }
        struct Limits: Decodable {
            var statement_seconds: Double?
            var lock_seconds: Double?
            var idle_in_transaction_seconds: Double?
        }
        struct Timeouts: Decodable {
            var http_ingest: Limits?
            var inbox: Limits?
            var refresh: Limits?
            var bi_read: Limits?
        }
        var database: Database?
        var timeouts: Timeouts?
        var http: HTTP?
        var inbox: Inbox?
        var refresh: Refresh?
        var logging: Logging?
        var pii_key_file: String?
        var shutdown_grace_seconds: Double?
        var instance: String?
    }

    /// Loads the configuration. `file` may be nil (defaults and environment only).
    public static func load(file: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                            databaseURLFlag: String? = nil, inboxFlag: String? = nil, httpFlag: String? = nil) throws -> DaemonConfiguration {
        var parsed = File()
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw Invalid(description: "cannot read configuration file \(file)")
            }
            do {
                parsed = try YAMLDecoder().decode(File.self, from: text)
            } catch {
                throw Invalid(description: "configuration file \(file): \(error)")
            }
        }
        func env(_ key: String) -> String? { environment[key].flatMap { $0.isEmpty ? nil : $0 } }
        func secret(envKey: String, file path: String?) throws -> Secret? {
            if let v = env(envKey) { return Secret(v) }
            let filePath = env(envKey + "_FILE") ?? path
            guard let filePath else { return nil }
            guard let text = try? String(contentsOfFile: filePath, encoding: .utf8) else {
                throw Invalid(description: "cannot read the secret file \(filePath) (for \(envKey))")
            }
            return Secret(text.trimmingCharacters(in: .whitespacesAndNewlines))
        }

        let url = databaseURLFlag ?? env("DATABASE_URL") ?? parsed.database?.url
        var database = PostgresConfiguration(connectionString: url)
        if let password = try secret(envKey: "DEALER_KPI_DB_PASSWORD", file: parsed.database?.password_file) {
            database = database.with("password", password.value)
        }
        var c = DaemonConfiguration(database: database)
        c.poolSize = parsed.database?.pool_size ?? c.poolSize
        c.piiKey = try secret(envKey: "DEALER_KPI_PII_KEY", file: parsed.pii_key_file)
        c.operatorToken = try secret(envKey: "DEALER_KPI_OPERATOR_TOKEN", file: parsed.http?.operator_token_file)
        if let listen = httpFlag ?? env("DEALER_KPI_HTTP") ?? parsed.http?.listen {
            guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else {
                throw Invalid(description: "http listen address must be HOST:PORT, got \(listen)")
            }
            c.httpHost = String(listen[..<colon])
            c.httpPort = port
        }
        c.maxBodyBytes = parsed.http?.max_body_bytes ?? c.maxBodyBytes
        if let t = parsed.http?.request_timeout_seconds { c.requestTimeout = .milliseconds(Int(t * 1000)) }
        c.inboxDirectory = inboxFlag ?? env("DEALER_KPI_INBOX") ?? parsed.inbox?.directory
        if let t = parsed.inbox?.poll_interval_seconds { c.inboxPollInterval = .milliseconds(Int(t * 1000)) }
        if let t = parsed.refresh?.debounce_seconds { c.refreshDebounce = .milliseconds(Int(t * 1000)) }
        if let t = parsed.shutdown_grace_seconds { c.shutdownGrace = .milliseconds(Int(t * 1000)) }
        if let t = parsed.timeouts {
            c.timeouts.httpIngest = try apply(t.http_ingest, to: c.timeouts.httpIngest, name: "timeouts.http_ingest")
            c.timeouts.inbox = try apply(t.inbox, to: c.timeouts.inbox, name: "timeouts.inbox")
            c.timeouts.refresh = try apply(t.refresh, to: c.timeouts.refresh, name: "timeouts.refresh")
            c.timeouts.biRead = try apply(t.bi_read, to: c.timeouts.biRead, name: "timeouts.bi_read")
        }
        if let i = env("DEALER_KPI_INSTANCE") ?? parsed.instance { c.instance = i }
        if let l = env("DEALER_KPI_LOG_LEVEL") ?? parsed.logging?.level {
            guard let level = Logger.Level(rawValue: l) else { throw Invalid(description: "unknown log level \(l)") }
            c.logLevel = level
        }
        if let f = env("DEALER_KPI_LOG_FORMAT") ?? parsed.logging?.format {
            guard let format = LogFormat(rawValue: f) else { throw Invalid(description: "unknown log format \(f) (text or json)") }
            c.logFormat = format
        }
        return c
    }

    /// A YAML limit: seconds > 0, or 0 for "no limit" (the server's own setting applies).
    private static func apply(_ limits: File.Limits?, to base: PostgresTimeouts, name: String) throws -> PostgresTimeouts {
        guard let limits else { return base }
        func duration(_ seconds: Double?, _ key: String, _ current: Duration?) throws -> Duration? {
            guard let seconds else { return current }
            guard seconds >= 0, seconds.isFinite else { throw Invalid(description: "\(name).\(key) must be 0 (no limit) or a positive number of seconds, got \(seconds)") }
            return seconds == 0 ? nil : .milliseconds(Int((seconds * 1000).rounded(.up)))
        }
        var t = base
        t.statement = try duration(limits.statement_seconds, "statement_seconds", base.statement)
        t.lock = try duration(limits.lock_seconds, "lock_seconds", base.lock)
        t.idleInTransaction = try duration(limits.idle_in_transaction_seconds, "idle_in_transaction_seconds", base.idleInTransaction)
        return t
    }
}

/// The server-side limits (`statement_timeout`, `lock_timeout`, `idle_in_transaction_session_timeout`) for
/// each kind of work the daemon does, applied with `SET LOCAL` to that work's transactions only. The
/// defaults keep an HTTP upload well inside the request timeout, give the inbox's bigger files more room,
/// and let a full rebuild's long statements run while a lock wait still ends. Value type.
public struct WorkTimeouts: Sendable, Hashable {
    /// `POST /v1/reports`: one upload's transaction.
    public var httpIngest = PostgresTimeouts(statement: .seconds(60), lock: .seconds(10), idleInTransaction: .seconds(60))
    /// One inbox upload (file, directory or zip).
    public var inbox = PostgresTimeouts(statement: .seconds(600), lock: .seconds(60), idleInTransaction: .seconds(300))
    /// A snapshot refresh or rebuild, and the other jobs.
    public var refresh = PostgresTimeouts(statement: .seconds(3600), lock: .seconds(120), idleInTransaction: .seconds(600))
    /// `GET /v1/kpis` and other reads through the API.
    public var biRead = PostgresTimeouts(statement: .seconds(30), lock: .seconds(5), idleInTransaction: .seconds(30))

    public init() {}
}
