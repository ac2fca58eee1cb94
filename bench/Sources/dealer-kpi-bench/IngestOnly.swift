import DailyReport
import Foundation
import Logging
import Postgres
import Warehouse

/// `dealer-kpi-bench ingest-only`: the measured process of bench/ingest. Ingests the corpus's visits files
/// in manifest order (each with its manifest receipt time) through `ReportIngestor`, exactly as the
/// service would, until at least `maxVisitRows` visit rows are in (whole files). Writes a JSON result to
/// `resultFile`, with this process's peak RSS (VmHWM: its own address space since exec).
struct IngestOnly {
    let corpus: URL
    let conninfo: String
    let maxVisitRows: Int
    let resultFile: URL

    func run() async throws {
        let files = try IngestCorpus.visitFiles(corpus: corpus)
        var logger = Logger(label: "dealer-kpi-bench.ingest")
        logger.logLevel = .warning
        let pool = PostgresConnectionPool(configuration: PostgresConfiguration(connectionString: conninfo),
                                          options: .init(maximumConnections: 1), logger: logger)
        let key = Array("bench-ingest-pii-key-0123456789".utf8)
        let ingestor = ReportIngestor(pool: pool, settings: IngestSettings(piiKey: key), logger: logger)

        var visits = 0, used = 0, storeDays = 0
        var slowest = 0.0
        var lastHWM = 0
        let started = Date()
        for file in files {
            if visits >= maxVisitRows { break }
            let t0 = Date()
            let result = try await ingestor.ingest(path: file.path, receivedAt: file.receivedAt)
            slowest = max(slowest, Date().timeIntervalSince(t0))
            guard result.isAccepted else {
                let issues = result.rejection!.issues.prefix(5).map { "\($0)" }.joined(separator: "; ")
                throw BenchError("\(result.file) was rejected: \(issues)")
            }
            if ProcessInfo.processInfo.environment["DKPI_RSS_TRACE"] != nil {
                let hwm = Self.vmHWM()
                if hwm > lastHWM + 2048 {
                    FileHandle.standardError.write(Data("RSS \(file.path) rows=\(result.visitRows) hwm=\(hwm) KB after \(visits) rows\n".utf8))
                    lastHWM = hwm
                }
            }
            visits += result.visitRows
            storeDays += result.storeDays.count
            used += 1
        }
        let seconds = Date().timeIntervalSince(started)
        await pool.shutdown()
        let o: [String: Any] = ["files": used, "visit_rows": visits, "store_days": storeDays, "seconds": seconds,
                                "slowest_file_seconds": slowest, "peak_rss_kb": Self.vmHWM()]
        try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]).write(to: resultFile)
    }

    static func vmHWM() -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in s.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
        }
        return 0
    }
}
