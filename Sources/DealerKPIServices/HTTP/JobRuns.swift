import CivilCalendar
import Foundation
import Hummingbird

/// `POST /v1/jobs/{name}/runs`: asks the daemons to run a job (`refresh`, `close_day`, `retention`).
///
/// - Auth: an operator token (401 without a valid token, 403 with a store token).
/// - Body: empty, or JSON `{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD", "full": true|false}` (all optional;
///   unknown members, wrong types and from > to are 400). At most 64 KiB.
/// - Unknown job: 404. Otherwise the request is queued (`ops.job_request`, announced on `dealer_kpi_jobs`; a
///   daemon claims it) and the answer is 202 `{"request_id": N, "job": name}`.
struct JobRuns: Sendable {
    let api: HTTPAPI

    static let bodyLimit = 64 << 10

    func handle(_ request: Request, context: some RequestContext) async throws -> Response {
        let principal = try await api.authenticate(request)
        guard principal.role == .operator else { throw APIError.forbidden("jobs are run with an operator token") }
        let name = context.parameters.get("name") ?? ""
        guard let job = JobKind(rawValue: name) else {
            throw APIError(status: .notFound, message: "unknown job; jobs are \(JobKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let arguments = try await Self.arguments(request)
        let id = try await api.jobs.request(job: job, arguments: arguments, trigger: arguments.from != nil ? .backfill : .manual,
                                            requestedBy: "http \(principal)")
        context.logger.info("job requested", metadata: ["job": "\(job.rawValue)", "request_id": "\(id)", "by": "\(principal)"])
        return HTTPJSON.response(.accepted, ["request_id": id, "job": job.rawValue])
    }

    static func arguments(_ request: Request) async throws -> JobArguments {
        let limit = bodyLimit
        var bytes: [UInt8] = []
        for try await buffer in request.body {
            if bytes.count + buffer.readableBytes > limit { throw APIError.payloadTooLarge(limit: limit) }
            bytes += buffer.readableBytesView
        }
        guard bytes.contains(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) else { return JobArguments() }
        if let type = MediaType.essence(request), type != "application/json" {
            throw APIError(status: .unsupportedMediaType, message: "the body must be JSON (Content-Type: application/json)")
        }
        struct Body: Decodable {
            var from: String?
            var to: String?
            var full: Bool?
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
              let body = try? JSONDecoder().decode(Body.self, from: Data(bytes)) else {
            throw APIError.badRequest("the body must be a JSON object such as {\"from\": \"2026-03-01\", \"to\": \"2026-03-31\", \"full\": false} (full is true or false)")
        }
        if let unknown = object.keys.sorted().first(where: { !["from", "to", "full"].contains($0) }) {
            throw APIError.badRequest("unknown member \"\(unknown.prefix(40))\"; allowed: from, to, full")
        }
        func date(_ key: String, _ value: String?) throws -> CalendarDate? {
            guard let value else { return nil }
            guard let d = CalendarDate(iso: value) else { throw APIError.badRequest("\(key) must be a date YYYY-MM-DD") }
            return d
        }
        let arguments = JobArguments(from: try date("from", body.from), to: try date("to", body.to), full: body.full ?? false)
        if let from = arguments.from, let to = arguments.to, from > to { throw APIError.badRequest("from is after to") }
        return arguments
    }
}
