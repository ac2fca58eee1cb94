import CLibPQ
import Foundation
public import Logging
import Synchronization

/// One connection to PostgreSQL: the sole owner of a libpq `PGconn`.
///
/// Ownership and threads: the actor runs on its own dedicated thread (`DedicatedThreadExecutor`), so the
/// `PGconn` is only ever used from that thread and libpq's blocking calls never occupy Swift's cooperative
/// pool. `PQfinish` runs when the connection is closed or released, whatever happened before. The actor is
/// `Sendable`; calls from several tasks are serialized by actor isolation, but a connection serves one
/// logical session: take it from a `PostgresConnectionPool` (`withConnection`) for exclusive use.
///
/// Cancellation: cancelling the task that awaits `query`, `execute`, `executeScript`, `copyFrom` or
/// `withTransaction` cancels the statement in flight on the server and the call fails with
/// `PostgresError.Kind.cancelled`; a cancelled task's later statements are refused before they are sent
/// (also the synchronous `run…` methods), and a transaction rolls back. The cancel request is sent from a
/// dedicated thread, never from the cancelling thread, and only while the statement it was meant for is
/// still in flight: a late cancel never reaches the next statement or the next borrower of the connection.
public actor PostgresConnection {
    private static let nextID = Atomic<Int>(1)
    private static let live = Atomic<Int>(0)

    /// Connection objects alive in this process (each owns a thread and, while open, a `PGconn`): for
    /// metrics and leak checks.
    public static var liveConnections: Int { live.load(ordering: .relaxed) }

    /// A process-unique number for logs.
    public nonisolated let id: Int
    private nonisolated let executor: DedicatedThreadExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// The libpq handle; nil once closed. Never leaves this actor.
    private var handle: OpaquePointer?
    /// The cancel side (handle, statement generations, the late-cancel fence). Internal for tests.
    nonisolated let canceller: QueryCanceller
    /// Receives server notices (NOTICE, WARNING) and logs them instead of libpq printing to stderr.
    /// Kept alive by the actor for as long as the handle that points to it.
    private let noticeSink: NoticeSink
    private var logger: Logger
    private var savepointCounter = 0

    private init(logger: Logger) {
        let id = PostgresConnection.nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        self.id = id
        self.executor = DedicatedThreadExecutor(name: "pg-conn-\(id)")
        var logger = logger
        logger[metadataKey: "pg.connection"] = "\(id)"
        self.logger = logger
        self.noticeSink = NoticeSink(logger: logger)
        self.canceller = QueryCanceller(logger: logger)
        PostgresConnection.live.wrappingAdd(1, ordering: .relaxed)
    }

    /// Opens a connection. Blocks only the connection's own thread while libpq connects.
    ///
    /// On failure the half-made handle is finished and the error says why (`.connectionFailed`; for a wrong
    /// password, SQLSTATE 28P01).
    public static func connect(_ configuration: PostgresConfiguration, logger: Logger = Logger(label: "dealer-kpi.postgres")) async throws(PostgresError) -> PostgresConnection {
        let connection = PostgresConnection(logger: logger)
        try await connection.open(configuration)
        return connection
    }

    isolated deinit {
        closeHandle()
        PostgresConnection.live.wrappingSubtract(1, ordering: .relaxed)
        executor.shutdown()
    }

    private func open(_ configuration: PostgresConfiguration) throws(PostgresError) {
        var pairs = configuration.defaults
        if let s = configuration.connectionString, !s.isEmpty {
            pairs.append(("dbname", s))
        }
        pairs += configuration.overrides
        let raw: OpaquePointer? = withCStringArrays(pairs.map(\.0), pairs.map(\.1)) { keys, values in
            PQconnectdbParams(keys, values, 1)
        }
        guard let raw else {
            throw PostgresError(kind: .connectionFailed, message: "libpq could not allocate a connection")
        }
        guard PQstatus(raw) == CONNECTION_OK else {
            let message = PostgresConnection.trimmedMessage(PQerrorMessage(raw))
            PQfinish(raw)
            throw PostgresConnection.classifyConnectFailure(message)
        }
        handle = raw
        canceller.install(raw)
        PQsetNoticeReceiver(raw, { context, result in
            guard let context, let result else { return }
            let sink = Unmanaged<NoticeSink>.fromOpaque(context).takeUnretainedValue()
            sink.receive(result)
        }, Unmanaged.passUnretained(noticeSink).toOpaque())
        do {
            // Not refused in a cancelled task: connecting is not cancellable either, and a pool may be
            // connecting on behalf of a cleanup.
            try runScript("SET TimeZone TO 'UTC'; SET DateStyle TO 'ISO, YMD'; SET IntervalStyle TO 'iso_8601'; SET bytea_output TO 'hex'; SET extra_float_digits TO 3",
                          mode: .cleanup)
        } catch {
            closeHandle()
            throw error
        }
        logger.debug("connected", metadata: ["pg.server_version": "\(PQserverVersion(raw))"])
    }

    static func classifyConnectFailure(_ message: String) -> PostgresError {
        var e = PostgresError(kind: .connectionFailed, message: message)
        if message.contains("password authentication failed") || message.contains("no password supplied") {
            e.sqlState = .invalidPassword
        } else if message.contains("does not exist") && message.contains("database") {
            e.sqlState = .invalidCatalogName
        } else if message.contains("role") && message.contains("does not exist") {
            e.sqlState = .invalidAuthorizationSpecification
        } else if message.contains("the database system is starting up") || message.contains("the database system is shutting down") {
            e.sqlState = .cannotConnectNow
        }
        return e
    }

    /// Closes the connection now. Later calls fail with `.connectionLost`. Idempotent.
    public func close() {
        closeHandle()
    }

    private func closeHandle() {
        canceller.install(nil)
        if let h = handle {
            PQfinish(h)
            handle = nil
        }
    }

    // MARK: - State

    /// True when the connection is open and the server has not hung up.
    public var isOpen: Bool { handle.map { PQstatus($0) == CONNECTION_OK } ?? false }

    /// Checks, without a round trip, that the socket is still good and no transaction is left open.
    /// Reads anything the server sent unprompted (e.g. a shutdown notice), which is how a connection whose
    /// server restarted is recognised before it is handed out.
    public func isUsableForNewWork() -> Bool {
        guard let h = handle, PQstatus(h) == CONNECTION_OK else { return false }
        let fd = PQsocket(h)
        guard fd >= 0 else { return false }
        // A server that shut down sent a FATAL notice and then closed: the first read consumes the notice,
        // a further one sees end-of-file and marks the connection bad.
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        var rounds = 0
        while rounds < 4, poll(&p, 1, 0) > 0 {
            if PQconsumeInput(h) == 0 { return false }
            _ = PQisBusy(h) // parses what arrived (notices, notifications)
            if PQstatus(h) != CONNECTION_OK { return false }
            rounds += 1
        }
        return PQstatus(h) == CONNECTION_OK && PQtransactionStatus(h) == PQTRANS_IDLE
    }

    /// Whether a transaction block is open (or failed and awaiting rollback).
    public var isInTransaction: Bool {
        guard let h = handle else { return false }
        let s = PQtransactionStatus(h)
        return s == PQTRANS_INTRANS || s == PQTRANS_INERROR
    }

    public var serverVersion: Int { handle.map { Int(PQserverVersion($0)) } ?? 0 }

    private func requireHandle() throws(PostgresError) -> OpaquePointer {
        guard let h = handle else {
            throw PostgresError(kind: .connectionLost, message: "the connection is closed")
        }
        return h
    }

    // MARK: - Statements

    /// Runs one statement with its parameters (extended protocol) and returns all rows.
    ///
    /// Cancelling the awaiting task cancels the statement on the server (`.cancelled`).
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        try await withServerCancellation { try self.runQuery(query) }
    }

    /// Runs one statement and returns the number of rows it affected.
    @discardableResult
    public func execute(_ query: PostgresQuery) async throws -> Int {
        try await self.query(query).affectedRows
    }

    /// Runs a script of several statements without parameters (simple query protocol), e.g. a migration.
    public func executeScript(_ sql: String) async throws {
        try await withServerCancellation { try self.runScript(sql) }
    }

    /// Synchronous form of `query` for code already isolated to this connection (inside `withTransaction`).
    ///
    /// Refuses with `.cancelled`, without sending anything, when the current task is cancelled. Inside
    /// `withTransaction` (or when called from `query`) a statement in flight is cancelled on the server when
    /// the task is cancelled.
    public func runQuery(_ query: PostgresQuery) throws(PostgresError) -> PostgresRows {
        try runQuery(query, mode: .normal)
    }

    /// Synchronous form of `executeScript`; refuses in a cancelled task like `runQuery`.
    public func runScript(_ sql: String) throws(PostgresError) {
        try runScript(sql, mode: .normal)
    }

    /// How a statement relates to cancellation.
    enum StatementMode {
        /// Refused when the task is cancelled; cancelled on the server by a cancellation handler.
        case normal
        /// The connection's own cleanup (ROLLBACK, RELEASE, session set-up): sent even in a cancelled task
        /// and never the target of a cancel request.
        case cleanup
    }

    func runQuery(_ query: PostgresQuery, mode: StatementMode) throws(PostgresError) -> PostgresRows {
        let h = try requireHandle()
        return try statement(mode, query: query.sql) { () throws(PostgresError) -> PostgresRows in
            let sent = try withParameters(query) { n, types, values, lengths, formats in
                PQsendQueryParams(h, query.sql, n, types, values, lengths, formats, 0)
            }
            guard sent == 1 else { throw connectionError(h, query: query.sql) }
            return try collectResults(h, query: query.sql)
        }
    }

    func runScript(_ sql: String, mode: StatementMode) throws(PostgresError) {
        let h = try requireHandle()
        guard !sql.utf8.contains(0) else {
            throw PostgresError(kind: .misuse, message: "SQL text contains a NUL character")
        }
        try statement(mode, query: nil) { () throws(PostgresError) in
            guard PQsendQuery(h, sql) == 1 else { throw connectionError(h, query: nil) }
            _ = try collectResults(h, query: nil)
        }
    }

    /// Brackets one statement (from sending it to its last result) for the cancel fence, refuses it in a
    /// cancelled task (`.normal`), and classifies cancellations and server timeouts.
    private func statement<R>(_ mode: StatementMode, query: String?, _ body: () throws(PostgresError) -> R) throws(PostgresError) -> R {
        if canceller.statementStarts(cancellable: mode == .normal) {
            _ = canceller.statementEnds()
            var e = PostgresError(kind: .cancelled, message: "the task was cancelled; the statement was not sent")
            e.query = query
            throw e
        }
        let result: R
        do {
            result = try body()
        } catch {
            let cancelledByUs = canceller.statementEnds()
            throw PostgresConnection.classify(error, cancelledByUs: cancelledByUs)
        }
        _ = canceller.statementEnds()
        return result
    }

    /// Our cancel becomes `.cancelled`; the server's own time limits become `.timeout` (SQLSTATE kept).
    static func classify(_ error: PostgresError, cancelledByUs: Bool) -> PostgresError {
        var e = error
        guard e.kind == .server || e.kind == .connectionLost, let state = e.sqlState else { return e }
        switch state {
        case .queryCanceled where cancelledByUs:
            e.kind = .cancelled
        case .queryCanceled:
            // Not our cancel: statement_timeout (the usual case), or another session's pg_cancel_backend.
            // The server's message says which, but it may be translated (lc_messages), so we do not parse it.
            e.kind = .timeout
            e.message = "the server cancelled the statement (statement_timeout, or pg_cancel_backend from another session): \(e.message)"
        case .lockNotAvailable:
            e.kind = .timeout
            e.message = "a lock was not granted in time (lock_timeout, or NOWAIT): \(e.message)"
        case .idleInTransactionSessionTimeout:
            e.kind = .timeout
            e.message = "the transaction stayed idle longer than idle_in_transaction_session_timeout and the server closed the session: \(e.message)"
        default:
            break
        }
        return e
    }

    /// Runs `operation` with a cancellation handler that cancels, on the server, whichever of this
    /// connection's statements is in flight when the task is cancelled. The handler only enqueues a request
    /// for the cancel thread; it never blocks the cancelling thread.
    private func withServerCancellation<T>(_ operation: () async throws -> T) async throws -> T {
        try await withTaskCancellationHandler {
            try await operation()
        } onCancel: { [canceller] in
            canceller.requestCancel()
        }
    }

    /// Drains every result of the statement in flight (to the terminating NULL), freeing each one.
    /// Returns the last data-carrying result; throws the first error.
    private func collectResults(_ h: OpaquePointer, query: String?) throws(PostgresError) -> PostgresRows {
        var firstError: PostgresError?
        var last: PostgresRows?
        while let res = PQgetResult(h) {
            defer { PQclear(res) }
            switch PQresultStatus(res) {
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
                if firstError == nil { last = PostgresConnection.makeRows(res) }
            case PGRES_COPY_IN:
                // A COPY FROM STDIN sent through the wrong method: end it so the connection stays usable.
                PQputCopyEnd(h, "COPY FROM STDIN must be run with copyFrom(_:_:)")
                if firstError == nil {
                    firstError = PostgresError(kind: .misuse, message: "COPY FROM STDIN must be run with copyFrom(_:_:)")
                }
            case PGRES_COPY_OUT:
                var buffer: UnsafeMutablePointer<CChar>?
                while PQgetCopyData(h, &buffer, 0) > 0 { PQfreemem(buffer) }
                if firstError == nil {
                    firstError = PostgresError(kind: .misuse, message: "COPY TO STDOUT is not supported by query()")
                }
            default:
                if firstError == nil { firstError = serverError(res, h, query: query) }
            }
        }
        if PQstatus(h) == CONNECTION_BAD {
            let lost = firstError.flatMap { $0.sqlState != nil ? $0 : nil }
                ?? connectionError(h, query: query)
            logger.warning("connection lost", metadata: ["error": "\(lost)"])
            closeHandle()
            var e = lost
            if e.kind != .server || e.isConnectionProblem { e.kind = .connectionLost }
            throw e
        }
        if let firstError { throw firstError }
        guard let last else {
            throw PostgresError(kind: .protocolViolation, message: "the server returned no result")
        }
        return last
    }

    private func connectionError(_ h: OpaquePointer, query: String?) -> PostgresError {
        var e = PostgresError(
            kind: PQstatus(h) == CONNECTION_BAD ? .connectionLost : .protocolViolation,
            message: PostgresConnection.trimmedMessage(PQerrorMessage(h))
        )
        e.query = query
        return e
    }

    private func serverError(_ res: OpaquePointer, _ h: OpaquePointer, query: String?) -> PostgresError {
        func field(_ code: UInt8) -> String? {
            PQresultErrorField(res, Int32(code)).map { String(cString: $0) }
        }
        let message = field(UInt8(ascii: "M")) ?? PostgresConnection.trimmedMessage(PQresultErrorMessage(res))
        var e = PostgresError(kind: .server, message: message.isEmpty ? PostgresConnection.trimmedMessage(PQerrorMessage(h)) : message)
        e.sqlState = field(UInt8(ascii: "C")).map(SQLState.init(rawValue:))
        e.severity = field(UInt8(ascii: "V")) ?? field(UInt8(ascii: "S"))
        e.detail = field(UInt8(ascii: "D"))
        e.hint = field(UInt8(ascii: "H"))
        e.schemaName = field(UInt8(ascii: "s"))
        e.tableName = field(UInt8(ascii: "t"))
        e.columnName = field(UInt8(ascii: "c"))
        e.dataTypeName = field(UInt8(ascii: "d"))
        e.constraintName = field(UInt8(ascii: "n"))
        e.query = query
        if e.sqlState == nil, PQstatus(h) == CONNECTION_BAD { e.kind = .connectionLost }
        return e
    }

    static func trimmedMessage(_ p: UnsafePointer<CChar>?) -> String {
        guard let p else { return "unknown libpq error" }
        return String(cString: p).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func makeRows(_ res: OpaquePointer) -> PostgresRows {
        let rowCount = Int(PQntuples(res))
        let columnCount = Int(PQnfields(res))
        var columns: [PostgresRows.Column] = []
        columns.reserveCapacity(columnCount)
        for c in 0..<columnCount {
            columns.append(.init(name: String(cString: PQfname(res, Int32(c))), dataType: PostgresDataType(PQftype(res, Int32(c)))))
        }
        var total = 0
        for r in 0..<rowCount { for c in 0..<columnCount { total += Int(PQgetlength(res, Int32(r), Int32(c))) } }
        var storage = [UInt8]()
        storage.reserveCapacity(total)
        var cells: [(Int32, Int32)] = []
        cells.reserveCapacity(rowCount * columnCount)
        for r in 0..<rowCount {
            for c in 0..<columnCount {
                if PQgetisnull(res, Int32(r), Int32(c)) == 1 {
                    cells.append((0, -1))
                    continue
                }
                let len = Int(PQgetlength(res, Int32(r), Int32(c)))
                let start = storage.count
                if let p = PQgetvalue(res, Int32(r), Int32(c)) {
                    p.withMemoryRebound(to: UInt8.self, capacity: len) { storage.append(contentsOf: UnsafeBufferPointer(start: $0, count: len)) }
                }
                cells.append((Int32(start), Int32(len)))
            }
        }
        let tag = PQcmdStatus(res).map { String(cString: $0) } ?? ""
        let affected = PQcmdTuples(res).flatMap { Int(String(cString: $0)) } ?? 0
        return PostgresRows(columns: columns, commandTag: tag, affectedRows: affected, storage: storage, cells: cells, rowCount: rowCount)
    }

    // MARK: - Transactions

    /// Runs `body` in a transaction: commits when it returns, rolls back when it throws and rethrows the
    /// original error (a failing rollback never masks it). Nested calls use savepoints.
    ///
    /// `body` runs isolated to this connection (on its thread), so it may call the synchronous `run…`
    /// methods without hopping.
    ///
    /// Cancellation: while the transaction runs, cancelling the task cancels the statement in flight on the
    /// server (`.cancelled`), later statements are refused, the COMMIT is refused, and the transaction rolls
    /// back; the ROLLBACK itself is sent although the task is cancelled.
    ///
    /// `timeouts` are set with `SET LOCAL` in the same round trip as `BEGIN`, so they end with the
    /// transaction. (In a nested call they are set right after the `SAVEPOINT` and last until the outer
    /// transaction ends, unless the savepoint is rolled back: that is how `SET LOCAL` works.)
    public func withTransaction<T: Sendable>(
        timeouts: PostgresTimeouts? = nil,
        _ body: @Sendable (isolated PostgresConnection) async throws -> T
    ) async throws -> T {
        let h = try requireHandle()
        let nested = PQtransactionStatus(h) != PQTRANS_IDLE
        let settings = try timeouts?.setLocalStatements() ?? ""
        savepointCounter += 1
        let savepoint = "dkpi_sp_\(savepointCounter)"
        return try await withServerCancellation {
            if nested {
                try runScript("SAVEPOINT \(savepoint)")
            } else {
                do {
                    try runScript("BEGIN" + settings)
                } catch {
                    // BEGIN ran but a SET LOCAL failed, or the script was cancelled: end what was begun.
                    if let h = handle, PQtransactionStatus(h) != PQTRANS_IDLE { try? runScript("ROLLBACK", mode: .cleanup) }
                    throw error
                }
            }
            do {
                if nested, !settings.isEmpty { try runScript(String(settings.dropFirst(2))) }
                let result = try await body(self)
                try runScript(nested ? "RELEASE SAVEPOINT \(savepoint)" : "COMMIT")
                return result
            } catch {
                if handle != nil {
                    do {
                        try runScript(nested ? "ROLLBACK TO SAVEPOINT \(savepoint); RELEASE SAVEPOINT \(savepoint)" : "ROLLBACK",
                                      mode: .cleanup)
                    } catch let rollbackError {
                        logger.warning("rollback failed after an error", metadata: ["error": "\(rollbackError)"])
                    }
                }
                throw error
            }
        }
    }

    /// For the pool, when a borrower gives the connection back: rolls back a transaction it left open, even
    /// if the borrower's task was cancelled. Returns false when the connection cannot be made clean (the
    /// pool then closes it).
    func resetForReuse() -> Bool {
        guard let h = handle, PQstatus(h) == CONNECTION_OK else { return false }
        if PQtransactionStatus(h) != PQTRANS_IDLE {
            do {
                try runScript("ROLLBACK", mode: .cleanup)
            } catch {
                logger.warning("could not roll back a transaction left open by a borrower; closing", metadata: ["error": "\(error)"])
                closeHandle()
                return false
            }
        }
        guard let h = handle, PQstatus(h) == CONNECTION_OK, PQtransactionStatus(h) == PQTRANS_IDLE else { return false }
        return true
    }

    // MARK: - COPY FROM STDIN

    /// Streams rows into `COPY ... FROM STDIN` (text format). `producer` writes rows through the writer;
    /// it runs on this connection's thread and may do blocking work (e.g. read a file).
    ///
    /// If `producer` throws, the COPY is ended with an error so the server discards everything sent, every
    /// pending result is drained, and the producer's error is rethrown: nothing is left half-copied and the
    /// connection stays usable. Returns the number of rows the server stored.
    public func copyFrom(_ statement: PostgresQuery, _ producer: sending (inout PostgresCopyWriter) throws -> Void) async throws -> Int {
        try await withServerCancellation { try self.runCopyFrom(statement, producer) }
    }

    /// Synchronous form of `copyFrom` for code isolated to this connection; refuses in a cancelled task
    /// like `runQuery`.
    public func runCopyFrom(_ statement: PostgresQuery, _ producer: (inout PostgresCopyWriter) throws -> Void) throws -> Int {
        let h = try requireHandle()
        guard statement.bindings.isEmpty else {
            throw PostgresError(kind: .misuse, message: "COPY cannot take bound parameters")
        }
        if canceller.statementStarts(cancellable: true) {
            _ = canceller.statementEnds()
            var e = PostgresError(kind: .cancelled, message: "the task was cancelled; the statement was not sent")
            e.query = statement.sql
            throw e
        }
        do {
            let rows = try copyInFlight(h, statement, producer)
            _ = canceller.statementEnds()
            return rows
        } catch let error as PostgresError {
            throw PostgresConnection.classify(error, cancelledByUs: canceller.statementEnds())
        } catch {
            _ = canceller.statementEnds()
            throw error
        }
    }

    private func copyInFlight(_ h: OpaquePointer, _ statement: PostgresQuery, _ producer: (inout PostgresCopyWriter) throws -> Void) throws -> Int {
        guard PQsendQuery(h, statement.sql) == 1 else { throw connectionError(h, query: statement.sql) }
        guard let first = PQgetResult(h) else {
            throw PostgresError(kind: .protocolViolation, message: "no result for COPY")
        }
        let status = PQresultStatus(first)
        if status != PGRES_COPY_IN {
            let e = status == PGRES_FATAL_ERROR ? serverError(first, h, query: statement.sql)
                : PostgresError(kind: .misuse, message: "statement is not COPY ... FROM STDIN")
            PQclear(first)
            _ = try? collectResults(h, query: statement.sql)
            throw e
        }
        PQclear(first)

        var writer = PostgresCopyWriter(handle: h)
        do {
            try producer(&writer)
            try writer.flush()
        } catch {
            // Abort: the server rolls back the COPY; then drain to NULL so the connection is reusable.
            let reason = "COPY aborted by the client: \(type(of: error))"
            _ = PQputCopyEnd(h, reason)
            do {
                _ = try collectResults(h, query: statement.sql)
            } catch let drained where drained.kind == .connectionLost {
                throw drained
            } catch {
                // Expected: the server reports the abort (57014); the producer's error is the real one.
            }
            throw error
        }
        guard PQputCopyEnd(h, nil) == 1 else { throw connectionError(h, query: statement.sql) }
        let result = try collectResults(h, query: statement.sql)
        return result.affectedRows
    }

    // MARK: - LISTEN / NOTIFY

    /// Subscribes this connection to a channel.
    public func listen(_ channel: String) async throws {
        try await executeScript("LISTEN \(PostgresQuery.quoteIdentifier(channel))")
    }

    /// Sends a notification (`pg_notify`), delivered when the surrounding transaction commits.
    public func notify(_ channel: String, payload: String = "") async throws {
        try await execute("SELECT pg_notify(\(channel), \(payload))")
    }

    /// Waits up to `timeout` for notifications on the channels this connection listens to and returns those
    /// that arrived (possibly none). Throws `.connectionLost` when the server has gone.
    public func waitForNotifications(timeout: Duration) throws(PostgresError) -> [PostgresNotification] {
        let h = try requireHandle()
        var out = drainNotifications(h)
        if !out.isEmpty { return out }
        let fd = PQsocket(h)
        guard fd >= 0 else { throw connectionError(h, query: nil) }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ms = Int32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let ready = poll(&p, 1, ms)
        if ready > 0 {
            if PQconsumeInput(h) == 0 || PQstatus(h) == CONNECTION_BAD {
                let e = connectionError(h, query: nil)
                closeHandle()
                var lost = e
                lost.kind = .connectionLost
                throw lost
            }
            out = drainNotifications(h)
        }
        return out
    }

    private func drainNotifications(_ h: OpaquePointer) -> [PostgresNotification] {
        var out: [PostgresNotification] = []
        while let n = PQnotifies(h) {
            out.append(PostgresNotification(
                channel: String(cString: n.pointee.relname),
                payload: String(cString: n.pointee.extra),
                processID: Int(n.pointee.be_pid)
            ))
            PQfreemem(n)
        }
        return out
    }
}

/// A notification received through LISTEN.
public struct PostgresNotification: Sendable, Hashable {
    public var channel: String
    public var payload: String
    /// The server process that sent it.
    public var processID: Int
}

/// Turns server notices into log records. Called by libpq on the connection's thread only.
final class NoticeSink {
    let logger: Logger
    init(logger: Logger) { self.logger = logger }

    func receive(_ result: OpaquePointer) {
        let severity = PQresultErrorField(result, Int32(UInt8(ascii: "V"))).map { String(cString: $0) } ?? "NOTICE"
        let message = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) } ?? ""
        let level: Logger.Level = severity == "WARNING" ? .warning : .debug
        logger.log(level: level, "server \(severity.lowercased()): \(message)")
    }
}

/// Calls `body` with NUL-terminated C arrays for PQconnectdbParams (each NULL-terminated).
private func withCStringArrays<R>(_ keys: [String], _ values: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let k = keys.map { strdup($0) }
    let v = values.map { strdup($0) }
    defer {
        k.forEach { free($0) }
        v.forEach { free($0) }
    }
    let kp: [UnsafePointer<CChar>?] = k.map { $0.map { UnsafePointer($0) } } + [nil]
    let vp: [UnsafePointer<CChar>?] = v.map { $0.map { UnsafePointer($0) } } + [nil]
    return kp.withUnsafeBufferPointer { kb in vp.withUnsafeBufferPointer { vb in body(kb.baseAddress!, vb.baseAddress!) } }
}

/// Lays the bound values out in one buffer and calls `body` with libpq's parallel parameter arrays.
private func withParameters<R>(
    _ query: PostgresQuery,
    _ body: (Int32, UnsafePointer<Oid>?, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?) -> R
) throws(PostgresError) -> R {
    var buffer: [UInt8] = []
    var offsets: [Int] = []
    var lengths: [Int32] = []
    var formats: [Int32] = []
    offsets.reserveCapacity(query.bindings.count)
    for binding in query.bindings {
        switch binding {
        case .null:
            offsets.append(-1); lengths.append(0); formats.append(0)
        case .text(let s):
            let start = buffer.count
            buffer.append(contentsOf: s.utf8)
            if buffer[start...].contains(0) {
                throw PostgresError(kind: .misuse, message: "a text parameter contains a NUL character, which PostgreSQL text cannot hold")
            }
            lengths.append(Int32(buffer.count - start))
            buffer.append(0)
            offsets.append(start); formats.append(0)
        case .binary(let b):
            offsets.append(buffer.count); lengths.append(Int32(b.count)); formats.append(1)
            buffer.append(contentsOf: b)
            buffer.append(0)
        }
    }
    let types: [Oid] = query.types.map { $0.rawValue }
    return buffer.withUnsafeBufferPointer { base in
        let pointers: [UnsafePointer<CChar>?] = offsets.map { off in
            off < 0 ? nil : UnsafeRawPointer(base.baseAddress! + off).assumingMemoryBound(to: CChar.self)
        }
        return pointers.withUnsafeBufferPointer { p in
            types.withUnsafeBufferPointer { t in
                lengths.withUnsafeBufferPointer { l in
                    formats.withUnsafeBufferPointer { f in
                        body(Int32(query.bindings.count), t.baseAddress, p.baseAddress, l.baseAddress, f.baseAddress)
                    }
                }
            }
        }
    }
}
