import Foundation
import Testing
import Cron

@Suite("Syntax")
struct SyntaxTests {
    /// Every syntax element, evaluated in UTC: expression, start (exclusive), the next firings.
    static let cases: [(String, String, [String])] = [
        ("* * * * *", "2026-01-01T00:00:30Z", ["2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z"]),
        ("1,5,9 * * * *", "2026-01-01T00:05:00Z", ["2026-01-01T00:09:00Z", "2026-01-01T01:01:00Z", "2026-01-01T01:05:00Z"]),
        ("1-3 * * * *", "2026-01-01T00:02:00Z", ["2026-01-01T00:03:00Z", "2026-01-01T01:01:00Z"]),
        ("*/15 * * * *", "2026-01-01T00:00:00Z",
         ["2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z", "2026-01-01T00:45:00Z", "2026-01-01T01:00:00Z"]),
        ("10-50/20 * * * *", "2026-01-01T00:00:00Z",
         ["2026-01-01T00:10:00Z", "2026-01-01T00:30:00Z", "2026-01-01T00:50:00Z", "2026-01-01T01:10:00Z"]),
        ("0 */6 * * *", "2026-01-01T05:00:00Z", ["2026-01-01T06:00:00Z", "2026-01-01T12:00:00Z"]),
        ("0 9-17/4 * * *", "2026-01-01T00:00:00Z",
         ["2026-01-01T09:00:00Z", "2026-01-01T13:00:00Z", "2026-01-01T17:00:00Z", "2026-01-02T09:00:00Z"]),
        ("0 0 1,15 * *", "2026-01-01T00:00:00Z", ["2026-01-15T00:00:00Z", "2026-02-01T00:00:00Z"]),
        ("0 0 1 jun,DEC *", "2026-01-01T00:00:00Z",
         ["2026-06-01T00:00:00Z", "2026-12-01T00:00:00Z", "2027-06-01T00:00:00Z"]),
        ("0 0 1 Feb-Apr *", "2026-01-01T00:00:00Z",
         ["2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z", "2027-02-01T00:00:00Z"]),
        ("0 0 1 */4 *", "2026-01-01T00:00:00Z", ["2026-05-01T00:00:00Z", "2026-09-01T00:00:00Z", "2027-01-01T00:00:00Z"]),
        // 2026-01-01 is a Thursday.
        ("0 12 * * SAT,sun", "2026-01-01T00:00:00Z",
         ["2026-01-03T12:00:00Z", "2026-01-04T12:00:00Z", "2026-01-10T12:00:00Z"]),
        ("0 0 * * 7", "2026-01-01T00:00:00Z", ["2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"]),
        ("0 0 * * 0", "2026-01-01T00:00:00Z", ["2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"]),
        ("0 0 * * 5-7", "2026-01-01T00:00:00Z",
         ["2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z", "2026-01-09T00:00:00Z"]),
        ("0 0 * * MON-FRI/2", "2026-01-01T00:00:00Z",
         ["2026-01-02T00:00:00Z", "2026-01-05T00:00:00Z", "2026-01-07T00:00:00Z", "2026-01-09T00:00:00Z"]),
        ("@hourly", "2026-01-01T00:30:00Z", ["2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z"]),
        ("@daily", "2026-01-01T00:00:00Z", ["2026-01-02T00:00:00Z"]),
        ("@midnight", "2026-01-01T23:59:59Z", ["2026-01-02T00:00:00Z"]),
        ("@weekly", "2026-01-01T00:00:00Z", ["2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"]),
        ("@monthly", "2026-01-01T00:00:00Z", ["2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"]),
        ("@yearly", "2026-01-01T00:00:00Z", ["2027-01-01T00:00:00Z"]),
        ("@ANNUALLY", "2026-06-01T00:00:00Z", ["2027-01-01T00:00:00Z"]),
        // Six fields: leading seconds.
        ("*/20 * * * * *", "2026-01-01T00:00:00Z",
         ["2026-01-01T00:00:20Z", "2026-01-01T00:00:40Z", "2026-01-01T00:01:00Z"]),
        ("30 0 12 * * *", "2026-01-01T00:00:00Z", ["2026-01-01T12:00:30Z", "2026-01-02T12:00:30Z"]),
        ("0 0 12 * * *", "2026-01-01T12:00:00Z", ["2026-01-02T12:00:00Z"]),
        // Whitespace is free-form.
        ("  0\t12   *  * *  ", "2026-01-01T00:00:00Z", ["2026-01-01T12:00:00Z"]),
        // `after` is exclusive, fractional seconds are honoured.
        ("0 12 * * *", "2026-01-01T12:00:00Z", ["2026-01-02T12:00:00Z"]),
        ("0 12 * * *", "2026-01-01T11:59:59.999Z", ["2026-01-01T12:00:00Z"]),
        ("* * * * * *", "2026-01-01T00:00:00.250Z", ["2026-01-01T00:00:01Z", "2026-01-01T00:00:02Z"]),
        // Year and month roll-over.
        ("59 23 31 12 *", "2026-06-01T00:00:00Z", ["2026-12-31T23:59:00Z", "2027-12-31T23:59:00Z"]),
    ]

    @Test("next firings", arguments: cases)
    func nextFirings(expression: String, start: String, expected: [String]) throws {
        let s = try schedule(expression)
        #expect(chain(s, after: at(start), count: expected.count) == expected.map(at))
    }

    /// Input → normalized description.
    static let normalized: [(String, String)] = [
        ("* * * * *", "* * * * *"),
        ("1,5,9 * * * *", "1,5,9 * * * *"),
        ("9,1,5,5 * * * *", "1,5,9 * * * *"),
        ("1-5 * * * *", "1-5 * * * *"),
        ("1,2,3,10 * * * *", "1-3,10 * * * *"),
        ("*/15 * * * *", "*/15 * * * *"),
        ("0,15,30,45 * * * *", "0-45/15 * * * *"),
        ("10-50/5 * * * *", "10-50/5 * * * *"),
        ("10-52/5 * * * *", "10-50/5 * * * *"),
        ("10-50/20 * * * *", "10,30,50 * * * *"),
        ("*/1 * * * *", "* * * * *"),
        ("0-59 * * * *", "0-59 * * * *"),
        ("0 0 * JAN-MAR *", "0 0 * 1-3 *"),
        ("0 0 * 1-12 *", "0 0 * * *"),
        ("0 0 * * MON-FRI", "0 0 * * 1-5"),
        ("0 0 * * sun", "0 0 * * 0"),
        ("0 0 * * 7", "0 0 * * 0"),
        ("0 0 * * 0,7", "0 0 * * 0"),
        ("0 0 * * 5-7", "0 0 * * 0,5,6"),
        ("0 0 * * */2", "0 0 * * */2"),
        ("0 0 L * *", "0 0 L * *"),
        ("0 0 l,15 * *", "0 0 15,L * *"),
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
        ("0 30 2 * * *", "30 2 * * *"),
        ("*/10 * * * * *", "*/10 * * * * *"),
        ("5 30 2 * * *", "5 30 2 * * *"),
    ]

    @Test("normalized description", arguments: normalized)
    func description(input: String, expected: String) throws {
        let expression = try CronExpression(input)
        #expect(expression.description == expected)
        // The normalized form parses back to an equal value.
        #expect(try CronExpression(expected) == expression)
    }

    @Test func equalityFollowsNormalizedForm() throws {
        #expect(try CronExpression("0 0 * * 7") == CronExpression("0 0 * * SUN"))
        #expect(try CronExpression("@daily") == CronExpression("0 0 * * *"))
        #expect(try CronExpression("0 0 0 * * *") == CronExpression("@daily"))
        #expect(try CronExpression("0-59 * * * *") != CronExpression("* * * * *"))
        let set: Set<CronExpression> = try [CronExpression("@hourly"), CronExpression("0 * * * *"), CronExpression("0 */1 * * *")]
        #expect(set.count == 1)
    }

    @Test("wildcard jobs", arguments: [
        ("*/15 * * * *", true), ("30 * * * *", true), ("* 2 * * *", true), ("*/10 1 * * *", true),
        ("* 30 2 * * *", true), ("@hourly", true),
        ("30 2 * * *", false), ("0,15,30,45 0-23 * * *", false), ("0-59 2 * * *", false), ("@daily", false),
        ("0 0 * * */2", false),
    ])
    func wildcard(expression: String, expected: Bool) throws {
        #expect(try CronExpression(expression).isWildcardJob == expected)
    }
}
