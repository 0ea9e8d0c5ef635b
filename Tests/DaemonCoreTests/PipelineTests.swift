import EdgeRuntime
import XCTest

@testable import DaemonCore

final class PipelineTests: XCTestCase {
    func testSlotReplacesUnprocessedFrameAndCountsDrop() {
        let slot = LatestFrameSlot()
        XCTAssertFalse(slot.put(makeFrame(seq: 1), at: 1))
        XCTAssertTrue(slot.put(makeFrame(seq: 2), at: 2))
        XCTAssertTrue(slot.put(makeFrame(seq: 3), at: 3))
        XCTAssertEqual(slot.take(deadline: nil)?.frame.seq, 3)
        XCTAssertEqual(slot.drops, 2)
        XCTAssertNil(slot.take(deadline: SystemClock().monotonicNanoseconds() + 1_000_000))
    }

    func testSlotCloseKeepsOrDiscardsPending() {
        let slot = LatestFrameSlot()
        slot.put(makeFrame(seq: 1), at: 1)
        slot.close(discardPending: false)
        XCTAssertEqual(slot.take(deadline: nil)?.frame.seq, 1)
        XCTAssertNil(slot.take(deadline: nil))
        XCTAssertTrue(slot.isDrained)
        XCTAssertFalse(slot.put(makeFrame(seq: 2), at: 2))

        let other = LatestFrameSlot()
        other.put(makeFrame(seq: 1), at: 1)
        other.close(discardPending: true)
        XCTAssertNil(other.take(deadline: nil))
        XCTAssertEqual(other.drops, 1)
    }

    func testFramesFlowAndBadFramesAreCountedAndLogged() throws {
        let bad = FrameError(.corrupt, origin: "/x/bad.png", "PNG: IHDR: CRC error")
        let short = FrameError(.wrongSize, origin: "/x/small.png", "image is 2x2, configured 4x2")
        let source = FakeFrameSource([.frame(makeFrame(seq: 1)), .error(bad), .frame(makeFrame(seq: 2, first: 0)),
                                      .error(short), .frame(makeFrame(seq: 3, first: 255)), .frame(makeFrame(seq: 4)), .end])
        let sink = MemoryDetectionSink()
        let output = MemoryLogOutput()
        let logger = Logger(level: .info, output: output, clock: SystemClock())
        let pipeline = Pipeline(source: source, processor: FakeFrameProcessor(delay: 0), sink: sink, gpio: nil,
                                logger: logger, clock: SystemClock())
        try pipeline.start()
        XCTAssertTrue(pipeline.waitFinished(deadline: SystemClock().monotonicNanoseconds() + 5_000_000_000))
        let stats = pipeline.stats
        XCTAssertEqual(stats.rejected, 2)
        XCTAssertEqual(stats.captured + stats.rejected, 6)
        // Frames 1, 2 and 4 reach the sink unless the slot replaced one (then it counts as dropped).
        XCTAssertEqual(stats.processed + stats.dropped + stats.processingErrors, 4)
        XCTAssertEqual(sink.results.map { $0.frame.seq }.last, 4)
        XCTAssertTrue(output.all.contains("<4>rejected corrupt frame from /x/bad.png: PNG: IHDR: CRC error"), "\(output.all)")
        XCTAssertTrue(output.all.contains { $0.hasPrefix("<4>rejected wrong size frame from /x/small.png") })
        XCTAssertFalse(sink.results.contains { $0.frame.seq == 3 }, "a failed inference is not published")
    }

    func testSlowInferenceDropsOldFramesInsteadOfQueueing() throws {
        var steps: [FakeFrameSource.Step] = []
        for seq in 1...20 { steps.append(.frame(makeFrame(seq: UInt64(seq)))) }
        steps.append(.end)
        let source = FakeFrameSource(steps)
        let sink = MemoryDetectionSink()
        let processor = FakeFrameProcessor(delay: 20_000_000)
        let pipeline = Pipeline(source: source, processor: processor, sink: sink, gpio: nil,
                                logger: Logger(output: MemoryLogOutput()), clock: SystemClock())
        try pipeline.start()
        XCTAssertTrue(pipeline.waitFinished(deadline: SystemClock().monotonicNanoseconds() + 10_000_000_000))
        let stats = pipeline.stats
        XCTAssertEqual(stats.captured, 20)
        XCTAssertEqual(stats.processed + stats.dropped, 20)
        XCTAssertGreaterThan(stats.dropped, 0, "the source is much faster than inference, so frames must be dropped")
        XCTAssertEqual(sink.results.last?.frame.seq, 20, "the newest frame is the one processed last")
        let seqs = sink.results.map { $0.frame.seq }
        XCTAssertEqual(seqs, seqs.sorted())
    }
}

final class LosslessReplayTests: XCTestCase {
    func testLosslessPipelineProcessesEveryFrame() throws {
        var steps: [FakeFrameSource.Step] = []
        for seq in 1...10 { steps.append(.frame(makeFrame(seq: UInt64(seq)))) }
        steps.append(.end)
        let sink = MemoryDetectionSink()
        let pipeline = Pipeline(source: FakeFrameSource(steps), processor: FakeFrameProcessor(delay: 10_000_000), sink: sink,
                                gpio: nil, logger: Logger(output: MemoryLogOutput()), clock: SystemClock(), lossless: true)
        try pipeline.start()
        XCTAssertTrue(pipeline.waitFinished(deadline: SystemClock().monotonicNanoseconds() + 10_000_000_000))
        XCTAssertEqual(sink.results.map { $0.frame.seq }, Array(1...10))
        XCTAssertEqual(pipeline.stats.dropped, 0)
    }
}

final class LatencyHistogramTests: XCTestCase {
    func testBucketsAndQuantilesAreUpperBounds() {
        XCTAssertEqual(LatencyHistogram.bucket(nanoseconds: 0), 0)
        XCTAssertEqual(LatencyHistogram.bucket(nanoseconds: 1_000_000), 0)
        XCTAssertEqual(LatencyHistogram.bucket(nanoseconds: 1_001_000), 1)
        XCTAssertEqual(LatencyHistogram.bucket(nanoseconds: 99_000_000_000), LatencyHistogram.upperBoundsMicros.count - 1)
        var counts = [UInt64](repeating: 0, count: LatencyHistogram.upperBoundsMicros.count)
        XCTAssertEqual(LatencyHistogram.quantileMicros(counts, 0.5), 0)
        for ms in [7, 7, 7, 7, 7, 7, 7, 7, 45, 900] { counts[LatencyHistogram.bucket(nanoseconds: UInt64(ms) * 1_000_000)] += 1 }
        XCTAssertEqual(LatencyHistogram.quantileMicros(counts, 0.5), 8_000)
        XCTAssertEqual(LatencyHistogram.quantileMicros(counts, 0.9), 50_000)
        XCTAssertEqual(LatencyHistogram.quantileMicros(counts, 0.99), 1_000_000)
    }

    func testPipelineFillsTheHistogram() throws {
        let source = FakeFrameSource([.frame(makeFrame(seq: 1)), .frame(makeFrame(seq: 2)), .end])
        let pipeline = Pipeline(source: source, processor: FakeFrameProcessor(), sink: MemoryDetectionSink(), gpio: nil,
                                logger: Logger(output: MemoryLogOutput()), clock: SystemClock(), lossless: true)
        try pipeline.start()
        XCTAssertTrue(pipeline.waitFinished(deadline: SystemClock().monotonicNanoseconds() + 5_000_000_000))
        XCTAssertEqual(pipeline.stats.latencyBuckets.reduce(0, +), 2)
    }
}
