import CivilCalendar
import Foundation

/// The outcome of streaming a CSV report file (`ReportReader.streamCSV`).
///
/// Value type; `Sendable`; safe to use from any thread.
public struct CSVStreamSummary: Sendable, Hashable {
    public var file: String
    /// The section the header names; nil when the header could not be read or recognised.
    public var kind: SectionKind?
    /// The encoding the file was read in; nil when it could not be decoded.
    public var encoding: TextEncoding?
    /// Records delivered per store-day. Every store-day listed is a report section the file carries
    /// (for visits: the day's visits are replaced by the delivered rows).
    public var recordCounts: [StoreDay: Int]
    /// Non-nil when the file is rejected: then every record already delivered must be discarded.
    public var rejection: FileRejected?

    /// True when the file is accepted.
    public var isAccepted: Bool { rejection == nil }

    /// The store-days the file carries, sorted by store then date.
    public var storeDays: [StoreDay] { recordCounts.keys.sorted() }
}

/// Reads daily report files (contract §2): JSON reports and CSV section files, checks every field rule
/// of §3 (with `ReferenceData`, also the reference rules) and returns typed records.
///
/// All functions are pure apart from reading the named file, hold no shared state, and may be called
/// concurrently from any thread.
///
/// Decisions where the contract is silent:
/// - JSON must be UTF-8 (RFC 8259; a BOM is tolerated); the GB18030 fallback applies to CSV only.
/// - JSON strings are trimmed like CSV cells, and an empty string counts as null, so both forms read alike.
/// - JSON members have fixed types: ids, codes, dates, enums and text are strings; `party_size` and money
///   are numbers; booleans are `true`/`false`. A wrong type is rule `json_type`.
/// - Unknown JSON members and extra CSV columns are ignored (not even checked for control characters).
/// - Duplicate JSON member names are rejected (`duplicate_member`); nesting beyond 64 levels likewise.
/// - `format` is checked first; a missing or different `format` stops the check of that report.
/// - `delivery_date` and `cancel_date` after `business_date` are rejected (`date_order`): a report cannot
///   state a future event. `delivery_date`/`cancel_date`/`closed_on` given when the status does not call
///   for them are rejected (`not_allowed`): the contract says "required iff".
/// - A `vin` on an order that is not delivered is still format-checked.
/// - `party_size` is at most 2,147,483,647; money has at most 13 integer digits (`range`).
/// - In a CSV file, store-level problems (unknown store, store not open, business date after receipt)
///   are reported once per (store, business_date), at its first row; unknown salesperson and model codes
///   are reported on every row.
/// - `id`, `card` and `order` are unique within a report, i.e. a store-day: a CSV file may carry several
///   days of one store, and a card that changed on two of them appears once per day (the latest
///   business_date wins when stored). A `vin` may belong to one (store, order) only within a file.
/// - A value containing a line break (legal inside a quoted CSV field) is rejected by the control
///   character rule; leading and trailing white space including line breaks is trimmed first.
/// - A file larger than `ReadOptions.maxFileBytes` (default 64 MiB) is rejected (`file_too_large`) before
///   any of it is parsed: the size of a file on disk is taken from `stat`, so a huge file costs no memory.
public enum ReportReader {
    /// The `format` value of contract version 1.
    public static let formatV1 = "dealer-daily-report/1"

    // MARK: whole-file reading

    /// Reads a report file: `.json` as a JSON report, `.csv` as a CSV section file, anything else by
    /// content (a first non-blank character `{` means JSON).
    ///
    /// - Parameters:
    ///   - path: the file to read.
    ///   - fileName: the name reported in issues and origins (default: `path`).
    ///   - reference: master data and receipt day for the reference rules; nil checks only the
    ///     context-free rules (for syntax checks; ingest must pass reference data).
    /// - Throws: `FileRejected` with every issue found (capped by `options.maxIssues`).
    public static func read(path: String, fileName: String? = nil, reference: ReferenceData?,
                            options: ReadOptions = ReadOptions()) throws(FileRejected) -> ReportFile {
        let name = fileName ?? path
        try rejectIfTooLarge(size: ChunkedFile.size(path: path), fileName: name, options: options)
        let json = isJSON(name: path, firstBytes: nil) ?? isJSON(name: "", firstBytes: firstBytes(path: path))!
        if json {
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
            return try readJSON(bytes: bytes, fileName: name, reference: reference, options: options)
        }
        var grouped = Grouper()
        let summary = streamCSV(path: path, fileName: name, reference: reference, options: options) { grouped.add($0, $1) }
        if let r = summary.rejection { throw r }
        return grouped.file(name: name, summary: summary)
    }

    /// Reads a report from memory (e.g. an HTTP upload); the form is chosen as in `read(path:)` from
    /// `fileName` and the content.
    public static func read(bytes: [UInt8], fileName: String, reference: ReferenceData?,
                            options: ReadOptions = ReadOptions()) throws(FileRejected) -> ReportFile {
        try rejectIfTooLarge(size: bytes.count, fileName: fileName, options: options)
        if isJSON(name: fileName, firstBytes: bytes) == true {
            return try readJSON(bytes: bytes, fileName: fileName, reference: reference, options: options)
        }
        var grouped = Grouper()
        let summary = streamCSV(bytes: bytes, fileName: fileName, reference: reference, options: options) { grouped.add($0, $1) }
        if let r = summary.rejection { throw r }
        return grouped.file(name: fileName, summary: summary)
    }

    /// Reads a JSON report (contract §2.1) from memory.
    public static func readJSON(bytes: [UInt8], fileName: String, reference: ReferenceData?,
                                options: ReadOptions = ReadOptions()) throws(FileRejected) -> ReportFile {
        try rejectIfTooLarge(size: bytes.count, fileName: fileName, options: options)
        let issues = IssueCollector(file: fileName, limit: options.maxIssues)
        let report = JSONReportReader(issues: issues, reference: reference, file: fileName, maxDepth: options.maxJSONDepth)
            .read(bytes)
        if let r = issues.rejection() { throw r }
        return ReportFile(file: fileName, form: .json, encoding: .utf8, reports: [report!])
    }

    // MARK: streaming CSV

    /// Streams a CSV section file (contract §2.2) from disk without holding it in memory: one pass checks
    /// the encoding (strict UTF-8, else GB18030), a second decodes, tokenizes and validates row by row.
    ///
    /// `onRecord` receives each valid record with its store-day, in file order, for as long as no issue
    /// has been found; after the first issue no more records are delivered but checking goes on (up to
    /// `options.maxIssues`). Records already delivered are provisional: when the summary's `rejection`
    /// is non-nil the caller must discard them (e.g. roll back the transaction they went into), because a
    /// rejected file changes nothing. Uniqueness rules span the whole file, so a rejection can come from
    /// the last row.
    ///
    /// - Throws: only what `onRecord` throws (reading stops there).
    public static func streamCSV<E: Error>(path: String, fileName: String? = nil, reference: ReferenceData?,
                                           options: ReadOptions = ReadOptions(),
                                           onRecord: (StoreDay, ReportRecord) throws(E) -> Void) throws(E) -> CSVStreamSummary {
        let name = fileName ?? path
        let issues = IssueCollector(file: name, limit: options.maxIssues)
        var encoding: TextEncoding?
        let parser = CSVReportParser(file: name, issues: issues, reference: reference)
        func deliver(_ sd: StoreDay, _ rec: ReportRecord) throws {
            do { try onRecord(sd, rec) } catch { throw Forwarded(error: error) }
        }
        if let tooLarge = tooLarge(size: ChunkedFile.size(path: path), options: options) {
            issues.add(.wholeFile, field: nil, value: nil, rule: .fileTooLarge, tooLarge.message)
            return parser.summary(encoding: nil)
        }
        do {
            encoding = try InputDecoder.detect(path: path, allowGB18030: true, collector: issues)
            if let encoding {
                var tokenizer = CSVTokenizer()
                try InputDecoder.stream(path: path, encoding: encoding) { chunk in
                    try tokenizer.consume(chunk) { try parser.handle(&$0, deliver) }
                }
                try tokenizer.finish { try parser.handle(&$0, deliver) }
                parser.finish()
            }
        } catch let f as Forwarded {
            throw f.error as! E
        } catch is StopReading {
            // the issue cap was reached or the header is unusable
        } catch let e as ChunkedFile.Failure {
            issues.add(.wholeFile, field: nil, value: nil, rule: .io, e.message)
        } catch {
            issues.add(.wholeFile, field: nil, value: nil, rule: .encoding, "the file could not be decoded: \(error)")
        }
        return parser.summary(encoding: encoding)
    }

    /// Streams a CSV section file held in memory; see `streamCSV(path:...)`.
    public static func streamCSV<E: Error>(bytes: [UInt8], fileName: String, reference: ReferenceData?,
                                           options: ReadOptions = ReadOptions(),
                                           onRecord: (StoreDay, ReportRecord) throws(E) -> Void) throws(E) -> CSVStreamSummary {
        let issues = IssueCollector(file: fileName, limit: options.maxIssues)
        let parser = CSVReportParser(file: fileName, issues: issues, reference: reference)
        func deliver(_ sd: StoreDay, _ rec: ReportRecord) throws {
            do { try onRecord(sd, rec) } catch { throw Forwarded(error: error) }
        }
        if let tooLarge = tooLarge(size: bytes.count, options: options) {
            issues.add(.wholeFile, field: nil, value: nil, rule: .fileTooLarge, tooLarge.message)
            return parser.summary(encoding: nil)
        }
        guard let (utf8, encoding) = InputDecoder.decode(bytes, allowGB18030: true, collector: issues) else {
            return parser.summary(encoding: nil)
        }
        do {
            var tokenizer = CSVTokenizer()
            try utf8.withUnsafeBufferPointer { buf in
                try tokenizer.consume(buf) { try parser.handle(&$0, deliver) }
            }
            try tokenizer.finish { try parser.handle(&$0, deliver) }
            parser.finish()
        } catch let f as Forwarded {
            throw f.error as! E
        } catch {
            // StopReading: the issue cap was reached or the header is unusable
        }
        return parser.summary(encoding: encoding)
    }

    /// The section a CSV header names (contract: `visit_id` → visits; `card` + `customer_name` →
    /// prospects; `order` + `order_date` → sales), or nil.
    public static func sectionKind(ofHeader names: [String]) -> SectionKind? {
        let set = Set(names)
        if set.contains("visit_id") { return .visits }
        if set.contains("card") && set.contains("customer_name") { return .prospects }
        if set.contains("order") && set.contains("order_date") { return .sales }
        return nil
    }

    /// The section kind of a CSV report file, read from its header without reading the rest (beyond one
    /// streamed encoding check). Nil when the file cannot be read or decoded or its header names no section;
    /// `streamCSV` then reports why. Lets a caller prepare for the records (e.g. start a COPY into the
    /// right table) before streaming them.
    public static func csvSectionKind(path: String, options: ReadOptions = ReadOptions()) -> SectionKind? {
        if tooLarge(size: ChunkedFile.size(path: path), options: options) != nil { return nil }
        let issues = IssueCollector(file: path, limit: 1)
        guard let encoding = try? InputDecoder.detect(path: path, allowGB18030: true, collector: issues) else { return nil }
        struct Found: Error {}
        var kind: SectionKind?
        var tokenizer = CSVTokenizer()
        func header(_ row: inout CSVRow) throws {
            kind = sectionKind(ofHeader: (0..<row.fieldCount).map { row.string($0) })
            throw Found()
        }
        do {
            try InputDecoder.stream(path: path, encoding: encoding) { chunk in try tokenizer.consume(chunk, header) }
            try tokenizer.finish(header)
        } catch {}
        return kind
    }

    // MARK: helpers

    /// Rejects (`file_too_large`) a file over `options.maxFileBytes`, or one that is not a regular file (a
    /// pipe or device has no end), from its `stat` alone: for callers that read the file before the reader
    /// does (a checksum), so that such a file is refused without being read.
    public static func checkSize(path: String, fileName: String? = nil, options: ReadOptions = ReadOptions()) throws(FileRejected) {
        try rejectIfTooLarge(size: ChunkedFile.size(path: path), fileName: fileName ?? path, options: options)
    }

    /// The size problem of a file of `size` bytes (nil: unknown size or within `options.maxFileBytes`).
    static func tooLarge(size: Int?, options: ReadOptions) -> ChunkedFile.TooLarge? {
        do throws(ChunkedFile.TooLarge) {
            try ChunkedFile.TooLarge.check(size: size, limit: options.maxFileBytes)
            return nil
        } catch {
            return error
        }
    }

    /// Throws a `file_too_large` rejection when `size` is over `options.maxFileBytes`.
    static func rejectIfTooLarge(size: Int?, fileName: String, options: ReadOptions) throws(FileRejected) {
        guard let problem = tooLarge(size: size, options: options) else { return }
        let issues = IssueCollector(file: fileName, limit: options.maxIssues)
        issues.add(.wholeFile, field: nil, value: nil, rule: .fileTooLarge, problem.message)
        throw issues.rejection()!
    }

    /// The first bytes of a file (empty when it cannot be read: the CSV path then reports the problem).
    static func firstBytes(path: String) -> [UInt8] {
        struct Enough: Error {}
        var head: [UInt8] = []
        try? ChunkedFile.forEachChunk(path: path) { chunk in
            head.append(contentsOf: chunk.prefix(64))
            throw Enough()
        }
        return head
    }

    /// true: JSON, false: CSV, nil: unknown from the name and no bytes to sniff.
    static func isJSON(name: String, firstBytes: [UInt8]?) -> Bool? {
        let lower = name.lowercased()
        if lower.hasSuffix(".json") { return true }
        if lower.hasSuffix(".csv") { return false }
        guard let firstBytes else { return nil }
        var i = 0
        if firstBytes.count >= 3, firstBytes[0] == 0xEF, firstBytes[1] == 0xBB, firstBytes[2] == 0xBF { i = 3 }
        while i < firstBytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(firstBytes[i]) { i += 1 }
        return i < firstBytes.count && firstBytes[i] == UInt8(ascii: "{")
    }

    /// Groups streamed records into store-day reports (in file order within each).
    struct Grouper {
        private var index: [StoreDay: Int] = [:]
        private var keys: [StoreDay] = []
        private var firstLocation: [InputLocation] = []
        private var visits: [[Visit]] = []
        private var prospects: [[Prospect]] = []
        private var sales: [[Sale]] = []
        private var last = -1

        mutating func add(_ sd: StoreDay, _ r: ReportRecord) {
            var i = last
            if i < 0 || keys[i] != sd {
                if let known = index[sd] {
                    i = known
                } else {
                    i = keys.count
                    index[sd] = i
                    keys.append(sd)
                    firstLocation.append(r.origin.location)
                    visits.append([])
                    prospects.append([])
                    sales.append([])
                }
                last = i
            }
            switch r {
            case .visit(let v): visits[i].append(v)
            case .prospect(let p): prospects[i].append(p)
            case .sale(let s): sales[i].append(s)
            }
        }

        func file(name: String, summary: CSVStreamSummary) -> ReportFile {
            let kind = summary.kind ?? .visits
            let order = keys.indices.sorted { keys[$0] < keys[$1] }
            let reports = order.map { i in
                StoreDayReport(storeDay: keys[i],
                               visits: kind == .visits ? visits[i] : nil,
                               prospects: kind == .prospects ? prospects[i] : nil,
                               sales: kind == .sales ? sales[i] : nil,
                               origin: RecordOrigin(file: name, location: firstLocation[i]))
            }
            return ReportFile(file: name, form: .csv(kind), encoding: summary.encoding ?? .utf8, reports: reports)
        }
    }
}

/// Thrown inside the tokenizer callback to stop reading (cap reached or unusable header).
struct StopReading: Error {}

/// Carries a caller's error out through the reader's internals.
struct Forwarded: Error {
    let error: any Error
}

/// Tracks values that must be unique within a scope (a store-day, a store, a file).
struct UniqueIndex {
    private struct Key: Hashable {
        let scope: Int32
        let value: String
    }

    private var seen: [Key: Int32] = [:]

    /// Records the value; returns where it was first seen if it is a duplicate.
    mutating func insert(scope: Int, value: String, at position: Int) -> Int? {
        let k = Key(scope: Int32(truncatingIfNeeded: scope), value: value)
        if let first = seen[k] { return Int(first) }
        seen[k] = Int32(truncatingIfNeeded: position)
        return nil
    }
}

/// Store-level reference rules shared by JSON and CSV: the store exists and is open on the business date,
/// and the business date is not after the receipt day. Returns false after recording issues.
func checkStoreDay(_ sd: StoreDay, reference: ReferenceData?, issues: IssueCollector,
                   storeLocation: InputLocation, dateLocation: InputLocation, storeName: String, dateName: String) -> Bool {
    guard let reference else { return true }
    var ok = true
    if let store = reference.stores[sd.store] {
        if !store.isOpen(on: sd.businessDate) {
            let window = "opened \(store.openedOn)" + (store.closedOn.map { ", closed from \($0)" } ?? "")
            issues.add(storeLocation, field: storeName, value: sd.store, rule: .storeNotOpen,
                       "store '\(sd.store)' is not open on \(sd.businessDate) (\(window))")
            ok = false
        }
    } else {
        issues.add(storeLocation, field: storeName, value: sd.store, rule: .unknownStore,
                   "unknown store code '\(sd.store)': add it to master data")
        ok = false
    }
    if sd.businessDate > reference.receiptDay {
        issues.add(dateLocation, field: dateName, value: sd.businessDate.description, rule: .businessDateAfterReceipt,
                   "\(dateName) \(sd.businessDate) is after the day the report was received (\(reference.receiptDay))")
        ok = false
    }
    return ok
}

/// Validates the rows of one CSV section file as the tokenizer hands them over. Not thread-safe.
final class CSVReportParser {
    let file: String
    let issues: IssueCollector
    let reference: ReferenceData?

    private var headerDone = false
    private(set) var kind: SectionKind?
    private var columns: [Int] = []
    private var headerCount = 0
    private var pendingTotal: CSVRow?

    /// Per store-day seen: its store's index, whether it passed the store-level rules, records delivered.
    private struct StoreDaySlot {
        let key: StoreDay
        let storeIndex: Int
        let ok: Bool
        var count = 0
    }

    private var slots: [StoreDaySlot] = []
    private var slotIndex: [StoreDay: Int] = [:]
    private var lastSlot = -1   // rows of one store-day usually come together: skip the hash lookup
    private var storeIndex: [String: Int] = [:]
    private var ids = UniqueIndex()
    private var vinOwners: [String: (store: String, order: String, line: Int)] = [:]

    typealias Deliver = (StoreDay, ReportRecord) throws -> Void

    init(file: String, issues: IssueCollector, reference: ReferenceData?) {
        self.file = file
        self.issues = issues
        self.reference = reference
    }

    func summary(encoding: TextEncoding?) -> CSVStreamSummary {
        var counts: [StoreDay: Int] = [:]
        for slot in slots where slot.count > 0 { counts[slot.key] = slot.count }
        return CSVStreamSummary(file: file, kind: kind, encoding: encoding, recordCounts: counts, rejection: issues.rejection())
    }

    private func stopIfFull() throws {
        if issues.isFull { throw StopReading() }
    }

    func handle(_ row: inout CSVRow, _ deliver: Deliver) throws {
        guard headerDone else {
            try header(row)
            return
        }
        if row.problem == nil, row.isBlank { return }
        if let pending = pendingTotal {
            pendingTotal = nil
            try data(pending, deliver) // a total row that is not the last row is data
        }
        if let p = row.problem {
            issues.add(.line(p.line), field: nil, value: nil, rule: .csvSyntax, p.message)
            try stopIfFull()
            return
        }
        if Self.isTotalRow(row) {
            pendingTotal = row
            return
        }
        try data(row, deliver)
    }

    /// End of input: a pending total row was the trailing one and is skipped.
    func finish() {
        pendingTotal = nil
        if !headerDone {
            issues.add(.wholeFile, field: nil, value: nil, rule: .header, "the file is empty: a header row is required")
        }
    }

    static func isTotalRow(_ row: CSVRow) -> Bool {
        guard row.fieldCount > 0 else { return false }
        let first = row.string(0)
        return first == "合计" || first == "总计" || first.lowercased() == "total"
    }

    private func header(_ row: CSVRow) throws {
        headerDone = true
        if let p = row.problem {
            issues.add(.line(p.line), field: nil, value: nil, rule: .csvSyntax, p.message)
            throw StopReading()
        }
        if row.isBlank {
            issues.add(.line(row.line), field: nil, value: nil, rule: .header, "line 1 must be the header row but it is empty")
            throw StopReading()
        }
        let names = (0..<row.fieldCount).map { row.string($0) }
        if let detected = ReportReader.sectionKind(ofHeader: names) {
            kind = detected
        } else {
            var msg = "the header does not name a report section: expected a visit_id column (visits), card and customer_name (prospects), or order and order_date (sales)"
            if let m = MasterDataReader.detectKind(names) {
                msg += "; it looks like a master-data file (\(m.rawValue)), which is loaded, not ingested"
            }
            issues.add(.line(row.line), field: nil, value: nil, rule: .fileKind, msg)
            throw StopReading()
        }
        headerCount = row.fieldCount
        columns = [Int](repeating: -1, count: ReportField.allCases.count)
        let wanted: [(ReportField, Bool)] = [(.store, true), (.businessDate, true)] + ReportField.fields(of: kind!).map { ($0.field, $0.requiredColumn) }
        for (f, required) in wanted {
            let idx = names.indices.filter { names[$0] == f.csvName }
            if idx.count > 1 {
                issues.add(.line(row.line), field: f.csvName, value: nil, rule: .duplicateColumn,
                           "column \(f.csvName) appears \(idx.count) times in the header")
            } else if let i = idx.first {
                columns[f.rawValue] = i
            } else if required {
                issues.add(.line(row.line), field: f.csvName, value: nil, rule: .missingColumn,
                           "the \(kind!.rawValue) file has no \(f.csvName) column, which is required")
            }
        }
        if !issues.isEmpty { throw StopReading() }
    }

    private func data(_ row: CSVRow, _ deliver: Deliver) throws {
        guard row.fieldCount == headerCount else {
            issues.add(.line(row.line), field: nil, value: nil, rule: .raggedRow,
                       "the row has \(row.fieldCount) field(s) but the header has \(headerCount)")
            try stopIfFull()
            return
        }
        let src = CSVFieldSource(row: row, columns: columns)
        var d = RecordDecoder(src, issues: issues, reference: reference)
        let store = d.required(.store, d.code(.store, nil))
        let date = d.required(.businessDate, d.date(.businessDate))
        var slot = -1
        if let store, let date { slot = self.slot(StoreDay(store: store, businessDate: date), line: row.line) }
        let origin = RecordOrigin(file: file, location: .line(row.line))
        let record: ReportRecord?
        switch kind! {
        case .visits:
            record = RecordDecoding.visit(&d, origin: origin).map(ReportRecord.visit)
        case .prospects:
            record = RecordDecoding.prospect(&d, businessDate: date, origin: origin).map(ReportRecord.prospect)
        case .sales:
            record = RecordDecoding.sale(&d, businessDate: date, origin: origin).map(ReportRecord.sale)
        }
        if let record, slot >= 0 {
            checkUnique(record, slot, line: row.line)
            if slots[slot].ok, issues.isEmpty {
                slots[slot].count += 1
                try deliver(slots[slot].key, record)
            }
        }
        try stopIfFull()
    }

    /// The slot of a store-day, checking the store-level rules the first time it is seen.
    private func slot(_ key: StoreDay, line: Int) -> Int {
        if lastSlot >= 0, slots[lastSlot].key == key { return lastSlot }
        if let i = slotIndex[key] {
            lastSlot = i
            return i
        }
        let ok = checkStoreDay(key, reference: reference, issues: issues, storeLocation: .line(line),
                               dateLocation: .line(line), storeName: "store", dateName: "business_date")
        let si: Int
        if let known = storeIndex[key.store] {
            si = known
        } else {
            si = storeIndex.count
            storeIndex[key.store] = si
        }
        let i = slots.count
        slots.append(StoreDaySlot(key: key, storeIndex: si, ok: ok))
        slotIndex[key] = i
        lastSlot = i
        return i
    }

    private func checkUnique(_ record: ReportRecord, _ slot: Int, line: Int) {
        let sd = slots[slot].key
        switch record {
        case .visit(let v):
            if let first = ids.insert(scope: slot, value: v.id, at: line) {
                issues.add(.line(line), field: "visit_id", value: v.id, rule: .duplicateId,
                           "visit_id '\(v.id)' is given twice for store \(sd.store) on \(sd.businessDate) (first on line \(first))")
            }
        case .prospect(let p):
            if let first = ids.insert(scope: slot, value: p.card, at: line) {
                issues.add(.line(line), field: "card", value: p.card, rule: .duplicateId,
                           "card '\(p.card)' is given twice for store \(sd.store) on \(sd.businessDate) (first on line \(first))")
            }
        case .sale(let s):
            if let first = ids.insert(scope: slot, value: s.order, at: line) {
                issues.add(.line(line), field: "order", value: s.order, rule: .duplicateId,
                           "order '\(s.order)' is given twice for store \(sd.store) on \(sd.businessDate) (first on line \(first))")
            }
            // The same order may appear on several days of a multi-day file; a VIN may not belong to two orders.
            if let vin = s.vin {
                if let owner = vinOwners[vin] {
                    if owner.store != sd.store || owner.order != s.order {
                        issues.add(.line(line), field: "vin", value: vin, rule: .duplicateId,
                                   "vin '\(vin)' is also given for order '\(owner.order)' of store \(owner.store) on line \(owner.line)")
                    }
                } else {
                    vinOwners[vin] = (sd.store, s.order, line)
                }
            }
        }
    }
}

/// Reads one JSON report. Not thread-safe (one per document).
struct JSONReportReader {
    let issues: IssueCollector
    let reference: ReferenceData?
    let file: String
    let maxDepth: Int

    func read(_ raw: [UInt8]) -> StoreDayReport? {
        guard let (bytes, _) = InputDecoder.decode(raw, allowGB18030: false, collector: issues) else { return nil }
        let start = bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0
        let parsed: Result<JSONValue, JSONSyntaxError> = bytes.withUnsafeBufferPointer { all in
            let buf = UnsafeBufferPointer(rebasing: all[start...])
            do throws(JSONSyntaxError) {
                return .success(try JSONParser.parse(buf, maxDepth: maxDepth))
            } catch {
                return .failure(error)
            }
        }
        let root: JSONValue
        switch parsed {
        case .success(let v): root = v
        case .failure(let e):
            let pos = bytes.withUnsafeBufferPointer { e.position(in: UnsafeBufferPointer(rebasing: $0[start...])) }
            issues.add(.textPosition(line: pos.line, column: pos.column), field: nil, value: nil, rule: e.rule, e.message)
            return nil
        }
        guard case .object(let top) = root else {
            issues.add(.jsonPath("$"), field: nil, value: nil, rule: .jsonType, "a report must be a JSON object, not \(root.typeName == "array" ? "an" : "a") \(root.typeName)")
            return nil
        }
        let src = JSONFieldSource(object: top, path: "$")
        var d = RecordDecoder(src, issues: issues, reference: reference)
        let format = d.required(.format, d.text(.format))
        guard let format else { return nil }
        guard format == ReportReader.formatV1 else {
            d.fail(.format, format, .formatVersion, "format must be \"\(ReportReader.formatV1)\"")
            return nil
        }
        let store = d.required(.store, d.code(.store, nil))
        let date = d.required(.businessDate, d.date(.businessDate))
        var sd: StoreDay?
        if let store, let date {
            let key = StoreDay(store: store, businessDate: date)
            sd = key
            _ = checkStoreDay(key, reference: reference, issues: issues, storeLocation: .jsonPath("$.store"),
                              dateLocation: .jsonPath("$.business_date"), storeName: "store", dateName: "business_date")
        }
        var ids = UniqueIndex()
        func duplicate(_ kind: SectionKind, _ k: Int, _ field: String, _ value: String, scope: Int) {
            if let first = ids.insert(scope: scope, value: value, at: k) {
                issues.add(.jsonPath("$.\(kind.rawValue)[\(k)].\(field)"), field: field, value: value, rule: .duplicateId,
                           "\(field) '\(value)' is given twice in this report (first at $.\(kind.rawValue)[\(first)])")
            }
        }
        let visits: [Visit]? = section(top, .visits) { d, k, origin in
            let v = RecordDecoding.visit(&d, origin: origin)
            if let v { duplicate(.visits, k, "id", v.id, scope: 0) }
            return v
        }
        let prospects: [Prospect]? = section(top, .prospects) { d, k, origin in
            let p = RecordDecoding.prospect(&d, businessDate: date, origin: origin)
            if let p { duplicate(.prospects, k, "card", p.card, scope: 1) }
            return p
        }
        let sales: [Sale]? = section(top, .sales) { d, k, origin in
            let s = RecordDecoding.sale(&d, businessDate: date, origin: origin)
            if let s {
                duplicate(.sales, k, "order", s.order, scope: 2)
                if let vin = s.vin { duplicate(.sales, k, "vin", vin, scope: 3) }
            }
            return s
        }
        guard issues.isEmpty, let sd else { return nil }
        return StoreDayReport(storeDay: sd, visits: visits, prospects: prospects, sales: sales,
                              origin: RecordOrigin(file: file, location: .jsonPath("$")))
    }

    /// Decodes one section array; nil when the report does not carry it (absent or null).
    private func section<T>(_ top: JSONObject, _ kind: SectionKind,
                            _ decode: (inout RecordDecoder<JSONFieldSource>, Int, RecordOrigin) -> T?) -> [T]? {
        guard let value = top[kind.rawValue] else { return nil }
        let items: [JSONValue]
        switch value {
        case .null: return nil
        case .array(let a): items = a
        default:
            issues.add(.jsonPath("$.\(kind.rawValue)"), field: kind.rawValue, value: nil, rule: .jsonType,
                       "\(kind.rawValue) must be an array (or null / absent when the report does not carry it)")
            return nil
        }
        var out: [T] = []
        out.reserveCapacity(items.count)
        for (k, item) in items.enumerated() {
            if issues.isFull { break }
            let path = "$.\(kind.rawValue)[\(k)]"
            guard case .object(let o) = item else {
                issues.add(.jsonPath(path), field: nil, value: nil, rule: .jsonType, "each element of \(kind.rawValue) must be an object")
                continue
            }
            var d = RecordDecoder(JSONFieldSource(object: o, path: path), issues: issues, reference: reference)
            if let r = decode(&d, k, RecordOrigin(file: file, location: .jsonPath(path))) { out.append(r) }
        }
        return out
    }
}
