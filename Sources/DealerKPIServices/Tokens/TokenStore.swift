import Crypto
public import Foundation
public import Logging
public import Postgres

/// Bearer tokens for the HTTP API (`ops.api_token`).
///
/// A token is `dkpi_` followed by 32 random bytes in unpadded base64url (48 characters in all). It is shown
/// once, when issued; the table keeps only its SHA-256 (lower-case hex), so a leaked table grants nothing.
/// Authentication looks a token up by its hash, so no secret is ever compared byte by byte (the lookup's
/// timing depends on the hash, which an attacker cannot steer towards a stored one).
///
/// Roles: `store` (uploads that store's reports) and `operator` (reads KPIs, runs jobs).
///
/// Thread-safety: `Sendable`; share one per process.
public struct TokenStore: Sendable {
    public enum Role: String, Sendable, Hashable, CaseIterable {
        case store
        case `operator`
    }

    /// Who a token speaks for.
    public struct Principal: Sendable, Hashable, CustomStringConvertible {
        public var role: Role
        /// The store of a `store` token; nil for an operator.
        public var storeCode: String?
        /// The token's row; nil for the configured operator token (which is not in the table).
        public var tokenID: Int?

        public init(role: Role, storeCode: String?, tokenID: Int?) {
            self.role = role
            self.storeCode = storeCode
            self.tokenID = tokenID
        }

        /// For logs and `requested_by`: role, store and token id, never the token.
        public var description: String {
            var s = role.rawValue
            if let storeCode { s += ":\(storeCode)" }
            s += tokenID.map { " token \($0)" } ?? " (configured token)"
            return s
        }
    }

    /// A newly issued token. `token` is the secret: show it once, never log it.
    public struct Issued: Sendable, CustomStringConvertible {
        public var tokenID: Int
        public var role: Role
        public var storeCode: String?
        public var label: String?
        public var token: Secret
        public var description: String { "token \(tokenID) (\(role.rawValue)\(storeCode.map { " \($0)" } ?? ""))" }
    }

    /// A stored token, without its secret.
    public struct Info: Sendable, Hashable {
        public var tokenID: Int
        public var role: Role
        public var storeCode: String?
        public var label: String?
        public var createdAt: Date
        public var lastUsedAt: Date?
        public var revokedAt: Date?
        public var isRevoked: Bool { revokedAt != nil }
    }

    public enum TokenError: Error, CustomStringConvertible, Equatable {
        case unknownStore(String)
        case unknownToken(Int)
        case invalidLabel(String)

        public var description: String {
            switch self {
            case .unknownStore(let code): "store \(code) does not exist (load it with `dealer-kpi load` first)"
            case .unknownToken(let id): "there is no token \(id)"
            case .invalidLabel(let why): "invalid label: \(why)"
            }
        }
    }

    /// The prefix of every token.
    public static let prefix = "dkpi_"
    /// Length of a well-formed token: prefix + 43 base64url characters (32 bytes, unpadded).
    static let tokenLength = prefix.count + 43

    public let pool: PostgresConnectionPool
    private let logger: Logger

    public init(pool: PostgresConnectionPool, logger: Logger = Logger(label: "dealer-kpi.tokens")) {
        self.pool = pool
        self.logger = logger
    }

    // MARK: issue

    /// Issues a token for a store (which must exist) or, with `store == nil`, an operator token.
    public func issue(store: String?, label: String? = nil) async throws -> Issued {
        let role: Role = store == nil ? .operator : .store
        if let label {
            guard label.count <= 200 else { throw TokenError.invalidLabel("at most 200 characters") }
            guard !label.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                throw TokenError.invalidLabel("control characters are not allowed")
            }
        }
        if let store {
            let exists = try await pool.query("SELECT 1 FROM core.store WHERE store_code = \(store)")
            guard !exists.isEmpty else { throw TokenError.unknownStore(store) }
        }
        let token = Self.generate()
        let hash = Self.hash(token)
        let id: Int
        do {
            id = try await pool.query("""
                INSERT INTO ops.api_token (role, store_code, token_hash, label)
                VALUES (\(role.rawValue), \(store), \(hash), \(label))
                RETURNING token_id
                """)[0].decode(Int.self, column: 0)
        } catch let error as PostgresError where error.sqlState == .foreignKeyViolation {
            throw TokenError.unknownStore(store ?? "")   // deleted between the check and the insert
        }
        logger.notice("api token issued", metadata: ["token_id": "\(id)", "role": "\(role.rawValue)", "store": "\(store ?? "-")"])
        return Issued(tokenID: id, role: role, storeCode: store, label: label, token: Secret(token))
    }

    // MARK: revoke

    /// Revokes one token. Returns false when it was already revoked.
    @discardableResult
    public func revoke(tokenID: Int) async throws -> Bool {
        let rows = try await pool.query("""
            UPDATE ops.api_token SET revoked_at = coalesce(revoked_at, now()) WHERE token_id = \(tokenID)
            RETURNING revoked_at = now()
            """)
        guard let row = rows.first else { throw TokenError.unknownToken(tokenID) }
        let changed = try row.decode(Bool.self, column: 0)
        if changed { logger.notice("api token revoked", metadata: ["token_id": "\(tokenID)"]) }
        return changed
    }

    /// Revokes every active token of a store (which must exist). Returns how many were revoked.
    @discardableResult
    public func revoke(store: String) async throws -> Int {
        let exists = try await pool.query("SELECT 1 FROM core.store WHERE store_code = \(store)")
        guard !exists.isEmpty else { throw TokenError.unknownStore(store) }
        let n = try await pool.query("""
            UPDATE ops.api_token SET revoked_at = now() WHERE store_code = \(store) AND revoked_at IS NULL
            """).affectedRows
        logger.notice("api tokens of a store revoked", metadata: ["store": "\(store)", "count": "\(n)"])
        return n
    }

    // MARK: list

    /// Every token (active and revoked), oldest first; no secrets (there are none to show).
    public func list() async throws -> [Info] {
        try await pool.query("""
            SELECT token_id, role, store_code::text, label, created_at, last_used_at, revoked_at
            FROM ops.api_token ORDER BY token_id
            """).map { row in
            let (id, role, store, label, created, used, revoked) = try row.decode((Int, String, String?, String?, Date, Date?, Date?).self)
            return Info(tokenID: id, role: Role(rawValue: role) ?? .store, storeCode: store, label: label,
                        createdAt: created, lastUsedAt: used, revokedAt: revoked)
        }
    }

    // MARK: authenticate

    /// The principal of an active token, or nil (malformed, unknown or revoked). Records the use in
    /// `last_used_at` (at most once a minute per token, to keep reads cheap).
    public func authenticate(_ token: String) async throws -> Principal? {
        guard Self.isWellFormed(token) else { return nil }
        let hash = Self.hash(token)
        let rows = try await pool.query("""
            WITH t AS (
                SELECT token_id, role, store_code, last_used_at FROM ops.api_token
                WHERE token_hash = \(hash) AND revoked_at IS NULL
            ), used AS (
                UPDATE ops.api_token a SET last_used_at = now()
                FROM t WHERE a.token_id = t.token_id
                  AND (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute')
            )
            SELECT token_id, role, store_code::text FROM t
            """)
        guard let row = rows.first else { return nil }
        let (id, role, store) = try row.decode((Int, String, String?).self)
        guard let r = Role(rawValue: role) else { return nil }
        return Principal(role: r, storeCode: store, tokenID: id)
    }

    // MARK: primitives

    /// SHA-256 of the token's UTF-8, lower-case hex: what `ops.api_token.token_hash` holds.
    public static func hash(_ token: String) -> String {
        SHA256.hash(data: Array(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// True when `a` and `b` are the same token, in time independent of where they differ (compares their
    /// SHA-256 digests, so also of their lengths). For the configured operator token.
    static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(SHA256.hash(data: Array(a.utf8)))
        let y = Array(SHA256.hash(data: Array(b.utf8)))
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }

    /// A new token: prefix + 32 bytes from the system's cryptographically secure generator, base64url.
    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 32)
        for i in bytes.indices { bytes[i] = UInt8.random(in: .min ... .max, using: &generator) }
        let base64url = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return prefix + base64url
    }

    /// Shape check before any database work: prefix, length and alphabet.
    static func isWellFormed(_ token: String) -> Bool {
        guard token.utf8.count == tokenLength, token.hasPrefix(prefix) else { return false }
        return token.utf8.dropFirst(prefix.utf8.count).allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x5F
        }
    }
}
