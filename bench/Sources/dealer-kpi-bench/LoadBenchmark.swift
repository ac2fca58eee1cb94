import AsyncHTTPClient
import CivilCalendar
import CorpusGenerator
import DailyReport
import Foundation
import LocalPostgres
import Logging
import Postgres
import Warehouse

/// bench/load: concurrent dealer clients post their daily reports to a real `dealer-kpi serve` over HTTP
/// while its notified refresh and scheduler keep the snapshots current.
///
/// 1. A synthetic corpus (`SyntheticCorpus`, the generator behind `dealer-kpi generate`; default 50 stores x
///    90 days, seed 11), cut into per-store uploads (`LoadPlan`): JSON reports as they are, the region CSV
///    files cut into one file per store (GB18030/BOM/CRLF kept).
/// 2. A local cluster (`BenchCluster`), a fresh database migrated and loaded with the corpus' master data,
///    one store token per store (`dealer-kpi tokens issue --store S`), then the daemon (`dealer-kpi serve
///    --http 127.0.0.1:PORT`, defaults otherwise: pool 8, refresh debounce 1 s, the installed schedules).
/// 3. The load, one client per store (or fewer clients, each serving several stores), each posting its
///    store's uploads in order of arrival with that store's token, in two phases that continue through the
///    corpus: **saturation** (`duration` s, each client posts its next upload as soon as it has an answer:
///    the sustained capacity), then, once the snapshots have caught up, **paced** (`pacedDuration` s at
///    `rate` uploads/s in all; default `pacedShare` of the capacity just measured, an open-loop schedule,
///    so a slow answer does not slow the offered load). Latency is per upload (request sent until the
///    answer's body is read; paced also from the scheduled send time). Every answer must be the status the
///    plan expects (201 for an upload that brings a store-day's first data, 200 for a correction only);
///    anything else is unexpected and fails the run.
/// 4. Freshness: for every `freshnessEvery`-th upload whose store-day can be judged (`LoadPlan`), the time
///    from the 201 answer until the store's day row in `bi.kpi_values` shows the TRAFFIC computed from the
///    uploaded visits. One connection polls all pending store-days every `pollMillis` in `kpi.snapshot`
///    (the table behind the view, by index) and confirms each hit in `bi.kpi_values` itself; a figure is
///    the start of the poll that saw it, so at most one poll interval (plus that poll) late.
/// 5. The daemon is stopped with SIGTERM (must exit 0); `core.ingested_file` must hold exactly the accepted
///    uploads. Baseline in the same run: the same uploads, in the same order, ingested serially by
///    `ReportIngestor` in this process into a second fresh database (one connection, no HTTP, no refresh),
///    for at most `baselineSeconds`.
/// CPU per phase: the daemon's, PostgreSQL's (postmaster and its children) and this process's CPU time, as
/// cores busy, next to the whole machine's (other work on the machine shows as the rest).
struct LoadBenchmark {
    let workdir: URL
    var stores = 50
    var days = 90
    /// Concurrent clients; at most `stores` (a store's uploads go out one after another, in order).
    var clients = 50
    /// The saturation phase (0 skips it).
    var durationSeconds = 60.0
    /// The paced phase (0 skips it).
    var pacedDurationSeconds = 75.0
    /// Uploads per second in all in the paced phase; 0: `pacedShare` of the saturation phase's rate.
    var rate = 0.0
    var pacedShare = 0.5
    var freshnessEvery = 5
    var pollMillis = 100
    var baselineSeconds = 60.0
    var seed: UInt64 = 11

    static let piiKey = "bench-load-pii-key-0123456789abcdef"

    /// The flags of `dealer-kpi-bench load`; `option(flag, fallback)` reads one (main.swift's helper).
    init(workdir: URL, option: (String, String) -> String) throws {
        func number(_ flag: String, _ fallback: Double) throws -> Double {
            let text = option(flag, String(fallback))
            guard let value = Double(text), value >= 0 else { throw BenchError("\(flag) must be a number >= 0, got \(text)") }
            return value
        }
        self.workdir = workdir
        stores = Int(try number("--stores", Double(stores)))
        days = Int(try number("--days", Double(days)))
        clients = Int(try number("--clients", Double(stores)))
        durationSeconds = try number("--duration", durationSeconds)
        pacedDurationSeconds = try number("--paced-duration", pacedDurationSeconds)
        rate = try number("--rate", rate)
        pacedShare = try number("--paced-share", pacedShare)
        freshnessEvery = Int(try number("--freshness-every", Double(freshnessEvery)))
        pollMillis = max(10, Int(try number("--poll-ms", Double(pollMillis))))
        baselineSeconds = try number("--baseline-seconds", baselineSeconds)
        seed = UInt64(try number("--seed", Double(seed)))
        guard stores >= 1, days >= 1 else { throw BenchError("--stores and --days must be >= 1") }
        guard durationSeconds > 0 || rate > 0 || pacedDurationSeconds == 0 else {
            throw BenchError("without a saturation phase (--duration 0) the paced phase needs --rate")
        }
    }

    /// One phase's figures.
    struct Phase {
        let name: String
        /// Offered uploads/s; 0 for the saturation phase.
        let rate: Double
        let seconds: Double
        let outcomes: [UploadOutcome]
        let cpu: CPUSample.Share
        let refreshes: (count: Int, median: Double, max: Double)

        var accepted: Int { outcomes.filter { $0.status == 200 || $0.status == 201 }.count }
        var acceptedPerSecond: Double { seconds > 0 ? Double(accepted) / seconds : 0 }
        var storeDayVersionsPerSecond: Double {
            seconds > 0 ? Double(outcomes.filter { $0.status == 200 || $0.status == 201 }.reduce(0) { $0 + $1.storeDays }) / seconds : 0
        }
        var unexpected: [UploadOutcome] { outcomes.filter { $0.status != $0.expected } }
        var latencies: [Double] { outcomes.map(\.milliseconds).sorted() }
        var fromSchedule: [Double] { outcomes.map(\.fromScheduleMilliseconds).sorted() }
    }

    func run() async throws {
        let clientCount = max(1, min(clients, stores))
        let (corpusDir, config) = try LoadPlan.corpus(workdir: workdir, stores: stores, days: days, seed: seed)
        let plan = try LoadPlan.build(corpus: corpusDir, configuration: config, freshnessEvery: freshnessEvery)
        say("load: corpus \(stores) stores x \(days) days from \(config.startDate) (seed \(seed)): \(plan.uploads.count) uploads "
            + "(\(plan.jsonUploads) JSON, \(plan.csvUploads) CSV of which \(plan.gb18030Uploads) GB18030), \(plan.storeDays) store-days, "
            + "\(plan.uploads.filter { $0.freshnessProbe != nil }.count) freshness probes planned")

        let cluster = try BenchCluster.start(in: workdir)
        let http = try await Self.freshDatabase(cluster, name: "bench_load_http", corpus: corpusDir)
        let binDir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let cli = binDir.appending(path: "dealer-kpi")
        guard FileManager.default.isExecutableFile(atPath: cli.path) else {
            throw BenchError("\(cli.path) not found: build it first (swift build -c release --product dealer-kpi); bench/load does")
        }
        var tokens: [String: String] = [:]
        let tokenStart = Date()
        for store in Set(plan.uploads.map(\.store)).sorted() {
            let out = try Self.runProcess(cli, ["tokens", "issue", "--store", store, "--label", "bench-load",
                                               "--database-url", http.connectionString ?? "", "--log-level", "warning"])
            guard let token = out.split(separator: "\n").last.map(String.init), !token.isEmpty else { throw BenchError("no token for \(store)") }
            tokens[store] = token
        }
        let storeTokens = tokens
        say("tokens: \(tokens.count) store tokens issued with `dealer-kpi tokens issue` in \(format(Date().timeIntervalSince(tokenStart), 1)) s")

        // The daemon.
        let port = try freeTCPPort()
        let daemonLog = workdir.appending(path: "daemon.log")
        let daemon = try Self.startDaemon(cli, database: http, port: port, log: daemonLog)
        var daemonRunning = true
        defer { if daemonRunning { kill(daemon.processIdentifier, SIGKILL) } }
        var phases: [Phase] = []
        var fresh = FreshnessTracker.Report(registered: [:], visible: [:], pending: [:], wrongValue: 0, meanPollMilliseconds: 0)
        var ingestedFiles = 0
        try await Self.withHTTPClient(connections: clientCount) { client in
            let base = "http://127.0.0.1:\(port)"
            guard try await Self.waitUntil(seconds: 60, { await Self.status(client, base + "/readyz") == 200 }) else {
                throw BenchError("the daemon did not become ready; see \(daemonLog.path)")
            }
            let probeConnection = try await PostgresConnection.connect(http)
            /// Until the change log is empty (the snapshots caught up) and no freshness probe is pending.
            /// Returns the seconds it took, nil if it did not happen within `seconds`.
            func settle(_ tracker: FreshnessTracker, seconds: Double) async throws -> Double? {
                let t = ContinuousClock.now
                let settled = try await Self.waitUntil(seconds: seconds) {
                    let pending = try await probeConnection.query("SELECT count(*) FROM core.kpi_change")[0].decode(Int.self, column: 0)
                    let probing = await tracker.pendingCount
                    return pending == 0 && probing == 0
                }
                return settled ? (ContinuousClock.now - t).loadBenchSeconds : nil
            }
            func lastRefreshRun() async throws -> Int {
                try await probeConnection.query("SELECT coalesce(max(run_id), 0) FROM kpi.refresh_run")[0].decode(Int.self, column: 0)
            }
            let tracker = FreshnessTracker()
            // Let the refresh that master data triggered finish, so the load starts from a quiet daemon.
            _ = try await settle(tracker, seconds: 60)
            say("daemon: pid \(daemon.processIdentifier), http \(base), log \(daemonLog.path)")
            let poller = Task { try await tracker.poll(connection: probeConnection, every: .milliseconds(pollMillis)) }

            // Each client's uploads in order; `cursor` is where the next phase goes on.
            var queues = Array(repeating: [LoadUpload](), count: clientCount)
            for (i, group) in plan.byStore.enumerated() { queues[i % clientCount].append(contentsOf: group.uploads) }
            queues = queues.map { $0.sorted { $0.index < $1.index } }
            var cursor = Array(repeating: 0, count: clientCount)

            func phase(_ name: String, seconds: Double, rate: Double) async throws -> Phase {
                let refreshBefore = try await lastRefreshRun()
                let cpuBefore = CPUSample.take(daemon: daemon.processIdentifier, cluster: cluster)
                let start = ContinuousClock.now
                let deadline = start + .milliseconds(Int(seconds * 1000))
                let starts = cursor
                let work = queues
                let remaining = zip(work, starts).reduce(0) { $0 + $1.0.count - $1.1 }
                let parts = try await withThrowingTaskGroup(of: (Int, Int, [UploadOutcome]).self) { group in
                    for c in 0..<clientCount {
                        group.addTask {
                            var outcomes: [UploadOutcome] = []
                            var next = starts[c]
                            var k = 0
                            // Open loop: each client gets the share of `rate` that its remaining uploads are of all
                            // remaining (a CSV store posts ~3 files a day, a JSON store 1), so the offered load
                            // stays `rate` until the phase ends; slots are staggered over the clients.
                            let interval = rate > 0 ? Double(remaining) / (rate * Double(max(1, work[c].count - starts[c]))) : 0
                            while next < work[c].count {
                                var scheduled = ContinuousClock.now
                                if rate > 0 {
                                    scheduled = start + .nanoseconds(Int64((Double(k) + Double(c) / Double(clientCount)) * interval * 1e9))
                                    if scheduled >= deadline { break }
                                    if scheduled > ContinuousClock.now { try await Task.sleep(until: scheduled, clock: .continuous) }
                                }
                                if ContinuousClock.now >= deadline { break }
                                let upload = work[c][next]
                                outcomes.append(await Self.post(upload, client: client, base: base, token: storeTokens[upload.store]!,
                                                                scheduled: scheduled, phase: name, tracker: tracker))
                                next += 1
                                k += 1
                            }
                            return (c, next, outcomes)
                        }
                    }
                    var all: [(Int, Int, [UploadOutcome])] = []
                    for try await part in group { all.append(part) }
                    return all
                }
                let elapsed = (ContinuousClock.now - start).loadBenchSeconds
                let cpu = CPUSample.take(daemon: daemon.processIdentifier, cluster: cluster).minus(cpuBefore, seconds: elapsed)
                for (c, next, _) in parts { cursor[c] = next }
                // Refreshes that started during the phase (those still running are counted once they finish).
                let caughtUp = try await settle(tracker, seconds: 90)
                let settled = caughtUp ?? 90
                let rows = try await probeConnection.query("""
                    SELECT count(*), coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at)), 0)::float8,
                           coalesce(max(extract(epoch FROM finished_at - started_at)), 0)::float8
                    FROM kpi.refresh_run
                    WHERE run_id > \(refreshBefore) AND status = 'succeeded' AND started_at <= now() - make_interval(secs => \(settled))
                    """)
                let (count, median, maximum) = try rows[0].decode((Int, Double, Double).self)
                let p = Phase(name: name, rate: rate, seconds: elapsed, outcomes: parts.flatMap(\.2), cpu: cpu, refreshes: (count, median, maximum))
                say("\(name): \(p.outcomes.count) uploads in \(format(elapsed, 1)) s, \(format(p.acceptedPerSecond, 1)) accepted/s; "
                    + (caughtUp.map { "snapshots caught up \(format($0, 1)) s after the phase" } ?? "snapshots NOT caught up 90 s after the phase"))
                return p
            }

            if durationSeconds > 0 {
                phases.append(try await phase("saturation", seconds: durationSeconds, rate: 0))
            }
            if pacedDurationSeconds > 0 {
                let offered = rate > 0 ? rate : pacedShare * (phases.first?.acceptedPerSecond ?? 0)
                let remaining = zip(queues, cursor).reduce(0) { $0 + $1.0.count - $1.1 }
                if remaining == 0 {
                    say("paced phase skipped: the corpus is used up (give more --days)")
                } else if offered > 0 {
                    phases.append(try await phase("paced", seconds: pacedDurationSeconds, rate: offered))
                }
            }
            await tracker.finishAfter(seconds: 60)
            try await poller.value
            fresh = await tracker.report()
            ingestedFiles = try await probeConnection.query("SELECT count(*) FROM core.ingested_file")[0].decode(Int.self, column: 0)
            await probeConnection.close()
        }
        let stopStart = ContinuousClock.now
        kill(daemon.processIdentifier, SIGTERM)
        daemon.waitUntilExit()
        daemonRunning = false
        let daemonStatus = daemon.terminationStatus
        let stopSeconds = (ContinuousClock.now - stopStart).loadBenchSeconds

        // The baseline: the same uploads, serially, in process.
        let all = phases.flatMap(\.outcomes)
        let sent = Set(all.map(\.index))
        let baselineUploads = plan.uploads.filter { sent.contains($0.index) }
        let baseline = try await Self.baseline(cluster, corpus: corpusDir, uploads: baselineUploads, workdir: workdir, maxSeconds: baselineSeconds)

        // Figures.
        let accepted = all.filter { $0.status == 200 || $0.status == 201 }.count
        let unexpected = all.filter { $0.status != $0.expected }
        // The ratio compares capacities, so only a saturation phase has one.
        let capacity = phases.first { $0.rate == 0 }?.acceptedPerSecond
        let ratio = capacity.flatMap { baseline.perSecond > 0 ? $0 / baseline.perSecond : nil }
        var phaseObjects: [String: Any] = [:]
        for p in phases {
            var statusCounts: [String: Int] = [:]
            for r in p.outcomes { statusCounts[r.status.map(String.init) ?? "error", default: 0] += 1 }
            let latencies = p.latencies
            let seen = (fresh.visible[p.name] ?? []).sorted()
            let pending = fresh.pending[p.name] ?? 0
            say("\(p.name) phase: \(clientCount) clients, \(p.rate > 0 ? "paced at \(format(p.rate, 1)) uploads/s offered" : "as fast as answers come"), "
                + "\(format(p.seconds, 1)) s: \(p.outcomes.count) uploads")
            say("  answers: " + statusCounts.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
                + "; unexpected: \(p.unexpected.count)")
            for u in p.unexpected.prefix(5) { say("    unexpected: \(u.fileName) expected \(u.expected), got \(u.status.map(String.init) ?? "no answer"): \(u.detail)") }
            say("  sustained: \(format(p.acceptedPerSecond, 1)) accepted uploads/s (\(format(p.storeDayVersionsPerSecond, 1)) store-day versions/s)")
            say("  latency per upload (ms): p50 \(format(percentile(latencies, 0.5), 1)), p90 \(format(percentile(latencies, 0.9), 1)), "
                + "p99 \(format(percentile(latencies, 0.99), 1)), max \(format(latencies.last ?? 0, 1))"
                + (p.rate > 0 ? "; from the scheduled send: p99 \(format(percentile(p.fromSchedule, 0.99), 1)), max \(format(p.fromSchedule.last ?? 0, 1))" : ""))
            say("  freshness (201 answer -> TRAFFIC in bi.kpi_values, s): \(seen.count) of \(fresh.registered[p.name] ?? 0) probes seen, "
                + "p50 \(format(percentile(seen, 0.5), 2)), p99 \(format(percentile(seen, 0.99), 2)), max \(format(seen.last ?? 0, 2)); never: \(pending)")
            say("  daemon refreshes started in the phase: \(p.refreshes.count) (median \(format(p.refreshes.median, 2)) s, max \(format(p.refreshes.max, 2)) s)")
            say("  CPU (cores busy of \(ProcessInfo.processInfo.activeProcessorCount)): daemon \(format(p.cpu.daemon, 2)), PostgreSQL \(format(p.cpu.postgres, 2)), "
                + "load generator \(format(p.cpu.loadGenerator, 2)), whole machine \(format(p.cpu.machine, 2)) (other work \(format(p.cpu.other, 2)))")
            phaseObjects[p.name] = [
                "offered_uploads_per_s": round3(p.rate), "seconds": round3(p.seconds),
                "uploads": p.outcomes.count, "accepted": p.accepted, "status_counts": statusCounts, "unexpected": p.unexpected.count,
                "accepted_uploads_per_s": round3(p.acceptedPerSecond), "store_day_versions_per_s": round3(p.storeDayVersionsPerSecond),
                "latency_ms": ["p50": round3(percentile(latencies, 0.5)), "p90": round3(percentile(latencies, 0.9)),
                               "p99": round3(percentile(latencies, 0.99)), "max": round3(latencies.last ?? 0)],
                "latency_from_schedule_ms": p.rate > 0 ? ["p99": round3(percentile(p.fromSchedule, 0.99)), "max": round3(p.fromSchedule.last ?? 0)] : [:],
                "freshness_s": ["probes": fresh.registered[p.name] ?? 0, "seen": seen.count, "never": pending,
                                "p50": round3(percentile(seen, 0.5)), "p99": round3(percentile(seen, 0.99)), "max": round3(seen.last ?? 0)],
                "refreshes": ["count": p.refreshes.count, "median_s": round3(p.refreshes.median), "max_s": round3(p.refreshes.max)],
                "cpu_cores": ["daemon": round3(p.cpu.daemon), "postgres": round3(p.cpu.postgres), "load_generator": round3(p.cpu.loadGenerator),
                              "machine": round3(p.cpu.machine), "other": round3(p.cpu.other)],
            ] as [String: Any]
        }
        say("freshness polling: every \(pollMillis) ms, one kpi.snapshot query for all pending probes (\(format(fresh.meanPollMilliseconds, 1)) ms on average), hits confirmed in bi.kpi_values")
        say("baseline (ReportIngestor in process, serial, 1 connection, no HTTP, no refresh): \(baseline.files) of \(baselineUploads.count) uploads "
            + "in \(format(baseline.seconds, 1)) s = \(format(baseline.perSecond, 1)) uploads/s; saturation over HTTP / baseline = \(ratio.map { format($0, 2) } ?? "n/a (no saturation phase)")")
        let pendingTotal = fresh.pending.values.reduce(0, +)
        let integrity = ingestedFiles == accepted
        say("integrity: core.ingested_file \(ingestedFiles) = accepted uploads \(accepted): \(integrity); "
            + "daemon exit status after SIGTERM \(daemonStatus) (\(format(stopSeconds, 1)) s)")

        // The phases under their names ("saturation", "paced"), so a reader does not depend on which ran.
        var object: [String: Any] = [
            "benchmark": "load",
            "stores": stores, "days": days, "clients": clientCount, "seed": Int(seed),
            "uploads_planned": plan.uploads.count, "uploads_sent": all.count, "accepted": accepted, "unexpected": unexpected.count,
            "freshness_poll_ms": pollMillis, "freshness_poll_query_ms": round3(fresh.meanPollMilliseconds),
            "baseline": ["what": "ReportIngestor serial in-process", "uploads": baseline.files, "of": baselineUploads.count,
                         "seconds": round3(baseline.seconds), "uploads_per_s": round3(baseline.perSecond)],
            "saturation_over_baseline": ratio.map(round3) ?? NSNull(),
            "ingested_files": ingestedFiles, "daemon_exit_status": Int(daemonStatus), "cores": ProcessInfo.processInfo.activeProcessorCount,
        ]
        object.merge(phaseObjects) { current, _ in current }
        print(jsonLine(object))
        guard unexpected.isEmpty, integrity, daemonStatus == 0, pendingTotal == 0, fresh.wrongValue == 0 else {
            throw BenchError("load run failed its checks: \(unexpected.count) unexpected answers, ingested files \(ingestedFiles) vs accepted \(accepted), "
                             + "daemon exit \(daemonStatus), \(pendingTotal) store-days never visible (\(fresh.wrongValue) with another TRAFFIC)")
        }
    }

    /// An HTTP/1.1 client (async-http-client) with up to `connections` connections to the daemon, shut down
    /// on every path (the client must be shut down before it is released).
    static func withHTTPClient(connections: Int, _ body: (HTTPClient) async throws -> Void) async throws {
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(
            timeout: .init(connect: .seconds(10), read: .seconds(180)),
            connectionPool: .init(idleTimeout: .seconds(120), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)))
        do {
            try await body(client)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    // MARK: one upload

    struct UploadOutcome: Sendable {
        let index: Int
        let fileName: String
        let status: Int?
        let expected: Int
        let milliseconds: Double
        let fromScheduleMilliseconds: Double
        let storeDays: Int
        let detail: String
    }

    static func post(_ upload: LoadUpload, client: HTTPClient, base: String, token: String, scheduled: ContinuousClock.Instant,
                     phase: String, tracker: FreshnessTracker) async -> UploadOutcome {
        var request = HTTPClientRequest(url: base + "/v1/reports?file_name=" + (upload.fileName.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "upload"))
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: upload.contentType)
        request.body = .bytes(upload.body)
        let started = ContinuousClock.now
        var status: Int?
        var detail = ""
        do {
            let response = try await client.execute(request, timeout: .seconds(180))
            var body: [UInt8] = []
            for try await chunk in response.body where body.count < 4096 { body.append(contentsOf: chunk.readableBytesView) }
            status = Int(response.status.code)
            if status != upload.expectedStatus { detail = String(decoding: body.prefix(600), as: UTF8.self) }
        } catch {
            detail = "\(error)"
        }
        let answered = ContinuousClock.now
        if status == 201, let probe = upload.freshnessProbe { await tracker.register(probe, answeredAt: answered, phase: phase) }
        return UploadOutcome(index: upload.index, fileName: upload.fileName, status: status, expected: upload.expectedStatus,
                             milliseconds: (answered - started).loadBenchSeconds * 1000, fromScheduleMilliseconds: (answered - scheduled).loadBenchSeconds * 1000,
                             storeDays: upload.storeDays.count, detail: detail)
    }

    // MARK: baseline

    struct Baseline {
        let files: Int
        let seconds: Double
        var perSecond: Double { seconds > 0 ? Double(files) / seconds : 0 }
    }

    static func baseline(_ cluster: LocalPostgresCluster, corpus: URL, uploads: [LoadUpload], workdir: URL, maxSeconds: Double) async throws -> Baseline {
        let database = try await freshDatabase(cluster, name: "bench_load_baseline", corpus: corpus)
        let files = workdir.appending(path: "baseline-uploads")
        try? FileManager.default.removeItem(at: files)
        try FileManager.default.createDirectory(at: files, withIntermediateDirectories: true)
        var logger = Logger(label: "dealer-kpi-bench.load")
        logger.logLevel = .warning
        let pool = PostgresConnectionPool(configuration: database, options: .init(maximumConnections: 1), logger: logger)
        let ingestor = ReportIngestor(pool: pool, settings: IngestSettings(piiKey: Array(piiKey.utf8)), logger: logger)
        var done = 0
        let started = ContinuousClock.now
        for upload in uploads {
            if (ContinuousClock.now - started).loadBenchSeconds >= maxSeconds { break }
            // As the server does: the body goes to a file, then ingest reads it, for this upload's store only.
            let path = files.appending(path: String(format: "%06d-", upload.index) + upload.fileName).path
            try Data(upload.body).write(to: URL(fileURLWithPath: path))
            let result = try await ingestor.ingest(path: path, displayName: upload.fileName, receivedAt: Date(), allowedStore: upload.store)
            guard result.isAccepted else {
                throw BenchError("baseline: \(upload.fileName) rejected: \(result.rejection!.issues.prefix(3).map { "\($0)" }.joined(separator: "; "))")
            }
            unlink(path)
            done += 1
        }
        let seconds = (ContinuousClock.now - started).loadBenchSeconds
        await pool.shutdown()
        return Baseline(files: done, seconds: seconds)
    }

    // MARK: set-up

    /// Drops and creates `name`, migrates it and loads the corpus' master data.
    static func freshDatabase(_ cluster: LocalPostgresCluster, name: String, corpus: URL) async throws -> PostgresConfiguration {
        var logger = Logger(label: "dealer-kpi-bench.load")
        logger.logLevel = .warning
        let admin = try await PostgresConnection.connect(cluster.configuration())
        try await admin.executeScript("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        try await admin.executeScript("CREATE DATABASE \(name)")
        await admin.close()
        let database = cluster.configuration(database: name)
        let connection = try await PostgresConnection.connect(database)
        try await WarehouseSchema.migrator(logger: logger).migrate(on: connection)
        await connection.close()
        let pool = PostgresConnectionPool(configuration: database, options: .init(maximumConnections: 1), logger: logger)
        let master = MasterFileKind.allCases.map(\.rawValue).map { corpus.appending(path: "master/\($0).csv").path }
        for r in try await MasterDataLoader(pool: pool, logger: logger).load(paths: master) where !r.isAccepted {
            throw BenchError("master data rejected: \(r.rejection!)")
        }
        await pool.shutdown()
        return database
    }

    static func startDaemon(_ cli: URL, database: PostgresConfiguration, port: Int, log: URL) throws -> Process {
        let process = Process()
        process.executableURL = cli
        process.arguments = ["serve", "--database-url", database.connectionString ?? "", "--http", "127.0.0.1:\(port)", "--log-level", "warning"]
        var environment = ProcessInfo.processInfo.environment
        environment["DEALER_KPI_PII_KEY"] = piiKey
        process.environment = environment
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    static func runProcess(_ executable: URL, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchError("\(executable.lastPathComponent) \(arguments.prefix(3).joined(separator: " ")) failed: \(String(decoding: errors, as: UTF8.self))")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func status(_ client: HTTPClient, _ url: String) async -> Int? {
        guard let response = try? await client.execute(HTTPClientRequest(url: url), timeout: .seconds(3)) else { return nil }
        _ = try? await response.body.collect(upTo: 1 << 16)
        return Int(response.status.code)
    }

    static func waitUntil(seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    func say(_ line: String) { print(line) }
}

/// The freshness probes: registered when their upload's 201 arrives, polled in one query per round; the
/// figures are kept per load phase.
actor FreshnessTracker {
    private var pending: [FreshnessProbe: (answered: ContinuousClock.Instant, phase: String)] = [:]
    private var visible: [String: [Double]] = [:]
    private var registered: [String: Int] = [:]
    /// Probes still pending at the end whose row exists with another TRAFFIC (should be 0).
    private var wrong = 0
    private var polls = 0
    private var pollSeconds = 0.0
    private var stopAt: ContinuousClock.Instant?

    func register(_ probe: FreshnessProbe, answeredAt: ContinuousClock.Instant, phase: String) {
        pending[probe] = (answeredAt, phase)
        registered[phase, default: 0] += 1
    }

    var pendingCount: Int { pending.count }

    /// After the load: keep polling until every probe was seen or `seconds` passed.
    func finishAfter(seconds: Double) { stopAt = ContinuousClock.now + .milliseconds(Int(seconds * 1000)) }

    /// TRAFFIC of the store-day rows of `probes` (store level, day grain), from `bi.kpi_values` or, cheaply,
    /// from `kpi.snapshot`, the table that view reads (WALKIN_GROUPS + PHONE_GROUPS, through its index).
    private func traffic(_ probes: some Collection<FreshnessProbe>, connection: PostgresConnection, view: Bool) async throws -> [StoreDay: Decimal?] {
        let dates = Array(Set(probes.map(\.businessDate))), stores = Array(Set(probes.map(\.store)))
        let rows = try await view
            ? connection.query("""
                SELECT store_code, period_start, value FROM bi.kpi_values
                WHERE level = 'store' AND grain = 'day' AND kpi_code = 'TRAFFIC' AND period_start = ANY(\(dates)) AND store_code = ANY(\(stores))
                """)
            : connection.query("""
                SELECT store_code, period_start, (walkin_groups + phone_groups)::numeric FROM kpi.snapshot
                WHERE level = 'store' AND grain = 'day' AND period_start = ANY(\(dates)) AND store_code = ANY(\(stores))
                """)
        var values: [StoreDay: Decimal?] = [:]
        for row in rows {
            let (store, date, value) = try row.decode((String, CalendarDate, Decimal?).self)
            values[StoreDay(store: store, businessDate: date)] = value
        }
        return values
    }

    private static func shows(_ values: [StoreDay: Decimal?], _ probe: FreshnessProbe) -> Bool {
        guard case let value?? = values[StoreDay(store: probe.store, businessDate: probe.businessDate)] else { return false }
        return value == Decimal(probe.traffic)
    }

    /// Each round: the pending store-days' rows from `kpi.snapshot` (an index lookup); those that show the
    /// expected TRAFFIC are then confirmed in `bi.kpi_values` and counted visible as of the round's start.
    /// (Polling the view itself every round cost 50 ms idle and ~200 ms under load per query: a load of its
    /// own on 2 cores.)
    func poll(connection: PostgresConnection, every interval: Duration) async throws {
        while true {
            let round = ContinuousClock.now
            if !pending.isEmpty {
                let probes = Array(pending.keys)
                let table = try await traffic(probes, connection: connection, view: false)
                polls += 1
                pollSeconds += (ContinuousClock.now - round).loadBenchSeconds
                let candidates = probes.filter { Self.shows(table, $0) }
                if !candidates.isEmpty {
                    let view = try await traffic(candidates, connection: connection, view: true)
                    for probe in candidates where Self.shows(view, probe) {
                        guard let entry = pending.removeValue(forKey: probe) else { continue }
                        visible[entry.phase, default: []].append(max(0, (round - entry.answered).loadBenchSeconds))
                    }
                }
            }
            // `stopAt` is set (by `finishAfter`) once the load is over.
            if let stopAt, pending.isEmpty || ContinuousClock.now > stopAt { break }
            try await Task.sleep(until: round + interval, clock: .continuous)
        }
        if !pending.isEmpty {
            let values = try await traffic(Array(pending.keys), connection: connection, view: true)
            wrong = pending.keys.filter { values[StoreDay(store: $0.store, businessDate: $0.businessDate)] != nil }.count
        }
    }

    struct Report {
        /// Per phase.
        let registered: [String: Int]
        let visible: [String: [Double]]
        let pending: [String: Int]
        let wrongValue: Int
        let meanPollMilliseconds: Double
    }

    func report() -> Report {
        var left: [String: Int] = [:]
        for entry in pending.values { left[entry.phase, default: 0] += 1 }
        return Report(registered: registered, visible: visible, pending: left, wrongValue: wrong,
                      meanPollMilliseconds: polls > 0 ? pollSeconds / Double(polls) * 1000 : 0)
    }
}

/// CPU time (seconds) of the daemon, of PostgreSQL (postmaster, its live children, and its reaped
/// children's time), of this process, and of the whole machine (busy time over all cores), from /proc.
struct CPUSample {
    let daemon: Double
    let postgres: Double
    let loadGenerator: Double
    let machineBusy: Double

    static let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// utime, stime, cutime, cstime and ppid of a process, from /proc/PID/stat.
    static func stat(_ pid: Int32) -> (user: Double, system: Double, childUser: Double, childSystem: Double, parent: Int32)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // Fields after the command name: state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17).
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 15, let ppid = Int32(fields[1]), let u = Double(fields[11]), let s = Double(fields[12]),
              let cu = Double(fields[13]), let cs = Double(fields[14]) else { return nil }
        return (u / ticks, s / ticks, cu / ticks, cs / ticks, ppid)
    }

    static func take(daemon: Int32, cluster: LocalPostgresCluster) -> CPUSample {
        let d = stat(daemon).map { $0.user + $0.system } ?? 0
        var postgres = 0.0
        if let pidText = try? String(contentsOf: cluster.dataDirectory.appending(path: "postmaster.pid"), encoding: .utf8),
           let postmaster = pidText.split(separator: "\n").first.flatMap({ Int32($0) }) {
            if let p = stat(postmaster) { postgres += p.user + p.system + p.childUser + p.childSystem }
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
                guard let pid = Int32(entry), let s = stat(pid), s.parent == postmaster else { continue }
                postgres += s.user + s.system
            }
        }
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        let own = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        var busy = 0.0
        if let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8), let line = text.split(separator: "\n").first, line.hasPrefix("cpu ") {
            let v = line.split(separator: " ").dropFirst().compactMap { Double($0) }
            // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
            if v.count >= 8 { busy = (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / ticks }
        }
        return CPUSample(daemon: d, postgres: postgres, loadGenerator: own, machineBusy: busy)
    }

    /// Cores busy on average.
    struct Share {
        let daemon: Double
        let postgres: Double
        let loadGenerator: Double
        let machine: Double
        /// The machine's busy cores not accounted for by the three above (other work on the machine).
        var other: Double { max(0, machine - daemon - postgres - loadGenerator) }
    }

    /// Cores busy on average between `earlier` and this sample, `seconds` apart.
    func minus(_ earlier: CPUSample, seconds: Double) -> Share {
        let s = max(seconds, 1e-9)
        return Share(daemon: (daemon - earlier.daemon) / s, postgres: (postgres - earlier.postgres) / s,
                     loadGenerator: (loadGenerator - earlier.loadGenerator) / s, machine: (machineBusy - earlier.machineBusy) / s)
    }
}

private extension Duration {
    /// Seconds as a Double (named apart from any other file's helpers).
    var loadBenchSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

private func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    // Nearest rank.
    let rank = Int((p * Double(sorted.count)).rounded(.up))
    return sorted[min(max(rank, 1), sorted.count) - 1]
}

private func format(_ x: Double, _ decimals: Int) -> String { String(format: "%.\(decimals)f", x) }

private func round3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }

// MARK: - The uploads

/// One HTTP upload of bench/load: one store's daily-report file, as that store's dealer posts it.
struct LoadUpload: Sendable {
    /// Position in the corpus' order of arrival (manifest order; a region CSV file's pieces by store).
    let index: Int
    let store: String
    /// Sent as `?file_name=` (recorded in `core.ingested_file`).
    let fileName: String
    let contentType: String
    let body: [UInt8]
    let storeDays: [StoreDay]
    /// TRAFFIC of each business date whose visits this upload carries (contract §4, `VisitCounting`).
    let trafficByDate: [CalendarDate: Int]
    /// 201 when the upload brings the first data of one of its store-days, else 200 (a correction only):
    /// derived from the plan, since a store's uploads go out in order.
    var expectedStatus = 201
    /// Set on the uploads whose store-day's TRAFFIC is watched in `bi.kpi_values` after the answer.
    var freshnessProbe: FreshnessProbe?
}

/// A store-day whose day row in `bi.kpi_values` must show `traffic` once the snapshots caught up.
struct FreshnessProbe: Sendable, Hashable {
    let store: String
    let businessDate: CalendarDate
    let traffic: Int
}

/// The uploads of a synthetic corpus, per store and in order of arrival.
///
/// JSON reports are posted as they are. A CSV file of the corpus holds one section for every store of a
/// region that reported in that receipt slot; a store's dealer would post only its own rows, so each CSV
/// file is cut into one file per store: the header line and that store's lines, byte for byte (encoding,
/// BOM and line ends kept; blank and total rows, which belong to no store, dropped). The cut is checked:
/// every piece must read back with exactly the original file's records of its store.
struct LoadPlan {
    let corpus: URL
    let configuration: CorpusConfiguration
    var uploads: [LoadUpload]
    let jsonUploads: Int
    let csvUploads: Int
    let gb18030Uploads: Int
    let storeDays: Int

    /// Generates the corpus under `workdir` once per configuration (reused afterwards).
    static func corpus(workdir: URL, stores: Int, days: Int, seed: UInt64) throws -> (URL, CorpusConfiguration) {
        let config = CorpusConfiguration(stores: stores, days: days, seed: seed)
        let dir = workdir.appending(path: "corpus-s\(stores)-d\(days)-seed\(seed)")
        let done = dir.appending(path: "bench-load-complete")
        if !FileManager.default.fileExists(atPath: done.path) {
            FileHandle.standardError.write(Data("generating corpus in \(dir.path) (\(stores) stores x \(days) days) ...\n".utf8))
            _ = try SyntheticCorpus.generate(config, to: dir.path, overwrite: true)
            try Data().write(to: done)
        }
        return (dir, config)
    }

    static func build(corpus dir: URL, configuration: CorpusConfiguration, freshnessEvery: Int) throws -> LoadPlan {
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appending(path: "manifest.json"))) as? [[String: Any]] ?? []
        var uploads: [LoadUpload] = []
        var json = 0, csv = 0, gb = 0
        for step in manifest {
            guard let files = step["files"] as? [String] else { throw BenchError("bad manifest step: \(step)") }
            for relative in files {
                let path = dir.appending(path: relative).path
                let name = (relative as NSString).lastPathComponent
                let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
                if name.hasSuffix(".json") {
                    let file = try readReport(bytes, name: name)
                    let report = file.reports[0]
                    uploads.append(LoadUpload(index: uploads.count, store: report.store, fileName: name, contentType: "application/json",
                                              body: bytes, storeDays: [report.storeDay], trafficByDate: traffic(of: [report])))
                    json += 1
                } else {
                    for piece in try cutByStore(bytes, name: name) {
                        let file = try readReport(piece.bytes, name: piece.name)
                        let charset = file.encoding == .gb18030 ? "; charset=GB18030" : "; charset=utf-8"
                        if file.encoding == .gb18030 { gb += 1 }
                        uploads.append(LoadUpload(index: uploads.count, store: piece.store, fileName: piece.name, contentType: "text/csv" + charset,
                                                  body: piece.bytes, storeDays: file.reports.map(\.storeDay), trafficByDate: traffic(of: file.reports)))
                        csv += 1
                    }
                }
            }
        }
        // Expected answers, and the store-days whose freshness can be judged by their TRAFFIC: only a
        // store-day whose visits arrive in exactly one upload (no later file replaces them), which is also
        // the upload that creates the store-day, with TRAFFIC > 0 (a row that exists shows the upload).
        var seen = Set<StoreDay>()
        var visitUploads: [StoreDay: Int] = [:]
        for u in uploads { for d in u.trafficByDate.keys { visitUploads[StoreDay(store: u.store, businessDate: d), default: 0] += 1 } }
        var eligible = 0
        for i in uploads.indices {
            let new = uploads[i].storeDays.filter { !seen.contains($0) }
            uploads[i].expectedStatus = new.isEmpty ? 200 : 201
            seen.formUnion(uploads[i].storeDays)
            let candidates = new.filter { visitUploads[$0] == 1 && (uploads[i].trafficByDate[$0.businessDate] ?? 0) > 0 }.sorted()
            if let day = candidates.last {
                if eligible % max(1, freshnessEvery) == 0 {
                    uploads[i].freshnessProbe = FreshnessProbe(store: day.store, businessDate: day.businessDate,
                                                               traffic: uploads[i].trafficByDate[day.businessDate]!)
                }
                eligible += 1
            }
        }
        return LoadPlan(corpus: dir, configuration: configuration, uploads: uploads, jsonUploads: json, csvUploads: csv,
                        gb18030Uploads: gb, storeDays: seen.count)
    }

    /// The uploads grouped by store, each store's in order of arrival.
    var byStore: [(store: String, uploads: [LoadUpload])] {
        Dictionary(grouping: uploads, by: \.store).map { ($0.key, $0.value.sorted { $0.index < $1.index }) }.sorted { $0.store < $1.store }
    }

    private static func readReport(_ bytes: [UInt8], name: String) throws -> ReportFile {
        do {
            return try ReportReader.read(bytes: bytes, fileName: name, reference: nil)
        } catch {
            throw BenchError("corpus file \(name) does not read: \(error.issues.prefix(3).map { "\($0)" }.joined(separator: "; "))")
        }
    }

    private static func traffic(of reports: [StoreDayReport]) -> [CalendarDate: Int] {
        var out: [CalendarDate: Int] = [:]
        for r in reports {
            guard let visits = r.visits else { continue }
            out[r.businessDate, default: 0] += visits.filter { VisitCounting.classify($0).traffic }.count
        }
        return out
    }

    struct Piece {
        let store: String
        let name: String
        let bytes: [UInt8]
    }

    /// Cuts a region CSV file into one file per store (see the type's comment), and checks the cut.
    static func cutByStore(_ bytes: [UInt8], name: String) throws -> [Piece] {
        let original = try readReport(bytes, name: name)
        let stores = Set(original.reports.map(\.store))
        // Lines end at LF (CRLF keeps its CR). LF never occurs inside a GB18030 or UTF-8 multi-byte
        // character, and the generator writes no line breaks inside cells (the check below would catch it).
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        for i in bytes.indices where bytes[i] == 0x0A {
            lines.append(bytes[start...i])
            start = i + 1
        }
        if start < bytes.count { lines.append(bytes[start...]) }
        guard let header = lines.first else { throw BenchError("\(name): empty CSV file") }
        var perStore: [String: [UInt8]] = [:]
        for line in lines.dropFirst() {
            let cell = line.prefix { $0 != 0x2C && $0 != 0x0D && $0 != 0x0A }
            let store = String(decoding: cell, as: UTF8.self).trimmingCharacters(in: .whitespaces)
            guard stores.contains(store) else { continue }
            perStore[store, default: Array(header)].append(contentsOf: line)
        }
        let base = (name as NSString).deletingPathExtension
        var pieces: [Piece] = []
        for (store, body) in perStore.sorted(by: { $0.key < $1.key }) {
            let piece = Piece(store: store, name: "\(base)_\(store).csv", bytes: body)
            let reread = try readReport(body, name: piece.name)
            let want = original.reports.filter { $0.store == store }
            guard reread.reports.map(\.storeDay) == want.map(\.storeDay),
                  reread.reports.map(recordCount) == want.map(recordCount) else {
                throw BenchError("\(name): the piece of store \(store) does not read back with that store's records")
            }
            pieces.append(piece)
        }
        return pieces
    }

    private static func recordCount(_ r: StoreDayReport) -> Int {
        (r.visits?.count ?? 0) + (r.prospects?.count ?? 0) + (r.sales?.count ?? 0)
    }
}
