import CivilCalendar
import CorpusGenerator
import Foundation
import Glibc
import Postgres
import Testing
import TestSupport
import Warehouse

// Property: incremental refreshes after every ingest step give exactly the snapshots of one full refresh at
// the end, on generated corpora (random seeds, printed; set DEALER_KPI_SNAPSHOT_SEEDS=1,2,3 to replay).

struct SnapPropertyCase: Sendable, CustomTestStringConvertible {
    var seed: UInt64
    var shuffled: Bool
    var testDescription: String { "seed \(seed)\(shuffled ? ", steps shuffled" : ", steps in order")" }

    static let all: [SnapPropertyCase] = {
        let env = ProcessInfo.processInfo.environment["DEALER_KPI_SNAPSHOT_SEEDS"] ?? ""
        var seeds = env.split(separator: ",").compactMap { UInt64($0.trimmingCharacters(in: .whitespaces)) }
        if seeds.isEmpty { seeds = [UInt64.random(in: 1...999_999), UInt64.random(in: 1...999_999)] }
        let cases = seeds.enumerated().map { SnapPropertyCase(seed: $0.element, shuffled: $0.offset % 2 == 1) }
        print("SnapshotPropertyTests: \(cases.map(\.testDescription).joined(separator: "; ")) (replay: DEALER_KPI_SNAPSHOT_SEEDS=\(seeds.map(String.init).joined(separator: ",")))")
        return cases
    }()
}

/// A generated corpus: master files and the manifest's steps.
struct SnapCorpus {
    struct Step { var files: [String]; var receivedAt: Date }
    var directory: URL
    var masterFiles: [String]
    var steps: [Step]
    var master: CorpusMasterData

    static func generate(seed: UInt64) throws -> SnapCorpus {
        var config = CorpusConfiguration(stores: 4 + Int(seed % 3), days: 20, seed: seed,
                                         startDate: CalendarDate(year: 2025, month: 12, day: 20)!)   // across month, quarter and year ends
        config.storesPerRegion = 2
        config.correctionShare = 0.1   // more corrections than the default, to restate past periods
        config.lateShare = 0.08
        let dir = FileManager.default.temporaryDirectory.appending(path: "dkpi-snapcorpus-\(getpid())-\(seed)-\(UUID().uuidString.prefix(6))")
        try SyntheticCorpus.generate(config, to: dir.path)
        let master = try FileManager.default.contentsOfDirectory(atPath: dir.appending(path: "master").path)
            .filter { $0.hasSuffix(".csv") }.sorted().map { dir.appending(path: "master/\($0)").path }
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appending(path: "manifest.json"))) as! [[String: Any]]
        let steps = manifest.map { step in
            Step(files: (step["files"] as! [String]).map { dir.appending(path: $0).path },
                 receivedAt: PostgresTimestamp.parse(step["received_at"] as! String)!)
        }
        return SnapCorpus(directory: dir, masterFiles: master, steps: steps, master: try SyntheticCorpus.masterData(for: config))
    }

    /// Master-data changes loaded halfway through: the last store moves to another region, the first
    /// salesperson leaves on 2025-12-30.
    func midwayMasterChanges() -> [(String, String)] {
        func csv(_ cells: [String]) -> String {
            cells.map { $0.contains(",") || $0.contains("\"") ? "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : $0 }
                .joined(separator: ",") + "\n"
        }
        var files: [(String, String)] = []
        if let store = master.stores.last, let region = master.regions.first(where: { $0.code != store.regionCode }) {
            files.append(("stores.csv", "store_code,store_name,region_code,city,opened_on,closed_on\n"
                + csv([store.code, store.name, region.code, store.city, "\(store.openedOn)", store.closedOn.map { "\($0)" } ?? ""])))
        }
        if let sp = master.salespeople.first {
            let leaves = max(sp.hiredOn.adding(days: 1), CalendarDate(year: 2025, month: 12, day: 30)!)
            files.append(("salespeople.csv", "salesperson_code,name,store_code,hired_on,left_on\n"
                + csv([sp.code, sp.name, sp.storeCode, "\(sp.hiredOn)", "\(leaves)"])))
        }
        return files
    }

    /// Loaded after the last step (so that no later report touches the same periods again): a plan and an
    /// expense for months outside the horizon but inside its quarters and years (2026-02, 2025-11).
    func finalMasterChanges() -> [(String, String)] {
        [("plans.csv", "month,store_code,salesperson_code,kpi,value\n2026-02,\(master.stores[0].code),,PLAN_DELIVERIES,7\n"),
         ("expenses.csv", "month,store_code,amount\n2025-11,\(master.stores[master.stores.count > 1 ? 1 : 0].code),1234.50\n")]
    }

    /// The steps in a random order (seeded), except that a re-sent JSON report (`_corr1`) stays after the step
    /// carrying its original. (CSV corrections are not named; the warehouse records an out-of-order version
    /// for them, which is valid input too.)
    func shuffledSteps(seed: UInt64) -> [Step] {
        var rng = SplitMix64(state: seed)
        var order = steps
        order.shuffle(using: &rng)
        // The steps received on the first day go to the second half, so the horizon start moves earlier at least
        // once (the refresher then rebuilds everything).
        let firstDay = steps.map(\.receivedAt).min()!.addingTimeInterval(86_400)
        let early = order.filter { $0.receivedAt < firstDay }
        order.removeAll { $0.receivedAt < firstDay }
        for step in early { order.insert(step, at: order.count / 2 + Int(rng.next() % UInt64(order.count / 2 + 1))) }
        var i = 0
        while i < order.count {
            let originals = order[i].files.filter { $0.hasSuffix("_corr1.json") }.map { $0.replacingOccurrences(of: "_corr1.json", with: ".json") }
            if let j = order.indices.last(where: { j in order[j].files.contains { originals.contains($0) } }), j > i {
                let step = order.remove(at: i)
                order.insert(step, at: j)   // right after the original (which moved one place up)
                continue
            }
            i += 1
        }
        return order
    }
}


@Suite("Snapshots: incremental refreshes equal a full rebuild")
struct SnapshotPropertyTests {
    @Test(arguments: SnapPropertyCase.all)
    func incrementalAfterEveryStepEqualsOneFullRefresh(_ c: SnapPropertyCase) async throws {
        let started = ContinuousClock.now
        let corpus = try SnapCorpus.generate(seed: c.seed)
        defer { try? FileManager.default.removeItem(at: corpus.directory) }
        let steps = c.shuffled ? corpus.shuffledSteps(seed: c.seed) : corpus.steps
        #expect(steps.count == corpus.steps.count && !steps.isEmpty)

        let a = try await SnapshotWarehouse.open()
        let b = try await SnapshotWarehouse.open()
        do {
            try await loadMaster(a, corpus)
            try await loadMaster(b, corpus)
            var modes: [String: Int] = [:]
            var starts: [String] = []   // the horizon start after each step, when it moved
            try await a.refresh()
            let midway = steps.count / 2
            let changes = corpus.midwayMasterChanges()
            for (n, step) in steps.enumerated() {
                if n == midway { try await a.load(changes) }
                try await ingest(a, step, c, n)
                let s = try await a.refresh()
                modes[s.mode.rawValue, default: 0] += 1
                if let h = s.horizon, starts.last != "\(h.lowerBound)" { starts.append("\(h.lowerBound)") }
            }
            try await a.load(corpus.finalMasterChanges())
            #expect(try await a.refresh().mode == .incremental)
            for (n, step) in steps.enumerated() {
                if n == midway { try await b.load(changes) }
                try await ingest(b, step, c, n)
            }
            try await b.load(corpus.finalMasterChanges())
            try await b.refresh(.full)
            #expect((modes["incremental"] ?? 0) > 0, "\(c.testDescription): no refresh ran incrementally: \(modes)")

            let snapshotRows = try await compare(a, b, "kpi.snapshot", "SELECT (to_jsonb(s) - 'run_id' - 'computed_at')::text FROM kpi.snapshot s", c)
            #expect(snapshotRows > 500, "\(c.testDescription): only \(snapshotRows) snapshot rows")
            _ = try await compare(a, b, "bi.kpi_values", "SELECT (to_jsonb(v) - 'computed_at')::text FROM bi.kpi_values v", c)
            _ = try await compare(a, b, "bi.scorecard", "SELECT (to_jsonb(v) - 'computed_at')::text FROM bi.scorecard v", c)
            _ = try await compare(a, b, "kpi.sp_day", "SELECT to_jsonb(d)::text FROM kpi.sp_day d", c)
            _ = try await compare(a, b, "kpi.sp_month", "SELECT to_jsonb(d)::text FROM kpi.sp_month d", c)
            // Nothing left to do: another incremental refresh of A changes nothing.
            let again = try await a.refresh()
            #expect(again.written == 0 && again.superseded == 0, "\(c.testDescription): \(again)")
            print("SnapshotPropertyTests: \(c.testDescription): \(steps.count) steps, \(snapshotRows) snapshot rows, refreshes \(modes), horizon starts \(starts), \(ContinuousClock.now - started)")
        } catch {
            await a.close()
            await b.close()
            throw error
        }
        await a.close()
        await b.close()
    }

    func loadMaster(_ wh: SnapshotWarehouse, _ corpus: SnapCorpus) async throws {
        for r in try await wh.loader.load(paths: corpus.masterFiles) {
            #expect(r.isAccepted, "master file \(r.file) rejected: \(String(describing: r.rejection))")
        }
    }

    func ingest(_ wh: SnapshotWarehouse, _ step: SnapCorpus.Step, _ c: SnapPropertyCase, _ n: Int) async throws {
        for file in step.files {
            let r = try await wh.ingestor.ingest(path: file, receivedAt: step.receivedAt)
            #expect(r.isAccepted, "\(c.testDescription), step \(n): \(file) rejected: \(String(describing: r.rejection))")
        }
    }

    /// Compares the rows of `sql` in both databases; returns the row count.
    func compare(_ a: SnapshotWarehouse, _ b: SnapshotWarehouse, _ what: String, _ sql: String, _ c: SnapPropertyCase) async throws -> Int {
        let q = PostgresQuery(unsafeSQL: sql)
        let rowsA = try await a.strings(q).sorted()
        let rowsB = try await b.strings(q).sorted()
        if rowsA != rowsB {
            let setA = Set(rowsA), setB = Set(rowsB)
            let onlyA = rowsA.filter { !setB.contains($0) }.prefix(8)
            let onlyB = rowsB.filter { !setA.contains($0) }.prefix(8)
            Issue.record("""
                \(c.testDescription): \(what) differs: \(rowsA.count) rows incrementally, \(rowsB.count) from a full refresh
                only incremental:\n  \(onlyA.joined(separator: "\n  "))
                only full:\n  \(onlyB.joined(separator: "\n  "))
                """)
        }
        return rowsA.count
    }
}
