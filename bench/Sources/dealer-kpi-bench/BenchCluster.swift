import Foundation
import LocalPostgres
import Postgres

/// A local cluster for benchmarks, with settings closer to a production server than the tests' (fsync on).
enum BenchCluster {
    /// The server settings of every benchmark cluster.
    static let settings = ["shared_buffers": "'512MB'", "max_wal_size": "'4GB'", "checkpoint_timeout": "'30min'"]

    static func start(in workdir: URL) throws -> LocalPostgresCluster {
        try FileManager.default.createDirectory(at: workdir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        var options = LocalPostgresCluster.Options()
        options.settings = settings
        // DKPI_BENCH_LOG_STATEMENTS=MS logs every statement slower than MS milliseconds to the server log
        // (cluster/server.log), to see where a benchmark's time goes.
        if let ms = ProcessInfo.processInfo.environment["DKPI_BENCH_LOG_STATEMENTS"], Int(ms) != nil {
            options.settings["log_min_duration_statement"] = ms
        }
        let cluster = LocalPostgresCluster(directory: workdir.appending(path: "cluster"), options: options)
        try cluster.start()
        return cluster
    }

    /// Runs psql with a script against the cluster; returns wall seconds.
    static func psql(_ cluster: LocalPostgresCluster, database: String, command: String) throws -> Double {
        try psql(conninfo: cluster.connectionString(database: database), command: command)
    }

    /// Runs psql with a script against any server (a password comes from the environment, e.g. PGPASSWORD);
    /// returns wall seconds.
    static func psql(conninfo: String, command: String) throws -> Double {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c", command]
        let started = Date()
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchError("psql failed (\(process.terminationStatus)): \(command)") }
        return Date().timeIntervalSince(started)
    }
}

/// A TCP port free on 127.0.0.1 right now (the kernel's pick for port 0).
func freeTCPPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw BenchError("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw BenchError("cannot find a free TCP port: bind() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func jsonLine(_ object: [String: Any]) -> String {
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    return String(decoding: data, as: UTF8.self)
}
