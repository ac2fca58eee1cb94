public import CivilCalendar
public import Foundation

/// How one bound parameter travels to the server.
public enum PostgresBinding: Sendable, Hashable {
    case null
    /// The value in PostgreSQL's text input format (UTF-8).
    case text(String)
    /// Raw bytes in the type's binary format (used for `bytea`).
    case binary([UInt8])
}

/// A Swift value that can be bound as a query parameter.
///
/// Conformers produce the value in PostgreSQL's text input syntax (or binary for `bytea`), so every value
/// is sent out-of-band as a `$n` parameter and is never spliced into SQL text.
public protocol PostgresEncodable: Sendable {
    /// The parameter's type OID (`.unspecified` lets the server infer it from context).
    static var postgresDataType: PostgresDataType { get }
    func postgresBinding() -> PostgresBinding
}

/// A Swift value that can be decoded from a result column in text format.
public protocol PostgresDecodable: Sendable {
    /// Decodes from the column's text representation. Throw `PostgresDecodingFailure` with a reason.
    static func decode(postgresText: String, type: PostgresDataType) throws(PostgresDecodingFailure) -> Self
    /// Value used for SQL NULL; the default throws, `Optional` returns nil.
    static func decodeNull(type: PostgresDataType) throws(PostgresDecodingFailure) -> Self
}

extension PostgresDecodable {
    public static func decodeNull(type: PostgresDataType) throws(PostgresDecodingFailure) -> Self {
        throw PostgresDecodingFailure("unexpected NULL")
    }
}

/// Why a single value could not be decoded; `PostgresRow` wraps it with the column name and both types.
public struct PostgresDecodingFailure: Error, Sendable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
}

public typealias PostgresCodable = PostgresEncodable & PostgresDecodable

// MARK: - Optional

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { Wrapped.postgresDataType }
    public func postgresBinding() -> PostgresBinding {
        switch self {
        case .none: .null
        case .some(let v): v.postgresBinding()
        }
    }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public static func decode(postgresText: String, type: PostgresDataType) throws(PostgresDecodingFailure) -> Self {
        try Wrapped.decode(postgresText: postgresText, type: type)
    }
    public static func decodeNull(type: PostgresDataType) throws(PostgresDecodingFailure) -> Self { nil }
}

// MARK: - Text

extension String: PostgresCodable {
    /// Sent as `text`; cast in SQL (`$1::date`) where another type is meant.
    public static var postgresDataType: PostgresDataType { .text }
    public func postgresBinding() -> PostgresBinding { .text(self) }
    public static func decode(postgresText: String, type: PostgresDataType) throws(PostgresDecodingFailure) -> String {
        postgresText
    }
}

// MARK: - Bool

extension Bool: PostgresCodable {
    public static var postgresDataType: PostgresDataType { .bool }
    public func postgresBinding() -> PostgresBinding { .text(self ? "t" : "f") }
    public static func decode(postgresText: String, type: PostgresDataType) throws(PostgresDecodingFailure) -> Bool {
        switch postgresText {
        case "t", "true": return true
        case "f", "false": return false
        default: throw PostgresDecodingFailure("not a boolean")
        }
    }
}

// MARK: - Integers

protocol PostgresInteger: FixedWidthInteger, PostgresCodable {}

extension PostgresInteger {
    public func postgresBinding() -> PostgresBinding { .text(String(self)) }
    public static func decode(postgresText: String, type: PostgresDataType) throws(PostgresDecodingFailure) -> Self {
        guard let v = Self(postgresText) else {
            throw PostgresDecodingFailure("not an integer in \(Self.min)...\(Self.max)")
        }
        return v
    }
}

extension Int16: PostgresInteger { public static var postgresDataType: PostgresDataType { .int2 } }
extension Int32: PostgresInteger { public static var postgresDataType: PostgresDataType { .int4 } }
extension Int64: PostgresInteger { public static var postgresDataType: PostgresDataType { .int8 } }
extension Int: PostgresInteger { public static var postgresDataType: PostgresDataType { .int8 } }

// MARK: - Floating point

extension Double: PostgresCodable {
    public static var postgresDataType: PostgresDataType { .float8 }
    public func postgresBinding() -> PostgresBinding {
        if isNaN { return .text("NaN") }
        if isInfinite { return .text(self > 0 ? "Infinity" : "-Infinity") }
        return .text("\(self)")
    }
    public static func decode(postgresText: String, type: PostgresDataType) throws(PostgresDecodingFailure) -> Double {
        switch postgresText {
        case "NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default:
            guard let v = Double(postgresText) else { throw PostgresDecodingFailure("not a number") }
            return v
        }
    }
}

// MARK: - Exact decimal

extension Decimal: PostgresCodable {
    /// `numeric`, exact: the value travels as its decimal digits, never through binary floating point.
    public static var postgresDataType: PostgresDataType { .numeric }
    public func postgresBinding() -> PostgresBinding {
        isNaN ? .text("NaN") : .text(PostgresDecimalText.format(self))
    }
    public static func decode(postgresText: String, type: PostgresDataType) throws(PostgresDecodingFailure) -> Decimal {
        guard let v = PostgresDecimalText.parse(postgresText) else {
            throw PostgresDecodingFailure("not a decimal within Decimal's 38 significant digits")
        }
        return v
    }
}

/// Exact text conversion for `Decimal`, independent of the process locale.
enum PostgresDecimalText {
    static func parse(_ s: String) -> Decimal? {
        if s == "NaN" { return Decimal.nan }
        // Validate the syntax ourselves: `Decimal(string:)` accepts prefixes of garbage.
        let u = Array(s.utf8)
        var sawDigit = false, sawDot = false, exponentAt: Int? = nil, exponentDigit = false
        for (i, c) in u.enumerated() {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if exponentAt == nil { sawDigit = true } else { exponentDigit = true }
            case UInt8(ascii: "."):
                guard !sawDot, exponentAt == nil else { return nil }
                sawDot = true
            case UInt8(ascii: "-"), UInt8(ascii: "+"):
                guard i == 0 || exponentAt == i - 1 else { return nil }
            case UInt8(ascii: "e"), UInt8(ascii: "E"):
                guard sawDigit, exponentAt == nil else { return nil }
                exponentAt = i
            default:
                return nil
            }
        }
        guard sawDigit, exponentAt == nil || exponentDigit else { return nil }
        // Decimal holds 38 significant digits; refuse rather than round silently.
        let mantissa = u[..<(exponentAt ?? u.count)].filter { $0 >= 48 && $0 <= 57 }
        let significant = mantissa.drop(while: { $0 == 48 }).reversed().drop(while: { $0 == 48 })
        guard significant.count <= 38 else { return nil }
        return Decimal(string: s, locale: Locale(identifier: "en_US_POSIX"))
    }

    static func format(_ d: Decimal) -> String {
        d.description
    }
}

// MARK: - Dates and times

extension CalendarDate: PostgresCodable {
    public static var postgresDataType: PostgresDataType { .date }
    public func postgresBinding() -> PostgresBinding {
        year >= 1 ? .text(description) : .text("\(CalendarDate.pad(1 - year, 4))-\(CalendarDate.pad(month, 2))-\(CalendarDate.pad(day, 2)) BC")
    }
    public static func decode(postgresText: String, type: PostgresDataType) throws(PostgresDecodingFailure) -> CalendarDate {
        // DateStyle ISO: `YYYY-MM-DD`, years beyond 9999 have more digits, BC dates end in " BC".
        var text = Substring(postgresText)
        var bc = false
        if text.hasSuffix(" BC") { bc = true; text = text.dropLast(3) }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
              let date = CalendarDate(year: bc ? 1 - y : y, month: m, day: d)
        else { throw PostgresDecodingFailure("not a date (expected DateStyle ISO)") }
        return date
    }

    static func pad(_ v: Int, _ w: Int) -> String {
        let s = String(v)
        return s.count >= w ? s : String(repeating: "0", count: w - s.count) + s
    }
}

extension Date: PostgresCodable {
    /// `timestamptz`, microsecond precision, written in UTC.
    public static var postgresDataType: PostgresDataType { .timestamptz }
    public func postgresBinding() -> PostgresBinding { .text(PostgresTimestamp.format(self)) }
    public static func decode(postgresText: String, type: PostgresDataType) throws(PostgresDecodingFailure) -> Date {
        guard let d = PostgresTimestamp.parse(postgresText) else {
            throw PostgresDecodingFailure("not a timestamp (expected DateStyle ISO)")
        }
        return d
    }
}

/// Text conversion of `timestamptz` without Foundation's locale-dependent formatters.
public enum PostgresTimestamp {
    /// `YYYY-MM-DD HH:MM:SS.ffffff+00`.
    public static func format(_ date: Date) -> String {
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        var days = micros / 86_400_000_000
        var rem = micros % 86_400_000_000
        if rem < 0 { rem += 86_400_000_000; days -= 1 }
        let d = CalendarDate(daysSinceEpoch: Int(days))
        let h = rem / 3_600_000_000
        let mi = (rem / 60_000_000) % 60
        let s = (rem / 1_000_000) % 60
        let us = rem % 1_000_000
        let p = CalendarDate.pad
        let datePart = d.year >= 1 ? d.description : "\(p(1 - d.year, 4))-\(p(d.month, 2))-\(p(d.day, 2))"
        let suffix = d.year >= 1 ? "+00" : "+00 BC"
        return "\(datePart) \(p(Int(h), 2)):\(p(Int(mi), 2)):\(p(Int(s), 2)).\(p(Int(us), 6))\(suffix)"
    }

    /// Parses ISO output such as `2026-03-02 13:30:00.5+08` or `2026-03-02T13:30:00+08:00` (RFC 3339).
    public static func parse(_ text: String) -> Date? {
        var s = Substring(text)
        var bc = false
        if s.hasSuffix(" BC") { bc = true; s = s.dropLast(3) }
        guard let sep = s.firstIndex(where: { $0 == " " || $0 == "T" }) else { return nil }
        guard let date = try? CalendarDate.decode(postgresText: String(s[..<sep]), type: .date) else { return nil }
        var rest = s[s.index(after: sep)...]
        // Zone: trailing Z, or +HH, +HH:MM, +HH:MM:SS (or -).
        var offsetSeconds = 0
        if rest.hasSuffix("Z") || rest.hasSuffix("z") {
            rest = rest.dropLast()
        } else if let signIdx = rest.lastIndex(where: { $0 == "+" || $0 == "-" }) {
            let zone = rest[rest.index(after: signIdx)...].split(separator: ":")
            guard !zone.isEmpty, zone.count <= 3 else { return nil }
            var secs = 0
            for (i, part) in zone.enumerated() {
                guard let v = Int(part) else { return nil }
                secs += v * [3600, 60, 1][i]
            }
            offsetSeconds = rest[signIdx] == "-" ? -secs : secs
            rest = rest[..<signIdx]
        } else {
            return nil
        }
        let hms = rest.split(separator: ":")
        guard hms.count == 3, let h = Int(hms[0]), let m = Int(hms[1]) else { return nil }
        let secParts = hms[2].split(separator: ".", omittingEmptySubsequences: false)
        guard let sec = Int(secParts[0]) else { return nil }
        var micros = 0
        if secParts.count == 2 {
            let frac = secParts[1].prefix(6)
            guard let f = Int(frac) else { return nil }
            micros = f * Int(pow(10.0, Double(6 - frac.count)))
        }
        let d = bc ? CalendarDate(year: 1 - date.year, month: date.month, day: date.day)! : date
        let total = Int64(d.daysSinceEpoch) * 86_400_000_000 + Int64(h * 3600 + m * 60 + sec - offsetSeconds) * 1_000_000 + Int64(micros)
        return Date(timeIntervalSince1970: Double(total) / 1_000_000)
    }
}

// MARK: - UUID

extension UUID: PostgresCodable {
    public static var postgresDataType: PostgresDataType { .uuid }
    public func postgresBinding() -> PostgresBinding { .text(uuidString.lowercased()) }
    public static func decode(postgresText: String, type: PostgresDataType) throws(PostgresDecodingFailure) -> UUID {
        guard let u = UUID(uuidString: postgresText) else { throw PostgresDecodingFailure("not a UUID") }
        return u
    }
}

// MARK: - bytea

/// Binary data for `bytea` columns.
public struct PostgresBytes: PostgresCodable, Hashable {
    public var bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public static var postgresDataType: PostgresDataType { .bytea }
    public func postgresBinding() -> PostgresBinding { .binary(bytes) }
    public static func decode(postgresText: String, type: PostgresDataType) throws(PostgresDecodingFailure) -> PostgresBytes {
        // bytea_output = hex: `\x0a1b...`
        let u = Array(postgresText.utf8)
        guard u.count >= 2, u[0] == UInt8(ascii: "\\"), u[1] == UInt8(ascii: "x"), u.count % 2 == 0 else {
            throw PostgresDecodingFailure("not hex bytea output")
        }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            case 65...70: c - 55
            default: nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity((u.count - 2) / 2)
        var i = 2
        while i < u.count {
            guard let hi = nibble(u[i]), let lo = nibble(u[i + 1]) else { throw PostgresDecodingFailure("bad hex digit") }
            out.append(hi << 4 | lo)
            i += 2
        }
        return PostgresBytes(out)
    }
}

// MARK: - Arrays (encoding only: for `= ANY($1)` and `unnest($1)`)

extension Array: PostgresEncodable where Element: PostgresEncodable {
    public static var postgresDataType: PostgresDataType {
        switch Element.postgresDataType {
        case .text, .varchar: .textArray
        case .int8: .int8Array
        case .int4: .int4Array
        case .int2: .int2Array
        case .date: .dateArray
        case .numeric: .numericArray
        default: .unspecified
        }
    }

    /// An array literal; every element quoted and escaped, NULLs unquoted.
    public func postgresBinding() -> PostgresBinding {
        var out = "{"
        for (i, e) in enumerated() {
            if i > 0 { out += "," }
            switch e.postgresBinding() {
            case .null: out += "NULL"
            case .text(let t):
                out += "\""
                for ch in t.unicodeScalars {
                    if ch == "\"" || ch == "\\" { out += "\\" }
                    out.unicodeScalars.append(ch)
                }
                out += "\""
            case .binary(let b):
                out += "\"\\\\x" + b.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined() + "\""
            }
        }
        return .text(out + "}")
    }
}
