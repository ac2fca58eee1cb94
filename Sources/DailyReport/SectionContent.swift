public import CivilCalendar
public import Foundation

// Contract 1.1, section 5 ("Duplicates, sections and uploads"): a store-day's section content is the set of
// records a submission carries for it, compared after the field rules' normalization. Record order,
// encoding, BOM, line endings, CSV column order and JSON key order do not matter, and neither does the form
// (a JSON report and a CSV export of the same records carry the same content).
//
// This file gives every record one canonical byte form: its fields in a fixed order, each written as a tag
// and a length-prefixed UTF-8 value (or a null tag), values in their normalized form. A record's origin
// (file, line, JSON path) is not content. Hashing the forms (keyed, order-independent) is the warehouse's
// business (`Warehouse.SectionDigest`).

/// Writes a record's canonical content bytes. Value type; any thread.
public struct CanonicalRecordWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() { bytes.reserveCapacity(160) }

    /// Starts a new record, keeping the buffer's capacity.
    public mutating func reset() { bytes.removeAll(keepingCapacity: true) }

    mutating func null() { bytes.append(0) }

    mutating func text(_ value: String?) {
        guard let value else { return null() }
        bytes.append(1)
        let utf8 = value.utf8
        var n = UInt32(utf8.count)
        for _ in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: n)); n >>= 8 }
        bytes.append(contentsOf: utf8)
    }

    mutating func bool(_ value: Bool) { bytes.append(value ? 3 : 2) }
    mutating func int(_ value: Int) { text(String(value)) }
    mutating func date(_ value: CalendarDate?) { text(value?.description) }
    /// Money: `186000`, `186000.0` and `186000.00` are one amount.
    mutating func decimal(_ value: Decimal?) {
        guard var value else { return null() }
        NSDecimalCompact(&value)  // 186000.00 (mantissa 18600000, exponent -2) → 186000
        text(value.description)
    }
}

extension Visit {
    /// The visit's content in canonical form (contract 1.1): every field but its origin.
    public func writeCanonical(into w: inout CanonicalRecordWriter) {
        w.text(id)
        w.text(channel.rawValue)
        w.text(purpose.rawValue)
        w.text(salesperson)
        w.text(model)
        w.int(partySize)
        w.text(existingCard)
        w.bool(existingOrder)
        w.text(newCard)
        w.bool(testDrive)
    }
}

extension Prospect {
    /// The card's content in canonical form (contract 1.1). The customer name is compared as the validity
    /// rule reads it (NFKC, trimmed) and the phone as it is hashed (`PhoneNumber.normalize`), so `139 1234
    /// 5678` and `13912345678` are the same content. These are raw PII: the bytes must only ever be hashed
    /// with a secret key, never stored or logged.
    public func writeCanonical(into w: inout CanonicalRecordWriter) {
        w.text(card)
        w.date(createdOn)
        w.text(salesperson)
        w.text(customerName.map(CustomerName.normalize))
        w.text(PhoneNumber.normalize(phone) ?? phone)
        w.text(model)
        w.text(level.rawValue)
        w.text(source.rawValue)
        w.text(status.rawValue)
        w.date(closedOn)
        w.text(lostReason)
    }
}

extension Sale {
    /// The order's content in canonical form (contract 1.1); money compared as exact amounts.
    public func writeCanonical(into w: inout CanonicalRecordWriter) {
        w.text(order)
        w.text(card)
        w.text(salesperson)
        w.text(model)
        w.date(orderDate)
        w.text(status.rawValue)
        w.date(deliveryDate)
        w.date(cancelDate)
        w.text(vin)
        w.decimal(listPrice)
        w.decimal(dealPrice)
        w.decimal(collected)
    }
}

extension ReportRecord {
    public var section: SectionKind {
        switch self {
        case .visit: .visits
        case .prospect: .prospects
        case .sale: .sales
        }
    }

    public func writeCanonical(into w: inout CanonicalRecordWriter) {
        switch self {
        case .visit(let v): v.writeCanonical(into: &w)
        case .prospect(let p): p.writeCanonical(into: &w)
        case .sale(let s): s.writeCanonical(into: &w)
        }
    }
}
