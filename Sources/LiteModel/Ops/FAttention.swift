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
        self.gridH = gridH; self.gridW = gridW; self.headDim = headDim
        self.q = q; self.ldq = ldq; self.k = k; self.ldk = ldk; self.v = v; self.ldv = ldv
        self.scale = scale; self.relPos = relPos
        self.validH = min(validH ?? gridH, gridH); self.validW = min(validW ?? gridW, gridW)
        self.output = output
    }

    public var tokens: Int { gridH * gridW }

    /// Bytes of scratch for blocks of `blockRows` queries: probabilities, rel-pos terms, a scaled q
    /// row and an output row.
    public func scratchBytes(blockRows: Int) -> Int {
        (blockRows * tokens + blockRows * (gridH + gridW) + 2 * headDim) * 4 + 64
    }

    /// Computes the queries in `queries` in blocks of `blockRows`.
    public func run(queries: Range<Int>, blockRows: Int, scratch: UnsafeMutableRawPointer,
                    scratchBytes given: Int) throws(OpError) {
        let b = max(1, blockRows)
        let needed = scratchBytes(blockRows: b)
        if given < needed { throw OpError.bufferTooSmall(op: "f32_attention", needed: needed, given: given) }
        let n = tokens
        let logits = scratch.bindMemory(to: Float.self, capacity: b * n + b * (gridH + gridW) + 2 * headDim)
        let relh = logits + b * n, relw = relh + b * gridH, qs = relw + b * gridW, o = qs + headDim
        let range = queries.clamped(to: 0..<n)
        var start = range.lowerBound
        while start < range.upperBound {
            let end = min(start + b, range.upperBound)
            for i in start..<end where i / gridW < validH && i % gridW < validW {
                let li = logits + (i - start) * n
                let qi = q + i * ldq
                for c in 0..<headDim { qs[c] = qi[c] * scale }
                // Four keys at a time, each a seq sum of its own.
                var j = 0
                while j + 4 <= n {
                    var s = SIMD4<Float>(repeating: 0)
                    let k0 = k + j * ldk, k1 = k0 + ldk, k2 = k1 + ldk, k3 = k2 + ldk
                    for c in 0..<headDim {
                        s = s + SIMD4<Float>(repeating: qs[c]) * SIMD4<Float>(k0[c], k1[c], k2[c], k3[c])
                    }
                    li[j] = s[0]; li[j + 1] = s[1]; li[j + 2] = s[2]; li[j + 3] = s[3]
                    j += 4
                }
                while j < n { li[j] = seqDot(qs, k + j * ldk, count: headDim); j += 1 }
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

/// In-place softmax of one row: `exp32(l - max)`, lane16 denominator, one division per element.
@inline(__always)
func softmaxRow(_ l: UnsafeMutablePointer<Float>, count n: Int) {
    var m = l[0]
    for j in 0..<n where l[j] > m { m = l[j] }
    for j in 0..<n { l[j] = exp32(l[j] - m) }
    let z = lane16Sum(l, count: n)
    for j in 0..<n { l[j] = l[j] / z }
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
