import CLibPQ

/// Writes rows in COPY text format into a running `COPY ... FROM STDIN`.
///
/// Only exists inside `PostgresConnection.copyFrom`'s producer, on the connection's thread; it cannot be
/// copied out of it. Fields are escaped (backslash, tab, newline, carriage return), NULL is `\N`, and data is
/// sent in chunks of about 32 KiB with exact byte counts: small enough that the socket buffer holds several,
/// so the next chunk is produced while the server still reads the last (measured: 256 KiB chunks were ~25%
/// slower, see bench/copy).
public struct PostgresCopyWriter: ~Copyable {
    private let handle: OpaquePointer
    /// Our own growable byte buffer: appends are a bounds check and a memcpy (this is the hot path of every
    /// bulk load, ~10 fields per row).
    private var storage: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var count = 0
    private var fieldsInRow = 0
    private static let chunkSize = 1 << 15
    /// Rows completed with `endRow()` or `writeRow(_:)`.
    public private(set) var rowsWritten = 0
    /// Bytes handed to libpq so far.
    public private(set) var bytesSent = 0

    init(handle: OpaquePointer) {
        self.handle = handle
        self.capacity = PostgresCopyWriter.chunkSize + 65_536
        self.storage = .allocate(capacity: capacity)
    }

    deinit { storage.deallocate() }

    /// Appends one field of the current row (nil is NULL).
    public mutating func appendField(_ value: String?) throws(PostgresError) {
        separate()
        guard var text = value else {
            appendNull()
            return
        }
        let failure: PostgresError? = text.withUTF8 { u in
            do throws(PostgresError) { try appendEscaped(u) } catch { return error }
            return nil
        }
        if let failure { throw failure }
    }

    /// Appends a field from raw UTF-8 bytes (escaped like a String).
    public mutating func appendField(utf8 bytes: UnsafeBufferPointer<UInt8>) throws(PostgresError) {
        separate()
        try appendEscaped(bytes)
    }

    /// Appends an integer field.
    public mutating func appendField(_ value: Int?) {
        separate()
        guard let value else {
            appendNull()
            return
        }
        appendDecimalInteger(value)
    }

    /// Appends a boolean field (`t`/`f`).
    public mutating func appendField(_ value: Bool?) {
        separate()
        guard let value else {
            appendNull()
            return
        }
        reserve(1)
        storage[count] = value ? UInt8(ascii: "t") : UInt8(ascii: "f")
        count += 1
    }

    /// Appends any encodable value via its text binding (binary bindings are not allowed in text COPY).
    public mutating func appendField<T: PostgresEncodable>(encoding value: T?) throws(PostgresError) {
        switch value?.postgresBinding() ?? .null {
        case .null: try appendField(nil as String?)
        case .text(let s): try appendField(s)
        case .binary: throw PostgresError(kind: .misuse, message: "binary values cannot be sent in text COPY")
        }
    }

    /// Ends the current row.
    public mutating func endRow() throws(PostgresError) {
        reserve(1)
        storage[count] = 0x0A
        count += 1
        fieldsInRow = 0
        rowsWritten += 1
        if count >= PostgresCopyWriter.chunkSize { try flush() }
    }

    /// Writes a whole row.
    public mutating func writeRow(_ fields: [String?]) throws(PostgresError) {
        for f in fields { try appendField(f) }
        try endRow()
    }

    /// Sends what is buffered. Called automatically; also checks for task cancellation (`.cancelled`).
    public mutating func flush() throws(PostgresError) {
        if Task.isCancelled {
            throw PostgresError(kind: .cancelled, message: "the task was cancelled during COPY")
        }
        guard count > 0 else { return }
        let ok = storage.withMemoryRebound(to: CChar.self, capacity: count) { PQputCopyData(handle, $0, Int32(count)) }
        guard ok == 1 else {
            throw PostgresError(kind: .connectionLost, message: PostgresConnection.trimmedMessage(PQerrorMessage(handle)))
        }
        bytesSent += count
        count = 0
    }

    @inline(__always)
    private mutating func separate() {
        if fieldsInRow > 0 {
            reserve(1)
            storage[count] = 0x09
            count += 1
        }
        fieldsInRow += 1
    }

    @inline(__always)
    private mutating func appendNull() {
        reserve(2)
        storage[count] = 0x5C
        storage[count + 1] = 0x4E
        count += 2
    }

    @inline(__always)
    private mutating func reserve(_ n: Int) {
        if count + n > capacity { grow(count + n) }
    }

    private mutating func grow(_ needed: Int) {
        let newCapacity = max(capacity * 2, needed)
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        bigger.update(from: storage, count: count)
        storage.deallocate()
        storage = bigger
        capacity = newCapacity
    }

    @inline(__always)
    private mutating func append(_ u: UnsafeBufferPointer<UInt8>) {
        guard let base = u.baseAddress, u.count > 0 else { return }
        reserve(u.count)
        (storage + count).update(from: base, count: u.count)
        count += u.count
    }

    private mutating func appendEscaped(_ u: UnsafeBufferPointer<UInt8>) throws(PostgresError) {
        // Worst case every byte doubles.
        reserve(u.count * 2)
        var out = storage + count
        var i = 0
        let n = u.count
        guard let src = u.baseAddress else { return }
        while i < n {
            let c = src[i]
            if c > 0x0D && c != 0x5C {
                out.pointee = c
                out += 1
                i += 1
                continue
            }
            switch c {
            case 0x5C: out[0] = 0x5C; out[1] = 0x5C; out += 2
            case 0x09: out[0] = 0x5C; out[1] = UInt8(ascii: "t"); out += 2
            case 0x0A: out[0] = 0x5C; out[1] = UInt8(ascii: "n"); out += 2
            case 0x0D: out[0] = 0x5C; out[1] = UInt8(ascii: "r"); out += 2
            case 0x00:
                throw PostgresError(kind: .misuse, message: "a COPY field contains a NUL character, which PostgreSQL text cannot hold")
            default: out.pointee = c; out += 1
            }
            i += 1
        }
        count = out - storage
    }

    private mutating func appendDecimalInteger(_ value: Int) {
        reserve(21)
        if value == 0 {
            storage[count] = 0x30
            count += 1
            return
        }
        var v = value.magnitude
        if value < 0 {
            storage[count] = 0x2D
            count += 1
        }
        var digits = 0
        var probe = v
        while probe > 0 { digits += 1; probe /= 10 }
        var k = count + digits - 1
        while v > 0 {
            storage[k] = UInt8(v % 10) + 0x30
            v /= 10
            k -= 1
        }
        count += digits
    }
}
