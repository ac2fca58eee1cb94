import Postgres
import Testing
import Warehouse

@Suite("Warehouse schema")
struct WarehouseSchemaTests {
    @Test func migrationsAreEmbeddedInVersionOrder() {
        let versions = WarehouseSchema.migrations.map(\.version)
        #expect(!versions.isEmpty)
        #expect(versions == versions.sorted())
        #expect(Set(versions).count == versions.count)
    }
}

/// The core.code domain's check (sql/008) accepts exactly what the contract's `[A-Za-z0-9_-]{1,32}` does.
@Suite("Warehouse schema: codes")
struct CodeDomainTests {
    @Test func theCodeDomainAcceptsExactlyTheContractsCodes() async throws {
        try await TestWarehouse.with(masterData: false) { wh in
            let contract = "^[A-Za-z0-9_-]{1,32}$"
            let edges = ["", "a", "Z", "0", "_", "-", "A1-b_2", String(repeating: "x", count: 32), String(repeating: "x", count: 33),
                         "a b", " a", "a ", "a\n", "\na", "a\t", "ä", "中", "A.B", "a/b", "a'b", "a\\b", "é1", "ＡＢ",
                         String(repeating: "9", count: 31) + "-", "-" + String(repeating: "_", count: 32)]
            for value in edges {
                let expected = try await wh.db.query("SELECT \(value) ~ \(contract)")[0].decode(Bool.self, column: 0)
                var accepted = true
                do { _ = try await wh.db.query("SELECT \(value)::core.code") } catch let e as PostgresError where e.sqlState == .checkViolation {
                    accepted = false
                }
                #expect(accepted == expected, "\(value.debugDescription): domain \(accepted), contract \(expected)")
            }
            // And 200,000 random strings of 0-40 characters: half over the allowed characters only (the length
            // limit decides), half also over disallowed ones.
            let differing = try await wh.int("""
                WITH s AS (
                    SELECT (SELECT string_agg(substr(alphabet, 1 + floor(random() * length(alphabet))::int + i * 0, 1), '')
                            FROM generate_series(1, n) i) AS v
                    FROM (SELECT floor(random() * 41)::int AS n,
                                 CASE WHEN g % 2 = 0 THEN 'aZ09_-' ELSE 'aZ09_- .\nä中/x' END AS alphabet
                          FROM generate_series(1, 200000) g) k
                )
                SELECT count(*) FROM s
                WHERE (coalesce(v, '') ~ \(contract)) IS DISTINCT FROM (coalesce(v, '') ~ '^[A-Za-z0-9_-]+$' AND length(coalesce(v, '')) <= 32)
                """)
            #expect(differing == 0)
            // The domain's own expression is the one compared above.
            #expect(try await wh.strings("""
                SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contypid = 'core.code'::regtype
                """) == ["CHECK (((VALUE ~ '^[A-Za-z0-9_-]+$'::text) AND (length(VALUE) <= 32))) NOT VALID"])
        }
    }
}
