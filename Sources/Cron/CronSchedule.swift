public import Foundation

/// A ``CronExpression`` evaluated on the wall clock of a time zone.
///
/// ## How instants are computed
///
/// The expression is matched against *local wall-clock time* in ``timeZone`` (proleptic Gregorian
/// calendar, whole seconds). Between two UTC-offset changes of the zone, wall time and instants differ by a
/// constant, so the search walks the zone's offset periods (from `TimeZone.nextDaylightSavingTimeTransition`,
/// which reports every offset change, not only DST) and, inside each, skips through the calendar field by
/// field (month, day, hour, minute, second). Cost is proportional to the days and offset changes visited,
/// never to the number of minutes searched.
///
/// Foundation's `Calendar.date(from:)` is deliberately not used for wall → instant: it silently moves a
/// non-existent time forward by the length of the gap (02:30 becomes 03:30 on a spring-forward day) and
/// silently picks one of two occurrences of a repeated time, and the rules below need control over both.
/// The zone data are Foundation's (`TimeZone.secondsFromGMT(for:)`), i.e. the same tz database `Calendar`
/// uses; the tests cross-check every firing against a minute-by-minute scan done with `Calendar`.
///
/// ## Daylight-saving rules (Vixie cron's, applied exactly)
///
/// Jobs are split as Vixie cron (and cronie, ISC cron) split them: a *wildcard job*
/// (``CronExpression/isWildcardJob``: the second, minute or hour field starts with `*`, e.g.
/// `*/15 * * * *`, `30 * * * *`, `* 2 * * *`) follows **elapsed time**; every other expression is a
/// *fixed-time job* (`30 2 * * *`, `0 9-17 * * 1-5`) and follows **the calendar**: it fires once for every
/// matching wall-clock time of every matching day.
///
/// - **Spring forward** (a gap: in America/New_York on 2026-03-08, 02:00-02:59:59 does not exist).
///   A fixed-time job whose time falls in the gap fires **once at the first instant after the gap**
///   (03:00 local, the transition instant), rather than being skipped; several matching times in one gap
///   still give one firing there, and one firing in total if the job also matches 03:00.
///   `0 2 * * *` and `30 2 * * *` both fire at 03:00 EDT that day. A wildcard job simply has no firings
///   inside the gap: `*/15 * * * *` fires at 01:45 EST and then 03:00 EDT, 15 real minutes apart, and
///   `* 2 * * *` does not fire that day.
/// - **Fall back** (an overlap: on 2026-11-01, 01:00-01:59:59 happens first in EDT, then again in EST).
///   A fixed-time job fires **only in the first pass**: `30 1 * * *` fires once, at 01:30 EDT.
///   A wildcard job fires **in both passes**: `*/30 * * * *` fires at 01:00 and 01:30 EDT and again at
///   01:00 and 01:30 EST, every 30 real minutes.
///
/// Why: this is what crontab users already get from the system cron, so a schedule moved into the daemon
/// keeps its behaviour. Fixed-time jobs (daily reports, month-end closing) run exactly once per day they
/// are due, neither lost in the gap nor doubled in the overlap; interval jobs keep their real interval.
/// Unlike Vixie cron, which gives up on clock jumps of three hours or more, the rules apply to offset
/// changes of any size (e.g. Pacific/Apia skipping 2011-12-30).
///
/// Firings are distinct whole-second instants in increasing order.
public struct CronSchedule: Sendable, Hashable, CustomStringConvertible {
    public let expression: CronExpression
    public let timeZone: TimeZone

    /// How far ``nextFiring(after:)`` looks: 5 × 366 days. Expressions that never match (`0 0 30 2 *`)
    /// and expressions whose next match is further away (`0 0 29 2 *` after 2097-02-28: the next
    /// February 29 is in 2104) give nil. ``firings(after:through:limit:)`` searches its whole range instead.
    public static let searchHorizon: TimeInterval = 5 * 366 * 86_400

    public init(expression: CronExpression, timeZone: TimeZone) {
        self.expression = expression
        self.timeZone = timeZone
    }

    public init(expression: String, timeZone: TimeZone) throws(CronError) {
        self.init(expression: try CronExpression(expression), timeZone: timeZone)
    }

    /// - Throws: ``CronError`` for a malformed expression or an unknown time zone identifier.
    public init(expression: String, timeZoneIdentifier: String) throws(CronError) {
        let zone = try Self.timeZone(identifier: timeZoneIdentifier)
        self.init(expression: try CronExpression(expression), timeZone: zone)
    }

    /// The zone for an IANA identifier such as `Europe/Berlin`, `Etc/GMT-2` or `UTC` (exact spelling,
    /// case-sensitive, as Foundation's tz database knows it).
    ///
    /// Foundation's own custom-offset spellings (`GMT+2`, `UTC-0530`) are rejected: they are not tz database
    /// names and their sign is the opposite of the tz database's `Etc/GMT+2` (which is UTC−2).
    /// - Throws: ``CronError/unknownTimeZone(identifier:)``.
    public static func timeZone(identifier: String) throws(CronError) -> TimeZone {
        let customOffset = (identifier.hasPrefix("GMT") || identifier.hasPrefix("UTC"))
            && identifier.dropFirst(3).first.map { $0 == "+" || $0 == "-" } == true
            && identifier != "GMT+0" && identifier != "GMT-0"
        guard !customOffset, let zone = TimeZone(identifier: identifier) else {
            throw .unknownTimeZone(identifier: identifier)
        }
        return zone
    }

    /// `CRON_TZ=<zone> <normalized expression>` (cronie's notation).
    public var description: String { "CRON_TZ=\(timeZone.identifier) \(expression)" }

    /// The first firing strictly after `date`, or nil if there is none within ``searchHorizon``.
    public func nextFiring(after date: Date) -> Date? {
        guard let start = Self.firstSecond(after: date) else { return nil }
        let end = min(start + Int(Self.searchHorizon), Self.maxSecond)
        var walker = Walker(schedule: self, from: start, through: end)
        return walker.next().map(Self.date)
    }

    /// The firings in the half-open range (`after`, `through`], earliest first, at most `limit` of them
    /// (the earliest ones). Empty when `limit <= 0` or the range is empty. Use it to catch up after
    /// downtime: pass the last firing handled (or the shutdown time) and now.
    public func firings(after start: Date, through end: Date, limit: Int) -> [Date] {
        guard limit > 0, let first = Self.firstSecond(after: start), end.timeIntervalSince1970.isFinite
        else { return [] }
        let last = min(Int(end.timeIntervalSince1970.rounded(.down).clamped(Self.bounds)), Self.maxSecond)
        guard first <= last else { return [] }
        var walker = Walker(schedule: self, from: first, through: last)
        var result: [Date] = []
        while result.count < limit, let instant = walker.next() {
            result.append(Self.date(instant))
        }
        return result
    }

    // MARK: - Instants as whole seconds since 1970

    /// 0001-01-01T00:00:00Z ... 9999-12-31T23:59:59Z.
    static let minSecond = -62_135_596_800
    static let maxSecond = 253_402_300_799
    private static let bounds = Double(minSecond)...Double(maxSecond)

    /// The first whole second strictly after `date`, or nil when out of range.
    static func firstSecond(after date: Date) -> Int? {
        let t = date.timeIntervalSince1970
        guard t.isFinite, t < Double(maxSecond) else { return nil }
        return Int(t.clamped(bounds).rounded(.down)) + 1
    }

    static func date(_ second: Int) -> Date { Date(timeIntervalSince1970: TimeInterval(second)) }

    func offset(at second: Int) -> Int { timeZone.secondsFromGMT(for: Self.date(second)) }

    func transition(after second: Int) -> Int? {
        guard let next = timeZone.nextDaylightSavingTimeTransition(after: Self.date(second)) else { return nil }
        let t = next.timeIntervalSince1970.rounded(.up)
        guard t.isFinite, t <= Double(Self.maxSecond) else { return nil }
        return max(Int(t), second + 1)
    }
}

/// Produces a schedule's firings in increasing order, one offset period (between two UTC-offset changes
/// of the zone) at a time.
struct Walker {
    let schedule: CronSchedule
    let expression: CronExpression
    let end: Int          // last instant (inclusive) that may be returned
    var cursor: Int       // the next firing must be >= cursor
    var periodStart: Int  // instant the current offset period begins (or the look-back point)
    var offset: Int       // UTC offset during the current period
    var previousOffset: Int?  // offset before periodStart, if periodStart is a real change
    var periodEnd: Int?   // next offset change (exclusive end of the period), nil if none

    /// Longest fall-back in the tz database is 24 h (America/Sitka, 1867); looking back further than that
    /// tells the fixed-time rule whether a wall time just after `start` already occurred before it.
    static let lookBack = 2 * 86_400

    init(schedule: CronSchedule, from start: Int, through end: Int) {
        self.schedule = schedule
        self.expression = schedule.expression
        self.end = end
        cursor = start
        periodStart = start - Self.lookBack
        offset = schedule.offset(at: periodStart)
        previousOffset = nil
        periodEnd = schedule.transition(after: periodStart)
    }

    mutating func next() -> Int? {
        let fixedTime = !expression.isWildcardJob
        while cursor <= end {
            let limit = min((periodEnd ?? Int.max) - 1, end)
            if limit >= cursor {
                var lowWall = max(periodStart, cursor) + offset
                if fixedTime, let previous = previousOffset, previous > offset {
                    // Fall back: walls before periodStart + previous already happened in the first pass.
                    lowWall = max(lowWall, periodStart + previous)
                }
                if let wall = expression.nextWallMatch(atOrAfter: lowWall, atOrBefore: limit + offset) {
                    let instant = wall - offset
                    if schedule.offset(at: instant) != offset {
                        // Defensive: an offset change the transition API did not report; split the period there.
                        periodEnd = firstChange(after: periodStart, atOrBefore: instant)
                        continue
                    }
                    cursor = instant + 1
                    return instant
                }
            }
            guard let change = periodEnd, change <= end else { break }
            let newOffset = schedule.offset(at: change)
            // Spring forward: walls [change + offset, change + newOffset) do not exist. A fixed-time job due
            // in there fires once, at the first instant after the gap: the change itself.
            let gapFiring = fixedTime && newOffset > offset && change >= cursor
                && expression.nextWallMatch(atOrAfter: change + offset, atOrBefore: change + newOffset - 1) != nil
            previousOffset = offset
            offset = newOffset
            periodStart = change
            periodEnd = schedule.transition(after: change)
            if gapFiring {
                cursor = change + 1
                return change
            }
        }
        cursor = end + 1
        return nil
    }

    /// The first instant in (`low`, `high`] whose offset differs from `offset` (which `high` has).
    private func firstChange(after low: Int, atOrBefore high: Int) -> Int {
        var (low, high) = (low, high)
        while high - low > 1 {
            let mid = low + (high - low) / 2
            if schedule.offset(at: mid) == offset { low = mid } else { high = mid }
        }
        return high
    }
}

extension Double {
    fileprivate func clamped(_ range: ClosedRange<Double>) -> Double {
        Swift.min(Swift.max(self, range.lowerBound), range.upperBound)
    }
}
