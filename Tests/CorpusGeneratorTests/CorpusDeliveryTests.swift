import CivilCalendar
import CorpusGenerator
import Foundation
import Testing

/// Re-sends and split section uploads (contract 1.1, section 5 "Duplicates, sections and uploads"): the
/// generator delivers the same data in more steps, and the manifest says what each extra step is.
@Suite struct CorpusDeliveryTests {
    static func config(seed: UInt64, resend: Double, split: Double) -> CorpusConfiguration {
        var c = CorpusConfiguration(stores: 8, days: 21, seed: seed)
        c.storesPerRegion = 4              // 2 regions, one of them CSV
        c.csvRegionShare = 0.5
        c.correctionShare = 0.1
        c.trafficScale = 0.5
        c.resendShare = resend
        c.sectionSplitShare = split
        return c
    }

    /// Minutes since the epoch, business time, of "YYYY-MM-DDTHH:MM:00+08:00".
    static func minutes(_ receivedAt: String) throws -> Int {
        let day = try #require(CalendarDate(iso: receivedAt.prefix(10)))
        let hh = Int(receivedAt.dropFirst(11).prefix(2))!, mm = Int(receivedAt.dropFirst(14).prefix(2))!
        return day.daysSinceEpoch * 1440 + hh * 60 + mm
    }

    /// "csv/20260302-2130_EAST_prospects.csv" → minutes of 2026-03-02 21:30.
    static func stampMinutes(_ csvFile: String) throws -> Int {
        let s = csvFile.dropFirst(4)
        return try minutes(String(s.prefix(4)) + "-" + String(s.dropFirst(4).prefix(2)) + "-" + String(s.dropFirst(6).prefix(2))
                           + "T" + String(s.dropFirst(9).prefix(2)) + ":" + String(s.dropFirst(11).prefix(2)) + ":00+08:00")
    }

    @Test func resendsAreByteIdenticalLaterStepsOfTheirOwn() throws {
        let f = try CorpusFixture.make(Self.config(seed: 11, resend: 0.25, split: 0.3), tag: "resend")
        defer { try? FileManager.default.removeItem(atPath: f.directory) }
        let steps = try f.manifest()
        var stepOf: [String: Int] = [:]
        for (i, s) in steps.enumerated() { for file in s.files { stepOf[file] = i } }
        let resends = steps.enumerated().filter { $0.element.kind == "resend" }
        #expect(resends.count == f.summary.resends)
        #expect(resends.contains { $0.element.files[0].hasSuffix(".json") }, "no JSON re-send")
        #expect(resends.contains { $0.element.files[0].hasSuffix(".csv") }, "no CSV re-send")
        for (i, step) in resends {
            #expect(step.files.count == 1, "a re-send step carries one file: \(step.files)")
            let copy = step.files[0]
            #expect(copy.hasSuffix("_resend.json") || copy.hasSuffix("_resend.csv"), "\(copy)")
            let original = copy.replacingOccurrences(of: "_resend.", with: ".")
            let o = try #require(stepOf[original], "\(original) not in the manifest")
            #expect(o < i, "\(copy) before its original")
            #expect(steps[o].kind != "resend")
            #expect(try f.read(copy) == f.read(original), "\(copy) differs from \(original)")
            let delay = try Self.minutes(step.receivedAt) - Self.minutes(steps[o].receivedAt)
            #expect((5...90).contains(delay), "\(copy): \(delay) minutes after its original")
            // A retry never comes after a correction of the same report (it would undo it).
            if original.hasSuffix(".json"), !original.hasSuffix("_corr1.json"),
               let c = stepOf[original.replacingOccurrences(of: ".json", with: "_corr1.json")] {
                #expect(i < c, "\(copy) after the correction")
            }
        }
        // Every other step says nothing about itself, or is a later section.
        #expect(steps.allSatisfy { $0.kind == nil || $0.kind == "resend" || $0.kind == "section" })
        #expect(f.summary.description.contains("\(f.summary.resends) re-sent files"))
    }

    @Test func splitUploadsBringTheirSectionsInLaterSteps() throws {
        let f = try CorpusFixture.make(Self.config(seed: 12, resend: 0, split: 1), tag: "split")
        defer { try? FileManager.default.removeItem(atPath: f.directory) }
        let steps = try f.manifest()
        var stepOf: [String: Int] = [:]
        for (i, s) in steps.enumerated() { for file in s.files { stepOf[file] = i } }
        let sectionSteps = steps.enumerated().filter { $0.element.kind == "section" }
        #expect(sectionSteps.count == f.summary.sectionSteps && !sectionSteps.isEmpty)
        var uploads = Set<String>()
        for (i, step) in sectionSteps {
            #expect(step.files.count == 1, "a section step carries one file: \(step.files)")
            let file = step.files[0]
            #expect(file.hasPrefix("csv/") && !file.hasSuffix("_visits.csv"), "\(file)")
            // The upload: the same name with the visits section, in the ordinary step of the name's time.
            let upload = file.replacingOccurrences(of: "_prospects.csv", with: "").replacingOccurrences(of: "_sales.csv", with: "")
            uploads.insert(upload)
            let visits = try #require(stepOf[upload + "_visits.csv"], "\(upload) has no visits file")
            #expect(steps[visits].kind == nil)
            let slot = try Self.stampMinutes(file)
            #expect(try Self.minutes(steps[visits].receivedAt) == slot)
            // In section order, strictly later, and within the receipt slot.
            let at = try Self.minutes(step.receivedAt)
            #expect(visits < i && at > slot && at < slot + f.config.receiptSlotMinutes, "\(file) at \(step.receivedAt)")
            if file.hasSuffix("_sales.csv"), let p = stepOf[upload + "_prospects.csv"] {
                let prospectsAt = try Self.minutes(steps[p].receivedAt)
                #expect(p < i && prospectsAt < at, "\(file) not after its prospects")
            }
            // Still on time when the visits were: due = business_date + 1 at 10:00.
            let rows = CorpusFixture.parseCSV(try CorpusFixture.decodeCSV(try f.read(file)))
            for r in rows.dropFirst() where r.count > 2 && !r[0].isEmpty && !["合计", "总计", "Total"].contains(r[0]) {
                let due = try #require(CalendarDate(iso: r[1])).adding(days: 1).daysSinceEpoch * 1440 + 600
                if slot <= due { #expect(at <= due, "\(file): \(r[0]) \(r[1]) becomes late") }
            }
        }
        #expect(uploads.count == f.summary.splitUploads)
        #expect(f.summary.description.contains("\(f.summary.splitUploads) CSV uploads split into \(f.summary.sectionSteps)"))
        // received_at strictly increases over the whole manifest (no step shares a time with another).
        for (a, b) in zip(steps, steps.dropFirst()) { #expect(a.receivedAt < b.receivedAt) }
    }

    /// Re-sends and splits change how the data is delivered, never the data: the files of a corpus without
    /// them are all there, byte for byte, and the reports (contract 1.1: re-sends are duplicates, a later
    /// section completes its day) are the same, with the same version-1 receipt times.
    @Test func deliveryDoesNotChangeTheData() throws {
        let plain = try CorpusFixture.make(Self.config(seed: 13, resend: 0, split: 0), tag: "plain")
        let busy = try CorpusFixture.make(Self.config(seed: 13, resend: 0.2, split: 0.6), tag: "busy")
        defer { try? FileManager.default.removeItem(atPath: plain.directory); try? FileManager.default.removeItem(atPath: busy.directory) }
        #expect(busy.summary.resends > 0 && busy.summary.splitUploads > 0)
        #expect(plain.summary.resends == 0 && plain.summary.splitUploads == 0 && plain.summary.sectionSteps == 0)
        let plainFiles = plain.allFiles(), busyFiles = busy.allFiles()
        for p in plainFiles where p != "manifest.json" { #expect(try busy.read(p) == plain.read(p), "\(p) differs") }
        let extra = Set(busyFiles).subtracting(plainFiles)
        #expect(extra.count == busy.summary.resends && extra.allSatisfy { $0.contains("_resend.") })
        #expect(try busy.manifest().count == plain.summary.steps + busy.summary.resends + busy.summary.sectionSteps)

        let a = try plain.reports(), b = try busy.reports()
        #expect(a.count == b.count)
        for (x, y) in zip(a, b) {
            #expect(x.store == y.store && x.date == y.date && x.receivedAt == y.receivedAt, "\(x.files) vs \(y.files)")
            #expect(x.visits == y.visits && x.prospects == y.prospects && x.sales == y.sales, "\(x.files) vs \(y.files)")
        }
        let s = busy.summary, t = plain.summary
        #expect(s.late == t.late && s.missing == t.missing && s.corrections == t.corrections && s.reportedStoreDays == t.reportedStoreDays)
        #expect(s.visitRows == t.visitRows && s.prospectRows == t.prospectRows && s.salesRows == t.salesRows)
        #expect(s.reportFiles == t.reportFiles + s.resends)
    }

    @Test func sharesAreChecked() {
        var c = CorpusConfiguration(stores: 3, days: 3, seed: 1)
        c.resendShare = 1.5
        #expect(throws: CorpusGeneratorError.self) { try SyntheticCorpus.masterData(for: c) }
        c.resendShare = 0.02
        c.sectionSplitShare = -0.1
        #expect(throws: CorpusGeneratorError.self) { try SyntheticCorpus.masterData(for: c) }
    }
}
