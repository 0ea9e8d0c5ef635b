import EdgeRuntime
import LiteModel

/// Every int8 GEMM variant this CPU runs against `qs8_gemm__scalar_ref` on the target (under qemu with
/// -cpu cortex-a76 for the dot-product kernel, -cpu cortex-a72 for plain NEON): exactly equal int32 results.
func registerQGemmKernelTests(_ registry: inout TestRegistry) {
    registry.add("Kernels/the expected variant is selected") { t in
        printLine("  int8 GEMM kernels: " + kernelNames(QGemmKernel.available) + "; selected " + QGemmKernel.selected.name)
        #if arch(arm64)
        t.expect(QGemmKernel.neon.isAvailable, "plain NEON must exist on every aarch64 build")
        let expected: QGemmKernel = QGemmKernel.neondotPacked.isAvailable ? .neondotPacked : .neon
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
    registry.add("Kernels/requantize epilogue through the blocked path") { t in
        var seed: UInt64 = 9
        let c = KernelCase(m: 37, n: 300, k: 77, seed: &seed)
        for kernel in fastKernels() {
            compareExact(&t, c.requant(kernel), c.requant(.scalarRef), kernel.name + " requant")
        }
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

    func requant(_ kernel: QGemmKernel) -> [Int8] {
        var out = [Int8](repeating: 0, count: m * n)
        var mult = [Int32](repeating: 0, count: n), shift = mult, bias = mult, zero = mult
        for c in 0..<n {
            mult[c] = Int32(1 << 30) + Int32(c * 7_654_321 % (1 << 30))
            shift[c] = Int32(37 + c % 4)
            bias[c] = Int32(c * 37 % 10_000 - 5000)
            zero[c] = Int32(c % 41 - 20)
        }
        withPacked(for: kernel) { pw in
        a.withUnsafeBufferPointer { a in w.withUnsafeBufferPointer { w in sums.withUnsafeBufferPointer { s in
            mult.withUnsafeBufferPointer { mu in shift.withUnsafeBufferPointer { sh in
                bias.withUnsafeBufferPointer { bi in zero.withUnsafeBufferPointer { ze in
                    out.withUnsafeMutableBufferPointer { o in
                        let p = QRequantParams(multiplier: mu.baseAddress!, shift: sh.baseAddress!, bias: bi.baseAddress!,
                                               zeroPoint: ze.baseAddress!)
                        guard let g = try? QGemm(m: m, n: n, k: k, a: a.baseAddress!, lda: lda, aZero: aZero,
                                                 w: w.baseAddress!, ldw: ldw, wRowSums: s.baseAddress!,
                                                 packed: pw, output: .requant(o.baseAddress!, ld: n, p)) else { return }
                        qs8GemmRun(g, rows: 0..<m, kernel: kernel)
                    }
                } }
            } }
        } } }
        }
        return out
    }
}
