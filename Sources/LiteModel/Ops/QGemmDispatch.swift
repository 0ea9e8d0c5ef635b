// Run-time choice of the int8 GEMM kernel: the CPU's features at first use (cpuid on x86-64, HWCAP on
// aarch64), overridable with EDGE_QGEMM_KERNEL=<name> or `QGemmKernel.force` (tests, benchmarks).
import CEdgeShim
import CKernels

/// The int8 GEMM kernel variants; every one computes exactly the same int32 accumulators.
public enum QGemmKernel: Int, CaseIterable {
    /// `qs8_gemm__scalar_ref`: the plain reference loop.
    case scalarRef
    /// `qs8_gemm_2x4__swift`: portable Swift, left to LLVM's vectorizer.
    case swift2x4
    /// `qs8_gemm_raw_4x4__avx512vnni` (x86-64 AVX-512 VNNI).
    case avx512vnni
    /// `qs8_gemm_packed_8x48c4__avx512vnni` (x86-64 AVX-512 VNNI) over weights packed at load; `avx512vnni` for a
    /// GEMM without them.
    case avx512vnniPacked
    /// `qs8_gemm_packed_4x16__avx2` (x86-64 AVX2) over weights packed at load; `avx2` for a GEMM without them.
    case avx2Packed
    /// `qs8_gemm_raw_2x4__avx2` (x86-64 AVX2).
    case avx2
    /// `qs8_gemm_raw_4x4__neondot` (AArch64 with the dot-product extension).
    case neondot
    /// `qs8_gemm_packed_4x16c4__neondot` (AArch64 with the dot-product extension) over weights packed at load;
    /// `neondot` for a GEMM without them.
    case neondotPacked
    /// `qs8_gemm_raw_2x4__neon` (AArch64 baseline NEON).
    case neon
    /// `qs8_gemm_packed_4x16c4__neon_mlal_lane` (AArch64 baseline NEON) over weights packed at load; `neon` for a
    /// GEMM without them.
    case neonPacked

    /// The name used by EDGE_QGEMM_KERNEL and in benchmark output.
    public var name: String {
        switch self {
        case .scalarRef: return "scalar_ref"
        case .swift2x4: return "swift_2x4"
        case .avx512vnni: return "avx512vnni_4x4"
        case .avx512vnniPacked: return "avx512vnni_packed_8x48"
        case .avx2Packed: return "avx2_packed_4x16"
        case .avx2: return "avx2_2x4"
        case .neondot: return "neondot_4x4"
        case .neondotPacked: return "neondot_packed_4x16"
        case .neon: return "neon_2x4"
        case .neonPacked: return "neon_packed_4x16"
        }
    }

    /// Whether this CPU (and this build) can run the variant.
    public var isAvailable: Bool {
        switch self {
        case .scalarRef, .swift2x4: return true
        case .avx512vnni, .avx512vnniPacked: return ckernels_has_x86() != 0 && edge_cpu_has_avx512vnni() != 0
        case .avx2, .avx2Packed: return ckernels_has_x86() != 0 && edge_cpu_has_avx2() != 0
        case .neondot, .neondotPacked: return ckernels_has_neondot() != 0 && (edge_hwcap() & (1 << 20)) != 0  // HWCAP_ASIMDDP
        case .neon, .neonPacked: return ckernels_has_aarch64() != 0
        }
    }

    /// Every variant this CPU can run, fastest-preferred first.
    public static var available: [QGemmKernel] {
        [.avx512vnniPacked, .avx512vnni, .avx2Packed, .avx2, .neondotPacked, .neondot, .neonPacked, .neon, .swift2x4,
         .scalarRef].filter { $0.isAvailable }
    }

    /// The layout of the weights the variant reads packed at load (`QGemm.packed`); the graph packs only for these.
    public var packLayout: QPackLayout? {
        switch self {
        case .avx2Packed: return .panels8c2
        case .avx512vnniPacked, .neondotPacked, .neonPacked: return .panels16c4
        default: return nil
        }
    }

    /// Whether the variant reads weights packed at load (`QGemm.packed`); the graph packs them only then.
    public var usesPackedWeights: Bool { packLayout != nil }

    /// The variant `QGemm.run` uses: forced, else EDGE_QGEMM_KERNEL when it names an available one, else the best.
    public static var selected: QGemmKernel {
        if let k = forced { return k }
        if let k = detected { return k }
        var choice = available[0]
        if let raw = getenv("EDGE_QGEMM_KERNEL") {
            let wanted = String(cString: raw)
            for k in available where k.name == wanted || k.name.hasPrefix(wanted + "_") { choice = k }
        }
        detected = choice
        return choice
    }

    /// Forces a variant (nil returns to the detected one); the caller must not race it with running GEMMs.
    public static func force(_ kernel: QGemmKernel?) { forced = kernel }

    nonisolated(unsafe) private static var forced: QGemmKernel?
    nonisolated(unsafe) private static var detected: QGemmKernel?
}

/// Runs `g` over `rows` with `kernel` (which must be available); a packed variant on a GEMM without weights
/// packed in its layout (attention's Q·K^T and P·V, whose operands change every frame, or weights packed for
/// another variant) runs its unpacked sibling.
public func qs8GemmRun(_ g: QGemm, rows: Range<Int>, kernel: QGemmKernel) {
    switch kernel {
    case .scalarRef: qs8_gemm__scalar_ref(g, rows: rows)
    case .swift2x4: qs8_gemm_2x4__swift(g, rows: rows)
    case .avx2Packed, .avx512vnniPacked, .neondotPacked, .neonPacked:
        let rows = rows.clamped(to: 0..<g.m)
        // qs8GemmC runs a packed variant's unpacked sibling (qs8GemmRaw maps them).
        guard let packed = g.packed, packed.layout == kernel.packLayout else { return qs8GemmC(g, rows: rows, kernel: kernel) }
        switch kernel {
        case .avx2Packed: qs8GemmPacked(g, rows: rows, packed: packed)
        case .avx512vnniPacked: qs8GemmPackedVNNI(g, rows: rows, packed: packed)
        case .neondotPacked: qs8GemmPackedNeon(g, rows: rows, packed: packed, dot: true)
        default: qs8GemmPackedNeon(g, rows: rows, packed: packed, dot: false)
        }
    default: qs8GemmC(g, rows: rows.clamped(to: 0..<g.m), kernel: kernel)
    }
}

/// How a packed kernel wants its weights laid out (packed once at load).
public enum QPackLayout: Int32 {
    /// `qs8_pack_8c2`: panels of 8 columns, pairs of k (the AVX2 kernel).
    case panels8c2 = 1
    /// `qs8_pack_16c4`: panels of 16 columns, quads of k (the AVX-512 VNNI and NEON dot-product kernels).
    case panels16c4 = 2

    /// Columns per panel: a column block of the packed weights must start at a multiple of it.
    public var panelColumns: Int { self == .panels8c2 ? 8 : 16 }
    /// k per group, the unit K is rounded up to.
    public var kGroup: Int { self == .panels8c2 ? 2 : 4 }
}

/// Weights packed at load for one packed kernel layout.
public struct QPackedWeights {
    public let bytes: UnsafePointer<Int8>
    public let layout: QPackLayout
    public init(_ bytes: UnsafePointer<Int8>, layout: QPackLayout) { self.bytes = bytes; self.layout = layout }
}

/// Bytes of `N x K` weights packed by `qs8PackWeights` in `layout`.
public func qs8PackedBytes(n: Int, k: Int, layout: QPackLayout) -> Int {
    switch layout {
    case .panels8c2: return qs8_packed_8c2_bytes(Int32(n), Int32(k))
    case .panels16c4: return qs8_packed_16c4_bytes(Int32(n), Int32(k))
    }
}

/// Packs `w[N, K]` (rows `ldw` apart) into `packed` (`qs8PackedBytes(n:k:layout:)` bytes) for `QGemm.packed`.
public func qs8PackWeights(_ w: UnsafePointer<Int8>, n: Int, k: Int, ldw: Int? = nil, layout: QPackLayout,
                           into packed: UnsafeMutablePointer<Int8>) {
    switch layout {
    case .panels8c2: qs8_pack_8c2(Int32(n), Int32(k), w, ldw ?? k, packed)
    case .panels16c4: qs8_pack_16c4(Int32(n), Int32(k), w, ldw ?? k, packed)
    }
}

/// Bytes of `N x K` weights packed by `qs8PackWeights(_:n:k:blocks:layout:into:)`.
public func qs8PackedBytes(n: Int, k: Int, blocks: Int, layout: QPackLayout) -> Int {
    blocks * qs8PackedBytes(n: n / blocks, k: k, layout: layout)
}

/// Packs `w[N, K]` as `blocks` row blocks of `N / blocks` rows, each packed on its own, one after another, so
/// each block's GEMM starts on a panel edge whatever its height (a transposed conv's tap pairs).
public func qs8PackWeights(_ w: UnsafePointer<Int8>, n: Int, k: Int, blocks: Int, layout: QPackLayout,
                           into packed: UnsafeMutablePointer<Int8>) {
    let rows = n / blocks, bytes = qs8PackedBytes(n: rows, k: k, layout: layout)
    for b in 0..<blocks { qs8PackWeights(w + b * rows * k, n: rows, k: k, layout: layout, into: packed + b * bytes) }
}

/// `packed` advanced to output column `column`, or nil when the column is not at a panel edge.
public func qs8PackedColumns(_ packed: QPackedWeights?, k: Int, from column: Int) -> QPackedWeights? {
    guard let packed, column % packed.layout.panelColumns == 0 else { return nil }
    let g = packed.layout.kGroup
    return QPackedWeights(packed.bytes + column * ((k + g - 1) / g * g), layout: packed.layout)
}

/// The packed AVX2 kernel: raw, dequantized and (K <= 1024) requantized outputs straight from the kernel (its
/// epilogues are NUMERICS 3.3 and 3.4 bit for bit); requantized ones with a longer K through 8 x 32 blocks of
/// accumulators on the stack and the Swift epilogue.
func qs8GemmPacked(_ g: QGemm, rows: Range<Int>, packed weights: QPackedWeights) {
    guard !rows.isEmpty else { return }
    let packed = weights.bytes, a = g.a + rows.lowerBound * g.lda, k32 = Int32(g.k)
    switch g.output {
    case .raw(let out, let ld):
        qs8_gemm_packed_4x16__avx2(Int32(rows.count), Int32(g.n), k32, a, g.lda, g.aZero, packed,
                                  out + rows.lowerBound * ld, ld)
    case .dequant(let out, let ld, let p):
        qs8_gemm_packed_4x16_dequant__avx2(Int32(rows.count), Int32(g.n), k32, a, g.lda, g.aZero, packed,
                                          p.scale, p.bias, out + rows.lowerBound * ld, ld)
    case .requant(let out, let ld, let p) where g.k <= Int(QS8_PACKED_MAX_K_REQUANT):
        let cols = qs8_requant_cols(multiplier: p.multiplier, shift: p.shift, bias: p.bias, zero_point: p.zeroPoint)
        qs8_gemm_packed_4x16_requant__avx2(Int32(rows.count), Int32(g.n), k32, a, g.lda, g.aZero, packed, cols,
                                           out + rows.lowerBound * ld, ld)
    case .requant:
        // Longer K: 8 x 32 accumulators = 1 KiB (the most withUnsafeTemporaryAllocation keeps on the stack)
        // through the Swift epilogue.
        qs8BlockedEpilogue(g, rows: rows, mc: 8, nc: 32) { acc, i, c, mr, nr in
            qs8_gemm_packed_4x16__avx2(Int32(mr), Int32(nr), k32, g.a + i * g.lda, g.lda, g.aZero,
                                      qs8PackedColumns(weights, k: g.k, from: c)!.bytes, acc, nr)
        }
    }
}

/// The packed AVX-512 VNNI kernel, as `qs8GemmPacked` does the AVX2 one (the column sums from `g.wRowSums`).
func qs8GemmPackedVNNI(_ g: QGemm, rows: Range<Int>, packed weights: QPackedWeights) {
    guard !rows.isEmpty else { return }
    let packed = weights.bytes, a = g.a + rows.lowerBound * g.lda, k32 = Int32(g.k), n32 = Int32(g.n)
    switch g.output {
    case .raw(let out, let ld):
        qs8_gemm_packed_8x48c4__avx512vnni(Int32(rows.count), n32, k32, a, g.lda, g.aZero, packed, g.wRowSums,
                                          out + rows.lowerBound * ld, ld)
    case .dequant(let out, let ld, let p):
        qs8_gemm_packed_8x48c4_dequant__avx512vnni(Int32(rows.count), n32, k32, a, g.lda, g.aZero, packed, g.wRowSums,
                                                  p.scale, p.bias, out + rows.lowerBound * ld, ld)
    case .requant(let out, let ld, let p) where g.k <= Int(QS8_PACKED_MAX_K_REQUANT):
        let cols = qs8_requant_cols(multiplier: p.multiplier, shift: p.shift, bias: p.bias, zero_point: p.zeroPoint)
        qs8_gemm_packed_8x48c4_requant__avx512vnni(Int32(rows.count), n32, k32, a, g.lda, g.aZero, packed, g.wRowSums,
                                                  cols, out + rows.lowerBound * ld, ld)
    case .requant:
        qs8BlockedEpilogue(g, rows: rows, mc: 8, nc: 32) { acc, i, c, mr, nr in
            qs8_gemm_packed_8x48c4__avx512vnni(Int32(mr), Int32(nr), k32, g.a + i * g.lda, g.lda, g.aZero,
                                              qs8PackedColumns(weights, k: g.k, from: c)!.bytes, g.wRowSums + c, acc, nr)
        }
    }
}

/// The packed AArch64 kernels (`sdot` when `dot`, else `smlal` by lane), as `qs8GemmPacked` does the AVX2 one:
/// raw, dequantized and (K <= 1024) requantized outputs straight from the kernel.
func qs8GemmPackedNeon(_ g: QGemm, rows: Range<Int>, packed weights: QPackedWeights, dot: Bool) {
    guard !rows.isEmpty else { return }
    let packed = weights.bytes, a = g.a + rows.lowerBound * g.lda, m32 = Int32(rows.count), n32 = Int32(g.n)
    let k32 = Int32(g.k)
    switch g.output {
    case .raw(let out, let ld):
        let o = out + rows.lowerBound * ld
        if dot { qs8_gemm_packed_4x16c4__neondot(m32, n32, k32, a, g.lda, g.aZero, packed, g.wRowSums, o, ld) }
        else { qs8_gemm_packed_4x16c4__neon_mlal_lane(m32, n32, k32, a, g.lda, g.aZero, packed, o, ld) }
    case .dequant(let out, let ld, let p):
        let o = out + rows.lowerBound * ld
        if dot {
            qs8_gemm_packed_4x16c4_dequant__neondot(m32, n32, k32, a, g.lda, g.aZero, packed, g.wRowSums, p.scale,
                                                    p.bias, o, ld)
        } else {
            qs8_gemm_packed_4x16c4_dequant__neon_mlal_lane(m32, n32, k32, a, g.lda, g.aZero, packed, p.scale, p.bias,
                                                           o, ld)
        }
    case .requant(let out, let ld, let p) where g.k <= Int(QS8_PACKED_MAX_K_REQUANT):
        let cols = qs8_requant_cols(multiplier: p.multiplier, shift: p.shift, bias: p.bias, zero_point: p.zeroPoint)
        let o = out + rows.lowerBound * ld
        if dot { qs8_gemm_packed_4x16c4_requant__neondot(m32, n32, k32, a, g.lda, g.aZero, packed, g.wRowSums, cols, o, ld) }
        else { qs8_gemm_packed_4x16c4_requant__neon_mlal_lane(m32, n32, k32, a, g.lda, g.aZero, packed, cols, o, ld) }
    case .requant:
        // Longer K: 4 x 64 accumulators = 1 KiB on the stack through the Swift epilogue.
        qs8BlockedEpilogue(g, rows: rows, mc: 4, nc: 64) { acc, i, c, mr, nr in
            let w = qs8PackedColumns(weights, k: g.k, from: c)!.bytes, a = g.a + i * g.lda
            if dot {
                qs8_gemm_packed_4x16c4__neondot(Int32(mr), Int32(nr), k32, a, g.lda, g.aZero, w, g.wRowSums + c, acc,
                                                nr)
            } else {
                qs8_gemm_packed_4x16c4__neon_mlal_lane(Int32(mr), Int32(nr), k32, a, g.lda, g.aZero, w, acc, nr)
            }
        }
    }
}

@inline(__always)
func qs8GemmRaw(_ kernel: QGemmKernel, m: Int, n: Int, k: Int, a: UnsafePointer<Int8>, lda: Int, aZero: Int32,
                w: UnsafePointer<Int8>, ldw: Int, wSum: UnsafePointer<Int32>, out: UnsafeMutablePointer<Int32>, ldo: Int) {
    let m32 = Int32(m), n32 = Int32(n), k32 = Int32(k)
    switch kernel {
    case .avx512vnni, .avx512vnniPacked: qs8_gemm_raw_4x4__avx512vnni(m32, n32, k32, a, lda, aZero, w, ldw, wSum, out, ldo)
    case .avx2, .avx2Packed: qs8_gemm_raw_2x4__avx2(m32, n32, k32, a, lda, aZero, w, ldw, wSum, out, ldo)
    case .neondot, .neondotPacked: qs8_gemm_raw_4x4__neondot(m32, n32, k32, a, lda, aZero, w, ldw, wSum, out, ldo)
    case .neon, .neonPacked: qs8_gemm_raw_2x4__neon(m32, n32, k32, a, lda, aZero, w, ldw, wSum, out, ldo)
    case .scalarRef, .swift2x4: break
    }
}

/// A C kernel: straight into a raw output, else blocks of accumulators on the stack through the epilogue.
func qs8GemmC(_ g: QGemm, rows: Range<Int>, kernel: QGemmKernel) {
    guard !rows.isEmpty else { return }
    if case .raw(let out, let ld) = g.output {
        qs8GemmRaw(kernel, m: rows.count, n: g.n, k: g.k, a: g.a + rows.lowerBound * g.lda, lda: g.lda, aZero: g.aZero,
                   w: g.w, ldw: g.ldw, wSum: g.wRowSums, out: out + rows.lowerBound * ld, ldo: ld)
        return
    }
    // 4 x 64 accumulators = 1 KiB: the stdlib keeps temporary allocations of at most 1 KiB on the stack; a larger
    // block (16 x 128 was tried) goes to the heap on every call, which suite 31-engine-alloc catches.
    qs8BlockedEpilogue(g, rows: rows, mc: 4, nc: 64) { acc, i, c, mr, nr in
        qs8GemmRaw(kernel, m: mr, n: nr, k: g.k, a: g.a + i * g.lda, lda: g.lda, aZero: g.aZero,
                   w: g.w + c * g.ldw, ldw: g.ldw, wSum: g.wRowSums + c, out: acc, ldo: nr)
    }
}

/// Runs `block(acc, row, col, rows, cols)` over `mc x nc` tiles of `rows x 0..<g.n` into stack accumulators
/// (`mc * nc` Int32 must stay <= 1 KiB, or the temporary allocation moves to the heap) and stores each tile
/// through the Swift epilogue.
@inline(__always)
func qs8BlockedEpilogue(_ g: QGemm, rows: Range<Int>, mc: Int, nc: Int,
                        _ block: (UnsafeMutablePointer<Int32>, Int, Int, Int, Int) -> Void) {
    withUnsafeTemporaryAllocation(of: Int32.self, capacity: mc * nc) { buffer in
        let acc = buffer.baseAddress!
        var i = rows.lowerBound
        while i < rows.upperBound {
            let mr = min(mc, rows.upperBound - i)
            var c = 0
            while c < g.n {
                let nr = min(nc, g.n - c)
                block(acc, i, c, mr, nr)
                g.storeBlock(acc, rows: mr, cols: nr, row: i, col: c)
                c += nr
            }
            i += mr
        }
    }
}

extension QGemm {
    /// Writes a block of finished accumulators (`rows x cols`, packed) at (`row`, `col`) through the epilogue,
    /// choosing the epilogue once per block so each row is one tight loop (`store`'s arithmetic, bit for bit).
    @inline(__always)
    func storeBlock(_ acc: UnsafePointer<Int32>, rows: Int, cols: Int, row: Int, col: Int) {
        switch output {
        case .dequant(let out, let ld, let p):
            let scale = p.scale + col, bias = p.bias + col
            for r in 0..<rows {
                let o = out + (row + r) * ld + col, x = acc + r * cols
                for q in 0..<cols { o[q] = dequantize(x[q], scale: scale[q], bias: bias[q]) }
            }
        case .requant(let out, let ld, let p):
            let mult = p.multiplier + col, shift = p.shift + col, bias = p.bias + col, zero = p.zeroPoint + col
            for r in 0..<rows {
                let o = out + (row + r) * ld + col, x = acc + r * cols
                for q in 0..<cols {
                    o[q] = requantize(x[q], multiplier: mult[q], shift: shift[q], bias: bias[q], zeroPoint: zero[q])
                }
            }
        case .raw(let out, let ld):
            for r in 0..<rows { (out + (row + r) * ld + col).update(from: acc + r * cols, count: cols) }
        }
    }
}
