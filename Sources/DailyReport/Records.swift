public import CivilCalendar
public import Foundation

// All types in this file are value types, `Sendable`, and safe to use from any thread.

/// How a visiting group made contact (`channel`).
public enum VisitChannel: String, Sendable, Hashable, CaseIterable {
    case walkIn = "walk_in"
    case phone
    /// Outside exhibitions and activities.
    case event
}

/// Why a group visited (`purpose`).
public enum VisitPurpose: String, Sendable, Hashable, CaseIterable {
    case purchase
    case afterSales = "after_sales"
    case business
    case other
}

/// A prospect's intent level (`level`): H within 7 days, A 15, B 30, C later.
public enum ProspectLevel: String, Sendable, Hashable, CaseIterable {
    case h = "H", a = "A", b = "B", c = "C"
}

/// Where a prospect came from (`source`).
public enum ProspectSource: String, Sendable, Hashable, CaseIterable {
    case walkIn = "walk_in"
    case phone
    case event
    case other
}

/// An A-card's state (`status`).
public enum ProspectStatus: String, Sendable, Hashable, CaseIterable {
    case open
    case ordered
    case lost
}

/// An order's state (`status`).
public enum OrderStatus: String, Sendable, Hashable, CaseIterable {
    case ordered
    case delivered
    case cancelled
}

/// The three sections a daily report may carry.
public enum SectionKind: String, Sendable, Hashable, CaseIterable {
    case visits
    case prospects
    case sales
}

/// A store and a business date: the key of a report (a report is one store x one business date).
public struct StoreDay: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var store: String
    public var businessDate: CalendarDate

    public init(store: String, businessDate: CalendarDate) {
        self.store = store
        self.businessDate = businessDate
    }

    public static func < (a: StoreDay, b: StoreDay) -> Bool {
        a.store != b.store ? a.store < b.store : a.businessDate < b.businessDate
    }

    public var description: String { "\(store) \(businessDate)" }
}

/// One row of the front-desk log: one customer group (contract §3, visits).
public struct Visit: Hashable, Sendable {
    /// `id` (CSV column `visit_id`): unique within the report.
    public var id: String
    public var channel: VisitChannel
    public var purpose: VisitPurpose
    /// A salesperson code.
    public var salesperson: String
    /// A model code, or nil (unknown intended model).
    public var model: String?
    /// Integer >= 1; 1 when null or missing.
    public var partySize: Int
    /// The A-card the customer already held, or nil.
    public var existingCard: String?
    /// True if the customer already has an order (null or missing: false).
    public var existingOrder: Bool
    /// The A-card created from this contact, or nil.
    public var newCard: String?
    /// True if the group test-drove (null or missing: false).
    public var testDrive: Bool
    /// Where the record came from (CSV line or JSON path such as `$.visits[3]`).
    public var origin: RecordOrigin

    public init(id: String, channel: VisitChannel, purpose: VisitPurpose, salesperson: String, model: String? = nil,
                partySize: Int = 1, existingCard: String? = nil, existingOrder: Bool = false, newCard: String? = nil,
                testDrive: Bool = false, origin: RecordOrigin = RecordOrigin(file: "", location: .wholeFile)) {
        self.id = id
        self.channel = channel
        self.purpose = purpose
        self.salesperson = salesperson
        self.model = model
        self.partySize = partySize
        self.existingCard = existingCard
        self.existingOrder = existingOrder
        self.newCard = newCard
        self.testDrive = testDrive
        self.origin = origin
    }
}

/// An A-card (潜在顾客卡) in its full current state (contract §3, prospects).
///
/// `customerName` and `phone` are raw PII, kept only so the warehouse can judge validity (`ACardRules`),
/// hash the phone (`PhoneNumber.normalize`) and mask the name (`CustomerName.mask`). `description`,
/// `debugDescription` and the reflection mirror show them masked, so logging a prospect leaks no PII.
public struct Prospect: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The card id: unique per store.
    public var card: String
    public var createdOn: CalendarDate
    public var salesperson: String
    /// Raw customer name (PII), trimmed; nil when empty or null.
    public var customerName: String?
    /// Raw phone as written (PII), trimmed; nil when empty or null.
    public var phone: String?
    /// A model code, or nil (the card is then invalid).
    public var model: String?
    public var level: ProspectLevel
    public var source: ProspectSource
    public var status: ProspectStatus
    /// The day the card became ordered or lost; non-nil exactly when `status != .open`.
    public var closedOn: CalendarDate?
    /// Free text.
    public var lostReason: String?
    public var origin: RecordOrigin

    public init(card: String, createdOn: CalendarDate, salesperson: String, customerName: String?, phone: String?,
                model: String?, level: ProspectLevel, source: ProspectSource, status: ProspectStatus = .open,
                closedOn: CalendarDate? = nil, lostReason: String? = nil,
                origin: RecordOrigin = RecordOrigin(file: "", location: .wholeFile)) {
        self.card = card
        self.createdOn = createdOn
        self.salesperson = salesperson
        self.customerName = customerName
        self.phone = phone
        self.model = model
        self.level = level
        self.source = source
        self.status = status
        self.closedOn = closedOn
        self.lostReason = lostReason
        self.origin = origin
    }

    /// The name as BI may see it: first character and `*` (`张伟` → `张*`), nil when there is no name.
    public var maskedCustomerName: String? { CustomerName.mask(customerName) }

    public var description: String {
        "Prospect(card: \(card), createdOn: \(createdOn), salesperson: \(salesperson), customerName: \(maskedCustomerName ?? "nil"), "
            + "phone: \(phone == nil ? "nil" : "<redacted>"), model: \(model ?? "nil"), level: \(level.rawValue), "
            + "source: \(source.rawValue), status: \(status.rawValue), closedOn: \(closedOn.map { "\($0)" } ?? "nil"), origin: \(origin))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: [
            "card": card, "createdOn": createdOn, "salesperson": salesperson,
            "customerName": maskedCustomerName as Any, "phone": (phone == nil ? nil : "<redacted>") as Any,
            "model": model as Any, "level": level, "source": source, "status": status,
            "closedOn": closedOn as Any, "lostReason": lostReason as Any, "origin": origin,
        ], displayStyle: .struct)
    }
}

/// An order (contract §3, sales); a delivered order is a C-card.
public struct Sale: Hashable, Sendable {
    /// The order id: unique per store.
    public var order: String
    /// The A-card the order came from, or nil.
    public var card: String?
    public var salesperson: String
    /// A model code (required for orders).
    public var model: String
    public var orderDate: CalendarDate
    public var status: OrderStatus
    /// Non-nil exactly when delivered.
    public var deliveryDate: CalendarDate?
    /// Non-nil exactly when cancelled.
    public var cancelDate: CalendarDate?
    /// Required when delivered; 17 characters of `[A-HJ-NPR-Z0-9]`.
    public var vin: String?
    /// CNY, exact, >= 0; nil when not given.
    public var listPrice: Decimal?
    /// CNY, exact, > 0.
    public var dealPrice: Decimal
    /// CNY, exact, >= 0: cumulative amount received; 0 when null or missing.
    public var collected: Decimal
    public var origin: RecordOrigin

    public init(order: String, card: String? = nil, salesperson: String, model: String, orderDate: CalendarDate,
                status: OrderStatus, deliveryDate: CalendarDate? = nil, cancelDate: CalendarDate? = nil,
                vin: String? = nil, listPrice: Decimal? = nil, dealPrice: Decimal, collected: Decimal = 0,
                origin: RecordOrigin = RecordOrigin(file: "", location: .wholeFile)) {
        self.order = order
        self.card = card
        self.salesperson = salesperson
        self.model = model
        self.orderDate = orderDate
        self.status = status
        self.deliveryDate = deliveryDate
        self.cancelDate = cancelDate
        self.vin = vin
        self.listPrice = listPrice
        self.dealPrice = dealPrice
        self.collected = collected
        self.origin = origin
    }
}

/// One record of any section, as streamed from a CSV file.
public enum ReportRecord: Hashable, Sendable {
    case visit(Visit)
    case prospect(Prospect)
    case sale(Sale)

    public var origin: RecordOrigin {
        switch self {
        case .visit(let v): return v.origin
        case .prospect(let p): return p.origin
        case .sale(let s): return s.origin
        }
    }
}

/// One store's report for one business date, with the sections it carries.
///
/// A nil section is one the report does not carry (its stored data is left alone); an empty array is a
/// carried, empty section (e.g. `"visits": []` empties the day's visits). A JSON report is one
/// `StoreDayReport`; a CSV file yields one per (store, business_date) with only its section non-nil.
public struct StoreDayReport: Hashable, Sendable {
    public var storeDay: StoreDay
    public var visits: [Visit]?
    public var prospects: [Prospect]?
    public var sales: [Sale]?
    /// The file, and where in it the report starts (`$` for JSON, the first row's line for CSV).
    public var origin: RecordOrigin

    public var store: String { storeDay.store }
    public var businessDate: CalendarDate { storeDay.businessDate }

    public init(storeDay: StoreDay, visits: [Visit]? = nil, prospects: [Prospect]? = nil, sales: [Sale]? = nil,
                origin: RecordOrigin) {
        self.storeDay = storeDay
        self.visits = visits
        self.prospects = prospects
        self.sales = sales
        self.origin = origin
    }

    /// The sections this report carries.
    public var sections: Set<SectionKind> {
        var s = Set<SectionKind>()
        if visits != nil { s.insert(.visits) }
        if prospects != nil { s.insert(.prospects) }
        if sales != nil { s.insert(.sales) }
        return s
    }
}

/// An accepted report file: its form and the store-day reports it holds.
public struct ReportFile: Hashable, Sendable {
    public enum Form: Hashable, Sendable {
        case json
        /// A CSV file holding one section for any number of store-days.
        case csv(SectionKind)
    }

    public var file: String
    public var form: Form
    public var encoding: TextEncoding
    /// JSON: exactly one. CSV: one per (store, business_date) present, sorted by store then date; the
    /// records of each keep file order.
    public var reports: [StoreDayReport]
}
