import Foundation
public import LocalPostgres
public import Logging
public import Postgres
import Synchronization

/// The PostgreSQL server the integration tests use.
///
/// With `DEALER_KPI_TEST_DATABASE_URL` set (a superuser connection), tests create their databases there.
/// Otherwise one throwaway cluster is started per test process under `$TMPDIR/dkpi-tests/p<pid>` and
/// destroyed at exit; clusters left behind by crashed runs (their pid is gone) are stopped and removed first.
public enum TestPostgres {
    public struct Server: Sendable {
        /// Admin (superuser) configuration, database `postgres`.
        public let admin: PostgresConfiguration
        /// The local cluster, when the tests started their own.
        public let cluster: LocalPostgresCluster?
        /// TCP port and superuser password of the local cluster (for password-authentication tests).
        public let tcpPort: Int?
        public let password: String?

        /// Configuration for database `name` on this server.
        public func configuration(database name: String) -> PostgresConfiguration {
            if let cluster { return cluster.configuration(database: name) }
            return admin.with("dbname", name)
        }
    }

    private static let started = Mutex<Task<Server, any Error>?>(nil)
    private static let counter = Atomic<Int>(0)
    static let exitCleanup = Mutex<LocalPostgresCluster?>(nil)

    public static let logger: Logger = {
        var l = Logger(label: "dealer-kpi.tests")
        l.logLevel = .warning
        return l
    }()

    /// Starts (once) and returns the server.
    public static func server() async throws -> Server {
        let task = started.withLock { current -> Task<Server, any Error> in
            if let current { return current }
            let t = Task { try startServer() }
            current = t
            return t
        }
        return try await task.value
    }

    /// Creates an empty database with a unique name and returns its configuration.
    public static func freshDatabase(prefix: String = "t") async throws -> (name: String, configuration: PostgresConfiguration) {
        let server = try await server()
        let n = counter.wrappingAdd(1, ordering: .relaxed).oldValue
        let name = "\(prefix)_\(getpid())_\(n)_\(UInt32.random(in: 0...UInt32.max))"
        let admin = try await PostgresConnection.connect(server.admin, logger: logger)
        try await admin.executeScript("CREATE DATABASE \(PostgresQuery.quoteIdentifier(name)) TEMPLATE template0 ENCODING 'UTF8'")
        await admin.close()
        return (name, server.configuration(database: name))
    }

    /// A private cluster for tests that stop or restart the server. The caller destroys it.
    public static func privateCluster(name: String) throws -> LocalPostgresCluster {
        let root = testRoot().appending(path: "p\(getpid())-\(name)")
        var options = LocalPostgresCluster.Options()
        options.settings = ["fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"]
        let cluster = LocalPostgresCluster(directory: root, options: options, logger: logger)
        try cluster.start()
        return cluster
    }

    static func testRoot() -> URL {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        return URL(fileURLWithPath: base).appending(path: "dkpi-tests")
    }

    private static func startServer() throws -> Server {
        if let url = ProcessInfo.processInfo.environment["DEALER_KPI_TEST_DATABASE_URL"], !url.isEmpty {
            return Server(admin: PostgresConfiguration(connectionString: url), cluster: nil, tcpPort: nil, password: nil)
        }
        let root = testRoot()
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        removeStaleClusters(in: root)
        let password = "pw-\(UInt64.random(in: 0...UInt64.max))"
        let port = try freeTCPPort()
        var options = LocalPostgresCluster.Options()
        options.tcpPort = port
        options.superuserPassword = password
        options.settings = ["fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
                            "max_connections": "300", "shared_buffers": "'256MB'"]
        let cluster = LocalPostgresCluster(directory: root.appending(path: "p\(getpid())"), options: options, logger: logger)
        try cluster.start()
        exitCleanup.withLock { $0 = cluster }
        atexit {
            if let c = TestPostgres.exitCleanup.withLock({ $0 }) { try? c.destroy() }
        }
        return Server(admin: cluster.configuration(), cluster: cluster, tcpPort: port, password: password)
    }

    /// Stops and removes clusters whose owning test process no longer exists.
    private static func removeStaleClusters(in root: URL) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: root.path) else { return }
        for entry in entries where entry.hasPrefix("p") {
            let pidText = entry.dropFirst().prefix { $0.isNumber }
            guard let pid = Int32(pidText), pid != getpid() else { continue }
            if kill(pid, 0) == 0 || errno == EPERM { continue } // still alive
            let stale = LocalPostgresCluster(directory: root.appending(path: entry), logger: logger)
            try? stale.destroy()
        }
    }

    /// A TCP port that is free right now on 127.0.0.1.
    public static func freeTCPPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Resident set size of this process in bytes (Linux `/proc/self/statm`).
    public static func residentMemoryBytes() -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = s.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
