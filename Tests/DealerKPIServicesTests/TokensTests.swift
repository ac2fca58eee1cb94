import DealerKPIServices
import Foundation
import Postgres
import Testing
import TestSupport

@Suite("Tokens")
struct TokensTests {
    @Test func issueStoresOnlyTheHashAndTheTokenIsTheLastLine() async throws {
        try await HTTPTestEnv.with { env in
            let lines = try await TokenCommands.issue(env.configuration.database, store: "S1", operator: false, label: "front desk PC",
                                                      logger: TestPostgres.logger)
            #expect(lines.count >= 2)
            let token = try #require(lines.last)
            #expect(token.hasPrefix("dkpi_") && token.count == 48 && !token.contains(" "))
            #expect(lines.dropLast().allSatisfy { !$0.contains(token) })

            // Only the SHA-256 is stored: the token text appears nowhere in the table.
            let rows = try await env.strings("SELECT t::text FROM ops.api_token t")
            #expect(rows.count == 1)
            #expect(!rows[0].contains(token))
            #expect(!rows[0].contains(String(token.dropFirst(5))))
            #expect(try await env.strings("SELECT token_hash FROM ops.api_token") == [TokenStore.hash(token)])
            #expect(try await env.strings("SELECT role || ' ' || store_code || ' ' || label FROM ops.api_token") == ["store S1 front desk PC"])

            let principal = try await env.tokens.authenticate(token)
            #expect(principal == TokenStore.Principal(role: .store, storeCode: "S1", tokenID: principal?.tokenID))
            #expect(try await env.int("SELECT count(*) FROM ops.api_token WHERE last_used_at IS NOT NULL") == 1)
        }
    }

    @Test func operatorTokensAndUsageErrors() async throws {
        try await HTTPTestEnv.with { env in
            let lines = try await TokenCommands.issue(env.configuration.database, store: nil, operator: true, label: nil, logger: TestPostgres.logger)
            let principal = try await env.tokens.authenticate(try #require(lines.last))
            #expect(principal?.role == .operator && principal?.storeCode == nil)

            await #expect(throws: TokenStore.TokenError.unknownStore("NOPE")) {
                try await env.tokens.issue(store: "NOPE")
            }
            await #expect(throws: TokenCommands.UsageError.self) {
                try await TokenCommands.issue(env.configuration.database, store: "S1", operator: true, label: nil, logger: TestPostgres.logger)
            }
            await #expect(throws: TokenStore.TokenError.unknownToken(999)) {
                try await env.tokens.revoke(tokenID: 999)
            }
            #expect(try await env.int("SELECT count(*) FROM ops.api_token") == 1)
        }
    }

    @Test func revokeByIDAndByStoreAndList() async throws {
        try await HTTPTestEnv.with { env in
            let a = try await env.tokens.issue(store: "S1", label: "a")
            let b = try await env.tokens.issue(store: "S1", label: "b")
            let c = try await env.tokens.issue(store: "S2")
            let op = try await env.tokens.issue(store: nil)
            #expect(Set([a, b, c, op].map(\.token.value)).count == 4)
            for t in [a, b, c, op] { #expect(try await env.tokens.authenticate(t.token.value) != nil) }

            let byID = try await TokenCommands.revoke(env.configuration.database, tokenID: a.tokenID, store: nil, logger: TestPostgres.logger)
            #expect(byID == ["revoked token \(a.tokenID)"])
            #expect(try await env.tokens.revoke(tokenID: a.tokenID) == false)
            #expect(try await env.tokens.authenticate(a.token.value) == nil)
            #expect(try await env.tokens.authenticate(b.token.value) != nil)

            let byStore = try await TokenCommands.revoke(env.configuration.database, tokenID: nil, store: "S1", logger: TestPostgres.logger)
            #expect(byStore == ["revoked 1 token(s) of store S1"])
            #expect(try await env.tokens.authenticate(b.token.value) == nil)
            #expect(try await env.tokens.authenticate(c.token.value)?.storeCode == "S2")

            let infos = try await env.tokens.list()
            #expect(infos.map(\.tokenID) == [a, b, c, op].map(\.tokenID))
            #expect(infos.map(\.isRevoked) == [true, true, false, false])
            #expect(infos.map(\.role) == [.store, .store, .store, .operator])

            let listed = try await TokenCommands.list(env.configuration.database, logger: TestPostgres.logger)
            #expect(listed.count == 5)
            #expect(listed[0].hasPrefix("id\trole\tstore"))
            #expect(listed[1].hasPrefix("\(a.tokenID)\tstore\tS1\trevoked"))
            #expect(listed[4].hasPrefix("\(op.tokenID)\toperator\t-\tactive"))
            for t in [a, b, c, op] { #expect(listed.allSatisfy { !$0.contains(t.token.value) }) }
        }
    }

    @Test func malformedTokensNeverReachTheDatabase() async throws {
        try await HTTPTestEnv.with { env in
            for t in ["", "dkpi_", "dkpi_" + String(repeating: "!", count: 43), "Bearer x", String(repeating: "a", count: 48)] {
                let principal = try await env.tokens.authenticate(t)
                #expect(principal == nil)
            }
            #expect(TokenStore.hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        }
    }
}
