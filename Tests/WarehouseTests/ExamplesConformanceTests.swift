import Foundation
import Postgres
import Testing
import TestSupport
import Warehouse

/// The shared examples through the whole chain (load → ingest every manifest step as one upload with its
/// receipt time → aggregate), compared with the values computed independently from the contract
/// (`expected/expected.csv`: every row, value, numerator and denominator; `expected_scores.csv`: the month
/// scores and composites), as exact numerics (scale does not matter: 1.0 = 1; an empty cell is null). The manifest includes a byte-identical re-send and a prospects
/// CSV arriving after its visits (contract 1.1): neither may change a value.
@Suite("Conformance: the shared examples against their expected values",
       .enabled(if: SharedExamples.directory != nil, "shared/examples not present: conformance not checked"))
struct ExamplesConformanceTests {
    enum RefreshPlan: String, CaseIterable { case once, afterEveryStep }

    @Test(arguments: RefreshPlan.allCases)
    func kpiValuesMatchExactly(plan: RefreshPlan) async throws {
        let dir = try #require(SharedExamples.directory)
        try await TestWarehouse.with(masterData: false) { wh in
            let master = ["regions", "models", "stores", "salespeople", "plans", "expenses"].map { dir.appending(path: "master/\($0).csv").path }
            for r in try await wh.loader.load(paths: master) { #expect(r.isAccepted, "\(String(describing: r.rejection))") }
            let manifest = try IngestManifest.read(path: dir.appending(path: "manifest.json").path)
            #expect(manifest.steps.count >= 8)
            let refresher = SnapshotRefresher(pool: wh.pool, instance: "conformance", logger: TestPostgres.logger)
            var duplicates = 0
            for step in manifest.steps {
                let upload = try await wh.ingestor.ingest(upload: step.paths.map { IngestFile(path: $0) }, receivedAt: step.receivedAt)
                #expect(upload.isAccepted, "\(upload.files.compactMap(\.rejection))")
                duplicates += upload.storeDays.filter(\.duplicate).count
                if plan == .afterEveryStep { _ = try await refresher.refresh(mode: .incremental) }
            }
            #expect(duplicates == 1, "the re-send of HZ001 2026-03-04 is the corpus's one duplicate")
            if plan == .once { _ = try await refresher.refresh(mode: .incremental) }

            let expectedRows = try await Self.loadExpected(dir.appending(path: "expected/expected.csv"), into: wh.db)
            #expect(expectedRows > 5000)
            // Every expected row must have a row in bi.kpi_values with the same key and the same numbers.
            let missing = try await wh.strings("""
                SELECT concat_ws(' ', e.level, e.grain, e.period_start, e.region_code, e.store_code, e.salesperson_code, e.kpi_code,
                                 'expected', coalesce(e.value::text, 'null'), coalesce(e.numerator::text, 'null'), coalesce(e.denominator::text, 'null'),
                                 'got', coalesce(g.value::text, 'null'), coalesce(g.numerator::text, 'null'), coalesce(g.denominator::text, 'null'))
                FROM expected e
                LEFT JOIN LATERAL (
                    SELECT x.value, x.numerator, x.denominator FROM bi.kpi_values x
                    WHERE (x.level, x.grain, x.period_start, x.kpi_code) = (e.level, e.grain, e.period_start, e.kpi_code)
                      AND x.region_code IS NOT DISTINCT FROM e.region_code AND x.store_code IS NOT DISTINCT FROM e.store_code
                      AND x.salesperson_code IS NOT DISTINCT FROM e.salesperson_code
                ) g ON true
                WHERE g.value IS DISTINCT FROM e.value OR g.numerator IS DISTINCT FROM e.numerator
                   OR g.denominator IS DISTINCT FROM e.denominator
                   OR NOT EXISTS (SELECT 1 FROM bi.kpi_values x
                                  WHERE (x.level, x.grain, x.period_start, x.kpi_code) = (e.level, e.grain, e.period_start, e.kpi_code)
                                    AND x.region_code IS NOT DISTINCT FROM e.region_code AND x.store_code IS NOT DISTINCT FROM e.store_code
                                    AND x.salesperson_code IS NOT DISTINCT FROM e.salesperson_code)
                ORDER BY 1 LIMIT 20
                """)
            #expect(missing.isEmpty, "\(missing.count)+ expected rows differ, e.g.:\n\(missing.joined(separator: "\n"))")
            // And the accuracy KPIs the 1.1 steps could distort, by name.
            // The month scores (expected_scores.csv): value, target, score and weight per scored KPI, and the
            // composite (kpi_code COMPOSITE: score = composite_score, weight = total_weight), exactly.
            let scoreRows = try await Self.loadExpectedScores(dir.appending(path: "expected/expected_scores.csv"), into: wh.db)
            #expect(scoreRows > 200)
            let scoreDiffs = try await wh.strings("""
                WITH got AS (
                    SELECT v.level, v.grain, v.period_start, v.region_code, v.store_code, v.salesperson_code, v.kpi_code,
                           v.value, v.target, v.score, s.weight
                    FROM bi.kpi_values v
                    JOIN kpi.kpi_scored s ON (s.level, s.grain, s.period_start, s.kpi_code) = (v.level, v.grain, v.period_start, v.kpi_code)
                     AND s.region_code IS NOT DISTINCT FROM v.region_code AND s.store_code IS NOT DISTINCT FROM v.store_code
                     AND s.salesperson_code IS NOT DISTINCT FROM v.salesperson_code
                    WHERE v.target IS NOT NULL
                    UNION ALL
                    SELECT level, grain, period_start, region_code, store_code, salesperson_code, 'COMPOSITE',
                           NULL, NULL, composite_score, total_weight
                    FROM bi.scorecard
                )
                SELECT concat_ws(' ', e.level, e.period_start, e.store_code, e.salesperson_code, e.kpi_code,
                                 'expected', e.value, e.target, e.score, e.weight, 'got', g.value, g.target, g.score, g.weight)
                FROM expected_scores e
                LEFT JOIN got g ON (g.level, g.grain, g.period_start, g.kpi_code) = (e.level, e.grain, e.period_start, e.kpi_code)
                 AND g.region_code IS NOT DISTINCT FROM e.region_code AND g.store_code IS NOT DISTINCT FROM e.store_code
                 AND g.salesperson_code IS NOT DISTINCT FROM e.salesperson_code
                WHERE g.kpi_code IS NULL OR g.value IS DISTINCT FROM e.value OR g.target IS DISTINCT FROM e.target
                   OR g.score IS DISTINCT FROM e.score OR g.weight IS DISTINCT FROM e.weight
                ORDER BY 1 LIMIT 20
                """)
            #expect(scoreDiffs.isEmpty, "\(scoreDiffs.count)+ expected scores differ, e.g.:\n\(scoreDiffs.joined(separator: "\n"))")

            // The only correction is NJ001's 03-05 re-send with changes; the re-send of HZ001 03-04 and the late
            // prospects CSV of 03-06 are not corrections.
            #expect(try await wh.strings("""
                SELECT store_code || ' ' || period_start FROM bi.kpi_values
                WHERE kpi_code = 'REPORTS_CORRECTED' AND level = 'store' AND grain = 'day' AND value > 0
                """) == ["NJ001 2026-03-05"])
        }
    }

    @Test func examplesArePresentUnderCI() {
        #expect(!SharedExamples.missingUnderCI, "CI=true but shared/examples is missing: conformance would be skipped")
    }

    static let keyColumns = ["level text", "grain text", "period_start date", "region_code text", "store_code text",
                             "salesperson_code text", "kpi_code text"]

    /// `expected.csv` into a temporary table `expected` of the connection (empty cells null); its row count.
    static func loadExpected(_ url: URL, into db: PostgresConnection) async throws -> Int {
        try await loadCSV(url, into: db, table: "expected",
                          columns: keyColumns + ["value numeric", "numerator numeric", "denominator numeric"])
    }

    /// `expected_scores.csv` into a temporary table `expected_scores` (the deviation column is kept but not
    /// compared: BI does not show a deviation). Its row count.
    static func loadExpectedScores(_ url: URL, into db: PostgresConnection) async throws -> Int {
        try await loadCSV(url, into: db, table: "expected_scores",
                          columns: keyColumns + ["value numeric", "target numeric", "deviation numeric", "score numeric", "weight numeric"])
    }

    /// A CSV file without quoting (as the expected files are) into a new temporary table whose columns
    /// (`name type`) must be the file's header, in order; empty cells are null. Returns the row count.
    static func loadCSV(_ url: URL, into db: PostgresConnection, table: String, columns: [String]) async throws -> Int {
        let text = try String(contentsOf: url, encoding: .utf8)
        var lines = text.split(whereSeparator: \.isNewline).map(String.init)
        let names = columns.map { String($0.split(separator: " ")[0]) }
        #expect(lines.removeFirst() == names.joined(separator: ","), "\(url.lastPathComponent): unexpected header")
        let rows = lines.map { line in line.split(separator: ",", omittingEmptySubsequences: false).map { $0.isEmpty ? nil : String($0) } }
        let create = "CREATE TEMP TABLE \(table) (\(columns.joined(separator: ", ")))"
        return try await db.withTransaction { conn in
            try conn.runScript(create)
            return try conn.runCopyFrom(PostgresQuery(unsafeSQL: "COPY \(table) FROM STDIN")) { w in
                for row in rows {
                    precondition(row.count == columns.count, "\(url.lastPathComponent): a row of \(row.count) cells")
                    try w.writeRow(row)
                }
            }
        }
    }
}
