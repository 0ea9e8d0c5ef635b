import EdgeRuntime
import LiteModel

/// Every int8 GEMM variant this CPU runs against `qs8_gemm__scalar_ref` on the target (under qemu with
/// -cpu cortex-a76 for the dot-product kernel, -cpu cortex-a72 for plain NEON): exactly equal int32 results.
func registerQGemmKernelTests(_ registry: inout TestRegistry) {
    registry.add("Kernels/the expected variant is selected") { t in
        printLine("  int8 GEMM kernels: " + kernelNames(QGemmKernel.available) + "; selected " + QGemmKernel.selected.name)
        #if arch(arm64)
        t.expect(QGemmKernel.neon.isAvailable, "plain NEON must exist on every aarch64 build")
        t.expect(QGemmKernel.neonPacked.isAvailable, "the packed plain NEON kernel must exist on every aarch64 build")
        let expected: QGemmKernel = QGemmKernel.neondotPacked.isAvailable ? .neondotPacked : .neonPacked
        t.expect(QGemmKernel.selected == expected, "selected " + QGemmKernel.selected.name + ", expected " + expected.name)
        #else
        t.expect(QGemmKernel.selected.isAvailable, "the selected kernel must be available")
        #endif
    }
    registry.add("Kernels/raw accumulators equal the reference on awkward shapes") { t in
        var seed: UInt64 = 6
        let shapes: [(Int, Int, Int)] = [(1, 1, 1), (1, 1, 15), (1, 1, 16), (1, 1, 17), (2, 3, 5), (3, 5, 17), (4, 4, 16),
                                         (5, 7, 129), (6, 9, 192), (7, 1, 320), (1, 13, 15), (9, 6, 1), (17, 19, 200),
                                         (4, 8, 768), (3, 5, 4099),
                                         // the packed 4x16 and 8x48 kernels: M around 4 and 8, N around 8, 16 and
                                         // 48, K not a multiple of 4, K across their 1024-long activation chunks
                                         (8, 8, 2), (9, 15, 31), (16, 17, 1023), (11, 9, 1025), (5, 24, 2049), (1, 8, 1),
                                         (8, 48, 64), (9, 49, 33), (7, 47, 6), (17, 97, 258), (8, 64, 1027)]
        for kernel in fastKernels() {
            for (m, n, k) in shapes {
                let c = KernelCase(m: m, n: n, k: k, seed: &seed)
                compareExact(&t, c.run(kernel), c.run(.scalarRef), kernel.name + " " + shapeText(m, n, k))
            }
        }
    }
    registry.add("Kernels/extreme values at the largest K") { t in
        var seed: UInt64 = 7
        let extremes: [(Int8, Int8, Int32)] = [(-128, -128, 127), (127, -128, -128), (127, 127, -128), (-128, 127, 127)]
        for kernel in fastKernels() {
            for (fa, fw, z) in extremes {
                let c = KernelCase(m: 3, n: 5, k: 1 << 15, seed: &seed, aZero: z, fillA: fa, fillW: fw)
                let ref = c.run(.scalarRef)
                t.expectEqual(ref[0], (Int32(fa) - z) * Int32(fw) * Int32(1 << 15), "reference sum")
                compareExact(&t, c.run(kernel), ref, kernel.name + " a=" + String(fa) + " w=" + String(fw) + " z=" + String(z))
            }
        }
    }
    registry.add("Kernels/both epilogues equal the reference") { t in
        var rng = SelftestRNG(9)
        // M and N off every tile, K of one chunk, exactly 1024, and across chunks (requant then takes the blocked
        // path through the raw kernel).
        for (m, n, k) in [(37, 300, 77), (16, 128, 64), (1, 129, 3), (9, 33, 1500), (8, 8, 1025), (5, 17, 1024)] {
            var seed = UInt64(m * 7919 + n * 31 + k)
            let c = KernelCase(m: m, n: n, k: k, seed: &seed)
            var e = EpilogueConstants(n: n, rng: &rng, longK: k > 500)
            let ref = c.epilogues(.scalarRef, e)
            var distinct = Set<Int8>()
            for q in ref.requant { distinct.insert(q) }
            t.expect(distinct.count > min(20, m * n / 4), "requant outputs should spread over int8 " + shapeText(m, n, k))
            for kernel in fastKernels() {
                let got = c.epilogues(kernel, e)
                compareExact(&t, got.dequant, ref.dequant, kernel.name + " dequant " + shapeText(m, n, k))
                compareExact(&t, got.requant, ref.requant, kernel.name + " requant " + shapeText(m, n, k))
            }
            e.scale[0] = 0  // the test can fail: a changed constant changes the reference
            t.expect(c.epilogues(.scalarRef, e).dequant != ref.dequant, "dequant must read its scale")
        }
    }
    registry.add("Kernels/requantize with extreme constants") { t in
        // Multipliers 0, Int32.min/max and random, every shift 0...63, biases and zero points anywhere in Int32,
        // extreme inputs: the fused epilogues' 64-bit arithmetic and saturation against `requantize`.
        var rng = SelftestRNG(11)
        for (m, n, k, fill) in [(9, 64, 40, nil), (5, 23, 1024, Int8(-128)), (4, 17, 3, Int8(127))] as [(Int, Int, Int, Int8?)] {
            var seed = UInt64(n)
            let c = KernelCase(m: m, n: n, k: k, seed: &seed, aZero: fill.map { $0 < 0 ? 127 : -128 }, fillA: fill,
                               fillW: fill)
            var e = EpilogueConstants(n: n, rng: &rng, longK: false)
            let special: [Int32] = [0, Int32.min, Int32.max]
            for i in 0..<n {
                let any32 = Int32(truncatingIfNeeded: rng.next())
                e.mult[i] = i % 4 == 3 ? special[(i / 4) % 3] : any32
                e.qbias[i] = Int32(truncatingIfNeeded: rng.next())
                e.zout[i] = i % 2 == 0 ? Int32(rng.int(-300...300)) : Int32(truncatingIfNeeded: rng.next())
                e.shift[i] = Int32(i % 64)
            }
            let ref = c.epilogues(.scalarRef, e).requant
            if fill == nil {
                var distinct = Set<Int8>()
                for q in ref { distinct.insert(q) }
                t.expect(distinct.count > 2, "requant outputs should not all clamp")
            }
            for kernel in fastKernels() {
                compareExact(&t, c.epilogues(kernel, e).requant, ref, kernel.name + " extreme requant " + shapeText(m, n, k))
            }
        }
    }
    registry.add("Kernels/packed variants read the packed weights") { t in
        // A packed variant must compute from `QGemm.packed`, not fall back to its unpacked sibling: weights packed
        // from another matrix change its result.
        var seed: UInt64 = 10
        let c = KernelCase(m: 13, n: 29, k: 45, seed: &seed)
        var swapped = c
        let other = KernelCase(m: 13, n: 29, k: 45, seed: &seed)
        swapped.packed8c2 = other.packed8c2
        swapped.packed16c4 = other.packed16c4
        let ref = c.run(.scalarRef)
        for kernel in QGemmKernel.available where kernel.usesPackedWeights {
            compareExact(&t, c.run(kernel), ref, kernel.name + " packed")
            t.expect(swapped.run(kernel) != ref, kernel.name + " must read the packed weights")
        }
    }
}

/// Per-column constants of both epilogues (NUMERICS 3.3 and 3.4), random in the ranges the converter writes.
struct EpilogueConstants {
    var scale: [Float], fbias: [Float], mult: [Int32], shift: [Int32], qbias: [Int32], zout: [Int32]

    init(n: Int, rng: inout SelftestRNG, longK: Bool) {
        scale = rng.floats(n, 1e-4, 1e-2)
        fbias = rng.floats(n, -1, 1)
        mult = (0..<n).map { _ in Int32(rng.int((1 << 30)...Int(Int32.max))) }
        // Long K: larger sums, so larger shifts keep the requantized values spread over int8.
        shift = (0..<n).map { _ in Int32(rng.int(longK ? 41...44 : 36...42)) }
        qbias = (0..<n).map { _ in Int32(rng.int(-5000...5000)) }
        zout = (0..<n).map { _ in Int32(rng.int(-20...20)) }
    }
}

func fastKernels() -> [QGemmKernel] { QGemmKernel.available.filter { $0 != .scalarRef } }

func kernelNames(_ kernels: [QGemmKernel]) -> String {
    var text = ""
    for k in kernels { text += (text.isEmpty ? "" : ", ") + k.name }
    return text
}

func shapeText(_ m: Int, _ n: Int, _ k: Int) -> String {
    "m=" + String(m) + " n=" + String(n) + " k=" + String(k)
}

func compareExact<T: BinaryInteger>(_ t: inout TestContext, _ got: [T], _ want: [T], _ what: String) {
    guard got.count == want.count else { return t.fail(what + ": sizes differ") }
    for i in 0..<got.count where got[i] != want[i] {
        return t.fail(what + ": index " + String(i) + " got " + String(got[i]) + ", expected " + String(want[i]))
    }
}

/// One GEMM's inputs from a small LCG (no Foundation on the target).
struct KernelCase {
    let m: Int, n: Int, k: Int, lda: Int, ldw: Int, aZero: Int32
    var a: [Int8], w: [Int8], sums: [Int32]
    /// `w` packed at "load" by `qs8PackWeights` in each layout (read by the packed variants, ignored by the others).
    var packed8c2: [Int8], packed16c4: [Int8]

    init(m: Int, n: Int, k: Int, seed: inout UInt64, aZero: Int32? = nil, fillA: Int8? = nil, fillW: Int8? = nil) {
        func next(_ s: inout UInt64) -> Int {
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Int(truncatingIfNeeded: s >> 33)
        }
        self.m = m; self.n = n; self.k = k
        lda = k + next(&seed) % 5
        ldw = k + next(&seed) % 3
        self.aZero = aZero ?? Int32(next(&seed) % 256 - 128)
        a = [Int8](repeating: fillA ?? 0, count: m * lda)
        w = [Int8](repeating: fillW ?? 0, count: n * ldw)
        if fillA == nil { for i in 0..<a.count { a[i] = Int8(truncatingIfNeeded: next(&seed)) } }
        if fillW == nil { for i in 0..<w.count { w[i] = Int8(truncatingIfNeeded: next(&seed)) } }
        sums = [Int32](repeating: 0, count: n)
        packed8c2 = [Int8](repeating: 0, count: qs8PackedBytes(n: n, k: k, layout: .panels8c2))
        packed16c4 = [Int8](repeating: 0, count: qs8PackedBytes(n: n, k: k, layout: .panels16c4))
        let (n, k, ldw) = (n, k, ldw)
        w.withUnsafeBufferPointer { wp in
            sums.withUnsafeMutableBufferPointer { qs8RowSums(wp.baseAddress!, n: n, k: k, ldw: ldw, into: $0.baseAddress!) }
        }
        w.withUnsafeBufferPointer { wp in
            packed8c2.withUnsafeMutableBufferPointer {
                qs8PackWeights(wp.baseAddress!, n: n, k: k, ldw: ldw, layout: .panels8c2, into: $0.baseAddress!)
            }
            packed16c4.withUnsafeMutableBufferPointer {
                qs8PackWeights(wp.baseAddress!, n: n, k: k, ldw: ldw, layout: .panels16c4, into: $0.baseAddress!)
            }
        }
    }

    /// Calls `body` with the weights packed as `kernel` reads them (nil for an unpacked kernel).
    func withPacked<R>(for kernel: QGemmKernel, _ body: (QPackedWeights?) -> R) -> R {
        switch kernel.packLayout {
        case .panels8c2?: return packed8c2.withUnsafeBufferPointer { body(QPackedWeights($0.baseAddress!, layout: .panels8c2)) }
        case .panels16c4?: return packed16c4.withUnsafeBufferPointer { body(QPackedWeights($0.baseAddress!, layout: .panels16c4)) }
        case nil: return body(nil)
        }
    }

    func run(_ kernel: QGemmKernel) -> [Int32] {
        var out = [Int32](repeating: Int32.min, count: m * n)
        withPacked(for: kernel) { p in
        a.withUnsafeBufferPointer { a in
            w.withUnsafeBufferPointer { w in
                sums.withUnsafeBufferPointer { s in
                    out.withUnsafeMutableBufferPointer { o in
                        guard let g = try? QGemm(m: m, n: n, k: k, a: a.baseAddress!, lda: lda, aZero: aZero,
                                                 w: w.baseAddress!, ldw: ldw, wRowSums: s.baseAddress!,
                                                 packed: p, output: .raw(o.baseAddress!, ld: n)) else { return }
                        qs8GemmRun(g, rows: 0..<m, kernel: kernel)
                    }
                }
            }
        }
        }
        return out
    }

    /// Both epilogues of `kernel` with the constants `e`: the float outputs' bit patterns and the int8 outputs.
    func epilogues(_ kernel: QGemmKernel, _ e: EpilogueConstants) -> (dequant: [UInt32], requant: [Int8]) {
        var f = [Float](repeating: .nan, count: m * n), q = [Int8](repeating: 0, count: m * n)
        withPacked(for: kernel) { pw in
        a.withUnsafeBufferPointer { a in w.withUnsafeBufferPointer { w in sums.withUnsafeBufferPointer { s in
            e.scale.withUnsafeBufferPointer { sc in e.fbias.withUnsafeBufferPointer { fb in
            e.mult.withUnsafeBufferPointer { mu in e.shift.withUnsafeBufferPointer { sh in
            e.qbias.withUnsafeBufferPointer { qb in e.zout.withUnsafeBufferPointer { zo in
            f.withUnsafeMutableBufferPointer { fo in q.withUnsafeMutableBufferPointer { qo in
                let deq = QDequantParams(scale: sc.baseAddress!, bias: fb.baseAddress!)
                let req = QRequantParams(multiplier: mu.baseAddress!, shift: sh.baseAddress!, bias: qb.baseAddress!,
                                         zeroPoint: zo.baseAddress!)
                for output in [QGemmOutput.dequant(fo.baseAddress!, ld: n, deq), .requant(qo.baseAddress!, ld: n, req)] {
                    guard let g = try? QGemm(m: m, n: n, k: k, a: a.baseAddress!, lda: lda, aZero: aZero,
                                             w: w.baseAddress!, ldw: ldw, wRowSums: s.baseAddress!,
                                             packed: pw, output: output) else { return }
                    qs8GemmRun(g, rows: 0..<m, kernel: kernel)
                }
            } }
            } }
            } }
            } }
        } } }
        }
        return (f.map { $0.bitPattern }, q)
    }
}
