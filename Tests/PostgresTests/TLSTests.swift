import Foundation
import LocalPostgres
import Postgres
import Synchronization
import Testing
import TestSupport

/// TLS to PostgreSQL, against a private cluster that accepts TLS only (`hostssl`; `hostnossl ... reject`),
/// with a server certificate for `localhost` signed by a throwaway CA made at test time with the openssl CLI.
@Suite("TLS to PostgreSQL")
struct TLSTests {
    @Test func verifyFullConnectsAndTheSessionIsEncrypted() async throws {
        let server = try await TLSServer.shared()
        let db = try await PostgresConnection.connect(server.configuration(host: "localhost", sslmode: "verify-full", rootCert: server.caFile))
        let row = try await db.query("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")[0]
        let (ssl, version) = try row.decode((Bool, String?).self)
        await db.close()
        #expect(ssl)
        #expect(version?.hasPrefix("TLS") == true, "\(String(describing: version))")
    }

    @Test func aCertificateFromAnotherCAIsRefusedWithAClearError() async throws {
        let server = try await TLSServer.shared()
        for mode in ["verify-full", "verify-ca"] {
            let error = await connectError(server.configuration(host: "localhost", sslmode: mode, rootCert: server.otherCAFile))
            #expect(error?.kind == .connectionFailed)
            #expect(error?.description.contains("certificate verify failed") == true, "\(String(describing: error))")
            #expect(error.map { !$0.description.contains(server.password) && !String(reflecting: $0).contains(server.password) } == true)
        }
    }

    @Test func aHostNameTheCertificateDoesNotNameFailsUnderVerifyFull() async throws {
        let server = try await TLSServer.shared()
        // The certificate names DNS:localhost only (no IP SAN): 127.0.0.1 does not match.
        let error = await connectError(server.configuration(host: "127.0.0.1", sslmode: "verify-full", rootCert: server.caFile))
        #expect(error?.kind == .connectionFailed)
        #expect(error?.description.contains("does not match host name \"127.0.0.1\"") == true, "\(String(describing: error))")
        #expect(error.map { !$0.description.contains(server.password) } == true)
        // verify-ca checks the chain only, so the same address connects: the name is the only reason above.
        let db = try await PostgresConnection.connect(server.configuration(host: "127.0.0.1", sslmode: "verify-ca", rootCert: server.caFile))
        #expect(try await db.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")[0].decode(Bool.self, column: 0))
        await db.close()
    }

    @Test func aConnectionWithoutTLSIsRefusedByTheServer() async throws {
        let server = try await TLSServer.shared()
        let error = await connectError(server.configuration(host: "localhost", sslmode: "disable", rootCert: nil))
        #expect(error?.kind == .connectionFailed)
        #expect(error?.description.contains("pg_hba.conf rejects connection") == true, "\(String(describing: error))")
        #expect(error?.description.contains("no encryption") == true)
        #expect(error.map { !$0.description.contains(server.password) } == true)
    }

    /// The daemon's configuration path: `DATABASE_URL` with the TLS parameters, through the real binary.
    @Test func theCommandLineMigratesOverVerifiedTLSFromDatabaseURL() async throws {
        let server = try await TLSServer.shared()
        let database = "tls_cli_\(UInt32.random(in: 0...UInt32.max))"
        let admin = try await PostgresConnection.connect(server.configuration(host: "localhost", sslmode: "verify-full", rootCert: server.caFile))
        try await admin.executeScript("CREATE DATABASE \(database)")
        await admin.close()

        let url = "postgresql://postgres:\(server.password)@localhost:\(server.port)/\(database)?sslmode=verify-full&sslrootcert=\(server.caFile.path)"
        let migrate = try await runDealerKPI(["migrate", "--log-level", "debug"], databaseURL: url)
        #expect(migrate.status == 0, "\(migrate.output)")
        let status = try await runDealerKPI(["migrate", "--status", "--log-level", "trace", "--log-format", "json"], databaseURL: url)
        #expect(status.status == 0, "\(status.output)")
        for output in [migrate.output, status.output] { #expect(!output.contains(server.password)) }

        // The schema is there; the server took these sessions over TLS only (pg_hba refuses anything else).
        let check = try await PostgresConnection.connect(server.configuration(host: "localhost", sslmode: "verify-full", rootCert: server.caFile,
                                                                              database: database))
        #expect(try await check.query("SELECT count(*) FROM information_schema.schemata WHERE schema_name IN ('core', 'kpi', 'ops', 'bi')")[0]
            .decode(Int.self, column: 0) == 4)
        await check.close()

        // The same URL with the wrong CA: a clear failure, exit status non-zero, no password in the output.
        let wrongCA = url.replacingOccurrences(of: server.caFile.path, with: server.otherCAFile.path)
        let refused = try await runDealerKPI(["migrate", "--status", "--log-level", "trace"], databaseURL: wrongCA)
        #expect(refused.status != 0)
        #expect(refused.output.contains("certificate verify failed"), "\(refused.output)")
        #expect(!refused.output.contains(server.password))
    }

    // MARK: helpers

    func connectError(_ configuration: PostgresConfiguration) async -> PostgresError? {
        do {
            let db = try await PostgresConnection.connect(configuration)
            await db.close()
            Issue.record("connected, but the connection should have been refused")
            return nil
        } catch {
            return error
        }
    }

    /// Runs `dealer-kpi` (built next to the test bundle) with `DATABASE_URL`; output is stdout and stderr together.
    func runDealerKPI(_ arguments: [String], databaseURL: String) async throws -> (status: Int32, output: String) {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appending(path: "dealer-kpi")
        let log = FileManager.default.temporaryDirectory.appending(path: "dkpi-tls-cli-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: log) }
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        let p = Process()
        p.executableURL = binary
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["DATABASE_URL"] = databaseURL
        for key in env.keys where key.hasPrefix("PG") { env[key] = nil }
        p.environment = env
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        let deadline = ContinuousClock.now + .seconds(120)
        while p.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        if p.isRunning { p.terminate() }
        while p.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        try handle.close()
        return (p.terminationStatus, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }
}

/// One TLS-only cluster per test process, made on first use and destroyed at exit.
struct TLSServer: Sendable {
    let cluster: LocalPostgresCluster
    let port: Int
    let password: String
    let caFile: URL
    let otherCAFile: URL

    private static let started = Mutex<Task<TLSServer, any Error>?>(nil)
    private static let exitCleanup = Mutex<LocalPostgresCluster?>(nil)

    static func shared() async throws -> TLSServer {
        let task = started.withLock { current -> Task<TLSServer, any Error> in
            if let current { return current }
            let t = Task { try await make() }
            current = t
            return t
        }
        return try await task.value
    }

    /// A TCP configuration for the superuser, with the given TLS settings.
    func configuration(host: String, sslmode: String, rootCert: URL?, database: String = "postgres") -> PostgresConfiguration {
        var s = "host=\(host) port=\(port) user=postgres password=\(password) dbname=\(database) sslmode=\(sslmode)"
        if let rootCert { s += " sslrootcert=\(rootCert.path)" }
        // No client certificate or key from the environment or ~/.postgresql may take part.
        s += " sslcert=/nonexistent/client.crt sslkey=/nonexistent/client.key"
        return PostgresConfiguration(connectionString: s, connectTimeoutSeconds: 10)
    }

    private static func make() async throws -> TLSServer {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        let root = URL(fileURLWithPath: base).appending(path: "dkpi-tests")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        // "p<pid>-…": removed by the next test run if this process crashes (see TestPostgres).
        let directory = root.appending(path: "p\(getpid())-tls")
        try? FileManager.default.removeItem(at: directory)
        let tls = directory.appending(path: "tls")
        try FileManager.default.createDirectory(at: tls, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try await Certificates.make(in: tls)

        let port = try TestPostgres.freeTCPPort()
        let password = "tls-pw-\(UInt64.random(in: 0...UInt64.max))"
        var options = LocalPostgresCluster.Options()
        options.tcpPort = port
        options.superuserPassword = password
        options.settings = [
            "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
            "ssl": "on",
            // The cluster directory (certificates included) is handed to the server's OS user, key mode 0600.
            "ssl_cert_file": "'\(tls.appending(path: "server.crt").path)'",
            "ssl_key_file": "'\(tls.appending(path: "server.key").path)'",
        ]
        options.hostBasedAuthentication = """
            # TLS only over TCP; the Unix socket (local administration) trusts.
            local     all all                 trust
            hostssl   all all 127.0.0.1/32    scram-sha-256
            hostnossl all all 127.0.0.1/32    reject
            host      all all ::1/128         reject

            """
        let cluster = LocalPostgresCluster(directory: directory, options: options, logger: TestPostgres.logger)
        try cluster.start()
        exitCleanup.withLock { $0 = cluster }
        atexit {
            if let c = TLSServer.exitCleanup.withLock({ $0 }) { try? c.destroy() }
        }
        return TLSServer(cluster: cluster, port: port, password: password,
                         caFile: tls.appending(path: "ca.pem"), otherCAFile: tls.appending(path: "other-ca.pem"))
    }
}

/// Test certificates made with the openssl CLI: a CA, a server certificate for `localhost` (SAN DNS:localhost
/// only) signed by it, and an unrelated second CA.
enum Certificates {
    static let openssl = "/usr/bin/openssl"

    static func make(in directory: URL) async throws {
        func path(_ name: String) -> String { directory.appending(path: name).path }
        let ext = directory.appending(path: "server.ext")
        try Data("""
            subjectAltName = DNS:localhost
            basicConstraints = critical, CA:FALSE
            keyUsage = critical, digitalSignature, keyEncipherment
            extendedKeyUsage = serverAuth

            """.utf8).write(to: ext)
        for (ca, name) in [("ca", "dealer-kpi test CA"), ("other-ca", "unrelated test CA")] {
            try await run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                           "-keyout", path("\(ca).key"), "-out", path("\(ca).pem"), "-days", "2", "-subj", "/CN=\(name)",
                           "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        }
        try await run(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                       "-keyout", path("server.key"), "-out", path("server.csr"), "-subj", "/CN=localhost"])
        try await run(["x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
                       "-CAcreateserial", "-out", path("server.crt"), "-days", "2", "-extfile", ext.path])
        // The server refuses a key readable by others.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path("server.key"))
    }

    static func run(_ arguments: [String]) async throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: openssl)
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        while p.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        guard p.terminationStatus == 0 else {
            throw CertificateError(message: "openssl \(arguments.prefix(2).joined(separator: " ")) failed with status \(p.terminationStatus)")
        }
    }

    struct CertificateError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}
