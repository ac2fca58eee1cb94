import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import CorpusGenerator
import LocalPostgres
import Postgres

/// bench/faults: kill -9 the real `dealer-kpi serve` at random moments while it ingests a generated corpus from
/// its inbox and refreshes the snapshots, restart it, repeat; stop the database for a while mid-run; then compare
/// the result with a clean run of the same corpus.
///
/// - Corpus: `dealer-kpi generate` (fixed past dates, so every due time has passed and timeliness does not depend
///   on the wall clock), master data loaded with `dealer-kpi load` into two fresh databases.
/// - Clean run (the oracle): per manifest step, `dealer-kpi ingest --received-at T` of that step's files (under
///   their inbox names, in the inbox's order), then `dealer-kpi aggregate`.
/// - Faulted run: a feeder writes each step's files into the inbox like a real writer (`NAME.tmp`, modification
///   time = the step's receipt time, then rename, in name order) while daemons are started and killed with
///   SIGKILL. Kill moments come from a seeded RNG: some after the daemon was seen ingesting, some after it was
///   seen refreshing, some at a random time after start. Where each kill landed is measured, not assumed: a
///   claim the killed daemon made left in `.work/` without a receipt was a kill mid-ingest (with a receipt:
///   after the commit, before the move); an `ops.job_run` row of the killed instance (`DEALER_KPI_INSTANCE`)
///   still `running` was a kill mid-refresh. Halfway,
///   the database is stopped (`pg_ctl stop -m fast`) for `outageSeconds` under a running daemon, which must
///   resume by itself. A last daemon drains the inbox, a refresh catches up, and it is stopped with SIGTERM.
/// - Comparison: every file once in `processed/` or `rejected/` and in `ops.inbox_receipt`; accepted files,
///   submissions (versions, receipt times, timeliness), store-day reports, fact rows (with the file and version
///   they came from) and per-store-day fact counts as multisets (EXCEPT ALL both ways), and `bi.kpi_values`
///   row for row (all columns but `computed_at`) plus an md5 checksum; then again after `aggregate --full` on
///   the faulted database.
///
/// The kill schedule (modes and delays) is repeatable from the seed; which instruction a kill interrupts is
/// up to the scheduler, which is why the landing places are counted afterwards.
struct FaultsBenchmark {
    let workdir: URL
    let binary: URL
    let stores: Int
    let days: Int
    let corpusSeed: UInt64
    let seed: UInt64
    let kills: Int
    let outageSeconds: Int
    let feedSeconds: Double
    /// Self-check of the comparison: delete one visit and one snapshot row of the faulted database before
    /// comparing; the run must then report mismatches and fail.
    var tamper = false

    static let piiKey = "faults-bench-key-0123456789abcdef"
    static let startDate = "2026-03-02"

    /// One manifest step: its receipt time and its files (inbox name, corpus path), in the inbox's order.
    struct Step: Sendable {
        var receivedAt: Date
        var receivedAtText: String
        var files: [(inboxName: String, source: URL)]
    }

    /// Where one kill landed, measured after the process was gone.
    struct Landing {
        var midIngest = false
        var afterCommitBeforeMove = false
        var midRefresh = false
    }

    func run() async throws -> Bool {
        let began = Date()
        let fm = FileManager.default
        try fm.createDirectory(at: workdir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        for leftover in ["inbox", "clean-files", "corpus", "daemon.log"] { try? fm.removeItem(at: workdir.appending(path: leftover)) }
        guard fm.isExecutableFile(atPath: binary.path) else { throw BenchError("dealer-kpi binary not found at \(binary.path) (build it, or pass --binary)") }

        let cluster = try BenchCluster.start(in: workdir)
        let admin = try await PostgresConnection.connect(cluster.configuration())
        for name in ["faults_clean", "faults_run"] {
            try await admin.executeScript("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            try await admin.executeScript("CREATE DATABASE \(name) TEMPLATE template0 ENCODING 'UTF8'")
        }
        await admin.close()
        let clean = Database(configuration: cluster.configuration(database: "faults_clean"), url: cluster.connectionString(database: "faults_clean"))
        let faulted = Database(configuration: cluster.configuration(database: "faults_run"), url: cluster.connectionString(database: "faults_run"))

        // Corpus and master data.
        let corpus = workdir.appending(path: "corpus")
        say(try cli(["generate", "--stores", "\(stores)", "--days", "\(days)", "--seed", "\(corpusSeed)", "--start", Self.startDate,
                       "--out", corpus.path, "--overwrite"]).trimmingCharacters(in: .whitespacesAndNewlines))
        let master = ["regions", "stores", "salespeople", "models", "plans", "expenses"].map { corpus.appending(path: "master/\($0).csv").path }
        for db in [clean, faulted] {
            _ = try cli(["migrate", "--database-url", db.url])
            _ = try cli(["load", "--database-url", db.url] + master)
        }
        let steps = try Self.readManifest(corpus)
        let allFiles = steps.flatMap { $0.files.map(\.inboxName) }
        guard Set(allFiles).count == allFiles.count else { throw BenchError("two corpus files map to one inbox name") }
        say("corpus: \(allFiles.count) report files in \(steps.count) manifest steps")

        // Clean run: same files, same names, same receipt times, same order; no daemon, no faults.
        let cleanStarted = Date()
        let staged = workdir.appending(path: "clean-files")
        try fm.createDirectory(at: staged, withIntermediateDirectories: true)
        for step in steps {
            var paths: [String] = []
            for file in step.files {
                let target = staged.appending(path: file.inboxName)
                try fm.copyItem(at: file.source, to: target)
                paths.append(target.path)
            }
            // Exit status 1 means a file was rejected; the comparison below checks rejections match.
            _ = try cli(["ingest", "--database-url", clean.url, "--received-at", step.receivedAtText] + paths, allowedStatuses: [0, 1])
        }
        _ = try cli(["aggregate", "--database-url", clean.url])
        let cleanSeconds = Date().timeIntervalSince(cleanStarted)
        say("clean run: ingest + aggregate in \(String(format: "%.1f", cleanSeconds)) s")

        // Faulted run.
        let inbox = workdir.appending(path: "inbox")
        try fm.createDirectory(at: inbox, withIntermediateDirectories: true)
        let log = workdir.appending(path: "daemon.log")
        let port = try freeTCPPort()
        var rng = SplitMix64(state: seed) // repeatable kill schedule
        let feeder = Feeder(steps: steps, inbox: inbox, interval: feedSeconds / Double(max(1, steps.count)))
        let feeding = Task { try await feeder.run() }

        var landings: [Landing] = []
        var outage: (seconds: Double, recoverySeconds: Double, survived: Bool)? = nil
        let outageAfterKill = kills / 2
        var failures: [String] = []
        let faultStarted = Date()
        var daemonNumber = 0
        while landings.count < kills {
            daemonNumber += 1
            let instance = "faults-\(daemonNumber)"
            let daemon = try DaemonProcess.start(binary: binary, database: faulted.url, inbox: inbox, port: port, instance: instance, log: log)
            let receiptsAtStart = try await faulted.int("SELECT count(*) FROM ops.inbox_receipt")
            // Claims an earlier kill left behind: this daemon finishes them first, but whether it was doing so when
            // killed cannot be told afterwards, so only claims this daemon made count as its landings.
            let leftoverClaims = Set(try claims(in: inbox))
            // Spread the kills (and the outage) over the feeding, shifted by the outage, so they hit every part of
            // the corpus.
            let slot = faultStarted.addingTimeInterval(feedSeconds * Double(landings.count) / Double(kills) + (outage?.seconds ?? 0))
            if slot > Date() { try await Task.sleep(for: .seconds(slot.timeIntervalSinceNow)) }

            if landings.count == outageAfterKill && outage == nil && outageSeconds > 0 {
                // Database outage under a working daemon.
                _ = await waitUntil(seconds: 30) { (try? await faulted.int("SELECT count(*) FROM ops.inbox_receipt")) ?? 0 > receiptsAtStart }
                let before = try await faulted.int("SELECT count(*) FROM ops.inbox_receipt")
                let stopped = Date()
                try cluster.stop(mode: "fast")
                try await Task.sleep(for: .seconds(outageSeconds))
                let aliveThroughout = daemon.isRunning
                try cluster.start()
                let downSeconds = Date().timeIntervalSince(stopped)
                let restarted = Date()
                // Recovered: the same process is ready again and ingests the files that arrived meanwhile.
                let recovered = await waitUntil(seconds: 120) {
                    guard await httpStatus(port: port, path: "/readyz") == 200 else { return false }
                    return (try? await faulted.int("SELECT count(*) FROM ops.inbox_receipt")) ?? 0 > before
                }
                let survived = aliveThroughout && recovered && daemon.isRunning
                outage = (downSeconds, Date().timeIntervalSince(restarted), survived)
                say("database outage: stopped for \(outageSeconds) s, \(String(format: "%.1f", downSeconds)) s from pg_ctl stop to the server up again; daemon \(aliveThroughout ? "stayed up" : "DIED")"
                      + (recovered ? ", ready and ingesting again \(String(format: "%.1f", Date().timeIntervalSince(restarted))) s after the restart" : ", DID NOT RECOVER within 120 s"))
                if !survived { failures.append("daemon did not survive the database outage by itself") }
            }

            // Pick the kill moment.
            let mode = rng.next() % 10
            let modeName: String
            if mode < 4 {
                // Once it has claimed a file (which sits in .work/ from the claim until it is filed away), within 0-15 ms.
                modeName = "ingesting"
                _ = await waitUntil(seconds: 20, every: .milliseconds(1)) { !Set((try? claims(in: inbox)) ?? []).subtracting(leftoverClaims).isEmpty }
                try await Task.sleep(for: .milliseconds(Int(rng.next() % 16)))
            } else if mode < 8 {
                modeName = "refreshing"
                _ = await waitUntil(seconds: 20, every: .milliseconds(20)) {
                    (try? await faulted.int("SELECT count(*) FROM ops.job_run WHERE status = 'running' AND instance = \(instance)")) ?? 0 > 0
                }
                try await Task.sleep(for: .milliseconds(Int(rng.next() % 150)))
            } else {
                modeName = "random"
                try await Task.sleep(for: .milliseconds(200 + Int(rng.next() % 2800)))
            }
            if !daemon.isRunning { failures.append("daemon \(instance) exited by itself before its kill (see \(log.path))") }
            daemon.send(SIGKILL)
            await daemon.waitForExit()

            var landing = Landing()
            for claim in try claims(in: inbox) where !leftoverClaims.contains(claim) {
                let recorded = try await faulted.int("SELECT count(*) FROM ops.inbox_receipt WHERE claim_id = \(claim)::uuid")
                if recorded > 0 { landing.afterCommitBeforeMove = true } else { landing.midIngest = true }
            }
            landing.midRefresh = try await faulted.int("SELECT count(*) FROM ops.job_run WHERE status = 'running' AND instance = \(instance)") > 0
            landings.append(landing)
            let receipts = try await faulted.int("SELECT count(*) FROM ops.inbox_receipt")
            let place = [landing.midIngest ? "mid-ingest" : nil, landing.afterCommitBeforeMove ? "after commit before move" : nil,
                         landing.midRefresh ? "mid-refresh" : nil].compactMap { $0 }
            say("kill \(landings.count) (\(modeName)): \(place.isEmpty ? "between work" : place.joined(separator: " + ")); \(receipts)/\(allFiles.count) files received so far")
        }
        try await feeding.value

        // The last daemon drains the inbox; a refresh catches up; SIGTERM ends it cleanly.
        let last = try DaemonProcess.start(binary: binary, database: faulted.url, inbox: inbox, port: port, instance: "faults-final", log: log)
        let drained = await waitUntil(seconds: 600) {
            (try? await faulted.int("SELECT count(*) FROM ops.inbox_receipt")) ?? 0 >= allFiles.count
                && ((try? pendingFiles(in: inbox).isEmpty) ?? false)
        }
        if !drained { failures.append("the inbox was not drained within 600 s") }
        let caughtUp = await waitUntil(seconds: 400) {
            guard let pending = try? await faulted.int("SELECT count(*) FROM core.kpi_change"), pending == 0 else { return false }
            guard let running = try? await faulted.int("SELECT count(*) FROM ops.job_run WHERE status = 'running' AND instance = 'faults-final'"),
                  running == 0 else { return false }
            // A refresh that started after the last receipt, and succeeded.
            return (try? await faulted.int("""
                SELECT count(*) FROM kpi.refresh_run
                WHERE status = 'succeeded' AND started_at >= (SELECT max(recorded_at) FROM ops.inbox_receipt)
                """)) ?? 0 > 0
        }
        if !caughtUp { failures.append("no refresh caught up with the last file within 400 s") }
        _ = await waitUntil(seconds: 30) { await httpStatus(port: port, path: "/healthz") == 200 }
        last.send(SIGTERM)
        let terminated = await last.waitForExit(seconds: 45)
        if terminated != 0 {
            failures.append("the last daemon did not exit 0 on SIGTERM (\(terminated.map(String.init) ?? "still running"))")
            if terminated == nil { last.send(SIGKILL); await last.waitForExit() }
        }
        let faultSeconds = Date().timeIntervalSince(faultStarted)

        if tamper {
            let conn = try await PostgresConnection.connect(faulted.configuration)
            try await conn.executeScript("""
                DELETE FROM core.visit WHERE ctid = (SELECT min(ctid) FROM core.visit);
                DELETE FROM kpi.snapshot WHERE ctid = (SELECT min(ctid) FROM kpi.snapshot);
                """)
            await conn.close()
            say("--tamper: deleted one core.visit row and one kpi.snapshot row of the faulted database")
        }

        // (a) Every file exactly once: on disk and in the receipts.
        var mismatches = 0
        var rowsCompared = 0
        let onDisk = try filedAway(in: inbox)
        let receipts = try await faulted.strings("SELECT file_name || ' ' || outcome FROM ops.inbox_receipt")
        let receiptNames = receipts.map { String($0.split(separator: " ")[0]) }
        let cleanAccepted = Set(try await clean.strings("SELECT file_name FROM core.ingested_file"))
        var fileProblems: [String] = []
        for name in allFiles {
            let copies = onDisk.filter { $0.name == name || $0.name.hasSuffix("__" + name) }
            if copies.count != 1 { fileProblems.append("\(name): \(copies.count) copies in processed/ + rejected/") }
            let recorded = receiptNames.filter { $0 == name }.count
            if recorded != 1 { fileProblems.append("\(name): \(recorded) receipts") }
            let expected = cleanAccepted.contains(name) ? "accepted" : "rejected"
            if !receipts.contains("\(name) \(expected)") { fileProblems.append("\(name): outcome differs from the clean run (\(expected) there)") }
            if let copy = copies.first, copy.outcome != expected { fileProblems.append("\(name): filed under \(copy.outcome)/ but \(expected) in the clean run") }
        }
        if onDisk.count != allFiles.count { fileProblems.append("\(onDisk.count) files in processed/ + rejected/ for \(allFiles.count) sent") }
        if receipts.count != allFiles.count { fileProblems.append("\(receipts.count) receipts for \(allFiles.count) files") }
        let leftInInbox = try pendingFiles(in: inbox) + (try claims(in: inbox).map { "\($0) (claim)" })
        if !leftInInbox.isEmpty { fileProblems.append("left in the inbox: \(leftInInbox.prefix(5).joined(separator: ", "))") }
        mismatches += fileProblems.count
        say("files: \(allFiles.count) sent, \(onDisk.filter { $0.outcome == "accepted" }.count) in processed/, \(onDisk.filter { $0.outcome == "rejected" }.count) in rejected/, \(receipts.count) receipts; problems: \(fileProblems.count)")
        for p in fileProblems.prefix(10) { say("  \(p)") }

        // (b) No report partially loaded, none counted twice; (c) the KPIs row for row.
        var tables: [String: Any] = [:]
        for check in Self.comparisons {
            let result = try await compare(check.sql, clean: clean, faulted: faulted)
            rowsCompared += result.rows
            mismatches += result.missing + result.extra
            tables[check.label] = ["rows": result.rows, "missing": result.missing, "extra": result.extra]
            say("\(check.label): \(result.rows) rows, \(result.missing) missing and \(result.extra) extra in the faulted run")
            for example in result.examples { say("  \(example)") }
        }
        let checksumClean = try await clean.strings("SELECT md5(string_agg(r, E'\\n' ORDER BY r)) FROM (\(Self.kpiValuesSQL)) x(r)")[0]
        let checksumFaulted = try await faulted.strings("SELECT md5(string_agg(r, E'\\n' ORDER BY r)) FROM (\(Self.kpiValuesSQL)) x(r)")[0]
        if checksumClean != checksumFaulted { mismatches += 1 }
        say("bi.kpi_values md5: clean \(checksumClean), faulted \(checksumFaulted)")

        // And a full rebuild of the faulted database agrees too.
        _ = try cli(["aggregate", "--full", "--database-url", faulted.url])
        let afterFull = try await compare(Self.kpiValuesSQL, clean: clean, faulted: faulted)
        rowsCompared += afterFull.rows
        mismatches += afterFull.missing + afterFull.extra
        say("bi.kpi_values after aggregate --full on the faulted database: \(afterFull.rows) rows, \(afterFull.missing) missing, \(afterFull.extra) extra")
        for example in afterFull.examples { say("  \(example)") }

        let staleRuns = try await faulted.int("SELECT count(*) FROM ops.job_run WHERE status = 'running'")
        let midIngest = landings.filter(\.midIngest).count
        let afterCommit = landings.filter(\.afterCommitBeforeMove).count
        let midRefresh = landings.filter(\.midRefresh).count
        let between = landings.filter { !$0.midIngest && !$0.afterCommitBeforeMove && !$0.midRefresh }.count
        mismatches += failures.count
        for f in failures { say("FAILED: \(f)") }
        say("kills: \(landings.count) (\(midIngest) mid-ingest, \(afterCommit) after a commit before the move, \(midRefresh) mid-refresh, \(between) between work), "
              + "database outage \(String(format: "%.1f", outage?.seconds ?? 0)) s, \(daemonNumber + 1) daemon starts, faulted run \(String(format: "%.0f", faultSeconds)) s")
        say("\(allFiles.count) files, \(rowsCompared) rows compared, \(mismatches) mismatches")
        say(jsonLine([
            "bench": "faults", "seed": seed, "corpus_seed": corpusSeed, "stores": stores, "days": days, "files": allFiles.count,
            "kills": landings.count, "kills_mid_ingest": midIngest, "kills_after_commit_before_move": afterCommit,
            "kills_mid_refresh": midRefresh, "kills_between_work": between,
            "db_outage_seconds": ((outage?.seconds ?? 0) * 10).rounded() / 10,
            "db_outage_recovered_without_restart": outage?.survived ?? false,
            "db_outage_recovery_seconds": ((outage?.recoverySeconds ?? 0) * 10).rounded() / 10,
            "stale_running_job_rows": staleRuns,
            "rows_compared": rowsCompared, "mismatches": mismatches, "tables": tables,
            "kpi_values_md5_clean": checksumClean, "kpi_values_md5_faulted": checksumFaulted,
            "clean_run_seconds": (cleanSeconds * 10).rounded() / 10, "faulted_run_seconds": (faultSeconds * 10).rounded() / 10,
            "total_seconds": (Date().timeIntervalSince(began) * 10).rounded() / 10,
        ]))
        return mismatches == 0
    }

    // MARK: - What is compared

    /// `bi.kpi_values` as text rows, every column but `computed_at` (the moment of the refresh).
    static let kpiValuesSQL = "SELECT (to_jsonb(k) - 'computed_at')::text FROM bi.kpi_values k"

    /// Each query yields one text column; the clean and faulted results must be equal multisets. Surrogate keys
    /// (file and submission ids, state sequence numbers) and load moments differ between runs by design, so
    /// rows name the file and version they came from instead.
    static let comparisons: [(label: String, sql: String)] = [
        ("core.ingested_file", "SELECT (file_name, checksum, form, encoding, received_at, row_count)::text FROM core.ingested_file"),
        ("core.report_submission (versions)", """
            SELECT (store_code, business_date, version, received_at, due_at, on_time, source_file, source_checksum,
                    visit_rows, prospect_rows, sale_rows)::text FROM core.report_submission
            """),
        ("core.store_day_report", "SELECT t::text FROM core.store_day_report t"),
        ("visits per store-day", "SELECT (store_code, business_date, count(*))::text FROM core.visit GROUP BY store_code, business_date"),
        ("A-cards per store-day", "SELECT (store_code, created_on, count(*))::text FROM core.prospect_card GROUP BY store_code, created_on"),
        ("orders per store-day", "SELECT (store_code, order_date, count(*))::text FROM core.sales_order GROUP BY store_code, order_date"),
        ("core.visit", """
            SELECT (to_jsonb(v) - 'submission_id' || jsonb_build_object('file', s.source_file, 'version', s.version))::text
            FROM core.visit v JOIN core.report_submission s USING (submission_id)
            """),
        ("core.prospect_card", """
            SELECT (to_jsonb(c) - 'submission_id' - 'state_sequence' || jsonb_build_object('file', s.source_file, 'version', s.version))::text
            FROM core.prospect_card c JOIN core.report_submission s USING (submission_id)
            """),
        ("core.sales_order", """
            SELECT (to_jsonb(o) - 'submission_id' - 'state_sequence' || jsonb_build_object('file', s.source_file, 'version', s.version))::text
            FROM core.sales_order o JOIN core.report_submission s USING (submission_id)
            """),
        ("core.prospect_card_history", """
            SELECT (to_jsonb(h) - 'submission_id' - 'state_sequence' - 'replaced_at' - 'replaced_by_submission'
                    || jsonb_build_object('file', s.source_file, 'replaced_by', r.source_file, 'replaced_by_version', r.version))::text
            FROM core.prospect_card_history h JOIN core.report_submission s ON s.submission_id = h.submission_id
            JOIN core.report_submission r ON r.submission_id = h.replaced_by_submission
            """),
        ("core.sales_order_history", """
            SELECT (to_jsonb(h) - 'submission_id' - 'state_sequence' - 'replaced_at' - 'replaced_by_submission'
                    || jsonb_build_object('file', s.source_file, 'replaced_by', r.source_file, 'replaced_by_version', r.version))::text
            FROM core.sales_order_history h JOIN core.report_submission s ON s.submission_id = h.submission_id
            JOIN core.report_submission r ON r.submission_id = h.replaced_by_submission
            """),
        ("bi.kpi_values", kpiValuesSQL),
    ]

    struct Comparison {
        var rows: Int
        var missing: Int
        var extra: Int
        var examples: [String]
    }

    /// EXCEPT ALL both ways, across the two databases: the multiset difference of the rows' text.
    func compare(_ sql: String, clean: Database, faulted: Database) async throws -> Comparison {
        var counts: [String: Int] = [:]
        let cleanRows = try await clean.strings(sql)
        for r in cleanRows { counts[r, default: 0] += 1 }
        for r in try await faulted.strings(sql) { counts[r, default: 0] -= 1 }
        var missing = 0, extra = 0
        var examples: [String] = []
        for (row, n) in counts where n != 0 {
            if n > 0 { missing += n } else { extra += -n }
            if examples.count < 5 { examples.append("\(n > 0 ? "missing" : "extra") x\(abs(n)): \(row.prefix(300))") }
        }
        return Comparison(rows: cleanRows.count, missing: missing, extra: extra, examples: examples)
    }

    // MARK: - Inbox state

    /// Files waiting in the inbox (complete or still being written).
    func pendingFiles(in inbox: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: inbox.path).filter { name in
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: inbox.appending(path: name).path, isDirectory: &isDirectory)
            return exists && !isDirectory.boolValue && !name.hasPrefix(".")
        }
    }

    /// Claim ids of files in `.work/`.
    func claims(in inbox: URL) throws -> [String] {
        let work = inbox.appending(path: ".work")
        guard FileManager.default.fileExists(atPath: work.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: work.path).compactMap { name in
            guard let sep = name.range(of: "__"), UUID(uuidString: String(name[..<sep.lowerBound])) != nil else { return nil }
            return String(name[..<sep.lowerBound])
        }
    }

    /// Every file filed away: `processed/DAY/NAME` and `rejected/NAME` (not the `.errors.json` beside it).
    func filedAway(in inbox: URL) throws -> [(name: String, outcome: String)] {
        let fm = FileManager.default
        var out: [(String, String)] = []
        let processed = inbox.appending(path: "processed")
        for day in (try? fm.contentsOfDirectory(atPath: processed.path)) ?? [] {
            for name in try fm.contentsOfDirectory(atPath: processed.appending(path: day).path) { out.append((name, "accepted")) }
        }
        for name in (try? fm.contentsOfDirectory(atPath: inbox.appending(path: "rejected").path)) ?? [] where !name.hasSuffix(".errors.json") {
            out.append((name, "rejected"))
        }
        return out
    }

    // MARK: - Helpers

    static func readManifest(_ corpus: URL) throws -> [Step] {
        guard let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: corpus.appending(path: "manifest.json"))) as? [[String: Any]] else {
            throw BenchError("manifest.json is not a list of steps")
        }
        return try manifest.map { step in
            guard let text = step["received_at"] as? String, let at = PostgresTimestamp.parse(text), let files = step["files"] as? [String] else {
                throw BenchError("bad manifest step: \(step)")
            }
            // The inbox takes files of one receipt time in name order: so does the clean run.
            let named = files.map { (inboxName: $0.replacingOccurrences(of: "/", with: "_"), source: corpus.appending(path: $0)) }
                .sorted { $0.inboxName < $1.inboxName }
            return Step(receivedAt: at, receivedAtText: text, files: named)
        }
    }

    /// Runs `dealer-kpi ARGS`, returns its standard output; throws with its error output on another status.
    func cli(_ arguments: [String], allowedStatuses: Set<Int32> = [0]) throws -> String {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments + ["--log-level", "warning"]
        var environment = ProcessInfo.processInfo.environment
        environment["DEALER_KPI_PII_KEY"] = Self.piiKey
        process.environment = environment
        let out = workdir.appending(path: "cli.out"), err = workdir.appending(path: "cli.err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        process.waitUntilExit()
        let output = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        guard allowedStatuses.contains(process.terminationStatus) else {
            let errors = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
            throw BenchError("dealer-kpi \(arguments.prefix(3).joined(separator: " ")) ... exited \(process.terminationStatus): \(errors.suffix(2000))\(output.suffix(1000))")
        }
        return output
    }

    func waitUntil(seconds: Double, every interval: Duration = .milliseconds(100), _ condition: () async -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: interval)
        }
        return false
    }

    func httpStatus(port: Int, path: String) async -> Int? {
        guard let url = URL(string: "http://127.0.0.1:\(port)\(path)") else { return nil }
        var request = URLRequest(url: url)
        request.timeoutInterval = 3
        guard let (_, response) = try? await URLSession.shared.data(for: request) else { return nil }
        return (response as? HTTPURLResponse)?.statusCode
    }
}

/// A database of the bench cluster. Each query opens its own connection, so the database may be stopped and
/// started between queries (the outage) without a broken connection to recover.
struct Database: Sendable {
    let configuration: PostgresConfiguration
    /// The conninfo string passed to `dealer-kpi --database-url`.
    let url: String

    /// The first column of a fixed query (no values in it) as text.
    func strings(_ sql: String) async throws -> [String] {
        let conn = try await PostgresConnection.connect(configuration)
        defer { Task { await conn.close() } }
        return try await conn.query(PostgresQuery(unsafeSQL: sql)).map { try $0.decode(String?.self, column: 0) ?? "NULL" }
    }

    func int(_ query: PostgresQuery) async throws -> Int {
        let conn = try await PostgresConnection.connect(configuration)
        defer { Task { await conn.close() } }
        return try await conn.query(query)[0].decode(Int.self, column: 0)
    }
}

/// `dealer-kpi serve` as a child process with its output appended to a log file.
struct DaemonProcess {
    let process: Process

    static func start(binary: URL, database: String, inbox: URL, port: Int, instance: String, log: URL) throws -> DaemonProcess {
        let process = Process()
        process.executableURL = binary
        process.arguments = ["serve", "--database-url", database, "--inbox", inbox.path, "--http", "127.0.0.1:\(port)",
                             "--log-level", "info", "--log-format", "json"]
        var environment = ProcessInfo.processInfo.environment
        environment["DEALER_KPI_PII_KEY"] = FaultsBenchmark.piiKey
        environment["DEALER_KPI_INSTANCE"] = instance
        process.environment = environment
        if !FileManager.default.fileExists(atPath: log.path) { _ = FileManager.default.createFile(atPath: log.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: log)
        try handle.seekToEnd()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return DaemonProcess(process: process)
    }

    var isRunning: Bool { process.isRunning }

    func send(_ signal: Int32) { _ = kill(process.processIdentifier, signal) }

    /// Waits for the process to end; returns its status, or nil if it is still running after `seconds`.
    @discardableResult
    func waitForExit(seconds: Double = 30) async -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning {
            if Date() > deadline { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }
}

/// Writes the corpus into the inbox step by step like a real writer: each file as `NAME.tmp` with its modification
/// time set to the step's receipt time, then renamed in name order (so the inbox sees every prefix of a step in
/// the order a clean run ingests it).
struct Feeder: Sendable {
    let steps: [FaultsBenchmark.Step]
    let inbox: URL
    let interval: Double

    func run() async throws {
        let fm = FileManager.default
        for step in steps {
            for file in step.files {
                let tmp = inbox.appending(path: file.inboxName + ".tmp")
                try fm.copyItem(at: file.source, to: tmp)
                try fm.setAttributes([.modificationDate: step.receivedAt], ofItemAtPath: tmp.path)
            }
            for file in step.files {
                guard rename(inbox.appending(path: file.inboxName + ".tmp").path, inbox.appending(path: file.inboxName).path) == 0 else {
                    throw BenchError("rename into the inbox failed: \(String(cString: strerror(errno)))")
                }
            }
            try await Task.sleep(for: .seconds(interval))
        }
    }
}

/// Writes a line to standard output unbuffered, so progress shows as it happens also when redirected to a file.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

