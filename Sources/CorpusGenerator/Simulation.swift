import CivilCalendar
/// The business simulation of one store, day by day. Only what can still change is kept: cards with a
/// scheduled event (order or loss), a bounded ring of recent dormant open cards (for revisits and
/// hand-overs), open orders, and the records changed since the store's last sent report.

// MARK: - Records

enum Channel { static let walkIn = 0, phone = 1, event = 2 }
enum Purpose { static let purchase = 0, afterSales = 1, business = 2, other = 3 }
enum CardStatus { static let open = 0, ordered = 1, lost = 2 }
enum OrderStatus { static let ordered = 0, delivered = 1, cancelled = 2 }
enum Fate { static let none = 0, order = 1, lose = 2, deliver = 3, cancel = 4, topUp = 5 }

let channelNames = ["walk_in", "phone", "event"]
let purposeNames = ["purchase", "after_sales", "business", "other"]
let levelNames = ["H", "A", "B", "C"]
let sourceNames = ["walk_in", "phone", "event", "other"]
let cardStatusNames = ["open", "ordered", "lost"]
let orderStatusNames = ["ordered", "delivered", "cancelled"]

struct Visit {
    var channel: Int
    var purpose: Int
    var salesperson: Int
    var model: Int          // -1: null
    var partySize: Int
    var omitPartySize: Bool // JSON: key absent; CSV: empty cell (only when partySize == 1)
    var existingCard: Int   // 0: null
    var existingOrder: Bool
    var newCard: Int        // 0: null
    var testDrive: Bool
}

struct Card {
    var number: Int
    var createdOn: Int
    var salesperson: Int
    var name: String
    var phone: String
    var model: Int          // -1: null
    var level: Int
    var source: Int
    var status: Int = CardStatus.open
    var closedOn: Int = 0
    var lostReason: String? = nil
    var fate: Int = Fate.none
    var eventDay: Int = 0
    var invalidName: Bool = false
}

struct Order {
    var number: Int
    var card: Int           // 0: null
    var salesperson: Int
    var model: Int
    var orderDate: Int
    var status: Int = OrderStatus.ordered
    var deliveryDate: Int = 0
    var cancelDate: Int = 0
    var vin: String? = nil
    var listPrice: Int64    // fen; -1: null
    var dealPrice: Int64
    var collected: Int64
    var fate: Int = Fate.none
    var eventDay: Int = 0
    var topUpDue: Bool = false
}

/// One store-day's report content.
struct DayReport {
    var store: Int
    var day: Int
    var visits: [Visit]
    var cards: [Card]
    var orders: [Order]
}

/// Global counters shared by all stores (VINs must be unique across the corpus).
struct SharedCounters {
    var vinSerial = 0
}

// MARK: - Store simulation

final class StoreSimulation {
    static let ringDays = 128
    let index: Int
    let profile: StoreProfile
    let roster: [RosterEntry]
    let firstDay: Int
    let lastDay: Int           // last open day within the corpus (inclusive)
    let closesInCorpus: Bool   // lastDay is the store's final business day
    let trafficScale: Double
    let modelPopularity: [Double]
    let modelPrices: [Int64]
    let modelVDS: [[UInt8]]
    var rng: SeededRandom

    private var cardSeq = 0
    private var orderSeq = 0
    private var cardBuckets: [[Card]]
    private var orderBuckets: [[Order]]
    private var dormant: [Card] = []
    private var dormantHead = 0
    private let dormantCap: Int
    private(set) var pendingCards: [Int: Card] = [:]
    private(set) var pendingOrders: [Int: Order] = [:]
    private let rosterChangeDays: Set<Int>

    // Today's roster.
    private var todayStaff: [Int] = []
    private var todayCumWeights: [Double] = []

    // Facts counters (truth, not rows).
    var newCards = 0
    var newOrders = 0
    var deliveries = 0
    var cancellations = 0

    init(index: Int, profile: StoreProfile, roster: [RosterEntry], firstDay: Int, lastDay: Int, closesInCorpus: Bool,
         config: CorpusConfiguration, modelPopularity: [Double]) {
        self.index = index
        self.profile = profile
        self.roster = roster
        self.firstDay = firstDay
        self.lastDay = lastDay
        self.closesInCorpus = closesInCorpus
        self.trafficScale = config.trafficScale
        self.modelPopularity = modelPopularity
        self.modelPrices = ReferenceData.models.map { $0.listYuan * 100 }
        self.modelVDS = ReferenceData.models.map { Array($0.vds.utf8) }
        self.rng = SeededRandom(seed: config.seed, stream: 2, substream: UInt64(index))
        self.cardBuckets = Array(repeating: [], count: StoreSimulation.ringDays)
        self.orderBuckets = Array(repeating: [], count: StoreSimulation.ringDays)
        self.dormantCap = closesInCorpus ? Int.max : 256
        var changes = Set<Int>()
        for e in roster where e.untilDay != Int.max { changes.insert(e.untilDay) }
        self.rosterChangeDays = changes
    }

    // MARK: Day

    /// Simulates day `d` (the store is open) and returns the day's visits; changed cards and orders
    /// accumulate in `pendingCards` / `pendingOrders` until `takePending()`.
    func simulate(day d: Int, counters: inout SharedCounters) -> [Visit] {
        loadRoster(day: d)
        if rosterChangeDays.contains(d) { handOver(day: d) }
        var visits: [Visit] = []
        visits.reserveCapacity(Int(profile.baseTraffic * trafficScale * 2.2) + 8)

        let weekday = CivilCalendarBridge.isoWeekday(day: d)
        let weekend = weekday >= 6
        let month = CivilCalendarBridge.month(day: d)
        let season: [Double] = [1.10, 0.80, 1.00, 1.00, 1.05, 0.95, 0.90, 0.95, 1.10, 1.15, 1.00, 1.10]
        let factor = (weekend ? 1.6 : 1.0) * season[month - 1] * trafficScale
        let base = profile.baseTraffic * factor

        // 1. Scheduled card events.
        let slot = d % StoreSimulation.ringDays
        if !cardBuckets[slot].isEmpty {
            let due = cardBuckets[slot]
            cardBuckets[slot].removeAll(keepingCapacity: true)
            for var card in due {
                if card.fate == Fate.order {
                    orderCard(&card, day: d, visits: &visits, revisit: true)
                } else {
                    card.status = CardStatus.lost
                    card.closedOn = d
                    card.lostReason = rng.pick(ReferenceData.lostReasons)
                    card.fate = Fate.none
                    pendingCards[card.number] = card
                }
            }
        }
        // 2. Scheduled order events.
        if !orderBuckets[slot].isEmpty {
            let due = orderBuckets[slot]
            orderBuckets[slot].removeAll(keepingCapacity: true)
            for var order in due {
                switch order.fate {
                case Fate.deliver:
                    deliver(&order, day: d, counters: &counters, visits: &visits)
                case Fate.cancel:
                    order.status = OrderStatus.cancelled
                    order.cancelDate = d
                    // `collected` is cumulative money received: a refund is not modelled, so it stays.
                    order.fate = Fate.none
                    cancellations += 1
                    pendingOrders[order.number] = order
                default: // top-up of a partially paid delivery
                    order.collected = order.dealPrice
                    order.fate = Fate.none
                    order.topUpDue = false
                    pendingOrders[order.number] = order
                }
            }
        }

        // 3. New purchase traffic.
        let newGroups = rng.poisson(base)
        let eventShare = weekend ? 0.16 : 0.06
        for _ in 0..<newGroups {
            let r = rng.unit()
            let channel = r < eventShare ? Channel.event : (r < eventShare + 0.18 ? Channel.phone : Channel.walkIn)
            let sp = pickSalesperson()
            let model = rng.chance(0.05) ? -1 : rng.weighted(modelPopularity)
            var v = Visit(channel: channel, purpose: Purpose.purchase, salesperson: sp, model: model,
                          partySize: channel == Channel.phone ? (rng.chance(0.85) ? 1 : 2) : partySize(),
                          omitPartySize: false, existingCard: 0, existingOrder: false, newCard: 0,
                          testDrive: false)
            switch channel {
            case Channel.walkIn: v.testDrive = rng.chance(0.36)
            case Channel.event: v.testDrive = rng.chance(0.2)
            default: break
            }
            var cardRate = channel == Channel.walkIn ? profile.walkInCardRate : (channel == Channel.phone ? 0.45 : 0.5)
            if model < 0 { cardRate *= 0.4 } // no intended model: rarely filed
            if rng.chance(cardRate) {
                var card = newCard(day: d, salesperson: sp, model: model, channel: channel)
                v.newCard = card.number
                if card.fate == Fate.order && card.eventDay == d {
                    // Signed on the spot.
                    orderCard(&card, day: d, visits: &visits, revisit: false)
                } else {
                    schedule(card, day: d)
                }
            } else if channel == Channel.walkIn && rng.chance(0.02 * profile.closeFactor) {
                // Bought without an A-card (the salesperson never filed one).
                var order = newOrder(card: 0, salesperson: sp, model: model >= 0 ? model : rng.weighted(modelPopularity), day: d)
                scheduleOrder(&order, day: d)
            }
            if v.partySize == 1 && rng.chance(0.03) { v.omitPartySize = true }
            visits.append(v)
        }

        // 4. Revisits of open card holders.
        let revisits = rng.poisson(base * 0.10)
        if revisits > 0 && dormant.count > 0 {
            for _ in 0..<revisits {
                let c = dormant[rng.below(dormant.count)]
                visits.append(Visit(channel: rng.chance(0.85) ? Channel.walkIn : Channel.phone, purpose: Purpose.purchase,
                                    salesperson: c.salesperson, model: c.model, partySize: partySize(), omitPartySize: false,
                                    existingCard: c.number, existingOrder: false, newCard: 0, testDrive: rng.chance(0.2)))
            }
        }

        // 5. Non-purchase visits (after-sales, business, other).
        let others = rng.poisson(base * 0.28)
        for _ in 0..<others {
            let r = rng.unit()
            let purpose = r < 0.6 ? Purpose.afterSales : (r < 0.8 ? Purpose.business : Purpose.other)
            let ch = rng.unit()
            let channel = ch < 0.72 ? Channel.walkIn : (ch < 0.95 ? Channel.phone : Channel.event)
            visits.append(Visit(channel: channel, purpose: purpose, salesperson: pickSalesperson(),
                                model: rng.chance(0.25) ? -1 : rng.weighted(modelPopularity), partySize: partySize(),
                                omitPartySize: false, existingCard: 0,
                                existingOrder: purpose == Purpose.afterSales && rng.chance(0.3), newCard: 0,
                                testDrive: purpose == Purpose.afterSales && rng.chance(0.02)))
        }

        // 6. The store's final business day: every open card is lost, every pending order delivered.
        if closesInCorpus && d == lastDay { closeOut(day: d, counters: &counters) }

        if visits.isEmpty {
            visits.append(Visit(channel: Channel.walkIn, purpose: Purpose.afterSales, salesperson: pickSalesperson(),
                                model: rng.weighted(modelPopularity), partySize: 1, omitPartySize: false, existingCard: 0,
                                existingOrder: true, newCard: 0, testDrive: false))
        }
        // The front desk logs groups in arrival order, not by kind.
        for i in stride(from: visits.count - 1, to: 0, by: -1) { visits.swapAt(i, rng.below(i + 1)) }
        return visits
    }

    /// The records changed since the last sent report, sorted by id; clears them.
    func takePending() -> (cards: [Card], orders: [Order]) {
        let cards = pendingCards.values.sorted { $0.number < $1.number }
        let orders = pendingOrders.values.sorted { $0.number < $1.number }
        pendingCards.removeAll(keepingCapacity: true)
        pendingOrders.removeAll(keepingCapacity: true)
        return (cards, orders)
    }

    /// A correction fixed a card's name: later reports carry the fixed name.
    func fixName(card number: Int, to name: String) {
        for b in 0..<cardBuckets.count {
            for i in cardBuckets[b].indices where cardBuckets[b][i].number == number {
                cardBuckets[b][i].name = name
                cardBuckets[b][i].invalidName = false
            }
        }
        for i in dormant.indices where dormant[i].number == number {
            dormant[i].name = name
            dormant[i].invalidName = false
        }
        if pendingCards[number] != nil {
            pendingCards[number]!.name = name
            pendingCards[number]!.invalidName = false
        }
    }

    // MARK: Helpers

    private func loadRoster(day d: Int) {
        todayStaff.removeAll(keepingCapacity: true)
        todayCumWeights.removeAll(keepingCapacity: true)
        var total = 0.0
        for e in roster where e.fromDay <= d && d < e.untilDay {
            todayStaff.append(e.salesperson)
            total += e.weight
            todayCumWeights.append(total)
        }
        precondition(!todayStaff.isEmpty, "store \(index) has no salesperson on day \(d)")
    }

    private func pickSalesperson() -> Int {
        let r = rng.unit() * todayCumWeights[todayCumWeights.count - 1]
        for (i, w) in todayCumWeights.enumerated() where r < w { return todayStaff[i] }
        return todayStaff[todayStaff.count - 1]
    }

    private func isStaff(_ sp: Int) -> Bool { todayStaff.contains(sp) }

    private func partySize() -> Int {
        let r = rng.unit()
        if r < 0.35 { return 1 }
        if r < 0.70 { return 2 }
        if r < 0.88 { return 3 }
        if r < 0.97 { return 4 }
        return 5
    }

    /// Hands the cards and orders of someone who left (or moved) over to a colleague.
    private func handOver(day d: Int) {
        for b in 0..<cardBuckets.count {
            for i in cardBuckets[b].indices where !isStaff(cardBuckets[b][i].salesperson) {
                cardBuckets[b][i].salesperson = pickSalesperson()
                pendingCards[cardBuckets[b][i].number] = cardBuckets[b][i]
            }
            for i in orderBuckets[b].indices where !isStaff(orderBuckets[b][i].salesperson) {
                orderBuckets[b][i].salesperson = pickSalesperson()
                pendingOrders[orderBuckets[b][i].number] = orderBuckets[b][i]
            }
        }
        for i in dormant.indices where !isStaff(dormant[i].salesperson) {
            dormant[i].salesperson = pickSalesperson()
            pendingCards[dormant[i].number] = dormant[i]
        }
        // Dictionary order is per-process random: walk the keys sorted so the output is deterministic.
        for k in pendingCards.keys.sorted() where !isStaff(pendingCards[k]!.salesperson) {
            pendingCards[k]!.salesperson = pickSalesperson()
        }
        for k in pendingOrders.keys.sorted() where !isStaff(pendingOrders[k]!.salesperson) {
            pendingOrders[k]!.salesperson = pickSalesperson()
        }
    }

    private func newCard(day d: Int, salesperson: Int, model: Int, channel: Int) -> Card {
        cardSeq += 1
        newCards += 1
        let lr = rng.unit()
        let level = lr < 0.15 ? 0 : (lr < 0.45 ? 1 : (lr < 0.80 ? 2 : 3))
        var name: String
        var invalidName = false
        if rng.chance(0.025) {
            name = rng.pick(ReferenceData.invalidNames)
            invalidName = true
        } else {
            name = personName(&rng)
            if rng.chance(0.01) { name = " " + name + " " }
        }
        var card = Card(number: cardSeq, createdOn: d, salesperson: salesperson, name: name, phone: phone(),
                        model: model, level: level, source: rng.chance(0.05) ? 3 : channel)
        card.invalidName = invalidName
        // Fate: order (by level, scaled by the store's close factor), loss, or stays open.
        let orderP = [0.45, 0.30, 0.18, 0.08][level] * profile.closeFactor
        let r = rng.unit()
        if r < orderP {
            card.fate = Fate.order
            switch level {
            case 0: card.eventDay = d + (rng.chance(0.25) ? 0 : rng.int(1...7))
            case 1: card.eventDay = d + rng.int(2...15)
            case 2: card.eventDay = d + rng.int(5...30)
            default: card.eventDay = d + rng.int(15...60)
            }
        } else if r < orderP + 0.14 {
            card.fate = Fate.lose
            card.eventDay = d + rng.int(3...60)
        }
        pendingCards[card.number] = card
        return card
    }

    private func schedule(_ card: Card, day d: Int) {
        if card.fate == Fate.none || card.eventDay > lastDay {
            // Nothing will happen to it within the corpus: a dormant open card.
            var c = card
            c.fate = Fate.none
            addDormant(c)
        } else {
            cardBuckets[card.eventDay % StoreSimulation.ringDays].append(card)
        }
    }

    private func addDormant(_ card: Card) {
        if dormant.count < dormantCap {
            dormant.append(card)
        } else {
            dormant[dormantHead] = card
            dormantHead = (dormantHead + 1) % dormant.count
        }
    }

    private func orderCard(_ card: inout Card, day d: Int, visits: inout [Visit], revisit: Bool) {
        card.status = CardStatus.ordered
        card.closedOn = d
        card.fate = Fate.none
        pendingCards[card.number] = card
        let model = card.model >= 0 ? card.model : rng.weighted(modelPopularity)
        var order = newOrder(card: card.number, salesperson: card.salesperson, model: model, day: d)
        scheduleOrder(&order, day: d)
        if revisit && rng.chance(0.7) {
            visits.append(Visit(channel: Channel.walkIn, purpose: Purpose.purchase, salesperson: card.salesperson,
                                model: model, partySize: partySize(), omitPartySize: false, existingCard: card.number,
                                existingOrder: false, newCard: 0, testDrive: rng.chance(0.3)))
        }
    }

    private func newOrder(card: Int, salesperson: Int, model: Int, day d: Int) -> Order {
        orderSeq += 1
        newOrders += 1
        let list = modelPrices[model]
        // Discount 1.5%–9%, rounded to 100 yuan mostly; some to the yuan; a few "lucky" prices.
        let discountPermille = Int64(rng.int(15...90))
        var deal = list - list * discountPermille / 1000
        let style = rng.unit()
        if style < 0.72 {
            deal = deal / 10_000 * 10_000
        } else if style < 0.92 {
            deal = deal / 100 * 100
        } else {
            deal = deal / 100_000 * 100_000 - 100_000 + 88_888 // e.g. 258888.88
        }
        if deal <= 0 { deal = list }
        let depositChoices: [Int64] = [200_000, 500_000, 500_000, 1_000_000, 2_000_000, 0]
        let order = Order(number: orderSeq, card: card, salesperson: salesperson, model: model, orderDate: d,
                          listPrice: rng.chance(0.05) ? -1 : list, dealPrice: deal, collected: rng.pick(depositChoices))
        return order
    }

    private func scheduleOrder(_ order: inout Order, day d: Int) {
        if rng.chance(0.05) {
            order.fate = Fate.cancel
            order.eventDay = d + rng.int(1...20)
        } else {
            order.fate = Fate.deliver
            order.eventDay = d + (rng.chance(0.15) ? rng.int(2...4) : rng.int(5...30))
        }
        pendingOrders[order.number] = order
        if order.eventDay <= lastDay {
            orderBuckets[order.eventDay % StoreSimulation.ringDays].append(order)
        } else if closesInCorpus {
            // Will be delivered at the close-out.
            order.eventDay = lastDay
            order.fate = Fate.deliver
            orderBuckets[lastDay % StoreSimulation.ringDays].append(order)
        }
    }

    private func deliver(_ order: inout Order, day d: Int, counters: inout SharedCounters, visits: inout [Visit]) {
        order.status = OrderStatus.delivered
        order.deliveryDate = d
        order.vin = makeVIN(model: order.model, day: d, serial: counters.vinSerial)
        counters.vinSerial += 1
        deliveries += 1
        order.fate = Fate.none
        if rng.chance(0.08) {
            // Slightly short: the customer still owes a little.
            let short = Int64(rng.int(5...80)) * 10_000
            order.collected = max(order.collected, order.dealPrice - short)
            if rng.chance(0.6) {
                let topUp = d + rng.int(3...20)
                if topUp <= lastDay {
                    order.fate = Fate.topUp
                    order.eventDay = topUp
                    order.topUpDue = true
                    orderBuckets[topUp % StoreSimulation.ringDays].append(order)
                }
            }
        } else {
            order.collected = order.dealPrice
        }
        pendingOrders[order.number] = order
        if rng.chance(0.8) {
            visits.append(Visit(channel: Channel.walkIn, purpose: Purpose.purchase, salesperson: order.salesperson,
                                model: order.model, partySize: partySize(), omitPartySize: false, existingCard: order.card,
                                existingOrder: true, newCard: 0, testDrive: false))
        }
    }

    private func closeOut(day d: Int, counters: inout SharedCounters) {
        var ignored: [Visit] = []
        for b in 0..<cardBuckets.count {
            for var c in cardBuckets[b] {
                c.status = CardStatus.lost
                c.closedOn = d
                c.lostReason = ReferenceData.storeClosingReason
                c.fate = Fate.none
                pendingCards[c.number] = c
            }
            cardBuckets[b].removeAll()
            for var o in orderBuckets[b] {
                if o.status == OrderStatus.ordered {
                    deliver(&o, day: d, counters: &counters, visits: &ignored)
                }
                // Close-out collects everything.
                o.collected = o.dealPrice
                o.fate = Fate.none
                pendingOrders[o.number] = o
            }
            orderBuckets[b].removeAll()
        }
        for var c in dormant {
            c.status = CardStatus.lost
            c.closedOn = d
            c.lostReason = ReferenceData.storeClosingReason
            pendingCards[c.number] = c
        }
        dormant.removeAll()
    }

    /// A 17-character VIN of `[A-HJ-NPR-Z0-9]` with a valid ISO 3779 check digit; unique by `serial`.
    private func makeVIN(model: Int, day: Int, serial: Int) -> String {
        let plants = Array("ABCDEFGHJKLMNPRSTUVWXYZ0123456789".utf8)
        let yearCodes = Array("ABCDEFGHJKLMNPRSTVWXY123456789".utf8) // 2010...2039
        var v = [UInt8](repeating: 0, count: 17)
        v[0] = UInt8(ascii: "L"); v[1] = UInt8(ascii: "H"); v[2] = UInt8(ascii: "Z")
        for i in 0..<5 { v[3 + i] = modelVDS[model][i] }
        let year = CivilCalendarBridge.year(day: day)
        v[9] = yearCodes[max(0, min(yearCodes.count - 1, year - 2010))]
        v[10] = plants[(serial / 900_000) % plants.count]
        var s = 100_000 + serial % 900_000
        for i in stride(from: 16, through: 11, by: -1) {
            v[i] = 48 + UInt8(s % 10)
            s /= 10
        }
        v[8] = vinCheckDigit(v)
        return String(decoding: v, as: UTF8.self)
    }
}

/// ISO 3779 / North American check digit (position 9).
func vinCheckDigit(_ v: [UInt8]) -> UInt8 {
    let weights = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]
    var sum = 0
    for i in 0..<17 {
        let c = v[i]
        let value: Int
        switch c {
        case 48...57: value = Int(c - 48)
        case UInt8(ascii: "A")...UInt8(ascii: "H"): value = Int(c - UInt8(ascii: "A")) + 1
        case UInt8(ascii: "J")...UInt8(ascii: "N"): value = Int(c - UInt8(ascii: "J")) + 1
        case UInt8(ascii: "P"): value = 7
        case UInt8(ascii: "R"): value = 9
        case UInt8(ascii: "S")...UInt8(ascii: "Z"): value = Int(c - UInt8(ascii: "S")) + 2
        default: value = 0
        }
        sum += value * weights[i]
    }
    let r = sum % 11
    return r == 10 ? UInt8(ascii: "X") : 48 + UInt8(r)
}

extension StoreSimulation {
    /// A phone number as a customer gives it: mostly valid mobiles in several layouts, some landlines,
    /// a few malformed or blacklisted ones.
    func phone() -> String {
        let r = rng.unit()
        if r < 0.02 { return rng.pick(ReferenceData.badPhones) }
        if r < 0.10 {
            // Landline.
            let area = rng.pick(ReferenceData.areaCodes)
            var local = String(rng.int(2...8))
            for _ in 1..<area.digits { local += String(rng.below(10)) }
            switch rng.below(3) {
            case 0: // (021) 8575 9765
                let cut = local.index(local.startIndex, offsetBy: area.digits - 4)
                return "(" + area.code + ") " + local[..<cut] + " " + local[cut...]
            case 1: return area.code + " " + local
            default: return area.code + "-" + local
            }
        }
        var digits = rng.pick(ReferenceData.mobilePrefixes)
        for _ in 0..<8 { digits += String(rng.below(10)) }
        let u = Array(digits.utf8)
        func part(_ a: Int, _ b: Int) -> String { String(decoding: u[a..<b], as: UTF8.self) }
        let f = rng.unit()
        if f < 0.60 { return digits }
        if f < 0.76 { return part(0, 3) + " " + part(3, 7) + " " + part(7, 11) }
        if f < 0.85 { return "+86-" + part(0, 3) + "-" + part(3, 7) + "-" + part(7, 11) }
        if f < 0.89 { return "+86 " + part(0, 3) + " " + part(3, 7) + " " + part(7, 11) }
        if f < 0.95 { return "0086" + digits }
        if f < 0.995 { return part(0, 3) + "-" + part(3, 7) + "-" + part(7, 11) }
        // Full-width digits (NFKC makes them ASCII).
        return String(String.UnicodeScalarView(digits.unicodeScalars.map { Unicode.Scalar($0.value - 0x30 + 0xFF10)! }))
    }
}

/// Day-number helpers over CivilCalendar's conversion (one place for the calendar arithmetic).
enum CivilCalendarBridge {
    static func isoWeekday(day d: Int) -> Int { CalendarDate(daysSinceEpoch: d).isoWeekday }
    static func month(day d: Int) -> Int { CalendarDate(daysSinceEpoch: d).month }
    static func year(day d: Int) -> Int { CalendarDate(daysSinceEpoch: d).year }

    static func civil(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let c = CalendarDate(daysSinceEpoch: days)
        return (c.year, c.month, c.day)
    }
}
