public import Logging

/// Delivers LISTEN/NOTIFY notifications as an `AsyncSequence`, on a dedicated connection that is
/// re-established (and re-subscribed) after it breaks.
///
/// After a reconnect, notifications sent while the connection was down are lost: the sequence yields
/// `.reconnected` so consumers can re-check state they would otherwise have been told about.
///
/// Thread-safety: create once, iterate `events` from one task; `Sendable`.
public final class PostgresListener: Sendable {
    public enum Event: Sendable, Hashable {
        case notification(PostgresNotification)
        /// The connection was (re)established and subscriptions are active.
        case reconnected
    }

    public let events: AsyncStream<Event>
    private let task: Task<Void, Never>

    /// Starts listening on `channels`. Ends when `stop()` is called or the listener is released.
    public init(configuration: PostgresConfiguration, channels: [String], pollInterval: Duration = .milliseconds(250),
                logger: Logger = Logger(label: "dealer-kpi.postgres.listen")) {
        let (stream, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        self.events = stream
        self.task = Task {
            var backoff = Duration.milliseconds(100)
            while !Task.isCancelled {
                do {
                    let connection = try await PostgresConnection.connect(configuration, logger: logger)
                    for channel in channels { try await connection.listen(channel) }
                    continuation.yield(.reconnected)
                    backoff = .milliseconds(100)
                    while !Task.isCancelled {
                        let batch = try await connection.waitForNotifications(timeout: pollInterval)
                        for n in batch { continuation.yield(.notification(n)) }
                    }
                    await connection.close()
                } catch {
                    if Task.isCancelled { break }
                    logger.warning("listener connection failed; reconnecting", metadata: ["error": "\(error)", "backoff": "\(backoff)"])
                    try? await Task.sleep(for: backoff * Double.random(in: 0.5...1.0))
                    backoff = min(backoff * 2, .seconds(5))
                }
            }
            continuation.finish()
        }
        continuation.onTermination = { [task] _ in task.cancel() }
    }

    /// Stops listening and finishes `events`.
    public func stop() { task.cancel() }

    deinit { task.cancel() }
}
