import EdgeRuntime

/// A tensor the config requires: name, dtype and shape (docs/MODEL_FORMAT.md section 5).
public struct ExpectedTensor: Equatable {
    public let name: String
    public let dtype: SafeTensorsDType
    public let shape: [Int]
}

/// One matmul layer of the inference path: weight [outputs, inputs]; int8 files quantize it unless `quantized` is false.
public struct MatmulLayer: Equatable {
    /// Epilogue of an int8 layer: A dequantizes to fp32, B requantizes to int8 (docs/NUMERICS.md 3.3, 3.4).
    public enum Epilogue: Equatable { case dequantize, requantize }

    public let name: String
    public let outputs: Int
    public let inputs: Int
    public let epilogue: Epilogue
    public let quantized: Bool
}

/// The tensor set a model file must hold, derived from its config.
public enum ModelSchema {
    /// Every matmul layer, in execution order (MODEL_FORMAT.md section 5.4).
    public static func layers(_ c: ModelConfig) -> [MatmulLayer] {
        var out: [MatmulLayer] = []
        func add(_ name: String, _ outputs: Int, _ inputs: Int, _ epilogue: MatmulLayer.Epilogue = .dequantize, quantized: Bool = true) {
            out.append(MatmulLayer(name: name, outputs: outputs, inputs: inputs, epilogue: epilogue, quantized: quantized))
        }
        let d = c.embedDim
        let patch = c.patchSize * c.patchSize * 3
        add("enc.patch_embed", d, patch)
        add("mcp.patch_embed", d, patch)
        for i in 0..<c.depth {
            let block = "enc.blocks." + String(i)
            add(block + ".attn.qkv", 3 * c.attnDim, d, .requantize)
            add(block + ".attn.proj", d, c.attnDim)
            add(block + ".mlp.fc1", c.mlpDim, d, .requantize)
            add(block + ".mlp.fc2", d, c.mlpDim)
            for branch in ["a", "b"] {
                let adapter = "enc.adapters." + branch + "." + String(i)
                add(adapter + ".fc1", c.adapterDim, d, .requantize)
                add(adapter + ".fc2", d, c.adapterDim)
            }
        }
        for j in 0..<4 {
            let block = "mcp.blocks." + String(j)
            add(block + ".attn.qkv", 3 * c.mcpAttnDim, d, .requantize)
            add(block + ".attn.proj", d, c.mcpAttnDim)
            add(block + ".mlp2.fc1", c.mcpMlp2Dim, d, .requantize)
            add(block + ".mlp2.fc2", d, c.mcpMlp2Dim)
            add(block + ".cross.q", c.caAttnDim, d, .requantize)
            add(block + ".cross.k", c.caAttnDim, d, .requantize)
            add(block + ".cross.v", c.caAttnDim, d, .requantize)
            add(block + ".cross.proj", d, c.caAttnDim)
            add(block + ".mlp.fc1", c.mcpMlpDim, d, .requantize)
            add(block + ".mlp.fc2", d, c.mcpMlpDim)
            add(block + ".pw", d, d)
        }
        let n = c.neckDim
        add("enc.neck.conv1", n, d)
        add("enc.neck.conv2", n, 9 * n)
        let channels = c.decChannels
        add("dec.lev3.ct", channels[0], d)
        add("dec.lev3.conv", channels[0], 9 * channels[0])
        for j in [2, 1, 0] {
            var cin = d
            for u in 0..<(3 - j) {
                let cout = channels[u + 1]
                let stage = "dec.lev" + String(j) + "." + String(u)
                add(stage + ".ct", 4 * cout, cin)
                add(stage + ".conv", cout, 9 * cout)
                cin = cout
            }
        }
        var previous = n
        for stage in 1...4 {
            let width = channels[stage - 1]
            let fuse = "dec.fu" + String(stage)
            add(fuse + ".pw1", width, previous + width)
            add(fuse + ".se.fc1", c.seHidden[stage - 1], width, quantized: false)
            add(fuse + ".se.fc2", width, c.seHidden[stage - 1], quantized: false)
            add(fuse + ".pw2", width, 9 * width)
            if stage < 4 {
                add("dec.up" + String(stage) + ".ct", 4 * width, width)
                add("dec.up" + String(stage) + ".conv", width, 9 * width)
            }
            previous = width
        }
        add("dec.pre4", 4 * c.numOut, channels[3])
        return out
    }

    /// LayerNorm name -> width.
    public static func layerNorms(_ c: ModelConfig) -> [(name: String, width: Int)] {
        var out: [(name: String, width: Int)] = []
        for i in 0..<c.depth {
            out.append(("enc.blocks." + String(i) + ".norm1", c.embedDim))
            out.append(("enc.blocks." + String(i) + ".norm2", c.embedDim))
            for branch in ["a", "b"] { out.append(("enc.adapters." + branch + "." + String(i) + ".norm", c.embedDim)) }
        }
        for j in 0..<4 {
            out.append(("mcp.blocks." + String(j) + ".norm1", c.embedDim))
            out.append(("mcp.blocks." + String(j) + ".norm2", c.embedDim))
        }
        out.append(("enc.neck.ln1", c.neckDim))
        out.append(("enc.neck.ln2", c.neckDim))
        return out
    }

    /// Attention constant groups: name, relative-position side (0 for none) and head width.
    public static func attentions(_ c: ModelConfig) -> [(name: String, relSide: Int, headDim: Int)] {
        var out: [(name: String, relSide: Int, headDim: Int)] = []
        for i in 0..<c.depth {
            out.append(("enc.blocks." + String(i) + ".attn", c.globalAttnIndexes.contains(i) ? c.grid : c.windowSize, c.headDim))
        }
        for j in 0..<4 {
            out.append(("mcp.blocks." + String(j) + ".attn", 0, c.mcpHeadDim))
            out.append(("mcp.blocks." + String(j) + ".cross", 0, c.caHeadDim))
        }
        return out
    }

    /// Every tensor a file of this config and dtype must hold.
    public static func expectedTensors(_ c: ModelConfig, dtype: ModelDType) -> [ExpectedTensor] {
        var out: [ExpectedTensor] = []
        func add(_ name: String, _ dtype: SafeTensorsDType, _ shape: [Int]) {
            out.append(ExpectedTensor(name: name, dtype: dtype, shape: shape))
        }
        add("pre.mean", .f32, [3])
        add("pre.std", .f32, [3])
        add("enc.pos_embed", .f32, [c.tokens, c.embedDim])
        add("mcp.pos_embed", .f32, [c.tokens, c.embedDim])
        for j in 0..<4 { add("mcp.blocks." + String(j) + ".gate", .f32, [1]) }
        for norm in layerNorms(c) {
            add(norm.name + ".weight", .f32, [norm.width])
            add(norm.name + ".bias", .f32, [norm.width])
        }
        for layer in layers(c) {
            let o = layer.outputs
            if dtype == .fp32 || !layer.quantized {
                add(layer.name + ".weight", .f32, [o, layer.inputs])
                add(layer.name + ".bias", .f32, [o])
                continue
            }
            add(layer.name + ".weight", .i8, [o, layer.inputs])
            add(layer.name + ".w_scale", .f32, [o])
            add(layer.name + ".in_inv_s", .f32, [1])
            add(layer.name + ".in_zero", .i32, [1])
            add(layer.name + ".in_scale", .f32, [1])
            if layer.epilogue == .dequantize {
                add(layer.name + ".m", .f32, [o])
                add(layer.name + ".bias", .f32, [o])
            } else {
                for suffix in ["mult", "shift", "bias_q", "out_zero"] { add(layer.name + "." + suffix, .i32, [o]) }
                add(layer.name + ".out_scale", .f32, [o])
            }
        }
        for attention in attentions(c) {
            let n = attention.relSide
            let hd = attention.headDim
            if dtype == .fp32 {
                add(attention.name + ".scale", .f32, [1])
                if n > 0 {
                    add(attention.name + ".rel_h", .f32, [n, n, hd])
                    add(attention.name + ".rel_w", .f32, [n, n, hd])
                }
            } else {
                add(attention.name + ".logit_scale", .f32, [1])
                add(attention.name + ".v_scale", .f32, [1])
                for zero in ["q_zero", "k_zero", "v_zero"] { add(attention.name + "." + zero, .i32, [1]) }
                if n > 0 {
                    add(attention.name + ".rel_h", .i8, [n, n, hd])
                    add(attention.name + ".rel_w", .i8, [n, n, hd])
                    add(attention.name + ".rel_h_scale", .f32, [1])
                    add(attention.name + ".rel_w_scale", .f32, [1])
                }
            }
        }
        return out
    }
}

extension ModelFile {
    /// Checks the config and the tensor set: every required tensor present with its dtype and shape, no unknown
    /// tensor (unless the file's minor version is newer than this reader's), every float finite, scales positive,
    /// and every quantization constant inside its NUMERICS range. Returns the typed config.
    public func validateModel() throws(ModelFileError) -> ModelConfig {
        guard !isFormatTest else { throw .notRunnable(reason: "config 'format-test' marks a container-only test file") }
        let config = try ModelConfig(json: configJSON)
        let expected = ModelSchema.expectedTensors(config, dtype: dtype)
        var wanted = Set<String>()
        wanted.reserveCapacity(expected.count)
        for item in expected {
            wanted.insert(item.name)
            guard let entry = header.entry(item.name) else { throw .missingTensor(name: item.name) }
            guard entry.dtype == item.dtype else {
                throw .wrongDType(tensor: item.name, expected: item.dtype.name, found: entry.dtype.name)
            }
            guard entry.shape == item.shape else { throw .wrongShape(tensor: item.name, expected: item.shape, found: entry.shape) }
        }
        if formatVersion.minor <= ModelFormat.minor {
            for entry in header.entries where !wanted.contains(entry.name) { throw .unexpectedTensor(name: entry.name) }
        }
        for item in expected {
            try checkValues(tensor(item.name)!)
        }
        return config
    }

    /// Range checks of one tensor by its name's last component.
    private func checkValues(_ t: ModelTensor) throws(ModelFileError) {
        let suffix = ModelFile.lastComponent(t.name)
        switch t.dtype {
        case .f32:
            let positive = ["w_scale", "in_inv_s", "in_scale", "out_scale", "m", "logit_scale", "v_scale",
                            "rel_h_scale", "rel_w_scale", "scale"].contains(suffix) || t.name == "pre.std"
            for index in 0..<t.count {
                let value = t.float(index)
                guard value.isFinite else { throw .nonFinite(tensor: t.name, index: index) }
                if positive && !(value > 0) {
                    throw .badQuantization(tensor: t.name, index: index, value: ModelFile.describe(value),
                                           reason: "scale must be positive")
                }
            }
        case .i32:
            switch suffix {
            case "in_zero", "out_zero", "q_zero", "k_zero", "v_zero":
                try checkRange(t, -128, 127, "zero point outside [-128, 127]")
            case "shift":
                try checkRange(t, 1, 62, "shift outside [1, 62]")
            case "mult":
                for index in 0..<t.count {
                    let value = t.int32(index)
                    guard value == 0 || value >= 1 << 30 else {
                        throw .badQuantization(tensor: t.name, index: index, value: String(value),
                                               reason: "multiplier outside [2^30, 2^31) and not 0")
                    }
                }
            default:
                break
            }
        case .u8:
            break  // rejected by ModelFile.init; model files hold no U8
        case .i8:
            for index in 0..<t.count where t.int8(index) == -128 {
                throw .badQuantization(tensor: t.name, index: index, value: "-128",
                                       reason: "int8 weights are in [-127, 127]")
            }
        }
    }

    private func checkRange(_ t: ModelTensor, _ low: Int32, _ high: Int32, _ reason: String) throws(ModelFileError) {
        for index in 0..<t.count {
            let value = t.int32(index)
            guard value >= low && value <= high else {
                throw .badQuantization(tensor: t.name, index: index, value: String(value), reason: reason)
            }
        }
    }

    static func lastComponent(_ name: String) -> String {
        var last: [UInt8] = []
        for byte in name.utf8 {
            if byte == UInt8(ascii: ".") { last.removeAll() } else { last.append(byte) }
        }
        return String(decoding: last, as: UTF8.self)
    }

    /// A float for messages without Float printing (absent in Embedded Swift): its class, or an integer approximation.
    static func describe(_ value: Float) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        if value == 0 { return value.sign == .minus ? "-0.0" : "0.0" }
        // Float(Int(v)) == v tests integrality without libm's rounding functions (not linked in every binary).
        if abs(value) < 1e9 && Float(Int(value)) == value { return String(Int(value)) + ".0" }
        return "float bits 0x" + String(value.bitPattern, radix: 16)
    }
}
