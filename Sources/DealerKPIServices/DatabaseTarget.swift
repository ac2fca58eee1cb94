public import Foundation
public import Postgres

/// Where the warehouse is: `--database-url`, else `DATABASE_URL`, else libpq's own `PG*` environment.
public enum DatabaseTarget {
    public static func configuration(flag: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> PostgresConfiguration {
        if let flag, !flag.isEmpty { return PostgresConfiguration(connectionString: flag) }
        if let url = environment["DATABASE_URL"], !url.isEmpty { return PostgresConfiguration(connectionString: url) }
        return PostgresConfiguration(connectionString: nil)
    }
}
