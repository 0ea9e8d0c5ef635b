import Foundation
import XCTest

@testable import LiteModel

/// Int8 and fp32 GEMM: the blocked kernels against the scalar references on awkward shapes.
final class OpsGemmTests: XCTestCase {
    let shapes: [(m: Int, n: Int, k: Int)] = [(1, 1, 1), (1, 1, 7), (4, 4, 1), (5, 3, 9), (7, 17, 33), (9, 1, 64),
                                               (4, 16, 768), (13, 21, 100), (3, 6, 2)]

    struct QCase {
        var a: [Int8], w: [Int8], sums: [Int32]
        var scale: [Float], fbias: [Float], mult: [Int32], shift: [Int32], qbias: [Int32], zout: [Int32]
        var lda: Int, aZero: Int32, ldw: Int
    }

    func makeCase(_ m: Int, _ n: Int, _ k: Int, _ rng: inout TestRNG) -> QCase {
        let lda = k + rng.int(0...3), ldw = k + rng.int(0...2)
        let w = rng.int8s(n * ldw, -127...127)
        var sums = [Int32](repeating: 0, count: n)
        w.withUnsafeBufferPointer { wp in sums.withUnsafeMutableBufferPointer { qs8RowSums(wp.baseAddress!, n: n, k: k, ldw: ldw, into: $0.baseAddress!) } }
        return QCase(a: rng.int8s(m * lda), w: w, sums: sums,
                     scale: rng.floats(n, 1e-4, 1e-2), fbias: rng.floats(n, -1, 1),
                     mult: (0..<n).map { _ in Int32(rng.int((1 << 30)...(Int(Int32.max)))) },
                     shift: (0..<n).map { _ in
                        // r = M / 2^sh near 30 / typical |acc| (~5400 sqrt K), so outputs spread over int8.
                        let center = 31 + Int(log2(135 * Double(k).squareRoot()).rounded())
                        return Int32(rng.int((center - 1)...(center + 1)))
                     },
                     qbias: (0..<n).map { _ in Int32(rng.int(-5000...5000)) },
                     zout: (0..<n).map { _ in Int32(rng.int(-20...20)) }, lda: lda, aZero: Int32(rng.int(-128...127)), ldw: ldw)
    }

    func testQGemmFastEqualsReferenceForEveryEpilogue() throws {
        var rng = TestRNG(42)
        for (m, n, k) in shapes {
            let c = makeCase(m, n, k, &rng)
            // raw int32 accumulators vs the literal definition
            var raw = [Int32](repeating: 0, count: m * n), rawRef = raw
            try raw.withUnsafeMutableBufferPointer { o in
                try QGemm(m: m, n: n, k: k, a: c.a, lda: c.lda, aZero: c.aZero, w: c.w, ldw: c.ldw, wRowSums: c.sums,
                          output: .raw(o.baseAddress!, ld: n)).run()
            }
            for i in 0..<m {
                for j in 0..<n {
                    var s = 0
                    for kk in 0..<k { s += (Int(c.a[i * c.lda + kk]) - Int(c.aZero)) * Int(c.w[j * c.ldw + kk]) }
                    rawRef[i * n + j] = Int32(s)
                }
            }
            XCTAssertEqual(raw, rawRef, "raw \(m)x\(n)x\(k)")
            // dequant and requant, fast vs reference, and split row ranges vs whole
            var f = [Float](repeating: .nan, count: m * n), fr = f
            var q = [Int8](repeating: 0, count: m * n), qr = q, qsplit = q
            try c.scale.withUnsafeBufferPointer { sp in
                try c.fbias.withUnsafeBufferPointer { bp in
                    let d = QDequantParams(scale: sp.baseAddress!, bias: bp.baseAddress!)
                    try f.withUnsafeMutableBufferPointer { o in
                        try QGemm(m: m, n: n, k: k, a: c.a, lda: c.lda, aZero: c.aZero, w: c.w, ldw: c.ldw, wRowSums: c.sums,
                                  output: .dequant(o.baseAddress!, ld: n, d)).run()
                    }
                    try fr.withUnsafeMutableBufferPointer { o in
                        qs8_gemm__scalar_ref(try QGemm(m: m, n: n, k: k, a: c.a, lda: c.lda, aZero: c.aZero, w: c.w, ldw: c.ldw,
                                                       wRowSums: c.sums, output: .dequant(o.baseAddress!, ld: n, d)), rows: 0..<m)
                    }
                }
            }
            assertBitEqual(f, fr, "dequant \(m)x\(n)x\(k)")
            for i in 0..<(m * n) { XCTAssertEqual(f[i], Float(rawRef[i]) * c.scale[i % n] + c.fbias[i % n]) }
            try withRequant(c) { r in
                try q.withUnsafeMutableBufferPointer { o in
                    try QGemm(m: m, n: n, k: k, a: c.a, lda: c.lda, aZero: c.aZero, w: c.w, ldw: c.ldw, wRowSums: c.sums,
                              output: .requant(o.baseAddress!, ld: n, r)).run()
                }
                try qsplit.withUnsafeMutableBufferPointer { o in
                    let g = try QGemm(m: m, n: n, k: k, a: c.a, lda: c.lda, aZero: c.aZero, w: c.w, ldw: c.ldw, wRowSums: c.sums,
                                      output: .requant(o.baseAddress!, ld: n, r))
                    let mid = m / 2 + 1
                    g.run(rows: mid..<(m + 5))   // out-of-range ends are clamped
                    g.run(rows: 0..<mid)
                }
                try qr.withUnsafeMutableBufferPointer { o in
                    qs8_gemm__scalar_ref(try QGemm(m: m, n: n, k: k, a: c.a, lda: c.lda, aZero: c.aZero, w: c.w, ldw: c.ldw,
                                                   wRowSums: c.sums, output: .requant(o.baseAddress!, ld: n, r)), rows: 0..<m)
                }
            }
            XCTAssertEqual(q, qr, "requant \(m)x\(n)x\(k)")
            XCTAssertEqual(qsplit, qr, "requant split \(m)x\(n)x\(k)")
            if m * n >= 16 { XCTAssertGreaterThan(Set(q).count, 4, "requant outputs should vary \(m)x\(n)x\(k)") }
        }
    }

    func withRequant(_ c: QCase, _ body: (QRequantParams) throws -> Void) throws {
        try c.mult.withUnsafeBufferPointer { mp in
            try c.shift.withUnsafeBufferPointer { sp in
                try c.qbias.withUnsafeBufferPointer { bp in
                    try c.zout.withUnsafeBufferPointer { zp in
                        try body(QRequantParams(multiplier: mp.baseAddress!, shift: sp.baseAddress!, bias: bp.baseAddress!,
                                                zeroPoint: zp.baseAddress!))
                    }
                }
            }
        }
    }

    /// `qs8RowSums` (16 bytes per step, then a byte tail) against a plain sum: K around 16, row strides, extremes.
    func testRowSumsEqualThePlainSum() {
        var rng = TestRNG(21)
        for (n, k, ldw) in [(1, 1, 1), (3, 15, 17), (5, 16, 16), (4, 17, 20), (2, 31, 33), (7, 256, 259), (1, 4099, 4099)] {
            for fill in [nil, Int8(-128), Int8(127)] as [Int8?] {
                let w = fill.map { [Int8](repeating: $0, count: n * ldw) } ?? rng.int8s(n * ldw)
                var got = [Int32](repeating: 99, count: n)
                w.withUnsafeBufferPointer { wp in
                    got.withUnsafeMutableBufferPointer { qs8RowSums(wp.baseAddress!, n: n, k: k, ldw: ldw, into: $0.baseAddress!) }
                }
                let want = (0..<n).map { c in (0..<k).reduce(Int32(0)) { $0 + Int32(w[c * ldw + $1]) } }
                XCTAssertEqual(got, want, "n=\(n) k=\(k) ldw=\(ldw) fill=\(String(describing: fill))")
            }
        }
    }

    func testQGemmRejectsBadShapes() throws {
        var out = [Int32](repeating: 0, count: 4)
        let a = [Int8](repeating: 0, count: 4), w = a, s = [Int32](repeating: 0, count: 4)
        try out.withUnsafeMutableBufferPointer { o in
            XCTAssertThrowsError(try QGemm(m: 1, n: 1, k: 0, a: a, lda: 1, aZero: 0, w: w, wRowSums: s, output: .raw(o.baseAddress!, ld: 1)))
            XCTAssertThrowsError(try QGemm(m: 1, n: 2, k: 2, a: a, lda: 1, aZero: 0, w: w, wRowSums: s, output: .raw(o.baseAddress!, ld: 2)))
            XCTAssertThrowsError(try QGemm(m: 1, n: 2, k: 2, a: a, lda: 2, aZero: 0, w: w, wRowSums: s, output: .raw(o.baseAddress!, ld: 1)))
            XCTAssertThrowsError(try QGemm(m: 1, n: 1, k: 1, a: a, lda: 1, aZero: 200, w: w, wRowSums: s, output: .raw(o.baseAddress!, ld: 1)))
            XCTAssertThrowsError(try QGemm(m: 1, n: 1, k: 40000, a: a, lda: 40000, aZero: 0, w: w, wRowSums: s, output: .raw(o.baseAddress!, ld: 1)))
        }
    }

    func testRequantizeExtremes() {
        // sh = 62 with the largest multiplier and accumulator stays in int64 and saturates correctly.
        XCTAssertEqual(requantize(Int32.max - 10, multiplier: Int32.max, shift: 1, bias: 10, zeroPoint: 0), 127)
        XCTAssertEqual(requantize(Int32.min + 10, multiplier: Int32.max, shift: 1, bias: -10, zeroPoint: 0), -128)
        XCTAssertEqual(requantize(12345, multiplier: 1 << 30, shift: 62, bias: 0, zeroPoint: -3), -3)
        XCTAssertEqual(requantize(5, multiplier: 0, shift: 1, bias: 0, zeroPoint: 17), 17)  // "output is z_out"
    }

    func testF32GemmFastEqualsSeqReferenceBitForBit() throws {
        var rng = TestRNG(5)
        for (m, n, k) in shapes {
            let lda = k + 1
            let a = rng.floats(m * lda, -3, 3), w = rng.floats(n * k, -1, 1), bias = rng.floats(n)
            for useBias in [false, true] {
                var o = [Float](repeating: .nan, count: m * (n + 2)), r = o
                try bias.withUnsafeBufferPointer { bp in
                    let b = useBias ? bp.baseAddress : nil
                    try o.withUnsafeMutableBufferPointer { op in
                        let g = try FGemm(m: m, n: n, k: k, a: a, lda: lda, w: w, bias: b, out: op.baseAddress!, ldo: n + 2)
                        g.run(rows: 0..<1); g.run(rows: 1..<m)
                    }
                    try r.withUnsafeMutableBufferPointer { op in
                        f32_gemm__scalar_ref(try FGemm(m: m, n: n, k: k, a: a, lda: lda, w: w, bias: b,
                                                       out: op.baseAddress!, ldo: n + 2), rows: 0..<m)
                    }
                }
                assertBitEqual(o, r, "f32 gemm \(m)x\(n)x\(k) bias \(useBias)")
                // The padding columns between rows are untouched.
                for i in 0..<m { XCTAssertTrue(o[i * (n + 2) + n].isNaN) }
                var sum: Float = 0
                for kk in 0..<k { sum = sum + a[kk] * w[kk] }
                XCTAssertEqual(o[0], useBias ? sum + bias[0] : sum)
            }
        }
    }
}
