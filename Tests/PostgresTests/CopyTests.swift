import Foundation
import Postgres
import Testing
import TestSupport

@Suite("COPY FROM STDIN")
struct CopyTests {
    @Test func copiesAMillionNonASCIIRows() async throws {
        let db = try await TestPostgres.freshDatabase()
        let conn = try await PostgresConnection.connect(db.configuration)
        try await conn.executeScript("CREATE UNLOGGED TABLE visit (id bigint, store text, note text, amount numeric)")
        let total = 1_000_000
        let copied = try await conn.copyFrom("COPY visit (id, store, note, amount) FROM STDIN") { writer in
            for i in 0..<total {
                writer.appendField(i)
                try writer.appendField("门店\(i % 500)")
                try writer.appendField(i % 1000 == 0 ? nil : "来店 \(i)\t试驾\n第二行\\ 🚗")
                try writer.appendField("\(i % 100).25")
                try writer.endRow()
            }
        }
        #expect(copied == total)
        let rows = try await conn.query("""
            SELECT count(*), count(note), sum(amount), max(id),
                   sum(octet_length(store)), bool_and(note IS NULL OR note = '来店 ' || id || E'\\t试驾\\n第二行\\\\ 🚗')
            FROM visit
            """)
        let (count, notes, sum, maxID, storeBytes, exact) = try rows[0].decode((Int, Int, Decimal, Int, Int, Bool).self)
        #expect(count == total)
        #expect(notes == total - total / 1000)
        #expect(maxID == total - 1)
        #expect(sum == Decimal(string: "49500000")! + Decimal(total) * Decimal(string: "0.25")!)
        #expect(exact)
        // Exact bytes: every 门店 (6 bytes) plus the decimal digits of i % 500.
        let expectedStoreBytes = (0..<total).reduce(0) { $0 + 6 + String($1 % 500).utf8.count }
        #expect(storeBytes == expectedStoreBytes)
        await conn.close()
    }

    struct ProducerFailed: Error {}

    @Test func failingProducerLeavesNothingAndConnectionUsable() async throws {
        let db = try await TestPostgres.freshDatabase()
        let conn = try await PostgresConnection.connect(db.configuration)
        try await conn.executeScript("CREATE TABLE t (x int, s text)")
        await #expect(throws: ProducerFailed.self) {
            try await conn.copyFrom("COPY t FROM STDIN") { writer in
                for i in 0..<200_000 { // several flushed chunks reach the server before the failure
                    writer.appendField(i)
                    try writer.appendField("行 \(i)")
                    try writer.endRow()
                }
                throw ProducerFailed()
            }
        }
        #expect(try await conn.query("SELECT count(*) FROM t")[0].decode(Int.self, column: 0) == 0)
        // Inside a transaction the transaction survives the aborted COPY? No: it is failed, and rolls back.
        await #expect(throws: ProducerFailed.self) {
            try await conn.withTransaction { conn in
                _ = try conn.runQuery("INSERT INTO t VALUES (1, 'kept?')")
                _ = try conn.runCopyFrom("COPY t FROM STDIN") { writer in
                    try writer.writeRow(["2", "x"])
                    throw ProducerFailed()
                }
            }
        }
        #expect(try await conn.query("SELECT count(*) FROM t")[0].decode(Int.self, column: 0) == 0)
        #expect(await conn.isInTransaction == false)
        #expect(try await conn.copyFrom("COPY t FROM STDIN") { try $0.writeRow(["7", "after"]) } == 1)
        await conn.close()
    }

    @Test func badDataFailsWithServerErrorAndLeavesNothing() async throws {
        let db = try await TestPostgres.freshDatabase()
        let conn = try await PostgresConnection.connect(db.configuration)
        try await conn.executeScript("CREATE TABLE t (x int NOT NULL)")
        let error = await #expect(throws: PostgresError.self) {
            try await conn.copyFrom("COPY t FROM STDIN") { writer in
                for i in 0..<1000 { try writer.writeRow([i == 999 ? nil : String(i)]) }
            }
        }
        #expect(error?.sqlState == .notNullViolation)
        #expect(try await conn.query("SELECT count(*) FROM t")[0].decode(Int.self, column: 0) == 0)
        await conn.close()
    }

    @Test func nulInCopyFieldIsRejected() async throws {
        let db = try await TestPostgres.freshDatabase()
        let conn = try await PostgresConnection.connect(db.configuration)
        try await conn.executeScript("CREATE TABLE t (s text)")
        let error = await #expect(throws: PostgresError.self) {
            try await conn.copyFrom("COPY t FROM STDIN") { try $0.writeRow(["a\u{0}b"]) }
        }
        #expect(error?.kind == .misuse)
        #expect(try await conn.query("SELECT count(*) FROM t")[0].decode(Int.self, column: 0) == 0)
        await conn.close()
    }
}
