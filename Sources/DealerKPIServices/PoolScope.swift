import Logging
import Postgres

/// A connection pool that lives for one operation and is shut down (connections closed) when it ends,
/// also when it throws.
enum PoolScope {
    static func with<T>(_ configuration: PostgresConfiguration, maximumConnections: Int = 1, logger: Logger,
                        _ body: (PostgresConnectionPool) async throws -> T) async throws -> T {
        let pool = PostgresConnectionPool(configuration: configuration, options: .init(maximumConnections: maximumConnections), logger: logger)
        do {
            let result = try await body(pool)
            await pool.shutdown()
            return result
        } catch {
            await pool.shutdown()
            throw error
        }
    }
}
