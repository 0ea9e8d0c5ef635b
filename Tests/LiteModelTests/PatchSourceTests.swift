import XCTest

@testable import LiteModel

/// The graph's patch rows (`PatchSource.row`, quantized eight values at a time or through the `Q(values)`
/// lookup table) against the plain formula of
/// docs/MODEL_FORMAT.md 6.1 written out per element, bit for bit.
final class PatchSourceTests: XCTestCase {
    func testPatchRowsEqualScalarFormula() {
        var rng = TestRNG(61)
        // patch 16: 48 bytes per kernel row (whole lanes); patch 5: 15 (a tail); patch 1: 3 (tail only).
        for (patch, grid) in [(16, 2), (5, 3), (1, 4)] {
            let side = patch * grid, t = grid * grid, k = patch * patch * 3
            let alpha = (0..<side * side * 3).map { _ in UInt8(rng.int(0...255)) }
            let beta = (0..<side * side * 3).map { _ in UInt8(rng.int(0...255)) }
            // Values spread so that Q hits both clamps, ties (multiples of 0.5 / invScale) and NaN.
            var values = rng.floats(768, -3, 3)
            for i in stride(from: 0, to: 768, by: 17) { values[i] = Float(rng.int(-300...300)) * 0.25 }
            values[5] = .nan; values[300] = .infinity; values[600] = -.infinity
            for sum in [false, true] {
                let rows = sum ? t : 2 * t
                for (inv, zero) in [(Float(20), Int32(3)), (Float(2), Int32(-128)), (Float(1), Int32(127))] {
                  for useTable in [false, true] {
                    var outQ = [Int8](repeating: 0x55, count: rows * k + 1)
                    var outF = [Float](repeating: 12345, count: rows * k + 1)
                    alpha.withUnsafeBufferPointer { a in beta.withUnsafeBufferPointer { b in
                        values.withUnsafeBufferPointer { v in outQ.withUnsafeMutableBufferPointer { oq in
                            outF.withUnsafeMutableBufferPointer { of in
                                var table = [Int8](repeating: 0, count: 768)
                                PatchSource.quantizeValues(v.baseAddress!, invScale: inv, zero: zero, into: &table)
                                for int8 in [true, false] {
                                    var s = PatchSource(alpha: a.baseAddress!, beta: b.baseAddress!, sum: sum, side: side,
                                                        patch: patch, grid: grid, values: v.baseAddress!,
                                                        outQ: int8 ? oq.baseAddress! : nil, outF: int8 ? nil : of.baseAddress!,
                                                        invScale: inv, zero: zero)
                                    for r in (0..<rows).reversed() { s.row(r) }
                                    guard int8, !sum, useTable else { continue }
                                    for i in 0..<rows * k { oq[i] = 0x55 }  // the lookup path must write every byte
                                    table.withUnsafeBufferPointer { tp in
                                        s.quantized = tp.baseAddress!
                                        for r in 0..<rows { s.row(r) }
                                    }
                                }
                            }
                        } }
                    } }
                    XCTAssertEqual(outQ[rows * k], 0x55, "wrote past the rows")
                    var mismatches = 0
                    for r in 0..<rows {
                        let second = !sum && r >= t, token = second ? r - t : r
                        let image = second ? beta : alpha
                        for ky in 0..<patch {
                            for kx in 0..<patch {
                                for c in 0..<3 {
                                    let pix = (((token / grid) * patch + ky) * side + (token % grid) * patch + kx) * 3 + c
                                    var v = values[c * 256 + Int(image[pix])]
                                    if sum { v = v + values[c * 256 + Int(beta[pix])] }
                                    let col = r * k + (ky * patch + kx) * 3 + c
                                    let q = quantize(v, invScale: inv, zeroPoint: zero)
                                    if outQ[col] != q || !(outF[col].bitPattern == v.bitPattern || (v.isNaN && outF[col].isNaN)) {
                                        mismatches += 1
                                        if mismatches < 5 { XCTFail("patch \(patch) sum \(sum) row \(r) col \(col): \(outQ[col]) vs \(q), \(outF[col]) vs \(v)") }
                                    }
                                }
                            }
                        }
                    }
                    XCTAssertEqual(mismatches, 0, "patch \(patch) sum \(sum) table \(useTable)")
                  }
                }
            }
        }
    }
}
