// Hand-written JSON output into a fixed, preallocated buffer: no allocation per message, and numbers
// formatted here (not by the C library or Swift's description) so bytes are identical on x86 and ARM.

/// A fixed-capacity byte buffer owned by the caller, reused for every message.
public final class MessageBuffer {
    /// The storage; allocated once.
    let storage: UnsafeMutableRawBufferPointer
    /// Bytes of the current message.
    public internal(set) var count = 0

    /// Allocates `capacity` bytes (the largest message it can hold).
    public init(capacity: Int) {
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(capacity, 1), alignment: 8)
        self.capacity = max(capacity, 1)
    }

    deinit { storage.deallocate() }

    /// The largest message this buffer holds, bytes.
    public let capacity: Int

    /// The current message's bytes (valid until the next write).
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: storage[0..<count]) }

    /// A copy of the current message (allocates; for tests and logs).
    public var array: [UInt8] { Array(bytes) }

    /// The current message as text (allocates; for tests and logs).
    public var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// Number of decimals every floating-point field carries on the wire (docs/WIRE.md).
public let wireFloatDecimals = 4

/// Appends JSON tokens to a `MessageBuffer`; throws `messageTooLarge` instead of growing.
struct JSONWriter {
    let buffer: MessageBuffer
    private let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private(set) var count = 0

    init(_ buffer: MessageBuffer) {
        self.buffer = buffer
        base = buffer.storage.baseAddress!.assumingMemoryBound(to: UInt8.self)
        capacity = buffer.capacity
        buffer.count = 0
    }

    /// Publishes the written length to the buffer.
    func finish() { buffer.count = count }

    @inline(__always)
    mutating func byte(_ value: UInt8) throws(BusError) {
        guard count < capacity else { throw BusError.messageTooLarge(limit: capacity) }
        base[count] = value
        count += 1
    }

    /// Appends literal ASCII text (keys, punctuation) as is.
    mutating func raw(_ text: StaticString) throws(BusError) {
        let n = text.utf8CodeUnitCount
        guard capacity - count >= n else { throw BusError.messageTooLarge(limit: capacity) }
        (base + count).update(from: text.utf8Start, count: n)
        count += n
    }

    /// Appends a JSON string literal with the escapes JSON requires; other UTF-8 passes through.
    mutating func string(_ text: String) throws(BusError) {
        try byte(0x22)
        // Index loops, not for-in: unspecialised iterators allocate in debug builds.
        let utf8 = text.utf8
        var index = utf8.startIndex
        while index != utf8.endIndex {
            try escaped(utf8[index])
            utf8.formIndex(after: &index)
        }
        try byte(0x22)
    }

    /// Appends a JSON string literal from bytes (e.g. RLE counts, where '\\' is a legal character).
    mutating func string(bytes: [UInt8]) throws(BusError) {
        try byte(0x22)
        var index = 0
        while index < bytes.count {
            try escaped(bytes[index])
            index += 1
        }
        try byte(0x22)
    }

    private mutating func escaped(_ c: UInt8) throws(BusError) {
        switch c {
        case 0x22: try raw("\\\"")
        case 0x5C: try raw("\\\\")
        case 0x0A: try raw("\\n")
        case 0x0D: try raw("\\r")
        case 0x09: try raw("\\t")
        case 0x00..<0x20:
            try raw("\\u00")
            try byte(hexDigit(c >> 4))
            try byte(hexDigit(c & 0xF))
        default: try byte(c)
        }
    }

    private func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 + v : 0x61 + v - 10 }

    /// Appends an unsigned integer exactly.
    mutating func unsigned(_ value: UInt64) throws(BusError) {
        // Digits come out least significant first: write them, then reverse in place.
        let start = count
        var v = value
        repeat {
            try byte(UInt8(truncatingIfNeeded: 0x30 &+ v % 10))
            v /= 10
        } while v > 0
        var i = start, j = count - 1
        while i < j {
            let t = base[i]
            base[i] = base[j]
            base[j] = t
            i += 1
            j -= 1
        }
    }

    /// Appends a signed integer exactly.
    mutating func integer(_ value: Int) throws(BusError) {
        if value < 0 { try byte(0x2D) }
        try unsigned(value.magnitude.toUInt64)
    }

    /// Appends a finite number with exactly `wireFloatDecimals` decimals, rounded half away from zero.
    /// `field` names it in the error for NaN, infinities and magnitudes beyond 9e14.
    mutating func fixed(_ value: Double, field: StaticString) throws(BusError) {
        guard value.isFinite, value.magnitude < 9.0e14 else {
            throw BusError.invalidValue(field: staticText(field))
        }
        // One IEEE multiply, truncation and a comparison: the same result on every conforming FPU,
        // and no libm call (`rounded()` would need libm, which Embedded links do not pull in).
        let scaled = (value * 10_000).magnitude
        var magnitude = UInt64(scaled)
        if scaled - Double(magnitude) >= 0.5 { magnitude += 1 }
        if value < 0 && magnitude != 0 { try byte(0x2D) }
        try unsigned(magnitude / 10_000)
        try byte(0x2E)
        var fraction = magnitude % 10_000
        var divisor: UInt64 = 1000
        while divisor > 0 {
            try byte(UInt8(truncatingIfNeeded: 0x30 &+ fraction / divisor))
            fraction %= divisor
            divisor /= 10
        }
    }
}

extension UInt {
    var toUInt64: UInt64 { UInt64(self) }
}

/// A StaticString's text as a String (for error messages).
func staticText(_ text: StaticString) -> String {
    String(decoding: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount), as: UTF8.self)
}
