import CivilCalendar
import DailyReport
import Foundation
import Testing
import TestSupport

let examplesDirectory: URL? = SharedExamples.directory

@Suite("Example corpus", .enabled(if: examplesDirectory != nil, "shared/examples not present"))
struct ExamplesTests {
    let dir = examplesDirectory!

    func files(_ sub: String, ext: String) throws -> [URL] {
        let fm = FileManager.default
        let root = dir.appendingPathComponent(sub)
        guard let e = fm.enumerator(at: root, includingPropertiesForKeys: nil) else { return [] }
        return e.compactMap { $0 as? URL }.filter { $0.pathExtension == ext }.sorted { $0.path < $1.path }
    }

    func master() throws -> [MasterFileKind: MasterFile] {
        var out: [MasterFileKind: MasterFile] = [:]
        for url in try files("master", ext: "csv") {
            let f = try MasterDataReader.read(path: url.path, fileName: "master/" + url.lastPathComponent)
            #expect(out[f.kind] == nil)
            out[f.kind] = f
        }
        return out
    }

    /// Receipt day of each file from manifest.json (received_at is written in +08:00, the business zone).
    func receiptDays() throws -> [String: CalendarDate] {
        let data = try Data(contentsOf: dir.appendingPathComponent("manifest.json"))
        let steps = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        var out: [String: CalendarDate] = [:]
        for step in steps {
            let at = try #require(step["received_at"] as? String)
            #expect(at.hasSuffix("+08:00"))
            for f in step["files"] as? [String] ?? [] { out[f] = CalendarDate(iso: at.prefix(10)) }
        }
        return out
    }

    @Test func masterFilesParse() throws {
        let m = try master()
        #expect(Set(m.keys) == Set(MasterFileKind.allCases))
        guard case .stores(let stores) = m[.stores]?.rows else { Issue.record("no stores"); return }
        #expect(stores.count == 3)
        guard case .plans(let plans) = m[.plans]?.rows else { Issue.record("no plans"); return }
        #expect(plans.contains { $0.storeCode == "SH001" && $0.salespersonCode == nil && $0.kpi == .planDeliveries })
    }

    @Test func everyReportFileIsAccepted() throws {
        let m = try master()
        guard case .stores(let stores) = m[.stores]?.rows, case .salespeople(let people) = m[.salespeople]?.rows,
              case .models(let models) = m[.models]?.rows else { Issue.record("master data missing"); return }
        let days = try receiptDays()
        let reportFiles = try files("reports", ext: "json") + files("csv", ext: "csv")
        #expect(reportFiles.count >= 10)
        var encodings: [String: TextEncoding] = [:]
        var totals = (visits: 0, prospects: 0, sales: 0)
        for url in reportFiles {
            let rel = url.pathComponents.suffix(url.pathExtension == "json" ? 3 : 2).joined(separator: "/")
            let receipt = days[rel] ?? day("2026-03-07")
            let ref = ReferenceData(stores: stores, salespeople: people, models: models, receiptDay: receipt)
            do {
                let f = try ReportReader.read(path: url.path, fileName: rel, reference: ref)
                encodings[rel] = f.encoding
                #expect(!f.reports.isEmpty, "\(rel)")
                for r in f.reports {
                    totals.visits += r.visits?.count ?? 0
                    totals.prospects += r.prospects?.count ?? 0
                    totals.sales += r.sales?.count ?? 0
                    // Every prospect can be judged, and every visit classified, without crashing.
                    for p in r.prospects ?? [] { _ = ACardRules.standard.evaluate(p) }
                    for v in r.visits ?? [] { _ = v.counts }
                }
                // Streaming gives the same records as the grouped read.
                if url.pathExtension == "csv" {
                    var streamed = 0
                    let summary = ReportReader.streamCSV(path: url.path, fileName: rel, reference: ref) { _, _ in streamed += 1 }
                    #expect(summary.isAccepted)
                    #expect(streamed == f.reports.reduce(0) { $0 + ($1.visits?.count ?? 0) + ($1.prospects?.count ?? 0) + ($1.sales?.count ?? 0) })
                }
            } catch {
                Issue.record("\(error)")
            }
        }
        #expect(encodings["csv/20260303-2130_EAST_prospects.csv"] == .gb18030)
        #expect(encodings["csv/20260302-2130_EAST_visits.csv"] == .utf8)
        #expect(totals.visits > 100 && totals.prospects > 50 && totals.sales > 5)
    }

    @Test func gb18030ExampleDecodesChineseNames() throws {
        let url = dir.appendingPathComponent("csv/20260303-2130_EAST_prospects.csv")
        let f = try ReportReader.read(path: url.path, reference: nil)
        let names = f.reports.flatMap { $0.prospects ?? [] }.compactMap(\.customerName)
        #expect(names.contains("test"))
        #expect(names.contains { $0.unicodeScalars.contains { $0.value >= 0x4E00 && $0.value <= 0x9FFF } })
    }
}
