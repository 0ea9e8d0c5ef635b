// Attention of one head on the int8 path, NUMERICS 6: integer scores, fp32 logits with decomposed
// relative positions, exp32 numerators quantized against the row maximum to P in [0, 255], integer
// Z = Σ P and A = Σ P (v - z_v), o = (Float(A) * s_v) / Float(Z).
//
// Tiled: one head, a block of query rows at a time, so only `blockRows x keys` logits exist at once
// (in caller scratch, `scratchBytes`). Queries outside the valid grid extent (padded window tokens)
// are skipped: their output rows are left untouched.

/// Decomposed relative-position tables, already expanded by the converter to the token grid.
public struct QRelPos {
    /// `Rh[gridH][gridH][headDim]`, int8 symmetric.
    public var rh: UnsafePointer<Int8>
    /// `Rw[gridW][gridW][headDim]`, int8 symmetric.
    public var rw: UnsafePointer<Int8>
    /// float32 of `s_q * s_rh` and `s_q * s_rw`.
    public var rhScale: Float
    public var rwScale: Float

    public init(rh: UnsafePointer<Int8>, rw: UnsafePointer<Int8>, rhScale: Float, rwScale: Float) {
        self.rh = rh; self.rw = rw; self.rhScale = rhScale; self.rwScale = rwScale
    }
}

/// One int8 attention head over a `gridH x gridW` token grid (queries and keys share the grid).
public struct QAttentionHead {
    public let gridH: Int, gridW: Int, headDim: Int
    public let q: UnsafePointer<Int8>, ldq: Int, zq: Int32
    public let k: UnsafePointer<Int8>, ldk: Int, zk: Int32
    public let v: UnsafePointer<Int8>, ldv: Int, zv: Int32
    /// float32 of `s_q * s_k * headDim^-0.5`.
    public let logitScale: Float
    /// float32 of `s_v`.
    public let vScale: Float
    public let relPos: QRelPos?
    /// Queries at grid rows `>= validH` or columns `>= validW` are skipped (padding).
    public let validH: Int, validW: Int
    /// Output rows per token (the head's columns of the attention output).
    public let output: RowOutput

    public init(gridH: Int, gridW: Int, headDim: Int,
                q: UnsafePointer<Int8>, ldq: Int, zq: Int32,
                k: UnsafePointer<Int8>, ldk: Int, zk: Int32,
                v: UnsafePointer<Int8>, ldv: Int, zv: Int32,
                logitScale: Float, vScale: Float, relPos: QRelPos?,
                validH: Int? = nil, validW: Int? = nil, output: RowOutput) throws(OpError) {
        try require(gridH >= 1 && gridW >= 1 && headDim >= 1, "qs8_attention", "empty grid or head")
        try require(gridH * gridW <= 32_000, "qs8_attention", "too many keys for an int32 P x v sum")
        try require(headDim <= 1 << 14, "qs8_attention", "head too wide")
        try require((validH ?? 0) >= 0 && (validW ?? 0) >= 0, "qs8_attention", "negative valid extent")
        try require(ldq >= headDim && ldk >= headDim && ldv >= headDim && output.ld >= headDim,
                    "qs8_attention", "row strides < headDim")
        try require(zq >= -128 && zq <= 127 && zk >= -128 && zk <= 127 && zv >= -128 && zv <= 127,
                    "qs8_attention", "zero point outside int8")
        self.gridH = gridH; self.gridW = gridW; self.headDim = headDim
        self.q = q; self.ldq = ldq; self.zq = zq; self.k = k; self.ldk = ldk; self.zk = zk
        self.v = v; self.ldv = ldv; self.zv = zv
        self.logitScale = logitScale; self.vScale = vScale; self.relPos = relPos
        self.validH = min(validH ?? gridH, gridH); self.validW = min(validW ?? gridW, gridW)
        self.output = output
    }

    public var tokens: Int { gridH * gridW }

    /// Bytes of scratch `run` needs for blocks of `blockRows` queries: int32 scores and fp32 logits
    /// (`blockRows x tokens` each), rel-pos terms, Z and A for the block and `P - 128` (`blockRows x tokens`
    /// int8), plus the per-head operands (`preparedBytes`) unless `run` is given them already prepared.
    public func scratchBytes(blockRows b: Int, prepared: Bool = false) -> Int {
        let n = tokens
        return b * n * 8 + b * (gridH + gridW) * 4 + b * 4 + b * headDim * 4 + b * n + 64
            + (prepared ? 0 : preparedBytes)
    }

    /// Bytes of the operands every query block of this head shares (`prepare`): key row sums
    /// (`tokens` int32), value row sums (`headDim` int32), the values transposed (`headDim x tokens` int8)
    /// and, for a packed GEMM kernel, the keys and transposed values packed in its layout (room for the
    /// largest layout is always kept, so forcing another kernel never outgrows a planned buffer).
    public var preparedBytes: Int { packedOffset + 64 + packedKeyBytes + packedValueBytes }

    var packedOffset: Int { ((tokens + headDim) * 4 + headDim * tokens + 63) & ~63 }
    var packedKeyBytes: Int { (qs8PackedBytes(n: tokens, k: headDim, layout: .panels16c4) + 63) & ~63 }
    var packedValueBytes: Int { (qs8PackedBytes(n: headDim, k: tokens, layout: .panels16c4) + 63) & ~63 }

    /// Writes the per-head operands into `prepared` (`preparedBytes`), once per head and frame, so the
    /// query blocks (`run(..., prepared:)`) only read them.
    public func prepare(into prepared: UnsafeMutableRawPointer) {
        let n = tokens, hd = headDim
        let sums = prepared.bindMemory(to: Int32.self, capacity: n + hd)
        let valuesT = (prepared + (n + hd) * 4).bindMemory(to: Int8.self, capacity: hd * n)
        qs8RowSums(k, n: n, k: hd, ldw: ldk, into: sums)
        transposeValues(into: valuesT)
        qs8RowSums(valuesT, n: hd, k: n, into: sums + n)
        // The layout tag, then the packed operands when the selected kernel reads packed weights.
        let layout = QGemmKernel.selected.packLayout
        (prepared + packedOffset).storeBytes(of: layout?.rawValue ?? 0, as: Int32.self)
        if let layout {
            let base = (prepared + packedOffset + 64).bindMemory(to: Int8.self, capacity: packedKeyBytes + packedValueBytes)
            qs8PackWeights(k, n: n, k: hd, ldw: ldk, layout: layout, into: base)
            qs8PackWeights(valuesT, n: hd, k: n, layout: layout, into: base + packedKeyBytes)
        }
    }

    /// The keys and transposed values as `prepare` packed them into `shared`, or nils.
    func packedOperands(_ shared: UnsafeRawPointer) -> (keys: QPackedWeights?, values: QPackedWeights?) {
        guard let layout = QPackLayout(rawValue: (shared + packedOffset).load(as: Int32.self)) else { return (nil, nil) }
        let base = (shared + packedOffset + 64).assumingMemoryBound(to: Int8.self)
        return (QPackedWeights(base, layout: layout), QPackedWeights(base + packedKeyBytes, layout: layout))
    }

    /// Computes the kept queries among `queries` (token indices), at most `blockRows` at a time.
    ///
    /// Both products run on the int8 GEMM. Scores: `Σ_c (q - z_q) k` with the keys as weight rows, minus
    /// `z_k Σ_c (q - z_q)`. Output: `Σ_j P v` as `(P - 128)` (int8, zero point -128) against the transposed
    /// values, minus `z_v Z` (NUMERICS 6 allows any exact integer form). Kept queries of one grid row
    /// are contiguous, so padded ones cost nothing.
    ///
    /// `prepared` holds this head's `prepare` output (shared by every block); without it `run` prepares
    /// into its own scratch first.
    public func run(queries: Range<Int>, blockRows: Int, scratch: UnsafeMutableRawPointer,
                    scratchBytes given: Int, prepared: UnsafeRawPointer? = nil) throws(OpError) {
        let b = max(1, blockRows)
        let needed = scratchBytes(blockRows: b, prepared: prepared != nil)
        if given < needed { throw OpError.bufferTooSmall(op: "qs8_attention", needed: needed, given: given) }
        let n = tokens, hd = headDim
        let scores = scratch.bindMemory(to: Int32.self, capacity: b * n)
        var offset = b * n * 4
        let logits = (scratch + offset).bindMemory(to: Float.self, capacity: b * (n + gridH + gridW))
        let relh = logits + b * n, relw = relh + b * gridH
        offset += b * (n + gridH + gridW) * 4
        let ints = (scratch + offset).bindMemory(to: Int32.self, capacity: b + b * hd)
        let zRow = ints, accBlock = ints + b
        offset += (b + b * hd) * 4
        let pMinus128 = (scratch + offset).bindMemory(to: Int8.self, capacity: b * n)
        offset += b * n
        let shared: UnsafeRawPointer
        if let prepared { shared = prepared } else {
            let own = scratch + ((offset + 63) & ~63)
            prepare(into: own)
            shared = UnsafeRawPointer(own)
        }
        let keySums = shared.assumingMemoryBound(to: Int32.self), valueSums = keySums + n
        let valuesT = (shared + (n + hd) * 4).assumingMemoryBound(to: Int8.self)
        let (packedKeys, packedValues) = packedOperands(shared)

        let qs = queries.clamped(to: 0..<n)
        for gridRow in 0..<validH {
            var start = max(gridRow * gridW, qs.lowerBound)
            let segmentEnd = min(gridRow * gridW + validW, qs.upperBound)
            while start < segmentEnd {
                let end = min(start + b, segmentEnd), rows = end - start
                try QGemm(m: rows, n: n, k: hd, a: q + start * ldq, lda: ldq, aZero: zq, w: k, ldw: ldk,
                          wRowSums: keySums, packed: packedKeys, output: .raw(scores, ld: n)).run()
                for i in start..<end {
                    let r = i - start
                    let qi = q + i * ldq
                    var qz: Int32 = 0
                    for c in 0..<hd { qz &+= Int32(qi[c]) &- zq }
                    let correction = zk &* qz
                    var rh: UnsafeMutablePointer<Float>? = nil, rw: UnsafeMutablePointer<Float>? = nil
                    if let rp = relPos {
                        rh = relh + r * gridH; rw = relw + r * gridW
                        relTerms(qi, table: rp.rh + (i / gridW) * gridH * hd, count: gridH, scale: rp.rhScale, into: rh!)
                        relTerms(qi, table: rp.rw + (i % gridW) * gridW * hd, count: gridW, scale: rp.rwScale, into: rw!)
                    }
                    let li = logits + r * n
                    let m = logitsRow(scores: scores + r * n, correction: correction, relH: rh, relW: rw, into: li)
                    zRow[r] = quantizedNumerators(li, max: m, into: pMinus128 + r * n)
                }
                try QGemm(m: rows, n: hd, k: n, a: pMinus128, lda: n, aZero: -128, w: valuesT,
                          wRowSums: valueSums, packed: packedValues, output: .raw(accBlock, ld: hd)).run()
                for r in 0..<rows { outputRow(accBlock + r * hd, z: zRow[r], row: start + r) }
                start = end
            }
        }
    }
}

/// Plain scalar reference of `QAttentionHead.run`: one query at a time, every sum written out as in
/// NUMERICS 6. `scratch` holds `tokens` floats and `tokens` int32s (as `scratchBytes(blockRows: 1)`).
public func qs8_attention__scalar_ref(_ a: QAttentionHead, queries: Range<Int>, scratch: UnsafeMutableRawPointer) {
    let n = a.tokens
    let l = scratch.bindMemory(to: Float.self, capacity: n)
    let pp = (scratch + n * 4).bindMemory(to: Int32.self, capacity: n)
    for i in queries.clamped(to: 0..<n) {
        if !(i / a.gridW < a.validH && i % a.gridW < a.validW) { continue }
        for j in 0..<n {
            var s: Int32 = 0
            for c in 0..<a.headDim {
                s += (Int32(a.q[i * a.ldq + c]) - a.zq) * (Int32(a.k[j * a.ldk + c]) - a.zk)
            }
            var lij = Float(s) * a.logitScale
            if let rp = a.relPos {
                var sh: Int32 = 0, sw: Int32 = 0
                let hi = i / a.gridW, wi = i % a.gridW, hj = j / a.gridW, wj = j % a.gridW
                for c in 0..<a.headDim {
                    let qc = Int32(a.q[i * a.ldq + c]) - a.zq
                    sh += qc * Int32(rp.rh[(hi * a.gridH + hj) * a.headDim + c])
                    sw += qc * Int32(rp.rw[(wi * a.gridW + wj) * a.headDim + c])
                }
                lij = lij + Float(sh) * rp.rhScale
                lij = lij + Float(sw) * rp.rwScale
            }
            l[j] = lij
        }
        var m = l[0]
        for j in 0..<n { m = max(m, l[j]) }
        var z: Int32 = 0
        for j in 0..<n {
            pp[j] = Int32(roundEven(numeratorExp32(l[j] - m) * 255.0))
            z += pp[j]
        }
        for c in 0..<a.headDim {
            var acc: Int32 = 0
            for j in 0..<n { acc += pp[j] * (Int32(a.v[j * a.ldv + c]) - a.zv) }
            a.output.store((Float(acc) * a.vScale) / Float(z), row: i, col: c)
        }
    }
}
