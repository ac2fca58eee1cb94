import DailyReport
public import Foundation
public import Logging
import Postgres
public import Warehouse

/// The spool-directory inbox.
///
/// Writers write `NAME.tmp` (or any name starting with `.`) and rename it when complete; only complete
/// files are picked up. Each file is processed in arrival order (its modification time) and exactly once:
///
/// 1. **Claim**: rename `INBOX/NAME` to `INBOX/.work/<claim-uuid>__NAME` (atomic; another daemon sharing
///    the directory cannot claim it too). The receipt time is the file's modification time, which the
///    rename keeps, so a retry after a crash uses the same receipt time.
/// 2. **Ingest** in one transaction that also inserts `ops.inbox_receipt(claim_id)`. A rejection is
///    recorded with its errors right after (it changed nothing else).
/// 3. **File away**: to `processed/YYYY-MM-DD/NAME` (receipt day, business time) or `rejected/NAME` with
///    `NAME.errors.json` beside it.
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
    private let logger: Logger

    public init(directory: URL, ingestor: ReportIngestor, instance: String, logger: Logger = Logger(label: "dealer-kpi.inbox")) {
        self.directory = directory
        self.ingestor = ingestor
        self.instance = instance
        self.logger = logger
    }

    var workDirectory: URL { directory.appending(path: ".work") }
    var processedDirectory: URL { directory.appending(path: "processed") }
    var rejectedDirectory: URL { directory.appending(path: "rejected") }

    /// What one pass did.
    public struct Pass: Sendable {
        public var accepted: [String] = []
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

    /// Complete files in the inbox, in arrival order.
    func completeFiles() throws -> [(url: URL, modified: Date)] {
        let fm = FileManager.default
        let entries = try fm.contentsOfDirectory(at: directory, includingPropertiesForKeys: [.isRegularFileKey, .contentModificationDateKey])
        var out: [(URL, Date)] = []
        for url in entries {
            let name = url.lastPathComponent
            if name.hasPrefix(".") || name.hasSuffix(".tmp") || name.hasSuffix(".part") { continue }
            let values = try? url.resourceValues(forKeys: [.isRegularFileKey, .contentModificationDateKey])
            guard values?.isRegularFile == true else { continue }
            out.append((url, values?.contentModificationDate ?? Date()))
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
        let result = try await ingestor.ingest(path: claimed.url.path, displayName: name, receivedAt: claimed.receivedAt) { conn, _ in
            _ = try conn.runQuery("""
                INSERT INTO ops.inbox_receipt (claim_id, file_name, received_at, outcome, instance)
                VALUES (\(claimID), \(name), \(claimed.receivedAt), 'accepted', \(instance))
                """)
        }
        if let rejection = result.rejection {
            let errors = InboxErrorFile.json(rejection)
            _ = try await pool.withConnection { conn in
                try await conn.execute("""
                    INSERT INTO ops.inbox_receipt (claim_id, file_name, received_at, outcome, errors, instance)
                    VALUES (\(claimID), \(name), \(claimed.receivedAt), 'rejected', \(errors)::jsonb, \(instance))
                    ON CONFLICT (claim_id) DO NOTHING
                    """)
            }
            try fileAway(claimed, outcome: "rejected", errors: errors)
            pass.rejected.append(name)
        } else {
            try fileAway(claimed, outcome: "accepted", errors: nil)
            pass.accepted.append(name)
        }
    }

    private var pool: PostgresConnectionPool { ingestor.pool }

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

/// `NAME.errors.json`: the machine-readable error list of a rejected file.
enum InboxErrorFile {
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
