import CivilCalendar
import DailyReport
import Foundation
import Testing

func readMaster(_ text: String, name: String = "m.csv") -> Result<MasterFile, FileRejected> {
    do {
        return .success(try MasterDataReader.read(bytes: bytes(text), fileName: name))
    } catch {
        return .failure(error)
    }
}

func masterIssues(_ text: String) -> [ValidationIssue] {
    if case .failure(let r) = readMaster(text) { return r.issues }
    return []
}

struct MasterCase: Sendable, CustomTestStringConvertible {
    let text: String
    let line: Int
    let field: String?
    let rule: Rule
    var testDescription: String { text.debugDescription }
}

let masterCases: [MasterCase] = [
    MasterCase(text: "region_code,region_name\nEAST,华东\nEAST,华东2\n", line: 3, field: "region_code", rule: .duplicateKey),
    MasterCase(text: "region_code,region_name\nEA ST,华东\n", line: 2, field: "region_code", rule: .codeFormat),
    MasterCase(text: "region_code,region_name\n\(String(repeating: "A", count: 33)),华东\n", line: 2, field: "region_code", rule: .codeFormat),
    MasterCase(text: "region_code,region_name\nEAST,\n", line: 2, field: "region_name", rule: .required),
    MasterCase(text: "region_code,region_name\nEAST,华\u{1}东\n", line: 2, field: "region_name", rule: .controlCharacter),
    MasterCase(text: "region_code,region_name\nEAST,华东,extra\n", line: 2, field: nil, rule: .raggedRow),
    MasterCase(text: "region_code\nEAST\n", line: 1, field: nil, rule: .fileKind),
    MasterCase(text: "store_code,store_name,opened_on\nS1,店,2020-01-01\n", line: 1, field: "region_code", rule: .missingColumn),
    MasterCase(text: "store_code,store_name,region_code,opened_on\nS1,店,EAST,2020-1-1\n", line: 2, field: "opened_on", rule: .dateFormat),
    MasterCase(text: "store_code,store_name,region_code,opened_on,closed_on\nS1,店,EAST,2020-01-01,2020-01-01\n", line: 2, field: "closed_on", rule: .dateOrder),
    MasterCase(text: "store_code,store_name,region_code,opened_on\nS1,店,EAST,\n", line: 2, field: "opened_on", rule: .required),
    MasterCase(text: "salesperson_code,name,store_code,hired_on,left_on\nP1,王,S1,2020-01-01,2019-12-31\n", line: 2, field: "left_on", rule: .dateOrder),
    MasterCase(text: "salesperson_code,name,store_code,hired_on\nP1,王,S1,2020-01-01\nP1,李,S2,2020-01-01\n", line: 3, field: "salesperson_code", rule: .duplicateKey),
    MasterCase(text: "model_code,model_name\nT77,华驰\nt77,华驰\nT77,x\n", line: 4, field: "model_code", rule: .duplicateKey),
    MasterCase(text: "month,store_code,salesperson_code,kpi,value\n2026-3,S1,,PLAN_DELIVERIES,1\n", line: 2, field: "month", rule: .monthFormat),
    MasterCase(text: "month,store_code,salesperson_code,kpi,value\n2026-13,S1,,PLAN_DELIVERIES,1\n", line: 2, field: "month", rule: .monthFormat),
    MasterCase(text: "month,store_code,salesperson_code,kpi,value\n2026-03,S1,,PLAN_SALES,1\n", line: 2, field: "kpi", rule: .enumValue),
    MasterCase(text: "month,store_code,salesperson_code,kpi,value\n2026-03,S1,,PLAN_REVENUE,1e6\n", line: 2, field: "value", rule: .moneyFormat),
    MasterCase(text: "month,store_code,salesperson_code,kpi,value\n2026-03,S1,,PLAN_REVENUE,\"1,000\"\n", line: 2, field: "value", rule: .moneyFormat),
    MasterCase(text: "month,store_code,salesperson_code,kpi,value\n2026-03,S1,,PLAN_REVENUE,-1\n", line: 2, field: "value", rule: .range),
    MasterCase(text: "month,store_code,salesperson_code,kpi,value\n2026-03,S1,,PLAN_REVENUE,1\n2026-03,S1,P1,PLAN_REVENUE,1\n2026-03,S1,,PLAN_REVENUE,2\n",
               line: 4, field: "kpi", rule: .duplicateKey),
    MasterCase(text: "month,store_code,amount\n2026-03,S1,1.005\n", line: 2, field: "amount", rule: .moneyFormat),
    MasterCase(text: "month,store_code,amount\n2026-03,S1,100\n2026-03,S1,200\n", line: 3, field: "store_code", rule: .duplicateKey),
    MasterCase(text: "month,store_code,amount\n2026-03,S1,\n", line: 2, field: "amount", rule: .required),
]

@Suite("Master data (contract §1)")
struct MasterDataTests {
    @Test(arguments: masterCases)
    func rules(_ c: MasterCase) {
        let issues = masterIssues(c.text)
        #expect(issues.count == 1, "\(issues)")
        #expect(issues.first?.location == .line(c.line))
        #expect(issues.first?.field == c.field)
        #expect(issues.first?.rule == c.rule)
        #expect(issues.first?.file == "m.csv")
    }

    @Test func kindsAndTypedRows() throws {
        let stores = try readMaster("\u{FEFF}region_code,store_name,store_code,brand,city,closed_on,opened_on\r\nEAST,上海店,SH001,x,上海,,2014-03-13\r\nEAST,南京店,NJ001,x,,2026-03-06,2017-04-02\r\n").get()
        guard case .stores(let s) = stores.rows else { Issue.record("not stores"); return }
        #expect(s.map(\.code) == ["SH001", "NJ001"])
        #expect(s[0].city == "上海")
        #expect(s[1].city == nil)
        #expect(s[1].closedOn == day("2026-03-06"))
        #expect(s[1].line == 3)

        let plans = try readMaster("month,store_code,salesperson_code,kpi,value\n2026-03,SH001,,PLAN_REVENUE,186000.00\n2026-03,SH001,SH001-S01,PLAN_DELIVERIES,1\n合计,,,,186001\n").get()
        guard case .plans(let p) = plans.rows else { Issue.record("not plans"); return }
        #expect(p.count == 2)
        #expect(p[0].month == YearMonth(year: 2026, month: 3))
        #expect(p[0].salespersonCode == nil)
        #expect(p[0].value == Decimal(string: "186000"))
        #expect(p[1].salespersonCode == "SH001-S01")
        #expect(p[1].kpi == .planDeliveries)

        let expenses = try readMaster("month,store_code,amount\n2026-03,SH001,54249.72\n").get()
        guard case .expenses(let e) = expenses.rows else { Issue.record("not expenses"); return }
        #expect(e.first?.amount == Decimal(string: "54249.72"))
        #expect(expenses.kind == .expenses)

        #expect(try readMaster("model_code,model_name,segment,guide_price\nT77,华驰 T77,,159800.00\n").get().kind == .models)
        #expect(try readMaster("salesperson_code,name,store_code,hired_on,left_on,title\nP1,王,S1,2020-01-01,,x\n").get().kind == .salespeople)
        #expect(try readMaster("region_code,region_name\nEAST,华东\n").get().kind == .regions)
    }

    @Test func gb18030MasterData() throws {
        let f = try MasterDataReader.read(bytes: encodeGB18030("region_code,region_name\nEAST,华东大区\n"), fileName: "r.csv")
        #expect(f.encoding == .gb18030)
        guard case .regions(let r) = f.rows else { Issue.record("not regions"); return }
        #expect(r.first?.name == "华东大区")
    }

    @Test func yearMonth() {
        #expect(YearMonth(string: "2026-03")?.description == "2026-03")
        #expect(YearMonth(string: "2026-03")?.lastDay == day("2026-03-31"))
        #expect(YearMonth(string: "2024-02")?.lastDay == day("2024-02-29"))
        #expect(YearMonth(string: "2026-00") == nil)
        #expect(YearMonth(string: "26-03") == nil)
        #expect(YearMonth(string: "2026-03-01") == nil)
    }

    @Test func loadOrder() {
        #expect(MasterFileKind.allCases.sorted { $0.loadOrder < $1.loadOrder } == [.regions, .stores, .salespeople, .models, .plans, .expenses])
    }
}
