import Foundation
import Hummingbird
import Postgres

/// An error an HTTP handler answers with: status, a JSON body `{"error": message, ...extra}` and headers.
/// Messages are written for API clients and never carry PII, tokens or SQL.
struct APIError: Error, HTTPResponseError, CustomStringConvertible {
    var status: HTTPResponse.Status
    var message: String
    var headers: HTTPFields = [:]
    /// Extra members of the JSON body.
    var extra: [String: any Sendable] = [:]

    var description: String { "\(status.code) \(message)" }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var object: [String: Any] = ["error": message]
        for (k, v) in extra { object[k] = v }
        return HTTPJSON.response(status, object, headers: headers)
    }

    static func badRequest(_ message: String) -> APIError { APIError(status: .badRequest, message: message) }

    static let realm = "Bearer realm=\"dealer-kpi\""

    /// 401: no credentials (RFC 6750: no error code), or bad ones (`invalid_token`).
    static func unauthorized(credentialsGiven: Bool) -> APIError {
        var headers = HTTPFields()
        headers[.wwwAuthenticate] = credentialsGiven ? realm + ", error=\"invalid_token\"" : realm
        return APIError(status: .unauthorized,
                        message: credentialsGiven ? "the bearer token is unknown, revoked or malformed" : "a bearer token is required (Authorization: Bearer TOKEN)",
                        headers: headers)
    }

    static func forbidden(_ message: String) -> APIError { APIError(status: .forbidden, message: message) }

    static func payloadTooLarge(limit: Int) -> APIError {
        var headers = HTTPFields()
        headers[.connection] = "close"
        return APIError(status: .contentTooLarge, message: "the request body is larger than the limit of \(limit) bytes",
                        headers: headers, extra: ["max_body_bytes": limit])
    }

    /// Seconds a client should wait before retrying after a 503.
    static let retryAfterSeconds = 5

    /// 503 with `Retry-After`.
    static func serviceUnavailable(_ message: String) -> APIError {
        var headers = HTTPFields()
        headers[.retryAfter] = String(retryAfterSeconds)
        return APIError(status: .serviceUnavailable, message: message, headers: headers)
    }

    static let unavailable = serviceUnavailable("the database is unavailable; try again later")
    static let timedOut = serviceUnavailable("the request took longer than the server's request timeout; nothing was stored (its transaction rolled back), or, if it was committed just before, a retry is answered as a duplicate. Retry the same request later")
    static let databaseTimedOut = serviceUnavailable("the database did not finish the request within its time limit (statement or lock timeout); nothing was stored. Retry later")
    static let internalError = APIError(status: .internalServerError, message: "internal error (see the server log)")

    /// How an unexpected error thrown by a handler is answered: a database time limit, a cancelled query, an
    /// outage or a closed pool is 503 with `Retry-After`; anything else 500.
    static func answering(_ error: any Error) -> APIError {
        if let pg = error as? PostgresError {
            if pg.kind == .timeout { return databaseTimedOut }
            if pg.isConnectionProblem || pg.kind == .cancelled || pg.kind == .poolClosed || pg.kind == .connectionFailed
                || pg.kind == .connectionLost {
                return unavailable
            }
        }
        if error is CancellationError { return unavailable }
        return internalError
    }
}

/// JSON bodies (JSONSerialization: exact for strings, integers and booleans; we never put binary floating
/// point numbers in a response, decimals travel as strings).
enum HTTPJSON {
    static func data(_ object: Any) -> Data {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    }

    static func response(_ status: HTTPResponse.Status, _ object: Any, headers: HTTPFields = [:]) -> Response {
        var data = data(object)
        data.append(0x0A)
        var h = headers
        h[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: h, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func text(_ status: HTTPResponse.Status, _ text: String, contentType: String = "text/plain; charset=utf-8") -> Response {
        var h = HTTPFields()
        h[.contentType] = contentType
        h[.cacheControl] = "no-store"
        return Response(status: status, headers: h, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// RFC 3339 in UTC with microseconds: `2026-03-02T13:30:00.000000Z`.
    static func timestamp(_ date: Date) -> String {
        let pg = PostgresTimestamp.format(date)   // `2026-03-02 13:30:00.000000+00`
        guard pg.hasSuffix("+00") else { return pg }
        return pg.dropLast(3).replacingOccurrences(of: " ", with: "T") + "Z"
    }
}

/// The `Authorization: Bearer TOKEN` header.
enum BearerCredentials {
    enum Parsed: Equatable {
        case none
        case malformed
        case token(String)
    }

    static func parse(_ request: Request) -> Parsed {
        let values = request.headers[values: .authorization]
        guard let value = values.first else { return .none }
        guard values.count == 1 else { return .malformed }
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard let space = trimmed.firstIndex(of: " ") else { return .malformed }
        guard trimmed[..<space].lowercased() == "bearer" else { return .malformed }
        let token = trimmed[space...].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? .malformed : .token(token)
    }
}

/// The media type of `Content-Type`, lower-cased, without parameters (`text/csv; charset=GB18030` → `text/csv`).
enum MediaType {
    static func essence(_ request: Request) -> String? {
        guard let value = request.headers[.contentType] else { return nil }
        let essence = value.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let trimmed = essence.trimmingCharacters(in: .whitespaces).lowercased()
        return trimmed.isEmpty ? nil : trimmed
    }

    /// A parameter of `Content-Type` (`multipart/form-data; boundary="abc"` → `abc` for `boundary`).
    static func parameter(_ request: Request, _ name: String) -> String? {
        guard let value = request.headers[.contentType] else { return nil }
        return HeaderParameters.parse(value)[name.lowercased()]
    }
}
