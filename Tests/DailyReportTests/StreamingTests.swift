import CivilCalendar
import DailyReport
import Foundation
import Testing

/// A temporary file removed when the value is dropped.
final class TempFile {
    let path: String

    init(_ contents: [UInt8], ext: String = "csv") throws {
        path = NSTemporaryDirectory() + "dailyreport-test-\(UUID().uuidString).\(ext)"
        try Data(contents).write(to: URL(fileURLWithPath: path))
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

struct Stop: Error, Equatable {
    let at: Int
}

@Suite("Streaming CSV")
struct StreamingTests {
    static let header = "store,business_date,visit_id,channel,purpose,salesperson,model,party_size,existing_card,existing_order,new_card,test_drive\n"

    /// A large visits file whose quoted multi-line fields and multi-byte characters cross the 1 MiB chunks.
    static func bigVisits(rows: Int) -> String {
        var s = header
        s.reserveCapacity(rows * 90)
        for i in 0..<rows {
            let store = i % 3 == 0 ? "HZ001" : "SH001"
            let date = i % 2 == 0 ? "2026-03-04" : "2026-03-05"
            let id = i % 7 == 0 ? "\"V,\(i)\"" : "访客\(i)"
            s += "\(store),\(date),\(id),walk_in,purchase,SH001-S01,T77,\(i % 5 + 1),,false,,\(i % 2 == 0 ? "是" : "否")\r\n"
        }
        return s
    }

    @Test func fileStreamingMatchesInMemoryReading() throws {
        let text = Self.bigVisits(rows: 20_000)
        #expect(text.utf8.count > 1 << 20)
        for data in [bytes(text), encodeGB18030(text)] {
            let file = try TempFile(data)
            let fromFile = try ReportReader.read(path: file.path, fileName: "big.csv", reference: fixtureReference)
            let fromMemory = try ReportReader.read(bytes: data, fileName: "big.csv", reference: fixtureReference)
            #expect(fromFile == fromMemory)
            #expect(fromFile.reports.count == 4)
            #expect(fromFile.reports.reduce(0) { $0 + ($1.visits?.count ?? 0) } == 20_000)
            let last = fromFile.reports.flatMap { $0.visits ?? [] }.max { $0.origin.location.line! < $1.origin.location.line! }
            #expect(last?.origin.location == .line(20_001))
            #expect(fromFile.encoding == (data == bytes(text) ? .utf8 : .gb18030))
        }
    }

    @Test func streamDeliversRecordsWithTheirStoreDay() throws {
        let csv = Self.header + """
        SH001,2026-03-05,V1,walk_in,purchase,SH001-S01,T77,1,,false,,false
        HZ001,2026-03-05,V1,phone,purchase,HZ001-S01,,1,,false,A1,false
        SH001,2026-03-05,V2,event,purchase,SH001-S01,T77,1,,false,,true
        """
        var got: [(StoreDay, String)] = []
        let summary = ReportReader.streamCSV(bytes: bytes(csv), fileName: "v.csv", reference: fixtureReference) { sd, r in
            guard case .visit(let v) = r else { return }
            got.append((sd, v.id))
        }
        #expect(summary.isAccepted)
        #expect(summary.kind == .visits)
        #expect(summary.encoding == .utf8)
        #expect(got.map(\.1) == ["V1", "V1", "V2"])
        #expect(got.map(\.0.store) == ["SH001", "HZ001", "SH001"])
        #expect(summary.storeDays == [StoreDay(store: "HZ001", businessDate: day("2026-03-05")),
                                      StoreDay(store: "SH001", businessDate: day("2026-03-05"))])
        #expect(summary.recordCounts[StoreDay(store: "SH001", businessDate: day("2026-03-05"))] == 2)
    }

    @Test func noRecordsAfterTheFirstIssueAndTheSummaryRejects() throws {
        var csv = Self.header
        for i in 0..<10 { csv += "SH001,2026-03-05,V\(i),walk_in,purchase,SH001-S01,T77,1,,false,,false\n" }
        csv += "SH001,2026-03-05,V3,walk_in,purchase,SH001-S01,T77,1,,false,,false\n"   // duplicate, line 12
        csv += "SH001,2026-03-05,V99,walk_in,purchase,SH001-S01,T77,0,,false,,false\n"  // range, line 13
        csv += "SH001,2026-03-05,V100,walk_in,purchase,SH001-S01,T77,1,,false,,false\n" // fine, but not delivered
        let file = try TempFile(bytes(csv))
        var delivered = 0
        let summary = ReportReader.streamCSV(path: file.path, fileName: "v.csv", reference: fixtureReference) { _, _ in delivered += 1 }
        #expect(delivered == 10)
        let r = try #require(summary.rejection)
        #expect(r.issues.map(\.location) == [.line(12), .line(13)])
        #expect(r.issues.map(\.rule) == [.duplicateId, .range])
        #expect(!summary.isAccepted)
    }

    @Test func callerErrorsPropagateWithTheirType() throws {
        var csv = Self.header
        for i in 0..<10 { csv += "SH001,2026-03-05,V\(i),walk_in,purchase,SH001-S01,T77,1,,false,,false\n" }
        let file = try TempFile(bytes(csv))
        var seen = 0
        #expect(throws: Stop(at: 3)) {
            _ = try ReportReader.streamCSV(path: file.path, reference: nil) { (_, _) throws(Stop) in
                seen += 1
                if seen == 3 { throw Stop(at: 3) }
            }
        }
        #expect(seen == 3)
    }

    @Test func unreadableAndEncodingFailures() throws {
        let missing = ReportReader.streamCSV(path: "/nonexistent/dir/x.csv", reference: nil) { _, _ in }
        #expect(missing.rejection?.issues.map(\.rule) == [.io])
        #expect(throws: FileRejected.self) { try ReportReader.read(path: "/nonexistent/x.json", reference: nil) }
        #expect(throws: FileRejected.self) { try MasterDataReader.read(path: "/nonexistent/x.csv") }

        var b = bytes(Self.header + "SH001,2026-03-05,V1,walk_in,purchase,SH001-S01,T77,1,,false,,false\n")
        b += [0xFF, 0x0A]
        let file = try TempFile(b)
        let bad = ReportReader.streamCSV(path: file.path, reference: nil) { _, _ in Issue.record("delivered a record") }
        #expect(bad.rejection?.issues.map(\.rule) == [.encoding])
        #expect(bad.rejection?.issues.first?.location == .line(3))
        #expect(bad.encoding == nil)
    }

    @Test func readByPathChoosesTheForm() throws {
        let json = try TempFile(bytes(jsonReport(.visits, [baseVisit])), ext: "json")
        #expect(try ReportReader.read(path: json.path, reference: fixtureReference).form == .json)
        // Unknown extension: sniffed.
        let sniffJSON = try TempFile(bytes("\n  " + jsonReport(.visits, [baseVisit])), ext: "txt")
        #expect(try ReportReader.read(path: sniffJSON.path, reference: fixtureReference).form == .json)
        let sniffCSV = try TempFile(bytes(csvFile(.visits, [baseVisit])), ext: "txt")
        #expect(try ReportReader.read(path: sniffCSV.path, reference: fixtureReference).form == .csv(.visits))
    }
}
