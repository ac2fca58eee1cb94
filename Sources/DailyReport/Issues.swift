/// A stable, machine-readable code naming the rule an input violated.
///
/// The raw values are part of the error contract (they appear in the machine-readable error list of a
/// rejected file) and never change meaning. Value type; `Sendable`; safe to use from any thread.
public enum Rule: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    // File level
    /// The file could not be read.
    case io
    /// The bytes are neither strictly valid UTF-8 nor valid GB18030 (JSON: not valid UTF-8).
    case encoding
    /// The file is larger than the configured maximum report size (`ReadOptions.maxFileBytes`); it was
    /// rejected before any of it was parsed.
    case fileTooLarge = "file_too_large"
    /// The file is empty or its first row is empty: a header row is required.
    case header
    /// A column the detected file kind needs appears more than once in the header.
    case duplicateColumn = "duplicate_column"
    /// The header does not identify a known file kind.
    case fileKind = "file_kind"
    /// A required column is missing from the header.
    case missingColumn = "missing_column"
    /// CSV syntax: an unterminated quoted field or text after a closing quote.
    case csvSyntax = "csv_syntax"
    /// A CSV row whose number of fields differs from the header's.
    case raggedRow = "ragged_row"
    /// JSON syntax (RFC 8259); the location is a line and column.
    case jsonSyntax = "json_syntax"
    /// JSON arrays/objects nested deeper than the limit.
    case nestingDepth = "nesting_depth"
    /// A JSON object has the same member name twice.
    case duplicateMember = "duplicate_member"
    /// A JSON value of the wrong type (e.g. a number where a string is expected).
    case jsonType = "json_type"
    /// `format` is not `dealer-daily-report/1`.
    case formatVersion = "format_version"
    /// The file was fine, but another file of the same upload was rejected: an upload is stored all or
    /// nothing (contract 1.1, section 5), so nothing of it was stored.
    case uploadRejected = "upload_rejected"

    // Field level, context free
    /// A required value is missing, empty or null.
    case required
    /// A value was given where the record's state forbids it (e.g. `closed_on` on an open card).
    case notAllowed = "not_allowed"
    /// A value outside its enumeration.
    case enumValue = "enum_value"
    /// An id (`id`, `card`, `order`, `existing_card`, `new_card`) that is not 1 to 64 characters.
    case idLength = "id_length"
    /// A master-data code that is not `[A-Za-z0-9_-]{1,32}`.
    case codeFormat = "code_format"
    /// A C0 control character other than tab (including NUL) in a value.
    case controlCharacter = "control_character"
    /// A date that is not a real `YYYY-MM-DD` calendar day.
    case dateFormat = "date_format"
    /// A month that is not `YYYY-MM`.
    case monthFormat = "month_format"
    /// Dates in the wrong order (e.g. `closed_on` before `created_on`, or a date after `business_date`).
    case dateOrder = "date_order"
    /// A VIN that is not 17 characters of `[A-HJ-NPR-Z0-9]`.
    case vinFormat = "vin_format"
    /// A boolean that is not one of `true/false/1/0/是/否/Y/N`.
    case booleanFormat = "boolean_format"
    /// An integer that is not plain decimal digits.
    case integerFormat = "integer_format"
    /// An amount that is not a plain decimal with at most 2 fractional digits.
    case moneyFormat = "money_format"
    /// A number outside its allowed range.
    case range
    /// An id, card, order, VIN or master-data key given twice where it must be unique.
    case duplicateId = "duplicate_id"
    /// A master-data or plan key given twice in one file.
    case duplicateKey = "duplicate_key"

    // Field level, needing reference data
    case unknownStore = "unknown_store"
    /// A region code that master data does not know (a store's `region_code`).
    case unknownRegion = "unknown_region"
    case storeNotOpen = "store_not_open"
    case unknownSalesperson = "unknown_salesperson"
    case unknownModel = "unknown_model"
    case businessDateAfterReceipt = "business_date_after_receipt"

    public var description: String { rawValue }
}

/// Where in a file something is: the whole file, a CSV physical line (header = 1), a JSON path
/// (`$.visits[3].party_size`, array indexes 0-based), or a text position (JSON syntax errors; line and
/// column are 1-based, the column counts Unicode scalars).
///
/// Value type; `Sendable`; safe to use from any thread.
public enum InputLocation: Hashable, Sendable, CustomStringConvertible {
    case wholeFile
    case line(Int)
    case jsonPath(String)
    case textPosition(line: Int, column: Int)

    /// The CSV line or text line, if the location has one.
    public var line: Int? {
        switch self {
        case .line(let l), .textPosition(let l, _): return l
        case .wholeFile, .jsonPath: return nil
        }
    }

    /// The JSON path, if the location is one.
    public var jsonPath: String? {
        if case .jsonPath(let p) = self { return p }
        return nil
    }

    public var description: String {
        switch self {
        case .wholeFile: return "file"
        case .line(let l): return "line \(l)"
        case .jsonPath(let p): return p
        case .textPosition(let l, let c): return "line \(l), column \(c)"
        }
    }
}

/// The file and location a record or row came from.
///
/// Value type; `Sendable`; safe to use from any thread.
public struct RecordOrigin: Hashable, Sendable, CustomStringConvertible {
    /// The file name as given to the reader.
    public var file: String
    /// A CSV line (where the record starts) or a JSON path such as `$.visits[3]`.
    public var location: InputLocation

    public init(file: String, location: InputLocation) {
        self.file = file
        self.location = location
    }

    public var description: String { "\(file): \(location)" }
}

/// One violation found in an input file: machine readable (file, location, field, value, rule) plus a
/// human message in English.
///
/// PII is never reported: for `customer_name` the value is masked (`张*`), for `phone` it is nil. Other
/// values are reported verbatim except that C0 control characters are written as `\u{0}`-style escapes
/// and values longer than 200 characters are cut (with `…`).
///
/// Value type; `Sendable`; safe to use from any thread.
public struct ValidationIssue: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var location: InputLocation
    /// The CSV column or JSON member name the issue is about; nil for file- or row-level issues.
    public var field: String?
    /// The offending value (see the type's documentation for masking); nil when there is none.
    public var value: String?
    public var rule: Rule
    public var message: String

    public init(file: String, location: InputLocation, field: String?, value: String?, rule: Rule, message: String) {
        self.file = file
        self.location = location
        self.field = field
        self.value = value
        self.rule = rule
        self.message = message
    }

    public var description: String {
        var s = "\(file): \(location)"
        if let field { s += ": \(field)" }
        s += ": [\(rule.rawValue)] \(message)"
        if let value { s += " (value: \"\(value)\")" }
        return s
    }
}

/// The error a reader throws when a file is rejected: every issue found (at most the configured cap,
/// 100 by default; `isTruncated` then says more were omitted and checking stopped there).
///
/// A rejected file must change nothing: callers load a file all or nothing.
/// Value type; `Sendable`; safe to use from any thread.
public struct FileRejected: Error, Hashable, Sendable, CustomStringConvertible {
    public var file: String
    /// The issues in the order found; never empty.
    public var issues: [ValidationIssue]
    /// True when the cap was reached: checking stopped and further issues were omitted.
    public var isTruncated: Bool

    public init(file: String, issues: [ValidationIssue], isTruncated: Bool) {
        self.file = file
        self.issues = issues
        self.isTruncated = isTruncated
    }

    /// The issues' rules, in order (handy in tests and logs).
    public var rules: [Rule] { issues.map(\.rule) }

    public var description: String {
        var lines = ["\(file): rejected, \(issues.count) error(s)\(isTruncated ? " (more omitted)" : "")"]
        lines += issues.map { "  " + $0.description }
        if isTruncated { lines.append("  … more errors were omitted: checking stopped after \(issues.count)") }
        return lines.joined(separator: "\n")
    }
}

/// Options shared by the readers. Value type; `Sendable`.
public struct ReadOptions: Sendable, Hashable {
    /// Stop checking a file after this many issues (the default 100); the error then says more were omitted.
    public var maxIssues: Int
    /// The deepest JSON array/object nesting accepted (default 64; a report needs 3). Values above
    /// `jsonDepthCeiling` act as the ceiling: the parser is recursive, and no setting may let a hostile
    /// document exhaust the stack.
    public var maxJSONDepth: Int

    /// The most `maxJSONDepth` can allow (512 levels: a few hundred KB of stack at most).
    public static let jsonDepthCeiling = 512
    /// The largest report or master-data file accepted, in bytes (default 64 MiB). Larger files are rejected
    /// with `file_too_large` before a byte of them is parsed, so an oversized (or hostile) file costs
    /// neither memory nor time. One store's daily report is a few MB and the HTTP API caps bodies at
    /// 50 MB by default; a CSV export of many stores and days should be split.
    public var maxFileBytes: Int

    /// The default `maxFileBytes`: 64 MiB.
    public static let defaultMaxFileBytes = 64 << 20

    public init(maxIssues: Int = 100, maxJSONDepth: Int = 64, maxFileBytes: Int = ReadOptions.defaultMaxFileBytes) {
        self.maxIssues = max(1, maxIssues)
        self.maxJSONDepth = max(1, maxJSONDepth)
        self.maxFileBytes = max(0, maxFileBytes)
    }
}

/// Collects issues of one file up to a cap. Not thread-safe (one per file read).
final class IssueCollector {
    let file: String
    let limit: Int
    private(set) var issues: [ValidationIssue] = []
    /// Set when an issue beyond the limit was dropped: the caller stops checking.
    private(set) var isTruncated = false

    init(file: String, limit: Int) {
        self.file = file
        self.limit = limit
    }

    var isEmpty: Bool { issues.isEmpty }
    var count: Int { issues.count }
    /// True once checking should stop.
    var isFull: Bool { isTruncated }

    func add(_ location: InputLocation, field: String?, value: String?, rule: Rule, _ message: String) {
        guard !isTruncated else { return }
        guard issues.count < limit else {
            isTruncated = true
            return
        }
        issues.append(ValidationIssue(file: file, location: location, field: field,
                                      value: value.map(IssueCollector.displayValue), rule: rule, message: message))
    }

    func rejection() -> FileRejected? {
        issues.isEmpty ? nil : FileRejected(file: file, issues: issues, isTruncated: isTruncated)
    }

    /// Escapes C0 controls and cuts long values so an issue list is safe to print and to store.
    static func displayValue(_ v: String) -> String {
        var out = ""
        var n = 0
        for s in v.unicodeScalars {
            if n == 200 { out += "…"; break }
            if s.value < 0x20 || s.value == 0x7F {
                out += "\\u{\(String(s.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(s)
            }
            n += 1
        }
        return out
    }
}
