import XCTest

@testable import LiteModel

/// The eight-lane elementary functions (Ops/VectorMath.swift) against their scalar references
/// (Numerics.swift), bit for bit, over awkward lengths and special inputs.
final class VectorMathTests: XCTestCase {
    static let lengths = [0, 1, 7, 8, 9, 15, 16, 17, 1000]

    /// Values that stress clamps, rounding ties, signed zeros, NaN and the exp32 range.
    static let special: [Float] = {
        var s: [Float] = [0, -0.0, 1, -1, .nan, -.nan, Float(bitPattern: 0x7fa0_0001), .infinity, -.infinity,
                          .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude,
                          -.leastNonzeroMagnitude, .leastNormalMagnitude, -.leastNormalMagnitude,
                          -87, Float(-87).nextDown, Float(-87).nextUp, 88, Float(88).nextUp, Float(88).nextDown,
                          -88, 87, -100, 100, -1000, 1000, 1e30, -1e30, 1e-30, -1e-30, 1e-38, -1e-20,
                          0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, -0.49999997,
                          8_388_608, -8_388_608, 8_388_607.5, -8_388_607.5, 4_194_304.5, -4_194_303.5, 16_777_216,
                          1023.5, -1023.5, 1024, -1024, 1024.5, -1024.5, 1025, -1025, 127.5, -128.5, 128.5, -127.5,
                          Float(bitPattern: 0x3f31_7218), -Float(bitPattern: 0x3f31_7218),
                          9.2, -9.2, 13, -13, 3.9, -3.9, 0.1, -0.1]
        // Around the exp32 argument boundaries of erf (a*a near 87) and sigmoid/QuickGELU.
        for v: Float in [9.327, -9.327, 9.381, -9.381, 51.1, -51.1, 87 / 1.702, -87 / 1.702] {
            s.append(v); s.append(v.nextUp); s.append(v.nextDown)
        }
        return s
    }()

    /// `count` inputs: the special values interleaved with random ones (ranges and raw bit patterns).
    static func inputs(_ count: Int, seed: UInt64) -> [Float] {
        var rng = TestRNG(seed)
        return (0..<count).map { i in
            switch rng.int(0...5) {
            case 0: return special[(i * 7 + Int(seed)) % special.count]
            case 1: return rng.float(-12, 12)
            case 2: return rng.float(-100, 100)
            case 3: return rng.float(-1100, 1100)
            case 4: return Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            default: return rng.float(-2, 2)
            }
        }
    }

    /// Same bits, or both NaN (NaN payloads are not specified: the scalar code may order operands either way).
    func assertSame(_ a: Float, _ b: Float, _ what: @autoclosure () -> String, file: StaticString = #filePath,
                    line: UInt = #line) -> Bool {
        if a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN) { return true }
        XCTFail("\(what()): \(a) [0x\(String(a.bitPattern, radix: 16))] != \(b) [0x\(String(b.bitPattern, radix: 16))]",
                file: file, line: line)
        return false
    }

    func checkFloatMap(_ name: String, _ scalar: (Float) -> Float,
                       _ vector: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) {
        for (li, n) in Self.lengths.enumerated() {
            // Long buffers hold every special value in every lane position (shifted copies), then random inputs.
            var pool: [Float] = []
            for shift in 0..<8 { pool += [Float](repeating: 1, count: shift) + Self.special }
            let long: [Float] = pool + Self.inputs(n, seed: 99)
            let short: [Float] = Self.special.shuffledBy(li) + Self.inputs(n, seed: UInt64(li + 1))
            let x: [Float] = Array((n >= 1000 ? long : short).prefix(n))
            var out = [Float](repeating: 12345, count: n + 1)
            out.withUnsafeMutableBufferPointer { o in x.withUnsafeBufferPointer { vector($0.baseAddress!, o.baseAddress!, n) } }
            XCTAssertEqual(out[n].bitPattern, Float(12345).bitPattern, "\(name) wrote past count \(n)")
            for i in 0..<n where !assertSame(out[i], scalar(x[i]), "\(name)(\(x[i])) n=\(n) i=\(i)") { break }
        }
        // In place (out aliases x).
        var y = Self.inputs(37, seed: 7)
        let expected = y.map(scalar)
        y.withUnsafeMutableBufferPointer { vector(UnsafePointer($0.baseAddress!), $0.baseAddress!, 37) }
        for i in 0..<37 where !assertSame(y[i], expected[i], "\(name) in place i=\(i)") { break }
    }

    func testRoundEven8MatchesScalar() {
        checkFloatMap("roundEven8", roundEven) { x, o, n in
            var i = 0
            while i + 8 <= n { store8(roundEven8(load8(x + i)), o + i); i += 8 }
            while i < n { o[i] = roundEven(x[i]); i += 1 }
        }
    }

    func testExpMatchesScalar() {
        checkFloatMap("exp32", exp32) { VectorMath.exp($0, into: $1, count: $2) }
        // A dense sweep of the whole clamped range through the vector path only.
        var x = [Float](), v: Float = -90
        while v < 90 { x.append(v); v += 0.0137 }
        x = Array(x.prefix(x.count / 8 * 8))
        var out = [Float](repeating: 0, count: x.count)
        out.withUnsafeMutableBufferPointer { VectorMath.exp(x, into: $0.baseAddress!, count: x.count) }
        for i in 0..<x.count where !assertSame(out[i], exp32(x[i]), "exp32 sweep \(x[i])") { break }
    }

    /// The numerators' exponential (NUMERICS 6 step 4): eight lanes equal the scalar form over a dense sweep with
    /// the special values; the scalar form is within 6e-6 of e^d on [-17, 0], exactly 1 at 0, and its 8-bit
    /// numerators equal the exactly rounded ones for all but a few in 10^4 inputs.
    func testNumeratorExpMatchesScalarAndIsAccurate() {
        var x: [Float] = [0, -0.0, -1e-30, -17, -17.000002, -16.999998, -100, -.infinity, .nan, -.nan]
        var v: Float = -20
        while v < 0 { x.append(v); v += 0.000731 }
        x = Array(x.prefix(x.count / 8 * 8))
        var i = 0, worst: Double = 0, off = 0
        while i < x.count {
            let lanes = x.withUnsafeBufferPointer { numeratorExp32x8(load8($0.baseAddress! + i)) }
            for lane in 0..<8 where !assertSame(lanes[lane], numeratorExp32(x[i + lane]), "numeratorExp32x8 \(x[i + lane])") { return }
            i += 8
        }
        for d in x where d >= -17 && d <= 0 {
            let exact = Foundation.exp(Double(d))  // the reference: libm in double
            worst = max(worst, abs(Double(numeratorExp32(d)) / exact - 1))
            if roundEven(numeratorExp32(d) * 255) != Float((exact * 255).rounded(.toNearestOrEven)) { off += 1 }
        }
        XCTAssertEqual(numeratorExp32(0), 1)
        XCTAssertLessThan(worst, 6e-6)
        XCTAssertLessThan(off, x.count / 2000, "8-bit numerators off by one: \(off) of \(x.count)")
        XCTAssertEqual(numeratorExp32(.nan), numeratorExp32(-17))
    }

    func testActivationsMatchScalar() {
        checkFloatMap("erf32", erf32) { x, o, n in
            var i = 0
            while i + 8 <= n { store8(erf32x8(load8(x + i)), o + i); i += 8 }
            while i < n { o[i] = erf32(x[i]); i += 1 }
        }
        for act in [Activation.gelu, .quickGelu, .sigmoid, .relu] {
            checkFloatMap("\(act)", act.apply) { VectorMath.activate($0, into: $1, count: $2, act) }
        }
    }

    func testQuantizeMatchesScalar() {
        let scales: [Float] = [1, 0.5, 37.25, 1e-3, 3e7, .greatestFiniteMagnitude, 0]
        for inv in scales {
            for z: Int32 in [-128, -3, 0, 5, 127] {
                for (li, n) in Self.lengths.enumerated() {
                    let x = Array((Self.special + Self.inputs(n, seed: UInt64(li) &+ UInt64(z + 200))).prefix(n))
                    var out = [Int8](repeating: 99, count: n + 1), outA = out
                    out.withUnsafeMutableBufferPointer {
                        VectorMath.quantize(x, into: $0.baseAddress!, count: n, invScale: inv, zeroPoint: z)
                    }
                    XCTAssertEqual(out[n], 99)
                    for i in 0..<n where out[i] != quantize(x[i], invScale: inv, zeroPoint: z) {
                        XCTFail("Q(\(x[i]); \(inv), \(z)) = \(out[i]), scalar \(quantize(x[i], invScale: inv, zeroPoint: z))")
                        break
                    }
                    for act in [Activation.gelu, .quickGelu, .sigmoid, .relu] {
                        outA.withUnsafeMutableBufferPointer {
                            VectorMath.activateQuantize(x, into: $0.baseAddress!, count: n, act, invScale: inv, zeroPoint: z)
                        }
                        for i in 0..<n where outA[i] != quantize(act.apply(x[i]), invScale: inv, zeroPoint: z) {
                            XCTFail("Q(\(act)(\(x[i])); \(inv), \(z)) = \(outA[i])")
                            break
                        }
                    }
                }
            }
        }
    }

    /// The 8-bit map: every gray level's rounding boundaries (p with `p * 255 + 0.5` just below, at and above
    /// an integer), the specials in every lane position and random values.
    func testTo8BitMatchesScalar() {
        var boundaries: [Float] = []
        for g in 0...256 {
            let p = (Float(g) - 0.5) / 255
            boundaries += [p, p.nextUp, p.nextDown, p.nextUp.nextUp, p.nextDown.nextDown]
        }
        var pool: [Float] = []
        for shift in 0..<8 { pool += [Float](repeating: 0.3, count: shift) + Self.special }
        for (li, n) in (Self.lengths + [pool.count + boundaries.count + 500]).enumerated() {
            let x = Array((pool + boundaries + Self.inputs(500, seed: 3) + (0..<500).map { Float($0) / 499 })
                .shuffledBy(li).prefix(n))
            var out = [UInt8](repeating: 77, count: n + 1)
            out.withUnsafeMutableBufferPointer { VectorMath.to8Bit(x, into: $0.baseAddress!, count: n) }
            XCTAssertEqual(out[n], 77, "wrote past count \(n)")
            for i in 0..<n where out[i] != Postprocess.to8Bit(x[i]) {
                XCTFail("to8Bit(\(x[i])) = \(out[i]), scalar \(Postprocess.to8Bit(x[i]))")
                break
            }
        }
        // Able to fail: lanes on both sides of a boundary differ.
        let edge = (Float(66) - 0.5) / 255
        XCTAssertEqual(to8Bit8(Float8(edge.nextDown, edge, 1, 0, -1, .nan, 2, 0.5)), SIMD8<Int32>(65, 66, 255, 0, 0, 0, 255, 128))
    }

    /// The tests above must be able to fail: a one-ulp change of a lane is caught.
    func testComparisonDetectsOneUlp() {
        let x: [Float] = [0.25, -3, 1, 2, 5, 6, 7, 8]
        var out = [Float](repeating: 0, count: 8)
        out.withUnsafeMutableBufferPointer { VectorMath.exp(x, into: $0.baseAddress!, count: 8) }
        XCTAssertEqual(out[1].bitPattern, exp32(-3).bitPattern)
        XCTAssertNotEqual(out[1].nextUp.bitPattern, exp32(-3).bitPattern)
        XCTAssertEqual(roundEven8(Float8(0.5, 1.5, 2.5, -0.5, -2.5, -0.0, 3.49999, 1e9)),
                       Float8(0, 2, 2, -0.0, -2, -0.0, 3, 1e9))
        XCTAssertEqual(bits8(roundEven8(Float8(repeating: -0.25)))[0], 0x8000_0000)
    }
}

extension Array {
    /// A deterministic rotation, so short buffers see different special values per length.
    func shuffledBy(_ k: Int) -> [Element] {
        if isEmpty { return self }
        let cut: Int = (k * 11) % count
        let head: [Element] = Array(self[cut...]), tail: [Element] = Array(self[..<cut])
        return head + tail
    }
}
