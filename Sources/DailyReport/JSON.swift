/// A parsed JSON value (RFC 8259). Numbers keep their literal text so money never passes through binary
/// floating point. Value type; `Sendable`.
enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number exactly as written (already checked against the RFC 8259 grammar).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// A name for the value's type, for error messages.
    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}

/// A JSON object: members in document order; names are unique (the parser rejects duplicates).
struct JSONObject: Sendable, Equatable {
    private(set) var members: [(name: String, value: JSONValue)] = []
    private var index: [String: Int] = [:]

    subscript(name: String) -> JSONValue? {
        guard let i = index[name] else { return nil }
        return members[i].value
    }

    /// Adds a member; returns false when the name is already present.
    mutating func add(_ name: String, _ value: JSONValue) -> Bool {
        guard index[name] == nil else { return false }
        index[name] = members.count
        members.append((name, value))
        return true
    }

    static func == (a: JSONObject, b: JSONObject) -> Bool {
        a.members.count == b.members.count
            && zip(a.members, b.members).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}

/// A JSON syntax error: where (byte offset; see `position(in:)`) and what.
struct JSONSyntaxError: Error, Sendable {
    var offset: Int
    var rule: Rule
    var message: String

    /// 1-based line and column (the column counts Unicode scalars) of the offset in `bytes`.
    func position(in bytes: UnsafeBufferPointer<UInt8>) -> (line: Int, column: Int) {
        var line = 1, col = 1
        let end = min(offset, bytes.count)
        var i = 0
        while i < end {
            let b = bytes[i]
            if b == 0x0A {
                line += 1
                col = 1
            } else if b & 0xC0 != 0x80 {
                col += 1
            }
            i += 1
        }
        return (line, col)
    }
}

/// A strict RFC 8259 parser over UTF-8 bytes: no comments, no trailing commas, no NaN/Infinity, no
/// leading zeros, no raw control characters in strings, no lone surrogate escapes; duplicate member
/// names are rejected (`duplicate_member`); nesting deeper than `maxDepth` is rejected (`nesting_depth`).
/// The input must already be valid UTF-8. Not thread-safe (one parser per document).
struct JSONParser {
    private let p: UnsafeBufferPointer<UInt8>
    private var i = 0
    private let maxDepth: Int
    private var depth = 0
    private var scratch: [UInt8] = []

    private init(_ p: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.p = p
        // The parser recurses once per level: never deeper than the ceiling, whatever was asked for.
        self.maxDepth = min(maxDepth, ReadOptions.jsonDepthCeiling)
    }

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int = 64) throws(JSONSyntaxError) -> JSONValue {
        var parser = JSONParser(bytes, maxDepth: maxDepth)
        parser.skipWhitespace()
        if parser.i >= bytes.count { throw parser.error("the document is empty") }
        let v = try parser.value()
        parser.skipWhitespace()
        if parser.i < bytes.count { throw parser.error("unexpected text after the end of the document") }
        return v
    }

    private func error(_ message: String, at offset: Int? = nil, rule: Rule = .jsonSyntax) -> JSONSyntaxError {
        JSONSyntaxError(offset: offset ?? i, rule: rule, message: message)
    }

    private mutating func skipWhitespace() {
        while i < p.count {
            let b = p[i]
            if b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { i += 1 } else { return }
        }
    }

    private func describeHere() -> String {
        guard i < p.count else { return "the end of the document" }
        let b = p[i]
        if b >= 0x21 && b < 0x7F { return "'\(Character(Unicode.Scalar(b)))'" }
        return "a byte 0x\(String(b, radix: 16, uppercase: true))"
    }

    private mutating func value() throws(JSONSyntaxError) -> JSONValue {
        guard i < p.count else { throw error("expected a value but found the end of the document") }
        switch p[i] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw error("expected a value but found \(describeHere())")
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
        let start = i
        let n = word.utf8CodeUnitCount
        let w = word.utf8Start
        for k in 0..<n {
            guard i < p.count, p[i] == w[k] else { throw error("invalid literal (expected \(word))", at: start) }
            i += 1
        }
    }

    private mutating func enter() throws(JSONSyntaxError) {
        depth += 1
        if depth > maxDepth { throw error("arrays and objects are nested deeper than \(maxDepth) levels", rule: .nestingDepth) }
    }

    private mutating func object() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        i += 1
        var obj = JSONObject()
        skipWhitespace()
        if i < p.count, p[i] == UInt8(ascii: "}") {
            i += 1
            depth -= 1
            return .object(obj)
        }
        while true {
            skipWhitespace()
            guard i < p.count, p[i] == UInt8(ascii: "\"") else { throw error("expected a member name in double quotes but found \(describeHere())") }
            let keyOffset = i
            let key = try string()
            skipWhitespace()
            guard i < p.count, p[i] == UInt8(ascii: ":") else { throw error("expected ':' after a member name but found \(describeHere())") }
            i += 1
            skipWhitespace()
            let v = try value()
            guard obj.add(key, v) else {
                throw error("duplicate member name \"\(IssueCollector.displayValue(key))\"", at: keyOffset, rule: .duplicateMember)
            }
            skipWhitespace()
            guard i < p.count else { throw error("unterminated object: expected ',' or '}' but found the end of the document") }
            if p[i] == UInt8(ascii: ",") { i += 1; continue }
            if p[i] == UInt8(ascii: "}") { i += 1; break }
            throw error("expected ',' or '}' but found \(describeHere())")
        }
        depth -= 1
        return .object(obj)
    }

    private mutating func array() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        i += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if i < p.count, p[i] == UInt8(ascii: "]") {
            i += 1
            depth -= 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try value())
            skipWhitespace()
            guard i < p.count else { throw error("unterminated array: expected ',' or ']' but found the end of the document") }
            if p[i] == UInt8(ascii: ",") { i += 1; continue }
            if p[i] == UInt8(ascii: "]") { i += 1; break }
            throw error("expected ',' or ']' but found \(describeHere())")
        }
        depth -= 1
        return .array(items)
    }

    private mutating func number() throws(JSONSyntaxError) -> String {
        let start = i
        func digit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        if p[i] == UInt8(ascii: "-") { i += 1 }
        guard i < p.count, digit(p[i]) else { throw error("invalid number: a digit must follow '-'", at: start) }
        if p[i] == UInt8(ascii: "0") {
            i += 1
            if i < p.count, digit(p[i]) { throw error("invalid number: leading zeros are not allowed", at: start) }
        } else {
            while i < p.count, digit(p[i]) { i += 1 }
        }
        if i < p.count, p[i] == UInt8(ascii: ".") {
            i += 1
            guard i < p.count, digit(p[i]) else { throw error("invalid number: a digit must follow '.'", at: start) }
            while i < p.count, digit(p[i]) { i += 1 }
        }
        if i < p.count, p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E") {
            i += 1
            if i < p.count, p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") { i += 1 }
            guard i < p.count, digit(p[i]) else { throw error("invalid number: a digit must follow the exponent mark", at: start) }
            while i < p.count, digit(p[i]) { i += 1 }
        }
        return String(decoding: UnsafeBufferPointer(rebasing: p[start..<i]), as: UTF8.self)
    }

    private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        let start = i
        guard i + 4 <= p.count else { throw error("invalid \\u escape: four hex digits expected", at: start) }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = p[i]
            let d: UInt32
            switch b {
            case 0x30...0x39: d = UInt32(b - 0x30)
            case 0x41...0x46: d = UInt32(b - 0x41 + 10)
            case 0x61...0x66: d = UInt32(b - 0x61 + 10)
            default: throw error("invalid \\u escape: four hex digits expected", at: start)
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    private mutating func string() throws(JSONSyntaxError) -> String {
        let open = i
        i += 1
        let start = i
        // Fast path: no escapes.
        while i < p.count {
            let b = p[i]
            if b == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeBufferPointer(rebasing: p[start..<i]), as: UTF8.self)
                i += 1
                return s
            }
            if b == UInt8(ascii: "\\") || b < 0x20 { break }
            i += 1
        }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: p[start..<i]))
        while true {
            guard i < p.count else { throw error("unterminated string (opened here)", at: open) }
            let b = p[i]
            if b == UInt8(ascii: "\"") {
                i += 1
                return String(decoding: scratch, as: UTF8.self)
            }
            if b < 0x20 { throw error("a control character must be escaped inside a string") }
            if b != UInt8(ascii: "\\") {
                scratch.append(b)
                i += 1
                continue
            }
            let escStart = i
            i += 1
            guard i < p.count else { throw error("unterminated string (opened here)", at: open) }
            let e = p[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): scratch.append(0x22)
            case UInt8(ascii: "\\"): scratch.append(0x5C)
            case UInt8(ascii: "/"): scratch.append(0x2F)
            case UInt8(ascii: "b"): scratch.append(0x08)
            case UInt8(ascii: "f"): scratch.append(0x0C)
            case UInt8(ascii: "n"): scratch.append(0x0A)
            case UInt8(ascii: "r"): scratch.append(0x0D)
            case UInt8(ascii: "t"): scratch.append(0x09)
            case UInt8(ascii: "u"):
                var code = try hex4()
                if code >= 0xD800 && code <= 0xDBFF {
                    guard i + 2 <= p.count, p[i] == UInt8(ascii: "\\"), p[i + 1] == UInt8(ascii: "u") else {
                        throw error("invalid \\u escape: a high surrogate must be followed by a low surrogate", at: escStart)
                    }
                    i += 2
                    let low = try hex4()
                    guard low >= 0xDC00 && low <= 0xDFFF else {
                        throw error("invalid \\u escape: a high surrogate must be followed by a low surrogate", at: escStart)
                    }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                } else if code >= 0xDC00 && code <= 0xDFFF {
                    throw error("invalid \\u escape: a lone low surrogate", at: escStart)
                }
                scratch.append(contentsOf: Array(String(Character(Unicode.Scalar(code)!)).utf8))
            default:
                throw error("invalid escape sequence in a string", at: escStart)
            }
        }
    }
}
