import Foundation
import Testing
import Cron

@Suite("Errors")
struct ErrorTests {
    static let cases: [(String, CronField?, String)] = [
        ("61 * * * *", .minute, "minute: 61 is out of range 0-59"),
        ("0 24 * * *", .hour, "hour: 24 is out of range 0-23"),
        ("0 0 0 * *", .dayOfMonth, "day-of-month: 0 is out of range 1-31"),
        ("0 0 32 * *", .dayOfMonth, "day-of-month: 32 is out of range 1-31"),
        ("0 0 * 13 *", .month, "month: 13 is out of range 1-12"),
        ("0 0 * 0 *", .month, "month: 0 is out of range 1-12"),
        ("0 0 * * 8", .dayOfWeek, "day-of-week: 8 is out of range 0-7"),
        ("60 0 0 * * *", .second, "second: 60 is out of range 0-59"),
        ("99999999999999999999 * * * *", .minute, "minute: 99999999999999999999 is out of range 0-59"),
        ("0 0 * FOO *", .month, "month: 'FOO' is not a number or month name (JAN-DEC)"),
        ("0 0 * * FUNDAY", .dayOfWeek, "day-of-week: 'FUNDAY' is not a number or weekday name (SUN-SAT)"),
        ("0 MON * * *", .hour, "hour: 'MON' is not a number"),
        ("0 0 * * JAN", .dayOfWeek, "day-of-week: 'JAN' is not a number or weekday name (SUN-SAT)"),
        ("-5 * * * *", .minute, "minute: malformed range '-5'"),
        ("1-2-3 * * * *", .minute, "minute: malformed range '1-2-3'"),
        ("30-10 * * * *", .minute, "minute: range 30-10 is reversed (the start must not exceed the end)"),
        ("0 0 * * FRI-SUN", .dayOfWeek, "day-of-week: range FRI-SUN is reversed (the start must not exceed the end)"),
        ("*/0 * * * *", .minute, "minute: step 0 is out of range 1-59"),
        ("*/60 * * * *", .minute, "minute: step 60 is out of range 1-59"),
        ("0 */24 * * *", .hour, "hour: step 24 is out of range 1-23"),
        ("*/x * * * *", .minute, "minute: step 'x' in '*/x' is not a number"),
        ("*/ * * * *", .minute, "minute: step '' in '*/' is not a number"),
        ("5/15 * * * *", .minute, "minute: '5/15' has a step but no range; write 5-59/15"),
        ("*/5/2 * * * *", .minute, "minute: '*/5/2' has more than one step"),
        ("1,,2 * * * *", .minute, "minute: empty element in list '1,,2'"),
        ("1, * * * *", .minute, "minute: empty element in list '1,'"),
        ("0 0 ? * MON", .dayOfMonth, "day-of-month: '?' is not supported; use '*'"),
        ("0 0 15W * *", .dayOfMonth, "day-of-month: '15W' is not supported; only a plain 'L' (last day of the month) is"),
        ("0 0 LW * *", .dayOfMonth, "day-of-month: 'LW' is not supported; only a plain 'L' (last day of the month) is"),
        ("0 0 L-3 * *", .dayOfMonth, "day-of-month: 'L-3' is not supported; only a plain 'L' (last day of the month) is"),
        ("0 0 L/2 * *", .dayOfMonth, "day-of-month: 'L/2' is not supported; only a plain 'L' (last day of the month) is"),
        ("0 0 * * 5L", .dayOfWeek, "day-of-week: '5L' (last weekday of the month) is not supported"),
        ("0 0 * * L", .dayOfWeek, "day-of-week: 'L' is only supported in the day-of-month field"),
        ("L 0 * * *", .minute, "minute: 'L' is only supported in the day-of-month field"),
        ("0 0 * * MON#2", .dayOfWeek, "day-of-week: '#' (nth weekday of the month) in 'MON#2' is not supported"),
        ("H * * * *", .minute, "minute: 'H' (hashed values) in 'H' is not supported"),
        ("", nil, "empty expression"),
        ("   ", nil, "empty expression"),
        ("* * * *", nil, "expected 5 fields (minute hour day-of-month month day-of-week) or 6 (with leading seconds), got 4"),
        ("0 0 0 1 1 * 2026", nil, "expected 5 fields (minute hour day-of-month month day-of-week) or 6 (with leading seconds), got 7"),
        ("@reboot", nil, "@reboot is not supported (it is not a time schedule)"),
        ("@every 5m", nil, "unknown macro '@every 5m' (supported: @yearly @annually @monthly @weekly @daily @midnight @hourly)"),
        ("@fortnightly", nil, "unknown macro '@fortnightly' (supported: @yearly @annually @monthly @weekly @daily @midnight @hourly)"),
    ]

    @Test("invalid expressions name the field and the reason", arguments: cases)
    func invalid(expression: String, field: CronField?, message: String) {
        do {
            let parsed = try CronExpression(expression)
            Issue.record("'\(expression)' parsed as '\(parsed)'")
        } catch {
            #expect(error.field == field)
            #expect(error.description == message)
            #expect(error.localizedDescription == message)
        }
    }

    @Test func scheduleInitializerPropagatesSyntaxErrors() {
        #expect(throws: CronError.invalidField(.minute, reason: "61 is out of range 0-59")) {
            try CronSchedule(expression: "61 * * * *", timeZoneIdentifier: "UTC")
        }
    }
}
