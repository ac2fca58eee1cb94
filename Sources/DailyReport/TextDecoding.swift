import Glibc

/// The character encoding a file was read in.
public enum TextEncoding: String, Sendable, Hashable {
    /// Strictly valid UTF-8 (a leading BOM, if any, is dropped).
    case utf8 = "UTF-8"
    /// Not valid UTF-8 but valid GB18030 (which includes GBK and GB2312): what Excel on Chinese Windows writes.
    case gb18030 = "GB18030"
}

/// A streaming strict UTF-8 validator (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
/// Its state carries across chunks, so a file can be validated in pieces. Not thread-safe.
struct UTF8Validator {
    private var remaining = 0
    private var lo: UInt8 = 0x80
    private var hi: UInt8 = 0xBF
    /// Bytes consumed so far (over all chunks).
    private(set) var offset = 0

    /// Validates the next chunk. Returns the absolute byte offset of the first invalid byte, or nil.
    mutating func consume(_ buf: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let base = buf.baseAddress else { return nil }
        let n = buf.count
        var i = 0
        while i < n {
            if remaining == 0 {
                // ASCII fast path, 8 bytes at a time.
                while i + 8 <= n {
                    let w = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                    if w & 0x8080_8080_8080_8080 != 0 { break }
                    i += 8
                }
                if i >= n { break }
                let b = base[i]
                if b < 0x80 { i += 1; continue }
                switch b {
                case 0xC2...0xDF: remaining = 1; lo = 0x80; hi = 0xBF
                case 0xE0: remaining = 2; lo = 0xA0; hi = 0xBF
                case 0xE1...0xEC, 0xEE, 0xEF: remaining = 2; lo = 0x80; hi = 0xBF
                case 0xED: remaining = 2; lo = 0x80; hi = 0x9F
                case 0xF0: remaining = 3; lo = 0x90; hi = 0xBF
                case 0xF1...0xF3: remaining = 3; lo = 0x80; hi = 0xBF
                case 0xF4: remaining = 3; lo = 0x80; hi = 0x8F
                default: return offset + i
                }
                i += 1
            } else {
                let b = base[i]
                guard b >= lo, b <= hi else { return offset + i }
                remaining -= 1
                lo = 0x80
                hi = 0xBF
                i += 1
            }
        }
        offset += n
        return nil
    }

    /// Call at end of input: the offset of a truncated final sequence, or nil if the input ended cleanly.
    func finish() -> Int? { remaining == 0 ? nil : offset }

    /// Validates a whole buffer.
    static func firstInvalidOffset(_ buf: UnsafeBufferPointer<UInt8>) -> Int? {
        var v = UTF8Validator()
        return v.consume(buf) ?? v.finish()
    }
}

/// Chunked GB18030 → UTF-8 transcoding through glibc `iconv`. The descriptor is closed by `close()`,
/// which `GB18030Transcoder.withTranscoder` always calls. Not thread-safe.
struct GB18030Transcoder {
    enum Failure: Error {
        /// An invalid sequence at this absolute input offset.
        case invalid(offset: Int)
        /// iconv could not be opened (no GB18030 support in this C library).
        case unavailable
    }

    private let cd: iconv_t
    private var pending: [UInt8] = []   // an incomplete multi-byte sequence carried to the next chunk
    private var consumed = 0            // absolute input offset of pending[0]
    private var out = [UInt8](repeating: 0, count: 256 * 1024)

    private init(cd: iconv_t) { self.cd = cd }

    /// Runs `body` with a fresh transcoder and always closes the iconv descriptor.
    static func withTranscoder<R>(_ body: (inout GB18030Transcoder) throws -> R) throws -> R {
        guard let cd = iconv_open("UTF-8", "GB18030"), Int(bitPattern: cd) != -1 else { throw Failure.unavailable }
        var t = GB18030Transcoder(cd: cd)
        defer { iconv_close(cd) }
        return try body(&t)
    }

    /// Transcodes the next chunk, handing UTF-8 output to `sink` (possibly in several pieces).
    mutating func consume(_ chunk: UnsafeBufferPointer<UInt8>,
                          _ sink: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        if pending.isEmpty {
            try run(chunk, sink)
        } else {
            // Join the carried bytes with the start of this chunk (a sequence is at most 4 bytes).
            var joined = pending
            joined.append(contentsOf: chunk)
            pending = []
            try joined.withUnsafeBufferPointer { try run($0, sink) }
        }
    }

    /// Call at end of input: fails if a truncated sequence is left over.
    func finish() throws {
        if !pending.isEmpty { throw Failure.invalid(offset: consumed) }
    }

    private mutating func run(_ input: UnsafeBufferPointer<UInt8>,
                              _ sink: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        guard let base = input.baseAddress, input.count > 0 else { return }
        let start = consumed
        var inPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(mutating: base).assumingMemoryBound(to: CChar.self)
        var inLeft = input.count
        let cd = self.cd
        while inLeft > 0 {
            var failure: Int32 = 0
            let produced: Int = out.withUnsafeMutableBytes { ob in
                var outPtr: UnsafeMutablePointer<CChar>? = ob.baseAddress!.assumingMemoryBound(to: CChar.self)
                var outLeft = ob.count
                let r = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
                if r == -1 { failure = errno }
                return ob.count - outLeft
            }
            if produced > 0 {
                try out.withUnsafeBufferPointer { try sink(UnsafeBufferPointer(rebasing: $0[0..<produced])) }
            }
            if failure == 0 || failure == E2BIG { continue }
            let pos = input.count - inLeft
            if failure == EINVAL {
                // Incomplete sequence at the end of this piece: keep it for the next chunk.
                pending = Array(UnsafeBufferPointer(rebasing: input[pos...]))
                consumed = start + pos
                return
            }
            throw Failure.invalid(offset: start + pos)
        }
        consumed = start + input.count
    }
}

/// Reads a file in chunks with `read(2)`. Not thread-safe.
struct ChunkedFile {
    static let chunkSize = 1 << 20

    /// Calls `body` with successive chunks of the file (the buffer is reused between calls).
    /// Throws `ChunkedFile.Failure` when the file cannot be opened or read.
    static func forEachChunk(path: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(path: path, errno: errno) }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: chunkSize)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(path: path, errno: errno)
            }
            if n == 0 { return }
            try buf.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[0..<n])) }
        }
    }

    /// Reads a whole file. With `limit`, throws `TooLarge` as soon as more than `limit` bytes were read (a
    /// file that grew after its size was checked never costs more memory than the limit plus one chunk).
    static func readAll(path: String, limit: Int = .max) throws -> [UInt8] {
        var all: [UInt8] = []
        try forEachChunk(path: path) { chunk in
            if chunk.count > limit - all.count { throw TooLarge(limit: limit, size: nil) }
            all.append(contentsOf: chunk)
        }
        return all
    }

    /// The size of a regular file in bytes (`stat` of the path; nothing is read); `Int.max` for anything
    /// else (a pipe, device or socket can stream without end, e.g. `/dev/zero`, so it is over every limit);
    /// nil when the path cannot be stat'ed (the read that follows then reports why).
    static func size(path: String) -> Int? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        guard st.st_mode & S_IFMT == S_IFREG else { return .max }
        return Int(st.st_size)
    }

    struct Failure: Error {
        let path: String
        let errno: Int32
        var message: String { "cannot read file: \(String(cString: strerror(errno)))" }
    }

    /// The file exceeds a reader's maximum size (`ReadOptions.maxFileBytes`).
    struct TooLarge: Error {
        let limit: Int
        /// The size found, when known (nil: it grew past the limit while being read).
        let size: Int?

        /// The rejection issue's message.
        var message: String {
            let found = size.map { $0 == .max ? "not a regular file (a pipe or device has no end)" : "\($0) bytes" } ?? "more than that"
            return "the file is too large: \(found), the maximum report size is \(limit) bytes (ReadOptions.maxFileBytes); split it into smaller files"
        }

        /// Throws when a file of `size` bytes is over `limit`.
        static func check(size: Int?, limit: Int) throws(TooLarge) {
            if let size, size > limit { throw TooLarge(limit: limit, size: size) }
        }
    }
}

/// Encoding detection and decoding to UTF-8 bytes, for whole buffers and streamed files.
enum InputDecoder {
    /// Counts LF bytes before `offset` (LF is never part of a multi-byte sequence in UTF-8 or GB18030).
    static func lineNumber(in bytes: UnsafeBufferPointer<UInt8>, before offset: Int) -> Int {
        var line = 1
        for i in 0..<min(offset, bytes.count) where bytes[i] == 0x0A { line += 1 }
        return line
    }

    static func encodingIssue(_ collector: IssueCollector, utf8Offset: Int, gbOffset: Int?, line: Int?) {
        var msg = "the file is not valid UTF-8 (first invalid byte at offset \(utf8Offset))"
        if let gbOffset {
            msg += " and not valid GB18030 either (invalid byte sequence at offset \(gbOffset))"
        } else {
            msg += " and GB18030 decoding is not available"
        }
        collector.add(line.map(InputLocation.line) ?? .wholeFile, field: nil, value: nil, rule: .encoding, msg)
    }

    /// Decodes an in-memory buffer: the UTF-8 bytes (the input itself when valid UTF-8) and the encoding,
    /// or nil after adding an `encoding` issue. A leading BOM is not removed here.
    static func decode(_ bytes: [UInt8], allowGB18030: Bool, collector: IssueCollector) -> ([UInt8], TextEncoding)? {
        let bad = bytes.withUnsafeBufferPointer { UTF8Validator.firstInvalidOffset($0) }
        guard let bad else { return (bytes, .utf8) }
        guard allowGB18030 else {
            let line = bytes.withUnsafeBufferPointer { lineNumber(in: $0, before: bad) }
            collector.add(.line(line), field: nil, value: nil, rule: .encoding,
                          "the file is not valid UTF-8 (first invalid byte at offset \(bad))")
            return nil
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + bytes.count / 2)
        do {
            try GB18030Transcoder.withTranscoder { t in
                try bytes.withUnsafeBufferPointer { try t.consume($0) { out.append(contentsOf: $0) } }
                try t.finish()
            }
            return (out, .gb18030)
        } catch GB18030Transcoder.Failure.invalid(let off) {
            let line = bytes.withUnsafeBufferPointer { lineNumber(in: $0, before: off) }
            encodingIssue(collector, utf8Offset: bad, gbOffset: off, line: line)
        } catch {
            encodingIssue(collector, utf8Offset: bad, gbOffset: nil, line: nil)
        }
        return nil
    }

    /// Detects a file's encoding without holding it in memory: one streamed pass validating UTF-8 and,
    /// only if that fails, a second streamed pass validating GB18030. Returns nil after adding an issue.
    static func detect(path: String, allowGB18030: Bool, collector: IssueCollector) throws -> TextEncoding? {
        var v = UTF8Validator()
        var bad: Int?
        var lfBeforeBad = 0
        struct Stop: Error {}
        do {
            try ChunkedFile.forEachChunk(path: path) { chunk in
                if let b = v.consume(chunk) {
                    bad = b
                    let local = b - (v.offset)
                    for i in 0..<max(0, local) where chunk[i] == 0x0A { lfBeforeBad += 1 }
                    throw Stop()
                }
                lfBeforeBad += countLF(chunk)
            }
        } catch is Stop {}
        if bad == nil, let b = v.finish() { bad = b }
        guard let bad else { return .utf8 }
        guard allowGB18030 else {
            collector.add(.line(lfBeforeBad + 1), field: nil, value: nil, rule: .encoding,
                          "the file is not valid UTF-8 (first invalid byte at offset \(bad))")
            return nil
        }
        var lines = 1
        var offsetOfChunk = 0
        do {
            try GB18030Transcoder.withTranscoder { t in
                try ChunkedFile.forEachChunk(path: path) { chunk in
                    do {
                        try t.consume(chunk) { _ in }
                    } catch GB18030Transcoder.Failure.invalid(let off) {
                        let local = off - offsetOfChunk
                        if local > 0 { for i in 0..<min(local, chunk.count) where chunk[i] == 0x0A { lines += 1 } }
                        throw GB18030Transcoder.Failure.invalid(offset: off)
                    }
                    lines += countLF(chunk)
                    offsetOfChunk += chunk.count
                }
                try t.finish()
            }
            return .gb18030
        } catch GB18030Transcoder.Failure.invalid(let off) {
            encodingIssue(collector, utf8Offset: bad, gbOffset: off, line: lines)
        } catch GB18030Transcoder.Failure.unavailable {
            encodingIssue(collector, utf8Offset: bad, gbOffset: nil, line: nil)
        }
        return nil
    }

    /// Streams a file's content as UTF-8 bytes in the given (already detected) encoding.
    static func stream(path: String, encoding: TextEncoding, _ sink: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        switch encoding {
        case .utf8:
            try ChunkedFile.forEachChunk(path: path, sink)
        case .gb18030:
            try GB18030Transcoder.withTranscoder { t in
                try ChunkedFile.forEachChunk(path: path) { try t.consume($0, sink) }
                try t.finish()
            }
        }
    }

    static func countLF(_ chunk: UnsafeBufferPointer<UInt8>) -> Int {
        var n = 0
        for b in chunk where b == 0x0A { n += 1 }
        return n
    }
}
