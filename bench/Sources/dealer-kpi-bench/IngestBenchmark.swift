import CivilCalendar
import DailyReport
import Foundation
import LocalPostgres
import Logging
import Postgres
import Warehouse
#if canImport(Glibc)
import Glibc
#endif

/// bench/ingest: rows/s of `ReportIngestor.ingest` end to end (parse, validate, COPY to staging, merge,
/// change log) over a corpus's visits files, against two baselines measured in the same run on the same
/// server and the same fact table `core.visit`:
/// - A: `psql \copy` of the same visit rows: the rows ours stored, exported after each run of ours (every
///   column, submission ids included, so the foreign-key checks look up the same core.report_submission);
/// - B: one parameterized INSERT per row through `PostgresConnection.execute`, one transaction, for a sample
///   of those rows.
/// Ours must have stored exactly the rows derived independently from the files (checked in every run).
/// And the peak RSS of the ingest process (a child: `dealer-kpi-bench ingest-only`) for each corpus size.
struct IngestBenchmark {
    let workdir: URL
    /// Corpus sizes in visit rows (prefixes of the corpus, whole files); the largest is the measured run.
    let sizes: [Int]
    let insertSample: Int
    let copyRuns: Int
    /// Runs of ours at the largest size (each in a fresh database); the rate is their median.
    let oursRuns: Int
    let stores: Int
    let days: Int
    let traffic: Double
    /// Development aid: measure ours (and its peak RSS) only.
    var oursOnly = false
    /// What-if for a schema proposal: drop core.visit's foreign keys in the bench databases (every measured
    /// path, ours and both baselines, then skips the per-row referential checks). Not the shipped schema.
    var dropVisitForeignKeys = false
    /// What-if for issue 3's "partition the biggest facts by month if measurement says it helps": core.visit
    /// replaced by a table range-partitioned by month of business_date (same columns, keys, checks, foreign key
    /// and index), in every bench database. Not the shipped schema.
    var partitionVisitsByMonth = false
    let seed: UInt64 = 7

    func run() async throws {
        let cluster = try BenchCluster.start(in: workdir)
        let corpus = try IngestCorpus.ensure(workdir: workdir, stores: stores, days: days, traffic: traffic, seed: seed)
        let target = sizes.max()!
        guard corpus.visitRows >= target else {
            throw BenchError("the corpus has \(corpus.visitRows) visit rows, fewer than \(target): raise --days or --traffic")
        }
        let allFiles = try IngestCorpus.visitFiles(corpus: corpus.directory)
        print("corpus: \(corpus.directory.path): \(corpus.visitRows) visit rows in \(allFiles.count) CSV visits files"
              + " (\(corpus.csvFiles) CSV files in all, \(corpus.gb18030Files) GB18030); the corpus also has"
              + " \(corpus.allVisitRows - corpus.visitRows) visit rows in JSON reports, \(corpus.prospectRows) prospect"
              + " and \(corpus.salesRows) sales rows (CSV and JSON), not ingested"
              + (corpus.generatedSeconds.map { String(format: "; generated in %.1f s", $0) } ?? "; reused"))

        // 1 + 4. Ours, as a child process per size (smallest first), each in a fresh database. Then the
        // largest size `oursRuns` times, each run followed at once by a `psql \copy` run of the same rows
        // into the same table (baseline A): on a machine shared with other work the load changes by the
        // minute, so each ratio pairs runs measured back to back.
        var runs: [Int: ChildRun] = [:]
        var targetRuns: [ChildRun] = []
        for size in sizes.sorted() where size != target {
            let db = "bench_ingest_\(size)"
            let masterSeconds = try await prepareDatabase(cluster, db, corpus: corpus)
            let run = try runChild(corpus: corpus, conninfo: cluster.connectionString(database: db), maxVisitRows: size)
            runs[size] = run
            printOurs(size, run, masterSeconds)
        }
        let db = "bench_ingest_\(target)"
        // Baseline A's input: exactly the rows ours stored, submission ids included (exported after each run of
        // ours), so that \copy's foreign-key checks look up the same core.report_submission that ours' did.
        let copyFile = workdir.appending(path: "visit-rows.copy")
        // The rows derived independently from the files, for the check that ours stored exactly them.
        let derivedFile = workdir.appending(path: "visit-rows-derived.copy")
        var stored = 0
        var expectedDigest = ""
        var parseSeconds = 0.0
        var copySeconds: [Double] = []
        for round in 0..<max(1, oursRuns) {
            let masterSeconds = try await prepareDatabase(cluster, db, corpus: corpus)
            let run = try runChild(corpus: corpus, conninfo: cluster.connectionString(database: db), maxVisitRows: target)
            targetRuns.append(run)
            if (runs[target]?.peakRSSMB ?? -1) < run.peakRSSMB { runs[target] = run } // peak RSS: the highest of a size's runs
            printOurs(target, run, masterSeconds)
            if oursOnly { continue }
            let conn = try await PostgresConnection.connect(cluster.configuration(database: db))
            let (n, oursDigest) = try await visitDigest(conn)
            if round == 0 {
                stored = n
                // Phase: the client-side share: parse and validate the same files (with the reference data), no database.
                parseSeconds = try await parseOnly(conn, Array(allFiles.prefix(run.files)))
                // Ours stored exactly the rows derived here independently (every column but submission_id).
                let derived = try writeCopyFile(Array(allFiles.prefix(run.files)), submission: Self.baselineSubmission, to: derivedFile)
                guard derived == stored else {
                    throw BenchError("the files yield \(derived) visit rows but ingest stored \(stored) in core.visit")
                }
                _ = try BenchCluster.psql(cluster, database: db, command: "\\copy (SELECT * FROM core.visit) TO '\(copyFile.path)'")
                try await createSubmission(conn)
                try await conn.executeScript("TRUNCATE core.visit")
                _ = try BenchCluster.psql(cluster, database: db, command: "\\copy core.visit FROM '\(derivedFile.path)'")
                let (derivedRows, derivedDigest) = try await visitDigest(conn)
                guard derivedRows == stored, derivedDigest == oursDigest else {
                    throw BenchError("core.visit after ingest differs from the rows derived from the files (digest \(oursDigest) vs \(derivedDigest), \(derivedRows) rows)")
                }
                try? FileManager.default.removeItem(at: derivedFile)
                expectedDigest = derivedDigest
            } else {
                _ = try BenchCluster.psql(cluster, database: db, command: "\\copy (SELECT * FROM core.visit) TO '\(copyFile.path)'")
            }
            guard n == stored, oursDigest == expectedDigest else {
                throw BenchError("run \(round + 1) of ours stored \(n) rows (digest \(oursDigest)), not the \(stored) derived from the files (\(expectedDigest))")
            }
            try await conn.executeScript("TRUNCATE core.visit; CHECKPOINT")
            copySeconds.append(try BenchCluster.psql(cluster, database: db, command: "\\copy core.visit FROM '\(copyFile.path)'"))
            let (copied, digest) = try await visitDigest(conn)
            guard copied == stored, digest == oursDigest else {
                throw BenchError("psql \\copy of ours' exported rows left \(copied) rows, digest \(digest) instead of \(oursDigest)")
            }
            await conn.close()
        }
        if dropVisitForeignKeys { print("NOTE: what-if run: core.visit has no foreign keys in these databases (--drop-visit-fks)") }
        if partitionVisitsByMonth { print("NOTE: what-if run: core.visit is partitioned by month in these databases (--partition-visits)") }
        let ours = targetRuns.last!
        let oursSeconds = median(targetRuns.map(\.seconds))
        let oursRate = Double(ours.visitRows) / oursSeconds
        if oursOnly { return }
        print(String(format: "phase: parse + validate only (client, no database): %.2f s = %.0f rows/s, %.0f%% of ours' time",
                     parseSeconds, Double(ours.visitRows) / parseSeconds, parseSeconds / oursSeconds * 100))
        // Extra psql \copy runs beyond one per round of ours.
        let conn = try await PostgresConnection.connect(cluster.configuration(database: db))
        for _ in copySeconds.count..<max(copySeconds.count, copyRuns) {
            try await conn.executeScript("TRUNCATE core.visit; CHECKPOINT")
            copySeconds.append(try BenchCluster.psql(cluster, database: db, command: "\\copy core.visit FROM '\(copyFile.path)'"))
        }
        let copyBytes = (try? FileManager.default.attributesOfItem(atPath: copyFile.path)[.size] as? Int) ?? 0
        let copyRate = Double(stored) / median(copySeconds)
        print(String(format: "psql \\copy: %d rows (%d bytes as COPY text) into core.visit, %d runs (%@), median %.2f s = %.0f rows/s",
                     stored, copyBytes, copySeconds.count, copySeconds.map { String(format: "%.2f", $0) }.joined(separator: ", "),
                     median(copySeconds), copyRate))

        // 3. Baseline B: one INSERT per row, one transaction, for a sample of the same rows, over the Unix socket.
        let sample = try await storedSample(conn)
        let insertSeconds = try await insertPerRow(conn, sample)
        let insertRate = Double(sample.count) / insertSeconds
        print(String(format: "INSERT per row (Unix socket): %d rows (sample; rate extrapolated) in %.2f s = %.0f rows/s", sample.count, insertSeconds, insertRate))
        await conn.close()

        // 5. The same over TCP loopback (127.0.0.1): ours, \copy and INSERT per row through the TCP code path with
        // password authentication, in a second cluster with the same settings (the bench cluster listens on its
        // socket only). Loopback adds little latency: not a stand-in for a remote server. Extra figures.
        let tcp = try await measureOverTCP(corpus: corpus, target: target, copyFile: copyFile)
        try? FileManager.default.removeItem(at: copyFile)

        print("check: core.visit after each run of ours holds exactly the \(stored) rows derived independently from the same files (count and digest of every column but submission_id)")
        let ratio = oursRate / copyRate
        let speedup = oursRate / insertRate
        let pairRatios = zip(targetRuns, copySeconds).map { run, copy in (Double(run.visitRows) / run.seconds) / (Double(stored) / copy) }
        print(String(format: "ours (median of %d run(s) of %d rows): %.2f s (%@)", targetRuns.count, ours.visitRows, oursSeconds,
                     targetRuns.map { String(format: "%.2f", $0.seconds) }.joined(separator: ", ")))
        print(String(format: "ours %.0f rows/s: %.3f x psql \\copy (goal >= 0.5; back-to-back pairs: %@), %.1f x INSERT per row (goal >= 20)",
                     oursRate, ratio, pairRatios.map { String(format: "%.3f", $0) }.joined(separator: ", "), speedup))
        print(String(format: "for scale: psql \\copy itself is %.1f x INSERT per row into core.visit in this run", copyRate / insertRate))
        print(String(format: "over TCP loopback: ours %.0f rows/s, psql \\copy %.0f rows/s (ratio %.3f), INSERT per row %.0f rows/s: ours %.1f x INSERT per row, \\copy %.1f x",
                     tcp.oursRate, tcp.copyRate, tcp.oursRate / tcp.copyRate, tcp.insertRate, tcp.oursRate / tcp.insertRate, tcp.copyRate / tcp.insertRate))
        var rss: [String: Double] = [:]
        for (size, run) in runs { rss[String(size)] = (run.peakRSSMB * 10).rounded() / 10 }
        print("peak RSS of the ingest process: " + runs.keys.sorted().map { String(format: "%d rows %.1f MB", runs[$0]!.visitRows, runs[$0]!.peakRSSMB) }.joined(separator: ", "))
        print(jsonLine([
            "bench": "ingest", "visit_rows": ours.visitRows, "files": ours.files, "ours_seconds": targetRuns.map(\.seconds),
            "ours_rows_per_s": Int(oursRate),
            "psql_copy_rows": stored, "psql_copy_seconds": copySeconds, "psql_copy_rows_per_s": Int(copyRate),
            "ratio_vs_copy": (ratio * 1000).rounded() / 1000, "ratio_vs_copy_pairs": pairRatios.map { ($0 * 1000).rounded() / 1000 },
            "insert_sample_rows": sample.count, "insert_seconds": insertSeconds, "insert_rows_per_s": Int(insertRate),
            "speedup_vs_insert": (speedup * 10).rounded() / 10, "copy_vs_insert": (copyRate / insertRate * 10).rounded() / 10,
            "tcp": ["ours_rows_per_s": Int(tcp.oursRate), "ours_seconds": tcp.oursSeconds, "psql_copy_rows_per_s": Int(tcp.copyRate),
                    "insert_rows_per_s": Int(tcp.insertRate), "insert_seconds": tcp.insertSeconds,
                    "ratio_vs_copy": (tcp.oursRate / tcp.copyRate * 1000).rounded() / 1000,
                    "speedup_vs_insert": (tcp.oursRate / tcp.insertRate * 10).rounded() / 10,
                    "copy_vs_insert": (tcp.copyRate / tcp.insertRate * 10).rounded() / 10],
            "peak_rss_mb": rss, "parse_validate_seconds": parseSeconds,
            "goal": "ratio_vs_copy >= 0.5, speedup_vs_insert >= 20, peak_rss flat",
        ]))
    }

    private func printOurs(_ size: Int, _ run: ChildRun, _ masterSeconds: Double) {
        print(String(format: "ours (size %d): %d visit rows from %d files (%d store-days) in %.2f s = %.0f rows/s; slowest file %.3f s;"
                     + " process wall %.2f s, peak RSS %.1f MB; master data loaded beforehand in %.2f s",
                     size, run.visitRows, run.files, run.storeDays, run.seconds, Double(run.visitRows) / run.seconds,
                     run.slowestFile, run.wallSeconds, run.peakRSSMB, masterSeconds))
    }

    /// Seconds for one parameterized INSERT per row of `sample` through `PostgresConnection.execute`, in one transaction.
    private func insertPerRow(_ conn: PostgresConnection, _ sample: [Row]) async throws -> Double {
        try await conn.executeScript("TRUNCATE core.visit; CHECKPOINT")
        let started = Date()
        try await conn.executeScript("BEGIN")
        for r in sample {
            try await conn.execute("""
                INSERT INTO core.visit (store_code, business_date, visit_id, channel, purpose, salesperson_code, model_code,
                    party_size, existing_card, existing_order, new_card, test_drive, walkin_group, phone_group, revisit,
                    submission_id, source_line)
                VALUES (\(r.store), \(r.date), \(r.id), \(r.channel), \(r.purpose), \(r.salesperson), \(r.model), \(r.partySize),
                    \(r.existingCard), \(r.existingOrder), \(r.newCard), \(r.testDrive), \(r.walkIn), \(r.phone), \(r.revisit),
                    \(r.submission), \(r.sourceLine))
                """)
        }
        try await conn.executeScript("COMMIT")
        return Date().timeIntervalSince(started)
    }

    struct TCPFigures {
        var oursRate: Double, oursSeconds: Double, copyRate: Double, insertRate: Double, insertSeconds: Double
    }

    /// Ours (one run at `target`), one `psql \copy` and the INSERT-per-row sample, all over TCP to 127.0.0.1, in
    /// a second cluster (`workdir/cluster-tcp`, same settings as the bench cluster, password authentication).
    private func measureOverTCP(corpus: IngestCorpus, target: Int, copyFile: URL) async throws -> TCPFigures {
        let password = "bench-ingest-tcp-only"
        var options = LocalPostgresCluster.Options()
        options.settings = BenchCluster.settings
        options.tcpPort = try freeTCPPort()
        options.superuserPassword = password
        let cluster = LocalPostgresCluster(directory: workdir.appending(path: "cluster-tcp"), options: options)
        try? cluster.destroy() // the TCP port is chosen per run and written when the cluster is created
        try cluster.start()
        defer { try? cluster.stop() }
        // libpq and psql read the password from the environment (not from a command line).
        setenv("PGPASSWORD", password, 1)
        let db = "bench_ingest_tcp"
        let conninfo = "host=127.0.0.1 port=\(cluster.port) user=postgres dbname=\(db)"
        _ = try await prepareDatabase(cluster, db, corpus: corpus)
        let run = try runChild(corpus: corpus, conninfo: conninfo, maxVisitRows: target)
        let conn = try await PostgresConnection.connect(PostgresConfiguration(connectionString: conninfo))
        // As over the socket: \copy and INSERT per row load the rows ours stored in this database.
        _ = try BenchCluster.psql(conninfo: conninfo, command: "\\copy (SELECT * FROM core.visit) TO '\(copyFile.path)'")
        try await conn.executeScript("TRUNCATE core.visit; CHECKPOINT")
        let copySeconds = try BenchCluster.psql(conninfo: conninfo, command: "\\copy core.visit FROM '\(copyFile.path)'")
        let copied = try await conn.query("SELECT count(*) FROM core.visit")[0].decode(Int.self, column: 0)
        let sample = try await storedSample(conn)
        let insertSeconds = try await insertPerRow(conn, sample)
        await conn.close()
        let figures = TCPFigures(oursRate: Double(run.visitRows) / run.seconds, oursSeconds: run.seconds,
                                 copyRate: Double(copied) / copySeconds, insertRate: Double(sample.count) / insertSeconds,
                                 insertSeconds: insertSeconds)
        print(String(format: "over TCP: ours %d rows in %.2f s = %.0f rows/s; psql \\copy %d rows in %.2f s = %.0f rows/s; INSERT per row %d rows in %.2f s = %.0f rows/s",
                     run.visitRows, run.seconds, figures.oursRate, copied, copySeconds, figures.copyRate, sample.count, insertSeconds, figures.insertRate))
        return figures
    }

    // MARK: databases

    /// A fresh database with the schema and the corpus's master data; returns the master-data load time.
    private func prepareDatabase(_ cluster: LocalPostgresCluster, _ db: String, corpus: IngestCorpus) async throws -> Double {
        let admin = try await PostgresConnection.connect(cluster.configuration())
        try await admin.executeScript("DROP DATABASE IF EXISTS \(db)")
        try await admin.executeScript("CREATE DATABASE \(db)")
        await admin.close()
        let conn = try await PostgresConnection.connect(cluster.configuration(database: db))
        var quiet = Logger(label: "dealer-kpi-bench")
        quiet.logLevel = .warning
        _ = try await WarehouseSchema.migrator(logger: quiet).migrate(on: conn)
        if dropVisitForeignKeys {
            try await conn.executeScript("""
                DO $$ DECLARE c record; BEGIN
                  FOR c IN SELECT conname FROM pg_constraint WHERE conrelid = 'core.visit'::regclass AND contype = 'f' LOOP
                    EXECUTE format('ALTER TABLE core.visit DROP CONSTRAINT %I', c.conname);
                  END LOOP;
                END $$
                """)
        }
        if partitionVisitsByMonth {
            // The views keep the renamed original (they are bound to it); ingest and COPY name core.visit.
            try await conn.executeScript("""
                CREATE TABLE core.visit_by_month (LIKE core.visit INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
                    PARTITION BY RANGE (business_date);
                ALTER TABLE core.visit_by_month ADD PRIMARY KEY (store_code, business_date, visit_id);
                ALTER TABLE core.visit_by_month ADD FOREIGN KEY (submission_id) REFERENCES core.report_submission;
                CREATE INDEX ON core.visit_by_month (business_date);
                DO $$ DECLARE m date; BEGIN
                  FOR m IN SELECT generate_series(date '2025-01-01', date '2027-12-01', interval '1 month')::date LOOP
                    EXECUTE format('CREATE TABLE core.%I PARTITION OF core.visit_by_month FOR VALUES FROM (%L) TO (%L)',
                                   'visit_' || to_char(m, 'YYYY_MM'), m, (m + interval '1 month')::date);
                  END LOOP;
                END $$;
                CREATE TABLE core.visit_other PARTITION OF core.visit_by_month DEFAULT;
                ALTER TABLE core.visit RENAME TO visit_unpartitioned;
                ALTER TABLE core.visit_by_month RENAME TO visit;
                """)
        }
        let pool = PostgresConnectionPool(configuration: cluster.configuration(database: db), options: .init(maximumConnections: 1), logger: quiet)
        let started = Date()
        let results = try await MasterDataLoader(pool: pool, logger: quiet).load(paths: corpus.masterFiles)
        let seconds = Date().timeIntervalSince(started)
        await pool.shutdown()
        if let bad = results.first(where: { !$0.isAccepted }) {
            throw BenchError("master file \(bad.file) rejected: \(bad.rejection!.issues.prefix(3).map { "\($0)" })")
        }
        try await conn.executeScript("VACUUM ANALYZE")
        try await conn.executeScript("CHECKPOINT")
        await conn.close()
        return seconds
    }

    /// Seconds to stream the files through the CSV reader with the warehouse's reference data (what ingest
    /// does before a row reaches COPY).
    private func parseOnly(_ conn: PostgresConnection, _ files: [IngestCorpus.VisitFile]) async throws -> Double {
        var stores: [ReferenceData.Store] = []
        for row in try await conn.query("SELECT store_code, region_code, opened_on, closed_on FROM core.store") {
            let (code, region, opened, closed) = try row.decode((String, String, CalendarDate, CalendarDate?).self)
            stores.append(.init(code: code, regionCode: region, openedOn: opened, closedOn: closed))
        }
        let salespeople = try await conn.query("SELECT salesperson_code FROM core.salesperson").map { try $0.decode(String.self, column: 0) }
        let models = try await conn.query("SELECT model_code FROM core.model").map { try $0.decode(String.self, column: 0) }
        let reference = ReferenceData(stores: stores, salespeople: salespeople, models: models,
                                      receiptDay: CalendarDate(year: 2100, month: 1, day: 1)!)
        var rows = 0
        let started = Date()
        for f in files {
            let summary = ReportReader.streamCSV(path: f.path, reference: reference) { (_, _) throws(Never) in
                rows += 1
            }
            if let r = summary.rejection { throw BenchError("\(f.path): \(r.issues.prefix(3).map { "\($0)" })") }
        }
        let seconds = Date().timeIntervalSince(started)
        guard rows > 0 else { throw BenchError("no rows parsed") }
        return seconds
    }

    /// Row count and an order-independent digest of core.visit over every column but submission_id.
    private func visitDigest(_ conn: PostgresConnection) async throws -> (Int, String) {
        let row = try await conn.query("""
            SELECT count(*), coalesce(sum(hashtextextended(row(store_code, business_date, visit_id, channel, purpose,
                salesperson_code, model_code, party_size, existing_card, existing_order, new_card, test_drive,
                walkin_group, phone_group, revisit, source_line)::text, 0)::numeric), 0)::text
            FROM core.visit
            """)[0]
        return (try row.decode(Int.self, column: 0), try row.decode(String.self, column: 1))
    }

    /// The submission the baseline rows point to (core.visit.submission_id is NOT NULL REFERENCES): a fixed id,
    /// far beyond ingest's, so the COPY file written once serves every database.
    static let baselineSubmission = 1_000_000_000

    private func createSubmission(_ conn: PostgresConnection) async throws {
        let fileID = try await conn.query("""
            INSERT INTO core.ingested_file (file_name, checksum, form, encoding, received_at, row_count)
            VALUES ('baseline.copy', 'none', 'csv_visits', 'UTF-8', now(), 0) RETURNING file_id
            """)[0].decode(Int.self, column: 0)
        _ = try await conn.query("""
            INSERT INTO core.report_submission (submission_id, store_code, business_date, version, received_at, due_at, on_time, file_id,
                source_file, source_checksum, visit_rows)
            SELECT \(Self.baselineSubmission), store_code, opened_on, 1000, now(), now(), false, \(fileID), 'baseline.copy', 'none', 0
            FROM core.store ORDER BY store_code LIMIT 1
            """)
    }

    // MARK: the child

    struct ChildRun {
        var files: Int
        var visitRows: Int
        var storeDays: Int
        var seconds: Double
        var slowestFile: Double
        var wallSeconds: Double
        var peakRSSMB: Double
    }

    /// Runs `dealer-kpi-bench ingest-only`; its peak RSS is the one it reports (see below).
    private func runChild(corpus: IngestCorpus, conninfo: String, maxVisitRows: Int) throws -> ChildRun {
        let result = workdir.appending(path: "ingest-only-\(maxVisitRows).json")
        try? FileManager.default.removeItem(at: result)
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let argv = [me, "ingest-only", "--corpus", corpus.directory.path, "--conninfo", conninfo,
                    "--max-visit-rows", String(maxVisitRows), "--result", result.path]
        let (status, maxRSSKB, wall) = try spawnAndWait(argv)
        guard status == 0 else { throw BenchError("ingest-only exited with status \(status)") }
        let data = try Data(contentsOf: result)
        guard let o = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let files = o["files"] as? Int, let rows = o["visit_rows"] as? Int, let days = o["store_days"] as? Int,
              let seconds = o["seconds"] as? Double, let slowest = o["slowest_file_seconds"] as? Double else {
            throw BenchError("bad ingest-only result")
        }
        // The child's own VmHWM, not wait4's ru_maxrss: posix_spawn runs the child in the parent's address space
        // until exec, and Linux carries that space's high-water mark over exec, so ru_maxrss would report the
        // parent's peak whenever it exceeds the child's (measured: 74 MB instead of 48 MB once the parent held
        // the baselines' sample rows).
        let hwmKB = o["peak_rss_kb"] as? Int ?? maxRSSKB
        return ChildRun(files: files, visitRows: rows, storeDays: days, seconds: seconds, slowestFile: slowest,
                        wallSeconds: wall, peakRSSMB: Double(hwmKB) / 1024)
    }

    private func spawnAndWait(_ argv: [String]) throws -> (status: Int32, maxRSSKB: Int, seconds: Double) {
        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let started = Date()
        let rc = cArgs.withUnsafeBufferPointer { posix_spawn(&pid, argv[0], nil, nil, $0.baseAddress!, environ) }
        guard rc == 0 else { throw BenchError("posix_spawn failed: \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            guard errno == EINTR else { throw BenchError("wait4 failed: \(String(cString: strerror(errno)))") }
        }
        let seconds = Date().timeIntervalSince(started)
        let exit: Int32 = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return (exit, usage.ru_maxrss, seconds) // ru_maxrss: KiB on Linux
    }

    // MARK: the baseline rows

    struct Row {
        var store: String, date: CalendarDate, id: String, channel: String, purpose: String, salesperson: String
        var model: String?, partySize: Int, existingCard: String?, existingOrder: Bool, newCard: String?, testDrive: Bool
        var walkIn: Bool, phone: Bool, revisit: Bool, submission: Int, sourceLine: String
    }

    /// Baseline B's rows: the first `insertSample` rows of core.visit in storage order (the order ingest wrote
    /// them), submission ids included.
    private func storedSample(_ conn: PostgresConnection) async throws -> [Row] {
        let rows = try await conn.query("""
            SELECT store_code, business_date, visit_id, channel, purpose, salesperson_code, model_code, party_size,
                   existing_card, existing_order, new_card, test_drive, walkin_group, phone_group, revisit, submission_id, source_line
            FROM core.visit LIMIT \(insertSample)
            """)
        return try rows.map { r in
            let (store, date, id, channel, purpose, salesperson, model, partySize,
                 existingCard, existingOrder, newCard, testDrive, walkIn, phone, revisit, submission, sourceLine) =
                try r.decode((String, CalendarDate, String, String, String, String, String?, Int,
                              String?, Bool, String?, Bool, Bool, Bool, Bool, Int, String).self)
            return Row(store: store, date: date, id: id, channel: channel, purpose: purpose, salesperson: salesperson, model: model,
                       partySize: partySize, existingCard: existingCard, existingOrder: existingOrder, newCard: newCard,
                       testDrive: testDrive, walkIn: walkIn, phone: phone, revisit: revisit, submission: submission, sourceLine: sourceLine)
        }
    }

    /// Writes the visit rows ingest leaves stored as COPY text with every core.visit column, in core.visit's
    /// column order. For each store-day those are the rows of the last file that *changed* its visits (contract
    /// 1.1: a correction replaces the day; a file repeating the content last delivered for the day, a re-send
    /// or an unchanged day of a multi-day correction file, is a duplicate there and changes nothing, not even
    /// the source lines). Content is compared here independently of ingest's digest: the sorted field values
    /// of the day's records. Returns the row count.
    private func writeCopyFile(_ files: [IngestCorpus.VisitFile], submission: Int, to url: URL) throws -> Int {
        // Pass 1: the last file changing each store-day's visits.
        var lastFile: [StoreDay: Int] = [:]
        var lastContent: [StoreDay: Int] = [:]
        for (k, f) in files.enumerated() {
            var content: [StoreDay: [String]] = [:]
            let summary = ReportReader.streamCSV(path: f.path, reference: nil) { (day: StoreDay, record: ReportRecord) throws(Never) in
                guard case .visit(let v) = record else { return }
                let fields: [String?] = [v.id, v.channel.rawValue, v.purpose.rawValue, v.salesperson, v.model, String(v.partySize),
                                         v.existingCard, String(v.existingOrder), v.newCard, String(v.testDrive)]
                content[day, default: []].append(fields.map { $0.map { "=" + $0 } ?? "null" }.joined(separator: "\u{1}"))
            }
            if let r = summary.rejection { throw BenchError("\(f.path): \(r.issues.prefix(3).map { "\($0)" })") }
            for (day, records) in content {
                var hasher = Hasher()
                hasher.combine(records.sorted())
                let digest = hasher.finalize()
                if lastContent[day] != digest {
                    lastContent[day] = digest
                    lastFile[day] = k
                }
            }
        }
        // Pass 2: write.
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        var out = CopyText()
        var rows = 0
        let submissionText = String(submission)
        for (k, f) in files.enumerated() {
            _ = ReportReader.streamCSV(path: f.path, reference: nil) { (day: StoreDay, record: ReportRecord) throws(Never) in
                guard lastFile[day] == k, case .visit(let v) = record else { return }
                let c = VisitCounting.classify(v)
                let row = Row(store: day.store, date: day.businessDate, id: v.id, channel: v.channel.rawValue, purpose: v.purpose.rawValue,
                              salesperson: v.salesperson, model: v.model, partySize: v.partySize, existingCard: v.existingCard,
                              existingOrder: v.existingOrder, newCard: v.newCard, testDrive: v.testDrive, walkIn: c.walkInGroup,
                              phone: c.phoneGroup, revisit: c.revisit, submission: submission, sourceLine: v.origin.location.description)
                out.field(row.store); out.field(row.date.description); out.field(row.id); out.field(row.channel)
                out.field(row.purpose); out.field(row.salesperson); out.field(row.model); out.field(String(row.partySize))
                out.field(row.existingCard); out.bool(row.existingOrder); out.field(row.newCard); out.bool(row.testDrive)
                out.bool(row.walkIn); out.bool(row.phone); out.bool(row.revisit); out.field(submissionText)
                out.field(row.sourceLine); out.endRow()
                rows += 1
            }
            if out.bytes.count > 1 << 20 {
                try handle.write(contentsOf: out.bytes)
                out.bytes.removeAll(keepingCapacity: true)
            }
        }
        try handle.write(contentsOf: out.bytes)
        try handle.close()
        return rows
    }
}

/// COPY text format: tab-separated, `\N` for NULL, backslash escapes.
struct CopyText {
    var bytes: [UInt8] = []
    private var first = true

    mutating func field(_ s: String?) {
        if !first { bytes.append(0x09) }
        first = false
        guard let s else { bytes.append(contentsOf: [0x5C, 0x4E]); return }
        for b in s.utf8 {
            switch b {
            case 0x5C: bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x09: bytes.append(contentsOf: [0x5C, 0x74])
            case 0x0A: bytes.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: bytes.append(contentsOf: [0x5C, 0x72])
            default: bytes.append(b)
            }
        }
    }

    mutating func bool(_ b: Bool) { field(b ? "t" : "f") }

    mutating func endRow() {
        bytes.append(0x0A)
        first = true
    }
}
