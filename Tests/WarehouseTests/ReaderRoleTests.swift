import Foundation
import Postgres
import Testing
import TestSupport
import Warehouse

/// `kpi_reader` (sql/004), as BI tools use it: a real LOGIN role granted `kpi_reader`, connected on its own.
/// It reads every `bi` view, reads nothing else, writes nothing, and no `bi` view carries customer PII.
@Suite("kpi_reader: read-only, bi only, no PII")
struct ReaderRoleTests {
    /// The views BI tools are promised (README, docs/bi.md); any other `bi` relation is checked as well.
    static let documentedViews: Set<String> = ["kpi_values", "scorecard", "kpi_wide", "store_month", "weekday_profile"]

    /// Column names that would mean a view exposes customer (or employee) personal data.
    /// Customer data (and generic names that could hold it). `salesperson_name` is not here: an employee's
    /// name from HQ's own master data, exposed on purpose in `bi.dim_salesperson` (sql/012).
    static let piiColumnNames: Set<String> = [
        "customer_name", "customer_name_masked", "name", "phone", "phone_hash", "mobile", "telephone",
        "vin", "card_id", "card", "existing_card", "new_card", "lost_reason", "id_number", "address", "email", "source_line",
    ]

    static let customerName = "欧阳娜娜"
    static let phone = "139-8765-4321"
    static let vin = "LFV2A21K8M3123456"

    @Test func readsEveryBIView() async throws {
        try await withReader { wh, reader in
            let views = try await reader.query("""
                SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'bi' ORDER BY 1
                """).map { try $0.decode(String.self, column: 0) }
            #expect(Self.documentedViews.isSubset(of: Set(views)), "\(views)")
            for view in views {
                let n = try await reader.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM bi.\(PostgresQuery.quoteIdentifier(view))"))[0]
                    .decode(Int.self, column: 0)
                // Every view has rows after the refresh (weekday_profile and the month views included): the reader
                // sees data, not just an empty relation.
                #expect(n > 0, "bi.\(view) is empty for the reader")
            }
            // The reader sees the same rows as the owner.
            let ownerCount = try await wh.int("SELECT count(*) FROM bi.kpi_values")
            #expect(try await reader.query("SELECT count(*) FROM bi.kpi_values")[0].decode(Int.self, column: 0) == ownerCount)
        }
    }

    @Test func readsNothingOutsideBI() async throws {
        try await withReader { wh, reader in
            let relations = try await wh.query("""
                SELECT n.nspname::text, c.relname::text, c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname IN ('core', 'kpi', 'ops', 'public') AND c.relkind IN ('r', 'v', 'm', 'p', 'f', 'S')
                ORDER BY 1, 2
                """).map { try $0.decode((String, String, String).self) }
            #expect(relations.contains { $0.0 == "ops" && $0.1 == "api_token" })
            #expect(relations.contains { $0.0 == "core" && $0.1 == "prospect_card" })
            #expect(relations.contains { $0.0 == "kpi" && $0.1 == "snapshot" })
            for (schema, name, _) in relations {
                let q = PostgresQuery(unsafeSQL: "SELECT * FROM \(PostgresQuery.quoteIdentifier(schema)).\(PostgresQuery.quoteIdentifier(name)) LIMIT 1")
                await expectDenied(reader, q, "read \(schema).\(name)")
            }
            // Functions in the private schemas, sequences, and the token table by any path.
            await expectDenied(reader, "SELECT core.business_day(now())", "call core.business_day")
            await expectDenied(reader, "SELECT nextval('core.state_sequence')", "nextval core.state_sequence")
            await expectDenied(reader, "SELECT token_hash FROM ops.api_token", "read ops.api_token")
            // No SECURITY DEFINER function anywhere could lend the reader its owner's rights.
            #expect(try await wh.int("""
                SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE p.prosecdef AND n.nspname IN ('core', 'kpi', 'ops', 'bi', 'public')
                """) == 0)
            // Its effective rights, as the catalog states them: SELECT on bi views only.
            let grants = try await wh.strings("""
                SELECT DISTINCT table_schema || '.' || privilege_type FROM information_schema.role_table_grants
                WHERE grantee = 'kpi_reader' ORDER BY 1
                """)
            #expect(grants == ["bi.SELECT"])
        }
    }

    @Test func writesNothingAnywhere() async throws {
        try await withReader { wh, reader in
            let before = try await wh.coreFingerprint()
            let snapshotsBefore = try await wh.string("SELECT count(*)::text || md5(string_agg(s::text, '|' ORDER BY s::text)) FROM kpi.snapshot s")
            let attempts: [(String, PostgresQuery)] = [
                // bi.kpi_wide is a simple (auto-updatable) view over kpi.snapshot: writable through, if granted.
                ("insert bi.kpi_wide", "INSERT INTO bi.kpi_wide (level, grain, period_start, period_end) VALUES ('store', 'day', '2026-03-01', '2026-03-01')"),
                ("update bi.kpi_wide", "UPDATE bi.kpi_wide SET walkin_groups = 999"),
                ("delete bi.kpi_wide", "DELETE FROM bi.kpi_wide"),
                ("truncate kpi.snapshot", "TRUNCATE kpi.snapshot"),
                ("delete kpi.snapshot", "DELETE FROM kpi.snapshot"),
                ("insert core.store", "INSERT INTO core.store (store_code, store_name, region_code, opened_on) VALUES ('X9', 'x', 'EAST', '2020-01-01')"),
                ("update core.prospect_card", "UPDATE core.prospect_card SET level = 'C'"),
                ("delete core.visit", "DELETE FROM core.visit"),
                ("truncate core.visit", "TRUNCATE core.visit"),
                ("insert ops.api_token", "INSERT INTO ops.api_token (role, token_hash) VALUES ('operator', 'x')"),
                ("update ops.api_token", "UPDATE ops.api_token SET revoked_at = NULL"),
                ("insert ops.job_request", "INSERT INTO ops.job_request (job) VALUES ('refresh')"),
                ("create table public", "CREATE TABLE public.reader_was_here (x int)"),
                ("create view bi", "CREATE VIEW bi.reader_was_here AS SELECT 1 AS x"),
                ("create table core", "CREATE TABLE core.reader_was_here (x int)"),
                ("create table kpi", "CREATE TABLE kpi.reader_was_here (x int)"),
                ("create table ops", "CREATE TABLE ops.reader_was_here (x int)"),
                ("create function public", "CREATE FUNCTION public.reader_was_here() RETURNS int LANGUAGE sql AS 'SELECT 1'"),
                ("create schema", "CREATE SCHEMA reader_was_here"),
                ("alter view", "ALTER VIEW bi.kpi_values RENAME TO kpi_values_old"),
                ("drop view", "DROP VIEW bi.scorecard"),
                ("grant", "GRANT SELECT ON core.prospect_card TO kpi_reader"),
                ("comment", "COMMENT ON VIEW bi.kpi_values IS 'changed'"),
            ]
            for (what, q) in attempts { await expectDenied(reader, q, what) }
            // A view that is not auto-updatable is refused even before the privilege check.
            await expectDenied(reader, "UPDATE bi.kpi_values SET value = 0", "update bi.kpi_values", as: [.insufficientPrivilege, SQLState("55000")])
            #expect(try await wh.coreFingerprint() == before)
            #expect(try await wh.string("SELECT count(*)::text || md5(string_agg(s::text, '|' ORDER BY s::text)) FROM kpi.snapshot s") == snapshotsBefore)
            #expect(try await wh.int("SELECT count(*) FROM pg_class WHERE relname LIKE 'reader_was_here%' OR relname = 'kpi_values_old'") == 0)
            #expect(try await wh.int("SELECT count(*) FROM ops.api_token") == 0)
            #expect(try await wh.int("SELECT count(*) FROM ops.job_request") == 0)
        }
    }

    @Test func noBIViewExposesPII() async throws {
        try await withReader { wh, reader in
            // 1. By name: no column of any bi view is a PII column.
            let columns = try await reader.query("""
                SELECT table_name::text, column_name::text FROM information_schema.columns WHERE table_schema = 'bi' ORDER BY 1, 2
                """).map { try $0.decode((String, String).self) }
            #expect(Set(columns.map(\.0)).isSuperset(of: Self.documentedViews))
            for (view, column) in columns {
                #expect(!Self.piiColumnNames.contains(column), "bi.\(view).\(column) is a PII column")
            }

            // 2. By value: what ingest stored for the customer (as the owner sees it) appears in no bi row.
            let stored = try await wh.query("SELECT phone_hash, customer_name_masked FROM core.prospect_card WHERE card_id = 'A-PII'")
            #expect(stored.count == 1)
            let (hash, masked) = try stored[0].decode((String?, String?).self)
            let phoneHash = try #require(hash)
            #expect(phoneHash.count == 64)
            #expect(masked != nil && masked != Self.customerName)
            let needles = [Self.phone, "13987654321", "87654321", "8765-4321", phoneHash, String(phoneHash.prefix(16)),
                           Self.customerName, "欧阳", masked ?? Self.customerName, Self.vin, "A-PII"]
            let views = Set(columns.map(\.0)).sorted()
            var rowsSearched = 0
            for view in views {
                let table = "bi.\(PostgresQuery.quoteIdentifier(view))"
                rowsSearched += try await reader.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table)"))[0].decode(Int.self, column: 0)
                for needle in needles {
                    let q = PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table) x WHERE strpos(x::text, $1) > 0", bindings: [.text(needle)])
                    let hits = try await reader.query(q)[0].decode(Int.self, column: 0)
                    #expect(hits == 0, "bi.\(view) shows \(needle.prefix(4))…")
                }
            }
            #expect(rowsSearched > 100)
            // The needles are findable where they are: the search itself works.
            #expect(try await wh.coreOccurrences(of: phoneHash) >= 1)
            #expect(try await wh.coreOccurrences(of: Self.vin) >= 1)
        }
    }

    // MARK: fixture

    /// A warehouse with a report carrying a known customer (name, phone) and a delivered car's VIN, snapshots
    /// refreshed, and a LOGIN role in `kpi_reader` connected on its own connection.
    func withReader(_ body: (TestWarehouse, PostgresConnection) async throws -> Void) async throws {
        try await TestWarehouse.with { wh in
            let report = Report(store: "S1", date: "2026-03-02",
                                visits: [VisitRow(id: "V1", newCard: "A-PII", testDrive: true), VisitRow(id: "V2", salesperson: "S1-02")],
                                prospects: [CardRow(card: "A-PII", createdOn: "2026-03-02", customerName: Self.customerName, phone: Self.phone)],
                                sales: [OrderRow(order: "O-1", orderDate: "2026-03-02", status: "delivered", deliveryDate: "2026-03-02", vin: Self.vin)])
            try await wh.accept(report, receivedAt: "2026-03-02T21:00:00+08:00")
            try await wh.accept(Report(store: "S2", date: "2026-03-02", visits: [VisitRow(id: "V1", salesperson: "S2-01")]),
                                receivedAt: "2026-03-02T21:00:00+08:00")
            _ = try await SnapshotRefresher(pool: wh.pool, logger: TestPostgres.logger).refresh(mode: .full)

            try await wh.withReaderLogin { reader in try await body(wh, reader) }
        }
    }

    func expectDenied(_ reader: PostgresConnection, _ query: PostgresQuery, _ what: String,
                      as expected: Set<SQLState> = [.insufficientPrivilege], sourceLocation: SourceLocation = #_sourceLocation) async {
        do {
            _ = try await reader.query(query)
            Issue.record("the reader could \(what)", sourceLocation: sourceLocation)
        } catch {
            let state = (error as? PostgresError)?.sqlState
            #expect(state.map(expected.contains) == true, "\(what): \(error)", sourceLocation: sourceLocation)
        }
    }
}
