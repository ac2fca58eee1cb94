/// Internal helpers: small bit sets for field values and exact proleptic-Gregorian arithmetic on
/// "wall seconds" (seconds since 1970-01-01T00:00:00 of a *local* wall clock, with no zone attached).

/// A set of small non-negative integers (0...63), the values one cron field matches.
struct FieldSet: Hashable, Sendable {
    private(set) var bits: UInt64 = 0

    init() {}

    init(_ values: some Sequence<Int>) {
        for value in values { insert(value) }
    }

    mutating func insert(_ value: Int) {
        precondition((0..<64).contains(value))
        bits |= 1 << UInt64(value)
    }

    var isEmpty: Bool { bits == 0 }

    func contains(_ value: Int) -> Bool {
        (0..<64).contains(value) && bits & (1 << UInt64(value)) != 0
    }

    /// The smallest member `>= value`, or nil.
    func next(atOrAfter value: Int) -> Int? {
        guard value < 64 else { return nil }
        let masked = bits & (~UInt64(0) << UInt64(max(value, 0)))
        return masked == 0 ? nil : masked.trailingZeroBitCount
    }

    /// Members in ascending order.
    var values: [Int] { (0..<64).filter(contains) }
}

enum Civil {
    static let secondsPerDay = 86_400

    /// Floor division (rounds toward negative infinity).
    static func floorDiv(_ a: Int, _ b: Int) -> Int {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = floorDiv(y, 400)
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The proleptic Gregorian date `days` days after 1970-01-01 (Hinnant's civil_from_days).
    static func date(days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// 0 = Sunday ... 6 = Saturday (1970-01-01 was a Thursday).
    static func weekday(days: Int) -> Int {
        ((days % 7) + 7 + 4) % 7
    }

    static func isLeap(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

extension CronExpression {
    /// Whether the expression matches the local calendar day `year-month-day` (month field included).
    func matchesDay(year: Int, month: Int, day: Int, weekday: Int) -> Bool {
        guard months.contains(month) else { return false }
        let domMatch = daysOfMonth.contains(day)
            || (lastDayOfMonth && day == Civil.daysIn(month: month, year: year))
        let dowMatch = daysOfWeek.contains(weekday)
        // Vixie cron: if either day field starts with `*`, both must match; otherwise either may.
        return (dayOfMonthIsStar || dayOfWeekIsStar) ? (domMatch && dowMatch) : (domMatch || dowMatch)
    }

    /// The smallest matching wall time `w` with `lower <= w <= upper` (wall seconds), or nil.
    ///
    /// Skips by field: a non-matching month jumps to the next listed month, a non-matching day to the next
    /// day, an hour/minute/second to the next listed value, so the cost is bounded by the number of days
    /// visited (at most ~31 per matching month), never by the number of seconds in the range.
    func nextWallMatch(atOrAfter lower: Int, atOrBefore upper: Int) -> Int? {
        guard lower <= upper, let firstMonth = months.next(atOrAfter: 1) else { return nil }
        var dayNumber = Civil.floorDiv(lower, Civil.secondsPerDay)
        let secondOfDay = lower - dayNumber * Civil.secondsPerDay
        var (year, month, day) = Civil.date(days: dayNumber)
        var hour = secondOfDay / 3600
        var minute = secondOfDay / 60 % 60
        var second = secondOfDay % 60

        func startOfNextDay() {
            dayNumber += 1
            (year, month, day) = Civil.date(days: dayNumber)
            hour = 0; minute = 0; second = 0
        }

        while dayNumber * Civil.secondsPerDay <= upper {
            if !months.contains(month) {
                if let next = months.next(atOrAfter: month + 1) {
                    month = next
                } else {
                    year += 1
                    month = firstMonth
                }
                day = 1
                dayNumber = Civil.days(year: year, month: month, day: 1)
                hour = 0; minute = 0; second = 0
                continue
            }
            if !matchesDay(year: year, month: month, day: day, weekday: Civil.weekday(days: dayNumber)) {
                startOfNextDay()
                continue
            }
            guard let h = hours.next(atOrAfter: hour) else {
                startOfNextDay()
                continue
            }
            if h != hour { hour = h; minute = 0; second = 0 }
            guard let m = minutes.next(atOrAfter: minute) else {
                hour += 1; minute = 0; second = 0
                continue
            }
            if m != minute { minute = m; second = 0 }
            guard let s = seconds.next(atOrAfter: second) else {
                minute += 1; second = 0
                continue
            }
            let wall = dayNumber * Civil.secondsPerDay + hour * 3600 + minute * 60 + s
            return wall <= upper ? wall : nil
        }
        return nil
    }
}
