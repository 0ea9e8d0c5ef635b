import CEdgeShim
import EdgeRuntime

/// Latency and memory of repeated runs of one engine on one synthetic frame.
public struct BenchmarkResult {
    public let runs: Int
    public let threads: Int
    /// The first frame (cold caches, first touch of result buffers).
    public let firstRunNs: UInt64
    /// Over the `runs` frames after the first.
    public let medianNs: UInt64
    public let minNs: UInt64
    public let maxNs: UInt64
    /// Medians of the phases over the same runs.
    public let medianPreprocessNs: UInt64
    public let medianInferenceNs: UInt64
    public let medianPostprocessNs: UInt64
    /// Peak resident set of the process so far (getrusage `ru_maxrss`).
    public let peakRSSBytes: Int
    public let arenaBytes: Int
    public let weightBytes: Int
    public let frameBufferBytes: Int
    /// The `ops` largest step groups (`Engine.opTimings`), per frame over the runs; empty unless asked for.
    public var ops: [(name: String, steps: Int, nanoseconds: UInt64, multiplyAdds: Int)] = []
    /// The GEMM and conv steps together (`Engine.gemmTotals`) when `ops` were timed: multiply-adds per frame and
    /// their time summed over the runs.
    public var gemms: (multiplyAdds: Int, nanoseconds: UInt64) = (0, 0)

    /// Lines for a terminal.
    public var text: String {
        func ms(_ ns: UInt64) -> String {
            let tenths = (ns + 50_000) / 100_000
            return String(tenths / 10) + "." + String(tenths % 10) + " ms"
        }
        func mib(_ bytes: Int) -> String {
            let tenths = (bytes * 10 + (1 << 19)) >> 20
            return String(tenths / 10) + "." + String(tenths % 10) + " MiB"
        }
        return "threads " + String(threads) + ", " + String(runs) + " runs after the first\n"
            + "first run " + ms(firstRunNs) + "; median " + ms(medianNs) + ", min " + ms(minNs) + ", max " + ms(maxNs) + "\n"
            + "median phases: preprocess " + ms(medianPreprocessNs) + ", inference " + ms(medianInferenceNs)
            + ", postprocess " + ms(medianPostprocessNs) + "\n"
            + "arena " + mib(arenaBytes) + ", weights " + mib(weightBytes) + ", frame buffers " + mib(frameBufferBytes)
            + ", peak RSS " + mib(peakRSSBytes) + opsText
    }

    private var opsText: String {
        guard !ops.isEmpty else { return "" }
        // 2 operations per multiply-add over the group's mean time per frame.
        func gops(_ multiplyAdds: Int, _ nanoseconds: UInt64) -> String {
            let perFrame = nanoseconds / UInt64(max(runs, 1))
            guard multiplyAdds > 0, perFrame > 0 else { return "" }
            return "  " + String(UInt64(2 * multiplyAdds) / perFrame) + " GOPS"
        }
        var out = "\nper op (mean per frame, steps named alike summed, share of the median inference; GOPS of GEMMs, convs and attention's two products):"
        for op in ops {
            let us = op.nanoseconds / UInt64(max(runs, 1)) / 1000
            let share = medianInferenceNs == 0 ? 0 : (op.nanoseconds / UInt64(max(runs, 1))) * 1000 / medianInferenceNs
            var name = op.name
            while name.utf8.count < 34 { name += " " }
            out += "\n  " + name + " " + String(us / 1000) + "." + String(us % 1000 / 100) + String(us % 100 / 10)
                + " ms  " + String(share / 10) + "." + String(share % 10) + " %  (" + String(op.steps) + " steps)"
                + gops(op.multiplyAdds, op.nanoseconds)
        }
        let gop = 2 * gemms.multiplyAdds / 1_000_000, us = gemms.nanoseconds / UInt64(max(runs, 1)) / 1000
        out += "\nGEMMs and convs (every step, epilogues included): " + String(gop / 1000) + "."
            + String(gop % 1000 / 100) + String(gop % 100 / 10) + " GOP per frame in " + String(us / 1000) + "."
            + String(us % 1000 / 100) + String(us % 100 / 10) + " ms:" + gops(gemms.multiplyAdds, gemms.nanoseconds)
        return out
    }
}

/// The benchmark behind `edge-bench bench` (and for the daemon's `bench` command).
public enum EngineBenchmark {
    /// Peak resident set size of this process in bytes.
    public static func peakRSSBytes() -> Int {
        var usage = rusage()
        // RUSAGE_SELF (0): glibc imports it as an enum case that does not convert to the parameter type.
        guard getrusage(0, &usage) == 0 else { return 0 }
        return Int(usage.ru_maxrss) * 1024
    }

    /// Fills `frame` (RGB8, `width x height`) with a deterministic scene: smooth gradients and a few discs,
    /// so the gamma LUT, the resize and the instance code see realistic content.
    public static func syntheticFrame(_ frame: UnsafeMutablePointer<UInt8>, width: Int, height: Int) {
        for y in 0..<height {
            for x in 0..<width {
                var r = 20 + (x * 60) / width, g = 60 + (y * 80) / height, b = 120 + ((x + y) * 40) / (width + height)
                for disc in 0..<3 {
                    let cx = width * (disc + 1) / 4, cy = height * (2 + disc % 2) / 5, rad = min(width, height) / 10
                    let dx = x - cx, dy = y - cy
                    if dx * dx + dy * dy < rad * rad { r = 230 - disc * 30; g = 200 - disc * 40; b = 90 + disc * 50 }
                }
                let p = frame + (y * width + x) * 3
                p[0] = UInt8(r); p[1] = UInt8(g); p[2] = UInt8(b)
            }
        }
    }

    /// Runs `engine` once (first run) then `runs` more times on a synthetic `width x height` RGB8 frame.
    /// With `ops` > 0 every step is timed during the runs and the `ops` largest groups are reported.
    public static func run(_ engine: Engine, width: Int, height: Int, runs: Int,
                           ops: Int = 0) throws(EngineError) -> BenchmarkResult {
        let bytes = width * height * 3
        let frame = UnsafeMutablePointer<UInt8>.allocate(capacity: max(bytes, 1))
        defer { frame.deallocate() }
        syntheticFrame(frame, width: width, height: height)
        let raw = UnsafeRawBufferPointer(start: frame, count: bytes)
        let first = try engine.run(frame: raw, width: width, height: height, encoding: .rgb8, step: width * 3)
        let count = max(runs, 1)
        var total = [UInt64](repeating: 0, count: count)
        var pre = total, inference = total, post = total
        if ops > 0 { engine.startOpTimings() }
        for i in 0..<count {
            let result = try engine.run(frame: raw, width: width, height: height, encoding: .rgb8, step: width * 3)
            total[i] = result.latency.totalNs
            pre[i] = result.latency.preprocessNs
            inference[i] = result.latency.inferenceNs
            post[i] = result.latency.postprocessNs
        }
        func median(_ values: [UInt64]) -> UInt64 {
            let sorted = values.sorted()
            return sorted[sorted.count / 2]
        }
        var result = BenchmarkResult(runs: count, threads: engine.model.pool.threadCount, firstRunNs: first.latency.totalNs,
                               medianNs: median(total), minNs: total.min()!, maxNs: total.max()!,
                               medianPreprocessNs: median(pre), medianInferenceNs: median(inference),
                               medianPostprocessNs: median(post), peakRSSBytes: peakRSSBytes(),
                               arenaBytes: engine.arenaBytes, weightBytes: engine.weightBytes,
                               frameBufferBytes: engine.frameBufferBytes)
        if ops > 0 {
            result.ops = Array(engine.opTimings().prefix(ops))
            result.gemms = engine.gemmTotals()
        }
        return result
    }
}
