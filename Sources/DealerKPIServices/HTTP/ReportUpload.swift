import Crypto
import DailyReport
import Foundation
import Hummingbird
import Logging
import MultipartKit
import Postgres
import Synchronization
import Warehouse

/// `POST /v1/reports`: a store uploads daily-report files (JSON reports or CSV section files), one file or
/// several as ONE upload (contract 1.1, section 5: one receipt time, one transaction, all or nothing).
///
/// - `Authorization: Bearer <store token>`; every file may carry that store's data only.
/// - Body, by `Content-Type`:
///   - `application/json` or `text/csv` (any `charset`: the bytes pass through untouched and the reader detects
///     UTF-8, UTF-8 with BOM or GB18030 as for files): one file. `?file_name=NAME` optional: the name recorded in
///     `core.ingested_file` and quoted in errors (path parts dropped; the extension is made to match the content
///     type). Default `http-STORE-YYYYMMDDTHHMMSSZ-XXXX.json|csv`.
///   - `multipart/form-data`: one part per file (at most 100), whatever the field names. A part's name is its
///     `filename` (or a generated one); JSON or CSV is decided by the part's `Content-Type`
///     (`application/json`, `text/csv`), else by the file name's extension, else by the content (`{` first: JSON).
/// - The body is streamed to a private temporary directory (mode 0700, files 0600) with the `max_body_bytes`
///   limit over the whole body, never held in memory; the multipart body is parsed by MultipartKit. Receipt
///   time = when the body was fully received (this server's clock), the same for every file of the upload.
/// - `Idempotency-Key: K` optional (1-200 printable ASCII characters, else 400): see `Idempotency`. Within
///   24 hours the same key (per store) with the same content answers the first answer again without
///   ingesting (`Idempotency-Replayed: true`); with other content 422.
///
/// Answers (bodies as the CLI's `ingest --json`; a duplicate is never an error):
/// - 201: accepted, and at least one store-day got its first version from this upload (a new report).
/// - 200: accepted otherwise: a completion (a section delivered for the first time), a correction, or a
///   duplicate (everything equal to what was delivered: nothing changed).
///   One file: `{file, accepted, duplicate, received_at, store_days [{store, business_date, version, duplicate}],
///   rows {visits, prospects, sales}}`. Multipart: `{accepted, duplicate, received_at, store_days [...],
///   files [the one-file object per part, in order]}`. `duplicate` is true for a store-day that was a duplicate,
///   for a file whose every store-day was, and at the top for an upload whose every file was.
/// - 400 bad request (malformed multipart body, no part, bad `file_name` or `Idempotency-Key`); 401 no, unknown
///   or revoked token; 403 an operator token, or a file carries another store's data (nothing stored); 413 body
///   over `max_body_bytes`; 415 another content type.
/// - 422 rejected, nothing stored: one file: `{file, accepted: false, errors [{file, line|path, field, value,
///   rule, message}], errors_truncated}`; multipart: `{accepted: false, errors [every part's problems],
///   errors_truncated, files [{file, accepted: false, errors, errors_truncated}]}`: every part is listed, a valid
///   part of a rejected upload with rule `upload_rejected`. Also 422: an `Idempotency-Key` reused with other content.
/// - 503 with `Retry-After`: the database is unavailable, or a time limit passed (the request timeout, or the
///   upload's statement or lock timeout): the upload rolled back, or, if it committed just before, a retry is
///   answered as a duplicate.
struct ReportUpload: Sendable {
    let api: HTTPAPI

    enum Form: String, Sendable {
        case json, csv
    }

    /// At most this many parts (files) in one multipart upload.
    static let maxParts = 100

    func handle(_ request: Request, context: some RequestContext) async throws -> Response {
        let principal = try await api.authenticate(request)
        guard principal.role == .store, let store = principal.storeCode else {
            throw APIError.forbidden("reports are uploaded with a store token")
        }
        let key = try Idempotency.key(request)
        let limit = api.configuration.maxBodyBytes
        let received: ReceivedUpload
        switch MediaType.essence(request) {
        case "application/json", "text/csv":
            let form: Form = MediaType.essence(request) == "text/csv" ? .csv : .json
            let name = try Self.fileName(request.uri.queryParameters.get("file_name"), form: form, store: store)
            received = try await ReceivedUpload.single(request.body, name: name, limit: limit)
        case "multipart/form-data":
            guard let boundary = MediaType.parameter(request, "boundary"), !boundary.isEmpty, boundary.utf8.count <= 200 else {
                throw APIError.badRequest("multipart/form-data needs a boundary parameter in Content-Type")
            }
            received = try await ReceivedUpload.multipart(request.body, boundary: boundary, store: store, limit: limit)
        default:
            throw APIError(status: .unsupportedMediaType,
                           message: "Content-Type must be application/json (a JSON report), text/csv (a CSV section file) or multipart/form-data (several files, one part each)")
        }
        defer { received.remove() }
        let receivedAt = Date()
        let names = received.files.map(\.displayName)

        if let key, let recorded = try await Idempotency.lookup(pool: api.pool, store: store, key: key) {
            context.logger.info("report upload replayed by its Idempotency-Key", metadata: [
                "store": "\(store)", "files": "\(names)", "same_content": "\(recorded.digest == received.digest)",
            ])
            return try Idempotency.replay(recorded, digest: received.digest)
        }

        let started = ContinuousClock.now
        let isMultipart = received.isMultipart
        let answerBox = AnswerBox()
        let digest = received.digest
        let upload: UploadResult
        do {
            upload = try await api.ingestor.ingest(upload: received.files, receivedAt: receivedAt, allowedStore: store,
                                                   timeouts: api.configuration.timeouts.httpIngest) { conn, upload in
                let answer = Self.answer(upload, multipart: isMultipart, created: try Self.createsFirstVersion(conn, upload))
                if let key {
                    try Idempotency.record(conn, store: store, key: key, digest: digest, status: Int(answer.status.code), answer: answer.text)
                }
                answerBox.set(answer)
            }
        } catch let other as ReportStoreNotAllowed {
            IngestMetrics.recordFile(source: "http", accepted: false, duration: ContinuousClock.now - started, rows: 0,
                                     rejectedRules: ["store_not_allowed"])
            context.logger.notice("report upload refused: another store's data", metadata: [
                "token_store": "\(store)", "file": "\(other.file)", "found_store": "\(other.store)",
            ])
            let error = APIError.forbidden("the file \(other.file) carries data of store \(other.store); this token uploads reports of store \(store) only. Nothing was stored.")
            if let key {
                let answer = Answer(status: error.status, object: ["error": error.message])
                try? await Idempotency.recordRejection(pool: api.pool, store: store, key: key, digest: digest,
                                                       status: Int(answer.status.code), answer: answer.text)
            }
            throw error
        }
        let duration = ContinuousClock.now - started
        guard upload.isAccepted else {
            for file in upload.files {
                IngestMetrics.recordFile(source: "http", accepted: false, duration: duration, rows: 0,
                                         rejectedRules: file.rejection.map { $0.rules.map(\.rawValue) } ?? [])
            }
            let rules = Set(upload.files.flatMap { $0.rejection?.rules.map(\.rawValue) ?? [] }).sorted()
            context.logger.notice("report upload rejected", metadata: [
                "store": "\(store)", "files": "\(names)",
                "issues": "\(upload.files.reduce(0) { $0 + ($1.rejection?.issues.count ?? 0) })", "rules": "\(rules)",
            ])
            let answer = Self.answer(upload, multipart: isMultipart, created: false)
            if let key {
                try await Idempotency.recordRejection(pool: api.pool, store: store, key: key, digest: digest,
                                                      status: Int(answer.status.code), answer: answer.text)
            }
            return answer.response
        }
        for file in upload.files {
            IngestMetrics.recordFile(source: "http", accepted: true, duration: duration,
                                     rows: file.visitRows + file.prospectRows + file.saleRows, rejectedRules: [])
        }
        IngestMetrics.recordDuplicates(source: "http", storeDays: upload.storeDays.filter(\.duplicate).count)
        let answer = answerBox.get() ?? Self.answer(upload, multipart: isMultipart, created: false)
        let duplicate = upload.files.allSatisfy(\.isDuplicate)
        context.logger.info(duplicate ? "report upload was a duplicate; nothing changed" : "report upload accepted", metadata: [
            "store": "\(store)", "files": "\(names)", "store_days": "\(upload.storeDays.count)",
            "duplicate_store_days": "\(upload.storeDays.filter(\.duplicate).count)",
            "rows": "\(upload.files.reduce(0) { $0 + $1.visitRows + $1.prospectRows + $1.saleRows })",
            "versions": "\(upload.storeDays.map(\.version))", "status": "\(answer.status.code)",
        ])
        return answer.response
    }

    // MARK: - The answer

    /// A rendered answer: status and JSON body (kept as text for `Idempotency-Key` replays).
    struct Answer: Sendable {
        var status: HTTPResponse.Status
        var text: String

        init(status: HTTPResponse.Status, object: [String: Any]) {
            self.status = status
            var data = HTTPJSON.data(object)
            data.append(0x0A)
            self.text = String(decoding: data, as: UTF8.self)
        }

        var response: Response {
            var headers = HTTPFields()
            headers[.contentType] = "application/json; charset=utf-8"
            return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
    }

    final class AnswerBox: Sendable {
        private let value = Mutex<Answer?>(nil)
        func set(_ answer: Answer) { value.withLock { $0 = answer } }
        func get() -> Answer? { value.withLock { $0 } }
    }

    /// Whether the upload made the first version of some store-day: a version-1 store-day (not a duplicate)
    /// whose first receipt is its current one (a completion moves the current receipt time on). Runs inside
    /// the upload's transaction.
    static func createsFirstVersion(_ conn: isolated PostgresConnection, _ upload: UploadResult) throws -> Bool {
        let days = upload.storeDays.filter { $0.version == 1 && !$0.duplicate }
        guard !days.isEmpty else { return false }
        let stores = days.map(\.store)
        let dates = days.map(\.businessDate)
        let rows = try conn.runQuery("""
            SELECT count(*) FROM core.store_day_report r
            JOIN unnest(\(stores)::text[], \(dates)::date[]) AS d(store_code, business_date)
              ON r.store_code = d.store_code AND r.business_date = d.business_date
            WHERE r.current_version = 1 AND r.first_received_at = r.current_received_at
            """)
        return try rows[0].decode(Int.self, column: 0) > 0
    }

    /// The answer to an upload: 201/200 with the accepted files, or 422 with every file's problems.
    static func answer(_ upload: UploadResult, multipart: Bool, created: Bool) -> Answer {
        guard upload.isAccepted else {
            let files: [[String: Any]] = upload.files.map { file in
                [
                    "file": file.file, "accepted": false,
                    "errors": file.rejection?.issues.map(WarehouseCommands.issueObject) ?? [],
                    "errors_truncated": file.rejection?.isTruncated ?? false,
                ]
            }
            if !multipart, let only = files.first { return Answer(status: .unprocessableContent, object: only) }
            return Answer(status: .unprocessableContent, object: [
                "accepted": false,
                "errors": upload.files.flatMap { $0.rejection?.issues.map(WarehouseCommands.issueObject) ?? [] },
                "errors_truncated": upload.files.contains { $0.rejection?.isTruncated == true },
                "files": files,
            ])
        }
        let status: HTTPResponse.Status = created ? .created : .ok
        let files: [[String: Any]] = upload.files.map { file in
            var o: [String: Any] = [
                "file": file.file, "accepted": true, "duplicate": file.isDuplicate,
                "store_days": file.storeDays.map(storeDayObject),
                "rows": ["visits": file.visitRows, "prospects": file.prospectRows, "sales": file.saleRows],
            ]
            if let at = file.receivedAt ?? upload.receivedAt { o["received_at"] = HTTPJSON.timestamp(at) }
            return o
        }
        if !multipart, let only = files.first { return Answer(status: status, object: only) }
        var object: [String: Any] = [
            "accepted": true, "duplicate": upload.files.allSatisfy(\.isDuplicate),
            "store_days": upload.storeDays.map(storeDayObject), "files": files,
        ]
        if let at = upload.receivedAt { object["received_at"] = HTTPJSON.timestamp(at) }
        return Answer(status: status, object: object)
    }

    static func storeDayObject(_ day: IngestResult.StoreDayVersion) -> [String: Any] {
        ["store": day.store, "business_date": day.businessDate.description, "version": day.version, "duplicate": day.duplicate]
    }

    // MARK: - Names

    /// The recorded file name: the last path component of `requested` (control characters refused, at most
    /// 120 characters), with the extension of the form appended when it has another; or a generated one.
    static func fileName(_ requested: String?, form: Form, store: String, what: String = "file_name") throws -> String {
        let ext = "." + form.rawValue
        guard let requested, !requested.isEmpty else {
            let stamp = HTTPJSON.timestamp(Date()).prefix(19).replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
            let suffix = String(UInt16.random(in: .min ... .max), radix: 16)
            return "http-\(store)-\(stamp)Z-\(suffix)\(ext)"
        }
        guard !requested.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw APIError.badRequest("\(what) must not contain control characters")
        }
        var name = requested.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        name = name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name != ".", name != ".." else { throw APIError.badRequest("\(what) is not a usable file name") }
        guard name.count <= 120 else { throw APIError.badRequest("\(what) is longer than 120 characters") }
        if !name.lowercased().hasSuffix(ext) { name += ext }
        return name
    }
}

// MARK: - Receiving

/// The files of one request, streamed into a private temporary directory (mode 0700; files 0600), with the
/// SHA-256 of their content (for `Idempotency-Key`).
struct ReceivedUpload: Sendable {
    let directory: String
    var files: [IngestFile]
    /// SHA-256 (hex) over the files' SHA-256 digests in order: the same content in the same order, the same digest.
    var digest: String
    var isMultipart: Bool

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    static func makeDirectory() throws -> String {
        var template = Array(FileManager.default.temporaryDirectory.appending(path: "dkpi-upload-XXXXXXXX").path.utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        return String(cString: made)
    }

    static func combinedDigest(_ parts: [SHA256.Digest]) -> String {
        var all = SHA256()
        for part in parts { all.update(data: Array(part.hex.utf8) + [0x0A]) }
        return all.finalize().hex
    }

    /// A JSON or CSV body: one file.
    static func single(_ body: RequestBody, name: String, limit: Int) async throws -> ReceivedUpload {
        let directory = try makeDirectory()
        do {
            let writer = try PartWriter(path: directory + "/body")
            var total = 0
            for try await buffer in body {
                total += buffer.readableBytes
                if total > limit { throw APIError.payloadTooLarge(limit: limit) }
                try writer.write(buffer)
            }
            let digest = writer.finish()
            return ReceivedUpload(directory: directory, files: [IngestFile(path: directory + "/body", displayName: name)],
                                  digest: combinedDigest([digest]), isMultipart: false)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    /// A `multipart/form-data` body: one file per part, parsed by MultipartKit as the body streams in.
    static func multipart(_ body: RequestBody, boundary: String, store: String, limit: Int) async throws -> ReceivedUpload {
        let directory = try makeDirectory()
        do {
            let parts = MultipartParts(directory: directory, store: store)
            let parser = MultipartParser(boundary: boundary)
            parser.onHeader = { name, value in parts.header(name, value) }
            parser.onBody = { buffer in parts.body(buffer) }
            parser.onPartComplete = { parts.complete() }
            let closing = Array("\r\n--\(boundary)--".utf8)
            var tail: [UInt8] = Array("\r\n".utf8)   // the first delimiter may open the body without a CRLF
            var closed = false
            var total = 0
            for try await buffer in body {
                total += buffer.readableBytes
                if total > limit { throw APIError.payloadTooLarge(limit: limit) }
                if !closed {
                    let window = tail + Array(buffer.readableBytesView)
                    if window.firstRange(of: closing) != nil { closed = true }
                    tail = Array(window.suffix(closing.count - 1))
                }
                do {
                    try parser.execute(buffer)
                } catch {
                    throw APIError.badRequest("the multipart/form-data body is malformed")
                }
                if let problem = parts.problem { throw problem }
            }
            guard closed else { throw APIError.badRequest("the multipart/form-data body ends before its closing boundary") }
            guard !parts.files.isEmpty else { throw APIError.badRequest("the multipart/form-data body has no part: send one part per file") }
            return ReceivedUpload(directory: directory, files: parts.files, digest: combinedDigest(parts.digests), isMultipart: true)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }
}

/// The parts of a multipart body as MultipartKit reports them: headers, body bytes (written to a file as they
/// come), end. Used from the one task reading the body.
private final class MultipartParts {
    let directory: String
    let store: String
    var files: [IngestFile] = []
    var digests: [SHA256.Digest] = []
    var problem: APIError?
    private var headers: [String: String]?
    private var writer: PartWriter?
    private var head: [UInt8] = []

    init(directory: String, store: String) {
        self.directory = directory
        self.store = store
    }

    private var partPath: String { directory + "/part-\(files.count + 1)" }

    /// Starts the file of the part being received, refusing a part beyond `ReportUpload.maxParts`.
    private func openPartIfNeeded() throws {
        guard writer == nil else { return }
        guard files.count < ReportUpload.maxParts else {
            throw APIError.badRequest("an upload carries at most \(ReportUpload.maxParts) files")
        }
        writer = try PartWriter(path: partPath)
    }

    func header(_ name: String, _ value: String) {
        if headers == nil { headers = [:] }
        headers?[name.lowercased()] = value
    }

    func body(_ buffer: ByteBuffer) {
        guard problem == nil else { return }
        do {
            try openPartIfNeeded()
            if head.count < 64 { head += buffer.readableBytesView.prefix(64 - head.count) }
            try writer!.write(buffer)
        } catch let error as APIError {
            problem = error
        } catch {
            problem = APIError.internalError
        }
    }

    func complete() {
        guard problem == nil else { return }
        do {
            try openPartIfNeeded()  // an empty part gets its (empty) file too
            let path = partPath
            let number = files.count + 1
            digests.append(writer!.finish())
            let disposition = headers?["content-disposition"].map(HeaderParameters.parse) ?? [:]
            let requested = disposition["filename*"].flatMap(HeaderParameters.decodeExtended) ?? disposition["filename"]
            let type = headers?["content-type"].map { $0.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? "" }
            let form: ReportUpload.Form
            switch type {
            case "application/json": form = .json
            case "text/csv": form = .csv
            default:
                let lower = requested?.lowercased() ?? ""
                if lower.hasSuffix(".json") { form = .json } else if lower.hasSuffix(".csv") { form = .csv } else {
                    let first = head.drop(while: { [0xEF, 0xBB, 0xBF, 0x20, 0x09, 0x0A, 0x0D].contains($0) }).first
                    form = first == UInt8(ascii: "{") ? .json : .csv
                }
            }
            var name = try ReportUpload.fileName(requested, form: form, store: store, what: "the filename of part \(number)")
            if requested == nil || requested == "" {
                name = name.replacingOccurrences(of: ".\(form.rawValue)", with: "-\(number).\(form.rawValue)")
            }
            files.append(IngestFile(path: path, displayName: name))
        } catch let error as APIError {
            problem = error
        } catch {
            problem = APIError.internalError
        }
        writer = nil
        headers = nil
        head = []
    }
}

/// `key=value; key="quoted value"` parameters of a header value such as `Content-Disposition` (keys
/// lower-cased; the first token, e.g. `form-data`, is skipped).
enum HeaderParameters {
    static func parse(_ value: String) -> [String: String] {
        var out: [String: String] = [:]
        var chars = Substring(value)
        // Skip the disposition type.
        if let semicolon = chars.firstIndex(of: ";") { chars = chars[chars.index(after: semicolon)...] } else { return out }
        while !chars.isEmpty {
            chars = chars.drop(while: { $0 == " " || $0 == "\t" || $0 == ";" })
            guard let eq = chars.firstIndex(of: "=") else { break }
            let key = chars[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            chars = chars[chars.index(after: eq)...].drop(while: { $0 == " " || $0 == "\t" })
            var value = ""
            if chars.first == "\"" {
                chars = chars.dropFirst()
                while let c = chars.first {
                    chars = chars.dropFirst()
                    if c == "\\", let next = chars.first { value.append(next); chars = chars.dropFirst(); continue }
                    if c == "\"" { break }
                    value.append(c)
                }
                chars = chars.drop(while: { $0 != ";" })
            } else {
                let end = chars.firstIndex(of: ";") ?? chars.endIndex
                value = chars[..<end].trimmingCharacters(in: .whitespaces)
                chars = chars[end...]
            }
            if !key.isEmpty, out[key] == nil { out[key] = value }
        }
        return out
    }

    /// RFC 5987 `UTF-8''percent%20encoded`.
    static func decodeExtended(_ value: String) -> String? {
        let pieces = value.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard pieces.count == 3, pieces[0].lowercased() == "utf-8" else { return nil }
        return String(pieces[2]).removingPercentEncoding
    }
}

/// A private file (0600, created exclusively) written in chunks, with its SHA-256.
private final class PartWriter {
    private var fd: Int32
    private var hasher = SHA256()

    init(path: String) throws {
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    deinit { if fd >= 0 { close(fd) } }

    func write(_ buffer: ByteBuffer) throws {
        try buffer.withUnsafeReadableBytes { raw in
            hasher.update(bufferPointer: raw)
            try writeAll(fd, raw)
        }
    }

    func finish() -> SHA256.Digest {
        if fd >= 0 { close(fd); fd = -1 }
        return hasher.finalize()
    }
}

extension SHA256.Digest {
    var hex: String { map { String(format: "%02x", $0) }.joined() }
}
