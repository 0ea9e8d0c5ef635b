// Int8 GEMM of NUMERICS 3.2-3.4: C[M, N] = (A[M, K] - z_a) x W[N, K]^T with an int32 accumulator and
// one of two epilogues (dequantize to fp32, or requantize to int8 with a fixed-point multiplier).

/// Epilogue A of NUMERICS 3.3: `y[c] = Float(acc[c]) * scale[c] + bias[c]` (two rounded ops).
public struct QDequantParams {
    /// Per-output-channel multiplier `m[c]` (float32 of `s_a * s_w[c]`), N values.
    public var scale: UnsafePointer<Float>
    /// Per-output-channel fp32 bias, N values (zeros where the layer has none).
    public var bias: UnsafePointer<Float>

    public init(scale: UnsafePointer<Float>, bias: UnsafePointer<Float>) {
        self.scale = scale
        self.bias = bias
    }
}

/// Epilogue B of NUMERICS 3.4: integer requantization with `M[c]`, `sh[c]`, `bq[c]` and `z_out[c]`.
public struct QRequantParams {
    /// Fixed-point multipliers `M[c]` in [2^30, 2^31) (or 0), N values.
    public var multiplier: UnsafePointer<Int32>
    /// Right shifts `sh[c]` in [1, 62], N values.
    public var shift: UnsafePointer<Int32>
    /// Int32 biases `bq[c]`, N values.
    public var bias: UnsafePointer<Int32>
    /// Output zero points `z_out[c]`, N values.
    public var zeroPoint: UnsafePointer<Int32>

    public init(multiplier: UnsafePointer<Int32>, shift: UnsafePointer<Int32>,
                bias: UnsafePointer<Int32>, zeroPoint: UnsafePointer<Int32>) {
        self.multiplier = multiplier
        self.shift = shift
        self.bias = bias
        self.zeroPoint = zeroPoint
    }
}

/// Where a GEMM's results go: through epilogue A, epilogue B, or raw int32 (for tests and composites).
public enum QGemmOutput {
    /// fp32 rows `ld` floats apart, through epilogue A.
    case dequant(UnsafeMutablePointer<Float>, ld: Int, QDequantParams)
    /// int8 rows `ld` bytes apart, through epilogue B.
    case requant(UnsafeMutablePointer<Int8>, ld: Int, QRequantParams)
    /// The int32 accumulators themselves, rows `ld` apart.
    case raw(UnsafeMutablePointer<Int32>, ld: Int)
}

/// Requantizes one accumulator per NUMERICS 3.4 (64-bit product, rounding term, arithmetic shift).
@inlinable @inline(__always)
public func requantize(_ acc: Int32, multiplier: Int32, shift: Int32, bias: Int32, zeroPoint: Int32) -> Int8 {
    let a = Int64(acc) &+ Int64(bias)
    let sh = Int64(shift)
    let rounding: Int64 = 1 &<< (sh &- 1)
    let out = ((a &* Int64(multiplier) &+ rounding) &>> sh) &+ Int64(zeroPoint)
    return Int8(out < -128 ? -128 : (out > 127 ? 127 : out))
}

/// Dequantizes one accumulator per NUMERICS 3.3.
@inlinable @inline(__always)
public func dequantize(_ acc: Int32, scale: Float, bias: Float) -> Float {
    let y = Float(acc) * scale
    return y + bias
}

/// One int8 GEMM, validated once; `run(rows:)` computes any row range (the thread pool's unit of work).
public struct QGemm {
    public let m: Int
    public let n: Int
    public let k: Int
    /// Activations, M rows of K int8 values, `lda` apart.
    public let a: UnsafePointer<Int8>
    public let lda: Int
    /// Activation zero point `z_a`.
    public let aZero: Int32
    /// Weights `W[N, K]`, rows `ldw` apart (K for a contiguous weight matrix), symmetric per output channel.
    public let w: UnsafePointer<Int8>
    public let ldw: Int
    /// `Σ_k W[c, k]` per output channel (see `qs8RowSums`), computed once at load.
    public let wRowSums: UnsafePointer<Int32>
    /// The same weights packed at load (`qs8PackWeights`) for a packed kernel, or nil.
    public let packed: QPackedWeights?
    public let output: QGemmOutput

    /// Validates the shape; the pointers must cover `M x lda`, `N x ldw`, N row sums, the output rows and, when
    /// given, `qs8PackedBytes(n: N, k: K, layout:)` packed bytes.
    public init(m: Int, n: Int, k: Int, a: UnsafePointer<Int8>, lda: Int, aZero: Int32,
                w: UnsafePointer<Int8>, ldw: Int? = nil, wRowSums: UnsafePointer<Int32>,
                packed: QPackedWeights? = nil, output: QGemmOutput) throws(OpError) {
        try require(m >= 0 && n >= 1 && k >= 1, "qs8_gemm", "needs M >= 0, N >= 1, K >= 1")
        try require(lda >= k && (ldw ?? k) >= k, "qs8_gemm", "lda or ldw < K")
        try require(aZero >= -128 && aZero <= 127, "qs8_gemm", "activation zero point outside int8")
        // K * 255 * 128 must fit int32 with room for the zero-point correction.
        try require(k <= 1 << 15, "qs8_gemm", "K too large for an int32 accumulator")
        switch output {
        case .dequant(_, let ld, _), .requant(_, let ld, _), .raw(_, let ld):
            try require(ld >= n, "qs8_gemm", "output ld < N")
        }
        self.m = m; self.n = n; self.k = k
        self.a = a; self.lda = lda; self.aZero = aZero
        self.w = w; self.ldw = ldw ?? k; self.wRowSums = wRowSums; self.packed = packed; self.output = output
    }

    /// Writes one finished accumulator through the epilogue.
    @inlinable @inline(__always)
    func store(_ acc: Int32, row: Int, col: Int) {
        switch output {
        case .dequant(let out, let ld, let p):
            out[row * ld + col] = dequantize(acc, scale: p.scale[col], bias: p.bias[col])
        case .requant(let out, let ld, let p):
            out[row * ld + col] = requantize(acc, multiplier: p.multiplier[col], shift: p.shift[col],
                                             bias: p.bias[col], zeroPoint: p.zeroPoint[col])
        case .raw(let out, let ld):
            out[row * ld + col] = acc
        }
    }

    /// The fastest kernel this CPU runs (see `QGemmKernel.selected`) over `rows` (clamped to 0..<M).
    public func run(rows: Range<Int>) { qs8GemmRun(self, rows: rows, kernel: QGemmKernel.selected) }
    /// The fast kernel over all rows.
    public func run() { run(rows: 0..<m) }
}

/// `Σ_k w[c, k]` for each of the N weight rows, `ldw` apart (for the zero-point correction of the fast kernels).
public func qs8RowSums(_ w: UnsafePointer<Int8>, n: Int, k: Int, ldw: Int? = nil, into sums: UnsafeMutablePointer<Int32>) {
    // 16 bytes at a time as four int32 words, each word's bytes sign-extended by shifts and added (the byte-wise
    // loop vectorizes four bytes per step); this runs per attention head and frame on its keys and values.
    let ld = ldw ?? k, wide = k & ~15
    for c in 0..<n {
        let row = w + c * ld
        var acc = SIMD4<Int32>(repeating: 0)
        var i = 0
        while i < wide {
            let x = UnsafeRawPointer(row + i).loadUnaligned(as: SIMD4<Int32>.self)
            acc &+= ((x &<< 24) &>> 24) &+ ((x &<< 16) &>> 24) &+ ((x &<< 8) &>> 24) &+ (x &>> 24)
            i += 16
        }
        var s = acc.wrappedSum()
        while i < k { s &+= Int32(row[i]); i += 1 }
        sums[c] = s
    }
}

/// Plain scalar reference: `acc = Σ_k (a - z_a) * w` in the order written, then the epilogue.
public func qs8_gemm__scalar_ref(_ g: QGemm, rows: Range<Int>) {
    let rows = rows.clamped(to: 0..<g.m)
    for i in rows {
        for c in 0..<g.n {
            var acc: Int32 = 0
            for kk in 0..<g.k {
                acc += (Int32(g.a[i * g.lda + kk]) - g.aZero) * Int32(g.w[c * g.ldw + kk])
            }
            g.store(acc, row: i, col: c)
        }
    }
}

/// Blocked kernel: 2 rows x 4 columns of int32 dot products over K, then `acc - z_a * rowsum` and the
/// epilogue. 2x4 is the largest tile LLVM still widens over K (checked by disassembly: `sdot` on aarch64
/// with dotprod, `vpdpbusd`/`vpmaddwd` on x86 with AVX-512 VNNI/AVX2); a 4x4 tile stays scalar.
public func qs8_gemm_2x4__swift(_ g: QGemm, rows: Range<Int>) {
    let rows = rows.clamped(to: 0..<g.m)
    let k = g.k
    var i = rows.lowerBound
    while i < rows.upperBound {
        let two = i + 1 < rows.upperBound
        let a0 = g.a + i * g.lda, a1 = two ? a0 + g.lda : a0
        var c = 0
        while c + 4 <= g.n {
            let ldw = g.ldw
            let w0 = g.w + c * ldw, w1 = w0 + ldw, w2 = w1 + ldw, w3 = w2 + ldw
            var s0: Int32 = 0, s1: Int32 = 0, s2: Int32 = 0, s3: Int32 = 0
            var t0: Int32 = 0, t1: Int32 = 0, t2: Int32 = 0, t3: Int32 = 0
            for kk in 0..<k {
                let x = Int32(a0[kk]), z = Int32(a1[kk])
                let y0 = Int32(w0[kk]), y1 = Int32(w1[kk]), y2 = Int32(w2[kk]), y3 = Int32(w3[kk])
                s0 &+= x &* y0; s1 &+= x &* y1; s2 &+= x &* y2; s3 &+= x &* y3
                t0 &+= z &* y0; t1 &+= z &* y1; t2 &+= z &* y2; t3 &+= z &* y3
            }
            let z0 = g.aZero &* g.wRowSums[c], z1 = g.aZero &* g.wRowSums[c + 1]
            let z2 = g.aZero &* g.wRowSums[c + 2], z3 = g.aZero &* g.wRowSums[c + 3]
            g.store(s0 &- z0, row: i, col: c); g.store(s1 &- z1, row: i, col: c + 1)
            g.store(s2 &- z2, row: i, col: c + 2); g.store(s3 &- z3, row: i, col: c + 3)
            if two {
                g.store(t0 &- z0, row: i + 1, col: c); g.store(t1 &- z1, row: i + 1, col: c + 1)
                g.store(t2 &- z2, row: i + 1, col: c + 2); g.store(t3 &- z3, row: i + 1, col: c + 3)
            }
            c += 4
        }
        qs8DotTail(g, row: i, cols: c..<g.n)
        if two { qs8DotTail(g, row: i + 1, cols: c..<g.n) }
        i += two ? 2 : 1
    }
}

/// One row against a column range, one dot product at a time (edges of the blocked kernel).
@inline(__always)
func qs8DotTail(_ g: QGemm, row: Int, cols: Range<Int>) {
    let a = g.a + row * g.lda
    for c in cols {
        let w = g.w + c * g.ldw
        var s: Int32 = 0
        for kk in 0..<g.k { s &+= Int32(a[kk]) &* Int32(w[kk]) }
        g.store(s &- g.aZero &* g.wRowSums[c], row: row, col: c)
    }
}
