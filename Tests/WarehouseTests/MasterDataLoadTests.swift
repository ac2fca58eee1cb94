import DailyReport
import Foundation
import Postgres
import Testing
import TestSupport
import Warehouse

@Suite("Master data load")
struct MasterDataLoadTests {
    @Test func filesApplyInDependencyOrderWhateverTheArgumentOrder() async throws {
        try await TestWarehouse.with(masterData: false) { wh in
            let paths = try MasterFixture.writeAll(into: wh) // plans first, regions last
            let results = try await wh.loader.load(paths: paths)
            #expect(results.map(\.kind) == [.regions, .stores, .salespeople, .models, .plans, .expenses])
            #expect(results.allSatisfy { $0.isAccepted }, "\(results.compactMap(\.rejection))")
            #expect(results.map(\.changed) == [1, 3, 4, 3, 4, 2])
            #expect(try await wh.count("core.region") == 1)
            #expect(try await wh.count("core.store") == 3)
            #expect(try await wh.count("core.salesperson") == 4)
            #expect(try await wh.count("core.model") == 3)
            #expect(try await wh.count("core.monthly_plan") == 4)
            #expect(try await wh.count("core.monthly_expense") == 2)
            #expect(try await wh.string("SELECT store_code::text FROM core.salesperson WHERE salesperson_code = 'S3-01'") == "S3")
            #expect(try await wh.string("SELECT value::text FROM core.monthly_plan WHERE store_code = 'S2' AND kpi = 'PLAN_REVENUE'") == "1500000.00")
        }
    }

    @Test func storeWithUnknownRegionIsRejectedAndNothingOfItsFileIsStored() async throws {
        try await TestWarehouse.with(masterData: false) { wh in
            let regions = try await wh.loader.load(paths: [try wh.write("regions.csv", MasterFixture.regions)])
            #expect(regions.first?.isAccepted == true)
            let changesBefore = try await wh.count("core.kpi_change")
            let bad = try wh.write("stores_bad.csv", """
                store_code,store_name,region_code,city,opened_on,closed_on
                S1,上海一号店,EAST,上海,2020-01-01,
                S9,西部九号店,WEST,成都,2021-05-01,
                S2,杭州二号店,EAST,杭州,2020-01-01,

                """)
            let results = try await wh.loader.load(paths: [bad])
            let result = try #require(results.first)
            #expect(result.kind == .stores)
            #expect(!result.isAccepted)
            #expect(result.changed == 0)
            let issue = try #require(result.rejection?.issues.first)
            #expect(result.rejection?.issues.count == 1)
            #expect(issue.rule == .unknownRegion)
            #expect(issue.file == "stores_bad.csv")
            #expect(issue.location == .line(3))
            #expect(issue.field == "region_code")
            #expect(issue.value == "WEST")
            // All or nothing: the valid rows of the file are not stored either.
            #expect(try await wh.count("core.store") == 0)
            #expect(try await wh.count("core.kpi_change") == changesBefore)
        }
    }

    @Test func reloadingIdenticalDataChangesNothingAndLogsNoChange() async throws {
        try await TestWarehouse.with { wh in
            let before = try await wh.coreFingerprint()
            let changes = try await wh.count("core.kpi_change")
            #expect(changes > 0) // the first load did log its stores, salespeople, plans and expenses
            // The same content again, this time in dependency order and with a BOM and CRLF line ends.
            let paths = try [
                ("regions", MasterFixture.regions), ("stores", MasterFixture.stores), ("salespeople", MasterFixture.salespeople),
                ("models", MasterFixture.models), ("plans", MasterFixture.plans), ("expenses", MasterFixture.expenses),
            ].map { name, text in
                try wh.write("\(name)-again.csv", "\u{FEFF}" + text.replacingOccurrences(of: "\n", with: "\r\n"))
            }
            let results = try await wh.loader.load(paths: paths)
            #expect(results.allSatisfy { $0.isAccepted }, "\(results.compactMap(\.rejection))")
            #expect(results.map(\.rows) == [1, 3, 4, 3, 4, 2])
            #expect(results.map(\.changed) == [0, 0, 0, 0, 0, 0])
            #expect(try await wh.count("core.kpi_change") == changes)
            #expect(try await wh.coreFingerprint() == before) // not even updated_at moved
        }
    }

    @Test func changedPlanValueReplacesTheOldOne() async throws {
        try await TestWarehouse.with { wh in
            let maxChange = try await wh.int("SELECT coalesce(max(change_id), 0) FROM core.kpi_change")
            // S1's own row 10 -> 12 and salesperson S1-01's row 6 -> 7; the other rows unchanged.
            let plans = try wh.write("plans-v2.csv", """
                month,store_code,salesperson_code,kpi,value
                2026-03,S1,,PLAN_DELIVERIES,12
                2026-03,S1,S1-01,PLAN_DELIVERIES,7.00
                2026-03,S1,S1-02,PLAN_DELIVERIES,4.00
                2026-03,S2,,PLAN_REVENUE,1500000

                """)
            let result = try #require(try await wh.loader.load(paths: [plans]).first)
            #expect(result.isAccepted)
            #expect(result.changed == 2)
            #expect(try await wh.count("core.monthly_plan") == 4) // replaced, not added (also the NULL-salesperson row)
            let values = try await wh.strings("""
                SELECT coalesce(salesperson_code, '-') || '=' || value::text FROM core.monthly_plan
                WHERE store_code = 'S1' AND kpi = 'PLAN_DELIVERIES' ORDER BY 1
                """)
            #expect(values == ["-=12.00", "S1-01=7.00", "S1-02=4.00"])
            let logged = try await wh.strings("""
                SELECT store_code || ' ' || first_date || ' ' || coalesce(last_date::text, 'open') || ' ' || reason
                FROM core.kpi_change WHERE change_id > \(maxChange) ORDER BY change_id
                """)
            #expect(logged == ["S1 2026-03-01 2026-03-31 plan"])
        }
    }
}
