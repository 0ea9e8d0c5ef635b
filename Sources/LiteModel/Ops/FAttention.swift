// Attention of one head in fp32 (the fp32 model): SAM's `(q * scale) @ k^T`, decomposed relative
// positions from the unscaled q, softmax with exp32 and a lane16 denominator, `P @ v` in seq order.
// Tiled like `QAttentionHead`: one block of query rows at a time in caller scratch.

/// Decomposed relative-position tables in fp32, expanded to the token grid.
public struct FRelPos {
    /// `Rh[gridH][gridH][headDim]` and `Rw[gridW][gridW][headDim]`.
    public var rh: UnsafePointer<Float>
    public var rw: UnsafePointer<Float>

    public init(rh: UnsafePointer<Float>, rw: UnsafePointer<Float>) { self.rh = rh; self.rw = rw }
}

/// One fp32 attention head over a `gridH x gridW` token grid.
public struct FAttentionHead {
    public let gridH: Int, gridW: Int, headDim: Int
    public let q: UnsafePointer<Float>, ldq: Int
    public let k: UnsafePointer<Float>, ldk: Int
    public let v: UnsafePointer<Float>, ldv: Int
    /// `headDim^-0.5` as float32 (1/8 in SAM, 1/sqrt(96) in the MCP cross-attention).
    public let scale: Float
    public let relPos: FRelPos?
    public let validH: Int, validW: Int
    public let output: RowOutput

    public init(gridH: Int, gridW: Int, headDim: Int,
                q: UnsafePointer<Float>, ldq: Int, k: UnsafePointer<Float>, ldk: Int,
                v: UnsafePointer<Float>, ldv: Int, scale: Float, relPos: FRelPos?,
                validH: Int? = nil, validW: Int? = nil, output: RowOutput) throws(OpError) {
        try require(gridH >= 1 && gridW >= 1 && headDim >= 1, "f32_attention", "empty grid or head")
        try require(ldq >= headDim && ldk >= headDim && ldv >= headDim && output.ld >= headDim,
                    "f32_attention", "row strides < headDim")
        try require((validH ?? 0) >= 0 && (validW ?? 0) >= 0, "f32_attention", "negative valid extent")
        self.gridH = gridH; self.gridW = gridW; self.headDim = headDim
        self.q = q; self.ldq = ldq; self.k = k; self.ldk = ldk; self.v = v; self.ldv = ldv
        self.scale = scale; self.relPos = relPos
        self.validH = min(validH ?? gridH, gridH); self.validW = min(validW ?? gridW, gridW)
        self.output = output
    }

    public var tokens: Int { gridH * gridW }

    /// Bytes of scratch for blocks of `blockRows` queries: logits, rel-pos terms, the block's scaled
    /// q rows and an output row.
    public func scratchBytes(blockRows: Int) -> Int {
        (blockRows * tokens + blockRows * (gridH + gridW) + blockRows * headDim + headDim) * 4 + 64
    }

    /// Computes the kept queries among `queries`, at most `blockRows` at a time.
    ///
    /// Scores are an fp32 GEMM of the scaled q rows against the key rows (seq order per score, as the
    /// reference); kept queries of one grid row are contiguous, so padded ones cost nothing.
    public func run(queries: Range<Int>, blockRows: Int, scratch: UnsafeMutableRawPointer,
                    scratchBytes given: Int) throws(OpError) {
        let b = max(1, blockRows)
        let needed = scratchBytes(blockRows: b)
        if given < needed { throw OpError.bufferTooSmall(op: "f32_attention", needed: needed, given: given) }
        let n = tokens
        let logits = scratch.bindMemory(to: Float.self, capacity: b * (n + gridH + gridW + headDim) + headDim)
        let relh = logits + b * n, relw = relh + b * gridH, qs = relw + b * gridW, o = qs + b * headDim
        let range = queries.clamped(to: 0..<n)
        for gridRow in 0..<validH {
            var start = max(gridRow * gridW, range.lowerBound)
            let segmentEnd = min(gridRow * gridW + validW, range.upperBound)
            while start < segmentEnd {
                let end = min(start + b, segmentEnd)
                for i in start..<end {
                    let qi = q + i * ldq, qsi = qs + (i - start) * headDim
                    for c in 0..<headDim { qsi[c] = qi[c] * scale }
                }
                try FGemm(m: end - start, n: n, k: headDim, a: qs, lda: headDim, w: k, ldw: ldk, bias: nil,
                          out: logits, ldo: n).run()
                for i in start..<end {
                    let li = logits + (i - start) * n
                    let qi = q + i * ldq
                    if let rp = relPos {
                        let rh = relh + (i - start) * gridH, rw = relw + (i - start) * gridW
                        let th = rp.rh + (i / gridW) * gridH * headDim, tw = rp.rw + (i % gridW) * gridW * headDim
                        for kh in 0..<gridH { rh[kh] = seqDot(qi, th + kh * headDim, count: headDim) }
                        for kw in 0..<gridW { rw[kw] = seqDot(qi, tw + kw * headDim, count: headDim) }
                        for jj in 0..<n {
                            let t = li[jj] + rh[jj / gridW]
                            li[jj] = t + rw[jj % gridW]
                        }
                    }
                    softmaxRow(li, count: n)
                    o.update(repeating: 0, count: headDim)
                    for jj in 0..<n {
                        let pj = li[jj], vj = v + jj * ldv
                        for c in 0..<headDim { o[c] = o[c] + pj * vj[c] }
                    }
                    for c in 0..<headDim { output.store(o[c], row: i, col: c) }
                }
                start = end
            }
        }
    }
}

/// In-place softmax of one row: `exp32(l - max)`, lane16 denominator, one division per element.
@inline(__always)
func softmaxRow(_ l: UnsafeMutablePointer<Float>, count n: Int) {
    var m = l[0]
    for j in 0..<n where l[j] > m { m = l[j] }
    var j = 0
    while j + 8 <= n { store8(exp32x8(load8(l + j) - m), l + j); j += 8 }
    while j < n { l[j] = exp32(l[j] - m); j += 1 }
    let z = lane16Sum(l, count: n)
    j = 0
    while j + 8 <= n { store8(load8(l + j) / z, l + j); j += 8 }
    while j < n { l[j] = l[j] / z; j += 1 }
}

/// Plain scalar reference of `FAttentionHead.run`, one query at a time; `scratch` holds `tokens` floats.
public func f32_attention__scalar_ref(_ a: FAttentionHead, queries: Range<Int>, scratch: UnsafeMutablePointer<Float>) {
    let n = a.tokens
    for i in queries.clamped(to: 0..<n) {
        if !(i / a.gridW < a.validH && i % a.gridW < a.validW) { continue }
        let hi = i / a.gridW, wi = i % a.gridW
        for j in 0..<n {
            var s: Float = 0
            for c in 0..<a.headDim { s = s + (a.q[i * a.ldq + c] * a.scale) * a.k[j * a.ldk + c] }
            if let rp = a.relPos {
                var sh: Float = 0, sw: Float = 0
                let hj = j / a.gridW, wj = j % a.gridW
                for c in 0..<a.headDim {
                    sh = sh + a.q[i * a.ldq + c] * rp.rh[(hi * a.gridH + hj) * a.headDim + c]
                    sw = sw + a.q[i * a.ldq + c] * rp.rw[(wi * a.gridW + wj) * a.headDim + c]
                }
                s = (s + sh) + sw
            }
            scratch[j] = s
        }
        var m = scratch[0]
        for j in 0..<n { m = max(m, scratch[j]) }
        for j in 0..<n { scratch[j] = exp32(scratch[j] - m) }
        let z = lane16Sum__scalar_ref(scratch, count: n)
        for j in 0..<n { scratch[j] = scratch[j] / z }
        for c in 0..<a.headDim {
            var acc: Float = 0
            for j in 0..<n { acc = acc + scratch[j] * a.v[j * a.ldv + c] }
            a.output.store(acc, row: i, col: c)
        }
    }
}
