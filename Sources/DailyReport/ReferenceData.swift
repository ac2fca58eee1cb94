public import CivilCalendar

/// The master data and receipt day that the reference rules of a report check against (contract §3
/// "Common"): stores (must exist and be open on `business_date`), salesperson and model codes (must be
/// known), and the receipt day (`business_date` must not be after it).
///
/// Codes are case-sensitive. Value type; `Sendable`; safe to share between threads.
public struct ReferenceData: Sendable, Hashable {
    /// A store as the reference rules see it.
    public struct Store: Sendable, Hashable {
        public var code: String
        public var regionCode: String
        /// First day open.
        public var openedOn: CalendarDate
        /// First day closed (exclusive); nil while open.
        public var closedOn: CalendarDate?

        public init(code: String, regionCode: String, openedOn: CalendarDate, closedOn: CalendarDate? = nil) {
            self.code = code
            self.regionCode = regionCode
            self.openedOn = openedOn
            self.closedOn = closedOn
        }

        /// True when `openedOn <= date < closedOn`.
        public func isOpen(on date: CalendarDate) -> Bool {
            openedOn <= date && (closedOn.map { date < $0 } ?? true)
        }
    }

    public var stores: [String: Store]
    public var salespeople: Set<String>
    public var models: Set<String>
    /// The business day (in business time) on which the warehouse received the file.
    public var receiptDay: CalendarDate

    public init(stores: some Sequence<Store>, salespeople: some Sequence<String>, models: some Sequence<String>,
                receiptDay: CalendarDate) {
        var map: [String: Store] = [:]
        for s in stores { map[s.code] = s }
        self.stores = map
        self.salespeople = Set(salespeople)
        self.models = Set(models)
        self.receiptDay = receiptDay
    }

    /// Builds reference data from parsed master-data rows.
    public init(stores: [StoreRow], salespeople: [SalespersonRow], models: [ModelRow], receiptDay: CalendarDate) {
        self.init(stores: stores.map { Store(code: $0.code, regionCode: $0.regionCode, openedOn: $0.openedOn, closedOn: $0.closedOn) },
                  salespeople: salespeople.map(\.code), models: models.map(\.code), receiptDay: receiptDay)
    }
}
