public import CivilCalendar

/// Counts of a generated corpus, for printing.
public struct CorpusSummary: Sendable, Hashable, CustomStringConvertible {
    public var stores = 0
    public var regions = 0
    public var salespeople = 0
    public var firstDate: CalendarDate? = nil
    public var lastDate: CalendarDate? = nil

    /// Report files (JSON and CSV, corrections and re-sends included).
    public var reportFiles = 0
    public var jsonFiles = 0
    public var csvFiles = 0
    /// CSV files written in GB18030 that hold non-ASCII text (so are not valid UTF-8).
    public var gb18030Files = 0
    public var bomFiles = 0
    public var masterFiles = 0
    /// Steps of manifest.json.
    public var steps = 0
    public var bytesWritten = 0

    /// Rows of the reports (corrections included; a re-sent copy is not counted again).
    public var visitRows = 0
    public var prospectRows = 0
    public var salesRows = 0

    /// Facts of the simulation (each counted once).
    public var newCards = 0
    public var orders = 0
    public var deliveries = 0
    public var cancellations = 0

    /// Store-days on which a store was open.
    public var storeDays = 0
    /// Store-days with a report (version 1) sent.
    public var reportedStoreDays = 0
    /// Store-days whose report was never sent.
    public var missing = 0
    /// Store-days whose version 1 arrived after the due time (business_date + 1 at 10:00).
    public var late = 0
    /// Corrected store-days (a `_corr1` version was sent).
    public var corrections = 0

    /// Re-sent files (`_resend`): byte-identical retries, each a manifest step of its own (`"kind": "resend"`).
    public var resends = 0
    /// CSV uploads whose section files arrived in several steps minutes apart.
    public var splitUploads = 0
    /// The later steps of those uploads (`"kind": "section"`), one per section file.
    public var sectionSteps = 0

    /// Seconds spent generating.
    public var seconds = 0.0

    public init() {}

    /// Total files written (reports, master files, manifest).
    public var files: Int { reportFiles + masterFiles + (steps > 0 || reportFiles > 0 ? 1 : 0) }

    public var description: String {
        var s = "stores \(stores) in \(regions) regions, \(salespeople) salespeople"
        if let f = firstDate, let l = lastDate { s += ", \(f) .. \(l)" }
        s += "\nfiles \(files): \(reportFiles) reports (\(jsonFiles) JSON, \(csvFiles) CSV of which \(gb18030Files) GB18030 and \(bomFiles) with BOM), \(masterFiles) master, manifest with \(steps) steps"
        s += "\nrows: \(visitRows) visits, \(prospectRows) prospects, \(salesRows) sales"
        s += "\nfacts: \(newCards) A-cards, \(orders) orders, \(deliveries) deliveries, \(cancellations) cancellations"
        s += "\nstore-days: \(storeDays) open, \(reportedStoreDays) reported, \(missing) missing, \(late) late, \(corrections) corrected"
        s += "\ndelivery: \(resends) re-sent files (own steps, kind resend), \(splitUploads) CSV uploads split into \(sectionSteps) later section steps (kind section)"
        s += "\n\(bytesWritten) bytes in \(String(format3(seconds))) s"
        return s
    }
}

func format3(_ x: Double) -> String {
    let ms = Int((x * 1000).rounded())
    let frac = ms % 1000
    return String(ms / 1000) + "." + (frac < 10 ? "00" : frac < 100 ? "0" : "") + String(frac)
}

/// Progress of a running generation (called once per business day).
public struct CorpusProgress: Sendable {
    public let date: CalendarDate
    public let dayIndex: Int
    public let days: Int
    public let summary: CorpusSummary
}

/// The synthetic corpus generator: master data, daily reports (JSON and CSV), and manifest.json, all valid
/// under shared/spec/daily-report-v1.md and shaped like shared/examples.
///
/// ```swift
/// var config = CorpusConfiguration(stores: 50, days: 90, seed: 42)   // start 2026-01-01
/// let summary = try SyntheticCorpus.generate(config, to: "out", overwrite: false) { p in ... }
/// print(summary)
/// ```
///
/// Output layout under the target directory:
/// - `master/{regions,stores,salespeople,models,plans,expenses}.csv` (stores.csv and plans.csv with a
///   UTF-8 BOM; extra columns `brand`, `title`, `guide_price` as in the examples)
/// - `reports/YYYY-MM-DD/STORE_YYYYMMDD.json`, and `STORE_YYYYMMDD_corr1.json` for a correction
/// - `csv/YYYYMMDD-HHMM_REGION_{visits,prospects,sales}.csv` (YYYYMMDD-HHMM: the receipt time in business
///   time of the upload; one set of files per region and receipt slot, rows of several stores and possibly
///   several business dates; a section without rows has no file)
/// - `…_resend.json` / `…_resend.csv`: a byte-identical copy of a report file, sent again (a retry)
/// - `manifest.json`: `[{"files": [...], "received_at": "YYYY-MM-DDTHH:MM:00+08:00"}, ...]`, one step per
///   upload, received_at strictly ascending; within a step CSV files first (by region, then visits,
///   prospects, sales), then JSON files by path. Ordinary steps (every file received in one receipt slot)
///   have only those two members; a step of its own says what it is with a third, `"kind"`:
///   `"resend"` (one `_resend` file) or `"section"` (one later section file of a split CSV upload). All
///   sections of a store-day version are in the same step, unless its upload was split.
///
/// The model, and what it decides where the contract is silent:
/// - Deterministic: xoshiro256** seeded by SplitMix64, one stream for master data, one per store for the
///   business, one per store for operations (receipt times, missing, corrections), one per CSV file for
///   formatting. No system RNG, no libm transcendental functions, no Dictionary-order dependence, so the
///   same configuration gives byte-identical files on every run and platform.
/// - Every calendar day is a business day (dealers trade seven days a week); weekend traffic x1.6, mild
///   monthly seasonality (Feb low, Sep/Oct high).
/// - Regions: ceil(stores / 25), named 华东大区, 华南大区, ... then 华东二区 (code EAST2) and so on. Store codes
///   are a city code plus a number (SH001). About 30% of regions report as CSV (with one region: every other
///   store); such a store still uploads JSON on ~8% of days.
/// - From 14 days and 3 stores on: stores/20 stores open during the corpus (their salespeople hired that
///   day), one store closes (two from 40 stores). On a closing store's last business day every open A-card
///   is closed as lost (门店闭店) and every pending order delivered and fully paid, as in the examples.
///   A few salespeople leave and a few are hired; their open cards and orders are handed over to a
///   colleague on the leaving day (re-reported with the new salesperson), so no report ever names someone
///   not employed that day.
/// - One salesperson moves store mid-corpus. master/salespeople.csv holds the final state only (the new
///   store, original hired_on; the code keeps the old store's prefix). Before the move they appear only in
///   the old store's reports, from the move day only in the new store's. `CorpusMasterData.move` says who,
///   where and when. Both stores have store-level plans only, so no plan row names the mover.
/// - Traffic: weekday mean 5–25 new purchase groups per store; channels walk_in/phone/event; capture 72–84%
///   of counted traffic; ~6% of cards invalid (placeholder or honorific names, malformed or blacklisted
///   phones, no model); cards order (by level H/A/B/C), get lost, or stay open; orders at 10–21% of
///   traffic, 5% cancelled, the rest delivered after 2–30 days with a VIN (WMI LHZ, model-specific VDS,
///   valid ISO 3779 check digit, unique serial across the corpus); 8% of deliveries slightly short, most
///   of those topped up later (the order re-appears with the new cumulative `collected`). A cancelled
///   order keeps its `collected` (cumulative received; refunds are not modelled).
/// - A report carries the day's visits and every card/order changed since the store's last *sent* report
///   (full current state, sorted by id). So after a missing day, the next report carries that day's
///   changes (cards with earlier created_on, orders with earlier order_date), as in the examples; the
///   missing day's visits are lost.
/// - Receipt: ~90% of on-time reports between 20:00 and 23:00 the same evening, the rest 07:00–09:30 the
///   next morning; late ones the next day 10:30–18:00; a store sometimes falls silent 1–2 days and sends
///   the held reports with the next evening's (one step, ascending dates); ~1% never sent; ~2% corrected
///   1–4 days later in office hours (same format as the original: `_corr1.json`, or rows in that slot's
///   region CSV files). A correction replaces a placeholder name with a full name, fixes a visit's
///   purpose or party size, or adds a forgotten after-sales visit; a name fix also holds in later reports.
///   Receipt times are rounded down to `receiptSlotMinutes` (30) so one inbox slot is one step.
/// - Uploads as they really arrive (contract 1.1, "Duplicates, sections and uploads"); neither changes the
///   data or any KPI, only how it is delivered, and both are drawn on streams of their own, so with both
///   shares 0 the corpus is byte for byte the one without them:
///   - re-sends (`resendShare`, 2% of report files): the same bytes again 5–90 minutes later as
///     `…_resend.json` / `…_resend.csv` (for CSV the same section file), a step of its own with
///     `"kind": "resend"`; always before a correction of the same store-days (else it would undo it: a
///     re-send that cannot be placed so is not sent);
///   - split uploads (`sectionSplitShare`, 10% of CSV uploads without corrections): visits at the slot
///     time, prospects 2–12 minutes later, sales 2–12 minutes after that, each later section a step of its
///     own with `"kind": "section"`, all within the receipt slot (so still on time when the visits were).
///   Steps of their own take a minute no other step has (nearby if theirs is taken).
/// - CSV files: ~25% GB18030 (via glibc iconv), ~25% of the rest with a UTF-8 BOM; 15% CRLF; booleans as
///   true/false, 1/0, 是/否, Y/N or true/empty per file; money as Excel writes it (186000, 170600.5);
///   sometimes blank rows and a trailing 合计/总计/Total row.
/// - Plans for every month touched, for every store open in it: 60% store rows only, 30% salesperson
///   PLAN_DELIVERIES rows plus store rows for the other KPIs, 10% both (the store's own row wins);
///   expenses for every such store and month.
public enum SyntheticCorpus {
    /// The master data of a configuration, in memory (deterministic from the seed).
    public static func masterData(for config: CorpusConfiguration) throws -> CorpusMasterData {
        try config.validate()
        return CorpusMasterData.build(config)
    }

    /// Writes only `master/*.csv` into `directory` (created if needed).
    @discardableResult
    public static func generateMasterData(_ config: CorpusConfiguration, to directory: String) throws -> CorpusSummary {
        let master = try masterData(for: config)
        var summary = CorpusSummary()
        summary.stores = master.stores.count
        summary.regions = master.regions.count
        summary.salespeople = master.salespeople.count
        let written = try MasterWriter.write(master, to: directory)
        summary.masterFiles = written.files
        summary.bytesWritten = written.bytes
        return summary
    }

    /// Generates the whole corpus into `directory`. The directory must not exist or be empty, unless
    /// `overwrite` is true, in which case the generator's own outputs there (`master/`, `reports/`,
    /// `csv/`, `manifest.json`) are removed first. Files are written day by day as the simulation goes.
    @discardableResult
    public static func generate(_ config: CorpusConfiguration, to directory: String, overwrite: Bool = false,
                                progress: ((CorpusProgress) -> Void)? = nil) throws -> CorpusSummary {
        try config.validate()
        let clock = MonotonicClock()
        if FileIO.exists(directory) && !FileIO.isEmptyDirectory(directory) {
            guard overwrite else {
                throw CorpusGeneratorError("\(directory) is not empty (pass overwrite to replace a previous corpus)")
            }
            for name in ["master", "reports", "csv", "manifest.json"] { try FileIO.removeTree(directory + "/" + name) }
        }
        try FileIO.makeDirectories(directory)
        let master = CorpusMasterData.build(config)
        let engine = CorpusEngine(config: config, master: master, directory: directory)
        var summary = try engine.run(progress: progress)
        let written = try MasterWriter.write(master, to: directory)
        summary.masterFiles = written.files
        summary.bytesWritten += written.bytes
        summary.seconds = clock.elapsed()
        return summary
    }
}

/// Writes master/*.csv.
enum MasterWriter {
    static func write(_ m: CorpusMasterData, to directory: String) throws -> (files: Int, bytes: Int) {
        let dir = directory + "/master"
        try FileIO.makeDirectories(dir)
        var bytes = 0
        func put(_ name: String, bom: Bool, _ header: String, _ rows: [[String]]) throws {
            var b = ByteBuffer(capacity: 1 << 16)
            if bom { b.append(0xEF); b.append(0xBB); b.append(0xBF) }
            b.append(header); b.append(UInt8(ascii: "\n"))
            for row in rows {
                for (i, cell) in row.enumerated() {
                    if i > 0 { b.append(UInt8(ascii: ",")) }
                    b.appendCSVCell(cell)
                }
                b.append(UInt8(ascii: "\n"))
            }
            try FileIO.write(b.bytes, to: dir + "/" + name)
            bytes += b.count
        }
        try put("regions.csv", bom: false, "region_code,region_name", m.regions.map { [$0.code, $0.name] })
        try put("stores.csv", bom: true, "store_code,store_name,region_code,city,opened_on,closed_on,brand", m.stores.map {
            [$0.code, $0.name, $0.regionCode, $0.city, $0.openedOn.description, $0.closedOn?.description ?? "", ReferenceData.brand]
        })
        try put("salespeople.csv", bom: false, "salesperson_code,name,store_code,hired_on,left_on,title", m.salespeople.map {
            [$0.code, $0.name, $0.storeCode, $0.hiredOn.description, $0.leftOn?.description ?? "", $0.title]
        })
        try put("models.csv", bom: false, "model_code,model_name,segment,guide_price", m.models.map {
            [$0.code, $0.name, $0.segment, Cents($0.listPriceFen).fixed2]
        })
        try put("plans.csv", bom: true, "month,store_code,salesperson_code,kpi,value", m.plans.map {
            [$0.month, $0.storeCode, $0.salespersonCode ?? "", $0.kpi, $0.value]
        })
        try put("expenses.csv", bom: false, "month,store_code,amount", m.expenses.map { [$0.month, $0.storeCode, $0.amount] })
        return (6, bytes)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#elseif canImport(Musl)
import Musl
#endif

struct MonotonicClock {
    let start: Double
    init() { start = MonotonicClock.now() }
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
    func elapsed() -> Double { MonotonicClock.now() - start }
}
