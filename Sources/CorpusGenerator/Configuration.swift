public import CivilCalendar

/// The knobs of a synthetic corpus. Everything not listed here is fixed by the generator's model of a
/// national dealer network (see `docs` in the package's report for the reasoning behind the defaults).
///
/// The same configuration (seed included) always produces byte-identical files.
public struct CorpusConfiguration: Sendable, Hashable {
    /// Number of stores (>= 1).
    public var stores: Int
    /// Number of business days, starting at `startDate` (>= 1). Every calendar day is a business day:
    /// car dealers trade seven days a week.
    public var days: Int
    /// The seed of every random draw.
    public var seed: UInt64
    /// First business date of the corpus.
    public var startDate: CalendarDate
    /// Stores per region: the number of regions is ceil(stores / storesPerRegion).
    public var storesPerRegion: Int = 25
    /// Share of regions whose stores report as CSV section files (at least one region when there are
    /// two or more; with a single region, every other store of it reports as CSV).
    public var csvRegionShare: Double = 0.3
    /// Share of a CSV store's days on which it nevertheless uploads JSON (the dealer's own upload).
    public var csvStoreJSONShare: Double = 0.08
    /// Share of CSV files written in GB18030 (the rest: UTF-8, some with a BOM).
    public var gb18030Share: Double = 0.25
    /// Share of UTF-8 CSV files with a BOM.
    public var bomShare: Double = 0.25
    /// Probability that a store-day's report is never sent.
    public var missingShare: Double = 0.01
    /// Probability that a store-day's report arrives late (the next day, after the 10:00 due time).
    public var lateShare: Double = 0.04
    /// Probability that a store falls silent for 1–2 days and then sends the held reports together.
    public var catchUpShare: Double = 0.005
    /// Probability that a sent report is later re-sent with changes (a correction, `_corr1`).
    public var correctionShare: Double = 0.02
    /// Probability that a report file (a JSON report, a correction included, or one CSV section file) is
    /// sent again byte-identically 5–90 minutes later: a retry after a lost response or a flaky link. The
    /// copy is named `…_resend.json` / `…_resend.csv` and is a manifest step of its own with
    /// `"kind": "resend"`. It is a duplicate under contract 1.1, so it changes no KPI; it always arrives
    /// before any later delivery for the same store-days (a correction), or is not sent. 0: no re-sends.
    public var resendShare: Double = 0.02
    /// Share of CSV uploads (one region's section files of one receipt slot) whose section files arrive
    /// minutes apart instead of together: visits at the slot time, prospects a few minutes later, sales
    /// later still, each a manifest step of its own with `"kind": "section"` (the visits file stays in the
    /// slot's ordinary step). All of it arrives within the receipt slot, so before the due time when the
    /// slot is, and before any correction. Under contract 1.1 a later section completes the day's version,
    /// so it changes no KPI. Uploads that carry corrections are never split. 0: sections always together.
    public var sectionSplitShare: Double = 0.1
    /// Multiplies every store's daily traffic (1.0: about 6–30 purchase groups on a weekday).
    public var trafficScale: Double = 1.0
    /// Receipt times are rounded down to this many minutes (the inbox is polled in slots); all files of one
    /// slot form one manifest step. 1 gives minute-precise receipt times.
    public var receiptSlotMinutes: Int = 30
    /// Pretty-printed JSON (2-space indent, as the shared examples) or one line per report.
    public var prettyJSON: Bool = true

    public init(stores: Int, days: Int, seed: UInt64, startDate: CalendarDate = CorpusConfiguration.defaultStartDate) {
        self.stores = stores
        self.days = days
        self.seed = seed
        self.startDate = startDate
    }

    public static let defaultStartDate = CalendarDate(year: 2026, month: 1, day: 1)!

    /// The first day after the corpus (exclusive end).
    public var endDate: CalendarDate { startDate.adding(days: days) }

    var regionCount: Int { max(1, (stores + storesPerRegion - 1) / max(1, storesPerRegion)) }

    func validate() throws {
        guard stores >= 1 else { throw CorpusGeneratorError("stores must be >= 1 (got \(stores))") }
        guard stores <= 9_999 else { throw CorpusGeneratorError("stores must be <= 9999 (got \(stores))") }
        guard days >= 1 else { throw CorpusGeneratorError("days must be >= 1 (got \(days))") }
        guard days <= 3_660 else { throw CorpusGeneratorError("days must be <= 3660 (got \(days))") }
        guard storesPerRegion >= 1 else { throw CorpusGeneratorError("storesPerRegion must be >= 1") }
        guard trafficScale > 0, trafficScale <= 50 else { throw CorpusGeneratorError("trafficScale must be in (0, 50]") }
        guard receiptSlotMinutes >= 1, receiptSlotMinutes <= 60, 60 % receiptSlotMinutes == 0 else {
            throw CorpusGeneratorError("receiptSlotMinutes must divide 60")
        }
        for (name, p) in [("csvRegionShare", csvRegionShare), ("csvStoreJSONShare", csvStoreJSONShare),
                          ("gb18030Share", gb18030Share), ("bomShare", bomShare), ("missingShare", missingShare),
                          ("lateShare", lateShare), ("catchUpShare", catchUpShare), ("correctionShare", correctionShare),
                          ("resendShare", resendShare), ("sectionSplitShare", sectionSplitShare)]
        where !(p >= 0 && p <= 1) {
            throw CorpusGeneratorError("\(name) must be in [0, 1] (got \(p))")
        }
        guard missingShare + lateShare + catchUpShare <= 0.9 else {
            throw CorpusGeneratorError("missingShare + lateShare + catchUpShare must be <= 0.9")
        }
    }
}
