import ArgumentParser
import DealerKPIServices

struct Schedule: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage job schedules (cron expressions with an IANA time zone each, stored in the database).",
        subcommands: [List.self, Add.self, Remove.self, Pause.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the schedules.")
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            for line in try await OperationsCommands.listSchedules(global.database, logger: global.bootstrap()) { print(line) }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add or replace a schedule, e.g. add nightly-refresh --job refresh --cron '15 2 * * *' --time-zone Asia/Shanghai")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Schedule name.") var name: String
        @Option(help: "refresh, close_day or retention.") var job: String
        @Option(help: "Cron expression: minute hour day-of-month month day-of-week (a leading seconds field is allowed).") var cron: String
        @Option(name: .customLong("time-zone"), help: "IANA time zone the expression is read in.") var timeZone: String = "Asia/Shanghai"
        @Option(help: "Missed firings while no daemon ran: skip or once.") var missed: String = "skip"
        func run() async throws {
            let lines = try await OperationsCommands.addSchedule(global.database, name: name, job: job, cron: cron, timeZone: timeZone,
                                                                 missed: missed, logger: global.bootstrap())
            lines.forEach { print($0) }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a schedule (its run history stays).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Schedule name.") var name: String
        func run() async throws {
            for line in try await OperationsCommands.removeSchedule(global.database, name: name, logger: global.bootstrap()) { print(line) }
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pause a schedule, or resume it with --resume.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Schedule name.") var name: String
        @Flag(help: "Resume instead (firings missed while paused are not run).") var resume = false
        func run() async throws {
            for line in try await OperationsCommands.pauseSchedule(global.database, name: name, resume: resume, logger: global.bootstrap()) { print(line) }
        }
    }
}

struct Jobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run jobs by hand (and back-fill date ranges); show the run history.",
        subcommands: [Run.self, History.self]
    )

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run a job now in this process: refresh, close_day or retention.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Job name.") var name: String
        @Option(help: "Back-fill from this business date (YYYY-MM-DD).") var from: String?
        @Option(help: "Back-fill through this business date (default: --from).") var to: String?
        @Flag(help: "refresh: rebuild every snapshot.") var full = false
        func run() async throws {
            for line in try await OperationsCommands.runJob(global.database, job: name, from: from, to: to, full: full, logger: global.bootstrap()) { print(line) }
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the latest job runs.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "How many runs.") var limit: Int = 50
        @Option(help: "Only this job.") var job: String?
        func run() async throws {
            for line in try await OperationsCommands.history(global.database, limit: limit, job: job, logger: global.bootstrap()) { print(line) }
        }
    }
}
