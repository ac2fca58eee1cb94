public import CivilCalendar

/// A region of the brand (大区).
public struct CorpusRegion: Sendable, Hashable {
    public let code: String
    public let name: String
}

/// A store (4S店). `closedOn` is the first day closed (exclusive), as in the contract.
public struct CorpusStore: Sendable, Hashable {
    public let code: String
    public let name: String
    public let regionCode: String
    public let city: String
    public let openedOn: CalendarDate
    public let closedOn: CalendarDate?
    /// True if the store normally reports through its region's CSV section files.
    public let reportsAsCSV: Bool

    /// True if the store is open on `d` (opened_on <= d < closed_on).
    public func isOpen(on d: CalendarDate) -> Bool { openedOn <= d && (closedOn.map { d < $0 } ?? true) }
}

/// A salesperson as the master file holds them: current state only (`storeCode` is the current store).
public struct CorpusSalesperson: Sendable, Hashable {
    public let code: String
    public let name: String
    public let storeCode: String
    public let hiredOn: CalendarDate
    public let leftOn: CalendarDate?
    public let title: String

    public func isEmployed(on d: CalendarDate) -> Bool { hiredOn <= d && (leftOn.map { d < $0 } ?? true) }
}

/// A car model.
public struct CorpusModel: Sendable, Hashable {
    public let code: String
    public let name: String
    public let segment: String
    /// Guide price in fen (an extra column `guide_price` of models.csv).
    public let listPriceFen: Int64
}

/// One row of plans.csv (`value` as written: integers for counts, two decimals for money).
public struct CorpusPlanRow: Sendable, Hashable {
    public let month: String
    public let storeCode: String
    public let salespersonCode: String?
    public let kpi: String
    public let value: String
}

/// One row of expenses.csv.
public struct CorpusExpenseRow: Sendable, Hashable {
    public let month: String
    public let storeCode: String
    public let amount: String
}

/// The salesperson who changes store during the corpus: reported by `fromStore` before `on`, by
/// `toStore` from `on`. The master file holds the final state (`toStore`).
public struct CorpusSalespersonMove: Sendable, Hashable {
    public let salespersonCode: String
    public let fromStore: String
    public let toStore: String
    public let on: CalendarDate
}

/// All master data of a corpus, as written to `master/*.csv`.
public struct CorpusMasterData: Sendable {
    public let regions: [CorpusRegion]
    public let stores: [CorpusStore]
    public let salespeople: [CorpusSalesperson]
    public let models: [CorpusModel]
    public let plans: [CorpusPlanRow]
    public let expenses: [CorpusExpenseRow]
    public let move: CorpusSalespersonMove?

    // Simulation inputs (not part of the master files).
    let profiles: [StoreProfile]
    /// Per store: the salespeople who may report there, with the days they may (the mover has an entry
    /// at each store).
    let rosters: [[RosterEntry]]
    let modelPopularity: [Double]
}

struct StoreProfile: Sendable {
    /// Weekday mean of new purchase groups (before trafficScale).
    var baseTraffic: Double
    /// Probability that a counted walk-in gets an A-card.
    var walkInCardRate: Double
    /// Multiplies the level-based probability that a card orders.
    var closeFactor: Double
    /// 0: store plan rows only; 1: salesperson PLAN_DELIVERIES + store rows for the other KPIs;
    /// 2: both store and salesperson PLAN_DELIVERIES rows (the store's own row wins).
    var planKind: Int
    /// Monthly expense budget scale, in yuan.
    var expenseBase: Int64
}

struct RosterEntry: Sendable {
    let salesperson: Int     // index into CorpusMasterData.salespeople
    let fromDay: Int         // daysSinceEpoch, inclusive
    let untilDay: Int        // daysSinceEpoch, exclusive (Int.max when open-ended)
    let weight: Double
}

/// The expected close rate (orders / traffic) of the card model at closeFactor 1, used to size plans.
let nominalCloseRate = 0.19
/// Average of the weekday/weekend factor over a week: (5 + 2 x 1.6) / 7.
let weekAverageFactor = (5.0 + 2.0 * 1.6) / 7.0

extension CorpusMasterData {
    /// Builds the master data of a configuration (deterministic from its seed).
    static func build(_ config: CorpusConfiguration) -> CorpusMasterData {
        var rng = SeededRandom(seed: config.seed, stream: 1)
        let start = config.startDate.daysSinceEpoch
        let end = start + config.days
        let n = config.stores
        let regionCount = config.regionCount

        // Regions.
        var regions: [CorpusRegion] = []
        for k in 0..<regionCount {
            let t = ReferenceData.regions[k % ReferenceData.regions.count]
            let round = k / ReferenceData.regions.count + 1
            if round == 1 {
                regions.append(CorpusRegion(code: t.code, name: t.name))
            } else {
                regions.append(CorpusRegion(code: t.code + String(round), name: t.shortName + ReferenceData.chineseNumber(round) + "区"))
            }
        }
        // CSV regions.
        var csvRegion = [Bool](repeating: false, count: regionCount)
        if regionCount >= 2 {
            let wanted = max(1, Int((Double(regionCount) * config.csvRegionShare).rounded()))
            if config.csvRegionShare > 0 {
                var order = Array(0..<regionCount)
                for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.below(i + 1)) }
                for k in order.prefix(min(wanted, regionCount - 1)) { csvRegion[k] = true }
            }
        }

        // Stores: region of store i is i % regionCount; cities cycle within the region's list.
        var cityCounters: [String: Int] = [:]
        var usedNames = Set<String>()
        var storeRegion: [Int] = []
        var storeCity: [(code: String, name: String)] = []
        var regionStoreCount = [Int](repeating: 0, count: regionCount)
        for i in 0..<n {
            let r = i % regionCount
            let t = ReferenceData.regions[r % ReferenceData.regions.count]
            // Spread stores over the region's cities, big cities first.
            let slot = regionStoreCount[r]
            regionStoreCount[r] += 1
            let city = t.cities[slot % t.cities.count]
            storeRegion.append(r)
            storeCity.append(city)
        }

        // Which stores open or close during the corpus.
        var opening = Set<Int>()
        var closing = Set<Int>()
        if config.days >= 14 && n >= 3 {
            let openCount = max(1, n / 20)
            var candidates = Array(1..<n)
            for i in stride(from: candidates.count - 1, to: 0, by: -1) { candidates.swapAt(i, rng.below(i + 1)) }
            for c in candidates.prefix(openCount) { opening.insert(c) }
            if n >= 4 {
                let closeCount = n >= 40 ? 2 : 1
                for c in candidates.dropFirst(openCount).prefix(closeCount) { closing.insert(c) }
            }
        }

        var stores: [CorpusStore] = []
        var profiles: [StoreProfile] = []
        for i in 0..<n {
            let city = storeCity[i]
            let counter = (cityCounters[city.code] ?? 0) + 1
            cityCounters[city.code] = counter
            let code = city.code + (counter < 1000 ? pad3(counter) : String(counter))
            var name = ""
            let districtOffset = rng.below(ReferenceData.districts.count)
            for attempt in 0..<1000 {
                let district = ReferenceData.districts[(districtOffset + attempt) % ReferenceData.districts.count]
                let suffix = attempt < ReferenceData.districts.count ? "" : ReferenceData.chineseNumber(attempt / ReferenceData.districts.count + 1) + "店"
                name = city.name + "华驰" + district + "4S店" + suffix
                if !usedNames.contains(name) { break }
            }
            usedNames.insert(name)
            let openedOn: Int
            var closedOn: Int? = nil
            if opening.contains(i) {
                openedOn = start + rng.int(1...max(1, config.days * 2 / 3))
            } else {
                // Opened 60 days to 16 years before the corpus.
                openedOn = start - rng.int(60...(16 * 365))
                if closing.contains(i) {
                    closedOn = start + rng.int(max(1, config.days / 3)...max(1, config.days - 1))
                }
            }
            let u = rng.unit()
            let base = 5.0 + 20.0 * u * u.squareRoot()
            let capture = rng.double(0.72, 0.84)
            // Solve the walk-in card rate for the wanted capture rate (see Simulation: channel mix).
            let walkIn = 0.72, phoneCards = 0.18 * 0.45, eventCards = 0.10 * 0.5, validShare = 0.945
            let wRate = min(0.95, max(0.5, (capture * (walkIn + phoneCards + eventCards) / validShare - phoneCards - eventCards) / walkIn))
            let planRoll = rng.unit()
            profiles.append(StoreProfile(
                baseTraffic: base,
                walkInCardRate: wRate,
                closeFactor: rng.double(0.6, 1.25),
                planKind: planRoll < 0.6 ? 0 : (planRoll < 0.9 ? 1 : 2),
                expenseBase: Int64(25_000 + Int(base * 1_800.0)) + Int64(rng.int(0...8_000))
            ))
            stores.append(CorpusStore(
                code: code, name: name, regionCode: regions[storeRegion[i]].code, city: city.name,
                openedOn: CalendarDate(daysSinceEpoch: openedOn),
                closedOn: closedOn.map { CalendarDate(daysSinceEpoch: $0) },
                reportsAsCSV: regionCount >= 2 ? csvRegion[storeRegion[i]] : (config.csvRegionShare > 0 && i % 2 == 1)
            ))
        }

        // Salespeople.
        var salespeople: [CorpusSalesperson] = []
        var rosters: [[RosterEntry]] = Array(repeating: [], count: n)
        var storeStaff: [[Int]] = Array(repeating: [], count: n)
        var spHired: [Int] = []
        var spLeft: [Int?] = []
        var spStore: [Int] = []
        var spWeight: [Double] = []
        var spSeq = [Int](repeating: 0, count: n)
        func newName(_ rng: inout SeededRandom) -> String { personName(&rng) }
        for i in 0..<n {
            let count = 4 + rng.below(6) + rng.below(7)
            let opened = stores[i].openedOn.daysSinceEpoch
            for _ in 0..<count {
                let hired: Int
                if opening.contains(i) {
                    hired = opened
                } else {
                    hired = max(opened, start - rng.int(30...(9 * 365)))
                }
                let left: Int? = stores[i].closedOn?.daysSinceEpoch
                spSeq[i] += 1
                storeStaff[i].append(salespeople.count)
                spHired.append(hired); spLeft.append(left); spStore.append(i); spWeight.append(rng.double(0.5, 1.5))
                salespeople.append(CorpusSalesperson(
                    code: stores[i].code + "-S" + pad2(spSeq[i]), name: newName(&rng), storeCode: stores[i].code,
                    hiredOn: CalendarDate(daysSinceEpoch: hired), leftOn: left.map { CalendarDate(daysSinceEpoch: $0) },
                    title: rng.pick(ReferenceData.titles)))
            }
        }
        let stable = (0..<n).filter { !opening.contains($0) && !closing.contains($0) }
        // A few leave and a few are hired during the corpus (stable stores only, never below 4 staff).
        var leavers = Set<Int>()
        if config.days >= 14 {
            var leaveStores = stable.filter { storeStaff[$0].count >= 5 && rng.chance(0.08) }
            if leaveStores.isEmpty, let s = stable.first(where: { storeStaff[$0].count >= 5 }) { leaveStores = [s] }
            for s in leaveStores {
                let who = storeStaff[s][rng.below(storeStaff[s].count)]
                let day = start + rng.int(1...max(1, config.days - 1))
                spLeft[who] = day
                leavers.insert(who)
                let p = salespeople[who]
                salespeople[who] = CorpusSalesperson(code: p.code, name: p.name, storeCode: p.storeCode, hiredOn: p.hiredOn,
                                                     leftOn: CalendarDate(daysSinceEpoch: day), title: p.title)
            }
            var hireStores = stable.filter { _ in rng.chance(0.08) }
            if hireStores.isEmpty, let s = stable.last { hireStores = [s] }
            for s in hireStores {
                let day = start + rng.int(1...max(1, config.days - 1))
                spSeq[s] += 1
                storeStaff[s].append(salespeople.count)
                spHired.append(day); spLeft.append(nil); spStore.append(s); spWeight.append(rng.double(0.4, 1.0))
                salespeople.append(CorpusSalesperson(
                    code: stores[s].code + "-S" + pad2(spSeq[s]), name: newName(&rng), storeCode: stores[s].code,
                    hiredOn: CalendarDate(daysSinceEpoch: day), leftOn: nil, title: "销售顾问"))
            }
        }
        // One salesperson moves store (between two stable stores with store-level plans).
        var move: CorpusSalespersonMove? = nil
        var moverIndex: Int? = nil
        var moveDay = 0
        var moveTo = 0
        if config.days >= 14 && stable.count >= 2 {
            let sources = stable.filter { s in storeStaff[s].filter { !leavers.contains($0) && spHired[$0] < start }.count >= 5 }
            if !sources.isEmpty {
                let from = sources[rng.below(sources.count)]
                let candidates = storeStaff[from].filter { !leavers.contains($0) && spHired[$0] < start }
                let who = candidates[rng.below(candidates.count)]
                let to = stable.filter { $0 != from }[rng.below(stable.count - 1)]
                moveDay = start + rng.int(max(1, config.days / 4)...max(1, config.days * 3 / 4))
                moverIndex = who
                moveTo = to
                profiles[from].planKind = 0
                profiles[to].planKind = 0
                let p = salespeople[who]
                salespeople[who] = CorpusSalesperson(code: p.code, name: p.name, storeCode: stores[to].code, hiredOn: p.hiredOn,
                                                     leftOn: p.leftOn, title: p.title)
                move = CorpusSalespersonMove(salespersonCode: p.code, fromStore: stores[from].code, toStore: stores[to].code,
                                             on: CalendarDate(daysSinceEpoch: moveDay))
            }
        }
        for (idx, s) in spStore.enumerated() {
            let until = spLeft[idx] ?? Int.max
            if idx == moverIndex {
                rosters[s].append(RosterEntry(salesperson: idx, fromDay: spHired[idx], untilDay: moveDay, weight: spWeight[idx]))
                rosters[moveTo].append(RosterEntry(salesperson: idx, fromDay: moveDay, untilDay: until, weight: spWeight[idx]))
            } else {
                rosters[s].append(RosterEntry(salesperson: idx, fromDay: spHired[idx], untilDay: until, weight: spWeight[idx]))
            }
        }

        let models = ReferenceData.models.map {
            CorpusModel(code: $0.code, name: $0.name, segment: $0.segment, listPriceFen: $0.listYuan * 100)
        }

        // Plans and expenses for every month the corpus touches, for every store open in that month.
        var plans: [CorpusPlanRow] = []
        var expenses: [CorpusExpenseRow] = []
        var monthStart = CalendarDate(year: config.startDate.year, month: config.startDate.month, day: 1)!
        let avgPrice: Double = {
            var total = 0.0, weight = 0.0
            for m in ReferenceData.models { total += Double(m.listYuan) * m.popularity; weight += m.popularity }
            return total / weight * 0.95
        }()
        while monthStart.daysSinceEpoch < end {
            let next = monthStart.adding(months: 1)
            let month = monthStart.description.prefix(7).description
            for i in 0..<n {
                let s = stores[i]
                let from = max(monthStart.daysSinceEpoch, s.openedOn.daysSinceEpoch)
                let until = min(next.daysSinceEpoch, s.closedOn?.daysSinceEpoch ?? Int.max)
                let openDays = until - from
                if openDays <= 0 { continue }
                let p = profiles[i]
                let traffic = p.baseTraffic * config.trafficScale * weekAverageFactor * Double(openDays)
                let deliveries = max(1, Int((traffic * nominalCloseRate * p.closeFactor * rng.double(0.9, 1.25)).rounded()))
                let revenueYuan = Int64((Double(deliveries) * avgPrice / 1000.0).rounded()) * 1000
                let cards = max(1, Int((traffic * 0.75 * rng.double(0.95, 1.15)).rounded()))
                let budgetYuan = p.expenseBase * Int64(openDays) / Int64(CalendarDate.daysIn(month: monthStart.month, year: monthStart.year))
                let budget = Cents(yuan: budgetYuan / 100 * 100)
                let actual = Cents(Int64(Double(budget.value) * rng.double(0.88, 1.12)))
                if p.planKind != 1 {
                    plans.append(CorpusPlanRow(month: month, storeCode: s.code, salespersonCode: nil, kpi: "PLAN_DELIVERIES", value: String(deliveries)))
                }
                plans.append(CorpusPlanRow(month: month, storeCode: s.code, salespersonCode: nil, kpi: "PLAN_REVENUE", value: Cents(yuan: revenueYuan).fixed2))
                plans.append(CorpusPlanRow(month: month, storeCode: s.code, salespersonCode: nil, kpi: "PLAN_NEW_A_CARDS", value: String(cards)))
                plans.append(CorpusPlanRow(month: month, storeCode: s.code, salespersonCode: nil, kpi: "EXPENSE_BUDGET", value: budget.fixed2))
                if p.planKind != 0 {
                    // Salesperson rows for those employed at the store during the month.
                    let staff = rosters[i].filter { $0.fromDay < until && $0.untilDay > from }
                    var totalWeight = 0.0
                    for e in staff { totalWeight += e.weight }
                    for e in staff {
                        let share = Double(deliveries) * e.weight / max(totalWeight, 0.001)
                        let v = max(1, Int((share * rng.double(0.9, 1.2)).rounded()))
                        plans.append(CorpusPlanRow(month: month, storeCode: s.code, salespersonCode: salespeople[e.salesperson].code,
                                                   kpi: "PLAN_DELIVERIES", value: String(v)))
                    }
                }
                expenses.append(CorpusExpenseRow(month: month, storeCode: s.code, amount: actual.fixed2))
            }
            monthStart = next
        }

        return CorpusMasterData(
            regions: regions, stores: stores, salespeople: salespeople, models: models, plans: plans, expenses: expenses,
            move: move, profiles: profiles, rosters: rosters,
            modelPopularity: ReferenceData.models.map(\.popularity))
    }
}

/// A random full Chinese name (always valid under the contract's rule).
func personName(_ rng: inout SeededRandom) -> String {
    let surname: String
    if rng.chance(0.015) {
        surname = rng.pick(ReferenceData.compoundSurnames)
    } else {
        // Earlier surnames are more common: take the smaller of two draws.
        let n = ReferenceData.surnames.count
        surname = ReferenceData.surnames[min(rng.below(n), rng.below(n))]
    }
    let g = ReferenceData.givenChars
    if rng.chance(0.35) { return surname + rng.pick(g) }
    return surname + rng.pick(g) + rng.pick(g)
}

func pad2(_ v: Int) -> String { v < 10 ? "0" + String(v) : String(v) }
func pad3(_ v: Int) -> String { v < 10 ? "00" + String(v) : (v < 100 ? "0" + String(v) : String(v)) }
