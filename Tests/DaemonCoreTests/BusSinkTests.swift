import Bus
import EdgeRuntime
import XCTest

@testable import DaemonCore

final class BusSinkTests: XCTestCase {
    func testMessageMapsEveryField() {
        let instance = SegmentedInstance(id: 3, score: 0.75, bboxX: 1, bboxY: 2, bboxWidth: 3, bboxHeight: 4, area: 9,
                                         centroidX: 2.5, centroidY: 3.5, maskRLE: "52203")
        let detections = Detections(instances: [instance], fullMaskRLE: "52203",
                                    latency: FrameLatency(preprocess: 1_000_000, inference: 5_000_000, postprocess: 2_000_000))
        let info = FrameInfo(width: 8, height: 6, encoding: .rgb8, captureStampNanoseconds: 42, frameId: "a.png", seq: 17)
        let result = DetectionResult(frame: info, detections: detections, pipelineLatencyNanoseconds: 10_000_000, droppedFramesTotal: 5)
        let m = BusDetectionSink.message(for: result, camera: "cam0", modelID: "m", now: 100_000_000, previousDropped: 3)
        XCTAssertEqual(m.frameID, 17)
        XCTAssertEqual(m.captureRealtimeNs, 42)
        XCTAssertEqual(m.captureMonotonicNs, 90_000_000)
        XCTAssertEqual(m.latency.queueMicros, 2_000)
        XCTAssertEqual(m.latency.inferenceMicros, 5_000)
        XCTAssertEqual(m.droppedFrames, 2)
        XCTAssertEqual(m.imageWidth, 8)
        XCTAssertEqual(m.instances.first?.mask.height, 6)
        XCTAssertEqual(m.instances.first?.mask.countsString, "52203")
        XCTAssertEqual(m.instances.first?.x, 1)
        XCTAssertEqual(m.instances.first?.area, 9)
    }

    func testDaemonPublishesOneMessagePerProcessedFrameOverZeroMQ() throws {
        let dir = makeTemporaryDirectory(self)
        let path = dir + "/edge.conf"
        writeFile(path, configText(replayPath: dir, extra: "[publish]\nendpoints = tcp://127.0.0.1:*\ncamera = cam7"))
        let config = try DaemonConfig.load(path: path) { _ in nil }
        let sink = try BusDetectionSink(config: config, modelID: "fake")
        let endpoint = try XCTUnwrap(sink.boundEndpoints.first)

        let context = try ZmqContext()
        let sub = try ZmqSocket(context: context, type: .subscriber)
        try sub.setLinger(milliseconds: 0)
        try sub.subscribe("det/cam7")
        try sub.connect(endpoint)
        // Slow joiner: publish a warm-up result until the subscription has arrived.
        let warmup = DetectionResult(frame: makeFrame(seq: 0).info, detections: Detections(instances: [], fullMaskRLE: "", latency: FrameLatency()),
                                     pipelineLatencyNanoseconds: 0)
        var joined = false
        for _ in 0..<200 where !joined {
            try sink.publish(warmup)
            joined = try sub.pollReadable(timeoutMilliseconds: 10)
        }
        XCTAssertTrue(joined)
        while try sub.pollReadable(timeoutMilliseconds: 50) { _ = try sub.receiveBytes() }

        var steps: [FakeFrameSource.Step] = []
        for seq in 1...5 { steps.append(.frame(makeFrame(seq: UInt64(seq)))) }
        steps.append(.end)
        let factory = FakeProcessorFactory(delay: 5_000_000)
        let ctx = DaemonContext(signals: try SignalPipe(), processorFactory: factory, sinkFactory: SinkBox(sink),
                                sourceFactory: FixedSourceFactory(FakeFrameSource(steps, interval: 20_000_000)),
                                logOutput: MemoryLogOutput(), environment: { _ in nil })
        ctx.installSignalHandlers = false
        XCTAssertEqual(Daemon(config: config, configPath: path, context: ctx).run(), .success)

        var frameIDs: [String] = []
        while try sub.pollReadable(timeoutMilliseconds: 200) {
            guard let topic = try sub.receiveBytes(), topic.more, let body = try sub.receiveBytes() else { break }
            XCTAssertEqual(String(decoding: topic.bytes, as: UTF8.self), "det/cam7")
            let json = String(decoding: body.bytes, as: UTF8.self)
            guard let range = json.range(of: "\"frame_id\":") else { continue }
            frameIDs.append(String(json[range.upperBound...].prefix { $0.isNumber }))
        }
        let processed = try XCTUnwrap(factory.processors.first).processedSeqs.map { String($0) }
        XCTAssertEqual(frameIDs, processed, "one message per processed frame")
        XCTAssertGreaterThan(frameIDs.count, 0)
    }
}

/// Hands the daemon an existing sink.
final class SinkBox: DetectionSinkFactory {
    let sink: any DetectionSink
    init(_ sink: any DetectionSink) { self.sink = sink }
    func makeSink(_ config: DaemonConfig) throws(SinkError) -> any DetectionSink { sink }
}
