import EdgeRuntime

/// Capture thread -> latest-frame slot -> inference thread -> sink; nothing queues beyond one frame.
public final class Pipeline {
    private let source: any FrameSource
    private let sink: any DetectionSink
    private let logger: Logger
    private let clock: any Clock
    private let slot = LatestFrameSlot()
    private let processor: Shared<any FrameProcessor>
    private let counters = Shared(PipelineStats())
    private let progress: Shared<UInt64?> = Shared(nil)
    private let pausedFlag = Shared(false)
    private let stopRequested = Shared(false)
    private let finished = Shared(false)
    private let captureDone = Shared(false)
    private let finishedMonitor = Monitor()
    private let gpio: GpioController?
    private var captureThread: WorkerThread?
    private var inferenceThread: WorkerThread?
    /// Wait for inference to take each frame instead of replacing it (lossless replay).
    private let lossless: Bool

    public init(source: any FrameSource, processor: any FrameProcessor, sink: any DetectionSink,
                gpio: GpioController?, logger: Logger, clock: any Clock, lossless: Bool = false) {
        self.lossless = lossless
        self.source = source
        self.processor = Shared(processor)
        self.sink = sink
        self.gpio = gpio
        self.logger = logger
        self.clock = clock
    }

    /// Starts both threads.
    public func start() throws(SystemError) {
        captureThread = try WorkerThread(name: "capture") { [self] in captureLoop() }
        do throws(SystemError) {
            inferenceThread = try WorkerThread(name: "inference") { [self] in inferenceLoop() }
        } catch {
            requestStop()
            captureThread?.join()
            throw error
        }
    }

    /// The counters so far.
    public var stats: PipelineStats {
        var s = counters.load()
        s.dropped = slot.drops
        return s
    }

    /// Monotonic time at which the last frame finished (or the pipeline was paused); nil before the first.
    public var lastProgress: UInt64? { progress.load() }

    /// True once the inference thread has exited (source ended and drained, or stop requested).
    public var isFinished: Bool { finished.load() }

    /// Pauses or resumes inference (the GPIO enable input); frames arriving while paused are skipped.
    public func setPaused(_ paused: Bool) {
        pausedFlag.store(paused)
        // Paused on purpose is healthy: keep the watchdog fed.
        progress.store(clock.monotonicNanoseconds())
    }

    /// Uses `newProcessor` from the next frame on (the frame being inferred finishes with the old one).
    public func replaceProcessor(_ newProcessor: any FrameProcessor) {
        processor.store(newProcessor)
    }

    /// Stops capture and discards a frame not yet inferred; the frame being inferred still reaches the sink.
    public func requestStop() {
        stopRequested.store(true)
        source.interrupt()
        slot.close(discardPending: true)
    }

    /// Waits until the inference thread has finished or `deadline` (monotonic ns) passes; true when finished.
    public func waitFinished(deadline: UInt64) -> Bool {
        let done = finishedMonitor.locked { () -> Bool in
            while !finished.load() {
                if !finishedMonitor.wait(untilMonotonic: deadline) { break }
            }
            return finished.load()
        }
        if done {
            inferenceThread?.join()
            // A source that ignores interrupt() must not hold up shutdown: join capture only once it is done.
            if captureDone.load() { captureThread?.join() }
        }
        return done
    }

    /// Refreshes pause-time progress so a paused pipeline keeps feeding the watchdog.
    public func refreshPausedProgress() {
        if pausedFlag.load() { progress.store(clock.monotonicNanoseconds()) }
    }

    private func captureLoop() {
        defer { captureDone.store(true) }
        while !stopRequested.load() {
            let event: SourceEvent
            do throws(FrameError) {
                event = try source.next()
            } catch {
                counters.update { $0.rejected += 1 }
                logger.warning("rejected " + error.description)
                // A failing transport tends to fail again at once: back off instead of spinning.
                if error.kind == .io { sleepNanoseconds(100_000_000) }
                continue
            }
            switch event {
            case .idle:
                continue
            case .end:
                logger.notice("source " + source.name + " has no more frames")
                slot.close(discardPending: false)
                return
            case .frame(let frame):
                counters.update { $0.captured += 1 }
                if pausedFlag.load() {
                    counters.update { $0.paused += 1 }
                    continue
                }
                if lossless {
                    // Re-check for stop every 100 ms so SIGTERM is not held up by a slow inference.
                    while !stopRequested.load() && !slot.waitUntilEmpty(deadline: clock.monotonicNanoseconds() + 100_000_000) {}
                }
                slot.put(frame, at: clock.monotonicNanoseconds())
            }
        }
    }

    private func inferenceLoop() {
        while let (frame, enqueued) = slot.take(deadline: nil) {
            let current = processor.load()
            let detections: Detections
            do throws(ProcessError) {
                detections = try current.process(frame)
            } catch {
                counters.update { $0.processingErrors += 1 }
                logger.error("inference failed on frame " + frame.frameId + ": " + error.message)
                continue
            }
            let now = clock.monotonicNanoseconds()
            let latency = now &- enqueued
            let result = DetectionResult(frame: frame.info, detections: detections, pipelineLatencyNanoseconds: latency,
                                         droppedFramesTotal: slot.drops)
            var published = true
            do throws(SinkError) {
                try sink.publish(result)
            } catch {
                published = false
                logger.error("publishing failed: " + error.message)
            }
            let found = !detections.instances.isEmpty
            counters.update { s in
                s.processed += 1
                if !published { s.publishErrors += 1 }
                if found { s.withDetections += 1 }
                s.lastLatencyNanoseconds = latency
                s.maxLatencyNanoseconds = max(s.maxLatencyNanoseconds, latency)
                s.latencyBuckets[LatencyHistogram.bucket(nanoseconds: latency)] += 1
                s.meanLatencyNanoseconds = s.meanLatencyNanoseconds == 0 ? latency : (s.meanLatencyNanoseconds * 7 + latency) / 8
            }
            gpio?.frameProcessed(detected: found, now: now)
            progress.store(now)
        }
        finishedMonitor.locked {
            finished.store(true)
            finishedMonitor.broadcast()
        }
    }
}
