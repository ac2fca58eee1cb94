import Crypto
public import Foundation
public import DailyReport

/// What ingest needs beyond the database: the key for hashing phone numbers and the fake-number blacklist.
///
/// The key comes from `DEALER_KPI_PII_KEY` (or the configuration file); it is never logged, and only
/// `PIIProtector` sees it. Value type; `Sendable`.
public struct IngestSettings: Sendable, CustomStringConvertible, CustomReflectable {
    public var piiKey: [UInt8]
    public var phoneBlacklist: [String]
    /// At most this many visit records of one file are held in memory between parsing and the COPY into
    /// `core.visit` (~200 bytes each); a file with more is read a second time instead, so the memory of
    /// ingest stays flat whatever the file size (docs/ingest-performance.md).
    public var visitBufferRows: Int

    /// The default `visitBufferRows`: 50,000 visits (~10 MB), several times the largest day of a big store.
    public static let defaultVisitBufferRows = 50_000

    public init(piiKey: [UInt8], phoneBlacklist: [String] = PhoneNumber.defaultBlacklist,
                visitBufferRows: Int = IngestSettings.defaultVisitBufferRows) {
        self.piiKey = piiKey
        self.phoneBlacklist = phoneBlacklist
        self.visitBufferRows = visitBufferRows
    }

    /// Reads `DEALER_KPI_PII_KEY`; a clear error when it is missing or too short.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> IngestSettings {
        guard let key = environment["DEALER_KPI_PII_KEY"], !key.isEmpty else {
            throw WarehouseError.configuration("DEALER_KPI_PII_KEY is not set: ingest needs a secret key to hash customer phone numbers (at least 16 characters; keep it stable, changing it changes every hash)")
        }
        guard key.utf8.count >= 16 else {
            throw WarehouseError.configuration("DEALER_KPI_PII_KEY is too short: use at least 16 characters")
        }
        return IngestSettings(piiKey: Array(key.utf8))
    }

    /// Never shows the key (error messages and dumps print values reflectively).
    public var description: String { "IngestSettings(piiKey: <redacted>, phoneBlacklist: \(phoneBlacklist.count) numbers, visitBufferRows: \(visitBufferRows))" }
    public var customMirror: Mirror { Mirror(self, children: ["piiKey": "<redacted>", "phoneBlacklist": phoneBlacklist.count, "visitBufferRows": visitBufferRows]) }
}

/// Turns raw customer PII into what the warehouse stores: a keyed hash of the normalized phone and a
/// masked name. The raw values never leave this type. Thread-safe (immutable).
struct PIIProtector: Sendable, CustomReflectable {
    var customMirror: Mirror { Mirror(self, children: ["key": "<redacted>"]) }

    private let key: [UInt8]

    init(key: [UInt8]) { self.key = key }

    /// HMAC-SHA256 of the normalized phone (full-width digits, spaces, dashes, +86 removed), hex.
    func phoneHash(_ raw: String?) -> String? {
        guard let normalized = PhoneNumber.normalize(raw), !normalized.isEmpty else { return nil }
        let mac = HMAC<SHA256>.authenticationCode(for: Array(normalized.utf8), using: SymmetricKey(data: key))
        return mac.map { String(format: "%02x", $0) }.joined()
    }

    func maskedName(_ raw: String?) -> String? { CustomerName.mask(raw) }
}

/// Errors of the warehouse layer that are not input rejections.
public enum WarehouseError: Error, CustomStringConvertible, Sendable {
    case configuration(String)
    case notFound(String)
    /// The file read differently the second time (ingest reads a large file twice); nothing was stored.
    case fileChanged(String)

    public var description: String {
        switch self {
        case .configuration(let m): m
        case .notFound(let m): m
        case .fileChanged(let m): m
        }
    }
}
