import Foundation

// The seed's counting rules (contract §4) as pure functions. Everything here is a value type or a
// stateless function: `Sendable`, safe to use from any thread.

/// How one visit counts (contract §4, "来店(电)组数").
public struct VisitCounts: Hashable, Sendable {
    /// Counts toward WALKIN_GROUPS (来店组数): a purchase walk-in that is not a return, or a purchase
    /// event contact that is not a return and created a card.
    public var walkInGroup: Bool
    /// Counts toward PHONE_GROUPS (来电组数): a purchase phone contact that is not a return and created a card.
    public var phoneGroup: Bool
    /// Counts toward REVISITS (二次来店): a purchase walk-in by a card or order holder.
    public var revisit: Bool
    /// Counts toward TEST_DRIVES: the group test-drove, whatever the purpose or return status.
    public var testDrive: Bool

    /// Counts toward TRAFFIC (来店(电)组数) = WALKIN_GROUPS + PHONE_GROUPS.
    public var traffic: Bool { walkInGroup || phoneGroup }

    public init(walkInGroup: Bool = false, phoneGroup: Bool = false, revisit: Bool = false, testDrive: Bool = false) {
        self.walkInGroup = walkInGroup
        self.phoneGroup = phoneGroup
        self.revisit = revisit
        self.testDrive = testDrive
    }
}

/// The visit classification of contract §4.
public enum VisitCounting {
    /// Classifies a visit. Only purchase visits by non-holders (`existingCard == nil`, `existingOrder ==
    /// false`) are traffic: walk-ins always, event and phone contacts only with a `newCard`. A purchase
    /// walk-in by a holder is a revisit. After-sales, business and other visits are never traffic.
    /// `testDrive` is counted for every visit. Party size plays no part: groups are counted.
    public static func classify(channel: VisitChannel, purpose: VisitPurpose, existingCard: String?,
                                existingOrder: Bool, newCard: String?, testDrive: Bool) -> VisitCounts {
        var c = VisitCounts(testDrive: testDrive)
        guard purpose == .purchase else { return c }
        let isReturn = existingCard != nil || existingOrder
        if isReturn {
            c.revisit = channel == .walkIn
            return c
        }
        switch channel {
        case .walkIn: c.walkInGroup = true
        case .event: c.walkInGroup = newCard != nil
        case .phone: c.phoneGroup = newCard != nil
        }
        return c
    }

    public static func classify(_ v: Visit) -> VisitCounts {
        classify(channel: v.channel, purpose: v.purpose, existingCard: v.existingCard, existingOrder: v.existingOrder,
                 newCard: v.newCard, testDrive: v.testDrive)
    }
}

extension Visit {
    /// How this visit counts (contract §4); see `VisitCounting.classify`.
    public var counts: VisitCounts { VisitCounting.classify(self) }
}

/// Unicode NFKC normalization.
///
/// Uses Foundation's `precomposedStringWithCompatibilityMapping`, which swift-foundation implements on
/// Linux too (verified: full-width digits and letters become ASCII, U+3000 becomes a space).
public enum UnicodeNormalization {
    public static func nfkc(_ s: String) -> String {
        // ASCII is already NFKC: skip the work for the common case.
        if s.utf8.allSatisfy({ $0 < 0x80 }) { return s }
        return s.precomposedStringWithCompatibilityMapping
    }
}

/// Why an A-card is invalid (stored, but not counted as an A卡). Raw values are stable codes.
public enum ACardInvalidReason: String, Sendable, Hashable, CaseIterable {
    /// No name, fewer than 2 characters, or 2 characters starting with 小 or 老 (`小王`, `老李`).
    case nameNotFull = "name_not_full"
    /// A placeholder name (`客户`, `未知`, `无`, `test`, `-`, `张三`, `李四`, `王五`; case-insensitive).
    case namePlaceholder = "name_placeholder"
    /// An honorific alone or after at most 2 characters (`先生`, `王先生`, `欧阳女士`, `张总`, `王总经理`).
    case nameHonorific = "name_honorific"
    /// No phone, or not a mainland mobile or landline number after normalization.
    case phoneInvalid = "phone_invalid"
    /// A phone on the blacklist of fake numbers.
    case phoneBlacklisted = "phone_blacklisted"
    /// No intended model.
    case noModel = "no_model"
}

/// The validity of an A-card: valid when no reason applies.
public struct ACardValidity: Hashable, Sendable {
    /// At most one name reason, at most one phone reason, then `noModel`; empty when valid.
    public var reasons: [ACardInvalidReason]
    public var isValid: Bool { reasons.isEmpty }

    public init(reasons: [ACardInvalidReason]) { self.reasons = reasons }
}

/// The customer-name rule and name masking.
public enum CustomerName {
    /// Honorifics: a name that is one of these, or at most 2 characters followed by one, is not a full name.
    public static let honorifics: [String] = ["先生", "女士", "小姐", "总经理", "经理", "总", "老板", "师傅"]
    /// Placeholder names (compared lower-cased, exact match).
    public static let placeholders: Set<String> = ["客户", "未知", "无", "test", "-", "张三", "李四", "王五"]

    /// NFKC, then trimmed of white space.
    public static func normalize(_ raw: String) -> String {
        TextTrim.trim(UnicodeNormalization.nfkc(raw))
    }

    /// Why the name is not a full customer name, or nil when it is one (contract §4).
    public static func problem(_ raw: String?) -> ACardInvalidReason? {
        guard let raw else { return .nameNotFull }
        let name = normalize(raw)
        if placeholders.contains(name.lowercased()) { return .namePlaceholder }
        let scalars = Array(name.unicodeScalars)
        if scalars.count < 2 { return .nameNotFull }
        for h in honorifics {
            let hs = Array(h.unicodeScalars)
            if scalars.count >= hs.count, scalars.count - hs.count <= 2, Array(scalars.suffix(hs.count)) == hs {
                return .nameHonorific
            }
        }
        if scalars.count == 2, scalars[0] == "小" || scalars[0] == "老" { return .nameNotFull }
        return nil
    }

    /// The masked name BI may see: the first character of the normalized name and one `*` (`张伟` → `张*`);
    /// nil for no name or an empty one.
    public static func mask(_ raw: String?) -> String? {
        guard let raw else { return nil }
        let name = normalize(raw)
        guard let first = name.unicodeScalars.first else { return nil }
        return String(first) + "*"
    }
}

/// Phone normalization and the phone rule (contract §4).
public enum PhoneNumber {
    public enum Kind: String, Sendable, Hashable {
        /// `1[3-9]` and 9 more digits.
        case mobile
        /// `0` + area code (`10`, `2x` or a 3-digit `[3-9]xx`) + 7 or 8 digits.
        case landline
    }

    /// The default blacklist of fake numbers.
    public static let defaultBlacklist: [String] = ["13800138000", "13900000000", "13888888888"]

    /// The canonical form used for validity, the blacklist and keyed hashing: NFKC (full-width digits
    /// become ASCII), white space, `-`, `(` and `)` removed, then one leading `+86` or `0086` dropped.
    /// Returns nil for nil or an input that normalizes to the empty string.
    public static func normalize(_ raw: String?) -> String? {
        guard let raw else { return nil }
        var out = String.UnicodeScalarView()
        for s in UnicodeNormalization.nfkc(raw).unicodeScalars {
            if s == "-" || s == "(" || s == ")" || s.properties.isWhitespace { continue }
            out.append(s)
        }
        var r = String(out)
        if r.hasPrefix("+86") {
            r.removeFirst(3)
        } else if r.hasPrefix("0086") {
            r.removeFirst(4)
        }
        return r.isEmpty ? nil : r
    }

    /// The kind of a normalized number, or nil when it is neither a mobile nor a landline number.
    public static func kind(ofNormalized s: String) -> Kind? {
        let u = Array(s.utf8)
        guard u.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        if u.count == 11, u[0] == 0x31, u[1] >= 0x33 { return .mobile }   // ^1[3-9][0-9]{9}$
        guard u.count >= 2, u[0] == 0x30 else { return nil }
        let area: Int
        if u[1] == 0x31 {
            guard u.count >= 3, u[2] == 0x30 else { return nil }        // 10
            area = 2
        } else if u[1] == 0x32 {
            area = 2                                                    // 2[0-9]
        } else if u[1] >= 0x33 {
            area = 3                                                    // [3-9][0-9]{2}
        } else {
            return nil
        }
        let rest = u.count - 1 - area
        return rest == 7 || rest == 8 ? .landline : nil
    }
}

/// The A-card validity rule with a configurable phone blacklist. Value type; `Sendable`.
public struct ACardRules: Sendable, Hashable {
    /// Blacklisted numbers in normalized form.
    public let blacklist: Set<String>

    /// The contract's default blacklist.
    public static let standard = ACardRules()

    /// - Parameter blacklist: fake numbers, in any notation (they are normalized like phones).
    public init(blacklist: some Sequence<String> = PhoneNumber.defaultBlacklist) {
        self.blacklist = Set(blacklist.compactMap { PhoneNumber.normalize($0) })
    }

    /// Why the phone makes a card invalid, or nil when it is fine.
    public func phoneProblem(_ raw: String?) -> ACardInvalidReason? {
        guard let n = PhoneNumber.normalize(raw), PhoneNumber.kind(ofNormalized: n) != nil else { return .phoneInvalid }
        return blacklist.contains(n) ? .phoneBlacklisted : nil
    }

    /// Judges an A-card: a full customer name, a valid phone not on the blacklist, and a model.
    public func evaluate(customerName: String?, phone: String?, model: String?) -> ACardValidity {
        var reasons: [ACardInvalidReason] = []
        if let r = CustomerName.problem(customerName) { reasons.append(r) }
        if let r = phoneProblem(phone) { reasons.append(r) }
        if model == nil { reasons.append(.noModel) }
        return ACardValidity(reasons: reasons)
    }

    public func evaluate(_ p: Prospect) -> ACardValidity {
        evaluate(customerName: p.customerName, phone: p.phone, model: p.model)
    }
}
