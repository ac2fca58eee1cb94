import CLibPQ
import Dispatch
import Foundation
import Logging
import Synchronization

// MARK: - Public API

/// Server-side time limits for one unit of work, applied with `SET LOCAL` right after `BEGIN` (in the same
/// round trip) by `withTransaction(timeouts:_:)`. They end with the transaction, so other work on a pooled
/// connection is unaffected. `nil` leaves the session's setting as it is.
///
/// A limit that passes makes the statement fail with `PostgresError.Kind.timeout` (the server's SQLSTATE is
/// kept: 57014 for `statement`, 55P03 for `lock`, 25P03 for `idleInTransaction`, which also ends the
/// session: the connection is closed and a pool discards it).
public struct PostgresTimeouts: Sendable, Hashable {
    /// `statement_timeout`: the longest any one statement of the transaction may run.
    public var statement: Duration?
    /// `lock_timeout`: the longest a statement may wait for a lock.
    public var lock: Duration?
    /// `idle_in_transaction_session_timeout`: the longest the transaction may sit idle between statements
    /// (while the body does other work). When it passes the server terminates the session.
    public var idleInTransaction: Duration?

    public init(statement: Duration? = nil, lock: Duration? = nil, idleInTransaction: Duration? = nil) {
        self.statement = statement
        self.lock = lock
        self.idleInTransaction = idleInTransaction
    }

    /// The `SET LOCAL` statements (possibly none). Durations are whole milliseconds, rounded up, because 0
    /// would mean "no limit" to PostgreSQL; a zero or negative duration is refused.
    func setLocalStatements() throws(PostgresError) -> String {
        var out = ""
        for (name, value) in [("statement_timeout", statement), ("lock_timeout", lock),
                              ("idle_in_transaction_session_timeout", idleInTransaction)] {
            guard let value else { continue }
            guard value > .zero else {
                throw PostgresError(kind: .misuse, message: "\(name) must be positive (got \(value)); use nil for the session's setting")
            }
            let (seconds, attoseconds) = value.components
            let wholeMs = seconds.multipliedReportingOverflow(by: 1000)
            let extra = (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
            let ms = wholeMs.overflow ? Int64(Int32.max) : min(Int64(Int32.max), wholeMs.partialValue + extra)
            out += "; SET LOCAL \(name) = \(ms)"
        }
        return out
    }
}

/// Runs `body` in a new unstructured task and waits for it, so work that must happen even when the caller
/// has been cancelled still can: recording a job's final status, unlocking an advisory lock, writing an
/// audit row. Inside `body`, `Task.isCancelled` is false and statements are sent normally.
///
/// The caller still waits for `body` to finish (it is not detached from the caller's lifetime), and
/// cancelling the caller does not cancel it: keep `body` short and bounded (e.g. with `PostgresTimeouts`).
/// Task-local values and priority are inherited.
public func withoutCancellation<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
    // `body` does not really escape: the task is awaited before this function returns.
    try await withoutActuallyEscaping(body) { escapable in
        let task = Task(priority: Task.currentPriority) { try await escapable() }
        return try await task.value
    }
}

// MARK: - Cancel requests

/// The one process-wide thread that sends cancel requests to servers.
///
/// Sending a cancel is blocking network I/O (libpq opens a new connection to the server and waits until the
/// server has processed the request). Cancellation handlers run on whatever thread cancels the task, usually
/// one of Swift's cooperative threads, so they only enqueue here; this thread does the blocking part.
/// Requests are served in order; one to an unreachable server delays the ones behind it by at most libpq's
/// connect timeout (libpq >= 17) or the TCP connect timeout (older libpq).
final class CancelSender: Sendable {
    static let shared = CancelSender()
    static let threadName = "pg-cancel"

    private let jobs = Mutex<[@Sendable () -> Void]>([])
    /// The sending thread, for tests.
    let osThread = Mutex<UInt?>(nil)
    private let wakeup = DispatchSemaphore(value: 0)

    private init() {
        let thread = Thread { [self] in
            dkpi_set_current_thread_name(CancelSender.threadName) // see shim.h for why not Thread.name
            self.osThread.withLock { $0 = currentThreadID() }
            self.run()
        }
        thread.stackSize = 1 << 19
        thread.start()
    }

    /// Never blocks beyond a short critical section: safe from a cancellation handler.
    func enqueue(_ job: @escaping @Sendable () -> Void) {
        jobs.withLock { $0.append(job) }
        wakeup.signal()
    }

    private func run() {
        while true {
            wakeup.wait()
            let job: (@Sendable () -> Void)? = jobs.withLock { $0.isEmpty ? nil : $0.removeFirst() }
            job?()
        }
    }
}

/// The calling OS thread, as a number (tests and diagnostics).
func currentThreadID() -> UInt {
    #if canImport(Darwin)
    UInt(bitPattern: pthread_self())
    #else
    UInt(pthread_self())
    #endif
}

/// The cancel side of one connection: its libpq cancel handle, and the fence that keeps a late cancel from
/// hitting a later statement.
///
/// Every statement the connection sends gets a generation number (`statementStarts`). A cancellation handler
/// reads the current generation without locking and enqueues a request for exactly that generation on the
/// cancel thread. The cancel thread, under `state`'s lock, sends the cancel only if that same statement is
/// still in flight and holds the lock while it sends. The connection thread, when the statement ends
/// (`statementEnds`), takes the same lock: it waits for a cancel being sent to finish before it can start
/// the next statement, and afterwards any queued request for the old generation is dropped.
///
/// Why that is enough: libpq's cancel returns only once the server has processed the request (it waits
/// for the server to close the cancel connection, which it does after signalling the backend). A backend
/// still running the statement, or still finishing it (an error raised before its ReadyForQuery is part of
/// that statement's results, which we are still draining), cancels that statement. A backend that is idle
/// discards it: `PostgresMain` runs `CHECK_FOR_INTERRUPTS()` right after reading a command while
/// `DoingCommandRead` is still set, and `ProcessInterrupts` then just clears the pending cancel ("Query
/// cancel is supposed to be a no-op when there is no query in progress, so if a query cancel arrived while
/// we were idle, just reset QueryCancelPending", postgres.c). Because the next statement is only sent after
/// the send has returned, the backend has the signal before it can read that statement, so the cancel is
/// dropped at that check and never reaches it.
final class QueryCanceller: Sendable {
    struct State {
        var handle: CancelHandle?
        /// The statement generation; 0 before the first.
        var generation: UInt64 = 0
        var inFlight = false
        /// False for the connection's own cleanup (ROLLBACK after an error, RELEASE): never cancelled.
        var cancellable = false
        /// The generation our cancel was sent for, to tell our cancel from a server timeout.
        var cancelSentFor: UInt64 = 0
    }

    private let state = Mutex(State())
    /// `state.generation`, readable without the lock (the lock may be held during a send).
    private let published = Atomic<UInt64>(0)
    private let logger: Logger
    /// Tests only: runs on the cancel thread, under the lock, just before a cancel is sent.
    let beforeSendForTesting = Mutex<(@Sendable () -> Void)?>(nil)
    /// Tests only: runs on the cancel thread before the request is looked at (a request served late, as
    /// when the cancel thread is busy with another server).
    let beforeServeForTesting = Mutex<(@Sendable () -> Void)?>(nil)

    init(logger: Logger) { self.logger = logger }

    /// Owns one libpq cancel handle (`PGcancelConn` with libpq >= 17, else `PGcancel`).
    ///
    /// This is the only `@unchecked Sendable` of the module, and it is true because: the handle is a
    /// separate libpq object made for use from another thread than the connection's (it is created on the
    /// connection's thread, which is the only part that reads the `PGconn`); it never leaves
    /// `QueryCanceller`; and every use (send, free) happens under `QueryCanceller.state`'s lock, so no two
    /// threads touch it at once.
    final class CancelHandle: @unchecked Sendable {
        private let raw: OpaquePointer
        init(raw: OpaquePointer) { self.raw = raw }
        deinit { dkpi_cancel_free(raw) }

        /// Blocking. Returns nil on success, else libpq's message.
        func send() -> String? {
            var errbuf = [CChar](repeating: 0, count: 256)
            let ok = dkpi_cancel_send(raw, &errbuf, Int32(errbuf.count))
            if ok == 1 { return nil }
            return PostgresConnection.trimmedMessage(errbuf)
        }
    }

    /// Connection thread: makes a handle for the open connection (or drops it with nil). Waits for a send
    /// in progress, so a handle is never freed while in use.
    func install(_ connection: OpaquePointer?) {
        let handle = connection.flatMap { dkpi_cancel_create($0) }.map { CancelHandle(raw: $0) }
        let old = state.withLock { s -> CancelHandle? in
            let old = s.handle
            s.handle = handle
            return old
        }
        _ = old // freed here, outside the lock
    }

    /// Connection thread: a statement is about to be sent. With `cancellable`, returns whether the task was
    /// cancelled already, in which case the caller must not send it (and must call `statementEnds`).
    func statementStarts(cancellable: Bool) -> Bool {
        state.withLock { s in
            s.generation += 1
            s.inFlight = true
            s.cancellable = cancellable
            published.store(s.generation, ordering: .sequentiallyConsistent)
        }
        guard cancellable else { return false }
        // Pairs with the fence in `requestCancel`: either the handler sees this generation (and cancels the
        // statement on the server), or we see the task's cancelled flag here (and do not send it).
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        return Task.isCancelled
    }

    /// Connection thread: the statement's results are drained. Waits for a cancel being sent for it to
    /// finish (that is the fence). Returns whether we sent a cancel for it.
    func statementEnds() -> Bool {
        state.withLock { s in
            s.inFlight = false
            return s.cancelSentFor == s.generation
        }
    }

    /// Any thread, never blocks: asks the cancel thread to cancel the statement in flight now, if it still
    /// is when the request is served.
    func requestCancel() {
        // The task's cancelled flag was set before this handler was called; see `statementStarts`.
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        let generation = published.load(ordering: .sequentiallyConsistent)
        CancelSender.shared.enqueue { [self] in self.send(generation) }
    }

    /// Cancel thread.
    private func send(_ generation: UInt64) {
        if let hook = beforeServeForTesting.withLock({ $0 }) { hook() }
        state.withLock { s in
            guard s.generation == generation, s.inFlight, s.cancellable, s.cancelSentFor != generation,
                  let handle = s.handle else { return }
            s.cancelSentFor = generation
            if let hook = beforeSendForTesting.withLock({ $0 }) { hook() }
            if let failure = handle.send() {
                logger.warning("could not send a cancel request", metadata: ["error": "\(failure)"])
            } else {
                logger.debug("cancel request sent")
            }
        }
    }
}
