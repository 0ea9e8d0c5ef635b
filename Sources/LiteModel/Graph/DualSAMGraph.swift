import EdgeRuntime

// The Dual-SAM inference path of docs/MODEL_FORMAT.md section 6, as steps of the graph builder.
//
// The two encoder streams are stacked into one `[2T, D]` tensor (rows 0..<T: original branch α, T..<2T: gamma
// branch β), so each shared encoder layer runs once over both branches and its weights are read once per layer;
// only the adapters (per branch) run on the halves. Every row is computed exactly as if the branches ran one
// after the other, so the stacked form gives the same bits as the specification.

/// The graph's interface tensors.
struct DualSAMTensors {
    /// The resized 8-bit frame `uα` and gamma image `uβ`, `[S, S, 3]` (filled by pre-processing).
    let alpha: GTensor
    let beta: GTensor
    /// The 8-bit map `[S, S]` (NUMERICS 8.3).
    let map8: GTensor
}

extension GraphBuilder {
    /// Declares (and, when bound, binds) the whole graph.
    func buildDualSAM() throws(GraphError) -> DualSAMTensors {
        let c = config
        let s = c.imgSize, g = c.grid, t = c.tokens, d = c.embedDim, p = c.patchSize
        let k = p * p * 3
        let alpha = try tensor("input.u_a", .uint8, [s, s, 3], input: true, record: "pre.u_a")
        let beta = try tensor("input.u_b", .uint8, [s, s, 3], input: true, record: "pre.u_b")
        let values = try normalizationTable()

        // 6.1: patch embedding of both branches (stacked) and of the MCP prompt input α + β.
        func patchRows(_ layer: String, sum: Bool) throws(GraphError) -> GTensor {
            let rows = sum ? t : 2 * t
            let out = try tensor(layer + ".patches", int8 ? .int8 : .float32, [rows, k])
            let (inv, z) = int8 ? try inputQuant(layer) : (Float(1), Int32(0))
            var source = PatchSource(alpha: u(alpha), beta: u(beta), sum: sum, side: s, patch: p, grid: g, values: values,
                                     outQ: int8 ? q(out) : nil, outF: int8 ? nil : f(out), invScale: inv, zero: z)
            if int8, !sum, bound, let constants {  // one image per row: Q of the table, once at load
                let table = constants.allocate(Int8.self, count: 768)
                PatchSource.quantizeValues(values, invScale: inv, zero: z, into: table)
                source.quantized = UnsafePointer(table)
            }
            emit(layer + ".patches", reads: [alpha, beta], writes: [out], .pointwise(.patches(source), count: rows))
            return out
        }
        let xPatches = try mm(try patchRows("enc.patch_embed", sum: false), rows: 2 * t, "enc.patch_embed")
        var x = try addTable(xPatches, table: "enc.pos_embed", count: 2 * t * d, period: t * d, name: "enc.x0",
                             record: "enc.patch_embed")
        let pPatches = try mm(try patchRows("mcp.patch_embed", sum: true), rows: t, "mcp.patch_embed")
        var prompt = try addTable(pPatches, table: "mcp.pos_embed", count: t * d, period: t * d, name: "mcp.p0",
                                  record: "mcp.patch_embed")

        // 6.2 / 6.3: encoder blocks, MCP blocks after the levels.
        var levelFeatures: [GTensor] = []
        let levels = c.levels
        for i in 0..<c.depth {
            x = try encoderBlock(x, i)
            if let j = levels.firstIndex(of: i) {
                let (nextPrompt, e) = try mcpBlock(prompt, x, j)
                prompt = nextPrompt
                levelFeatures.append(e)
            }
        }

        // 6.4: neck on the original branch.
        let n = c.neckDim
        let neck1 = try mm(x, rows: t, "enc.neck.conv1")
        let s1 = try layerNorm(neck1, rows: t, c: n, "enc.neck.ln1", eps: c.lnEpsEncoder, forLayer: "enc.neck.conv2")
        let neck2 = try conv3x3(s1, h: g, w: g, cin: n, "enc.neck.conv2")
        let src = try layerNorm(neck2, rows: t, c: n, "enc.neck.ln2", eps: c.lnEpsEncoder, forLayer: nil, record: "neck")

        // 6.5: decoder.
        let ch = c.decChannels
        let lev3ct = try mm(levelFeatures[3], rows: t, "dec.lev3.ct")
        var level: [GTensor] = [src, src, src, src]
        level[3] = try activate(try conv3x3(lev3ct, h: g, w: g, cin: ch[0], "dec.lev3.conv"), count: t * ch[0], .gelu,
                                name: "dec.lev3", record: "dec.lev3")
        for j in [2, 1, 0] {
            var z = levelFeatures[j], side = g, cin = d
            for stage in 0..<(3 - j) {
                let last = stage == 2 - j
                z = try convUp(z, side: side, cin: cin, cout: ch[stage + 1], "dec.lev" + String(j) + "." + String(stage),
                               record: last ? "dec.lev" + String(j) : nil)
                side *= 2
                cin = ch[stage + 1]
            }
            level[j] = z
        }
        var z = src, zc = n, side = g
        var fused = src
        for stage in 1...4 {
            let width = ch[stage - 1]
            let cat = try tensor("dec.cat" + String(stage), .float32, [side, side, zc + width])
            emit("dec.cat" + String(stage), reads: [z, level[4 - stage]], writes: [cat],
                 .pointwise(.concat(a: UnsafeRawPointer(f(z)), ca: zc, b: UnsafeRawPointer(f(level[4 - stage])), cb: width,
                                    out: raw(cat), width: 4), count: side * side))
            fused = try dfam(cat, side: side, cout: width, "dec.fu" + String(stage))
            if stage < 4 {
                z = try convUp(fused, side: side, cin: width, cout: width, "dec.up" + String(stage),
                               record: "dec.up" + String(stage))
                zc = width
                side *= 2
            }
        }
        let logits = try convT2x2(fused, h: side, w: side, cin: ch[3], "dec.pre4", record: "logits")

        // 6.6: sigmoid, C3P, the 8-bit map (the source-size steps run in the engine).
        let out = c.numOut
        let prob = try activate(logits, count: s * s * out, .sigmoid, name: "prob")
        let pred = try tensor("pred", .float32, [s, s], record: "pred")
        emit("c3p", reads: [prob], writes: [pred], .pointwise(.c3p(p: f(prob), side: s, out: f(pred)), count: s))
        let map8Name = "map8"
        let map8: GTensor
        do throws(MemoryPlanError) {
            let id = try order.tensor(map8Name, .uint8, [s, s], isOutput: true)
            map8 = GTensor(id: id, dtype: .uint8, offset: 0)
        } catch { throw .plan(error) }
        if recordIntermediates { recorded.append((map8Name, map8)) }
        emit("map8", reads: [pred], writes: [map8], .pointwise(.map8(pred: f(pred), out: u(map8)), count: s * s))
        return DualSAMTensors(alpha: alpha, beta: beta, map8: map8)
    }

    /// `N_c[u] = (Float(u) - mean_c) / std_c` from the file's `pre.mean` / `pre.std` (768 floats).
    func normalizationTable() throws(GraphError) -> UnsafePointer<Float> {
        let mean = try wf("pre.mean"), std = try wf("pre.std")
        guard let constants, bound else { return UnsafePointer(bitPattern: 64)! }
        let table = constants.allocate(Float.self, count: 768)
        for ch in 0..<3 {
            for value in 0..<256 {
                let centred = Float(value) - mean[ch]
                table[ch * 256 + value] = centred / std[ch]
            }
        }
        return UnsafePointer(table)
    }

    /// Encoder block `i` on the stacked streams.
    func encoderBlock(_ x: GTensor, _ i: Int) throws(GraphError) -> GTensor {
        let c = config
        let t = c.tokens, d = c.embedDim, g = c.grid, a = c.attnDim
        let block = "enc.blocks." + String(i)
        let qkvLayer = block + ".attn.qkv", proj = block + ".attn.proj"
        let h = try layerNorm(x, rows: 2 * t, c: d, block + ".norm1", eps: c.lnEpsEncoder, forLayer: qkvLayer)
        let global = c.globalAttnIndexes.contains(i)
        var units = 2, side = g, input = h
        let windows = try checked { () throws(OpError) in try WindowGeometry(h: g, w: g, size: c.windowSize) }
        if !global {
            units = 2 * windows.windowCount
            side = c.windowSize
            input = try tensor(block + ".windows", h.dtype, [units * side * side, d])
            let pad: UInt32 = int8 ? UInt32(truncatingIfNeeded: try scalarI(qkvLayer + ".in_zero")) : 0
            emit(block + ".partition", reads: [h], writes: [input],
                 .window(windows, src: UnsafeRawPointer(raw(h)), dst: raw(input), channels: d, elementBytes: h.dtype.byteWidth,
                         pad: pad, reverse: false, branches: 2))
        }
        let qkv = try mm(input, rows: units * side * side, qkvLayer, requantize: true, record: qkvLayer)
        let attn = try attention(q: AttentionOperand(t: qkv, column: 0, ld: 3 * a),
                                 k: AttentionOperand(t: qkv, column: a, ld: 3 * a),
                                 v: AttentionOperand(t: qkv, column: 2 * a, ld: 3 * a),
                                 units: units, side: side, heads: c.numHeads, hd: c.headDim, block + ".attn",
                                 relPos: true, proj: proj, record: global ? block + ".attn.o" : nil) { u in
            global ? (g, g) : windows.validExtent(window: u % windows.windowCount)
        }
        var merged = attn
        if !global {
            merged = try tensor(block + ".merged", attn.dtype, [2 * t, a], record: block + ".attn.o")
            emit(block + ".unpartition", reads: [attn], writes: [merged],
                 .window(windows, src: UnsafeRawPointer(raw(attn)), dst: raw(merged), channels: a,
                         elementBytes: attn.dtype.byteWidth, pad: 0, reverse: true, branches: 2))
        }
        let x1 = try add(x, try mm(merged, rows: 2 * t, proj), count: 2 * t * d, name: block + ".x1")
        let fc1 = block + ".mlp.fc1", fc2 = block + ".mlp.fc2"
        let n2 = try layerNorm(x1, rows: 2 * t, c: d, block + ".norm2", eps: c.lnEpsEncoder, forLayer: fc1)
        let y = try mlp(n2, rows: 2 * t, fc1, .gelu, fc2, name: fc1 + ".gelu")
        // Adapters, per branch, into the two halves of `ad = y + adapter(y)`.
        let ad = try tensor(block + ".ad", .float32, [2 * t, d])
        for (index, branch) in ["a", "b"].enumerated() {
            let adapter = "enc.adapters." + branch + "." + String(i)
            let yHalf = view(y, at: index * t * d)
            let an = try layerNorm(yHalf, rows: t, c: d, adapter + ".norm", eps: c.lnEpsAdapter, forLayer: adapter + ".fc1")
            let a2 = try mlp(an, rows: t, adapter + ".fc1", .quickGelu, adapter + ".fc2", name: adapter + ".act")
            _ = try add(yHalf, a2, count: t * d, name: adapter, into: view(ad, at: index * t * d))
        }
        return try add(x1, ad, count: 2 * t * d, name: block + ".out", record: block)
    }

    /// MCP block `j`: returns the next prompt and the level feature `Eβ_j`.
    func mcpBlock(_ prompt: GTensor, _ x: GTensor, _ j: Int) throws(GraphError) -> (GTensor, GTensor) {
        let c = config
        let t = c.tokens, d = c.embedDim, g = c.grid
        let block = "mcp.blocks." + String(j)
        let eps = c.lnEpsMcp, am = c.mcpAttnDim, ac = c.caAttnDim
        let full: (Int) -> (rows: Int, cols: Int) = { _ in (g, g) }
        // Self-attention and MLP2 on the prompt.
        let n1 = try layerNorm(prompt, rows: t, c: d, block + ".norm1", eps: eps, forLayer: block + ".attn.qkv")
        let qkv = try mm(n1, rows: t, block + ".attn.qkv", requantize: true)
        let o = try attention(q: AttentionOperand(t: qkv, column: 0, ld: 3 * am),
                              k: AttentionOperand(t: qkv, column: am, ld: 3 * am),
                              v: AttentionOperand(t: qkv, column: 2 * am, ld: 3 * am),
                              units: 1, side: g, heads: c.mcpHeads, hd: c.mcpHeadDim, block + ".attn", relPos: false,
                              proj: block + ".attn.proj", valid: full)
        let t1 = try add(prompt, try mm(o, rows: t, block + ".attn.proj"), count: t * d, name: block + ".t1")
        let n2 = try layerNorm(t1, rows: t, c: d, block + ".norm2", eps: eps, forLayer: block + ".mlp2.fc1")
        let h2 = try mlp(n2, rows: t, block + ".mlp2.fc1", .gelu, block + ".mlp2.fc2", name: block + ".mlp2.gelu")
        let next = try add(t1, h2, count: t * d, name: block + ".prompt", record: block + ".prompt")
        // Cross-attention: queries from α, keys from β, values from the new prompt.
        let qa = try layerNorm(view(x, at: 0), rows: t, c: d, block + ".norm1", eps: eps, forLayer: block + ".cross.q")
        let qc = try mm(qa, rows: t, block + ".cross.q", requantize: true)
        let kb = try layerNorm(view(x, at: t * d), rows: t, c: d, block + ".norm1", eps: eps, forLayer: block + ".cross.k")
        let kc = try mm(kb, rows: t, block + ".cross.k", requantize: true)
        var vin: GTensor
        if c.caValueScramble {
            let normed = try layerNorm(next, rows: t, c: d, block + ".norm1", eps: eps, forLayer: nil)
            vin = try tensor(block + ".scramble", .float32, [t, d])
            emit(block + ".scramble", reads: [normed], writes: [vin],
                 .scramble(src: f(normed), dst: f(vin), tokens: t, channels: d))
        } else {
            vin = try layerNorm(next, rows: t, c: d, block + ".norm1", eps: eps, forLayer: block + ".cross.v")
        }
        let vc = try mm(vin, rows: t, block + ".cross.v", requantize: true)
        let oc = try attention(q: AttentionOperand(t: qc, column: 0, ld: ac), k: AttentionOperand(t: kc, column: 0, ld: ac),
                               v: AttentionOperand(t: vc, column: 0, ld: ac), units: 1, side: g, heads: c.caHeads,
                               hd: c.caHeadDim, block + ".cross", relPos: false, proj: block + ".cross.proj", valid: full)
        let u1 = try add(next, try mm(oc, rows: t, block + ".cross.proj"), count: t * d, name: block + ".u1")
        let n3 = try layerNorm(u1, rows: t, c: d, block + ".norm2", eps: eps, forLayer: block + ".mlp.fc1")
        let h3 = try mlp(n3, rows: t, block + ".mlp.fc1", .gelu, block + ".mlp.fc2", name: block + ".mlp.gelu")
        let u2 = try add(u1, h3, count: t * d, name: block + ".u2")
        let pw = try activate(try mm(u2, rows: t, block + ".pw"), count: t * d, .gelu, name: block + ".pw.gelu")
        let gate = try scalar(block + ".gate")
        let e = try tensor(block + ".e", .float32, [t, d], record: block + ".e")
        let xb = view(x, at: t * d)
        emit(block + ".gate", reads: [xb, pw], writes: [e],
             .pointwise(.gated(x: f(xb), gate: gate, y: f(pw), out: f(e)), count: t * d))
        return (next, e)
    }

    /// `conv_up(z; U) = gelu(conv3x3(convT2x2(z; U.ct); U.conv))`, doubling the side.
    func convUp(_ z: GTensor, side: Int, cin: Int, cout: Int, _ stage: String, record: String?) throws(GraphError) -> GTensor {
        let up = try convT2x2(z, h: side, w: side, cin: cin, stage + ".ct")
        let conv = try conv3x3(up, h: 2 * side, w: 2 * side, cin: cout, stage + ".conv")
        return try activate(conv, count: 4 * side * side * cout, .gelu, name: stage + ".gelu", record: record)
    }

    /// DFAM: `gelu(conv3x3_dil2(se(gelu(mm(x; pw1))); pw2))`.
    func dfam(_ x: GTensor, side: Int, cout: Int, _ stage: String) throws(GraphError) -> GTensor {
        let pixels = side * side
        let y = try activate(try mm(x, rows: pixels, stage + ".pw1"), count: pixels * cout, .gelu, name: stage + ".pw1.gelu")
        let se = stage + ".se"
        let (w1, b1, hidden, k1) = try fweights(se + ".fc1")
        let (w2, b2, _, _) = try fweights(se + ".fc2")
        guard k1 == cout else { throw .badTensor(name: se + ".fc1.weight", reason: "width does not match pw1") }
        let ca = try checked { () throws(OpError) in
            try ChannelAttention(pixels: pixels, c: cout, hidden: hidden, w1: w1, b1: b1, w2: w2, b2: b2)
        }
        let out = try tensor(se, .float32, [side, side, cout])
        let scratch = try tensor(se + ".scratch", .float32, [ca.scratchCount])
        emit(se, reads: [y], writes: [out, scratch], .channelAttention(ca, x: f(y), out: f(out), scratch: f(scratch)))
        let conv = try conv3x3(out, h: side, w: side, cin: cout, stage + ".pw2", dilation: 2)
        return try activate(conv, count: pixels * cout, .gelu, name: stage, record: stage)
    }
}
