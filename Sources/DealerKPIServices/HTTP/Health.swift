import Foundation
import Logging
import Postgres
import Synchronization
import Warehouse

/// `GET /readyz`: ready when the database answers and its schema is current (every migration applied, none
/// changed). The answer is cached for `cacheFor` (1 s), so probes and load balancers hammering it cost at most
/// one check a second; concurrent probes share one check. A check gives up after `checkTimeout`.
actor ReadinessProbe {
    enum State: Equatable, Sendable {
        case ready
        case notReady(String)
    }

    let pool: PostgresConnectionPool
    let cacheFor: Duration
    let checkTimeout: Duration
    let logger: Logger
    private var cached: (state: State, at: ContinuousClock.Instant)?
    private var inFlight: Task<State, Never>?

    init(pool: PostgresConnectionPool, cacheFor: Duration = .seconds(1), checkTimeout: Duration = .seconds(3), logger: Logger) {
        self.pool = pool
        self.cacheFor = cacheFor
        self.checkTimeout = checkTimeout
        self.logger = logger
    }

    func state() async -> State {
        if let cached, ContinuousClock.now - cached.at < cacheFor { return cached.state }
        let task: Task<State, Never>
        if let inFlight {
            task = inFlight
        } else {
            let (pool, timeout, logger) = (self.pool, self.checkTimeout, self.logger)
            task = Task { await Self.check(pool: pool, timeout: timeout, logger: logger) }
            inFlight = task
        }
        let state = await task.value
        if inFlight == task {
            inFlight = nil
            cached = (state, ContinuousClock.now)
        }
        return state
    }

    private static func check(pool: PostgresConnectionPool, timeout: Duration, logger: Logger) async -> State {
        do {
            let current = try await Deadline.run(within: timeout) {
                try await pool.withConnection { conn in
                    try await WarehouseSchema.migrator(logger: logger).isCurrent(on: conn)
                }
            }
            guard let current else { return .notReady("the database did not answer within \(timeout)") }
            return current ? .ready : .notReady("the database schema is not current: run `dealer-kpi migrate`")
        } catch {
            logger.warning("readiness check failed", metadata: ["error": "\(error)"])
            return .notReady("the database is unavailable")
        }
    }
}

/// Runs work with a deadline without waiting for it past the deadline: the work runs in its own task, which is
/// cancelled (and left to finish on its own) when the deadline passes first. Returns nil on timeout.
enum Deadline {
    static func run<T: Sendable>(within timeout: Duration, _ work: @escaping @Sendable () async throws -> T) async throws -> T? {
        let once = Once<T?>()
        defer { once.cancelTasks() }
        return try await withCheckedThrowingContinuation { continuation in
            once.set(continuation)
            let workTask = Task<Void, Never> {
                do {
                    once.resume(with: .success(try await work()))
                } catch {
                    once.resume(with: .failure(error))
                }
            }
            let timer = Task<Void, Never> {
                try? await Task.sleep(for: timeout)
                once.resume(with: .success(nil))
            }
            once.own([workTask, timer])
        }
    }

    /// A continuation resumed by whichever comes first, and the tasks racing for it.
    private final class Once<Value: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<Value, any Error>?
            var tasks: [Task<Void, Never>] = []
        }
        private let state = Mutex(State())

        func set(_ c: CheckedContinuation<Value, any Error>) { state.withLock { $0.continuation = c } }
        func own(_ tasks: [Task<Void, Never>]) { state.withLock { $0.tasks = tasks } }
        func resume(with result: Result<Value, any Error>) {
            state.withLock { s -> CheckedContinuation<Value, any Error>? in
                defer { s.continuation = nil }
                return s.continuation
            }?.resume(with: result)
        }
        func cancelTasks() { state.withLock { $0.tasks }.forEach { $0.cancel() } }
    }
}
