import EdgeRuntime

// Reads the messages of docs/WIRE.md back into values, checking the schema major, every required
// field's presence and type, and value ranges. Unknown fields are ignored (minor versions add fields).

/// A decoded message of any type, for subscribers of several topics.
public enum BusMessage: Equatable {
    case detection(DetectionMessage)
    case health(HealthMessage)
    case meta(MetaMessage)
}

/// Decodes JSON message bodies into typed values with typed errors.
public struct WireDecoder {
    /// The JSON limits (size, depth) applied before anything else.
    public var parser: WireJSONParser

    /// `maxBytes` bounds the message size (larger ones get `messageTooLarge`).
    public init(maxBytes: Int = 1 << 22, maxDepth: Int = 8) {
        parser = WireJSONParser(maxBytes: maxBytes, maxDepth: maxDepth)
    }

    /// Decodes any message, dispatching on its "type".
    public func decode(_ bytes: UnsafeRawBufferPointer) throws(BusError) -> BusMessage {
        let root = try parser.parse(bytes)
        let object = Fields(root, path: "")
        guard case .object = root else { throw BusError.wrongType(field: "(message)") }
        try checkSchema(object)
        let type = try object.string("type")
        switch type {
        case "detection": return .detection(try detection(object))
        case "health": return .health(try health(object))
        case "meta": return .meta(try meta(object))
        default: throw BusError.unexpectedMessageType(type)
        }
    }

    /// Decodes bytes from an array.
    public func decode(_ bytes: [UInt8]) throws(BusError) -> BusMessage {
        var result: Result<BusMessage, BusError> = .success(.meta(MetaMessage()))
        bytes.withUnsafeBytes { buffer in
            do throws(BusError) { result = .success(try decode(buffer)) } catch { result = .failure(error) }
        }
        return try result.get()
    }

    /// Decodes a detection message (any other type is `unexpectedMessageType`).
    public func decodeDetection(_ bytes: [UInt8]) throws(BusError) -> DetectionMessage {
        let message = try decode(bytes)
        guard case .detection(let detection) = message else { throw BusError.unexpectedMessageType(typeName(message)) }
        return detection
    }

    /// Decodes a health message.
    public func decodeHealth(_ bytes: [UInt8]) throws(BusError) -> HealthMessage {
        let message = try decode(bytes)
        guard case .health(let health) = message else { throw BusError.unexpectedMessageType(typeName(message)) }
        return health
    }

    /// Decodes a meta message.
    public func decodeMeta(_ bytes: [UInt8]) throws(BusError) -> MetaMessage {
        let message = try decode(bytes)
        guard case .meta(let meta) = message else { throw BusError.unexpectedMessageType(typeName(message)) }
        return meta
    }

    private func typeName(_ message: BusMessage) -> String {
        switch message {
        case .detection: return "detection"
        case .health: return "health"
        case .meta: return "meta"
        }
    }

    /// "major.minor" with our major; any minor is accepted (minor versions only add fields).
    private func checkSchema(_ object: Fields) throws(BusError) {
        let version = try object.string("schema")
        var major: Int? = nil
        var digits = 0
        var sawDot = false
        var minorDigits = 0
        for c in version.utf8 {
            if c == 0x2E && !sawDot { sawDot = true; continue }
            guard c >= 0x30 && c <= 0x39 else { throw BusError.unsupportedSchema(version) }
            if sawDot {
                minorDigits += 1
            } else {
                digits += 1
                guard digits <= 6 else { throw BusError.unsupportedSchema(version) }
                major = (major ?? 0) * 10 + Int(c - 0x30)
            }
        }
        guard sawDot, minorDigits > 0, minorDigits <= 6, let major, major == WireSchema.major else {
            throw BusError.unsupportedSchema(version)
        }
    }

    private func detection(_ o: Fields) throws(BusError) -> DetectionMessage {
        var m = DetectionMessage()
        m.seq = try o.u64("seq")
        m.bootID = try o.string("boot_id")
        m.camera = try o.string("camera")
        m.frameID = try o.u64("frame_id")
        m.captureMonotonicNs = try o.u64("capture_monotonic_ns")
        m.captureRealtimeNs = try o.u64("capture_realtime_ns")
        m.publishMonotonicNs = try o.u64("publish_monotonic_ns")
        m.publishRealtimeNs = try o.u64("publish_realtime_ns")
        let latency = try o.object("latency_us")
        m.latency = LatencyBreakdown(queueMicros: try latency.u64("queue"), preprocessMicros: try latency.u64("preprocess"),
                                     inferenceMicros: try latency.u64("inference"),
                                     postprocessMicros: try latency.u64("postprocess"))
        let image = try o.object("image")
        m.imageWidth = try image.int("width", max: 1 << 20)
        m.imageHeight = try image.int("height", max: 1 << 20)
        m.modelID = try o.string("model")
        m.droppedFrames = try o.u64("dropped_frames")
        let instances = try o.array("instances")
        m.instances.reserveCapacity(instances.count)
        for element in instances {
            m.instances.append(try instance(element))
        }
        m.mask = try mask(try o.object("mask"))
        return m
    }

    private func instance(_ o: Fields) throws(BusError) -> DetectedInstance {
        var i = DetectedInstance()
        i.id = try o.int("id", min: Int(Int32.min), max: Int(Int32.max))
        i.label = try o.int("label", max: Int(Int32.max))
        i.score = try o.double("score")
        guard i.score >= 0 && i.score <= 1 else { throw BusError.invalidValue(field: o.path + "score") }
        let bbox = try o.array("bbox")
        guard bbox.count == 4 else { throw BusError.invalidValue(field: o.path + "bbox") }
        i.x = try bbox[0].int(min: 0, max: 1 << 20)
        i.y = try bbox[1].int(min: 0, max: 1 << 20)
        i.width = try bbox[2].int(min: 0, max: 1 << 20)
        i.height = try bbox[3].int(min: 0, max: 1 << 20)
        let center = try o.array("center")
        guard center.count == 2, try center[0].double() == i.centerX, try center[1].double() == i.centerY else {
            throw BusError.invalidValue(field: o.path + "center")
        }
        let size = try o.array("size")
        guard size.count == 2, try size[0].int(min: 0, max: 1 << 20) == i.width,
              try size[1].int(min: 0, max: 1 << 20) == i.height else {
            throw BusError.invalidValue(field: o.path + "size")
        }
        i.area = try o.int("area", max: 1 << 40)
        let centroid = try o.array("centroid")
        guard centroid.count == 2 else { throw BusError.invalidValue(field: o.path + "centroid") }
        i.centroidX = try centroid[0].double()
        i.centroidY = try centroid[1].double()
        i.mask = try mask(try o.object("mask"))
        return i
    }

    private func mask(_ o: Fields) throws(BusError) -> WireMask {
        let size = try o.array("size")
        guard size.count == 2 else { throw BusError.invalidValue(field: o.path + "size") }
        let counts = try o.string("counts")
        for c in counts.utf8 where c < 48 || c > 111 {
            throw BusError.invalidValue(field: o.path + "counts")
        }
        return WireMask(height: try size[0].int(min: 0, max: 1 << 20), width: try size[1].int(min: 0, max: 1 << 20),
                        counts: Array(counts.utf8))
    }

    private func health(_ o: Fields) throws(BusError) -> HealthMessage {
        var m = HealthMessage()
        m.seq = try o.u64("seq")
        m.bootID = try o.string("boot_id")
        m.monotonicNs = try o.u64("monotonic_ns")
        m.realtimeNs = try o.u64("realtime_ns")
        m.uptimeNs = try o.u64("uptime_ns")
        m.state = try o.string("state")
        m.fps = try o.double("fps")
        let latency = try o.object("latency_us")
        m.latencyP50Micros = try latency.u64("p50")
        m.latencyP90Micros = try latency.u64("p90")
        m.latencyP99Micros = try latency.u64("p99")
        m.latencyMaxMicros = try latency.u64("max")
        m.framesProcessed = try o.u64("frames_processed")
        m.droppedFrames = try o.u64("dropped_frames")
        m.publishDropped = try o.u64("publish_dropped")
        let memory = try o.object("memory")
        m.arenaBytes = try memory.u64("arena_bytes")
        m.peakRSSBytes = try memory.u64("peak_rss_bytes")
        for line in try o.array("gpio") {
            m.gpio.append(GPIOLineState(name: try line.string("name"), value: try line.int("value", max: 1)))
        }
        let errors = try o.object("errors")
        m.errorCount = try errors.u64("count")
        m.lastError = try errors.string("last")
        return m
    }

    private func meta(_ o: Fields) throws(BusError) -> MetaMessage {
        var m = MetaMessage()
        m.seq = try o.u64("seq")
        m.bootID = try o.string("boot_id")
        m.monotonicNs = try o.u64("monotonic_ns")
        m.realtimeNs = try o.u64("realtime_ns")
        let model = try o.object("model")
        m.modelID = try model.string("id")
        m.modelName = try model.string("name")
        m.modelVersion = try model.string("version")
        m.modelHash = try model.string("hash")
        let input = try o.object("input")
        m.inputWidth = try input.int("width", max: 1 << 20)
        m.inputHeight = try input.int("height", max: 1 << 20)
        for label in try o.array("labels") {
            m.labels.append(LabelEntry(id: try label.int("id", max: Int(Int32.max)), name: try label.string("name")))
        }
        m.runtimeVersion = try o.string("runtime_version")
        return m
    }
}

/// A JSON value with its path, so errors name the field ("instances[2].bbox").
private struct Fields {
    let value: JSONValue
    /// The path prefix for members of this value, e.g. "instances[2]." ("" at the root).
    let path: String

    init(_ value: JSONValue, path: String) {
        self.value = value
        self.path = path
    }

    private var fieldName: String { path.isEmpty ? "(message)" : String(path.utf8.dropLast()) ?? path }

    func member(_ key: String) throws(BusError) -> JSONValue {
        guard case .object = value else { throw BusError.wrongType(field: fieldName) }
        guard let member = value[key] else { throw BusError.missingField(path + key) }
        return member
    }

    func object(_ key: String) throws(BusError) -> Fields {
        let member = try member(key)
        guard case .object = member else { throw BusError.wrongType(field: path + key) }
        return Fields(member, path: path + key + ".")
    }

    func array(_ key: String) throws(BusError) -> [Fields] {
        guard case .array(let elements) = try member(key) else { throw BusError.wrongType(field: path + key) }
        var result: [Fields] = []
        result.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            result.append(Fields(element, path: path + key + "[" + String(index) + "]."))
        }
        return result
    }

    func string(_ key: String) throws(BusError) -> String {
        guard case .string(let text) = try member(key) else { throw BusError.wrongType(field: path + key) }
        return text
    }

    func u64(_ key: String) throws(BusError) -> UInt64 {
        guard case .number(let number) = try member(key) else { throw BusError.wrongType(field: path + key) }
        guard let value = number.uint64Value else { throw BusError.invalidValue(field: path + key) }
        return value
    }

    func int(_ key: String, min: Int = 0, max: Int) throws(BusError) -> Int {
        try Fields(try member(key), path: path + key + ".").int(min: min, max: max)
    }

    func double(_ key: String) throws(BusError) -> Double {
        try Fields(try member(key), path: path + key + ".").double()
    }

    /// This value as an integer in min...max.
    func int(min: Int = 0, max: Int) throws(BusError) -> Int {
        guard case .number(let number) = value else { throw BusError.wrongType(field: fieldName) }
        guard let exact = number.int64Value, exact >= Int64(min), exact <= Int64(max) else {
            throw BusError.invalidValue(field: fieldName)
        }
        return Int(exact)
    }

    /// This value as a finite Double.
    func double() throws(BusError) -> Double {
        guard case .number(let number) = value else { throw BusError.wrongType(field: fieldName) }
        let double = number.doubleValue
        guard double.isFinite else { throw BusError.invalidValue(field: fieldName) }
        return double
    }
}
