/// Why a memory plan could not be built, or why a plan is invalid.
public enum MemoryPlanError: Error, Equatable {
    /// A dimension is negative or the byte size overflows.
    case badShape(tensor: String, shape: [Int])
    /// A step names a tensor index outside the tensor list.
    case badTensorIndex(step: String, index: Int)
    /// No step reads or writes the tensor and it is neither an input nor an output.
    case unusedTensor(tensor: String)
    /// A step reads a tensor that no earlier step wrote and that is not a graph input.
    case readBeforeWrite(tensor: String, step: String)
    /// The plan needs more memory than the configured limit.
    case exceedsLimit(planBytes: Int, limitBytes: Int, arenaBytes: Int, weightBytes: Int)
    /// Validation: two tensors live at the same step share bytes.
    case overlap(first: String, second: String, step: Int)
    /// Validation: an offset is not a multiple of `tensorAlignment`.
    case misaligned(tensor: String, offset: Int)
    /// Validation: a tensor ends past the arena, or the plan's arrays disagree in length.
    case outOfArena(tensor: String, end: Int, arenaSize: Int)

    /// A one-line message naming what is wrong and where.
    public var description: String {
        switch self {
        case let .badShape(tensor, shape):
            return "tensor '" + tensor + "': bad shape " + formatShape(shape) + " (negative dimension or size overflow)"
        case let .badTensorIndex(step, index):
            return "step '" + step + "': tensor index " + String(index) + " is outside the tensor list"
        case let .unusedTensor(tensor):
            return "tensor '" + tensor + "' is never read or written and is not an input or output"
        case let .readBeforeWrite(tensor, step):
            return "step '" + step + "' reads tensor '" + tensor + "' before any step writes it"
        case let .exceedsLimit(planBytes, limitBytes, arenaBytes, weightBytes):
            return "memory plan needs " + formatBytes(planBytes) + " (" + String(planBytes) + " bytes: arena "
                + formatBytes(arenaBytes) + " + weights " + formatBytes(weightBytes) + "), over the limit of "
                + formatBytes(limitBytes) + " (" + String(limitBytes) + " bytes)"
        case let .overlap(first, second, step):
            return "tensors '" + first + "' and '" + second + "' are both live at step " + String(step)
                + " and share arena bytes"
        case let .misaligned(tensor, offset):
            return "tensor '" + tensor + "' at offset " + String(offset) + " is not " + String(tensorAlignment) + "-byte aligned"
        case let .outOfArena(tensor, end, arenaSize):
            return "tensor '" + tensor + "' ends at byte " + String(end) + ", past the arena of " + String(arenaSize) + " bytes"
        }
    }
}

/// "[1, 64, 64, 256]".
public func formatShape(_ shape: [Int]) -> String {
    var text = "["
    for (index, dimension) in shape.enumerated() {
        if index > 0 { text += ", " }
        text += String(dimension)
    }
    return text + "]"
}

/// The steps during which a tensor must keep its bytes: from its first definition to its last use, inclusive.
public struct Lifetime: Equatable {
    /// First step (inclusive).
    public let first: Int
    /// Last step (inclusive).
    public let last: Int

    public init(first: Int, last: Int) {
        self.first = first
        self.last = last
    }

    /// True when both lifetimes contain a common step.
    @inline(__always)
    public func overlaps(_ other: Lifetime) -> Bool {
        first <= other.last && other.first <= last
    }
}

/// Offsets of every tensor in one arena, planned so that tensors live at the same step never share bytes.
public struct MemoryPlan {
    /// The planned tensors, in the caller's order.
    public let tensors: [TensorDescriptor]
    /// Lifetime of each tensor over the execution order.
    public let lifetimes: [Lifetime]
    /// Byte offset of each tensor in the arena (a multiple of `tensorAlignment`).
    public let offsets: [Int]
    /// Bytes the arena needs: the largest tensor end, rounded up to `tensorAlignment`.
    public let arenaSize: Int
    /// Number of steps in the execution order.
    public let stepCount: Int
    /// The largest sum of live tensor sizes over the steps: a lower bound for any arena.
    public let peakLiveBytes: Int
    /// A step at which the live set reaches `peakLiveBytes`.
    public let peakStep: Int

    /// Plans `tensors` for the execution order `steps`: lifetimes, then offsets assigned largest-first into the
    /// lowest aligned gap that no lifetime-overlapping tensor already occupies (the TFLite/XNNPACK greedy-by-size).
    public static func build(tensors: [TensorDescriptor], steps: [PlanStep]) throws(MemoryPlanError) -> MemoryPlan {
        let lifetimes = try computeLifetimes(tensors: tensors, steps: steps)
        let sizes = tensors.map { $0.byteSize }
        let offsets = assignOffsets(sizes: sizes, lifetimes: lifetimes)
        var arenaSize = 0
        for index in 0..<tensors.count {
            arenaSize = max(arenaSize, offsets[index] + sizes[index])
        }
        arenaSize = alignUp(arenaSize, tensorAlignment)
        let (peak, peakStep) = peakLive(sizes: sizes, lifetimes: lifetimes, stepCount: steps.count)
        return MemoryPlan(tensors: tensors, lifetimes: lifetimes, offsets: offsets, arenaSize: arenaSize,
                          stepCount: steps.count, peakLiveBytes: peak, peakStep: peakStep)
    }

    /// First definition and last use of each tensor; inputs start at step 0, outputs end at the last step.
    public static func computeLifetimes(tensors: [TensorDescriptor], steps: [PlanStep]) throws(MemoryPlanError) -> [Lifetime] {
        let lastStep = max(steps.count - 1, 0)
        var first = [Int](repeating: Int.max, count: tensors.count)
        var last = [Int](repeating: -1, count: tensors.count)
        var written = [Bool](repeating: false, count: tensors.count)
        for (index, tensor) in tensors.enumerated() where tensor.isInput {
            first[index] = 0
            last[index] = 0
            written[index] = true
        }
        for (stepIndex, step) in steps.enumerated() {
            for index in step.reads {
                guard index >= 0 && index < tensors.count else { throw .badTensorIndex(step: step.name, index: index) }
                guard written[index] else { throw .readBeforeWrite(tensor: tensors[index].name, step: step.name) }
                first[index] = min(first[index], stepIndex)
                last[index] = max(last[index], stepIndex)
            }
            for index in step.writes {
                guard index >= 0 && index < tensors.count else { throw .badTensorIndex(step: step.name, index: index) }
                first[index] = min(first[index], stepIndex)
                last[index] = max(last[index], stepIndex)
            }
            // Writes become visible to later steps only, so a step cannot read what it writes first.
            for index in step.writes { written[index] = true }
        }
        var lifetimes: [Lifetime] = []
        lifetimes.reserveCapacity(tensors.count)
        for (index, tensor) in tensors.enumerated() {
            if tensor.isOutput {
                if first[index] == Int.max { first[index] = lastStep }
                last[index] = lastStep
            }
            guard first[index] != Int.max else { throw .unusedTensor(tensor: tensor.name) }
            lifetimes.append(Lifetime(first: first[index], last: last[index]))
        }
        return lifetimes
    }

    /// Greedy-by-size placement: each tensor, largest first, goes to the lowest aligned offset where it overlaps
    /// no already-placed tensor whose lifetime overlaps its own.
    public static func assignOffsets(sizes: [Int], lifetimes: [Lifetime]) -> [Int] {
        let order = (0..<sizes.count).sorted { a, b in
            if sizes[a] != sizes[b] { return sizes[a] > sizes[b] }
            if lifetimes[a].first != lifetimes[b].first { return lifetimes[a].first < lifetimes[b].first }
            return a < b
        }
        var offsets = [Int](repeating: 0, count: sizes.count)
        var placed: [Int] = []
        placed.reserveCapacity(sizes.count)
        var conflicts: [(offset: Int, end: Int)] = []
        for tensor in order {
            let size = sizes[tensor]
            guard size > 0 else { continue }
            conflicts.removeAll(keepingCapacity: true)
            for other in placed where lifetimes[other].overlaps(lifetimes[tensor]) {
                conflicts.append((offsets[other], offsets[other] + sizes[other]))
            }
            conflicts.sort { $0.offset < $1.offset }
            var candidate = 0
            for block in conflicts {
                if candidate + size <= block.offset { break }
                candidate = max(candidate, alignUp(block.end, tensorAlignment))
            }
            offsets[tensor] = candidate
            placed.append(tensor)
        }
        return offsets
    }

    /// The largest total of live tensor bytes over the steps, and a step where it occurs.
    static func peakLive(sizes: [Int], lifetimes: [Lifetime], stepCount: Int) -> (Int, Int) {
        let count = max(stepCount, 1)
        var delta = [Int](repeating: 0, count: count + 1)
        for (index, lifetime) in lifetimes.enumerated() {
            delta[lifetime.first] += sizes[index]
            delta[lifetime.last + 1] -= sizes[index]
        }
        var live = 0
        var peak = 0
        var peakStep = 0
        for step in 0..<count {
            live += delta[step]
            if live > peak {
                peak = live
                peakStep = step
            }
        }
        return (peak, peakStep)
    }

    /// Checks the plan: aligned offsets, every tensor inside the arena, and no two tensors with overlapping
    /// lifetimes sharing a byte.
    public func validate() throws(MemoryPlanError) {
        try MemoryPlan.validate(names: tensors.map { $0.name }, sizes: tensors.map { $0.byteSize },
                                lifetimes: lifetimes, offsets: offsets, arenaSize: arenaSize)
    }

    /// Checks any placement (used on plans built here and on hand-made ones in tests).
    public static func validate(names: [String], sizes: [Int], lifetimes: [Lifetime], offsets: [Int],
                                arenaSize: Int) throws(MemoryPlanError) {
        let count = names.count
        guard sizes.count == count, lifetimes.count == count, offsets.count == count else {
            throw .outOfArena(tensor: "(plan arrays differ in length)", end: 0, arenaSize: arenaSize)
        }
        for index in 0..<count {
            guard offsets[index] >= 0, offsets[index] % tensorAlignment == 0 else {
                throw .misaligned(tensor: names[index], offset: offsets[index])
            }
            guard offsets[index] + sizes[index] <= arenaSize else {
                throw .outOfArena(tensor: names[index], end: offsets[index] + sizes[index], arenaSize: arenaSize)
            }
        }
        for a in 0..<count where sizes[a] > 0 {
            for b in (a + 1)..<count where sizes[b] > 0 && lifetimes[a].overlaps(lifetimes[b]) {
                if offsets[a] < offsets[b] + sizes[b] && offsets[b] < offsets[a] + sizes[a] {
                    throw .overlap(first: names[a], second: names[b],
                                   step: max(lifetimes[a].first, lifetimes[b].first))
                }
            }
        }
    }

    /// Fails when arena plus weights exceed `limitBytes` (nil: no limit).
    public func checkLimit(weightBytes: Int, limitBytes: Int?) throws(MemoryPlanError) {
        guard let limit = limitBytes else { return }
        let total = arenaSize + weightBytes
        if total > limit {
            throw .exceedsLimit(planBytes: total, limitBytes: limit, arenaBytes: arenaSize, weightBytes: weightBytes)
        }
    }

    /// A printable summary: arena size, weight bytes, peak live set and the `largest` biggest tensors.
    public func report(weightBytes: Int, largest: Int = 10) -> PlanReport {
        let order = (0..<tensors.count).sorted { a, b in
            tensors[a].byteSize != tensors[b].byteSize ? tensors[a].byteSize > tensors[b].byteSize : a < b
        }
        var entries: [PlanReport.Entry] = []
        for index in order.prefix(max(largest, 0)) {
            entries.append(PlanReport.Entry(name: tensors[index].name, dtype: tensors[index].dtype,
                                            shape: tensors[index].shape, byteSize: tensors[index].byteSize,
                                            offset: offsets[index], lifetime: lifetimes[index]))
        }
        return PlanReport(tensorCount: tensors.count, stepCount: stepCount, arenaBytes: arenaSize,
                          weightBytes: weightBytes, peakLiveBytes: peakLiveBytes, peakStep: peakStep,
                          largest: entries)
    }
}
