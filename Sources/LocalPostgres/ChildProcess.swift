import Foundation

/// Runs a program to completion with `posix_spawn` + `waitpid`, output captured through a temporary file.
///
/// Foundation's `Process.waitUntilExit` can hang on Linux when several processes are launched from
/// different threads at once (observed here: children reaped by nobody), and a pipe would stay open in
/// any daemon the child leaves behind (`pg_ctl start`). A file and `waitpid` have neither problem.
/// Blocks the calling thread until the child exits.
enum ChildProcess {
    static func run(_ argv: [String], environment: [String: String]) throws -> (status: Int32, output: String) {
        let outputURL = FileManager.default.temporaryDirectory.appending(path: "dkpi-child-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).out")
        defer { try? FileManager.default.removeItem(at: outputURL) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputURL.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        let cEnv: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArgs, cEnv)
        guard spawned == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .ENOENT)
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .ECHILD) }
        }
        let output = (try? String(contentsOf: outputURL, encoding: .utf8)) ?? ""
        // WIFEXITED / WEXITSTATUS, spelled out (the C macros are not imported).
        let exitCode: Int32 = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return (exitCode, output)
    }
}
