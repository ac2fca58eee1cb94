public import CivilCalendar
import Foundation

/// A calendar month (`YYYY-MM`), for plans and expenses. Value type; `Sendable`.
public struct YearMonth: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let year: Int
    public let month: Int

    /// nil unless `month` is 1...12.
    public init?(year: Int, month: Int) {
        guard (1...12).contains(month) else { return nil }
        self.year = year
        self.month = month
    }

    /// Parses exactly `YYYY-MM`.
    public init?(string: String) {
        var s = string
        let parsed: (Int, Int)? = s.withUTF8 { u in
            guard u.count == 7, u[4] == 0x2D, let y = ValueSyntax.digits(u, 0, 4), let m = ValueSyntax.digits(u, 5, 7) else { return nil }
            return (y, m)
        }
        guard let (y, m) = parsed else { return nil }
        self.init(year: y, month: m)
    }

    /// The month's first day.
    public var firstDay: CalendarDate { CalendarDate(year: year, month: month, day: 1)! }
    /// The month's last day.
    public var lastDay: CalendarDate { CalendarDate(year: year, month: month, day: CalendarDate.daysIn(month: month, year: year))! }

    public var description: String {
        let y = String(year), m = String(month)
        return String(repeating: "0", count: max(0, 4 - y.count)) + y + "-" + (m.count < 2 ? "0" + m : m)
    }

    public static func < (a: YearMonth, b: YearMonth) -> Bool { (a.year, a.month) < (b.year, b.month) }
}

/// Strict syntax checks and conversions for cell and member values. Pure functions; thread-safe.
enum ValueSyntax {
    static func digits(_ u: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Int? {
        var v = 0
        for k in from..<to {
            let c = u[k]
            guard c >= 0x30, c <= 0x39 else { return nil }
            v = v * 10 + Int(c - 0x30)
        }
        return v
    }

    /// Exactly `YYYY-MM-DD` and a real calendar day.
    static func date(_ string: String) -> CalendarDate? {
        var s = string
        return s.withUTF8 { u -> CalendarDate? in
            guard u.count == 10, u[4] == 0x2D, u[7] == 0x2D,
                  let y = digits(u, 0, 4), let m = digits(u, 5, 7), let d = digits(u, 8, 10) else { return nil }
            return CalendarDate(year: y, month: m, day: d)
        }
    }

    /// Master-data codes: `[A-Za-z0-9_-]{1,32}`.
    static func isCode(_ string: String) -> Bool {
        let u = string.utf8
        guard (1...32).contains(u.count) else { return false }
        for c in u {
            switch c {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x5F, 0x2D: continue
            default: return false
            }
        }
        return true
    }

    /// Number of Unicode scalars ("characters" of the id-length rule).
    static func scalarCount(_ s: String) -> Int {
        var n = 0
        for b in s.utf8 where b & 0xC0 != 0x80 { n += 1 }
        return n
    }

    /// True if the string holds a C0 control character other than tab (NUL included).
    static func hasControlCharacter(_ s: String) -> Bool {
        for b in s.utf8 where b < 0x20 && b != 0x09 { return true }
        return false
    }

    /// VIN: 17 characters of `[A-HJ-NPR-Z0-9]` (upper case; no I, O, Q).
    static func isVIN(_ s: String) -> Bool {
        let u = s.utf8
        guard u.count == 17 else { return false }
        for c in u {
            switch c {
            case 0x30...0x39: continue
            case 0x41...0x5A where c != 0x49 && c != 0x4F && c != 0x51: continue
            default: return false
            }
        }
        return true
    }

    /// Booleans: `true/false/1/0/是/否/Y/N`, ASCII ones case-insensitive (so Excel's TRUE/FALSE work).
    static func boolean(_ s: String) -> Bool? {
        let u = s.utf8
        // ASCII letters folded to lower case by OR-ing 0x20 (only letters are compared after folding).
        func matches(_ word: StaticString) -> Bool {
            guard u.count == word.utf8CodeUnitCount else { return false }
            let w = word.utf8Start
            var k = 0
            for c in u {
                guard c | 0x20 == w[k] else { return false }
                k += 1
            }
            return true
        }
        switch u.count {
        case 1:
            switch u.first! {
            case UInt8(ascii: "1"), UInt8(ascii: "y"), UInt8(ascii: "Y"): return true
            case UInt8(ascii: "0"), UInt8(ascii: "n"), UInt8(ascii: "N"): return false
            default: return nil
            }
        case 3:
            if s == "是" { return true }
            if s == "否" { return false }
            return nil
        case 4: return matches("true") ? true : nil
        case 5: return matches("false") ? false : nil
        default: return nil
        }
    }

    enum Number<T> {
        case ok(T)
        /// Not the required syntax.
        case syntax
        /// Syntactically fine but too large to be meaningful.
        case tooLarge
    }

    /// An integer written as optional `-` and decimal digits (no `+`, no fraction, no exponent).
    /// Values beyond ±2,147,483,647 (PostgreSQL `integer`) are `.tooLarge`.
    static func integer(_ s: String) -> Number<Int> {
        var neg = false
        var v = 0
        var n = 0
        var first = true
        for c in s.utf8 {
            if first, c == 0x2D { neg = true; first = false; continue }
            first = false
            guard c >= 0x30, c <= 0x39 else { return .syntax }
            n += 1
            if v <= Int(Int32.max) { v = v * 10 + Int(c - 0x30) }
        }
        guard n > 0 else { return .syntax }
        if v > Int(Int32.max) { return .tooLarge }
        return .ok(neg ? -v : v)
    }

    /// Largest number of integer digits accepted in an amount (below 10^13 CNY: fits `numeric(15,2)`).
    static let maxMoneyIntegerDigits = 13

    /// An amount of money: optional `-`, decimal digits, optionally `.` and 1 or 2 digits. No `+`, no
    /// exponent, no thousands separators, no currency sign. Built exactly (never via binary floating point).
    static func money(_ s: String) -> Number<Decimal> {
        var neg = false
        var mantissa: UInt64 = 0
        var intDigits = 0, fracDigits = 0
        var inFraction = false
        var first = true
        for c in s.utf8 {
            if first, c == 0x2D { neg = true; first = false; continue }
            first = false
            if c == 0x2E {
                guard !inFraction, intDigits > 0 else { return .syntax }
                inFraction = true
                continue
            }
            guard c >= 0x30, c <= 0x39 else { return .syntax }
            if inFraction {
                fracDigits += 1
                if fracDigits > 2 { return .syntax }
            } else {
                // Count significant integer digits (leading zeros count once, as "0").
                if intDigits == 0 || mantissa != 0 { intDigits += 1 }
            }
            if intDigits > maxMoneyIntegerDigits { return .tooLarge }
            mantissa = mantissa * 10 + UInt64(c - 0x30)
        }
        guard intDigits > 0, !(inFraction && fracDigits == 0) else { return .syntax }
        let d = Decimal(sign: neg && mantissa != 0 ? .minus : .plus, exponent: -fracDigits, significand: Decimal(mantissa))
        return .ok(d)
    }
}
