/// One segmented animal, in source-image pixels.
public struct SegmentedInstance: Equatable, Sendable {
    /// Instance id, unique within its frame.
    public var id: Int
    /// Confidence in 0...1.
    public var score: Double
    /// Bounding box: left, top, width, height (COCO order).
    public var bboxX: Int
    public var bboxY: Int
    public var bboxWidth: Int
    public var bboxHeight: Int
    /// Mask area in pixels.
    public var area: Int
    /// Mask centroid.
    public var centroidX: Double
    public var centroidY: Double
    /// The instance mask as a compressed COCO RLE string (size = the frame's height x width).
    public var maskRLE: String

    public init(id: Int, score: Double, bboxX: Int, bboxY: Int, bboxWidth: Int, bboxHeight: Int, area: Int,
                centroidX: Double, centroidY: Double, maskRLE: String) {
        self.id = id
        self.score = score
        self.bboxX = bboxX
        self.bboxY = bboxY
        self.bboxWidth = bboxWidth
        self.bboxHeight = bboxHeight
        self.area = area
        self.centroidX = centroidX
        self.centroidY = centroidY
        self.maskRLE = maskRLE
    }
}

/// Where the time of one frame went, in nanoseconds.
public struct FrameLatency: Equatable, Sendable {
    public var preprocess: UInt64
    public var inference: UInt64
    public var postprocess: UInt64

    public init(preprocess: UInt64 = 0, inference: UInt64 = 0, postprocess: UInt64 = 0) {
        self.preprocess = preprocess
        self.inference = inference
        self.postprocess = postprocess
    }

    public var total: UInt64 { preprocess + inference + postprocess }
}

/// What the engine found in one frame: a plain value, so the publisher need not know the engine.
public struct Detections: Equatable, Sendable {
    public var instances: [SegmentedInstance]
    /// The union of all instance masks as a compressed COCO RLE string.
    public var fullMaskRLE: String
    public var latency: FrameLatency

    public init(instances: [SegmentedInstance], fullMaskRLE: String, latency: FrameLatency) {
        self.instances = instances
        self.fullMaskRLE = fullMaskRLE
        self.latency = latency
    }
}

/// A processed frame as handed to the sink.
public struct DetectionResult: Equatable, Sendable {
    public let frame: FrameInfo
    public let detections: Detections
    /// From the frame entering the latest-frame slot to the end of inference.
    public let pipelineLatencyNanoseconds: UInt64
    /// Frames dropped by the latest-frame slot since the pipeline started (sinks report deltas).
    public let droppedFramesTotal: UInt64

    public init(frame: FrameInfo, detections: Detections, pipelineLatencyNanoseconds: UInt64, droppedFramesTotal: UInt64 = 0) {
        self.frame = frame
        self.detections = detections
        self.pipelineLatencyNanoseconds = pipelineLatencyNanoseconds
        self.droppedFramesTotal = droppedFramesTotal
    }
}

/// Counters of the pipeline, published as health and shown in STATUS=.
public struct PipelineStats: Equatable, Sendable {
    /// Frames delivered by the source.
    public var captured: UInt64 = 0
    /// Frames replaced in the latest-frame slot before inference took them.
    public var dropped: UInt64 = 0
    /// Frames the source rejected (corrupt, truncated, wrong size, unsupported).
    public var rejected: UInt64 = 0
    /// Frames skipped because the enable input paused inference.
    public var paused: UInt64 = 0
    /// Frames inferred and handed to the sink.
    public var processed: UInt64 = 0
    /// Frames the processor failed on.
    public var processingErrors: UInt64 = 0
    /// Results the sink failed to publish.
    public var publishErrors: UInt64 = 0
    /// Frames in which at least one animal was found.
    public var withDetections: UInt64 = 0
    /// Latency of the last processed frame, and an exponential average of it.
    public var lastLatencyNanoseconds: UInt64 = 0
    public var meanLatencyNanoseconds: UInt64 = 0
    /// The largest latency seen.
    public var maxLatencyNanoseconds: UInt64 = 0
    /// Cumulative count of latencies per bucket (`LatencyHistogram.upperBoundsMicros`); sinks difference
    /// two snapshots for the percentiles of an interval.
    public var latencyBuckets = [UInt64](repeating: 0, count: LatencyHistogram.upperBoundsMicros.count)
    /// Logical levels of the GPIO lines (filled by the daemon for health reports).
    public var gpio: [GpioLineLevel] = []

    public init() {}
}

/// One GPIO line's logical state (true = asserted / enabled) for health reports.
public struct GpioLineLevel: Equatable, Sendable {
    public let name: String
    public let active: Bool

    public init(name: String, active: Bool) {
        self.name = name
        self.active = active
    }
}

/// Fixed latency buckets, so percentiles cost no allocation and no sorting.
public enum LatencyHistogram {
    /// Bucket upper bounds in microseconds; the last bucket takes everything above 10 s.
    public static let upperBoundsMicros: [UInt64] = [
        1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 8_000, 10_000, 12_000, 15_000, 20_000, 25_000, 30_000, 40_000,
        50_000, 60_000, 80_000, 100_000, 120_000, 150_000, 200_000, 250_000, 300_000, 400_000, 500_000, 600_000,
        800_000, 1_000_000, 1_500_000, 2_000_000, 3_000_000, 5_000_000, 10_000_000, UInt64.max,
    ]

    /// The bucket index for a latency.
    public static func bucket(nanoseconds: UInt64) -> Int {
        let micros = nanoseconds / 1000
        var index = 0
        while index < upperBoundsMicros.count - 1 && micros > upperBoundsMicros[index] { index += 1 }
        return index
    }

    /// The upper bound (µs) of the bucket holding the `fraction` quantile of `counts`; 0 when empty.
    /// An upper bound, not an interpolation: the reported value is never below the real one (except in the last bucket).
    public static func quantileMicros(_ counts: [UInt64], _ fraction: Double) -> UInt64 {
        var total: UInt64 = 0
        for c in counts { total += c }
        if total == 0 { return 0 }
        let rank = UInt64(Double(total) * fraction + 0.999_999)
        var seen: UInt64 = 0
        for (index, c) in counts.enumerated() {
            seen += c
            if seen >= max(1, rank) { return index == upperBoundsMicros.count - 1 ? upperBoundsMicros[index - 1] : upperBoundsMicros[index] }
        }
        return upperBoundsMicros[upperBoundsMicros.count - 2]
    }
}
