@testable import DealerKPIServices
import Foundation
import Postgres
import Testing
import TestSupport

// Contract 1.1 in the inbox (issue 11): a directory or a zip renamed into the inbox is one upload.

@Suite("Inbox uploads: directories and zips")
struct UploadInboxTests {
    func makeInbox(_ f: ServicesFixture) throws -> InboxProcessor {
        let processor = InboxProcessor(directory: f.scratch.appending(path: "inbox"), ingestor: f.ingestor, instance: "test", logger: TestPostgres.logger)
        try processor.prepare()
        return processor
    }

    /// The files of the first manifest step (at least two, taking the next steps' files when needed), as
    /// (name, corpus path), and that step's receipt time.
    func someFiles(_ f: ServicesFixture) -> (files: [(String, URL)], receivedAt: Date) {
        var files: [(String, URL)] = []
        for step in f.steps {
            for file in step.files { files.append((file.replacingOccurrences(of: "/", with: "_"), f.corpus.appending(path: file))) }
            if files.count >= 2 { break }
        }
        return (files, f.steps[0].receivedAt)
    }

    /// Writes `.NAME` with the files, sets its modification time, renames it to NAME.
    func dropDirectory(_ name: String, files: [(String, URL)], receivedAt: Date, into inbox: URL) throws {
        let hidden = inbox.appending(path: "." + name)
        try FileManager.default.createDirectory(at: hidden, withIntermediateDirectories: true)
        for (n, url) in files { try FileManager.default.copyItem(at: url, to: hidden.appending(path: n)) }
        try Data("ignored".utf8).write(to: hidden.appending(path: ".DS_Store"))
        try FileManager.default.setAttributes([.modificationDate: receivedAt], ofItemAtPath: hidden.path)
        #expect(rename(hidden.path, inbox.appending(path: name).path) == 0)
    }

    /// A zip (made by Python's zipfile: the test target does not link a zip library) with the given entries.
    func dropZip(_ name: String, entries: [(String, URL)], receivedAt: Date, into inbox: URL) throws {
        let tmp = inbox.appending(path: name + ".tmp")
        let script = """
            import sys, zipfile
            with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
                args = sys.argv[2:]
                for i in range(0, len(args), 2):
                    z.write(args[i + 1], args[i])
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, tmp.path] + entries.flatMap { [$0.0, $0.1.path] }
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        try FileManager.default.setAttributes([.modificationDate: receivedAt], ofItemAtPath: tmp.path)
        #expect(rename(tmp.path, inbox.appending(path: name).path) == 0)
    }

    @Test func directoryIsOneUploadWithOneReceipt() async throws {
        let f = try await ServicesFixture.make()
        defer { Task { await f.close() } }
        let inbox = try makeInbox(f)
        let (files, at) = someFiles(f)
        try dropDirectory("day1", files: files, receivedAt: at, into: inbox.directory)
        let pass = try await inbox.runPass()
        #expect(pass.accepted == ["day1"])
        #expect(try await f.count("SELECT count(*) FROM core.ingested_file") == files.count)
        #expect(try await f.count("SELECT count(DISTINCT received_at) FROM core.ingested_file") == 1)
        #expect(try await f.count("SELECT count(*) FROM ops.inbox_receipt WHERE outcome = 'accepted'") == 1)
        let day = InboxDates.businessDay(at)
        #expect(FileManager.default.fileExists(atPath: inbox.processedDirectory.appending(path: "\(day)/day1/\(files[0].0)").path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: inbox.workDirectory.path).isEmpty)
    }

    @Test func zipIsOneUploadAndAZipWithDotDotIsRejected() async throws {
        let f = try await ServicesFixture.make()
        defer { Task { await f.close() } }
        let inbox = try makeInbox(f)
        let (files, at) = someFiles(f)
        try dropZip("evil.zip", entries: [(files[0].0, files[0].1), ("../\(files[1].0)", files[1].1)], receivedAt: at, into: inbox.directory)
        var pass = try await inbox.runPass()
        #expect(pass.rejected == ["evil.zip"])
        #expect(try await f.count("SELECT count(*) FROM core.ingested_file") == 0)
        let errors = try String(contentsOf: inbox.rejectedDirectory.appending(path: "evil.zip.errors.json"), encoding: .utf8)
        #expect(errors.contains("'..'"))

        try dropZip("day1.zip", entries: files.map { ($0.0, $0.1) }, receivedAt: at, into: inbox.directory)
        pass = try await inbox.runPass()
        #expect(pass.accepted == ["day1.zip"])
        #expect(try await f.count("SELECT count(*) FROM core.ingested_file") == files.count)
        #expect(try await f.count("SELECT count(DISTINCT received_at) FROM core.ingested_file") == 1)
        #expect(try await f.count("SELECT count(*) FROM ops.inbox_receipt WHERE outcome = 'accepted'") == 1)
        #expect(try await f.count("SELECT count(*) FROM core.ingested_file WHERE file_name NOT LIKE 'day1.zip/%'") == 0)
    }

    @Test func directoryWithABadFileIsRejectedAsAWhole() async throws {
        let f = try await ServicesFixture.make()
        defer { Task { await f.close() } }
        let inbox = try makeInbox(f)
        let (files, at) = someFiles(f)
        let bad = f.scratch.appending(path: "bad.json")
        try Data(#"{"format": "dealer-daily-report/1", "store": "NOPE1", "business_date": "2026-03-02", "visits": []}"#.utf8).write(to: bad)
        try dropDirectory("mixed", files: files + [("zz-bad.json", bad)], receivedAt: at, into: inbox.directory)
        let pass = try await inbox.runPass()
        #expect(pass.rejected == ["mixed"])
        #expect(try await f.count("SELECT count(*) FROM core.ingested_file") == 0)
        let errors = try JSONSerialization.jsonObject(with: Data(contentsOf: inbox.rejectedDirectory.appending(path: "mixed.errors.json"))) as? [String: Any]
        #expect((errors?["files"] as? [Any])?.count == files.count + 1)
        #expect(FileManager.default.fileExists(atPath: inbox.rejectedDirectory.appending(path: "mixed/zz-bad.json").path))
    }
}
