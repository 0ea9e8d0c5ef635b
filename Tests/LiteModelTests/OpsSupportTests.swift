import XCTest

@testable import LiteModel

/// Deterministic pseudo-random numbers for the op tests (SplitMix64).
struct TestRNG {
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
    mutating func float(_ lo: Float, _ hi: Float) -> Float { lo + (hi - lo) * Float(next() >> 40) / Float(1 << 24) }
    mutating func floats(_ n: Int, _ lo: Float = -1, _ hi: Float = 1) -> [Float] { (0..<n).map { _ in float(lo, hi) } }
}

func rowSums(_ w: [Int8], n: Int, k: Int) -> [Int32] {
    var s = [Int32](repeating: 0, count: n)
    w.withUnsafeBufferPointer { wp in s.withUnsafeMutableBufferPointer { qs8RowSums(wp.baseAddress!, n: n, k: k, into: $0.baseAddress!) } }
    return s
}

/// Asserts two float arrays are bit-identical, naming the first differing index.
func assertBitEqual(_ a: [Float], _ b: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, what, file: file, line: line)
    for i in 0..<min(a.count, b.count) where a[i].bitPattern != b[i].bitPattern {
        XCTFail("\(what): index \(i): \(a[i]) != \(b[i])", file: file, line: line)
        return
    }
}

final class OpsSupportTests: XCTestCase {
    func testRNGIsDeterministicAndSpread() {
        var a = TestRNG(1), b = TestRNG(1)
        XCTAssertEqual(a.int8s(64), b.int8s(64))
        let xs = a.int8s(4096)
        XCTAssertEqual(xs.min(), -128)
        XCTAssertEqual(xs.max(), 127)
    }
}
