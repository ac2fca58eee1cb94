import Foundation
import LocalPostgres
import Postgres
import Testing
import TestSupport

@Suite("Connections, pool, LISTEN/NOTIFY, restarts")
struct ConnectionLifecycleTests {
    @Test func listenNotifyArrivesAsAsyncSequence() async throws {
        let db = try await TestPostgres.freshDatabase()
        let listener = PostgresListener(configuration: db.configuration, channels: ["reports", "runs"], pollInterval: .milliseconds(100))
        var iterator = listener.events.makeAsyncIterator()
        #expect(await iterator.next() == .reconnected)
        let sender = try await PostgresConnection.connect(db.configuration)
        try await sender.notify("reports", payload: "SH001/2026-03-02")
        try await sender.notify("ignored", payload: "x")
        try await sender.withTransaction { conn in
            _ = try conn.runQuery("SELECT pg_notify('runs', '上海')")
        }
        var received: [PostgresNotification] = []
        while received.count < 2, let event = await iterator.next() {
            if case .notification(let n) = event { received.append(n) }
        }
        #expect(received.map(\.channel) == ["reports", "runs"])
        #expect(received.map(\.payload) == ["SH001/2026-03-02", "上海"])
        listener.stop()
        await sender.close()
    }

    @Test func wrongPasswordFailsClearlyAndLeaksNothing() async throws {
        let server = try await TestPostgres.server()
        guard let port = server.tcpPort else { return } // external server: no known password setup
        let bad = PostgresConfiguration(connectionString: "host=127.0.0.1 port=\(port) user=postgres password=wrong dbname=postgres")
        let error = await #expect(throws: PostgresError.self) { try await PostgresConnection.connect(bad) }
        #expect(error?.kind == .connectionFailed)
        #expect(error?.sqlState == .invalidPassword)
        #expect(error?.message.contains("password authentication failed") == true)
        #expect(error.map { "\($0)" }?.contains("wrong") == false)

        // The right password works over the same path.
        let good = try await PostgresConnection.connect(PostgresConfiguration(connectionString: "host=127.0.0.1 port=\(port) user=postgres password=\(server.password!) dbname=postgres"))
        await good.close()

        // A loop of failed connects leaks no connection object (each owns a thread and a PGconn).
        for _ in 0..<20 { _ = try? await PostgresConnection.connect(bad) }
        let liveBefore = PostgresConnection.liveConnections
        for _ in 0..<200 { _ = try? await PostgresConnection.connect(bad) }
        try await Task.sleep(for: .milliseconds(200))
        // Other tests open and close connections meanwhile: a leak would add 200.
        #expect(PostgresConnection.liveConnections - liveBefore < 50)

        // The pool does not retry an authentication failure: it fails at once.
        let pool = PostgresConnectionPool(configuration: bad, options: .init(acquireTimeout: .seconds(20)))
        let started = ContinuousClock.now
        await #expect(throws: PostgresError.self) { try await pool.query("SELECT 1") }
        #expect(ContinuousClock.now - started < .seconds(5))
        await pool.shutdown()
    }

    @Test func poolServesManyConcurrentTasks() async throws {
        let db = try await TestPostgres.freshDatabase()
        let pool = PostgresConnectionPool(configuration: db.configuration, options: .init(maximumConnections: 4))
        try await pool.withConnection { try await $0.executeScript("CREATE TABLE hits (task int, backend int)") }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                group.addTask {
                    try await pool.withConnection { conn in
                        _ = try await conn.execute("INSERT INTO hits SELECT \(i), pg_backend_pid()")
                    }
                }
            }
            try await group.waitForAll()
        }
        let rows = try await pool.query("SELECT count(*), count(DISTINCT task), count(DISTINCT backend) FROM hits")
        let (n, tasks, backends) = try rows[0].decode((Int, Int, Int).self)
        #expect(n == 200)
        #expect(tasks == 200)
        #expect(backends <= 4)
        let stats = await pool.statistics
        #expect(stats.open <= 4)
        #expect(stats.leased == 0)
        await pool.shutdown()
    }

    @Test func poolLeavesNoTransactionOpenForTheNextBorrower() async throws {
        let db = try await TestPostgres.freshDatabase()
        let pool = PostgresConnectionPool(configuration: db.configuration, options: .init(maximumConnections: 1))
        try await pool.withConnection { try await $0.executeScript("CREATE TABLE t (x int)") }
        try await pool.withConnection { try await $0.executeScript("BEGIN; INSERT INTO t VALUES (1)") }
        let (count, inTx) = try await pool.withConnection { conn in
            (try await conn.query("SELECT count(*) FROM t")[0].decode(Int.self, column: 0), await conn.isInTransaction)
        }
        #expect(count == 0)
        #expect(inTx == false)
        await pool.shutdown()
    }

    @Test func serverRestartMidSessionThenNextCallReconnects() async throws {
        let cluster = try TestPostgres.privateCluster(name: "restart")
        defer { try? cluster.destroy() }
        let pool = PostgresConnectionPool(configuration: cluster.configuration(), options: .init(maximumConnections: 2, acquireTimeout: .seconds(30)))
        let pidBefore = try await pool.query("SELECT pg_backend_pid()")[0].decode(Int.self, column: 0)

        try cluster.restart()

        // The idle pooled connection is recognised as dead and replaced: the next call just works.
        let pidAfter = try await pool.query("SELECT pg_backend_pid()")[0].decode(Int.self, column: 0)
        #expect(pidAfter != pidBefore)

        // A connection held across the restart fails with a connection error (never a hang)...
        let direct = try await PostgresConnection.connect(cluster.configuration())
        try cluster.restart()
        let error = await #expect(throws: PostgresError.self) { try await direct.query("SELECT 1") }
        #expect(error?.isConnectionProblem == true)
        #expect(await direct.isOpen == false)
        // ...and the pool carries on.
        #expect(try await pool.query("SELECT 1")[0].decode(Int.self, column: 0) == 1)
        await pool.shutdown()
    }

    @Test func serverGoneMeansAClearTimeoutNotAHang() async throws {
        let cluster = try TestPostgres.privateCluster(name: "gone")
        defer { try? cluster.destroy() }
        let pool = PostgresConnectionPool(configuration: cluster.configuration(), options: .init(maximumConnections: 2, acquireTimeout: .seconds(2)))
        #expect(try await pool.query("SELECT 1")[0].decode(Int.self, column: 0) == 1)
        try cluster.stop()
        let started = ContinuousClock.now
        let error = await #expect(throws: PostgresError.self) { try await pool.query("SELECT 1") }
        #expect(error?.kind == .timeout)
        #expect(ContinuousClock.now - started < .seconds(10))
        // Back up: the same pool recovers.
        try cluster.start()
        #expect(try await pool.query("SELECT 2")[0].decode(Int.self, column: 0) == 2)
        await pool.shutdown()
    }

    @Test func listenerResubscribesAfterRestart() async throws {
        let cluster = try TestPostgres.privateCluster(name: "listen")
        defer { try? cluster.destroy() }
        let listener = PostgresListener(configuration: cluster.configuration(), channels: ["reports"], pollInterval: .milliseconds(100))
        var events = listener.events.makeAsyncIterator()
        #expect(await events.next() == .reconnected)
        try cluster.restart()
        #expect(await events.next() == .reconnected)
        let sender = try await PostgresConnection.connect(cluster.configuration())
        try await sender.notify("reports", payload: "after restart")
        if case .notification(let n)? = await events.next() {
            #expect(n.payload == "after restart")
        } else {
            Issue.record("expected a notification after the restart")
        }
        listener.stop()
        await sender.close()
    }

    @Test func connectsFromURLKeyValueAndEnvironment() async throws {
        let server = try await TestPostgres.server()
        guard let cluster = server.cluster, let port = server.tcpPort, let password = server.password else { return }
        let url = PostgresConfiguration(connectionString: "postgresql://postgres:\(password)@127.0.0.1:\(port)/postgres?application_name=url-test")
        let viaURL = try await PostgresConnection.connect(url)
        #expect(try await viaURL.query("SHOW application_name")[0].decode(String.self, column: 0) == "url-test")
        await viaURL.close()

        let kv = try await PostgresConnection.connect(cluster.configuration())
        #expect(try await kv.query("SELECT current_user")[0].decode(String.self, column: 0) == "postgres")
        await kv.close()

        // Nothing given: libpq reads PG* from the environment.
        setenv("PGHOST", cluster.socketDirectory.path, 1)
        setenv("PGPORT", String(cluster.port), 1)
        setenv("PGUSER", "postgres", 1)
        setenv("PGDATABASE", "postgres", 1)
        let env = try await PostgresConnection.connect(PostgresConfiguration(connectionString: nil))
        #expect(try await env.query("SELECT current_database()")[0].decode(String.self, column: 0) == "postgres")
        #expect(try await env.query("SHOW TimeZone")[0].decode(String.self, column: 0) == "UTC")
        await env.close()
    }
}

/// Process-wide memory is only meaningful when nothing else runs: `scripts/test` runs this suite in a
/// process of its own with DEALER_KPI_ISOLATED=1.
@Suite("Memory (isolated process)", .enabled(if: ProcessInfo.processInfo.environment["DEALER_KPI_ISOLATED"] == "1"))
struct MemoryIsolationTests {
    @Test func failedConnectsDoNotGrowMemory() async throws {
        let server = try await TestPostgres.server()
        guard let port = server.tcpPort else { return }
        let bad = PostgresConfiguration(connectionString: "host=127.0.0.1 port=\(port) user=postgres password=wrong dbname=postgres")
        for _ in 0..<100 { _ = try? await PostgresConnection.connect(bad) }
        let before = TestPostgres.residentMemoryBytes()
        for _ in 0..<1000 { _ = try? await PostgresConnection.connect(bad) }
        let growth = TestPostgres.residentMemoryBytes() - before
        // A leaked PGconn costs at least its 16 KiB input and output buffers: 1000 leaks > 30 MiB.
        #expect(growth < 8 << 20, "RSS grew by \(growth) bytes over 1000 failed connects")
        // The last connection's isolated deinit runs on its own thread shortly after the last reference goes.
        let deadline = ContinuousClock.now + .seconds(5)
        while PostgresConnection.liveConnections > 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(PostgresConnection.liveConnections == 0)
    }
}
