import CivilCalendar
import Foundation
import Postgres
import Testing
import TestSupport

@Suite("Type round trips against a real server")
struct TypeRoundTripTests {
    @Test func everyTypeRoundTrips() async throws {
        let db = try await TestPostgres.freshDatabase()
        let conn = try await PostgresConnection.connect(db.configuration)
        try await conn.executeScript("""
            CREATE TABLE t (
                b boolean, i2 smallint, i4 integer, i8 bigint, f8 double precision, n numeric,
                s text, d date, ts timestamptz, u uuid, by bytea
            )
            """)
        let decimal = Decimal(string: "123456789012345678901234567890.12")!
        let dates = [CalendarDate(year: 1, month: 1, day: 1)!, CalendarDate(year: 1999, month: 12, day: 31)!,
                     CalendarDate(year: 2000, month: 1, day: 1)!, CalendarDate(year: 2024, month: 2, day: 29)!,
                     CalendarDate(year: 9999, month: 12, day: 31)!, CalendarDate(year: 1900, month: 3, day: 1)!]
        let moment = Date(timeIntervalSince1970: 1_772_451_000.123456)
        let uuid = UUID()
        let bytes = PostgresBytes([0, 1, 2, 0xFF, 0x5C, 0x27, 0x22])
        for (k, d) in dates.enumerated() {
            let text = "张伟 \(k) 'quote' \"dq\" \\ back\ttab\nnewline 🚗"
            try await conn.execute("""
                INSERT INTO t VALUES (\(k % 2 == 0), \(Int16(-32768 + k)), \(Int32.max - Int32(k)), \(Int64.min + Int64(k)),
                                      \(Double(k) + 0.1), \(decimal + Decimal(k)), \(text), \(d), \(moment), \(uuid), \(bytes))
                """)
            let rows = try await conn.query("SELECT b, i2, i4, i8, f8, n, s, d, ts, u, by FROM t WHERE d = \(d)")
            #expect(rows.count == 1)
            let (b, i2, i4, i8, f8, n, s, dd, ts, uu, by) = try rows[0].decode((Bool, Int16, Int32, Int64, Double, Decimal, String, CalendarDate, Date, UUID, PostgresBytes).self)
            #expect(b == (k % 2 == 0))
            #expect(i2 == Int16(-32768 + k))
            #expect(i4 == Int32.max - Int32(k))
            #expect(i8 == Int64.min + Int64(k))
            #expect(f8 == Double(k) + 0.1)
            #expect(n == decimal + Decimal(k))
            #expect(s == text)
            #expect(dd == d)
            #expect(abs(ts.timeIntervalSince(moment)) < 0.000_001)
            #expect(uu == uuid)
            #expect(by == bytes)
        }
        await conn.close()
    }

    @Test func numericKeepsThirtyDigitsExactly() async throws {
        let db = try await TestPostgres.freshDatabase()
        let conn = try await PostgresConnection.connect(db.configuration)
        for text in ["123456789012345678901234567890", "0.000000000000000000000000000001", "-98765432109876543210.9876543210", "152000.00", "0.1"] {
            let value = Decimal(string: text)!
            let rows = try await conn.query("SELECT \(value)::numeric::text, \(value)::numeric = \(text)::numeric")
            let (echo, equal) = try rows[0].decode((String, Bool).self)
            #expect(equal, "\(text) came back as \(echo)")
            #expect(try rows[0].decode(Decimal.self, column: 0) == value)
        }
        // Money sums stay exact: 0.1 + 0.2 = 0.3 in numeric and in Decimal.
        let sum = try await conn.query("SELECT \(Decimal(string: "0.1")!) + \(Decimal(string: "0.2")!)")[0].decode(Decimal.self, column: 0)
        #expect(sum == Decimal(string: "0.3")!)
        await conn.close()
    }

    @Test func datesFarFromTheEpoch() async throws {
        let db = try await TestPostgres.freshDatabase()
        let conn = try await PostgresConnection.connect(db.configuration)
        let cases: [(CalendarDate, String)] = [
            (CalendarDate(year: 1, month: 1, day: 1)!, "0001-01-01"),
            (CalendarDate(year: 0, month: 12, day: 31)!, "0001-12-31 BC"),
            (CalendarDate(year: 1582, month: 10, day: 4)!, "1582-10-04"),
            (CalendarDate(year: 1970, month: 1, day: 1)!, "1970-01-01"),
            (CalendarDate(year: 2038, month: 1, day: 19)!, "2038-01-19"),
            (CalendarDate(year: 12345, month: 6, day: 7)!, "12345-06-07"),
        ]
        for (date, text) in cases {
            let rows = try await conn.query("SELECT \(date)::date, \(date)::date::text, (\(date)::date - DATE '2000-01-01')")
            #expect(try rows[0].decode(CalendarDate.self, column: 0) == date)
            #expect(try rows[0].decode(String.self, column: 1) == text)
            #expect(try rows[0].decode(Int.self, column: 2) == CalendarDate(year: 2000, month: 1, day: 1)!.days(until: date))
        }
        await conn.close()
    }

    @Test func nullsDecodeAsNilAndFailForNonOptionals() async throws {
        let db = try await TestPostgres.freshDatabase()
        let conn = try await PostgresConnection.connect(db.configuration)
        let none: String? = nil
        let rows = try await conn.query("SELECT \(none)::text AS a, NULL::int AS b, NULL::date AS c")
        #expect(try rows[0].decode(String?.self, column: "a") == nil)
        #expect(try rows[0].decode(Int?.self, column: 1) == nil)
        #expect(try rows[0].decode(CalendarDate?.self, column: 2) == nil)
        let error = #expect(throws: PostgresError.self) { try rows[0].decode(Int.self, column: "b") }
        #expect(error?.kind == .decoding)
        #expect(error?.message.contains("\"b\"") == true)
        await conn.close()
    }

    @Test func decodingFailureNamesColumnAndBothTypes() async throws {
        let db = try await TestPostgres.freshDatabase()
        let conn = try await PostgresConnection.connect(db.configuration)
        let rows = try await conn.query("SELECT 'abc'::text AS store_code")
        let error = #expect(throws: PostgresError.self) { try rows[0].decode(Int.self, column: 0) }
        #expect(error?.kind == .decoding)
        #expect(error?.columnName == "store_code")
        #expect(error?.message.contains("text") == true)
        #expect(error?.message.contains("Int") == true)
        await conn.close()
    }

    @Test func arraysBindForAny() async throws {
        let db = try await TestPostgres.freshDatabase()
        let conn = try await PostgresConnection.connect(db.configuration)
        let codes = ["SH001", "HZ\"001", "NJ,001", "back\\slash", "上海"]
        let rows = try await conn.query("SELECT x FROM unnest(\(codes)) AS x ORDER BY x")
        #expect(Set(try rows.map { try $0.decode(String.self, column: 0) }) == Set(codes))
        let n = try await conn.query("SELECT count(*) FROM unnest(\([1, 2, 3])) AS x WHERE x = ANY(\([2, 3]))")[0].decode(Int.self, column: 0)
        #expect(n == 2)
        await conn.close()
    }

    @Test func nulCharacterInTextIsRejectedCleanly() async throws {
        let db = try await TestPostgres.freshDatabase()
        let conn = try await PostgresConnection.connect(db.configuration)
        let error = await #expect(throws: PostgresError.self) { try await conn.query("SELECT \("a\u{0}b")") }
        #expect(error?.kind == .misuse)
        // The connection is still fine.
        #expect(try await conn.query("SELECT 1")[0].decode(Int.self, column: 0) == 1)
        await conn.close()
    }
}
