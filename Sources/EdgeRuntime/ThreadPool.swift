import CEdgeShim

/// Why a thread pool could not start.
public enum ThreadPoolError: Error, Equatable {
    /// The requested thread count is below 1 or above `ThreadPool.maxThreads`.
    case badThreadCount(Int)
    /// A pthread call failed.
    case system(SystemError)
    /// Pinning a worker to its CPU failed (EINVAL: no such CPU; EPERM: a seccomp filter denies the call).
    case pinning(worker: Int, cpu: Int, SystemError)

    /// A one-line message.
    public var description: String {
        switch self {
        case let .badThreadCount(count):
            return "thread count " + String(count) + " is outside 1..." + String(ThreadPool.maxThreads)
        case let .system(error):
            return "thread pool: " + error.description
        case let .pinning(worker, cpu, error):
            return "thread pool: cannot pin worker " + String(worker) + " to CPU " + String(cpu) + ": "
                + error.description
        }
    }
}

/// Work for `ThreadPool.parallelFor(_:grain:task:)`: class-bound, so Embedded Swift holds it without boxing.
public protocol ParallelTask: AnyObject {
    /// Processes the items in `range`; `worker` (0 ..< threadCount) is unique among concurrently running calls.
    func run(_ range: Range<Int>, worker: Int)
}

/// A fixed set of pthreads, created once, that split loops between them.
///
/// The calling thread is worker 0 and takes part; `threads - 1` pthreads are workers 1 ... Idle workers
/// sleep on a condition variable, after a short bounded spin (`spinLimit`): a frame runs hundreds of loops
/// back to back, and waking a sleeping thread costs tens of microseconds (more in a VM) each time. A loop of
/// `count` items is cut into chunks of `grain` items whose
/// boundaries depend only on `count` and `grain`, never on the thread count, and each chunk runs exactly
/// once; so any computation that writes each output from one chunk gives the same bits for any thread count.
/// Loops may be started from any thread (one runs at a time); `shutdown` must not race a running loop.
public final class ThreadPool: @unchecked Sendable {
    /// The most threads a pool accepts.
    public static let maxThreads = 256
    /// Workers including the calling thread.
    public let threadCount: Int
    private let shared: PoolShared
    private var threads: [pthread_t] = []
    private var running = true

    /// CPUs to pin to (worker `w` on `cpus[w % cpus.count]`), or empty: threads go where the scheduler puts them.
    public let cpus: [Int]
    /// The thread last pinned as worker 0 (the caller of `parallelFor`).
    private var pinnedCaller: pthread_t? = nil

    /// Starts `threads - 1` worker pthreads (none for 1). With `cpus`, worker `w` is pinned to
    /// `cpus[w % cpus.count]`: workers 1... here (a CPU the system lacks, or a filter that denies the call, fails
    /// the init; so does one for worker 0), and worker 0, the thread that calls `parallelFor`, at its first call
    /// and whenever a different thread calls it.
    public init(threads: Int, cpus: [Int] = []) throws(ThreadPoolError) {
        guard threads >= 1 && threads <= ThreadPool.maxThreads else { throw .badThreadCount(threads) }
        threadCount = threads
        self.cpus = cpus
        shared = try PoolShared()
        self.threads.reserveCapacity(threads)
        for worker in 1..<threads {
            let context = Unmanaged.passRetained(WorkerContext(shared: shared, worker: worker)).toOpaque()
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { argument in
                let context = Unmanaged<WorkerContext>.fromOpaque(argument!).takeRetainedValue()
                context.shared.workerLoop(worker: context.worker)
                return nil
            }, context)
            if status != 0 {
                Unmanaged<WorkerContext>.fromOpaque(context).release()
                shutdown()
                throw .system(SystemError("pthread_create", code: status))
            }
            self.threads.append(thread)
            shared.registerThread(thread)
            if !cpus.isEmpty, let error = pin(thread, worker: worker) {
                shutdown()
                throw error
            }
        }
        if !cpus.isEmpty {
            // Worker 0 is whichever thread calls `parallelFor` (pinned then, see `pinCaller`); this one may only be
            // loading the model. Its CPU is checked here, and the thread's own set restored afterwards.
            var original = [Int32](repeating: 0, count: CPUList.maxCPU + 1)
            let count = edge_thread_cpus(&original, Int32(original.count))
            let error = pin(pthread_self(), worker: 0)
            if count > 0 { _ = edge_set_thread_cpus(pthread_self(), &original, min(count, Int32(original.count))) }
            if let error {
                shutdown()
                throw error
            }
        }
    }

    /// Pins the calling thread as worker 0 when pinning is on and it is not the thread pinned last (the engine
    /// may be loaded on one thread and run on another). A failure here leaves it unpinned: the same call
    /// succeeded at init for every worker.
    @inline(__always)
    private func pinCaller() {
        guard !cpus.isEmpty, shared.nestedWorkerIndex() == nil else { return }  // a nested call runs where it is
        let me = pthread_self()
        if let pinned = pinnedCaller, pthread_equal(pinned, me) != 0 { return }
        pinnedCaller = me
        _ = pin(me, worker: 0)
    }

    /// Restricts `thread` to worker `worker`'s CPU; the error when that fails.
    private func pin(_ thread: pthread_t, worker: Int) -> ThreadPoolError? {
        let cpu = cpus[worker % cpus.count]
        var one = Int32(truncatingIfNeeded: cpu)
        let status = edge_set_thread_cpus(thread, &one, 1)
        return status == 0 ? nil : .pinning(worker: worker, cpu: cpu, SystemError("pthread_setaffinity_np", code: status))
    }

    deinit {
        shutdown()
    }

    /// Number of worker pthreads currently alive (their loops have not returned); 0 after `shutdown`.
    public var aliveWorkers: Int { shared.aliveWorkers }

    /// Stops and joins every worker; later calls run loops on the calling thread only. Idempotent.
    public func shutdown() {
        guard running else { return }
        running = false
        shared.requestShutdown()
        for thread in threads {
            pthread_join(thread, nil)
        }
        threads.removeAll()
    }

    /// Runs `body` over `0 ..< count` in chunks of `grain` items, on all workers, and returns when every chunk is done.
    ///
    /// Costs one small heap allocation per call (the escaping wrapper of `body`); per-frame code uses the
    /// `task:` form instead.
    public func parallelFor(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        parallelFor(count, grain: grain) { (range: Range<Int>, _: Int) in body(range) }
    }

    /// Like `parallelFor(_:grain:_:)`, also passing the worker index (for per-worker scratch memory).
    public func parallelFor(_ count: Int, grain: Int = 1, _ body: (Range<Int>, Int) -> Void) {
        guard count > 0 else { return }
        pinCaller()
        let grain = max(grain, 1)
        let chunks = (count - 1) / grain + 1
        if !running || threadCount == 1 || chunks == 1 {
            runInline(count: count, grain: grain, chunks: chunks, worker: 0, body)
            return
        }
        if let worker = shared.nestedWorkerIndex() {
            // Called from inside a running loop: the other workers are busy, so this thread does it all.
            runInline(count: count, grain: grain, chunks: chunks, worker: worker, body)
            return
        }
        withoutActuallyEscaping(body) { escapable in
            shared.dispatch(count: count, grain: grain, chunks: chunks, job: escapable, task: nil)
        }
    }

    /// Runs `task.run` over `0 ..< count` in chunks of `grain` items on all workers, allocating nothing.
    ///
    /// This is the form for per-frame work: the pool holds the (class-bound) task by reference, while a closure
    /// has to be converted to an escaping one for the workers to see it, which costs one small heap block per call.
    public func parallelFor(_ count: Int, grain: Int = 1, task: any ParallelTask) {
        guard count > 0 else { return }
        pinCaller()
        let grain = max(grain, 1)
        let chunks = (count - 1) / grain + 1
        var inlineWorker: Int? = nil
        if !running || threadCount == 1 || chunks == 1 {
            inlineWorker = 0
        } else {
            inlineWorker = shared.nestedWorkerIndex()
        }
        if let worker = inlineWorker {
            for chunk in 0..<chunks {
                task.run(chunk * grain ..< min(count, (chunk + 1) * grain), worker: worker)
            }
            return
        }
        shared.dispatch(count: count, grain: grain, chunks: chunks, job: nil, task: task)
    }

    private func runInline(count: Int, grain: Int, chunks: Int, worker: Int, _ body: (Range<Int>, Int) -> Void) {
        for chunk in 0..<chunks {
            body(chunk * grain ..< min(count, (chunk + 1) * grain), worker)
        }
    }
}

/// What a worker pthread is started with.
private final class WorkerContext {
    let shared: PoolShared
    let worker: Int

    init(shared: PoolShared, worker: Int) {
        self.shared = shared
        self.worker = worker
    }
}

/// State shared by the dispatching thread and the workers; every field but the atomic `cursors` is guarded by `mutex`.
private final class PoolShared {
    let mutex: UnsafeMutablePointer<pthread_mutex_t>
    /// Serialises dispatches from different threads.
    let dispatchMutex: UnsafeMutablePointer<pthread_mutex_t>
    let wake: UnsafeMutablePointer<pthread_cond_t>
    let done: UnsafeMutablePointer<pthread_cond_t>
    /// Per participant (64 bytes apart): the next chunk of its own contiguous block (atomic), see `runChunks`.
    let cursors: UnsafeMutablePointer<Int>
    static let cursorStride = 8
    /// `generation` and `finished`, mirrored with relaxed atomic stores for the spin-waits (a hint only: every
    /// decision is re-checked under `mutex`).
    let spinGeneration: UnsafeMutablePointer<Int>
    let spinFinished: UnsafeMutablePointer<Int>
    /// Spin-wait rounds before a waiting thread sleeps: about 50 us (x86 `pause` ~16 ns here; aarch64
    /// `yield` is a hint of about a cycle).
    #if arch(x86_64)
    static let spinLimit = 3000
    #else
    static let spinLimit = 50000
    #endif

    var generation = 0
    var stopping = false
    var busy = false
    var dispatcher = pthread_t()
    var workerThreads: [pthread_t] = []
    var job: ((Range<Int>, Int) -> Void)? = nil
    var task: (any ParallelTask)? = nil
    var count = 0
    var grain = 1
    var chunks = 0
    var finished = 0
    var participants = 0
    var alive = 0

    init() throws(ThreadPoolError) {
        mutex = .allocate(capacity: 1)
        dispatchMutex = .allocate(capacity: 1)
        wake = .allocate(capacity: 1)
        done = .allocate(capacity: 1)
        cursors = .allocate(capacity: ThreadPool.maxThreads * PoolShared.cursorStride)
        cursors.initialize(repeating: 0, count: ThreadPool.maxThreads * PoolShared.cursorStride)
        spinGeneration = .allocate(capacity: 1)
        spinGeneration.initialize(to: 0)
        spinFinished = .allocate(capacity: 1)
        spinFinished.initialize(to: 0)
        var status = pthread_mutex_init(mutex, nil)
        if status == 0 { status = pthread_mutex_init(dispatchMutex, nil) }
        if status == 0 { status = pthread_cond_init(wake, nil) }
        if status == 0 { status = pthread_cond_init(done, nil) }
        if status != 0 {
            // Leaking four small blocks on this (practically impossible) path keeps the error path simple.
            throw .system(SystemError("pthread_mutex_init", code: status))
        }
        workerThreads.reserveCapacity(ThreadPool.maxThreads)
    }

    deinit {
        pthread_cond_destroy(done)
        pthread_cond_destroy(wake)
        pthread_mutex_destroy(dispatchMutex)
        pthread_mutex_destroy(mutex)
        done.deallocate()
        wake.deallocate()
        dispatchMutex.deallocate()
        mutex.deallocate()
        cursors.deallocate()
        spinGeneration.deallocate()
        spinFinished.deallocate()
    }

    func registerThread(_ thread: pthread_t) {
        pthread_mutex_lock(mutex)
        workerThreads.append(thread)
        participants = workerThreads.count
        pthread_mutex_unlock(mutex)
    }

    var aliveWorkers: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return alive
    }

    func requestShutdown() {
        pthread_mutex_lock(mutex)
        stopping = true
        edge_atomic_store(spinGeneration, -1)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
    }

    /// The worker index of the calling thread when it is inside a running loop of this pool, else nil.
    func nestedWorkerIndex() -> Int? {
        let me = pthread_self()
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard busy else { return nil }
        if pthread_equal(me, dispatcher) != 0 { return 0 }
        for (index, thread) in workerThreads.enumerated() where pthread_equal(me, thread) != 0 {
            return index + 1
        }
        return nil
    }

    /// Publishes a job, runs chunks on the calling thread as worker 0, and waits for every worker to finish.
    func dispatch(count: Int, grain: Int, chunks: Int, job: ((Range<Int>, Int) -> Void)?, task: (any ParallelTask)?) {
        pthread_mutex_lock(dispatchMutex)
        pthread_mutex_lock(mutex)
        self.job = job
        self.task = task
        self.count = count
        self.grain = grain
        self.chunks = chunks
        self.finished = 0
        self.busy = true
        self.dispatcher = pthread_self()
        let blocks = participants + 1
        for v in 0..<blocks { edge_atomic_store(cursors + v * PoolShared.cursorStride, v * chunks / blocks) }
        edge_atomic_store(spinFinished, 0)
        generation &+= 1
        edge_atomic_store(spinGeneration, generation)
        let expected = participants
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)

        runChunks(job: job, task: task, count: count, grain: grain, chunks: chunks, worker: 0)

        var spins = 0
        while spins < PoolShared.spinLimit && edge_atomic_load(spinFinished) < expected {
            edge_cpu_relax()
            spins += 1
        }
        pthread_mutex_lock(mutex)
        while finished < expected {
            pthread_cond_wait(done, mutex)
        }
        // Drop the pool's references before returning, so the non-escaping closure really does not escape.
        self.job = nil
        self.task = nil
        busy = false
        pthread_mutex_unlock(mutex)
        pthread_mutex_unlock(dispatchMutex)
    }

    /// Participant `w` first runs the contiguous block `w * chunks / n ..< (w + 1) * chunks / n` (n = the workers
    /// plus the dispatcher),
    /// then helps the others with theirs. Every op splits its rows the same way, so a thread mostly reads the rows
    /// it wrote in the op before (cache locality across cores); the stealing keeps a delayed thread from holding
    /// the loop up. Each chunk is claimed once, with an atomic add on its block's cursor.
    @inline(__always)
    func runChunks(job: ((Range<Int>, Int) -> Void)?, task: (any ParallelTask)?, count: Int, grain: Int, chunks: Int, worker: Int) {
        let blocks = participants + 1
        for offset in 0..<blocks {
            let v = (worker + offset) % blocks
            let end = (v + 1) * chunks / blocks
            let cursor = cursors + v * PoolShared.cursorStride
            while true {
                let chunk = edge_atomic_fetch_add(cursor, 1)
                if chunk >= end { break }
                let range = chunk * grain ..< min(count, (chunk + 1) * grain)
                if let task {
                    task.run(range, worker: worker)
                } else if let job {
                    job(range, worker)
                }
            }
        }
    }

    /// Runs chunks of the published job; called and returning with `mutex` held. A function of its own so the
    /// worker's references to the job end when it returns, before the worker reports itself finished.
    @inline(never)
    private func runPublishedJob(count: Int, grain: Int, chunks: Int, worker: Int) {
        let job = self.job
        let task = self.task
        pthread_mutex_unlock(mutex)
        runChunks(job: job, task: task, count: count, grain: grain, chunks: chunks, worker: worker)
        pthread_mutex_lock(mutex)
    }

    func workerLoop(worker: Int) {
        _ = edge_set_thread_name("edge-worker-" + String(worker))
        pthread_mutex_lock(mutex)
        alive += 1
        // Generation 0 is "no job yet"; reading the current generation instead could skip a job
        // published before this thread first took the lock, and the dispatcher would wait forever.
        var seen = 0
        while true {
            if generation == seen && !stopping {
                // The next loop usually follows within microseconds: spin briefly before sleeping.
                pthread_mutex_unlock(mutex)
                var spins = 0
                while spins < PoolShared.spinLimit && edge_atomic_load(spinGeneration) == seen {
                    edge_cpu_relax()
                    spins += 1
                }
                pthread_mutex_lock(mutex)
            }
            while generation == seen && !stopping {
                pthread_cond_wait(wake, mutex)
            }
            if stopping { break }
            seen = generation
            let count = self.count
            let grain = self.grain
            let chunks = self.chunks
            runPublishedJob(count: count, grain: grain, chunks: chunks, worker: worker)
            finished += 1
            edge_atomic_store(spinFinished, finished)
            if finished == participants { pthread_cond_signal(done) }
        }
        alive -= 1
        pthread_mutex_unlock(mutex)
    }
}
