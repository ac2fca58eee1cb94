import DailyReport
import Foundation
import Hummingbird
import Logging
import Warehouse

/// `POST /v1/reports`: a store uploads one daily-report file (a JSON report or a CSV section file).
///
/// - `Authorization: Bearer <store token>`; the file may carry that store's data only.
/// - `Content-Type: application/json` or `text/csv` (any `charset`: the bytes pass through untouched and the
///   reader detects UTF-8, UTF-8 with BOM or GB18030 as for files).
/// - `?file_name=NAME` optional: the name recorded in `core.ingested_file` and quoted in errors (path parts
///   dropped; the extension is made to match the content type). Default `http-STORE-YYYYMMDDTHHMMSSZ-XXXX.json|csv`.
/// - The body is streamed to a private temporary file (mode 0600) with a size limit, then ingested like a file
///   with receipt time = when the body was fully received (this server's clock).
///
/// Answers: 201 accepted and at least one store-day got its first version (a new report), 200 accepted as a
/// correction only (every store-day already had a report); both with the CLI's `--json` object for the file
/// (`file`, `accepted`, `received_at`, `store_days` [{store, business_date, version}], `rows`
/// {visits, prospects, sales}). 401 no, unknown or revoked token; 403 an operator token, or the file carries
/// another store's data (nothing stored); 413 body over `max_body_bytes`; 415 another content type; 422
/// rejected, with the CLI's machine-readable error list (`errors` [{file, line|path, field, value, rule,
/// message}], `errors_truncated`); 503 database unavailable.
struct ReportUpload: Sendable {
    let api: HTTPAPI

    enum Form: String {
        case json, csv
    }

    func handle(_ request: Request, context: some RequestContext) async throws -> Response {
        let principal = try await api.authenticate(request)
        guard principal.role == .store, let store = principal.storeCode else {
            throw APIError.forbidden("reports are uploaded with a store token")
        }
        let form: Form
        switch MediaType.essence(request) {
        case "application/json": form = .json
        case "text/csv": form = .csv
        default:
            throw APIError(status: .unsupportedMediaType, message: "Content-Type must be application/json (a JSON report) or text/csv (a CSV section file)")
        }
        let name = try Self.fileName(request.uri.queryParameters.get("file_name"), form: form, store: store)

        let file = try UploadFile(directory: FileManager.default.temporaryDirectory, extension: form.rawValue)
        defer { file.remove() }
        try await file.receive(request.body, limit: api.configuration.maxBodyBytes)
        let receivedAt = Date()

        let started = ContinuousClock.now
        let result: IngestResult
        do {
            result = try await api.ingestor.ingest(path: file.path, displayName: name, receivedAt: receivedAt, allowedStore: store)
        } catch let other as ReportStoreNotAllowed {
            IngestMetrics.recordFile(source: "http", accepted: false, duration: ContinuousClock.now - started, rows: 0,
                                     rejectedRules: ["store_not_allowed"])
            context.logger.notice("report upload refused: another store's data", metadata: [
                "token_store": "\(store)", "file": "\(name)", "found_store": "\(other.store)",
            ])
            throw APIError.forbidden("the file carries data of store \(other.store); this token uploads reports of store \(store) only. Nothing was stored.")
        }
        let duration = ContinuousClock.now - started
        if let rejection = result.rejection {
            IngestMetrics.recordFile(source: "http", accepted: false, duration: duration, rows: 0,
                                     rejectedRules: rejection.rules.map(\.rawValue))
            context.logger.notice("report upload rejected", metadata: [
                "store": "\(store)", "file": "\(name)", "issues": "\(rejection.issues.count)",
                "rules": "\(Set(rejection.rules.map(\.rawValue)).sorted())",
            ])
            let object: [String: Any] = [
                "file": result.file, "accepted": false,
                "errors": rejection.issues.map(WarehouseCommands.issueObject),
                "errors_truncated": rejection.isTruncated,
            ]
            return HTTPJSON.response(.unprocessableContent, object)
        }
        let rows = result.visitRows + result.prospectRows + result.saleRows
        IngestMetrics.recordFile(source: "http", accepted: true, duration: duration, rows: rows, rejectedRules: [])
        let isNewReport = result.storeDays.contains { $0.version == 1 }
        context.logger.info("report upload accepted", metadata: [
            "store": "\(store)", "file": "\(name)", "store_days": "\(result.storeDays.count)", "rows": "\(rows)",
            "versions": "\(result.storeDays.map(\.version))",
        ])
        var object: [String: Any] = [
            "file": result.file, "accepted": true,
            "store_days": result.storeDays.map { ["store": $0.store, "business_date": $0.businessDate.description, "version": $0.version] },
            "rows": ["visits": result.visitRows, "prospects": result.prospectRows, "sales": result.saleRows],
        ]
        if let at = result.receivedAt { object["received_at"] = HTTPJSON.timestamp(at) }
        return HTTPJSON.response(isNewReport ? .created : .ok, object)
    }

    /// The recorded file name: the last path component of `requested` (control characters refused, at most
    /// 120 characters), with the extension of the content type appended when it has another; or a generated one.
    static func fileName(_ requested: String?, form: Form, store: String) throws -> String {
        let ext = "." + form.rawValue
        guard let requested, !requested.isEmpty else {
            let stamp = HTTPJSON.timestamp(Date()).prefix(19).replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
            let suffix = String(UInt16.random(in: .min ... .max), radix: 16)
            return "http-\(store)-\(stamp)Z-\(suffix)\(ext)"
        }
        guard !requested.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw APIError.badRequest("file_name must not contain control characters")
        }
        var name = requested.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        name = name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name != ".", name != ".." else { throw APIError.badRequest("file_name is not a usable file name") }
        guard name.count <= 120 else { throw APIError.badRequest("file_name is longer than 120 characters") }
        if !name.lowercased().hasSuffix(ext) { name += ext }
        return name
    }
}

/// A private temporary file receiving a request body.
struct UploadFile: Sendable {
    let path: String

    init(directory: URL, extension ext: String) throws {
        path = directory.appending(path: "dkpi-upload-\(UUID().uuidString.lowercased()).\(ext)").path
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        close(fd)
    }

    /// Streams `body` into the file; 413 as soon as more than `limit` bytes arrived (the rest is not kept).
    func receive(_ body: RequestBody, limit: Int) async throws {
        let fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        var total = 0
        for try await buffer in body {
            total += buffer.readableBytes
            if total > limit { throw APIError.payloadTooLarge(limit: limit) }
            try buffer.withUnsafeReadableBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
                    }
                    offset += n
                }
            }
        }
    }

    func remove() { unlink(path) }
}
