// fp32 GEMM in the canonical seq order of NUMERICS 2.1: every output is
// `acc = 0; for k: acc = acc + (a[k] * w[k])`, then `acc + bias[c]` when there is a bias.
// Fast versions vectorise across independent outputs, never across k, so they match bit for bit.

/// One fp32 GEMM `C[M, N] = A[M, K] x W[N, K]^T (+ bias)`, validated once; `run(rows:)` does a row range.
public struct FGemm {
    public let m: Int
    public let n: Int
    public let k: Int
    public let a: UnsafePointer<Float>
    public let lda: Int
    /// Weights `W[N, K]`, rows `ldw` apart.
    public let w: UnsafePointer<Float>
    public let ldw: Int
    /// Optional per-output-channel bias (N values), added after the seq sum.
    public let bias: UnsafePointer<Float>?
    public let out: UnsafeMutablePointer<Float>
    public let ldo: Int

    /// Validates the shape; the pointers must cover `M x lda`, `N x K`, N biases and `M x ldo` outputs.
    public init(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, w: UnsafePointer<Float>, ldw: Int? = nil,
                bias: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>, ldo: Int) throws(OpError) {
        try require(m >= 0 && n >= 1 && k >= 1, "f32_gemm", "needs M >= 0, N >= 1, K >= 1")
        try require(lda >= k && (ldw ?? k) >= k, "f32_gemm", "lda or ldw < K")
        try require(ldo >= n, "f32_gemm", "ldo < N")
        self.m = m; self.n = n; self.k = k; self.a = a; self.lda = lda
        self.w = w; self.ldw = ldw ?? k; self.bias = bias; self.out = out; self.ldo = ldo
    }

    @inline(__always)
    func finish(_ acc: Float, _ c: Int) -> Float {
        if let bias { return acc + bias[c] }
        return acc
    }

    /// The fast kernel over `rows` (clamped to 0..<M).
    public func run(rows: Range<Int>) { f32_gemm_4x4__swift(self, rows: rows) }
    /// The fast kernel over all rows.
    public func run() { run(rows: 0..<m) }
}

/// Plain scalar reference of `FGemm` (seq order, literally).
public func f32_gemm__scalar_ref(_ g: FGemm, rows: Range<Int>) {
    for i in rows.clamped(to: 0..<g.m) {
        for c in 0..<g.n {
            var acc: Float = 0
            for kk in 0..<g.k {
                let p = g.a[i * g.lda + kk] * g.w[c * g.ldw + kk]
                acc = acc + p
            }
            g.out[i * g.ldo + c] = g.finish(acc, c)
        }
    }
}

/// Blocked kernel: 4 x 4 independent seq accumulators per step of k (same order per output).
public func f32_gemm_4x4__swift(_ g: FGemm, rows: Range<Int>) {
    let rows = rows.clamped(to: 0..<g.m)
    let k = g.k
    var i = rows.lowerBound
    while i < rows.upperBound {
        let mr = min(4, rows.upperBound - i)
        var c = 0
        if mr == 4 {
            let a0 = g.a + i * g.lda, a1 = a0 + g.lda, a2 = a1 + g.lda, a3 = a2 + g.lda
            while c + 4 <= g.n {
                let ldw = g.ldw
                let w0 = g.w + c * ldw, w1 = w0 + ldw, w2 = w1 + ldw, w3 = w2 + ldw
                var s0 = SIMD4<Float>(repeating: 0), s1 = s0, s2 = s0, s3 = s0
                for kk in 0..<k {
                    let wv = SIMD4<Float>(w0[kk], w1[kk], w2[kk], w3[kk])
                    s0 = s0 + SIMD4<Float>(repeating: a0[kk]) * wv
                    s1 = s1 + SIMD4<Float>(repeating: a1[kk]) * wv
                    s2 = s2 + SIMD4<Float>(repeating: a2[kk]) * wv
                    s3 = s3 + SIMD4<Float>(repeating: a3[kk]) * wv
                }
                for j in 0..<4 {
                    g.out[i * g.ldo + c + j] = g.finish(s0[j], c + j)
                    g.out[(i + 1) * g.ldo + c + j] = g.finish(s1[j], c + j)
                    g.out[(i + 2) * g.ldo + c + j] = g.finish(s2[j], c + j)
                    g.out[(i + 3) * g.ldo + c + j] = g.finish(s3[j], c + j)
                }
                c += 4
            }
        }
        for r in 0..<mr {
            let arow = g.a + (i + r) * g.lda
            for cc in c..<g.n {
                g.out[(i + r) * g.ldo + cc] = g.finish(seqDot(arow, g.w + cc * g.ldw, count: k), cc)
            }
        }
        i += mr
    }
}
