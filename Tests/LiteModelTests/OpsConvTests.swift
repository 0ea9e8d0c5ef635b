import XCTest

@testable import LiteModel

/// Convolutions as GEMMs against direct loops over the conv definition.
final class OpsConvTests: XCTestCase {
    struct Spec { var h: Int, w: Int, cin: Int, cout: Int, kernel: Int, stride: Int, pad: Int, dilation: Int }
    let specs: [Spec] = [
        Spec(h: 32, w: 32, cin: 3, cout: 5, kernel: 16, stride: 16, pad: 0, dilation: 1),   // patch embed
        Spec(h: 5, w: 7, cin: 9, cout: 6, kernel: 1, stride: 1, pad: 0, dilation: 1),       // 1x1
        Spec(h: 6, w: 5, cin: 4, cout: 7, kernel: 3, stride: 1, pad: 1, dilation: 1),       // 3x3
        Spec(h: 7, w: 6, cin: 5, cout: 3, kernel: 3, stride: 1, pad: 2, dilation: 2),       // 3x3 dilation 2
        Spec(h: 2, w: 3, cin: 2, cout: 5, kernel: 3, stride: 1, pad: 2, dilation: 2),       // all border
        Spec(h: 9, w: 8, cin: 3, cout: 4, kernel: 3, stride: 2, pad: 1, dilation: 1),
        // The decoder's channel counts: taps of 8 and 16 bytes (int8) copied as words, kernel rows of 24 and 48.
        Spec(h: 9, w: 10, cin: 8, cout: 8, kernel: 3, stride: 1, pad: 1, dilation: 1),
        Spec(h: 8, w: 9, cin: 16, cout: 16, kernel: 3, stride: 1, pad: 2, dilation: 2),
        Spec(h: 7, w: 7, cin: 8, cout: 5, kernel: 3, stride: 1, pad: 2, dilation: 2),
    ]

    /// Direct int8 conv: Σ over taps inside the input of (x - z) * w.
    func directQ(_ s: Spec, _ g: ConvGeometry, _ x: [Int8], _ z: Int32, _ w: [Int8]) -> [Int32] {
        var out = [Int32](repeating: 0, count: g.outH * g.outW * s.cout)
        for oy in 0..<g.outH { for ox in 0..<g.outW { for co in 0..<s.cout {
            var acc: Int32 = 0
            for ky in 0..<s.kernel { for kx in 0..<s.kernel {
                let iy = oy * s.stride - s.pad + ky * s.dilation, ix = ox * s.stride - s.pad + kx * s.dilation
                guard iy >= 0, iy < s.h, ix >= 0, ix < s.w else { continue }
                for ci in 0..<s.cin {
                    acc += (Int32(x[(iy * s.w + ix) * s.cin + ci]) - z) * Int32(w[((co * s.kernel + ky) * s.kernel + kx) * s.cin + ci])
                }
            } }
            out[(oy * g.outW + ox) * s.cout + co] = acc
        } } }
        return out
    }

    func testInt8ConvsEqualDirectConvolution() throws {
        var rng = TestRNG(9)
        for s in specs {
            let g = try ConvGeometry(inH: s.h, inW: s.w, inC: s.cin, outC: s.cout, kernel: s.kernel, stride: s.stride,
                                     pad: s.pad, dilation: s.dilation)
            let x = rng.int8s(s.h * s.w * s.cin), w = rng.int8s(s.cout * g.k, -127...127)
            let z = Int32(rng.int(-128...127)), sums = rowSums(w, n: s.cout, k: g.k)
            let want = directQ(s, g, x, z, w)
            for reference in [false, true] {
                var out = [Int32](repeating: -1, count: g.outH * g.outW * s.cout)
                var scratch = [Int8](repeating: 0, count: max(1, g.scratchCount))
                try out.withUnsafeMutableBufferPointer { o in
                    let conv = try QConv2d(geometry: g, input: x, inputZero: z, weights: w, weightRowSums: sums,
                                           output: .raw(o.baseAddress!, ld: s.cout))
                    try conv.run(outRows: 0..<1, scratch: &scratch, reference: reference)
                    try conv.run(outRows: 1..<g.outH, scratch: &scratch, reference: reference)
                    if !g.isPointwise { XCTAssertThrowsError(try conv.run(outRows: 0..<1, scratch: nil)) }
                }
                XCTAssertEqual(out, want, "int8 conv \(s) reference=\(reference)")
            }
        }
    }

    func testF32ConvsEqualDirectSeqConvolution() throws {
        var rng = TestRNG(10)
        for s in specs {
            let g = try ConvGeometry(inH: s.h, inW: s.w, inC: s.cin, outC: s.cout, kernel: s.kernel, stride: s.stride,
                                     pad: s.pad, dilation: s.dilation)
            let x = rng.floats(s.h * s.w * s.cin), w = rng.floats(s.cout * g.k), b = rng.floats(s.cout)
            // Direct, in the GEMM's seq order (taps row-major, channels innermost; zeros at the border).
            var want = [Float](repeating: 0, count: g.outH * g.outW * s.cout)
            for oy in 0..<g.outH { for ox in 0..<g.outW { for co in 0..<s.cout {
                var acc: Float = 0
                for ky in 0..<s.kernel { for kx in 0..<s.kernel { for ci in 0..<s.cin {
                    let iy = oy * s.stride - s.pad + ky * s.dilation, ix = ox * s.stride - s.pad + kx * s.dilation
                    let v: Float = (iy >= 0 && iy < s.h && ix >= 0 && ix < s.w) ? x[(iy * s.w + ix) * s.cin + ci] : 0
                    acc = acc + v * w[((co * s.kernel + ky) * s.kernel + kx) * s.cin + ci]
                } } }
                want[(oy * g.outW + ox) * s.cout + co] = acc + b[co]
            } } }
            var out = [Float](repeating: .nan, count: want.count)
            var scratch = [Float](repeating: 0, count: max(1, g.scratchCount))
            try out.withUnsafeMutableBufferPointer { o in
                try FConv2d(geometry: g, input: x, weights: w, bias: b, output: o.baseAddress!, ldo: s.cout)
                    .run(outRows: 0..<g.outH, scratch: &scratch)
            }
            assertBitEqual(out, want, "f32 conv \(s)")
        }
    }

    func testTransposedConv2x2EqualsDirect() throws {
        var rng = TestRNG(12)
        for (h, w, cin, cout) in [(1, 1, 1, 1), (3, 5, 4, 6), (4, 2, 7, 3)] {
            let x = rng.int8s(h * w * cin), wt = rng.int8s(4 * cout * cin, -127...127), z = Int32(rng.int(-128...127))
            let sums = rowSums(wt, n: 4 * cout, k: cin)
            var want = [Int32](repeating: 0, count: 4 * h * w * cout)
            for y in 0..<h { for xx in 0..<w { for tap in 0..<4 { for co in 0..<cout {
                var acc: Int32 = 0
                for ci in 0..<cin { acc += (Int32(x[(y * w + xx) * cin + ci]) - z) * Int32(wt[(tap * cout + co) * cin + ci]) }
                want[((2 * y + tap / 2) * 2 * w + 2 * xx + tap % 2) * cout + co] = acc
            } } } }
            for reference in [false, true] {
                var out = [Int32](repeating: -7, count: want.count)
                try out.withUnsafeMutableBufferPointer { o in
                    try QConvTranspose2x2(inH: h, inW: w, inC: cin, outC: cout, input: x, inputZero: z, weights: wt,
                                          weightRowSums: sums, output: .raw(o.baseAddress!, ld: cout))
                        .run(inRows: 0..<h, reference: reference)
                }
                XCTAssertEqual(out, want, "convT \(h)x\(w)x\(cin)->\(cout)")
                // Epilogue constants are per weight row: (dy, dx, co).
                let m = rng.floats(4 * cout, 0.001, 0.01), b = rng.floats(4 * cout)
                var deq = [Float](repeating: .nan, count: want.count)
                try m.withUnsafeBufferPointer { mp in
                    try b.withUnsafeBufferPointer { bp in
                        try deq.withUnsafeMutableBufferPointer { o in
                            try QConvTranspose2x2(inH: h, inW: w, inC: cin, outC: cout, input: x, inputZero: z, weights: wt,
                                                  weightRowSums: sums,
                                                  output: .dequant(o.baseAddress!, ld: cout, QDequantParams(scale: mp.baseAddress!, bias: bp.baseAddress!)))
                                .run(inRows: 0..<h, reference: reference)
                        }
                    }
                }
                for y in 0..<h { for xx in 0..<w { for tap in 0..<4 { for co in 0..<cout {
                    let i = ((2 * y + tap / 2) * 2 * w + 2 * xx + tap % 2) * cout + co
                    XCTAssertEqual(deq[i], Float(want[i]) * m[tap * cout + co] + b[tap * cout + co])
                } } } }
            }
            // fp32
            let xf = rng.floats(h * w * cin), wf = rng.floats(4 * cout * cin), bf = rng.floats(4 * cout)
            var outf = [Float](repeating: .nan, count: want.count)
            try outf.withUnsafeMutableBufferPointer { o in
                try FConvTranspose2x2(inH: h, inW: w, inC: cin, outC: cout, input: xf, weights: wf, bias: bf,
                                      output: o.baseAddress!, ldo: cout).run(inRows: 0..<h)
            }
            for y in 0..<h { for xx in 0..<w { for tap in 0..<4 { for co in 0..<cout {
                var acc: Float = 0
                for ci in 0..<cin { acc = acc + xf[(y * w + xx) * cin + ci] * wf[(tap * cout + co) * cin + ci] }
                XCTAssertEqual(outf[((2 * y + tap / 2) * 2 * w + 2 * xx + tap % 2) * cout + co], acc + bf[tap * cout + co])
            } } } }
        }
    }

    /// The fast path with weights packed as tap pairs, for every packed kernel: one GEMM of 2 outC columns per input
    /// row and dy on a dense output, per-tap GEMMs (a tap's panels, or the unpacked sibling off a panel edge) on a
    /// wider one; raw, dequantized and requantized outputs equal the per-tap scalar reference.
    func testTransposedConv2x2PackedPairsEqualReference() throws {
        let packedKernels = QGemmKernel.available.filter { $0.usesPackedWeights }
        guard !packedKernels.isEmpty else { throw XCTSkip("no packed kernel on this CPU") }
        var rng = TestRNG(13)
        defer { QGemmKernel.force(nil) }
        for (h, w, cin, cout) in [(3, 5, 4, 6), (2, 3, 8, 8), (4, 2, 7, 3), (2, 9, 16, 16), (3, 4, 8, 24), (2, 11, 12, 4)] {
            let x = rng.int8s(h * w * cin), wt = rng.int8s(4 * cout * cin, -127...127), z = Int32(rng.int(-128...127))
            let sums = rowSums(wt, n: 4 * cout, k: cin)
            let scale = rng.floats(4 * cout, 0.001, 0.01), fbias = rng.floats(4 * cout)
            let mult = (0..<(4 * cout)).map { _ in Int32(rng.int((1 << 30)...Int(Int32.max))) }
            let shift = (0..<(4 * cout)).map { _ in Int32(rng.int(36...40)) }
            let qbias = (0..<(4 * cout)).map { _ in Int32(rng.int(-3000...3000)) }, zout = (0..<(4 * cout)).map { _ in Int32(rng.int(-9...9)) }
            for kernel in packedKernels {
                let layout = kernel.packLayout!
                var packed = [Int8](repeating: 0, count: QConvTranspose2x2.packedBytes(outC: cout, inC: cin, layout: layout))
                wt.withUnsafeBufferPointer { wp in packed.withUnsafeMutableBufferPointer {
                    QConvTranspose2x2.packWeights(wp.baseAddress!, outC: cout, inC: cin, layout: layout, into: $0.baseAddress!)
                } }
                for ld in [cout, cout + 5] {
                    let cells = 4 * h * w * ld
                    func run(_ reference: Bool, _ make: (UnsafeMutableRawPointer) -> QGemmOutput, bytes: Int) throws -> [UInt8] {
                        var out = [UInt8](repeating: 0xA5, count: cells * bytes)
                        QGemmKernel.force(kernel)
                        try packed.withUnsafeBufferPointer { p in try out.withUnsafeMutableBytes { o in
                            try QConvTranspose2x2(inH: h, inW: w, inC: cin, outC: cout, input: x, inputZero: z, weights: wt,
                                                  weightRowSums: sums, packedWeights: QPackedWeights(p.baseAddress!, layout: layout),
                                                  output: make(o.baseAddress!)).run(inRows: 0..<h, reference: reference)
                        } }
                        QGemmKernel.force(nil)
                        return out
                    }
                    try scale.withUnsafeBufferPointer { sc in try fbias.withUnsafeBufferPointer { fb in
                    try mult.withUnsafeBufferPointer { mu in try shift.withUnsafeBufferPointer { sh in
                    try qbias.withUnsafeBufferPointer { qb in try zout.withUnsafeBufferPointer { zo in
                        let outputs: [(String, Int, (UnsafeMutableRawPointer) -> QGemmOutput)] = [
                            ("raw", 4, { .raw($0.assumingMemoryBound(to: Int32.self), ld: ld) }),
                            ("dequant", 4, { .dequant($0.assumingMemoryBound(to: Float.self), ld: ld,
                                                      QDequantParams(scale: sc.baseAddress!, bias: fb.baseAddress!)) }),
                            ("requant", 1, { .requant($0.assumingMemoryBound(to: Int8.self), ld: ld,
                                                      QRequantParams(multiplier: mu.baseAddress!, shift: sh.baseAddress!,
                                                                     bias: qb.baseAddress!, zeroPoint: zo.baseAddress!)) }),
                        ]
                        for (name, bytes, make) in outputs {
                            let fast = try run(false, make, bytes: bytes), ref = try run(true, make, bytes: bytes)
                            XCTAssertEqual(fast, ref, "\(kernel.name) \(name) convT \(h)x\(w)x\(cin)->\(cout) ld \(ld)")
                            XCTAssertTrue(ref.contains { $0 != 0xA5 })
                        }
                    } } } } } }
                }
            }
        }
    }

    func testConvGeometryRejectsNonsense() {
        XCTAssertThrowsError(try ConvGeometry(inH: 0, inW: 4, inC: 1, outC: 1, kernel: 1))
        XCTAssertThrowsError(try ConvGeometry(inH: 4, inW: 4, inC: 1, outC: 1, kernel: 5))
        XCTAssertThrowsError(try ConvGeometry(inH: 4, inW: 4, inC: 1, outC: 1, kernel: 3, stride: 0))
        XCTAssertEqual(try ConvGeometry(inH: 512, inW: 512, inC: 3, outC: 768, kernel: 16, stride: 16).outW, 32)
        XCTAssertEqual(try ConvGeometry(inH: 64, inW: 64, inC: 8, outC: 8, kernel: 3, pad: 2, dilation: 2).outH, 64)
    }
}
