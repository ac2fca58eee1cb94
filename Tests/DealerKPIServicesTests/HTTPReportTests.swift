import CorpusGenerator
@testable import DealerKPIServices
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("HTTP: POST /v1/reports")
struct HTTPReportTests {
    @Test func missingBadAndRevokedTokensAre401() async throws {
        try await HTTPTestEnv.with { env in
            let issued = try await env.tokens.issue(store: "S1")
            try await env.tokens.revoke(tokenID: issued.tokenID)
            let body = ByteBuffer(string: reportJSON())
            try await env.api.application().test(.router) { client in
                var json = HTTPFields()
                json[.contentType] = "application/json"
                try await client.execute(uri: "/v1/reports", method: .post, headers: json, body: body) { r in
                    #expect(r.status == .unauthorized)
                    #expect(r.headers[.wwwAuthenticate] == "Bearer realm=\"dealer-kpi\"")
                }
                for token in ["dkpi_" + String(repeating: "A", count: 43), "nonsense", issued.token.value] {
                    try await client.execute(uri: "/v1/reports", method: .post, headers: bearer(token, contentType: "application/json"), body: body) { r in
                        #expect(r.status == .unauthorized)
                        #expect(r.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                        #expect(r.json["error"] is String)
                    }
                }
                var basic = HTTPFields()
                basic[.authorization] = "Basic dXNlcjpwdw=="
                basic[.contentType] = "application/json"
                try await client.execute(uri: "/v1/reports", method: .post, headers: basic, body: body) { r in
                    #expect(r.status == .unauthorized)
                }
            }
            #expect(try await env.int("SELECT count(*) FROM core.ingested_file") == 0)
        }
    }

    @Test func anotherStoresReportIs403AndStoresNothing() async throws {
        try await HTTPTestEnv.with { env in
            let s1 = try await env.storeToken("S1")
            let op = try await env.operatorToken()
            try await env.api.application().test(.router) { client in
                try await client.execute(uri: "/v1/reports", method: .post, headers: bearer(s1, contentType: "application/json"),
                                         body: ByteBuffer(string: reportJSON(store: "S2"))) { r in
                    #expect(r.status == .forbidden)
                    #expect((r.json["error"] as? String)?.contains("S2") == true)
                }
                // A CSV file carrying S1 and S2 rows: refused as a whole.
                let csv = """
                    store,business_date,visit_id,channel,purpose,salesperson,model,party_size,existing_card,existing_order,new_card,test_drive
                    S1,\(HTTPTestEnv.reportDate),V1,walk_in,purchase,S1-01,M1,1,,false,,false
                    S2,\(HTTPTestEnv.reportDate),V1,walk_in,purchase,S2-01,M1,1,,false,,false

                    """
                try await client.execute(uri: "/v1/reports", method: .post, headers: bearer(s1, contentType: "text/csv"),
                                         body: ByteBuffer(string: csv)) { r in
                    #expect(r.status == .forbidden)
                }
                // An operator token does not upload reports.
                try await client.execute(uri: "/v1/reports", method: .post, headers: bearer(op, contentType: "application/json"),
                                         body: ByteBuffer(string: reportJSON())) { r in
                    #expect(r.status == .forbidden)
                }
            }
            for table in ["core.ingested_file", "core.visit", "core.prospect_card", "core.report_submission", "core.store_day_report"] {
                #expect(try await env.int("SELECT count(*) FROM \(unescaped: table)") == 0, "\(table)")
            }
        }
    }

    @Test func badReportIs422WithTheCLIErrorList() async throws {
        try await HTTPTestEnv.with { env in
            let token = try await env.storeToken("S1")
            // Unknown salesperson; a control character in the name and the phone (values must be masked or omitted).
            let body = reportJSON(salesperson: "S1-99", customerName: "张伟\u{1}", phone: "139\u{1}12345678")
            try await env.api.application().test(.router) { client in
                try await client.execute(uri: "/v1/reports?file_name=bad.json", method: .post,
                                         headers: bearer(token, contentType: "application/json"), body: ByteBuffer(string: body)) { r in
                    #expect(r.status == .unprocessableContent)
                    let o = r.json
                    #expect(o["file"] as? String == "bad.json")
                    #expect(o["accepted"] as? Bool == false)
                    #expect(o["errors_truncated"] as? Bool == false)
                    let errors = o["errors"] as? [[String: Any]] ?? []
                    #expect(!errors.isEmpty)
                    for e in errors {
                        #expect(e["file"] as? String == "bad.json")
                        #expect(e["path"] is String)
                        #expect(e["rule"] is String)
                        #expect(e["message"] is String)
                    }
                    let salesperson = errors.first { ($0["value"] as? String) == "S1-99" }
                    #expect(salesperson?["field"] as? String == "salesperson")
                    #expect((salesperson?["path"] as? String)?.hasPrefix("$.visits[0]") == true)
                    let name = errors.first { ($0["field"] as? String) == "customer_name" }
                    #expect(name?["value"] as? String == "张*")
                    let phone = errors.first { ($0["field"] as? String) == "phone" }
                    #expect(phone != nil && phone?["value"] == nil)
                    #expect(!r.text.contains("张伟") && !r.text.contains("12345678"))
                }
            }
            #expect(try await env.int("SELECT count(*) FROM core.ingested_file") == 0)
            #expect(!env.logs.text.contains("张伟") && !env.logs.text.contains("12345678"))
        }
    }

    @Test func largeBodiesAre413() async throws {
        try await HTTPTestEnv.with(configure: { $0.maxBodyBytes = 1_000 }) { env in
            let token = try await env.storeToken("S1")
            let big = ByteBuffer(string: reportJSON() + String(repeating: " ", count: 5_000))
            // The router test client declares the length: refused before the body is read.
            try await env.api.application().test(.router) { client in
                try await client.execute(uri: "/v1/reports", method: .post, headers: bearer(token, contentType: "application/json"), body: big) { r in
                    #expect(r.status == .contentTooLarge)
                    #expect(r.json["max_body_bytes"] as? Int == 1_000)
                }
            }
            // Over a real connection too.
            try await env.api.application().test(.live) { client in
                try await client.execute(uri: "/v1/reports", method: .post, headers: bearer(token, contentType: "application/json"), body: big) { r in
                    #expect(r.status == .contentTooLarge)
                }
            }
            #expect(try await env.int("SELECT count(*) FROM core.ingested_file") == 0)
        }
    }

    @Test func bodyWithoutADeclaredLengthIsReadWithTheLimit() async throws {
        let chunks = (0..<10).map { _ in ByteBuffer(repeating: UInt8(ascii: "x"), count: 300) }
        let stream = AsyncStream<ByteBuffer> { c in
            for chunk in chunks { c.yield(chunk) }
            c.finish()
        }
        await #expect(throws: APIError.self) {
            try await ReceivedUpload.single(RequestBody(asyncSequence: stream), name: "x.csv", limit: 1_000)
        }
        let received = try await ReceivedUpload.single(RequestBody(buffer: ByteBuffer(string: "abc")), name: "x.csv", limit: 1_000)
        defer { received.remove() }
        let path = received.files[0].path
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let dirAttributes = try FileManager.default.attributesOfItem(atPath: received.directory)
        #expect((dirAttributes[.posixPermissions] as? NSNumber)?.intValue == 0o700)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "abc")
    }

    @Test func unsupportedContentTypeIs415() async throws {
        try await HTTPTestEnv.with { env in
            let token = try await env.storeToken("S1")
            try await env.api.application().test(.router) { client in
                for type in ["text/plain", "application/x-www-form-urlencoded"] {
                    try await client.execute(uri: "/v1/reports", method: .post, headers: bearer(token, contentType: type),
                                             body: ByteBuffer(string: reportJSON())) { r in
                        #expect(r.status == .unsupportedMediaType)
                    }
                }
                try await client.execute(uri: "/v1/reports", method: .post, headers: bearer(token), body: ByteBuffer(string: reportJSON())) { r in
                    #expect(r.status == .unsupportedMediaType)
                }
            }
        }
    }

    @Test func acceptedReportIs201AndASecondUploadIsVersion2() async throws {
        try await HTTPTestEnv.with { env in
            let token = try await env.storeToken("S1")
            let date = HTTPTestEnv.reportDate
            try await env.api.application().test(.router) { client in
                try await client.execute(uri: "/v1/reports?file_name=reports/S1_day.json", method: .post,
                                         headers: bearer(token, contentType: "application/json; charset=utf-8"),
                                         body: ByteBuffer(string: reportJSON())) { r in
                    #expect(r.status == .created, "\(r.text)")
                    let o = r.json
                    #expect(o["accepted"] as? Bool == true)
                    #expect(o["file"] as? String == "S1_day.json")
                    #expect(o["received_at"] is String)
                    let days = o["store_days"] as? [[String: Any]] ?? []
                    #expect(days.count == 1)
                    #expect(days.first?["store"] as? String == "S1")
                    #expect(days.first?["business_date"] as? String == date.description)
                    #expect(days.first?["version"] as? Int == 1)
                    #expect(o["rows"] as? [String: Int] == ["visits": 1, "prospects": 1, "sales": 0])
                }
                try await client.execute(uri: "/v1/reports", method: .post, headers: bearer(token, contentType: "application/json"),
                                         body: ByteBuffer(string: reportJSON(visitID: "V2"))) { r in
                    #expect(r.status == .ok, "\(r.text)")
                    let days = r.json["store_days"] as? [[String: Any]] ?? []
                    #expect(days.first?["version"] as? Int == 2)
                    #expect((r.json["file"] as? String)?.hasPrefix("http-S1-") == true)
                }
            }
            #expect(try await env.strings("SELECT file_name FROM core.ingested_file ORDER BY file_id").first == "S1_day.json")
            #expect(try await env.strings("SELECT visit_id FROM core.visit") == ["V2"])
            #expect(try await env.int("SELECT count(*) FROM core.prospect_card WHERE store_code = 'S1'") == 1)
            #expect(try await env.strings("SELECT current_version::text FROM core.store_day_report") == ["2"])
        }
    }

    @Test func gb18030CSVIsAccepted() async throws {
        try await HTTPTestEnv.with { env in
            let token = try await env.storeToken("S1")
            let d = HTTPTestEnv.reportDate
            let csv = """
                store,business_date,card,created_on,salesperson,customer_name,phone,model,level,source,status,closed_on,lost_reason
                S1,\(d),A-S1-7,\(d),S1-01,欧阳娜娜,13912345678,M1,H,walk_in,lost,\(d),价格太高，选择了竞品
                合计,,,,,,,,,,,,

                """
            let bytes = try #require(CorpusEncoding.gb18030(fromUTF8: Array(csv.utf8)))
            #expect(!CorpusEncoding.isValidUTF8(bytes))
            try await env.api.application().test(.router) { client in
                try await client.execute(uri: "/v1/reports?file_name=prospects.csv", method: .post,
                                         headers: bearer(token, contentType: "text/csv; charset=GB18030"), body: ByteBuffer(bytes: bytes)) { r in
                    #expect(r.status == .created, "\(r.text)")
                    #expect(r.json["rows"] as? [String: Int] == ["visits": 0, "prospects": 1, "sales": 0])
                }
            }
            #expect(try await env.strings("SELECT encoding FROM core.ingested_file") == ["GB18030"])
            #expect(try await env.strings("SELECT lost_reason FROM core.prospect_card") == ["价格太高，选择了竞品"])
        }
    }
}
