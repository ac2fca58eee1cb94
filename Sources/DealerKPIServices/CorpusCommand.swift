import CivilCalendar
import CorpusGenerator

/// `dealer-kpi generate`.
public enum CorpusCommand {
    public struct BadArgument: Error, CustomStringConvertible {
        public let description: String
    }

    public static func generate(stores: Int, days: Int, seed: UInt64, start: String?, out: String, overwrite: Bool) throws -> String {
        guard stores >= 1, days >= 1 else { throw BadArgument(description: "--stores and --days must be at least 1") }
        var config = CorpusConfiguration(stores: stores, days: days, seed: seed)
        if let start {
            guard let date = CalendarDate(iso: start) else { throw BadArgument(description: "--start must be YYYY-MM-DD, got \(start)") }
            config = CorpusConfiguration(stores: stores, days: days, seed: seed, startDate: date)
        }
        let summary = try SyntheticCorpus.generate(config, to: out, overwrite: overwrite)
        return "\(summary)"
    }
}
