#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#elseif canImport(Musl)
import Musl
#endif

/// Character-set conversion through the C library's iconv (glibc on Linux). Each call opens and closes
/// its own conversion handle, so the function is safe to call from any thread.
public enum CorpusEncoding {
    /// Converts `bytes` from encoding `from` to encoding `to` (iconv names, e.g. "UTF-8", "GB18030").
    /// Returns nil if the input is not valid in `from` or cannot be represented in `to`.
    public static func convert(_ bytes: [UInt8], from: String, to: String) -> [UInt8]? {
        let cd = iconv_open(to, from)
        // iconv_open returns (iconv_t)-1 on failure.
        if cd == nil || Int(bitPattern: cd) == -1 { return nil }
        defer { iconv_close(cd) }
        if bytes.isEmpty { return [] }

        var output = [UInt8](repeating: 0, count: bytes.count * 2 + 16)
        var input = bytes
        var produced = 0
        let ok: Bool = input.withUnsafeMutableBufferPointer { inBuf in
            var inPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(inBuf.baseAddress!)
                .assumingMemoryBound(to: CChar.self)
            var inLeft = inBuf.count
            while true {
                let capacity = output.count
                let result: (Int, Int, Int32) = output.withUnsafeMutableBufferPointer { outBuf in
                    var outPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(outBuf.baseAddress! + produced)
                        .assumingMemoryBound(to: CChar.self)
                    var outLeft = capacity - produced
                    let r = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
                    let e = r == -1 ? errno : 0
                    return (r, capacity - produced - outLeft, e)
                }
                produced += result.1
                if result.0 != -1 {
                    // Flush any shift state (not needed for these encodings, but correct).
                    var nilIn: UnsafeMutablePointer<CChar>? = nil
                    var zero = 0
                    let flushed: Int = output.withUnsafeMutableBufferPointer { outBuf in
                        var outPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(outBuf.baseAddress! + produced)
                            .assumingMemoryBound(to: CChar.self)
                        var outLeft = outBuf.count - produced
                        let before = outLeft
                        _ = iconv(cd, &nilIn, &zero, &outPtr, &outLeft)
                        return before - outLeft
                    }
                    produced += flushed
                    return true
                }
                if result.2 == E2BIG {
                    output.append(contentsOf: [UInt8](repeating: 0, count: output.count))
                    continue
                }
                return false // EILSEQ / EINVAL: invalid or incomplete input
            }
        }
        guard ok else { return nil }
        output.removeSubrange(produced...)
        return output
    }

    /// UTF-8 → GB18030 (what Excel on Chinese Windows writes).
    public static func gb18030(fromUTF8 bytes: [UInt8]) -> [UInt8]? { convert(bytes, from: "UTF-8", to: "GB18030") }

    /// GB18030 → UTF-8.
    public static func utf8(fromGB18030 bytes: [UInt8]) -> [UInt8]? { convert(bytes, from: "GB18030", to: "UTF-8") }
}

extension CorpusEncoding {
    /// True if `bytes` is well-formed UTF-8 (strict: no overlongs, no surrogates, nothing above U+10FFFF).
    public static func isValidUTF8(_ bytes: [UInt8]) -> Bool {
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b < 0x80 { i += 1; continue }
            var need = 0
            var lo: UInt8 = 0x80
            var hi: UInt8 = 0xBF
            switch b {
            case 0xC2...0xDF: need = 1
            case 0xE0: need = 2; lo = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: need = 2
            case 0xED: need = 2; hi = 0x9F
            case 0xF0: need = 3; lo = 0x90
            case 0xF1...0xF3: need = 3
            case 0xF4: need = 3; hi = 0x8F
            default: return false
            }
            if i + need >= n { return false }
            let c1 = bytes[i + 1]
            if c1 < lo || c1 > hi { return false }
            var k = 2
            while k <= need {
                let c = bytes[i + k]
                if c < 0x80 || c > 0xBF { return false }
                k += 1
            }
            i += need + 1
        }
        return true
    }
}
