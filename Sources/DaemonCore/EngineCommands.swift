import CEdgeShim
import EdgeRuntime
import LiteModel

/// Options of the engine commands (`plan`, `bench`, and the hidden `infer`).
public struct EngineCommandOptions: Equatable {
    public var model: String
    public var threads = 1
    public var runs = 10
    public var width = 640
    public var height = 480
    /// Components below this many source pixels are dropped (`infer` only; as `[model] min_instance_area`).
    public var minInstanceArea = 0
    /// Image files (`infer` only).
    public var images: [String] = []

    public init(model: String) { self.model = model }
}

/// Parses `MODEL [--threads N] [--runs N] [--width N] [--height N] [IMAGE...]` for `command`; `allowed` names the
/// options the command takes, `takesImages` whether positional arguments after the model are images.
func parseEngineCommand(_ arguments: [String], command: String, allowed: [String],
                        takesImages: Bool) throws(UsageError) -> EngineCommandOptions {
    var positional: [String] = []
    var values: [(String, Int)] = []
    var index = 0
    while index < arguments.count {
        let argument = arguments[index]
        if argument.hasPrefix("-") {
            guard allowed.contains(argument) else {
                throw UsageError("unknown option '" + argument + "' for " + command + " (try --help)")
            }
            let lowest = argument == "--min-area" ? 0 : 1
            guard index + 1 < arguments.count, let value = Int(arguments[index + 1]), value >= lowest, value <= 65536 else {
                throw UsageError(argument + " needs an integer " + String(lowest) + "..65536")
            }
            values.append((argument, value))
            index += 2
        } else {
            positional.append(argument)
            index += 1
        }
    }
    guard let model = positional.first, !model.isEmpty else { throw UsageError(command + " needs a MODEL file") }
    var options = EngineCommandOptions(model: model)
    options.images = Array(positional.dropFirst())
    if !takesImages && !options.images.isEmpty {
        throw UsageError(command + " takes one MODEL, got extra argument '" + options.images[0] + "'")
    }
    if takesImages && options.images.isEmpty { throw UsageError(command + " needs at least one IMAGE") }
    for (name, value) in values {
        switch name {
        case "--threads": options.threads = min(value, 64)
        case "--runs": options.runs = value
        case "--width": options.width = value
        case "--min-area": options.minInstanceArea = value
        default: options.height = value
        }
    }
    return options
}

/// `edge-daemon plan MODEL`: the memory plan without allocating the arena.
func runPlanCommand(_ options: EngineCommandOptions) -> ExitCode {
    do throws(EngineError) {
        let report = try Engine.plan(path: options.model, options: EngineOptions(threads: options.threads))
        printLine("model " + options.model)
        printLine(report.text)
        return .success
    } catch {
        printErrorLine(Logger.format(.error, "model: " + options.model + ": " + error.description))
        return .model
    }
}

/// `edge-daemon bench MODEL`: load, a first run, then `runs` timed runs on a synthetic frame.
func runBenchCommand(_ options: EngineCommandOptions) -> ExitCode {
    let start = edge_monotonic_ns()
    let engine: Engine
    do throws(EngineError) {
        engine = try Engine.load(path: options.model, options: EngineOptions(threads: options.threads),
                                 frames: EngineFrameOptions(maxFrameWidth: options.width, maxFrameHeight: options.height))
    } catch {
        printErrorLine(Logger.format(.error, "model: " + options.model + ": " + error.description))
        return .model
    }
    let loadMs = (edge_monotonic_ns() - start) / 1_000_000
    printLine("model " + options.model + " (" + engine.model.config.name + ", " + engine.model.dtype.name + "), frame "
              + String(options.width) + "x" + String(options.height) + " rgb8 (synthetic), load " + String(loadMs) + " ms")
    do throws(EngineError) {
        printLine(try EngineBenchmark.run(engine, width: options.width, height: options.height, runs: options.runs).text)
        return .success
    } catch {
        printErrorLine(Logger.format(.error, "bench: " + error.description))
        return .runtime
    }
}

/// Hidden `edge-daemon infer MODEL IMAGE...`: decodes each image as replay does, runs the engine directly
/// (no pipeline, no Bus) and prints one JSON line per image: the reference the end-to-end test compares
/// the published detections with.
func runInferCommand(_ options: EngineCommandOptions) -> ExitCode {
    let engine: Engine
    do throws(EngineError) {
        engine = try Engine.load(path: options.model, options: EngineOptions(threads: options.threads),
                                 frames: EngineFrameOptions(maxFrameWidth: defaultEngineMaxFrameWidth,
                                                            maxFrameHeight: defaultEngineMaxFrameHeight,
                                                            minInstanceArea: options.minInstanceArea))
    } catch {
        printErrorLine(Logger.format(.error, "model: " + options.model + ": " + error.description))
        return .model
    }
    let processor = EngineFrameProcessor(engine: engine)
    var status = ExitCode.success
    for (index, path) in options.images.enumerated() {
        let frame: Frame
        do throws(FrameError) {
            let bytes: [UInt8]
            do throws(SystemError) { bytes = try readFileBytes(path: path, limit: ReplaySource.maxFileBytes) } catch {
                throw FrameError(.io, origin: path, error.description)
            }
            let image = try decodeImage(bytes, origin: path)
            frame = try Frame(width: image.width, height: image.height, encoding: image.encoding,
                              step: image.width * image.encoding.bytesPerPixel, captureStampNanoseconds: 0,
                              frameId: baseName(path), seq: UInt64(index + 1), bytes: image.pixels, origin: path)
        } catch {
            printErrorLine(Logger.format(.error, error.description))
            status = .runtime
            continue
        }
        do throws(ProcessError) {
            printLine(inferenceLine(frame, try processor.process(frame)))
        } catch {
            printErrorLine(Logger.format(.error, "inference failed on " + path + ": " + error.message))
            status = .runtime
        }
    }
    return status
}

/// One JSON object per frame: frame id, size, the full mask and each instance's integers and mask RLE.
func inferenceLine(_ frame: Frame, _ detections: Detections) -> String {
    var line = "{\"frame_id\":" + jsonQuoted(frame.frameId) + ",\"width\":" + String(frame.width) + ",\"height\":"
        + String(frame.height) + ",\"mask_rle\":" + jsonQuoted(detections.fullMaskRLE) + ",\"instances\":["
    for (index, i) in detections.instances.enumerated() {
        if index > 0 { line += "," }
        line += "{\"id\":" + String(i.id) + ",\"area\":" + String(i.area) + ",\"bbox\":[" + String(i.bboxX) + ","
            + String(i.bboxY) + "," + String(i.bboxWidth) + "," + String(i.bboxHeight) + "],\"mask_rle\":"
            + jsonQuoted(i.maskRLE) + "}"
    }
    return line + "]}"
}

/// A JSON string literal (RFC 8259 escapes).
func jsonQuoted(_ text: String) -> String {
    let hex: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar.value {
        case 0x22: out += "\\\""
        case 0x5C: out += "\\\\"
        case 0x0A: out += "\\n"
        case 0x0D: out += "\\r"
        case 0x09: out += "\\t"
        case 0..<0x20:
            out += "\\u00"
            out.append(hex[Int(scalar.value >> 4)])
            out.append(hex[Int(scalar.value & 15)])
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
