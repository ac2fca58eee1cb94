import CivilCalendar
@testable import DailyReport
import Foundation
import Testing

// Hostile input at the reader level (issue 6 §2, §3): the maximum report size, the JSON depth ceiling,
// and regression inputs found by bench/fuzz. The ingest-level corpus is Tests/WarehouseTests/HostileInputTests.swift.

@Suite("Hostile input: readers")
struct HostileParserTests {
    static let json = jsonReport(.visits, [baseVisit])
    static let csv = csvFile(.visits, [baseVisit])

    func expectTooLarge(_ issues: [ValidationIssue], file: String, size: Int, limit: Int,
                        sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(issues.count == 1, "\(issues)", sourceLocation: sourceLocation)
        guard let i = issues.first else { return }
        #expect(i.rule == .fileTooLarge, sourceLocation: sourceLocation)
        #expect(i.file == file, sourceLocation: sourceLocation)
        #expect(i.location == .wholeFile, sourceLocation: sourceLocation)
        #expect(i.field == nil && i.value == nil, sourceLocation: sourceLocation)
        #expect(i.message.contains("\(size) bytes") && i.message.contains("maximum report size is \(limit) bytes"), "\(i)",
                sourceLocation: sourceLocation)
    }

    @Test func theDefaultMaximumIs64MiB() {
        #expect(ReadOptions().maxFileBytes == 64 << 20)
        #expect(ReadOptions.defaultMaxFileBytes == 64 << 20)
    }

    @Test(arguments: [("r.json", HostileParserTests.json), ("r.csv", HostileParserTests.csv)])
    func aFileAtTheLimitIsReadAndOneByteMoreIsRejected(_ name: String, _ text: String) throws {
        let size = text.utf8.count
        let atLimit = ReadOptions(maxFileBytes: size)
        let over = ReadOptions(maxFileBytes: size - 1)
        let ext = String(name.split(separator: ".").last!)

        // In memory.
        #expect(readReport(text, name: name, options: atLimit).file != nil)
        expectTooLarge(readReport(text, name: name, options: over).issues, file: name, size: size, limit: size - 1)

        // From disk (the size comes from stat: nothing is read).
        let file = try TempFile(bytes(text), ext: ext)
        #expect(throws: Never.self) { try ReportReader.read(path: file.path, fileName: name, reference: fixtureReference, options: atLimit) }
        do {
            _ = try ReportReader.read(path: file.path, fileName: name, reference: fixtureReference, options: over)
            Issue.record("accepted a file over the limit")
        } catch {
            expectTooLarge(error.issues, file: name, size: size, limit: size - 1)
        }
    }

    @Test func streamingCSVRejectsAnOversizedFileBeforeReadingIt() throws {
        let text = Self.csv
        let size = text.utf8.count
        let file = try TempFile(bytes(text))
        let options = ReadOptions(maxFileBytes: size - 1)
        let summary = ReportReader.streamCSV(path: file.path, fileName: "v.csv", reference: fixtureReference, options: options) { _, _ in
            Issue.record("delivered a record of an oversized file")
        }
        #expect(summary.kind == nil && summary.encoding == nil && summary.recordCounts.isEmpty)
        expectTooLarge(summary.rejection?.issues ?? [], file: "v.csv", size: size, limit: size - 1)
        let inMemory = ReportReader.streamCSV(bytes: bytes(text), fileName: "v.csv", reference: fixtureReference, options: options) { _, _ in
            Issue.record("delivered a record of an oversized file")
        }
        expectTooLarge(inMemory.rejection?.issues ?? [], file: "v.csv", size: size, limit: size - 1)
        // The header sniffing of the ingestor (which then lets streamCSV say why) reads nothing either.
        #expect(ReportReader.csvSectionKind(path: file.path, options: options) == nil)
        #expect(ReportReader.csvSectionKind(path: file.path) == .visits)
    }

    @Test func masterDataHasTheSameLimit() throws {
        let text = "region_code,region_name\nEAST,华东\n"
        let file = try TempFile(bytes(text))
        let options = ReadOptions(maxFileBytes: 10)
        #expect(throws: Never.self) { try MasterDataReader.read(path: file.path) }
        do {
            _ = try MasterDataReader.read(path: file.path, fileName: "regions.csv", options: options)
            Issue.record("accepted")
        } catch {
            expectTooLarge(error.issues, file: "regions.csv", size: text.utf8.count, limit: 10)
        }
        do {
            _ = try MasterDataReader.read(bytes: bytes(text), fileName: "regions.csv", options: options)
            Issue.record("accepted")
        } catch {
            expectTooLarge(error.issues, file: "regions.csv", size: text.utf8.count, limit: 10)
        }
    }

    /// A file that grows after its size was checked costs at most the limit plus one chunk.
    @Test func readingStopsAtTheLimitEvenWithoutStat() throws {
        let file = try TempFile([UInt8](repeating: 0x20, count: 3 * ChunkedFile.chunkSize))
        #expect(throws: ChunkedFile.TooLarge.self) { try ChunkedFile.readAll(path: file.path, limit: ChunkedFile.chunkSize + 1) }
        #expect(try ChunkedFile.readAll(path: file.path, limit: 3 * ChunkedFile.chunkSize).count == 3 * ChunkedFile.chunkSize)
        #expect(ChunkedFile.size(path: file.path) == 3 * ChunkedFile.chunkSize)
        #expect(ChunkedFile.size(path: "/nonexistent/x") == nil)
    }

    /// A device that never ends (or a FIFO) is not read at all: it is over every size limit.
    @Test func anEndlessDeviceIsRejectedWithoutReading() {
        #expect(ChunkedFile.size(path: "/dev/zero") == .max)
        for name in ["zero.json", "zero.csv"] {
            do {
                _ = try ReportReader.read(path: "/dev/zero", fileName: name, reference: fixtureReference)
                Issue.record("accepted /dev/zero")
            } catch {
                #expect(error.rules == [.fileTooLarge])
                #expect(error.issues.first?.message.contains("not a regular file") == true, "\(error)")
            }
        }
        let summary = ReportReader.streamCSV(path: "/dev/zero", fileName: "zero.csv", reference: nil) { _, _ in }
        #expect(summary.rejection?.rules == [.fileTooLarge])
        #expect(ReportReader.csvSectionKind(path: "/dev/zero") == nil)
        #expect((try? MasterDataReader.read(path: "/dev/zero")) == nil)
    }

    // MARK: inputs bench/fuzz produced (each stopped a fuzz run; none was a reader bug, see docs/testing.md)

    /// A cell of 300 NULs: one `control_character` issue whose value shows the first 200 characters
    /// escaped, then `…` (the harness first assumed a cut at 200 displayed characters).
    @Test func aLongRunOfControlCharactersIsEscapedAndCut() {
        let csv = "store,business_date,visit_id,channel,purpose,salesperson\nSH001,2026-03-05,V1,walk_in" + String(repeating: "\u{0}", count: 300) + ",purchase,SH001-S01\n"
        let issue = expectSingleIssue(readReport(csv, name: "v.csv"), file: "v.csv", location: .line(2), field: "channel", rule: .controlCharacter)
        #expect(issue?.value == "walk_in" + String(repeating: "\\u{0}", count: 193) + "…")
    }

    /// Numbers beyond Double's range are valid JSON syntax (we keep the literal; field rules judge it),
    /// where Foundation's parser refuses them; trailing commas are a syntax error to us, not to Foundation.
    @Test func jsonCornersWhereFoundationDiffers() throws {
        guard case .success(.number(let n)) = parseJSON("11e9199") else { Issue.record("11e9199 did not parse"); return }
        #expect(n == "11e9199")
        guard case .failure(let e) = parseJSON("{\"a\": 1,}") else { Issue.record("a trailing comma parsed"); return }
        #expect(e.rule == .jsonSyntax && e.offset == 8)
        let report = readReport(jsonReport(.visits, [applying(baseVisit, [("party_size", .raw("11e9199"))])]), name: "r.json")
        #expect(report.issues.map(\.rule) == [.integerFormat])
    }

    /// Asking for a huge depth limit must not let 100,000 levels exhaust the stack: the parser stops at
    /// the ceiling. (Without the ceiling this test crashes the process.)
    @Test func theDepthLimitHasACeiling() {
        let text = "{\"format\": \"dealer-daily-report/1\", \"visits\": " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        let outcome = readReport(text, name: "deep.json", options: ReadOptions(maxJSONDepth: 1_000_000))
        let column = "{\"format\": \"dealer-daily-report/1\", \"visits\": ".count + ReadOptions.jsonDepthCeiling // 1 level is the report
        expectSingleIssue(outcome, file: "deep.json", location: .textPosition(line: 1, column: column), field: nil, rule: .nestingDepth)
        #expect(outcome.issues.first?.message.contains("\(ReadOptions.jsonDepthCeiling)") == true)
        // Within the ceiling, the configured limit applies.
        let shallow = readReport(text, name: "deep.json", options: ReadOptions(maxJSONDepth: 10))
        #expect(shallow.issues.first?.location == .textPosition(line: 1, column: column - ReadOptions.jsonDepthCeiling + 10))
    }
}
