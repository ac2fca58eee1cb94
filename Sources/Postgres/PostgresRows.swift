/// The complete result of one statement, copied out of libpq's `PGresult` (which is freed at once).
///
/// Values are kept in one byte buffer with offsets, so a large result costs one allocation per column
/// buffer rather than one per cell. Value type; `Sendable`.
public struct PostgresRows: Sendable, RandomAccessCollection {
    public struct Column: Sendable, Hashable {
        public var name: String
        public var dataType: PostgresDataType
    }

    public let columns: [Column]
    /// The command tag, e.g. `INSERT 0 5` or `COPY 1000`.
    public let commandTag: String
    /// Rows affected (`PQcmdTuples`), 0 when the command reports none.
    public let affectedRows: Int
    let storage: [UInt8]
    /// Per cell: start offset and length (length -1 = NULL), row-major.
    let cells: [(start: Int32, length: Int32)]
    public let count: Int

    init(columns: [Column], commandTag: String, affectedRows: Int, storage: [UInt8], cells: [(Int32, Int32)], rowCount: Int) {
        self.columns = columns
        self.commandTag = commandTag
        self.affectedRows = affectedRows
        self.storage = storage
        self.cells = cells
        self.count = rowCount
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }
    public subscript(position: Int) -> PostgresRow { PostgresRow(rows: self, index: position) }

    func text(row: Int, column: Int) -> String? {
        let cell = cells[row * columns.count + column]
        if cell.length < 0 { return nil }
        return storage.withUnsafeBufferPointer { buf in
            String(decoding: UnsafeBufferPointer(rebasing: buf[Int(cell.start)..<Int(cell.start + cell.length)]), as: UTF8.self)
        }
    }

    func columnIndex(named name: String) -> Int? { columns.firstIndex { $0.name == name } }
}

/// One row of a `PostgresRows`. Decode by position or by column name; a failure names the column and types.
public struct PostgresRow: Sendable {
    let rows: PostgresRows
    let index: Int

    public var columnCount: Int { rows.columns.count }

    /// Decodes column `column` (zero-based).
    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, column: Int) throws(PostgresError) -> T {
        precondition(column < rows.columns.count, "column \(column) out of range (\(rows.columns.count) columns)")
        let col = rows.columns[column]
        do {
            if let text = rows.text(row: index, column: column) {
                return try T.decode(postgresText: text, type: col.dataType)
            }
            return try T.decodeNull(type: col.dataType)
        } catch {
            var e = PostgresError(
                kind: .decoding,
                message: "cannot decode column \"\(col.name)\" (\(col.dataType)) as \(T.self): \(error.reason)"
            )
            e.columnName = col.name
            e.dataTypeName = col.dataType.description
            throw e
        }
    }

    /// Decodes the column with this name.
    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, column name: String) throws(PostgresError) -> T {
        guard let i = rows.columnIndex(named: name) else {
            var e = PostgresError(kind: .decoding, message: "no column named \"\(name)\" in the result")
            e.columnName = name
            throw e
        }
        return try decode(T.self, column: i)
    }

    /// Decodes the first columns of the row as a tuple: `let (code, n) = try row.decode((String, Int).self)`.
    public func decode<each T: PostgresDecodable>(_ types: (repeat each T).Type) throws(PostgresError) -> (repeat each T) {
        var i = 0
        func next<U: PostgresDecodable>(_: U.Type) throws(PostgresError) -> U {
            defer { i += 1 }
            return try decode(U.self, column: i)
        }
        return (repeat try next((each T).self))
    }

    /// The raw text of a column (nil for NULL).
    public func text(column: Int) -> String? { rows.text(row: index, column: column) }
}
