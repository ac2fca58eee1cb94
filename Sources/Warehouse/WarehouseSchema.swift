public import Logging
public import Postgres

/// The warehouse schema: the migrations in `sql/`, compiled into the binary by the EmbedSQL plugin so an
/// installed `dealer-kpi` needs no files beside it.
public enum WarehouseSchema {
    /// Every migration, in version order.
    public static let migrations: [Migration] = EmbeddedSQL.files.compactMap { Migration(fileName: $0.name, sql: $0.contents) }

    public static func migrator(logger: Logger = Logger(label: "dealer-kpi.migrate")) -> PostgresMigrator {
        PostgresMigrator(migrations: migrations, table: "schema_migrations", logger: logger)
    }
}
