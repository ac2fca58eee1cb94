/// At most `limit` holders at a time; the others wait in arrival order.
///
/// swift-testing runs every argument of a parameterized test concurrently: ~100 hostile-input cases, each
/// with its own database and pool, ran the test server out of connections ("too many clients already").
/// Fixtures that open a database hold a slot of `ConcurrencyLimit.testDatabases` for their lifetime.
public actor ConcurrencyLimit {
    /// Slots for tests that open a database of their own with a pool.
    public static let testDatabases = ConcurrencyLimit(24)

    private var available: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    public init(_ limit: Int) { available = limit }

    /// Runs `body` while holding a slot.
    public nonisolated func withSlot<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await acquire()
        do {
            let result = try await body()
            await release()
            return result
        } catch {
            await release()
            throw error
        }
    }

    private func acquire() async {
        if available > 0 {
            available -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func release() {
        if waiting.isEmpty {
            available += 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}
