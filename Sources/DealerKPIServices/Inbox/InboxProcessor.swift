import DailyReport
public import Foundation
public import Logging
public import Postgres
public import Warehouse

/// The spool-directory inbox.
///
/// Writers write `NAME.tmp` (or any name starting with `.`) and rename it when complete; only complete
/// entries are picked up. An entry is one upload (contract 1.1: one receipt time, one transaction, all or
/// nothing): a report file; a directory renamed in as a whole (its regular files, sorted by name, not
/// recursive, hidden files ignored; `processed` and `rejected` are the inbox's own); or a `.zip` file
/// (extracted into a private temporary directory: no absolute or `..` paths, no symbolic links, at most 1,000
/// entries and 1 GiB unpacked; see `InboxUpload`). Each entry is processed in arrival order (its modification
/// time) and exactly once:
///
/// 1. **Claim**: rename `INBOX/NAME` to `INBOX/.work/<claim-uuid>__NAME` (atomic; another daemon sharing
///    the directory cannot claim it too). The receipt time is the file's modification time, which the
///    rename keeps, so a retry after a crash uses the same receipt time.
/// 2. **Ingest** all its files in one transaction that also inserts `ops.inbox_receipt(claim_id)` (one receipt
///    per entry). A rejection is recorded with its errors right after (it changed nothing else). A re-sent
///    identical report is a duplicate: accepted, nothing changes (logged, `core.report_duplicate`).
/// 3. **File away**: to `processed/YYYY-MM-DD/NAME` (receipt day, business time) or `rejected/NAME` with
///    `NAME.errors.json` beside it; a directory or zip moves as a whole.
///
/// After a crash at any point, claimed files in `.work/` are finished: a claim with a receipt is only
/// filed away (never ingested twice); one without is ingested again (its earlier attempt rolled back).
/// While the database is unreachable, files wait in `.work/` and are retried.
///
/// Thread-safety: use from one task at a time (the inbox service's loop).
public struct InboxProcessor: Sendable {
    public let directory: URL
    public let ingestor: ReportIngestor
    public let instance: String
    /// Time limits of one upload's transaction (`timeouts.inbox` of the configuration).
    public let timeouts: PostgresTimeouts?
    private let logger: Logger

    public init(directory: URL, ingestor: ReportIngestor, instance: String, timeouts: PostgresTimeouts? = nil,
                logger: Logger = Logger(label: "dealer-kpi.inbox")) {
        self.directory = directory
        self.ingestor = ingestor
        self.instance = instance
        self.timeouts = timeouts
        self.logger = logger
    }

    /// Names in the inbox that are its own directories, never uploads.
    static let reservedNames: Set<String> = ["processed", "rejected"]

    var workDirectory: URL { directory.appending(path: ".work") }
    var processedDirectory: URL { directory.appending(path: "processed") }
    var rejectedDirectory: URL { directory.appending(path: "rejected") }

    /// What one pass did.
    public struct Pass: Sendable {
        public var accepted: [String] = []
        /// Accepted uploads whose every store-day was a duplicate (also in `accepted`).
        public var duplicates: [String] = []
        public var rejected: [String] = []
        public var filedAwayAfterRecovery = 0
    }

    public func prepare() throws {
        let fm = FileManager.default
        for d in [directory, workDirectory, processedDirectory, rejectedDirectory] {
            try fm.createDirectory(at: d, withIntermediateDirectories: true)
        }
    }

    /// Finishes claimed files, then claims and processes every complete file, oldest first. Stops between
    /// files when `shouldStop` says so. Database errors propagate (the file stays claimed for a retry).
    public func runPass(shouldStop: @Sendable () -> Bool = { false }) async throws -> Pass {
        try prepare()
        var pass = Pass()
        for claimed in try claimedFiles() {
            if shouldStop() { return pass }
            try await finish(claimed, pass: &pass)
        }
        for candidate in try completeFiles() {
            if shouldStop() { return pass }
            guard let claimed = try claim(candidate) else { continue }
            try await finish(claimed, pass: &pass)
        }
        return pass
    }

    // MARK: - Steps

    struct Claimed {
        var url: URL
        var claimID: UUID
        var name: String
        var receivedAt: Date
    }

    /// Complete entries in the inbox (files, directories), in arrival order.
    func completeFiles() throws -> [(url: URL, modified: Date)] {
        let fm = FileManager.default
        let entries = try fm.contentsOfDirectory(at: directory, includingPropertiesForKeys: [.contentModificationDateKey])
        var out: [(URL, Date)] = []
        for url in entries {
            let name = url.lastPathComponent
            if InboxUpload.isIgnored(name) || Self.reservedNames.contains(name) { continue }
            var st = stat()
            // Not following symbolic links: a link is never an upload.
            guard lstat(url.path, &st) == 0 else { continue }
            let kind = st.st_mode & S_IFMT
            guard kind == S_IFREG || kind == S_IFDIR else { continue }
            let modified = Date(timeIntervalSince1970: TimeInterval(st.st_mtim.tv_sec) + TimeInterval(st.st_mtim.tv_nsec) / 1e9)
            out.append((url, modified))
        }
        return out.sorted { ($0.1, $0.0.lastPathComponent) < ($1.1, $1.0.lastPathComponent) }
    }

    /// Claims by renaming into `.work/`; nil when another process took it first.
    func claim(_ candidate: (url: URL, modified: Date)) throws -> Claimed? {
        let id = UUID()
        let name = candidate.url.lastPathComponent
        let target = workDirectory.appending(path: "\(id.uuidString.lowercased())__\(name)")
        guard rename(candidate.url.path, target.path) == 0 else {
            if errno == ENOENT { return nil }
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        return Claimed(url: target, claimID: id, name: name, receivedAt: candidate.modified)
    }

    /// Claimed files left by an earlier run or a failed attempt, oldest receipt first.
    func claimedFiles() throws -> [Claimed] {
        let entries = try FileManager.default.contentsOfDirectory(at: workDirectory, includingPropertiesForKeys: [.contentModificationDateKey])
        var out: [Claimed] = []
        for url in entries {
            let file = url.lastPathComponent
            guard let sep = file.range(of: "__"), let id = UUID(uuidString: String(file[..<sep.lowerBound])) else { continue }
            let modified = (try? url.resourceValues(forKeys: [.contentModificationDateKey]))?.contentModificationDate ?? Date()
            out.append(Claimed(url: url, claimID: id, name: String(file[sep.upperBound...]), receivedAt: modified))
        }
        return out.sorted { ($0.receivedAt, $0.name) < ($1.receivedAt, $1.name) }
    }

    private func finish(_ claimed: Claimed, pass: inout Pass) async throws {
        // Another daemon may be working on this claim: a lock on the file tells.
        // O_CLOEXEC: a process spawned while the lock is held would inherit the descriptor, and with it the
        // lock, for its whole life (seen in CI: a PostgreSQL server started by another test kept a claim locked,
        // and the file waited forever).
        let fd = open(claimed.url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return } // filed away by someone else meanwhile
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return }

        if let earlier = try await receipt(claimed.claimID) {
            try fileAway(claimed, outcome: earlier.outcome, errors: earlier.errors)
            pass.filedAwayAfterRecovery += 1
            logger.info("filed away a claim recorded before a restart", metadata: ["file": "\(claimed.name)", "outcome": "\(earlier.outcome)"])
            return
        }
        let claimID = claimed.claimID
        let name = claimed.name
        let instance = self.instance
        let started = ContinuousClock.now
        let result: UploadResult
        switch InboxUpload.prepare(path: claimed.url.path, name: name) {
        case .rejected(let rejection):
            // Not readable as an upload (an empty directory, an unsafe or damaged zip): nothing was ingested.
            IngestMetrics.recordFile(source: "inbox", accepted: false, duration: ContinuousClock.now - started, rows: 0,
                                     rejectedRules: rejection.rules.map(\.rawValue))
            try await recordRejection(claimed, errors: InboxErrorFile.json(rejection))
            pass.rejected.append(name)
            return
        case .files(let files, let cleanup):
            defer { if let cleanup { try? FileManager.default.removeItem(atPath: cleanup) } }
            result = try await ingestor.ingest(upload: files, receivedAt: claimed.receivedAt, timeouts: timeouts) { conn, _ in
                _ = try conn.runQuery("""
                    INSERT INTO ops.inbox_receipt (claim_id, file_name, received_at, outcome, instance)
                    VALUES (\(claimID), \(name), \(claimed.receivedAt), 'accepted', \(instance))
                    """)
            }
        }
        let duration = ContinuousClock.now - started
        for file in result.files {
            IngestMetrics.recordFile(source: "inbox", accepted: file.isAccepted, duration: duration,
                                     rows: file.visitRows + file.prospectRows + file.saleRows,
                                     rejectedRules: file.rejection.map { $0.rules.map(\.rawValue) } ?? [])
        }
        if !result.isAccepted {
            try await recordRejection(claimed, errors: InboxErrorFile.json(result, name: name))
            pass.rejected.append(name)
        } else {
            let duplicates = result.storeDays.filter(\.duplicate)
            IngestMetrics.recordDuplicates(source: "inbox", storeDays: duplicates.count)
            if !duplicates.isEmpty {
                logger.info(result.files.allSatisfy(\.isDuplicate) ? "inbox upload was a duplicate; nothing changed" : "inbox upload carried duplicate store-days",
                            metadata: ["file": "\(name)",
                                       "duplicate_store_days": "\(duplicates.map { "\($0.store) \($0.businessDate) v\($0.version)" })"])
            }
            try fileAway(claimed, outcome: "accepted", errors: nil)
            pass.accepted.append(name)
            if result.files.allSatisfy(\.isDuplicate) { pass.duplicates.append(name) }
        }
    }

    private var pool: PostgresConnectionPool { ingestor.pool }

    /// Records a rejected upload's receipt with its errors (it changed nothing else) and files it away.
    private func recordRejection(_ claimed: Claimed, errors: String) async throws {
        let claimID = claimed.claimID
        let name = claimed.name
        let instance = self.instance
        _ = try await pool.withConnection { conn in
            try await conn.execute("""
                INSERT INTO ops.inbox_receipt (claim_id, file_name, received_at, outcome, errors, instance)
                VALUES (\(claimID), \(name), \(claimed.receivedAt), 'rejected', \(errors)::jsonb, \(instance))
                ON CONFLICT (claim_id) DO NOTHING
                """)
        }
        try fileAway(claimed, outcome: "rejected", errors: errors)
    }

    private func receipt(_ id: UUID) async throws -> (outcome: String, errors: String?)? {
        let rows = try await pool.query("SELECT outcome, errors::text FROM ops.inbox_receipt WHERE claim_id = \(id)")
        guard let row = rows.first else { return nil }
        let (outcome, errors) = try row.decode((String, String?).self)
        return (outcome, errors)
    }

    private func fileAway(_ claimed: Claimed, outcome: String, errors: String?) throws {
        let fm = FileManager.default
        let targetDirectory: URL
        if outcome == "accepted" {
            targetDirectory = processedDirectory.appending(path: InboxDates.businessDay(claimed.receivedAt))
        } else {
            targetDirectory = rejectedDirectory
        }
        try fm.createDirectory(at: targetDirectory, withIntermediateDirectories: true)
        var target = targetDirectory.appending(path: claimed.name)
        if fm.fileExists(atPath: target.path) {
            // Same name seen before (a re-sent file): keep both.
            target = targetDirectory.appending(path: "\(claimed.claimID.uuidString.prefix(8).lowercased())__\(claimed.name)")
        }
        if outcome == "rejected", let errors {
            try Data(errors.utf8).write(to: URL(fileURLWithPath: target.path + ".errors.json"), options: .atomic)
        }
        guard rename(claimed.url.path, target.path) == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
    }
}

/// `NAME.errors.json`: the machine-readable error list of a rejected file or upload.
enum InboxErrorFile {
    /// One file: its errors; several (a directory or zip): every file's errors, and per file.
    static func json(_ upload: UploadResult, name: String) -> String {
        let rejections = upload.files.compactMap(\.rejection)
        if upload.files.count == 1, let only = rejections.first, only.file == name { return json(only) }
        let object: [String: Any] = [
            "file": name,
            "errors": rejections.flatMap { $0.issues.map(WarehouseCommands.issueObject) },
            "errors_truncated": rejections.contains(where: \.isTruncated),
            "files": upload.files.map { file -> [String: Any] in
                ["file": file.file, "errors": file.rejection?.issues.map(WarehouseCommands.issueObject) ?? [],
                 "errors_truncated": file.rejection?.isTruncated ?? false]
            },
        ]
        return text(object)
    }

    static func text(_ object: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func json(_ rejection: FileRejected) -> String {
        let object: [String: Any] = [
            "file": rejection.file,
            "errors": rejection.issues.map(WarehouseCommands.issueObject),
            "errors_truncated": rejection.isTruncated,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// The receipt day for `processed/YYYY-MM-DD/`, in the default business time zone.
enum InboxDates {
    static func businessDay(_ date: Date, timeZone: TimeZone = TimeZone(identifier: "Asia/Shanghai")!) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
    }
}
