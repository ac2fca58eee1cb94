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

/// Refreshes the snapshots within seconds of a load: listens for `dealer_kpi_changes` and `dealer_kpi_jobs`
/// notifications, waits `debounce` for more to arrive, then runs an incremental refresh (and any requested
/// jobs). After a reconnect it refreshes once, since notifications sent meanwhile were lost.
struct NotifiedRefreshService: Service {
    let configuration: PostgresConfiguration
    let jobs: JobRunner
    let debounce: Duration
    let logger: Logger

    func run() async throws {
        let listener = PostgresListener(configuration: configuration, channels: ["dealer_kpi_changes", "dealer_kpi_jobs"], logger: logger)
        defer { listener.stop() }
        // A doorbell that holds at most one ring: notifications arriving while a refresh runs coalesce
        // into one more refresh afterwards.
        let (bell, ring) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        try await cancelWhenGracefulShutdown {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in listener.events { ring.yield() }
                    ring.finish()
                }
                group.addTask {
                    for await _ in bell {
                        try await Task.sleep(for: debounce)
                        await runPending()
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        }
    }

    private func runPending() async {
        do {
            _ = try await jobs.runNow(job: .refresh, trigger: .notify)
            try await jobs.runRequestedJobs()
        } catch {
            logger.warning("refresh after notification failed", metadata: ["error": "\(error)"])
        }
    }
}
