// libFuzzer harness for the daily-report readers (issue 6 §3). Built by `bench/fuzz`, which compiles
// this file together with Sources/DailyReport/*.swift into one module (so the harness can also reach the
// internal tokenizer and decoder) with `-sanitize=fuzzer,address`. Not part of the SwiftPM package.
//
// The target is chosen by DKPI_FUZZ_TARGET: `json` (ReportReader on a .json name), `csv` (ReportReader
// on a .csv name, plus chunked-vs-whole differential checks of the CSV tokenizer and the GB18030
// transcoder) or `master` (MasterDataReader). Every invariant violation calls `fatalError`, which
// libFuzzer records as a crash with the input that caused it.

import CivilCalendar
import Foundation
import Glibc

/// Which reader this process fuzzes (read once; the process fuzzes one target).
let fuzzTarget: String = getenv("DKPI_FUZZ_TARGET").map { String(cString: $0) } ?? "json"

/// Reference data so that seeds from /work/shared/examples and `dealer-kpi generate` reach the accepted
/// path: a few fixed codes plus the master data of every directory in DKPI_FUZZ_MASTER (colon-separated;
/// each with stores.csv, salespeople.csv and models.csv), with a receipt day far in the future.
let fuzzReference: ReferenceData = {
    let receipt = CalendarDate(year: 2099, month: 12, day: 31)!
    let opened = CalendarDate(year: 2010, month: 1, day: 1)!
    var stores = ["SH001", "HZ001", "NJ001", "JL001", "S1", "S2"].map { ReferenceData.Store(code: $0, regionCode: "EAST", openedOn: opened) }
    var people = stores.flatMap { s in (1...9).map { "\(s.code)-S0\($0)" } } + ["S1-01", "S1-02", "S2-01"]
    var models = ["T77", "E30", "S50", "M1", "M2", "M3"]
    let dirs = getenv("DKPI_FUZZ_MASTER").map { String(cString: $0).split(separator: ":").map(String.init) } ?? []
    for dir in dirs {
        if case .stores(let rows)? = try? MasterDataReader.read(path: dir + "/stores.csv").rows {
            stores += rows.map { ReferenceData.Store(code: $0.code, regionCode: $0.regionCode, openedOn: $0.openedOn, closedOn: $0.closedOn) }
        }
        if case .salespeople(let rows)? = try? MasterDataReader.read(path: dir + "/salespeople.csv").rows { people += rows.map(\.code) }
        if case .models(let rows)? = try? MasterDataReader.read(path: dir + "/models.csv").rows { models += rows.map(\.code) }
    }
    return ReferenceData(stores: stores, salespeople: people, models: models, receiptDay: receipt)
}()

@inline(never)
func violated(_ what: String, _ detail: @autoclosure () -> String) -> Never {
    fatalError("invariant violated: \(what): \(detail())")
}

func check(_ condition: Bool, _ what: String, _ detail: @autoclosure () -> String = "") {
    if !condition { violated(what, detail()) }
}

/// Rules whose issue is about the whole file or a text position rather than a field.
let fileLevelRules: Set<Rule> = [.io, .encoding, .fileTooLarge, .header, .fileKind, .csvSyntax, .raggedRow,
                                 .jsonSyntax, .nestingDepth, .duplicateMember, .jsonType]

/// Every rejection names its file, a location that fits the form, a rule and a message; field-level
/// rules name their field. The issue cap holds.
func checkRejection(_ r: FileRejected, file: String, form: String, input: [UInt8]) {
    check(!r.issues.isEmpty, "a rejection carries issues")
    check(r.issues.count <= 100, "issue cap", "\(r.issues.count)")
    var lines = 1, breaks = 1 // LFs + 1; line-break bytes (CR-only line ends count too) + 1
    for b in input where b == 0x0A || b == 0x0D {
        breaks += 1
        if b == 0x0A { lines += 1 }
    }
    for i in r.issues {
        check(i.file == file, "issue file", i.description)
        check(!i.message.isEmpty, "issue message", i.description)
        check(!fileLevelRules.contains(i.rule) ? i.field != nil && !(i.field!.isEmpty) : true, "field-level rule names its field", i.description)
        if let v = i.value {
            // Cut after 200 characters of the value, each shown as itself or (C0, DEL) as a `\u{1f}` escape.
            check(v.unicodeScalars.count <= 200 * 6 + 1, "values are cut at 200 characters", i.description)
            check(!v.unicodeScalars.contains { $0.value < 0x20 }, "values have control characters escaped", i.description)
        }
        check(i.field != "phone" || i.value == nil, "phones never appear in issues", i.description)
        switch i.location {
        case .wholeFile:
            break
        case .line(let l):
            check(l >= 1 && l <= breaks, "line within the file", "\(i) (\(breaks) line breaks + 1)")
        case .textPosition(let l, let c):
            check(form == "json", "text positions are JSON's", i.description)
            check(l >= 1 && l <= lines && c >= 1, "text position within the file", i.description)
        case .jsonPath(let p):
            check(form == "json" && p.hasPrefix("$"), "JSON paths are JSON's", i.description)
        }
    }
}

func isCode(_ s: String) -> Bool { ValueSyntax.isCode(s) }

func checkText(_ s: String?, _ what: String) {
    guard let s else { return }
    check(!s.isEmpty, "\(what) is null rather than empty")
    check(!ValueSyntax.hasControlCharacter(s), "\(what) has no C0 control character", s.debugDescription)
    check(TextTrim.trim(s) == s, "\(what) is trimmed", s.debugDescription)
}

func checkID(_ s: String?, _ what: String) {
    guard let s else { return }
    checkText(s, what)
    check((1...64).contains(s.unicodeScalars.count), "\(what) is 1 to 64 characters", s.debugDescription)
}

/// An accepted file satisfies every field rule and the counting rules hold for its records.
func checkAccepted(_ f: ReportFile, reference: ReferenceData) {
    for r in f.reports {
        let sd = r.storeDay
        check(isCode(sd.store) && reference.stores[sd.store]?.isOpen(on: sd.businessDate) == true, "store known and open", "\(sd)")
        check(sd.businessDate <= reference.receiptDay, "business date not after receipt")
        var ids = Set<String>()
        for v in r.visits ?? [] {
            checkID(v.id, "visit id"); checkID(v.existingCard, "existing_card"); checkID(v.newCard, "new_card")
            check(ids.insert(v.id).inserted, "visit ids unique per store-day", v.id)
            check(reference.salespeople.contains(v.salesperson), "salesperson known", v.salesperson)
            check(v.model.map { reference.models.contains($0) } ?? true, "model known")
            check(v.partySize >= 1 && v.partySize <= Int(Int32.max), "party size in range", "\(v.partySize)")
            let c = v.counts
            check(!(c.walkInGroup && c.phoneGroup), "a visit is walk-in or phone traffic, not both")
            check(!c.traffic || (v.purpose == .purchase && v.existingCard == nil && !v.existingOrder), "traffic is purchase and not a return")
            check(!c.phoneGroup || (v.channel == .phone && v.newCard != nil), "phone traffic needs a new card")
            check(!(v.channel == .event && c.walkInGroup) || v.newCard != nil, "event traffic needs a new card")
            check(!(v.channel == .walkIn && v.purpose == .purchase && v.existingCard == nil && !v.existingOrder) || c.walkInGroup,
                  "a purchase walk-in by a non-holder is traffic")
            check(!c.revisit || (v.channel == .walkIn && v.purpose == .purchase && (v.existingCard != nil || v.existingOrder)), "revisit rule")
            check(c.testDrive == v.testDrive, "test drives count every visit that test-drove")
        }
        ids.removeAll()
        for p in r.prospects ?? [] {
            checkID(p.card, "card")
            check(ids.insert(p.card).inserted, "cards unique per store-day", p.card)
            check(p.createdOn <= sd.businessDate, "created_on <= business_date")
            check((p.status == .open) == (p.closedOn == nil), "closed_on iff not open")
            if let c = p.closedOn { check(c >= p.createdOn && c <= sd.businessDate, "closed_on between created_on and business_date") }
            checkText(p.customerName, "customer_name"); checkText(p.phone, "phone"); checkText(p.lostReason, "lost_reason")
            if let m = CustomerName.mask(p.customerName) { check(m.hasSuffix("*") && m.unicodeScalars.count == 2, "masked name", m) }
        }
        ids.removeAll()
        for s in r.sales ?? [] {
            checkID(s.order, "order"); checkID(s.card, "sale card")
            check(ids.insert(s.order).inserted, "orders unique per store-day", s.order)
            check(s.dealPrice > 0 && s.collected >= 0 && (s.listPrice ?? 0) >= 0, "money signs")
            check(s.dealPrice.exponent >= -2 && s.collected.exponent >= -2, "money has at most 2 decimals")
            check(s.orderDate <= sd.businessDate, "order_date <= business_date")
            check((s.status == .delivered) == (s.deliveryDate != nil), "delivery_date iff delivered")
            check((s.status == .cancelled) == (s.cancelDate != nil), "cancel_date iff cancelled")
            check(s.status != .delivered || s.vin.map(ValueSyntax.isVIN) == true, "a delivered order has a valid VIN")
            if let d = s.deliveryDate { check(d >= s.orderDate && d <= sd.businessDate, "delivery_date window") }
            if let d = s.cancelDate { check(d >= s.orderDate && d <= sd.businessDate, "cancel_date window") }
        }
    }
}

/// The CSV tokenizer gives the same rows whatever the chunking (the file reader uses 1 MiB chunks, so a
/// record may straddle any two of them).
func checkTokenizerChunking(_ input: [UInt8]) {
    struct Row: Equatable {
        var line: Int
        var problemLine: Int?
        var bytes: [UInt8]
        var ends: [Int]
    }
    func rows(chunk: Int) -> [Row] {
        var out: [Row] = []
        var t = CSVTokenizer()
        func take(_ r: inout CSVRow) {
            out.append(Row(line: r.line, problemLine: r.problem?.line, bytes: r.bytes, ends: r.ends))
        }
        input.withUnsafeBufferPointer { buf in
            var i = 0
            while i < buf.count {
                let n = min(chunk, buf.count - i)
                t.consume(UnsafeBufferPointer(rebasing: buf[i..<(i + n)])) { take(&$0) }
                i += n
            }
        }
        t.finish { take(&$0) }
        return out
    }
    let whole = rows(chunk: Int.max)
    let small = rows(chunk: 1 + (input.first.map { Int($0) % 7 } ?? 0))
    check(whole == small, "tokenizer rows do not depend on chunking", "\(whole) vs \(small)")
}

/// Our strict RFC 8259 parser against Foundation's: a document we accept must be JSON to Foundation too.
/// (The converse does not hold: Foundation is lenient where we are strict on purpose, e.g. it accepts
/// trailing commas, duplicate member names and lone surrogate escapes.)
func checkJSONAgainstFoundation(_ input: [UInt8]) {
    guard UTF8Validator.firstInvalidOffset(input.withUnsafeBufferPointer { $0 }) == nil else { return }
    let ours: Result<JSONValue, JSONSyntaxError> = input.withUnsafeBufferPointer { buf in
        do throws(JSONSyntaxError) { return .success(try JSONParser.parse(buf, maxDepth: 64)) } catch { return .failure(error) }
    }
    guard case .success(let value) = ours else { return }
    let foundation = (try? JSONSerialization.jsonObject(with: Data(input), options: [.fragmentsAllowed])) != nil
    // Foundation also refuses numbers beyond Double's range (RFC 8259 lets parsers limit the range; we keep
    // the literal text and let the field rules reject it).
    check(foundation || hasNumberBeyondDouble(value), "a document we parse is JSON to Foundation",
          String(decoding: input.prefix(300), as: UTF8.self))
}

func hasNumberBeyondDouble(_ v: JSONValue) -> Bool {
    switch v {
    case .number(let n): return !(Double(n)?.isFinite ?? false)
    case .array(let items): return items.contains(where: hasNumberBeyondDouble)
    case .object(let o): return o.members.contains { hasNumberBeyondDouble($0.value) }
    case .null, .bool, .string: return false
    }
}

/// GB18030 transcoding gives the same output and the same verdict whatever the chunking.
func checkTranscoderChunking(_ input: [UInt8]) {
    func run(chunk: Int) -> String {
        var out: [UInt8] = []
        do {
            try GB18030Transcoder.withTranscoder { t in
                try input.withUnsafeBufferPointer { buf in
                    var i = 0
                    while i < buf.count {
                        let n = min(chunk, buf.count - i)
                        try t.consume(UnsafeBufferPointer(rebasing: buf[i..<(i + n)])) { out.append(contentsOf: $0) }
                        i += n
                    }
                }
                try t.finish()
            }
        } catch GB18030Transcoder.Failure.invalid(let offset) {
            return "invalid@\(offset)"
        } catch {
            return "error \(error)"
        }
        check(UTF8Validator.firstInvalidOffset(out.withUnsafeBufferPointer { $0 }) == nil, "transcoder output is UTF-8")
        return "ok \(out)"
    }
    let whole = run(chunk: Int.max)
    let small = run(chunk: 1 + (input.last.map { Int($0) % 5 } ?? 0))
    check(whole == small, "GB18030 transcoding does not depend on chunking", "\(whole) vs \(small)")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    switch fuzzTarget {
    case "master":
        do {
            let m = try MasterDataReader.read(bytes: input, fileName: "m.csv")
            check(m.file == "m.csv", "master file name")
        } catch {
            checkRejection(error, file: "m.csv", form: "csv", input: input)
        }
    case "csv":
        checkTokenizerChunking(input)
        checkTranscoderChunking(input)
        fallthrough
    case "json-differential":
        checkJSONAgainstFoundation(input)
    default:
        let name = fuzzTarget == "csv" ? "r.csv" : "r.json"
        do {
            let f = try ReportReader.read(bytes: input, fileName: name, reference: fuzzReference)
            check(!f.reports.isEmpty || fuzzTarget == "csv", "an accepted JSON file holds a report")
            checkAccepted(f, reference: fuzzReference)
            // Reading is deterministic, and without reference data an accepted file stays accepted.
            check((try? ReportReader.read(bytes: input, fileName: name, reference: fuzzReference)) == f, "deterministic")
            check((try? ReportReader.read(bytes: input, fileName: name, reference: nil)) != nil, "reference rules only add rejections")
        } catch {
            checkRejection(error, file: name, form: fuzzTarget == "csv" ? "csv" : "json", input: input)
        }
    }
    return 0
}
