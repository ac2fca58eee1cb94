import Crypto
public import Foundation
public import Logging

/// One versioned schema change: `NNN_name.sql`.
public struct Migration: Sendable, Hashable {
    public var version: Int
    public var name: String
    public var sql: String
    /// SHA-256 of the file's bytes, hex.
    public var checksum: String { SHA256.hash(data: Array(sql.utf8)).map { String(format: "%02x", $0) }.joined() }

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// Parses `NNN_name.sql` into version and name; nil for other file names.
    public init?(fileName: String, sql: String) {
        guard fileName.hasSuffix(".sql") else { return nil }
        let stem = fileName.dropLast(4)
        guard let underscore = stem.firstIndex(of: "_"), let v = Int(stem[..<underscore]) else { return nil }
        self.init(version: v, name: String(stem[stem.index(after: underscore)...]), sql: sql)
    }
}

/// Applies migrations in version order, each in its own transaction, recording version, name and checksum.
///
/// Refuses to run when an applied migration's file has changed (checksum differs) or when the database
/// has a version this binary does not know (a newer schema). Concurrent migrators (several daemons starting
/// at once) are serialized by a session advisory lock.
public struct PostgresMigrator: Sendable {
    public enum State: String, Sendable { case applied, pending, changed, unknown }

    public struct Status: Sendable, Hashable {
        public var version: Int
        public var name: String
        public var state: State
        public var appliedAt: Date?
    }

    public let migrations: [Migration]
    public let table: String
    public let lockKey: Int64
    private let logger: Logger

    public init(migrations: [Migration], table: String = "schema_migrations", lockKey: Int64 = 0x6B_7069_6D69_6772, logger: Logger = Logger(label: "dealer-kpi.migrate")) {
        precondition(Set(migrations.map(\.version)).count == migrations.count, "duplicate migration versions")
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.table = table
        self.lockKey = lockKey
        self.logger = logger
    }

    /// What is applied, pending, changed or unknown, without changing anything.
    public func status(on connection: PostgresConnection) async throws -> [Status] {
        try await ensureTable(connection)
        let rows = try await connection.query("SELECT version, name, checksum, applied_at FROM \(identifier: table) ORDER BY version")
        var applied: [Int: (name: String, checksum: String, at: Date)] = [:]
        for row in rows {
            let (v, n, c, at) = try row.decode((Int, String, String, Date).self)
            applied[v] = (n, c, at)
        }
        var out: [Status] = []
        for m in migrations {
            if let a = applied[m.version] {
                out.append(Status(version: m.version, name: m.name, state: a.checksum == m.checksum ? .applied : .changed, appliedAt: a.at))
            } else {
                out.append(Status(version: m.version, name: m.name, state: .pending, appliedAt: nil))
            }
        }
        let known = Set(migrations.map(\.version))
        for (v, a) in applied where !known.contains(v) {
            out.append(Status(version: v, name: a.name, state: .unknown, appliedAt: a.at))
        }
        return out.sorted { $0.version < $1.version }
    }

    /// Applies pending migrations (or, with `dryRun`, only reports them). Returns those applied/pending.
    @discardableResult
    public func migrate(on connection: PostgresConnection, dryRun: Bool = false) async throws -> [Migration] {
        try await connection.execute("SELECT pg_advisory_lock(\(lockKey))")
        do {
            let result = try await migrateLocked(connection, dryRun: dryRun)
            try await connection.execute("SELECT pg_advisory_unlock(\(lockKey))")
            return result
        } catch {
            // Also when the task was cancelled: a session lock left behind would block the next migrator for
            // as long as this (possibly pooled) connection lives.
            if await connection.isOpen {
                _ = try? await withoutCancellation { try await connection.execute("SELECT pg_advisory_unlock(\(lockKey))") }
            }
            throw error
        }
    }

    /// True when every migration is applied and none changed or unknown.
    public func isCurrent(on connection: PostgresConnection) async throws -> Bool {
        let exists = try await connection.query("SELECT to_regclass(\(table)) IS NOT NULL")
        guard try exists.first?.decode(Bool.self, column: 0) == true else { return migrations.isEmpty }
        return try await status(on: connection).allSatisfy { $0.state == .applied }
    }

    private func migrateLocked(_ connection: PostgresConnection, dryRun: Bool) async throws -> [Migration] {
        let statuses = try await status(on: connection)
        if let changed = statuses.first(where: { $0.state == .changed }) {
            throw MigrationError.changedAfterApply(version: changed.version, name: changed.name)
        }
        if let unknown = statuses.first(where: { $0.state == .unknown }) {
            throw MigrationError.unknownAppliedVersion(version: unknown.version, name: unknown.name)
        }
        let pendingVersions = Set(statuses.filter { $0.state == .pending }.map(\.version))
        let pending = migrations.filter { pendingVersions.contains($0.version) }
        if dryRun { return pending }
        for m in pending {
            logger.info("applying migration", metadata: ["version": "\(m.version)", "name": "\(m.name)"])
            let sql = m.sql
            let checksum = m.checksum
            let table = self.table
            try await connection.withTransaction { conn in
                try conn.runScript(sql)
                _ = try conn.runQuery("INSERT INTO \(identifier: table) (version, name, checksum) VALUES (\(m.version), \(m.name), \(checksum))")
            }
        }
        return pending
    }

    private func ensureTable(_ connection: PostgresConnection) async throws {
        try await connection.executeScript("""
            CREATE TABLE IF NOT EXISTS \(PostgresQuery.quoteIdentifier(table)) (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
    }
}

public enum MigrationError: Error, CustomStringConvertible, Sendable {
    case changedAfterApply(version: Int, name: String)
    case unknownAppliedVersion(version: Int, name: String)

    public var description: String {
        switch self {
        case let .changedAfterApply(v, n):
            "migration \(v) (\(n)) was changed after it was applied; refusing to run. Restore the file or add a new migration."
        case let .unknownAppliedVersion(v, n):
            "the database has migration \(v) (\(n)), which this binary does not know: it is older than the schema. Upgrade dealer-kpi."
        }
    }
}
