import Foundation
import Testing
import Cron

/// An instant written as ISO 8601 with an explicit offset, e.g. `2026-03-08T03:00:00-04:00`.
func at(_ text: String) -> Date {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = text.contains(".") ? [.withInternetDateTime, .withFractionalSeconds] : [.withInternetDateTime]
    guard let date = formatter.date(from: text) else { fatalError("bad test instant \(text)") }
    return date
}

func zone(_ identifier: String) -> TimeZone {
    guard let zone = TimeZone(identifier: identifier) else { fatalError("no zone \(identifier)") }
    return zone
}

func schedule(_ expression: String, _ zoneIdentifier: String = "UTC") throws -> CronSchedule {
    try CronSchedule(expression: expression, timeZoneIdentifier: zoneIdentifier)
}

/// `count` consecutive firings, each the `nextFiring` of the previous one.
func chain(_ schedule: CronSchedule, after start: Date, count: Int) -> [Date] {
    var result: [Date] = []
    var cursor = start
    for _ in 0..<count {
        guard let next = schedule.nextFiring(after: cursor) else { break }
        result.append(next)
        cursor = next
    }
    return result
}
