import Foundation
import XCTest

@testable import LiteModel

/// The primitives of docs/NUMERICS.md against the numpy model's vectors (bit-exact) and float64.
final class NumericsTests: XCTestCase {
    typealias V = NumericsVectors

    func checkVector(_ f: (Float) -> Float, _ expected: [UInt32], _ name: String) {
        XCTAssertEqual(expected.count, V.x.count)
        for (xb, eb) in zip(V.x, expected) {
            let x = Float(bitPattern: xb)
            let y = f(x)
            if y.bitPattern != eb {
                XCTFail("\(name)(\(x)) = \(y) [0x\(String(y.bitPattern, radix: 16))], numpy 0x\(String(eb, radix: 16))")
            }
        }
    }

    func testElementaryFunctionsMatchTheNumpyModelBitForBit() {
        checkVector(exp32, V.exp32, "exp32")
        checkVector(erf32, V.erf32, "erf32")
        checkVector(gelu32, V.gelu, "gelu")
        checkVector(sigmoid32, V.sigmoid, "sigmoid")
        checkVector(quickGelu32, V.quickgelu, "quickgelu")
    }

    func testExpOfZeroIsOneAndKnownPatterns() {
        XCTAssertEqual(exp32(0), 1)
        XCTAssertEqual(exp32(-0.0), 1)
        // ln 2 (float32 0x3f317218) gives exactly 2: n = 1, r = tiny, p rounds to 1.
        XCTAssertEqual(exp32(Float(bitPattern: 0x3f31_7218)), 2)
        XCTAssertEqual(exp32(.nan), 1)  // NaN never reaches the int8 path; it must not trap
        // Attention's P = roundEven(exp32(l - max) * 255) must stay <= 255: exp32 never exceeds 1 below 0.
        var x: Float = 0
        while x > -2 { XCTAssertLessThanOrEqual(exp32(x), 1, "exp32(\(x))"); x = x.nextDown.nextDown * 1.0001 - 1e-7 }
        XCTAssertEqual(exp32(-1000), exp32(-87))
        XCTAssertEqual(exp32(1000), exp32(88))
    }

    func testConstantsAreTheDocumentedDecimalValues() {
        XCTAssertEqual(NumericsConstant.log2e, Float("1.44269504")!)
        XCTAssertEqual(NumericsConstant.ln2Lo, Float("1.42860677e-06")!)
        XCTAssertEqual(NumericsConstant.expP4, Float("1.6666665459e-1")!)
        XCTAssertEqual(NumericsConstant.erfA3, Float("1.421413741")!)
        XCTAssertEqual(NumericsConstant.invSqrt2, Float("0.70710677")!)
        XCTAssertEqual(NumericsConstant.quickGeluK, Float("1.702")!)
        XCTAssertEqual(InputNormalization.mean.1, Float("118.90")!)
        XCTAssertEqual(InputNormalization.std.0, Float("56.77")!)
    }

    func testExpWithinBoundOfFloat64OverADenseSweep() {
        var worst = 0.0
        var x: Float = -87
        while x <= 88 {
            let rel = abs(Double(exp32(x)) - Foundation.exp(Double(x))) / Foundation.exp(Double(x))
            worst = max(worst, rel)
            x += 0.000_43
        }
        XCTAssertLessThan(worst, 4e-7, "exp32 relative error")
    }

    func testErfAndGeluWithinBoundOfFloat64() {
        var worstErf = 0.0, worstGelu = 0.0
        var x: Float = -8
        while x <= 8 {
            let d = Double(x)
            worstErf = max(worstErf, abs(Double(erf32(x)) - Foundation.erf(d)))
            worstGelu = max(worstGelu, abs(Double(gelu32(x)) - 0.5 * d * (1 + Foundation.erf(d / 2.0.squareRoot()))))
            x += 0.000_13
        }
        XCTAssertLessThan(worstErf, 6e-7)   // NUMERICS 4.2, as evaluated in fp32
        XCTAssertLessThan(worstGelu, 4e-6)
    }

    func testQuantizeMatchesNumpyAndClamps() {
        let inv = Float(1.0 / 0.037)
        for (xb, e) in zip(V.x, V.q_y) {
            XCTAssertEqual(Int(quantize(Float(bitPattern: xb), invScale: inv, zeroPoint: -7)), e, "Q(\(Float(bitPattern: xb)))")
        }
        XCTAssertEqual(quantize(2.5, invScale: 1, zeroPoint: 0), 2)    // half to even
        XCTAssertEqual(quantize(-2.5, invScale: 1, zeroPoint: 0), -2)
        XCTAssertEqual(quantize(3.5, invScale: 1, zeroPoint: 0), 4)
        XCTAssertEqual(quantize(1e30, invScale: 1e10, zeroPoint: 0), 127)
        XCTAssertEqual(quantize(-.infinity, invScale: 1, zeroPoint: 100), -128)
        XCTAssertEqual(quantize(.nan, invScale: 1, zeroPoint: 9), 9)
    }

    func testRequantizeMatchesPythonIntegers() {
        for r in V.requant {
            XCTAssertEqual(requantize(r.acc, multiplier: r.m, shift: r.sh, bias: r.bq, zeroPoint: r.z), r.out,
                           "requant \(r)")
        }
    }

    func testLane16MatchesNumpyAndTheScalarReference() {
        let x = V.lane16_x.map { Float(bitPattern: $0) }
        for (i, n) in [1, 15, 16, 17, 33, 45].enumerated() {
            x.withUnsafeBufferPointer { p in
                XCTAssertEqual(lane16Sum(p.baseAddress!, count: n).bitPattern, V.lane16[i], "n=\(n)")
                XCTAssertEqual(lane16Sum__scalar_ref(p.baseAddress!, count: n).bitPattern, V.lane16[i], "ref n=\(n)")
            }
        }
        var rng = TestRNG(3)
        let big = rng.floats(3 * 1000, -100, 100)
        big.withUnsafeBufferPointer { p in
            for n in [0, 1, 31, 768, 1000] {
                XCTAssertEqual(lane16Sum(p.baseAddress!, count: n, stride: 3).bitPattern,
                               lane16Sum__scalar_ref(p.baseAddress!, count: n, stride: 3).bitPattern)
                XCTAssertEqual(lane16Sum(p.baseAddress!, count: n).bitPattern,
                               lane16Sum__scalar_ref(p.baseAddress!, count: n).bitPattern)
            }
        }
    }

    func testSeqDotIsSequential() {
        // 1e8 + 1 - 1e8 in seq order: (0 + 1e8) + 1 rounds to 1e8, then - 1e8 = 0 (a pairwise sum gives 1).
        let a: [Float] = [1e8, 1, -1e8], b: [Float] = [1, 1, 1]
        XCTAssertEqual(seqDot(a, b, count: 3), 0)
        let strided: [Float] = [1e8, 9, 1, 9, -1e8]
        XCTAssertEqual(seqDot(strided, b, count: 3, strideA: 2, strideB: 1), 0)
    }

    func testLayerNormMatchesNumpy() throws {
        let x = V.ln_x.map { Float(bitPattern: $0) }, w = V.ln_w.map { Float(bitPattern: $0) }
        let b = V.ln_b.map { Float(bitPattern: $0) }
        var y = [Float](repeating: 0, count: 37), yr = y, scratch = [Float](repeating: 0, count: 74)
        try y.withUnsafeMutableBufferPointer { yp in
            try LayerNorm(c: 37, x: x, ldx: 37, weight: w, bias: b, eps: 1e-6, output: .f32(yp.baseAddress!, ld: 37)).run(rows: 0..<1)
        }
        try yr.withUnsafeMutableBufferPointer { yp in
            try LayerNorm(c: 37, x: x, ldx: 37, weight: w, bias: b, eps: 1e-6, output: .f32(yp.baseAddress!, ld: 37))
                .runReference(rows: 0..<1, deviationScratch: &scratch)
        }
        assertBitEqual(y, V.ln_y.map { Float(bitPattern: $0) }, "layer norm vs numpy")
        assertBitEqual(yr, y, "layer norm reference vs fast")
    }
}

final class NumericsRoundingTests: XCTestCase {
    func testRoundEvenEqualsIEEERoundToNearestEven() {
        var rng = TestRNG(11)
        var values: [Float] = [0, -0.0, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 8388607.5, -8388607.5, 8388608,
                               16777215, 1e30, -1e30, .infinity, -.infinity, Float.leastNonzeroMagnitude]
        for _ in 0..<20000 { values.append(rng.float(-3000, 3000)) }
        for _ in 0..<2000 { values.append(Float(rng.int(-100_000...100_000)) + 0.5) }
        for v in values {
            XCTAssertEqual(roundEven(v).bitPattern, v.rounded(.toNearestOrEven).bitPattern, "roundEven(\(v))")
        }
        XCTAssertTrue(roundEven(.nan).isNaN)
    }

    func testTo8BitIsSaveImageRounding() {
        XCTAssertEqual(Postprocess.to8Bit(0), 0)
        XCTAssertEqual(Postprocess.to8Bit(1), 255)
        XCTAssertEqual(Postprocess.to8Bit(2), 255)
        XCTAssertEqual(Postprocess.to8Bit(-1), 0)
        XCTAssertEqual(Postprocess.to8Bit(.nan), 0)
        XCTAssertEqual(Postprocess.to8Bit(65.5 / 255), 66)   // the first gray level above the threshold
        XCTAssertEqual(Postprocess.to8Bit(65.49 / 255), 65)
        for i in 0..<1000 {
            let p = Float(i) / 999
            XCTAssertEqual(Int(Postprocess.to8Bit(p)), Int(((p * 255) + 0.5).rounded(.down)), "p=\(p)")
        }
    }
}
