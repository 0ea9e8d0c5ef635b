import EdgeRuntime
import XCTest

@testable import LiteModel

final class PlanTests: XCTestCase {
    private var path = ""

    override func setUpWithError() throws {
        path = NSTemporaryDirectory() + "/engine-plan-\(getpid())-\(UUID().uuidString).dsm"
        let bytes = TestModelWriter.encode(try TestModelWriter.unitModelTensors(dtype: .int8), metadata: TestModelWriter.unitMetadata(dtype: .int8))
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
    }

    override func tearDown() {
        unlink(path)
    }

    /// A small encoder-shaped order (not the Dual-SAM order, which the graph code supplies).
    static func encoderOrder(_ c: ModelConfig, _ dtype: ModelDType) throws(MemoryPlanError) -> ExecutionOrder {
        var order = ExecutionOrder()
        let image = try order.tensor("image", .uint8, [c.imgSize, c.imgSize, 3], isInput: true)
        var x = try order.tensor("x0", .float32, [c.tokens, c.embedDim])
        order.step("patch_embed", reads: [image], writes: [x])
        for i in 0..<c.depth {
            let h = try order.tensor("b\(i).h", .float32, [c.tokens, c.embedDim])
            let qkv = try order.tensor("b\(i).qkv", .int8, [c.tokens, 3 * c.attnDim])
            let o = try order.tensor("b\(i).o", .float32, [c.tokens, c.attnDim])
            let y = try order.tensor("b\(i).x", .float32, [c.tokens, c.embedDim])
            let m = try order.tensor("b\(i).mlp", .float32, [c.tokens, c.mlpDim])
            order.step("b\(i).norm1", reads: [x], writes: [h])
            order.step("b\(i).qkv", reads: [h], writes: [qkv])
            order.step("b\(i).attn", reads: [qkv], writes: [o])
            order.step("b\(i).proj", reads: [o, x], writes: [y])
            order.step("b\(i).fc1", reads: [y], writes: [m])
            order.step("b\(i).fc2", reads: [m], writes: [y])
            x = y
        }
        let out = try order.tensor("logits", .float32, [c.imgSize, c.imgSize, c.numOut], isOutput: true)
        order.step("head", reads: [x], writes: [out])
        return order
    }

    func testLoadPrepareAndRunOverTheArena() throws {
        let model = try LoadedModel.load(path: path, options: EngineOptions(threads: 2))
        XCTAssertEqual(model.config.name, "unit")
        XCTAssertEqual(model.dtype, .int8)
        XCTAssertEqual(model.pool.threadCount, 2)
        XCTAssertNil(model.arena)
        let order = try PlanTests.encoderOrder(model.config, model.dtype)
        try model.prepare(order: order)
        let plan = try XCTUnwrap(model.plan)
        try plan.validate()
        XCTAssertEqual(model.arena?.size, plan.arenaSize)
        // Tensors are reused: the arena is smaller than the sum of all tensors, and at least the peak live set.
        let total = order.tensors.reduce(0) { $0 + alignUp($1.byteSize, 64) }
        XCTAssertLessThan(plan.arenaSize, total)
        XCTAssertGreaterThanOrEqual(plan.arenaSize, plan.peakLiveBytes)
        // The raw weights are there for packing: shape and bytes.
        let weight = try XCTUnwrap(model.file.tensor("enc.blocks.0.attn.qkv.weight"))
        XCTAssertEqual(weight.shape, [24, 8])
        XCTAssertEqual(weight.bytes.count, 192)
    }

    func testMemoryLimitFailsWithPlanAndLimit() throws {
        let probe = try LoadedModel.load(path: path)
        let order = try PlanTests.encoderOrder(probe.config, probe.dtype)
        let needed = try order.plan().arenaSize + probe.file.weightBytes
        let exact = try LoadedModel.load(path: path, options: EngineOptions(memoryLimitBytes: needed))
        XCTAssertNoThrow(try exact.prepare(order: order))
        let tight = try LoadedModel.load(path: path, options: EngineOptions(memoryLimitBytes: needed - 1))
        XCTAssertThrowsError(try tight.prepare(order: order)) { error in
            guard case .plan(.exceedsLimit(let plan, let limit, _, let weights))? = error as? ModelLoadError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(plan, needed)
            XCTAssertEqual(limit, needed - 1)
            XCTAssertEqual(weights, probe.file.weightBytes)
            XCTAssertTrue((error as! ModelLoadError).description.hasPrefix("memory plan: memory plan needs "))
        }
        XCTAssertNil(tight.arena)
    }

    func testPlanReport() throws {
        let report = try ModelPlanner.report(path: path, largest: 3) { c, d throws(MemoryPlanError) in try PlanTests.encoderOrder(c, d) }
        XCTAssertEqual(report.largest.count, 3)
        XCTAssertEqual(report.largest[0].name, "logits")
        XCTAssertGreaterThan(report.weightBytes, 0)
        XCTAssertGreaterThanOrEqual(report.arenaBytes, report.peakLiveBytes)
        XCTAssertTrue(report.text.contains("largest tensors:"))
        XCTAssertThrowsError(try ModelPlanner.report(path: path, options: EngineOptions(memoryLimitBytes: 1000)) { c, d throws(MemoryPlanError) in
            try PlanTests.encoderOrder(c, d)
        })
    }

    func testLoadErrorsAreTyped() {
        XCTAssertThrowsError(try LoadedModel.load(path: path + ".nope")) { error in
            guard case .file(.io)? = error as? ModelLoadError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try LoadedModel.load(path: path, options: EngineOptions(threads: 0))) { error in
            XCTAssertEqual(error as? ModelLoadError, .threads(.badThreadCount(0)))
        }
        XCTAssertThrowsError(try ModelPlanner.report(path: path) { _, _ throws(MemoryPlanError) in
            var order = ExecutionOrder()
            let a = try order.tensor("a", .float32, [4])
            order.step("s", reads: [a], writes: [])
            return order
        }) { error in
            XCTAssertEqual(error as? ModelLoadError, .plan(.readBeforeWrite(tensor: "a", step: "s")))
        }
    }
}
