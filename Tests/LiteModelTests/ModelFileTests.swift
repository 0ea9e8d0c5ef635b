import XCTest

@testable import LiteModel
import EdgeRuntime

final class ModelFileTests: XCTestCase {
    private func unitConfig() throws -> ModelConfig {
        try ModelConfig(json: try JSONParser.parse(TestModelWriter.unitConfig))
    }

    func testConfigIsTypedAndDerived() throws {
        let config = try unitConfig()
        XCTAssertEqual(config.name, "unit")
        XCTAssertEqual(config.grid, 2)
        XCTAssertEqual(config.levels, [0, 1, 2, 3])
        XCTAssertEqual(config.globalAttnIndexes, [1, 3])
        XCTAssertEqual(config.decChannels, [8, 4, 4, 2])
        XCTAssertEqual(config.lnEpsEncoder, Float(1e-6))
        XCTAssertEqual(config.lnEpsAdapter, Float(1e-5))
        XCTAssertTrue(config.caValueScramble)
    }

    func testTheLiteAndTinyConfigsOfTheToolsParse() throws {
        // DualSamConfig TINY of tools/dualsam/configs.py, plus the epsilons, as the converter writes it.
        let tiny = "{\"adapter_dim\":16,\"ca_head_dim\":48,\"ca_heads\":4,\"ca_value_scramble\":true,\"dec_channels\":[64,32,16,8],"
            + "\"depth\":4,\"embed_dim\":192,\"gate_init\":1.0,\"global_attn_indexes\":[1,3],\"head_dim\":32,\"head_dim_pre\":8,"
            + "\"img_size\":256,\"ln_eps_adapter\":1e-05,\"ln_eps_encoder\":1e-06,\"ln_eps_mcp\":1e-05,\"lora_rank\":4,"
            + "\"mcp_head_dim\":32,\"mcp_heads\":6,\"mcp_mlp2_dim\":576,\"mcp_mlp_dim\":576,\"mlp_dim\":768,\"name\":\"tiny\","
            + "\"neck_dim\":64,\"num_heads\":6,\"num_out\":8,\"patch_size\":16,\"se_hidden\":[4,2,1,1],\"window_size\":8}"
        let config = try ModelConfig(json: try JSONParser.parse(tiny))
        XCTAssertEqual(config.grid, 16)
        XCTAssertEqual(config.attnDim, 192)
        XCTAssertEqual(config.levels, [0, 1, 2, 3])
        let expected = ModelSchema.expectedTensors(config, dtype: .int8)
        XCTAssertEqual(expected.first { $0.name == "enc.blocks.0.attn.rel_h" }?.shape, [8, 8, 32])
        XCTAssertEqual(expected.first { $0.name == "enc.blocks.1.attn.rel_h" }?.shape, [16, 16, 32])
        XCTAssertEqual(expected.first { $0.name == "dec.fu1.pw1.weight" }?.shape, [64, 128])
        XCTAssertEqual(expected.first { $0.name == "dec.lev0.2.ct.weight" }?.shape, [32, 16])
        XCTAssertEqual(expected.first { $0.name == "dec.pre4.weight" }?.shape, [32, 8])
        XCTAssertEqual(expected.first { $0.name == "dec.fu4.se.fc1.weight" }?.dtype, .f32)
    }

    /// The expected tensor set equals the one tools/convert/schema.py derives for the same config: the counts
    /// and the CRC-32 of the sorted "name:dtype:shape" lines were computed with the Python schema.
    func testSchemaAgreesWithThePythonConverter() throws {
        let config = try unitConfig()
        for (dtype, count, crc) in [(ModelDType.fp32, 314, UInt32(0x1a86_aa1d)), (.int8, 1035, 0xd061_d2c1)] {
            let expected = ModelSchema.expectedTensors(config, dtype: dtype)
            XCTAssertEqual(expected.count, count)
            XCTAssertEqual(Set(expected.map { $0.name }).count, count, "duplicate names")
            let text = expected.sorted { $0.name < $1.name }
                .map { $0.name + ":" + $0.dtype.name + ":" + $0.shape.map(String.init).joined(separator: ",") + "\n" }.joined()
            XCTAssertEqual(Array(text.utf8).withUnsafeBytes { CRC32.checksum($0) }, crc, dtype.name)
        }
    }

    func testValidModelsOfBothDTypesLoad() throws {
        for dtype in [ModelDType.fp32, .int8] {
            let bytes = TestModelWriter.encode(try TestModelWriter.unitModelTensors(dtype: dtype), metadata: TestModelWriter.unitMetadata(dtype: dtype))
            let file = try ModelFile(storage: ModelFileBytes(bytes))
            XCTAssertEqual(file.dtype, dtype)
            let config = try file.validateModel()
            XCTAssertEqual(config.embedDim, 8)
        }
    }

    /// Re-encodes the unit int8 model after `edit` and returns the model-layer error.
    private func int8Error(_ edit: (inout [TestTensor]) -> Void, config: String = TestModelWriter.unitConfig) throws -> ModelFileError? {
        var tensors = try TestModelWriter.unitModelTensors(dtype: .int8)
        edit(&tensors)
        return fullModelError(TestModelWriter.encode(tensors, metadata: TestModelWriter.unitMetadata(dtype: .int8, config: config)))
    }

    private func set(_ tensors: inout [TestTensor], _ name: String, _ replacement: TestTensor) {
        let index = tensors.firstIndex { $0.name == name }!
        tensors[index] = replacement
    }

    func testTensorSetErrors() throws {
        XCTAssertEqual(try int8Error { $0.removeAll { $0.name == "enc.blocks.2.mlp.fc2.m" } },
                       .missingTensor(name: "enc.blocks.2.mlp.fc2.m"))
        XCTAssertEqual(try int8Error { $0.append(.f32("enc.blocks.2.extra", [1], [0])) }, .unexpectedTensor(name: "enc.blocks.2.extra"))
        XCTAssertEqual(try int8Error { set(&$0, "mcp.blocks.1.gate", .i32("mcp.blocks.1.gate", [1], [1])) },
                       .wrongDType(tensor: "mcp.blocks.1.gate", expected: "F32", found: "I32"))
        XCTAssertEqual(try int8Error { set(&$0, "enc.pos_embed", .f32("enc.pos_embed", [4, 9], [Float](repeating: 0, count: 36))) },
                       .wrongShape(tensor: "enc.pos_embed", expected: [4, 8], found: [4, 9]))
        // A decoder layer whose width disagrees with dec_channels.
        XCTAssertEqual(try int8Error { set(&$0, "dec.up2.ct.weight", .i8("dec.up2.ct.weight", [16, 5], [Int8](repeating: 1, count: 80))) },
                       .wrongShape(tensor: "dec.up2.ct.weight", expected: [16, 4], found: [16, 5]))
    }

    func testQuantizationSanity() throws {
        let o = 24  // rows of enc.blocks.0.attn.qkv (3 * 2 * 4)
        XCTAssertEqual(try int8Error { set(&$0, "enc.blocks.0.attn.qkv.shift", .i32("enc.blocks.0.attn.qkv.shift", [o], [Int32](repeating: 0, count: o))) },
                       .badQuantization(tensor: "enc.blocks.0.attn.qkv.shift", index: 0, value: "0", reason: "shift outside [1, 62]"))
        XCTAssertEqual(try int8Error { set(&$0, "enc.blocks.0.attn.qkv.shift", .i32("enc.blocks.0.attn.qkv.shift", [o], [Int32](repeating: 62, count: o - 1) + [63])) },
                       .badQuantization(tensor: "enc.blocks.0.attn.qkv.shift", index: o - 1, value: "63", reason: "shift outside [1, 62]"))
        XCTAssertEqual(try int8Error { set(&$0, "enc.blocks.0.attn.qkv.mult", .i32("enc.blocks.0.attn.qkv.mult", [o], [Int32](repeating: 0, count: 3) + [(1 << 30) - 1] + [Int32](repeating: 1 << 30, count: o - 4))) },
                       .badQuantization(tensor: "enc.blocks.0.attn.qkv.mult", index: 3, value: "1073741823", reason: "multiplier outside [2^30, 2^31) and not 0"))
        XCTAssertEqual(try int8Error { set(&$0, "enc.blocks.0.attn.qkv.mult", .i32("enc.blocks.0.attn.qkv.mult", [o], [Int32](repeating: -5, count: o))) },
                       .badQuantization(tensor: "enc.blocks.0.attn.qkv.mult", index: 0, value: "-5", reason: "multiplier outside [2^30, 2^31) and not 0"))
        XCTAssertEqual(try int8Error { set(&$0, "mcp.blocks.2.cross.k.out_zero", .i32("mcp.blocks.2.cross.k.out_zero", [8], [0, 0, 0, 0, 0, 128, 0, 0])) },
                       .badQuantization(tensor: "mcp.blocks.2.cross.k.out_zero", index: 5, value: "128", reason: "zero point outside [-128, 127]"))
        XCTAssertEqual(try int8Error { set(&$0, "enc.patch_embed.in_zero", .i32("enc.patch_embed.in_zero", [1], [-129])) },
                       .badQuantization(tensor: "enc.patch_embed.in_zero", index: 0, value: "-129", reason: "zero point outside [-128, 127]"))
        XCTAssertEqual(try int8Error { set(&$0, "dec.pre4.weight", .i8("dec.pre4.weight", [32, 2], [Int8](repeating: 3, count: 63) + [-128])) },
                       .badQuantization(tensor: "dec.pre4.weight", index: 63, value: "-128", reason: "int8 weights are in [-127, 127]"))
        XCTAssertEqual(try int8Error { set(&$0, "dec.pre4.in_inv_s", .f32("dec.pre4.in_inv_s", [1], [-2])) },
                       .badQuantization(tensor: "dec.pre4.in_inv_s", index: 0, value: "-2.0", reason: "scale must be positive"))
        XCTAssertEqual(try int8Error { set(&$0, "mcp.blocks.0.cross.logit_scale", .f32("mcp.blocks.0.cross.logit_scale", [1], [0])) },
                       .badQuantization(tensor: "mcp.blocks.0.cross.logit_scale", index: 0, value: "0.0", reason: "scale must be positive"))
        XCTAssertEqual(try int8Error { set(&$0, "enc.blocks.3.attn.rel_w_scale", .f32("enc.blocks.3.attn.rel_w_scale", [1], [.infinity])) },
                       .nonFinite(tensor: "enc.blocks.3.attn.rel_w_scale", index: 0))
        XCTAssertEqual(try int8Error { set(&$0, "enc.pos_embed", .f32("enc.pos_embed", [4, 8], [Float](repeating: 0, count: 31) + [.nan])) },
                       .nonFinite(tensor: "enc.pos_embed", index: 31))
    }

    func testConfigErrors() throws {
        func withConfig(_ edit: (String) -> String) throws -> ModelFileError? {
            try int8Error({ _ in }, config: edit(TestModelWriter.unitConfig))
        }
        XCTAssertNil(try withConfig { $0 })
        XCTAssertEqual(try withConfig { $0.replacingOccurrences(of: "\"depth\":4,", with: "") }, .missingConfigKey(key: "depth"))
        XCTAssertEqual(try withConfig { $0.replacingOccurrences(of: "\"depth\":4,", with: "\"depth\":6,") },
                       .badConfigValue(key: "depth", reason: "6 is not a multiple of 4"))
        XCTAssertEqual(try withConfig { $0.replacingOccurrences(of: "\"depth\":4,", with: "\"depth\":\"4\",") },
                       .badConfigValue(key: "depth", reason: "is a string, not an integer"))
        XCTAssertEqual(try withConfig { $0.replacingOccurrences(of: "\"img_size\":32,", with: "\"img_size\":40,") },
                       .badConfigValue(key: "img_size", reason: "40 is not a multiple of patch_size 16"))
        XCTAssertEqual(try withConfig { $0.replacingOccurrences(of: "\"embed_dim\":8,", with: "\"embed_dim\":0,") },
                       .badConfigValue(key: "embed_dim", reason: "0 is outside 1...65536"))
        XCTAssertEqual(try withConfig { $0.replacingOccurrences(of: "[8,4,4,2]", with: "[8,4,4]") },
                       .badConfigValue(key: "dec_channels", reason: "has 3 entries, 4 expected"))
        XCTAssertEqual(try withConfig { $0.replacingOccurrences(of: "[1,3]", with: "[1,4]") },
                       .badConfigValue(key: "global_attn_indexes", reason: "block 4 is not below depth 4"))
        XCTAssertEqual(try withConfig { $0.replacingOccurrences(of: "\"ln_eps_mcp\":1e-05", with: "\"ln_eps_mcp\":-1") },
                       .badConfigValue(key: "ln_eps_mcp", reason: "must be a positive number below 1"))
        XCTAssertEqual(try withConfig { $0.replacingOccurrences(of: "\"ca_value_scramble\":true", with: "\"ca_value_scramble\":1") },
                       .badConfigValue(key: "ca_value_scramble", reason: "is a integer, not a boolean"))
        // A config that parses but describes another model: the first tensor that disagrees is named.
        XCTAssertEqual(try withConfig { $0.replacingOccurrences(of: "\"mlp_dim\":16,", with: "\"mlp_dim\":32,") },
                       .wrongShape(tensor: "enc.blocks.0.mlp.fc1.weight", expected: [32, 8], found: [16, 8]))
    }

    func testNewerMinorMayAddTensors() throws {
        var tensors = try TestModelWriter.unitModelTensors(dtype: .fp32)
        tensors.append(.f32("future.table", [2], [1, 2]))
        var meta = TestModelWriter.unitMetadata(dtype: .fp32)
        XCTAssertEqual(fullModelError(TestModelWriter.encode(tensors, metadata: meta)), .unexpectedTensor(name: "future.table"))
        meta["format_version"] = "1.1"
        XCTAssertNil(fullModelError(TestModelWriter.encode(tensors, metadata: meta)))
    }

    func testBitFlipsInAFullModelAreAlwaysRejected() throws {
        let bytes = TestModelWriter.encode(try TestModelWriter.unitModelTensors(dtype: .int8), metadata: TestModelWriter.unitMetadata(dtype: .int8))
        XCTAssertNil(fullModelError(bytes))
        var rng = SplitMix64(seed: 5)
        // 400 random flips of this 975-tensor file (the small file of SafeTensorsTests gets every bit flipped).
        for _ in 0..<400 {
            var flipped = bytes
            let bit = rng.below(bytes.count * 8)
            flipped[bit / 8] ^= UInt8(1 << (bit % 8))
            XCTAssertNotNil(fullModelError(flipped), "bit \(bit)")
        }
    }
}
