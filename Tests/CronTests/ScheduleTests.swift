import Foundation
import Testing
import Cron

@Suite("Schedule")
struct ScheduleTests {
    @Test func firingsRangeIsHalfOpenAndLimited() throws {
        let s = try schedule("0 */6 * * *")
        let all = [
            "2026-01-01T06:00:00Z", "2026-01-01T12:00:00Z", "2026-01-01T18:00:00Z", "2026-01-02T00:00:00Z",
            "2026-01-02T06:00:00Z", "2026-01-02T12:00:00Z", "2026-01-02T18:00:00Z", "2026-01-03T00:00:00Z",
        ].map(at)
        // (after, through]: the firing at `after` is excluded, the one at `through` included.
        #expect(s.firings(after: at("2026-01-01T00:00:00Z"), through: at("2026-01-03T00:00:00Z"), limit: 100) == all)
        #expect(s.firings(after: at("2026-01-01T00:00:00Z"), through: at("2026-01-03T00:00:00Z"), limit: 3) == Array(all.prefix(3)))
        #expect(s.firings(after: at("2026-01-01T00:00:00Z"), through: at("2026-01-03T00:00:00Z"), limit: 8) == all)
        #expect(s.firings(after: at("2026-01-01T00:00:00Z"), through: at("2026-01-02T23:59:59.999Z"), limit: 100) == Array(all.prefix(7)))
        #expect(s.firings(after: at("2026-01-01T00:00:00Z"), through: at("2026-01-03T00:00:00Z"), limit: 0).isEmpty)
        #expect(s.firings(after: at("2026-01-01T00:00:00Z"), through: at("2026-01-03T00:00:00Z"), limit: -1).isEmpty)
        #expect(s.firings(after: at("2026-01-03T00:00:00Z"), through: at("2026-01-01T00:00:00Z"), limit: 100).isEmpty)
        #expect(s.firings(after: at("2026-01-01T06:00:00Z"), through: at("2026-01-01T06:00:00Z"), limit: 100).isEmpty)
        #expect(s.firings(after: at("2026-01-01T05:59:59Z"), through: at("2026-01-01T06:00:00Z"), limit: 100) == [all[0]])
    }

    @Test func catchUpAfterDowntimeAcrossSpringForward() throws {
        // Daemon down from Saturday evening to Monday morning in New York: the 02:30 job is owed twice.
        let s = try schedule("30 2 * * *", "America/New_York")
        #expect(s.firings(after: at("2026-03-07T20:00:00-05:00"), through: at("2026-03-09T08:00:00-04:00"), limit: 10)
                == [at("2026-03-08T03:00:00-04:00"), at("2026-03-09T02:30:00-04:00")])
    }

    @Test func firingsMatchesRepeatedNextFiring() throws {
        for (expression, zoneIdentifier) in [("*/7 * * * *", "America/New_York"), ("0 1-3 * * *", "Europe/Berlin"),
                                              ("*/45 */2 * * * *", "Australia/Lord_Howe")] {
            let s = try schedule(expression, zoneIdentifier)
            let start = at("2026-03-01T00:00:00Z")
            let firings = s.firings(after: start, through: at("2026-12-01T00:00:00Z"), limit: 500)
            #expect(firings.count == 500)
            #expect(chain(s, after: start, count: 500) == firings)
        }
    }

    @Test func unknownTimeZonesAreErrors() {
        for identifier in ["Mars/Olympus", "", "america/new_york", "Europe/Berlin ", "GMT+2", "UTC-0530"] {
            #expect(throws: CronError.unknownTimeZone(identifier: identifier)) {
                try CronSchedule(expression: "0 0 * * *", timeZoneIdentifier: identifier)
            }
        }
        #expect(CronError.unknownTimeZone(identifier: "Mars/Olympus").description == "unknown time zone identifier 'Mars/Olympus'")
    }

    @Test func knownTimeZones() throws {
        #expect(try schedule("0 0 * * *", "UTC").nextFiring(after: at("2026-01-01T00:00:00Z")) == at("2026-01-02T00:00:00Z"))
        // tz database convention: Etc/GMT-2 is UTC+2.
        #expect(try schedule("0 0 * * *", "Etc/GMT-2").nextFiring(after: at("2026-01-01T00:00:00Z")) == at("2026-01-01T22:00:00Z"))
        #expect(try schedule("0 0 * * *", "Asia/Kolkata").nextFiring(after: at("2026-01-01T00:00:00Z")) == at("2026-01-01T18:30:00Z"))
        let direct = try CronSchedule(expression: "0 0 * * *", timeZone: TimeZone(secondsFromGMT: 3600)!)
        #expect(direct.nextFiring(after: at("2026-01-01T00:00:00Z")) == at("2026-01-01T23:00:00Z"))
    }

    @Test func valueSemantics() throws {
        let a = try CronSchedule(expression: "@daily", timeZoneIdentifier: "Europe/Berlin")
        let b = CronSchedule(expression: try CronExpression("0 0 * * *"), timeZone: zone("Europe/Berlin"))
        let c = try CronSchedule(expression: "@daily", timeZoneIdentifier: "Europe/Paris")
        #expect(a == b)
        #expect(a != c)
        #expect(Set([a, b, c]).count == 2)
        #expect(a.description == "CRON_TZ=Europe/Berlin 0 0 * * *")
        #expect(a.expression.description == "0 0 * * *")
        let sendable: any Sendable = a
        _ = sendable
    }

    @Test func extremeInstants() throws {
        let s = try schedule("0 0 1 1 *")
        #expect(s.nextFiring(after: .distantFuture) == at("4002-01-01T00:00:00Z"))  // distantFuture is 4001-01-01
        #expect(s.nextFiring(after: Date(timeIntervalSince1970: .infinity)) == nil)
        #expect(s.nextFiring(after: Date(timeIntervalSince1970: .nan)) == nil)
        #expect(s.nextFiring(after: at("1969-12-31T12:00:00Z")) == at("1970-01-01T00:00:00Z"))
        #expect(s.nextFiring(after: at("9999-06-01T00:00:00Z")) == nil)
        #expect(s.firings(after: at("9998-06-01T00:00:00Z"), through: at("9999-12-31T23:59:59Z"), limit: 5) == [at("9999-01-01T00:00:00Z")])
    }

    /// nextFiring skips by field: impossible or sparse expressions searched over 5 years stay cheap.
    @Test func searchIsEfficient() throws {
        let cases = [("0 0 30 2 *", "America/New_York"), ("0 0 29 2 *", "Europe/Berlin"), ("59 23 31 12 *", "Asia/Shanghai"),
                     ("0 0 0 30 2 *", "UTC"), ("*/10 0 0 31 12 *", "Australia/Lord_Howe")]
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            for (expression, zoneIdentifier) in cases {
                let s = try schedule(expression, zoneIdentifier)
                var t = at("2026-01-01T00:00:00Z")
                for _ in 0..<20 {
                    t = s.nextFiring(after: t) ?? t.addingTimeInterval(86_400 * 365)
                }
            }
        }
        // 100 five-year searches; minute-by-minute scanning would need ~2.6 million steps per search.
        #expect(elapsed < .seconds(5), "took \(elapsed)")
    }
}
