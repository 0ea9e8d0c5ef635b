import EdgeRuntime

/// A scripted frame source for tests: yields the given events in order, then blocks (a stalled camera)
/// or ends.
public final class FakeFrameSource: FrameSource {
    /// One scripted step.
    public enum Step {
        case frame(Frame)
        case error(FrameError)
        case end
    }

    private let monitor = Monitor()
    private var steps: [Step]
    private var interrupted = false
    private let interval: UInt64
    private let clock = SystemClock()
    public let name = "fake"

    /// `interval` spaces the frames out in real time; after the script, `next()` idles (stalls).
    public init(_ steps: [Step], interval: UInt64 = 0) {
        self.steps = steps
        self.interval = interval
    }

    /// Appends steps while running.
    public func append(_ more: [Step]) {
        monitor.locked {
            steps += more
            monitor.broadcast()
        }
    }

    public func next() throws(FrameError) -> SourceEvent {
        let step = monitor.locked { () -> Step? in
            if interval > 0 {
                let deadline = clock.monotonicNanoseconds() + interval
                while !interrupted && monitor.wait(untilMonotonic: deadline) {}
            } else {
                // Stalled: wait until more steps arrive or an interrupt, with a bound so stop checks run.
                let deadline = clock.monotonicNanoseconds() + 50_000_000
                while steps.isEmpty && !interrupted && monitor.wait(untilMonotonic: deadline) {}
            }
            if interrupted { interrupted = false; return nil }
            return steps.isEmpty ? nil : steps.removeFirst()
        }
        switch step {
        case nil: return .idle
        case .frame(let frame): return .frame(frame)
        case .error(let error): throw error
        case .end: return .end
        }
    }

    public func interrupt() {
        monitor.locked {
            interrupted = true
            monitor.broadcast()
        }
    }
}

/// A processor for tests: reports one instance in frames whose first byte is non-zero, and can be
/// told to block (a stuck inference) or fail.
public final class FakeFrameProcessor: FrameProcessor {
    private let monitor = Monitor()
    private var blocked = false
    private var seen: [UInt64] = []
    /// A label to tell processors apart after a reload.
    public let label: String
    /// Nanoseconds each frame takes (real sleep).
    public let delay: UInt64

    public init(label: String = "fake", delay: UInt64 = 0) {
        self.label = label
        self.delay = delay
    }

    /// Makes `process` block until `unblock()`.
    public func block() { monitor.locked { blocked = true } }
    public func unblock() { monitor.locked { blocked = false; monitor.broadcast() } }
    /// Sequence numbers of the frames processed.
    public var processedSeqs: [UInt64] { monitor.locked { seen } }

    public func process(_ frame: Frame) throws(ProcessError) -> Detections {
        monitor.locked { while blocked { monitor.wait(untilMonotonic: nil) } }
        if delay > 0 { sleepNanoseconds(delay) }
        monitor.locked { seen.append(frame.seq) }
        if frame.bytes.first == 255 { throw ProcessError("fake failure on frame " + frame.frameId) }
        guard let first = frame.bytes.first, first != 0 else {
            return Detections(instances: [], fullMaskRLE: "", latency: FrameLatency(inference: delay))
        }
        let instance = SegmentedInstance(id: 1, score: 0.9, bboxX: 0, bboxY: 0, bboxWidth: frame.width, bboxHeight: frame.height,
                                        area: frame.width * frame.height, centroidX: Double(frame.width) / 2,
                                        centroidY: Double(frame.height) / 2, maskRLE: label)
        return Detections(instances: [instance], fullMaskRLE: label, latency: FrameLatency(inference: delay))
    }
}

/// A factory for tests: makes `FakeFrameProcessor`s labelled with the model path, or fails for paths
/// that contain "missing" or "corrupt".
public final class FakeProcessorFactory: FrameProcessorFactory {
    private let made = Shared<[FakeFrameProcessor]>([])
    private let delay: UInt64

    public init(delay: UInt64 = 0) { self.delay = delay }

    /// Every processor made so far.
    public var processors: [FakeFrameProcessor] { made.load() }

    public func makeProcessor(_ config: DaemonConfig) throws(ModelError) -> any FrameProcessor {
        if containsText(config.model.path, "missing") || containsText(config.model.path, "corrupt") {
            throw ModelError("cannot load model " + config.model.path + ": fake failure")
        }
        let processor = FakeFrameProcessor(label: config.model.path, delay: delay)
        made.update { $0.append(processor) }
        return processor
    }
}

/// A sink that keeps everything in memory.
public final class MemoryDetectionSink: DetectionSink, DetectionSinkFactory {
    private let store = Shared<[DetectionResult]>([])
    private let healthStore = Shared<[PipelineStats]>([])
    private let closedFlag = Shared(false)

    public init() {}

    public func publish(_ result: DetectionResult) throws(SinkError) {
        if closedFlag.load() { throw SinkError("sink closed") }
        store.update { $0.append(result) }
    }

    public func publishHealth(_ stats: PipelineStats) { healthStore.update { $0.append(stats) } }
    public func close() { closedFlag.store(true) }
    public func makeSink(_ config: DaemonConfig) throws(SinkError) -> any DetectionSink { self }

    /// Results published, in order.
    public var results: [DetectionResult] { store.load() }
    /// Health reports published.
    public var health: [PipelineStats] { healthStore.load() }
    public var isClosed: Bool { closedFlag.load() }
}
