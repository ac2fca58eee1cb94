import Foundation
public import Logging
public import Postgres
import Warehouse

/// `dealer-kpi aggregate [--full]`.
public enum AggregateCommand {
    public static func run(_ configuration: PostgresConfiguration, full: Bool, logger: Logger) async throws -> [String] {
        let isTerminal = isatty(STDERR_FILENO) == 1
        let draw: @Sendable (Int, Int) -> Void = { done, total in ProgressBar.draw(done: done, total: total) }
        let progress: (@Sendable (Int, Int) -> Void)? = isTerminal ? draw : nil
        let mode: SnapshotRefresher.Mode = full ? .full : .incremental
        let summary: RefreshSummary = try await PoolScope.with(configuration, logger: logger) { pool in
            try await SnapshotRefresher(pool: pool, logger: logger).refresh(mode: mode, progress: progress)
        }
        if isTerminal && summary.mode == SnapshotRefresher.Mode.full { FileHandle.standardError.write(Data("\n".utf8)) }
        let horizon = summary.horizon.map { "\($0.lowerBound) to \($0.upperBound)" } ?? "empty (no reports yet)"
        return [
            "run \(summary.runID) (\(summary.mode.rawValue)): horizon \(horizon); \(summary.storePeriods) store periods recomputed, "
                + "\(summary.written) rows written, \(summary.superseded) superseded; \(summary.changeRowsConsumed) change-log rows consumed",
        ]
    }
}

/// A one-line progress bar on standard error (only used when it is a terminal).
enum ProgressBar {
    static func draw(done: Int, total: Int) {
        let width = 30
        let filled = total == 0 ? width : done * width / total
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total) stores".utf8))
    }
}
