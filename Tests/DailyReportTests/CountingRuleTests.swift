import DailyReport
import Testing

struct VisitCase: Sendable, CustomTestStringConvertible {
    let channel: VisitChannel
    let purpose: VisitPurpose
    let existingCard: String?
    let existingOrder: Bool
    let newCard: String?
    let testDrive: Bool
    /// Expected: walk-in group, phone group, revisit, test drive.
    let expected: (Bool, Bool, Bool, Bool)

    var testDescription: String {
        "\(channel.rawValue) \(purpose.rawValue) card=\(existingCard ?? "-") order=\(existingOrder) new=\(newCard ?? "-") td=\(testDrive)"
    }
}

private func vc(_ ch: VisitChannel, _ p: VisitPurpose, card: String? = nil, order: Bool = false, new: String? = nil,
                td: Bool = false, _ e: (Bool, Bool, Bool, Bool)) -> VisitCase {
    VisitCase(channel: ch, purpose: p, existingCard: card, existingOrder: order, newCard: new, testDrive: td, expected: e)
}

let visitCases: [VisitCase] = [
    // walk-ins count whether or not a card was created
    vc(.walkIn, .purchase, (true, false, false, false)),
    vc(.walkIn, .purchase, new: "A1", td: true, (true, false, false, true)),
    // event contacts count only with a new card
    vc(.event, .purchase, (false, false, false, false)),
    vc(.event, .purchase, new: "A1", (true, false, false, false)),
    // phone contacts count as phone groups only with a new card
    vc(.phone, .purchase, (false, false, false, false)),
    vc(.phone, .purchase, new: "A1", (false, true, false, false)),
    // returns are not traffic; a purchase walk-in return is a revisit
    vc(.walkIn, .purchase, card: "A0", (false, false, true, false)),
    vc(.walkIn, .purchase, order: true, td: true, (false, false, true, true)),
    vc(.walkIn, .purchase, card: "A0", order: true, new: "A1", (false, false, true, false)),
    vc(.phone, .purchase, card: "A0", new: "A1", (false, false, false, false)),
    vc(.event, .purchase, order: true, new: "A1", (false, false, false, false)),
    // other purposes are never traffic nor revisits; test drives always count
    vc(.walkIn, .afterSales, (false, false, false, false)),
    vc(.walkIn, .business, new: "A1", (false, false, false, false)),
    vc(.walkIn, .other, card: "A0", td: true, (false, false, false, true)),
    vc(.phone, .afterSales, new: "A1", (false, false, false, false)),
    vc(.event, .other, new: "A1", td: true, (false, false, false, true)),
]

struct NameCase: Sendable, CustomTestStringConvertible {
    let name: String?
    let problem: ACardInvalidReason?
    var testDescription: String { name ?? "nil" }
}

let nameCases: [NameCase] = [
    NameCase(name: "张伟", problem: nil),
    NameCase(name: "欧阳娜娜", problem: nil),
    NameCase(name: "张小明先生", problem: nil),
    NameCase(name: "欧阳小明女士", problem: nil),
    NameCase(name: "  张伟\u{3000}", problem: nil),
    NameCase(name: "Li Na", problem: nil),
    NameCase(name: "王先生", problem: .nameHonorific),
    NameCase(name: "欧阳女士", problem: .nameHonorific),
    NameCase(name: "张总", problem: .nameHonorific),
    NameCase(name: "王总经理", problem: .nameHonorific),
    NameCase(name: "欧阳总经理", problem: .nameHonorific),
    NameCase(name: "李经理", problem: .nameHonorific),
    NameCase(name: "先生", problem: .nameHonorific),
    NameCase(name: "小姐", problem: .nameHonorific),
    NameCase(name: "陈小姐", problem: .nameHonorific),
    NameCase(name: "赵老板", problem: .nameHonorific),
    NameCase(name: "刘师傅", problem: .nameHonorific),
    NameCase(name: " 王 先生 ", problem: .nameHonorific),
    NameCase(name: "小王", problem: .nameNotFull),
    NameCase(name: "老李", problem: .nameNotFull),
    NameCase(name: "小王明", problem: nil),
    NameCase(name: "张", problem: .nameNotFull),
    NameCase(name: "", problem: .nameNotFull),
    NameCase(name: "   ", problem: .nameNotFull),
    NameCase(name: nil, problem: .nameNotFull),
    NameCase(name: "客户", problem: .namePlaceholder),
    NameCase(name: "未知", problem: .namePlaceholder),
    NameCase(name: "无", problem: .namePlaceholder),
    NameCase(name: "test", problem: .namePlaceholder),
    NameCase(name: "Test", problem: .namePlaceholder),
    NameCase(name: "TEST", problem: .namePlaceholder),
    NameCase(name: "ｔｅｓｔ", problem: .namePlaceholder),
    NameCase(name: "-", problem: .namePlaceholder),
    NameCase(name: "张三", problem: .namePlaceholder),
    NameCase(name: "李四", problem: .namePlaceholder),
    NameCase(name: "王五", problem: .namePlaceholder),
    NameCase(name: " 王五 ", problem: .namePlaceholder),
    NameCase(name: "张三丰", problem: nil),
    NameCase(name: "testing", problem: nil),
]

struct PhoneCase: Sendable, CustomTestStringConvertible {
    let raw: String?
    let normalized: String?
    let problem: ACardInvalidReason?
    var testDescription: String { raw ?? "nil" }
}

let phoneCases: [PhoneCase] = [
    // the formats of shared/examples/README.md
    PhoneCase(raw: "13912345678", normalized: "13912345678", problem: nil),
    PhoneCase(raw: "152 7627 3207", normalized: "15276273207", problem: nil),
    PhoneCase(raw: "+86-157-0785-1913", normalized: "15707851913", problem: nil),
    PhoneCase(raw: "+86 133 0397 9934", normalized: "13303979934", problem: nil),
    PhoneCase(raw: "008613273206001", normalized: "13273206001", problem: nil),
    PhoneCase(raw: "(021) 8575 9765", normalized: "02185759765", problem: nil),
    PhoneCase(raw: "0571 55039666", normalized: "057155039666", problem: nil),
    PhoneCase(raw: "139340997xx", normalized: "139340997xx", problem: .phoneInvalid),
    PhoneCase(raw: "1386167545123", normalized: "1386167545123", problem: .phoneInvalid),
    PhoneCase(raw: "138-0013-8000", normalized: "13800138000", problem: .phoneBlacklisted),
    // more
    PhoneCase(raw: "13900000000", normalized: "13900000000", problem: .phoneBlacklisted),
    PhoneCase(raw: "+86 138 8888 8888", normalized: "13888888888", problem: .phoneBlacklisted),
    PhoneCase(raw: "１３９１２３４５６７８", normalized: "13912345678", problem: nil),
    PhoneCase(raw: "１３９\u{3000}１２３４\u{3000}５６７８", normalized: "13912345678", problem: nil),
    PhoneCase(raw: "＋８６－１３９１２３４５６７８", normalized: "13912345678", problem: nil),
    PhoneCase(raw: "010-12345678", normalized: "01012345678", problem: nil),
    PhoneCase(raw: "010-1234567", normalized: "0101234567", problem: nil),
    PhoneCase(raw: "0755 1234 567", normalized: "07551234567", problem: nil),
    PhoneCase(raw: "011-12345678", normalized: "01112345678", problem: .phoneInvalid),
    PhoneCase(raw: "021-123456", normalized: "021123456", problem: .phoneInvalid),
    PhoneCase(raw: "021-123456789", normalized: "021123456789", problem: .phoneInvalid),
    PhoneCase(raw: "12345678901", normalized: "12345678901", problem: .phoneInvalid),
    PhoneCase(raw: "1391234567", normalized: "1391234567", problem: .phoneInvalid),
    PhoneCase(raw: "+8613912345678", normalized: "13912345678", problem: nil),
    PhoneCase(raw: "+86+8613912345678", normalized: "+8613912345678", problem: .phoneInvalid),
    PhoneCase(raw: "86 13912345678", normalized: "8613912345678", problem: .phoneInvalid),
    PhoneCase(raw: "139.1234.5678", normalized: "139.1234.5678", problem: .phoneInvalid),
    PhoneCase(raw: "", normalized: nil, problem: .phoneInvalid),
    PhoneCase(raw: " - ", normalized: nil, problem: .phoneInvalid),
    PhoneCase(raw: nil, normalized: nil, problem: .phoneInvalid),
]

@Suite("Counting rules (contract §4)")
struct CountingRuleTests {
    @Test(arguments: visitCases)
    func visitClassification(_ c: VisitCase) {
        let v = Visit(id: "V1", channel: c.channel, purpose: c.purpose, salesperson: "S", partySize: 4,
                      existingCard: c.existingCard, existingOrder: c.existingOrder, newCard: c.newCard, testDrive: c.testDrive)
        let counts = v.counts
        #expect(counts.walkInGroup == c.expected.0)
        #expect(counts.phoneGroup == c.expected.1)
        #expect(counts.revisit == c.expected.2)
        #expect(counts.testDrive == c.expected.3)
        #expect(counts.traffic == (c.expected.0 || c.expected.1))
    }

    @Test(arguments: nameCases)
    func customerNames(_ c: NameCase) {
        #expect(CustomerName.problem(c.name) == c.problem)
    }

    @Test(arguments: phoneCases)
    func phones(_ c: PhoneCase) {
        #expect(PhoneNumber.normalize(c.raw) == c.normalized)
        #expect(ACardRules.standard.phoneProblem(c.raw) == c.problem)
    }

    @Test func configurableBlacklist() {
        let rules = ACardRules(blacklist: ["+86 139-1234-5678"])
        #expect(rules.blacklist == ["13912345678"])
        #expect(rules.phoneProblem("13912345678") == .phoneBlacklisted)
        #expect(rules.phoneProblem("138-0013-8000") == nil)
        #expect(ACardRules(blacklist: []).phoneProblem("13800138000") == nil)
    }

    @Test func cardValidityCombinesAllReasons() {
        let rules = ACardRules.standard
        #expect(rules.evaluate(customerName: "张伟", phone: "139 1234 5678", model: "T77").isValid)
        #expect(rules.evaluate(customerName: "王先生", phone: "139340997xx", model: nil).reasons == [.nameHonorific, .phoneInvalid, .noModel])
        #expect(rules.evaluate(customerName: "test", phone: "138-0013-8000", model: "T77").reasons == [.namePlaceholder, .phoneBlacklisted])
        #expect(rules.evaluate(customerName: "张伟", phone: "13912345678", model: nil).reasons == [.noModel])
        let p = Prospect(card: "A1", createdOn: day("2026-03-05"), salesperson: "S", customerName: "张总", phone: "13912345678",
                         model: "T77", level: .h, source: .walkIn)
        #expect(rules.evaluate(p) == ACardValidity(reasons: [.nameHonorific]))
    }

    @Test func nameMasking() {
        #expect(CustomerName.mask("张伟") == "张*")
        #expect(CustomerName.mask(" 欧阳娜娜 ") == "欧*")
        #expect(CustomerName.mask("张") == "张*")
        #expect(CustomerName.mask("Ｌｉ Ｎａ") == "L*")
        #expect(CustomerName.mask("") == nil)
        #expect(CustomerName.mask("  ") == nil)
        #expect(CustomerName.mask(nil) == nil)
        #expect(CustomerName.mask("😀abc") == "😀*")
    }

    @Test func prospectDescriptionsDoNotLeakPII() {
        let p = Prospect(card: "A1", createdOn: day("2026-03-05"), salesperson: "S", customerName: "张伟", phone: "13912345678",
                         model: "T77", level: .h, source: .walkIn)
        for text in [p.description, p.debugDescription, String(reflecting: p), "\(p)"] {
            #expect(!text.contains("张伟"))
            #expect(!text.contains("13912345678"))
            #expect(text.contains("张*"))
        }
        var dumped = ""
        dump(p, to: &dumped)
        #expect(!dumped.contains("张伟"))
        #expect(!dumped.contains("13912345678"))
        #expect(p.maskedCustomerName == "张*")
    }

    @Test func nfkc() {
        #expect(UnicodeNormalization.nfkc("１２３ＡＢＣａｂｃ") == "123ABCabc")
        #expect(UnicodeNormalization.nfkc("\u{3000}") == " ")
        #expect(UnicodeNormalization.nfkc("ｶ") == "カ")
        #expect(UnicodeNormalization.nfkc("plain") == "plain")
        #expect(CustomerName.normalize("\u{3000}张伟\u{3000}") == "张伟")
    }
}
