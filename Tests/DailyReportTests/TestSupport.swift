import CivilCalendar
@testable import DailyReport
import Foundation
import Glibc
import Testing

func day(_ s: String) -> CalendarDate { CalendarDate(iso: s)! }

/// Reference data shaped like the example corpus: SH001 open for years, HZ001 opens 2026-03-04, NJ001
/// closes 2026-03-06 (exclusive); received 2026-03-07.
let fixtureReference = ReferenceData(
    stores: [
        ReferenceData.Store(code: "SH001", regionCode: "EAST", openedOn: day("2014-03-13")),
        ReferenceData.Store(code: "HZ001", regionCode: "EAST", openedOn: day("2026-03-04")),
        ReferenceData.Store(code: "NJ001", regionCode: "EAST", openedOn: day("2017-04-02"), closedOn: day("2026-03-06")),
    ],
    salespeople: ["SH001-S01", "SH001-S02", "HZ001-S01", "NJ001-S01"],
    models: ["T77", "E30", "S50"],
    receiptDay: day("2026-03-07"))

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// Encodes UTF-8 text as GB18030 with glibc iconv (the same library the reader decodes with).
func encodeGB18030(_ s: String) -> [UInt8] {
    let cd = iconv_open("GB18030", "UTF-8")!
    defer { iconv_close(cd) }
    var input = Array(s.utf8)
    var output = [UInt8](repeating: 0, count: input.count * 4 + 16)
    var inLeft = input.count, outLeft = output.count
    input.withUnsafeMutableBytes { ib in
        output.withUnsafeMutableBytes { ob in
            var ip: UnsafeMutablePointer<CChar>? = ib.baseAddress?.assumingMemoryBound(to: CChar.self)
            var op: UnsafeMutablePointer<CChar>? = ob.baseAddress?.assumingMemoryBound(to: CChar.self)
            let r = iconv(cd, &ip, &inLeft, &op, &outLeft)
            precondition(r != -1, "iconv failed")
        }
    }
    return Array(output[0..<(output.count - outLeft)])
}

/// The outcome of reading a report file: the file or the rejection.
enum Outcome {
    case accepted(ReportFile)
    case rejected(FileRejected)

    var file: ReportFile? {
        if case .accepted(let f) = self { return f }
        return nil
    }

    var issues: [ValidationIssue] {
        if case .rejected(let r) = self { return r.issues }
        return []
    }
}

func readReport(_ text: String, name: String, reference: ReferenceData? = fixtureReference,
                options: ReadOptions = ReadOptions()) -> Outcome {
    readReport(bytes: bytes(text), name: name, reference: reference, options: options)
}

func readReport(bytes: [UInt8], name: String, reference: ReferenceData? = fixtureReference,
                options: ReadOptions = ReadOptions()) -> Outcome {
    do {
        return .accepted(try ReportReader.read(bytes: bytes, fileName: name, reference: reference, options: options))
    } catch {
        return .rejected(error)
    }
}

/// Expects exactly one issue with the given location, field and rule (and returns it).
@discardableResult
func expectSingleIssue(_ outcome: Outcome, file: String, location: InputLocation, field: String?, rule: Rule,
                       sourceLocation: Testing.SourceLocation = #_sourceLocation) -> ValidationIssue? {
    let issues = outcome.issues
    #expect(issues.count == 1, "expected one issue, got \(issues)", sourceLocation: sourceLocation)
    guard let i = issues.first else { return nil }
    #expect(i.file == file, sourceLocation: sourceLocation)
    #expect(i.location == location, "\(i)", sourceLocation: sourceLocation)
    #expect(i.field == field, "\(i)", sourceLocation: sourceLocation)
    #expect(i.rule == rule, "\(i)", sourceLocation: sourceLocation)
    #expect(!i.message.isEmpty, sourceLocation: sourceLocation)
    return i
}

// MARK: building test reports

/// A JSON member value as literal JSON text, or a removal.
enum J: Sendable, CustomStringConvertible {
    case raw(String)
    case absent

    static func s(_ v: String) -> J {
        var out = "\""
        for u in v.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return .raw(out + "\"")
    }

    static let null = J.raw("null")

    var description: String {
        switch self {
        case .raw(let r): return r
        case .absent: return "<absent>"
        }
    }
}

let baseVisit: [(String, J)] = [
    ("id", .s("V1")), ("channel", .s("walk_in")), ("purpose", .s("purchase")), ("salesperson", .s("SH001-S01")),
    ("model", .s("T77")), ("party_size", .raw("3")), ("existing_card", .null), ("existing_order", .raw("false")),
    ("new_card", .s("A-SH001-000123")), ("test_drive", .raw("true")),
]

let baseProspect: [(String, J)] = [
    ("card", .s("A-SH001-000123")), ("created_on", .s("2026-03-05")), ("salesperson", .s("SH001-S01")),
    ("customer_name", .s("张伟")), ("phone", .s("139 1234 5678")), ("model", .s("T77")), ("level", .s("H")),
    ("source", .s("walk_in")), ("status", .s("open")), ("closed_on", .null), ("lost_reason", .null),
]

let baseSale: [(String, J)] = [
    ("order", .s("O-SH001-000456")), ("card", .s("A-SH001-000100")), ("salesperson", .s("SH001-S02")), ("model", .s("T77")),
    ("order_date", .s("2026-03-01")), ("status", .s("delivered")), ("delivery_date", .s("2026-03-05")),
    ("cancel_date", .null), ("vin", .s("LFV2A21K8G3000001")), ("list_price", .raw("159800.00")),
    ("deal_price", .raw("152000.00")), ("collected", .raw("152000.00")),
]

func base(_ kind: SectionKind) -> [(String, J)] {
    switch kind {
    case .visits: return baseVisit
    case .prospects: return baseProspect
    case .sales: return baseSale
    }
}

func applying(_ fields: [(String, J)], _ changes: [(String, J)]) -> [(String, J)] {
    var out = fields
    for (k, v) in changes {
        if let i = out.firstIndex(where: { $0.0 == k }) { out[i].1 = v } else { out.append((k, v)) }
    }
    return out
}

func jsonObject(_ fields: [(String, J)]) -> String {
    "{" + fields.compactMap { k, v -> String? in
        if case .raw(let r) = v { return "\"\(k)\": \(r)" }
        return nil
    }.joined(separator: ", ") + "}"
}

/// A JSON report with one section holding the given records.
func jsonReport(_ kind: SectionKind, _ records: [[(String, J)]], store: String = "SH001", date: String = "2026-03-05") -> String {
    """
    {
      "format": "dealer-daily-report/1",
      "store": "\(store)",
      "business_date": "\(date)",
      "\(kind.rawValue)": [
        \(records.map(jsonObject).joined(separator: ",\n    "))
      ]
    }
    """
}

/// Converts a JSON literal to the CSV cell an Excel export would hold.
func csvCell(_ j: J) -> String {
    guard case .raw(let r) = j else { return "" }
    if r == "null" { return "" }
    var v = r
    if r.hasPrefix("\"") {
        // Decode the small JSON string subset used above.
        v = String(r.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"").replacingOccurrences(of: "\\\\", with: "\\")
        var out = ""
        var it = v.unicodeScalars.makeIterator()
        while let c = it.next() {
            if c == "\\", let n = it.next() {
                if n == "u" {
                    var hex = ""
                    for _ in 0..<4 { hex.unicodeScalars.append(it.next()!) }
                    out.unicodeScalars.append(Unicode.Scalar(UInt32(hex, radix: 16)!)!)
                } else {
                    out.unicodeScalars.append(n)
                }
            } else {
                out.unicodeScalars.append(c)
            }
        }
        v = out
    }
    if v.contains(",") || v.contains("\"") || v.contains("\n") || v.contains("\r") {
        return "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
    return v
}

/// A CSV section file: header `store,business_date,<fields>` (with `visit_id` for `id`), one row per record.
func csvFile(_ kind: SectionKind, _ records: [[(String, J)]], store: String = "SH001", date: String = "2026-03-05") -> String {
    let names = base(kind).map(\.0)
    var lines = [(["store", "business_date"] + names.map { $0 == "id" ? "visit_id" : $0 }).joined(separator: ",")]
    for r in records {
        var cells = [store, date]
        for n in names {
            cells.append(csvCell(r.first(where: { $0.0 == n })?.1 ?? .absent))
        }
        lines.append(cells.joined(separator: ","))
    }
    return lines.joined(separator: "\n") + "\n"
}

func csvName(_ field: String) -> String { field == "id" ? "visit_id" : field }
