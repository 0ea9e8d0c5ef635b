import XCTest

@testable import EdgeRuntime

/// A small deterministic generator (SplitMix64), so failures reproduce from the printed seed.
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

final class MemoryPlanTests: XCTestCase {
    /// A random graph: each step writes one or two new tensors and reads a few earlier ones.
    private func randomGraph(_ rng: inout SplitMix64) throws -> ([TensorDescriptor], [PlanStep]) {
        let stepCount = 1 + rng.below(24)
        let inputs = 1 + rng.below(3)
        var tensors: [TensorDescriptor] = []
        for index in 0..<inputs {
            tensors.append(try TensorDescriptor(name: "in" + String(index), byteSize: rng.below(4) == 0 ? 0 : 1 + rng.below(700), isInput: true))
        }
        var steps: [PlanStep] = []
        for step in 0..<stepCount {
            var reads: [Int] = []
            for _ in 0..<(1 + rng.below(3)) { reads.append(rng.below(tensors.count)) }
            var writes: [Int] = []
            for _ in 0..<(1 + rng.below(2)) {
                let size = rng.below(10) == 0 ? 0 : 1 + rng.below(rng.below(3) == 0 ? 5000 : 300)
                let isOutput = rng.below(8) == 0
                tensors.append(try TensorDescriptor(name: "t" + String(tensors.count), byteSize: size, isOutput: isOutput))
                writes.append(tensors.count - 1)
            }
            // Sometimes an in-place update of a tensor already written.
            if rng.below(5) == 0 { writes.append(rng.below(tensors.count - writes.count)) }
            steps.append(PlanStep(name: "s" + String(step), reads: reads, writes: writes))
        }
        return (tensors, steps)
    }

    /// Independent checker: simulates every step byte by byte and fails if two live tensors claim one byte.
    private func bruteForceCheck(_ plan: MemoryPlan, steps: [PlanStep]) -> String? {
        let lastStep = max(steps.count - 1, 0)
        // Lifetimes recomputed here from the steps, not taken from the plan.
        var first = [Int](repeating: Int.max, count: plan.tensors.count)
        var last = [Int](repeating: -1, count: plan.tensors.count)
        for (index, tensor) in plan.tensors.enumerated() {
            if tensor.isInput { first[index] = 0; last[index] = max(last[index], 0) }
            if tensor.isOutput { last[index] = lastStep; first[index] = min(first[index], lastStep) }
        }
        for (s, step) in steps.enumerated() {
            for t in step.reads + step.writes {
                first[t] = min(first[t], s)
                last[t] = max(last[t], s)
            }
        }
        for s in 0...lastStep {
            var owner = [Int](repeating: -1, count: plan.arenaSize)
            for t in 0..<plan.tensors.count where first[t] <= s && s <= last[t] {
                if plan.offsets[t] % 64 != 0 { return "misaligned " + String(t) }
                for byte in plan.offsets[t]..<(plan.offsets[t] + plan.tensors[t].byteSize) {
                    if byte >= plan.arenaSize { return "tensor " + String(t) + " past the arena" }
                    if owner[byte] != -1 { return "tensors " + String(owner[byte]) + " and " + String(t) + " share byte " + String(byte) + " at step " + String(s) }
                    owner[byte] = t
                }
            }
        }
        return nil
    }

    func testRandomGraphsNeverShareLiveBytes() throws {
        var rng = SplitMix64(seed: 0x5EED_0001)
        var totalArena = 0
        var totalPeak = 0
        for case_ in 0..<3000 {
            let (tensors, steps) = try randomGraph(&rng)
            let plan = try MemoryPlan.build(tensors: tensors, steps: steps)
            XCTAssertNoThrow(try plan.validate(), "case \(case_)")
            if let problem = bruteForceCheck(plan, steps: steps) {
                XCTFail("case \(case_): \(problem)")
                return
            }
            // The peak live set is a lower bound; the arena never beats it.
            XCTAssertGreaterThanOrEqual(plan.arenaSize, plan.peakLiveBytes, "case \(case_)")
            XCTAssertEqual(plan.arenaSize % 64, 0)
            totalArena += plan.arenaSize
            totalPeak += plan.peakLiveBytes
        }
        // Greedy-by-size stays close to the bound on average (alignment padding included).
        XCTAssertLessThan(Double(totalArena) / Double(totalPeak), 1.35)
    }

    func testValidatorAndBruteForceCatchCorruptedPlans() throws {
        var rng = SplitMix64(seed: 0x5EED_0002)
        var caught = 0
        for _ in 0..<1000 {
            let (tensors, steps) = try randomGraph(&rng)
            let plan = try MemoryPlan.build(tensors: tensors, steps: steps)
            // Move one tensor onto another that is live at the same time, if there is such a pair.
            var pair: (Int, Int)? = nil
            outer: for a in 0..<tensors.count where tensors[a].byteSize > 0 {
                for b in 0..<tensors.count where b != a && tensors[b].byteSize > 0 && plan.lifetimes[a].overlaps(plan.lifetimes[b]) {
                    pair = (a, b)
                    break outer
                }
            }
            guard let (a, b) = pair else { continue }
            var offsets = plan.offsets
            offsets[a] = offsets[b]
            let arena = max(plan.arenaSize, alignUp(offsets[a] + tensors[a].byteSize, 64))
            let corrupted = MemoryPlan(tensors: tensors, lifetimes: plan.lifetimes, offsets: offsets, arenaSize: arena,
                                       stepCount: steps.count, peakLiveBytes: plan.peakLiveBytes, peakStep: plan.peakStep)
            XCTAssertThrowsError(try corrupted.validate())
            XCTAssertNotNil(bruteForceCheck(corrupted, steps: steps))
            caught += 1
        }
        XCTAssertGreaterThan(caught, 500)
    }

    func testLargestFirstLowestGap() throws {
        // a: steps 0-1 (1000 B), b: steps 1-2 (100 B), c: step 2-3 (900 B), d: step 3 (50 B).
        let tensors = [
            try TensorDescriptor(name: "a", byteSize: 1000, isInput: true),
            try TensorDescriptor(name: "b", byteSize: 100),
            try TensorDescriptor(name: "c", byteSize: 900),
            try TensorDescriptor(name: "d", byteSize: 50, isOutput: true),
        ]
        let steps = [
            PlanStep(name: "s0", reads: [0], writes: []),
            PlanStep(name: "s1", reads: [0], writes: [1]),
            PlanStep(name: "s2", reads: [1], writes: [2]),
            PlanStep(name: "s3", reads: [2], writes: [3]),
        ]
        let plan = try MemoryPlan.build(tensors: tensors, steps: steps)
        XCTAssertEqual(plan.lifetimes, [Lifetime(first: 0, last: 1), Lifetime(first: 1, last: 2),
                                        Lifetime(first: 2, last: 3), Lifetime(first: 3, last: 3)])
        // a at 0; c (disjoint from a) also at 0; b overlaps a and c: after them at 1024; d overlaps c: at 960.
        XCTAssertEqual(plan.offsets, [0, 1024, 0, 960])
        XCTAssertEqual(plan.arenaSize, 1152)
        XCTAssertEqual(plan.peakLiveBytes, 1100)
        try plan.validate()
    }

    func testErrorsNameTheProblem() throws {
        let a = try TensorDescriptor(name: "a", byteSize: 10)
        let b = try TensorDescriptor(name: "b", byteSize: 10)
        XCTAssertThrowsError(try MemoryPlan.build(tensors: [a], steps: [PlanStep(name: "s0", reads: [0], writes: [])])) { error in
            XCTAssertEqual(error as? MemoryPlanError, .readBeforeWrite(tensor: "a", step: "s0"))
        }
        XCTAssertThrowsError(try MemoryPlan.build(tensors: [a, b], steps: [PlanStep(name: "s0", reads: [], writes: [0])])) { error in
            XCTAssertEqual(error as? MemoryPlanError, .unusedTensor(tensor: "b"))
        }
        XCTAssertThrowsError(try MemoryPlan.build(tensors: [a], steps: [PlanStep(name: "s0", reads: [], writes: [3])])) { error in
            XCTAssertEqual(error as? MemoryPlanError, .badTensorIndex(step: "s0", index: 3))
        }
        XCTAssertThrowsError(try TensorDescriptor(name: "x", dtype: .float32, shape: [2, -1]))
        XCTAssertThrowsError(try TensorDescriptor(name: "x", dtype: .float32, shape: [1 << 40, 1 << 40]))
        XCTAssertEqual(try TensorDescriptor(name: "x", dtype: .int32, shape: [2, 3, 4]).byteSize, 96)
    }

    func testMemoryLimitErrorNamesPlanAndLimit() throws {
        let t = try TensorDescriptor(name: "big", dtype: .float32, shape: [1024, 1024], isInput: true, isOutput: true)
        let plan = try MemoryPlan.build(tensors: [t], steps: [])
        XCTAssertNoThrow(try plan.checkLimit(weightBytes: 1000, limitBytes: nil))
        XCTAssertNoThrow(try plan.checkLimit(weightBytes: 1000, limitBytes: 4 * 1024 * 1024 + 1000))
        XCTAssertThrowsError(try plan.checkLimit(weightBytes: 1000, limitBytes: 4 * 1024 * 1024)) { error in
            guard let error = error as? MemoryPlanError else { return XCTFail("wrong error type") }
            XCTAssertEqual(error, .exceedsLimit(planBytes: 4 * 1024 * 1024 + 1000, limitBytes: 4 * 1024 * 1024,
                                                arenaBytes: 4 * 1024 * 1024, weightBytes: 1000))
            XCTAssertEqual(error.description,
                           "memory plan needs 4.00 MiB (4195304 bytes: arena 4.00 MiB + weights 1000 B), over the limit of 4.00 MiB (4194304 bytes)")
        }
    }

    func testReportListsLargestTensors() throws {
        var tensors: [TensorDescriptor] = [try TensorDescriptor(name: "image", dtype: .float32, shape: [3, 64, 64], isInput: true)]
        var steps: [PlanStep] = []
        for layer in 0..<5 {
            tensors.append(try TensorDescriptor(name: "layer" + String(layer), dtype: .int8, shape: [16 * (layer + 1), 64]))
            steps.append(PlanStep(name: "l" + String(layer), reads: [tensors.count - 2], writes: [tensors.count - 1]))
        }
        let plan = try MemoryPlan.build(tensors: tensors, steps: steps)
        let report = plan.report(weightBytes: 123_456, largest: 3)
        XCTAssertEqual(report.largest.map { $0.name }, ["image", "layer4", "layer3"])
        XCTAssertEqual(report.arenaBytes, plan.arenaSize)
        XCTAssertEqual(report.peakLiveBytes, 3 * 64 * 64 * 4 + 16 * 64)
        let text = report.text
        XCTAssertTrue(text.contains("weights:        120.56 KiB (123456 bytes)"), text)
        XCTAssertTrue(text.contains("float32 [3, 64, 64]"), text)
    }

    func testFormatBytes() {
        XCTAssertEqual(formatBytes(0), "0 B")
        XCTAssertEqual(formatBytes(1023), "1023 B")
        XCTAssertEqual(formatBytes(1536), "1.50 KiB")
        XCTAssertEqual(formatBytes(3 * 1024 * 1024 + 70 * 1024), "3.07 MiB")
        XCTAssertEqual(formatBytes(5 << 30), "5.00 GiB")
    }
}
