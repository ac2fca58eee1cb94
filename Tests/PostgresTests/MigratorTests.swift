import Foundation
import Postgres
import Testing
import TestSupport

@Suite("Migrations")
struct MigratorTests {
    let v1 = Migration(version: 1, name: "create", sql: "CREATE TABLE region (code text PRIMARY KEY); INSERT INTO region VALUES ('EAST');")
    let v2 = Migration(version: 2, name: "more", sql: "ALTER TABLE region ADD COLUMN name text;")

    @Test func appliesInOrderOnceAndReportsStatus() async throws {
        let db = try await TestPostgres.freshDatabase()
        let conn = try await PostgresConnection.connect(db.configuration)
        let migrator = PostgresMigrator(migrations: [v2, v1])
        #expect(try await migrator.migrate(on: conn, dryRun: true).map(\.version) == [1, 2])
        #expect(try await conn.query("SELECT to_regclass('region') IS NULL")[0].decode(Bool.self, column: 0))
        #expect(try await migrator.migrate(on: conn).map(\.version) == [1, 2])
        #expect(try await migrator.migrate(on: conn).isEmpty)
        #expect(try await migrator.isCurrent(on: conn))
        #expect(try await migrator.status(on: conn).map(\.state) == [.applied, .applied])
        await conn.close()
    }

    @Test func refusesChangedOrUnknownMigrations() async throws {
        let db = try await TestPostgres.freshDatabase()
        let conn = try await PostgresConnection.connect(db.configuration)
        try await PostgresMigrator(migrations: [v1, v2]).migrate(on: conn)
        var edited = v1
        edited.sql += "\n-- edited"
        await #expect(throws: MigrationError.self) { try await PostgresMigrator(migrations: [edited, v2]).migrate(on: conn) }
        await #expect(throws: MigrationError.self) { try await PostgresMigrator(migrations: [v1]).migrate(on: conn) }
        #expect(try await PostgresMigrator(migrations: [v1]).isCurrent(on: conn) == false)
        await conn.close()
    }

    @Test func failingMigrationRollsBackItselfOnly() async throws {
        let db = try await TestPostgres.freshDatabase()
        let conn = try await PostgresConnection.connect(db.configuration)
        let bad = Migration(version: 3, name: "bad", sql: "CREATE TABLE half (x int); SELECT 1/0;")
        await #expect(throws: PostgresError.self) { try await PostgresMigrator(migrations: [v1, v2, bad]).migrate(on: conn) }
        #expect(try await PostgresMigrator(migrations: [v1, v2, bad]).status(on: conn).map(\.state) == [.applied, .applied, .pending])
        #expect(try await conn.query("SELECT to_regclass('half') IS NULL")[0].decode(Bool.self, column: 0))
        await conn.close()
    }

    @Test func concurrentMigratorsApplyEachMigrationOnce() async throws {
        let db = try await TestPostgres.freshDatabase()
        let slow = Migration(version: 3, name: "slow", sql: "SELECT pg_sleep(0.5); CREATE TABLE slow_done (x int);")
        let counts = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let conn = try await PostgresConnection.connect(db.configuration)
                    let n = try await PostgresMigrator(migrations: [v1, v2, slow]).migrate(on: conn).count
                    await conn.close()
                    return n
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(counts.sorted() == [0, 0, 0, 3])
    }
}
