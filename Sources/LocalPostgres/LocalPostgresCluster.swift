public import Foundation
public import Logging
public import Postgres

/// A PostgreSQL cluster in a directory of our own, driven by `initdb` and `pg_ctl`.
///
/// Layout: `DIR/data` (the cluster), `DIR/run` (its Unix socket), `DIR/server.log`. The server listens on
/// the socket only, unless `tcpPort` is set (then also on 127.0.0.1). When the process runs as root, the
/// directory is handed to the `postgres` OS user and the server binaries run as that user (`initdb`
/// refuses to run as root).
///
/// `start()` creates the cluster if needed, reuses a server already running on it (e.g. left by a crashed
/// run), and starts a stopped one (stale pid files are handled by `pg_ctl`). Value type; `Sendable`; the
/// methods are synchronous and block while the server binaries run.
public struct LocalPostgresCluster: Sendable {
    public struct Options: Sendable {
        /// Superuser name created by `initdb`.
        public var superuser = "postgres"
        /// Password for the superuser, required over TCP (scram-sha-256); the socket uses trust.
        public var superuserPassword: String? = nil
        /// Also listen on 127.0.0.1 at this port (the socket is always on).
        public var tcpPort: Int? = nil
        /// Port number for the socket file name when `tcpPort` is nil.
        public var socketPort = 5432
        /// `postgresql.conf` settings (e.g. `fsync=off` for throwaway test clusters).
        public var settings: [String: String] = [:]
        /// The whole `pg_hba.conf`, replacing the one `initdb` writes (e.g. `hostssl` lines only, for TLS tests);
        /// nil keeps `initdb`'s: trust on the socket, scram-sha-256 over TCP. Applied when the cluster is created.
        public var hostBasedAuthentication: String? = nil
        public init() {}
    }

    public let directory: URL
    public let options: Options
    private let logger: Logger

    public init(directory: URL, options: Options = Options(), logger: Logger = Logger(label: "dealer-kpi.local-postgres")) {
        self.directory = directory.standardizedFileURL
        self.options = options
        self.logger = logger
    }

    public var dataDirectory: URL { directory.appending(path: "data") }
    public var socketDirectory: URL { directory.appending(path: "run") }
    public var logFile: URL { directory.appending(path: "server.log") }
    public var port: Int { options.tcpPort ?? options.socketPort }

    /// Key/value conninfo for the socket, superuser, database `database`.
    public func connectionString(database: String = "postgres") -> String {
        "host=\(socketDirectory.path) port=\(port) user=\(options.superuser) dbname=\(database)"
    }

    public func configuration(database: String = "postgres") -> PostgresConfiguration {
        PostgresConfiguration(connectionString: connectionString(database: database))
    }

    /// Creates (first time) and starts the cluster, or reuses it if it is already running.
    public func start() throws {
        let binaries = try PostgresBinaries.locate()
        let fm = FileManager.default
        let socketPath = socketDirectory.appending(path: ".s.PGSQL.\(port)").path
        guard socketPath.utf8.count < 100 else {
            throw LocalPostgresError.pathTooLong(socketPath)
        }
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        let asRoot = geteuid() == 0
        if asRoot { try checkTraversableByPostgresUser() }

        if !fm.fileExists(atPath: dataDirectory.appending(path: "PG_VERSION").path) {
            try? fm.removeItem(at: dataDirectory)
            try fm.createDirectory(at: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try fm.createDirectory(at: socketDirectory, withIntermediateDirectories: true)
            var initArgs = ["-D", dataDirectory.path, "-U", options.superuser, "-E", "UTF8", "--locale=C",
                            "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync"]
            let pwfile = directory.appending(path: "pwfile")
            if let password = options.superuserPassword {
                try Data(password.utf8).write(to: pwfile)
                initArgs += ["--pwfile", pwfile.path]
            }
            if asRoot { try chownToPostgres(directory) }
            defer { try? fm.removeItem(at: pwfile) }
            try run(binaries.initdb, initArgs, asPostgresUser: asRoot, what: "initdb")
            var conf = "# written by dealer-kpi\n"
            conf += "unix_socket_directories = '\(socketDirectory.path)'\n"
            conf += "port = \(port)\n"
            conf += "listen_addresses = '\(options.tcpPort == nil ? "" : "127.0.0.1")'\n"
            for (k, v) in options.settings.sorted(by: { $0.key < $1.key }) { conf += "\(k) = \(v)\n" }
            let confURL = dataDirectory.appending(path: "postgresql.conf")
            let handle = try FileHandle(forWritingTo: confURL)
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(conf.utf8))
            try handle.close()
            if let hba = options.hostBasedAuthentication {
                try Data(hba.utf8).write(to: dataDirectory.appending(path: "pg_hba.conf"))
            }
            if asRoot { try chownToPostgres(directory) }
        }
        try fm.createDirectory(at: socketDirectory, withIntermediateDirectories: true)
        if asRoot { try chownToPostgres(socketDirectory) }
        if isRunning(binaries) {
            logger.debug("reusing running cluster", metadata: ["dir": "\(directory.path)"])
            return
        }
        logger.info("starting PostgreSQL", metadata: ["dir": "\(directory.path)"])
        try run(binaries.pgCtl, ["-D", dataDirectory.path, "-l", logFile.path, "-w", "-t", "120", "start"],
                asPostgresUser: asRoot, what: "pg_ctl start", logOnFailure: true)
    }

    /// Stops the server (`fast` rolls back sessions; `immediate` is a crash stop, for tests).
    public func stop(mode: String = "fast") throws {
        let binaries = try PostgresBinaries.locate()
        guard isRunning(binaries) else { return }
        try run(binaries.pgCtl, ["-D", dataDirectory.path, "-m", mode, "-w", "-t", "120", "stop"],
                asPostgresUser: geteuid() == 0, what: "pg_ctl stop")
    }

    /// Restarts the server (existing connections are terminated).
    public func restart() throws {
        try stop()
        try start()
    }

    /// Stops the server if running and deletes the directory.
    public func destroy() throws {
        try? stop(mode: "immediate")
        try FileManager.default.removeItem(at: directory)
    }

    public func isRunning() -> Bool {
        guard let b = try? PostgresBinaries.locate() else { return false }
        return isRunning(b)
    }

    private func isRunning(_ binaries: PostgresBinaries) -> Bool {
        guard FileManager.default.fileExists(atPath: dataDirectory.appending(path: "postmaster.pid").path) else { return false }
        return (try? run(binaries.pgCtl, ["-D", dataDirectory.path, "status"], asPostgresUser: geteuid() == 0, what: "pg_ctl status", quiet: true)) != nil
    }

    private func checkTraversableByPostgresUser() throws {
        // The server (as `postgres`) must reach the data and socket directories through every parent.
        var url = directory.deletingLastPathComponent()
        while url.path != "/" {
            if let attrs = try? FileManager.default.attributesOfItem(atPath: url.path),
               let perms = (attrs[.posixPermissions] as? NSNumber)?.intValue,
               perms & 0o001 == 0,
               (attrs[.ownerAccountName] as? String) != "postgres" {
                throw LocalPostgresError.notTraversable(url.path)
            }
            url = url.deletingLastPathComponent()
        }
    }

    private func chownToPostgres(_ url: URL) throws {
        try run(URL(fileURLWithPath: "/bin/chown"), ["-R", "postgres:postgres", url.path], asPostgresUser: false, what: "chown")
    }

    @discardableResult
    private func run(_ executable: URL, _ arguments: [String], asPostgresUser: Bool, what: String, quiet: Bool = false, logOnFailure: Bool = false) throws -> String {
        let argv = asPostgresUser
            ? [PostgresBinaries.runuser, "-u", "postgres", "--", executable.path] + arguments
            : [executable.path] + arguments
        // Locale settings of the caller must not leak into initdb.
        var env = ProcessInfo.processInfo.environment
        env["LC_ALL"] = "C"
        env["LANG"] = "C"
        let (status, text) = try ChildProcess.run(argv, environment: env)
        guard status == 0 else {
            var detail = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if logOnFailure, let log = try? String(contentsOf: logFile, encoding: .utf8) {
                detail += "\n--- \(logFile.path) (last lines) ---\n" + log.split(separator: "\n").suffix(15).joined(separator: "\n")
            }
            if !quiet { logger.error("\(what) failed", metadata: ["status": "\(status)"]) }
            throw LocalPostgresError.commandFailed(what, status: status, output: detail)
        }
        return text
    }
}

/// Where the PostgreSQL server binaries are.
public struct PostgresBinaries: Sendable {
    public var initdb: URL
    public var pgCtl: URL
    static let runuser = "/usr/sbin/runuser"

    /// Looks in PATH, then in the newest `/usr/lib/postgresql/*/bin` (Debian's layout).
    public static func locate() throws -> PostgresBinaries {
        let fm = FileManager.default
        var candidates: [URL] = (ProcessInfo.processInfo.environment["PATH"] ?? "")
            .split(separator: ":").map { URL(fileURLWithPath: String($0)) }
        if let versions = try? fm.contentsOfDirectory(atPath: "/usr/lib/postgresql") {
            for v in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
                candidates.append(URL(fileURLWithPath: "/usr/lib/postgresql/\(v)/bin"))
            }
        }
        for dir in candidates {
            let initdb = dir.appending(path: "initdb"), pgCtl = dir.appending(path: "pg_ctl")
            if fm.isExecutableFile(atPath: initdb.path), fm.isExecutableFile(atPath: pgCtl.path) {
                return PostgresBinaries(initdb: initdb, pgCtl: pgCtl)
            }
        }
        throw LocalPostgresError.binariesMissing
    }
}

public enum LocalPostgresError: Error, CustomStringConvertible, Sendable {
    case binariesMissing
    case commandFailed(String, status: Int32, output: String)
    case pathTooLong(String)
    case notTraversable(String)

    public var description: String {
        switch self {
        case .binariesMissing:
            "PostgreSQL server binaries (initdb, pg_ctl) were not found in PATH or /usr/lib/postgresql/*/bin. Install them, e.g. `apt-get install -y postgresql` (Debian/Ubuntu), or pass --database-url to use an existing server."
        case let .commandFailed(what, status, output):
            "\(what) failed with status \(status): \(output)"
        case let .pathTooLong(path):
            "the Unix socket path \(path) is too long (limit ~100 bytes); use a shorter data directory"
        case let .notTraversable(path):
            "\(path) cannot be entered by the postgres OS user, which runs the server when dealer-kpi runs as root; use a data directory under a world-accessible path such as /var/lib/dealer-kpi or /tmp"
        }
    }
}
