import CEdgeShim
import EdgeRuntime

/// Why the engine could not load a model or run a frame.
public enum EngineError: Error, Equatable {
    /// Loading, validating, planning or allocating failed.
    case load(ModelLoadError)
    /// The graph could not be built from the model's tensors.
    case graph(GraphError)
    /// The frame is larger than the engine's preallocated buffers (`EngineFrameOptions`).
    case frameTooLarge(width: Int, height: Int, maxWidth: Int, maxHeight: Int)
    /// The frame's size, stride, encoding or buffer length is invalid.
    case badFrame(reason: String)
    /// Bad frame options at load.
    case badOptions(reason: String)

    /// A one-line message.
    public var description: String {
        switch self {
        case let .load(error): return error.description
        case let .graph(error): return error.description
        case let .frameTooLarge(w, h, mw, mh):
            return "frame " + String(w) + "x" + String(h) + " exceeds the engine's maximum " + String(mw) + "x" + String(mh)
        case let .badFrame(reason): return "bad frame: " + reason
        case let .badOptions(reason): return "bad engine options: " + reason
        }
    }
}

/// Per-frame limits the engine sizes its result buffers for (at load; nothing is allocated per frame).
public struct EngineFrameOptions {
    /// The largest source frame accepted; larger frames get `EngineError.frameTooLarge`.
    public var maxFrameWidth: Int
    public var maxFrameHeight: Int
    /// Instances stored per frame (more are counted but not reported).
    public var maxInstances: Int
    /// Keep the named intermediates of the golden fixtures alive to the end of a run (tests; larger arena).
    public var keepIntermediates: Bool
    /// Components with fewer source pixels are dropped from the instances and the mask (NUMERICS 8.6); 0 keeps all.
    public var minInstanceArea: Int

    public init(maxFrameWidth: Int = 1920, maxFrameHeight: Int = 1080, maxInstances: Int = 64,
                keepIntermediates: Bool = false, minInstanceArea: Int = 0) {
        self.maxFrameWidth = maxFrameWidth
        self.maxFrameHeight = maxFrameHeight
        self.maxInstances = maxInstances
        self.keepIntermediates = keepIntermediates
        self.minInstanceArea = minInstanceArea
    }
}

/// Time spent in each phase of one frame, nanoseconds (monotonic clock).
public struct LatencyBreakdown: Equatable {
    public var preprocessNs: UInt64 = 0
    public var inferenceNs: UInt64 = 0
    public var postprocessNs: UInt64 = 0
    public var totalNs: UInt64 { preprocessNs + inferenceNs + postprocessNs }
}

/// One detected instance at source resolution (NUMERICS 8.5). `maskRLE` points into engine-owned memory and
/// is valid until the next `run`.
public struct Detection {
    public let id: Int32
    public let area: Int
    public let bbox: (x: Int, y: Int, w: Int, h: Int)
    public let centroid: (x: Double, y: Double)
    public let score: Double
    /// COCO compressed RLE `counts` (column-major, pycocotools' string form) of this instance's mask.
    public let maskRLE: UnsafeBufferPointer<UInt8>
}

/// The result of one frame. Views engine-owned buffers, valid until the next `run`.
public struct FrameResult {
    /// Source frame size (every coordinate and mask is at this size).
    public let width: Int
    public let height: Int
    /// Instances found; `count` of them are stored (at most `maxInstances`).
    public let found: Int
    public let count: Int
    /// Components below `minInstanceArea`, left out of the instances and the mask.
    public let dropped: Int
    /// COCO compressed RLE of the whole foreground mask.
    public let maskRLE: UnsafeBufferPointer<UInt8>
    /// The 8-bit map (NUMERICS 8.3) resized to the source frame, row-major; foreground is `> 65`.
    public let sourceMap: UnsafeBufferPointer<UInt8>
    public let latency: LatencyBreakdown
    let engine: Engine

    /// Instance `index` (0 ..< count), in raster order of first pixel (id = index + 1).
    public subscript(index: Int) -> Detection { engine.detection(index) }
}

/// The Dual-SAM engine: one model, one arena, fixed threads and result buffers, all allocated at load.
///
/// `load` validates the model file, builds the graph (docs/MODEL_FORMAT.md section 6), plans the arena,
/// allocates it once and binds every kernel; `run` then processes frames without heap allocation.
public final class Engine {
    /// The validated model, its pool, plan and arena.
    public let model: LoadedModel
    /// The frame limits the buffers were sized for.
    public let frameOptions: EngineFrameOptions
    let executor: GraphExecutor
    let constants: PackedConstants
    let io: DualSAMTensors
    let recorded: [(name: String, tensor: GTensor)]
    let buffers: FrameBuffers
    let stages: FrameStages
    /// The name of each step of the execution order (its kernel's index), for `opTimings`.
    let stepNames: [String]

    private init(model: LoadedModel, frameOptions: EngineFrameOptions, executor: GraphExecutor, constants: PackedConstants,
                 io: DualSAMTensors, recorded: [(name: String, tensor: GTensor)], buffers: FrameBuffers,
                 stepNames: [String]) {
        self.stepNames = stepNames
        self.model = model
        self.frameOptions = frameOptions
        self.executor = executor
        self.constants = constants
        self.io = io
        self.recorded = recorded
        self.buffers = buffers
        stages = FrameStages(pool: model.pool, buffers: buffers, side: model.config.imgSize)
    }

    /// Loads `path`: validate, build, plan, allocate the arena and the result buffers, pack constants.
    public static func load(path: String, options: EngineOptions = EngineOptions(),
                            frames: EngineFrameOptions = EngineFrameOptions()) throws(EngineError) -> Engine {
        guard frames.maxFrameWidth >= 1, frames.maxFrameHeight >= 1, frames.maxInstances >= 0, frames.minInstanceArea >= 0,
              frames.maxFrameWidth <= 1 << 14, frames.maxFrameHeight <= 1 << 14 else {
            throw .badOptions(reason: "frame limits must be 1...16384 pixels maxInstances >= 0 and minInstanceArea >= 0")
        }
        let model: LoadedModel
        do throws(ModelLoadError) {
            model = try LoadedModel.load(path: path, options: options)
        } catch { throw .load(error) }
        let threads = model.pool.threadCount
        // Pass 1: the execution order only.
        let planning = GraphBuilder(file: model.file, config: model.config, threads: threads,
                                    record: frames.keepIntermediates, arena: nil, plan: nil, constants: nil)
        do throws(GraphError) { _ = try planning.buildDualSAM() } catch { throw .graph(error) }
        do throws(ModelLoadError) {
            try model.prepare(order: planning.order, weightBytes: model.file.weightBytes + Engine.constantBytes(model.config))
        } catch { throw .load(error) }
        // Pass 2: the same declarations, bound to the arena.
        let constants = PackedConstants()
        let binding = GraphBuilder(file: model.file, config: model.config, threads: threads,
                                   record: frames.keepIntermediates, arena: model.arena!.base, plan: model.plan!,
                                   constants: constants)
        let io: DualSAMTensors
        do throws(GraphError) { io = try binding.buildDualSAM() } catch { throw .graph(error) }
        guard binding.order.tensors.count == planning.order.tensors.count,
              binding.order.steps.count == planning.order.steps.count,
              binding.kernels.count == binding.order.steps.count else {
            throw .graph(.badTensor(name: "(graph)", reason: "planning and binding passes disagree"))
        }
        if QGemmKernel.selected.usesPackedWeights {
            // Packing released each layer's mapped pages, but faulting the next layer in maps its neighbours'
            // cached pages back (whole page-cache folios): drop the whole data region once more. Frames read
            // nothing from the file now (the graph copied the other tensors they read, `modelTensor`).
            model.file.releaseTensorData()
        }
        let buffers = FrameBuffers(options: frames, side: model.config.imgSize)
        return Engine(model: model, frameOptions: frames,
                      executor: GraphExecutor(kernels: binding.kernels, pool: model.pool), constants: constants,
                      io: io, recorded: binding.recorded, buffers: buffers,
                      stepNames: binding.order.steps.map { $0.name })
    }

    /// Row sums and tables packed at load (an upper bound for the memory limit).
    static func constantBytes(_ c: ModelConfig) -> Int {
        var total = 768 * 4
        for layer in ModelSchema.layers(c) { total += layer.outputs * 4 }
        return total
    }

    /// The memory plan report (arena, weights, peak live set, largest tensors).
    public func planReport(largest: Int = 10) -> PlanReport {
        model.plan!.report(weightBytes: weightBytes, largest: largest)
    }

    /// Bytes of weights in use: the mapped tensors plus the constants packed at load.
    public var weightBytes: Int { model.file.weightBytes + constants.bytes }
    /// Starts (or restarts) timing every step of the graph: `opTimings` then sums the frames run since. Costs
    /// two clock reads per step; allocates once here, never per frame.
    public func startOpTimings() {
        if executor.timings == nil { executor.timings = .allocate(capacity: max(stepNames.count, 1)) }
        executor.timings!.update(repeating: 0, count: max(stepNames.count, 1))
    }

    /// The time of each step since `startOpTimings`, summed over frames and over steps whose names differ only in
    /// numbers (every `enc.blocks.#.mlp.fc1`), largest first, with the group's multiply-adds per frame (matrix
    /// products only, `Kernel.multiplyAdds`); empty when timing was never started.
    public func opTimings() -> [(name: String, steps: Int, nanoseconds: UInt64, multiplyAdds: Int)] {
        guard let timings = executor.timings else { return [] }
        var groups: [(name: String, steps: Int, nanoseconds: UInt64, multiplyAdds: Int)] = []
        for (index, name) in stepNames.enumerated() {
            var key = "", inNumber = false
            for ch in name.unicodeScalars {
                let digit = ch.value >= 48 && ch.value <= 57
                if digit { if !inNumber { key.unicodeScalars.append("#") } } else { key.unicodeScalars.append(ch) }
                inNumber = digit
            }
            let macs = executor.kernels[index].multiplyAdds
            if let at = groups.firstIndex(where: { $0.name == key }) {
                groups[at].steps += 1
                groups[at].nanoseconds &+= timings[index]
                groups[at].multiplyAdds += macs
            } else {
                groups.append((key, 1, timings[index], macs))
            }
        }
        return groups.sorted { $0.nanoseconds > $1.nanoseconds }
    }

    /// The GEMM and conv steps together since `startOpTimings` (not the attention heads, whose time is mostly
    /// softmax): multiply-adds per frame and time summed over frames.
    public func gemmTotals() -> (multiplyAdds: Int, nanoseconds: UInt64) {
        guard let timings = executor.timings else { return (0, 0) }
        var total = (multiplyAdds: 0, nanoseconds: UInt64(0))
        for (index, kernel) in executor.kernels.enumerated() where kernel.isGemmOrConv {
            total.multiplyAdds += kernel.multiplyAdds
            total.nanoseconds &+= timings[index]
        }
        return total
    }

    /// Bytes of the arena.
    public var arenaBytes: Int { model.arena!.size }
    /// Bytes of the per-frame result buffers (frame-size maps, labels, RLE strings).
    public var frameBufferBytes: Int { buffers.bytes }

    /// The plan report of `path` without allocating the arena (`edge-daemon plan`).
    public static func plan(path: String, options: EngineOptions = EngineOptions(), largest: Int = 10) throws(EngineError) -> PlanReport {
        let file: ModelFile
        let config: ModelConfig
        do throws(ModelFileError) {
            file = try ModelFile.open(path: path, verifyChecksum: options.verifyChecksum)
            config = try file.validateModel()
        } catch { throw .load(.file(error)) }
        let builder = GraphBuilder(file: file, config: config, threads: max(1, options.threads), record: false,
                                   arena: nil, plan: nil, constants: nil)
        do throws(GraphError) { _ = try builder.buildDualSAM() } catch { throw .graph(error) }
        do throws(MemoryPlanError) {
            let plan = try builder.order.plan()
            let weights = file.weightBytes + constantBytes(config)
            try plan.checkLimit(weightBytes: weights, limitBytes: options.memoryLimitBytes)
            return plan.report(weightBytes: weights, largest: largest)
        } catch { throw .load(.plan(error)) }
    }

    /// A named intermediate of the last run (only with `keepIntermediates`): its bytes and dtype.
    public func intermediate(_ name: String) -> (bytes: UnsafeRawBufferPointer, dtype: DType)? {
        guard let plan = model.plan, let arena = model.arena else { return nil }
        for entry in recorded where entry.name == name {
            let t = entry.tensor
            let size = plan.tensors[t.id].byteSize
            return (UnsafeRawBufferPointer(start: arena.base + plan.offsets[t.id], count: size), t.dtype)
        }
        return nil
    }

    /// Names of the intermediates kept with `keepIntermediates`.
    public var intermediateNames: [String] { recorded.map { $0.name } }
}
