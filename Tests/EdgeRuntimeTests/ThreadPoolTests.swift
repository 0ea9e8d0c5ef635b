import XCTest

@testable import EdgeRuntime
import CEdgeShim
import Glibc

/// Adds into disjoint slots: each output written by exactly one chunk.
private final class SquareTask: ParallelTask, @unchecked Sendable {
    let output: UnsafeMutablePointer<Int>
    init(count: Int) {
        output = .allocate(capacity: count)
        output.initialize(repeating: 0, count: count)
    }
    deinit { output.deallocate() }
    func run(_ range: Range<Int>, worker: Int) {
        for i in range { output[i] += i * i }
    }
}

final class ThreadPoolTests: XCTestCase {
    func testSumsOverRangesForEveryThreadCount() throws {
        let count = 10_007
        var reference: [Float] = []
        for threads in 1...8 {
            let pool = try ThreadPool(threads: threads)
            let out = UnsafeMutablePointer<Float>.allocate(capacity: count)
            defer { out.deallocate() }
            out.initialize(repeating: 0, count: count)
            let hits = UnsafeMutablePointer<Int>.allocate(capacity: count)
            defer { hits.deallocate() }
            hits.initialize(repeating: 0, count: count)
            pool.parallelFor(count, grain: 97) { range in
                for i in range {
                    // fp32 arithmetic whose bits depend on the order: must match for every thread count.
                    var acc: Float = 0
                    for k in 0..<(i % 50) { acc += Float(k) * 0.1 + Float(i) * 1e-3 }
                    out[i] = acc
                    hits[i] += 1
                }
            }
            for i in 0..<count { XCTAssertEqual(hits[i], 1, "item \(i) with \(threads) threads") }
            let result = Array(UnsafeBufferPointer(start: out, count: count))
            if reference.isEmpty { reference = result } else {
                XCTAssertEqual(result.map { $0.bitPattern }, reference.map { $0.bitPattern }, "\(threads) threads")
            }
            pool.shutdown()
            XCTAssertEqual(pool.aliveWorkers, 0)
        }
    }

    func testTaskFormIsDeterministicAcrossThreadCounts() throws {
        var reference: [Int] = []
        for threads in 1...6 {
            let pool = try ThreadPool(threads: threads)
            let task = SquareTask(count: 5000)
            for _ in 0..<3 { pool.parallelFor(5000, grain: 64, task: task) }
            let result = (0..<5000).map { task.output[$0] }
            if reference.isEmpty { reference = result } else { XCTAssertEqual(result, reference, "\(threads) threads") }
        }
        XCTAssertEqual(reference[4999], 3 * 4999 * 4999)
    }

    func testEveryWorkerTakesPartAndIndicesAreInRange() throws {
        let pool = try ThreadPool(threads: 4)
        let seen = UnsafeMutablePointer<Int>.allocate(capacity: 4)
        defer { seen.deallocate() }
        seen.initialize(repeating: 0, count: 4)
        let lock = NSLock()
        pool.parallelFor(400) { (range: Range<Int>, worker: Int) in
            XCTAssertTrue(worker >= 0 && worker < 4)
            lock.lock(); seen[worker] += range.count; lock.unlock()
            usleep(200)  // long enough that every worker gets chunks
        }
        XCTAssertEqual((0..<4).map { seen[$0] }.reduce(0, +), 400)
        XCTAssertGreaterThan((0..<4).filter { seen[$0] > 0 }.count, 1)
    }

    func testManyShortDispatches() throws {
        let pool = try ThreadPool(threads: 4)
        let task = SquareTask(count: 64)
        for round in 0..<20_000 {
            pool.parallelFor(1 + round % 64, task: task)
        }
        var expected = [Int](repeating: 0, count: 64)
        for round in 0..<20_000 { for i in 0..<(1 + round % 64) { expected[i] += i * i } }
        XCTAssertEqual((0..<64).map { task.output[$0] }, expected)
    }

    func testNestedDispatchRunsOnTheCallingWorker() throws {
        let pool = try ThreadPool(threads: 3)
        let total = UnsafeMutablePointer<Int>.allocate(capacity: 30)
        defer { total.deallocate() }
        total.initialize(repeating: 0, count: 30)
        pool.parallelFor(3) { outer in
            for o in outer {
                pool.parallelFor(10) { inner in
                    for i in inner { total[o * 10 + i] += 1 }
                }
            }
        }
        XCTAssertEqual((0..<30).map { total[$0] }, [Int](repeating: 1, count: 30))
    }

    func testDispatchesFromTwoThreadsAreSerialised() throws {
        let pool = try ThreadPool(threads: 3)
        let a = SquareTask(count: 1000)
        let b = SquareTask(count: 1000)
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { for _ in 0..<300 { pool.parallelFor(1000, grain: 10, task: b) } }
        for _ in 0..<300 { pool.parallelFor(1000, grain: 10, task: a) }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        for i in 0..<1000 {
            XCTAssertEqual(a.output[i], 300 * i * i)
            XCTAssertEqual(b.output[i], 300 * i * i)
        }
    }

    func testShutdownJoinsAllThreadsAndPoolStillWorksInline() throws {
        let before = try threadCount()
        let pool = try ThreadPool(threads: 6)
        // Give the workers time to start (and name themselves).
        var spins = 0
        while pool.aliveWorkers < 5 && spins < 1000 { usleep(1000); spins += 1 }
        XCTAssertEqual(pool.aliveWorkers, 5)
        XCTAssertEqual(try threadCount(), before + 5)
        pool.shutdown()
        XCTAssertEqual(pool.aliveWorkers, 0)
        // pthread_join returns when the kernel clears the thread's tid, a moment before its /proc entry goes.
        spins = 0
        while try threadCount() != before && spins < 1000 { usleep(1000); spins += 1 }
        XCTAssertEqual(try threadCount(), before)
        var sum = 0
        pool.parallelFor(10) { range in for i in range { sum += i } }
        XCTAssertEqual(sum, 45)
        pool.shutdown()
    }

    func testIdleWorkersSleep() throws {
        let pool = try ThreadPool(threads: 4)
        pool.parallelFor(100) { _ in }
        let start = try processCPUTicks()
        usleep(300_000)
        let used = try processCPUTicks() - start
        // Spinning workers would burn about 3 x 30 ticks (at 100 Hz) in 0.3 s.
        XCTAssertLessThan(used, 5, "idle pool used \(used) ticks")
        withExtendedLifetime(pool) {}
    }

    func testBadThreadCounts() {
        XCTAssertThrowsError(try ThreadPool(threads: 0)) { XCTAssertEqual($0 as? ThreadPoolError, .badThreadCount(0)) }
        XCTAssertThrowsError(try ThreadPool(threads: 100_000))
    }

    /// Threads of this process named by the pool (other threads, e.g. Dispatch's, come and go on their own).
    private func threadCount() throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").filter { task in
            let comm = (try? String(contentsOfFile: "/proc/self/task/" + task + "/comm", encoding: .utf8)) ?? ""
            return comm.hasPrefix("edge-worker-")
        }.count
    }

    /// utime + stime of this process in clock ticks.
    private func processCPUTicks() throws -> Int {
        let stat = try String(contentsOfFile: "/proc/self/stat", encoding: .utf8)
        let fields = stat[stat.range(of: ")")!.upperBound...].split(separator: " ")
        return Int(fields[11])! + Int(fields[12])!
    }

    /// The CPUs the calling thread may run on.
    private func allowedCPUs() -> [Int] {
        var cpus = [Int32](repeating: -1, count: 1024)
        let count = edge_thread_cpus(&cpus, 1024)
        return count > 0 ? cpus.prefix(Int(count)).map { Int($0) } : []
    }

    func testPinnedWorkersRunOnlyOnTheirCPU() throws {
        let allowed = allowedCPUs()
        try XCTSkipIf(allowed.isEmpty, "the CPU affinity cannot be read here")
        let original = allowed
        defer { restoreAffinity(original) }
        // Two threads on the last allowed CPU and (when there is one) the first: each worker reports its set.
        let cpus = allowed.count > 1 ? [allowed[allowed.count - 1], allowed[0]] : [allowed[0]]
        let pool = try ThreadPool(threads: 3, cpus: cpus)
        XCTAssertEqual(allowedCPUs(), allowed, "creating the pool leaves the loading thread's CPUs alone")
        var seen = [[Int]](repeating: [], count: 3)
        let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
        defer { pthread_mutex_destroy(lock); lock.deallocate() }
        for _ in 0..<50 {
            pool.parallelFor(64, grain: 1) { (_: Range<Int>, worker: Int) in
                let mine = self.allowedCPUs()
                pthread_mutex_lock(lock)
                seen[worker] = mine
                pthread_mutex_unlock(lock)
                usleep(100)
            }
        }
        XCTAssertEqual(seen[0], [cpus[0]], "worker 0 (the caller) on cpus[0]")
        for worker in 1..<3 where !seen[worker].isEmpty {
            XCTAssertEqual(seen[worker], [cpus[worker % cpus.count]], "worker \(worker)")
        }
        XCTAssertEqual(pool.cpus, cpus)
    }

    func testPinningToAMissingCPUFailsWithItsName() {
        XCTAssertThrowsError(try ThreadPool(threads: 2, cpus: [CPUList.maxCPU])) { error in
            guard case let .pinning(worker, cpu, system)? = error as? ThreadPoolError else {
                return XCTFail("unexpected \(error)")
            }
            XCTAssertEqual(cpu, CPUList.maxCPU)
            XCTAssertEqual(worker, 1)
            XCTAssertEqual(system.code, EINVAL)
            XCTAssertTrue((error as! ThreadPoolError).description.contains("cannot pin worker 1 to CPU 1023"))
        }
        XCTAssertThrowsError(try ThreadPool(threads: 1, cpus: [-1]))
    }

    func testCPUListParsing() {
        XCTAssertEqual(CPUList.parse("4-7"), [4, 5, 6, 7])
        XCTAssertEqual(CPUList.parse(" 0, 2 ,5-6"), [0, 2, 5, 6])
        XCTAssertEqual(CPUList.parse(""), [])
        XCTAssertEqual(CPUList.parse("3-3"), [3])
        for bad in ["4-", "-4", "7-4", "a", "1,,2", "1-2-3", "1024", "1 2", ","] {
            XCTAssertNil(CPUList.parse(bad), bad)
        }
    }

    private func restoreAffinity(_ cpus: [Int]) {
        // The test thread was pinned as worker 0: give it back every CPU it had (later pools inherit it).
        var list = cpus.map { Int32($0) }
        XCTAssertEqual(edge_set_thread_cpus(pthread_self(), &list, Int32(list.count)), 0)
    }
}
