import DailyReport
import Foundation
import Glibc
import Postgres
import Testing
import TestSupport
import Warehouse

// Hostile input (issue 6 §2): every kind of bad file goes through the real `ReportIngestor` into a real
// database. A rejected file must name the exact rule, field and location and change nothing (row counts
// and a checksum of every core table, `core.kpi_change` included, are compared before and after). A
// legal-but-strange value must be stored verbatim. The eight rejections and the SQL/formula texts of
// `IngestRejectionTests` are not repeated here. Decisions are documented in docs/testing.md.

/// One hostile file and the single issue it must produce.
struct HostileCase: Sendable, CustomTestStringConvertible {
    var name: String
    var file: String
    var bytes: [UInt8]
    var rule: Rule
    var field: String?
    var location: InputLocation
    /// The reported value, when the case checks it.
    var value: String?? = .none
    /// A phrase the message must contain (beyond being non-empty).
    var message: String? = nil
    var receivedAt = "2026-03-03T21:00:00+08:00"
    var testDescription: String { name }

    init(_ name: String, _ file: String, _ text: String, _ rule: Rule, field: String?, at location: InputLocation,
         value: String?? = .none, message: String? = nil) {
        self.init(name, file, bytes: Array(text.utf8), rule, field: field, at: location, value: value, message: message)
    }

    init(_ name: String, _ file: String, bytes: [UInt8], _ rule: Rule, field: String?, at location: InputLocation,
         value: String?? = .none, message: String? = nil) {
        self.name = name
        self.file = file
        self.bytes = bytes
        self.rule = rule
        self.field = field
        self.location = location
        self.value = value
        self.message = message
    }
}

/// Building blocks: one compact, valid JSON report of S1 on 2026-03-03 (one line: syntax error columns are
/// easy to state) and valid CSV section files, which the cases break in one place each.
enum Hostile {
    static let head = #"{"format": "dealer-daily-report/1", "store": "S1", "business_date": "2026-03-03""#
    static let visit = #"{"id": "V1", "channel": "walk_in", "purpose": "purchase", "salesperson": "S1-01", "model": "M1", "party_size": 2, "existing_card": null, "existing_order": false, "new_card": "A-1", "test_drive": true}"#
    static let card = #"{"card": "A-1", "created_on": "2026-03-03", "salesperson": "S1-01", "customer_name": "张伟", "phone": "139 1234 5678", "model": "M1", "level": "H", "source": "walk_in", "status": "open", "closed_on": null, "lost_reason": null}"#
    static let order = #"{"order": "O-1", "card": "A-1", "salesperson": "S1-01", "model": "M1", "order_date": "2026-03-01", "status": "delivered", "delivery_date": "2026-03-03", "cancel_date": null, "vin": "LFV2A21K8G3000009", "list_price": 159800.00, "deal_price": 152000.00, "collected": 152000.00}"#

    /// The valid report; `visits`, `prospects`, `sales` replace the sections' element lists.
    static func json(visits: [String]? = [visit], prospects: [String]? = [card], sales: [String]? = [order]) -> String {
        var s = head
        if let visits { s += #", "visits": ["# + visits.joined(separator: ", ") + "]" }
        if let prospects { s += #", "prospects": ["# + prospects.joined(separator: ", ") + "]" }
        if let sales { s += #", "sales": ["# + sales.joined(separator: ", ") + "]" }
        return s + "}\n"
    }

    /// `json()` with the first `old` replaced by `new` (the text must contain `old`).
    static func json(replacing old: String, with new: String, in text: String = json()) -> String {
        guard let r = text.range(of: old) else { fatalError("test bug: \(old) not in \(text)") }
        return text.replacingCharacters(in: r, with: new)
    }

    static func visitObject(replacing old: String, with new: String) -> String { json(replacing: old, with: new, in: visit) }
    static func cardObject(replacing old: String, with new: String) -> String { json(replacing: old, with: new, in: card) }
    static func orderObject(replacing old: String, with new: String) -> String { json(replacing: old, with: new, in: order) }

    /// The 1-based column (in Unicode scalars) where `needle` starts on the single line `text`.
    static func column(of needle: String, in text: String) -> Int {
        guard let r = text.range(of: needle) else { fatalError("test bug: \(needle) not in \(text)") }
        return text[..<r.lowerBound].unicodeScalars.count + 1
    }

    static let visitHeader = CSVFile.visitHeader
    static let visitRow = "S1,2026-03-03,V1,walk_in,purchase,S1-01,M1,2,,false,A-1,true"
    static let visitRow2 = "S1,2026-03-03,V2,phone,purchase,S1-02,M2,1,,false,A-2,false"

    /// A visits CSV file: the header and rows joined by CRLF.
    static func csv(_ rows: [String], header: String = visitHeader) -> String {
        ([header] + rows).map { $0 + "\r\n" }.joined()
    }

    static let saleRow = "S1,2026-03-03,O-1,A-1,S1-01,M1,2026-03-01,delivered,2026-03-03,,LFV2A21K8G3000009,159800.00,152000.00,152000.00"
}

/// UTF-16LE with a BOM (what "Unicode text" exports of some spreadsheet programs write).
func utf16LE(_ text: String) -> [UInt8] {
    [0xFF, 0xFE] + text.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
}

let deep = 100_000

let hostileRejections: [HostileCase] = {
    let H = Hostile.self
    let valid = H.json()
    // Cut after a member's comma: the parser then expects another member and meets the end of the document.
    let truncated = String(valid[..<valid.range(of: #""party_size": 2, "#)!.upperBound])
    let nested = String(repeating: "[", count: deep) + String(repeating: "]", count: deep)
    let deepInRecord = H.json(visits: [H.visitObject(replacing: #""test_drive": true"#,
                                                     with: #""test_drive": "# + String(repeating: "{\"a\": ", count: 80) + "1" + String(repeating: "}", count: 80))])
    let dupKey = H.json(replacing: #""store": "S1""#, with: #""store": "S1", "store": "S2""#)
    let nulRaw = H.json(replacing: #""format""#, with: "\u{0}\"format\"")
    let ctrlRaw = H.json(replacing: #""id": "V1""#, with: "\"id\": \"V\u{1}1\"")
    let garbage = valid + "{\"again\": 1}\n"
    let longID = String(repeating: "界", count: 65)
    let hugeText = String(repeating: "长", count: 100_000)
    let gbJSON = Iconv.convert(H.json(replacing: #""lost_reason": null"#, with: #""lost_reason": "价格太高""#), to: "GB18030")
    /// The valid report with visit id `V<bytes>1`: raw bytes smuggled into a string.
    func idWithBytes(_ smuggled: [UInt8]) -> [UInt8] {
        Array(H.json(replacing: #""id": "V1""#, with: #""id": "V#1""#).utf8).flatMap { $0 == UInt8(ascii: "#") ? smuggled : [$0] }
    }
    let overlongBytes = idWithBytes([0xC0, 0xAF]) // an overlong '/' (the classic path-traversal smuggle)
    let cesu = idWithBytes([0xED, 0xA0, 0x80])    // a UTF-16 surrogate encoded as UTF-8 (CESU-8)
    // 0x80 and 0xFF are invalid lead bytes in UTF-8 and in GB18030.
    let notGB = Array(H.csv([H.visitRow, "S1,2026-03-03,V2,walk_in,purchase,S1-01,M1,1,,false,,false"]).utf8)
        .replacing([UInt8(ascii: "V"), UInt8(ascii: "2")], with: [UInt8(ascii: "V"), 0xFF, 0x80])

    return [
        // MARK: JSON syntax and structure
        HostileCase("truncated JSON (cut in the middle)", "truncated.json", truncated, .jsonSyntax, field: nil,
                    at: .textPosition(line: 1, column: truncated.unicodeScalars.count + 1)),
        HostileCase("empty .json file", "empty.json", "", .jsonSyntax, field: nil, at: .textPosition(line: 1, column: 1),
                    message: "empty"),
        HostileCase("a .json file holding only a UTF-8 BOM", "bom.json", bytes: [0xEF, 0xBB, 0xBF], .jsonSyntax, field: nil,
                    at: .textPosition(line: 1, column: 1), message: "empty"),
        HostileCase("only white space", "blank.json", " \n\t\r\n ", .jsonSyntax, field: nil, at: .textPosition(line: 3, column: 2)),
        HostileCase("top-level array instead of an object", "array.json", "[" + valid + "]", .jsonType, field: nil, at: .jsonPath("$"),
                    message: "JSON object"),
        HostileCase("top-level string", "string.json", #""dealer-daily-report/1""#, .jsonType, field: nil, at: .jsonPath("$")),
        HostileCase("trailing garbage after the document", "garbage.json", garbage, .jsonSyntax, field: nil,
                    at: .textPosition(line: 2, column: 1), message: "after the end"),
        HostileCase("duplicate member name", "dupkey.json", dupKey, .duplicateMember, field: nil,
                    at: .textPosition(line: 1, column: H.column(of: #""store": "S2""#, in: dupKey)), message: "store"),
        HostileCase("nesting 100,000 levels deep", "deep.json", nested, .nestingDepth, field: nil,
                    at: .textPosition(line: 1, column: 65), message: "64"),
        HostileCase("nesting 80 levels deep inside a record", "deep_member.json", deepInRecord, .nestingDepth, field: nil,
                    // depth 1 is the report, 2 `visits`, 3 the visit: the 62nd nested object is level 65
                    at: .textPosition(line: 1, column: H.column(of: #"{"a": "#, in: deepInRecord) + 61 * 6)),
        HostileCase("raw NUL byte between tokens", "nul_raw.json", nulRaw, .jsonSyntax, field: nil,
                    at: .textPosition(line: 1, column: 2)),
        HostileCase("raw control character inside a string", "ctrl_raw.json", ctrlRaw, .jsonSyntax, field: nil,
                    at: .textPosition(line: 1, column: H.column(of: "\u{1}", in: ctrlRaw)), message: "escaped"),
        HostileCase("trailing comma", "comma.json", H.json(replacing: #""test_drive": true}"#, with: #""test_drive": true,}"#),
                    .jsonSyntax, field: nil, at: .textPosition(line: 1, column: H.column(of: ",}", in: H.json(replacing: #""test_drive": true}"#, with: #""test_drive": true,}"#)) + 1)),
        HostileCase("comment", "comment.json", "// exported by DMS\n" + valid, .jsonSyntax, field: nil, at: .textPosition(line: 1, column: 1)),
        HostileCase("single-quoted strings", "quotes.json", H.json(replacing: #""id": "V1""#, with: #"'id': 'V1'"#), .jsonSyntax,
                    field: nil, at: .textPosition(line: 1, column: H.column(of: "'id'", in: H.json(replacing: #""id": "V1""#, with: #"'id': 'V1'"#)))),
        HostileCase("lone high surrogate escape \\ud800", "surrogate.json", H.json(replacing: #""id": "V1""#, with: #""id": "V\ud800""#),
                    .jsonSyntax, field: nil, at: .textPosition(line: 1, column: H.column(of: #"\ud800"#, in: H.json(replacing: #""id": "V1""#, with: #""id": "V\ud800""#))),
                    message: "surrogate"),
        HostileCase("lone low surrogate escape \\udc00", "low_surrogate.json", H.json(replacing: #""id": "V1""#, with: #""id": "\udc00V""#),
                    .jsonSyntax, field: nil, at: .textPosition(line: 1, column: H.column(of: #"\udc00"#, in: H.json(replacing: #""id": "V1""#, with: #""id": "\udc00V""#))),
                    message: "surrogate"),
        HostileCase("NaN", "nan.json", H.json(replacing: "152000.00, \"collected\"", with: "NaN, \"collected\""), .jsonSyntax, field: nil,
                    at: .textPosition(line: 1, column: H.column(of: "NaN", in: H.json(replacing: "152000.00, \"collected\"", with: "NaN, \"collected\"")))),
        HostileCase("hexadecimal number 0x10", "hex.json", H.json(replacing: #""party_size": 2"#, with: #""party_size": 0x10"#), .jsonSyntax,
                    field: nil, at: .textPosition(line: 1, column: H.column(of: "x10", in: H.json(replacing: #""party_size": 2"#, with: #""party_size": 0x10"#)))),
        HostileCase("leading zero 02", "zero.json", H.json(replacing: #""party_size": 2"#, with: #""party_size": 02"#), .jsonSyntax,
                    field: nil, at: .textPosition(line: 1, column: H.column(of: ": 02", in: H.json(replacing: #""party_size": 2"#, with: #""party_size": 02"#)) + 2),
                    message: "leading zeros"),

        // MARK: encodings
        HostileCase("invalid UTF-8 that is not GB18030 either (CSV)", "bad_bytes.csv", bytes: notGB, .encoding, field: nil, at: .line(3),
                    message: "not valid GB18030"),
        HostileCase("GB18030 JSON (JSON must be UTF-8)", "gb.json", bytes: gbJSON, .encoding, field: nil, at: .line(1), message: "UTF-8"),
        HostileCase("overlong UTF-8 (C0 AF)", "overlong.json", bytes: overlongBytes, .encoding, field: nil, at: .line(1)),
        HostileCase("UTF-8-encoded surrogate (CESU-8)", "cesu.json", bytes: cesu, .encoding, field: nil, at: .line(1)),
        HostileCase("UTF-16LE JSON with BOM", "utf16.json", bytes: utf16LE(valid), .encoding, field: nil, at: .line(1),
                    message: "offset 0"),
        HostileCase("UTF-16LE CSV with BOM", "utf16.csv", bytes: utf16LE(H.csv([H.visitRow])), .encoding, field: nil, at: .line(1),
                    message: "not valid GB18030"),

        // MARK: report-level fields
        HostileCase("wrong schema version", "v2.json", H.json(replacing: "dealer-daily-report/1", with: "dealer-daily-report/2"),
                    .formatVersion, field: "format", at: .jsonPath("$.format"), value: "dealer-daily-report/2"),
        HostileCase("no format member", "noformat.json", H.json(replacing: #""format": "dealer-daily-report/1", "#, with: ""),
                    .required, field: "format", at: .jsonPath("$.format")),
        HostileCase("empty object", "emptyobj.json", "{}", .required, field: "format", at: .jsonPath("$.format")),
        HostileCase("format as a number", "format_num.json", H.json(replacing: #""dealer-daily-report/1""#, with: "1"), .jsonType,
                    field: "format", at: .jsonPath("$.format"), value: "1"),
        HostileCase("store as a number", "store_num.json", H.json(replacing: #""store": "S1""#, with: #""store": 1"#), .jsonType,
                    field: "store", at: .jsonPath("$.store"), value: "1"),
        HostileCase("business date 2026-02-30", "feb30.json", H.json(replacing: #""business_date": "2026-03-03""#, with: #""business_date": "2026-02-30""#),
                    .dateFormat, field: "business_date", at: .jsonPath("$.business_date"), value: "2026-02-30"),
        HostileCase("business date not zero-padded", "unpadded.json", H.json(replacing: #""business_date": "2026-03-03""#, with: #""business_date": "2026-3-3""#),
                    .dateFormat, field: "business_date", at: .jsonPath("$.business_date"), value: "2026-3-3"),
        HostileCase("business date with a time", "datetime.json", H.json(replacing: #""business_date": "2026-03-03""#, with: #""business_date": "2026-03-03T00:00:00Z""#),
                    .dateFormat, field: "business_date", at: .jsonPath("$.business_date")),
        HostileCase("business date far in the future", "future.json", H.json(replacing: #""business_date": "2026-03-03""#, with: #""business_date": "9999-12-31""#),
                    .businessDateAfterReceipt, field: "business_date", at: .jsonPath("$.business_date"), value: "9999-12-31"),
        HostileCase("business date before the store opened (year 0001)", "year1.json",
                    H.json(replacing: #""business_date": "2026-03-03""#, with: #""business_date": "0001-01-01""#, in: H.json(prospects: nil, sales: nil)),
                    .storeNotOpen, field: "store", at: .jsonPath("$.store"), value: "S1", message: "opened 2020-01-01"),
        HostileCase("unknown store", "unknown_store.json", H.json(replacing: #""store": "S1""#, with: #""store": "S9""#),
                    .unknownStore, field: "store", at: .jsonPath("$.store"), value: "S9", message: "S9"),
        HostileCase("store code with a space", "space.json", H.json(replacing: #""store": "S1""#, with: #""store": "S 1""#),
                    .codeFormat, field: "store", at: .jsonPath("$.store"), value: "S 1"),
        HostileCase("store code with a zero-width space", "zwsp.json", H.json(replacing: #""store": "S1""#, with: "\"store\": \"S\u{200B}1\""),
                    .codeFormat, field: "store", at: .jsonPath("$.store"), value: "S\u{200B}1"),
        HostileCase("store code in full-width letters", "fullwidth.json", H.json(replacing: #""store": "S1""#, with: #""store": "Ｓ１""#),
                    .codeFormat, field: "store", at: .jsonPath("$.store"), value: "Ｓ１"),
        HostileCase("SQL in a code field", "sql_code.json", H.json(replacing: #""store": "S1""#, with: #""store": "S1'; DROP TABLE core.visit; --""#),
                    .codeFormat, field: "store", at: .jsonPath("$.store"), value: "S1'; DROP TABLE core.visit; --"),
        HostileCase("a formula as salesperson code", "formula_code.json", H.json(replacing: #""salesperson": "S1-01", "model": "M1", "party_size""#, with: #""salesperson": "=cmd|' /C calc'!A0", "model": "M1", "party_size""#),
                    .codeFormat, field: "salesperson", at: .jsonPath("$.visits[0].salesperson"), value: "=cmd|' /C calc'!A0"),
        HostileCase("visits is an object", "visits_obj.json", H.json(visits: nil, prospects: nil).replacingOccurrences(of: "}\n", with: #", "visits": {"V1": 1}}"#),
                    .jsonType, field: "visits", at: .jsonPath("$.visits")),
        HostileCase("a visit that is a string", "visit_str.json", H.json(visits: [#""V1""#]), .jsonType, field: nil, at: .jsonPath("$.visits[0]")),
        HostileCase("no section at all (sections null)", "nosection.json", H.json(visits: nil, prospects: nil, sales: nil)
                        .replacingOccurrences(of: "}\n", with: #", "visits": null}"#),
                    .required, field: nil, at: .wholeFile, message: "no report section"),

        // MARK: record fields
        HostileCase("party_size as a string", "party_str.json", H.json(replacing: #""party_size": 2"#, with: #""party_size": "2""#),
                    .jsonType, field: "party_size", at: .jsonPath("$.visits[0].party_size"), value: "2"),
        HostileCase("test_drive as \"yes\"", "bool_str.json", H.json(replacing: #""test_drive": true"#, with: #""test_drive": "yes""#),
                    .jsonType, field: "test_drive", at: .jsonPath("$.visits[0].test_drive"), value: "yes"),
        HostileCase("test_drive as 1", "bool_num.json", H.json(replacing: #""test_drive": true"#, with: #""test_drive": 1"#),
                    .jsonType, field: "test_drive", at: .jsonPath("$.visits[0].test_drive"), value: "1"),
        HostileCase("id as an array", "id_array.json", H.json(replacing: #""id": "V1""#, with: #""id": ["V1"]"#),
                    .jsonType, field: "id", at: .jsonPath("$.visits[0].id"), value: "<array>"),
        HostileCase("huge integer party_size", "huge_int.json", H.json(replacing: #""party_size": 2"#, with: #""party_size": 99999999999999999999999"#),
                    .range, field: "party_size", at: .jsonPath("$.visits[0].party_size"), value: "99999999999999999999999"),
        HostileCase("party_size 1e999", "exp_int.json", H.json(replacing: #""party_size": 2"#, with: #""party_size": 1e999"#),
                    .integerFormat, field: "party_size", at: .jsonPath("$.visits[0].party_size"), value: "1e999"),
        HostileCase("party_size 2.0", "frac_int.json", H.json(replacing: #""party_size": 2"#, with: #""party_size": 2.0"#),
                    .integerFormat, field: "party_size", at: .jsonPath("$.visits[0].party_size"), value: "2.0"),
        HostileCase("negative party_size", "neg_party.json", H.json(replacing: #""party_size": 2"#, with: #""party_size": -3"#),
                    .range, field: "party_size", at: .jsonPath("$.visits[0].party_size"), value: "-3"),
        HostileCase("party_size -0", "neg_zero.json", H.json(replacing: #""party_size": 2"#, with: #""party_size": -0"#),
                    .range, field: "party_size", at: .jsonPath("$.visits[0].party_size"), value: "-0"),
        HostileCase("deal_price with 20 integer digits", "huge_money.json", H.json(replacing: #""deal_price": 152000.00"#, with: #""deal_price": 10000000000000000000.00"#),
                    .range, field: "deal_price", at: .jsonPath("$.sales[0].deal_price"), message: "too large"),
        HostileCase("deal_price 1e999", "exp_money.json", H.json(replacing: #""deal_price": 152000.00"#, with: #""deal_price": 1e999"#),
                    .moneyFormat, field: "deal_price", at: .jsonPath("$.sales[0].deal_price"), value: "1e999"),
        HostileCase("deal_price with 3 decimals", "money3.json", H.json(replacing: #""deal_price": 152000.00"#, with: #""deal_price": 152000.001"#),
                    .moneyFormat, field: "deal_price", at: .jsonPath("$.sales[0].deal_price"), value: "152000.001"),
        HostileCase("negative deal_price", "neg_price.json", H.json(replacing: #""deal_price": 152000.00"#, with: #""deal_price": -152000.00"#),
                    .range, field: "deal_price", at: .jsonPath("$.sales[0].deal_price"), value: "-152000.00"),
        HostileCase("negative collected", "neg_collected.json", H.json(replacing: #""collected": 152000.00"#, with: #""collected": -0.01"#),
                    .range, field: "collected", at: .jsonPath("$.sales[0].collected"), value: "-0.01"),
        HostileCase("deal_price as a string with a currency sign", "money_str.json", H.json(replacing: #""deal_price": 152000.00"#, with: #""deal_price": "¥152,000""#),
                    .jsonType, field: "deal_price", at: .jsonPath("$.sales[0].deal_price"), value: "¥152,000"),
        HostileCase("unknown channel", "channel.json", H.json(replacing: #""channel": "walk_in""#, with: #""channel": "WALK_IN""#),
                    .enumValue, field: "channel", at: .jsonPath("$.visits[0].channel"), value: "WALK_IN", message: "walk_in"),
        HostileCase("unknown salesperson", "unknown_sp.json", H.json(replacing: #""salesperson": "S1-01", "model": "M1", "party_size""#, with: #""salesperson": "S1-99", "model": "M1", "party_size""#),
                    .unknownSalesperson, field: "salesperson", at: .jsonPath("$.visits[0].salesperson"), value: "S1-99", message: "S1-99"),
        HostileCase("duplicate visit id", "dup_visit.json", H.json(visits: [H.visit, H.visit]),
                    .duplicateId, field: "id", at: .jsonPath("$.visits[1].id"), value: "V1", message: "$.visits[0]"),
        HostileCase("duplicate card", "dup_card.json", H.json(prospects: [H.card, H.card]),
                    .duplicateId, field: "card", at: .jsonPath("$.prospects[1].card"), value: "A-1"),
        HostileCase("duplicate order", "dup_order.json", H.json(sales: [H.order, H.orderObject(replacing: "LFV2A21K8G3000009", with: "LFV2A21K8G3000010")]),
                    .duplicateId, field: "order", at: .jsonPath("$.sales[1].order"), value: "O-1"),
        HostileCase("card created after the business date", "card_future.json", H.json(replacing: #""created_on": "2026-03-03""#, with: #""created_on": "2026-03-04""#),
                    .dateOrder, field: "created_on", at: .jsonPath("$.prospects[0].created_on"), value: "2026-03-04"),
        HostileCase("delivery in the future", "delivery_future.json", H.json(replacing: #""delivery_date": "2026-03-03""#, with: #""delivery_date": "2027-01-01""#),
                    .dateOrder, field: "delivery_date", at: .jsonPath("$.sales[0].delivery_date"), value: "2027-01-01"),
        HostileCase("delivered before ordered", "delivery_early.json", H.json(replacing: #""delivery_date": "2026-03-03""#, with: #""delivery_date": "2026-02-28""#),
                    .dateOrder, field: "delivery_date", at: .jsonPath("$.sales[0].delivery_date"), value: "2026-02-28"),
        HostileCase("closed_on on an open card", "closed_open.json", H.json(replacing: #""closed_on": null"#, with: #""closed_on": "2026-03-03""#),
                    .notAllowed, field: "closed_on", at: .jsonPath("$.prospects[0].closed_on")),
        HostileCase("delivered without a VIN", "novin.json", H.json(replacing: #""vin": "LFV2A21K8G3000009""#, with: #""vin": null"#),
                    .required, field: "vin", at: .jsonPath("$.sales[0].vin")),
        HostileCase("VIN with I, O and Q", "vin_ioq.json", H.json(replacing: "LFV2A21K8G3000009", with: "LFV2A21K8G30IOQ09"),
                    .vinFormat, field: "vin", at: .jsonPath("$.sales[0].vin"), value: "LFV2A21K8G30IOQ09"),
        HostileCase("id of 65 CJK characters", "long_id.json", H.json(replacing: #""id": "V1""#, with: "\"id\": \"\(longID)\""),
                    .idLength, field: "id", at: .jsonPath("$.visits[0].id"), value: longID),
        HostileCase("id of 100,000 characters (value cut in the error)", "huge_id.json", H.json(replacing: #""id": "V1""#, with: "\"id\": \"\(hugeText)\""),
                    .idLength, field: "id", at: .jsonPath("$.visits[0].id"), value: String(repeating: "长", count: 200) + "…"),
        HostileCase("escaped control character in free text", "bell.json", H.json(replacing: #""lost_reason": null"#, with: #""lost_reason": "a\u0007b""#),
                    .controlCharacter, field: "lost_reason", at: .jsonPath("$.prospects[0].lost_reason"), value: "a\\u{7}b"),
        HostileCase("escaped line break inside an id", "newline_id.json", H.json(replacing: #""id": "V1""#, with: #""id": "V\n1""#),
                    .controlCharacter, field: "id", at: .jsonPath("$.visits[0].id"), value: "V\\u{a}1"),

        // MARK: CSV structure
        HostileCase("empty CSV file", "empty.csv", "", .header, field: nil, at: .wholeFile, message: "empty"),
        HostileCase("CSV holding only a BOM", "bom.csv", bytes: [0xEF, 0xBB, 0xBF], .header, field: nil, at: .wholeFile),
        HostileCase("CSV header only", "header_only.csv", H.csv([]), .required, field: nil, at: .wholeFile, message: "no report section"),
        HostileCase("CSV blank first line", "blank_first.csv", "\r\n" + H.csv([H.visitRow]), .header, field: nil, at: .line(1)),
        HostileCase("duplicate header column", "dup_col.csv", H.csv([H.visitRow + ",walk_in"], header: H.visitHeader + ",channel"),
                    .duplicateColumn, field: "channel", at: .line(1)),
        HostileCase("missing required column", "missing_col.csv",
                    H.csv(["S1,2026-03-03,V1,walk_in,S1-01"], header: "store,business_date,visit_id,channel,salesperson"),
                    .missingColumn, field: "purpose", at: .line(1)),
        HostileCase("header naming no section", "no_kind.csv", H.csv(["a,b"], header: "foo,bar"), .fileKind, field: nil, at: .line(1)),
        HostileCase("master-data file given to ingest", "stores.csv", MasterFixture.stores, .fileKind, field: nil, at: .line(1),
                    message: "master-data"),
        HostileCase("ragged row: one field too many", "ragged_long.csv", H.csv([H.visitRow, H.visitRow2 + ",extra"]), .raggedRow,
                    field: nil, at: .line(3), message: "13 field(s)"),
        HostileCase("ragged row: fields missing", "ragged_short.csv", H.csv([H.visitRow, "S1,2026-03-03,V2,phone"]), .raggedRow,
                    field: nil, at: .line(3), message: "4 field(s)"),
        HostileCase("unterminated quote", "unterminated.csv", H.csv([H.visitRow]) + "S1,2026-03-03,\"V2,phone,purchase\r\n", .csvSyntax,
                    field: nil, at: .line(3)),
        HostileCase("text after a closing quote", "after_quote.csv", H.csv([#"S1,2026-03-03,"V1"x,walk_in,purchase,S1-01,M1,2,,false,A-1,true"#]),
                    .csvSyntax, field: nil, at: .line(2), message: "closing quote"),
        HostileCase("quoted line break inside a cell", "cell_newline.csv", H.csv([#"S1,2026-03-03,"V1"#, #"V2",walk_in,purchase,S1-01,M1,2,,false,A-1,true"#]),
                    .controlCharacter, field: "visit_id", at: .line(2), value: "V1\\u{d}\\u{a}V2"),
        HostileCase("NUL byte in the CSV header", "nul_header.csv", H.csv([H.visitRow], header: H.visitHeader.replacingOccurrences(of: "channel", with: "chan\u{0}nel")),
                    .missingColumn, field: "channel", at: .line(1)),
        HostileCase("CSV store missing on a row", "no_store.csv", H.csv([H.visitRow, ",2026-03-03,V2,walk_in,purchase,S1-01,M1,1,,false,,false"]),
                    .required, field: "store", at: .line(3)),
        HostileCase("CSV boolean 'maybe'", "bool.csv", H.csv([H.visitRow.replacingOccurrences(of: ",true", with: ",maybe")]),
                    .booleanFormat, field: "test_drive", at: .line(2), value: "maybe"),
        HostileCase("CSV formula in a money cell", "formula_money.csv",
                    H.csv([H.saleRow.replacingOccurrences(of: "152000.00,152000.00", with: "=1+1,152000.00")], header: CSVFile.saleHeader),
                    .moneyFormat, field: "deal_price", at: .line(2), value: "=1+1"),
        HostileCase("CSV money with a plus sign", "plus_money.csv",
                    H.csv([H.saleRow.replacingOccurrences(of: "152000.00,152000.00", with: "+152000.00,152000.00")], header: CSVFile.saleHeader),
                    .moneyFormat, field: "deal_price", at: .line(2), value: "+152000.00"),
        HostileCase("CSV money with thousands separators", "sep_money.csv",
                    H.csv([H.saleRow.replacingOccurrences(of: "152000.00,152000.00", with: "\"152,000.00\",152000.00")], header: CSVFile.saleHeader),
                    .moneyFormat, field: "deal_price", at: .line(2), value: "152,000.00"),
        HostileCase("CSV duplicate order in one store-day", "dup_order.csv",
                    H.csv([H.saleRow, H.saleRow.replacingOccurrences(of: "LFV2A21K8G3000009", with: "LFV2A21K8G3000010")], header: CSVFile.saleHeader),
                    .duplicateId, field: "order", at: .line(3), value: "O-1", message: "line 2"),
        HostileCase("CSV unknown store on a later row", "unknown_store.csv", H.csv([H.visitRow, H.visitRow2.replacingOccurrences(of: "S1,", with: "S7,")]),
                    .unknownStore, field: "store", at: .line(3), value: "S7"),
    ]
}()

@Suite("Hostile input through the ingestor")
struct HostileInputTests {
    @Test(arguments: hostileRejections)
    func rejectedWithTheExactRuleAndNothingChanges(_ c: HostileCase) async throws {
        try await TestWarehouse.with { wh in
            try await wh.accept(flagReport(store: "S1", salesperson: "S1-01", vin: vinOfS1), receivedAt: "2026-03-02T21:30:00+08:00")
            let counts = try await wh.coreCounts()
            let before = try await wh.coreFingerprint()

            let result = try await wh.ingest(c.file, bytes: c.bytes, receivedAt: c.receivedAt)
            let rejection = try #require(result.rejection, "expected \(c.file) to be rejected")
            #expect(result.storeDays.isEmpty)
            #expect(rejection.issues.count == 1, "\(rejection)")
            let issue = try #require(rejection.issues.first)
            #expect(issue.rule == c.rule, "\(issue)")
            #expect(issue.file == c.file)
            #expect(issue.field == c.field, "\(issue)")
            #expect(issue.location == c.location, "\(issue)")
            if case .some(let value) = c.value { #expect(issue.value == value, "\(issue)") }
            #expect(!issue.message.isEmpty)
            if let phrase = c.message { #expect(issue.message.contains(phrase), "\(issue)") }

            #expect(try await wh.coreCounts() == counts)
            #expect(try await wh.coreFingerprint() == before)
        }
    }
}

/// A legal-but-strange file: accepted, and `query` (one text column) must return exactly `expected`.
struct StrangeCase: Sendable, CustomTestStringConvertible {
    var name: String
    var file: String
    var bytes: [UInt8]
    var query: String
    var expected: [String]
    var testDescription: String { name }

    init(_ name: String, _ file: String, _ text: String, _ query: String, _ expected: [String]) {
        self.init(name, file, bytes: Array(text.utf8), query, expected)
    }

    init(_ name: String, _ file: String, bytes: [UInt8], _ query: String, _ expected: [String]) {
        self.name = name
        self.file = file
        self.bytes = bytes
        self.query = query
        self.expected = expected
    }
}

let strangeButLegal: [StrangeCase] = {
    let H = Hostile.self
    let lostCard = H.cardObject(replacing: #""status": "open", "closed_on": null"#, with: #""status": "lost", "closed_on": "2026-03-03""#)
    func lost(_ reason: String) -> String {
        H.json(prospects: [H.json(replacing: #""lost_reason": null"#, with: #""lost_reason": "# + J.s(reason), in: lostCard)])
    }
    let reasonQuery = "SELECT lost_reason FROM core.prospect_card WHERE card_id = 'A-1'"
    let rtl = "价格\u{202E}txt.exe\u{202C} 太高\u{200B}\u{FEFF}"
    let megabyte = String(repeating: "客户说价格太高。", count: 1 << 16) // 1.5 MB of UTF-8
    let formulaIDs = ["=cmd|' /C calc'!A0", "+1", "-1", "@SUM(A1)"]
    let formulaCSV = H.csv(formulaIDs.map { id in
        CSVFile.row(["S1", "2026-03-03", id, "walk_in", "purchase", "S1-01", "M1", "1", nil, "false", nil, "false"])
            .trimmingCharacters(in: .newlines)
    })
    let mixedEndings = H.visitHeader + "\r\n" + H.visitRow + "\n" + H.visitRow2 + "\r"
        + "S1,2026-03-03,V3,event,purchase,S1-01,,1,,false,,false" + "\r\n"
    let reordered = "test_drive,new_card,existing_order,existing_card,party_size,model,salesperson,purpose,channel,visit_id,business_date,store,remarks\r\n"
        + "true,A-1,false,,2,M1,S1-01,purchase,walk_in,V1,2026-03-03,S1,=HYPERLINK(\"http://evil\")\r\n"
    let reversedJSON = #"{"sales": ["# + H.order + #"], "visits": ["# + H.visit.replacingOccurrences(of: #""id": "V1""#, with: #""x-dms": {"deep": [1, 2]}, "id": "V1""#)
        + #"], "business_date": "2026-03-03", "store": "S1", "format": "dealer-daily-report/1", "generator": "DMS 7.1"}"#
    let gbText = "S1,2026-03-03,A-1,2026-03-03,S1-01,张伟,139 1234 5678,M1,H,walk_in,lost,2026-03-03,嫌贵😀𠀀\r\n"
    return [
        StrangeCase("RTL override, zero-width and BOM characters inside free text", "rtl.json", lost(rtl), reasonQuery, [rtl]),
        StrangeCase("RTL override inside an id", "rtl_id.json", H.json(replacing: #""id": "V1""#, with: "\"id\": \"V\u{202E}1\""),
                    "SELECT visit_id FROM core.visit WHERE business_date = '2026-03-03'", ["V\u{202E}1"]),
        StrangeCase("emoji, astral CJK and combining marks", "emoji.json", lost("嫌贵😀𠀀 cafe\u{301}"), reasonQuery, ["嫌贵😀𠀀 cafe\u{301}"]),
        StrangeCase("full-width text is not NFKC-normalized in storage", "fullwidth.json", lost("ＡＢＣ１２３"), reasonQuery, ["ＡＢＣ１２３"]),
        StrangeCase("DEL and a C1 control inside text (only C0 is forbidden)", "del.json", lost("a\u{7F}b\u{85}c"), reasonQuery, ["a\u{7F}b\u{85}c"]),
        StrangeCase("tab inside text", "tab.json", lost("a\tb"), reasonQuery, ["a\tb"]),
        StrangeCase("1.5 MB of free text", "long.json", lost(megabyte), "SELECT length(lost_reason)::text || ':' || (lost_reason = repeat('客户说价格太高。', 65536))::text FROM core.prospect_card WHERE card_id = 'A-1'",
                    ["\(megabyte.unicodeScalars.count):true"]),
        StrangeCase("SQL-looking customer name is masked, never executed", "sql_name.json",
                    H.json(prospects: [H.json(replacing: #""customer_name": "张伟""#, with: #""customer_name": "'; DROP TABLE core.visit; --""#, in: H.card)]),
                    "SELECT customer_name_masked FROM core.prospect_card WHERE card_id = 'A-1'", ["'*"]),
        StrangeCase("formula-prefixed ids (=, +, -, @) are stored as text", "formula_ids.csv", formulaCSV,
                    "SELECT visit_id FROM core.visit WHERE business_date = '2026-03-03' ORDER BY visit_id", formulaIDs.sorted()),
        StrangeCase("a quote inside an unquoted field is kept", "inner_quote.csv", H.csv([H.visitRow.replacingOccurrences(of: ",V1,", with: ",5\"x,")]),
                    "SELECT visit_id FROM core.visit WHERE business_date = '2026-03-03'", ["5\"x"]),
        StrangeCase("mixed CRLF, LF and CR line endings", "mixed.csv", mixedEndings,
                    "SELECT visit_id || ':' || coalesce(model_code, '-') FROM core.visit WHERE business_date = '2026-03-03' ORDER BY visit_id", ["V1:M1", "V2:M2", "V3:-"]),
        StrangeCase("columns in another order and an unknown column (holding a formula)", "reordered.csv", reordered,
                    "SELECT visit_id || ':' || party_size || ':' || new_card FROM core.visit WHERE business_date = '2026-03-03'", ["V1:2:A-1"]),
        StrangeCase("sections and members in reverse order, unknown members (even nested)", "reversed.json", reversedJSON,
                    "SELECT visit_id || '/' || (SELECT order_id FROM core.sales_order) FROM core.visit WHERE business_date = '2026-03-03'", ["V1/O-1"]),
        StrangeCase("white space around codes and dates is trimmed", "spaces.json",
                    H.json(replacing: #""store": "S1", "business_date": "2026-03-03""#, with: "\"store\": \" S1\\t\", \"business_date\": \"\u{3000}2026-03-03 \"",
                           in: H.json(prospects: nil, sales: nil)),
                    "SELECT store_code || '|' || business_date FROM core.visit", ["S1|2026-03-03"]),
        StrangeCase("largest party_size and largest amount", "max.json",
                    H.json(replacing: #""deal_price": 152000.00, "collected": 152000.00"#, with: #""deal_price": 9999999999999.99, "collected": 0"#,
                           in: H.json(replacing: #""party_size": 2"#, with: #""party_size": 2147483647"#)),
                    "SELECT (SELECT party_size::text FROM core.visit WHERE business_date = '2026-03-03') || '|' || deal_price::text FROM core.sales_order", ["2147483647|9999999999999.99"]),
        StrangeCase("JSON escapes: \\u0041, \\/ and a surrogate pair", "escapes.json",
                    H.json(replacing: #""id": "V1""#, with: #""id": "\u0041\/\ud83d\ude00""#),
                    "SELECT visit_id FROM core.visit WHERE business_date = '2026-03-03'", ["A/😀"]),
        StrangeCase("GB18030 CSV with 4-byte sequences (emoji, CJK Extension B)", "gb4.csv",
                    bytes: Iconv.convert(CSVFile.prospectHeader + "\r\n" + gbText, to: "GB18030"), reasonQuery, ["嫌贵😀𠀀"]),
    ]
}()

extension HostileInputTests {
    @Test(arguments: strangeButLegal)
    func legalButStrangeIsStoredVerbatim(_ c: StrangeCase) async throws {
        try await TestWarehouse.with { wh in
            let result = try await wh.ingest(c.file, bytes: c.bytes, receivedAt: "2026-03-03T21:00:00+08:00")
            #expect(result.isAccepted, "\(String(describing: result.rejection))")
            #expect(try await wh.strings(PostgresQuery(unsafeSQL: c.query)) == c.expected)
        }
    }

    /// A 200 MB report is rejected before it is parsed: quickly, with a message naming the limit, and
    /// without the process's memory growing by anything like the file's size.
    @Test func a200MBFileIsRejectedBeforeParsing() async throws {
        try await TestWarehouse.with { wh in
            let counts = try await wh.coreCounts()
            let before = try await wh.coreFingerprint()
            let size = 200 << 20
            for name in ["huge.json", "huge_visits.csv"] {
                // A real report's beginning, then a sparse tail (no disk space, still 200 MB to read).
                let head = name.hasSuffix(".json") ? Hostile.head + #", "visits": ["# + Hostile.visit + ", " : Hostile.csv([Hostile.visitRow])
                let path = try wh.write(name, head)
                #expect(truncate(path, off_t(size)) == 0)

                let baseline = residentBytes()
                let sampler = Task.detached { () -> Int in
                    var peak = 0
                    while !Task.isCancelled {
                        peak = max(peak, residentBytes())
                        try? await Task.sleep(for: .milliseconds(2))
                    }
                    return peak
                }
                let clock = ContinuousClock()
                let start = clock.now
                let result = try await wh.ingestor.ingest(path: path, receivedAt: at("2026-03-03T21:00:00+08:00"))
                let elapsed = clock.now - start
                sampler.cancel()
                let peak = await sampler.value

                let rejection = try #require(result.rejection)
                #expect(rejection.issues.count == 1, "\(rejection)")
                let issue = try #require(rejection.issues.first)
                #expect(issue.rule == .fileTooLarge)
                #expect(issue.location == .wholeFile)
                #expect(issue.field == nil)
                #expect(issue.message.contains("\(size) bytes") && issue.message.contains("\(ReadOptions.defaultMaxFileBytes) bytes"), "\(issue)")
                // Reading the file whole would add >= 200 MB; streaming chunks (the checksum) adds ~1 MB.
                #expect(peak - baseline < 64 << 20, "resident memory grew by \(peak - baseline) bytes")
                // Generous for a loaded CI machine; what it measures is that nothing parses 200 MB.
                #expect(elapsed < .seconds(20), "took \(elapsed)")
                print("hostile-input: \(name) of \(size) bytes rejected in \(elapsed), RSS +\((peak - baseline) >> 10) KiB")
            }
            #expect(try await wh.coreCounts() == counts)
            #expect(try await wh.coreFingerprint() == before)
        }
    }
}

extension HostileInputTests {
    /// A named pipe (or a device) handed to ingest is refused from its `stat`, without being opened: opening
    /// a FIFO without a writer would block, and reading one could never end.
    // The limit guards against a hang (reading a pipe never ends); it includes waiting for a database slot.
    @Test(.timeLimit(.minutes(10))) func aPipeIsRejectedWithoutBeingRead() async throws {
        try await TestWarehouse.with { wh in
            let before = try await wh.coreFingerprint()
            let path = FileManager.default.temporaryDirectory.appending(path: "dkpi-fifo-\(getpid())-\(UUID().uuidString.prefix(8)).json").path
            #expect(mkfifo(path, 0o600) == 0)
            defer { unlink(path) }
            let result = try await wh.ingestor.ingest(path: path, receivedAt: at("2026-03-03T21:00:00+08:00"))
            let issue = try #require(result.rejection?.issues.first)
            #expect(issue.rule == .fileTooLarge)
            #expect(issue.message.contains("not a regular file"), "\(issue)")
            #expect(try await wh.coreFingerprint() == before)
        }
    }
}

/// The process's resident set size now (from /proc/self/statm), in bytes.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}
