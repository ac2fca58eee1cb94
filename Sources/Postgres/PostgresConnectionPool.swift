import Foundation
public import Logging

/// A small pool of `PostgresConnection`s.
///
/// - At most `maximumConnections` are open; callers beyond that wait, and give up with `.timeout` after
///   `acquireTimeout` (never a hang).
/// - Idle connections are checked before reuse (`isUsableForNewWork`), so a connection whose server
///   restarted is replaced transparently.
/// - New connections are made with jittered exponential backoff until the acquire deadline; errors that
///   retrying cannot fix (wrong password, unknown database) fail at once.
///
/// Thread-safety: `Sendable`; share one pool across the process. Its bookkeeping lives in an actor.
public final class PostgresConnectionPool: Sendable {
    public struct Options: Sendable {
        public var maximumConnections: Int
        public var acquireTimeout: Duration
        public var initialBackoff: Duration
        public var maximumBackoff: Duration
        public init(maximumConnections: Int = 8, acquireTimeout: Duration = .seconds(15),
                    initialBackoff: Duration = .milliseconds(50), maximumBackoff: Duration = .seconds(2)) {
            self.maximumConnections = maximumConnections
            self.acquireTimeout = acquireTimeout
            self.initialBackoff = initialBackoff
            self.maximumBackoff = maximumBackoff
        }
    }

    /// Counts for metrics and `readyz`.
    public struct Statistics: Sendable, Hashable {
        public var open: Int
        public var idle: Int
        public var leased: Int
        public var waiting: Int
        public var connectsSucceeded: Int
        public var connectsFailed: Int
    }

    public let configuration: PostgresConfiguration
    public let options: Options
    private let state: PoolState

    public init(configuration: PostgresConfiguration, options: Options = Options(), logger: Logger = Logger(label: "dealer-kpi.postgres.pool")) {
        self.configuration = configuration
        self.options = options
        self.state = PoolState(configuration: configuration, options: options, logger: logger)
    }

    public var statistics: Statistics { get async { await state.statistics } }

    /// Lends a connection to `body` for its exclusive use and takes it back afterwards (also on throw).
    /// A connection left inside a transaction is rolled back before reuse (also when the borrower's task was
    /// cancelled); a broken one, or one that cannot be rolled back, is discarded.
    public func withConnection<T>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> sending T
    ) async throws -> sending T {
        let connection = try await state.acquire()
        do {
            let result = try await body(connection)
            await state.release(connection)
            return result
        } catch {
            await state.release(connection)
            throw error
        }
    }

    /// Convenience: `withConnection` + `withTransaction(timeouts:_:)`. `timeouts` apply to this transaction
    /// only; the next borrower of the connection gets the session's settings.
    public func withTransaction<T: Sendable>(
        timeouts: PostgresTimeouts? = nil,
        _ body: @Sendable (isolated PostgresConnection) async throws -> T
    ) async throws -> T {
        try await withConnection { conn in try await conn.withTransaction(timeouts: timeouts, body) }
    }

    /// Runs one statement on a pooled connection.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        try await withConnection { try await $0.query(query) }
    }

    /// Closes idle connections and fails waiters; leased connections are closed when returned.
    public func shutdown() async { await state.shutdown() }
}

/// The pool's bookkeeping: idle connections, lease count, waiters.
actor PoolState {
    typealias Options = PostgresConnectionPool.Options
    let configuration: PostgresConfiguration
    let options: Options
    private let logger: Logger
    private var idle: [PostgresConnection] = []
    private var leased = 0
    private var connecting = 0
    private var waiters: [(id: Int, continuation: CheckedContinuation<PostgresConnection?, any Error>)] = []
    private var nextWaiterID = 0
    private var isShutDown = false
    private var connectsSucceeded = 0
    private var connectsFailed = 0

    init(configuration: PostgresConfiguration, options: Options, logger: Logger) {
        self.configuration = configuration
        self.options = options
        self.logger = logger
    }

    var statistics: PostgresConnectionPool.Statistics {
        .init(open: idle.count + leased, idle: idle.count, leased: leased, waiting: waiters.count,
              connectsSucceeded: connectsSucceeded, connectsFailed: connectsFailed)
    }

    func shutdown() async {
        isShutDown = true
        let toClose = idle
        idle.removeAll()
        for w in waiters { w.continuation.resume(throwing: PostgresError(kind: .poolClosed, message: "the connection pool is shut down")) }
        waiters.removeAll()
        for c in toClose { await c.close() }
    }

    func acquire() async throws -> PostgresConnection {
        let deadline = ContinuousClock.now + options.acquireTimeout
        while true {
            guard !isShutDown else { throw PostgresError(kind: .poolClosed, message: "the connection pool is shut down") }
            if let candidate = idle.popLast() {
                leased += 1
                if await candidate.isUsableForNewWork() { return candidate }
                leased -= 1
                logger.debug("discarding a stale pooled connection")
                await candidate.close()
                continue
            }
            if leased + connecting < options.maximumConnections {
                connecting += 1
                do {
                    let c = try await connectWithBackoff(until: deadline)
                    connecting -= 1
                    leased += 1
                    return c
                } catch {
                    connecting -= 1
                    wakeOneWaiter()
                    throw error
                }
            }
            if let c = try await waitForRelease(until: deadline) {
                return c // handed over already leased
            }
            // Woken without a connection: capacity freed up; loop to connect.
        }
    }

    private func waitForRelease(until deadline: ContinuousClock.Instant) async throws -> PostgresConnection? {
        nextWaiterID += 1
        let id = nextWaiterID
        let timeout = Task { [weak self] in
            try await Task.sleep(until: deadline, clock: .continuous)
            await self?.timeOutWaiter(id)
        }
        defer { timeout.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<PostgresConnection?, any Error>) in
                waiters.append((id, c))
            }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
    }

    private func timeOutWaiter(_ id: Int) {
        guard let i = waiters.firstIndex(where: { $0.id == id }) else { return }
        let w = waiters.remove(at: i)
        w.continuation.resume(throwing: PostgresError(
            kind: .timeout,
            message: "no database connection became free within \(options.acquireTimeout) (pool of \(options.maximumConnections))"
        ))
    }

    private func cancelWaiter(_ id: Int) {
        guard let i = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: i).continuation.resume(throwing: CancellationError())
    }

    private func wakeOneWaiter() {
        if !waiters.isEmpty { waiters.removeFirst().continuation.resume(returning: nil) }
    }

    func release(_ connection: PostgresConnection) async {
        // The borrower may have left a transaction open (e.g. it was cancelled between statements): never hand
        // that to someone else. The ROLLBACK is sent even when the borrower's task is cancelled; a connection
        // that cannot be made clean is closed.
        var usable = await connection.resetForReuse()
        if usable, isShutDown { usable = false }
        if !usable {
            leased -= 1
            await connection.close()
            wakeOneWaiter()
            return
        }
        if !waiters.isEmpty {
            waiters.removeFirst().continuation.resume(returning: connection) // stays leased
            return
        }
        leased -= 1
        idle.append(connection)
    }

    private func connectWithBackoff(until deadline: ContinuousClock.Instant) async throws -> PostgresConnection {
        var attempt = 0
        var lastError: PostgresError?
        while true {
            do {
                let c = try await PostgresConnection.connect(configuration, logger: logger)
                connectsSucceeded += 1
                if attempt > 0 { logger.info("reconnected to the database", metadata: ["attempts": "\(attempt + 1)"]) }
                return c
            } catch {
                connectsFailed += 1
                lastError = error
                if error.isAuthenticationOrCatalogProblem { throw error }
            }
            attempt += 1
            let base = min(options.initialBackoff * (1 << min(attempt - 1, 16)), options.maximumBackoff)
            let jittered = base * Double.random(in: 0.5...1.0)
            if ContinuousClock.now + jittered >= deadline {
                var e = lastError ?? PostgresError(kind: .timeout, message: "could not connect")
                e.kind = .timeout
                e.message = "could not connect to the database within \(options.acquireTimeout) after \(attempt) attempts: \(lastError?.message ?? "unknown error")"
                throw e
            }
            logger.debug("connect failed, retrying", metadata: ["attempt": "\(attempt)", "error": "\(lastError.map { "\($0)" } ?? "")"])
            try await Task.sleep(for: jittered)
        }
    }
}
