import Foundation
public import Logging
public import Postgres

/// The operations behind `dealer-kpi tokens`: run them and render the lines to print. The CLI only parses
/// arguments and prints.
public enum TokenCommands {
    public struct UsageError: Error, CustomStringConvertible {
        public let description: String
    }

    /// `tokens issue --store S [--label L]` / `tokens issue --operator [--label L]`. The new token is the last
    /// line, alone (scripts take `tail -n 1`); the lines before explain it.
    public static func issue(_ configuration: PostgresConfiguration, store: String?, operator isOperator: Bool, label: String?,
                             logger: Logger) async throws -> [String] {
        guard (store != nil) != isOperator else {
            throw UsageError(description: "give exactly one of --store STORE or --operator")
        }
        let issued = try await PoolScope.with(configuration, logger: logger) { pool in
            try await TokenStore(pool: pool, logger: logger).issue(store: store, label: label)
        }
        let whom = issued.storeCode.map { "store \($0)" } ?? "an operator"
        return [
            "Issued token \(issued.tokenID) for \(whom)\(issued.label.map { " (label: \($0))" } ?? "")."
                + " It is shown only now (only its SHA-256 is stored); send it as `Authorization: Bearer TOKEN`:",
            issued.token.value,
        ]
    }

    /// `tokens revoke ID` / `tokens revoke --store S`.
    public static func revoke(_ configuration: PostgresConfiguration, tokenID: Int?, store: String?, logger: Logger) async throws -> [String] {
        guard (tokenID != nil) != (store != nil) else {
            throw UsageError(description: "give exactly one of a token id or --store STORE")
        }
        return try await PoolScope.with(configuration, logger: logger) { pool in
            let tokens = TokenStore(pool: pool, logger: logger)
            if let tokenID {
                return try await tokens.revoke(tokenID: tokenID)
                    ? ["revoked token \(tokenID)"] : ["token \(tokenID) was already revoked"]
            }
            let n = try await tokens.revoke(store: store!)
            return ["revoked \(n) token(s) of store \(store!)"]
        }
    }

    /// `tokens list`: one line per token, no secrets.
    public static func list(_ configuration: PostgresConfiguration, logger: Logger) async throws -> [String] {
        let infos = try await PoolScope.with(configuration, logger: logger) { pool in
            try await TokenStore(pool: pool, logger: logger).list()
        }
        return render(infos)
    }

    static func render(_ infos: [TokenStore.Info]) -> [String] {
        func time(_ d: Date?) -> String { d.map { String(PostgresTimestamp.format($0).prefix(19)).replacingOccurrences(of: " ", with: "T") + "Z" } ?? "-" }
        var lines = ["id\trole\tstore\tstate\tcreated\tlast_used\tlabel"]
        for i in infos {
            let state = i.revokedAt.map { "revoked \(time($0))" } ?? "active"
            lines.append([String(i.tokenID), i.role.rawValue, i.storeCode ?? "-", state, time(i.createdAt), time(i.lastUsedAt), i.label ?? ""]
                .joined(separator: "\t"))
        }
        if infos.isEmpty { lines.append("(no tokens)") }
        return lines
    }
}
