/// What a frame source yields on each call.
public enum SourceEvent: Equatable {
    /// A validated frame.
    case frame(Frame)
    /// Nothing arrived in time (or the source was interrupted); the caller checks for shutdown and asks again.
    case idle
    /// The source has no more frames (a replay that does not loop).
    case end
}

/// Produces camera frames; called from the capture thread only.
public protocol FrameSource: AnyObject {
    /// A short description for logs ("replay /data/frames", "camera tcp://...").
    var name: String { get }
    /// Blocks until a frame, `.idle` (a timeout or `interrupt()`), or `.end`; a bad frame throws and the
    /// caller carries on with the next call.
    func next() throws(FrameError) -> SourceEvent
    /// Makes a blocked or future `next()` return `.idle` promptly (any thread).
    func interrupt()
}

/// Why the engine could not process one frame (the pipeline counts it and continues).
public struct ProcessError: Error, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// Runs the model on a frame; called from the inference thread only.
public protocol FrameProcessor: AnyObject {
    func process(_ frame: Frame) throws(ProcessError) -> Detections
}

/// Why a model could not be loaded (exit code 65 at start-up; logged and ignored on reload).
public struct ModelError: Error, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// Loads the model named by a configuration; used at start-up and again on SIGHUP.
public protocol FrameProcessorFactory: AnyObject {
    func makeProcessor(_ config: DaemonConfig) throws(ModelError) -> any FrameProcessor
}

/// Why the sink could not publish or start.
public struct SinkError: Error, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// Publishes results (the Bus publisher in the daemon; a memory sink in tests).
public protocol DetectionSink: AnyObject {
    /// Publishes one processed frame; called from the inference thread.
    func publish(_ result: DetectionResult) throws(SinkError)
    /// Publishes the pipeline counters; called periodically from the main thread.
    func publishHealth(_ stats: PipelineStats)
    /// Flushes what is queued and releases sockets; called once at shutdown after the last publish.
    func close()
}

/// Creates the sink from the configuration (binds sockets; not re-created on reload).
public protocol DetectionSinkFactory: AnyObject {
    func makeSink(_ config: DaemonConfig) throws(SinkError) -> any DetectionSink
}
