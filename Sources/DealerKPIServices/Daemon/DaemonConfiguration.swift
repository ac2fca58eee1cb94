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
        var database: Database?
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
}
