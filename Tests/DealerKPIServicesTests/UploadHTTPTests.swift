import CivilCalendar
@testable import DealerKPIServices
import Foundation
import Hummingbird
import HummingbirdTesting
import Postgres
import Testing

// Contract 1.1 over HTTP (issue 11): duplicates, section files, multipart uploads, Idempotency-Key, timeouts.

/// CSV section files of one store-day (visits, prospects, sales).
func visitsCSV(store: String = "S1", date: CalendarDate = HTTPTestEnv.reportDate) -> String {
    "store,business_date,visit_id,channel,purpose,salesperson,model,party_size,existing_card,existing_order,new_card,test_drive\n"
        + "\(store),\(date),V1,walk_in,purchase,\(store)-01,M1,2,,false,A-\(store)-1,true\n"
}

func prospectsCSV(store: String = "S1", date: CalendarDate = HTTPTestEnv.reportDate) -> String {
    "store,business_date,card,created_on,salesperson,customer_name,phone,model,level,source,status,closed_on,lost_reason\n"
        + "\(store),\(date),A-\(store)-1,\(date),\(store)-01,张伟,139 1234 5678,M1,H,walk_in,open,,\n"
}

func salesCSV(store: String = "S1", date: CalendarDate = HTTPTestEnv.reportDate) -> String {
    "store,business_date,order,card,salesperson,model,order_date,status,delivery_date,cancel_date,vin,list_price,deal_price,collected\n"
        + "\(store),\(date),O-\(store)-1,A-\(store)-1,\(store)-01,M1,\(date),ordered,,,,159800.00,152000.00,5000.00\n"
}

/// A multipart/form-data body: (filename, content type, content) per part.
func multipartBody(_ parts: [(String?, String?, String)], boundary: String = "dkpi-test-boundary-7d1f") -> ByteBuffer {
    var s = ""
    for (name, type, content) in parts {
        s += "--\(boundary)\r\n"
        s += "Content-Disposition: form-data; name=\"file\"" + (name.map { "; filename=\"\($0)\"" } ?? "") + "\r\n"
        if let type { s += "Content-Type: \(type)\r\n" }
        s += "\r\n\(content)\r\n"
    }
    s += "--\(boundary)--\r\n"
    return ByteBuffer(string: s)
}

let multipartType = "multipart/form-data; boundary=dkpi-test-boundary-7d1f"

@Suite("HTTP uploads: duplicates, sections, multipart, Idempotency-Key, timeouts")
struct UploadHTTPTests {
    @Test func sameReportTwiceIs201ThenADuplicate200() async throws {
        try await HTTPTestEnv.with { env in
            let token = try await env.storeToken("S1")
            try await env.api.application().test(.router) { client in
                try await client.execute(uri: "/v1/reports", method: .post, headers: bearer(token, contentType: "application/json"),
                                         body: ByteBuffer(string: reportJSON())) { r in
                    #expect(r.status == .created, "\(r.text)")
                    #expect(r.json["duplicate"] as? Bool == false)
                }
                try await client.execute(uri: "/v1/reports", method: .post, headers: bearer(token, contentType: "application/json"),
                                         body: ByteBuffer(string: reportJSON())) { r in
                    #expect(r.status == .ok, "\(r.text)")
                    #expect(r.json["duplicate"] as? Bool == true)
                    let days = r.json["store_days"] as? [[String: Any]] ?? []
                    #expect(days.first?["duplicate"] as? Bool == true)
                    #expect(days.first?["version"] as? Int == 1)
                }
            }
            #expect(try await env.int("SELECT current_version FROM core.store_day_report") == 1)
            #expect(try await env.int("SELECT count(*) FROM core.report_submission") == 1)
            #expect(try await env.int("SELECT count(*) FROM core.report_duplicate") == 1)
        }
    }

    @Test func threeSectionFilesInThreeRequestsAreOneVersion() async throws {
        try await HTTPTestEnv.with { env in
            let token = try await env.storeToken("S1")
            let statuses: [HTTPResponse.Status] = try await env.api.application().test(.router) { client in
                var statuses: [HTTPResponse.Status] = []
                for (name, csv) in [("visits.csv", visitsCSV()), ("prospects.csv", prospectsCSV()), ("sales.csv", salesCSV())] {
                    try await client.execute(uri: "/v1/reports?file_name=\(name)", method: .post, headers: bearer(token, contentType: "text/csv"),
                                             body: ByteBuffer(string: csv)) { r in
                        statuses.append(r.status)
                        #expect(r.json["accepted"] as? Bool == true, "\(r.text)")
                        #expect(r.json["duplicate"] as? Bool == false)
                    }
                }
                return statuses
            }
            #expect(statuses == [.created, .ok, .ok])
            #expect(try await env.int("SELECT current_version FROM core.store_day_report") == 1)
            #expect(try await env.int("SELECT count(*) FROM core.ingested_file") == 3)
        }
    }

    @Test func multipartWithOneBadPartIs422ListingEveryPartAndChangesNothing() async throws {
        try await HTTPTestEnv.with { env in
            let token = try await env.storeToken("S1")
            let counts = "SELECT (SELECT count(*) FROM core.ingested_file) + 1000 * (SELECT count(*) FROM core.report_submission) + 1000000 * (SELECT count(*) FROM core.visit)"
            let before = try await env.int(PostgresQuery(unsafeSQL: counts))
            let bad = visitsCSV().replacingOccurrences(of: "walk_in,purchase", with: "teleport,purchase")
            try await env.api.application().test(.router) { client in
                try await client.execute(uri: "/v1/reports", method: .post, headers: bearer(token, contentType: multipartType),
                                         body: multipartBody([("visits.csv", "text/csv", bad), ("prospects.csv", "text/csv", prospectsCSV()),
                                                              ("sales.csv", nil, salesCSV())])) { r in
                    #expect(r.status == .unprocessableContent, "\(r.text)")
                    #expect(r.json["accepted"] as? Bool == false)
                    let files = r.json["files"] as? [[String: Any]] ?? []
                    #expect(files.map { $0["file"] as? String } == ["visits.csv", "prospects.csv", "sales.csv"])
                    #expect(files.allSatisfy { ($0["errors"] as? [Any])?.isEmpty == false })
                    let rules = files.map { (($0["errors"] as? [[String: Any]])?.first?["rule"] as? String) ?? "" }
                    #expect(rules[0] == "enum_value")
                    #expect(rules[1] == "upload_rejected" && rules[2] == "upload_rejected")
                }
            }
            #expect(try await env.int(PostgresQuery(unsafeSQL: counts)) == before)
        }
    }

    @Test func goodMultipartUploadIsOneUploadWithOneReceiptTime() async throws {
        try await HTTPTestEnv.with { env in
            let token = try await env.storeToken("S1")
            try await env.api.application().test(.router) { client in
                try await client.execute(uri: "/v1/reports", method: .post, headers: bearer(token, contentType: multipartType),
                                         body: multipartBody([("visits.csv", "text/csv", visitsCSV()), ("prospects.csv", nil, prospectsCSV()),
                                                              (nil, "text/csv", salesCSV())])) { r in
                    #expect(r.status == .created, "\(r.text)")
                    #expect(r.json["duplicate"] as? Bool == false)
                    let files = r.json["files"] as? [[String: Any]] ?? []
                    #expect(files.count == 3)
                    #expect((files.last?["file"] as? String)?.hasSuffix("-3.csv") == true)
                }
                // The same three again: a duplicate upload.
                try await client.execute(uri: "/v1/reports", method: .post, headers: bearer(token, contentType: multipartType),
                                         body: multipartBody([("visits.csv", "text/csv", visitsCSV()), ("prospects.csv", nil, prospectsCSV()),
                                                              ("sales.csv", "text/csv", salesCSV())])) { r in
                    #expect(r.status == .ok, "\(r.text)")
                    #expect(r.json["duplicate"] as? Bool == true)
                }
            }
            #expect(try await env.int("SELECT count(*) FROM core.ingested_file") == 6)
            #expect(try await env.int("SELECT count(DISTINCT received_at) FROM core.ingested_file") == 2)
            #expect(try await env.int("SELECT current_version FROM core.store_day_report") == 1)
        }
    }

    @Test func idempotencyKeyReplaysTheFirstAnswerAndRefusesOtherContent() async throws {
        try await HTTPTestEnv.with { env in
            let token = try await env.storeToken("S1")
            let headers = { () -> HTTPFields in
                var h = bearer(token, contentType: "application/json")
                h[Idempotency.header] = "upload-2026-0001"
                return h
            }()
            try await env.api.application().test(.router) { client in
                let first = try await client.execute(uri: "/v1/reports", method: .post, headers: headers, body: ByteBuffer(string: reportJSON())) { r in
                    #expect(r.status == .created, "\(r.text)")
                    return r.text
                }
                let files = try await env.int("SELECT count(*) FROM core.ingested_file")
                try await client.execute(uri: "/v1/reports", method: .post, headers: headers, body: ByteBuffer(string: reportJSON())) { r in
                    #expect(r.status == .created)
                    #expect(r.text == first)
                    #expect(r.headers[Idempotency.replayedHeader] == "true")
                }
                #expect(try await env.int("SELECT count(*) FROM core.ingested_file") == files)
                #expect(try await env.int("SELECT count(*) FROM core.report_duplicate") == 0)
                try await client.execute(uri: "/v1/reports", method: .post, headers: headers,
                                         body: ByteBuffer(string: reportJSON(visitID: "V9"))) { r in
                    #expect(r.status == .unprocessableContent, "\(r.text)")
                    #expect((r.json["error"] as? String)?.contains("Idempotency-Key") == true)
                }
                #expect(try await env.int("SELECT count(*) FROM core.ingested_file") == files)
                var bad = headers
                bad[Idempotency.header] = String(repeating: "k", count: 201)
                try await client.execute(uri: "/v1/reports", method: .post, headers: bad, body: ByteBuffer(string: reportJSON())) { r in
                    #expect(r.status == .badRequest)
                }
            }
            #expect(try await env.int("SELECT count(*) FROM ops.idempotency_key") == 1)
        }
    }

    @Test func requestTimeoutIs503WithRetryAfter() async throws {
        try await HTTPTestEnv.with(configure: { $0.requestTimeout = .milliseconds(300) }) { env in
            let token = try await env.storeToken("S1")
            // Hold the store-day's advisory lock so the upload waits inside its transaction.
            let date = HTTPTestEnv.reportDate
            try await env.db.execute("BEGIN")
            _ = try await env.db.query("SELECT pg_advisory_xact_lock(hashtextextended('S1/' || \(date)::date::text, 7001))")
            let started = ContinuousClock.now
            try await env.api.application().test(.router) { client in
                try await client.execute(uri: "/v1/reports", method: .post, headers: bearer(token, contentType: "application/json"),
                                         body: ByteBuffer(string: reportJSON())) { r in
                    #expect(r.status == .serviceUnavailable, "\(r.text)")
                    #expect(r.headers[.retryAfter] == "5")
                    #expect((r.json["error"] as? String)?.contains("nothing was stored") == true)
                }
            }
            // The answer came while the lock is still held: the cancel reached the server, which no longer has
            // any session waiting for the lock (before issue 11 the 503 came only once the lock was released).
            #expect(ContinuousClock.now - started < .seconds(5))
            #expect(try await env.int("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted") == 0)
            #expect(try await env.int("""
                SELECT count(*) FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid() AND (wait_event_type = 'Lock' OR state = 'active')
                """) == 0)
            try await env.db.execute("ROLLBACK")
            #expect(try await env.int("SELECT count(*) FROM core.ingested_file") == 0)
        }
    }

    @Test func databaseTimeoutIs503WithRetryAfter() {
        let answer = APIError.answering(PostgresError(kind: .timeout, message: "canceling statement due to statement timeout"))
        #expect(answer.status == .serviceUnavailable)
        #expect(answer.headers[.retryAfter] == "5")
    }
}
