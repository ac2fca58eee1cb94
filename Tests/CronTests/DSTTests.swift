import Foundation
import Testing
import Cron

/// America/New_York 2026: spring forward Sun 2026-03-08 at 02:00 EST (07:00Z) to 03:00 EDT, so local
/// 02:00-02:59:59 does not exist; fall back Sun 2026-11-01 at 02:00 EDT (06:00Z) to 01:00 EST, so local
/// 01:00-01:59:59 happens twice (first EDT, UTC-4, then EST, UTC-5).
/// Europe/Berlin 2026: spring forward 2026-03-29 02:00 CET (01:00Z) to 03:00 CEST; fall back 2026-10-25
/// 03:00 CEST (01:00Z) to 02:00 CET.
@Suite("Daylight saving time")
struct DSTTests {
    /// Expression, zone, start (exclusive), following firings.
    static let cases: [(String, String, String, [String])] = [
        // Fixed-time job in the spring-forward gap: once at 03:00 EDT (the first instant after the gap).
        ("0 2 * * *", "America/New_York", "2026-03-07T00:00:00-05:00",
         ["2026-03-07T02:00:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00"]),
        ("30 2 * * *", "America/New_York", "2026-03-07T00:00:00-05:00",
         ["2026-03-07T02:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"]),
        ("30 2 * * *", "America/New_York", "2026-03-08T01:59:59-05:00", ["2026-03-08T03:00:00-04:00"]),
        // Two gap times and a real 03:00 collapse into one firing at 03:00.
        ("0,30 2,3 * * *", "America/New_York", "2026-03-08T00:00:00-05:00",
         ["2026-03-08T03:00:00-04:00", "2026-03-08T03:30:00-04:00", "2026-03-09T02:00:00-04:00"]),
        ("0-59 2 * * *", "America/New_York", "2026-03-08T01:00:00-05:00",
         ["2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00"]),
        // Wildcard jobs have no firings in the gap and keep their real interval.
        ("*/15 * * * *", "America/New_York", "2026-03-08T01:30:00-05:00",
         ["2026-03-08T01:45:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T03:15:00-04:00"]),
        ("5-55/10 * * * *", "America/New_York", "2026-03-08T01:50:00-05:00",
         ["2026-03-08T01:55:00-05:00", "2026-03-08T03:05:00-04:00"]),
        ("* 2 * * *", "America/New_York", "2026-03-08T00:00:00-05:00", ["2026-03-09T02:00:00-04:00"]),
        ("30 * * * *", "America/New_York", "2026-03-08T01:00:00-05:00",
         ["2026-03-08T01:30:00-05:00", "2026-03-08T03:30:00-04:00"]),
        // Fall back: 02:00 and 02:30 exist once (after the repeated hour).
        ("0 2 * * *", "America/New_York", "2026-10-31T00:00:00-04:00",
         ["2026-10-31T02:00:00-04:00", "2026-11-01T02:00:00-05:00", "2026-11-02T02:00:00-05:00"]),
        ("30 2 * * *", "America/New_York", "2026-10-31T00:00:00-04:00",
         ["2026-10-31T02:30:00-04:00", "2026-11-01T02:30:00-05:00", "2026-11-02T02:30:00-05:00"]),
        // Fixed-time job in the repeated hour: only the first occurrence (EDT).
        ("30 1 * * *", "America/New_York", "2026-10-31T01:30:00-04:00",
         ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"]),
        // ... also when asked from inside the second pass.
        ("30 1 * * *", "America/New_York", "2026-11-01T01:10:00-05:00", ["2026-11-02T01:30:00-05:00"]),
        ("0,15,30,45 1 * * *", "America/New_York", "2026-11-01T00:59:00-04:00",
         ["2026-11-01T01:00:00-04:00", "2026-11-01T01:15:00-04:00", "2026-11-01T01:30:00-04:00",
          "2026-11-01T01:45:00-04:00", "2026-11-02T01:00:00-05:00"]),
        // Wildcard job (minute starts with `*`) in the repeated hour: both passes.
        ("*/15 1 * * *", "America/New_York", "2026-11-01T00:59:00-04:00",
         ["2026-11-01T01:00:00-04:00", "2026-11-01T01:15:00-04:00", "2026-11-01T01:30:00-04:00",
          "2026-11-01T01:45:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T01:15:00-05:00",
          "2026-11-01T01:30:00-05:00", "2026-11-01T01:45:00-05:00", "2026-11-02T01:00:00-05:00"]),
        ("30 * * * *", "America/New_York", "2026-11-01T00:59:00-04:00",
         ["2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00", "2026-11-01T02:30:00-05:00"]),
        // Europe/Berlin.
        ("30 2 * * *", "Europe/Berlin", "2026-03-28T02:30:00+01:00",
         ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"]),
        ("30 2 * * *", "Europe/Berlin", "2026-10-24T02:30:00+02:00",
         ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]),
        ("0 3 * * *", "Europe/Berlin", "2026-10-24T03:00:00+02:00",
         ["2026-10-25T03:00:00+01:00", "2026-10-26T03:00:00+01:00"]),
        ("0 9 * * MON-FRI", "Europe/Berlin", "2026-03-27T09:00:00+01:00",
         ["2026-03-30T09:00:00+02:00", "2026-03-31T09:00:00+02:00"]),
        ("*/20 * * * *", "Europe/Berlin", "2026-03-29T01:30:00+01:00",
         ["2026-03-29T01:40:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T03:20:00+02:00"]),
    ]

    @Test("firings across DST changes", arguments: cases)
    func firings(expression: String, zoneIdentifier: String, start: String, expected: [String]) throws {
        let s = try schedule(expression, zoneIdentifier)
        #expect(chain(s, after: at(start), count: expected.count) == expected.map(at))
        #expect(s.firings(after: at(start), through: at(expected.last!), limit: 100) == expected.map(at))
    }

    @Test func everyThirtyMinutesAcrossFallBackRunsInBothPasses() throws {
        let s = try schedule("*/30 * * * *", "America/New_York")
        // Local 00:00 to 03:00 on the fall-back day is four real hours: eight firings, not six.
        let firings = s.firings(after: at("2026-11-01T00:00:00-04:00"), through: at("2026-11-01T03:00:00-05:00"), limit: 100)
        #expect(firings == [
            "2026-11-01T00:30:00-04:00", "2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00",
            "2026-11-01T01:00:00-05:00", "2026-11-01T01:30:00-05:00", "2026-11-01T02:00:00-05:00",
            "2026-11-01T02:30:00-05:00", "2026-11-01T03:00:00-05:00",
        ].map(at))
        // On an ordinary day the same local window holds six.
        #expect(s.firings(after: at("2026-11-02T00:00:00-05:00"), through: at("2026-11-02T03:00:00-05:00"), limit: 100).count == 6)
        // On the spring-forward day it is two real hours: four firings, none at 02:xx.
        #expect(s.firings(after: at("2026-03-08T00:00:00-05:00"), through: at("2026-03-08T03:00:00-04:00"), limit: 100) == [
            "2026-03-08T00:30:00-05:00", "2026-03-08T01:00:00-05:00", "2026-03-08T01:30:00-05:00",
            "2026-03-08T03:00:00-04:00",
        ].map(at))
    }

    @Test func everyThirtyMinutesAcrossBerlinFallBack() throws {
        let s = try schedule("*/30 * * * *", "Europe/Berlin")
        // 00:00 CEST to 04:00 CET is five real hours.
        let firings = s.firings(after: at("2026-10-25T00:00:00+02:00"), through: at("2026-10-25T04:00:00+01:00"), limit: 100)
        #expect(firings.count == 10)
        #expect(firings.contains(at("2026-10-25T02:30:00+02:00")) && firings.contains(at("2026-10-25T02:30:00+01:00")))
    }

    @Test func dailyJobFiresExactlyOncePerDayThroughAWholeYear() throws {
        for expression in ["0 2 * * *", "30 2 * * *", "30 1 * * *", "59 1 * * *", "0 3 * * *"] {
            let s = try schedule(expression, "America/New_York")
            let firings = s.firings(after: at("2026-01-01T00:00:00-05:00"), through: at("2027-01-01T00:00:00-05:00"), limit: 1000)
            #expect(firings.count == 365, "\(expression)")
        }
    }
}
