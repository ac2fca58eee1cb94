import CivilCalendar
import Foundation
public import Logging
public import Postgres

/// The logic behind `dealer-kpi schedule ...` and `dealer-kpi jobs ...`; the CLI parses and prints.
public enum OperationsCommands {
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public static func listSchedules(_ configuration: PostgresConfiguration, logger: Logger) async throws -> [String] {
        try await PoolScope.with(configuration, logger: logger) { pool in
            let schedules = try await JobScheduleStore(pool: pool).list()
            var lines = ["name\tjob\tcron\ttime zone\tmissed\tstate\thandled through"]
            for s in schedules {
                lines.append("\(s.name)\t\(s.job.rawValue)\t\(s.cron)\t\(s.timeZone)\t\(s.missedPolicy.rawValue)\t\(s.paused ? "paused" : "active")\t\(s.handledThrough.map(PostgresTimestamp.format) ?? "-")")
            }
            return lines
        }
    }

    public static func addSchedule(_ configuration: PostgresConfiguration, name: String, job: String, cron: String, timeZone: String,
                                   missed: String, logger: Logger) async throws -> [String] {
        guard let kind = JobKind(rawValue: job) else {
            throw Invalid(description: "unknown job \(job); jobs: \(JobKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let policy = JobSchedule.MissedPolicy(rawValue: missed) else { throw Invalid(description: "--missed must be skip or once") }
        return try await PoolScope.with(configuration, logger: logger) { pool in
            let s = try await JobScheduleStore(pool: pool).add(name: name, job: kind, cron: cron, timeZone: timeZone, missedPolicy: policy)
            return ["schedule \(s.name): \(s.job.rawValue) at '\(s.cron)' (\(s.timeZone)), missed firings: \(s.missedPolicy.rawValue)"]
        }
    }

    public static func removeSchedule(_ configuration: PostgresConfiguration, name: String, logger: Logger) async throws -> [String] {
        try await PoolScope.with(configuration, logger: logger) { pool in
            try await JobScheduleStore(pool: pool).remove(name: name)
            return ["removed schedule \(name)"]
        }
    }

    public static func pauseSchedule(_ configuration: PostgresConfiguration, name: String, resume: Bool, logger: Logger) async throws -> [String] {
        try await PoolScope.with(configuration, logger: logger) { pool in
            try await JobScheduleStore(pool: pool).setPaused(name: name, !resume)
            return ["\(resume ? "resumed" : "paused") schedule \(name)"]
        }
    }

    /// Runs a job in this process now (optionally over a date range: a back-fill) and records the run.
    public static func runJob(_ configuration: PostgresConfiguration, job: String, from: String?, to: String?, full: Bool, logger: Logger) async throws -> [String] {
        guard let kind = JobKind(rawValue: job) else {
            throw Invalid(description: "unknown job \(job); jobs: \(JobKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        func date(_ text: String?, _ flag: String) throws -> CalendarDate? {
            guard let text else { return nil }
            guard let d = CalendarDate(iso: text) else { throw Invalid(description: "\(flag) must be YYYY-MM-DD, got \(text)") }
            return d
        }
        let arguments = JobArguments(from: try date(from, "--from"), to: try date(to, "--to"), full: full)
        if let a = arguments.from, let b = arguments.to, b < a { throw Invalid(description: "--to is before --from") }
        let trigger: JobTrigger = arguments.from == nil ? .manual : .backfill
        return try await PoolScope.with(configuration, maximumConnections: 2, logger: logger) { pool in
            let record = try await JobRunner(pool: pool, instance: "cli:\(getpid())", logger: logger).runNow(job: kind, trigger: trigger, arguments: arguments)
            return ["run \(record.runID): \(record.job.rawValue) \(record.status), \(record.rows ?? 0) rows"]
        }
    }

    public static func history(_ configuration: PostgresConfiguration, limit: Int, job: String?, logger: Logger) async throws -> [String] {
        try await PoolScope.with(configuration, logger: logger) { pool in
            let entries = try await JobHistory(pool: pool).latest(limit: limit, job: job)
            var lines = ["run\tjob\tschedule\tscheduled for\ttrigger\tstatus\tstarted\tfinished\trows\tinstance\terror"]
            for e in entries {
                lines.append([String(e.runID), e.job, e.schedule ?? "-", e.scheduledFor.map(PostgresTimestamp.format) ?? "-", e.trigger, e.status,
                              PostgresTimestamp.format(e.startedAt), e.finishedAt.map(PostgresTimestamp.format) ?? "-",
                              e.rows.map(String.init) ?? "-", e.instance ?? "-", e.error ?? ""].joined(separator: "\t"))
            }
            return lines
        }
    }
}
