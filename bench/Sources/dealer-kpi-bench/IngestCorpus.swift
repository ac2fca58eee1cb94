import CivilCalendar
import CorpusGenerator
import DailyReport
import Foundation

/// The corpus bench/ingest reads: a synthetic corpus in which every store reports as CSV section files,
/// generated once under the work directory and reused while its configuration is unchanged.
///
/// Shape (see `configuration`): two regions (the generator keeps at least one region on JSON, so the other
/// half of the stores report as JSON and is not used), `csvRegionShare` 1 so the other region reports as
/// CSV, no CSV store uploading JSON instead (`csvStoreJSONShare` 0), and one-hour receipt slots, so each
/// slot's visits file carries every CSV store that reported in that hour. `trafficScale` 8 gives ~170 visits
/// per store-day, so a typical evening file holds a few thousand rows. The rest (GB18030 files, BOMs, CRLF,
/// blank and total rows, late, missing, catch-up and corrected reports) is the generator's default.
struct IngestCorpus {
    let directory: URL
    let configuration: CorpusConfiguration
    /// Visit rows in the CSV visits files (the rows bench/ingest can use).
    let visitRows: Int
    /// Visit rows in the whole corpus (JSON reports included).
    let allVisitRows: Int
    let prospectRows: Int
    let salesRows: Int
    let csvFiles: Int
    let gb18030Files: Int
    let generatedSeconds: Double?

    /// One visits file to ingest, with the receipt time the manifest gives it.
    struct VisitFile {
        let path: String
        let receivedAt: Date
    }

    static func configuration(stores: Int, days: Int, traffic: Double, seed: UInt64) -> CorpusConfiguration {
        var c = CorpusConfiguration(stores: stores, days: days, seed: seed)
        c.storesPerRegion = (stores + 1) / 2
        c.csvRegionShare = 1.0
        c.csvStoreJSONShare = 0
        c.trafficScale = traffic
        c.receiptSlotMinutes = 60
        return c
    }

    /// Reuses `workdir/corpus-…` when it was generated with the same configuration, else generates it.
    static func ensure(workdir: URL, stores: Int, days: Int, traffic: Double, seed: UInt64) throws -> IngestCorpus {
        let config = configuration(stores: stores, days: days, traffic: traffic, seed: seed)
        let dir = workdir.appending(path: "corpus-s\(stores)-d\(days)-t\(traffic)-seed\(seed)")
        let info = dir.appending(path: "bench-corpus.json")
        if let data = try? Data(contentsOf: info),
           let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let visits = o["csv_visit_rows"] as? Int, let all = o["visit_rows"] as? Int, let prospects = o["prospect_rows"] as? Int, let sales = o["sales_rows"] as? Int,
           let csv = o["csv_files"] as? Int, let gb = o["gb18030_files"] as? Int {
            return IngestCorpus(directory: dir, configuration: config, visitRows: visits, allVisitRows: all, prospectRows: prospects, salesRows: sales,
                                csvFiles: csv, gb18030Files: gb, generatedSeconds: nil)
        }
        FileHandle.standardError.write(Data("generating corpus in \(dir.path) (\(stores) stores x \(days) days, traffic x\(traffic)) ...\n".utf8))
        try? FileManager.default.removeItem(at: dir)
        let summary = try SyntheticCorpus.generate(config, to: dir.path, overwrite: true)
        var csvVisits = 0
        for f in try visitFiles(corpus: dir) {
            let s = ReportReader.streamCSV(path: f.path, reference: nil) { (_, _) throws(Never) in }
            csvVisits += s.recordCounts.values.reduce(0, +)
        }
        let o: [String: Any] = ["csv_visit_rows": csvVisits, "visit_rows": summary.visitRows, "prospect_rows": summary.prospectRows, "sales_rows": summary.salesRows,
                                "csv_files": summary.csvFiles, "gb18030_files": summary.gb18030Files, "json_files": summary.jsonFiles]
        try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]).write(to: info)
        return IngestCorpus(directory: dir, configuration: config, visitRows: csvVisits, allVisitRows: summary.visitRows, prospectRows: summary.prospectRows,
                            salesRows: summary.salesRows, csvFiles: summary.csvFiles, gb18030Files: summary.gb18030Files,
                            generatedSeconds: summary.seconds)
    }

    var masterFiles: [String] {
        MasterFileKind.allCases.map(\.rawValue).map { directory.appending(path: "master/\($0).csv").path }
    }

    /// The visits files in manifest order (ascending receipt time), with their receipt times.
    static func visitFiles(corpus dir: URL) throws -> [VisitFile] {
        let data = try Data(contentsOf: dir.appending(path: "manifest.json"))
        guard let steps = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] else { throw BenchError("bad manifest.json") }
        let parser = ISO8601DateFormatter()
        var out: [VisitFile] = []
        for step in steps {
            guard let files = step["files"] as? [String], let at = step["received_at"] as? String, let moment = parser.date(from: at) else {
                throw BenchError("bad manifest step: \(step)")
            }
            for f in files where f.hasSuffix("_visits.csv") {
                out.append(VisitFile(path: dir.appending(path: f).path, receivedAt: moment))
            }
        }
        return out
    }
}
