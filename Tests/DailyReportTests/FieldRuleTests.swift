import CivilCalendar
import DailyReport
import Foundation
import Testing

/// One field-rule case: a change to a valid record and the issue it must cause, in JSON and CSV form
/// (nil: that form accepts the change).
struct FieldCase: Sendable, CustomTestStringConvertible {
    let kind: SectionKind
    let changes: [(String, J)]
    let field: String
    let json: Rule?
    let csv: Rule?
    /// The value the issue must report, when checked ("" = nil expected).
    let value: String?

    init(_ kind: SectionKind, _ changes: [(String, J)], _ field: String, _ rule: Rule?, csv: Rule?? = nil, value: String? = nil) {
        self.kind = kind
        self.changes = changes
        self.field = field
        self.json = rule
        self.csv = csv ?? rule
        self.value = value
    }

    var testDescription: String {
        "\(kind.rawValue) \(changes.map { "\($0.0)=\($0.1)" }.joined(separator: " ")) → \(json?.rawValue ?? "ok")/\(csv?.rawValue ?? "ok")"
    }
}

let long65 = String(repeating: "x", count: 65)
let long64 = String(repeating: "好", count: 64)

let fieldCases: [FieldCase] = [
    // visits
    FieldCase(.visits, [("id", .absent)], "id", .required),
    FieldCase(.visits, [("id", .s(""))], "id", .required),
    FieldCase(.visits, [("id", .s("   "))], "id", .required),
    FieldCase(.visits, [("id", .s(long65))], "id", .idLength, value: long65),
    FieldCase(.visits, [("id", .s(long64))], "id", nil),
    FieldCase(.visits, [("id", .s("V\t1"))], "id", nil),
    FieldCase(.visits, [("id", .raw("1"))], "id", .jsonType, csv: .some(nil)),
    FieldCase(.visits, [("channel", .s("walkin"))], "channel", .enumValue, value: "walkin"),
    FieldCase(.visits, [("channel", .s("Walk_In"))], "channel", .enumValue),
    FieldCase(.visits, [("channel", .absent)], "channel", .required),
    FieldCase(.visits, [("purpose", .s("buy"))], "purpose", .enumValue),
    FieldCase(.visits, [("purpose", .null)], "purpose", .required),
    FieldCase(.visits, [("salesperson", .s("SH001-S99"))], "salesperson", .unknownSalesperson, value: "SH001-S99"),
    FieldCase(.visits, [("salesperson", .s("bad code!"))], "salesperson", .codeFormat),
    FieldCase(.visits, [("salesperson", .null)], "salesperson", .required),
    FieldCase(.visits, [("model", .s("Z99"))], "model", .unknownModel, value: "Z99"),
    FieldCase(.visits, [("model", .null)], "model", nil),
    FieldCase(.visits, [("model", .absent)], "model", nil),
    FieldCase(.visits, [("party_size", .raw("0"))], "party_size", .range),
    FieldCase(.visits, [("party_size", .raw("-2"))], "party_size", .range),
    FieldCase(.visits, [("party_size", .raw("1.5"))], "party_size", .integerFormat),
    FieldCase(.visits, [("party_size", .raw("3.0"))], "party_size", .integerFormat),
    FieldCase(.visits, [("party_size", .raw("1e30"))], "party_size", .integerFormat, value: "1e30"),
    FieldCase(.visits, [("party_size", .raw("99999999999999999999"))], "party_size", .range, value: "99999999999999999999"),
    FieldCase(.visits, [("party_size", .raw("2147483648"))], "party_size", .range),
    FieldCase(.visits, [("party_size", .raw("2147483647"))], "party_size", nil),
    FieldCase(.visits, [("party_size", .s("three"))], "party_size", .jsonType, csv: .integerFormat),
    FieldCase(.visits, [("party_size", .s("3"))], "party_size", .jsonType, csv: .some(nil)),
    FieldCase(.visits, [("party_size", .raw("[3]"))], "party_size", .jsonType, csv: .integerFormat),
    FieldCase(.visits, [("existing_order", .s("maybe"))], "existing_order", .jsonType, csv: .booleanFormat),
    FieldCase(.visits, [("existing_order", .s("true"))], "existing_order", .jsonType, csv: .some(nil)),
    FieldCase(.visits, [("test_drive", .raw("1"))], "test_drive", .jsonType, csv: .some(nil)),
    FieldCase(.visits, [("existing_card", .s(long65))], "existing_card", .idLength),
    FieldCase(.visits, [("new_card", .s(long65))], "new_card", .idLength),
    FieldCase(.visits, [("new_card", .s("A\u{0}1"))], "new_card", .controlCharacter, value: "A\\u{0}1"),
    FieldCase(.visits, [("id", .s("V\u{1b}1"))], "id", .controlCharacter),

    // prospects
    FieldCase(.prospects, [("card", .absent)], "card", .required),
    FieldCase(.prospects, [("card", .s(long65))], "card", .idLength),
    FieldCase(.prospects, [("created_on", .s("2026/03/05"))], "created_on", .dateFormat, value: "2026/03/05"),
    FieldCase(.prospects, [("created_on", .s("2026-02-30"))], "created_on", .dateFormat),
    FieldCase(.prospects, [("created_on", .s("2026-3-5"))], "created_on", .dateFormat),
    FieldCase(.prospects, [("created_on", .absent)], "created_on", .required),
    FieldCase(.prospects, [("created_on", .s("2026-03-06"))], "created_on", .dateOrder, value: "2026-03-06"),
    FieldCase(.prospects, [("salesperson", .s("X1"))], "salesperson", .unknownSalesperson),
    FieldCase(.prospects, [("model", .s("Z99"))], "model", .unknownModel),
    FieldCase(.prospects, [("model", .null)], "model", nil),
    FieldCase(.prospects, [("level", .s("X"))], "level", .enumValue),
    FieldCase(.prospects, [("level", .s("h"))], "level", .enumValue),
    FieldCase(.prospects, [("source", .s("web"))], "source", .enumValue),
    FieldCase(.prospects, [("status", .s("closed"))], "status", .enumValue),
    FieldCase(.prospects, [("status", .s("ordered"))], "closed_on", .required),
    FieldCase(.prospects, [("status", .s("lost")), ("closed_on", .s("2026-03-05"))], "closed_on", nil),
    FieldCase(.prospects, [("status", .s("lost")), ("created_on", .s("2026-03-05")), ("closed_on", .s("2026-03-04"))], "closed_on", .dateOrder),
    FieldCase(.prospects, [("status", .s("lost")), ("closed_on", .s("2026-03-06"))], "closed_on", .dateOrder),
    FieldCase(.prospects, [("status", .s("open")), ("closed_on", .s("2026-03-05"))], "closed_on", .notAllowed),
    FieldCase(.prospects, [("closed_on", .s("yesterday")), ("status", .s("ordered"))], "closed_on", .dateFormat),
    FieldCase(.prospects, [("customer_name", .s("张\u{1}伟"))], "customer_name", .controlCharacter, value: "张*"),
    FieldCase(.prospects, [("phone", .s("139\u{7}12345678"))], "phone", .controlCharacter, value: ""),
    FieldCase(.prospects, [("lost_reason", .s("价格高\n竞品便宜"))], "lost_reason", .controlCharacter),
    FieldCase(.prospects, [("customer_name", .null), ("phone", .null)], "customer_name", nil),
    FieldCase(.prospects, [("customer_name", .raw("123"))], "customer_name", .jsonType, csv: .some(nil), value: "1*"),
    FieldCase(.prospects, [("phone", .raw("13912345678"))], "phone", .jsonType, csv: .some(nil), value: ""),

    // sales
    FieldCase(.sales, [("order", .absent)], "order", .required),
    FieldCase(.sales, [("order", .s(long65))], "order", .idLength),
    FieldCase(.sales, [("card", .s(long65))], "card", .idLength),
    FieldCase(.sales, [("card", .null)], "card", nil),
    FieldCase(.sales, [("model", .null)], "model", .required),
    FieldCase(.sales, [("model", .s("Z99"))], "model", .unknownModel),
    FieldCase(.sales, [("salesperson", .s("NOPE"))], "salesperson", .unknownSalesperson, value: "NOPE"),
    FieldCase(.sales, [("order_date", .s("2026-03-06")), ("status", .s("ordered")), ("delivery_date", .null), ("vin", .null)], "order_date", .dateOrder),
    FieldCase(.sales, [("order_date", .absent)], "order_date", .required),
    FieldCase(.sales, [("status", .s("shipped"))], "status", .enumValue),
    FieldCase(.sales, [("delivery_date", .null)], "delivery_date", .required),
    FieldCase(.sales, [("vin", .null)], "vin", .required),
    FieldCase(.sales, [("vin", .s("LFV2A21K8G300000I"))], "vin", .vinFormat, value: "LFV2A21K8G300000I"),
    FieldCase(.sales, [("vin", .s("LFV2A21K8G300000O"))], "vin", .vinFormat),
    FieldCase(.sales, [("vin", .s("LFV2A21K8G300000Q"))], "vin", .vinFormat),
    FieldCase(.sales, [("vin", .s("lfv2a21k8g3000001"))], "vin", .vinFormat),
    FieldCase(.sales, [("vin", .s("LFV2A21K8G300000"))], "vin", .vinFormat),
    FieldCase(.sales, [("vin", .s("LFV2A21K8G30000012"))], "vin", .vinFormat),
    FieldCase(.sales, [("status", .s("ordered")), ("delivery_date", .null), ("vin", .s("ABC"))], "vin", .vinFormat),
    FieldCase(.sales, [("status", .s("ordered")), ("delivery_date", .null)], "vin", nil),
    FieldCase(.sales, [("status", .s("ordered")), ("delivery_date", .null), ("vin", .null)], "vin", nil),
    FieldCase(.sales, [("delivery_date", .s("2026-02-28"))], "delivery_date", .dateOrder),
    FieldCase(.sales, [("delivery_date", .s("2026-03-06"))], "delivery_date", .dateOrder),
    FieldCase(.sales, [("status", .s("ordered"))], "delivery_date", .notAllowed),
    FieldCase(.sales, [("status", .s("cancelled")), ("delivery_date", .null)], "cancel_date", .required),
    FieldCase(.sales, [("status", .s("cancelled")), ("delivery_date", .null), ("cancel_date", .s("2026-03-03"))], "cancel_date", nil),
    FieldCase(.sales, [("status", .s("cancelled")), ("delivery_date", .null), ("cancel_date", .s("2026-02-27"))], "cancel_date", .dateOrder),
    FieldCase(.sales, [("status", .s("cancelled")), ("delivery_date", .null), ("cancel_date", .s("2026-03-06"))], "cancel_date", .dateOrder),
    FieldCase(.sales, [("cancel_date", .s("2026-03-04"))], "cancel_date", .notAllowed),
    FieldCase(.sales, [("deal_price", .raw("0"))], "deal_price", .range),
    FieldCase(.sales, [("deal_price", .raw("0.00"))], "deal_price", .range),
    FieldCase(.sales, [("deal_price", .raw("-5"))], "deal_price", .range),
    FieldCase(.sales, [("deal_price", .absent)], "deal_price", .required),
    FieldCase(.sales, [("deal_price", .s("1,000"))], "deal_price", .jsonType, csv: .moneyFormat),
    FieldCase(.sales, [("deal_price", .s("¥100"))], "deal_price", .jsonType, csv: .moneyFormat),
    FieldCase(.sales, [("deal_price", .s("+100"))], "deal_price", .jsonType, csv: .moneyFormat),
    FieldCase(.sales, [("deal_price", .s("100."))], "deal_price", .jsonType, csv: .moneyFormat),
    FieldCase(.sales, [("deal_price", .s(".5"))], "deal_price", .jsonType, csv: .moneyFormat),
    FieldCase(.sales, [("deal_price", .raw("1.234"))], "deal_price", .moneyFormat, value: "1.234"),
    FieldCase(.sales, [("deal_price", .raw("1e5"))], "deal_price", .moneyFormat),
    FieldCase(.sales, [("deal_price", .raw("152000.5"))], "deal_price", nil),
    FieldCase(.sales, [("deal_price", .raw("12345678901234"))], "deal_price", .range),
    FieldCase(.sales, [("deal_price", .raw("1234567890123.99"))], "deal_price", nil),
    FieldCase(.sales, [("deal_price", .raw("true"))], "deal_price", .jsonType, csv: .moneyFormat),
    FieldCase(.sales, [("list_price", .raw("-1"))], "list_price", .range),
    FieldCase(.sales, [("list_price", .raw("0"))], "list_price", nil),
    FieldCase(.sales, [("list_price", .null)], "list_price", nil),
    FieldCase(.sales, [("collected", .raw("-0.01"))], "collected", .range),
    FieldCase(.sales, [("collected", .null)], "collected", nil),
]

@Suite("Field rules (contract §3), JSON and CSV form")
struct FieldRuleTests {
    @Test(arguments: fieldCases)
    func jsonForm(_ c: FieldCase) {
        let name = "reports/SH001_20260305.json"
        let outcome = readReport(jsonReport(c.kind, [applying(base(c.kind), c.changes)]), name: name)
        guard let rule = c.json else {
            #expect(outcome.issues.isEmpty, "\(outcome.issues)")
            return
        }
        let issue = expectSingleIssue(outcome, file: name, location: .jsonPath("$.\(c.kind.rawValue)[0].\(c.field)"),
                                      field: c.field, rule: rule)
        if let v = c.value { #expect(issue?.value == (v.isEmpty ? nil : v)) }
    }

    @Test(arguments: fieldCases)
    func csvForm(_ c: FieldCase) {
        let name = "csv/EAST_\(c.kind.rawValue).csv"
        let outcome = readReport(csvFile(c.kind, [applying(base(c.kind), c.changes)]), name: name)
        guard let rule = c.csv else {
            #expect(outcome.issues.isEmpty, "\(outcome.issues)")
            return
        }
        let issue = expectSingleIssue(outcome, file: name, location: .line(2), field: csvName(c.field), rule: rule)
        if let v = c.value, rule != .jsonType { #expect(issue?.value == (v.isEmpty ? nil : v)) }
    }

    @Test func defaultsAndTypedValues() throws {
        let visit = applying(baseVisit, [("party_size", .absent), ("existing_order", .null), ("test_drive", .absent)])
        let sale = applying(baseSale, [("collected", .null), ("list_price", .absent), ("deal_price", .raw("258888.88"))])
        let json = readReport(jsonReport(.visits, [visit]), name: "v.json").file?.reports.first?.visits?.first
        #expect(json?.partySize == 1)
        #expect(json?.existingOrder == false)
        #expect(json?.testDrive == false)
        let csv = readReport(csvFile(.visits, [visit]), name: "v.csv").file?.reports.first?.visits?.first
        #expect(csv?.partySize == 1)
        #expect(csv?.existingOrder == false)
        #expect(csv?.testDrive == false)
        #expect(csv?.origin == RecordOrigin(file: "v.csv", location: .line(2)))
        #expect(json?.origin == RecordOrigin(file: "v.json", location: .jsonPath("$.visits[0]")))

        let s = try #require(readReport(jsonReport(.sales, [sale]), name: "s.json").file?.reports.first?.sales?.first)
        #expect(s.collected == 0)
        #expect(s.listPrice == nil)
        #expect(s.dealPrice == Decimal(string: "258888.88"))
        #expect("\(s.dealPrice)" == "258888.88")
        let s2 = try #require(readReport(csvFile(.sales, [sale]), name: "s.csv").file?.reports.first?.sales?.first)
        #expect(s2.dealPrice == s.dealPrice)
    }

    @Test(arguments: [("true", true), ("false", false), ("TRUE", true), ("FALSE", false), ("True", true), ("1", true),
                      ("0", false), ("是", true), ("否", false), ("Y", true), ("N", false), ("y", true), ("n", false), ("", false)])
    func csvBooleans(_ cell: String, _ expected: Bool) {
        let csv = """
        store,business_date,visit_id,channel,purpose,salesperson,test_drive,existing_order
        SH001,2026-03-05,V1,walk_in,purchase,SH001-S01,\(cell),\(cell)
        """
        let v = readReport(csv, name: "b.csv").file?.reports.first?.visits?.first
        #expect(v?.testDrive == expected)
        #expect(v?.existingOrder == expected)
    }

    @Test func formulaAndSQLLookingStringsAreText() throws {
        let formula = "=cmd|' /C calc'!A0"
        let sql = "Robert'); DROP TABLE prospects;--"
        let p = applying(baseProspect, [("customer_name", .s(sql)), ("lost_reason", .s(formula)), ("card", .s("=1+1"))])
        for outcome in [readReport(jsonReport(.prospects, [p]), name: "p.json"), readReport(csvFile(.prospects, [p]), name: "p.csv")] {
            let r = try #require(outcome.file?.reports.first?.prospects?.first, "\(outcome.issues)")
            #expect(r.customerName == sql)
            #expect(r.lostReason == formula)
            #expect(r.card == "=1+1")
        }
    }

    @Test func cellsAndStringsAreTrimmed() throws {
        let csv = "store , business_date,visit_id,channel,purpose,salesperson\n SH001 ,2026-03-05,\u{3000}V1\u{a0}, walk_in ,purchase\t,SH001-S01\n"
        let v = try #require(readReport(csv, name: "t.csv").file?.reports.first?.visits?.first)
        #expect(v.id == "V1")
        #expect(v.channel == .walkIn)
        let json = jsonReport(.visits, [applying(baseVisit, [("id", .s("  V1 ")), ("channel", .s(" walk_in"))])], store: " SH001 ")
        let j = try #require(readReport(json, name: "t.json").file?.reports.first)
        #expect(j.store == "SH001")
        #expect(j.visits?.first?.id == "V1")
    }
}

@Suite("Uniqueness rules")
struct UniquenessTests {
    @Test func jsonDuplicates() {
        let v = readReport(jsonReport(.visits, [baseVisit, applying(baseVisit, [("id", .s("V2"))]), baseVisit]), name: "r.json")
        expectSingleIssue(v, file: "r.json", location: .jsonPath("$.visits[2].id"), field: "id", rule: .duplicateId)
        let p = readReport(jsonReport(.prospects, [baseProspect, baseProspect]), name: "r.json")
        expectSingleIssue(p, file: "r.json", location: .jsonPath("$.prospects[1].card"), field: "card", rule: .duplicateId)
        let s = readReport(jsonReport(.sales, [baseSale, applying(baseSale, [("vin", .s("LFV2A21K8G3000002"))])]), name: "r.json")
        expectSingleIssue(s, file: "r.json", location: .jsonPath("$.sales[1].order"), field: "order", rule: .duplicateId)
        let vin = readReport(jsonReport(.sales, [baseSale, applying(baseSale, [("order", .s("O2"))])]), name: "r.json")
        expectSingleIssue(vin, file: "r.json", location: .jsonPath("$.sales[1].vin"), field: "vin", rule: .duplicateId)
    }

    @Test func csvVisitIdIsUniquePerStoreDay() {
        let ok = """
        store,business_date,visit_id,channel,purpose,salesperson
        SH001,2026-03-05,V1,walk_in,purchase,SH001-S01
        SH001,2026-03-04,V1,walk_in,purchase,SH001-S01
        HZ001,2026-03-05,V1,walk_in,purchase,HZ001-S01
        """
        #expect(readReport(ok, name: "v.csv").issues.isEmpty)
        let bad = ok + "\nSH001,2026-03-04,V1,phone,purchase,SH001-S01\n"
        expectSingleIssue(readReport(bad, name: "v.csv"), file: "v.csv", location: .line(5), field: "visit_id", rule: .duplicateId)
    }

    @Test func csvCardAndOrderAreUniquePerStoreDayVinPerOrder() {
        let header = "store,business_date,card,created_on,salesperson,customer_name,level,source,status\n"
        // The same card on two days of a multi-day file is its state on each day: legal.
        let cards = header + """
        SH001,2026-03-04,A1,2026-03-04,SH001-S01,张伟,H,walk_in,open
        HZ001,2026-03-05,A1,2026-03-05,HZ001-S01,张伟,H,walk_in,open
        SH001,2026-03-05,A1,2026-03-04,SH001-S01,张伟,A,walk_in,open
        """
        #expect(readReport(cards, name: "p.csv").issues.isEmpty)
        let twice = cards + "\nSH001,2026-03-05,A1,2026-03-04,SH001-S01,张伟,B,walk_in,open\n"
        expectSingleIssue(readReport(twice, name: "p.csv"), file: "p.csv", location: .line(5), field: "card", rule: .duplicateId)

        let sh = "store,business_date,order,salesperson,model,order_date,status,vin,deal_price\n"
        let orders = sh + """
        SH001,2026-03-05,O1,SH001-S01,T77,2026-03-05,ordered,,100
        HZ001,2026-03-05,O1,HZ001-S01,T77,2026-03-05,ordered,,100
        SH001,2026-03-04,O1,SH001-S01,T77,2026-03-04,ordered,,100
        """
        #expect(readReport(orders, name: "s.csv").issues.isEmpty)
        let orderTwice = orders + "\nSH001,2026-03-05,O1,SH001-S01,T77,2026-03-05,ordered,,120\n"
        expectSingleIssue(readReport(orderTwice, name: "s.csv"), file: "s.csv", location: .line(5), field: "order", rule: .duplicateId)
        let vins = sh + """
        SH001,2026-03-04,O1,SH001-S01,T77,2026-03-04,ordered,LFV2A21K8G3000001,100
        SH001,2026-03-05,O1,SH001-S01,T77,2026-03-04,ordered,LFV2A21K8G3000001,100
        HZ001,2026-03-05,O2,HZ001-S01,T77,2026-03-05,ordered,LFV2A21K8G3000001,100
        """
        expectSingleIssue(readReport(vins, name: "s.csv"), file: "s.csv", location: .line(4), field: "vin", rule: .duplicateId)
    }
}

@Suite("Reference rules")
struct ReferenceRuleTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let store: String
        let date: String
        let field: String
        let rule: Rule?
        var testDescription: String { "\(store) \(date) → \(rule?.rawValue ?? "ok")" }
    }

    static let cases: [Case] = [
        Case(store: "SH001", date: "2026-03-05", field: "store", rule: nil),
        Case(store: "XX001", date: "2026-03-05", field: "store", rule: .unknownStore),
        Case(store: "sh001", date: "2026-03-05", field: "store", rule: .unknownStore),
        Case(store: "SH 001", date: "2026-03-05", field: "store", rule: .codeFormat),
        Case(store: "HZ001", date: "2026-03-03", field: "store", rule: .storeNotOpen),
        Case(store: "HZ001", date: "2026-03-04", field: "store", rule: nil),
        Case(store: "NJ001", date: "2026-03-05", field: "store", rule: nil),
        Case(store: "NJ001", date: "2026-03-06", field: "store", rule: .storeNotOpen),
        Case(store: "SH001", date: "2026-03-07", field: "business_date", rule: nil),
        Case(store: "SH001", date: "2026-03-08", field: "business_date", rule: .businessDateAfterReceipt),
        Case(store: "SH001", date: "2026-3-8", field: "business_date", rule: .dateFormat),
        Case(store: "", date: "2026-03-05", field: "store", rule: .required),
    ]

    /// A visit with salesperson and model codes every store knows.
    static let visit = applying(baseVisit, [("salesperson", .s("SH001-S01"))])

    @Test(arguments: cases)
    func json(_ c: Case) {
        let outcome = readReport(jsonReport(.visits, [Self.visit], store: c.store, date: c.date), name: "r.json")
        guard let rule = c.rule else { #expect(outcome.issues.isEmpty, "\(outcome.issues)"); return }
        let issue = expectSingleIssue(outcome, file: "r.json", location: .jsonPath("$.\(c.field)"), field: c.field, rule: rule)
        if rule == .unknownStore { #expect(issue?.message.contains(c.store) == true) }
    }

    @Test(arguments: cases)
    func csv(_ c: Case) {
        // Two rows of the same store-day: a store-level problem is reported once, at its first row.
        let outcome = readReport(csvFile(.visits, [Self.visit, applying(Self.visit, [("id", .s("V2"))])], store: c.store, date: c.date), name: "v.csv")
        guard let rule = c.rule else { #expect(outcome.issues.isEmpty, "\(outcome.issues)"); return }
        if rule == .required || rule == .codeFormat || rule == .dateFormat {
            #expect(outcome.issues.map(\.location) == [.line(2), .line(3)])
            #expect(outcome.issues.allSatisfy { $0.rule == rule && $0.field == c.field })
        } else {
            expectSingleIssue(outcome, file: "v.csv", location: .line(2), field: c.field, rule: rule)
        }
    }

    @Test func unknownSalespersonMessageNamesTheCode() {
        let outcome = readReport(jsonReport(.visits, [applying(baseVisit, [("salesperson", .s("JL001-S09"))])]), name: "r.json")
        let issue = expectSingleIssue(outcome, file: "r.json", location: .jsonPath("$.visits[0].salesperson"), field: "salesperson",
                                      rule: .unknownSalesperson)
        #expect(issue?.message.contains("JL001-S09") == true)
        #expect(issue?.value == "JL001-S09")
    }

    @Test func withoutReferenceDataOnlyContextFreeRulesApply() {
        let outcome = readReport(jsonReport(.visits, [applying(baseVisit, [("salesperson", .s("ANY-ONE"))])], store: "ZZ9", date: "2030-01-01"),
                                 name: "r.json", reference: nil)
        #expect(outcome.issues.isEmpty)
    }
}
