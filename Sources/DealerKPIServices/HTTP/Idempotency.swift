import Foundation
import HTTPTypes
import Hummingbird
import Postgres

/// `Idempotency-Key` for `POST /v1/reports` (table `ops.idempotency_key`, sql/010).
///
/// A key is scoped to the store of the token that used it. Within 24 hours, the same key with the same body
/// (SHA-256 over every file's bytes) answers the first answer again (status and body, header
/// `Idempotency-Replayed: true`) without ingesting; the same key with another body is 422. An accepted upload's
/// answer is recorded in the upload's own transaction, so a crash or a timeout can never leave data stored
/// without its key (nor a key without its data). Rejections (422, 403) are recorded right after; answers that
/// say "try again" (503, 500) are never recorded.
enum Idempotency {
    static let header = HTTPField.Name("Idempotency-Key")!
    static let replayedHeader = HTTPField.Name("Idempotency-Replayed")!
    static let window = "24 hours"

    /// The key of the request, nil without one; 400 when it is not 1-200 printable ASCII characters.
    static func key(_ request: Request) throws -> String? {
        let values = request.headers[values: header]
        guard let value = values.first else { return nil }
        guard values.count == 1 else { throw APIError.badRequest("send one Idempotency-Key header, not \(values.count)") }
        guard !value.isEmpty, value.utf8.count <= 200, value.utf8.allSatisfy({ $0 >= 0x20 && $0 <= 0x7E }),
              !value.allSatisfy({ $0 == " " }) else {
            throw APIError.badRequest("Idempotency-Key must be 1 to 200 printable ASCII characters")
        }
        return value
    }

    /// A recorded answer.
    struct Recorded: Sendable {
        var digest: String
        var status: Int
        var answer: String
    }

    /// The live (under 24 h) record of `key`, if any; deletes expired records on the way (cheap: by index).
    static func lookup(pool: PostgresConnectionPool, store: String, key: String) async throws -> Recorded? {
        try await pool.withConnection { conn in
            _ = try await conn.execute("DELETE FROM ops.idempotency_key WHERE created_at < now() - \(window)::interval")
            let rows = try await conn.query("""
                SELECT body_digest, status, answer FROM ops.idempotency_key
                WHERE store_code = \(store) AND key = \(key) AND created_at >= now() - \(window)::interval
                """)
            guard let row = rows.first else { return nil }
            let (digest, status, answer) = try row.decode((String, Int, String).self)
            return Recorded(digest: digest, status: status, answer: answer)
        }
    }

    /// The answer to a request whose key was recorded: the first answer, or 422 for another body.
    static func replay(_ recorded: Recorded, digest: String) throws -> Response {
        guard recorded.digest == digest else {
            throw APIError(status: .unprocessableContent,
                           message: "this Idempotency-Key was used in the last 24 hours for an upload with other content; nothing was stored. Use a new key for a new upload.",
                           extra: ["idempotency_key_reused": true])
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[replayedHeader] = "true"
        return Response(status: HTTPResponse.Status(code: recorded.status), headers: headers,
                        body: ResponseBody(byteBuffer: ByteBuffer(string: recorded.answer)))
    }

    /// Records the answer inside the upload's transaction. A live record of the same key (a concurrent request
    /// with the same key committed first) is kept; an expired one is replaced.
    static func record(_ conn: isolated PostgresConnection, store: String, key: String, digest: String, status: Int, answer: String) throws {
        _ = try conn.runQuery("""
            INSERT INTO ops.idempotency_key AS k (store_code, key, body_digest, status, answer)
            VALUES (\(store), \(key), \(digest), \(status), \(answer))
            ON CONFLICT (store_code, key) DO UPDATE
            SET body_digest = EXCLUDED.body_digest, status = EXCLUDED.status, answer = EXCLUDED.answer, created_at = now()
            WHERE k.created_at < now() - \(window)::interval
            """)
    }

    /// Records the answer of a rejected upload (nothing else was stored), outside any transaction.
    static func recordRejection(pool: PostgresConnectionPool, store: String, key: String, digest: String, status: Int, answer: String) async throws {
        try await pool.withConnection { conn in
            try await Self.record(conn, store: store, key: key, digest: digest, status: status, answer: answer)
        }
    }
}
