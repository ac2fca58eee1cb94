import Foundation
import Logging
import Postgres
import ServiceLifecycle
import Warehouse

/// Polls the inbox and processes complete files. On graceful shutdown it stops between files; the file in
/// hand finishes (its transaction commits or, if the process dies, rolls back and is retried at start).
/// While the database is unreachable it backs off and retries; files wait in the inbox.
struct InboxService: Service {
    let processor: InboxProcessor
    let pollInterval: Duration
    let logger: Logger

    func run() async throws {
        var backoff = Duration.milliseconds(500)
        logger.info("inbox watching", metadata: ["directory": "\(processor.directory.path)"])
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let started = ContinuousClock.now
                let pass = try await processor.runPass(shouldStop: { Task.isShuttingDownGracefully })
                if !pass.accepted.isEmpty || !pass.rejected.isEmpty {
                    logger.info("inbox pass", metadata: [
                        "accepted": "\(pass.accepted.count)", "rejected": "\(pass.rejected.count)",
                        "seconds": "\(ContinuousClock.now - started)",
                    ])
                }
                backoff = .milliseconds(500)
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: pollInterval) }
            } catch is CancellationError {
                return
            } catch let error as PostgresError where error.kind == .cancelled {
                // A database call in a cancelled task (a shutdown) ends with this kind, not CancellationError.
                return
            } catch {
                if Task.isShuttingDownGracefully { return }
                logger.warning("inbox pass failed; files stay claimed and are retried", metadata: ["error": "\(error)", "retry_in": "\(backoff)"])
                let wait = backoff
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
                backoff = min(backoff * 2, .seconds(30))
            }
        }
    }
}
