import CivilCalendar
import CorpusGenerator
import Foundation

/// A record as the tests see it: field name → value; a null is an absent key. Booleans are "true" /
/// "false", money is in fen ("15200000"), dates are YYYY-MM-DD.
typealias Record = [String: String]

/// One report (store x business date) as delivered in one manifest step.
struct ParsedReport {
    var files: [String]
    var step: Int
    var receivedAt: String
    var receivedDay: CalendarDate
    var store: String
    var date: CalendarDate
    var visits: [Record] = []
    var prospects: [Record] = []
    var sales: [Record] = []
    var hasVisitsSection = false
}

struct ManifestStep {
    var files: [String]
    var receivedAt: String
    /// `resend` (a byte-identical retry), `section` (a later section of a split CSV upload), or nil.
    var kind: String? = nil
}

enum FixtureError: Error, CustomStringConvertible {
    case bad(String)
    var description: String { if case .bad(let s) = self { return s }; return "" }
}

/// A generated corpus on disk, read back and parsed.
struct CorpusFixture: Sendable {
    let directory: String
    let config: CorpusConfiguration
    let summary: CorpusSummary

    static func temporaryDirectory(_ tag: String) -> String {
        let base = FileManager.default.temporaryDirectory.path
        return base + "/corpus-gen-tests-" + tag + "-" + UUID().uuidString
    }

    static func make(_ config: CorpusConfiguration, tag: String) throws -> CorpusFixture {
        let dir = temporaryDirectory(tag)
        let summary = try SyntheticCorpus.generate(config, to: dir)
        return CorpusFixture(directory: dir, config: config, summary: summary)
    }

    // MARK: Reading

    func read(_ relative: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: directory + "/" + relative) else {
            throw FixtureError.bad("cannot read \(relative)")
        }
        return [UInt8](data)
    }

    /// Every file under the corpus, relative paths, sorted.
    func allFiles() -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        if let e = fm.enumerator(atPath: directory) {
            while let p = e.nextObject() as? String {
                var isDir: ObjCBool = false
                if fm.fileExists(atPath: directory + "/" + p, isDirectory: &isDir), !isDir.boolValue { out.append(p) }
            }
        }
        return out.sorted()
    }

    func manifest() throws -> [ManifestStep] {
        let data = Data(try read("manifest.json"))
        guard let steps = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
            throw FixtureError.bad("manifest is not a list of objects")
        }
        return try steps.map { step in
            guard let files = step["files"] as? [String], let at = step["received_at"] as? String,
                  Set(step.keys).isSubset(of: ["files", "received_at", "kind"]) else {
                throw FixtureError.bad("bad manifest step \(step)")
            }
            let kind = step["kind"] as? String
            guard step["kind"] == nil || kind == "resend" || kind == "section" else { throw FixtureError.bad("bad kind in \(step)") }
            return ManifestStep(files: files, receivedAt: at, kind: kind)
        }
    }

    /// Decodes CSV bytes as the contract says: strict UTF-8 (BOM stripped) first, else GB18030.
    static func decodeCSV(_ bytes: [UInt8]) throws -> String {
        var b = bytes
        if b.starts(with: [0xEF, 0xBB, 0xBF]) { b.removeFirst(3) }
        if CorpusEncoding.isValidUTF8(b) { return String(decoding: b, as: UTF8.self) }
        guard let u = CorpusEncoding.utf8(fromGB18030: b) else { throw FixtureError.bad("neither UTF-8 nor GB18030") }
        return String(decoding: u, as: UTF8.self)
    }

    /// RFC 4180 reader over Unicode scalars (so CRLF is two characters, not one grapheme).
    static func parseCSV(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var cell = String.UnicodeScalarView()
        var inQuotes = false
        var pendingQuote = false
        var rowHasContent = false
        func endCell() { row.append(String(cell)); cell = String.UnicodeScalarView() }
        func endRow() {
            endCell()
            rows.append(row)
            row = []
            rowHasContent = false
        }
        for u in text.unicodeScalars {
            if inQuotes {
                if pendingQuote {
                    pendingQuote = false
                    if u == "\"" { cell.append(u); continue }
                    inQuotes = false
                } else if u == "\"" {
                    pendingQuote = true
                    continue
                } else {
                    cell.append(u)
                    continue
                }
            }
            switch u {
            case "\"": inQuotes = true; rowHasContent = true
            case ",": endCell(); rowHasContent = true
            case "\r": continue
            case "\n": endRow()
            default: cell.append(u); rowHasContent = true
            }
        }
        if rowHasContent || !row.isEmpty || !cell.isEmpty { endRow() }
        return rows
    }

    static let moneyFields: Set<String> = ["list_price", "deal_price", "collected"]
    static let boolFields: Set<String> = ["existing_order", "test_drive"]

    /// "186000" / "170600.5" / "258888.88" → fen.
    static func fen(_ s: String) -> String? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = Int64(parts[0]) else { return nil }
        var frac: Int64 = 0
        if parts.count == 2 {
            let f = String(parts[1])
            guard (1...2).contains(f.count), let v = Int64(f) else { return nil }
            frac = f.count == 1 ? v * 10 : v
        }
        return String(whole * 100 + frac)
    }

    static func boolText(_ s: String) -> String? {
        switch s {
        case "true", "1", "是", "Y": return "true"
        case "false", "0", "否", "N", "": return "false"
        default: return nil
        }
    }

    /// Every report of the corpus, in manifest order, as contract 1.1 sees them: a re-send step is a
    /// duplicate and left out; the records of a later section step complete the store-day's report of the
    /// step that carried its visits (which keeps that step's receipt time).
    func reports() throws -> [ParsedReport] {
        var out: [ParsedReport] = []
        for (stepIndex, step) in try manifest().enumerated() where step.kind != "resend" {
            guard let day = CalendarDate(iso: step.receivedAt.prefix(10)) else { throw FixtureError.bad("received_at \(step.receivedAt)") }
            var csvReports: [String: ParsedReport] = [:]
            var order: [String] = []
            for file in step.files {
                let bytes = try read(file)
                if file.hasSuffix(".json") {
                    out.append(try parseJSONReport(bytes, file: file, step: stepIndex, receivedAt: step.receivedAt, receivedDay: day))
                    continue
                }
                let rows = Self.parseCSV(try Self.decodeCSV(bytes))
                guard let header = rows.first?.map({ $0.trimmingCharacters(in: .whitespaces) }) else { throw FixtureError.bad("empty \(file)") }
                let section = header.contains("visit_id") ? "visits" : (header.contains("customer_name") ? "prospects" : "sales")
                for raw in rows.dropFirst() {
                    let cells = raw.map { $0.trimmingCharacters(in: .whitespaces) }
                    if cells.allSatisfy(\.isEmpty) { continue }
                    if ["合计", "总计", "Total"].contains(cells[0]) { continue }
                    guard cells.count == header.count else { throw FixtureError.bad("\(file): row width \(cells.count) != \(header.count)") }
                    var rec: Record = [:]
                    for (k, v) in zip(header, cells) {
                        if Self.boolFields.contains(k) {
                            guard let b = Self.boolText(v) else { throw FixtureError.bad("\(file): boolean \(v)") }
                            rec[k] = b
                        } else if v.isEmpty {
                            continue
                        } else if Self.moneyFields.contains(k) {
                            guard let f = Self.fen(v) else { throw FixtureError.bad("\(file): money \(v)") }
                            rec[k] = f
                        } else {
                            rec[k == "visit_id" ? "id" : k] = v
                        }
                    }
                    guard let store = rec["store"], let bd = rec["business_date"], let date = CalendarDate(iso: bd) else {
                        throw FixtureError.bad("\(file): row without store/business_date")
                    }
                    rec["store"] = nil
                    rec["business_date"] = nil
                    let key = store + "|" + bd
                    if csvReports[key] == nil {
                        csvReports[key] = ParsedReport(files: [], step: stepIndex, receivedAt: step.receivedAt, receivedDay: day,
                                                       store: store, date: date)
                        order.append(key)
                    }
                    if !csvReports[key]!.files.contains(file) { csvReports[key]!.files.append(file) }
                    switch section {
                    case "visits":
                        if rec["party_size"] == nil { rec["party_size"] = "1" }
                        csvReports[key]!.visits.append(rec)
                        csvReports[key]!.hasVisitsSection = true
                    case "prospects": csvReports[key]!.prospects.append(rec)
                    default: csvReports[key]!.sales.append(rec)
                    }
                }
            }
            for k in order {
                let r = csvReports[k]!
                guard step.kind == "section" else { out.append(r); continue }
                guard let i = out.lastIndex(where: { $0.store == r.store && $0.date == r.date }) else {
                    throw FixtureError.bad("section step \(stepIndex): \(k) without an earlier report")
                }
                out[i].files += r.files
                out[i].visits += r.visits
                out[i].prospects += r.prospects
                out[i].sales += r.sales
                out[i].hasVisitsSection = out[i].hasVisitsSection || r.hasVisitsSection
            }
        }
        return out
    }

    private func parseJSONReport(_ bytes: [UInt8], file: String, step: Int, receivedAt: String, receivedDay: CalendarDate) throws -> ParsedReport {
        guard CorpusEncoding.isValidUTF8(bytes) else { throw FixtureError.bad("\(file) is not UTF-8") }
        let text = String(decoding: bytes, as: UTF8.self)
        // Money is written with exactly two decimals.
        for key in Self.moneyFields {
            var rest = text[...]
            let needle = "\"\(key)\": "
            while let r = rest.range(of: needle) {
                let tail = rest[r.upperBound...]
                let value = tail.prefix { $0 != "," && $0 != "\n" && $0 != "}" }
                if value != "null" {
                    let parts = value.split(separator: ".")
                    guard parts.count == 2, parts[1].count == 2 else { throw FixtureError.bad("\(file): money \(value)") }
                }
                rest = tail
            }
        }
        guard let obj = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw FixtureError.bad("\(file): not an object")
        }
        guard obj["format"] as? String == "dealer-daily-report/1", let store = obj["store"] as? String,
              let bd = obj["business_date"] as? String, let date = CalendarDate(iso: bd) else {
            throw FixtureError.bad("\(file): header")
        }
        func records(_ key: String) throws -> [Record] {
            guard let list = obj[key] as? [[String: Any]] else { throw FixtureError.bad("\(file): \(key) missing") }
            return list.map { item in
                var rec: Record = [:]
                for (k, v) in item {
                    if v is NSNull { continue }
                    if Self.boolFields.contains(k) {
                        rec[k] = (v as? Bool) == true ? "true" : "false"
                    } else if Self.moneyFields.contains(k), let n = v as? NSNumber {
                        rec[k] = String(Int64((n.doubleValue * 100).rounded()))
                    } else if let s = v as? String {
                        rec[k] = s
                    } else if let n = v as? NSNumber {
                        rec[k] = n.stringValue
                    }
                }
                for b in Self.boolFields where item[b] != nil && rec[b] == nil { rec[b] = "false" }
                if key == "visits" && rec["party_size"] == nil { rec["party_size"] = "1" }
                return rec
            }
        }
        var r = ParsedReport(files: [file], step: step, receivedAt: receivedAt, receivedDay: receivedDay, store: store, date: date)
        r.visits = try records("visits")
        r.prospects = try records("prospects")
        r.sales = try records("sales")
        r.hasVisitsSection = true
        return r
    }

    /// master/*.csv as rows of dictionaries.
    func master(_ name: String) throws -> [Record] {
        let rows = Self.parseCSV(try Self.decodeCSV(try read("master/" + name + ".csv")))
        guard let header = rows.first else { return [] }
        return rows.dropFirst().filter { !$0.allSatisfy(\.isEmpty) }.map { row in
            var rec: Record = [:]
            for (k, v) in zip(header, row) where !v.isEmpty { rec[k] = v }
            return rec
        }
    }
}

/// The shared small corpus most tests read (generated once per test process, removed at exit).
let sharedCorpusDirectory = CorpusFixture.temporaryDirectory("shared")

let sharedCorpus: Result<CorpusFixture, any Error> = {
    atexit { try? FileManager.default.removeItem(atPath: sharedCorpusDirectory) }
    var config = CorpusConfiguration(stores: 12, days: 45, seed: 20_260_101)
    config.storesPerRegion = 5          // 3 regions, one of them CSV
    config.csvRegionShare = 0.34
    config.gb18030Share = 0.4
    config.correctionShare = 0.05
    config.missingShare = 0.02
    config.lateShare = 0.06
    config.catchUpShare = 0.02
    config.trafficScale = 0.6
    return Result {
        let summary = try SyntheticCorpus.generate(config, to: sharedCorpusDirectory)
        return CorpusFixture(directory: sharedCorpusDirectory, config: config, summary: summary)
    }
}()
