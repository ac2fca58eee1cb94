import DealerKPIServices
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Postgres
import Synchronization
import Testing
import TestSupport
import Warehouse

/// Secrets and customer data never reach the output of the real `dealer-kpi` binary: every command of a
/// working day (migrate, load, tokens issue, ingest good and bad files, serve with uploads, refusals, inbox
/// files, a job run, aggregate, a failed database login), at trace and debug level, text and JSON logs. All of
/// standard output and standard error is captured and searched.
@Suite("Secrets never appear in logs (real binary)", .serialized)
struct SecretsInLogsTests {
    static let piiKey = "PIIKEY-recognizable-5e1f9a7c3b"
    static let configuredOperatorToken = "OPTOKEN-recognizable-8d2c4e6a0f"
    static let wrongPassword = "WRONGPW-recognizable-1a3c5e7f9b"
    static let customerNames = ["司马相如", "诸葛孔明", "欧阳修文"]
    static let phones = ["+86 138-1234-9876", "13600001234", "139 5555 0001"]
    /// Every way a phone number above could show up.
    static let phoneNeedles = ["13812349876", "138-1234-9876", "1234-9876", "12349876", "13600001234", "00001234",
                               "13955550001", "5555 0001", "55550001"]

    @Test(arguments: [(LogFormat.text, "trace"), (LogFormat.json, "debug")])
    func aWorkingDayLogsNoSecret(format: LogFormat, level: String) async throws {
        let server = try await TestPostgres.server()
        let port = try #require(server.tcpPort, "needs the tests' own cluster (TCP port and superuser password)")
        let password = try #require(server.password)
        let fresh = try await TestPostgres.freshDatabase(prefix: "logs")
        let scratch = FileManager.default.temporaryDirectory.appending(path: "dkpi-logs-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let run = Runner(scratch: scratch, format: format, level: level)

        // Text runs pass the password inside the URL; JSON runs pass it beside the URL (PGPASSWORD for the
        // commands, DEALER_KPI_DB_PASSWORD for the daemon): both ways must stay out of the output.
        let withPassword = "postgresql://postgres:\(password)@127.0.0.1:\(port)/\(fresh.name)"
        let withoutPassword = "postgresql://postgres@127.0.0.1:\(port)/\(fresh.name)"
        var env = ["DEALER_KPI_PII_KEY": Self.piiKey]
        if format == .text { env["DATABASE_URL"] = withPassword } else { env["DATABASE_URL"] = withoutPassword; env["PGPASSWORD"] = password }

        #expect(try await run(["migrate"], env: env).status == 0)
        let master = try writeMasterData(in: scratch)
        #expect(try await run(["load"] + master, env: env).status == 0)

        // Tokens: the secret is the last line of standard output of `tokens issue`, and nowhere else.
        var issued: [String] = []
        for args in [["--store", "S1", "--label", "front desk"], ["--store", "S2"], ["--operator"]] {
            let r = try await run(["tokens", "issue"] + args, env: env)
            #expect(r.status == 0, "\(r.stderr)")
            let token = try #require(r.stdout.split(separator: "\n").last.map(String.init))
            #expect(token.hasPrefix("dkpi_") && token.count == 48)
            #expect(r.stdout.components(separatedBy: token).count == 2 && !r.stderr.contains(token))
            issued.append(token)
        }
        let (s1, s2, op) = (issued[0], issued[1], issued[2])
        #expect(try await run(["tokens", "list"], env: env).status == 0)

        // Ingest from the command line: one good file, two bad ones (all carrying names and phone numbers).
        let date = HTTPTestEnv.reportDate
        let good = scratch.appending(path: "good.json")
        try Data(reportJSON(store: "S1", customerName: Self.customerNames[0], phone: Self.phones[0]).utf8).write(to: good)
        let badJSON = scratch.appending(path: "bad.json")
        try Data(reportJSON(store: "S1", salesperson: "S1-99", customerName: Self.customerNames[1] + "\u{1}", phone: Self.phones[1] + "x",
                            visitID: "V7").utf8).write(to: badJSON)
        let badCSV = scratch.appending(path: "bad.csv")
        try Data("""
            store,business_date,card,created_on,salesperson,customer_name,phone,model,level,source,status,closed_on,lost_reason
            S1,\(date),A-S1-9,\(date),S1-01,\(Self.customerNames[2]),\(Self.phones[2]),M1,Z,walk_in,open,,
            S1,\(date),A-S1-10,\(date),S1-01,\(Self.customerNames[2]),\(Self.phones[2]),M1,H,walk_in,open,,,ragged

            """.utf8).write(to: badCSV)
        #expect(try await run(["ingest", good.path], env: env).status == 0)
        #expect(try await run(["ingest", "--json", badJSON.path, badCSV.path], env: env).status == 1)
        #expect(try await run(["ingest", badJSON.path], env: env).status == 1)

        // The daemon, with a configured operator token, over HTTP and its inbox.
        let inbox = scratch.appending(path: "inbox")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        var daemonEnv = env
        daemonEnv["DEALER_KPI_OPERATOR_TOKEN"] = Self.configuredOperatorToken
        if format == .json { daemonEnv["PGPASSWORD"] = nil; daemonEnv["DEALER_KPI_DB_PASSWORD"] = password }
        let httpPort = try TestPostgres.freeTCPPort()
        let daemon = try run.start(["serve", "--inbox", inbox.path, "--http", "127.0.0.1:\(httpPort)"], env: daemonEnv)
        defer { daemon.forceKill() }
        let base = "http://127.0.0.1:\(httpPort)"
        #expect(try await waitUntil(.seconds(60)) { await HTTP.status(base + "/readyz") == 200 })

        let json = "application/json"
        #expect(await HTTP.status(base + "/v1/reports?file_name=up.json", method: "POST", token: s1, type: json,
                                  body: reportJSON(store: "S1", customerName: Self.customerNames[0], phone: Self.phones[0], visitID: "V2")) == 200)
        #expect(await HTTP.status(base + "/v1/reports", method: "POST", token: s1, type: json,
                                  body: reportJSON(store: "S1", salesperson: "S1-99", customerName: Self.customerNames[1], phone: Self.phones[1])) == 422)
        #expect(await HTTP.status(base + "/v1/reports", method: "POST", token: s1, type: json,
                                  body: reportJSON(store: "S2", customerName: Self.customerNames[2], phone: Self.phones[2])) == 403)
        #expect(await HTTP.status(base + "/v1/reports", method: "POST", token: s2, type: "text/csv",
                                  body: try String(contentsOf: badCSV, encoding: .utf8).replacingOccurrences(of: "S1", with: "S2")) == 422)
        let forged = String(s2.dropLast()) + (s2.last == "A" ? "B" : "A")
        #expect(await HTTP.status(base + "/v1/reports", method: "POST", token: forged, type: json, body: reportJSON(store: "S2")) == 401)
        #expect(await HTTP.status(base + "/v1/kpis?level=store&grain=day", token: s1) == 403)
        #expect(await HTTP.status(base + "/v1/kpis?level=store&grain=day", token: op) == 200)
        #expect(await HTTP.status(base + "/v1/kpis?level=store&grain=day&store=S1", token: Self.configuredOperatorToken) == 200)
        #expect(await HTTP.status(base + "/v1/kpis?level=store&grain=day", token: Self.configuredOperatorToken + "x") == 401)
        #expect(await HTTP.status(base + "/v1/jobs/refresh/runs", method: "POST", token: op) == 202)
        for (name, text) in [("inbox-good.json", reportJSON(store: "S2", customerName: Self.customerNames[2], phone: Self.phones[2])),
                             ("inbox-bad.json", reportJSON(store: "S2", salesperson: "S2-99", customerName: Self.customerNames[1], phone: Self.phones[1]))] {
            let tmp = inbox.appending(path: name + ".tmp")
            try Data(text.utf8).write(to: tmp)
            #expect(rename(tmp.path, inbox.appending(path: name).path) == 0)
        }
        let admin = try await PostgresConnection.connect(fresh.configuration, logger: TestPostgres.logger)
        func count(_ sql: String) async throws -> Int { try await admin.query(PostgresQuery(unsafeSQL: sql))[0].decode(Int.self, column: 0) }
        #expect(try await waitUntil(.seconds(60)) { try await count("SELECT count(*) FROM ops.inbox_receipt") == 2 })
        #expect(try await waitUntil(.seconds(60)) {
            try await count("SELECT count(*) FROM ops.job_request r JOIN ops.job_run j USING (run_id) WHERE j.status = 'succeeded'") == 1
        })
        daemon.sendTerminate()
        #expect(await daemon.waitForExit(.seconds(40)) == 0)

        #expect(try await run(["aggregate"], env: env).status == 0)
        #expect(try await run(["jobs", "run", "refresh"], env: env).status == 0)
        // A failed login: the wrong password is a secret too.
        var wrong = env
        if format == .text {
            wrong["DATABASE_URL"] = withPassword.replacingOccurrences(of: password, with: Self.wrongPassword)
        } else {
            wrong["PGPASSWORD"] = Self.wrongPassword
        }
        let failed = try await run(["migrate", "--status"], env: wrong)
        #expect(failed.status != 0)
        #expect(failed.stderr.contains("password authentication failed"), "\(failed.stderr)")

        // What ingest stored (keyed hashes, masked names): none of it may be logged either.
        let hashes = try await admin.query("SELECT phone_hash FROM core.prospect_card WHERE phone_hash IS NOT NULL")
            .map { try $0.decode(String.self, column: 0) }
        #expect(hashes.count >= 2)
        await admin.close()

        // The search.
        let everything = run.outputs.withLock { $0 }
        let all = everything.map { $0.text }.joined(separator: "\n")
        var forbidden: [(String, String)] = [("PII key", Self.piiKey), ("DB password", password), ("wrong DB password", Self.wrongPassword),
                                             ("configured operator token", Self.configuredOperatorToken), ("forged token", forged)]
        for (i, token) in issued.enumerated() {
            forbidden.append(("issued token \(i) body", String(token.dropFirst(5).prefix(24))))
        }
        for name in Self.customerNames { forbidden.append(("customer name", name)) }
        for phone in Self.phoneNeedles { forbidden.append(("phone", phone)) }
        for hash in hashes { forbidden.append(("phone hash", String(hash.prefix(16)))) }
        for output in everything {
            // The one sanctioned appearance: `tokens issue` prints the new token once, on standard output.
            var text = output.text
            if output.arguments.starts(with: ["tokens", "issue"]) {
                for token in issued { text = text.replacingOccurrences(of: token, with: "<the issued token>") }
            }
            for (what, needle) in forbidden {
                #expect(!text.contains(needle), "\(what) in the output of dealer-kpi \(output.arguments.prefix(2).joined(separator: " "))")
            }
        }
        // The search ran over real, detailed output.
        #expect(everything.count == 13)
        #expect(all.contains("http request") && all.contains("/v1/reports") && all.contains("rejected"))
        #expect(all.contains("password authentication failed"))
        if format == .json {
            let lines = everything.filter { $0.arguments.first == "serve" }.flatMap { $0.stderr.split(separator: "\n") }
            #expect(lines.count > 10)
            #expect(lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) is [String: Any] })
        } else {
            #expect(all.contains("trace") || all.contains("debug"))
        }
    }

    /// Descriptions, debug descriptions and `dump()` of everything that holds a secret, and the error of a
    /// failed login.
    @Test func descriptionsDumpsAndErrorsShowNoSecret() async throws {
        func renderings(_ value: Any) -> [String] {
            var dumped = ""
            dump(value, to: &dumped)
            return [String(describing: value), String(reflecting: value), dumped]
        }
        let secret = "s3cret-VALUE-42"
        // libpq allows spaces around `=` and quoted values; every spelling is redacted.
        for conninfo in ["host=db password=\(secret) dbname=kpi", "host=db password = \(secret) dbname=kpi", "host=db password= \(secret)",
                         "host=db password ='\(secret) with spaces' dbname=kpi", "host=db password='it\\'s \(secret)' dbname=kpi",
                         "host=db sslpassword=\(secret) sslkey=/k", "postgresql://u:\(secret)@db/kpi?sslmode=verify-full",
                         "postgresql://u@db/kpi?password=\(secret)&sslmode=require"] {
            let c = PostgresConfiguration(connectionString: conninfo)
            for text in renderings(c) + [c.redactedDescription] {
                #expect(!text.contains(secret), "\(text)")
            }
            #expect(c.redactedDescription.contains("db"))
        }
        #expect(PostgresConfiguration(connectionString: "host=db password = \(secret) dbname=kpi").redactedDescription == "host=db password = *** dbname=kpi")

        let settings = IngestSettings(piiKey: Array(Self.piiKey.utf8))
        for text in renderings(settings) { #expect(!text.contains(Self.piiKey) && !text.contains("5e1f9a7c3b"), "\(text)") }

        var configuration = DaemonConfiguration(database: PostgresConfiguration(connectionString: "host=db password=\(secret)"))
        configuration.piiKey = Secret(Self.piiKey)
        configuration.operatorToken = Secret(Self.configuredOperatorToken)
        for text in renderings(configuration) + renderings(Secret(secret)) {
            for needle in [secret, Self.piiKey, Self.configuredOperatorToken] { #expect(!text.contains(needle), "\(text)") }
        }

        // A secret file that cannot be read: the error names the file and the variable, not a value.
        let loaded = Result { try DaemonConfiguration.load(file: nil, environment: ["DEALER_KPI_PII_KEY_FILE": "/nonexistent/\(UUID().uuidString)",
                                                                                    "DEALER_KPI_OPERATOR_TOKEN": Self.configuredOperatorToken]) }
        if case .failure(let error) = loaded {
            #expect("\(error)".contains("DEALER_KPI_PII_KEY") && !"\(error)".contains(Self.configuredOperatorToken))
        } else {
            Issue.record("an unreadable secret file was accepted")
        }

        // A failed login over TCP: the error says why, never the password tried.
        let server = try await TestPostgres.server()
        let port = try #require(server.tcpPort)
        do {
            let db = try await PostgresConnection.connect(PostgresConfiguration(
                connectionString: "host=127.0.0.1 port=\(port) user=postgres dbname=postgres password=\(Self.wrongPassword)"))
            await db.close()
            Issue.record("logged in with a wrong password")
        } catch {
            #expect(error.description.contains("password authentication failed"), "\(error)")
            for text in renderings(error) { #expect(!text.contains(Self.wrongPassword), "\(text)") }
        }
    }

    // MARK: helpers

    func writeMasterData(in directory: URL) throws -> [String] {
        let files: [(String, String)] = [
            ("regions.csv", "region_code,region_name\nEAST,华东大区\n"),
            ("stores.csv", "store_code,store_name,region_code,city,opened_on,closed_on\nS1,上海一号店,EAST,上海,2020-01-01,\nS2,杭州二号店,EAST,杭州,2020-01-01,\n"),
            ("salespeople.csv", "salesperson_code,name,store_code,hired_on,left_on\nS1-01,王强,S1,2020-01-01,\nS2-01,赵敏,S2,2020-01-01,\n"),
            ("models.csv", "model_code,model_name,segment\nM1,华驰 S50,紧凑型轿车\n"),
        ]
        return try files.map { name, text in
            let url = directory.appending(path: name)
            try Data(text.utf8).write(to: url)
            return url.path
        }
    }

    func waitUntil(_ timeout: Duration, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return false
    }
}

/// Runs the `dealer-kpi` binary with the run's log options and keeps every output.
final class Runner: Sendable {
    struct Output: Sendable {
        let arguments: [String]
        let stdout: String
        let stderr: String
        var text: String { stdout + "\n" + stderr }
    }

    let scratch: URL
    let format: LogFormat
    let level: String
    let outputs = Mutex<[Output]>([])

    init(scratch: URL, format: LogFormat, level: String) {
        self.scratch = scratch
        self.format = format
        self.level = level
    }

    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appending(path: "dealer-kpi")
    }

    /// A started child; its output is recorded in the runner once, when it has ended.
    final class Child: Sendable {
        let process: Process
        let arguments: [String]
        let out: URL
        let err: URL
        let runner: Runner
        private let recorded = Mutex(false)

        init(process: Process, arguments: [String], out: URL, err: URL, runner: Runner) {
            self.process = process
            self.arguments = arguments
            self.out = out
            self.err = err
            self.runner = runner
        }

        func sendTerminate() { kill(process.processIdentifier, SIGTERM) }
        func forceKill() { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        func waitForExit(_ timeout: Duration) async -> Int32? {
            let deadline = ContinuousClock.now + timeout
            while process.isRunning {
                if ContinuousClock.now > deadline { return nil }
                try? await Task.sleep(for: .milliseconds(50))
            }
            _ = record()
            return process.terminationStatus
        }

        @discardableResult
        func record() -> Output {
            let o = Output(arguments: arguments, stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                           stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
            if recorded.withLock({ r in defer { r = true }; return !r }) { runner.outputs.withLock { $0.append(o) } }
            return o
        }
    }

    func start(_ arguments: [String], env: [String: String]) throws -> Child {
        let id = UUID().uuidString.prefix(8)
        let out = scratch.appending(path: "out-\(id)"), err = scratch.appending(path: "err-\(id)")
        for f in [out, err] { _ = FileManager.default.createFile(atPath: f.path, contents: nil) }
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = arguments + ["--log-level", level, "--log-format", format.rawValue]
        var environment = ProcessInfo.processInfo.environment
        for key in environment.keys where key.hasPrefix("PG") || key.hasPrefix("DEALER_KPI_") || key == "DATABASE_URL" {
            environment[key] = nil
        }
        environment.merge(env) { _, new in new }
        p.environment = environment
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        try p.run()
        return Child(process: p, arguments: arguments, out: out, err: err, runner: self)
    }

    /// Runs to completion (at most two minutes).
    func callAsFunction(_ arguments: [String], env: [String: String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try start(arguments, env: env)
        guard let status = await child.waitForExit(.seconds(120)) else {
            child.forceKill()
            throw CancellationError()
        }
        let o = child.record()
        return (status, o.stdout, o.stderr)
    }
}

enum HTTP {
    /// The status of one request, or nil when there was no answer.
    static func status(_ url: String, method: String = "GET", token: String? = nil, type: String? = nil, body: String? = nil) async -> Int? {
        guard let url = URL(string: url) else { return nil }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 30
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let type { request.setValue(type, forHTTPHeaderField: "Content-Type") }
        if let body { request.httpBody = Data(body.utf8) }
        guard let (_, response) = try? await URLSession.shared.data(for: request) else { return nil }
        return (response as? HTTPURLResponse)?.statusCode
    }
}
