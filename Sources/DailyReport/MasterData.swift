public import CivilCalendar
public import Foundation

// Master data and monthly inputs (contract §1). All types are value types, `Sendable`, thread-safe.

/// The kind of a master-data or monthly-input CSV file, detected from its header.
public enum MasterFileKind: String, Sendable, Hashable, CaseIterable {
    case regions, stores, salespeople, models, plans, expenses
    /// Calendar exceptions (contract 1.1): public holidays and make-up working days (`date,kind,name_zh`).
    case calendar

    /// The kinds of HQ's master-data set, which every corpus carries (the demo loads `master/<kind>.csv` for
    /// each). The calendar exceptions file (contract 1.1) is optional and not one of them: see `allKinds`.
    public static var allCases: [MasterFileKind] { [.regions, .stores, .salespeople, .models, .plans, .expenses] }

    /// Every kind `dealer-kpi load` accepts, the calendar exceptions included.
    public static var allKinds: [MasterFileKind] { allCases + [.calendar] }

    /// The order in which files of one `load` call are applied (contract §5). The calendar refers to nothing
    /// and nothing refers to it: it comes last.
    public var loadOrder: Int {
        switch self {
        case .regions: return 0
        case .stores: return 1
        case .salespeople: return 2
        case .models: return 3
        case .plans: return 4
        case .expenses: return 5
        case .calendar: return 6
        }
    }
}

/// A row of a regions file (`region_code`, `region_name`).
public struct RegionRow: Hashable, Sendable {
    public var code: String
    public var name: String
    /// The CSV line (header = 1).
    public var line: Int
}

/// A row of a stores file. A store is open on day d when `openedOn <= d < closedOn`.
public struct StoreRow: Hashable, Sendable {
    public var code: String
    public var name: String
    public var regionCode: String
    public var city: String?
    /// First day open.
    public var openedOn: CalendarDate
    /// First day closed (exclusive), or nil.
    public var closedOn: CalendarDate?
    public var line: Int
}

/// A row of a salespeople file. Employed on day d when `hiredOn <= d < leftOn`.
public struct SalespersonRow: Hashable, Sendable {
    public var code: String
    /// The salesperson's name (an employee, not customer PII).
    public var name: String
    /// The current store.
    public var storeCode: String
    /// First day employed.
    public var hiredOn: CalendarDate
    /// First day gone (exclusive), or nil.
    public var leftOn: CalendarDate?
    public var line: Int
}

/// A row of a models file.
public struct ModelRow: Hashable, Sendable {
    public var code: String
    public var name: String
    public var segment: String?
    public var line: Int
}

/// The plan KPIs a plans file may set.
public enum PlanKPI: String, Sendable, Hashable, CaseIterable {
    case planDeliveries = "PLAN_DELIVERIES"
    case planRevenue = "PLAN_REVENUE"
    case planNewACards = "PLAN_NEW_A_CARDS"
    case expenseBudget = "EXPENSE_BUDGET"
}

/// A row of a monthly plans file. A store's plan for a KPI is its own row where there is one, else the
/// sum of its salespeople's rows (applied by the warehouse, not here).
public struct PlanRow: Hashable, Sendable {
    public var month: YearMonth
    public var storeCode: String
    /// nil: the store's own plan.
    public var salespersonCode: String?
    public var kpi: PlanKPI
    /// A count or an amount in CNY, exact (>= 0, at most 2 decimals).
    public var value: Decimal
    public var line: Int
}

/// A row of a monthly expenses file (actual expense per store and month).
public struct ExpenseRow: Hashable, Sendable {
    public var month: YearMonth
    public var storeCode: String
    /// Actual expense in CNY, exact (>= 0, at most 2 decimals).
    public var amount: Decimal
    public var line: Int
}

/// The kind of a calendar exception (contract 1.1).
public enum CalendarExceptionKind: String, Sendable, Hashable, CaseIterable {
    /// A public holiday or bridge day off (not a working day, also on a weekday).
    case holiday
    /// A weekend day that is a working day (调休上班).
    case workday
}

/// A row of a calendar exceptions file (`date`, `kind`, `name_zh`). A date not listed is a working day
/// Monday to Friday and a weekend day otherwise; re-loading replaces the listed dates.
public struct CalendarExceptionRow: Hashable, Sendable {
    public var date: CalendarDate
    public var kind: CalendarExceptionKind
    /// The holiday's name, e.g. 国庆节, or the make-up day's, e.g. 国庆节调休上班.
    public var nameZh: String?
    public var line: Int

    public init(date: CalendarDate, kind: CalendarExceptionKind, nameZh: String?, line: Int) {
        self.date = date
        self.kind = kind
        self.nameZh = nameZh
        self.line = line
    }
}

/// The typed rows of one master-data file.
public enum MasterRows: Hashable, Sendable {
    case regions([RegionRow])
    case stores([StoreRow])
    case salespeople([SalespersonRow])
    case models([ModelRow])
    case plans([PlanRow])
    case expenses([ExpenseRow])
    case calendar([CalendarExceptionRow])

    public var kind: MasterFileKind {
        switch self {
        case .regions: return .regions
        case .stores: return .stores
        case .salespeople: return .salespeople
        case .models: return .models
        case .plans: return .plans
        case .expenses: return .expenses
        case .calendar: return .calendar
        }
    }
}

/// An accepted master-data file.
public struct MasterFile: Hashable, Sendable {
    public var file: String
    public var encoding: TextEncoding
    public var rows: MasterRows
    public var kind: MasterFileKind { rows.kind }
}

/// Reads master-data and monthly-input CSV files (contract §1).
///
/// The CSV reading rules are those of report CSV files: UTF-8 with or without BOM, GB18030 when not
/// valid UTF-8 (an extension: Excel on Chinese Windows writes it for master data too), header required,
/// columns in any order, extra columns ignored, names and cells trimmed, entirely empty rows and a trailing
/// total row (`合计`, `总计`, `Total`) skipped, ragged rows rejected.
///
/// Checked: required columns and values; codes `[A-Za-z0-9_-]{1,32}` (case-sensitive); dates
/// `YYYY-MM-DD`; months `YYYY-MM`; `closed_on` after `opened_on` and `left_on` after `hired_on`
/// (`date_order`); plan `kpi` one of the four codes; calendar `kind` `holiday` or `workday` (`enum_value`), a
/// `workday` only on a Saturday or Sunday (`range`: a weekday is a working day already); plan values and expense amounts decimal with at most
/// 2 decimals and >= 0; no control characters; one row per key within a file (`duplicate_key`: region,
/// store, salesperson, model code; plans (month, store, salesperson, kpi); expenses (month, store); calendar date).
/// Not checked here: references between files (a store's region, a salesperson's store), which need the
/// stored master data and are the loader's job.
///
/// Stateless; may be called concurrently from any thread.
public enum MasterDataReader {
    /// Reads a master-data file from disk.
    /// - Throws: `FileRejected` with every issue found (capped by `options.maxIssues`).
    public static func read(path: String, fileName: String? = nil, options: ReadOptions = ReadOptions()) throws(FileRejected) -> MasterFile {
        let name = fileName ?? path
        try ReportReader.rejectIfTooLarge(size: ChunkedFile.size(path: path), fileName: name, options: options)
        let bytes: [UInt8]
        do {
            bytes = try ChunkedFile.readAll(path: path, limit: options.maxFileBytes)
        } catch {
            let issues = IssueCollector(file: name, limit: options.maxIssues)
            if let tooLarge = error as? ChunkedFile.TooLarge {
                issues.add(.wholeFile, field: nil, value: nil, rule: .fileTooLarge, tooLarge.message)
            } else {
                issues.add(.wholeFile, field: nil, value: nil, rule: .io, (error as? ChunkedFile.Failure)?.message ?? "cannot read file")
            }
            throw issues.rejection()!
        }
        return try read(bytes: bytes, fileName: name, options: options)
    }

    /// Reads a master-data file held in memory.
    /// - Throws: `FileRejected` with every issue found (capped by `options.maxIssues`).
    public static func read(bytes: [UInt8], fileName: String, options: ReadOptions = ReadOptions()) throws(FileRejected) -> MasterFile {
        try ReportReader.rejectIfTooLarge(size: bytes.count, fileName: fileName, options: options)
        let issues = IssueCollector(file: fileName, limit: options.maxIssues)
        guard let (utf8, encoding) = InputDecoder.decode(bytes, allowGB18030: true, collector: issues) else {
            throw issues.rejection()!
        }
        var rows: [CSVRow] = []
        var tokenizer = CSVTokenizer()
        utf8.withUnsafeBufferPointer { buf in tokenizer.consume(buf) { rows.append($0) } }
        tokenizer.finish { rows.append($0) }
        let result = MasterTable(file: fileName, issues: issues).read(rows)
        if let r = issues.rejection() { throw r }
        return MasterFile(file: fileName, encoding: encoding, rows: result!)
    }

    /// The kind a header names, or nil: `kpi` → plans; `amount` → expenses; `date` and `kind` → calendar;
    /// `salesperson_code` → salespeople; `store_name` → stores; `model_code` → models; `region_name` → regions.
    public static func detectKind(_ header: [String]) -> MasterFileKind? {
        let s = Set(header)
        if s.contains("kpi") { return .plans }
        if s.contains("amount") { return .expenses }
        if s.contains("kind") && s.contains("date") { return .calendar }
        if s.contains("salesperson_code") { return .salespeople }
        if s.contains("store_name") { return .stores }
        if s.contains("model_code") { return .models }
        if s.contains("region_name") { return .regions }
        return nil
    }

    static func columns(of kind: MasterFileKind) -> [(name: String, required: Bool)] {
        switch kind {
        case .regions: return [("region_code", true), ("region_name", true)]
        case .stores: return [("store_code", true), ("store_name", true), ("region_code", true), ("city", false),
                              ("opened_on", true), ("closed_on", false)]
        case .salespeople: return [("salesperson_code", true), ("name", true), ("store_code", true), ("hired_on", true),
                                   ("left_on", false)]
        case .models: return [("model_code", true), ("model_name", true), ("segment", false)]
        case .plans: return [("month", true), ("store_code", true), ("salesperson_code", false), ("kpi", true), ("value", true)]
        case .expenses: return [("month", true), ("store_code", true), ("amount", true)]
        case .calendar: return [("date", true), ("kind", true), ("name_zh", false)]
        }
    }
}

/// Checks and types the rows of one master-data file. Not thread-safe.
struct MasterTable {
    let file: String
    let issues: IssueCollector

    func read(_ all: [CSVRow]) -> MasterRows? {
        guard let header = all.first else {
            issues.add(.wholeFile, field: nil, value: nil, rule: .header, "the file is empty: a header row is required")
            return nil
        }
        if let p = header.problem {
            issues.add(.line(p.line), field: nil, value: nil, rule: .csvSyntax, p.message)
            return nil
        }
        if header.isBlank {
            issues.add(.line(1), field: nil, value: nil, rule: .header, "line 1 must be the header row but it is empty")
            return nil
        }
        let names = (0..<header.fieldCount).map { header.string($0) }
        guard let kind = MasterDataReader.detectKind(names) else {
            issues.add(.line(1), field: nil, value: nil, rule: .fileKind,
                       "the header does not name a master-data file: expected region_name (regions), store_name (stores), salesperson_code (salespeople), model_code (models), kpi (plans), amount (expenses) or date and kind (calendar)")
            return nil
        }
        var map: [String: Int] = [:]
        for (name, required) in MasterDataReader.columns(of: kind) {
            let idx = names.indices.filter { names[$0] == name }
            if idx.count > 1 {
                issues.add(.line(1), field: name, value: nil, rule: .duplicateColumn, "column \(name) appears \(idx.count) times in the header")
            } else if let i = idx.first {
                map[name] = i
            } else if required {
                issues.add(.line(1), field: name, value: nil, rule: .missingColumn,
                           "the \(kind.rawValue) file has no \(name) column, which is required")
            }
        }
        guard issues.isEmpty else { return nil }

        // Data rows: skip blank rows and a trailing total row; reject ragged rows.
        var data: [CSVRow] = []
        var lastNonBlank = -1
        for (k, row) in all.enumerated().dropFirst() where row.problem != nil || !row.isBlank { lastNonBlank = k }
        for (k, row) in all.enumerated().dropFirst() {
            if let p = row.problem {
                issues.add(.line(p.line), field: nil, value: nil, rule: .csvSyntax, p.message)
                continue
            }
            if row.isBlank { continue }
            if k == lastNonBlank, CSVReportParser.isTotalRow(row) { continue }
            if row.fieldCount != header.fieldCount {
                issues.add(.line(row.line), field: nil, value: nil, rule: .raggedRow,
                           "the row has \(row.fieldCount) field(s) but the header has \(header.fieldCount)")
                continue
            }
            data.append(row)
        }

        var keys: [String: Int] = [:]
        func unique(_ key: String, _ shown: String, _ field: String, _ line: Int) {
            if let first = keys[key] {
                issues.add(.line(line), field: field, value: shown, rule: .duplicateKey,
                           "\(shown) is given twice in this file (first on line \(first))")
            } else {
                keys[key] = line
            }
        }

        switch kind {
        case .regions:
            var out: [RegionRow] = []
            for row in data where !issues.isFull {
                var r = MasterRowReader(row: row, map: map, issues: issues)
                let code = r.code("region_code", required: true)
                let name = r.text("region_name", required: true)
                if let code { unique(code, "region_code '\(code)'", "region_code", row.line) }
                if !r.failed, let code, let name { out.append(RegionRow(code: code, name: name, line: row.line)) }
            }
            return .regions(out)
        case .stores:
            var out: [StoreRow] = []
            for row in data where !issues.isFull {
                var r = MasterRowReader(row: row, map: map, issues: issues)
                let code = r.code("store_code", required: true)
                let name = r.text("store_name", required: true)
                let region = r.code("region_code", required: true)
                let city = r.text("city", required: false)
                let opened = r.date("opened_on", required: true)
                let closed = r.date("closed_on", required: false)
                r.after("closed_on", closed, opened, "opened_on")
                if let code { unique(code, "store_code '\(code)'", "store_code", row.line) }
                if !r.failed, let code, let name, let region, let opened {
                    out.append(StoreRow(code: code, name: name, regionCode: region, city: city, openedOn: opened, closedOn: closed, line: row.line))
                }
            }
            return .stores(out)
        case .salespeople:
            var out: [SalespersonRow] = []
            for row in data where !issues.isFull {
                var r = MasterRowReader(row: row, map: map, issues: issues)
                let code = r.code("salesperson_code", required: true)
                let name = r.text("name", required: true)
                let store = r.code("store_code", required: true)
                let hired = r.date("hired_on", required: true)
                let left = r.date("left_on", required: false)
                r.after("left_on", left, hired, "hired_on")
                if let code { unique(code, "salesperson_code '\(code)'", "salesperson_code", row.line) }
                if !r.failed, let code, let name, let store, let hired {
                    out.append(SalespersonRow(code: code, name: name, storeCode: store, hiredOn: hired, leftOn: left, line: row.line))
                }
            }
            return .salespeople(out)
        case .models:
            var out: [ModelRow] = []
            for row in data where !issues.isFull {
                var r = MasterRowReader(row: row, map: map, issues: issues)
                let code = r.code("model_code", required: true)
                let name = r.text("model_name", required: true)
                let segment = r.text("segment", required: false)
                if let code { unique(code, "model_code '\(code)'", "model_code", row.line) }
                if !r.failed, let code, let name { out.append(ModelRow(code: code, name: name, segment: segment, line: row.line)) }
            }
            return .models(out)
        case .plans:
            var out: [PlanRow] = []
            for row in data where !issues.isFull {
                var r = MasterRowReader(row: row, map: map, issues: issues)
                let month = r.month("month")
                let store = r.code("store_code", required: true)
                let person = r.code("salesperson_code", required: false)
                let kpiText = r.text("kpi", required: true)
                var kpi: PlanKPI?
                if let kpiText {
                    kpi = PlanKPI(rawValue: kpiText)
                    if kpi == nil {
                        r.fail("kpi", kpiText, .enumValue, "kpi must be one of: \(PlanKPI.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                }
                let value = r.amount("value")
                if let month, let store, let kpi {
                    let shown = "plan (\(month), \(store), \(person ?? "store"), \(kpi.rawValue))"
                    unique("\(month)\u{1}\(store)\u{1}\(person ?? "")\u{1}\(kpi.rawValue)", shown, "kpi", row.line)
                }
                if !r.failed, let month, let store, let kpi, let value {
                    out.append(PlanRow(month: month, storeCode: store, salespersonCode: person, kpi: kpi, value: value, line: row.line))
                }
            }
            return .plans(out)
        case .expenses:
            var out: [ExpenseRow] = []
            for row in data where !issues.isFull {
                var r = MasterRowReader(row: row, map: map, issues: issues)
                let month = r.month("month")
                let store = r.code("store_code", required: true)
                let amount = r.amount("amount")
                if let month, let store {
                    unique("\(month)\u{1}\(store)", "expense (\(month), \(store))", "store_code", row.line)
                }
                if !r.failed, let month, let store, let amount {
                    out.append(ExpenseRow(month: month, storeCode: store, amount: amount, line: row.line))
                }
            }
            return .expenses(out)
        case .calendar:
            var out: [CalendarExceptionRow] = []
            for row in data where !issues.isFull {
                var r = MasterRowReader(row: row, map: map, issues: issues)
                let date = r.date("date", required: true)
                let kindText = r.text("kind", required: true)
                let name = r.text("name_zh", required: false)
                var kind: CalendarExceptionKind?
                if let kindText {
                    kind = CalendarExceptionKind(rawValue: kindText)
                    if kind == nil {
                        r.fail("kind", kindText, .enumValue,
                               "kind must be one of: \(CalendarExceptionKind.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                }
                if let date, kind == .workday, date.isoWeekday < 6 {
                    r.fail("kind", kindText, .range,
                           "\(date) is a weekday, already a working day: workday is for a Saturday or Sunday worked (调休上班)")
                }
                if let date { unique(date.description, "date \(date)", "date", row.line) }
                if !r.failed, let date, let kind { out.append(CalendarExceptionRow(date: date, kind: kind, nameZh: name, line: row.line)) }
            }
            return .calendar(out)
        }
    }
}

/// Typed access to one master-data row. Not thread-safe.
struct MasterRowReader {
    let row: CSVRow
    let map: [String: Int]
    let issues: IssueCollector
    private(set) var failed = false

    init(row: CSVRow, map: [String: Int], issues: IssueCollector) {
        self.row = row
        self.map = map
        self.issues = issues
    }

    mutating func fail(_ field: String, _ value: String?, _ rule: Rule, _ message: String) {
        failed = true
        issues.add(.line(row.line), field: field, value: value, rule: rule, message)
    }

    mutating func text(_ column: String, required: Bool) -> String? {
        guard let i = map[column] else { return nil }
        let s = row.string(i)
        if s.isEmpty {
            if required { fail(column, nil, .required, "\(column) is required") }
            return nil
        }
        if ValueSyntax.hasControlCharacter(s) {
            fail(column, s, .controlCharacter, "\(column) contains a control character (only tab is allowed)")
            return nil
        }
        return s
    }

    mutating func code(_ column: String, required: Bool) -> String? {
        guard let s = text(column, required: required) else { return nil }
        guard ValueSyntax.isCode(s) else {
            fail(column, s, .codeFormat, "\(column) must be a code of 1 to 32 characters from A-Z a-z 0-9 _ -")
            return nil
        }
        return s
    }

    mutating func date(_ column: String, required: Bool) -> CalendarDate? {
        guard let s = text(column, required: required) else { return nil }
        guard let d = ValueSyntax.date(s) else {
            fail(column, s, .dateFormat, "\(column) must be a date written YYYY-MM-DD")
            return nil
        }
        return d
    }

    mutating func month(_ column: String) -> YearMonth? {
        guard let s = text(column, required: true) else { return nil }
        guard let m = YearMonth(string: s) else {
            fail(column, s, .monthFormat, "\(column) must be a month written YYYY-MM")
            return nil
        }
        return m
    }

    mutating func amount(_ column: String) -> Decimal? {
        guard let s = text(column, required: true) else { return nil }
        switch ValueSyntax.money(s) {
        case .ok(let d):
            if d >= 0 { return d }
            fail(column, s, .range, "\(column) must be 0 or more")
        case .tooLarge:
            fail(column, s, .range, "\(column) is too large (at most \(ValueSyntax.maxMoneyIntegerDigits) integer digits)")
        case .syntax:
            fail(column, s, .moneyFormat, "\(column) must be a number like 1200 or 1200.50 (at most 2 decimals; no exponent, sign or separators)")
        }
        return nil
    }

    /// `date` (exclusive end) must be after `start`.
    mutating func after(_ column: String, _ date: CalendarDate?, _ start: CalendarDate?, _ startName: String) {
        guard let date, let start, date <= start else { return }
        fail(column, date.description, .dateOrder, "\(column) (\(date)) must be after \(startName) (\(start))")
    }
}
