import Bus
import CEdgeShim
import EdgeRuntime

/// Publishes results through the Bus publisher (docs/WIRE.md): `det/<camera>`, `health`.
///
/// The publisher is not thread-safe and the daemon calls `publish` from the inference thread and
/// `publishHealth` from the main thread, so every call holds one lock (sends never block).
public final class BusDetectionSink: DetectionSink {
    private let publisher: Publisher
    private let lock = Monitor()
    private let camera: String
    private let modelID: String
    private let clock: any Clock
    private let started: UInt64
    private var lastDropped: UInt64 = 0
    private var lastHealth: (time: UInt64, processed: UInt64)? = nil
    private var lastBuckets: [UInt64] = []
    private var closed = false

    /// Binds the configured endpoints with the configured security.
    public init(config: DaemonConfig, modelID: String, clock: any Clock = SystemClock()) throws(SinkError) {
        let security: BusSecurity
        if config.security.curve {
            do throws(BusError) {
                var allowed: [CurveKey] = []
                for file in config.security.allowedKeyFiles { allowed += try readCurveKeys(path: file) }
                security = .curve(secretKey: try readCurveKey(path: config.security.secretKeyFile), allowedClients: allowed)
            } catch {
                throw SinkError("security keys: " + error.description)
            }
        } else {
            security = .plaintext
        }
        var publisherConfig = PublisherConfig(endpoints: config.publish.endpoints, security: security,
                                              bootID: BusDetectionSink.makeBootID(clock: clock))
        publisherConfig.healthIntervalNs = config.publish.healthInterval
        do throws(BusError) { publisher = try Publisher(config: publisherConfig) } catch {
            throw SinkError("cannot start the publisher: " + error.description)
        }
        camera = config.publish.camera
        self.modelID = modelID
        self.clock = clock
        started = clock.monotonicNanoseconds()
    }

    /// The endpoints bound (tcp ports resolved).
    public var boundEndpoints: [String] { lock.locked { publisher.boundEndpoints } }

    public func publish(_ result: DetectionResult) throws(SinkError) {
        var message = BusDetectionSink.message(for: result, camera: camera, modelID: modelID,
                                               now: clock.monotonicNanoseconds(), previousDropped: 0)
        let outcome: BusError? = lock.locked {
            if closed { return .invalidValue(field: "sink closed") }
            message.droppedFrames = result.droppedFramesTotal &- lastDropped
            lastDropped = result.droppedFramesTotal
            do throws(BusError) {
                _ = try publisher.publish(&message)
                return nil
            } catch {
                return error
            }
        }
        if let outcome { throw SinkError(outcome.description) }
    }

    public func publishHealth(_ stats: PipelineStats) {
        let now = clock.monotonicNanoseconds()
        lock.locked {
            if closed { return }
            var fps = 0.0
            if let last = lastHealth, now > last.time {
                fps = Double(stats.processed &- last.processed) * 1e9 / Double(now - last.time)
            }
            lastHealth = (now, stats.processed)
            // Percentiles of the frames since the previous health message (bucket upper bounds).
            var interval = stats.latencyBuckets
            if lastBuckets.count == interval.count {
                for i in 0..<interval.count { interval[i] = interval[i] &- lastBuckets[i] }
            }
            lastBuckets = stats.latencyBuckets
            var gpio: [GPIOLineState] = []
            for line in stats.gpio { gpio.append(GPIOLineState(name: line.name, value: line.active ? 1 : 0)) }
            var message = HealthMessage(uptimeNs: now &- started, state: "running", fps: fps,
                                        latencyP50Micros: LatencyHistogram.quantileMicros(interval, 0.5),
                                        latencyP90Micros: LatencyHistogram.quantileMicros(interval, 0.9),
                                        latencyP99Micros: LatencyHistogram.quantileMicros(interval, 0.99),
                                        latencyMaxMicros: stats.maxLatencyNanoseconds / 1000,
                                        framesProcessed: stats.processed, droppedFrames: stats.dropped,
                                        publishDropped: publisher.stats.dropped,
                                        gpio: gpio, errorCount: stats.rejected + stats.processingErrors + stats.publishErrors)
            _ = try? publisher.publish(&message)
        }
    }

    public func close() {
        lock.locked {
            if closed { return }
            closed = true
            publisher.close()
        }
    }

    /// The wire message for one result (publish times and seq are set by the publisher).
    static func message(for result: DetectionResult, camera: String, modelID: String, now: UInt64,
                        previousDropped: UInt64) -> DetectionMessage {
        let d = result.detections
        let frame = result.frame
        let engine = d.latency.total
        let queue = result.pipelineLatencyNanoseconds > engine ? result.pipelineLatencyNanoseconds - engine : 0
        var instances: [DetectedInstance] = []
        for i in d.instances {
            instances.append(DetectedInstance(id: i.id, label: 1, score: i.score, x: i.bboxX, y: i.bboxY,
                                              width: i.bboxWidth, height: i.bboxHeight, area: i.area,
                                              centroidX: i.centroidX, centroidY: i.centroidY,
                                              mask: WireMask(height: frame.height, width: frame.width, counts: Array(i.maskRLE.utf8))))
        }
        return DetectionMessage(camera: camera, frameID: frame.seq,
                                captureMonotonicNs: now &- result.pipelineLatencyNanoseconds,
                                captureRealtimeNs: frame.captureStampNanoseconds,
                                latency: LatencyBreakdown(queueMicros: queue / 1000, preprocessMicros: d.latency.preprocess / 1000,
                                                          inferenceMicros: d.latency.inference / 1000,
                                                          postprocessMicros: d.latency.postprocess / 1000),
                                imageWidth: frame.width, imageHeight: frame.height, modelID: modelID,
                                droppedFrames: result.droppedFramesTotal &- previousDropped, instances: instances,
                                mask: WireMask(height: frame.height, width: frame.width, counts: Array(d.fullMaskRLE.utf8)))
    }

    /// A per-run identifier: pid and start time in hex.
    static func makeBootID(clock: any Clock) -> String {
        hex(UInt64(getpid())) + "-" + hex(clock.realtimeNanoseconds())
    }

    private static func hex(_ value: UInt64) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        var v = value
        repeat {
            out.append(digits[Int(v & 15)])
            v >>= 4
        } while v != 0
        return String(decoding: out.reversed(), as: UTF8.self)
    }
}

/// Makes `BusDetectionSink`s; the model id names the model in every detection message (default: the
/// model file's name).
public final class BusSinkFactory: DetectionSinkFactory {
    private let modelID: String?

    public init(modelID: String? = nil) { self.modelID = modelID }

    public func makeSink(_ config: DaemonConfig) throws(SinkError) -> any DetectionSink {
        try BusDetectionSink(config: config, modelID: modelID ?? baseName(config.model.path))
    }
}
