import Foundation
import Postgres
import Testing
import TestSupport

@Suite("Errors and transactions")
struct ErrorAndTransactionTests {
    @Test func uniqueViolationCarriesSQLStateAndNoValues() async throws {
        let db = try await TestPostgres.freshDatabase()
        let conn = try await PostgresConnection.connect(db.configuration)
        try await conn.executeScript("CREATE TABLE card (id text CONSTRAINT card_pk PRIMARY KEY, phone text)")
        let secret = "13912345678-secret"
        try await conn.execute("INSERT INTO card VALUES (\(secret), 'x')")
        let error = await #expect(throws: PostgresError.self) {
            try await conn.execute("INSERT INTO card VALUES (\(secret), 'y')")
        }
        #expect(error?.sqlState == .uniqueViolation)
        #expect(error?.constraintName == "card_pk")
        #expect(error?.tableName == "card")
        #expect(error?.detail?.contains(secret) == true) // available deliberately...
        #expect(error.map { "\($0)" }?.contains(secret) == false) // ...but never in the description
        #expect(error.map { "\($0)" }?.contains("23505") == true)
        await conn.close()
    }

    @Test func dataExceptionMessageIsWithheldFromDescription() async throws {
        let db = try await TestPostgres.freshDatabase()
        let conn = try await PostgresConnection.connect(db.configuration)
        let error = await #expect(throws: PostgresError.self) { try await conn.query("SELECT \("张伟的电话")::int") }
        #expect(error?.sqlState == .invalidTextRepresentation)
        #expect(error?.message.contains("张伟的电话") == true)
        #expect(error.map { "\($0)" }?.contains("张伟的电话") == false)
        await conn.close()
    }

    @Test func syntaxErrorAndUnknownSQLStateSurvive() async throws {
        let db = try await TestPostgres.freshDatabase()
        let conn = try await PostgresConnection.connect(db.configuration)
        let syntax = await #expect(throws: PostgresError.self) { try await conn.query("SELEC 1") }
        #expect(syntax?.sqlState == .syntaxError)
        #expect(syntax?.kind == .server)
        // A code this library has no name for round-trips unchanged.
        let custom = await #expect(throws: PostgresError.self) {
            try await conn.executeScript("DO $$ BEGIN RAISE EXCEPTION 'custom' USING ERRCODE = 'DK001'; END $$")
        }
        #expect(custom?.sqlState?.rawValue == "DK001")
        #expect(custom?.sqlState?.errorClass == "DK")
        #expect(try await conn.query("SELECT 1")[0].decode(Int.self, column: 0) == 1)
        await conn.close()
    }

    struct Boom: Error {}

    @Test func throwingTransactionLeavesNothing() async throws {
        let db = try await TestPostgres.freshDatabase()
        let conn = try await PostgresConnection.connect(db.configuration)
        try await conn.executeScript("CREATE TABLE t (x int)")
        await #expect(throws: Boom.self) {
            try await conn.withTransaction { conn in
                _ = try conn.runQuery("INSERT INTO t VALUES (1)")
                _ = try conn.runQuery("INSERT INTO t VALUES (2)")
                throw Boom()
            }
        }
        #expect(try await conn.query("SELECT count(*) FROM t")[0].decode(Int.self, column: 0) == 0)
        #expect(await conn.isInTransaction == false)

        // A server error inside rolls back too, and the original error is what the caller sees.
        let e = await #expect(throws: PostgresError.self) {
            try await conn.withTransaction { conn in
                _ = try conn.runQuery("INSERT INTO t VALUES (3)")
                _ = try conn.runQuery("INSERT INTO t VALUES ('not a number')")
            }
        }
        #expect(e?.sqlState == .invalidTextRepresentation)
        #expect(try await conn.query("SELECT count(*) FROM t")[0].decode(Int.self, column: 0) == 0)

        // Commit on success; nested transaction rolls back to its savepoint only.
        try await conn.withTransaction { conn in
            _ = try conn.runQuery("INSERT INTO t VALUES (10)")
            do {
                try await conn.withTransaction { conn in
                    _ = try conn.runQuery("INSERT INTO t VALUES (11)")
                    throw Boom()
                }
            } catch is Boom {}
        }
        let values = try await conn.query("SELECT x FROM t ORDER BY x").map { try $0.decode(Int.self, column: 0) }
        #expect(values == [10])
        await conn.close()
    }

    @Test func cancellingTheTaskCancelsTheQuery() async throws {
        let db = try await TestPostgres.freshDatabase()
        let conn = try await PostgresConnection.connect(db.configuration)
        let started = ContinuousClock.now
        let task = Task { try await conn.query("SELECT pg_sleep(30)") }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        let result = await task.result
        #expect(ContinuousClock.now - started < .seconds(10))
        guard case .failure(let error) = result, let pg = error as? PostgresError else {
            Issue.record("expected the query to fail with a PostgresError, got \(result)")
            return
        }
        #expect(pg.sqlState == .queryCanceled)
        #expect(pg.kind == .cancelled)
        #expect(try await conn.query("SELECT 42")[0].decode(Int.self, column: 0) == 42)
        await conn.close()
    }

    @Test func queryTextInterpolationNeverSplicesValues() {
        let evil = "x'); DROP TABLE store; --"
        let q: PostgresQuery = "SELECT * FROM store WHERE code = \(evil) AND n > \(3) AND \(identifier: "we\"ird") IS NULL"
        #expect(q.sql == "SELECT * FROM store WHERE code = $1 AND n > $2 AND \"we\"\"ird\" IS NULL")
        #expect(q.bindings == [.text(evil), .text("3")])
        #expect(!q.description.contains("DROP"))
        var combined: PostgresQuery = "SELECT \(1), "
        combined.append("\(2) + \(3)")
        #expect(combined.sql == "SELECT $1, $2 + $3")
    }

    @Test func configurationDescriptionRedactsPasswords() {
        #expect(PostgresConfiguration(connectionString: "postgresql://kpi:s3cret@db.example/kpi?sslmode=verify-full").redactedDescription
            == "postgresql://kpi:***@db.example/kpi?sslmode=verify-full")
        #expect(PostgresConfiguration(connectionString: "host=db password=s3cret dbname=kpi").redactedDescription
            == "host=db password=*** dbname=kpi")
        #expect(PostgresConfiguration(connectionString: "postgres://h/db?password=s3cret&x=1").redactedDescription
            == "postgres://h/db?password=***&x=1")
    }
}
