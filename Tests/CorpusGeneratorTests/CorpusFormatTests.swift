import CivilCalendar
import CorpusGenerator
import Foundation
import Testing

@Suite struct CorpusDeterminismTests {
    static func small(seed: UInt64) -> CorpusConfiguration {
        var c = CorpusConfiguration(stores: 6, days: 20, seed: seed)
        c.storesPerRegion = 3
        c.csvRegionShare = 0.5
        c.trafficScale = 0.5
        c.resendShare = 0.1          // re-sends and split uploads are deterministic too
        c.sectionSplitShare = 0.5
        return c
    }

    func contents(_ f: CorpusFixture) throws -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        for p in f.allFiles() { out[p] = try f.read(p) }
        return out
    }

    @Test func sameSeedGivesIdenticalBytes() throws {
        let a = try CorpusFixture.make(Self.small(seed: 7), tag: "det-a")
        let b = try CorpusFixture.make(Self.small(seed: 7), tag: "det-b")
        defer { try? FileManager.default.removeItem(atPath: a.directory); try? FileManager.default.removeItem(atPath: b.directory) }
        let ca = try contents(a), cb = try contents(b)
        #expect(ca.count > 20)
        #expect(Set(ca.keys) == Set(cb.keys))
        for (k, v) in ca { #expect(cb[k] == v, "\(k) differs") }
        var sa = a.summary, sb = b.summary
        sa.seconds = 0; sb.seconds = 0
        #expect(sa == sb)
    }

    /// Pinned digest of a small corpus. It catches nondeterminism across processes (e.g. iteration over a
    /// Dictionary, whose order changes with every process) and across platforms. If you changed the
    /// generator on purpose, update the value (the failure message shows the new one).
    ///
    /// With no re-sends and no split uploads the corpus is the one of the generator before they existed
    /// (same digest): they only add files and steps, never change the data.
    @Test(arguments: [(false, "f66981ab2a3d6a89"), (true, "cfaae2293659cf96")])
    func pinnedDigestOfASmallCorpus(defaultDelivery: Bool, expected: String) throws {
        var c = CorpusConfiguration(stores: 5, days: 16, seed: 99)
        c.trafficScale = 0.4
        if !defaultDelivery {
            c.resendShare = 0
            c.sectionSplitShare = 0
        }
        let f = try CorpusFixture.make(c, tag: "digest")
        defer { try? FileManager.default.removeItem(atPath: f.directory) }
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ bytes: [UInt8]) { for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 } }
        for p in f.allFiles() {
            mix(Array(p.utf8))
            mix(try f.read(p))
        }
        let digest = String(h, radix: 16)
        #expect(digest == expected, "corpus digest is now \(digest)")
    }

    @Test func differentSeedGivesDifferentCorpus() throws {
        let a = try CorpusFixture.make(Self.small(seed: 7), tag: "seed-a")
        let b = try CorpusFixture.make(Self.small(seed: 8), tag: "seed-b")
        defer { try? FileManager.default.removeItem(atPath: a.directory); try? FileManager.default.removeItem(atPath: b.directory) }
        #expect(try a.read("manifest.json") != b.read("manifest.json"))
        #expect(try a.read("master/salespeople.csv") != b.read("master/salespeople.csv"))
    }

    @Test func masterOnlyWritesTheSixFiles() throws {
        let dir = CorpusFixture.temporaryDirectory("master")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = Self.small(seed: 3)
        let s = try SyntheticCorpus.generateMasterData(config, to: dir)
        #expect(s.masterFiles == 6 && s.reportFiles == 0)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir + "/master").sorted()
        #expect(names == ["expenses.csv", "models.csv", "plans.csv", "regions.csv", "salespeople.csv", "stores.csv"])
        #expect(!FileManager.default.fileExists(atPath: dir + "/manifest.json"))
        // The in-memory master data is the one written.
        let m = try SyntheticCorpus.masterData(for: config)
        let stores = String(decoding: try Data(contentsOf: URL(fileURLWithPath: dir + "/master/stores.csv")), as: UTF8.self)
        for st in m.stores { #expect(stores.contains(st.code + "," + st.name)) }
    }

    @Test func refusesANonEmptyDirectoryUnlessOverwriting() throws {
        let dir = CorpusFixture.temporaryDirectory("overwrite")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var c = Self.small(seed: 1)
        c.days = 3
        try SyntheticCorpus.generate(c, to: dir)
        #expect(throws: CorpusGeneratorError.self) { try SyntheticCorpus.generate(c, to: dir) }
        let again = try SyntheticCorpus.generate(c, to: dir, overwrite: true)
        #expect(again.reportFiles > 0)
    }

    @Test func rejectsBadConfigurations() {
        #expect(throws: CorpusGeneratorError.self) { try SyntheticCorpus.masterData(for: CorpusConfiguration(stores: 0, days: 3, seed: 1)) }
        #expect(throws: CorpusGeneratorError.self) { try SyntheticCorpus.masterData(for: CorpusConfiguration(stores: 3, days: 0, seed: 1)) }
        var c = CorpusConfiguration(stores: 3, days: 3, seed: 1)
        c.lateShare = 2
        #expect(throws: CorpusGeneratorError.self) { try SyntheticCorpus.masterData(for: c) }
    }

    @Test(arguments: [1, 2, 3, 30])
    func tinyCorporaAreValid(stores: Int) throws {
        var c = CorpusConfiguration(stores: stores, days: stores == 30 ? 16 : 5, seed: UInt64(stores))
        c.trafficScale = 0.3
        let f = try CorpusFixture.make(c, tag: "tiny")
        defer { try? FileManager.default.removeItem(atPath: f.directory) }
        let reports = try f.reports()
        #expect(reports.count == f.summary.reportedStoreDays + f.summary.corrections)
        for r in reports { #expect(!r.visits.isEmpty && r.date <= r.receivedDay) }
    }
}

@Suite struct CorpusFileFormatTests {
    let fixture: CorpusFixture
    init() throws { fixture = try sharedCorpus.get() }

    @Test func gb18030FilesDecodeAndAreNotUTF8() throws {
        let csvFiles = fixture.allFiles().filter { $0.hasPrefix("csv/") }
        var gb = 0, bom = 0
        for f in csvFiles {
            let bytes = try fixture.read(f)
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
                bom += 1
                #expect(CorpusEncoding.isValidUTF8(Array(bytes.dropFirst(3))))
                continue
            }
            if CorpusEncoding.isValidUTF8(bytes) { continue }
            gb += 1
            let decoded = try #require(CorpusEncoding.utf8(fromGB18030: bytes), "\(f) does not decode as GB18030")
            let text = String(decoding: decoded, as: UTF8.self)
            #expect(text.hasPrefix("store,business_date,"))
            #expect(text.unicodeScalars.contains { $0.value >= 0x4E00 && $0.value <= 0x9FFF }, "\(f): no Chinese text")
            // Re-encoding gives the same bytes (a faithful GB18030 file).
            #expect(CorpusEncoding.gb18030(fromUTF8: decoded) == bytes)
        }
        #expect(gb > 0 && gb == fixture.summary.gb18030Files)
        #expect(bom > 0 && bom == fixture.summary.bomFiles)
        // And Foundation agrees that they are not UTF-8.
        if let f = csvFiles.first(where: { (try? CorpusEncoding.isValidUTF8(fixture.read($0))) == false }) {
            #expect(String(data: Data(try fixture.read(f)), encoding: .utf8) == nil)
        }
    }

    @Test func csvFilesHaveTheExampleShapes() throws {
        let csvFiles = fixture.allFiles().filter { $0.hasPrefix("csv/") }
        let name = try NSRegularExpression(pattern: "^csv/[0-9]{8}-[0-9]{4}_[A-Z0-9]+_(visits|prospects|sales)(_resend)?\\.csv$")
        var totals = 0, blanks = 0
        for f in csvFiles {
            #expect(name.firstMatch(in: f, range: NSRange(f.startIndex..., in: f)) != nil, "file name \(f)")
            let rows = CorpusFixture.parseCSV(try CorpusFixture.decodeCSV(try fixture.read(f)))
            let header = try #require(rows.first)
            let expected = f.contains("_visits") ? 12 : (f.contains("_prospects") ? 13 : 14)
            #expect(header.count == expected)
            for r in rows { #expect(r.count == expected, "\(f): ragged row") }
            if ["合计", "总计", "Total"].contains(rows.last?.first ?? "") { totals += 1 }
            if rows.contains(where: { $0.allSatisfy(\.isEmpty) }) { blanks += 1 }
        }
        #expect(totals > 0 && blanks > 0)
    }

    @Test func jsonReportsHaveTheExampleShape() throws {
        let files = fixture.allFiles().filter { $0.hasSuffix(".json") && $0.hasPrefix("reports/") }
        #expect(!files.isEmpty)
        let name = try NSRegularExpression(pattern: "^reports/([0-9]{4}-[0-9]{2}-[0-9]{2})/([A-Za-z0-9_-]+)_([0-9]{8})(_corr1)?(_resend)?\\.json$")
        for f in files {
            let m = try #require(name.firstMatch(in: f, range: NSRange(f.startIndex..., in: f)), "file name \(f)")
            let dir = String(f[Range(m.range(at: 1), in: f)!]), compact = String(f[Range(m.range(at: 3), in: f)!])
            #expect(dir.replacingOccurrences(of: "-", with: "") == compact)
            let obj = try #require(try JSONSerialization.jsonObject(with: Data(try fixture.read(f))) as? [String: Any])
            #expect(Set(obj.keys) == ["format", "store", "business_date", "visits", "prospects", "sales"])
            #expect(obj["business_date"] as? String == dir)
            #expect(f.contains("/" + (obj["store"] as? String ?? "?") + "_"))
            for v in obj["visits"] as? [[String: Any]] ?? [] {
                let keys = Set(v.keys).union(["party_size"])
                #expect(keys == ["id", "channel", "purpose", "salesperson", "model", "party_size", "existing_card", "existing_order", "new_card", "test_drive"])
            }
            for c in obj["prospects"] as? [[String: Any]] ?? [] {
                #expect(Set(c.keys) == ["card", "created_on", "salesperson", "customer_name", "phone", "model", "level", "source", "status", "closed_on", "lost_reason"])
            }
            for o in obj["sales"] as? [[String: Any]] ?? [] {
                #expect(Set(o.keys) == ["order", "card", "salesperson", "model", "order_date", "status", "delivery_date", "cancel_date", "vin", "list_price", "deal_price", "collected"])
            }
        }
    }

    @Test func manifestListsEveryReportFileExactlyOnce() throws {
        let steps = try fixture.manifest()
        #expect(steps.count == fixture.summary.steps)
        let listed = steps.flatMap(\.files)
        #expect(listed.count == Set(listed).count, "a file is listed twice")
        let onDisk = fixture.allFiles().filter { $0.hasPrefix("reports/") || $0.hasPrefix("csv/") }
        #expect(Set(listed) == Set(onDisk))
        // received_at: RFC 3339 with +08:00, strictly increasing.
        let stamp = try NSRegularExpression(pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:00\\+08:00$")
        for s in steps { #expect(stamp.firstMatch(in: s.receivedAt, range: NSRange(s.receivedAt.startIndex..., in: s.receivedAt)) != nil) }
        for (a, b) in zip(steps, steps.dropFirst()) { #expect(a.receivedAt < b.receivedAt) }
        // The exact example layout (one-space indent).
        let text = String(decoding: try fixture.read("manifest.json"), as: UTF8.self)
        #expect(text.hasPrefix("[\n {\n  \"files\": [\n   \""))
    }

    /// Sections of a store-day share a step, unless their upload was split (`"kind": "section"` steps then
    /// bring the later sections, after the step with the visits). Re-sends are left out (duplicates).
    @Test func csvSectionsOfAStoreDayShareAStep() throws {
        let steps = try fixture.manifest()
        // For every CSV file: which (store, date) pairs it holds.
        var stepsOf: [String: Set<Int>] = [:]          // store|date|section -> steps
        var sectionStepsOf: [String: Set<Int>] = [:]   // the same, for section steps
        for (i, step) in steps.enumerated() where step.kind != "resend" {
            for f in step.files where f.hasPrefix("csv/") {
                let section = f.hasSuffix("_visits.csv") ? "visits" : (f.hasSuffix("_prospects.csv") ? "prospects" : "sales")
                let rows = CorpusFixture.parseCSV(try CorpusFixture.decodeCSV(try fixture.read(f)))
                for r in rows.dropFirst() where r.count > 2 && !r[0].isEmpty && !["合计", "总计", "Total"].contains(r[0]) {
                    if step.kind == "section" {
                        sectionStepsOf[r[0] + "|" + r[1] + "|" + section, default: []].insert(i)
                    } else {
                        stepsOf[r[0] + "|" + r[1] + "|" + section, default: []].insert(i)
                    }
                }
            }
        }
        #expect(!stepsOf.isEmpty)
        for (key, s) in stepsOf where !key.hasSuffix("|visits") {
            let parts = key.split(separator: "|")
            let visitSteps = stepsOf[parts[0] + "|" + parts[1] + "|visits"] ?? []
            #expect(s.isSubset(of: visitSteps), "\(key) is in steps \(s) without its visits (\(visitSteps))")
        }
        for (key, s) in sectionStepsOf {
            let parts = key.split(separator: "|")
            let visitSteps = stepsOf[parts[0] + "|" + parts[1] + "|visits"] ?? []
            // After the first visits of the store-day, before any correction of it (the only other delivery).
            #expect(!key.hasSuffix("|visits"), "\(key) in a section step")
            #expect(visitSteps.contains { $0 < s.min()! }, "\(key) in section steps \(s) (visits: \(visitSteps))")
            #expect((stepsOf[key] ?? []).allSatisfy { $0 > s.max()! }, "\(key) in section steps \(s) and in \(stepsOf[key] ?? [])")
        }
        // A CSV file name carries its upload's receipt time: its step's, or an earlier one for a later
        // section or a re-send.
        for step in steps {
            let stamp = step.receivedAt.prefix(16).replacingOccurrences(of: "-", with: "").replacingOccurrences(of: "T", with: "-").replacingOccurrences(of: ":", with: "")
            for f in step.files where f.hasPrefix("csv/") {
                if step.kind == nil {
                    #expect(f.hasPrefix("csv/" + stamp + "_"), "\(f) in step \(step.receivedAt)")
                } else {
                    #expect(String(f.dropFirst(4).prefix(13)) < stamp, "\(f) in step \(step.receivedAt)")
                }
            }
        }
    }
}

@Suite struct CorpusHelpersTests {
    @Test func iconvRoundTrip() throws {
        let text = "store,合计,王先生,１３９"
        let gb = try #require(CorpusEncoding.gb18030(fromUTF8: Array(text.utf8)))
        #expect(!CorpusEncoding.isValidUTF8(gb))
        #expect(CorpusEncoding.utf8(fromGB18030: gb) == Array(text.utf8))
        #expect(CorpusEncoding.utf8(fromGB18030: [0x81]) == nil) // truncated sequence
        #expect(CorpusEncoding.convert([], from: "UTF-8", to: "GB18030") == [])
    }

    @Test func utf8Validation() {
        #expect(CorpusEncoding.isValidUTF8(Array("abc 汉字 😀".utf8)))
        #expect(!CorpusEncoding.isValidUTF8([0xC0, 0x80]))       // overlong
        #expect(!CorpusEncoding.isValidUTF8([0xED, 0xA0, 0x80])) // surrogate
        #expect(!CorpusEncoding.isValidUTF8([0xE4, 0xB8]))       // truncated
        #expect(!CorpusEncoding.isValidUTF8([0xF4, 0x90, 0x80, 0x80]))
    }

    @Test func csvReaderHandlesQuotesAndCRLF() {
        let rows = CorpusFixture.parseCSV("a,\"b,c\",\"d\"\"e\"\r\n,,\r\n合计,1,\n")
        #expect(rows == [["a", "b,c", "d\"e"], ["", "", ""], ["合计", "1", ""]])
    }
}
