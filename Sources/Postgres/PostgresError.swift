/// A five-character SQLSTATE code. Open: codes this type has no name for still round-trip unchanged.
public struct SQLState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ code: String) { self.rawValue = code }

    /// The two-character class, e.g. `23` for integrity constraint violations.
    public var errorClass: Substring { rawValue.prefix(2) }
    public var description: String { rawValue }

    public static let successfulCompletion = SQLState("00000")
    public static let connectionException = SQLState("08000")
    public static let connectionFailure = SQLState("08006")
    public static let sqlClientUnableToEstablishConnection = SQLState("08001")
    public static let dataException = SQLState("22000")
    public static let numericValueOutOfRange = SQLState("22003")
    public static let invalidTextRepresentation = SQLState("22P02")
    public static let characterNotInRepertoire = SQLState("22021")
    public static let untranslatableCharacter = SQLState("22P05")
    public static let integrityConstraintViolation = SQLState("23000")
    public static let notNullViolation = SQLState("23502")
    public static let foreignKeyViolation = SQLState("23503")
    public static let uniqueViolation = SQLState("23505")
    public static let checkViolation = SQLState("23514")
    public static let exclusionViolation = SQLState("23P01")
    public static let invalidTransactionState = SQLState("25000")
    public static let inFailedSQLTransaction = SQLState("25P02")
    public static let invalidAuthorizationSpecification = SQLState("28000")
    public static let invalidPassword = SQLState("28P01")
    public static let serializationFailure = SQLState("40001")
    public static let deadlockDetected = SQLState("40P01")
    public static let syntaxError = SQLState("42601")
    public static let insufficientPrivilege = SQLState("42501")
    public static let undefinedColumn = SQLState("42703")
    public static let undefinedTable = SQLState("42P01")
    public static let undefinedFunction = SQLState("42883")
    public static let duplicateObject = SQLState("42710")
    public static let duplicateTable = SQLState("42P07")
    public static let invalidCatalogName = SQLState("3D000")
    public static let queryCanceled = SQLState("57014")
    public static let adminShutdown = SQLState("57P01")
    public static let crashShutdown = SQLState("57P02")
    public static let cannotConnectNow = SQLState("57P03")
    public static let lockNotAvailable = SQLState("55P03")
    public static let idleInTransactionSessionTimeout = SQLState("25P03")
    public static let raiseException = SQLState("P0001")
}

/// Everything that can go wrong talking to PostgreSQL.
///
/// `description` is safe to log: it never contains bound parameter values or row data. It carries the
/// SQLSTATE, the server's message (except for class 22, data exceptions, whose messages quote the offending
/// input) and the names of the constraint, table and column involved. `detail` (which for a unique violation
/// quotes the duplicate key) is only in `debugDescription` and the `detail` property, for deliberate use.
public struct PostgresError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The server rejected a statement; `sqlState` says why.
        public static let server = Kind("server error")
        /// A connection could not be established (bad address, refused, authentication failed...).
        public static let connectionFailed = Kind("connection failed")
        /// An established connection broke (server restart, network loss).
        public static let connectionLost = Kind("connection lost")
        /// A result value could not be decoded into the requested Swift type.
        public static let decoding = Kind("decoding failed")
        /// A deadline passed: acquiring a pooled connection, connecting, or one of the server's time limits
        /// (`sqlState` says which: 57014 `statement_timeout` (or another session's `pg_cancel_backend`),
        /// 55P03 `lock_timeout` (or `NOWAIT`), 25P03 `idle_in_transaction_session_timeout`).
        public static let timeout = Kind("timeout")
        /// The task was cancelled: the statement was cancelled on the server by our own cancel request
        /// (`sqlState` 57014), or it was refused before it was sent (`sqlState` nil).
        public static let cancelled = Kind("cancelled")
        /// The pool was shut down.
        public static let poolClosed = Kind("pool closed")
        /// The caller misused the API (e.g. bind values in a multi-statement script).
        public static let misuse = Kind("API misuse")
        /// The server answered with something the protocol does not allow here.
        public static let protocolViolation = Kind("unexpected server response")
    }

    public var kind: Kind
    public var sqlState: SQLState?
    /// The primary message. May quote input for data exceptions: see the type's documentation.
    public var message: String
    public var detail: String?
    public var hint: String?
    public var severity: String?
    public var schemaName: String?
    public var tableName: String?
    public var columnName: String?
    public var constraintName: String?
    public var dataTypeName: String?
    /// The SQL text (with `$n` placeholders, never values) of the statement that failed, if any.
    public var query: String?

    public init(kind: Kind, message: String, sqlState: SQLState? = nil) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
    }

    /// Whether retrying on a fresh connection could succeed (lost connection, server starting or stopping).
    public var isConnectionProblem: Bool {
        if kind == .connectionLost { return true }
        if kind == .connectionFailed { return !isAuthenticationOrCatalogProblem }
        guard let s = sqlState else { return false }
        return s.errorClass == "08" || s == .adminShutdown || s == .crashShutdown || s == .cannotConnectNow
    }

    var isAuthenticationOrCatalogProblem: Bool {
        if let s = sqlState, s == .invalidPassword || s == .invalidAuthorizationSpecification || s == .invalidCatalogName {
            return true
        }
        return false
    }

    public var description: String {
        var parts = ["PostgresError(\(kind)"]
        if let sqlState { parts.append("sqlstate \(sqlState.rawValue)") }
        if sqlState?.errorClass == "22" {
            parts.append("data exception (message withheld: it may quote input)")
        } else {
            parts.append(message)
        }
        if let constraintName { parts.append("constraint \(constraintName)") }
        if let tableName { parts.append("table \(tableName)") }
        if let columnName { parts.append("column \(columnName)") }
        if let hint, sqlState?.errorClass != "22" { parts.append("hint: \(hint)") }
        return parts.joined(separator: "; ") + ")"
    }

    public var debugDescription: String {
        var s = description.dropLast() + ""
        s += "; message: \(message)"
        if let detail { s += "; detail: \(detail)" }
        if let hint { s += "; hint: \(hint)" }
        if let query { s += "; query: \(query)" }
        return s + ")"
    }
}
