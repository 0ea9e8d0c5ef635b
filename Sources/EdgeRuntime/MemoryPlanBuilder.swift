/// An execution order under construction: the tensors of a graph and the steps that read and write them.
///
/// The graph builder (ops side) declares each intermediate tensor once and then each step in execution order;
/// `MemoryPlan.build` turns the result into arena offsets.
public struct ExecutionOrder {
    /// Every declared tensor; a tensor's index is its handle.
    public private(set) var tensors: [TensorDescriptor] = []
    /// The steps in execution order.
    public private(set) var steps: [PlanStep] = []

    public init() {}

    /// Declares a tensor and returns its index.
    @discardableResult
    public mutating func tensor(_ name: String, _ dtype: DType, _ shape: [Int], isInput: Bool = false,
                                isOutput: Bool = false) throws(MemoryPlanError) -> Int {
        tensors.append(try TensorDescriptor(name: name, dtype: dtype, shape: shape, isInput: isInput, isOutput: isOutput))
        return tensors.count - 1
    }

    /// Appends a step that reads `reads` and writes `writes` (tensor indices).
    public mutating func step(_ name: String, reads: [Int], writes: [Int]) {
        steps.append(PlanStep(name: name, reads: reads, writes: writes))
    }

    /// Plans the arena for this order.
    public func plan() throws(MemoryPlanError) -> MemoryPlan {
        try MemoryPlan.build(tensors: tensors, steps: steps)
    }
}
