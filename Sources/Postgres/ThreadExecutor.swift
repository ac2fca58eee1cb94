import CLibPQ
import Dispatch
import Foundation
import Synchronization

/// A serial executor that runs every job on one dedicated OS thread.
///
/// libpq is blocking: `PQexec`, `PQgetResult` and friends park the calling thread until the server answers.
/// Running them on Swift's cooperative pool (two threads on a two-core machine) would stall unrelated tasks,
/// so every `PostgresConnection` actor uses one of these as its executor: its `PGconn` is only ever touched
/// from this one thread, and blocking there blocks nobody else.
///
/// Thread-safety: `enqueue` may be called from any thread. The thread ends after `shutdown()` once the
/// queue is drained.
final class DedicatedThreadExecutor: SerialExecutor {
    private struct State {
        var jobs: [UnownedJob] = []
        var head = 0
        var shuttingDown = false
    }

    private let state = Mutex(State())
    private let wakeup = DispatchSemaphore(value: 0)

    init(name: String) {
        let thread = Thread { [self] in
            dkpi_set_current_thread_name(name) // see CLibPQ/shim.h for why not Thread.name
            self.runLoop()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        state.withLock { $0.jobs.append(unowned) }
        wakeup.signal()
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Lets the thread exit once every job enqueued so far has run.
    func shutdown() {
        state.withLock { $0.shuttingDown = true }
        wakeup.signal()
    }

    private func runLoop() {
        while true {
            wakeup.wait()
            let next: UnownedJob?? = state.withLock { s in
                if s.head < s.jobs.count {
                    let job = s.jobs[s.head]
                    s.head += 1
                    if s.head > 64, s.head * 2 > s.jobs.count {
                        s.jobs.removeFirst(s.head)
                        s.head = 0
                    }
                    return .some(job)
                }
                return s.shuttingDown ? .none : .some(nil)
            }
            switch next {
            case .none: return
            case .some(.none): continue
            case .some(.some(let job)): job.runSynchronously(on: asUnownedSerialExecutor())
            }
        }
    }
}
