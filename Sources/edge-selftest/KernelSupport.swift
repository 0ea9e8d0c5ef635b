import LiteModel

/// Deterministic pseudo-random numbers for the kernel tests (SplitMix64, as the XCTest TestRNG).
struct SelftestRNG {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }
    mutating func int8s(_ n: Int, _ range: ClosedRange<Int> = -128...127) -> [Int8] { (0..<n).map { _ in Int8(int(range)) } }
    mutating func uint8s(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(int(0...255)) } }
    mutating func float(_ lo: Float, _ hi: Float) -> Float { lo + (hi - lo) * Float(next() >> 40) / Float(1 << 24) }
    mutating func floats(_ n: Int, _ lo: Float = -1, _ hi: Float = 1) -> [Float] { (0..<n).map { _ in float(lo, hi) } }
}

/// A heap buffer filled with `value` (outputs of the kernels under test; freed with `free()`).
func filled<T>(_ count: Int, _ value: T) -> UnsafeMutableBufferPointer<T> {
    let b = UnsafeMutableBufferPointer<T>.allocate(capacity: max(1, count))
    b.initialize(repeating: value)
    return b
}

/// The message of an op error (Embedded Swift cannot describe values).
func opMessage(_ error: OpError) -> String {
    switch error {
    case let .invalidArgument(op, reason): return staticText(op) + ": " + staticText(reason)
    case let .bufferTooSmall(op, needed, given):
        return staticText(op) + ": buffer too small, needs " + String(needed) + ", given " + String(given)
    }
}

/// Runs a kernel test body, recording a thrown op error as a failure.
func opTest(_ t: inout TestContext, _ body: (inout TestContext) throws(OpError) -> Void) {
    do throws(OpError) { try body(&t) } catch { t.fail("unexpected " + opMessage(error)) }
}

extension TestContext {
    /// Records a failure (naming the first differing index) unless two float sequences are bit-identical.
    mutating func expectBitEqual(_ a: UnsafeMutableBufferPointer<Float>, _ b: UnsafeMutableBufferPointer<Float>,
                                 _ what: String, file: StaticString = #fileID, line: UInt = #line) {
        expectEqual(a.count, b.count, what + ": count")
        for i in 0..<min(a.count, b.count) where a[i].bitPattern != b[i].bitPattern {
            fail(what + ": index " + String(i) + " differs (bits " + String(a[i].bitPattern) + " vs "
                 + String(b[i].bitPattern) + ")", file: file, line: line)
            return
        }
    }

    /// Records a failure (naming the first differing index) unless two integer sequences are equal.
    mutating func expectSame<T: BinaryInteger>(_ a: UnsafeMutableBufferPointer<T>, _ b: UnsafeMutableBufferPointer<T>,
                                               _ what: String, file: StaticString = #fileID, line: UInt = #line) {
        expectEqual(a.count, b.count, what + ": count")
        for i in 0..<min(a.count, b.count) where a[i] != b[i] {
            fail(what + ": index " + String(i) + ": " + String(a[i]) + " vs " + String(b[i]), file: file, line: line)
            return
        }
    }
}

/// "MxNxK" for messages.
func shapeName(_ parts: Int...) -> String {
    var s = ""
    for (i, p) in parts.enumerated() { s += (i == 0 ? "" : "x") + String(p) }
    return s
}
