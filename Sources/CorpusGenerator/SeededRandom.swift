/// A small, fast, seeded pseudo-random generator (xoshiro256** seeded through SplitMix64).
///
/// The corpus must be byte-identical for the same seed on every platform and Swift version, so the
/// generator never touches the system RNG nor Swift's `random(in:)` family (whose algorithms are not
/// guaranteed stable); every draw below is written out explicitly.
struct SeededRandom: RandomNumberGenerator {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    /// A generator for `seed`, on an independent stream named by `stream` (e.g. one per store).
    init(seed: UInt64, stream: UInt64 = 0, substream: UInt64 = 0) {
        var sm = SplitMix64(state: seed)
        // Mix the stream ids in so that (seed, stream) pairs give unrelated states.
        var mixed = sm.next() ^ SplitMix64.mix(stream &+ 0x6A09_E667_F3BC_C909)
        mixed ^= SplitMix64.mix(substream &+ 0xBB67_AE85_84CA_A73B) &* 0x9E37_79B9_7F4A_7C15
        var sm2 = SplitMix64(state: mixed)
        s0 = sm2.next()
        s1 = sm2.next()
        s2 = sm2.next()
        s3 = sm2.next()
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 }
    }

    mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform integer in `0..<n` (n > 0), by Lemire's multiply-shift with rejection.
    mutating func below(_ n: Int) -> Int {
        precondition(n > 0)
        let bound = UInt64(n)
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
        }
        return Int(m.high)
    }

    /// Uniform integer in the closed range.
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.upperBound - range.lowerBound + 1)
    }

    /// Uniform double in [0, 1) with 53 bits.
    mutating func unit() -> Double { Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) }

    mutating func double(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * unit() }

    /// True with probability p.
    mutating func chance(_ p: Double) -> Bool { unit() < p }

    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    /// Index drawn with the given (non-negative) weights.
    mutating func weighted(_ weights: [Double]) -> Int {
        var total = 0.0
        for w in weights { total += w }
        var r = unit() * total
        for (i, w) in weights.enumerated() {
            if r < w { return i }
            r -= w
        }
        return weights.count - 1
    }

    /// Poisson-distributed count (Knuth for small means, rounded normal approximation above 30).
    mutating func poisson(_ mean: Double) -> Int {
        if mean <= 0 { return 0 }
        if mean > 30 {
            let v = (mean + normal() * mean.squareRoot()).rounded()
            return v < 0 ? 0 : Int(v)
        }
        let l = SeededRandom.exp(-mean)
        var k = 0
        var p = 1.0
        repeat {
            k += 1
            p *= unit()
        } while p > l
        return k - 1
    }

    /// Approximately standard normal (Irwin–Hall: sum of 12 uniforms minus 6). Uses only + and -, so the
    /// result is bit-identical on every IEEE-754 platform (libm's log/cos are not guaranteed to be).
    mutating func normal() -> Double {
        var s = 0.0
        for _ in 0..<12 { s += unit() }
        return s - 6.0
    }

    /// e^x for x in about [-40, 40], from basic arithmetic only (deterministic across platforms).
    static func exp(_ x: Double) -> Double {
        let y = x / 64.0
        var term = 1.0
        var sum = 1.0
        for n in 1...20 {
            term *= y / Double(n)
            sum += term
        }
        for _ in 0..<6 { sum *= sum }
        return sum
    }
}

/// SplitMix64: a small, fast, seeded generator (also used by tests and benchmarks for repeatable runs).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(state: UInt64) { self.state = state }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

