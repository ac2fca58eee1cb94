/// Where and how to connect. Value type; `Sendable`.
///
/// The connection string may be a URL (`postgresql://user@host/db?sslmode=verify-full`), a key/value
/// conninfo string (`host=/tmp dbname=kpi`), or nil/empty, in which case libpq reads its own `PG*`
/// environment variables. TLS and every other libpq keyword pass through unchanged.
public struct PostgresConfiguration: Sendable, CustomStringConvertible, CustomReflectable {
    public var connectionString: String?
    /// Keywords applied *before* the connection string, so the string wins (defaults).
    public var defaults: [(String, String)]
    /// Keywords applied *after* the connection string, so they win (settings this layer depends on).
    public var overrides: [(String, String)]

    public init(connectionString: String? = nil, applicationName: String = "dealer-kpi", connectTimeoutSeconds: Int = 10) {
        self.connectionString = connectionString
        self.defaults = [
            ("connect_timeout", String(connectTimeoutSeconds)),
            ("application_name", applicationName),
            // A dead peer is noticed within ~30 s instead of the kernel's two hours.
            ("keepalives", "1"),
            ("keepalives_idle", "10"),
            ("keepalives_interval", "5"),
            ("keepalives_count", "3"),
            ("tcp_user_timeout", "30000"),
        ]
        // Decoding relies on UTF-8 text, ISO dates and UTC timestamps.
        self.overrides = [("client_encoding", "UTF8")]
    }

    /// Returns a copy with one keyword forced (after the connection string).
    public func with(_ keyword: String, _ value: String) -> PostgresConfiguration {
        var c = self
        c.overrides.removeAll { $0.0 == keyword }
        c.overrides.append((keyword, value))
        return c
    }

    /// Printing or dumping a configuration never shows a password.
    public var description: String { "PostgresConfiguration(\(redactedDescription))" }
    public var customMirror: Mirror { Mirror(self, children: ["target": redactedDescription]) }

    /// A description safe to log: the target without password or other secrets.
    public var redactedDescription: String {
        guard let s = connectionString, !s.isEmpty else { return "libpq environment (PG*)" }
        return PostgresConfiguration.redact(s)
    }

    static func redact(_ s: String) -> String {
        if s.hasPrefix("postgres://") || s.hasPrefix("postgresql://") {
            // scheme://user:password@host... → scheme://user:***@host...
            guard let schemeEnd = s.range(of: "://") else { return s }
            let rest = s[schemeEnd.upperBound...]
            var out = String(s[..<schemeEnd.upperBound])
            if let at = rest.firstIndex(of: "@") {
                let userinfo = rest[..<at]
                if let colon = userinfo.firstIndex(of: ":") {
                    out += userinfo[..<colon] + ":***"
                } else {
                    out += userinfo
                }
                out += rest[at...]
            } else {
                out += rest
            }
            // Query parameters may carry password= too.
            return out.replacingMatches(ofKey: "password")
        }
        return redactConninfo(s) ?? s.replacingMatches(ofKey: "password")
    }

    /// Keywords whose values are secrets.
    static let secretKeywords: Set<String> = ["password", "sslpassword"]

    /// A key/value conninfo string with the values of `secretKeywords` replaced by `***`, or nil when `s` does
    /// not parse as one. libpq allows spaces around `=` (`password = x`) and single-quoted values with
    /// backslash escapes, which a plain search for `password=` would miss.
    static func redactConninfo(_ s: String) -> String? {
        var out = ""
        var rest = Substring(s)
        func skipSpaces() {
            while let c = rest.first, c.isWhitespace { out.append(c); rest = rest.dropFirst() }
        }
        while true {
            skipSpaces()
            guard !rest.isEmpty else { return out }
            let key = rest.prefix { !$0.isWhitespace && $0 != "=" }
            guard !key.isEmpty else { return nil }
            out += key
            rest = rest.dropFirst(key.count)
            skipSpaces()
            guard rest.first == "=" else { return nil }
            out.append("=")
            rest = rest.dropFirst()
            skipSpaces()
            var value = ""
            if rest.first == "'" {
                value.append("'")
                rest = rest.dropFirst()
                var closed = false
                while let c = rest.first {
                    rest = rest.dropFirst()
                    value.append(c)
                    if c == "\\", let next = rest.first { value.append(next); rest = rest.dropFirst(); continue }
                    if c == "'" { closed = true; break }
                }
                guard closed else { return nil }
            } else {
                while let c = rest.first, !c.isWhitespace {
                    value.append(c)
                    rest = rest.dropFirst()
                    if c == "\\", let next = rest.first { value.append(next); rest = rest.dropFirst() }
                }
            }
            out += secretKeywords.contains(String(key)) ? "***" : value
        }
    }
}

extension String {
    /// Replaces the value of `key=value` (conninfo or URL query) with `***`.
    fileprivate func replacingMatches(ofKey key: String) -> String {
        var out = ""
        var rest = Substring(self)
        while let r = rest.range(of: key + "=") {
            out += rest[..<r.upperBound] + "***"
            rest = rest[r.upperBound...]
            if rest.first == "'" {
                rest = rest.dropFirst()
                while let c = rest.first, c != "'" { rest = rest.dropFirst(c == "\\" ? 2 : 1) }
                rest = rest.dropFirst()
            } else {
                while let c = rest.first, c != " ", c != "&" { rest = rest.dropFirst() }
            }
        }
        return out + rest
    }
}
