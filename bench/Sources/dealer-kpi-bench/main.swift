// Benchmarks for dealer-kpi. Each prints one JSON line with its figures (and the baseline measured in the
// same run) as its last line of output. Run through the scripts in bench/ (they build in release mode).
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
guard let name = arguments.first else {
    FileHandle.standardError.write(Data("""
        usage: dealer-kpi-bench copy [--rows N] [--workdir DIR]
               dealer-kpi-bench ingest [--workdir DIR] [--sizes 500000,1000000] [--insert-sample N] [--copy-runs N] [--ours-runs N]
                                       [--stores N] [--days N] [--traffic X] [--ours-only] [--drop-visit-fks] [--partition-visits]
               dealer-kpi-bench aggregate [--workdir DIR] [--stores N] [--days N]
               dealer-kpi-bench results [--dir bench/out] [--out bench/RESULTS.md]
               dealer-kpi-bench ingest-only --corpus DIR --conninfo STR --max-visit-rows N --result FILE
               dealer-kpi-bench faults [--workdir DIR] [--kills 24] [--seed 1] [--stores 12] [--days 30] [--corpus-seed 6] [--outage-seconds 30] [--feed-seconds 150] [--binary PATH] [--tamper]
               dealer-kpi-bench load [--workdir DIR] [--stores 50] [--days 90] [--clients 50] [--duration 60] [--paced-duration 75] [--rate 0] [--paced-share 0.5] [--freshness-every 5] [--poll-ms 100] [--baseline-seconds 60] [--seed 11]

        """.utf8))
    exit(2)
}
func option(_ flag: String, _ fallback: String) -> String {
    guard let i = arguments.firstIndex(of: flag), i + 1 < arguments.count else { return fallback }
    return arguments[i + 1]
}
func workdir(_ fallback: String) -> URL { URL(fileURLWithPath: option("--workdir", fallback)) }

do {
    switch name {
    case "copy":
        try await CopyBenchmark(rows: Int(option("--rows", "1000000"))!, workdir: workdir("/tmp/dkpi-bench")).run()
    case "ingest":
        try await IngestBenchmark(
            workdir: workdir("/tmp/dkpi-bench-ingest"),
            sizes: option("--sizes", "500000,1000000").split(separator: ",").map { Int($0)! },
            insertSample: Int(option("--insert-sample", "100000"))!,
            copyRuns: Int(option("--copy-runs", "3"))!,
            oursRuns: Int(option("--ours-runs", "2"))!,
            stores: Int(option("--stores", "200"))!,
            days: Int(option("--days", "64"))!,
            traffic: Double(option("--traffic", "8"))!,
            oursOnly: arguments.contains("--ours-only"),
            dropVisitForeignKeys: arguments.contains("--drop-visit-fks"),
            partitionVisitsByMonth: arguments.contains("--partition-visits")
        ).run()
    case "aggregate":
        try await AggregateBenchmark(workdir: workdir("/tmp/dkpi-bench-aggregate"),
                                     stores: Int(option("--stores", "500"))!, days: Int(option("--days", "365"))!,
                                     batch: Int(option("--batch", "")) ).run()
    case "results":
        try ResultsReport(directory: URL(fileURLWithPath: option("--dir", "bench/out")),
                          output: URL(fileURLWithPath: option("--out", "bench/RESULTS.md"))).run()
    case "ingest-only":
        try await IngestOnly(
            corpus: URL(fileURLWithPath: option("--corpus", "")),
            conninfo: option("--conninfo", ""),
            maxVisitRows: Int(option("--max-visit-rows", "\(Int.max)"))!,
            resultFile: URL(fileURLWithPath: option("--result", "/dev/null"))
        ).run()
    case "load":
        try await LoadBenchmark(workdir: workdir("/tmp/dkpi-bench-load"), option: option).run()
    case "faults":
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appending(path: "dealer-kpi")
        guard try await FaultsBenchmark(
            workdir: workdir("/tmp/dkpi-bench-faults"), binary: URL(fileURLWithPath: option("--binary", binary.path)),
            stores: Int(option("--stores", "12"))!, days: Int(option("--days", "30"))!, corpusSeed: UInt64(option("--corpus-seed", "6"))!,
            seed: UInt64(option("--seed", "1"))!, kills: Int(option("--kills", "24"))!, outageSeconds: Int(option("--outage-seconds", "30"))!,
            feedSeconds: Double(option("--feed-seconds", "150"))!, tamper: arguments.contains("--tamper")
        ).run() else { exit(1) }
    default:
        FileHandle.standardError.write(Data("unknown benchmark \(name)\n".utf8))
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("benchmark failed: \(error)\n".utf8))
    exit(1)
}
