// Benchmarks for dealer-kpi. Each prints one JSON line with its figures (and the baseline measured in the
// same run) as its last line of output. Run through the scripts in bench/ (they build in release mode).
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
guard let name = arguments.first else {
    FileHandle.standardError.write(Data("usage: dealer-kpi-bench copy [--rows N] [--workdir DIR]\n".utf8))
    exit(2)
}
func option(_ flag: String, _ fallback: String) -> String {
    guard let i = arguments.firstIndex(of: flag), i + 1 < arguments.count else { return fallback }
    return arguments[i + 1]
}
let workdir = URL(fileURLWithPath: option("--workdir", "/tmp/dkpi-bench"))

do {
    switch name {
    case "copy":
        try await CopyBenchmark(rows: Int(option("--rows", "1000000"))!, workdir: workdir).run()
    default:
        FileHandle.standardError.write(Data("unknown benchmark \(name)\n".utf8))
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("benchmark failed: \(error)\n".utf8))
    exit(1)
}
