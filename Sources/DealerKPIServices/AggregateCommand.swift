import Foundation
public import Logging
public import Postgres
import Warehouse

/// `dealer-kpi aggregate [--full]`.
public enum AggregateCommand {
    public static func run(_ configuration: PostgresConfiguration, full: Bool, logger: Logger) async throws -> [String] {
        let isTerminal = isatty(STDERR_FILENO) == 1
        let draw: @Sendable (RefreshProgress) -> Void = { ProgressBar.draw($0) }
        let progress: (@Sendable (RefreshProgress) -> Void)? = isTerminal ? draw : nil
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
    static func draw(_ progress: RefreshProgress) {
        let width = 30
        let filled = progress.total == 0 ? width : progress.completed * width / progress.total
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        // Padded so a shorter step name overwrites a longer one.
        let line = "\r[\(bar)] \(progress.completed)/\(progress.total) \(progress.step)"
        FileHandle.standardError.write(Data((line + String(repeating: " ", count: max(0, 50 - progress.step.count))).utf8))
    }
}
