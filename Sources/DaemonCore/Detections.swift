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

    public init() {}
}
