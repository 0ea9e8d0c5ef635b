import DaemonCore
import Foundation
import LiteModel
import XCTest

/// The adapter between the daemon and `LiteModel.Engine`, on the committed fixture model.
final class EngineProcessorTests: XCTestCase {
    private var fixture: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/model/fixture_int8.dsm").path
    }

    private func config(model: String, extra: String = "") throws -> DaemonConfig {
        let dir = NSTemporaryDirectory() + "engine-processor-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/edge.conf"
        try ("[model]\npath = " + model + "\nthreads = 2\n[replay]\npath = " + dir + "\n[security]\nplaintext = true\n" + extra)
            .write(toFile: path, atomically: true, encoding: .utf8)
        return try DaemonConfig.load(path: path, environment: { _ in nil })
    }

    /// A deterministic RGB scene with a bright disc, and the same pixels as BGR.
    private func scene(width: Int, height: Int) -> (rgb: [UInt8], bgr: [UInt8]) {
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let inside = (x - width / 2) * (x - width / 2) + (y - height / 2) * (y - height / 2) < (height / 4) * (height / 4)
                let p = (y * width + x) * 3
                rgb[p] = inside ? 230 : UInt8(20 + x % 40)
                rgb[p + 1] = inside ? 190 : UInt8(80 + y % 50)
                rgb[p + 2] = inside ? 60 : 140
            }
        }
        var bgr = rgb
        for p in stride(from: 0, to: bgr.count, by: 3) { bgr.swapAt(p, p + 2) }
        return (rgb, bgr)
    }

    func testProcessorCopiesTheEnginesDirectResult() throws {
        guard FileManager.default.fileExists(atPath: fixture) else { throw XCTSkip("fixture model missing") }
        let processor = try EngineProcessorFactory().makeProcessor(try config(model: fixture))
        let (rgb, bgr) = scene(width: 96, height: 64)
        let frame = try Frame(width: 96, height: 64, encoding: .rgb8, step: 96 * 3, captureStampNanoseconds: 1,
                              frameId: "a", seq: 1, bytes: rgb, origin: "test")
        let detections = try processor.process(frame)

        let engine = try Engine.load(path: fixture, options: EngineOptions(threads: 1))
        let direct = try rgb.withUnsafeBytes { try engine.run(frame: $0, width: 96, height: 64, encoding: .rgb8, step: 96 * 3) }
        XCTAssertEqual(detections.fullMaskRLE, String(decoding: direct.maskRLE, as: UTF8.self))
        XCTAssertFalse(detections.fullMaskRLE.isEmpty)
        XCTAssertEqual(detections.instances.count, direct.count)
        for (index, instance) in detections.instances.enumerated() {
            let d = direct[index]
            XCTAssertEqual(instance.id, Int(d.id))
            XCTAssertEqual(instance.area, d.area)
            XCTAssertEqual([instance.bboxX, instance.bboxY, instance.bboxWidth, instance.bboxHeight], [d.bbox.x, d.bbox.y, d.bbox.w, d.bbox.h])
            XCTAssertEqual(instance.score, d.score)
            XCTAssertEqual(instance.maskRLE, String(decoding: d.maskRLE, as: UTF8.self))
        }
        XCTAssertGreaterThan(detections.latency.inference, 0)

        // The daemon's encodings reach the engine: the same scene as BGR gives the same result.
        let bgrFrame = try Frame(width: 96, height: 64, encoding: .bgr8, step: 96 * 3, captureStampNanoseconds: 1,
                                 frameId: "b", seq: 2, bytes: bgr, origin: "test")
        let fromBGR = try processor.process(bgrFrame)
        XCTAssertEqual(fromBGR.fullMaskRLE, detections.fullMaskRLE)
        XCTAssertEqual(fromBGR.instances.map { $0.maskRLE }, detections.instances.map { $0.maskRLE })
    }

    func testFramesBeyondTheConfiguredSizeAreProcessingErrors() throws {
        guard FileManager.default.fileExists(atPath: fixture) else { throw XCTSkip("fixture model missing") }
        let cfg = try config(model: fixture, extra: "[replay]\nwidth = 64\nheight = 48\n")
        XCTAssertEqual(engineFrameOptions(cfg).maxFrameWidth, 64)
        let processor = try EngineProcessorFactory().makeProcessor(cfg)
        let frame = try Frame(width: 96, height: 64, encoding: .rgb8, step: 96 * 3, captureStampNanoseconds: 1,
                              frameId: "a", seq: 1, bytes: scene(width: 96, height: 64).rgb, origin: "test")
        XCTAssertThrowsError(try processor.process(frame)) { error in
            XCTAssertTrue((error as? ProcessError)?.message.contains("exceeds the engine's maximum 64x48") == true, "\(error)")
        }
    }

    func testMissingAndCorruptModelsAreModelErrors() throws {
        let missing = NSTemporaryDirectory() + "no-such-model.dsm"
        XCTAssertThrowsError(try EngineProcessorFactory().makeProcessor(try config(model: missing))) { error in
            let message = (error as? ModelError)?.message ?? ""
            XCTAssertTrue(message.hasPrefix("cannot load model " + missing + ": "), message)
        }
        let corrupt = NSTemporaryDirectory() + "corrupt-" + UUID().uuidString + ".dsm"
        try Data("not a model".utf8).write(to: URL(fileURLWithPath: corrupt))
        XCTAssertThrowsError(try EngineProcessorFactory().makeProcessor(try config(model: corrupt))) { error in
            XCTAssertTrue(error is ModelError)
        }
    }

    func testEngineCommandLines() throws {
        guard case .plan(let plan) = try parseCommandLine(["plan", "m.dsm", "--threads", "3"]) else { return XCTFail() }
        XCTAssertEqual(plan.model, "m.dsm")
        XCTAssertEqual(plan.threads, 3)
        guard case .bench(let bench) = try parseCommandLine(["bench", "m.dsm", "--runs", "4", "--width", "320", "--height", "240"]) else {
            return XCTFail()
        }
        XCTAssertEqual([bench.runs, bench.width, bench.height, bench.threads], [4, 320, 240, 1])
        guard case .infer(let infer) = try parseCommandLine(["infer", "m.dsm", "a.png", "b.jpg"]) else { return XCTFail() }
        XCTAssertEqual(infer.images, ["a.png", "b.jpg"])
        XCTAssertEqual(infer.minInstanceArea, 0)
        guard case .infer(let filtered) = try parseCommandLine(["infer", "m.dsm", "--min-area", "0", "a.png"]),
              case .infer(let filtered64) = try parseCommandLine(["infer", "m.dsm", "--min-area", "64", "a.png"]) else {
            return XCTFail()
        }
        XCTAssertEqual([filtered.minInstanceArea, filtered64.minInstanceArea], [0, 64])
        for bad in [["plan"], ["plan", "m", "extra"], ["plan", "m", "--runs", "3"], ["bench", "m", "--runs", "0"],
                    ["bench", "m", "--threads"], ["infer", "m"], ["infer", "m", "--min-area", "-1", "a.png"],
                    ["bench", "m", "--min-area", "4"]] {
            XCTAssertThrowsError(try parseCommandLine(bad), "\(bad)")
        }
        XCTAssertTrue(helpText.contains("plan MODEL"))
        XCTAssertTrue(helpText.contains("bench MODEL"))
    }
}
