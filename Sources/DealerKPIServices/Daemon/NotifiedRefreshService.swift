import Foundation
import Logging
import Postgres
import ServiceLifecycle

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
