import Foundation
import Hummingbird
import Logging
import Metrics

/// The outermost middleware: one structured access-log line and the HTTP metrics per request, and the
/// answer to anything a handler threw.
///
/// The line carries the method, the path (never the query string, which may carry data), the route
/// pattern, the status, the duration, the declared body size and Hummingbird's request id. Never headers
/// (so never `Authorization`), never bodies.
///
/// Metrics: `dealer_kpi_http_requests_total{route, method, status}` and
/// `dealer_kpi_http_request_duration_seconds{route}`.
struct AccessLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as APIError {
            response = try error.response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        } catch {
            let answer = APIError.answering(error)
            // `PostgresError.description` and our own errors are safe to log (no bound values, no PII).
            context.logger.error("request failed", metadata: ["path": "\(Self.loggedPath(request))", "error": "\(error)"])
            response = try answer.response(from: request, context: context)
        }
        let elapsed = ContinuousClock.now - started
        let route = context.endpointPath ?? "unmatched"
        var metadata: Logger.Metadata = [
            "method": "\(request.method.rawValue)",
            "path": "\(Self.loggedPath(request))",
            "route": "\(route)",
            "status": "\(response.status.code)",
            "duration_ms": "\(String(format: "%.1f", Double(elapsed.nanoseconds) / 1_000_000))",
        ]
        if let length = request.headers[.contentLength] { metadata["request_bytes"] = "\(length)" }
        context.logger.info("http request", metadata: metadata)
        Counter(label: "dealer_kpi_http_requests_total",
                dimensions: [("route", route), ("method", request.method.rawValue), ("status", String(response.status.code))]).increment()
        Metrics.Timer(label: "dealer_kpi_http_request_duration_seconds", dimensions: [("route", route)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(elapsed.nanoseconds)
        return response
    }

    /// The path without the query string, cut to 200 characters, control characters escaped.
    static func loggedPath(_ request: Request) -> String {
        var path = request.uri.path
        if path.count > 200 { path = String(path.prefix(200)) + "…" }
        if path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            path = String(String.UnicodeScalarView(path.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }))
        }
        return path
    }
}

/// Refuses a declared body over `maxBodyBytes` at once (413, before reading it), on every route. (Bodies sent
/// without a length are read with the same limit by the routes that read them.)
struct BodyLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    let maxBodyBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let declared = request.headers[.contentLength] {
            guard let length = Int(declared.trimmingCharacters(in: .whitespaces)), length >= 0 else {
                throw APIError.badRequest("invalid Content-Length")
            }
            if length > maxBodyBytes { throw APIError.payloadTooLarge(limit: maxBodyBytes) }
        }
        return try await next(request, context)
    }
}

/// The request timeout, applied to each route's handler (including reading the body): a handler still running
/// after `timeout` is cancelled (a transaction it has open rolls back; the database query is cancelled) and the
/// answer is 503. (A middleware cannot do this: its `next` may not be sent to another task.)
struct RequestTimeout: Sendable {
    let timeout: Duration

    func callAsFunction<Context: RequestContext>(
        _ handler: @escaping @Sendable (Request, Context) async throws -> Response
    ) -> @Sendable (Request, Context) async throws -> Response {
        let timeout = self.timeout
        return { request, context in
            try await withThrowingTaskGroup(of: Response?.self) { group in
                group.addTask { try await handler(request, context) }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let response = first else {
                    context.logger.warning("request timed out", metadata: ["path": "\(AccessLogMiddleware<Context>.loggedPath(request))",
                                                                           "timeout": "\(timeout)"])
                    throw APIError.timedOut
                }
                return response
            }
        }
    }
}
