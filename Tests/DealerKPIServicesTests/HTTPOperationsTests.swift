import DealerKPIServices
import Foundation
import Hummingbird
import HummingbirdTesting
import Postgres
import Testing
import TestSupport
import Warehouse

@Suite("HTTP: health, readiness, metrics, KPIs, jobs, logs")
struct HTTPOperationsTests {
    @Test func healthzAndReadyz() async throws {
        try await HTTPTestEnv.with { env in
            try await env.api.application().test(.router) { client in
                try await client.execute(uri: "/healthz", method: .get) { r in
                    #expect(r.status == .ok)
                    #expect(r.text == "ok\n")
                }
                try await client.execute(uri: "/readyz", method: .get) { r in
                    #expect(r.status == .ok, "\(r.text)")
                }
                try await client.execute(uri: "/nowhere", method: .get) { r in
                    #expect(r.status == .notFound)
                }
            }
        }
    }

    @Test func readyzIs503OnAnUnmigratedDatabase() async throws {
        try await HTTPTestEnv.with(migrate: false) { env in
            try await env.api.application().test(.router) { client in
                try await client.execute(uri: "/readyz", method: .get) { r in
                    #expect(r.status == .serviceUnavailable)
                    #expect(r.text.contains("schema is not current"))
                }
                try await client.execute(uri: "/healthz", method: .get) { r in
                    #expect(r.status == .ok)
                }
            }
        }
    }

    @Test func metricsExposeTheExpectedNames() async throws {
        let inbox = FileManager.default.temporaryDirectory.appending(path: "dkpi-http-inbox-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: inbox) }
        try Data("x".utf8).write(to: inbox.appending(path: "waiting.json"))
        try Data("x".utf8).write(to: inbox.appending(path: "partial.json.tmp"))
        try await HTTPTestEnv.with(configure: { $0.inboxDirectory = inbox.path }) { env in
            let token = try await env.storeToken("S1")
            try await env.api.application().test(.router) { client in
                try await client.execute(uri: "/v1/reports", method: .post, headers: bearer(token, contentType: "application/json"),
                                         body: ByteBuffer(string: reportJSON())) { r in
                    #expect(r.status == .created)
                }
                try await client.execute(uri: "/v1/reports", method: .post, headers: bearer(token, contentType: "application/json"),
                                         body: ByteBuffer(string: reportJSON(salesperson: "S1-99"))) { r in
                    #expect(r.status == .unprocessableContent)
                }
                _ = try await SnapshotRefresher(pool: env.pool, logger: TestPostgres.logger).refresh(mode: .full)
                try await client.execute(uri: "/metrics", method: .get) { r in
                    #expect(r.status == .ok)
                    #expect(r.headers[.contentType]?.hasPrefix("text/plain") == true)
                    let text = r.text
                    for name in [
                        "dealer_kpi_reports_total", "dealer_kpi_rows_ingested_total", "dealer_kpi_rejections_total",
                        "dealer_kpi_ingest_duration_seconds", "dealer_kpi_http_requests_total", "dealer_kpi_http_request_duration_seconds",
                        "dealer_kpi_database_up 1", "dealer_kpi_snapshot_age_seconds", "dealer_kpi_db_pool_connections{state=\"open\"}",
                        "dealer_kpi_db_pool_connections{state=\"idle\"}", "dealer_kpi_db_pool_connections{state=\"leased\"}",
                        "dealer_kpi_db_pool_waiting", "dealer_kpi_inbox_backlog_files 1",
                    ] {
                        #expect(text.contains(name), "missing \(name)")
                    }
                    #expect(text.contains("source=\"http\""))
                    #expect(text.contains("# TYPE dealer_kpi_snapshot_age_seconds gauge"))
                }
            }
        }
    }

    @Test func kpisAfterARefresh() async throws {
        try await HTTPTestEnv.with { env in
            let store = try await env.storeToken("S1")
            let op = try await env.operatorToken()
            try await env.api.application().test(.router) { client in
                let s2 = try await env.storeToken("S2")
                for (s, t) in [("S1", store), ("S2", s2)] {
                    try await client.execute(uri: "/v1/reports", method: .post, headers: bearer(t, contentType: "application/json"),
                                             body: ByteBuffer(string: reportJSON(store: s))) { r in
                        #expect(r.status == .created, "\(r.text)")
                    }
                }
                _ = try await SnapshotRefresher(pool: env.pool, logger: TestPostgres.logger).refresh(mode: .full)

                try await client.execute(uri: "/v1/kpis?level=store&grain=day", method: .get) { r in
                    #expect(r.status == .unauthorized)
                }
                try await client.execute(uri: "/v1/kpis?level=store&grain=day", method: .get, headers: bearer(store)) { r in
                    #expect(r.status == .forbidden)
                }
                for bad in ["/v1/kpis?grain=day", "/v1/kpis?level=store", "/v1/kpis?level=shop&grain=day",
                            "/v1/kpis?level=store&grain=day&period=yesterday"] {
                    try await client.execute(uri: bad, method: .get, headers: bearer(op)) { r in
                        #expect(r.status == .badRequest, "\(bad)")
                    }
                }
                let date = HTTPTestEnv.reportDate.description
                try await client.execute(uri: "/v1/kpis?level=store&grain=day", method: .get, headers: bearer(op)) { r in
                    #expect(r.status == .ok, "\(r.text)")
                    let o = r.json
                    #expect(o["period_start"] as? String == date)
                    let rows = o["rows"] as? [[String: Any]] ?? []
                    #expect(!rows.isEmpty)
                    let codes = rows.compactMap { $0["kpi_code"] as? String }
                    #expect(codes == codes.sorted())
                    let traffic = rows.filter { $0["kpi_code"] as? String == "TRAFFIC" }
                    #expect(traffic.compactMap { $0["store_code"] as? String }.sorted() == ["S1", "S2"])
                    #expect(traffic.allSatisfy { $0["value"] as? String == "1" && $0["region_code"] as? String == "EAST" })
                    #expect(traffic.allSatisfy { $0["rank"] as? Int == 1 && $0["peer_count"] as? Int == 2 })
                    #expect(traffic.allSatisfy { $0["period_start"] as? String == date && $0["computed_at"] is String })
                    let capture = rows.first { $0["kpi_code"] as? String == "CAPTURE_RATE" }
                    #expect(capture?["value"] as? String == "1")
                    #expect(capture?["numerator"] as? String == "1" && capture?["denominator"] as? String == "1")
                }
                try await client.execute(uri: "/v1/kpis?level=store&grain=day&period=\(date)&store=S2&kpi=TRAFFIC", method: .get,
                                         headers: bearer(op)) { r in
                    let rows = r.json["rows"] as? [[String: Any]] ?? []
                    #expect(rows.count == 1)
                    #expect(rows.first?["store_code"] as? String == "S2")
                    #expect(rows.first?["rank"] as? Int == 1)
                }
                try await client.execute(uri: "/v1/kpis?level=store&grain=day&period=2000-01-01", method: .get, headers: bearer(op)) { r in
                    #expect(r.status == .ok)
                    #expect((r.json["rows"] as? [Any])?.isEmpty == true)
                }
            }
        }
    }

    @Test func configuredOperatorTokenReadsKPIs() async throws {
        try await HTTPTestEnv.with(configure: { $0.operatorToken = Secret("configured-operator-secret") }) { env in
            try await env.api.application().test(.router) { client in
                try await client.execute(uri: "/v1/kpis?level=national&grain=month", method: .get,
                                         headers: bearer("configured-operator-secret")) { r in
                    #expect(r.status == .ok, "\(r.text)")
                    #expect(r.json["period_start"] is NSNull)
                }
                try await client.execute(uri: "/v1/kpis?level=national&grain=month", method: .get,
                                         headers: bearer("configured-operator-secreT")) { r in
                    #expect(r.status == .unauthorized)
                }
            }
        }
    }

    @Test func jobRunRequestsAreQueued() async throws {
        try await HTTPTestEnv.with { env in
            let op = try await env.operatorToken()
            let store = try await env.storeToken("S1")
            try await env.api.application().test(.router) { client in
                try await client.execute(uri: "/v1/jobs/refresh/runs", method: .post) { r in
                    #expect(r.status == .unauthorized)
                }
                try await client.execute(uri: "/v1/jobs/refresh/runs", method: .post, headers: bearer(store)) { r in
                    #expect(r.status == .forbidden)
                }
                try await client.execute(uri: "/v1/jobs/vacuum/runs", method: .post, headers: bearer(op)) { r in
                    #expect(r.status == .notFound)
                }
                for bad in ["{\"from\": \"March\"}", "{\"full\": 1}", "{\"form\": \"2026-03-01\"}", "[1]",
                            "{\"from\": \"2026-03-05\", \"to\": \"2026-03-01\"}"] {
                    try await client.execute(uri: "/v1/jobs/refresh/runs", method: .post, headers: bearer(op, contentType: "application/json"),
                                             body: ByteBuffer(string: bad)) { r in
                        #expect(r.status == .badRequest, "\(bad)")
                    }
                }
                let first = try await client.execute(uri: "/v1/jobs/refresh/runs", method: .post, headers: bearer(op)) { r in
                    #expect(r.status == .accepted, "\(r.text)")
                    #expect(r.json["job"] as? String == "refresh")
                    return r.json["request_id"] as? Int
                }
                let second = try await client.execute(uri: "/v1/jobs/close_day/runs", method: .post, headers: bearer(op, contentType: "application/json"),
                                                      body: ByteBuffer(string: "{\"from\": \"2026-03-01\", \"to\": \"2026-03-31\", \"full\": true}")) { r in
                    #expect(r.status == .accepted, "\(r.text)")
                    return r.json["request_id"] as? Int
                }
                #expect(first != nil && second != nil)
                #expect(try await env.strings("SELECT request_id || ' ' || job || ' ' || trigger || ' ' || arguments::text FROM ops.job_request ORDER BY request_id") == [
                    "\(first ?? -1) refresh manual {}",
                    "\(second ?? -1) close_day backfill {\"to\": \"2026-03-31\", \"from\": \"2026-03-01\", \"full\": true}",
                ])
                #expect(try await env.strings("SELECT requested_by FROM ops.job_request").allSatisfy { $0.hasPrefix("http operator") })
            }
        }
    }

    @Test func requestsOverTheTimeoutAre503() async throws {
        // Any database round trip outlasts a timeout of a nanosecond; /healthz does none but is timed too.
        try await HTTPTestEnv.with(configure: { $0.requestTimeout = .nanoseconds(1) }) { env in
            let op = try await env.operatorToken()
            try await env.api.application().test(.router) { client in
                try await client.execute(uri: "/v1/kpis?level=store&grain=day", method: .get, headers: bearer(op)) { r in
                    #expect(r.status == .serviceUnavailable)
                    #expect((r.json["error"] as? String)?.contains("timeout") == true)
                }
            }
            #expect(env.logs.text.contains("request timed out"))
        }
    }

    @Test func databaseOutagesAre503() async throws {
        try await HTTPTestEnv.with(configure: { $0.operatorToken = Secret("configured-operator-secret") }) { env in
            await env.pool.shutdown()
            try await env.api.application().test(.router) { client in
                try await client.execute(uri: "/v1/kpis?level=store&grain=day", method: .get, headers: bearer("configured-operator-secret")) { r in
                    #expect(r.status == .serviceUnavailable)
                    #expect(r.json["error"] as? String == "the database is unavailable; try again later")
                }
                try await client.execute(uri: "/readyz", method: .get) { r in
                    #expect(r.status == .serviceUnavailable)
                }
                try await client.execute(uri: "/metrics", method: .get) { r in
                    #expect(r.status == .ok)
                    #expect(r.text.contains("dealer_kpi_database_up 0"))
                }
            }
        }
    }

    @Test func logsNeverCarryTheAuthorizationHeaderOrQueryStrings() async throws {
        try await HTTPTestEnv.with { env in
            let token = try await env.storeToken("S1")
            let op = try await env.operatorToken()
            try await env.api.application().test(.router) { client in
                try await client.execute(uri: "/v1/reports?file_name=secret-query-value.json", method: .post,
                                         headers: bearer(token, contentType: "application/json"), body: ByteBuffer(string: reportJSON())) { r in
                    #expect(r.status == .created)
                }
                try await client.execute(uri: "/v1/reports", method: .post, headers: bearer(token, contentType: "application/json"),
                                         body: ByteBuffer(string: reportJSON(store: "S2"))) { r in
                    #expect(r.status == .forbidden)
                }
                try await client.execute(uri: "/v1/kpis?level=store&grain=day&store=QUERYSTORE", method: .get, headers: bearer(op)) { r in
                    #expect(r.status == .ok)
                }
                try await client.execute(uri: "/v1/kpis?level=store&grain=day", method: .get, headers: bearer(token + "x")) { r in
                    #expect(r.status == .unauthorized)
                }
            }
            let logs = env.logs.text
            #expect(logs.contains("http request"))
            #expect(logs.contains("path=/v1/reports") && logs.contains("status=201") && logs.contains("status=403"))
            #expect(!logs.contains(token))
            #expect(!logs.contains(String(token.dropFirst(5).prefix(20))))
            #expect(!logs.contains(op))
            #expect(!logs.contains("Bearer"))
            #expect(!logs.contains("QUERYSTORE"))
            #expect(!logs.contains("grain=day"))
            #expect(!logs.contains("张伟") && !logs.contains("1234 5678"))
        }
    }
}
