@testable import DailyReport
import Foundation
import Testing

func parseJSON(_ s: String, maxDepth: Int = 64) -> Result<JSONValue, JSONSyntaxError> {
    let b = bytes(s)
    return b.withUnsafeBufferPointer { buf in
        do throws(JSONSyntaxError) {
            return .success(try JSONParser.parse(buf, maxDepth: maxDepth))
        } catch {
            return .failure(error)
        }
    }
}

struct JSONErrorCase: Sendable, CustomTestStringConvertible {
    let text: String
    let line: Int
    let column: Int
    var rule: Rule = .jsonSyntax
    var testDescription: String { text.debugDescription }
}

let jsonErrorCases: [JSONErrorCase] = [
    JSONErrorCase(text: "", line: 1, column: 1),
    JSONErrorCase(text: "   \n  ", line: 2, column: 3),
    JSONErrorCase(text: "{\n  \"format\": \"dealer-daily-report/1\",\n  \"store\": \"SH001\",,\n}", line: 3, column: 20),
    JSONErrorCase(text: "{\"a\":\"张伟\",x}", line: 1, column: 11),
    JSONErrorCase(text: "{\"a\": [1, 2,]}", line: 1, column: 13),
    JSONErrorCase(text: "{\"a\": 1,}", line: 1, column: 9),
    JSONErrorCase(text: "{\"a\": 01}", line: 1, column: 7),
    JSONErrorCase(text: "{\"a\": -}", line: 1, column: 7),
    JSONErrorCase(text: "{\"a\": 1.}", line: 1, column: 7),
    JSONErrorCase(text: "{\"a\": 1e}", line: 1, column: 7),
    JSONErrorCase(text: "{\"a\": .5}", line: 1, column: 7),
    JSONErrorCase(text: "{\"a\": +1}", line: 1, column: 7),
    JSONErrorCase(text: "{\"a\": NaN}", line: 1, column: 7),
    JSONErrorCase(text: "{\"a\": Infinity}", line: 1, column: 7),
    JSONErrorCase(text: "{\"a\": tru}", line: 1, column: 7),
    JSONErrorCase(text: "{'a': 1}", line: 1, column: 2),
    JSONErrorCase(text: "{\"a\": 1 // comment\n}", line: 1, column: 9),
    JSONErrorCase(text: "{\"a\": \"x}", line: 1, column: 7),
    JSONErrorCase(text: "{\"a\": \"x\ty\"}", line: 1, column: 9),
    JSONErrorCase(text: "{\"a\": \"\\x\"}", line: 1, column: 8),
    JSONErrorCase(text: "{\"a\": \"\\u12\"}", line: 1, column: 10),
    JSONErrorCase(text: "{\"a\": \"\\ud800\"}", line: 1, column: 8),
    JSONErrorCase(text: "{\"a\": \"\\udc00\"}", line: 1, column: 8),
    JSONErrorCase(text: "{\"a\": 1} x", line: 1, column: 10),
    JSONErrorCase(text: "{\"a\": 1}{}", line: 1, column: 9),
    JSONErrorCase(text: "{\"a\" 1}", line: 1, column: 6),
    JSONErrorCase(text: "{\"a\": 1", line: 1, column: 8),
    JSONErrorCase(text: "[1 2]", line: 1, column: 4),
    JSONErrorCase(text: "{\"a\": 1, \"b\": 2, \"a\": 3}", line: 1, column: 18, rule: .duplicateMember),
    JSONErrorCase(text: String(repeating: "[", count: 65) + String(repeating: "]", count: 65), line: 1, column: 65, rule: .nestingDepth),
    JSONErrorCase(text: "{\"a\":\u{0}1}", line: 1, column: 6),
]

@Suite("JSON parser")
struct JSONParserTests {
    @Test(arguments: jsonErrorCases)
    func syntaxErrors(_ c: JSONErrorCase) throws {
        guard case .failure(let e) = parseJSON(c.text) else {
            Issue.record("parsed")
            return
        }
        let b = bytes(c.text)
        let pos = b.withUnsafeBufferPointer { e.position(in: $0) }
        #expect(pos.line == c.line, "\(e.message)")
        #expect(pos.column == c.column, "\(e.message)")
        #expect(e.rule == c.rule)
    }

    @Test func values() throws {
        let v = try parseJSON(#" { "n": -12.5e+3, "big": 123456789012345678901234567890.125, "s": "\u00e9\n\"\/\ud83d\ude00张", "t": true, "f": false, "z": null, "a": [], "o": {} } "#).get()
        guard case .object(let o) = v else { Issue.record("not an object"); return }
        #expect(o["n"] == .number("-12.5e+3"))
        #expect(o["big"] == .number("123456789012345678901234567890.125"))
        #expect(o["s"] == .string("é\n\"/😀张"))
        #expect(o["t"] == .bool(true))
        #expect(o["f"] == .bool(false))
        #expect(o["z"] == .null)
        #expect(o["a"] == .array([]))
        #expect(o["o"] == .object(JSONObject()))
        #expect(o["missing"] == nil)
        #expect(o.members.map { $0.name } == ["n", "big", "s", "t", "f", "z", "a", "o"])
    }

    @Test func depthLimit() throws {
        let deep64 = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect((try? parseJSON(deep64).get()) != nil)
        let objects = String(repeating: "{\"a\":", count: 65) + "1" + String(repeating: "}", count: 65)
        guard case .failure(let e) = parseJSON(objects) else { Issue.record("parsed"); return }
        #expect(e.rule == .nestingDepth)
        // Very deep input fails cleanly instead of exhausting the stack.
        let huge = String(repeating: "[", count: 100_000)
        guard case .failure(let h) = parseJSON(huge) else { Issue.record("parsed"); return }
        #expect(h.rule == .nestingDepth)
    }
}

@Suite("JSON reports")
struct JSONReportTests {
    @Test func sectionsAbsentNullOrEmpty() throws {
        let text = """
        {"format": "dealer-daily-report/1", "store": "SH001", "business_date": "2026-03-05",
         "visits": [], "prospects": null, "extra": {"anything": [1, 2, {"deep": true}]}}
        """
        let r = try #require(readReport(text, name: "r.json").file?.reports.first)
        #expect(r.visits == [])
        #expect(r.prospects == nil)
        #expect(r.sales == nil)
        #expect(r.sections == [.visits])
        #expect(r.storeDay == StoreDay(store: "SH001", businessDate: day("2026-03-05")))
        #expect(r.origin == RecordOrigin(file: "r.json", location: .jsonPath("$")))
    }

    @Test func unknownMembersAreIgnored() throws {
        let visit = applying(baseVisit, [("comment", .s("hello")), ("nested", .raw("{\"x\": [null]}"))])
        let r = try #require(readReport(jsonReport(.visits, [visit]), name: "r.json").file)
        #expect(r.reports.first?.visits?.count == 1)
    }

    @Test func reportLevelProblems() {
        let body = "\"store\": \"SH001\", \"business_date\": \"2026-03-05\""
        expectSingleIssue(readReport("{\(body)}", name: "r.json"), file: "r.json", location: .jsonPath("$.format"), field: "format", rule: .required)
        expectSingleIssue(readReport("{\"format\": \"dealer-daily-report/2\", \(body)}", name: "r.json"),
                          file: "r.json", location: .jsonPath("$.format"), field: "format", rule: .formatVersion)
        expectSingleIssue(readReport("{\"format\": 1, \(body)}", name: "r.json"),
                          file: "r.json", location: .jsonPath("$.format"), field: "format", rule: .jsonType)
        expectSingleIssue(readReport("[]", name: "r.json"), file: "r.json", location: .jsonPath("$"), field: nil, rule: .jsonType)
        expectSingleIssue(readReport("\"text\"", name: "r.json"), file: "r.json", location: .jsonPath("$"), field: nil, rule: .jsonType)
        let f = "\"format\": \"dealer-daily-report/1\""
        expectSingleIssue(readReport("{\(f), \"business_date\": \"2026-03-05\"}", name: "r.json"),
                          file: "r.json", location: .jsonPath("$.store"), field: "store", rule: .required)
        expectSingleIssue(readReport("{\(f), \"store\": \"SH001\", \"business_date\": \"20260305\"}", name: "r.json"),
                          file: "r.json", location: .jsonPath("$.business_date"), field: "business_date", rule: .dateFormat)
        expectSingleIssue(readReport("{\(f), \(body), \"visits\": {}}", name: "r.json"),
                          file: "r.json", location: .jsonPath("$.visits"), field: "visits", rule: .jsonType)
        expectSingleIssue(readReport("{\(f), \(body), \"sales\": [\(jsonObject(baseSale)), 3]}", name: "r.json"),
                          file: "r.json", location: .jsonPath("$.sales[1]"), field: nil, rule: .jsonType)
    }

    @Test func syntaxErrorsHaveLineAndColumn() {
        let text = "{\n  \"format\": \"dealer-daily-report/1\",\n  \"store\": \"SH001\"\n  \"business_date\": \"2026-03-05\"\n}"
        let issue = expectSingleIssue(readReport(text, name: "r.json"), file: "r.json",
                                      location: .textPosition(line: 4, column: 3), field: nil, rule: .jsonSyntax)
        #expect(issue?.location.line == 4)
        // With a BOM the position is the same.
        let bom = readReport(bytes: [0xEF, 0xBB, 0xBF] + bytes(text), name: "r.json")
        #expect(bom.issues.first?.location == .textPosition(line: 4, column: 3))
    }

    @Test func deepNestingInAReport() {
        let deep = String(repeating: "[", count: 70) + String(repeating: "]", count: 70)
        let text = "{\"format\": \"dealer-daily-report/1\", \"x\": \(deep)}"
        expectSingleIssue(readReport(text, name: "r.json"), file: "r.json", location: .textPosition(line: 1, column: 105),
                          field: nil, rule: .nestingDepth)
    }

    @Test func duplicateMembersAreRejected() {
        let text = "{\"format\": \"dealer-daily-report/1\", \"store\": \"SH001\", \"store\": \"HZ001\", \"business_date\": \"2026-03-05\"}"
        expectSingleIssue(readReport(text, name: "r.json"), file: "r.json", location: .textPosition(line: 1, column: 55),
                          field: nil, rule: .duplicateMember)
    }

    @Test func hugeNumbersFailCleanly() {
        for n in ["1e30", "99999999999999999999", "1" + String(repeating: "0", count: 400), "-1e-400"] {
            let v = readReport(jsonReport(.visits, [applying(baseVisit, [("party_size", .raw(n))])]), name: "r.json")
            #expect(v.issues.count == 1)
            #expect(v.issues.first.map { [.range, .integerFormat].contains($0.rule) } == true)
            let s = readReport(jsonReport(.sales, [applying(baseSale, [("deal_price", .raw(n))])]), name: "r.json")
            #expect(s.issues.count == 1)
            #expect(s.issues.first.map { [.range, .moneyFormat].contains($0.rule) } == true)
        }
    }

    @Test func nulCharacters() {
        // A raw NUL inside a string is a JSON syntax error; an escaped one is a control character.
        let raw = readReport(jsonReport(.visits, [applying(baseVisit, [("id", .raw("\"V\u{0}1\""))])]), name: "r.json")
        #expect(raw.issues.map(\.rule) == [.jsonSyntax])
        let escaped = readReport(jsonReport(.visits, [applying(baseVisit, [("id", .raw("\"V\\u00001\""))])]), name: "r.json")
        expectSingleIssue(escaped, file: "r.json", location: .jsonPath("$.visits[0].id"), field: "id", rule: .controlCharacter)
    }

    @Test func collectsAllErrorsOfAFile() {
        let records = [
            applying(baseVisit, [("channel", .s("x"))]),
            applying(baseVisit, [("id", .s("V2")), ("party_size", .raw("0")), ("salesperson", .s("SH001-S99"))]),
        ]
        let issues = readReport(jsonReport(.visits, records, store: "XX001"), name: "r.json").issues
        #expect(issues.map(\.location) == [.jsonPath("$.store"), .jsonPath("$.visits[0].channel"),
                                           .jsonPath("$.visits[1].salesperson"), .jsonPath("$.visits[1].party_size")])
        #expect(issues.map(\.rule) == [.unknownStore, .enumValue, .unknownSalesperson, .range])
    }
}
