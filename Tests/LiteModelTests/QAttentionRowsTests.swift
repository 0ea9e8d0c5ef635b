import XCTest

@testable import LiteModel

/// The eight-lane row steps of the int8 attention (Ops/QAttentionRows.swift) against the scalar formulas
/// of NUMERICS 6, bit for bit, step by step: the head's output quantizes logits through exp and roundEven,
/// which hides most one-ulp logit errors, so the end-to-end attention tests alone would not catch them.
final class QAttentionRowsTests: XCTestCase {
    /// A head over `h x w` with `hd` channels; the q/k/v pointers point into `buffer` (zeros unless filled).
    func makeHead(h: Int, w: Int, hd: Int, buffer: UnsafeMutablePointer<Int8>, zq: Int32 = 0, zv: Int32 = 0,
                  logitScale: Float = 1, vScale: Float = 1, output: RowOutput) throws -> QAttentionHead {
        try QAttentionHead(gridH: h, gridW: w, headDim: hd, q: buffer, ldq: hd, zq: zq, k: buffer, ldk: hd, zk: 0,
                           v: buffer, ldv: hd, zv: zv, logitScale: logitScale, vScale: vScale, relPos: nil,
                           output: output)
    }

    func same(_ a: Float, _ b: Float) -> Bool { a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN) }

    /// Runs `check` on the Swift eight-lane loops, then on the AVX-512 kernels where the CPU has them.
    func onBothPaths(_ check: () throws -> Void) rethrows {
        defer { VectorKernels.force(avx512: nil) }
        for wide in [false, true] {
            VectorKernels.force(avx512: wide)
            if wide && !VectorKernels.usesAVX512 { continue }
            try check()
        }
    }

    func testLogitsRowAndMaxMatchScalar() throws { try onBothPaths(checkLogits) }

    func checkLogits() throws {
        var rng = TestRNG(5)
        var dummy = [Int8](repeating: 0, count: 64 * 64 * 4)
        var sink = [Float](repeating: 0, count: 64)
        let grids = [(1, 1), (3, 5), (2, 7), (1, 8), (4, 8), (3, 9), (2, 12), (5, 14), (2, 16), (3, 17), (1, 33)]
        for (gh, gw) in grids {
            for trial in 0..<6 {
                let n = gh * gw
                let scale: Float = [0.013, 1e-6, 3.7e3, 0.5, .infinity, 1][trial]
                var scores = (0..<n).map { _ in Int32(truncatingIfNeeded: rng.int(-(1 << 30)...(1 << 30))) }
                if trial == 3 { scores = scores.map { $0 & 0xff } }  // many equal logits (ties of the max)
                let correction = Int32(rng.int(-100_000...100_000))
                var rh = rng.floats(gh, -50, 50), rw = rng.floats(gw, -50, 50)
                if trial == 4 { rh[0] = .nan }
                if trial == 5 { rw[gw - 1] = -.infinity; rh[gh - 1] = .nan }
                for withRel in [false, true] {
                    var li = [Float](repeating: 7, count: n)
                    let m = try dummy.withUnsafeMutableBufferPointer { d in
                        try sink.withUnsafeMutableBufferPointer { s in
                            let head = try makeHead(h: gh, w: gw, hd: 1, buffer: d.baseAddress!, logitScale: scale,
                                                    output: .f32(s.baseAddress!, ld: 1))
                            return rh.withUnsafeBufferPointer { rhp in
                                rw.withUnsafeBufferPointer { rwp in
                                    li.withUnsafeMutableBufferPointer { lp in
                                        head.logitsRow(scores: scores, correction: correction,
                                                       relH: withRel ? rhp.baseAddress! : nil,
                                                       relW: withRel ? rwp.baseAddress! : nil, into: lp.baseAddress!)
                                    }
                                }
                            }
                        }
                    }
                    var ref = [Float](repeating: 0, count: n)
                    for j in 0..<n {
                        var l = Float(scores[j] &- correction) * scale
                        if withRel {
                            l = l + rh[j / gw]
                            l = l + rw[j % gw]
                        }
                        ref[j] = l
                    }
                    var refMax = ref[0]
                    for j in 1..<max(1, n) where ref[j] > refMax { refMax = ref[j] }
                    for j in 0..<n where !same(li[j], ref[j]) {
                        XCTFail("logits \(gh)x\(gw) trial \(trial) rel \(withRel) j \(j): \(li[j]) != \(ref[j])")
                        break
                    }
                    // Equal maxima may differ only in the sign of a zero, which no later step can see.
                    XCTAssertTrue(same(m, refMax) || (m == 0 && refMax == 0),
                                  "max \(gh)x\(gw) trial \(trial) rel \(withRel): \(m) != \(refMax)")
                }
            }
        }
    }

    func testNumeratorsMatchScalar() throws { try onBothPaths(checkNumerators) }

    func checkNumerators() throws {
        var rng = TestRNG(9)
        var dummy = [Int8](repeating: 0, count: 4096)
        var sink = [Float](repeating: 0, count: 64)
        for n in [1, 7, 8, 9, 15, 16, 17, 64, 1000] {
            for trial in 0..<5 {
                var li = rng.floats(n, -30, 0)
                if trial == 1 { li = li.map { $0 * 1000 } }  // far below the -17 floor
                if trial == 2 { li[n / 2] = -.infinity; li[n - 1] = .nan }
                // Values whose exp * 255 lands next to a .5 tie.
                if trial == 3 { li = (0..<n).map { Float(-$0 % 40) * 0.0123 } }
                if trial == 4 { li = (0..<n).map { -Float($0) * 17.5 / Float(n) } }  // across the floor, every n
                let m: Float = trial == 2 && n > 3 ? .nan : li.max() ?? 0
                var out = [Int8](repeating: 0, count: n)
                let z = try dummy.withUnsafeMutableBufferPointer { d in
                    try sink.withUnsafeMutableBufferPointer { s in
                        let head = try makeHead(h: 1, w: n, hd: 1, buffer: d.baseAddress!, output: .f32(s.baseAddress!, ld: 1))
                        return out.withUnsafeMutableBufferPointer { head.quantizedNumerators(li, max: m, into: $0.baseAddress!) }
                    }
                }
                var refZ: Int32 = 0
                for j in 0..<n {
                    let p = Int32(roundEven(numeratorExp32(li[j] - m) * 255.0))
                    refZ &+= p
                    if out[j] != Int8(truncatingIfNeeded: p &- 128) { XCTFail("P n \(n) trial \(trial) j \(j)"); break }
                }
                XCTAssertEqual(z, refZ, "Z n \(n) trial \(trial)")
            }
        }
    }

    /// Numerators right at the rounding boundaries: logits within a few ulps of ln((k + 0.5) / 255) against a
    /// maximum of 0, where an exponential one ulp off flips P (a test of the AVX-512 and eight-lane forms' bits,
    /// which the 8-bit P hides elsewhere).
    func testNumeratorsAtRoundingBoundariesMatchScalar() throws { try onBothPaths(checkNumeratorBoundaries) }

    func checkNumeratorBoundaries() throws {
        var li: [Float] = [0]
        for k in 0..<255 {
            let t = Float(Foundation.log((Double(k) + 0.5) / 255))
            var u = t
            for _ in 0..<6 { u = u.nextDown }
            for _ in 0..<13 { li.append(u); u = u.nextUp }
        }
        let n = li.count
        var dummy = [Int8](repeating: 0, count: 4 * n + 64)
        var sink = [Float](repeating: 0, count: 64)
        var out = [Int8](repeating: 0, count: n)
        let z = try dummy.withUnsafeMutableBufferPointer { d in
            try sink.withUnsafeMutableBufferPointer { s in
                let head = try makeHead(h: 1, w: n, hd: 1, buffer: d.baseAddress!, output: .f32(s.baseAddress!, ld: 1))
                return out.withUnsafeMutableBufferPointer { head.quantizedNumerators(li, max: 0, into: $0.baseAddress!) }
            }
        }
        var refZ: Int32 = 0, flips = 0
        for j in 0..<n {
            let p = Int32(roundEven(numeratorExp32(li[j]) * 255.0))
            refZ &+= p
            if j > 0 && p != Int32(roundEven(numeratorExp32(li[j - 1]) * 255.0)) { flips += 1 }
            XCTAssertEqual(out[j], Int8(truncatingIfNeeded: p &- 128), "P at \(li[j])")
        }
        XCTAssertEqual(z, refZ)
        XCTAssertGreaterThan(flips, 200, "the sweep should cross most boundaries")
    }

    func testRelTermsTransposeAndOutputRowMatchScalar() throws { try onBothPaths(checkRelTermsTransposeAndOutputRow) }

    func checkRelTermsTransposeAndOutputRow() throws {
        var rng = TestRNG(13)
        for hd in [1, 8, 15, 16, 17, 32, 33, 64, 80] {
            for zq: Int32 in [-128, 0, 127, 37] {
                let count = [9, 16, 37][abs(Int(zq)) % 3], n = 11
                var q = rng.int8s(hd * n), table = rng.int8s(count * hd)
                q[0] = -128; q[hd - 1] = 127; table[0] = -128; table[hd - 1] = 127; table[count * hd - 1] = -128
                var rel = [Float](repeating: 0, count: count), sink = [Float](repeating: 0, count: n * hd)
                var t = [Int8](repeating: 0, count: hd * n)
                try q.withUnsafeMutableBufferPointer { qp in
                    try sink.withUnsafeMutableBufferPointer { s in
                        let head = try QAttentionHead(gridH: 1, gridW: n, headDim: hd, q: qp.baseAddress!, ldq: hd, zq: zq,
                                                      k: qp.baseAddress!, ldk: hd, zk: 0, v: qp.baseAddress!, ldv: hd, zv: zq,
                                                      logitScale: 1, vScale: 0.37, relPos: nil, output: .f32(s.baseAddress!, ld: hd))
                        rel.withUnsafeMutableBufferPointer {
                            head.relTerms(qp.baseAddress!, table: table, count: count, scale: 0.011, into: $0.baseAddress!)
                        }
                        t.withUnsafeMutableBufferPointer { head.transposeValues(into: $0.baseAddress!) }
                        let acc = (0..<hd).map { _ in Int32(rng.int(-3_000_000...3_000_000)) }
                        head.outputRow(acc, z: 9_999, row: 2)
                        for c in 0..<hd {
                            let num = Float(acc[c] &- zq &* 9_999) * 0.37
                            XCTAssertEqual(s[2 * hd + c].bitPattern, (num / Float(9_999)).bitPattern, "o hd \(hd) c \(c)")
                        }
                    }
                }
                for kh in 0..<count {
                    var s: Int32 = 0
                    for c in 0..<hd { s += (Int32(q[c]) - zq) * Int32(table[kh * hd + c]) }
                    XCTAssertEqual(rel[kh].bitPattern, (Float(s) * 0.011).bitPattern, "rel hd \(hd) zq \(zq) kh \(kh)")
                }
                for c in 0..<hd { for j in 0..<n where t[c * n + j] != q[j * hd + c] { XCTFail("transpose \(hd) \(c) \(j)") } }
            }
        }
    }

    /// The epilogue's int8 form is `Q` of the fp32 form, lane for lane (saturating at both ends, every tail).
    func testOutputRowQuantizedMatchesScalar() throws { try onBothPaths(checkOutputRowQuantized) }

    func checkOutputRowQuantized() throws {
        var rng = TestRNG(17)
        for hd in [1, 7, 16, 19, 32, 33, 64] {
            for (inv, zo): (Float, Int32) in [(9.5, 4), (0.5, -128), (300, 127), (1e-3, 0)] {
                var q = [Int8](repeating: 0, count: hd), out = [Int8](repeating: 0, count: 2 * hd + 1)
                try q.withUnsafeMutableBufferPointer { qp in
                    try out.withUnsafeMutableBufferPointer { o in
                        let head = try QAttentionHead(gridH: 1, gridW: 1, headDim: hd, q: qp.baseAddress!, ldq: hd,
                                                      zq: 0, k: qp.baseAddress!, ldk: hd, zk: 0, v: qp.baseAddress!,
                                                      ldv: hd, zv: -3, logitScale: 1, vScale: 0.02, relPos: nil,
                                                      output: .qs8(o.baseAddress!, ld: hd + 1, invScale: inv, zeroPoint: zo))
                        let acc = (0..<hd).map { _ in Int32(rng.int(-20_000...20_000)) }
                        head.outputRow(acc, z: 255, row: 1)
                        for c in 0..<hd {
                            let y = (Float(acc[c] &- (-3 * 255)) * 0.02) / Float(255)
                            XCTAssertEqual(o[hd + 1 + c], quantize(y, invScale: inv, zeroPoint: zo), "hd \(hd) c \(c)")
                        }
                        XCTAssertEqual(o[hd], 0, "the row gap is not written")
                        XCTAssertEqual(o[0], 0, "row 0 is not written")
                    }
                }
            }
        }
    }
}
