// edge-bench: run the LiteModel engine on frames and measure it (tests and benchmarks; Embedded-compatible).
//
//   edge-bench plan  MODEL [--threads N]
//   edge-bench bench MODEL [--threads N] [--cpus LIST] [--runs N] [--width W] [--height H] [--ops N]
//       --cpus LIST: pin the threads, thread w on the w-th CPU of LIST (e.g. 0-1 or 4,5), cycling
//       --ops N: also time every step and print the N largest (steps named alike summed)
//   edge-bench pool  [--threads N] [--loops N]
//       the thread pool's cost of one parallel loop of near-empty chunks (a frame runs a few hundred loops)
//   edge-bench run   MODEL FRAME.rgb WIDTH HEIGHT [--threads N] [--map OUT]
//       FRAME.rgb: raw RGB8 rows; prints counts, the mask RLE and one line per instance; --map writes the
//       source-size 8-bit map (WIDTH x HEIGHT bytes).
import CEdgeShim
import EdgeRuntime
import LiteModel

func fail(_ message: String) -> Never {
    printErrorLine("edge-bench: " + message)
    exit(1)
}

func parseInt(_ text: String) -> Int? {
    var value = 0
    guard !text.isEmpty, text.utf8.count < 10 else { return nil }
    for byte in text.utf8 {
        guard byte >= 48 && byte <= 57 else { return nil }
        value = value * 10 + Int(byte - 48)
    }
    return value
}

/// Reads a whole file into a new buffer.
func readFile(_ path: String) -> [UInt8] {
    let fd = edge_open(path, O_RDONLY | O_CLOEXEC, 0)
    guard fd >= 0 else { fail("cannot open " + path) }
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 { if edge_errno() == EINTR { continue }; fail("cannot read " + path) }
        if n == 0 { break }
        out.append(contentsOf: chunk[0..<n])
    }
    return out
}

func writeFile(_ path: String, _ bytes: UnsafeBufferPointer<UInt8>) {
    let fd = edge_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { fail("cannot create " + path) }
    defer { close(fd) }
    var offset = 0
    while offset < bytes.count {
        let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n < 0 { if edge_errno() == EINTR { continue }; fail("cannot write " + path) }
        offset += n
    }
}

func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

func fixed(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let n = Int((value * scale).rounded())
    let whole = n / Int(scale), frac = n % Int(scale)
    var f = String(frac)
    while f.utf8.count < digits { f = "0" + f }
    return String(whole) + "." + f
}

/// A chunk that touches one cache line per worker, so the loop measures dispatch, wake-up and joining.
final class TouchTask: ParallelTask {
    let lines: UnsafeMutablePointer<Int>
    init(workers: Int) { lines = .allocate(capacity: workers * 8); lines.initialize(repeating: 0, count: workers * 8) }
    deinit { lines.deallocate() }
    func run(_ range: Range<Int>, worker: Int) { lines[worker * 8] &+= range.count }
}

func poolBenchmark(threads: Int, loops: Int) {
    let pool: ThreadPool
    do throws(ThreadPoolError) { pool = try ThreadPool(threads: max(threads, 1)) } catch { fail("cannot start the pool") }
    let task = TouchTask(workers: pool.threadCount)
    for _ in 0..<1000 { pool.parallelFor(4 * pool.threadCount, grain: 1, task: task) }
    var best = UInt64.max, total: UInt64 = 0
    let rounds = 10, perRound = max(loops / rounds, 1)
    for _ in 0..<rounds {
        let start = edge_monotonic_ns()
        for _ in 0..<perRound { pool.parallelFor(4 * pool.threadCount, grain: 1, task: task) }
        let ns = edge_monotonic_ns() - start
        total += ns
        best = min(best, ns)
    }
    printLine("pool: " + String(pool.threadCount) + " threads, " + String(rounds * perRound) + " loops of "
              + String(4 * pool.threadCount) + " chunks: mean " + fixed(Double(total) / Double(rounds * perRound) / 1000, 2)
              + " us per loop, best round " + fixed(Double(best) / Double(perRound) / 1000, 2) + " us")
}

func main() {
    let args = processArguments()
    var options: [(String, String)] = []
    var positional: [String] = []
    var i = 0
    while i < args.count {
        if args[i].hasPrefix("--") {
            guard i + 1 < args.count else { fail("option " + args[i] + " needs a value") }
            options.append((args[i], args[i + 1]))
            i += 2
        } else {
            positional.append(args[i])
            i += 1
        }
    }
    func option(_ name: String, _ fallback: Int) -> Int {
        for (key, value) in options where key == name {
            guard let n = parseInt(value) else { fail(name + " needs a non-negative integer") }
            return n
        }
        return fallback
    }
    func optionText(_ name: String) -> String? {
        for (key, value) in options where key == name { return value }
        return nil
    }

    if positional.first == "pool" {
        poolBenchmark(threads: option("--threads", 2), loops: option("--loops", 20000))
        return
    }
    guard positional.count >= 2 else {
        fail("usage: edge-bench plan|bench|run MODEL [...] (see Sources/edge-bench/main.swift)")
    }
    let command = positional[0], modelPath = positional[1]
    let threads = option("--threads", 1)
    var cpus: [Int] = []
    if let text = optionText("--cpus") {
        guard let list = CPUList.parse(text), !list.isEmpty else { fail("--cpus: expected CPU numbers and ranges like 0,2-3") }
        cpus = list
    }
    let engineOptions = EngineOptions(threads: threads, cpus: cpus)

    do throws(EngineError) {
        switch command {
        case "plan":
            printLine(try Engine.plan(path: modelPath, options: engineOptions).text)
        case "bench":
            let width = option("--width", 640), height = option("--height", 480)
            let start = edge_monotonic_ns()
            let engine = try Engine.load(path: modelPath, options: engineOptions,
                                         frames: EngineFrameOptions(maxFrameWidth: width, maxFrameHeight: height))
            let loadNs = edge_monotonic_ns() - start
            printLine("model " + modelPath + " (" + engine.model.config.name + ", " + engine.model.dtype.name + "), frame "
                      + String(width) + "x" + String(height) + ", load " + String(loadNs / 1_000_000) + " ms")
            let result = try EngineBenchmark.run(engine, width: width, height: height, runs: option("--runs", 10),
                                                 ops: option("--ops", 0))
            printLine(result.text)
        case "run":
            guard positional.count == 5, let width = parseInt(positional[3]), let height = parseInt(positional[4]) else {
                fail("usage: edge-bench run MODEL FRAME.rgb WIDTH HEIGHT")
            }
            let frame = readFile(positional[2])
            let engine = try Engine.load(path: modelPath, options: engineOptions,
                                         frames: EngineFrameOptions(maxFrameWidth: width, maxFrameHeight: height,
                                                                    minInstanceArea: option("--min-area", 0)))
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(frame.count, 1), alignment: 64)
            defer { buffer.deallocate() }
            for (index, byte) in frame.enumerated() { buffer[index] = byte }
            let result = try engine.run(frame: UnsafeRawBufferPointer(rebasing: buffer[0..<frame.count]), width: width,
                                        height: height, encoding: .rgb8, step: width * 3)
            printLine("found " + String(result.found) + " stored " + String(result.count) + " dropped "
                      + String(result.dropped))
            printLine("mask " + text(result.maskRLE))
            for index in 0..<result.count {
                let d = result[index]
                printLine("instance " + String(d.id) + " area " + String(d.area) + " bbox " + String(d.bbox.x) + " "
                          + String(d.bbox.y) + " " + String(d.bbox.w) + " " + String(d.bbox.h) + " centroid "
                          + fixed(d.centroid.x, 3) + " " + fixed(d.centroid.y, 3) + " score " + fixed(d.score, 6)
                          + " rle " + text(d.maskRLE))
            }
            if let map = optionText("--map") { writeFile(map, result.sourceMap) }
        default:
            fail("unknown command " + command)
        }
    } catch {
        fail(error.description)
    }
}

main()
