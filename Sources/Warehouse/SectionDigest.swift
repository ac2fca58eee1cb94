import Crypto
import DailyReport
import Foundation

/// The digests of the sections a submission carries, one per (store-day, section) (contract 1.1, section 5):
/// what `core.ingest_file_begin` compares with the last delivered content to tell a duplicate, a section
/// delivered for the first time and a correction apart.
///
/// A section's digest does not depend on record order: each record's canonical form
/// (`CanonicalRecordWriter`) is hashed on its own and the hashes are added up (four 64-bit lanes, wrapping),
/// a multiset hash that needs memory per store-day, not per record, so a file of a million visits streams
/// through it. The record hashes are HMAC-SHA256 with the PII key, because a card's canonical form holds the
/// raw customer name and phone: an unkeyed digest of a one-card section could be brute-forced back to the
/// phone. The key also keeps anyone without it from constructing two different sections with one sum. The
/// price: after a PII key rotation (which changes every phone hash anyway) a re-send of an older day compares
/// as a change. Value type; used on one thread (a file's ingest).
struct SectionDigests {
    private struct Accumulator {
        var lanes: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var count = 0
    }

    private let keyed: HMAC<SHA256>
    private var sums: [SectionKey: Accumulator] = [:]
    private var writer = CanonicalRecordWriter()

    struct SectionKey: Hashable {
        var day: StoreDay
        var section: SectionKind
    }

    init(key: [UInt8]) {
        keyed = HMAC<SHA256>(key: SymmetricKey(data: key))
    }

    /// Registers a section the submission carries, also when it holds no record (`"visits": []`).
    mutating func declare(_ day: StoreDay, _ section: SectionKind) {
        let key = SectionKey(day: day, section: section)
        if sums[key] == nil { sums[key] = Accumulator() }
    }

    mutating func add(_ day: StoreDay, _ record: ReportRecord) {
        writer.reset()
        record.writeCanonical(into: &writer)
        var mac = keyed
        mac.update(data: writer.bytes)
        let code = mac.finalize()
        let lanes: (UInt64, UInt64, UInt64, UInt64) = code.withUnsafeBytes { raw in
            (raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
             raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
        }
        let key = SectionKey(day: day, section: record.section)
        var acc = sums[key] ?? Accumulator()
        acc.lanes.0 &+= lanes.0
        acc.lanes.1 &+= lanes.1
        acc.lanes.2 &+= lanes.2
        acc.lanes.3 &+= lanes.3
        acc.count += 1
        sums[key] = acc
    }

    /// The hex digest of one section: SHA-256 over the section name, the record count and the lane sums.
    func digest(_ day: StoreDay, _ section: SectionKind) -> String? {
        guard let acc = sums[SectionKey(day: day, section: section)] else { return nil }
        var bytes = Array("dealer-daily-report/1.1 \(section.rawValue) \(acc.count) ".utf8)
        for lane in [acc.lanes.0, acc.lanes.1, acc.lanes.2, acc.lanes.3] {
            withUnsafeBytes(of: lane.littleEndian) { bytes.append(contentsOf: $0) }
        }
        return SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}
