import EdgeRuntime
import LiteModel

/// Frames larger than this are refused by the engine unless the config names a larger fixed frame size:
/// the engine sizes its per-frame buffers at load, so the bound must be known before the first frame.
public let defaultEngineMaxFrameWidth = 1920
public let defaultEngineMaxFrameHeight = 1080

/// The engine's frame buffers for this config: the configured source's fixed size when it has one, else
/// the default bound (1920x1080).
public func engineFrameOptions(_ config: DaemonConfig) -> EngineFrameOptions {
    var width = defaultEngineMaxFrameWidth, height = defaultEngineMaxFrameHeight
    let fixed = config.source == .replay ? (config.replay.width, config.replay.height)
                                          : (config.camera.width, config.camera.height)
    if fixed.0 > 0 && fixed.1 > 0 {
        width = fixed.0
        height = fixed.1
    }
    return EngineFrameOptions(maxFrameWidth: width, maxFrameHeight: height,
                              minInstanceArea: config.model.minInstanceArea)
}

/// Makes `EngineFrameProcessor`s: loads and validates the model named by `[model]` (start-up and SIGHUP).
public final class EngineProcessorFactory: FrameProcessorFactory {
    public init() {}

    public func makeProcessor(_ config: DaemonConfig) throws(ModelError) -> any FrameProcessor {
        let limit = config.model.memoryLimit > UInt64(Int.max) ? Int.max : Int(config.model.memoryLimit)
        let options = EngineOptions(threads: config.model.threads, memoryLimitBytes: limit, cpus: config.model.cpus)
        do throws(EngineError) {
            let engine = try Engine.load(path: config.model.path, options: options, frames: engineFrameOptions(config))
            return EngineFrameProcessor(engine: engine)
        } catch {
            throw ModelError("cannot load model " + config.model.path + ": " + error.description)
        }
    }
}

/// Runs `LiteModel.Engine` on daemon frames and copies its results (engine-owned views, valid until the
/// next run) into plain `Detections` values the publisher can keep.
public final class EngineFrameProcessor: FrameProcessor {
    public let engine: Engine

    public init(engine: Engine) { self.engine = engine }

    /// "tiny int8, arena 4.0 MiB, weights 6.2 MiB" for the start-up log.
    public var summary: String {
        engine.model.config.name + " " + engine.model.dtype.name + ", " + String(engine.model.pool.threadCount)
            + " threads, arena " + mebibytes(engine.arenaBytes) + ", weights " + mebibytes(engine.weightBytes)
            + ", frame buffers " + mebibytes(engine.frameBufferBytes)
    }

    public func process(_ frame: Frame) throws(ProcessError) -> Detections {
        let format: PixelFormat
        switch frame.encoding {
        case .rgb8: format = .rgb8
        case .bgr8: format = .bgr8
        case .mono8: format = .mono8
        case .yuyv: format = .yuyv
        }
        let outcome: Result<Detections, EngineError> = frame.bytes.withUnsafeBytes { raw in
            do throws(EngineError) {
                let result = try engine.run(frame: raw, width: frame.width, height: frame.height, encoding: format,
                                            step: frame.step)
                return .success(EngineFrameProcessor.detections(result))
            } catch {
                return .failure(error)
            }
        }
        switch outcome {
        case .success(let detections): return detections
        case .failure(let error): throw ProcessError(error.description)
        }
    }

    /// Copies an engine result into owned values.
    static func detections(_ result: FrameResult) -> Detections {
        var instances: [SegmentedInstance] = []
        instances.reserveCapacity(result.count)
        for index in 0..<result.count {
            let d = result[index]
            instances.append(SegmentedInstance(id: Int(d.id), score: d.score, bboxX: d.bbox.x, bboxY: d.bbox.y,
                                               bboxWidth: d.bbox.w, bboxHeight: d.bbox.h, area: d.area,
                                               centroidX: d.centroid.x, centroidY: d.centroid.y,
                                               maskRLE: String(decoding: d.maskRLE, as: UTF8.self)))
        }
        let latency = FrameLatency(preprocess: result.latency.preprocessNs, inference: result.latency.inferenceNs,
                                   postprocess: result.latency.postprocessNs)
        return Detections(instances: instances, fullMaskRLE: String(decoding: result.maskRLE, as: UTF8.self),
                          latency: latency)
    }
}

/// "4.0 MiB" (one decimal).
func mebibytes(_ bytes: Int) -> String {
    let tenths = (bytes * 10 + (1 << 19)) >> 20
    return String(tenths / 10) + "." + String(tenths % 10) + " MiB"
}
