import EdgeRuntime

/// Why the graph could not be built from a validated model file.
public enum GraphError: Error, Equatable {
    /// A tensor the graph needs is missing or has an unexpected dtype or alignment.
    case badTensor(name: String, reason: String)
    /// An op rejected its shapes.
    case op(OpError)
    /// The memory plan failed.
    case plan(MemoryPlanError)

    /// A one-line message.
    public var description: String {
        switch self {
        case let .badTensor(name, reason): return "graph: tensor " + name + ": " + reason
        case let .op(error): return "graph: " + opErrorText(error)
        case let .plan(error): return "graph: memory plan: " + error.description
        }
    }
}

/// A tensor of the graph: its planner index, element type, and an element offset into it (views of the
/// stacked two-branch streams).
struct GTensor {
    let id: Int
    let dtype: DType
    let offset: Int
}

/// Load-time memory outside the arena: weight row sums and lookup tables (freed with the engine).
final class PackedConstants {
    private(set) var blocks: [UnsafeMutableRawPointer] = []
    private(set) var bytes = 0

    func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let block = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<T>.stride, alignment: 64)
        blocks.append(block)
        bytes += count * MemoryLayout<T>.stride
        return block.bindMemory(to: T.self, capacity: count)
    }

    deinit { for block in blocks { block.deallocate() } }
}

/// An int8 layer's weights as the GEMMs take them: `w[o, k]`, row sums, and the packed copy (or nil).
struct QWeights {
    let w: UnsafePointer<Int8>
    let sums: UnsafePointer<Int32>
    let packed: QPackedWeights?
    let o: Int
    let k: Int
}

/// Builds the execution order (tensors, lifetimes) and, in its second pass, the bound kernel list.
///
/// The same builder code runs twice: first unbound (declaring tensors and steps for the planner; kernels get a
/// placeholder address and are discarded), then bound to the planned arena, producing kernels with real
/// pointers. Both passes make the same declarations in the same order.
final class GraphBuilder {
    let file: ModelFile
    let config: ModelConfig
    let int8: Bool
    let threads: Int
    /// Named intermediates kept alive to the end (the golden tests read them).
    let recordIntermediates: Bool
    var order = ExecutionOrder()
    var kernels: [Kernel] = []
    var recorded: [(name: String, tensor: GTensor)] = []
    let constants: PackedConstants?
    /// Copies of the file tensors frames read (see `modelTensor`), by name.
    private var copies: [String: ModelTensor] = [:]
    private let arena: UnsafeMutableRawPointer?
    private let offsets: [Int]

    init(file: ModelFile, config: ModelConfig, threads: Int, record: Bool,
         arena: UnsafeMutableRawPointer?, plan: MemoryPlan?, constants: PackedConstants?) {
        self.file = file
        self.config = config
        self.int8 = file.dtype == .int8
        self.threads = threads
        self.recordIntermediates = record
        self.arena = arena
        self.offsets = plan?.offsets ?? []
        self.constants = constants
    }

    var bound: Bool { arena != nil }

    // MARK: tensors

    func tensor(_ name: String, _ dtype: DType, _ shape: [Int], input: Bool = false,
                record: String? = nil) throws(GraphError) -> GTensor {
        let keep = record != nil && recordIntermediates
        let id: Int
        do throws(MemoryPlanError) {
            id = try order.tensor(record ?? name, dtype, shape, isInput: input, isOutput: keep)
        } catch { throw .plan(error) }
        let t = GTensor(id: id, dtype: dtype, offset: 0)
        if keep, let record { recorded.append((record, t)) }
        return t
    }

    /// A view `elements` into `t`.
    func view(_ t: GTensor, at elements: Int) -> GTensor { GTensor(id: t.id, dtype: t.dtype, offset: t.offset + elements) }

    func raw(_ t: GTensor) -> UnsafeMutableRawPointer {
        guard let arena else { return UnsafeMutableRawPointer(bitPattern: 64)! }
        return arena + offsets[t.id] + t.offset * t.dtype.byteWidth
    }
    func f(_ t: GTensor) -> UnsafeMutablePointer<Float> { raw(t).assumingMemoryBound(to: Float.self) }
    func q(_ t: GTensor) -> UnsafeMutablePointer<Int8> { raw(t).assumingMemoryBound(to: Int8.self) }
    func u(_ t: GTensor) -> UnsafeMutablePointer<UInt8> { raw(t).assumingMemoryBound(to: UInt8.self) }

    /// Appends a step (for the planner) and, when bound, its kernel.
    func emit(_ name: String, reads: [GTensor], writes: [GTensor], _ kernel: Kernel) {
        order.step(name, reads: reads.map { $0.id }, writes: writes.map { $0.id })
        if bound { kernels.append(kernel) }
    }

    /// A per-worker scratch tensor of `bytesPerWorker` bytes each (64-byte aligned slices).
    func scratch(_ name: String, bytesPerWorker: Int) throws(GraphError) -> (GTensor, Int) {
        let per = alignUp(max(bytesPerWorker, 1), tensorAlignment)
        return (try tensor(name, .uint8, [threads * per]), per)
    }

    // MARK: weights

    /// A tensor of the model file. When the weights are packed (`copiesFileTensors`), the bound pass hands out a
    /// copy in the constants instead (except to `qweights`, which packs from the file): reading a few bytes of a
    /// mapped file makes its whole page-cache folio resident (up to hundreds of KiB on current kernels), so
    /// frames that read biases and scales from the mapping would keep most of the file resident next to the
    /// packed copies. With the copies, nothing reads the mapping after load and `Engine.load` releases it.
    func modelTensor(_ name: String, _ dtype: SafeTensorsDType, fromFile: Bool = false) throws(GraphError) -> ModelTensor {
        guard let t = file.tensor(name) else { throw .badTensor(name: name, reason: "missing") }
        guard t.dtype == dtype else { throw .badTensor(name: name, reason: "unexpected dtype") }
        guard Int(bitPattern: t.bytes.baseAddress) % dtype.size == 0 else {
            throw .badTensor(name: name, reason: "misaligned in the mapped file")
        }
        guard copiesFileTensors, !fromFile, let constants else { return t }
        if let copy = copies[name] { return copy }
        let block = constants.allocate(UInt8.self, count: t.bytes.count)
        block.initialize(from: t.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), count: t.bytes.count)
        let copy = ModelTensor(entry: t.entry, bytes: UnsafeRawBufferPointer(start: block, count: t.bytes.count))
        copies[name] = copy
        return copy
    }

    /// `list` copied to load-time memory (plain values only; empty while planning, when no step runs), so the
    /// kernels holding it stay trivially copyable.
    func stored<T>(_ list: [T]) -> UnsafeBufferPointer<T> {
        guard let constants, bound, !list.isEmpty else { return UnsafeBufferPointer(start: nil, count: 0) }
        let p = constants.allocate(T.self, count: list.count)
        p.initialize(from: list, count: list.count)
        return UnsafeBufferPointer(start: p, count: list.count)
    }

    /// Whether this (bound) pass copies the file tensors frames read: only when the weights are packed, since
    /// then the mapping is otherwise unused after load (unpacked kernels read their weights from it).
    var copiesFileTensors: Bool { bound && constants != nil && QGemmKernel.selected.usesPackedWeights }
    func wf(_ name: String) throws(GraphError) -> UnsafePointer<Float> {
        try modelTensor(name, .f32).bytes.baseAddress!.assumingMemoryBound(to: Float.self)
    }
    func wi32(_ name: String) throws(GraphError) -> UnsafePointer<Int32> {
        try modelTensor(name, .i32).bytes.baseAddress!.assumingMemoryBound(to: Int32.self)
    }
    func scalar(_ name: String) throws(GraphError) -> Float { try modelTensor(name, .f32).float(0) }
    func scalarI(_ name: String) throws(GraphError) -> Int32 { try modelTensor(name, .i32).int32(0) }

    /// The input quantization of int8 layer `L`: (`L.in_inv_s`, `L.in_zero`).
    func inputQuant(_ layer: String) throws(GraphError) -> (Float, Int32) {
        (try scalar(layer + ".in_inv_s"), try scalarI(layer + ".in_zero"))
    }

    /// An int8 layer's weights `[O, K]`, their row sums and, when the selected GEMM kernel reads them, the
    /// weights packed for it in `blocks` row blocks one after another (a transposed conv's two tap pairs), so
    /// each block's GEMM finds whole panels (nil otherwise); both computed once, in the bound pass, and counted
    /// as constants.
    func qweights(_ layer: String, blocks: Int = 1) throws(GraphError) -> QWeights {
        let t = try modelTensor(layer + ".weight", .i8, fromFile: true)
        guard t.shape.count == 2 else { throw .badTensor(name: t.name, reason: "not 2-D") }
        let o = t.shape[0], k = t.shape[1]
        let w = t.bytes.baseAddress!.assumingMemoryBound(to: Int8.self)
        guard let constants, bound else { return QWeights(w: w, sums: UnsafePointer(bitPattern: 64)!, packed: nil, o: o, k: k) }
        let sums = constants.allocate(Int32.self, count: o)
        qs8RowSums(w, n: o, k: k, into: sums)
        var packed: QPackedWeights? = nil
        if let layout = QGemmKernel.selected.packLayout {
            let p = constants.allocate(Int8.self, count: qs8PackedBytes(n: o, k: k, blocks: blocks, layout: layout))
            qs8PackWeights(w, n: o, k: k, blocks: blocks, layout: layout, into: p)
            packed = QPackedWeights(UnsafePointer(p), layout: layout)
            // Frames read the packed copy: the mapped original need not stay resident next to it.
            file.storage.releaseResident(t.bytes)
        }
        return QWeights(w: w, sums: UnsafePointer(sums), packed: packed, o: o, k: k)
    }

    func fweights(_ layer: String) throws(GraphError) -> (UnsafePointer<Float>, UnsafePointer<Float>, Int, Int) {
        let t = try modelTensor(layer + ".weight", .f32)
        guard t.shape.count == 2 else { throw .badTensor(name: t.name, reason: "not 2-D") }
        return (t.bytes.baseAddress!.assumingMemoryBound(to: Float.self), try wf(layer + ".bias"), t.shape[0], t.shape[1])
    }

    func dequant(_ layer: String) throws(GraphError) -> QDequantParams {
        QDequantParams(scale: try wf(layer + ".m"), bias: try wf(layer + ".bias"))
    }
    func requant(_ layer: String) throws(GraphError) -> QRequantParams {
        QRequantParams(multiplier: try wi32(layer + ".mult"), shift: try wi32(layer + ".shift"),
                       bias: try wi32(layer + ".bias_q"), zeroPoint: try wi32(layer + ".out_zero"))
    }
}

/// `try op()` mapping the ops' error into the graph's.
@inline(__always)
func checked<T>(_ body: () throws(OpError) -> T) throws(GraphError) -> T {
    do throws(OpError) { return try body() } catch { throw .op(error) }
}

/// A StaticString as a String (Embedded Swift has no `String(describing:)`).
func staticText(_ s: StaticString) -> String {
    String(decoding: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount), as: UTF8.self)
}

/// A one-line message for an op error.
func opErrorText(_ error: OpError) -> String {
    switch error {
    case let .invalidArgument(op, reason): return staticText(op) + ": " + staticText(reason)
    case let .bufferTooSmall(op, needed, given):
        return staticText(op) + ": buffer of " + String(given) + " bytes, needs " + String(needed)
    }
}
