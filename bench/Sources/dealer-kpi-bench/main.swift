// Benchmarks for dealer-kpi. Each prints one JSON line with its figures (and the baseline measured in the
// same run) as its last line of output. Run through the scripts in bench/ (they build in release mode).
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
guard let name = arguments.first else {
    FileHandle.standardError.write(Data("""
        usage: dealer-kpi-bench copy [--rows N] [--workdir DIR]
               dealer-kpi-bench ingest [--workdir DIR] [--sizes 500000,1000000] [--insert-sample N] [--copy-runs N] [--ours-runs N]
                                       [--stores N] [--days N] [--traffic X] [--ours-only] [--drop-visit-fks]
               dealer-kpi-bench aggregate [--workdir DIR] [--stores N] [--days N]
               dealer-kpi-bench results [--dir bench/out] [--out bench/RESULTS.md]
               dealer-kpi-bench ingest-only --corpus DIR --conninfo STR --max-visit-rows N --result FILE

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
            dropVisitForeignKeys: arguments.contains("--drop-visit-fks")
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
    default:
        FileHandle.standardError.write(Data("unknown benchmark \(name)\n".utf8))
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("benchmark failed: \(error)\n".utf8))
    exit(1)
}
