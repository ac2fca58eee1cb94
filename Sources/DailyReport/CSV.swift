/// One physical CSV record as raw UTF-8 bytes: the fields' contents (quotes removed, doubled quotes
/// undone) concatenated, with the end offset of each field. Strings are made only for the cells a caller
/// reads (`string(_:)`), trimmed. Not thread-safe; reused by the tokenizer between records.
struct CSVRow {
    var bytes: [UInt8] = []
    var ends: [Int] = []
    /// The physical line where the record starts (header = 1).
    var line = 1
    /// A syntax problem in this record (already located); the record must not be used as data.
    var problem: (line: Int, message: String)?

    var fieldCount: Int { ends.count }

    @inline(__always)
    func rawRange(_ i: Int) -> Range<Int> { (i == 0 ? 0 : ends[i - 1])..<ends[i] }

    /// The field's byte range with leading and trailing white space removed.
    func trimmedRange(_ i: Int) -> Range<Int> {
        let r = rawRange(i)
        return bytes.withUnsafeBufferPointer { TextTrim.trimmed($0, r) }
    }

    /// True when the trimmed field is empty.
    func isEmpty(_ i: Int) -> Bool { trimmedRange(i).isEmpty }

    /// True when every field is empty after trimming.
    var isBlank: Bool {
        for i in 0..<ends.count where !isEmpty(i) { return false }
        return true
    }

    /// The trimmed field as a String (the bytes are valid UTF-8: the decoder checked them).
    func string(_ i: Int) -> String {
        var control = false
        return string(i, control: &control)
    }

    /// The trimmed field as a String; `control` is set when it holds a C0 control character other than tab.
    func string(_ i: Int, control: inout Bool) -> String {
        bytes.withUnsafeBufferPointer { b in
            let r = TextTrim.trimmed(b, rawRange(i))
            if r.isEmpty { return "" }
            for k in r where b[k] < 0x20 && b[k] != 0x09 {
                control = true
                break
            }
            return String(decoding: UnsafeBufferPointer(rebasing: b[r]), as: UTF8.self)
        }
    }

    mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        problem = nil
    }
}

/// A byte-level, chunk-fed RFC 4180 tokenizer: quoted fields, doubled quotes, embedded commas and line
/// breaks, LF / CRLF / lone CR line ends, a leading UTF-8 BOM dropped. Tolerated beyond RFC 4180: white
/// space around a quoted field, and a quote inside an unquoted field (taken literally). Records are handed
/// out with the physical line where they start. Not thread-safe.
struct CSVTokenizer {
    private enum State { case fieldStart, unquoted, quoted, quoteSeen, afterQuoted, afterCR }

    private var row = CSVRow()
    private var state: State = .fieldStart
    private var line = 1
    private var rowStarted = false
    private var quotedCR = false
    private var quoteLine = 0
    private var bomProbe: [UInt8] = []
    private var probing = true

    private static let comma: UInt8 = 0x2C, quote: UInt8 = 0x22, lf: UInt8 = 0x0A, cr: UInt8 = 0x0D
    private static let space: UInt8 = 0x20, tab: UInt8 = 0x09

    /// Feeds the next chunk of UTF-8 bytes; completed records are passed to `emit`.
    mutating func consume(_ buf: UnsafeBufferPointer<UInt8>, _ emit: (inout CSVRow) throws -> Void) rethrows {
        guard probing else { return try process(buf, emit) }
        // Collect the first three bytes to drop a UTF-8 BOM even if it straddles chunks.
        var i = 0
        while i < buf.count, bomProbe.count < 3 {
            bomProbe.append(buf[i])
            i += 1
            if bomProbe != Array([0xEF, 0xBB, 0xBF].prefix(bomProbe.count)) { break }
        }
        if bomProbe.count < 3, bomProbe == Array([0xEF, 0xBB, 0xBF].prefix(bomProbe.count)), i == buf.count {
            return // still undecided; wait for more input
        }
        probing = false
        if bomProbe != [0xEF, 0xBB, 0xBF] {
            let probe = bomProbe
            try probe.withUnsafeBufferPointer { try process($0, emit) }
        }
        bomProbe = []
        try process(UnsafeBufferPointer(rebasing: buf[i...]), emit)
    }

    /// Ends the input: emits the last record if it was not terminated by a line break.
    mutating func finish(_ emit: (inout CSVRow) throws -> Void) rethrows {
        if probing {
            probing = false
            let probe = bomProbe
            bomProbe = []
            if probe != [0xEF, 0xBB, 0xBF] { try probe.withUnsafeBufferPointer { try process($0, emit) } }
        }
        switch state {
        case .quoted:
            row.problem = (quoteLine, "unterminated quoted field (opened on line \(quoteLine))")
            endField()
            try endRecord(emit)
        case .unquoted, .quoteSeen, .afterQuoted:
            endField()
            try endRecord(emit)
        case .fieldStart:
            if rowStarted {
                endField()
                try endRecord(emit)
            }
        case .afterCR:
            break
        }
        state = .fieldStart
    }

    @inline(__always)
    private mutating func endField() { row.ends.append(row.bytes.count) }

    @inline(__always)
    private mutating func endRecord(_ emit: (inout CSVRow) throws -> Void) rethrows {
        rowStarted = false
        try emit(&row)
        row.reset()
    }

    @inline(__always)
    private mutating func append(_ p: UnsafePointer<UInt8>, _ from: Int, _ to: Int) {
        if to > from { row.bytes.append(contentsOf: UnsafeBufferPointer(start: p + from, count: to - from)) }
    }

    private mutating func process(_ buf: UnsafeBufferPointer<UInt8>, _ emit: (inout CSVRow) throws -> Void) rethrows {
        guard let p = buf.baseAddress else { return }
        let n = buf.count
        var i = 0
        while i < n {
            switch state {
            case .afterCR:
                state = .fieldStart
                if p[i] == Self.lf { i += 1 } // CRLF: the line was counted at the CR

            case .fieldStart:
                if !rowStarted {
                    rowStarted = true
                    row.line = line
                }
                // Leading blanks are kept (trimmed later) unless a quote follows them.
                var j = i
                while j < n, p[j] == Self.space || p[j] == Self.tab { j += 1 }
                if j == n {
                    append(p, i, j)
                    i = j
                    continue
                }
                if p[j] == Self.quote {
                    // Drop blanks before the opening quote, including any kept from a previous chunk.
                    let start = row.ends.last ?? 0
                    row.bytes.removeSubrange(start...)
                    state = .quoted
                    quoteLine = line
                    quotedCR = false
                    i = j + 1
                } else {
                    state = .unquoted
                }

            case .unquoted:
                var j = i
                while j < n {
                    let b = p[j]
                    if b == Self.comma || b == Self.lf || b == Self.cr { break }
                    j += 1
                }
                append(p, i, j)
                i = j
                if j == n { continue }
                let b = p[j]
                i += 1
                endField()
                if b == Self.comma {
                    state = .fieldStart
                } else {
                    try endRecord(emit)
                    line += 1
                    state = b == Self.cr ? .afterCR : .fieldStart
                }

            case .quoted:
                var j = i
                while j < n {
                    let b = p[j]
                    if b == Self.quote || b == Self.lf || b == Self.cr { break }
                    j += 1
                }
                if j > i { quotedCR = false }
                append(p, i, j)
                i = j
                if j == n { continue }
                let b = p[j]
                i += 1
                if b == Self.quote {
                    state = .quoteSeen
                } else if b == Self.lf {
                    row.bytes.append(b)
                    if !quotedCR { line += 1 }
                    quotedCR = false
                } else {
                    row.bytes.append(b)
                    line += 1
                    quotedCR = true
                }

            case .quoteSeen, .afterQuoted:
                let b = p[i]
                if b == Self.quote && state == .quoteSeen {
                    row.bytes.append(b)
                    state = .quoted
                    quotedCR = false
                    i += 1
                } else if b == Self.comma {
                    endField()
                    state = .fieldStart
                    i += 1
                } else if b == Self.lf || b == Self.cr {
                    endField()
                    try endRecord(emit)
                    line += 1
                    state = b == Self.cr ? .afterCR : .fieldStart
                    i += 1
                } else if b == Self.space || b == Self.tab {
                    state = .afterQuoted
                    i += 1
                } else {
                    if row.problem == nil {
                        row.problem = (line, "unexpected text after a closing quote (a quote inside a quoted field must be doubled)")
                    }
                    state = .unquoted
                }
            }
        }
    }
}

/// White-space trimming on UTF-8 bytes and Strings: Unicode White_Space (space, tab, line breaks,
/// NBSP U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, ideographic space U+3000).
enum TextTrim {
    /// Length of a white-space character starting at `i` (0 if none).
    @inline(__always)
    static func leadingSpace(_ b: UnsafeBufferPointer<UInt8>, _ i: Int, _ end: Int) -> Int {
        let c = b[i]
        if c == 0x20 || (c >= 0x09 && c <= 0x0D) { return 1 }
        if c < 0xC2 { return 0 }
        if c == 0xC2, i + 1 < end, b[i + 1] == 0x85 || b[i + 1] == 0xA0 { return 2 }
        if i + 2 < end {
            let c1 = b[i + 1], c2 = b[i + 2]
            if c == 0xE3, c1 == 0x80, c2 == 0x80 { return 3 }
            if c == 0xE1, c1 == 0x9A, c2 == 0x80 { return 3 }
            if c == 0xE2, c1 == 0x80, c2 <= 0x8A || c2 == 0xA8 || c2 == 0xA9 || c2 == 0xAF { return 3 }
            if c == 0xE2, c1 == 0x81, c2 == 0x9F { return 3 }
        }
        return 0
    }

    /// Length of a white-space character ending just before `end` (0 if none).
    @inline(__always)
    static func trailingSpace(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int {
        let c = b[end - 1]
        if c == 0x20 || (c >= 0x09 && c <= 0x0D) { return 1 }
        if c < 0x80 { return 0 }
        if end - 2 >= start, b[end - 2] == 0xC2, c == 0x85 || c == 0xA0 { return 2 }
        if end - 3 >= start, leadingSpace(b, end - 3, end) == 3 { return 3 }
        return 0
    }

    static func trimmed(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Range<Int> {
        var lo = r.lowerBound, hi = r.upperBound
        while lo < hi {
            let k = leadingSpace(b, lo, hi)
            if k == 0 { break }
            lo += k
        }
        while hi > lo {
            let k = trailingSpace(b, lo, hi)
            if k == 0 { break }
            hi -= k
        }
        return lo..<hi
    }

    /// Trims a String with the same white-space set (fast when nothing needs trimming).
    static func trim(_ s: String) -> String {
        var s = s
        return s.withUTF8 { u in
            let r = trimmed(u, 0..<u.count)
            if r.count == u.count { return nil as String? }
            return String(decoding: UnsafeBufferPointer(rebasing: u[r]), as: UTF8.self)
        } ?? s
    }
}
