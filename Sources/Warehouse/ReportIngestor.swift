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
        public var version: Int
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

    /// A rejection of `file` before anything was read from it.
    public static func rejected(_ file: String, _ rejection: FileRejected) -> IngestResult {
        IngestResult(file: file, rejection: rejection, storeDays: [], visitRows: 0, prospectRows: 0, saleRows: 0)
    }
}

/// Loads daily reports (JSON or CSV) into the warehouse.
///
/// One transaction per file: the file is parsed and validated while it streams through `COPY` into
/// temporary staging tables, then checked and merged set-wise in SQL (visits replaced per store-day; cards
/// and orders upserted when newer; versions, submissions and the change log written). Any problem rolls
/// everything back, so a rejected file changes nothing. Store-days are locked with transaction-level
/// advisory locks in a fixed order: different stores load in parallel, the same store-day serializes.
///
/// Thread-safety: `Sendable`; share one per process.
public struct ReportIngestor: Sendable {
    public let pool: PostgresConnectionPool
    public let settings: IngestSettings
    private let logger: Logger

    public init(pool: PostgresConnectionPool, settings: IngestSettings, logger: Logger = Logger(label: "dealer-kpi.ingest")) {
        self.pool = pool
        self.settings = settings
        self.logger = logger
    }

    /// Ingests the file at `path`. `receivedAt` is the operator's statement of when it arrived (historical
    /// loads); nil means now, by the database server's clock. Rejections are returned, not thrown; thrown
    /// errors are infrastructure problems (database unreachable...), after which nothing was changed either.
    ///
    /// `inTransaction`, when given, runs inside the file's transaction after an accepted merge (e.g. to record
    /// an inbox receipt atomically with the data); if it throws, the file's changes roll back with it.
    ///
    /// `allowedStore`, when given, limits the file to that store's data: a file carrying any other store's
    /// data throws `ReportStoreNotAllowed` before anything is merged (nothing changes).
    public func ingest(path: String, displayName: String? = nil, receivedAt: Date? = nil, allowedStore: String? = nil,
                       inTransaction: (@Sendable (isolated PostgresConnection, IngestResult) throws -> Void)? = nil) async throws -> IngestResult {
        let name = displayName ?? (path as NSString).lastPathComponent
        let checksum = try FileChecksum.sha256(path: path)
        let work = IngestWork(path: path, name: name, checksum: checksum, receivedAt: receivedAt,
                              pii: PIIProtector(key: settings.piiKey), cardRules: ACardRules(blacklist: settings.phoneBlacklist),
                              allowedStore: allowedStore)
        var attempt = 0
        while true {
            attempt += 1
            do {
                let result = try await pool.withConnection { conn in
                    try await conn.withTransaction { conn in
                        let result = try work.run(conn)
                        try inTransaction?(conn, result)
                        return result
                    }
                }
                logger.info("ingested", metadata: [
                    "file": "\(name)", "store_days": "\(result.storeDays.count)",
                    "visits": "\(result.visitRows)", "prospects": "\(result.prospectRows)", "sales": "\(result.saleRows)",
                ])
                return result
            } catch let rejected as FileRejected {
                logger.notice("rejected", metadata: ["file": "\(name)", "issues": "\(rejected.issues.count)",
                                                     "rules": "\(Set(rejected.rules.map(\.rawValue)).sorted())"])
                return .rejected(name, rejected)
            } catch let error as PostgresError where attempt < 4 && (error.sqlState == .deadlockDetected || error.sqlState == .serializationFailure
                                                                     || IngestWork.isConcurrentVIN(error)) {
                logger.info("retrying after a transient conflict", metadata: ["file": "\(name)", "sqlstate": "\(error.sqlState!)"])
                try await Task.sleep(for: .milliseconds(50 * attempt))
            }
        }
    }
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
    let cardRules: ACardRules
    var allowedStore: String? = nil

    func run(_ conn: isolated PostgresConnection) throws -> IngestResult {
        let received = try receivedAt ?? conn.runQuery("SELECT now()")[0].decode(Date.self, column: 0)
        let receiptDay = try ReferenceSnapshot.businessDay(conn, of: received)
        let reference = try ReferenceSnapshot.load(conn, receiptDay: receiptDay)
        try conn.runScript(StagingWriter.createStagingTables)
        let staging = StagingWriter(pii: pii, cardRules: cardRules)

        // 1. Parse, validate and stream into staging.
        var sections: [(StoreDay, SectionKind, Int)] = []
        let form: String
        let encoding: TextEncoding
        if ReportIngestForm.isJSON(path: path, name: name) {
            let file = try ReportReader.read(path: path, fileName: name, reference: reference)
            form = "json"
            encoding = file.encoding
            for report in file.reports {
                let day = report.storeDay
                if let visits = report.visits {
                    _ = try conn.runCopyFrom(StagingWriter.copyVisits) { w in for v in visits { try staging.write(v, day, into: &w) } }
                    sections.append((day, .visits, visits.count))
                }
                if let prospects = report.prospects {
                    _ = try conn.runCopyFrom(StagingWriter.copyProspects) { w in for p in prospects { try staging.write(p, day, into: &w) } }
                    sections.append((day, .prospects, prospects.count))
                }
                if let sales = report.sales {
                    _ = try conn.runCopyFrom(StagingWriter.copySales) { w in for s in sales { try staging.write(s, day, into: &w) } }
                    sections.append((day, .sales, sales.count))
                }
            }
        } else {
            guard let kind = ReportReader.csvSectionKind(path: path) else {
                // Unreadable or no section header: let the reader say exactly why.
                let summary = ReportReader.streamCSV(path: path, fileName: name, reference: reference) { (_, _) throws(Never) in }
                throw summary.rejection ?? FileRejected(file: name, issues: [], isTruncated: false)
            }
            var summary: CSVStreamSummary?
            _ = try conn.runCopyFrom(StagingWriter.copyStatement(for: kind)) { w in
                summary = try ReportReader.streamCSV(path: path, fileName: name, reference: reference) { day, record in
                    try staging.write(record, day, into: &w)
                }
            }
            guard let summary else { throw FileRejected(file: name, issues: [], isTruncated: false) }
            if let rejection = summary.rejection { throw rejection }
            form = "csv_\(kind.rawValue)"
            encoding = summary.encoding ?? .utf8
            for (day, count) in summary.recordCounts { sections.append((day, kind, count)) }
        }
        if let allowedStore, let other = sections.first(where: { $0.0.store != allowedStore }) {
            throw ReportStoreNotAllowed(file: name, store: other.0.store, allowedStore: allowedStore)
        }
        if sections.isEmpty {
            throw FileRejected(file: name, issues: [ValidationIssue(file: name, location: .wholeFile, field: nil, value: nil,
                                                                    rule: .required, message: "the file carries no report section")], isTruncated: false)
        }
        _ = try conn.runCopyFrom("COPY stg_section FROM STDIN") { w in
            for (day, kind, count) in sections {
                try w.appendField(day.store)
                try w.appendField(day.businessDate.description)
                try w.appendField(kind.rawValue)
                w.appendField(count)
                try w.endRow()
            }
        }

        // Merges for sections the file does not carry would find empty staging tables: skip their
        // statements (a CSV file carries one kind: ~15 statements and two temporary tables saved per file).
        let kinds = Set(sections.map { $0.1 })

        // 2. Set-based checks that need the warehouse's state.
        if kinds.contains(.sales) { try checkVINs(conn) }

        // 3. Lock the store-days, then merge.
        _ = try conn.runQuery("""
            SELECT pg_advisory_xact_lock(hashtextextended(store_code || '/' || business_date::text, 7001))
            FROM (SELECT DISTINCT store_code, business_date FROM stg_section) d
            ORDER BY store_code, business_date
            """)
        let fileID = try conn.runQuery("""
            INSERT INTO core.ingested_file (file_name, checksum, form, encoding, received_at, row_count)
            VALUES (\(name), \(checksum), \(form), \(encoding.rawValue), \(received), (SELECT coalesce(sum(row_count), 0) FROM stg_section))
            RETURNING file_id
            """)[0].decode(Int.self, column: 0)
        let sequence = try conn.runQuery("SELECT nextval('core.state_sequence')")[0].decode(Int.self, column: 0)
        let versions = try IngestMerge.versionsAndSubmissions(conn, fileID: fileID, received: received, name: name, checksum: checksum)
        if kinds.contains(.visits) { try IngestMerge.visits(conn, received: received) }
        if kinds.contains(.prospects) { try IngestMerge.prospects(conn, received: received, sequence: sequence) }
        if kinds.contains(.sales) { try IngestMerge.sales(conn, received: received, sequence: sequence) }
        _ = try conn.runQuery("SELECT pg_notify('dealer_kpi_changes', \(name))")

        var counts: [SectionKind: Int] = [:]
        for (_, kind, n) in sections { counts[kind, default: 0] += n }
        return IngestResult(file: name, rejection: nil, storeDays: versions,
                            visitRows: counts[.visits] ?? 0, prospectRows: counts[.prospects] ?? 0, saleRows: counts[.sales] ?? 0,
                            receivedAt: received)
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
            issues.append(ValidationIssue(file: name, location: at, field: "vin", value: vin, rule: .duplicateId,
                                          message: "vin '\(vin)' already belongs to order '\(order)' of store \(store): a VIN is unique across all stores"))
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
