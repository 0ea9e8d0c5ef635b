import XCTest

@testable import LiteModel
import EdgeRuntime

/// A tensor to write into a test file: safetensors dtype name, shape and raw little-endian bytes.
struct TestTensor {
    var name: String
    var dtype: String
    var shape: [Int]
    var data: [UInt8]

    static func f32(_ name: String, _ shape: [Int], _ values: [Float]) -> TestTensor {
        var data: [UInt8] = []
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { data += $0 } }
        return TestTensor(name: name, dtype: "F32", shape: shape, data: data)
    }

    static func i32(_ name: String, _ shape: [Int], _ values: [Int32]) -> TestTensor {
        var data: [UInt8] = []
        for value in values { withUnsafeBytes(of: value.littleEndian) { data += $0 } }
        return TestTensor(name: name, dtype: "I32", shape: shape, data: data)
    }

    static func i8(_ name: String, _ shape: [Int], _ values: [Int8]) -> TestTensor {
        TestTensor(name: name, dtype: "I8", shape: shape, data: values.map { UInt8(bitPattern: $0) })
    }
}

/// Writes `.dsm` files the way docs/MODEL_FORMAT.md describes (canonical header, space padding, CRC-32),
/// independently of the reader under test except for the CRC, which has its own test vectors.
enum TestModelWriter {
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }

    /// Bytes of a file holding `tensors` and `metadata` (a `checksum` entry is added and filled unless present).
    static func encode(_ tensors: [TestTensor], metadata: [String: String], fillChecksum: Bool = true) -> [UInt8] {
        var meta = metadata
        if meta["checksum"] == nil { meta["checksum"] = "crc32:00000000" }
        // Like the safetensors package: larger element types first, then by name.
        let width = ["F32": 4, "I32": 4, "I8": 1]
        let ordered = tensors.sorted { (width[$0.dtype] ?? 1, $1.name) > (width[$1.dtype] ?? 1, $0.name) }
        var parts: [String] = []
        parts.append("\"__metadata__\":{" + meta.keys.sorted().map { jsonString($0) + ":" + jsonString(meta[$0]!) }.joined(separator: ",") + "}")
        var offset = 0
        var data: [UInt8] = []
        for t in ordered {
            let shape = "[" + t.shape.map(String.init).joined(separator: ",") + "]"
            parts.append(jsonString(t.name) + ":{\"dtype\":\"" + t.dtype + "\",\"shape\":" + shape
                         + ",\"data_offsets\":[" + String(offset) + "," + String(offset + t.data.count) + "]}")
            offset += t.data.count
            data += t.data
        }
        var header = Array(("{" + parts.joined(separator: ",") + "}").utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var file: [UInt8] = []
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { file += $0 }
        file += header
        file += data
        if fillChecksum { fixChecksum(&file) }
        return file
    }

    /// Recomputes and stores the CRC (after a deliberate edit that should fail for another reason).
    static func fixChecksum(_ file: inout [UInt8]) {
        let marker = Array("\"checksum\":\"crc32:".utf8)
        guard let start = (0...(file.count - marker.count)).first(where: { Array(file[$0..<($0 + marker.count)]) == marker }) else { return }
        let digits = start + marker.count
        for i in 0..<8 { file[digits + i] = 0x30 }
        let crc = file.withUnsafeBytes { CRC32.checksum($0) }
        let hex = Array(String(format: "%08x", crc).utf8)
        for i in 0..<8 { file[digits + i] = hex[i] }
    }

    static let formatTestMetadata: [String: String] = [
        "format": "dualsam-edge", "format_version": "1.0", "numerics_version": "2", "dtype": "fp32",
        "config": "{\"name\":\"format-test\"}", "calibration": "{}", "producer": "swift tests",
    ]

    /// A small valid container: the format-test config and a handful of tensors of each dtype.
    static func minimalFile() -> [UInt8] {
        encode([
            .f32("a.weight", [2, 3], [1, -2, 3.5, 0, 0.25, -1e-3]),
            .f32("a.bias", [2], [0.5, -0.5]),
            .i32("b.shift", [3], [1, 31, 62]),
            .i8("c.weight", [2, 2], [-127, 0, 5, 127]),
            .f32("scalar", [], [7]),
            .i8("empty", [0], []),
        ], metadata: formatTestMetadata)
    }

    /// The config of a full (but very small) model used by the schema tests.
    static let unitConfig = "{\"adapter_dim\":4,\"ca_head_dim\":4,\"ca_heads\":2,\"ca_value_scramble\":true,"
        + "\"dec_channels\":[8,4,4,2],\"depth\":4,\"embed_dim\":8,\"gate_init\":1.0,\"global_attn_indexes\":[1,3],"
        + "\"head_dim\":4,\"head_dim_pre\":8,\"img_size\":32,\"ln_eps_adapter\":1e-05,\"ln_eps_encoder\":1e-06,"
        + "\"ln_eps_mcp\":1e-05,\"lora_rank\":4,\"mcp_head_dim\":4,\"mcp_heads\":2,\"mcp_mlp2_dim\":12,\"mcp_mlp_dim\":16,"
        + "\"mlp_dim\":16,\"name\":\"unit\",\"neck_dim\":8,\"num_heads\":2,\"num_out\":8,\"patch_size\":16,"
        + "\"se_hidden\":[2,1,1,1],\"window_size\":1}"

    /// A complete valid model of `unitConfig` with plausible values for every constant.
    static func unitModelTensors(dtype: ModelDType, seed: UInt64 = 7) throws -> [TestTensor] {
        let config = try ModelConfig(json: try JSONParser.parse(unitConfig))
        var rng = SplitMix64(seed: seed)
        var out: [TestTensor] = []
        for item in ModelSchema.expectedTensors(config, dtype: dtype) {
            let count = item.shape.reduce(1, *)
            let suffix = ModelFile.lastComponent(item.name)
            switch item.dtype {
            case .f32:
                let positive = ["w_scale", "in_inv_s", "in_scale", "out_scale", "m", "logit_scale", "v_scale",
                                "rel_h_scale", "rel_w_scale", "scale", "std"].contains(suffix)
                out.append(.f32(item.name, item.shape, (0..<count).map { _ in
                    let r = Float(rng.below(2001) - 1000) / 1000
                    return positive ? 0.001 + abs(r) : r
                }))
            case .i32:
                let values: [Int32] = (0..<count).map { _ in
                    switch suffix {
                    case "mult": return Int32(1 << 30) + Int32(rng.below(1 << 30))
                    case "shift": return Int32(1 + rng.below(62))
                    case "bias_q": return Int32(rng.below(20001) - 10000)
                    default: return Int32(rng.below(256) - 128)  // zero points
                    }
                }
                out.append(.i32(item.name, item.shape, values))
            case .i8, .u8:
                out.append(.i8(item.name, item.shape, (0..<count).map { _ in Int8(rng.below(255) - 127) }))
            }
        }
        return out
    }

    static func unitMetadata(dtype: ModelDType, config: String = unitConfig) -> [String: String] {
        ["format": "dualsam-edge", "format_version": "1.0", "numerics_version": "2", "dtype": dtype.name,
         "config": config, "calibration": dtype == .int8 ? "{\"method\":\"minmax\",\"images\":4}" : "{}",
         "producer": "swift tests"]
    }
}

/// SplitMix64, so failures reproduce from the seed.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

/// Parses in-memory bytes as a model file, returning the typed error or nil.
func modelFileError(_ bytes: [UInt8], verifyChecksum: Bool = true) -> ModelFileError? {
    do throws(ModelFileError) {
        _ = try ModelFile(storage: ModelFileBytes(bytes), verifyChecksum: verifyChecksum)
        return nil
    } catch {
        return error
    }
}

/// Parses and validates the model layer too.
func fullModelError(_ bytes: [UInt8]) -> ModelFileError? {
    do throws(ModelFileError) {
        let file = try ModelFile(storage: ModelFileBytes(bytes))
        _ = try file.validateModel()
        return nil
    } catch {
        return error
    }
}
