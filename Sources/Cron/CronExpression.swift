/// A parsed cron expression: which wall-clock times (second, minute, hour, day, month, weekday) match.
///
/// ## Syntax
///
/// Five whitespace-separated fields, as in crontab(5):
///
///     minute  hour  day-of-month  month  day-of-week
///     0-59    0-23  1-31 or L     1-12   0-7 (0 and 7 are Sunday)
///
/// or **six** fields with a leading `second` field (0-59), as in Quartz/Spring. The five-field form is
/// the six-field form with second `0`.
///
/// Each field is a comma-separated list of items; an item is
/// - `*` (every value of the field),
/// - a value `5`, or a name: `JAN`-`DEC` in the month field, `SUN`-`SAT` in the day-of-week field
///   (case-insensitive),
/// - a range `1-5` (inclusive; must not be reversed: `FRI-SUN` is an error, write `FRI-7` or `FRI,SAT,SUN`),
/// - a step over a range or over `*`: `*/15`, `10-50/5`, `MON-FRI/2`. A step needs a range: `5/15` is an
///   error (write `5-59/15`).
/// - `L`, only in the day-of-month field and only as a plain list item (`L`, `15,L`): the last day of the
///   month (28, 29, 30 or 31).
///
/// Macros: `@yearly` and `@annually` (`0 0 1 1 *`), `@monthly` (`0 0 1 * *`), `@weekly` (`0 0 * * 0`),
/// `@daily` and `@midnight` (`0 0 * * *`), `@hourly` (`0 * * * *`). Macros, names and `L` are
/// case-insensitive.
///
/// Not supported (rejected with an error naming the field): `@reboot`, `@every`, `?`, `W` (nearest
/// weekday), `LW`, `L-3`, `L` in the day-of-week field (`5L`), `#` (`MON#2`), `H` (Jenkins hashes),
/// a seventh (year) field, steps on a single value (`5/15`), reversed or wrap-around ranges (`22-2`),
/// and steps of 0 or larger than the field's span (minute `*/60`).
///
/// ## Day-of-month and day-of-week (Vixie cron)
///
/// If either day field *starts with* `*` (so `*`, `*/2`), a day matches when both fields match (an
/// unrestricted field always matches). If neither starts with `*`, a day matches when **either** matches:
/// `0 0 13 * FRI` fires on every 13th and on every Friday. This is the rule of Vixie cron, cronie and
/// ISC cron, including its quirk that `*/2` counts as "starting with `*`": `0 0 */2 * MON` fires on
/// Mondays that are odd days of the month, not on every odd day plus every Monday.
///
/// ## Wildcard jobs (daylight-saving behaviour)
///
/// An expression whose second, minute or hour field starts with `*` (`*/15 * * * *`, `30 * * * *`,
/// `* 2 * * *`) is a *wildcard job* (``isWildcardJob``), again as in Vixie cron; all others (`30 2 * * *`,
/// `0,30 9-17 * * *`) are *fixed-time jobs*. ``CronSchedule`` treats the two differently across DST
/// changes.
///
/// ## Normalized form
///
/// `description` is a canonical spelling that parses back to an equal value: numbers instead of names,
/// `7` folded into `0`, macros expanded, lists sorted and compressed (`1,2,3,10` becomes `1-3,10`,
/// four or more evenly spaced values such as `0,15,30,45` become `0-45/15`), a month field matching every month written `*`, and the second field
/// omitted when it is exactly `0`. Fields that start with `*` stay `*` or `*/n`, because that prefix
/// changes the meaning (see above), so `0-59 * * * *` and `* * * * *` are different values.
/// Equality and hashing follow the normalized form.
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    let seconds: FieldSet
    let minutes: FieldSet
    let hours: FieldSet
    let daysOfMonth: FieldSet
    let months: FieldSet
    let daysOfWeek: FieldSet
    let lastDayOfMonth: Bool
    let secondIsStar: Bool
    let minuteIsStar: Bool
    let hourIsStar: Bool
    let dayOfMonthIsStar: Bool
    let dayOfWeekIsStar: Bool

    /// Parses a five-field or six-field (leading seconds) expression or a macro.
    /// - Throws: ``CronError/invalidField(_:reason:)`` naming the field and the reason, e.g.
    ///   `minute: 61 is out of range 0-59`, or ``CronError/invalidExpression(reason:)``.
    public init(_ text: String) throws(CronError) {
        let trimmed = text.split(whereSeparator: Self.isBlank).joined(separator: " ")
        guard !trimmed.isEmpty else { throw .invalidExpression(reason: "empty expression") }
        var fields = trimmed.split(separator: " ").map(String.init)
        if trimmed.hasPrefix("@") {
            fields = try Self.expand(macro: trimmed).split(separator: " ").map(String.init)
        }
        switch fields.count {
        case 5: fields.insert("0", at: 0)
        case 6: break
        default:
            throw .invalidExpression(reason:
                "expected 5 fields (minute hour day-of-month month day-of-week) or 6 (with leading seconds), got \(fields.count)")
        }
        let second = try FieldParser.second.parse(fields[0])
        let minute = try FieldParser.minute.parse(fields[1])
        let hour = try FieldParser.hour.parse(fields[2])
        let dom = try FieldParser.dayOfMonth.parse(fields[3])
        let month = try FieldParser.month.parse(fields[4])
        let dow = try FieldParser.dayOfWeek.parse(fields[5])
        seconds = second.values
        minutes = minute.values
        hours = hour.values
        daysOfMonth = dom.values
        months = month.values
        daysOfWeek = dow.values
        lastDayOfMonth = dom.lastDay
        secondIsStar = second.star
        minuteIsStar = minute.star
        hourIsStar = hour.star
        dayOfMonthIsStar = dom.star
        dayOfWeekIsStar = dow.star
    }

    /// Vixie cron's "wildcard job": the second, minute or hour field starts with `*`. Wildcard jobs follow
    /// elapsed time across DST changes; the others are fixed-time jobs. See ``CronSchedule``.
    public var isWildcardJob: Bool { secondIsStar || minuteIsStar || hourIsStar }

    /// The normalized expression (see the type's documentation).
    public var description: String {
        let minuteText = Self.render(minutes, star: minuteIsStar)
        let hourText = Self.render(hours, star: hourIsStar)
        var domText = Self.render(daysOfMonth, star: dayOfMonthIsStar)
        if lastDayOfMonth { domText = daysOfMonth.isEmpty ? "L" : domText + ",L" }
        let monthText = months.values == Array(1...12) ? "*" : Self.render(months, star: false)
        let dowText = Self.render(daysOfWeek, star: dayOfWeekIsStar)
        let five = "\(minuteText) \(hourText) \(domText) \(monthText) \(dowText)"
        if !secondIsStar && seconds.values == [0] { return five }
        return Self.render(seconds, star: secondIsStar) + " " + five
    }

    // MARK: - Private

    private static func isBlank(_ c: Character) -> Bool { c == " " || c == "\t" }

    private static func expand(macro: String) throws(CronError) -> String {
        switch macro.lowercased() {
        case "@yearly", "@annually": return "0 0 1 1 *"
        case "@monthly": return "0 0 1 * *"
        case "@weekly": return "0 0 * * 0"
        case "@daily", "@midnight": return "0 0 * * *"
        case "@hourly": return "0 * * * *"
        case "@reboot": throw .invalidExpression(reason: "@reboot is not supported (it is not a time schedule)")
        default: throw .invalidExpression(reason:
            "unknown macro '\(macro)' (supported: @yearly @annually @monthly @weekly @daily @midnight @hourly)")
        }
    }

    /// `*`/`*/n` for fields starting with `*`; otherwise a compressed list.
    private static func render(_ set: FieldSet, star: Bool) -> String {
        let values = set.values
        if star {
            guard values.count >= 2 else { return "*" }
            let step = values[1] - values[0]
            return step == 1 ? "*" : "*/\(step)"
        }
        if values.count >= 4 {
            let step = values[1] - values[0]
            if step > 1, zip(values, values.dropFirst()).allSatisfy({ $1 - $0 == step }) {
                return "\(values[0])-\(values[values.count - 1])/\(step)"
            }
        }
        var items: [String] = []
        var i = 0
        while i < values.count {
            var j = i
            while j + 1 < values.count && values[j + 1] == values[j] + 1 { j += 1 }
            if j - i >= 2 {
                items.append("\(values[i])-\(values[j])")
            } else {
                items.append(contentsOf: values[i...j].map(String.init))
            }
            i = j + 1
        }
        return items.joined(separator: ",")
    }
}

/// Parses one field's text into its value set.
struct FieldParser {
    let field: CronField
    let low: Int
    /// Highest value accepted literally (7 for day-of-week).
    let high: Int
    /// Highest value `*` stands for (6 for day-of-week, otherwise `high`).
    let starHigh: Int
    let names: [String]  // names[i] stands for low + i
    let nameKind: String

    static let second = FieldParser(field: .second, low: 0, high: 59, starHigh: 59, names: [], nameKind: "")
    static let minute = FieldParser(field: .minute, low: 0, high: 59, starHigh: 59, names: [], nameKind: "")
    static let hour = FieldParser(field: .hour, low: 0, high: 23, starHigh: 23, names: [], nameKind: "")
    static let dayOfMonth = FieldParser(field: .dayOfMonth, low: 1, high: 31, starHigh: 31, names: [], nameKind: "")
    static let month = FieldParser(
        field: .month, low: 1, high: 12, starHigh: 12,
        names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
        nameKind: "month name (JAN-DEC)")
    static let dayOfWeek = FieldParser(
        field: .dayOfWeek, low: 0, high: 7, starHigh: 6,
        names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
        nameKind: "weekday name (SUN-SAT)")

    struct Result {
        var values = FieldSet()
        var star = false
        var lastDay = false
    }

    private func fail(_ reason: String) -> CronError { .invalidField(field, reason: reason) }

    func parse(_ text: String) throws(CronError) -> Result {
        var result = Result()
        result.star = text.hasPrefix("*")
        for item in text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            guard !item.isEmpty else { throw fail("empty element in list '\(text)'") }
            try parseItem(item, into: &result)
        }
        return result
    }

    private func parseItem(_ item: String, into result: inout Result) throws(CronError) {
        let upper = item.uppercased()
        if upper == "L" {
            guard field == .dayOfMonth else {
                throw fail("'L' is only supported in the day-of-month field")
            }
            result.lastDay = true
            return
        }
        try rejectUnsupported(item, upper: upper)
        let parts = item.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2 else { throw fail("'\(item)' has more than one step") }
        var step = 1
        if parts.count == 2 {
            let maxStep = starHigh - low
            guard !parts[1].isEmpty, parts[1].allSatisfy(\.isASCIIDigitCharacter) else {
                throw fail("step '\(parts[1])' in '\(item)' is not a number")
            }
            guard parts[1].count <= 4, let s = Int(parts[1]), (1...maxStep).contains(s) else {
                throw fail("step \(parts[1]) is out of range 1-\(maxStep)")
            }
            step = s
        }
        let base = parts[0]
        let start: Int
        let end: Int
        if base == "*" {
            (start, end) = (low, starHigh)
        } else if base.contains("-") {
            let bounds = base.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
            guard bounds.count == 2, !bounds[0].isEmpty, !bounds[1].isEmpty else {
                throw fail("malformed range '\(base)'")
            }
            start = try value(bounds[0])
            end = try value(bounds[1])
            guard start <= end else {
                throw fail("range \(base) is reversed (the start must not exceed the end)")
            }
        } else {
            let v = try value(base)
            if parts.count == 2 {
                throw fail("'\(item)' has a step but no range; write \(base)-\(starHigh)/\(step)")
            }
            (start, end) = (v, v)
        }
        for v in stride(from: start, through: end, by: step) {
            result.values.insert(field == .dayOfWeek && v == 7 ? 0 : v)
        }
    }

    private func rejectUnsupported(_ item: String, upper: String) throws(CronError) {
        if upper.contains("?") { throw fail("'?' is not supported; use '*'") }
        if upper.contains("#") { throw fail("'#' (nth weekday of the month) in '\(item)' is not supported") }
        if upper.hasPrefix("H") && (upper == "H" || upper.hasPrefix("H(") || upper.hasPrefix("H/")) {
            throw fail("'H' (hashed values) in '\(item)' is not supported")
        }
        switch field {
        case .dayOfMonth where upper.contains("W") || upper.contains("L"):
            throw fail("'\(item)' is not supported; only a plain 'L' (last day of the month) is")
        case .dayOfWeek where upper.hasSuffix("L") && upper.count > 1:
            throw fail("'\(item)' (last weekday of the month) is not supported")
        default:
            break
        }
    }

    private func value(_ token: String) throws(CronError) -> Int {
        if token.allSatisfy(\.isASCIIDigitCharacter) {
            guard token.count <= 6, let v = Int(token), (low...high).contains(v) else {
                throw fail("\(token) is out of range \(low)-\(high)")
            }
            return v
        }
        if let index = names.firstIndex(of: token.uppercased()) { return low + index }
        throw fail(names.isEmpty ? "'\(token)' is not a number" : "'\(token)' is not a number or \(nameKind)")
    }
}

extension Character {
    fileprivate var isASCIIDigitCharacter: Bool { isASCII && isNumber }
}
