public import Foundation

/// A field of a cron expression, named as in error messages.
public enum CronField: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case second
    case minute
    case hour
    case dayOfMonth = "day-of-month"
    case month
    case dayOfWeek = "day-of-week"

    public var description: String { rawValue }
}

/// Why an expression or a time zone was rejected. `description` is the message for the user, e.g.
/// `minute: 61 is out of range 0-59`.
public enum CronError: Error, Sendable, Hashable, CustomStringConvertible, LocalizedError {
    /// One field is malformed; `reason` says why (without the field name).
    case invalidField(CronField, reason: String)
    /// The expression as a whole is malformed (wrong number of fields, unknown macro, empty).
    case invalidExpression(reason: String)
    /// The time zone identifier is not one Foundation's tz database knows (or is a non-IANA spelling).
    case unknownTimeZone(identifier: String)

    /// The offending field, if the problem is confined to one.
    public var field: CronField? {
        if case .invalidField(let field, _) = self { return field }
        return nil
    }

    public var description: String {
        switch self {
        case .invalidField(let field, let reason): "\(field): \(reason)"
        case .invalidExpression(let reason): reason
        case .unknownTimeZone(let identifier): "unknown time zone identifier '\(identifier)'"
        }
    }

    public var errorDescription: String? { description }
}
