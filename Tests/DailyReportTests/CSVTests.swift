@testable import DailyReport
import Foundation
import Testing

/// Tokenizes `input` feeding it in chunks of `chunk` bytes; returns (line, raw fields, problem line).
func tokenize(_ input: [UInt8], chunk: Int = Int.max) -> [(Int, [String], Int?)] {
    var out: [(Int, [String], Int?)] = []
    var t = CSVTokenizer()
    func take(_ r: inout CSVRow) {
        let fields = (0..<r.fieldCount).map { i in
            r.bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[r.rawRange(i)]), as: UTF8.self) }
        }
        out.append((r.line, fields, r.problem?.line))
    }
    input.withUnsafeBufferPointer { buf in
        var i = 0
        while i < buf.count {
            let n = min(chunk, buf.count - i)
            t.consume(UnsafeBufferPointer(rebasing: buf[i..<(i + n)])) { take(&$0) }
            i += n
        }
    }
    t.finish { take(&$0) }
    return out
}

struct TokenizerCase: Sendable, CustomTestStringConvertible {
    let input: String
    let rows: [(Int, [String])]
    var problemLine: Int? = nil
    var testDescription: String { input.debugDescription }
}

let tokenizerCases: [TokenizerCase] = [
    TokenizerCase(input: "a,b\n1,2\n", rows: [(1, ["a", "b"]), (2, ["1", "2"])]),
    TokenizerCase(input: "a,b\r\n1,2\r\n", rows: [(1, ["a", "b"]), (2, ["1", "2"])]),
    TokenizerCase(input: "a,b\r1,2\r", rows: [(1, ["a", "b"]), (2, ["1", "2"])]),
    TokenizerCase(input: "a,b\n1,2", rows: [(1, ["a", "b"]), (2, ["1", "2"])]),
    TokenizerCase(input: "\u{FEFF}a,b\n", rows: [(1, ["a", "b"])]),
    TokenizerCase(input: "\u{FEFF}", rows: []),
    TokenizerCase(input: "", rows: []),
    TokenizerCase(input: "a\n\nb\n", rows: [(1, ["a"]), (2, [""]), (3, ["b"])]),
    TokenizerCase(input: ",,\n", rows: [(1, ["", "", ""])]),
    TokenizerCase(input: "a,\n", rows: [(1, ["a", ""])]),
    TokenizerCase(input: "h1,h2\n\"x,y\",\"say \"\"hi\"\"\"\n", rows: [(1, ["h1", "h2"]), (2, ["x,y", "say \"hi\""])]),
    TokenizerCase(input: "h\n\"multi\nline\",z\n\"crlf\r\nin\",w\r\nlast,1\n",
                  rows: [(1, ["h"]), (2, ["multi\nline", "z"]), (4, ["crlf\r\nin", "w"]), (6, ["last", "1"])]),
    TokenizerCase(input: "\"\"\n\"\",\"\"\n", rows: [(1, [""]), (2, ["", ""])]),
    TokenizerCase(input: " \"a,b\" ,c\n", rows: [(1, ["a,b", "c"])]),
    TokenizerCase(input: "5\"x,b\n", rows: [(1, ["5\"x", "b"])]),
    TokenizerCase(input: "\"a\"b,c\n", rows: [(1, ["ab", "c"])], problemLine: 1),
    TokenizerCase(input: "x\n\"abc\ndef", rows: [(1, ["x"]), (2, ["abc\ndef"])], problemLine: 2),
    TokenizerCase(input: "张伟,\"王,五\"\n", rows: [(1, ["张伟", "王,五"])]),
]

@Suite("CSV tokenizer")
struct TokenizerTests {
    @Test(arguments: tokenizerCases)
    func tokenizes(_ c: TokenizerCase) {
        let input = bytes(c.input)
        // Every chunk size gives the same records as one piece (fields, quotes, CRLF and BOM may straddle chunks).
        for chunk in [Int.max, 1, 2, 3, 5] {
            let rows = tokenize(input, chunk: chunk)
            #expect(rows.map(\.0) == c.rows.map(\.0), "chunk \(chunk)")
            #expect(rows.map(\.1) == c.rows.map(\.1), "chunk \(chunk)")
            #expect(rows.compactMap(\.2).first == c.problemLine, "chunk \(chunk)")
        }
    }

    @Test func trimming() {
        var t = CSVTokenizer()
        var rows: [[String]] = []
        bytes(" a\t,\u{3000}b\u{a0},\u{2003}\u{2028}\n c ,\u{FEFF}x,\" q \"\n").withUnsafeBufferPointer { buf in
            t.consume(buf) { r in rows.append((0..<r.fieldCount).map { r.string($0) }) }
        }
        #expect(rows == [["a", "b", ""], ["c", "\u{FEFF}x", "q"]])
    }
}

@Suite("CSV files")
struct CSVFileTests {
    static let visitsHeader = "store,business_date,visit_id,channel,purpose,salesperson,model,party_size,existing_card,existing_order,new_card,test_drive"

    @Test func quotedNewlinesKeepLineNumbersRight() {
        let csv = #"""
        store,business_date,card,created_on,salesperson,customer_name,level,source,status,lost_reason
        SH001,2026-03-05,A1,2026-03-05,SH001-S01,"张
        伟",H,walk_in,open,
        SH001,2026-03-05,A2,2026-03-05,SH001-S01,"李, ""娜""",H,walk_in,open,"two
        lines"
        SH001,2026-03-05,A3,2026-03-05,SH001-S01,王芳,Z,walk_in,open,

        """#
        let issues = readReport(csv, name: "p.csv").issues
        #expect(issues.map(\.location) == [.line(2), .line(4), .line(6)])
        #expect(issues.map(\.rule) == [.controlCharacter, .controlCharacter, .enumValue])
        #expect(issues.map(\.field) == ["customer_name", "lost_reason", "level"])
        #expect(issues[0].value == "张*")
    }

    @Test func quotedFieldsAreDecoded() throws {
        let csv = "store,business_date,card,created_on,salesperson,customer_name,level,source,status,lost_reason\r\n"
            + "SH001,2026-03-05,\"A,1\",2026-03-05,SH001-S01,\"李 \"\"娜\"\"\",H,walk_in,open,\"价格, 高\"\r\n"
        let p = try #require(readReport(csv, name: "p.csv").file?.reports.first?.prospects?.first)
        #expect(p.card == "A,1")
        #expect(p.customerName == "李 \"娜\"")
        #expect(p.lostReason == "价格, 高")
    }

    @Test func raggedRows() {
        let csv = Self.visitsHeader + "\nSH001,2026-03-05,V1,walk_in,purchase,SH001-S01,T77,1,,false,,false,EXTRA\nSH001,2026-03-05,V2,walk_in\n"
        let issues = readReport(csv, name: "v.csv").issues
        #expect(issues.map(\.rule) == [.raggedRow, .raggedRow])
        #expect(issues.map(\.location) == [.line(2), .line(3)])
        #expect(issues.allSatisfy { $0.file == "v.csv" && $0.field == nil })
    }

    @Test func blankRowsAndTrailingTotalRowsAreSkipped() throws {
        for total in ["合计,,,,,,,5,,,,", "总计,,,,,,,5,,,,", "Total,,,,,,,5,,,,", "TOTAL,,,", " 合计 "] {
            let csv = """
            \(Self.visitsHeader)
            ,,,,,,,,,,,
            SH001,2026-03-05,V1,walk_in,purchase,SH001-S01,T77,1,,false,,false

            SH001,2026-03-05,V2,walk_in,purchase,SH001-S01,T77,4,,false,,false
            ,,,,,,,,,,,
            \(total)
            ,,,,,,,,,,,

            """
            let f = try #require(readReport(csv, name: "v.csv").file, "\(total)")
            #expect(f.reports.first?.visits?.map(\.id) == ["V1", "V2"])
        }
    }

    @Test func aTotalRowThatIsNotLastIsData() {
        let csv = """
        \(Self.visitsHeader)
        合计,,,,,,,5,,,,
        SH001,2026-03-05,V2,walk_in,purchase,SH001-S01,T77,4,,false,,false
        """
        let issues = readReport(csv, name: "v.csv").issues
        #expect(!issues.isEmpty)
        #expect(issues.allSatisfy { $0.location == .line(2) })
        #expect(issues.contains { $0.field == "store" && $0.rule == .codeFormat })
    }

    @Test func headerProblems() {
        expectSingleIssue(readReport("", name: "e.csv"), file: "e.csv", location: .wholeFile, field: nil, rule: .header)
        expectSingleIssue(readReport("\u{FEFF}", name: "e.csv"), file: "e.csv", location: .wholeFile, field: nil, rule: .header)
        expectSingleIssue(readReport("\n\(Self.visitsHeader)\n", name: "e.csv"), file: "e.csv", location: .line(1), field: nil, rule: .header)
        expectSingleIssue(readReport("a,b,c\n1,2,3\n", name: "x.csv"), file: "x.csv", location: .line(1), field: nil, rule: .fileKind)
        let master = expectSingleIssue(readReport("store_code,store_name,region_code,opened_on\n", name: "stores.csv"),
                                       file: "stores.csv", location: .line(1), field: nil, rule: .fileKind)
        #expect(master?.message.contains("master-data") == true)
        let missing = readReport("store,visit_id,channel,salesperson\n", name: "v.csv").issues
        #expect(missing.map(\.rule) == [.missingColumn, .missingColumn])
        #expect(missing.map(\.field) == ["business_date", "purpose"])
        #expect(missing.allSatisfy { $0.location == .line(1) })
        expectSingleIssue(readReport("store,business_date,visit_id,channel,purpose,salesperson,channel\n", name: "v.csv"),
                          file: "v.csv", location: .line(1), field: "channel", rule: .duplicateColumn)
        expectSingleIssue(readReport("\"store,business_date\n", name: "v.csv"), file: "v.csv", location: .line(1), field: nil, rule: .csvSyntax)
    }

    @Test func sectionKindsFromHeader() throws {
        let prospects = "business_date,store,customer_name,card,created_on,salesperson,level,source,status,ignored\n"
            + "2026-03-05,SH001,张伟,A1,2026-03-05,SH001-S01,H,walk_in,open,whatever\n"
        #expect(try #require(readReport(prospects, name: "p.csv").file).form == .csv(.prospects))
        let sales = "order_date,order,store,business_date,salesperson,model,status,deal_price\n2026-03-05,O1,SH001,2026-03-05,SH001-S01,T77,ordered,100\n"
        let s = try #require(readReport(sales, name: "s.csv").file)
        #expect(s.form == .csv(.sales))
        #expect(s.reports.first?.sales?.first?.vin == nil)
        #expect(s.reports.first?.visits == nil)
        #expect(s.reports.first?.sections == [.sales])
    }

    @Test func unterminatedQuote() {
        let csv = Self.visitsHeader + "\nSH001,2026-03-05,V1,walk_in,purchase,SH001-S01,T77,1,,false,,\"false\n"
        expectSingleIssue(readReport(csv, name: "v.csv"), file: "v.csv", location: .line(2), field: nil, rule: .csvSyntax)
    }

    @Test func nulByteIsAControlCharacter() {
        let csv = bytes(Self.visitsHeader + "\nSH001,2026-03-05,V\u{0}1,walk_in,purchase,SH001-S01,T77,1,,false,,false\n")
        #expect(csv.contains(0))
        expectSingleIssue(readReport(bytes: csv, name: "v.csv"), file: "v.csv", location: .line(2), field: "visit_id", rule: .controlCharacter)
    }

    @Test func groupsRowsByStoreDay() throws {
        let csv = """
        \(Self.visitsHeader)
        SH001,2026-03-05,V1,walk_in,purchase,SH001-S01,T77,1,,false,,false
        HZ001,2026-03-05,V1,phone,purchase,HZ001-S01,,1,,false,,false
        SH001,2026-03-04,V9,walk_in,purchase,SH001-S01,T77,1,,false,,false
        SH001,2026-03-05,V2,walk_in,purchase,SH001-S01,T77,1,,false,,false
        """
        let f = try #require(readReport(csv, name: "v.csv").file)
        #expect(f.reports.map(\.storeDay) == [StoreDay(store: "HZ001", businessDate: day("2026-03-05")),
                                              StoreDay(store: "SH001", businessDate: day("2026-03-04")),
                                              StoreDay(store: "SH001", businessDate: day("2026-03-05"))])
        #expect(f.reports.map { $0.visits?.map(\.id) ?? [] } == [["V1"], ["V9"], ["V1", "V2"]])
        #expect(f.reports[2].origin == RecordOrigin(file: "v.csv", location: .line(2)))
        #expect(f.reports.allSatisfy { $0.prospects == nil && $0.sales == nil })
    }

    @Test func headerOnlyFileCarriesNothing() throws {
        let f = try #require(readReport(Self.visitsHeader + "\n", name: "v.csv").file)
        #expect(f.reports.isEmpty)
    }

    @Test func issueCapStopsAt100() throws {
        var csv = Self.visitsHeader + "\n"
        for i in 0..<150 { csv += "SH001,2026-03-05,V\(i),bad,purchase,SH001-S01,T77,1,,false,,false\n" }
        guard case .rejected(let r) = readReport(csv, name: "v.csv") else { Issue.record("not rejected"); return }
        #expect(r.issues.count == 100)
        #expect(r.isTruncated)
        #expect(r.issues.last?.location == .line(101))
        #expect(r.description.contains("omitted"))
        guard case .rejected(let small) = readReport(csv, name: "v.csv", options: ReadOptions(maxIssues: 3)) else { return }
        #expect(small.issues.count == 3)
        #expect(small.isTruncated)

        let records = (0..<150).map { applying(baseVisit, [("id", .s("V\($0)")), ("channel", .s("bad"))]) }
        guard case .rejected(let j) = readReport(jsonReport(.visits, records), name: "r.json") else { Issue.record("not rejected"); return }
        #expect(j.issues.count == 100)
        #expect(j.isTruncated)
        #expect(j.issues.last?.location == .jsonPath("$.visits[99].channel"))

        guard case .rejected(let exact) = readReport(jsonReport(.visits, Array(records.prefix(100))), name: "r.json") else { return }
        #expect(exact.issues.count == 100)
        #expect(!exact.isTruncated)
    }
}

@Suite("Encodings")
struct EncodingTests {
    static let prospects = """
    store,business_date,card,created_on,salesperson,customer_name,phone,model,level,source,status,closed_on,lost_reason
    SH001,2026-03-03,A-SH001-000012,2026-03-03,SH001-S01,欧阳娜娜,13726389869,T77,A,walk_in,lost,2026-03-03,价格太高
    总计,,,,,共1条,,,,,,,

    """

    @Test func utf8WithAndWithoutBOM() throws {
        for text in [Self.prospects, "\u{FEFF}" + Self.prospects, Self.prospects.replacingOccurrences(of: "\n", with: "\r\n")] {
            let f = try #require(readReport(text, name: "p.csv").file)
            #expect(f.encoding == .utf8)
            #expect(f.reports.first?.prospects?.first?.customerName == "欧阳娜娜")
        }
    }

    @Test func gb18030() throws {
        let gb = encodeGB18030(Self.prospects)
        #expect(gb != bytes(Self.prospects))
        let f = try #require(readReport(bytes: gb, name: "p.csv").file)
        #expect(f.encoding == .gb18030)
        let p = try #require(f.reports.first?.prospects?.first)
        #expect(p.customerName == "欧阳娜娜")
        #expect(p.lostReason == "价格太高")
        // A GB18030 BOM (U+FEFF encoded) is dropped too.
        let withBOM = try #require(readReport(bytes: [0x84, 0x31, 0x95, 0x33] + gb, name: "p.csv").file)
        #expect(withBOM.reports.first?.prospects?.first?.customerName == "欧阳娜娜")
    }

    @Test func invalidInBothEncodings() {
        var b = bytes(Self.prospects)
        b.insert(contentsOf: [0xFF, 0xFF], at: b.firstIndex(of: 0x0A)! + 1)
        let issue = expectSingleIssue(readReport(bytes: b, name: "p.csv"), file: "p.csv", location: .line(2), field: nil, rule: .encoding)
        #expect(issue?.message.contains("GB18030") == true)
    }

    @Test func jsonMustBeUTF8() {
        let text = jsonReport(.prospects, [baseProspect])
        expectSingleIssue(readReport(bytes: encodeGB18030(text), name: "r.json"), file: "r.json", location: .line(6), field: nil, rule: .encoding)
        #expect(readReport(bytes: [0xEF, 0xBB, 0xBF] + bytes(text), name: "r.json").issues.isEmpty)
    }

    @Test func overlongAndSurrogateUTF8AreNotUTF8() {
        for bad: [UInt8] in [[0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE4, 0xB8], [0x80]] {
            #expect(bad.withUnsafeBufferPointer { UTF8Validator.firstInvalidOffset($0) } != nil, "\(bad)")
        }
        for good in ["a", "é", "张", "😀", "\u{10FFFF}"] {
            #expect(bytes(good).withUnsafeBufferPointer { UTF8Validator.firstInvalidOffset($0) } == nil)
        }
    }
}
