import CivilCalendar

/// Business time: minutes since 1970-01-01 00:00 in the business time zone (Asia/Shanghai, UTC+8, no DST).
typealias BusinessMinute = Int

/// The manifest step a file belongs to: the ordinary step of a receipt slot (every file received at that
/// minute), or a step of its own (a re-send or a later section of a split CSV upload).
enum StepRef: Hashable {
    case slot(BusinessMinute)
    case own(Int)
}

/// One file of a manifest step.
struct ManifestEntry {
    let step: StepRef
    let kind: Int      // 0: CSV, 1: JSON (CSV files first within a step, as in the examples)
    let region: Int
    let section: Int
    let path: String
}

/// A step of its own, placed relative to the step it follows (`after`) once every ordinary step is known:
/// at `after`'s minute + `offset`, within `after` + `minOffset` ... `after` + `maxOffset` and before
/// `before`, on a minute no other step uses (so received_at stays strictly increasing).
struct OwnStep {
    enum Kind { case resend, section }
    let kind: Kind
    let after: StepRef
    let offset: Int
    let minOffset: Int
    let maxOffset: Int
    /// Exclusive bound: the next delivery for the same store-days (a correction), or the end of the slot.
    let before: BusinessMinute
    /// The minute it would get without collisions (to place steps in order of it: `after` always first).
    let estimate: BusinessMinute
    /// For a re-send: the file copied byte for byte, and what its copy counts as in the summary.
    var original: String = ""
    var copy: String = ""
    var gb18030 = false
    var bom = false
}

/// The CSV section files of one region received in one slot.
final class CSVBatch {
    let minute: BusinessMinute
    let region: Int
    var rng: SeededRandom
    let encoding: Int          // 0: UTF-8, 1: UTF-8 with BOM, 2: GB18030
    let eol: StaticString
    let bools: CSVBoolStyle
    let totalRow: Int          // 0: none, 1: 合计, 2: 总计, 3: Total
    let blankRate: Double
    var sections: [ByteBuffer] = [ByteBuffer(capacity: 1 << 14), ByteBuffer(capacity: 1 << 13), ByteBuffer(capacity: 1 << 12)]
    var rowCounts = [0, 0, 0]
    var partySum = 0
    var dealSum: Int64 = 0
    /// Whether any of its rows belong to a correction (such an upload is never split).
    var hasCorrection = false
    /// The earliest later delivery (a correction) for any store-day it carries.
    var nextDelivery: BusinessMinute = .max

    init(minute: BusinessMinute, region: Int, config: CorpusConfiguration) {
        self.minute = minute
        self.region = region
        var r = SeededRandom(seed: config.seed, stream: 4, substream: UInt64(minute) &* 1_000_003 &+ UInt64(region))
        let e = r.unit()
        encoding = e < config.gb18030Share ? 2 : (r.chance(config.bomShare) ? 1 : 0)
        eol = r.chance(0.15) ? "\r\n" : "\n"
        let b = r.unit()
        bools = b < 0.55 ? .trueFalse : (b < 0.70 ? .oneZero : (b < 0.82 ? .shiFou : (b < 0.90 ? .yn : .trueEmpty)))
        let t = r.unit()
        totalRow = t < 0.55 ? 0 : (t < 0.80 ? 1 : (t < 0.92 ? 2 : 3))
        blankRate = r.chance(0.3) ? 0.04 : 0
        rng = r
    }

    func add(_ report: DayReport, _ ctx: RenderContext) {
        for i in report.visits.indices {
            beginRow(0)
            CSVRenderer.visitRow(report, i, ctx, bools: bools, into: &sections[0])
            sections[0].append(eol)
            partySum += report.visits[i].partySize
        }
        for i in report.cards.indices {
            beginRow(1)
            CSVRenderer.prospectRow(report, i, ctx, into: &sections[1])
            sections[1].append(eol)
        }
        for i in report.orders.indices {
            beginRow(2)
            CSVRenderer.salesRow(report, i, ctx, into: &sections[2])
            sections[2].append(eol)
            dealSum += report.orders[i].dealPrice
        }
    }

    private func beginRow(_ s: Int) {
        if rowCounts[s] > 0 && blankRate > 0 && rng.chance(blankRate) { blank(s) }
        rowCounts[s] += 1
    }

    private func blank(_ s: Int) {
        for _ in 1..<CSVRenderer.columnCounts[s] { sections[s].append(UInt8(ascii: ",")) }
        sections[s].append(eol)
    }

    /// The finished file bytes of section `s` (nil when the section has no rows), and whether it holds
    /// non-ASCII text.
    func fileBytes(_ s: Int) -> (bytes: [UInt8], nonASCII: Bool)? {
        guard rowCounts[s] > 0 else { return nil }
        var b = ByteBuffer(capacity: sections[s].count + 256)
        b.append([CSVRenderer.visitsHeader, CSVRenderer.prospectsHeader, CSVRenderer.salesHeader][s])
        b.append(eol)
        b.append(sections[s])
        if blankRate > 0 && rng.chance(0.5) {
            for _ in 1..<CSVRenderer.columnCounts[s] { b.append(UInt8(ascii: ",")) }
            b.append(eol)
        }
        if totalRow > 0 {
            let label: String = ["", "合计", "总计", "Total"][totalRow]
            b.append(label)
            switch s {
            case 0:
                for _ in 0..<7 { b.append(UInt8(ascii: ",")) }
                b.append(int: partySum)
                for _ in 0..<4 { b.append(UInt8(ascii: ",")) }
            case 1:
                for _ in 0..<5 { b.append(UInt8(ascii: ",")) }
                b.append("共"); b.append(int: rowCounts[1]); b.append("条")
                for _ in 0..<7 { b.append(UInt8(ascii: ",")) }
            default:
                for _ in 0..<12 { b.append(UInt8(ascii: ",")) }
                b.appendMoneyExcel(Cents(dealSum))
                b.append(UInt8(ascii: ","))
            }
            b.append(eol)
        }
        var nonASCII = false
        for c in b.bytes where c >= 0x80 { nonASCII = true; break }
        switch encoding {
        case 1:
            return ([0xEF, 0xBB, 0xBF] + b.bytes, nonASCII)
        case 2 where nonASCII:
            guard let gb = CorpusEncoding.gb18030(fromUTF8: b.bytes) else { return (b.bytes, nonASCII) }
            return (gb, nonASCII)
        default:
            return (b.bytes, nonASCII)
        }
    }
}

/// Per-store delivery behaviour (who sends what when).
struct StoreOps {
    var rng: SeededRandom
    var holdUntil: Int? = nil
    var holdReceipt: BusinessMinute = 0
}

/// Runs the simulation day by day and writes files as it goes.
final class CorpusEngine {
    let config: CorpusConfiguration
    let master: CorpusMasterData
    let directory: String
    let ctx: RenderContext
    let startDay: Int
    let endDay: Int
    var sims: [StoreSimulation] = []
    var ops: [StoreOps] = []
    var regionIndex: [Int] = []
    var regionCodes: [String] = []
    var batches: [Int: CSVBatch] = [:]   // key: minute * 4096 + region
    var manifest: [ManifestEntry] = []
    var ownSteps: [OwnStep] = []
    var createdDayDirs = Set<Int>()
    var counters = SharedCounters()
    var summary = CorpusSummary()
    var jsonBuffer = ByteBuffer(capacity: 1 << 16)

    init(config: CorpusConfiguration, master: CorpusMasterData, directory: String) {
        self.config = config
        self.master = master
        self.directory = directory
        self.ctx = RenderContext(storeCodes: master.stores.map(\.code), salespersonCodes: master.salespeople.map(\.code),
                                 modelCodes: master.models.map(\.code), prettyJSON: config.prettyJSON)
        startDay = config.startDate.daysSinceEpoch
        endDay = startDay + config.days
        regionCodes = master.regions.map(\.code)
        var byCode: [String: Int] = [:]
        for (i, r) in master.regions.enumerated() { byCode[r.code] = i }
        for (i, s) in master.stores.enumerated() {
            regionIndex.append(byCode[s.regionCode]!)
            let first = max(startDay, s.openedOn.daysSinceEpoch)
            let closed = s.closedOn?.daysSinceEpoch ?? Int.max
            let last = min(endDay, closed) - 1
            sims.append(StoreSimulation(index: i, profile: master.profiles[i], roster: master.rosters[i], firstDay: first,
                                        lastDay: last, closesInCorpus: closed <= endDay, config: config,
                                        modelPopularity: master.modelPopularity))
            ops.append(StoreOps(rng: SeededRandom(seed: config.seed, stream: 3, substream: UInt64(i))))
        }
        summary.stores = master.stores.count
        summary.regions = master.regions.count
        summary.salespeople = master.salespeople.count
        summary.firstDate = config.startDate
        summary.lastDate = config.startDate.adding(days: config.days - 1)
    }

    func run(progress: ((CorpusProgress) -> Void)?) throws -> CorpusSummary {
        try FileIO.makeDirectories(directory + "/reports")
        try FileIO.makeDirectories(directory + "/csv")
        for d in startDay..<endDay {
            for s in sims.indices {
                let sim = sims[s]
                guard d >= sim.firstDay && d <= sim.lastDay else { continue }
                summary.storeDays += 1
                let visits = sim.simulate(day: d, counters: &counters)
                try deliverReport(store: s, day: d, visits: visits)
            }
            try flushBatches(throughDay: d)
            if let progress {
                var snapshot = summary
                snapshot.steps = 0
                fillFacts(&snapshot)
                progress(CorpusProgress(date: CalendarDate(daysSinceEpoch: d), dayIndex: d - startDay, days: config.days, summary: snapshot))
            }
        }
        try flushBatches(throughDay: Int.max)
        try writeManifest()
        fillFacts(&summary)
        return summary
    }

    private func fillFacts(_ s: inout CorpusSummary) {
        s.newCards = 0; s.orders = 0; s.deliveries = 0; s.cancellations = 0
        for sim in sims {
            s.newCards += sim.newCards
            s.orders += sim.newOrders
            s.deliveries += sim.deliveries
            s.cancellations += sim.cancellations
        }
    }

    // MARK: Operations: when (and whether) a store-day's report arrives

    private func slot(_ minute: BusinessMinute) -> BusinessMinute {
        minute - ((minute % config.receiptSlotMinutes) + config.receiptSlotMinutes) % config.receiptSlotMinutes
    }

    private func eveningReceipt(_ day: Int, _ rng: inout SeededRandom) -> BusinessMinute {
        // 20:00–23:00 the same evening.
        slot(day * 1440 + 20 * 60 + rng.int(0...180))
    }

    private func onTimeReceipt(_ day: Int, _ rng: inout SeededRandom) -> BusinessMinute {
        if rng.chance(0.9) { return eveningReceipt(day, &rng) }
        // Early next morning, before the 10:00 due time.
        return slot((day + 1) * 1440 + 7 * 60 + rng.int(0...150))
    }

    private func lateReceipt(_ day: Int, _ rng: inout SeededRandom) -> BusinessMinute {
        let due = (day + 1) * 1440 + 10 * 60
        var m = slot(due + rng.int(30...480)) // 10:30–18:00 the next day
        if m <= due { m += config.receiptSlotMinutes }
        return m
    }

    private func deliverReport(store s: Int, day d: Int, visits: [Visit]) throws {
        let sim = sims[s]
        var op = ops[s]
        defer { ops[s] = op }
        let receipt: BusinessMinute
        if let until = op.holdUntil {
            receipt = op.holdReceipt
            if d >= until { op.holdUntil = nil }
        } else if sim.closesInCorpus && d == sim.lastDay {
            receipt = eveningReceipt(d, &op.rng)
        } else {
            let r = op.rng.unit()
            if r < config.missingShare {
                summary.missing += 1
                return // never sent: the day's changes come with the next report
            } else if r < config.missingShare + config.lateShare {
                receipt = lateReceipt(d, &op.rng)
            } else if r < config.missingShare + config.lateShare + config.catchUpShare {
                let k = min(1 + op.rng.below(2), min(sim.lastDay, endDay - 1) - d)
                if k <= 0 {
                    receipt = lateReceipt(d, &op.rng)
                } else {
                    op.holdUntil = d + k
                    op.holdReceipt = eveningReceipt(d + k, &op.rng)
                    receipt = op.holdReceipt
                }
            } else {
                receipt = onTimeReceipt(d, &op.rng)
            }
        }
        let pending = sim.takePending()
        let report = DayReport(store: s, day: d, visits: visits, cards: pending.cards, orders: pending.orders)
        summary.reportedStoreDays += 1
        if receipt > (d + 1) * 1440 + 600 { summary.late += 1 }
        let asCSV = master.stores[s].reportsAsCSV && !op.rng.chance(config.csvStoreJSONShare)
        let first = try emit(report, receipt: receipt, csv: asCSV, correction: false)

        if op.rng.chance(config.correctionShare) {
            let corrected = correct(report, sim: sim, rng: &op.rng)
            // Re-sent 1–4 days later during office hours.
            var m = slot((d + 1 + op.rng.below(4)) * 1440 + 9 * 60 + op.rng.int(0...540))
            if m <= receipt { m = receipt + config.receiptSlotMinutes }
            summary.corrections += 1
            // A retry of version 1 must arrive before the correction (else it would undo it).
            if asCSV, let batch = batches[receipt &* 4096 &+ regionIndex[s]] { batch.nextDelivery = min(batch.nextDelivery, m) }
            planJSONResend(first, report, correction: false, receipt: receipt, before: m)
            let second = try emit(corrected, receipt: m, csv: asCSV, correction: true)
            planJSONResend(second, corrected, correction: true, receipt: m, before: .max)
        } else {
            planJSONResend(first, report, correction: false, receipt: receipt, before: .max)
        }
    }

    /// Decides (on a stream of its own, so other draws do not move) whether a JSON report file is re-sent.
    private func planJSONResend(_ path: String?, _ report: DayReport, correction: Bool, receipt m: BusinessMinute, before: BusinessMinute) {
        guard let path else { return }
        var r = SeededRandom(seed: config.seed, stream: 5,
                             substream: UInt64(report.store) &* 1_000_003 &+ UInt64(bitPattern: Int64(report.day)) &* 2 &+ (correction ? 1 : 0))
        let u = r.unit()
        let offset = r.int(5...90)
        guard u < config.resendShare else { return }
        var step = OwnStep(kind: .resend, after: .slot(m), offset: offset, minOffset: 5, maxOffset: 90, before: before, estimate: m + offset)
        step.original = path
        step.copy = String(path.dropLast(5)) + "_resend.json"
        ownSteps.append(step)
    }

    /// A re-sent version of a report with the changes a dealer makes after a call from HQ.
    private func correct(_ original: DayReport, sim: StoreSimulation, rng: inout SeededRandom) -> DayReport {
        var r = original
        // Replace a placeholder name of a card created that day by the customer's full name.
        if let i = r.cards.firstIndex(where: { $0.invalidName && $0.createdOn == r.day }), rng.chance(0.7) {
            let name = personName(&rng)
            r.cards[i].name = name
            r.cards[i].invalidName = false
            sim.fixName(card: r.cards[i].number, to: name)
            if rng.chance(0.5) { return r }
        }
        let plain = r.visits.indices.filter { r.visits[$0].newCard == 0 && r.visits[$0].existingCard == 0 && !r.visits[$0].existingOrder }
        let choice = rng.below(3)
        if choice == 0, !plain.isEmpty {
            // A visit's purpose was logged wrongly.
            let i = plain[rng.below(plain.count)]
            r.visits[i].purpose = r.visits[i].purpose == Purpose.purchase ? Purpose.afterSales : Purpose.purchase
        } else if choice == 1 {
            // A party size was mistyped.
            let i = rng.below(r.visits.count)
            r.visits[i].partySize = r.visits[i].partySize == 1 ? 2 : r.visits[i].partySize - 1
            r.visits[i].omitPartySize = false
        } else {
            // A forgotten after-sales visit is added.
            var v = r.visits[rng.below(r.visits.count)]
            v.purpose = Purpose.afterSales
            v.channel = Channel.walkIn
            v.existingCard = 0
            v.newCard = 0
            v.existingOrder = rng.chance(0.5)
            v.testDrive = false
            v.omitPartySize = false
            r.visits.append(v)
        }
        return r
    }

    // MARK: Writing

    /// Writes (JSON) or batches (CSV) a report; returns the JSON file's path.
    @discardableResult
    private func emit(_ report: DayReport, receipt: BusinessMinute, csv: Bool, correction: Bool) throws -> String? {
        summary.visitRows += report.visits.count
        summary.prospectRows += report.cards.count
        summary.salesRows += report.orders.count
        if csv {
            let region = regionIndex[report.store]
            let key = receipt &* 4096 &+ region
            let batch: CSVBatch
            if let b = batches[key] {
                batch = b
            } else {
                batch = CSVBatch(minute: receipt, region: region, config: config)
                batches[key] = batch
            }
            batch.add(report, ctx)
            if correction { batch.hasCorrection = true }
            return nil
        }
        if !createdDayDirs.contains(report.day) {
            try FileIO.makeDirectories(directory + "/reports/" + CalendarDate(daysSinceEpoch: report.day).description)
            createdDayDirs.insert(report.day)
        }
        var name = ByteBuffer(capacity: 64)
        name.append("reports/"); name.append(day: report.day); name.append("/")
        name.append(ctx.storeCodes[report.store]); name.append("_"); name.append(compactDate: CalendarDate(daysSinceEpoch: report.day))
        if correction { name.append("_corr1") }
        name.append(".json")
        let path = name.string
        jsonBuffer.removeAll()
        JSONReportRenderer.render(report, ctx, into: &jsonBuffer)
        try FileIO.write(jsonBuffer.bytes, to: directory + "/" + path)
        summary.bytesWritten += jsonBuffer.count
        summary.jsonFiles += 1
        summary.reportFiles += 1
        manifest.append(ManifestEntry(step: .slot(receipt), kind: 1, region: 0, section: 0, path: path))
        return path
    }

    private func flushBatches(throughDay d: Int) throws {
        let due = batches.filter { d == Int.max || $0.value.minute / 1440 <= d }
        for key in due.keys.sorted() {
            let batch = due[key]!
            batches[key] = nil
            // Delivery draws on a stream of their own (so the files' bytes do not depend on them): whether
            // the upload is split, each section's delay after the previous one, whether each file is re-sent
            // and how much later. Always drawn, whatever the shares.
            var r = SeededRandom(seed: config.seed, stream: 6, substream: UInt64(bitPattern: Int64(batch.minute)) &* 4096 &+ UInt64(batch.region))
            let splitDraw = r.unit()
            var delays = [0, 0, 0], resendDraws = [0.0, 0.0, 0.0], resendOffsets = [0, 0, 0]
            for i in 0..<3 {
                // 2–12 minutes, scaled down for receipt slots under 30 minutes (all of it stays inside the slot).
                let d = r.int(2...12)
                delays[i] = config.receiptSlotMinutes >= 30 ? d : max(1, d * config.receiptSlotMinutes / 30)
                resendDraws[i] = r.unit()
                resendOffsets[i] = r.int(5...90)
            }
            let present = (0..<3).filter { batch.rowCounts[$0] > 0 }
            let laterDelay = present.dropFirst().reduce(0) { $0 + delays[$1] }
            let split = splitDraw < config.sectionSplitShare && !batch.hasCorrection && present.count >= 2
                && laterDelay < config.receiptSlotMinutes
            var previous = StepRef.slot(batch.minute)
            var estimate = batch.minute
            for section in 0..<3 {
                guard let file = batch.fileBytes(section) else { continue }
                var step = StepRef.slot(batch.minute)
                if split && section != present[0] {
                    estimate += delays[section]
                    ownSteps.append(OwnStep(kind: .section, after: previous, offset: delays[section], minOffset: 1, maxOffset: .max / 4,
                                            before: batch.minute + config.receiptSlotMinutes, estimate: estimate))
                    step = .own(ownSteps.count - 1)
                    previous = step
                }
                var name = ByteBuffer(capacity: 64)
                let day = batch.minute / 1440
                let minuteOfDay = batch.minute % 1440
                name.append("csv/"); name.append(compactDate: CalendarDate(daysSinceEpoch: day)); name.append("-")
                name.append(int: minuteOfDay / 60, width: 2); name.append(int: minuteOfDay % 60, width: 2)
                name.append("_"); name.append(regionCodes[batch.region]); name.append("_")
                name.append(["visits", "prospects", "sales"][section]); name.append(".csv")
                let path = name.string
                try FileIO.write(file.bytes, to: directory + "/" + path)
                summary.bytesWritten += file.bytes.count
                summary.csvFiles += 1
                summary.reportFiles += 1
                if batch.encoding == 2 && file.nonASCII { summary.gb18030Files += 1 }
                if batch.encoding == 1 { summary.bomFiles += 1 }
                manifest.append(ManifestEntry(step: step, kind: 0, region: batch.region, section: section, path: path))
                if resendDraws[section] < config.resendShare {
                    var resend = OwnStep(kind: .resend, after: step, offset: resendOffsets[section], minOffset: 5, maxOffset: 90,
                                         before: batch.nextDelivery, estimate: estimate + resendOffsets[section])
                    resend.original = path
                    resend.copy = String(path.dropLast(4)) + "_resend.csv"
                    resend.gb18030 = batch.encoding == 2 && file.nonASCII
                    resend.bom = batch.encoding == 1
                    ownSteps.append(resend)
                }
            }
        }
    }

    /// Places the steps of their own (re-sends, later sections) on free minutes, writes the re-sent copies,
    /// then writes manifest.json: one step per ordinary receipt minute or own step, by received_at.
    private func writeManifest() throws {
        var used = Set<BusinessMinute>()
        for e in manifest { if case .slot(let m) = e.step { used.insert(m) } }
        var placed = [BusinessMinute?](repeating: nil, count: ownSteps.count)
        var merged = [StepRef?](repeating: nil, count: ownSteps.count)
        func minute(_ ref: StepRef) -> BusinessMinute? {
            switch ref {
            case .slot(let m): return m
            case .own(let i): return merged[i].flatMap(minute) ?? placed[i]
            }
        }
        func canonical(_ ref: StepRef) -> StepRef {
            if case .own(let i) = ref, let target = merged[i] { return canonical(target) }
            return ref
        }
        // In order of the wanted minute: a step's `after` is always placed first.
        let order = ownSteps.indices.sorted { (ownSteps[$0].estimate, $0) < (ownSteps[$1].estimate, $1) }
        for i in order {
            let step = ownSteps[i]
            // Not sent (a re-send of nothing placed), or no free minute: a later section joins the step before it,
            // a re-send is dropped (it was never written).
            guard let a = minute(step.after) else { continue }
            let lo = a + step.minOffset
            let hi = min(a + step.maxOffset, step.before - 1)
            var found: BusinessMinute? = nil
            if lo <= hi {
                let want = min(max(a + step.offset, lo), hi)
                var m = want
                while m <= hi && used.contains(m) { m += 1 }
                if m <= hi { found = m } else {
                    m = want - 1
                    while m >= lo && used.contains(m) { m -= 1 }
                    if m >= lo { found = m }
                }
            }
            if let m = found {
                placed[i] = m
                used.insert(m)
                if step.kind == .resend {
                    let bytes = try FileIO.read(directory + "/" + step.original)
                    try FileIO.write(bytes, to: directory + "/" + step.copy)
                    summary.bytesWritten += bytes.count
                    summary.reportFiles += 1
                    summary.resends += 1
                    if step.copy.hasSuffix(".json") { summary.jsonFiles += 1 } else { summary.csvFiles += 1 }
                    if step.gb18030 { summary.gb18030Files += 1 }
                    if step.bom { summary.bomFiles += 1 }
                    manifest.append(ManifestEntry(step: .own(i), kind: step.copy.hasSuffix(".json") ? 1 : 0, region: 0, section: 0, path: step.copy))
                } else {
                    summary.sectionSteps += 1
                    // The first later section that got a step of its own makes the upload a split one.
                    if case .slot = canonical(step.after) { summary.splitUploads += 1 }
                }
            } else if step.kind == .section {
                merged[i] = step.after
            }
        }

        var groups: [StepRef: [ManifestEntry]] = [:]
        for e in manifest { groups[canonical(e.step), default: []].append(e) }
        let steps = groups.keys.map { ($0, minute($0)!) }.sorted { $0.1 < $1.1 }
        var b = ByteBuffer(capacity: manifest.count * 64 + 1024)
        b.append("[")
        for (n, (ref, minute)) in steps.enumerated() {
            let files = groups[ref]!.sorted { a, b in
                if a.kind != b.kind { return a.kind < b.kind }
                if a.region != b.region { return a.region < b.region }
                if a.section != b.section { return a.section < b.section }
                return a.path < b.path
            }
            b.append(n == 0 ? "\n {\n  \"files\": [" : ",\n {\n  \"files\": [")
            for (k, f) in files.enumerated() {
                b.append(k == 0 ? "\n   " : ",\n   ")
                b.appendJSONString(f.path)
            }
            b.append("\n  ],\n  \"received_at\": \"")
            let day = minute / 1440
            let m = minute % 1440
            b.append(day: day); b.append("T")
            b.append(int: m / 60, width: 2); b.append(":"); b.append(int: m % 60, width: 2); b.append(":00+08:00\"")
            if case .own(let i) = ref {
                b.append(",\n  \"kind\": \"")
                b.append(ownSteps[i].kind == .resend ? "resend" : "section")
                b.append("\"")
            }
            b.append("\n }")
        }
        b.append(steps.isEmpty ? "]\n" : "\n]\n")
        try FileIO.write(b.bytes, to: directory + "/manifest.json")
        summary.bytesWritten += b.count
        summary.steps = steps.count
    }
}
