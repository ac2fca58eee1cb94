import Foundation
import UnixSignals
public import Logging
public import Postgres
import Warehouse

/// `dealer-kpi aggregate [--full]`.
///
/// SIGTERM or SIGINT during the run cancels it: the statement in flight is cancelled on the server, the
/// refresh transaction rolls back (the snapshots stay exactly as they were), the failure is recorded in
/// `kpi.refresh_run`, and the command exits 0 after saying so: stopping a rebuild on request is not an error.
public enum AggregateCommand {
    public static func run(_ configuration: PostgresConfiguration, full: Bool, logger: Logger) async throws -> [String] {
        let isTerminal = isatty(STDERR_FILENO) == 1
        let draw: @Sendable (RefreshProgress) -> Void = { ProgressBar.draw($0) }
        let progress: (@Sendable (RefreshProgress) -> Void)? = isTerminal ? draw : nil
        let mode: SnapshotRefresher.Mode = full ? .full : .incremental
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        let outcome: Outcome = try await withThrowingTaskGroup(of: Outcome.self) { group in
            group.addTask {
                .refreshed(try await PoolScope.with(configuration, logger: logger) { pool in
                    try await SnapshotRefresher(pool: pool, logger: logger).refresh(mode: mode, progress: progress)
                })
            }
            group.addTask {
                for await signal in signals { return .signalled(signal) }
                return .signalled(nil)  // only when cancelled: the refresh ended first
            }
            let first = try await group.next()!
            group.cancelAll()
            guard case .signalled(let signal?) = first else {
                return first
            }
            logger.notice("signal received: cancelling the refresh", metadata: ["signal": "\(signal)"])
            // The refresh may still have committed in the meantime; what it came to is what we report.
            while let next = await Result(catching: { try await group.next() }).get(orNil: true) {
                if case .refreshed = next { return next }
            }
            return .interrupted(signal)
        }
        switch outcome {
        case .refreshed(let summary):
            if isTerminal && summary.mode == SnapshotRefresher.Mode.full { FileHandle.standardError.write(Data("\n".utf8)) }
            let horizon = summary.horizon.map { "\($0.lowerBound) to \($0.upperBound)" } ?? "empty (no reports yet)"
            return [
                "run \(summary.runID) (\(summary.mode.rawValue)): horizon \(horizon); \(summary.storePeriods) store periods recomputed, "
                    + "\(summary.written) rows written, \(summary.superseded) superseded; \(summary.changeRowsConsumed) change-log rows consumed",
            ]
        case .interrupted(let signal):
            if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
            return ["\(mode.rawValue) refresh cancelled by \(signal): rolled back, the snapshots are unchanged"]
        case .signalled:
            return []
        }
    }

    private enum Outcome: Sendable {
        case refreshed(RefreshSummary)
        case signalled(UnixSignal?)
        case interrupted(UnixSignal)
    }
}

private extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }

    /// The value; nil for nil or an error (the cancelled refresh's error is expected, not reported).
    func get<T>(orNil: Bool) -> T? where Success == T? {
        switch self {
        case .success(let value): return value
        case .failure: return nil
        }
    }
}

/// A one-line progress bar on standard error (only used when it is a terminal).
enum ProgressBar {
    static func draw(_ progress: RefreshProgress) {
        let width = 30
        let filled = progress.total == 0 ? width : progress.completed * width / progress.total
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        // Padded so a shorter step name overwrites a longer one.
        let line = "\r[\(bar)] \(progress.completed)/\(progress.total) \(progress.step)"
        FileHandle.standardError.write(Data((line + String(repeating: " ", count: max(0, 50 - progress.step.count))).utf8))
    }
}
