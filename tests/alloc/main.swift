// Counts heap allocations per iteration of runtime loops, with tests/alloc/alloccount.c preloaded.
//
// Built twice by scripts/suites/30-alloc, from the same source: a host release build and an Embedded Swift
// build (so the thread pool's closure dispatch is exercised under Embedded's closure rules too).
// Prints one line per scenario and "COUNTS passed failed" last; exits 1 on any failure, 2 without the counter.
import CEdgeShim
import EdgeRuntime

struct Counts {
    var allocations: UInt64
    var reallocations: UInt64
    var frees: UInt64
    var bytes: UInt64
}

func readCounts() -> Counts? {
    var raw: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    let found = withUnsafeMutablePointer(to: &raw) { pointer in
        pointer.withMemoryRebound(to: UInt64.self, capacity: 4) { alloc_probe_read($0) }
    }
    guard found != 0 else { return nil }
    return Counts(allocations: raw.0, reallocations: raw.1, frees: raw.2, bytes: raw.3)
}

var passed = 0
var failed = 0
var sink = 0

/// Runs `body` `warmup` times, then `iterations` times, and checks the allocation count of the measured part.
/// `allowedPerIteration` > 0 states a known, bounded cost; `expectAllocations` checks that the counter sees allocations.
func scenario(_ name: String, iterations: Int = 200, warmup: Int = 5, expectAllocations: Bool = false,
              allowedPerIteration: UInt64 = 0, _ body: (Int) -> Void) {
    for i in 0..<warmup { body(i) }
    let before = readCounts()!
    for i in 0..<iterations { body(i) }
    let after = readCounts()!
    let allocations = after.allocations - before.allocations + after.reallocations - before.reallocations
    let frees = after.frees - before.frees
    let ok = expectAllocations ? allocations >= UInt64(iterations) : allocations <= allowedPerIteration * UInt64(iterations)
    if ok { passed += 1 } else { failed += 1 }
    printLine((ok ? "PASS " : "FAIL ") + name + ": " + String(allocations) + " allocations, " + String(frees)
              + " frees over " + String(iterations) + " iterations"
              + (expectAllocations ? " (allocations expected)" : allowedPerIteration > 0 ? " (at most " + String(allowedPerIteration) + " per iteration allowed)" : ""))
}

/// Work for the class-bound task variant: each row of `output` written by exactly one chunk.
final class ScaleRows: ParallelTask {
    let input: TensorView<Float>
    let output: TensorView<Float>
    init(input: TensorView<Float>, output: TensorView<Float>) {
        self.input = input
        self.output = output
    }
    func run(_ range: Range<Int>, worker: Int) {
        let columns = output.shape[1]
        for row in range {
            for column in 0..<columns {
                output.base[row * columns + column] = input.base[row * columns + column] * 0.5 + Float(worker & 0)
            }
        }
    }
}

func main() -> Int32 {
    guard readCounts() != nil else {
        printErrorLine("alloc-test: the allocation counter is not preloaded (run with LD_PRELOAD=liballoccount.so)")
        return 2
    }
    let rows = 96
    let columns = 64
    do throws(EdgeRuntimeSetupError) {
        var order = ExecutionOrder()
        let a = try wrap { () throws(MemoryPlanError) in try order.tensor("a", .float32, [rows, columns], isInput: true) }
        let b = try wrap { () throws(MemoryPlanError) in try order.tensor("b", .float32, [rows, columns], isInput: true) }
        let c = try wrap { () throws(MemoryPlanError) in try order.tensor("c", .float32, [rows, columns]) }
        let d = try wrap { () throws(MemoryPlanError) in try order.tensor("d", .float32, [rows, columns], isOutput: true) }
        order.step("add", reads: [a, b], writes: [c])
        order.step("scale", reads: [c], writes: [d])
        let plan = try wrap { () throws(MemoryPlanError) in try order.plan() }
        let arena = try wrapTensor { () throws(TensorError) in try Arena(size: plan.arenaSize) }
        let va = try wrapTensor { () throws(TensorError) in try arena.view(Float.self, plan: plan, tensor: a) }
        let vb = try wrapTensor { () throws(TensorError) in try arena.view(Float.self, plan: plan, tensor: b) }
        let vc = try wrapTensor { () throws(TensorError) in try arena.view(Float.self, plan: plan, tensor: c) }
        let vd = try wrapTensor { () throws(TensorError) in try arena.view(Float.self, plan: plan, tensor: d) }
        let pool: ThreadPool
        do throws(ThreadPoolError) { pool = try ThreadPool(threads: 4) } catch { throw .threads(error) }
        let single: ThreadPool
        do throws(ThreadPoolError) { single = try ThreadPool(threads: 1) } catch { throw .threads(error) }
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 4 * columns)
        defer { scratch.deallocate() }
        let task = ScaleRows(input: vc, output: vd)

        scenario("detector: a loop that allocates is caught", expectAllocations: true) { i in
            let block = UnsafeMutableRawPointer.allocate(byteCount: 64 + i % 7, alignment: 16)
            block.storeBytes(of: i, as: Int.self)
            sink &+= block.load(as: Int.self)
            block.deallocate()
        }
        // Per-frame work uses the task form: no allocation at all.
        scenario("thread pool: class-bound ParallelTask (4 threads)") { _ in
            pool.parallelFor(rows, grain: 3, task: task)
        }
        // The closure form pays for the escaping wrapper the workers need: one small block per dispatch, no more.
        scenario("thread pool: closure over arena views (4 threads)", allowedPerIteration: 1) { i in
            pool.parallelFor(rows, grain: 8) { range in
                for row in range {
                    for column in 0..<columns {
                        let k = row * columns + column
                        vc.base[k] = va.base[k] + vb.base[k] + Float(i & 1)
                    }
                }
            }
        }
        scenario("thread pool: closure with worker index and per-worker scratch", allowedPerIteration: 1) { _ in
            pool.parallelFor(rows, grain: 5) { (range: Range<Int>, worker: Int) in
                let mine = scratch + worker * columns
                for row in range {
                    for column in 0..<columns { mine[column] = vc.base[row * columns + column] }
                    for column in 0..<columns { vd.base[row * columns + column] = mine[columns - 1 - column] }
                }
            }
        }
        scenario("thread pool: nested dispatch, inner loops inline", allowedPerIteration: 1) { _ in
            pool.parallelFor(4) { outer in
                for o in outer {
                    pool.parallelFor(8) { inner in
                        for r in inner { vc.base[o * 8 + r] = Float(o) }
                    }
                }
            }
        }
        scenario("thread pool: one thread, inline") { _ in
            single.parallelFor(rows, grain: 16) { range in
                for row in range { vd.base[row * columns] = vc.base[row * columns] }
            }
        }
        scenario("tensor views: tiles by slicing") { i in
            do throws(TensorError) {
                let tile = try vd.slice(dimension: 0, (i % 8) * 12 ..< (i % 8) * 12 + 12)
                tile.fill(Float(i))
                sink &+= tile.count
            } catch {
                sink &+= 1_000_000
            }
        }
        scenario("detector: building a memory plan allocates", iterations: 20, expectAllocations: true) { _ in
            do throws(MemoryPlanError) {
                let again = try order.plan()
                sink &+= again.arenaSize
            } catch {
                sink &+= 1
            }
        }
        pool.shutdown()
        if pool.aliveWorkers != 0 {
            failed += 1
            printLine("FAIL thread pool: workers still alive after shutdown")
        }
    } catch {
        printErrorLine("alloc-test: setup failed: " + error.description)
        return 1
    }
    printLine("COUNTS " + String(passed) + " " + String(failed))
    return failed == 0 ? 0 : 1
}

/// Setup failures of the scenarios above, in one typed error.
enum EdgeRuntimeSetupError: Error {
    case plan(MemoryPlanError)
    case tensor(TensorError)
    case threads(ThreadPoolError)

    var description: String {
        switch self {
        case .plan(let error): return error.description
        case .tensor(let error): return error.description
        case .threads(let error): return error.description
        }
    }
}

func wrap<T>(_ body: () throws(MemoryPlanError) -> T) throws(EdgeRuntimeSetupError) -> T {
    do throws(MemoryPlanError) { return try body() } catch { throw .plan(error) }
}

func wrapTensor<T>(_ body: () throws(TensorError) -> T) throws(EdgeRuntimeSetupError) -> T {
    do throws(TensorError) { return try body() } catch { throw .tensor(error) }
}

exit(main())
