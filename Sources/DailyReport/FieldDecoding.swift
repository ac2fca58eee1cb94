import CivilCalendar
import Foundation

/// Every field a report record or row may carry. `jsonName` is the JSON member name; `csvName` the CSV
/// column (the same, except `visit_id` for a visit's `id`).
enum ReportField: Int, CaseIterable {
    case store, businessDate, format
    case id, channel, purpose, salesperson, model, partySize, existingCard, existingOrder, newCard, testDrive
    case card, createdOn, customerName, phone, level, source, status, closedOn, lostReason
    case order, orderDate, deliveryDate, cancelDate, vin, listPrice, dealPrice, collected

    var jsonName: String {
        switch self {
        case .store: return "store"
        case .businessDate: return "business_date"
        case .format: return "format"
        case .id: return "id"
        case .channel: return "channel"
        case .purpose: return "purpose"
        case .salesperson: return "salesperson"
        case .model: return "model"
        case .partySize: return "party_size"
        case .existingCard: return "existing_card"
        case .existingOrder: return "existing_order"
        case .newCard: return "new_card"
        case .testDrive: return "test_drive"
        case .card: return "card"
        case .createdOn: return "created_on"
        case .customerName: return "customer_name"
        case .phone: return "phone"
        case .level: return "level"
        case .source: return "source"
        case .status: return "status"
        case .closedOn: return "closed_on"
        case .lostReason: return "lost_reason"
        case .order: return "order"
        case .orderDate: return "order_date"
        case .deliveryDate: return "delivery_date"
        case .cancelDate: return "cancel_date"
        case .vin: return "vin"
        case .listPrice: return "list_price"
        case .dealPrice: return "deal_price"
        case .collected: return "collected"
        }
    }

    var csvName: String { self == .id ? "visit_id" : jsonName }

    /// The fields of a section (besides `store` and `business_date`), and which must be present as columns.
    static func fields(of kind: SectionKind) -> [(field: ReportField, requiredColumn: Bool)] {
        switch kind {
        case .visits:
            return [(.id, true), (.channel, true), (.purpose, true), (.salesperson, true), (.model, false),
                    (.partySize, false), (.existingCard, false), (.existingOrder, false), (.newCard, false), (.testDrive, false)]
        case .prospects:
            return [(.card, true), (.createdOn, true), (.salesperson, true), (.customerName, false), (.phone, false),
                    (.model, false), (.level, true), (.source, true), (.status, true), (.closedOn, false), (.lostReason, false)]
        case .sales:
            return [(.order, true), (.card, false), (.salesperson, true), (.model, true), (.orderDate, true), (.status, true),
                    (.deliveryDate, false), (.cancelDate, false), (.vin, false), (.listPrice, false), (.dealPrice, true),
                    (.collected, false)]
        }
    }
}

/// A value as found in the input, before typing. Empty CSV cells, JSON nulls, missing members and
/// missing optional columns are all `.null`; strings are trimmed and an empty one is `.null` too.
enum Cell {
    case null
    /// Text; `control` tells whether it holds a C0 control character other than tab.
    case text(String, control: Bool)
    /// A JSON number literal.
    case number(String)
    case bool(Bool)
    /// A JSON array or object: the type name.
    case other(String)
}

/// Where field values come from: a CSV row or a JSON object.
protocol FieldSource {
    func cell(_ f: ReportField) -> Cell
    /// Where an issue about the field is reported.
    func location(_ f: ReportField) -> InputLocation
    /// The field's name in this form (CSV column or JSON member).
    func name(_ f: ReportField) -> String
    /// Where the record itself is (its `origin`).
    var recordLocation: InputLocation { get }
}

/// A CSV row seen through the header's column map.
struct CSVFieldSource: FieldSource {
    let row: CSVRow
    /// Column index per `ReportField.rawValue`, -1 when the column is absent.
    let columns: [Int]

    func cell(_ f: ReportField) -> Cell {
        let c = columns[f.rawValue]
        guard c >= 0, c < row.fieldCount else { return .null }
        var control = false
        let s = row.string(c, control: &control)
        return s.isEmpty ? .null : .text(s, control: control)
    }

    func location(_ f: ReportField) -> InputLocation { .line(row.line) }
    func name(_ f: ReportField) -> String { f.csvName }
    var recordLocation: InputLocation { .line(row.line) }
}

/// A JSON object at a path.
struct JSONFieldSource: FieldSource {
    let object: JSONObject
    let path: String

    func cell(_ f: ReportField) -> Cell {
        guard let v = object[f.jsonName] else { return .null }
        switch v {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .number(let n): return .number(n)
        case .string(let s):
            let t = TextTrim.trim(s)
            return t.isEmpty ? .null : .text(t, control: ValueSyntax.hasControlCharacter(t))
        case .array, .object: return .other(v.typeName)
        }
    }

    func location(_ f: ReportField) -> InputLocation { .jsonPath(path + "." + f.jsonName) }
    func name(_ f: ReportField) -> String { f.jsonName }
    var recordLocation: InputLocation { .jsonPath(path) }
}

/// The outcome of reading one optional field.
enum Got<T> {
    case null
    case ok(T)
    /// Invalid; an issue was recorded.
    case bad

    var value: T? {
        if case .ok(let v) = self { return v }
        return nil
    }

    var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

/// Kinds of master-data codes a report refers to.
enum CodeKind {
    case store, salesperson, model
}

/// Reads and checks the fields of one record, recording issues. Not thread-safe (one per record).
struct RecordDecoder<S: FieldSource> {
    let src: S
    let issues: IssueCollector
    let reference: ReferenceData?
    /// True once any issue was recorded for this record.
    private(set) var failed = false

    init(_ src: S, issues: IssueCollector, reference: ReferenceData?) {
        self.src = src
        self.issues = issues
        self.reference = reference
    }

    mutating func fail(_ f: ReportField, _ value: String?, _ rule: Rule, _ message: String) {
        failed = true
        let shown: String?
        switch f {
        case .customerName: shown = value.flatMap { CustomerName.mask($0) }
        case .phone: shown = nil
        default: shown = value
        }
        issues.add(src.location(f), field: src.name(f), value: shown, rule: rule, message)
    }

    private func raw(_ cell: Cell) -> String? {
        switch cell {
        case .null: return nil
        case .text(let s, _), .number(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .other(let t): return "<\(t)>"
        }
    }

    /// A text value (JSON: must be a string). Rejects C0 control characters.
    mutating func text(_ f: ReportField) -> Got<String> {
        let c = src.cell(f)
        switch c {
        case .null: return .null
        case .text(let s, let control):
            if control {
                fail(f, s, .controlCharacter, "\(src.name(f)) contains a control character (only tab is allowed)")
                return .bad
            }
            return .ok(s)
        case .number, .bool, .other:
            fail(f, raw(c), .jsonType, "\(src.name(f)) must be a string")
            return .bad
        }
    }

    mutating func required<T>(_ f: ReportField, _ got: Got<T>) -> T? {
        if case .null = got { fail(f, nil, .required, "\(src.name(f)) is required") }
        return got.value
    }

    /// An id (`id`, `card`, `order`, `existing_card`, `new_card`): 1 to 64 characters.
    mutating func id(_ f: ReportField) -> Got<String> {
        let t = text(f)
        guard case .ok(let s) = t else { return t }
        if ValueSyntax.scalarCount(s) > 64 {
            fail(f, s, .idLength, "\(src.name(f)) must be 1 to 64 characters long")
            return .bad
        }
        return t
    }

    /// A master-data code, checked for format and, with reference data, for being known.
    mutating func code(_ f: ReportField, _ kind: CodeKind?) -> Got<String> {
        let t = text(f)
        guard case .ok(let s) = t else { return t }
        guard ValueSyntax.isCode(s) else {
            fail(f, s, .codeFormat, "\(src.name(f)) must be a code of 1 to 32 characters from A-Z a-z 0-9 _ -")
            return .bad
        }
        if let reference {
            switch kind {
            case nil:
                break
            case .store?:
                if reference.stores[s] == nil {
                    fail(f, s, .unknownStore, "unknown store code '\(s)': add it to master data")
                    return .bad
                }
            case .salesperson?:
                if !reference.salespeople.contains(s) {
                    fail(f, s, .unknownSalesperson, "unknown salesperson code '\(s)': add it to master data")
                    return .bad
                }
            case .model?:
                if !reference.models.contains(s) {
                    fail(f, s, .unknownModel, "unknown model code '\(s)': add it to master data")
                    return .bad
                }
            }
        }
        return t
    }

    mutating func enumValue<E: RawRepresentable & CaseIterable>(_ f: ReportField, _ type: E.Type) -> Got<E> where E.RawValue == String {
        switch text(f) {
        case .null: return .null
        case .bad: return .bad
        case .ok(let s):
            if let e = E(rawValue: s) { return .ok(e) }
            let allowed = E.allCases.map(\.rawValue).joined(separator: ", ")
            fail(f, s, .enumValue, "\(src.name(f)) must be one of: \(allowed)")
            return .bad
        }
    }

    mutating func date(_ f: ReportField) -> Got<CalendarDate> {
        switch text(f) {
        case .null: return .null
        case .bad: return .bad
        case .ok(let s):
            if let d = ValueSyntax.date(s) { return .ok(d) }
            fail(f, s, .dateFormat, "\(src.name(f)) must be a date written YYYY-MM-DD")
            return .bad
        }
    }

    /// A boolean; null or missing is false.
    mutating func bool(_ f: ReportField) -> Bool? {
        let c = src.cell(f)
        switch c {
        case .null: return false
        case .bool(let b): return b
        case .text(let s, let control):
            if src is JSONFieldSource {
                fail(f, s, .jsonType, "\(src.name(f)) must be true, false or null")
                return nil
            }
            if let b = ValueSyntax.boolean(s) { return b }
            if control {
                fail(f, s, .controlCharacter, "\(src.name(f)) contains a control character (only tab is allowed)")
            } else {
                fail(f, s, .booleanFormat, "\(src.name(f)) must be one of true/false/1/0/是/否/Y/N (or empty)")
            }
            return nil
        case .number, .other:
            fail(f, raw(c), src is JSONFieldSource ? .jsonType : .booleanFormat, "\(src.name(f)) must be true, false or null")
            return nil
        }
    }

    /// The literal text of a number: a JSON number, or CSV text.
    private mutating func numberText(_ f: ReportField) -> Got<String> {
        let c = src.cell(f)
        switch c {
        case .null: return .null
        case .number(let n): return .ok(n)
        case .text(let s, let control):
            if src is JSONFieldSource {
                fail(f, s, .jsonType, "\(src.name(f)) must be a number")
                return .bad
            }
            if control {
                fail(f, s, .controlCharacter, "\(src.name(f)) contains a control character (only tab is allowed)")
                return .bad
            }
            return .ok(s)
        case .bool, .other:
            fail(f, raw(c), .jsonType, "\(src.name(f)) must be a number")
            return .bad
        }
    }

    /// An integer within `range`.
    mutating func integer(_ f: ReportField, in range: ClosedRange<Int>) -> Got<Int> {
        let t = numberText(f)
        guard case .ok(let s) = t else { return t.isNull ? .null : .bad }
        switch ValueSyntax.integer(s) {
        case .ok(let v):
            if range.contains(v) { return .ok(v) }
            fail(f, s, .range, "\(src.name(f)) must be an integer from \(range.lowerBound) to \(range.upperBound)")
        case .tooLarge:
            fail(f, s, .range, "\(src.name(f)) must be an integer from \(range.lowerBound) to \(range.upperBound)")
        case .syntax:
            fail(f, s, .integerFormat, "\(src.name(f)) must be a whole number written with digits only")
        }
        return .bad
    }

    /// An amount in CNY with at most 2 decimals; `positive` requires > 0, otherwise >= 0.
    mutating func money(_ f: ReportField, positive: Bool) -> Got<Decimal> {
        let t = numberText(f)
        guard case .ok(let s) = t else { return t.isNull ? .null : .bad }
        switch ValueSyntax.money(s) {
        case .ok(let d):
            if positive ? d > 0 : d >= 0 { return .ok(d) }
            fail(f, s, .range, "\(src.name(f)) must be \(positive ? "greater than 0" : "0 or more")")
        case .tooLarge:
            fail(f, s, .range, "\(src.name(f)) is too large (at most \(ValueSyntax.maxMoneyIntegerDigits) integer digits)")
        case .syntax:
            fail(f, s, .moneyFormat, "\(src.name(f)) must be an amount like 152000 or 152000.50 (at most 2 decimals; no exponent, sign or separators)")
        }
        return .bad
    }

    /// `date` must be on or before `bound` (when both are known).
    mutating func notAfter(_ f: ReportField, _ date: CalendarDate?, _ bound: CalendarDate?, _ boundName: String) {
        guard let date, let bound, date > bound else { return }
        fail(f, date.description, .dateOrder, "\(src.name(f)) (\(date)) must not be after \(boundName) (\(bound))")
    }

    /// `date` must be on or after `bound` (when both are known).
    mutating func notBefore(_ f: ReportField, _ date: CalendarDate?, _ bound: CalendarDate?, _ boundName: String) {
        guard let date, let bound, date < bound else { return }
        fail(f, date.description, .dateOrder, "\(src.name(f)) (\(date)) must not be before \(boundName) (\(bound))")
    }

    /// A date that must be given exactly when `condition` holds (`when` names the condition).
    mutating func conditional(_ f: ReportField, _ got: Got<CalendarDate>, requiredWhen condition: Bool?, _ when: String) -> CalendarDate? {
        guard let condition else { return got.value }
        if condition, got.isNull { fail(f, nil, .required, "\(src.name(f)) is required when \(when)") }
        if !condition, let v = got.value { fail(f, v.description, .notAllowed, "\(src.name(f)) must be empty unless \(when)") }
        return got.value
    }
}

/// Decoding of the three record kinds (contract §3 field rules and §5 reading rules).
enum RecordDecoding {
    static func visit<S>(_ d: inout RecordDecoder<S>, origin: RecordOrigin) -> Visit? {
        let id = d.required(.id, d.id(.id))
        let channel = d.required(.channel, d.enumValue(.channel, VisitChannel.self))
        let purpose = d.required(.purpose, d.enumValue(.purpose, VisitPurpose.self))
        let salesperson = d.required(.salesperson, d.code(.salesperson, .salesperson))
        let model = d.code(.model, .model)
        let party = d.integer(.partySize, in: 1...Int(Int32.max))
        let existingCard = d.id(.existingCard)
        let existingOrder = d.bool(.existingOrder)
        let newCard = d.id(.newCard)
        let testDrive = d.bool(.testDrive)
        guard !d.failed, let id, let channel, let purpose, let salesperson, let existingOrder, let testDrive else { return nil }
        return Visit(id: id, channel: channel, purpose: purpose, salesperson: salesperson, model: model.value,
                     partySize: party.value ?? 1, existingCard: existingCard.value, existingOrder: existingOrder,
                     newCard: newCard.value, testDrive: testDrive, origin: origin)
    }

    static func prospect<S>(_ d: inout RecordDecoder<S>, businessDate: CalendarDate?, origin: RecordOrigin) -> Prospect? {
        let card = d.required(.card, d.id(.card))
        let createdOn = d.required(.createdOn, d.date(.createdOn))
        d.notAfter(.createdOn, createdOn, businessDate, "business_date")
        let salesperson = d.required(.salesperson, d.code(.salesperson, .salesperson))
        let name = d.text(.customerName)
        let phone = d.text(.phone)
        let model = d.code(.model, .model)
        let level = d.required(.level, d.enumValue(.level, ProspectLevel.self))
        let source = d.required(.source, d.enumValue(.source, ProspectSource.self))
        let status = d.required(.status, d.enumValue(.status, ProspectStatus.self))
        let closedOn = d.conditional(.closedOn, d.date(.closedOn), requiredWhen: status.map { $0 != .open },
                                     "status is ordered or lost")
        d.notBefore(.closedOn, closedOn, createdOn, "created_on")
        d.notAfter(.closedOn, closedOn, businessDate, "business_date")
        let lostReason = d.text(.lostReason)
        guard !d.failed, let card, let createdOn, let salesperson, let level, let source, let status else { return nil }
        return Prospect(card: card, createdOn: createdOn, salesperson: salesperson, customerName: name.value,
                        phone: phone.value, model: model.value, level: level, source: source, status: status,
                        closedOn: closedOn, lostReason: lostReason.value, origin: origin)
    }

    static func sale<S>(_ d: inout RecordDecoder<S>, businessDate: CalendarDate?, origin: RecordOrigin) -> Sale? {
        let order = d.required(.order, d.id(.order))
        let card = d.id(.card)
        let salesperson = d.required(.salesperson, d.code(.salesperson, .salesperson))
        let model = d.required(.model, d.code(.model, .model))
        let orderDate = d.required(.orderDate, d.date(.orderDate))
        d.notAfter(.orderDate, orderDate, businessDate, "business_date")
        let status = d.required(.status, d.enumValue(.status, OrderStatus.self))
        let delivery = d.conditional(.deliveryDate, d.date(.deliveryDate), requiredWhen: status.map { $0 == .delivered },
                                     "status is delivered")
        d.notBefore(.deliveryDate, delivery, orderDate, "order_date")
        d.notAfter(.deliveryDate, delivery, businessDate, "business_date")
        let cancel = d.conditional(.cancelDate, d.date(.cancelDate), requiredWhen: status.map { $0 == .cancelled },
                                   "status is cancelled")
        d.notBefore(.cancelDate, cancel, orderDate, "order_date")
        d.notAfter(.cancelDate, cancel, businessDate, "business_date")
        let vinGot = d.text(.vin)
        var vin: String?
        switch vinGot {
        case .ok(let v):
            if ValueSyntax.isVIN(v) {
                vin = v
            } else {
                d.fail(.vin, v, .vinFormat, "vin must be 17 characters of A-H J-N P R-Z 0-9 (upper case; no I, O or Q)")
            }
        case .null:
            if status == .delivered { d.fail(.vin, nil, .required, "vin is required when status is delivered") }
        case .bad:
            break
        }
        let listPrice = d.money(.listPrice, positive: false)
        let dealPrice = d.required(.dealPrice, d.money(.dealPrice, positive: true))
        let collected = d.money(.collected, positive: false)
        guard !d.failed, let order, let salesperson, let model, let orderDate, let status, let dealPrice else { return nil }
        return Sale(order: order, card: card.value, salesperson: salesperson, model: model, orderDate: orderDate,
                    status: status, deliveryDate: delivery, cancelDate: cancel, vin: vin, listPrice: listPrice.value,
                    dealPrice: dealPrice, collected: collected.value ?? 0, origin: origin)
    }
}
