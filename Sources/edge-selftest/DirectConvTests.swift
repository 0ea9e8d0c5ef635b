import LiteModel

/// The direct convs (a window of input rows instead of im2col) of this CPU's packed GEMM kernel against the im2col
/// conv through the scalar reference GEMM, bit for bit, for every epilogue: under qemu the AArch64 ones
/// (`qs8_conv_row_packed_4x16c4__neondot` on cortex-a76, `__neon_mlal_lane` on cortex-a72), natively the VNNI one.
func registerDirectConvTests(_ registry: inout TestRegistry) {
    registry.add("Kernels/direct int8 convs equal im2col and the reference GEMM (raw, dequant, requant)") { t in
        opTest(&t) { t throws(OpError) in try directConvCases(&t) }
    }
}

/// Output widths off the 4- and 8-pixel tiles, columns around the 16- and 48-column panels, dilation, borders
/// wider than the map, 5x5 and 2x2 kernels, and convs whose window exceeds the scratch (im2col instead).
let directConvSpecs: [(h: Int, w: Int, cin: Int, cout: Int, kernel: Int, pad: Int, dilation: Int)] = [
    (9, 10, 8, 8, 3, 1, 1), (8, 9, 16, 16, 3, 2, 2), (7, 7, 8, 5, 3, 2, 2), (5, 13, 4, 70, 3, 1, 1),
    (6, 17, 12, 33, 3, 1, 1), (3, 20, 64, 64, 3, 1, 1), (2, 3, 4, 5, 3, 2, 2), (6, 11, 8, 20, 5, 2, 1),
    (5, 6, 4, 9, 2, 0, 1), (3, 1, 4, 6, 3, 3, 3),
]

func directConvCases(_ t: inout TestContext) throws(OpError) {
    var rng = SelftestRNG(41)
    var directRuns = [Int](repeating: 0, count: directConvSpecs.count)
    for (index, s) in directConvSpecs.enumerated() {
        let g = try ConvGeometry(inH: s.h, inW: s.w, inC: s.cin, outC: s.cout, kernel: s.kernel, pad: s.pad,
                                 dilation: s.dilation)
        let what = "direct conv " + shapeName(s.h, s.w, s.cin) + "->" + String(s.cout) + " k" + String(s.kernel)
            + " d" + String(s.dilation)
        let x = rng.int8s(s.h * s.w * s.cin), w = rng.int8s(s.cout * g.k, -127...127), z = Int32(rng.int(-128...127))
        var sums = [Int32](repeating: 0, count: s.cout)
        qs8RowSums(w, n: s.cout, k: g.k, into: &sums)
        var packed = [Int8](repeating: 0, count: qs8PackedBytes(n: s.cout, k: g.k, layout: .panels16c4))
        qs8PackWeights(w, n: s.cout, k: g.k, layout: .panels16c4, into: &packed)
        let scale = rng.floats(s.cout, 0.0001, 0.01), bias = rng.floats(s.cout)
        let mult = (0..<s.cout).map { _ in Int32(rng.int((1 << 30)...Int(Int32.max))) }
        let shift = (0..<s.cout).map { _ in Int32(rng.int(30...44)) }
        let qbias = (0..<s.cout).map { _ in Int32(rng.int(-5000...5000)) }
        let zero = (0..<s.cout).map { _ in Int32(rng.int(-128...127)) }
        defer { withExtendedLifetime((x, w, sums, packed, scale, bias, mult, shift, qbias, zero)) {} }
        for epilogue in 0..<3 {
            let ld = s.cout + 3  // a wider pixel stride: the gap must stay untouched
            var results: [[UInt32]] = []
            for direct in [false, true] {
                let out = filled(g.outH * g.outW * ld, UInt32(0xDEAD_BEEF)), scratch = filled(g.scratchCount, Int8(7))
                defer { out.deallocate(); scratch.deallocate() }
                let base = UnsafeMutableRawPointer(out.baseAddress!)
                let output: QGemmOutput
                switch epilogue {
                case 0: output = .raw(base.assumingMemoryBound(to: Int32.self), ld: ld)
                case 1: output = .dequant(base.assumingMemoryBound(to: Float.self), ld: ld, QDequantParams(scale: scale, bias: bias))
                default:
                    output = .requant(base.assumingMemoryBound(to: Int8.self), ld: ld,
                                      QRequantParams(multiplier: mult, shift: shift, bias: qbias, zeroPoint: zero))
                }
                try packed.withUnsafeBufferPointer { p throws(OpError) in
                    let conv = try QConv2d(geometry: g, input: x, inputZero: z, weights: w, weightRowSums: sums,
                                           packedWeights: direct ? QPackedWeights(p.baseAddress!, layout: .panels16c4) : nil,
                                           output: output)
                    if direct, conv.directKernel(conv.packedWeights!) != nil { directRuns[index] += 1 }
                    try conv.run(outRows: 0..<1, scratch: scratch.baseAddress, reference: !direct)
                    try conv.run(outRows: 1..<g.outH, scratch: scratch.baseAddress, reference: !direct)
                }
                results.append(Array(out))
            }
            var written = 0, differ = 0
            for i in 0..<results[0].count {
                if results[0][i] != 0xDEAD_BEEF { written += 1 }
                if results[0][i] != results[1][i] { differ += 1 }
            }
            t.expect(written > 0, what + ": the reference wrote nothing")
            t.expect(differ == 0, what + " epilogue " + String(epilogue) + ": " + String(differ) + " words differ")
        }
    }
    // The decoder-like specs (3x3 and 5x5, outputs at least 9 pixels wide) must have run a direct kernel for every
    // epilogue wherever the selected GEMM kernel has one (the others may fall back to im2col: a window larger than
    // the scratch, and the plain NEON kernel's int16 window is twice as large).
    let hasDirect: Bool
    #if arch(arm64)
    hasDirect = true
    #else
    hasDirect = QGemmKernel.selected == .avx512vnniPacked
    #endif
    if hasDirect {
        for index in [0, 1, 3, 4, 5, 7] where directRuns[index] != 3 {
            t.fail("spec " + String(index) + " ran the direct kernel " + String(directRuns[index]) + " of 3 times")
        }
    }
}
