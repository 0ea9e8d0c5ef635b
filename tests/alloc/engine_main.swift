// Counts heap allocations per frame of the LiteModel engine, with tests/alloc/alloccount.c preloaded.
//
//   engine-alloc-test MODEL [THREADS]
// Loads MODEL, runs 3 warm-up frames, then counts allocations over 20 frames (must be 0) for each of two
// frame sizes and encodings; a deliberately allocating loop must be counted (so the test can fail).
// Prints "COUNTS passed failed" last; exits 1 on any failure, 2 without the counter.
import CEdgeShim
import EdgeRuntime
import LiteModel

func allocations() -> UInt64? {
    var raw: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    let found = withUnsafeMutablePointer(to: &raw) { pointer in
        pointer.withMemoryRebound(to: UInt64.self, capacity: 4) { alloc_probe_read($0) }
    }
    guard found != 0 else { return nil }
    return raw.0 + raw.1
}

var passed = 0
var failed = 0

func check(_ name: String, frames: Int, expectSome: Bool = false, _ body: () -> Void) {
    let before = allocations()!
    for _ in 0..<frames { body() }
    let count = allocations()! - before
    let ok = expectSome ? count >= UInt64(frames) : count == 0
    if ok { passed += 1 } else { failed += 1 }
    printLine((ok ? "PASS " : "FAIL ") + name + ": " + String(count) + " allocations over " + String(frames) + " frames"
              + (expectSome ? " (allocations expected)" : ""))
}

func main() -> Int32 {
    let args = processArguments()
    guard allocations() != nil else {
        printErrorLine("engine-alloc-test: the allocation counter is not preloaded")
        return 2
    }
    guard args.count >= 1 else { printErrorLine("usage: engine-alloc-test MODEL [THREADS]"); return 1 }
    let threads = args.count >= 2 ? (Int(args[1]) ?? 1) : 1
    let engine: Engine
    do throws(EngineError) {
        engine = try Engine.load(path: args[0], options: EngineOptions(threads: threads),
                                 frames: EngineFrameOptions(maxFrameWidth: 320, maxFrameHeight: 240))
    } catch {
        printErrorLine("engine-alloc-test: " + error.description)
        return 1
    }
    let sizes = [(320, 240, PixelFormat.rgb8), (200, 150, PixelFormat.yuyv)]
    let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: 320 * 240 * 3)
    defer { buffer.deallocate() }
    EngineBenchmark.syntheticFrame(buffer, width: 320, height: 240)
    var sink = 0
    for (width, height, format) in sizes {
        let raw = UnsafeRawBufferPointer(start: buffer, count: 320 * 240 * 3)
        func frame() {
            do throws(EngineError) {
                let result = try engine.run(frame: raw, width: width, height: height, encoding: format,
                                            step: width * format.bytesPerPixel)
                sink &+= result.found &+ result.maskRLE.count
                for i in 0..<result.count { sink &+= result[i].maskRLE.count }
            } catch {
                printErrorLine("engine-alloc-test: " + error.description)
                failed += 1
            }
        }
        for _ in 0..<3 { frame() }
        check("engine frame " + String(width) + "x" + String(height) + " threads " + String(threads), frames: 20, frame)
    }
    var kept: [[UInt8]] = []
    check("deliberately allocating loop", frames: 20, expectSome: true) { kept.append([UInt8](repeating: 1, count: 64 + kept.count)) }
    printLine("sink " + String(sink & 1) + " " + String(kept.count))
    printLine("COUNTS " + String(passed) + " " + String(failed))
    return failed == 0 ? 0 : 1
}

exit(main())
