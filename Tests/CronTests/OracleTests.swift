import Foundation
import Testing
@testable import Cron

/// Cross-checks the period-walking search against a brute-force minute-by-minute scan that converts every
/// instant to wall-clock time with Foundation `Calendar`, then applies the documented DST rules literally:
/// - wildcard job: fire at every instant whose wall time matches;
/// - fixed-time job: fire at an instant whose wall time matches and has not occurred before (first pass
///   only), and at the first instant after a forward jump if any skipped wall time matches.
@Suite("Calendar oracle")
struct OracleTests {
    static let expressions = [
        "0 2 * * *", "30 2 * * *", "30 1 * * *", "45 1 * * *", "15 0 * * *", "0 0 * * *", "0 3 * * *",
        "*/15 * * * *", "5-55/10 * * * *", "*/10 1-2 * * *", "0,30 1-3 * * *", "* 2 * * *", "0-59/20 2 * * *",
        "40 1,2 * * *", "0 0 L * *", "30 2 * * SUN",
    ]

    /// Zone, first day of a 4-day window (UTC) containing an offset change.
    static let windows: [(String, String)] = [
        ("America/New_York", "2026-03-06T12:00:00Z"), ("America/New_York", "2026-10-30T12:00:00Z"),
        ("Europe/Berlin", "2026-03-27T12:00:00Z"), ("Europe/Berlin", "2026-10-23T12:00:00Z"),
        // 30-minute DST: fall back 02:00 -> 01:30 on 2026-04-05, spring forward 02:00 -> 02:30 on 2026-10-04.
        ("Australia/Lord_Howe", "2026-04-03T12:00:00Z"), ("Australia/Lord_Howe", "2026-10-02T12:00:00Z"),
        // A whole local day (2011-12-30) skipped when Samoa crossed the date line.
        ("Pacific/Apia", "2011-12-28T12:00:00Z"),
        // A permanent (non-DST) offset change, +4 to +3, repeating 01:00-01:59 on 2014-10-26.
        ("Europe/Moscow", "2014-10-24T12:00:00Z"),
        ("Asia/Shanghai", "2026-03-06T12:00:00Z"),
    ]

    @Test("agrees with a Calendar brute force", arguments: windows)
    func agrees(zoneIdentifier: String, windowStart: String) throws {
        let tz = zone(zoneIdentifier)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = tz
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!

        let start = Int(at(windowStart).timeIntervalSince1970)
        let end = start + 4 * 86_400
        let warmUp = 2 * 86_400  // establishes which wall times already happened
        // Wall clock of every minute, via Calendar.
        let walls: [(instant: Int, wall: Int)] = stride(from: start - warmUp, through: end, by: 60).map { instant in
            let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second],
                                            from: Date(timeIntervalSince1970: TimeInterval(instant)))
            let wall = utc.date(from: c)!.timeIntervalSince1970
            return (instant, Int(wall))
        }
        for text in Self.expressions {
            let expression = try CronExpression(text)
            func matches(_ wall: Int) -> Bool { expression.nextWallMatch(atOrAfter: wall, atOrBefore: wall) != nil }
            var expected: [Int] = []
            var seen = Set<Int>()
            var previousWall: Int?
            for (instant, wall) in walls {
                var fire = false
                if expression.isWildcardJob {
                    fire = matches(wall)
                } else {
                    if let previous = previousWall, wall > previous + 60 {
                        fire = stride(from: previous + 60, to: wall, by: 60).contains(where: matches)
                    }
                    if matches(wall) && !seen.contains(wall) { fire = true }
                    seen.insert(wall)
                }
                previousWall = wall
                if fire && instant > start { expected.append(instant) }
            }
            let s = CronSchedule(expression: expression, timeZone: tz)
            let actual = s.firings(after: Date(timeIntervalSince1970: TimeInterval(start)),
                                   through: Date(timeIntervalSince1970: TimeInterval(end)), limit: 10_000)
                .map { Int($0.timeIntervalSince1970) }
            #expect(actual == expected, "\(text) in \(zoneIdentifier) from \(windowStart)")
            // nextFiring from arbitrary points inside the window agrees too.
            for probe in stride(from: start, to: end, by: 3_607) {
                let next = s.nextFiring(after: Date(timeIntervalSince1970: TimeInterval(probe))).map { Int($0.timeIntervalSince1970) }
                if let want = expected.first(where: { $0 > probe }) {
                    #expect(next == want, "\(text) in \(zoneIdentifier) after \(probe)")
                }
            }
        }
    }

    @Test func wallArithmeticMatchesCalendar() {
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        for days in stride(from: -200_000, through: 2_900_000, by: 997) {
            let date = Civil.date(days: days)
            #expect(Civil.days(year: date.year, month: date.month, day: date.day) == days)
            if date.year >= 1600 {  // Calendar's Gregorian switches to Julian before 1582
                let c = utc.dateComponents([.year, .month, .day, .weekday], from: Date(timeIntervalSince1970: TimeInterval(days * 86_400)))
                #expect(c.year == date.year && c.month == date.month && c.day == date.day)
                #expect(c.weekday.map { $0 - 1 } == Civil.weekday(days: days))
            }
        }
    }
}
