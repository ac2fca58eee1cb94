public import CivilCalendar
import Crypto
public import DailyReport
public import Foundation
public import Logging
public import Postgres

/// The outcome of ingesting one file.
public struct IngestResult: Sendable {
    public struct StoreDayVersion: Sendable, Hashable {
        public var store: String
        public var businessDate: CalendarDate
        /// The version the file's data belongs to; for a duplicate, the version it repeated.
        public var version: Int
        /// True when everything the file carries for this store-day equals what was last delivered (contract
        /// 1.1): accepted, and nothing changed.
        public var duplicate: Bool

        public init(store: String, businessDate: CalendarDate, version: Int, duplicate: Bool = false) {
            self.store = store
            self.businessDate = businessDate
            self.version = version
            self.duplicate = duplicate
        }
    }

    public var file: String
    /// Nil when the file was accepted; otherwise every problem found (capped), and nothing was changed.
    public var rejection: FileRejected?
    public var storeDays: [StoreDayVersion]
    public var visitRows: Int
    public var prospectRows: Int
    public var saleRows: Int
    public var receivedAt: Date?

    public var isAccepted: Bool { rejection == nil }
    /// True when the file was accepted and every store-day in it was a duplicate: nothing changed.
    public var isDuplicate: Bool { isAccepted && !storeDays.isEmpty && storeDays.allSatisfy(\.duplicate) }

    /// A rejection of `file` before anything was read from it.
    public static func rejected(_ file: String, _ rejection: FileRejected) -> IngestResult {
        IngestResult(file: file, rejection: rejection, storeDays: [], visitRows: 0, prospectRows: 0, saleRows: 0)
    }
}

/// One file of an upload: where it is and the name to record and quote in errors (default: the path's last
/// component).
public struct IngestFile: Sendable, Hashable {
    public var path: String
    public var displayName: String

    public init(path: String, displayName: String? = nil) {
        self.path = path
        self.displayName = displayName ?? (path as NSString).lastPathComponent
    }
}

/// The outcome of one upload: the files it carried, in order. All or nothing (contract 1.1): either every
/// file was accepted and committed together, or none was stored, and every file says why (its own problems,
/// or `upload_rejected` for a good file of a rejected upload).
public struct UploadResult: Sendable {
    public var files: [IngestResult]
    /// The receipt time every file of the upload shares; nil when the upload was rejected.
    public var receivedAt: Date?

    public init(files: [IngestResult], receivedAt: Date?) {
        self.files = files
        self.receivedAt = receivedAt
    }

    public var isAccepted: Bool { files.allSatisfy(\.isAccepted) }
    /// Every store-day the upload touched, with its version or duplicate flag, once each (sorted).
    public var storeDays: [IngestResult.StoreDayVersion] {
        var latest: [StoreDay: IngestResult.StoreDayVersion] = [:]
        for file in files {
            for day in file.storeDays {
                let key = StoreDay(store: day.store, businessDate: day.businessDate)
                if var seen = latest[key] {
                    // A store-day is a duplicate for the upload only if it was one in every file that carried it.
                    seen.duplicate = seen.duplicate && day.duplicate
                    seen.version = max(seen.version, day.version)
                    latest[key] = seen
                } else {
                    latest[key] = day
                }
            }
        }
        return latest.sorted { $0.key < $1.key }.map(\.value)
    }
}

/// Loads daily reports (JSON or CSV) into the warehouse.
///
/// One transaction per upload (one file, or several that arrived together: contract 1.1, section 5): each
/// file is parsed and validated first (visits held in memory up to `IngestSettings.visitBufferRows`, cards and
/// orders streamed through `COPY` into the connection's staging tables), with a digest of every section's
/// content; then one call of `core.ingest_file_begin` locks the store-days, tells a duplicate (a retry) from a
/// completion and a correction, and writes the file, versions, submissions and change log and deletes the
/// visits being replaced; the visits are COPYed straight into `core.visit` and cards and orders merged
/// set-wise from staging (upserted when newer). Any problem rolls everything back, so a rejected upload
/// changes nothing; the files of a multi-file upload run under savepoints so that every file's problems are
/// reported. Store-days are locked with transaction-level advisory locks in a fixed order per file: different
/// stores load in parallel, the same store-day serializes (a deadlock between two multi-file uploads is
/// retried). Master data for validation is cached between files while its version token
/// (`core.reference_data_version`, bumped by triggers on every change) is unchanged.
/// See docs/ingest-performance.md and docs/contract.md.
///
/// Thread-safety: `Sendable`; share one per process.
public struct ReportIngestor: Sendable {
    public let pool: PostgresConnectionPool
    public let settings: IngestSettings
    private let logger: Logger
    /// Master data for the validators, kept between files while `core.reference_data_version` is unchanged.
    private let referenceCache = ReferenceCache()

    public init(pool: PostgresConnectionPool, settings: IngestSettings, logger: Logger = Logger(label: "dealer-kpi.ingest")) {
        self.pool = pool
        self.settings = settings
        self.logger = logger
    }

    /// Ingests the file at `path` as an upload of its own. `receivedAt` is the operator's statement of when
    /// it arrived (historical loads); nil means now, by the database server's clock. Rejections are returned,
    /// not thrown; thrown errors are infrastructure problems (database unreachable...), after which nothing
    /// was changed either.
    ///
    /// `inTransaction`, when given, runs inside the file's transaction after an accepted merge (e.g. to record
    /// an inbox receipt atomically with the data); if it throws, the file's changes roll back with it.
    ///
    /// `allowedStore`, when given, limits the file to that store's data: a file carrying any other store's
    /// data throws `ReportStoreNotAllowed` before anything is merged (nothing changes).
    public func ingest(path: String, displayName: String? = nil, receivedAt: Date? = nil, allowedStore: String? = nil,
                       timeouts: PostgresTimeouts? = nil,
                       inTransaction: (@Sendable (isolated PostgresConnection, IngestResult) throws -> Void)? = nil) async throws -> IngestResult {
        let upload = try await ingest(upload: [IngestFile(path: path, displayName: displayName)], receivedAt: receivedAt,
                                      allowedStore: allowedStore, timeouts: timeouts,
                                      inTransaction: inTransaction.map { hook in
                                          { @Sendable (conn: isolated PostgresConnection, result: UploadResult) throws in try hook(conn, result.files[0]) }
                                      })
        return upload.files[0]
    }

    /// Ingests the files of one upload in one transaction with one receipt time (contract 1.1): all are
    /// stored, or none. `receivedAt`, `allowedStore` and `inTransaction` as for a single file; `inTransaction`
    /// runs once, after every file was accepted. A file of another store than `allowedStore` throws
    /// `ReportStoreNotAllowed` and nothing is stored.
    ///
    /// `timeouts` bound the upload's transaction (`statement_timeout`, `lock_timeout`,
    /// `idle_in_transaction_session_timeout`); exceeding one rolls everything back and throws a
    /// `PostgresError` of kind `.timeout`.
    public func ingest(upload files: [IngestFile], receivedAt: Date? = nil, allowedStore: String? = nil,
                       timeouts: PostgresTimeouts? = nil,
                       inTransaction: (@Sendable (isolated PostgresConnection, UploadResult) throws -> Void)? = nil) async throws -> UploadResult {
        precondition(!files.isEmpty, "an upload carries at least one file")
        // Before anything is read: a huge file would be hashed in full for nothing, and a pipe or device read
        // forever. Such a file is rejected at once; the others are still checked, so the answer lists every
        // file's problems.
        var early: [Int: FileRejected] = [:]
        var works: [Int: IngestWork] = [:]
        for (index, file) in files.enumerated() {
            do {
                guard FileManager.default.isReadableFile(atPath: file.path) else {
                    throw FileRejected(file: file.displayName, issues: [
                        ValidationIssue(file: file.displayName, location: .wholeFile, field: nil, value: nil, rule: .io,
                                        message: "cannot read \(file.path)"),
                    ], isTruncated: false)
                }
                try ReportReader.checkSize(path: file.path, fileName: file.displayName)
                let checksum = try FileChecksum.sha256(path: file.path)
                works[index] = IngestWork(path: file.path, name: file.displayName, checksum: checksum, receivedAt: receivedAt,
                                          pii: PIIProtector(key: settings.piiKey), digestKey: settings.piiKey,
                                          cardRules: ACardRules(blacklist: settings.phoneBlacklist),
                                          allowedStore: allowedStore, visitBufferRows: settings.visitBufferRows,
                                          referenceCache: referenceCache)
            } catch let rejected as FileRejected {
                early[index] = rejected
            }
        }
        let worksInOrder = works.sorted { $0.key < $1.key }
        let earlyRejections = early
        let names = files.map(\.displayName)
        let isMultiFile = files.count > 1
        var attempt = 0
        while true {
            attempt += 1
            do {
                // Nothing readable (every file too large or unreadable): rejected without taking a connection.
                let outcome: UploadOutcome = worksInOrder.isEmpty ? .rejected(earlyRejections) : try await pool.withConnection { conn in
                    do {
                        return try await conn.withTransaction(timeouts: timeouts) { conn in
                            var results: [Int: IngestResult] = [:]
                            var rejections = earlyRejections
                            for (index, work) in worksInOrder {
                                if isMultiFile {
                                    // A savepoint per file: a rejected file is undone on its own, so the files after
                                    // it are still checked and the answer lists every problem.
                                    do {
                                        results[index] = try await conn.withTransaction { conn in
                                            let result = try work.run(conn)
                                            try conn.runScript(IngestMerge.resetStagingForNextFile)
                                            return result
                                        }
                                    } catch let rejected as FileRejected {
                                        rejections[index] = rejected
                                    }
                                } else {
                                    results[index] = try work.run(conn)
                                }
                            }
                            if !rejections.isEmpty { throw UploadRejected(rejections: rejections) }
                            let upload = UploadResult(files: (0..<names.count).map { results[$0]! },
                                                      receivedAt: results.values.first?.receivedAt)
                            try inTransaction?(conn, upload)
                            return .accepted(upload)
                        }
                    } catch let rejected as UploadRejected {
                        return .rejected(rejected.rejections)
                    } catch let rejected as FileRejected where !isMultiFile {
                        return .rejected([worksInOrder.first?.key ?? 0: rejected])
                    }
                }
                switch outcome {
                case .accepted(let upload):
                    for result in upload.files {
                        logger.info(result.isDuplicate ? "duplicate ingested, nothing changed" : "ingested", metadata: [
                            "file": "\(result.file)", "store_days": "\(result.storeDays.count)",
                            "duplicate_store_days": "\(result.storeDays.filter(\.duplicate).count)",
                            "visits": "\(result.visitRows)", "prospects": "\(result.prospectRows)", "sales": "\(result.saleRows)",
                        ])
                    }
                    return upload
                case .rejected(let rejections):
                    var results: [IngestResult] = []
                    for (index, name) in names.enumerated() {
                        if let rejected = rejections[index] {
                            logger.notice("rejected", metadata: ["file": "\(name)", "issues": "\(rejected.issues.count)",
                                                                 "rules": "\(Set(rejected.rules.map(\.rawValue)).sorted())"])
                            results.append(.rejected(name, rejected))
                        } else {
                            let others = rejections.count
                            results.append(.rejected(name, FileRejected(file: name, issues: [
                                ValidationIssue(file: name, location: .wholeFile, field: nil, value: nil, rule: .uploadRejected,
                                                message: "this file is valid, but \(others) other file(s) of the same upload were rejected; an upload is stored all or nothing"),
                            ], isTruncated: false)))
                        }
                    }
                    return UploadResult(files: results, receivedAt: nil)
                }
            } catch let error as PostgresError where attempt < 4 && (error.sqlState == .deadlockDetected || error.sqlState == .serializationFailure
                                                                     || IngestWork.isConcurrentVIN(error)) {
                logger.info("retrying after a transient conflict", metadata: ["files": "\(names)", "sqlstate": "\(error.sqlState!)"])
                try await Task.sleep(for: .milliseconds(50 * attempt))
            }
        }
    }
}

/// How an upload's transaction ended.
private enum UploadOutcome: Sendable {
    case accepted(UploadResult)
    case rejected([Int: FileRejected])
}

/// Thrown inside an upload's transaction to roll it back when any file was rejected.
private struct UploadRejected: Error, Sendable {
    var rejections: [Int: FileRejected]
}

/// Thrown by `ReportIngestor.ingest(allowedStore:)` when the file carries data of a store other than the
/// allowed one; nothing was changed.
public struct ReportStoreNotAllowed: Error, Sendable, CustomStringConvertible {
    public var file: String
    /// The first other store found in the file.
    public var store: String
    public var allowedStore: String
    public var description: String { "\(file) carries data of store \(store); only store \(allowedStore) is allowed" }
}

/// The work for one file, run inside its transaction on the connection's thread.
struct IngestWork: Sendable {
    let path: String
    let name: String
    let checksum: String
    let receivedAt: Date?
    let pii: PIIProtector
    /// The key of the section digests (the PII key: a card's content holds raw PII).
    let digestKey: [UInt8]
    let cardRules: ACardRules
    var allowedStore: String? = nil

    /// How many visit records of a file are held in memory between parsing and the COPY into core.visit;
    /// a larger file's visits are read from the file a second time instead (memory stays flat).
    var visitBufferRows: Int = IngestSettings.defaultVisitBufferRows
    /// The ingestor's cache of master data (shared by its copies).
    var referenceCache: ReferenceCache = ReferenceCache()

    func run(_ conn: isolated PostgresConnection) throws -> IngestResult {
        // One round trip for the receipt time, its business day, the master-data token and whether this
        // session's cached plans predate most of the warehouse (sql/007: a foreign-key check planned while
        // core.report_submission was tiny stays a sequential scan as it grows, for every row we load).
        let (received, receiptDay, token, plansOutdated) = try conn.runQuery("""
            SELECT coalesce(\(receivedAt)::timestamptz, now()), core.business_day(coalesce(\(receivedAt)::timestamptz, now())),
                   (SELECT token FROM core.reference_data_version), core.session_plans_outdated()
            """)[0].decode((Date, CalendarDate, UUID, Bool).self)
        if plansOutdated { try conn.runScript("DISCARD PLANS") }
        let reference = try referenceCache.reference(conn, token: token, receiptDay: receiptDay)
        let staging = StagingWriter(pii: pii, cardRules: cardRules)
        var digests = SectionDigests(key: digestKey)

        // 1. Parse and validate. Visits wait in memory (bounded) for their submission ids and then go
        //    straight into core.visit; cards and orders stream into the connection's staging tables for the
        //    set-based merge.
        var sections: [(StoreDay, SectionKind, Int)] = []
        var visits = VisitSource.none
        let form: String
        let encoding: TextEncoding
        if ReportIngestForm.isJSON(path: path, name: name) {
            let file = try ReportReader.read(path: path, fileName: name, reference: reference)
            form = "json"
            encoding = file.encoding
            var buffered = VisitBuffer(limit: .max)
            if file.reports.contains(where: { $0.prospects != nil || $0.sales != nil }) {
                try conn.runScript(StagingWriter.createStagingTables)
            }
            for report in file.reports {
                let day = report.storeDay
                if let records = report.visits {
                    buffered.declare(day)
                    digests.declare(day, .visits)
                    for v in records {
                        buffered.add(day, v)
                        digests.add(day, .visit(v))
                    }
                    sections.append((day, .visits, records.count))
                }
                if let prospects = report.prospects {
                    digests.declare(day, .prospects)
                    for p in prospects { digests.add(day, .prospect(p)) }
                    _ = try conn.runCopyFrom(StagingWriter.copyProspects) { w in for p in prospects { try staging.write(p, day, into: &w) } }
                    sections.append((day, .prospects, prospects.count))
                }
                if let sales = report.sales {
                    digests.declare(day, .sales)
                    for s in sales { digests.add(day, .sale(s)) }
                    _ = try conn.runCopyFrom(StagingWriter.copySales) { w in for s in sales { try staging.write(s, day, into: &w) } }
                    sections.append((day, .sales, sales.count))
                }
            }
            if !buffered.isEmpty { visits = .memory(buffered) }
        } else {
            guard let kind = ReportReader.csvSectionKind(path: path) else {
                // Unreadable or no section header: let the reader say exactly why.
                let summary = ReportReader.streamCSV(path: path, fileName: name, reference: reference) { (_, _) throws(Never) in }
                throw summary.rejection ?? FileRejected(file: name, issues: [], isTruncated: false)
            }
            let summary: CSVStreamSummary
            if kind == .visits {
                var buffered = VisitBuffer(limit: visitBufferRows)
                summary = ReportReader.streamCSV(path: path, fileName: name, reference: reference) { (day, record) throws(Never) in
                    if case .visit(let v) = record { buffered.add(day, v) }
                    digests.add(day, record)
                }
                if summary.rejection == nil {
                    visits = buffered.overflowed ? .rereadFile(summary.recordCounts) : .memory(buffered)
                }
            } else {
                try conn.runScript(StagingWriter.createStagingTables)
                var streamed: CSVStreamSummary?
                _ = try conn.runCopyFrom(StagingWriter.copyStatement(for: kind)) { w in
                    streamed = try ReportReader.streamCSV(path: path, fileName: name, reference: reference) { day, record in
                        try staging.write(record, day, into: &w)
                        digests.add(day, record)
                    }
                }
                guard let streamed else { throw FileRejected(file: name, issues: [], isTruncated: false) }
                summary = streamed
            }
            if let rejection = summary.rejection { throw rejection }
            form = "csv_\(kind.rawValue)"
            encoding = summary.encoding ?? .utf8
            for (day, count) in summary.recordCounts.sorted(by: { $0.key < $1.key }) { sections.append((day, kind, count)) }
        }
        if let allowedStore, let other = sections.first(where: { $0.0.store != allowedStore }) {
            throw ReportStoreNotAllowed(file: name, store: other.0.store, allowedStore: allowedStore)
        }
        if sections.isEmpty {
            throw FileRejected(file: name, issues: [ValidationIssue(file: name, location: .wholeFile, field: nil, value: nil,
                                                                    rule: .required, message: "the file carries no report section")], isTruncated: false)
        }
        // Merges for sections the file does not carry are skipped (a CSV file carries one kind).
        let kinds = Set(sections.map { $0.1 })

        // 2. Set-based checks that need the warehouse's state.
        if kinds.contains(.sales) { try checkVINs(conn) }

        // 3. Lock the store-days, record the file, versions, submissions and the report-level change log,
        //    and claim the visits (one round trip), then load the visits and merge cards and orders.
        //    A duplicate store-day (contract 1.1: everything it carries equals what was last delivered) gets no
        //    submission, takes no visits and merges no card or order: nothing changes.
        let begun = try IngestMerge.begin(conn, name: name, checksum: checksum, form: form, encoding: encoding, received: received,
                                          sections: sections.map { day, kind, rows in
                                              IngestMerge.Section(day: day, kind: kind, rows: rows, digest: digests.digest(day, kind)!)
                                          })
        try loadVisits(conn, visits, into: begun.visitSubmissions, reference: reference, staging: staging)
        if !begun.isDuplicateOnly {
            if kinds.contains(.prospects) || kinds.contains(.sales) { try IngestMerge.submissionsTable(conn, begun) }
            if kinds.contains(.prospects) { try IngestMerge.prospects(conn, received: received, sequence: begun.sequence) }
            if kinds.contains(.sales) { try IngestMerge.sales(conn, received: received, sequence: begun.sequence) }
        }

        var counts: [SectionKind: Int] = [:]
        for (_, kind, n) in sections { counts[kind, default: 0] += n }
        return IngestResult(file: name, rejection: nil, storeDays: begun.versions,
                            visitRows: counts[.visits] ?? 0, prospectRows: counts[.prospects] ?? 0, saleRows: counts[.sales] ?? 0,
                            receivedAt: received)
    }

    /// COPYs the visits of the store-days that take them (`submissions`: their submission ids) straight into
    /// core.visit: from memory, or by reading the file again when it was too large to hold.
    private func loadVisits(_ conn: isolated PostgresConnection, _ source: VisitSource, into submissions: [StoreDay: Int],
                            reference: ReferenceData, staging: StagingWriter) throws {
        guard !submissions.isEmpty else { return }
        switch source {
        case .none:
            return
        case .memory(let buffered):
            _ = try conn.runCopyFrom(StagingWriter.copyVisits) { w in
                for (day, records) in buffered.groups {
                    guard let submission = submissions[day] else { continue }
                    for v in records { try staging.write(v, day, submission: submission, into: &w) }
                }
            }
        case .rereadFile(let expected):
            var again: CSVStreamSummary?
            _ = try conn.runCopyFrom(StagingWriter.copyVisits) { w in
                again = try ReportReader.streamCSV(path: path, fileName: name, reference: reference) { day, record in
                    guard case .visit(let v) = record, let submission = submissions[day] else { return }
                    try staging.write(v, day, submission: submission, into: &w)
                }
                // The second reading must deliver exactly what the first validated; else abort the COPY.
                if again?.rejection != nil || again?.recordCounts != expected {
                    throw WarehouseError.fileChanged("\(name) changed while it was being ingested; nothing was stored")
                }
            }
        }
    }

    /// A VIN stored by a concurrent file after `checkVINs` ran (the unique index caught it): retrying the
    /// file re-runs the check, which then rejects it with `duplicate_id` like any other duplicate VIN.
    static func isConcurrentVIN(_ error: PostgresError) -> Bool {
        error.sqlState == .uniqueViolation && error.constraintName == "sales_order_vin_idx"
    }

    /// A VIN may belong to one order across all stores.
    private func checkVINs(_ conn: isolated PostgresConnection) throws {
        let rows = try conn.runQuery("""
            SELECT s.source_line, s.vin, o.store_code, o.order_id
            FROM stg_sale s
            JOIN core.sales_order o ON o.vin = s.vin
            WHERE (o.store_code, o.order_id) <> (s.store_code, s.order_id)
              AND NOT EXISTS (SELECT 1 FROM stg_sale x
                              WHERE x.store_code = o.store_code AND x.order_id = o.order_id AND x.vin IS DISTINCT FROM o.vin)
            ORDER BY 1 LIMIT 100
            """)
        guard !rows.isEmpty else { return }
        var issues: [ValidationIssue] = []
        for row in rows {
            let (location, vin, store, order) = try row.decode((String, String, String, String).self)
            // Staging keeps the record's location; a JSON issue points at the value, like the reader's ($.sales[0].vin).
            var at = InputLocation.parse(location)
            if case .jsonPath(let path) = at { at = .jsonPath(path + ".vin") }
            // An upload limited to one store (a store's token) must not learn another store's order ids or
            // which store sold the car: the operator's CLI gets the details, the store only the fact.
            let message = allowedStore == nil || allowedStore == store
                ? "vin '\(vin)' already belongs to order '\(order)' of store \(store): a VIN is unique across all stores"
                : "vin '\(vin)' already belongs to an order of another store: a VIN is unique across all stores"
            issues.append(ValidationIssue(file: name, location: at, field: "vin", value: vin, rule: .duplicateId, message: message))
        }
        throw FileRejected(file: name, issues: issues, isTruncated: rows.count >= 100)
    }
}

enum ReportIngestForm {
    static func isJSON(path: String, name: String) -> Bool {
        let lower = name.lowercased()
        if lower.hasSuffix(".json") { return true }
        if lower.hasSuffix(".csv") { return false }
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 256)) ?? Data()
        let firstNonSpace = head.drop(while: { [0xEF, 0xBB, 0xBF, 0x20, 0x09, 0x0A, 0x0D].contains($0) }).first
        return firstNonSpace == UInt8(ascii: "{")
    }
}

extension InputLocation {
    /// Inverse of `description` for the forms staging stores (`line N`, `$.path`).
    static func parse(_ text: String) -> InputLocation {
        if text.hasPrefix("line "), let n = Int(text.dropFirst(5)) { return .line(n) }
        if text.hasPrefix("$") { return .jsonPath(text) }
        return .wholeFile
    }
}

/// SHA-256 of a file, streamed.
enum FileChecksum {
    static func sha256(path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw WarehouseError.notFound("cannot open \(path)")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
