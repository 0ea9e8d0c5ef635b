/// The element types a tensor in the arena can hold.
public enum DType: UInt8, Equatable, Sendable {
    case int8
    case uint8
    case int32
    case float32

    /// Bytes per element.
    public var byteWidth: Int {
        switch self {
        case .int8, .uint8: return 1
        case .int32, .float32: return 4
        }
    }

    /// Short lower-case name ("int8", "float32"), used in reports and errors.
    public var name: String {
        switch self {
        case .int8: return "int8"
        case .uint8: return "uint8"
        case .int32: return "int32"
        case .float32: return "float32"
        }
    }
}

/// Every tensor in the arena starts on this many bytes (a cache line; the widest SIMD load is 64 bytes).
public let tensorAlignment = 64

/// Rounds `value` up to a multiple of `alignment` (a power of two).
@inline(__always)
public func alignUp(_ value: Int, _ alignment: Int) -> Int {
    (value + alignment - 1) & ~(alignment - 1)
}

/// A tensor the memory planner places: a name for reports, its element type and shape.
public struct TensorDescriptor: Equatable {
    /// Name used in reports and errors, e.g. "enc.3.attn.qkv".
    public let name: String
    /// Element type.
    public let dtype: DType
    /// Dimensions, outermost first.
    public let shape: [Int]
    /// Bytes the tensor occupies (elements times element width, before alignment padding).
    public let byteSize: Int
    /// True for a tensor filled before the first step (a graph input): its lifetime starts at step 0.
    public let isInput: Bool
    /// True for a tensor read after the last step (a graph output): its lifetime ends at the last step.
    public let isOutput: Bool

    /// A descriptor; fails when a dimension is negative or the byte size overflows.
    public init(name: String, dtype: DType, shape: [Int], isInput: Bool = false, isOutput: Bool = false) throws(MemoryPlanError) {
        var elements = 1
        for dimension in shape {
            guard dimension >= 0 else { throw .badShape(tensor: name, shape: shape) }
            let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw .badShape(tensor: name, shape: shape) }
            elements = product
        }
        let (bytes, overflow) = elements.multipliedReportingOverflow(by: dtype.byteWidth)
        guard !overflow, bytes <= Int.max / 4 else { throw .badShape(tensor: name, shape: shape) }
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.byteSize = bytes
        self.isInput = isInput
        self.isOutput = isOutput
    }

    /// A descriptor given only a byte size (planner tests and opaque scratch buffers), dtype uint8.
    public init(name: String, byteSize: Int, isInput: Bool = false, isOutput: Bool = false) throws(MemoryPlanError) {
        try self.init(name: name, dtype: .uint8, shape: [byteSize], isInput: isInput, isOutput: isOutput)
    }

    /// Number of elements.
    public var elementCount: Int { byteSize / dtype.byteWidth }
}

/// One step of an execution order: the tensors it reads and the tensors it writes (indices into the tensor list).
public struct PlanStep: Equatable {
    /// Name used in errors, e.g. "enc.3.attn".
    public let name: String
    /// Indices of the tensors the step reads.
    public let reads: [Int]
    /// Indices of the tensors the step writes.
    public let writes: [Int]

    public init(name: String, reads: [Int], writes: [Int]) {
        self.name = name
        self.reads = reads
        self.writes = writes
    }
}

/// Formats a byte count for humans with integer arithmetic only ("1536 B", "12.50 KiB", "3.07 MiB").
public func formatBytes(_ bytes: Int) -> String {
    if bytes < 1024 { return String(bytes) + " B" }
    let units = ["KiB", "MiB", "GiB", "TiB"]
    var unit = 0
    var scale = 1024
    while unit + 1 < units.count && bytes >= scale * 1024 {
        scale *= 1024
        unit += 1
    }
    let hundredths = (bytes / scale) * 100 + ((bytes % scale) * 100 + scale / 2) / scale
    let fraction = hundredths % 100
    return String(hundredths / 100) + "." + (fraction < 10 ? "0" : "") + String(fraction) + " " + units[unit]
}
