import CivilCalendar
import DailyReport
import Foundation
import Postgres

/// Master data as the validators need it, read from the database in one go.
enum ReferenceSnapshot {
    static func load(_ conn: isolated PostgresConnection, receiptDay: CalendarDate) throws -> ReferenceData {
        var stores: [ReferenceData.Store] = []
        for row in try conn.runQuery("SELECT store_code, region_code, opened_on, closed_on FROM core.store") {
            let (code, region, opened, closed) = try row.decode((String, String, CalendarDate, CalendarDate?).self)
            stores.append(.init(code: code, regionCode: region, openedOn: opened, closedOn: closed))
        }
        let salespeople = try conn.runQuery("SELECT salesperson_code FROM core.salesperson").map { try $0.decode(String.self, column: 0) }
        let models = try conn.runQuery("SELECT model_code FROM core.model").map { try $0.decode(String.self, column: 0) }
        return ReferenceData(stores: stores, salespeople: salespeople, models: models, receiptDay: receiptDay)
    }

    /// The business date of `moment` in the warehouse's business time zone (from `core.setting`).
    static func businessDay(_ conn: isolated PostgresConnection, of moment: Date) throws -> CalendarDate {
        try conn.runQuery("SELECT core.business_day(\(moment))")[0].decode(CalendarDate.self, column: 0)
    }
}
