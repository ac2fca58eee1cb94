import ArgumentParser
import DealerKPIServices

/// `dealer-kpi tokens issue|revoke|list`: bearer tokens for the HTTP API. The work is in
/// `TokenCommands` (DealerKPIServices); this only parses and prints.
struct Tokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Issue, revoke and list API tokens (store tokens upload reports; operator tokens read KPIs and run jobs).",
        subcommands: [Issue.self, Revoke.self, List.self]
    )

    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a token; the token is printed once, alone on the last line of the output.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The store the token uploads reports for.") var store: String?
        @Flag(name: .customLong("operator"), help: "Issue an operator token instead (KPIs, job runs).") var isOperator = false
        @Option(help: "A note saying who or what holds the token.") var label: String?

        func validate() throws {
            guard (store != nil) != isOperator else { throw ValidationError("give exactly one of --store STORE or --operator") }
        }

        func run() async throws {
            let logger = global.bootstrap()
            let lines = try await TokenCommands.issue(global.database, store: store, operator: isOperator, label: label, logger: logger)
            lines.forEach { print($0) }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke one token by id, or every token of a store.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The token id (see `tokens list`).") var id: Int?
        @Option(help: "Revoke every token of this store.") var store: String?

        func validate() throws {
            guard (id != nil) != (store != nil) else { throw ValidationError("give exactly one of a token id or --store STORE") }
        }

        func run() async throws {
            let logger = global.bootstrap()
            let lines = try await TokenCommands.revoke(global.database, tokenID: id, store: store, logger: logger)
            lines.forEach { print($0) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (ids, roles, stores, state; never secrets).")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let logger = global.bootstrap()
            let lines = try await TokenCommands.list(global.database, logger: logger)
            lines.forEach { print($0) }
        }
    }
}
