import XCTest
import EdgeRuntime

@testable import LiteModel

/// Engine API: determinism over thread counts, typed errors, the plan, result buffers.
final class EngineTests: XCTestCase {
    /// Every kept intermediate, the RLE strings and the instances of one run, as bytes.
    func snapshot(_ engine: Engine, _ result: FrameResult) -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        for name in engine.intermediateNames { out[name] = Array(engine.intermediate(name)!.bytes) }
        out["#mask"] = Array(result.maskRLE)
        out["#map"] = Array(result.sourceMap)
        for i in 0..<result.count {
            let d = result[i]
            out["#instance" + String(i)] = Array(d.maskRLE) + Array("\(d.area) \(d.bbox) \(d.centroid) \(d.score)".utf8)
        }
        return out
    }

    func testOutputsAreIdenticalFor1And2And3Threads() throws {
        let frame = try EngineFixtures.frame()
        for model in ["fixture_int8.dsm", "fixture_fp32.dsm"] {
            var reference: [String: [UInt8]]? = nil
            for threads in [1, 2, 3] {
                let engine = try EngineFixtures.load(model, threads: threads)
                XCTAssertEqual(engine.model.pool.threadCount, threads)
                let result = try EngineFixtures.run(engine, frame)
                let snap = snapshot(engine, result)
                XCTAssertGreaterThan(snap.count, 30)
                if let reference {
                    XCTAssertEqual(Set(snap.keys), Set(reference.keys))
                    for (name, bytes) in reference { XCTAssertEqual(snap[name], bytes, model + " " + name + " with \(threads) threads") }
                } else {
                    reference = snap
                }
            }
        }
    }

    /// Pre-processing and the map resize run split by rows over the pool (FrameStages): the model inputs and the
    /// source-size map equal the serial steps, for every pixel format, odd sizes, padded rows and 1-3 threads.
    func testPooledPreAndPostProcessingEqualTheSerialSteps() throws {
        var rng = TestRNG(77)
        for threads in [1, 2, 3] {
            let engine = try EngineFixtures.load("fixture_int8.dsm", threads: threads)
            let side = engine.model.config.imgSize
            for (format, w, h) in [(PixelFormat.rgb8, 61, 47), (.bgr8, 640, 480), (.mono8, 33, 90), (.yuyv, 62, 9)] {
                let step = w * format.bytesPerPixel + 5
                let raw = (0..<(step * h)).map { _ in UInt8(rng.int(0...255)) }
                var rgb = [UInt8](repeating: 0, count: w * h * 3), lut = [UInt8](repeating: 0, count: 256)
                try Preprocess.convertToRGB8(raw, width: w, height: h, rowBytes: step, format: format, into: &rgb)
                Preprocess.gammaLUT(graySum: Preprocess.graySum(rgb, pixels: w * h), pixels: w * h, into: &lut)
                var alpha = [UInt8](repeating: 0, count: side * side * 3)
                var scratch = [Int32](repeating: 0, count: Preprocess.resizeScratchCount(outWidth: max(side, w), inWidth: max(side, w), channels: 3))
                try Preprocess.resizeBilinear(rgb, srcW: w, srcH: h, channels: 3, into: &alpha, dstW: side, dstH: side,
                                              rows: 0..<side, scratch: &scratch)
                let beta = alpha.map { lut[Int($0)] }
                let result = try raw.withUnsafeBytes { try engine.run(frame: $0, width: w, height: h, encoding: format, step: step) }
                let label = "\(format) \(w)x\(h), \(threads) threads"
                XCTAssertEqual(Array(try XCTUnwrap(engine.intermediate("pre.u_a")).bytes), alpha, label)
                XCTAssertEqual(Array(try XCTUnwrap(engine.intermediate("pre.u_b")).bytes), beta, label)
                let map8 = Array(try XCTUnwrap(engine.intermediate("map8")).bytes)
                XCTAssertEqual(map8.count, side * side)
                var map = [UInt8](repeating: 0, count: w * h)
                try Preprocess.resizeBilinear(map8, srcW: side, srcH: side, channels: 1, into: &map, dstW: w, dstH: h,
                                              rows: 0..<h, scratch: &scratch)
                XCTAssertEqual(Array(result.sourceMap), map, label)
            }
        }
    }

    /// The pooled post-processing (FrameStages: the labelling alongside the frame-mask RLE, instance RLEs in
    /// parallel slots) equals the serial steps, on random blobby maps with many instances and specks, with and
    /// without a minimum area, at 1-3 threads.
    func testPooledPostprocessingEqualsTheSerialSteps() throws {
        var rng = TestRNG(91)
        let side = 32
        for threads in [1, 2, 3] {
            let pool = try ThreadPool(threads: threads)
            let options = EngineFrameOptions(maxFrameWidth: 120, maxFrameHeight: 90, maxInstances: 24)
            let buffers = FrameBuffers(options: options, side: side)
            let stages = FrameStages(pool: pool, buffers: buffers, side: side)
            for trial in 0..<6 {
                let (w, h) = (rng.int(20...120), rng.int(20...90))
                let map8 = (0..<(side * side)).map { _ in UInt8(rng.int(0...3) == 0 ? rng.int(0...255) : rng.int(0...40)) }
                let minArea = [0, 6][trial % 2]
                let (counts, maskLength) = try stages.postprocess(map8, width: w, height: h, minArea: minArea)
                var gray = [UInt8](repeating: 0, count: w * h)
                var scratch = [Int32](repeating: 0, count: Preprocess.resizeScratchCount(outWidth: w, inWidth: side, channels: 1))
                try Preprocess.resizeBilinear(map8, srcW: side, srcH: side, channels: 1, into: &gray, dstW: w, dstH: h,
                                              rows: 0..<h, scratch: &scratch)
                XCTAssertEqual(Array(UnsafeBufferPointer(start: buffers.gray, count: w * h)), gray)
                var labels = [Int32](repeating: 0, count: w * h)
                var labelScratch = [Int32](repeating: 0, count: Instances.scratchCount(width: w, height: h))
                var inst = [Instance](repeating: Instance(id: 0, area: 0, minX: 0, minY: 0, maxX: 0, maxY: 0, sumX: 0,
                                                          sumY: 0, sumG: 0), count: 24)
                let want = try Instances.label(gray, width: w, height: h, minArea: minArea, labels: &labels,
                                               scratch: &labelScratch, instances: &inst, capacity: 24)
                let label = "\(w)x\(h) minArea \(minArea), \(threads) threads: found \(want.found), dropped \(want.dropped)"
                XCTAssertGreaterThan(want.found, 3, label)
                if minArea > 0 { XCTAssertGreaterThan(want.dropped, 0, label) }
                XCTAssertEqual(counts, want, label)
                let mask = try COCORLE.encode(mask: labels.map { $0 > 0 ? 1 : 0 }, height: h, width: w)
                XCTAssertEqual(Array(buffers.maskRLE[0..<maskLength]), mask, label)
                for i in 0..<counts.stored {
                    let one = try COCORLE.encode(mask: labels.map { $0 == inst[i].id ? 1 : 0 }, height: h, width: w)
                    let start = buffers.rleStart[i]
                    XCTAssertEqual(Array(buffers.instanceRLE[start ..< start + buffers.rleLength[i]]), one, label + " \(i)")
                    XCTAssertEqual(buffers.instances[i], inst[i], label)
                }
            }
        }
    }

    /// Per-op timing (`edge-bench bench --ops`): every step timed, steps named alike grouped, within the frames'
    /// inference time; off by default, and restarting clears it.
    func testOpTimingsCoverEveryStepWithinTheInferenceTime() throws {
        let engine = try EngineFixtures.load("fixture_int8.dsm", threads: 2, keep: false)
        let frame = try EngineFixtures.frame()
        XCTAssertTrue(engine.opTimings().isEmpty)
        engine.startOpTimings()
        var inference: UInt64 = 0
        for _ in 0..<3 { inference += try EngineFixtures.run(engine, frame).latency.inferenceNs }
        let ops = engine.opTimings()
        XCTAssertEqual(ops.reduce(0) { $0 + $1.steps }, engine.stepNames.count)
        let qkv = try XCTUnwrap(ops.first { $0.name == "enc.blocks.#.attn.qkv" })
        XCTAssertEqual(qkv.steps, engine.model.config.depth)
        let total = ops.reduce(UInt64(0)) { $0 + $1.nanoseconds }
        XCTAssertGreaterThan(qkv.nanoseconds, 0)
        XCTAssertLessThanOrEqual(total, inference)
        XCTAssertEqual(ops.map(\.nanoseconds), ops.map(\.nanoseconds).sorted(by: >))
        // Multiply-adds for the GOPS: the qkv GEMMs are rows x 3 dim x dim each, rows at least the two branches' tokens
        // (windowed blocks also compute their padded windows' rows); norms none.
        let c = engine.model.config, tokens = (c.imgSize / c.patchSize) * (c.imgSize / c.patchSize)
        XCTAssertEqual(qkv.multiplyAdds % (3 * c.embedDim * c.embedDim), 0)
        XCTAssertGreaterThanOrEqual(qkv.multiplyAdds, c.depth * 2 * tokens * 3 * c.embedDim * c.embedDim)
        XCTAssertEqual(try XCTUnwrap(ops.first { $0.name == "enc.blocks.#.norm#" }).multiplyAdds, 0)
        XCTAssertGreaterThan(try XCTUnwrap(ops.first { $0.name == "enc.blocks.#.attn" }).multiplyAdds, 0)
        let gemms = engine.gemmTotals()
        XCTAssertGreaterThan(gemms.multiplyAdds, qkv.multiplyAdds)
        XCTAssertLessThan(gemms.multiplyAdds, ops.reduce(0) { $0 + $1.multiplyAdds })  // attention excluded
        XCTAssertLessThanOrEqual(gemms.nanoseconds, total)
        engine.startOpTimings()
        XCTAssertEqual(engine.opTimings().reduce(UInt64(0)) { $0 + $1.nanoseconds }, 0)
    }

    func testRepeatedRunsGiveTheSameResult() throws {
        let engine = try EngineFixtures.load("fixture_int8.dsm", threads: 2, keep: false)
        let frame = try EngineFixtures.frame()
        let first = try EngineFixtures.run(engine, frame)
        let mask = Array(first.maskRLE), map = Array(first.sourceMap)
        XCTAssertEqual(map.count, frame.width * frame.height)
        for _ in 0..<3 {
            let again = try EngineFixtures.run(engine, frame)
            XCTAssertEqual(Array(again.maskRLE), mask)
            XCTAssertEqual(Array(again.sourceMap), map)
        }
        // The RLE decodes to the thresholded source-size map; instance areas add up to the foreground.
        let decoded = try COCORLE.decode(mask, height: frame.height, width: frame.width)
        var foreground = 0
        for i in 0..<map.count {
            XCTAssertEqual(decoded[i], map[i] > 65 ? 1 : 0)
            foreground += map[i] > 65 ? 1 : 0
        }
        var area = 0
        for i in 0..<first.count {
            let d = first[i]
            XCTAssertEqual(try COCORLE.area(Array(d.maskRLE), height: frame.height, width: frame.width), d.area)
            area += d.area
        }
        if first.found == first.count { XCTAssertEqual(area, foreground) }
    }

    func testBadFramesGetTypedErrors() throws {
        let engine = try EngineFixtures.load("fixture_int8.dsm", keep: false)
        let pixels = [UInt8](repeating: 100, count: 641 * 480 * 3)
        try pixels.withUnsafeBytes { raw in
            XCTAssertThrowsError(try engine.run(frame: raw, width: 641, height: 480, encoding: .rgb8, step: 641 * 3)) {
                XCTAssertEqual($0 as? EngineError, .frameTooLarge(width: 641, height: 480, maxWidth: 640, maxHeight: 480))
            }
            XCTAssertThrowsError(try engine.run(frame: raw, width: 64, height: 48, encoding: .rgb8, step: 10)) {
                guard case .badFrame = $0 as? EngineError else { return XCTFail("\($0)") }
            }
            let short = UnsafeRawBufferPointer(rebasing: raw[0..<100])
            XCTAssertThrowsError(try engine.run(frame: short, width: 64, height: 48, encoding: .rgb8, step: 192)) {
                guard case .badFrame = $0 as? EngineError else { return XCTFail("\($0)") }
            }
            XCTAssertThrowsError(try engine.run(frame: raw, width: 63, height: 48, encoding: .yuyv, step: 128)) {
                guard case .badFrame = $0 as? EngineError else { return XCTFail("\($0)") }
            }
            XCTAssertThrowsError(try engine.run(frame: raw, width: 0, height: 48, encoding: .rgb8, step: 192))
            // Every encoding runs.
            for format in [PixelFormat.rgb8, .bgr8, .mono8, .yuyv] {
                XCTAssertNoThrow(try engine.run(frame: raw, width: 64, height: 48, encoding: format, step: 64 * 3))
            }
        }
    }

    func testLoadErrors() throws {
        let format = URL(fileURLWithPath: try EngineFixtures.path("fixture_int8.dsm")).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("format/minimal.dsm").path
        XCTAssertThrowsError(try Engine.load(path: format)) {
            guard case .load(.file) = $0 as? EngineError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try Engine.load(path: "/nonexistent/model.dsm"))
        let small = EngineOptions(threads: 1, memoryLimitBytes: 100_000)
        XCTAssertThrowsError(try Engine.load(path: try EngineFixtures.path("fixture_int8.dsm"), options: small)) {
            guard case .load(.plan(.exceedsLimit)) = $0 as? EngineError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try Engine.load(path: try EngineFixtures.path("fixture_int8.dsm"),
                                             frames: EngineFrameOptions(maxFrameWidth: 0))) {
            guard case .badOptions = $0 as? EngineError else { return XCTFail("\($0)") }
        }
    }

    func testPlanReportAndArena() throws {
        let path = try EngineFixtures.path("fixture_int8.dsm")
        let engine = try EngineFixtures.load("fixture_int8.dsm", keep: false)
        let report = engine.planReport()
        XCTAssertEqual(report.arenaBytes, engine.arenaBytes)
        XCTAssertGreaterThan(report.peakLiveBytes, 0)
        XCTAssertLessThanOrEqual(report.peakLiveBytes, report.arenaBytes)
        XCTAssertGreaterThan(report.stepCount, 100)
        try engine.model.plan!.validate()
        // The static planner (no arena) agrees with the loaded engine.
        let planned = try Engine.plan(path: path)
        XCTAssertEqual(planned.arenaBytes, report.arenaBytes)
        XCTAssertEqual(planned.stepCount, report.stepCount)
        // Keeping intermediates alive costs arena, never less.
        let keeping = try EngineFixtures.load("fixture_int8.dsm", keep: true)
        XCTAssertGreaterThanOrEqual(keeping.arenaBytes, engine.arenaBytes)
        print(report.text)
    }
}
