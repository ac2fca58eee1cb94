import ArgumentParser
import DealerKPIServices

struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write a realistic synthetic corpus (master data, reports, manifest).")
    @Option(help: "Number of stores.") var stores: Int = 20
    @Option(help: "Number of business days.") var days: Int = 30
    @Option(help: "Random seed (same seed, same bytes).") var seed: UInt64 = 1
    @Option(help: "First business date (YYYY-MM-DD).") var start: String?
    @Option(help: "Output directory.") var out: String
    @Flag(help: "Replace an existing corpus in the directory.") var overwrite = false
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        _ = global.bootstrap()
        let summary = try CorpusCommand.generate(stores: stores, days: days, seed: seed, start: start, out: out, overwrite: overwrite)
        print(summary)
    }
}
