import EdgeRuntime

// The layer vocabulary of docs/MODEL_FORMAT.md section 6 on top of the ops: `mm`, LayerNorm, activations,
// adds, convolutions, attention. Each declares its output tensors and emits one step per kernel. In an int8
// model every matmul input is quantized with that layer's `in_inv_s` / `in_zero` (fused into the producer
// when the producer is a LayerNorm, an activation or an attention; otherwise a quantize step).

/// Where one attention operand lives: a tensor, the operand's first column, and the row stride.
struct AttentionOperand {
    let t: GTensor
    let column: Int
    let ld: Int
}

extension GraphBuilder {
    /// `x` quantized for int8 layer `layer` (x itself when it already is int8, i.e. quantized by its producer).
    func quantized(_ x: GTensor, count: Int, for layer: String) throws(GraphError) -> GTensor {
        if x.dtype == .int8 { return x }
        let (inv, z) = try inputQuant(layer)
        let out = try tensor(layer + ".in", .int8, [count])
        emit("quantize " + layer, reads: [x], writes: [out],
             .pointwise(.quantize(x: f(x), out: q(out), invScale: inv, zero: z), count: count))
        return out
    }

    /// The int8 layer that consumes this producer's output, or nil in an fp32 model.
    func quantFor(_ layer: String?) -> String? { int8 ? layer : nil }

    /// `mm(x; L)` over `rows` rows: fp32 out (epilogue A), or int8 out (epilogue B, `requantize`).
    func mm(_ x: GTensor, rows: Int, _ layer: String, requantize: Bool = false,
            record: String? = nil) throws(GraphError) -> GTensor {
        if int8 {
            let qw = try qweights(layer)
            let (w, sums, o, k) = (qw.w, qw.sums, qw.o, qw.k)
            let a = try quantized(x, count: rows * k, for: layer)
            let z = try scalarI(layer + ".in_zero")
            let out = try tensor(layer, requantize ? .int8 : .float32, [rows, o], record: record)
            let output: QGemmOutput = requantize ? .requant(q(out), ld: o, try requant(layer))
                                                 : .dequant(f(out), ld: o, try dequant(layer))
            let aq = q(a)
            let g = try checked { () throws(OpError) in
                try QGemm(m: rows, n: o, k: k, a: aq, lda: k, aZero: z, w: w, wRowSums: sums, packed: qw.packed,
                          output: output)
            }
            emit(layer, reads: [a], writes: [out], .qgemm(g))
            return out
        }
        let (w, b, o, k) = try fweights(layer)
        let out = try tensor(layer, .float32, [rows, o], record: record)
        let (xp, op) = (f(x), f(out))
        let g = try checked { () throws(OpError) in
            try FGemm(m: rows, n: o, k: k, a: xp, lda: k, w: w, bias: b, out: op, ldo: o)
        }
        emit(layer, reads: [x], writes: [out], .fgemm(g))
        return out
    }

    /// `fc2(act(fc1(x)))` over `rows` rows, fp32 out. In an int8 model fc1 requantizes and the activation is a
    /// 256-entry table that also quantizes for fc2 (NUMERICS 3.5), built here at load; `name` is the hidden tensor.
    func mlp(_ x: GTensor, rows: Int, _ fc1: String, _ act: Activation, _ fc2: String,
             name: String) throws(GraphError) -> GTensor {
        guard int8 else {
            let width = try fweights(fc1).2
            return try mm(try activate(try mm(x, rows: rows, fc1), count: rows * width, act, name: name), rows: rows, fc2)
        }
        let h = try mm(x, rows: rows, fc1, requantize: true)
        let width = try modelTensor(fc1 + ".weight", .i8, fromFile: true).shape[0]  // the header only: no repacking
        let table = try activationTable(fc1, act, fc2)
        let hidden = try tensor(name, .int8, [rows * width])
        emit(name, reads: [h], writes: [hidden], .pointwise(.lookup(x: q(h), table: table, out: q(hidden)),
                                                            count: rows * width))
        return try mm(hidden, rows: rows, fc2)
    }

    /// NUMERICS 3.5: `T[q + 128] = Q(act(s_out * Float(q - z_out)); fc2's input quantization)`, q in -128...127.
    /// fc1's output scale and zero must be the same for every row (one table per layer).
    func activationTable(_ fc1: String, _ act: Activation, _ fc2: String) throws(GraphError) -> UnsafePointer<Int8> {
        let scales = try modelTensor(fc1 + ".out_scale", .f32, fromFile: true)
        let zeros = try modelTensor(fc1 + ".out_zero", .i32, fromFile: true)
        let (inv, z) = try inputQuant(fc2)
        let outScale = scales.float(0), outZero = zeros.int32(0)
        for row in 0..<scales.count where scales.float(row).bitPattern != outScale.bitPattern || zeros.int32(row) != outZero {
            throw .badTensor(name: fc1 + ".out_scale", reason: "output scale and zero must be the same for every row")
        }
        guard let constants, bound else { return UnsafePointer(bitPattern: 64)! }
        let table = constants.allocate(Int8.self, count: 256)
        for index in 0..<256 {
            let value = outScale * Float(Int32(index - 128) - outZero)
            table[index] = quantize(act.apply(value), invScale: inv, zeroPoint: z)
        }
        return UnsafePointer(table)
    }

    /// LayerNorm `norm` of `rows` rows of `c` values; int8 output for int8 layer `forLayer` (int8 model).
    func layerNorm(_ x: GTensor, rows: Int, c: Int, _ norm: String, eps: Float, forLayer: String?,
                   into target: GTensor? = nil, record: String? = nil) throws(GraphError) -> GTensor {
        let consumer = quantFor(forLayer)
        let out: GTensor
        if let target { out = target } else {
            out = try tensor(norm, consumer == nil ? .float32 : .int8, [rows, c], record: record)
        }
        let output: RowOutput
        if let consumer {
            let (inv, z) = try inputQuant(consumer)
            output = .qs8(q(out), ld: c, invScale: inv, zeroPoint: z)
        } else {
            output = .f32(f(out), ld: c)
        }
        let (w, b, xp) = (try wf(norm + ".weight"), try wf(norm + ".bias"), f(x))
        let n = try checked { () throws(OpError) in
            try LayerNorm(c: c, x: xp, ldx: c, weight: w, bias: b, eps: eps, output: output)
        }
        emit(norm, reads: [x], writes: [out], .norm(n, rows: rows))
        return out
    }

    /// `act(x)` elementwise; int8 output for int8 layer `forLayer` (int8 model).
    func activate(_ x: GTensor, count: Int, _ act: Activation, forLayer: String? = nil, name: String,
                  record: String? = nil) throws(GraphError) -> GTensor {
        if let consumer = quantFor(forLayer) {
            let (inv, z) = try inputQuant(consumer)
            let out = try tensor(name, .int8, [count], record: record)
            emit(name, reads: [x], writes: [out],
                 .pointwise(.activateQ(x: f(x), out: q(out), act, invScale: inv, zero: z), count: count))
            return out
        }
        let out = try tensor(name, .float32, [count], record: record)
        emit(name, reads: [x], writes: [out], .pointwise(.activate(x: f(x), out: f(out), act), count: count))
        return out
    }

    /// `x + y` (y repeating every `period` elements when given), into a new tensor or `target`.
    func add(_ x: GTensor, _ y: GTensor, count: Int, period: Int? = nil, name: String, into target: GTensor? = nil,
             record: String? = nil) throws(GraphError) -> GTensor {
        let out: GTensor
        if let target { out = target } else { out = try tensor(name, .float32, [count], record: record) }
        emit(name, reads: [x, y], writes: [out],
             .pointwise(.add(x: f(x), y: f(y), period: period ?? count, out: f(out)), count: count))
        return out
    }

    /// `x + pos` with an fp32 table from the model file (repeats over the stacked branches).
    func addTable(_ x: GTensor, table: String, count: Int, period: Int, name: String,
                  record: String? = nil) throws(GraphError) -> GTensor {
        let out = try tensor(name, .float32, [count], record: record)
        let pos = try wf(table)
        emit(name, reads: [x], writes: [out], .pointwise(.add(x: f(x), y: pos, period: period, out: f(out)), count: count))
        return out
    }

    /// 3x3 convolution (padding = dilation) of an `h x w x cin` map; fp32 out.
    func conv3x3(_ x: GTensor, h: Int, w: Int, cin: Int, _ layer: String, dilation: Int = 1) throws(GraphError) -> GTensor {
        let geometry = try checked { () throws(OpError) in
            try ConvGeometry(inH: h, inW: w, inC: cin, outC: 1, kernel: 3, pad: dilation, dilation: dilation)
        }
        if int8 {
            let qw = try qweights(layer)
            let (wq, sums, o, k) = (qw.w, qw.sums, qw.o, qw.k)
            guard k == 9 * cin else { throw .badTensor(name: layer + ".weight", reason: "K is not 9 x Cin") }
            let g = try checked { () throws(OpError) in
                try ConvGeometry(inH: h, inW: w, inC: cin, outC: o, kernel: 3, pad: dilation, dilation: dilation)
            }
            let a = try quantized(x, count: h * w * cin, for: layer)
            let z = try scalarI(layer + ".in_zero")
            let out = try tensor(layer, .float32, [h, w, o])
            let (s, per) = try scratch(layer + ".im2col", bytesPerWorker: g.scratchCount)
            let (ap, output) = (q(a), QGemmOutput.dequant(f(out), ld: o, try dequant(layer)))
            let conv = try checked { () throws(OpError) in
                try QConv2d(geometry: g, input: ap, inputZero: z, weights: wq, weightRowSums: sums,
                            packedWeights: qw.packed, output: output)
            }
            emit(layer, reads: [a], writes: [out, s], .qconv(conv, scratch: q(s), perWorker: per))
            return out
        }
        _ = geometry
        let (wt, b, o, k) = try fweights(layer)
        guard k == 9 * cin else { throw .badTensor(name: layer + ".weight", reason: "K is not 9 x Cin") }
        let g = try checked { () throws(OpError) in
            try ConvGeometry(inH: h, inW: w, inC: cin, outC: o, kernel: 3, pad: dilation, dilation: dilation)
        }
        let out = try tensor(layer, .float32, [h, w, o])
        let (s, per) = try scratch(layer + ".im2col", bytesPerWorker: g.scratchCount * 4)
        let (xp, op) = (f(x), f(out))
        let conv = try checked { () throws(OpError) in
            try FConv2d(geometry: g, input: xp, weights: wt, bias: b, output: op, ldo: o)
        }
        emit(layer, reads: [x], writes: [out, s], .fconv(conv, scratch: f(s), perWorker: per / 4))
        return out
    }

    /// ConvTranspose 2x2 stride 2 of an `h x w x cin` map; fp32 `2h x 2w x cout` out.
    func convT2x2(_ x: GTensor, h: Int, w: Int, cin: Int, _ layer: String, record: String? = nil) throws(GraphError) -> GTensor {
        if int8 {
            let qw = try qweights(layer, blocks: QConvTranspose2x2.packedBlocks)
            let (wq, sums, rows, k) = (qw.w, qw.sums, qw.o, qw.k)
            guard k == cin, rows % 4 == 0 else { throw .badTensor(name: layer + ".weight", reason: "not [4 Cout, Cin]") }
            let a = try quantized(x, count: h * w * cin, for: layer)
            let z = try scalarI(layer + ".in_zero")
            let out = try tensor(layer, .float32, [2 * h, 2 * w, rows / 4], record: record)
            let (ap, output) = (q(a), QGemmOutput.dequant(f(out), ld: rows / 4, try dequant(layer)))
            let conv = try checked { () throws(OpError) in
                try QConvTranspose2x2(inH: h, inW: w, inC: cin, outC: rows / 4, input: ap, inputZero: z,
                                      weights: wq, weightRowSums: sums, packedWeights: qw.packed, output: output)
            }
            emit(layer, reads: [a], writes: [out], .qconvT(conv))
            return out
        }
        let (wt, b, rows, k) = try fweights(layer)
        guard k == cin, rows % 4 == 0 else { throw .badTensor(name: layer + ".weight", reason: "not [4 Cout, Cin]") }
        let out = try tensor(layer, .float32, [2 * h, 2 * w, rows / 4], record: record)
        let (xp, op) = (f(x), f(out))
        let conv = try checked { () throws(OpError) in
            try FConvTranspose2x2(inH: h, inW: w, inC: cin, outC: rows / 4, input: xp, weights: wt, bias: b,
                                  output: op, ldo: rows / 4)
        }
        emit(layer, reads: [x], writes: [out], .fconvT(conv))
        return out
    }

    /// Attention `name` over `units` independent `side x side` token grids (windows, branches) with `heads`
    /// heads of `hd`; the output (tokens x heads*hd) is int8 for the int8 layer `proj`, fp32 otherwise.
    /// `valid(u)` is the real extent of unit `u` (padded window queries are skipped).
    func attention(q qo: AttentionOperand, k ko: AttentionOperand, v vo: AttentionOperand, units: Int, side: Int,
                   heads: Int, hd: Int, _ name: String, relPos: Bool, proj: String, record: String? = nil,
                   valid: (Int) -> (rows: Int, cols: Int)) throws(GraphError) -> GTensor {
        let n = side * side, width = heads * hd
        let consumer = quantFor(proj)
        let out = try tensor(name + ".out", consumer == nil ? .float32 : .int8, [units * n, width], record: record)
        let blockRows = min(n, 32)
        let blocksPerHead = (n + blockRows - 1) / blockRows
        if int8 {
            let (inv, zo) = try inputQuant(proj)
            let zq = try scalarI(name + ".q_zero"), zk = try scalarI(name + ".k_zero"), zv = try scalarI(name + ".v_zero")
            let logitScale = try scalar(name + ".logit_scale"), vScale = try scalar(name + ".v_scale")
            var rel: QRelPos? = nil
            if relPos {
                let rh = try modelTensor(name + ".rel_h", .i8), rw = try modelTensor(name + ".rel_w", .i8)
                guard rh.count == side * side * hd, rw.count == side * side * hd else {
                    throw .badTensor(name: name + ".rel_h", reason: "rel-pos table does not match the attention grid")
                }
                rel = QRelPos(rh: rh.bytes.baseAddress!.assumingMemoryBound(to: Int8.self),
                              rw: rw.bytes.baseAddress!.assumingMemoryBound(to: Int8.self),
                              rhScale: try scalar(name + ".rel_h_scale"), rwScale: try scalar(name + ".rel_w_scale"))
            }
            var list: [QAttentionHead] = []
            list.reserveCapacity(units * heads)
            for u in 0..<units {
                let extent = valid(u)
                for h in 0..<heads {
                    let qp = q(qo.t) + u * n * qo.ld + qo.column + h * hd
                    let kp = q(ko.t) + u * n * ko.ld + ko.column + h * hd
                    let vp = q(vo.t) + u * n * vo.ld + vo.column + h * hd
                    let output = RowOutput.qs8(q(out) + u * n * width + h * hd, ld: width, invScale: inv, zeroPoint: zo)
                    list.append(try checked { () throws(OpError) in
                        try QAttentionHead(gridH: side, gridW: side, headDim: hd, q: qp, ldq: qo.ld, zq: zq,
                                           k: kp, ldk: ko.ld, zk: zk, v: vp, ldv: vo.ld, zv: zv,
                                           logitScale: logitScale, vScale: vScale, relPos: rel,
                                           validH: extent.rows, validW: extent.cols, output: output)
                    })
                }
            }
            // Key sums and V^T once per head, shared by its query blocks (a kernel of their own, so the
            // pool spreads them over heads before the blocks start).
            let prepPer = list[0].preparedBytes
            let prep = try tensor(name + ".prepared", .uint8, [list.count * prepPer])
            let (s, per) = try scratch(name + ".scratch",
                                       bytesPerWorker: list[0].scratchBytes(blockRows: blockRows, prepared: true))
            let group = QAttentionGroup(heads: stored(list), blockRows: blockRows, blocksPerHead: blocksPerHead,
                                        scratch: raw(s), scratchPerWorker: per, prepared: raw(prep),
                                        preparedPerHead: prepPer)
            emit(name + ".prepare", reads: [ko.t, vo.t], writes: [prep], .qattentionPrepare(group))
            emit(name, reads: [qo.t, ko.t, vo.t, prep], writes: [out, s], .qattention(group))
            return out
        }
        let scale = try scalar(name + ".scale")
        var rel: FRelPos? = nil
        if relPos {
            let rh = try modelTensor(name + ".rel_h", .f32), rw = try modelTensor(name + ".rel_w", .f32)
            guard rh.count == side * side * hd, rw.count == side * side * hd else {
                throw .badTensor(name: name + ".rel_h", reason: "rel-pos table does not match the attention grid")
            }
            rel = FRelPos(rh: rh.bytes.baseAddress!.assumingMemoryBound(to: Float.self),
                          rw: rw.bytes.baseAddress!.assumingMemoryBound(to: Float.self))
        }
        var list: [FAttentionHead] = []
        list.reserveCapacity(units * heads)
        for u in 0..<units {
            let extent = valid(u)
            for h in 0..<heads {
                let qp = f(qo.t) + u * n * qo.ld + qo.column + h * hd
                let kp = f(ko.t) + u * n * ko.ld + ko.column + h * hd
                let vp = f(vo.t) + u * n * vo.ld + vo.column + h * hd
                let output = RowOutput.f32(f(out) + u * n * width + h * hd, ld: width)
                list.append(try checked { () throws(OpError) in
                    try FAttentionHead(gridH: side, gridW: side, headDim: hd, q: qp, ldq: qo.ld, k: kp, ldk: ko.ld,
                                       v: vp, ldv: vo.ld, scale: scale, relPos: rel,
                                       validH: extent.rows, validW: extent.cols, output: output)
                })
            }
        }
        let (s, per) = try scratch(name + ".scratch", bytesPerWorker: list[0].scratchBytes(blockRows: blockRows))
        emit(name, reads: [qo.t, ko.t, vo.t], writes: [out, s],
             .fattention(FAttentionGroup(heads: stored(list), blockRows: blockRows, blocksPerHead: blocksPerHead,
                                         scratch: raw(s), scratchPerWorker: per)))
        return out
    }
}
