// The values the bus carries (docs/WIRE.md documents each field). Plain structs with no dependency on
// LiteModel: the engine fills them and reuses them frame after frame, so arrays keep their capacity.

/// A binary mask in COCO RLE compressed form: `counts` holds the ASCII characters '0'...'o'.
public struct WireMask: Equatable {
    /// Rows of the mask (the source image height for full-frame masks).
    public var height: Int
    /// Columns of the mask.
    public var width: Int
    /// The compressed counts string as bytes (pixels read column-major, see docs/WIRE.md).
    public var counts: [UInt8]

    public init(height: Int = 0, width: Int = 0, counts: [UInt8] = []) {
        self.height = height
        self.width = width
        self.counts = counts
    }

    /// The counts as text.
    public var countsString: String { String(decoding: counts, as: UTF8.self) }
}

/// One detected animal: a connected region of the segmentation at source-image resolution.
public struct DetectedInstance: Equatable {
    /// Instance number within its frame (1-based, not stable across frames).
    public var id: Int
    /// Index into the label map published on `meta` (0 = marine animal for Dual-SAM).
    public var label: Int
    /// Mean foreground probability over the instance, 0...1.
    public var score: Double
    /// Bounding box left column, pixels.
    public var x: Int
    /// Bounding box top row, pixels.
    public var y: Int
    /// Bounding box width, pixels.
    public var width: Int
    /// Bounding box height, pixels.
    public var height: Int
    /// Foreground pixel count.
    public var area: Int
    /// Mean column index of the foreground pixels.
    public var centroidX: Double
    /// Mean row index of the foreground pixels.
    public var centroidY: Double
    /// The instance's mask over the whole image (height x width of the image).
    public var mask: WireMask

    public init(id: Int = 0, label: Int = 0, score: Double = 0, x: Int = 0, y: Int = 0, width: Int = 0, height: Int = 0,
                area: Int = 0, centroidX: Double = 0, centroidY: Double = 0, mask: WireMask = WireMask()) {
        self.id = id
        self.label = label
        self.score = score
        self.x = x
        self.y = y
        self.width = width
        self.height = height
        self.area = area
        self.centroidX = centroidX
        self.centroidY = centroidY
        self.mask = mask
    }

    /// The box centre column (ROS 2 vision_msgs BoundingBox2D.center.position.x).
    public var centerX: Double { Double(x) + Double(width) / 2 }
    /// The box centre row.
    public var centerY: Double { Double(y) + Double(height) / 2 }
}

/// Time spent in each pipeline stage for one frame, microseconds.
public struct LatencyBreakdown: Equatable {
    /// From capture to the inference thread taking the frame.
    public var queueMicros: UInt64
    /// Resize, gamma branch, normalise, quantize.
    public var preprocessMicros: UInt64
    /// The Dual-SAM graph.
    public var inferenceMicros: UInt64
    /// C3P decoding, threshold, components, RLE.
    public var postprocessMicros: UInt64

    public init(queueMicros: UInt64 = 0, preprocessMicros: UInt64 = 0, inferenceMicros: UInt64 = 0,
                postprocessMicros: UInt64 = 0) {
        self.queueMicros = queueMicros
        self.preprocessMicros = preprocessMicros
        self.inferenceMicros = inferenceMicros
        self.postprocessMicros = postprocessMicros
    }
}

/// The detections of one frame, published on `det/<camera>`.
public struct DetectionMessage: Equatable {
    /// Per-topic sequence number, set by the publisher; never resets while the process runs.
    public var seq: UInt64
    /// Identifies this process run; with `seq` it identifies a message uniquely.
    public var bootID: String
    /// Camera name (also in the topic).
    public var camera: String
    /// The frame's number from its source.
    public var frameID: UInt64
    /// Capture time on the monotonic clock, ns.
    public var captureMonotonicNs: UInt64
    /// Capture time on the realtime clock, ns since the Unix epoch.
    public var captureRealtimeNs: UInt64
    /// Publish time on the monotonic clock, ns (set by the publisher).
    public var publishMonotonicNs: UInt64
    /// Publish time on the realtime clock, ns since the Unix epoch (set by the publisher).
    public var publishRealtimeNs: UInt64
    /// Per-stage latency.
    public var latency: LatencyBreakdown
    /// Source image width, pixels.
    public var imageWidth: Int
    /// Source image height, pixels.
    public var imageHeight: Int
    /// The model that produced the detections (matches `meta`'s model id).
    public var modelID: String
    /// Frames the pipeline dropped since the previous detection message of this camera.
    public var droppedFrames: UInt64
    /// The instances, possibly none.
    public var instances: [DetectedInstance]
    /// The union foreground mask over the whole image.
    public var mask: WireMask

    public init(seq: UInt64 = 0, bootID: String = "", camera: String = "", frameID: UInt64 = 0,
                captureMonotonicNs: UInt64 = 0, captureRealtimeNs: UInt64 = 0,
                publishMonotonicNs: UInt64 = 0, publishRealtimeNs: UInt64 = 0,
                latency: LatencyBreakdown = LatencyBreakdown(), imageWidth: Int = 0, imageHeight: Int = 0,
                modelID: String = "", droppedFrames: UInt64 = 0, instances: [DetectedInstance] = [],
                mask: WireMask = WireMask()) {
        self.seq = seq
        self.bootID = bootID
        self.camera = camera
        self.frameID = frameID
        self.captureMonotonicNs = captureMonotonicNs
        self.captureRealtimeNs = captureRealtimeNs
        self.publishMonotonicNs = publishMonotonicNs
        self.publishRealtimeNs = publishRealtimeNs
        self.latency = latency
        self.imageWidth = imageWidth
        self.imageHeight = imageHeight
        self.modelID = modelID
        self.droppedFrames = droppedFrames
        self.instances = instances
        self.mask = mask
    }
}

/// One GPIO line's state, reported on `health`.
public struct GPIOLineState: Equatable {
    /// The line's configured name (e.g. "detect").
    public var name: String
    /// 0 or 1.
    public var value: Int

    public init(name: String, value: Int) {
        self.name = name
        self.value = value
    }
}

/// The daemon's health, published on `health` at 1 Hz.
public struct HealthMessage: Equatable {
    /// Per-topic sequence number (set by the publisher).
    public var seq: UInt64
    /// Identifies this process run.
    public var bootID: String
    /// Publish time on the monotonic clock, ns (set by the publisher).
    public var monotonicNs: UInt64
    /// Publish time on the realtime clock, ns (set by the publisher).
    public var realtimeNs: UInt64
    /// Time since the daemon started, ns.
    public var uptimeNs: UInt64
    /// "starting", "running", "degraded" or "stopping".
    public var state: String
    /// Frames processed per second over the last interval.
    public var fps: Double
    /// End-to-end latency (capture to publish) percentiles over the last interval, microseconds.
    public var latencyP50Micros: UInt64
    public var latencyP90Micros: UInt64
    public var latencyP99Micros: UInt64
    public var latencyMaxMicros: UInt64
    /// Frames processed since start.
    public var framesProcessed: UInt64
    /// Frames the pipeline dropped since start (a newer frame replaced an unprocessed one).
    public var droppedFrames: UInt64
    /// Messages the publisher dropped since start because subscribers were slow (high-water mark).
    public var publishDropped: UInt64
    /// Bytes in the model's arena (the planned memory).
    public var arenaBytes: UInt64
    /// Peak resident set size of the process, bytes.
    public var peakRSSBytes: UInt64
    /// GPIO output lines and their values.
    public var gpio: [GPIOLineState]
    /// Errors since start.
    public var errorCount: UInt64
    /// The most recent error's description, "" if none.
    public var lastError: String

    public init(seq: UInt64 = 0, bootID: String = "", monotonicNs: UInt64 = 0, realtimeNs: UInt64 = 0,
                uptimeNs: UInt64 = 0, state: String = "running", fps: Double = 0, latencyP50Micros: UInt64 = 0,
                latencyP90Micros: UInt64 = 0, latencyP99Micros: UInt64 = 0, latencyMaxMicros: UInt64 = 0,
                framesProcessed: UInt64 = 0, droppedFrames: UInt64 = 0, publishDropped: UInt64 = 0,
                arenaBytes: UInt64 = 0, peakRSSBytes: UInt64 = 0, gpio: [GPIOLineState] = [],
                errorCount: UInt64 = 0, lastError: String = "") {
        self.seq = seq
        self.bootID = bootID
        self.monotonicNs = monotonicNs
        self.realtimeNs = realtimeNs
        self.uptimeNs = uptimeNs
        self.state = state
        self.fps = fps
        self.latencyP50Micros = latencyP50Micros
        self.latencyP90Micros = latencyP90Micros
        self.latencyP99Micros = latencyP99Micros
        self.latencyMaxMicros = latencyMaxMicros
        self.framesProcessed = framesProcessed
        self.droppedFrames = droppedFrames
        self.publishDropped = publishDropped
        self.arenaBytes = arenaBytes
        self.peakRSSBytes = peakRSSBytes
        self.gpio = gpio
        self.errorCount = errorCount
        self.lastError = lastError
    }
}

/// One entry of the label map on `meta`.
public struct LabelEntry: Equatable {
    /// The value of `DetectedInstance.label`.
    public var id: Int
    /// Human-readable class name.
    public var name: String

    public init(id: Int, name: String) {
        self.id = id
        self.name = name
    }
}

/// What the publisher runs, re-published periodically on `meta` for late subscribers.
public struct MetaMessage: Equatable {
    /// Per-topic sequence number (set by the publisher).
    public var seq: UInt64
    /// Identifies this process run.
    public var bootID: String
    /// Publish time on the monotonic clock, ns (set by the publisher).
    public var monotonicNs: UInt64
    /// Publish time on the realtime clock, ns (set by the publisher).
    public var realtimeNs: UInt64
    /// The id detection messages carry in "model".
    public var modelID: String
    /// Model name, e.g. "dualsam-lite".
    public var modelName: String
    /// Model version.
    public var modelVersion: String
    /// Hash of the model file (hex).
    public var modelHash: String
    /// Model input width, pixels.
    public var inputWidth: Int
    /// Model input height, pixels.
    public var inputHeight: Int
    /// Label ids and names.
    public var labels: [LabelEntry]
    /// The runtime's version (BuildInfo.version).
    public var runtimeVersion: String

    public init(seq: UInt64 = 0, bootID: String = "", monotonicNs: UInt64 = 0, realtimeNs: UInt64 = 0,
                modelID: String = "", modelName: String = "", modelVersion: String = "", modelHash: String = "",
                inputWidth: Int = 0, inputHeight: Int = 0, labels: [LabelEntry] = [], runtimeVersion: String = "") {
        self.seq = seq
        self.bootID = bootID
        self.monotonicNs = monotonicNs
        self.realtimeNs = realtimeNs
        self.modelID = modelID
        self.modelName = modelName
        self.modelVersion = modelVersion
        self.modelHash = modelHash
        self.inputWidth = inputWidth
        self.inputHeight = inputHeight
        self.labels = labels
        self.runtimeVersion = runtimeVersion
    }
}
