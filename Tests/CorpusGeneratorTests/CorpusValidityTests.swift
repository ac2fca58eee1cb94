import CivilCalendar
import CorpusGenerator
import Foundation
import Testing

/// The generated corpus must be valid under the contract (shared/spec/daily-report-v1.md).
@Suite struct CorpusValidityTests {
    let fixture: CorpusFixture

    init() throws { fixture = try sharedCorpus.get() }

    static let codePattern = try! NSRegularExpression(pattern: "^[A-Za-z0-9_-]{1,32}$")
    static let vinPattern = try! NSRegularExpression(pattern: "^[A-HJ-NPR-Z0-9]{17}$")

    static func matches(_ re: NSRegularExpression, _ s: String) -> Bool {
        re.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
    }

    func date(_ s: String?) -> CalendarDate? { s.flatMap { CalendarDate(iso: $0) } }

    @Test func masterDataIsConsistent() throws {
        let regions = try fixture.master("regions")
        let stores = try fixture.master("stores")
        let people = try fixture.master("salespeople")
        let models = try fixture.master("models")
        let plans = try fixture.master("plans")
        let expenses = try fixture.master("expenses")
        #expect(regions.count == 3)
        #expect(stores.count == 12)
        #expect(models.count == 12)
        let regionCodes = Set(regions.compactMap { $0["region_code"] })
        var storeCodes = Set<String>()
        for s in stores {
            let code = try #require(s["store_code"])
            #expect(Self.matches(Self.codePattern, code))
            #expect(storeCodes.insert(code).inserted, "duplicate store \(code)")
            #expect(regionCodes.contains(s["region_code"] ?? ""))
            #expect(s["store_name"] != nil && s["city"] != nil)
            let opened = try #require(date(s["opened_on"]))
            if let closed = date(s["closed_on"]) { #expect(opened < closed) }
        }
        var peopleCodes = Set<String>()
        for p in people {
            let code = try #require(p["salesperson_code"])
            #expect(Self.matches(Self.codePattern, code))
            #expect(peopleCodes.insert(code).inserted)
            #expect(storeCodes.contains(p["store_code"] ?? ""))
            let hired = try #require(date(p["hired_on"]))
            if let left = date(p["left_on"]) { #expect(hired < left) }
        }
        // 4–15 salespeople per store at the start (hires may add one).
        var perStore: [String: Int] = [:]
        for p in people where p["salesperson_code"]!.hasPrefix(p["store_code"]! + "-") { perStore[p["store_code"]!, default: 0] += 1 }
        for (_, n) in perStore { #expect((4...16).contains(n)) }
        // Some store opens and one closes during the corpus; someone is hired, someone leaves.
        let start = fixture.config.startDate, end = fixture.config.endDate
        #expect(stores.contains { date($0["opened_on"]).map { $0 > start && $0 < end } ?? false })
        #expect(stores.contains { date($0["closed_on"]).map { $0 > start && $0 <= end } ?? false })
        #expect(people.contains { date($0["hired_on"]).map { $0 > start } ?? false })
        #expect(people.contains { p in date(p["left_on"]).map { $0 > start && $0 < end } ?? false })
        // Plans: known stores and salespeople of that store; the four KPIs; every month touched.
        let kpis: Set<String> = ["PLAN_DELIVERIES", "PLAN_REVENUE", "PLAN_NEW_A_CARDS", "EXPENSE_BUDGET"]
        let spStore = Dictionary(uniqueKeysWithValues: people.map { ($0["salesperson_code"]!, $0["store_code"]!) })
        for p in plans {
            #expect(storeCodes.contains(p["store_code"] ?? ""))
            #expect(kpis.contains(p["kpi"] ?? ""))
            if let sp = p["salesperson_code"] { #expect(spStore[sp] == p["store_code"]) }
            #expect(Double(p["value"] ?? "") != nil)
        }
        #expect(plans.contains { $0["salesperson_code"] != nil })
        #expect(Set(plans.compactMap { $0["month"] }) == ["2026-01", "2026-02"])
        #expect(Set(expenses.compactMap { $0["month"] }) == ["2026-01", "2026-02"])
        for e in expenses { #expect(CorpusFixture.fen(e["amount"] ?? "x") != nil) }
    }

    @Test func reportsObeyTheFieldRules() throws {
        let stores = Dictionary(uniqueKeysWithValues: try fixture.master("stores").map { ($0["store_code"]!, $0) })
        let people = Dictionary(uniqueKeysWithValues: try fixture.master("salespeople").map { ($0["salesperson_code"]!, $0) })
        let models = Set(try fixture.master("models").compactMap { $0["model_code"] })
        let move = try SyntheticCorpus.masterData(for: fixture.config).move
        let reports = try fixture.reports()
        #expect(!reports.isEmpty)

        func employed(_ code: String?, at store: String, on d: CalendarDate) -> Bool {
            guard let code, let p = people[code], let hired = date(p["hired_on"]) else { return false }
            guard hired <= d && (date(p["left_on"]).map { d < $0 } ?? true) else { return false }
            // Reported by the store they work at (the mover: the old store before the move).
            if let m = move, m.salespersonCode == code {
                return d < m.on ? store == m.fromStore : store == m.toStore
            }
            return p["store_code"] == store
        }
        func id(_ s: String?) -> Bool { s.map { (1...64).contains($0.count) } ?? false }

        var vins: [String: String] = [:]
        for r in reports {
            let where_ = "\(r.files) \(r.store) \(r.date)"
            let store = try #require(stores[r.store], "unknown store \(where_)")
            let opened = try #require(date(store["opened_on"]))
            #expect(opened <= r.date && (date(store["closed_on"]).map { r.date < $0 } ?? true), "store not open: \(where_)")
            #expect(r.date <= r.receivedDay, "business_date after receipt: \(where_)")
            #expect(r.hasVisitsSection && !r.visits.isEmpty, "no visits: \(where_)")

            var visitIDs = Set<String>()
            for v in r.visits {
                #expect(id(v["id"]) && visitIDs.insert(v["id"]!).inserted, "visit id: \(where_)")
                #expect(["walk_in", "phone", "event"].contains(v["channel"] ?? ""))
                #expect(["purchase", "after_sales", "business", "other"].contains(v["purpose"] ?? ""))
                #expect(employed(v["salesperson"], at: r.store, on: r.date), "visit salesperson \(v["salesperson"] ?? "-"): \(where_)")
                if let m = v["model"] { #expect(models.contains(m)) }
                #expect((Int(v["party_size"] ?? "") ?? 0) >= 1)
                for k in ["existing_card", "new_card"] { if let c = v[k] { #expect(id(c) && c.hasPrefix("A-\(r.store)-")) } }
            }
            var cardIDs = Set<String>()
            for c in r.prospects {
                #expect(id(c["card"]) && cardIDs.insert(c["card"]!).inserted, "card id: \(where_)")
                let created = try #require(date(c["created_on"]))
                #expect(created <= r.date)
                #expect(employed(c["salesperson"], at: r.store, on: r.date), "card salesperson \(c["salesperson"] ?? "-"): \(where_)")
                #expect(["H", "A", "B", "C"].contains(c["level"] ?? ""))
                #expect(["walk_in", "phone", "event", "other"].contains(c["source"] ?? ""))
                if let m = c["model"] { #expect(models.contains(m)) }
                #expect(c["customer_name"] != nil && c["phone"] != nil)
                switch c["status"] {
                case "open": #expect(c["closed_on"] == nil)
                case "ordered", "lost":
                    let closed = try #require(date(c["closed_on"]), "closed_on missing: \(where_)")
                    #expect(created <= closed && closed <= r.date, "closed_on: \(where_)")
                default: Issue.record("card status \(c["status"] ?? "-")")
                }
            }
            var orderIDs = Set<String>()
            for o in r.sales {
                #expect(id(o["order"]) && orderIDs.insert(o["order"]!).inserted, "order id: \(where_)")
                let ordered = try #require(date(o["order_date"]))
                #expect(ordered <= r.date)
                #expect(employed(o["salesperson"], at: r.store, on: r.date), "order salesperson: \(where_)")
                #expect(models.contains(o["model"] ?? ""))
                #expect((Int64(o["deal_price"] ?? "") ?? 0) > 0)
                if let l = o["list_price"] { #expect((Int64(l) ?? -1) >= 0) }
                #expect((Int64(o["collected"] ?? "") ?? -1) >= 0)
                switch o["status"] {
                case "ordered":
                    #expect(o["delivery_date"] == nil && o["cancel_date"] == nil && o["vin"] == nil)
                case "delivered":
                    let delivered = try #require(date(o["delivery_date"]))
                    #expect(ordered <= delivered && delivered <= r.date && o["cancel_date"] == nil)
                    let vin = try #require(o["vin"])
                    #expect(Self.matches(Self.vinPattern, vin))
                    let owner = r.store + "/" + o["order"]!
                    #expect(vins[vin, default: owner] == owner, "VIN \(vin) reused")
                    vins[vin] = owner
                case "cancelled":
                    let cancelled = try #require(date(o["cancel_date"]))
                    #expect(ordered <= cancelled && cancelled <= r.date && o["delivery_date"] == nil)
                default: Issue.record("order status \(o["status"] ?? "-")")
                }
            }
        }
        #expect(vins.count > 10)
    }

    /// A card's or order's state only moves forward with business_date, and its identity fields stay.
    @Test func statesMoveForward() throws {
        let reports = try fixture.reports().sorted { ($0.date, $0.step) < ($1.date, $1.step) }
        var cards: [String: Record] = [:]
        var orders: [String: Record] = [:]
        for r in reports {
            for c in r.prospects {
                let key = r.store + "/" + c["card"]!
                if let prev = cards[key] {
                    #expect(prev["created_on"] == c["created_on"], "created_on changed for \(key)")
                    if prev["status"] != "open" {
                        #expect(prev["status"] == c["status"] && prev["closed_on"] == c["closed_on"], "card \(key) went back")
                    }
                }
                cards[key] = c
            }
            for o in r.sales {
                let key = r.store + "/" + o["order"]!
                if let prev = orders[key] {
                    #expect(prev["order_date"] == o["order_date"])
                    if prev["status"] != "ordered" {
                        #expect(prev["status"] == o["status"] && prev["delivery_date"] == o["delivery_date"]
                                && prev["cancel_date"] == o["cancel_date"] && prev["vin"] == o["vin"], "order \(key) went back")
                    }
                    if o["status"] == "delivered" {
                        #expect(Int64(o["collected"]!)! >= Int64(prev["collected"]!)!, "collected decreased for \(key)")
                    }
                }
                orders[key] = o
            }
        }
        // The model produced every state.
        #expect(Set(cards.values.compactMap { $0["status"] }) == ["open", "ordered", "lost"])
        #expect(Set(orders.values.compactMap { $0["status"] }) == ["ordered", "delivered", "cancelled"])
    }

    /// Realistic variety: invalid cards, phone layouts, returns, test drives, CSV variations.
    @Test func dataHasTheExpectedVariety() throws {
        let reports = try fixture.reports()
        let visits = reports.flatMap(\.visits)
        let cards = reports.flatMap(\.prospects)
        #expect(Set(visits.compactMap { $0["channel"] }) == ["walk_in", "phone", "event"])
        #expect(Set(visits.compactMap { $0["purpose"] }) == ["purchase", "after_sales", "business", "other"])
        #expect(visits.contains { $0["existing_card"] != nil })
        #expect(visits.contains { $0["existing_order"] == "true" })
        #expect(visits.contains { $0["test_drive"] == "true" })
        #expect(visits.contains { $0["model"] == nil })
        let phones = cards.compactMap { $0["phone"] }
        #expect(phones.contains { $0.hasPrefix("+86") })
        #expect(phones.contains { $0.hasPrefix("0086") })
        #expect(phones.contains { $0.contains(" ") })
        #expect(phones.contains { $0.hasPrefix("(0") })
        let names = cards.compactMap { $0["customer_name"] }
        #expect(names.contains { ["王先生", "李女士", "张总", "刘经理", "陈小姐", "赵老板", "周师傅", "小王", "老李", "test", "Test", "客户", "未知", "无", "-", "张三", "李四", "欧阳女士", "王总经理", "先生"].contains($0) })
        #expect(cards.contains { $0["model"] == nil })
        #expect(cards.contains { $0["lost_reason"] != nil })
        // Capture and close rates in a plausible band (counting rules of section 4, version-1 visits).
        var traffic = 0, newCards = 0
        var seen = Set<String>()
        for r in reports where seen.insert(r.store + "|" + r.date.description).inserted {
            for v in r.visits where v["purpose"] == "purchase" && v["existing_card"] == nil && v["existing_order"] == "false" {
                if v["channel"] == "walk_in" || v["new_card"] != nil { traffic += 1 }
                if v["new_card"] != nil { newCards += 1 }
            }
        }
        let capture = Double(newCards) / Double(traffic)
        #expect(capture > 0.6 && capture < 0.95, "capture \(capture)")
        let orders = Set(reports.flatMap { r in r.sales.map { r.store + "/" + $0["order"]! } }).count
        let close = Double(orders) / Double(traffic)
        #expect(close > 0.06 && close < 0.3, "close rate \(close)")
    }

    @Test func summaryMatchesTheFiles() throws {
        let s = fixture.summary
        let files = fixture.allFiles()
        #expect(files.filter { $0.hasPrefix("reports/") }.count == s.jsonFiles)
        #expect(files.filter { $0.hasPrefix("csv/") }.count == s.csvFiles)
        #expect(files.filter { $0.hasPrefix("master/") }.count == 6)
        #expect(files.count == s.files)
        let reports = try fixture.reports()
        #expect(reports.reduce(0) { $0 + $1.visits.count } == s.visitRows)
        #expect(reports.reduce(0) { $0 + $1.prospects.count } == s.prospectRows)
        #expect(reports.reduce(0) { $0 + $1.sales.count } == s.salesRows)
        #expect(reports.count == s.reportedStoreDays + s.corrections)
        #expect(s.storeDays == s.reportedStoreDays + s.missing)
        #expect(s.missing > 0 && s.late > 0 && s.corrections > 0)
        #expect(files.contains { $0.hasSuffix("_corr1.json") })
        // Late = version 1 received after business_date + 1 day at 10:00.
        var first: [String: ParsedReport] = [:]
        for r in reports where first[r.store + "|" + r.date.description] == nil { first[r.store + "|" + r.date.description] = r }
        let late = first.values.filter { r in
            let due = r.date.adding(days: 1).description + "T10:00:00+08:00"
            return r.receivedAt > due
        }.count
        #expect(late == s.late)
    }

    /// A closing store loses every open card on its last business day, as in the shared examples.
    @Test func closingStoreClosesOut() throws {
        let stores = try fixture.master("stores")
        let closing = try #require(stores.first { $0["closed_on"] != nil })
        let lastDay = try #require(date(closing["closed_on"])).adding(days: -1)
        let reports = try fixture.reports().filter { $0.store == closing["store_code"] && $0.date == lastDay }
        let last = try #require(reports.first)
        #expect(last.prospects.allSatisfy { $0["status"] != "open" })
        #expect(last.prospects.contains { $0["lost_reason"] == "门店闭店" })
        #expect(last.sales.allSatisfy { $0["status"] != "ordered" })
    }
}
