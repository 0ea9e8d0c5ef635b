import LiteModel

/// Every fast kernel against its scalar reference on awkward shapes: the Embedded-mode port of a
/// representative subset of Tests/LiteModelTests/Ops*Tests.swift, so the SDOT / NEON code paths of the
/// aarch64 builds are checked on the target CPUs (and under qemu).
func registerKernelTests(_ registry: inout TestRegistry) {
    registry.add("Kernels/int8 GEMM (QGemm.run) equals qs8_gemm__scalar_ref: raw, dequant, requant, split rows") { t in
        opTest(&t) { t throws(OpError) in try int8GemmCases(&t) }
    }
    registry.add("Kernels/fp32 GEMM (FGemm.run) equals f32_gemm__scalar_ref bit for bit") { t in
        opTest(&t) { t throws(OpError) in try f32GemmCases(&t) }
    }
    registry.add("Kernels/int8 convs (1x1, 3x3, dilation 2, stride 2, patch) equal the direct convolution") { t in
        opTest(&t) { t throws(OpError) in try int8ConvCases(&t) }
    }
    registry.add("Kernels/fp32 convs equal the direct convolution in seq order, bit for bit") { t in
        opTest(&t) { t throws(OpError) in try f32ConvCases(&t) }
    }
    registry.add("Kernels/int8 transposed conv 2x2 (fast and reference) equals the direct definition") { t in
        opTest(&t) { t throws(OpError) in try transposedConvCases(&t) }
    }
    registry.add("Kernels/int8 attention (tiled) equals qs8_attention__scalar_ref bit for bit") { t in
        opTest(&t) { t throws(OpError) in try int8AttentionCases(&t) }
    }
    registry.add("Kernels/fp32 attention (tiled) equals f32_attention__scalar_ref bit for bit") { t in
        opTest(&t) { t throws(OpError) in try f32AttentionCases(&t) }
    }
    registry.add("Kernels/bilinear resize (row ranges) equals resizeBilinear__scalar_ref") { t in
        opTest(&t) { t throws(OpError) in try resizeCases(&t) }
    }
    registry.add("Kernels/activation-table lookup (VBMI / NEON tbl) equals Elementwise.lookup") { t in
        lookupCases(&t)
    }
    registry.add("Kernels/frame gray sum (VBMI / NEON ld3) equals the scalar loop") { t in
        // Lengths around the 16-pixel step, odd start addresses, white pixels (the largest value per pixel).
        var rng = SelftestRNG(36)
        let bytes = rng.uint8s(3 * 700 + 7), white = [UInt8](repeating: 255, count: 3 * 700)
        for pixels in [0, 1, 15, 16, 17, 31, 32, 33, 640, 700] {
            for start in [0, 1, 7] {
                let fast = bytes.withUnsafeBufferPointer { Preprocess.graySum($0.baseAddress! + start, pixels: pixels) }
                let ref = bytes.withUnsafeBufferPointer { Preprocess.graySumScalar($0.baseAddress! + start, pixels: pixels) }
                t.expect(fast == ref, "gray sum of " + String(pixels) + " pixels at " + String(start) + ": " + String(fast)
                         + ", expected " + String(ref))
            }
            t.expect(Preprocess.graySum(white, pixels: pixels) == UInt64(255 * pixels), "white gray sum " + String(pixels))
        }
    }
}

/// NUMERICS 3.5's table lookup on this CPU's path against the scalar loop: every byte value, lengths around the
/// 16- and 64-byte steps, nothing written past the count.
func lookupCases(_ t: inout TestContext) {
    var rng = SelftestRNG(35)
    let table = rng.int8s(256)
    for n in [0, 1, 15, 16, 17, 63, 64, 65, 256, 1000] {
        var x = rng.int8s(n)
        for i in 0..<min(n, 256) { x[i] = Int8(truncatingIfNeeded: i) }
        let fast = filled(n + 1, Int8(99)), ref = filled(n + 1, Int8(99))
        defer { fast.deallocate(); ref.deallocate() }
        VectorKernels.lookup(x, table: table, into: fast.baseAddress!, count: n)
        Elementwise.lookup(x, table: table, into: ref.baseAddress!, count: n)
        t.expectSame(fast, ref, "lookup n " + String(n))
        var direct = true
        for i in 0..<n where ref[i] != table[Int(x[i]) + 128] { direct = false }
        t.expect(direct, "scalar lookup n " + String(n))
    }
}

/// M, N, K not multiples of the tiles (2x4, 4x4, 4x16c4, the packed 4x16 over 8-column panels), plus K = 768
/// (the encoder width) and K past the packed kernel's 1024-long activation chunks.
let gemmShapes: [(m: Int, n: Int, k: Int)] = [(1, 1, 1), (1, 1, 7), (4, 4, 1), (5, 3, 9), (7, 17, 33), (9, 1, 64),
                                              (4, 16, 768), (13, 21, 100), (3, 6, 2), (8, 8, 2), (6, 33, 31),
                                              (9, 17, 1025), (5, 24, 2049)]

func int8GemmCases(_ t: inout TestContext) throws(OpError) {
    var rng = SelftestRNG(42)
    for (m, n, k) in gemmShapes {
        let shape = shapeName(m, n, k)
        let lda = k + rng.int(0...3), ldw = k + rng.int(0...2)
        let a = rng.int8s(m * lda), w = rng.int8s(n * ldw, -127...127), aZero = Int32(rng.int(-128...127))
        var sums = [Int32](repeating: 0, count: n)
        qs8RowSums(w, n: n, k: k, ldw: ldw, into: &sums)
        // Packed at "load" as the graph does, for the selected kernel (nil when it reads no packed weights).
        let packed = packedForSelected(w, n: n, k: k, ldw: ldw)
        defer { packed?.bytes.deallocate() }
        let scale = rng.floats(n, 1e-4, 1e-2), fbias = rng.floats(n, -1, 1)
        // r = M / 2^sh near 30 / typical |acc| (~135 sqrt K), so requantized outputs spread over int8.
        var center = 31, typical = 135 * Double(k).squareRoot() * 1.4142135
        while typical >= 2 { typical /= 2; center += 1 }
        let mult = (0..<n).map { _ in Int32(rng.int((1 << 30)...Int(Int32.max))) }
        let shift = (0..<n).map { _ in Int32(rng.int((center - 1)...(center + 1))) }
        let qbias = (0..<n).map { _ in Int32(rng.int(-5000...5000)) }
        let zout = (0..<n).map { _ in Int32(rng.int(-20...20)) }
        // The kernels keep pointers to these arrays past the init calls: keep the arrays alive to the end.
        defer { withExtendedLifetime((a, w, sums, scale, fbias, mult, shift, qbias, zout)) {} }

        // Raw int32 accumulators against the literal definition.
        let raw = filled(m * n, Int32(0)), rawRef = filled(m * n, Int32(0))
        defer { raw.deallocate(); rawRef.deallocate() }
        try QGemm(m: m, n: n, k: k, a: a, lda: lda, aZero: aZero, w: w, ldw: ldw, wRowSums: sums, packed: packed,
                  output: .raw(raw.baseAddress!, ld: n)).run()
        for i in 0..<m {
            for j in 0..<n {
                var s = 0
                for kk in 0..<k { s += (Int(a[i * lda + kk]) - Int(aZero)) * Int(w[j * ldw + kk]) }
                rawRef[i * n + j] = Int32(s)
            }
        }
        t.expectSame(raw, rawRef, "raw " + shape)

        // Dequantized: fast vs reference, and the reference vs its definition.
        let f = filled(m * n, Float.nan), fr = filled(m * n, Float.nan)
        defer { f.deallocate(); fr.deallocate() }
        let d = QDequantParams(scale: scale, bias: fbias)
        try QGemm(m: m, n: n, k: k, a: a, lda: lda, aZero: aZero, w: w, ldw: ldw, wRowSums: sums, packed: packed,
                  output: .dequant(f.baseAddress!, ld: n, d)).run()
        qs8_gemm__scalar_ref(try QGemm(m: m, n: n, k: k, a: a, lda: lda, aZero: aZero, w: w, ldw: ldw, wRowSums: sums,
                                       output: .dequant(fr.baseAddress!, ld: n, d)), rows: 0..<m)
        t.expectBitEqual(f, fr, "dequant " + shape)
        for i in 0..<(m * n) where fr[i] != Float(rawRef[i]) * scale[i % n] + fbias[i % n] {
            t.fail("dequant reference " + shape + " differs from acc * scale + bias at " + String(i)); break
        }

        // Requantized: fast, fast in two row ranges (one out of range), reference.
        let q = filled(m * n, Int8(0)), qs = filled(m * n, Int8(0)), qr = filled(m * n, Int8(0))
        defer { q.deallocate(); qs.deallocate(); qr.deallocate() }
        let r = QRequantParams(multiplier: mult, shift: shift, bias: qbias, zeroPoint: zout)
        try QGemm(m: m, n: n, k: k, a: a, lda: lda, aZero: aZero, w: w, ldw: ldw, wRowSums: sums, packed: packed,
                  output: .requant(q.baseAddress!, ld: n, r)).run()
        let split = try QGemm(m: m, n: n, k: k, a: a, lda: lda, aZero: aZero, w: w, ldw: ldw, wRowSums: sums,
                              packed: packed, output: .requant(qs.baseAddress!, ld: n, r))
        let mid = m / 2 + 1
        split.run(rows: mid..<(m + 5))
        split.run(rows: 0..<mid)
        qs8_gemm__scalar_ref(try QGemm(m: m, n: n, k: k, a: a, lda: lda, aZero: aZero, w: w, ldw: ldw, wRowSums: sums,
                                       output: .requant(qr.baseAddress!, ld: n, r)), rows: 0..<m)
        t.expectSame(q, qr, "requant " + shape)
        t.expectSame(qs, qr, "requant split " + shape)
        if m * n >= 16 {
            var seen = [Bool](repeating: false, count: 256), distinct = 0
            for v in q where !seen[Int(v) + 128] { seen[Int(v) + 128] = true; distinct += 1 }
            t.expect(distinct > 4, "requant outputs should vary " + shape + ": " + String(distinct) + " distinct")
        }
    }
    try int8GemmExtremes(&t)
}

/// `w` packed as the selected kernel reads it (nil when it reads none); the caller deallocates `bytes`.
func packedForSelected(_ w: UnsafePointer<Int8>, n: Int, k: Int, ldw: Int? = nil) -> QPackedWeights? {
    guard let layout = QGemmKernel.selected.packLayout else { return nil }
    let p = UnsafeMutablePointer<Int8>.allocate(capacity: qs8PackedBytes(n: n, k: k, layout: layout))
    qs8PackWeights(w, n: n, k: k, ldw: ldw, layout: layout, into: p)
    return QPackedWeights(UnsafePointer(p), layout: layout)
}

/// Largest |(a - z_a) * w| over a long K with zero points -128, 0 and 127: every kernel's raw sums equal the
/// closed form (a - z_a) * w * K (~±1.07e9 at K = 32768, the largest QGemm accepts).
func int8GemmExtremes(_ t: inout TestContext) throws(OpError) {
    let (m, n) = (5, 11)
    for k in [4099, 1 << 15] {
        for (fa, fw, z) in [(Int8(-128), Int8(-128), Int32(127)), (127, -128, -128), (127, 127, 0), (-128, 127, 127)] {
            let a = [Int8](repeating: fa, count: m * k), w = [Int8](repeating: fw, count: n * k)
            var sums = [Int32](repeating: 0, count: n)
            qs8RowSums(w, n: n, k: k, into: &sums)
            let packed = packedForSelected(w, n: n, k: k)
            defer { packed?.bytes.deallocate(); withExtendedLifetime((a, w, sums)) {} }
            let raw = filled(m * n, Int32(0))
            defer { raw.deallocate() }
            try QGemm(m: m, n: n, k: k, a: a, lda: k, aZero: z, w: w, wRowSums: sums, packed: packed,
                      output: .raw(raw.baseAddress!, ld: n)).run()
            let want = (Int32(fa) - z) * Int32(fw) * Int32(k)
            for i in 0..<(m * n) where raw[i] != want {
                t.fail("extreme gemm k=" + String(k) + " z=" + String(z) + ": " + String(raw[i]) + " != " + String(want))
                break
            }
        }
    }
}

func f32GemmCases(_ t: inout TestContext) throws(OpError) {
    var rng = SelftestRNG(5)
    for (m, n, k) in gemmShapes {
        let lda = k + 1
        let a = rng.floats(m * lda, -3, 3), w = rng.floats(n * k, -1, 1), bias = rng.floats(n)
        defer { withExtendedLifetime((a, w)) {} }
        for useBias in [false, true] {
            let what = "f32 gemm " + shapeName(m, n, k) + (useBias ? " bias" : "")
            let o = filled(m * (n + 2), Float.nan), r = filled(m * (n + 2), Float.nan)
            defer { o.deallocate(); r.deallocate() }
            try bias.withUnsafeBufferPointer { (bp) throws(OpError) in
                let b = useBias ? bp.baseAddress : nil
                let g = try FGemm(m: m, n: n, k: k, a: a, lda: lda, w: w, bias: b, out: o.baseAddress!, ldo: n + 2)
                g.run(rows: 0..<1)
                g.run(rows: 1..<m)
                f32_gemm__scalar_ref(try FGemm(m: m, n: n, k: k, a: a, lda: lda, w: w, bias: b,
                                               out: r.baseAddress!, ldo: n + 2), rows: 0..<m)
            }
            t.expectBitEqual(o, r, what)
            for i in 0..<m where !o[i * (n + 2) + n].isNaN { t.fail(what + ": padding column written in row " + String(i)); break }
            var sum: Float = 0
            for kk in 0..<k { sum = sum + a[kk] * w[kk] }
            t.expect(o[0] == (useBias ? sum + bias[0] : sum), what + ": element 0 is not the seq-order dot product")
        }
    }
}

struct ConvSpec { var h: Int, w: Int, cin: Int, cout: Int, kernel: Int, stride: Int, pad: Int, dilation: Int }

let convSpecs: [ConvSpec] = [
    ConvSpec(h: 32, w: 32, cin: 3, cout: 5, kernel: 16, stride: 16, pad: 0, dilation: 1),   // patch embed
    ConvSpec(h: 5, w: 7, cin: 9, cout: 6, kernel: 1, stride: 1, pad: 0, dilation: 1),       // 1x1
    ConvSpec(h: 6, w: 5, cin: 4, cout: 7, kernel: 3, stride: 1, pad: 1, dilation: 1),       // 3x3
    ConvSpec(h: 7, w: 6, cin: 5, cout: 3, kernel: 3, stride: 1, pad: 2, dilation: 2),       // 3x3 dilation 2
    ConvSpec(h: 2, w: 3, cin: 2, cout: 5, kernel: 3, stride: 1, pad: 2, dilation: 2),       // all border
    ConvSpec(h: 9, w: 8, cin: 3, cout: 4, kernel: 3, stride: 2, pad: 1, dilation: 1),
]

func convName(_ s: ConvSpec) -> String {
    shapeName(s.h, s.w, s.cin) + "->" + String(s.cout) + " k" + String(s.kernel) + " s" + String(s.stride)
        + " p" + String(s.pad) + " d" + String(s.dilation)
}

func int8ConvCases(_ t: inout TestContext) throws(OpError) {
    var rng = SelftestRNG(9)
    for s in convSpecs {
        let g = try ConvGeometry(inH: s.h, inW: s.w, inC: s.cin, outC: s.cout, kernel: s.kernel, stride: s.stride,
                                 pad: s.pad, dilation: s.dilation)
        let x = rng.int8s(s.h * s.w * s.cin), w = rng.int8s(s.cout * g.k, -127...127), z = Int32(rng.int(-128...127))
        var sums = [Int32](repeating: 0, count: s.cout)
        qs8RowSums(w, n: s.cout, k: g.k, into: &sums)
        defer { withExtendedLifetime((x, w, sums)) {} }
        let want = filled(g.outH * g.outW * s.cout, Int32(0))
        defer { want.deallocate() }
        for oy in 0..<g.outH { for ox in 0..<g.outW { for co in 0..<s.cout {
            var acc: Int32 = 0
            for ky in 0..<s.kernel { for kx in 0..<s.kernel {
                let iy = oy * s.stride - s.pad + ky * s.dilation, ix = ox * s.stride - s.pad + kx * s.dilation
                guard iy >= 0, iy < s.h, ix >= 0, ix < s.w else { continue }
                for ci in 0..<s.cin {
                    acc += (Int32(x[(iy * s.w + ix) * s.cin + ci]) - z) * Int32(w[((co * s.kernel + ky) * s.kernel + kx) * s.cin + ci])
                }
            } }
            want[(oy * g.outW + ox) * s.cout + co] = acc
        } } }
        for reference in [false, true] {
            let out = filled(want.count, Int32(-1)), scratch = filled(g.scratchCount, Int8(0))
            defer { out.deallocate(); scratch.deallocate() }
            let conv = try QConv2d(geometry: g, input: x, inputZero: z, weights: w, weightRowSums: sums,
                                   output: .raw(out.baseAddress!, ld: s.cout))
            try conv.run(outRows: 0..<1, scratch: scratch.baseAddress, reference: reference)
            try conv.run(outRows: 1..<g.outH, scratch: scratch.baseAddress, reference: reference)
            t.expectSame(out, want, "int8 conv " + convName(s) + (reference ? " (reference)" : " (fast)"))
        }
    }
}

func f32ConvCases(_ t: inout TestContext) throws(OpError) {
    var rng = SelftestRNG(10)
    for s in convSpecs {
        let g = try ConvGeometry(inH: s.h, inW: s.w, inC: s.cin, outC: s.cout, kernel: s.kernel, stride: s.stride,
                                 pad: s.pad, dilation: s.dilation)
        let x = rng.floats(s.h * s.w * s.cin), w = rng.floats(s.cout * g.k), b = rng.floats(s.cout)
        defer { withExtendedLifetime((x, w, b)) {} }
        // Direct, in the GEMM's seq order (taps row-major, channels innermost; zeros at the border).
        let want = filled(g.outH * g.outW * s.cout, Float(0))
        defer { want.deallocate() }
        for oy in 0..<g.outH { for ox in 0..<g.outW { for co in 0..<s.cout {
            var acc: Float = 0
            for ky in 0..<s.kernel { for kx in 0..<s.kernel { for ci in 0..<s.cin {
                let iy = oy * s.stride - s.pad + ky * s.dilation, ix = ox * s.stride - s.pad + kx * s.dilation
                let v: Float = (iy >= 0 && iy < s.h && ix >= 0 && ix < s.w) ? x[(iy * s.w + ix) * s.cin + ci] : 0
                acc = acc + v * w[((co * s.kernel + ky) * s.kernel + kx) * s.cin + ci]
            } } }
            want[(oy * g.outW + ox) * s.cout + co] = acc + b[co]
        } } }
        for reference in [false, true] {
            let out = filled(want.count, Float.nan), scratch = filled(g.scratchCount, Float(0))
            defer { out.deallocate(); scratch.deallocate() }
            try FConv2d(geometry: g, input: x, weights: w, bias: b, output: out.baseAddress!, ldo: s.cout)
                .run(outRows: 0..<g.outH, scratch: scratch.baseAddress, reference: reference)
            t.expectBitEqual(out, want, "f32 conv " + convName(s) + (reference ? " (reference)" : " (fast)"))
        }
    }
}

func transposedConvCases(_ t: inout TestContext) throws(OpError) {
    var rng = SelftestRNG(12)
    for (h, w, cin, cout) in [(1, 1, 1, 1), (3, 5, 4, 6), (4, 2, 7, 3), (5, 3, 17, 5), (2, 5, 8, 8), (2, 3, 16, 16)] {
        let what = "convT " + shapeName(h, w, cin) + "->" + String(cout)
        let x = rng.int8s(h * w * cin), wt = rng.int8s(4 * cout * cin, -127...127), z = Int32(rng.int(-128...127))
        var sums = [Int32](repeating: 0, count: 4 * cout)
        qs8RowSums(wt, n: 4 * cout, k: cin, into: &sums)
        defer { withExtendedLifetime((x, wt, sums)) {} }
        let want = filled(4 * h * w * cout, Int32(0))
        defer { want.deallocate() }
        for y in 0..<h { for xx in 0..<w { for tap in 0..<4 { for co in 0..<cout {
            var acc: Int32 = 0
            for ci in 0..<cin { acc += (Int32(x[(y * w + xx) * cin + ci]) - z) * Int32(wt[(tap * cout + co) * cin + ci]) }
            want[((2 * y + tap / 2) * 2 * w + 2 * xx + tap % 2) * cout + co] = acc
        } } } }
        for reference in [false, true] {
            let out = filled(want.count, Int32(-7))
            defer { out.deallocate() }
            let conv = try QConvTranspose2x2(inH: h, inW: w, inC: cin, outC: cout, input: x, inputZero: z, weights: wt,
                                             weightRowSums: sums, output: .raw(out.baseAddress!, ld: cout))
            conv.run(inRows: 0..<1, reference: reference)
            conv.run(inRows: 1..<h, reference: reference)
            t.expectSame(out, want, what + (reference ? " (reference)" : " (fast)"))
        }
        // Weights packed as tap pairs for the selected kernel: one GEMM per row and tap pair on a dense output,
        // per-tap GEMMs on a wider one (ld = cout + 3), both equal to the direct definition.
        guard let layout = QGemmKernel.selected.packLayout else { continue }
        var packed = [Int8](repeating: 0, count: QConvTranspose2x2.packedBytes(outC: cout, inC: cin, layout: layout))
        QConvTranspose2x2.packWeights(wt, outC: cout, inC: cin, layout: layout, into: &packed)
        for ld in [cout, cout + 3] {
            let out = filled(4 * h * w * ld, Int32(-7))
            defer { out.deallocate() }
            try packed.withUnsafeBufferPointer { p throws(OpError) in
                try QConvTranspose2x2(inH: h, inW: w, inC: cin, outC: cout, input: x, inputZero: z, weights: wt,
                                      weightRowSums: sums, packedWeights: QPackedWeights(p.baseAddress!, layout: layout),
                                      output: .raw(out.baseAddress!, ld: ld)).run(inRows: 0..<h)
            }
            var wrong = 0
            for pixel in 0..<(4 * h * w) {
                for co in 0..<ld where out[pixel * ld + co] != (co < cout ? want[pixel * cout + co] : -7) { wrong += 1 }
            }
            t.expect(wrong == 0, what + " packed pairs, ld " + String(ld) + ": " + String(wrong) + " cells differ")
        }
    }
}

struct AttentionGrid { var h: Int, w: Int, hd: Int, validH: Int, validW: Int, relPos: Bool }

let attentionGrids: [AttentionGrid] = [
    AttentionGrid(h: 1, w: 1, hd: 1, validH: 1, validW: 1, relPos: false),
    AttentionGrid(h: 5, w: 7, hd: 8, validH: 5, validW: 7, relPos: true),
    AttentionGrid(h: 14, w: 14, hd: 16, validH: 4, validW: 9, relPos: true),   // padded window
    AttentionGrid(h: 6, w: 6, hd: 12, validH: 6, validW: 6, relPos: false),
]

func gridName(_ g: AttentionGrid) -> String {
    shapeName(g.h, g.w) + " hd" + String(g.hd) + " valid " + shapeName(g.validH, g.validW) + (g.relPos ? " relpos" : "")
}

func int8AttentionCases(_ t: inout TestContext) throws(OpError) {
    var rng = SelftestRNG(31)
    for g in attentionGrids {
        let n = g.h * g.w, ld = g.hd + 3
        let q = rng.int8s(n * ld), k = rng.int8s(n * ld), v = rng.int8s(n * ld)
        let rh = rng.int8s(g.h * g.h * g.hd, -127...127), rw = rng.int8s(g.w * g.w * g.hd, -127...127)
        let zq = Int32(rng.int(-20...20)), zk = Int32(rng.int(-20...20)), zv = Int32(rng.int(-20...20))
        defer { withExtendedLifetime((q, k, v, rh, rw)) {} }
        let sq: Float = 0.02, sk: Float = 0.03, sv: Float = 0.05, srh: Float = 0.01, srw: Float = 0.015
        let logitScale = sq * sk / Float(g.hd).squareRoot()
        let rel: QRelPos? = g.relPos ? QRelPos(rh: rh, rw: rw, rhScale: sq * srh, rwScale: sq * srw) : nil
        let ref = filled(n * g.hd, Float.nan), refScratch = filled(n * 8 + 64, UInt8(0))
        defer { ref.deallocate(); refScratch.deallocate() }
        qs8_attention__scalar_ref(try QAttentionHead(gridH: g.h, gridW: g.w, headDim: g.hd, q: q, ldq: ld, zq: zq, k: k, ldk: ld,
                                                     zk: zk, v: v, ldv: ld, zv: zv, logitScale: logitScale, vScale: sv,
                                                     relPos: rel, validH: g.validH, validW: g.validW,
                                                     output: .f32(ref.baseAddress!, ld: g.hd)),
                                  queries: 0..<n, scratch: UnsafeMutableRawPointer(refScratch.baseAddress!))
        var kept = 0
        for i in 0..<n where !ref[i * g.hd].isNaN { kept += 1 }
        t.expectEqual(kept, g.validH * g.validW, gridName(g) + ": queries written by the reference")
        for blockRows in [1, 3, 64] {
            let out = filled(n * g.hd, Float.nan)
            defer { out.deallocate() }
            let head = try QAttentionHead(gridH: g.h, gridW: g.w, headDim: g.hd, q: q, ldq: ld, zq: zq, k: k, ldk: ld, zk: zk,
                                          v: v, ldv: ld, zv: zv, logitScale: logitScale, vScale: sv, relPos: rel,
                                          validH: g.validH, validW: g.validW, output: .f32(out.baseAddress!, ld: g.hd))
            let bytes = head.scratchBytes(blockRows: blockRows)
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 16)
            defer { scratch.deallocate() }
            let half = n / 2
            try head.run(queries: half..<n, blockRows: blockRows, scratch: scratch, scratchBytes: bytes)
            try head.run(queries: 0..<half, blockRows: blockRows, scratch: scratch, scratchBytes: bytes)
            var refused = false
            do throws(OpError) { try head.run(queries: 0..<n, blockRows: blockRows, scratch: scratch, scratchBytes: bytes - 1) }
            catch { refused = true }
            t.expect(refused, gridName(g) + ": a scratch one byte short was accepted")
            t.expectBitEqual(out, ref, "int8 attention " + gridName(g) + " block " + String(blockRows))
            // The graph's form: the head's operands prepared once, every block reading them.
            for i in 0..<n * g.hd { out[i] = .nan }
            let prepared = UnsafeMutableRawPointer.allocate(byteCount: head.preparedBytes, alignment: 64)
            defer { prepared.deallocate() }
            head.prepare(into: prepared)
            let smaller = head.scratchBytes(blockRows: blockRows, prepared: true)
            var start = 0
            while start < n {
                try head.run(queries: start..<min(n, start + blockRows), blockRows: blockRows, scratch: scratch,
                             scratchBytes: smaller, prepared: UnsafeRawPointer(prepared))
                start += blockRows
            }
            t.expectBitEqual(out, ref, "int8 attention " + gridName(g) + " block " + String(blockRows) + ", prepared")
        }
    }
}

func f32AttentionCases(_ t: inout TestContext) throws(OpError) {
    var rng = SelftestRNG(33)
    for g in attentionGrids {
        let n = g.h * g.w, ld = g.hd + 1
        let q = rng.floats(n * ld, -2, 2), k = rng.floats(n * ld, -2, 2), v = rng.floats(n * ld, -1, 1)
        let rh = rng.floats(g.h * g.h * g.hd, -0.3, 0.3), rw = rng.floats(g.w * g.w * g.hd, -0.3, 0.3)
        let scale = 1 / Float(g.hd).squareRoot()
        defer { withExtendedLifetime((q, k, v, rh, rw)) {} }
        let rel: FRelPos? = g.relPos ? FRelPos(rh: rh, rw: rw) : nil
        let ref = filled(n * g.hd, Float.nan), refScratch = filled(n, Float(0))
        defer { ref.deallocate(); refScratch.deallocate() }
        f32_attention__scalar_ref(try FAttentionHead(gridH: g.h, gridW: g.w, headDim: g.hd, q: q, ldq: ld, k: k, ldk: ld,
                                                     v: v, ldv: ld, scale: scale, relPos: rel, validH: g.validH,
                                                     validW: g.validW, output: .f32(ref.baseAddress!, ld: g.hd)),
                                  queries: 0..<n, scratch: refScratch.baseAddress!)
        for blockRows in [1, 5, 300] {
            let out = filled(n * g.hd, Float.nan)
            defer { out.deallocate() }
            let head = try FAttentionHead(gridH: g.h, gridW: g.w, headDim: g.hd, q: q, ldq: ld, k: k, ldk: ld, v: v, ldv: ld,
                                          scale: scale, relPos: rel, validH: g.validH, validW: g.validW,
                                          output: .f32(out.baseAddress!, ld: g.hd))
            let bytes = head.scratchBytes(blockRows: blockRows)
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 16)
            defer { scratch.deallocate() }
            try head.run(queries: 0..<n, blockRows: blockRows, scratch: scratch, scratchBytes: bytes)
            t.expectBitEqual(out, ref, "f32 attention " + gridName(g) + " block " + String(blockRows))
        }
    }
}

func resizeCases(_ t: inout TestContext) throws(OpError) {
    var rng = SelftestRNG(21)
    // Down, up, odd ratios, single pixels, 1 and 3 channels.
    for (sw, sh, c, dw, dh) in [(640, 480, 3, 512, 512), (7, 5, 3, 16, 11), (13, 9, 1, 5, 4), (1, 1, 3, 3, 2),
                                (33, 17, 3, 33, 17), (5, 8, 1, 1, 1)] {
        let what = "resize " + shapeName(sw, sh, c) + " -> " + shapeName(dw, dh)
        let src = rng.uint8s(sw * sh * c)
        let fast = filled(dw * dh * c, UInt8(0)), ref = filled(dw * dh * c, UInt8(0))
        let scratch = filled(Preprocess.resizeScratchCount(outWidth: dw, inWidth: sw, channels: c), Int32(0))
        defer { fast.deallocate(); ref.deallocate(); scratch.deallocate() }
        let mid = dh / 2
        try Preprocess.resizeBilinear(src, srcW: sw, srcH: sh, channels: c, into: fast.baseAddress!, dstW: dw, dstH: dh,
                                      rows: mid..<dh, scratch: scratch.baseAddress!)
        try Preprocess.resizeBilinear(src, srcW: sw, srcH: sh, channels: c, into: fast.baseAddress!, dstW: dw, dstH: dh,
                                      rows: 0..<mid, scratch: scratch.baseAddress!)
        Preprocess.resizeBilinear__scalar_ref(src, srcW: sw, srcH: sh, channels: c, into: ref.baseAddress!, dstW: dw, dstH: dh)
        t.expectSame(fast, ref, what)
        if sw == dw && sh == dh {
            // Same size: half-pixel centres map every pixel onto itself.
            var same = true
            for i in 0..<src.count where src[i] != ref[i] { same = false; break }
            t.expect(same, what + ": identity resize changed pixels")
        }
    }
}
