import EdgeRuntime

/// How to load a model.
public struct EngineOptions {
    /// Worker threads including the calling thread (1 = no extra pthreads).
    public var threads: Int = 1
    /// Upper bound for arena plus weight bytes; nil = no limit.
    public var memoryLimitBytes: Int? = nil
    /// Verify the file's CRC-32 (reading every byte once) before trusting it.
    public var verifyChecksum: Bool = true
    /// CPUs to pin the threads to (thread `w` on `cpus[w % cpus.count]`, ThreadPool), or empty for none.
    public var cpus: [Int] = []

    public init(threads: Int = 1, memoryLimitBytes: Int? = nil, verifyChecksum: Bool = true, cpus: [Int] = []) {
        self.threads = threads
        self.memoryLimitBytes = memoryLimitBytes
        self.verifyChecksum = verifyChecksum
        self.cpus = cpus
    }
}

/// Why loading or planning a model failed.
public enum ModelLoadError: Error, Equatable {
    /// The model file is malformed or unreadable.
    case file(ModelFileError)
    /// The execution order is inconsistent, or the plan exceeds the memory limit.
    case plan(MemoryPlanError)
    /// The thread pool could not start.
    case threads(ThreadPoolError)
    /// The arena could not be allocated.
    case memory(TensorError)

    /// A one-line message.
    public var description: String {
        switch self {
        case let .file(error): return "model file: " + error.description
        case let .plan(error): return "memory plan: " + error.description
        case let .threads(error): return error.description
        case let .memory(error): return error.description
        }
    }
}

/// Builds the execution order of a validated model (supplied by the graph code).
public typealias ExecutionOrderBuilder = (ModelConfig, ModelDType) throws(MemoryPlanError) -> ExecutionOrder

/// A validated model file with its thread pool; `prepare` adds the memory plan and the arena.
///
/// Load: `LoadedModel.load(path:options:)` maps the file, checks container, metadata, checksum, config, every
/// tensor's dtype and shape and the quantization constants, and starts the thread pool. Then the graph code calls
/// `prepare(order:)` once, which plans the arena, enforces the memory limit and allocates it.
public final class LoadedModel {
    /// The mapped, validated file (raw tensor bytes and shapes for packing).
    public let file: ModelFile
    /// The typed architecture config.
    public let config: ModelConfig
    /// The fixed worker threads.
    public let pool: ThreadPool
    /// The options the model was loaded with.
    public let options: EngineOptions
    /// The memory plan, after `prepare`.
    public private(set) var plan: MemoryPlan? = nil
    /// The arena, after `prepare`.
    public private(set) var arena: Arena? = nil

    private init(file: ModelFile, config: ModelConfig, pool: ThreadPool, options: EngineOptions) {
        self.file = file
        self.config = config
        self.pool = pool
        self.options = options
    }

    /// Maps and validates `path` and starts `options.threads` workers.
    public static func load(path: String, options: EngineOptions = EngineOptions()) throws(ModelLoadError) -> LoadedModel {
        let file: ModelFile
        let config: ModelConfig
        do throws(ModelFileError) {
            file = try ModelFile.open(path: path, verifyChecksum: options.verifyChecksum)
            config = try file.validateModel()
        } catch {
            throw .file(error)
        }
        let pool: ThreadPool
        do throws(ThreadPoolError) {
            pool = try ThreadPool(threads: options.threads, cpus: options.cpus)
        } catch {
            throw .threads(error)
        }
        return LoadedModel(file: file, config: config, pool: pool, options: options)
    }

    /// The dtype of the file's tensor set.
    public var dtype: ModelDType { file.dtype }

    /// Plans `order`, checks arena + `weightBytes` (default: the file's tensor bytes) against the memory limit,
    /// and allocates the arena. Call once, at load.
    public func prepare(order: ExecutionOrder, weightBytes: Int? = nil) throws(ModelLoadError) {
        let memoryPlan: MemoryPlan
        do throws(MemoryPlanError) {
            memoryPlan = try order.plan()
            try memoryPlan.checkLimit(weightBytes: weightBytes ?? file.weightBytes, limitBytes: options.memoryLimitBytes)
        } catch {
            throw .plan(error)
        }
        do throws(TensorError) {
            arena = try Arena(size: memoryPlan.arenaSize)
        } catch {
            throw .memory(error)
        }
        plan = memoryPlan
    }
}

/// What `edge-daemon plan MODEL` prints, without allocating the arena or starting threads.
public enum ModelPlanner {
    /// Validates the model at `path`, builds its execution order with `order`, plans it and returns the report.
    /// Fails like loading would, including the memory limit of `options`.
    public static func report(path: String, options: EngineOptions = EngineOptions(), largest: Int = 10,
                              order: ExecutionOrderBuilder) throws(ModelLoadError) -> PlanReport {
        let file: ModelFile
        let config: ModelConfig
        do throws(ModelFileError) {
            file = try ModelFile.open(path: path, verifyChecksum: options.verifyChecksum)
            config = try file.validateModel()
        } catch {
            throw .file(error)
        }
        do throws(MemoryPlanError) {
            let plan = try order(config, file.dtype).plan()
            try plan.checkLimit(weightBytes: file.weightBytes, limitBytes: options.memoryLimitBytes)
            return plan.report(weightBytes: file.weightBytes, largest: largest)
        } catch {
            throw .plan(error)
        }
    }
}
