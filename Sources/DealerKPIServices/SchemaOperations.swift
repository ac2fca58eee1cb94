public import Logging
public import Postgres
import Warehouse

/// `dealer-kpi migrate`: apply, dry-run or show the schema migrations.
public enum SchemaOperations {
    public enum Mode: Sendable { case apply, dryRun, status }

    /// Returns lines for standard output.
    public static func migrate(_ configuration: PostgresConfiguration, mode: Mode, logger: Logger) async throws -> [String] {
        try await PoolScope.with(configuration, logger: logger) { pool in
            try await pool.withConnection { connection in try await run(mode, on: connection, logger: logger) }
        }
    }

    private static func run(_ mode: Mode, on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        let migrator = WarehouseSchema.migrator(logger: logger)
        switch mode {
        case .status:
            return try await migrator.status(on: connection).map { s in
                "\(s.version)\t\(s.name)\t\(s.state.rawValue)\(s.appliedAt.map { "\t\(PostgresTimestamp.format($0))" } ?? "")"
            }
        case .dryRun:
            let pending = try await migrator.migrate(on: connection, dryRun: true)
            return pending.isEmpty ? ["schema is up to date"] : pending.map { "would apply \($0.version) \($0.name)" }
        case .apply:
            let applied = try await migrator.migrate(on: connection)
            return applied.isEmpty ? ["schema is up to date"] : applied.map { "applied \($0.version) \($0.name)" }
        }
    }
}
