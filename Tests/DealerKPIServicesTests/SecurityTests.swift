import DealerKPIServices
import Foundation
import Hummingbird
import HummingbirdTesting
import Postgres
import Testing
import TestSupport
import Warehouse

/// Store isolation over HTTP: a store token reaches its own store's uploads and nothing else; revoked, tampered
/// and guessed tokens reach nothing; and no refusal changes anything in the database.
///
/// (Plain cases live in HTTPReportTests / HTTPOperationsTests / TokensTests; these sweep every route and
/// compare a fingerprint of the whole warehouse before and after.)
@Suite("Security: store isolation and tokens over HTTP")
struct SecurityTests {
    /// Every route a store token must not use, with the methods of the API (and token administration, which
    /// has no HTTP route at all: `dealer-kpi tokens` needs database credentials).
    static let operatorOnly: [(HTTPRequest.Method, String, String?)] = [
        (.get, "/v1/kpis?level=store&grain=day", nil),
        (.get, "/v1/kpis?level=store&grain=day&store=S2", nil),
        (.get, "/v1/kpis?level=salesperson&grain=day&store=S2", nil),
        (.get, "/v1/kpis?level=store&grain=day&store=S1", nil),
        (.get, "/v1/kpis?level=national&grain=month", nil),
        (.post, "/v1/jobs/refresh/runs", nil),
        (.post, "/v1/jobs/refresh/runs", "{\"full\": true}"),
        (.post, "/v1/jobs/close_day/runs", "{\"from\": \"2026-03-01\", \"to\": \"2026-03-31\"}"),
        (.post, "/v1/jobs/retention/runs", nil),
    ]
    static let noSuchRoutes: [(HTTPRequest.Method, String)] = [
        (.post, "/v1/tokens"), (.get, "/v1/tokens"), (.delete, "/v1/tokens/1"), (.post, "/v1/tokens/1/revoke"),
        (.get, "/v1/reports"), (.get, "/v1/reports/1"), (.delete, "/v1/reports"), (.put, "/v1/reports"),
        (.get, "/v1/jobs/refresh/runs"), (.get, "/v1/stores/S2"), (.get, "/v1/admin"),
    ]

    @Test func aStoreTokenReachesNothingButItsOwnUploads() async throws {
        try await HTTPTestEnv.with { env in
            let s1 = try await env.storeToken("S1")
            let s2 = try await env.storeToken("S2")
            let op = try await env.operatorToken()
            try await env.api.application().test(.router) { client in
                for (store, token) in [("S1", s1), ("S2", s2)] {
                    try await client.execute(uri: "/v1/reports", method: .post, headers: bearer(token, contentType: "application/json"),
                                             body: ByteBuffer(string: reportJSON(store: store, phone: "13700001111"))) { r in
                        #expect(r.status == .created, "\(r.text)")
                    }
                }
            }
            _ = try await SnapshotRefresher(pool: env.pool, logger: TestPostgres.logger).refresh(mode: .full)
            let before = try await fingerprint(env)
            let date = HTTPTestEnv.reportDate

            try await env.api.application().test(.router) { client in
                // Uploads carrying S2's data in every form a store could try: JSON, each CSV section, mixed files,
                // a correction of S2's existing report.
                let forS2: [(String, String)] = [
                    ("application/json", reportJSON(store: "S2")),
                    ("application/json", reportJSON(store: "S2", visitID: "V2")),  // a correction of S2's report
                    ("text/csv", "store,business_date,visit_id,channel,purpose,salesperson,model,party_size,existing_card,existing_order,new_card,test_drive\nS2,\(date),V9,walk_in,purchase,S2-01,M1,1,,false,,false\n"),
                    ("text/csv", "store,business_date,card,created_on,salesperson,customer_name,phone,model,level,source,status,closed_on,lost_reason\nS2,\(date),A-S2-1,\(date),S2-01,李雷,13800002222,M1,H,walk_in,lost,\(date),价格\n"),
                    ("text/csv", "store,business_date,order,card,salesperson,model,order_date,status,delivery_date,cancel_date,vin,list_price,deal_price,collected\nS2,\(date),O-1,,S2-01,M1,\(date),ordered,,,,100.00,100.00,0\n"),
                    ("text/csv", "store,business_date,visit_id,channel,purpose,salesperson,model,party_size,existing_card,existing_order,new_card,test_drive\nS1,\(date),V9,walk_in,purchase,S1-01,M1,1,,false,,false\nS2,\(date),V9,walk_in,purchase,S2-01,M1,1,,false,,false\n"),
                ]
                for (type, body) in forS2 {
                    try await client.execute(uri: "/v1/reports", method: .post, headers: bearer(s1, contentType: type), body: ByteBuffer(string: body)) { r in
                        #expect(r.status == .forbidden, "\(type): \(r.status) \(r.text)")
                    }
                }
                // Every operator route, with the store's token: 403 (authenticated, not allowed).
                for (method, uri, body) in Self.operatorOnly {
                    try await client.execute(uri: uri, method: method, headers: bearer(s1, contentType: body == nil ? nil : "application/json"),
                                             body: body.map { ByteBuffer(string: $0) }) { r in
                        #expect(r.status == .forbidden, "\(method) \(uri): \(r.status)")
                        #expect(!r.text.contains("rows"))
                    }
                }
                // Token administration and reading reports back are not on HTTP at all, for anyone.
                for token in [s1, op] {
                    for (method, uri) in Self.noSuchRoutes {
                        try await client.execute(uri: uri, method: method, headers: bearer(token, contentType: "application/json"),
                                                 body: ByteBuffer(string: "{\"store\": \"S2\"}")) { r in
                            #expect(r.status == .notFound || r.status == .methodNotAllowed, "\(method) \(uri): \(r.status)")
                        }
                    }
                }
                // An operator token does not upload (it has no store to speak for).
                try await client.execute(uri: "/v1/reports", method: .post, headers: bearer(op, contentType: "application/json"),
                                         body: ByteBuffer(string: reportJSON(store: "S2"))) { r in
                    #expect(r.status == .forbidden)
                }
            }
            #expect(try await fingerprint(env) == before)
        }
    }

    @Test func revokedTamperedAndGuessedTokensReachNothing() async throws {
        try await HTTPTestEnv.with(configure: { $0.operatorToken = Secret("configured-operator-token-0123456789") }) { env in
            let revokedStore = try await env.tokens.issue(store: "S1")
            let revokedOperator = try await env.tokens.issue(store: nil)
            try await env.tokens.revoke(tokenID: revokedStore.tokenID)
            try await env.tokens.revoke(tokenID: revokedOperator.tokenID)
            let s1 = try await env.storeToken("S1")
            let op = try await env.operatorToken()
            let before = try await fingerprint(env)

            var candidates: [String] = [revokedStore.token.value, revokedOperator.token.value]
            // One character changed, at every position after the prefix, of a live store and a live operator token.
            for token in [s1, op] { candidates += Self.oneCharacterTamperings(of: token) }
            // Near misses: case, truncation, extension, whitespace inside, the stored hash itself (a leaked table).
            for token in [s1, op] {
                candidates += [token.uppercased(), token.lowercased(), String(token.dropLast()), token + "A", "x" + token.dropFirst(),
                               String(token.prefix(20)) + " " + String(token.dropFirst(20)), TokenStore.hash(token),
                               "dkpi_" + TokenStore.hash(token).prefix(43)]
            }
            candidates += ["configured-operator-token-012345678", "configured-operator-token-01234567890", "Configured-operator-token-0123456789"]
            // Guesses: well-formed random tokens.
            for _ in 0..<200 { candidates.append(Self.randomWellFormedToken()) }
            let tried = candidates.filter { $0 != s1 && $0 != op }

            let statuses = try await env.api.application().test(.router) { client in
                var statuses: [HTTPResponse.Status: Int] = [:]
                for token in tried {
                    let status = try await client.execute(uri: "/v1/reports", method: .post, headers: bearer(token, contentType: "application/json"),
                                                          body: ByteBuffer(string: reportJSON(store: "S1"))) { r in r.status }
                    statuses[status, default: 0] += 1
                    try await client.execute(uri: "/v1/kpis?level=store&grain=day", method: .get, headers: bearer(token)) { r in
                        #expect(r.status == .unauthorized, "\(r.status)")
                    }
                    try await client.execute(uri: "/v1/jobs/refresh/runs", method: .post, headers: bearer(token)) { r in
                        #expect(r.status == .unauthorized, "\(r.status)")
                    }
                }
                // Only the Authorization header counts: a token in the query string or another header is no token.
                for uri in ["/v1/kpis?level=store&grain=day&access_token=\(op)", "/v1/kpis?level=store&grain=day&token=\(op)"] {
                    try await client.execute(uri: uri, method: .get) { r in #expect(r.status == .unauthorized) }
                }
                var other = HTTPFields()
                other[HTTPFields.Element.Name("X-Api-Token")!] = op
                try await client.execute(uri: "/v1/kpis?level=store&grain=day", method: .get, headers: other) { r in
                    #expect(r.status == .unauthorized)
                }
                // The live tokens still work (the refusals above were about the tokens, not the requests).
                try await client.execute(uri: "/v1/kpis?level=store&grain=day", method: .get, headers: bearer(op)) { r in
                    #expect(r.status == .ok)
                }
                try await client.execute(uri: "/v1/kpis?level=store&grain=day", method: .get, headers: bearer("configured-operator-token-0123456789")) { r in
                    #expect(r.status == .ok)
                }
                return statuses
            }
            #expect(tried.count > 300)
            #expect(statuses == [.unauthorized: tried.count])
            #expect(try await fingerprint(env) == before)
            // Nothing a refused token did is recorded against a live one.
            #expect(try await env.int("SELECT count(*) FROM ops.api_token WHERE revoked_at IS NOT NULL AND last_used_at IS NOT NULL") == 0)
        }
    }

    /// A store may name another store's salesperson (loans: the facts belong to the reporting store), but
    /// nothing in the other store's own snapshot rows moves.
    @Test func anotherStoresSalespersonInAReportDoesNotTouchThatStoresKPIs() async throws {
        try await HTTPTestEnv.with { env in
            let s1 = try await env.storeToken("S1")
            let s2 = try await env.storeToken("S2")
            try await env.api.application().test(.router) { client in
                try await client.execute(uri: "/v1/reports", method: .post, headers: bearer(s2, contentType: "application/json"),
                                         body: ByteBuffer(string: reportJSON(store: "S2"))) { r in #expect(r.status == .created) }
            }
            let refresher = SnapshotRefresher(pool: env.pool, logger: TestPostgres.logger)
            _ = try await refresher.refresh(mode: .full)
            // S2's rows without computed_at (which a recomputation would restamp): their content must not move.
            let s2Content = PostgresQuery(unsafeSQL: """
                SELECT count(*)::text || ':' || md5(string_agg((to_jsonb(s) - 'computed_at')::text, '|' ORDER BY (to_jsonb(s) - 'computed_at')::text))
                FROM bi.kpi_wide s WHERE store_code = 'S2'
                """)
            let before = try await env.strings(s2Content)
            #expect(before.first?.hasPrefix("0:") == false)
            try await env.api.application().test(.router) { client in
                try await client.execute(uri: "/v1/reports", method: .post, headers: bearer(s1, contentType: "application/json"),
                                         body: ByteBuffer(string: reportJSON(store: "S1", salesperson: "S2-01"))) { r in
                    #expect(r.status == .created, "\(r.text)")
                }
            }
            _ = try await refresher.refresh(mode: .incremental)
            #expect(try await env.int("SELECT count(*) FROM core.visit WHERE store_code = 'S1' AND salesperson_code = 'S2-01'") == 1)
            #expect(try await env.int("SELECT count(*) FROM bi.kpi_wide WHERE store_code = 'S1' AND salesperson_code = 'S2-01'") > 0)
            #expect(try await env.strings(s2Content) == before)
            _ = try await refresher.refresh(mode: .full)
            #expect(try await env.strings(s2Content) == before)
        }
    }

    /// A VIN already sold by another store: the upload is refused, and the refusal does not tell the uploading
    /// store which of the other store's orders holds the VIN, or which store it is.
    @Test func aDuplicateVINDoesNotDiscloseTheOtherStoresOrder() async throws {
        try await HTTPTestEnv.with { env in
            let s1 = try await env.storeToken("S1")
            let s2 = try await env.storeToken("S2")
            let date = HTTPTestEnv.reportDate
            func sale(_ store: String, order: String) -> String {
                """
                {"format": "dealer-daily-report/1", "store": "\(store)", "business_date": "\(date)",
                 "sales": [{"order": "\(order)", "card": null, "salesperson": "\(store)-01", "model": "M1", "order_date": "\(date)",
                            "status": "delivered", "delivery_date": "\(date)", "cancel_date": null, "vin": "LFV2A21K8M3123456",
                            "list_price": 159800.00, "deal_price": 152000.00, "collected": 152000.00}]}
                """
            }
            let s2Sale = sale("S2", order: "S2-SECRET-ORDER-77"), s1Sale = sale("S1", order: "O-1")
            try await env.api.application().test(.router) { client in
                try await client.execute(uri: "/v1/reports", method: .post, headers: bearer(s2, contentType: "application/json"),
                                         body: ByteBuffer(string: s2Sale)) { r in
                    #expect(r.status == .created, "\(r.text)")
                }
                let before = try await fingerprint(env)
                try await client.execute(uri: "/v1/reports", method: .post, headers: bearer(s1, contentType: "application/json"),
                                         body: ByteBuffer(string: s1Sale)) { r in
                    #expect(r.status == .unprocessableContent, "\(r.text)")
                    let errors = r.json["errors"] as? [[String: Any]] ?? []
                    #expect(errors.contains { $0["field"] as? String == "vin" && $0["rule"] as? String == "duplicate_id" }, "\(r.text)")
                    #expect(!r.text.contains("S2-SECRET-ORDER-77"), "\(r.text)")
                    #expect(!r.text.contains("S2"), "\(r.text)")
                }
                #expect(try await fingerprint(env) == before)
            }
            // The operator's path (CLI, inbox: no store limit) keeps the detail it needs to sort it out.
            let file = env.directory.appending(path: "s1-sale.json")
            try Data(s1Sale.utf8).write(to: file)
            let result = try await env.ingestor.ingest(path: file.path)
            let messages = result.rejection?.issues.map(\.message) ?? []
            #expect(messages.contains { $0.contains("S2-SECRET-ORDER-77") && $0.contains("store S2") }, "\(messages)")
        }
    }

    // MARK: helpers

    /// The whole warehouse: every row of every base table in core, kpi and ops (except the static calendar),
    /// with `ops.api_token.last_used_at` left out (a live token's successful authentication stamps it, at most
    /// once a minute, even when the request it authenticated is then refused).
    func fingerprint(_ env: HTTPTestEnv) async throws -> [String: String] {
        let tables = try await env.strings("""
            SELECT table_schema || '.' || table_name FROM information_schema.tables
            WHERE table_schema IN ('core', 'kpi', 'ops') AND table_type = 'BASE TABLE' AND table_name <> 'calendar' ORDER BY 1
            """)
        #expect(tables.contains("ops.api_token") && tables.contains("core.visit") && tables.contains("kpi.snapshot") && tables.contains("ops.job_request"))
        var out: [String: String] = [:]
        for t in tables {
            let parts = t.split(separator: ".").map { PostgresQuery.quoteIdentifier(String($0)) }
            let row = t == "ops.api_token" ? "(to_jsonb(x) - 'last_used_at')::text" : "x::text"
            let q = "SELECT count(*)::text || ':' || coalesce(md5(string_agg(\(row), '|' ORDER BY \(row))), '') FROM \(parts.joined(separator: ".")) x"
            out[t] = try await env.strings(PostgresQuery(unsafeSQL: q)).first
        }
        return out
    }

    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

    /// The token with one character after the prefix replaced by another of the alphabet, at every position.
    static func oneCharacterTamperings(of token: String) -> [String] {
        let chars = Array(token)
        var out: [String] = []
        for i in TokenStore.prefix.count..<chars.count {
            var changed = chars
            let index = alphabet.firstIndex(of: chars[i]) ?? 0
            changed[i] = alphabet[(index + 1 + Int.random(in: 0..<(alphabet.count - 1))) % alphabet.count]
            precondition(changed[i] != chars[i])
            out.append(String(changed))
        }
        return out
    }

    static func randomWellFormedToken() -> String {
        TokenStore.prefix + String((0..<43).map { _ in alphabet.randomElement()! })
    }
}
