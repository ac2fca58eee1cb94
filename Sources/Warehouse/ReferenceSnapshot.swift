import CivilCalendar
import DailyReport
import Foundation
import Postgres
import Synchronization

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

    /// The current master-data version token (sql/006: changes with every change of stores, salespeople or models).
    static func token(_ conn: isolated PostgresConnection) throws -> UUID {
        try conn.runQuery("SELECT token FROM core.reference_data_version")[0].decode(UUID.self, column: 0)
    }
}

/// The last master data an ingestor read, with the version token it was read under. Reading it cost three
/// queries and a few milliseconds per file; now a file pays one token comparison (the token comes with the
/// receipt-time query) unless master data changed since.
///
/// Thread-safe: `Sendable`, the state behind a mutex; shared by every copy of one `ReportIngestor`, used
/// from any connection of its pool (the token is per database, and a pool serves one database).
final class ReferenceCache: Sendable {
    private let state = Mutex<(token: UUID, data: ReferenceData)?>(nil)

    /// The master data for `token`, with `receiptDay` set: cached when the token matches, else read and kept.
    /// `token` must come from the calling transaction (the caller's query that read the receipt time).
    func reference(_ conn: isolated PostgresConnection, token: UUID, receiptDay: CalendarDate) throws -> ReferenceData {
        if let hit = state.withLock({ $0 }), hit.token == token {
            var data = hit.data
            data.receiptDay = receiptDay
            return data
        }
        let data = try ReferenceSnapshot.load(conn, receiptDay: receiptDay)
        // The reads above are separate statements (each its own snapshot under READ COMMITTED): keep them only
        // if no master-data change committed since the token was read, so the cache never pairs a token with
        // data of another state. (This file then still uses what it read, as ingest always did.)
        if try ReferenceSnapshot.token(conn) == token {
            state.withLock { $0 = (token, data) }
        }
        return data
    }
}
