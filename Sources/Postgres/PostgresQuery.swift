/// A SQL statement with its parameters kept apart from its text.
///
/// Built by string interpolation: every interpolated value becomes a `$n` placeholder and a bound parameter,
/// so values can never change the statement's meaning.
///
/// ```swift
/// let rows = try await conn.query("SELECT name FROM store WHERE code = \(code) AND opened_on <= \(day)")
/// ```
///
/// Identifiers (which cannot be parameters) go through `\(identifier: name)`, which quotes them; trusted SQL
/// fragments through `\(unescaped: sql)`. `description` shows the SQL text only, never the values.
public struct PostgresQuery: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible {
    public var sql: String
    public var bindings: [PostgresBinding]
    public var types: [PostgresDataType]

    public init(unsafeSQL sql: String, bindings: [PostgresBinding] = [], types: [PostgresDataType] = []) {
        precondition(bindings.count == types.count || types.isEmpty)
        self.sql = sql
        self.bindings = bindings
        self.types = types.isEmpty ? Array(repeating: .unspecified, count: bindings.count) : types
    }

    public init(stringLiteral value: String) {
        self.init(unsafeSQL: value)
    }

    public init(stringInterpolation: StringInterpolation) {
        self.sql = stringInterpolation.sql
        self.bindings = stringInterpolation.bindings
        self.types = stringInterpolation.types
    }

    public var description: String { sql }

    public struct StringInterpolation: StringInterpolationProtocol, Sendable {
        var sql = ""
        var bindings: [PostgresBinding] = []
        var types: [PostgresDataType] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
            bindings.reserveCapacity(interpolationCount)
            types.reserveCapacity(interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) { sql += literal }

        /// Binds a value as the next `$n` parameter.
        public mutating func appendInterpolation<T: PostgresEncodable>(_ value: T) {
            bindings.append(value.postgresBinding())
            types.append(T.postgresDataType)
            sql += "$\(bindings.count)"
        }

        /// Binds an optional value; nil is SQL NULL.
        public mutating func appendInterpolation<T: PostgresEncodable>(_ value: T?) {
            bindings.append(value?.postgresBinding() ?? .null)
            types.append(T.postgresDataType)
            sql += "$\(bindings.count)"
        }

        /// A quoted identifier (table, column, channel name).
        public mutating func appendInterpolation(identifier: String) {
            sql += PostgresQuery.quoteIdentifier(identifier)
        }

        /// Trusted SQL text inserted as is. Never pass input from outside the program.
        public mutating func appendInterpolation(unescaped: String) { sql += unescaped }
    }

    /// `"name"` with embedded quotes doubled.
    public static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Appends another query, renumbering its placeholders.
    public mutating func append(_ other: PostgresQuery) {
        if other.bindings.isEmpty {
            sql += other.sql
            return
        }
        // Renumber `$n` in the other query's text (placeholders we generated are never inside literals).
        let offset = bindings.count
        var out = ""
        var it = other.sql.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = it.next()
        while let c = pending {
            if c == "$" {
                var digits = ""
                pending = it.next()
                while let d = pending, d.properties.numericType == .decimal, d.isASCII {
                    digits.unicodeScalars.append(d)
                    pending = it.next()
                }
                if let n = Int(digits) { out += "$\(n + offset)" } else { out += "$" + digits }
                continue
            }
            out.unicodeScalars.append(c)
            pending = it.next()
        }
        sql += out
        bindings += other.bindings
        types += other.types
    }
}

import Foundation
