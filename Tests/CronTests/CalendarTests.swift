import Foundation
import Testing
import Cron

@Suite("Calendar rules")
struct CalendarTests {
    /// Expression, zone, range (after, through], expected firings — all hand-computed.
    static let ranges: [(String, String, String, String, [String])] = [
        // Last day of the month, including February in common and leap years.
        ("0 0 L * *", "UTC", "2026-01-15T00:00:00Z", "2026-07-01T00:00:00Z",
         ["2026-01-31T00:00:00Z", "2026-02-28T00:00:00Z", "2026-03-31T00:00:00Z",
          "2026-04-30T00:00:00Z", "2026-05-31T00:00:00Z", "2026-06-30T00:00:00Z"]),
        ("0 0 L 2 *", "UTC", "2027-01-01T00:00:00Z", "2030-01-01T00:00:00Z",
         ["2027-02-28T00:00:00Z", "2028-02-29T00:00:00Z", "2029-02-28T00:00:00Z"]),
        // 2100 is not a leap year, 2000 was.
        ("0 0 L 2 *", "UTC", "2099-12-31T00:00:00Z", "2100-12-31T00:00:00Z", ["2100-02-28T00:00:00Z"]),
        ("0 0 L 2 *", "UTC", "1999-12-31T00:00:00Z", "2000-12-31T00:00:00Z", ["2000-02-29T00:00:00Z"]),
        ("0 0 15,L * *", "UTC", "2026-02-01T00:00:00Z", "2026-04-01T00:00:00Z",
         ["2026-02-15T00:00:00Z", "2026-02-28T00:00:00Z", "2026-03-15T00:00:00Z", "2026-03-31T00:00:00Z"]),
        // Month-end closing at 23:00 Berlin time (UTC+1 in winter, UTC+2 in summer).
        ("0 23 L * *", "Europe/Berlin", "2026-02-01T00:00:00+01:00", "2026-05-01T00:00:00+02:00",
         ["2026-02-28T23:00:00+01:00", "2026-03-31T23:00:00+02:00", "2026-04-30T23:00:00+02:00"]),
        // The 31st skips short months.
        ("0 0 31 * *", "UTC", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z",
         ["2026-01-31T00:00:00Z", "2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z",
          "2026-08-31T00:00:00Z", "2026-10-31T00:00:00Z", "2026-12-31T00:00:00Z"]),
        // February 29 only in leap years.
        ("0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", "2036-12-31T00:00:00Z",
         ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z", "2036-02-29T00:00:00Z"]),
        // Both day fields restricted: a day matches when EITHER matches (10th, or any Monday).
        // Feb 2026 Mondays: 2, 9, 16, 23; Mar 2026 Mondays: 2, 9, 16, 23, 30; the 10ths are Tuesdays.
        ("0 0 10 * MON", "UTC", "2026-02-01T00:00:00Z", "2026-03-31T23:59:59Z",
         ["2026-02-02T00:00:00Z", "2026-02-09T00:00:00Z", "2026-02-10T00:00:00Z", "2026-02-16T00:00:00Z",
          "2026-02-23T00:00:00Z", "2026-03-02T00:00:00Z", "2026-03-09T00:00:00Z", "2026-03-10T00:00:00Z",
          "2026-03-16T00:00:00Z", "2026-03-23T00:00:00Z", "2026-03-30T00:00:00Z"]),
        // The classic surprise of the OR rule: "first Monday" written this way fires on days 1-7 AND Mondays.
        ("0 0 1-7 * MON", "UTC", "2026-02-05T00:00:00Z", "2026-02-17T00:00:00Z",
         ["2026-02-06T00:00:00Z", "2026-02-07T00:00:00Z", "2026-02-09T00:00:00Z", "2026-02-16T00:00:00Z"]),
        // L counts as a restricted day-of-month: last day OR any Friday (Apr 2026 Fridays: 3, 10, 17, 24).
        ("0 0 L 4 FRI", "UTC", "2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z",
         ["2026-04-03T00:00:00Z", "2026-04-10T00:00:00Z", "2026-04-17T00:00:00Z", "2026-04-24T00:00:00Z",
          "2026-04-30T00:00:00Z"]),
        // Only one restricted: plain AND (the unrestricted field always matches).
        ("0 0 10 * *", "UTC", "2026-02-01T00:00:00Z", "2026-03-31T23:59:59Z",
         ["2026-02-10T00:00:00Z", "2026-03-10T00:00:00Z"]),
        ("0 0 * 2 MON", "UTC", "2026-02-01T00:00:00Z", "2026-03-31T23:59:59Z",
         ["2026-02-02T00:00:00Z", "2026-02-09T00:00:00Z", "2026-02-16T00:00:00Z", "2026-02-23T00:00:00Z"]),
        // Vixie quirk: a day field starting with `*` (here `*/10` = 1, 11, 21, 31) counts as unrestricted,
        // so the fields are ANDed: days 1/11/21/31 that are Mondays. First: 2026-05-11, then 2026-06-01.
        ("0 0 */10 * MON", "UTC", "2026-01-01T00:00:00Z", "2026-06-30T00:00:00Z",
         ["2026-05-11T00:00:00Z", "2026-06-01T00:00:00Z"]),
        // Asia/Shanghai, UTC+8 all year, no DST: 10:00 local is always 02:00Z.
        ("0 10 * * *", "Asia/Shanghai", "2026-03-07T10:00:00+08:00", "2026-03-10T10:00:00+08:00",
         ["2026-03-08T10:00:00+08:00", "2026-03-09T10:00:00+08:00", "2026-03-10T10:00:00+08:00"]),
        ("0 10 * * *", "Asia/Shanghai", "2026-10-31T09:59:59+08:00", "2026-11-02T02:00:00Z",
         ["2026-10-31T02:00:00Z", "2026-11-01T02:00:00Z", "2026-11-02T02:00:00Z"]),
        ("0 10 * * *", "Asia/Shanghai", "2026-12-31T10:00:00+08:00", "2027-01-01T23:00:00+08:00",
         ["2027-01-01T10:00:00+08:00"]),
    ]

    @Test("firings in a range", arguments: ranges)
    func range(expression: String, zoneIdentifier: String, after: String, through: String, expected: [String]) throws {
        let s = try schedule(expression, zoneIdentifier)
        let firings = s.firings(after: at(after), through: at(through), limit: 1000)
        #expect(firings == expected.map(at))
        // nextFiring agrees, one step at a time.
        #expect(chain(s, after: at(after), count: expected.count) == expected.map(at))
    }

    @Test func shanghaiEveryDayOfAYearAtTwoUTC() throws {
        let s = try schedule("0 10 * * *", "Asia/Shanghai")
        let firings = s.firings(after: at("2026-01-01T00:00:00+08:00"), through: at("2027-01-01T00:00:00+08:00"), limit: 1000)
        #expect(firings.count == 365)
        #expect(firings.allSatisfy { Int($0.timeIntervalSince1970) % 86_400 == 2 * 3600 })
    }

    @Test func impossibleDatesGiveNil() throws {
        #expect(try schedule("0 0 30 2 *").nextFiring(after: at("2026-01-01T00:00:00Z")) == nil)
        #expect(try schedule("0 0 31 4,6,9,11 *").nextFiring(after: at("2026-01-01T00:00:00Z")) == nil)
        #expect(try schedule("0 0 30 2 *").firings(after: at("2026-01-01T00:00:00Z"), through: at("2046-01-01T00:00:00Z"), limit: 10).isEmpty)
    }

    @Test func searchHorizonIsFiveYearsForNextFiringOnly() throws {
        let leapDay = try schedule("0 0 29 2 *")
        #expect(leapDay.nextFiring(after: at("2028-02-29T00:00:00Z")) == at("2032-02-29T00:00:00Z"))
        // 2100 is not a leap year: after 2096-02-29 the next February 29 is 2104, beyond 5 years.
        #expect(leapDay.nextFiring(after: at("2096-02-29T00:00:00Z")) == nil)
        // An explicit range is searched in full.
        #expect(leapDay.firings(after: at("2096-02-29T00:00:00Z"), through: at("2105-01-01T00:00:00Z"), limit: 10)
                == [at("2104-02-29T00:00:00Z")])
        #expect(CronSchedule.searchHorizon == 5 * 366 * 86_400)
    }
}
