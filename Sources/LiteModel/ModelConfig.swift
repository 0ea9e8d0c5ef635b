import EdgeRuntime

/// The architecture config of a model file (docs/MODEL_FORMAT.md section 3), typed and checked.
public struct ModelConfig: Equatable {
    public let name: String
    /// Model input side S.
    public let imgSize: Int
    public let patchSize: Int
    /// Residual width D.
    public let embedDim: Int
    /// Encoder blocks.
    public let depth: Int
    public let numHeads: Int
    public let headDim: Int
    public let mlpDim: Int
    public let windowSize: Int
    /// 0-based indices of the global-attention blocks.
    public let globalAttnIndexes: [Int]
    public let adapterDim: Int
    public let mcpHeads: Int
    public let mcpHeadDim: Int
    public let mcpMlpDim: Int
    public let mcpMlp2Dim: Int
    public let caHeads: Int
    public let caHeadDim: Int
    public let caValueScramble: Bool
    public let neckDim: Int
    /// Decoder widths [c1, c2, c3, c4].
    public let decChannels: [Int]
    /// DFAM channel-attention hidden widths, one per fusion stage.
    public let seHidden: [Int]
    /// C3P channels.
    public let numOut: Int
    /// LayerNorm epsilons as float32 (the config stores float64 text; the engine uses `Float(eps)`).
    public let lnEpsEncoder: Float
    public let lnEpsAdapter: Float
    public let lnEpsMcp: Float

    /// Largest dimension accepted: keeps every derived size far from overflow.
    public static let maxDimension = 1 << 16

    /// Token grid side G = S / patch_size.
    public var grid: Int { imgSize / patchSize }
    /// Tokens T = G * G.
    public var tokens: Int { grid * grid }
    /// Encoder attention width (heads * head_dim).
    public var attnDim: Int { numHeads * headDim }
    /// MCP self-attention width.
    public var mcpAttnDim: Int { mcpHeads * mcpHeadDim }
    /// MCP cross-attention width.
    public var caAttnDim: Int { caHeads * caHeadDim }
    /// Encoder blocks after which MCP block j runs: step*(j+1)-1 with step = depth/4.
    public var levels: [Int] { (0..<4).map { (depth / 4) * ($0 + 1) - 1 } }

    /// Reads and checks the config object; unknown keys are ignored.
    public init(json: JSONValue) throws(ModelFileError) {
        guard json.objectValue != nil else { throw .badConfigValue(key: "config", reason: "not a JSON object") }
        name = try ModelConfig.string(json, "name")
        imgSize = try ModelConfig.dimension(json, "img_size")
        patchSize = try ModelConfig.dimension(json, "patch_size")
        embedDim = try ModelConfig.dimension(json, "embed_dim")
        depth = try ModelConfig.dimension(json, "depth")
        numHeads = try ModelConfig.dimension(json, "num_heads")
        headDim = try ModelConfig.dimension(json, "head_dim")
        mlpDim = try ModelConfig.dimension(json, "mlp_dim")
        windowSize = try ModelConfig.dimension(json, "window_size")
        globalAttnIndexes = try ModelConfig.intList(json, "global_attn_indexes", count: nil, minimum: 0)
        adapterDim = try ModelConfig.dimension(json, "adapter_dim")
        mcpHeads = try ModelConfig.dimension(json, "mcp_heads")
        mcpHeadDim = try ModelConfig.dimension(json, "mcp_head_dim")
        mcpMlpDim = try ModelConfig.dimension(json, "mcp_mlp_dim")
        mcpMlp2Dim = try ModelConfig.dimension(json, "mcp_mlp2_dim")
        caHeads = try ModelConfig.dimension(json, "ca_heads")
        caHeadDim = try ModelConfig.dimension(json, "ca_head_dim")
        guard let scramble = json["ca_value_scramble"] else { throw .missingConfigKey(key: "ca_value_scramble") }
        guard case let .bool(flag) = scramble else {
            throw .badConfigValue(key: "ca_value_scramble", reason: "is a " + scramble.kindName + ", not a boolean")
        }
        caValueScramble = flag
        neckDim = try ModelConfig.dimension(json, "neck_dim")
        decChannels = try ModelConfig.intList(json, "dec_channels", count: 4, minimum: 1)
        seHidden = try ModelConfig.intList(json, "se_hidden", count: 4, minimum: 1)
        numOut = try ModelConfig.dimension(json, "num_out")
        lnEpsEncoder = try ModelConfig.epsilon(json, "ln_eps_encoder")
        lnEpsAdapter = try ModelConfig.epsilon(json, "ln_eps_adapter")
        lnEpsMcp = try ModelConfig.epsilon(json, "ln_eps_mcp")

        guard imgSize % patchSize == 0 else {
            throw .badConfigValue(key: "img_size", reason: String(imgSize) + " is not a multiple of patch_size " + String(patchSize))
        }
        guard depth % 4 == 0 else { throw .badConfigValue(key: "depth", reason: String(depth) + " is not a multiple of 4") }
        for index in globalAttnIndexes where index >= depth {
            throw .badConfigValue(key: "global_attn_indexes", reason: "block " + String(index) + " is not below depth " + String(depth))
        }
        if numOut != 8 {
            throw .badConfigValue(key: "num_out", reason: String(numOut) + " C3P channels, the decoding needs 8")
        }
        // Tensor sizes derived below stay far from overflow: the largest product is G*G*D or (9*N)*N.
        guard grid * grid <= ModelConfig.maxDimension * 16 else {
            throw .badConfigValue(key: "img_size", reason: "grid of " + String(grid) + "x" + String(grid) + " tokens is too large")
        }
    }

    private static func value(_ json: JSONValue, _ key: String) throws(ModelFileError) -> JSONValue {
        guard let value = json[key] else { throw .missingConfigKey(key: key) }
        return value
    }

    private static func string(_ json: JSONValue, _ key: String) throws(ModelFileError) -> String {
        let value = try value(json, key)
        guard let text = value.stringValue else { throw .badConfigValue(key: key, reason: "is a " + value.kindName + ", not a string") }
        return text
    }

    private static func dimension(_ json: JSONValue, _ key: String) throws(ModelFileError) -> Int {
        let value = try value(json, key)
        guard let number = value.intValue else { throw .badConfigValue(key: key, reason: "is a " + value.kindName + ", not an integer") }
        guard number >= 1 && number <= maxDimension else {
            throw .badConfigValue(key: key, reason: String(number) + " is outside 1..." + String(maxDimension))
        }
        return number
    }

    private static func intList(_ json: JSONValue, _ key: String, count: Int?, minimum: Int) throws(ModelFileError) -> [Int] {
        let value = try value(json, key)
        guard let elements = value.arrayValue else { throw .badConfigValue(key: key, reason: "is a " + value.kindName + ", not a list") }
        if let count, elements.count != count {
            throw .badConfigValue(key: key, reason: "has " + String(elements.count) + " entries, " + String(count) + " expected")
        }
        var out: [Int] = []
        for element in elements {
            guard let number = element.intValue, number >= minimum, number <= maxDimension else {
                throw .badConfigValue(key: key, reason: "entries must be integers in " + String(minimum) + "..." + String(maxDimension))
            }
            out.append(number)
        }
        return out
    }

    private static func epsilon(_ json: JSONValue, _ key: String) throws(ModelFileError) -> Float {
        let value = try value(json, key)
        guard let number = value.doubleValue else { throw .badConfigValue(key: key, reason: "is a " + value.kindName + ", not a number") }
        let eps = Float(number)
        guard eps.isFinite && eps > 0 && eps < 1 else {
            throw .badConfigValue(key: key, reason: "must be a positive number below 1")
        }
        return eps
    }
}
