import CivilCalendar

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#elseif canImport(Musl)
import Musl
#endif

/// An exact amount of money in fen (CNY cents). Never a binary float.
struct Cents: Hashable, Comparable, Sendable {
    var value: Int64
    init(_ value: Int64) { self.value = value }
    init(yuan: Int64) { self.value = yuan * 100 }
    static func < (a: Cents, b: Cents) -> Bool { a.value < b.value }
    static func + (a: Cents, b: Cents) -> Cents { Cents(a.value + b.value) }
    static func - (a: Cents, b: Cents) -> Cents { Cents(a.value - b.value) }

    /// `123456.70` (always two decimals), as in the JSON examples and the master files.
    var fixed2: String {
        var b = ByteBuffer(capacity: 24)
        b.appendMoneyFixed(self)
        return b.string
    }
}

/// A growable byte buffer with the few appenders the writers need. Text goes in as UTF-8 bytes, never
/// through per-character `String` concatenation.
struct ByteBuffer {
    var bytes: [UInt8]

    init(capacity: Int = 4096) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    var count: Int { bytes.count }
    var isEmpty: Bool { bytes.isEmpty }
    var string: String { String(decoding: bytes, as: UTF8.self) }

    mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    @inline(__always) mutating func append(_ byte: UInt8) { bytes.append(byte) }

    @inline(__always) mutating func append(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    @inline(__always) mutating func append(_ s: String) {
        var s = s
        s.withUTF8 { bytes.append(contentsOf: $0) }
    }

    mutating func append(_ other: ByteBuffer) { bytes.append(contentsOf: other.bytes) }

    mutating func append(int v: Int) {
        if v < 0 {
            append(UInt8(ascii: "-"))
            append(uint: UInt64(-v))
        } else {
            append(uint: UInt64(v))
        }
    }

    mutating func append(uint v: UInt64) {
        if v < 10 {
            bytes.append(48 + UInt8(v))
            return
        }
        var tmp: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                  UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        var x = v
        withUnsafeMutableBytes(of: &tmp) { raw in
            while x > 0 {
                raw[n] = 48 + UInt8(x % 10)
                x /= 10
                n += 1
            }
            while n > 0 {
                n -= 1
                bytes.append(raw[n])
            }
        }
    }

    /// Zero-padded non-negative integer of at least `width` digits.
    mutating func append(int v: Int, width: Int) {
        var digits = 1
        var t = v / 10
        while t > 0 { digits += 1; t /= 10 }
        if digits < width { for _ in 0..<(width - digits) { bytes.append(48) } }
        append(uint: UInt64(v))
    }

    /// `YYYY-MM-DD`.
    mutating func append(date d: CalendarDate) {
        append(int: d.year, width: 4)
        bytes.append(UInt8(ascii: "-"))
        append(int: d.month, width: 2)
        bytes.append(UInt8(ascii: "-"))
        append(int: d.day, width: 2)
    }

    /// `YYYYMMDD`.
    mutating func append(compactDate d: CalendarDate) {
        append(int: d.year, width: 4)
        append(int: d.month, width: 2)
        append(int: d.day, width: 2)
    }

    /// Money with exactly two decimals: `152000.00`, `258888.88`.
    mutating func appendMoneyFixed(_ c: Cents) {
        var v = c.value
        if v < 0 { bytes.append(UInt8(ascii: "-")); v = -v }
        append(uint: UInt64(v / 100))
        bytes.append(UInt8(ascii: "."))
        append(int: Int(v % 100), width: 2)
    }

    /// Money as Excel writes it: no trailing zeros (`186000`, `170600.5`, `258888.88`).
    mutating func appendMoneyExcel(_ c: Cents) {
        var v = c.value
        if v < 0 { bytes.append(UInt8(ascii: "-")); v = -v }
        append(uint: UInt64(v / 100))
        let f = Int(v % 100)
        if f == 0 { return }
        bytes.append(UInt8(ascii: "."))
        if f % 10 == 0 {
            bytes.append(48 + UInt8(f / 10))
        } else {
            append(int: f, width: 2)
        }
    }

    /// A JSON string literal (quotes included), escaping `"`, `\` and control characters.
    mutating func appendJSONString(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { u in
            var needsEscape = false
            for c in u where c < 0x20 || c == 0x22 || c == 0x5C { needsEscape = true; break }
            if !needsEscape {
                bytes.append(contentsOf: u)
                return
            }
            for c in u {
                switch c {
                case 0x22: append("\\\"")
                case 0x5C: append("\\\\")
                case 0x0A: append("\\n")
                case 0x0D: append("\\r")
                case 0x09: append("\\t")
                case 0..<0x20:
                    append("\\u00")
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    bytes.append(hex[Int(c >> 4)])
                    bytes.append(hex[Int(c & 15)])
                default: bytes.append(c)
                }
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// A JSON string or `null`.
    mutating func appendJSONString(orNull s: String?) {
        if let s { appendJSONString(s) } else { append("null") }
    }

    /// One CSV cell (RFC 4180): quoted only when it holds a comma, a quote or a line break.
    mutating func appendCSVCell(_ s: String) {
        var s = s
        s.withUTF8 { u in
            var quote = false
            for c in u where c == 0x2C || c == 0x22 || c == 0x0A || c == 0x0D { quote = true; break }
            if !quote {
                bytes.append(contentsOf: u)
                return
            }
            bytes.append(0x22)
            for c in u {
                if c == 0x22 { bytes.append(0x22) }
                bytes.append(c)
            }
            bytes.append(0x22)
        }
    }
}

/// Errors of the generator.
public struct CorpusGeneratorError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Thin POSIX file helpers (no Foundation in the hot path).
enum FileIO {
    /// Writes `bytes` to `path` (created or truncated), in full.
    static func write(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw CorpusGeneratorError("cannot create \(path): \(errnoText())") }
        defer { close(fd) }
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc_write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw CorpusGeneratorError("cannot write \(path): \(errnoText())")
                }
                offset += n
            }
        }
    }

    /// The whole content of the file at `path`.
    static func read(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw CorpusGeneratorError("cannot open \(path): \(errnoText())") }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc_read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw CorpusGeneratorError("cannot read \(path): \(errnoText())")
            }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
        }
    }

    /// `mkdir -p`.
    static func makeDirectories(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += part
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw CorpusGeneratorError("cannot create directory \(prefix): \(errnoText())")
            }
            prefix += "/"
        }
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    static func isEmptyDirectory(_ path: String) -> Bool {
        guard let dir = opendir(path) else { return false }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { return false }
        }
        return true
    }

    /// Removes a file or a directory tree (used for `overwrite`: only the generator's own outputs).
    static func removeTree(_ path: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            if let dir = opendir(path) {
                var names: [String] = []
                while let entry = readdir(dir) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                    }
                    if name != "." && name != ".." { names.append(name) }
                }
                closedir(dir)
                for n in names { try removeTree(path + "/" + n) }
            }
            if rmdir(path) != 0 { throw CorpusGeneratorError("cannot remove \(path): \(errnoText())") }
        } else if unlink(path) != 0 {
            throw CorpusGeneratorError("cannot remove \(path): \(errnoText())")
        }
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}

#if canImport(Glibc) || canImport(Musl)
@inline(__always) private func Glibc_write(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { write(fd, p, n) }
@inline(__always) private func Glibc_read(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int) -> Int { read(fd, p, n) }
#else
@inline(__always) private func Glibc_write(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { Darwin.write(fd, p, n) }
@inline(__always) private func Glibc_read(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int) -> Int { Darwin.read(fd, p, n) }
#endif
