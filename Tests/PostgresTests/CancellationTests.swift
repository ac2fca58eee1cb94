import Dispatch
import Foundation
@testable import Postgres
import Synchronization
import Testing
import TestSupport

/// Cancellation that reaches the server, the late-cancel fence, per-transaction timeouts, and cleanup that
/// survives cancellation (issue 11).
@Suite("Cancellation and timeouts")
struct CancellationTests {
    /// Cancels `task` after `delay` and returns its result and how long it took to end after the cancel.
    func cancel<T: Sendable>(_ task: Task<T, any Error>, after delay: Duration) async throws -> (Result<T, any Error>, Duration) {
        try await Task.sleep(for: delay)
        let cancelledAt = ContinuousClock.now
        task.cancel()
        let result = await task.result
        return (result, ContinuousClock.now - cancelledAt)
    }

    func count(_ conn: PostgresConnection, _ table: String) async throws -> Int {
        try await conn.query("SELECT count(*) FROM \(identifier: table)")[0].decode(Int.self, column: 0)
    }

    // (a)
    @Test func cancellingATransactionCancelsItsStatementAndRollsBack() async throws {
        let db = try await TestPostgres.freshDatabase()
        let conn = try await PostgresConnection.connect(db.configuration)
        let observer = try await PostgresConnection.connect(db.configuration)
        try await conn.executeScript("CREATE TABLE t (x int)")
        let pid = try await conn.query("SELECT pg_backend_pid()")[0].decode(Int.self, column: 0)

        let task = Task {
            try await conn.withTransaction { conn in
                _ = try conn.runQuery("INSERT INTO t VALUES (1)")
                _ = try conn.runQuery("SELECT pg_sleep(30)")
            }
        }
        // Cancel once the sleep is running on the server (at least 200 ms in), not before it was sent.
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await waitUntilRunning(observer, pid: pid, "pg_sleep"))
        let (result, took) = try await cancel(task, after: .zero)
        #expect(took < .seconds(2), "the transaction took \(took) to end after the cancel")
        guard case .failure(let error) = result, let pg = error as? PostgresError else {
            Issue.record("expected a PostgresError, got \(result)")
            return
        }
        #expect(pg.kind == .cancelled)
        #expect(pg.sqlState == .queryCanceled) // cancelled on the server, not refused before sending
        #expect(await conn.isInTransaction == false)
        #expect(try await count(conn, "t") == 0)
        #expect(try await conn.query("SELECT 42")[0].decode(Int.self, column: 0) == 42)
        await conn.close()
        await observer.close()
    }

    /// Waits (up to 10 s) until backend `pid` is running a statement whose text contains `fragment`.
    func waitUntilRunning(_ observer: PostgresConnection, pid: Int, _ fragment: String) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let n = try await observer.query("""
                SELECT count(*) FROM pg_stat_activity WHERE pid = \(pid) AND state = 'active' AND strpos(query, \(fragment)) > 0
                """)[0].decode(Int.self, column: 0)
            if n > 0 { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    // (a), through the pool: the same connection is reused, clean.
    @Test func cancellingAPooledTransactionLeavesTheConnectionReusable() async throws {
        let db = try await TestPostgres.freshDatabase()
        let pool = PostgresConnectionPool(configuration: db.configuration, options: .init(maximumConnections: 1))
        try await pool.withConnection { try await $0.executeScript("CREATE TABLE t (x int)") }

        let task = Task {
            try await pool.withTransaction { conn in
                _ = try conn.runQuery("INSERT INTO t VALUES (1)")
                _ = try conn.runQuery("SELECT pg_sleep(30)")
            }
        }
        let (result, took) = try await cancel(task, after: .milliseconds(200))
        #expect(took < .seconds(2))
        #expect((result.failure as? PostgresError)?.kind == .cancelled)

        // A borrower that opened a transaction by hand and was cancelled inside it: the pool's release still
        // rolls back (the ROLLBACK is not refused because the borrower's task is cancelled).
        let manual = Task {
            try await pool.withConnection { conn in
                try await conn.executeScript("BEGIN; INSERT INTO t VALUES (2)")
                _ = try await conn.query("SELECT pg_sleep(30)")
            }
        }
        let (manualResult, manualTook) = try await cancel(manual, after: .milliseconds(200))
        #expect(manualTook < .seconds(2))
        #expect((manualResult.failure as? PostgresError)?.kind == .cancelled)

        let (n, inTx) = try await pool.withConnection { conn in
            (try await count(conn, "t"), await conn.isInTransaction)
        }
        #expect(n == 0)
        #expect(inTx == false)
        let stats = await pool.statistics
        #expect(stats.connectsSucceeded == 1, "the cancelled borrowers' connection should be cleaned and reused, not replaced")
        #expect(stats.leased == 0)
        await pool.shutdown()
    }

    // (1) A body that swallows the cancellation and returns: COMMIT is refused and the work rolls back.
    @Test func aCancelledTaskDoesNotCommit() async throws {
        let db = try await TestPostgres.freshDatabase()
        let conn = try await PostgresConnection.connect(db.configuration)
        try await conn.executeScript("CREATE TABLE t (x int)")
        let task = Task {
            try await conn.withTransaction { conn in
                _ = try conn.runQuery("INSERT INTO t VALUES (1)")
                try? await Task.sleep(for: .seconds(30)) // ends early when cancelled; the error is dropped
                // A statement after the cancellation is refused before it is sent.
                let refused: PostgresError?
                do throws(PostgresError) { _ = try conn.runQuery("INSERT INTO t VALUES (2)"); refused = nil } catch { refused = error }
                #expect(refused?.kind == .cancelled)
                #expect(refused?.sqlState == nil)
            }
        }
        let (result, took) = try await cancel(task, after: .milliseconds(200))
        #expect(took < .seconds(2))
        #expect((result.failure as? PostgresError)?.kind == .cancelled) // the refused COMMIT
        #expect(await conn.isInTransaction == false)
        #expect(try await count(conn, "t") == 0)
        await conn.close()
    }

    // (b)
    @Test func aStatementWaitingForALockIsCancelledOnTheServer() async throws {
        let db = try await TestPostgres.freshDatabase()
        let holder = try await PostgresConnection.connect(db.configuration)
        let victim = try await PostgresConnection.connect(db.configuration)
        let observer = try await PostgresConnection.connect(db.configuration)
        try await holder.executeScript("CREATE TABLE t (x int)")
        try await holder.executeScript("BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
        let victimPID = try await victim.query("SELECT pg_backend_pid()")[0].decode(Int.self, column: 0)

        let task = Task {
            try await victim.withTransaction { conn in
                _ = try conn.runQuery("SELECT 1")
                _ = try conn.runQuery("INSERT INTO t VALUES (1)") // waits behind the holder's lock
            }
        }
        // Wait until the server shows the victim waiting for the lock.
        let deadline = ContinuousClock.now + .seconds(10)
        var waiting = 0
        while ContinuousClock.now < deadline {
            waiting = try await observer.query("SELECT count(*) FROM pg_locks WHERE pid = \(victimPID) AND NOT granted")[0].decode(Int.self, column: 0)
            if waiting > 0 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(waiting == 1, "the victim never waited for the lock")

        let (result, took) = try await cancel(task, after: .zero)
        #expect(took < .seconds(2), "the lock wait took \(took) to end after the cancel")
        #expect((result.failure as? PostgresError)?.kind == .cancelled)

        // The holder still holds its lock, yet nobody waits for it and the victim's backend is idle (rolled
        // back, out of the lock queue) without the holder having released anything.
        // (pg_locks is cluster-wide and other tests run in parallel: only this test's database counts.)
        let stillWaiting = try await observer.query("""
            SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
            WHERE NOT l.granted AND a.datname = current_database()
            """)[0].decode(Int.self, column: 0)
        #expect(stillWaiting == 0)
        let activity = try await observer.query("""
            SELECT state, wait_event_type IS DISTINCT FROM 'Lock' FROM pg_stat_activity WHERE pid = \(victimPID)
            """)
        let (state, notWaitingForLock) = try activity[0].decode((String, Bool).self)
        #expect(state == "idle")
        #expect(notWaitingForLock)
        #expect(await holder.isInTransaction)

        try await holder.executeScript("ROLLBACK")
        #expect(try await count(victim, "t") == 0)
        await holder.close()
        await victim.close()
        await observer.close()
    }

    // (c) The late-cancel race: a cancel meant for a statement that has already finished must never hit the
    // next statement on the connection, nor the next borrower of a pooled connection.
    @Test func aLateCancelNeverHitsTheNextStatement() async throws {
        let db = try await TestPostgres.freshDatabase()
        let conn = try await PostgresConnection.connect(db.configuration)
        // A third of the iterations stretch the send of each cancel (on the cancel thread, after the check that
        // the statement is still in flight): without the fence, such a cancel lands on the next statement.
        // Another third serve the request late (as when the cancel thread is busy with another server):
        // without the generation check, it would cancel whatever statement is in flight by then.
        let stretch = Shared(false)
        let serveLate = Shared(false)
        conn.canceller.beforeSendForTesting.withLock {
            $0 = { if stretch.value { usleep(3_000) } }
        }
        conn.canceller.beforeServeForTesting.withLock {
            $0 = { if serveLate.value { usleep(4_000) } }
        }
        var cancelled = 0
        var completed = 0
        for i in 0..<210 {
            stretch.value = i % 3 == 1
            serveLate.value = i % 3 == 2
            let task = Task { try await conn.query("SELECT pg_sleep(0.002)") }
            let delay = (i * 373) % 4_000 // 0 to 4 ms, spread over the statement's lifetime
            if delay > 0 { try await Task.sleep(for: .microseconds(delay)) }
            task.cancel()
            switch await task.result {
            case .success: completed += 1
            case .failure(let e as PostgresError) where e.kind == .cancelled: cancelled += 1
            case .failure(let e): Issue.record("iteration \(i): the cancelled statement failed otherwise: \(e)")
            }
            do {
                _ = try await conn.query("SELECT pg_sleep(0.005)")
            } catch {
                Issue.record("iteration \(i): the next statement failed: \(error)")
            }
        }
        #expect(cancelled > 0, "no statement was cancelled: the test did not exercise the race")
        conn.canceller.beforeSendForTesting.withLock { $0 = nil }
        conn.canceller.beforeServeForTesting.withLock { $0 = nil }
        await conn.close()

        // The next borrower of a pooled connection.
        let pool = PostgresConnectionPool(configuration: db.configuration, options: .init(maximumConnections: 1))
        var poolCancelled = 0
        for i in 0..<90 {
            let task = Task { try await pool.query("SELECT pg_sleep(0.002)") }
            let delay = (i * 571) % 4_000
            if delay > 0 { try await Task.sleep(for: .microseconds(delay)) }
            task.cancel()
            if case .failure(let e as PostgresError) = await task.result, e.kind == .cancelled { poolCancelled += 1 }
            do {
                _ = try await pool.query("SELECT pg_sleep(0.005)")
            } catch {
                Issue.record("pool iteration \(i): the next borrower's statement failed: \(error)")
            }
        }
        #expect(poolCancelled > 0)
        await pool.shutdown()
        _ = completed
    }

    // (d)
    @Test func transactionTimeoutsAreTimeoutsAndEndWithTheTransaction() async throws {
        let db = try await TestPostgres.freshDatabase()
        let conn = try await PostgresConnection.connect(db.configuration)
        let holder = try await PostgresConnection.connect(db.configuration)
        try await conn.executeScript("CREATE TABLE t (x int); SET statement_timeout = '7s'")

        let slow = await #expect(throws: PostgresError.self) {
            try await conn.withTransaction(timeouts: .init(statement: .milliseconds(200))) { conn in
                _ = try conn.runQuery("SELECT pg_sleep(5)")
            }
        }
        #expect(slow?.kind == .timeout)
        #expect(slow?.sqlState == .queryCanceled)
        #expect(slow?.message.contains("statement_timeout") == true)
        #expect(try await conn.query("SHOW statement_timeout")[0].decode(String.self, column: 0) == "7s")

        try await holder.executeScript("BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
        let locked = await #expect(throws: PostgresError.self) {
            try await conn.withTransaction(timeouts: .init(lock: .milliseconds(200))) { conn in
                _ = try conn.runQuery("SELECT count(*) FROM t")
            }
        }
        #expect(locked?.kind == .timeout)
        #expect(locked?.sqlState == .lockNotAvailable)
        #expect(try await conn.query("SHOW lock_timeout")[0].decode(String.self, column: 0) == "0")
        try await holder.executeScript("ROLLBACK")

        // Inside the transaction the limits are in force; afterwards the session's own settings are back.
        let inside = try await conn.withTransaction(timeouts: .init(statement: .milliseconds(1500), lock: .milliseconds(250),
                                                                    idleInTransaction: .seconds(60))) { conn in
            try ["statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout"].map {
                try conn.runQuery("SELECT current_setting(\($0))")[0].decode(String.self, column: 0)
            }
        }
        #expect(inside == ["1500ms", "250ms", "1min"])
        let after = try await conn.query("SELECT current_setting('statement_timeout'), current_setting('lock_timeout'), current_setting('idle_in_transaction_session_timeout')")
        #expect(try after[0].decode((String, String, String).self) == ("7s", "0", "0"))

        // A non-positive limit is refused before anything is sent.
        let zero = await #expect(throws: PostgresError.self) {
            try await conn.withTransaction(timeouts: .init(statement: .zero)) { _ in }
        }
        #expect(zero?.kind == .misuse)
        #expect(await conn.isInTransaction == false)
        await conn.close()
        await holder.close()
    }

    // (d) In a nested transaction the limits follow SET LOCAL: gone when the savepoint is rolled back.
    @Test func nestedTransactionTimeoutsEndWithTheirSavepoint() async throws {
        let db = try await TestPostgres.freshDatabase()
        let conn = try await PostgresConnection.connect(db.configuration)
        try await conn.executeScript("CREATE TABLE t (x int)")
        let afterInner = try await conn.withTransaction { conn in
            _ = try conn.runQuery("INSERT INTO t VALUES (1)")
            let inner = await #expect(throws: PostgresError.self) {
                try await conn.withTransaction(timeouts: .init(statement: .milliseconds(200))) { conn in
                    _ = try conn.runQuery("INSERT INTO t VALUES (2)")
                    _ = try conn.runQuery("SELECT pg_sleep(5)")
                }
            }
            #expect(inner?.kind == .timeout)
            _ = try conn.runQuery("INSERT INTO t VALUES (3)")
            return try conn.runQuery("SHOW statement_timeout")[0].decode(String.self, column: 0)
        }
        #expect(afterInner == "0")
        let values = try await conn.query("SELECT x FROM t ORDER BY x").map { try $0.decode(Int.self, column: 0) }
        #expect(values == [1, 3])
        await conn.close()
    }

    // (d) idle_in_transaction_session_timeout ends the session: a clear .timeout, and the pool replaces it.
    @Test func idleInTransactionTimeoutIsATimeout() async throws {
        let db = try await TestPostgres.freshDatabase()
        let pool = PostgresConnectionPool(configuration: db.configuration, options: .init(maximumConnections: 1))
        let idle = await #expect(throws: PostgresError.self) {
            try await pool.withTransaction(timeouts: .init(idleInTransaction: .milliseconds(200))) { conn in
                _ = try conn.runQuery("SELECT 1")
                try await Task.sleep(for: .seconds(1))
                _ = try conn.runQuery("SELECT 2")
            }
        }
        #expect(idle?.kind == .timeout)
        #expect(idle?.sqlState == .idleInTransactionSessionTimeout)
        // The pool discards the dead connection and the next borrower gets a fresh one with default settings.
        #expect(try await pool.query("SHOW idle_in_transaction_session_timeout")[0].decode(String.self, column: 0) == "0")
        #expect(await pool.statistics.connectsSucceeded == 2)

        // Pool transactions with timeouts do not change what the next borrower of the same connection sees.
        let inside = try await pool.withTransaction(timeouts: .init(statement: .milliseconds(1500))) { conn in
            try conn.runQuery("SHOW statement_timeout")[0].decode(String.self, column: 0)
        }
        #expect(inside == "1500ms")
        #expect(try await pool.query("SHOW statement_timeout")[0].decode(String.self, column: 0) == "0")
        #expect(await pool.statistics.connectsSucceeded == 2)
        await pool.shutdown()
    }

    // (e)
    @Test func cleanupRunsInACancelledTaskThroughWithoutCancellation() async throws {
        let db = try await TestPostgres.freshDatabase()
        let pool = PostgresConnectionPool(configuration: db.configuration, options: .init(maximumConnections: 2))
        try await pool.withConnection { try await $0.executeScript("CREATE TABLE job_status (status text)") }

        let task = Task { () -> (PostgresError.Kind?, Bool, Int?) in
            do {
                try await pool.withTransaction { conn in
                    _ = try conn.runQuery("INSERT INTO job_status VALUES ('work')")
                    _ = try conn.runQuery("SELECT pg_sleep(30)")
                }
                return (nil, false, nil)
            } catch {
                // The task is cancelled: a plain statement is refused...
                let refused: PostgresError.Kind?
                do { _ = try await pool.query("SELECT 1"); refused = nil } catch { refused = (error as? PostgresError)?.kind }
                // ...but cleanup through withoutCancellation runs.
                let (wasCancelledInside, written) = try await withoutCancellation {
                    let inside = Task.isCancelled
                    let n = try await pool.withTransaction { conn in
                        try conn.runQuery("INSERT INTO job_status VALUES ('failed: cancelled')").affectedRows
                    }
                    return (inside, n)
                }
                return (refused, wasCancelledInside, written)
            }
        }
        let (result, _) = try await cancel(task, after: .milliseconds(200))
        let (refused, wasCancelledInside, written) = try result.get()
        #expect(refused == .cancelled)
        #expect(wasCancelledInside == false)
        #expect(written == 1)
        let rows = try await pool.query("SELECT status FROM job_status").map { try $0.decode(String.self, column: 0) }
        #expect(rows == ["failed: cancelled"])
        await pool.shutdown()
    }

    // (f) The cancel request is sent from the cancel thread; the cancelling thread only enqueues. The test
    // makes a send block for up to 5 s: a `Task.cancel()` that sent the request itself would block as long.
    @Test func cancelRequestsAreSentOffTheCancellingThread() async throws {
        let db = try await TestPostgres.freshDatabase()
        let first = try await PostgresConnection.connect(db.configuration)
        let second = try await PostgresConnection.connect(db.configuration)
        let sendThreads = Shared<[UInt]>([])
        let sendThreadNames = Shared<[String]>([])
        let release = DispatchSemaphore(value: 0)
        for conn in [first, second] {
            conn.canceller.beforeSendForTesting.withLock {
                $0 = {
                    sendThreads.value.append(currentThreadID())
                    let comm = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
                    sendThreadNames.value.append(comm.trimmingCharacters(in: .whitespacesAndNewlines))
                    _ = release.wait(timeout: .now() + 5)
                }
            }
        }
        let observer = try await PostgresConnection.connect(db.configuration)
        let firstPID = try await first.query("SELECT pg_backend_pid()")[0].decode(Int.self, column: 0)
        let secondPID = try await second.query("SELECT pg_backend_pid()")[0].decode(Int.self, column: 0)
        let a = Task { try await first.query("SELECT pg_sleep(30)") }
        let b = Task { try await second.withTransaction { conn in _ = try conn.runQuery("SELECT pg_sleep(30)") } }
        #expect(try await waitUntilRunning(observer, pid: firstPID, "pg_sleep"))
        #expect(try await waitUntilRunning(observer, pid: secondPID, "pg_sleep"))

        let cancellingThread = currentThreadID()
        var started = ContinuousClock.now
        a.cancel() // runs the cancellation handler on this thread
        let firstCancelTook = ContinuousClock.now - started
        // Wait until the cancel thread is inside the (blocked) send.
        let deadline = ContinuousClock.now + .seconds(5)
        while sendThreads.value.isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        started = ContinuousClock.now
        b.cancel() // while a cancel is in progress
        let secondCancelTook = ContinuousClock.now - started

        #expect(firstCancelTook < .seconds(2), "Task.cancel() took \(firstCancelTook): the handler sent the request itself")
        #expect(secondCancelTook < .seconds(2), "Task.cancel() took \(secondCancelTook) while another cancel was in progress")
        release.signal()
        release.signal()
        #expect((await a.result.failure as? PostgresError)?.kind == .cancelled)
        #expect((await b.result.failure as? PostgresError)?.kind == .cancelled)
        let cancelThread = try #require(CancelSender.shared.osThread.withLock { $0 })
        #expect(sendThreads.value == [cancelThread, cancelThread], "the cancel requests were not sent by the cancel thread")
        #expect(!sendThreads.value.contains(cancellingThread))
        #if os(Linux)
        #expect(sendThreadNames.value == [CancelSender.threadName, CancelSender.threadName])
        #endif
        for conn in [first, second] {
            conn.canceller.beforeSendForTesting.withLock { $0 = nil }
            #expect(try await conn.query("SELECT 1")[0].decode(Int.self, column: 0) == 1)
            await conn.close()
        }
        await observer.close()
    }

    @Test func timeoutsRenderAsWholeMilliseconds() throws {
        #expect(try PostgresTimeouts().setLocalStatements() == "")
        #expect(try PostgresTimeouts(statement: .milliseconds(1500)).setLocalStatements() == "; SET LOCAL statement_timeout = 1500")
        #expect(try PostgresTimeouts(lock: .microseconds(1), idleInTransaction: .seconds(2)).setLocalStatements()
            == "; SET LOCAL lock_timeout = 1; SET LOCAL idle_in_transaction_session_timeout = 2000")
        #expect(try PostgresTimeouts(statement: .seconds(Int64.max)).setLocalStatements() == "; SET LOCAL statement_timeout = \(Int32.max)")
        #expect(throws: PostgresError.self) { try PostgresTimeouts(lock: .seconds(-1)).setLocalStatements() }
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let e) = self { return e }
        return nil
    }
}

/// A value shared with closures that run on other threads.
final class Shared<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>
    init(_ value: Value) { storage = Mutex(value) }
    var value: Value {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}
