import XCTest

@testable import EdgeRuntime

final class ArenaTests: XCTestCase {
    func testArenaIsAlignedAndZeroed() throws {
        let arena = try Arena(size: 1000)
        XCTAssertEqual(Int(bitPattern: arena.base) % 64, 0)
        let bytes = arena.base.assumingMemoryBound(to: UInt8.self)
        for index in 0..<1000 { XCTAssertEqual(bytes[index], 0) }
        let empty = try Arena(size: 0)
        XCTAssertEqual(Int(bitPattern: empty.base) % 64, 0)
    }

    func testImpossibleArenaIsATypedError() {
        XCTAssertThrowsError(try Arena(size: Int.max / 2)) { error in
            guard case .allocationFailed(let bytes, _)? = error as? TensorError else { return XCTFail("wrong error") }
            XCTAssertEqual(bytes, Int.max / 2)
            XCTAssertTrue((error as! TensorError).description.hasPrefix("cannot allocate an arena of"))
        }
        XCTAssertThrowsError(try Arena(size: -1))
    }

    func testViewsAreBoundsChecked() throws {
        let arena = try Arena(size: 4096)
        let whole = try arena.view(Float.self, offset: 0, shape: try TensorShape([32, 32]))
        XCTAssertEqual(whole.count, 1024)
        XCTAssertThrowsError(try arena.view(Float.self, offset: 64, shape: try TensorShape([32, 32])))
        XCTAssertThrowsError(try arena.view(Float.self, offset: 32, shape: try TensorShape([4])))  // misaligned
        XCTAssertThrowsError(try arena.view(Float.self, offset: 8192, shape: try TensorShape([0])))
        XCTAssertNoThrow(try arena.view(Int8.self, offset: 4032, shape: try TensorShape([64])))
        XCTAssertThrowsError(try arena.view(Int8.self, offset: 4032, shape: try TensorShape([65])))
    }

    func testViewsOfAPlannedGraphDoNotClobberLiveTensors() throws {
        // x -> y -> z -> w: y and w may reuse x's bytes, z may not overlap y.
        let tensors = [
            try TensorDescriptor(name: "x", dtype: .float32, shape: [16, 16], isInput: true),
            try TensorDescriptor(name: "y", dtype: .float32, shape: [16, 16]),
            try TensorDescriptor(name: "z", dtype: .int32, shape: [16, 16]),
            try TensorDescriptor(name: "w", dtype: .float32, shape: [16, 16], isOutput: true),
        ]
        let steps = [PlanStep(name: "a", reads: [0], writes: [1]), PlanStep(name: "b", reads: [1], writes: [2]),
                     PlanStep(name: "c", reads: [2], writes: [3])]
        let plan = try MemoryPlan.build(tensors: tensors, steps: steps)
        XCTAssertEqual(plan.arenaSize, 2048)
        let arena = try Arena(size: plan.arenaSize)
        let x = try arena.view(Float.self, plan: plan, tensor: 0)
        let y = try arena.view(Float.self, plan: plan, tensor: 1)
        let z = try arena.view(Int32.self, plan: plan, tensor: 2)
        let w = try arena.view(Float.self, plan: plan, tensor: 3)
        XCTAssertThrowsError(try arena.view(Int8.self, plan: plan, tensor: 2))  // wrong dtype
        for i in 0..<256 { x.base[i] = Float(i) }
        for i in 0..<256 { y.base[i] = x.base[i] * 2 }
        for i in 0..<256 { z.base[i] = Int32(y.base[i]) + 1 }
        for i in 0..<256 { w.base[i] = Float(z.base[i]) }
        for i in 0..<256 { XCTAssertEqual(w.base[i], Float(2 * i + 1)) }
    }
}

final class TensorTests: XCTestCase {
    func testShapeChecks() throws {
        XCTAssertThrowsError(try TensorShape([1, 2, 3, 4, 5, 6, 7]))
        XCTAssertThrowsError(try TensorShape([2, -3]))
        XCTAssertThrowsError(try TensorShape([1 << 40, 1 << 40]))
        let shape = try TensorShape([2, 3, 4])
        XCTAssertEqual(shape.rank, 3)
        XCTAssertEqual(shape.elementCount, 24)
        XCTAssertEqual(shape.contiguousStrides.array, [12, 4, 1])
        XCTAssertEqual(try TensorShape([]).elementCount, 1)
    }

    func testStridedViewsAndSlices() throws {
        let storage = UnsafeMutablePointer<Int32>.allocate(capacity: 60)
        defer { storage.deallocate() }
        for i in 0..<60 { storage[i] = Int32(i) }
        let view = try TensorView(base: storage, capacity: 60, shape: try TensorShape([3, 4, 5]))
        XCTAssertEqual(view[1, 2, 3], 33)
        let tile = try view.slice(dimension: 1, 1..<3)
        XCTAssertEqual(tile.shape.array, [3, 2, 5])
        XCTAssertFalse(tile.isContiguous)
        XCTAssertEqual(tile[2, 1, 4], 2 * 20 + 2 * 5 + 4)
        var seen: [Int32] = []
        tile.forEachOffset { seen.append(tile.base[$0]) }
        XCTAssertEqual(seen.count, 30)
        XCTAssertEqual(Array(seen.prefix(6)), [5, 6, 7, 8, 9, 10])
        XCTAssertThrowsError(try tile.reshaped(try TensorShape([30])))
        XCTAssertThrowsError(try view.slice(dimension: 1, 3..<5))
        XCTAssertThrowsError(try view.slice(dimension: 3, 0..<1))
        let flat = try view.reshaped(try TensorShape([60]))
        XCTAssertEqual(flat[59], 59)
        XCTAssertThrowsError(try view.reshaped(try TensorShape([61])))
        // A transposed (strided) view: strides reach element 59 at most.
        let transposed = try TensorView(base: storage, capacity: 60, shape: try TensorShape([5, 4, 3]),
                                        strides: try TensorShape([1, 5, 20]))
        XCTAssertEqual(transposed[4, 3, 2], 59)
        XCTAssertThrowsError(try TensorView(base: storage, capacity: 59, shape: try TensorShape([5, 4, 3]),
                                            strides: try TensorShape([1, 5, 20])))
        tile.fill(-1)
        XCTAssertEqual(storage[5], -1)
        XCTAssertEqual(storage[4], 4)
        XCTAssertEqual(storage[15], 15)
    }
}
