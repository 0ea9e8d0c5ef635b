// Writes the messages of docs/WIRE.md. Key order is fixed so identical values give identical bytes.

/// Serialises bus messages as JSON into a caller-owned `MessageBuffer` (no allocation).
public enum WireEncoder {
    /// The "schema" value every message carries.
    static let schema: StaticString = "\"1.0\""

    /// Writes a detection message; throws `messageTooLarge` if it does not fit.
    public static func encode(_ m: DetectionMessage, into buffer: MessageBuffer) throws(BusError) {
        var w = JSONWriter(buffer)
        try w.raw("{\"schema\":"); try w.raw(schema)
        try w.raw(",\"type\":\"detection\",\"seq\":"); try w.unsigned(m.seq)
        try w.raw(",\"boot_id\":"); try w.string(m.bootID)
        try w.raw(",\"camera\":"); try w.string(m.camera)
        try w.raw(",\"frame_id\":"); try w.unsigned(m.frameID)
        try w.raw(",\"capture_monotonic_ns\":"); try w.unsigned(m.captureMonotonicNs)
        try w.raw(",\"capture_realtime_ns\":"); try w.unsigned(m.captureRealtimeNs)
        try w.raw(",\"publish_monotonic_ns\":"); try w.unsigned(m.publishMonotonicNs)
        try w.raw(",\"publish_realtime_ns\":"); try w.unsigned(m.publishRealtimeNs)
        try w.raw(",\"latency_us\":{\"queue\":"); try w.unsigned(m.latency.queueMicros)
        try w.raw(",\"preprocess\":"); try w.unsigned(m.latency.preprocessMicros)
        try w.raw(",\"inference\":"); try w.unsigned(m.latency.inferenceMicros)
        try w.raw(",\"postprocess\":"); try w.unsigned(m.latency.postprocessMicros)
        try w.raw("},\"image\":{\"width\":"); try w.integer(m.imageWidth)
        try w.raw(",\"height\":"); try w.integer(m.imageHeight)
        try w.raw("},\"model\":"); try w.string(m.modelID)
        try w.raw(",\"dropped_frames\":"); try w.unsigned(m.droppedFrames)
        try w.raw(",\"instances\":[")
        var index = 0
        while index < m.instances.count {
            if index > 0 { try w.byte(0x2C) }
            let instance = m.instances[index]
            index += 1
            try encode(instance, into: &w)
        }
        try w.raw("],\"mask\":"); try encode(m.mask, into: &w)
        try w.byte(0x7D)
        w.finish()
    }

    private static func encode(_ i: DetectedInstance, into w: inout JSONWriter) throws(BusError) {
        try w.raw("{\"id\":"); try w.integer(i.id)
        try w.raw(",\"label\":"); try w.integer(i.label)
        try w.raw(",\"score\":"); try w.fixed(i.score, field: "instances.score")
        try w.raw(",\"bbox\":["); try w.integer(i.x)
        try w.byte(0x2C); try w.integer(i.y)
        try w.byte(0x2C); try w.integer(i.width)
        try w.byte(0x2C); try w.integer(i.height)
        try w.raw("],\"center\":["); try w.fixed(i.centerX, field: "instances.center")
        try w.byte(0x2C); try w.fixed(i.centerY, field: "instances.center")
        try w.raw("],\"size\":["); try w.integer(i.width)
        try w.byte(0x2C); try w.integer(i.height)
        try w.raw("],\"area\":"); try w.integer(i.area)
        try w.raw(",\"centroid\":["); try w.fixed(i.centroidX, field: "instances.centroid")
        try w.byte(0x2C); try w.fixed(i.centroidY, field: "instances.centroid")
        try w.raw("],\"mask\":"); try encode(i.mask, into: &w)
        try w.byte(0x7D)
    }

    private static func encode(_ mask: WireMask, into w: inout JSONWriter) throws(BusError) {
        try w.raw("{\"size\":["); try w.integer(mask.height)
        try w.byte(0x2C); try w.integer(mask.width)
        try w.raw("],\"counts\":"); try w.string(bytes: mask.counts)
        try w.byte(0x7D)
    }

    /// Writes a health message.
    public static func encode(_ m: HealthMessage, into buffer: MessageBuffer) throws(BusError) {
        var w = JSONWriter(buffer)
        try w.raw("{\"schema\":"); try w.raw(schema)
        try w.raw(",\"type\":\"health\",\"seq\":"); try w.unsigned(m.seq)
        try w.raw(",\"boot_id\":"); try w.string(m.bootID)
        try w.raw(",\"monotonic_ns\":"); try w.unsigned(m.monotonicNs)
        try w.raw(",\"realtime_ns\":"); try w.unsigned(m.realtimeNs)
        try w.raw(",\"uptime_ns\":"); try w.unsigned(m.uptimeNs)
        try w.raw(",\"state\":"); try w.string(m.state)
        try w.raw(",\"fps\":"); try w.fixed(m.fps, field: "fps")
        try w.raw(",\"latency_us\":{\"p50\":"); try w.unsigned(m.latencyP50Micros)
        try w.raw(",\"p90\":"); try w.unsigned(m.latencyP90Micros)
        try w.raw(",\"p99\":"); try w.unsigned(m.latencyP99Micros)
        try w.raw(",\"max\":"); try w.unsigned(m.latencyMaxMicros)
        try w.raw("},\"frames_processed\":"); try w.unsigned(m.framesProcessed)
        try w.raw(",\"dropped_frames\":"); try w.unsigned(m.droppedFrames)
        try w.raw(",\"publish_dropped\":"); try w.unsigned(m.publishDropped)
        try w.raw(",\"memory\":{\"arena_bytes\":"); try w.unsigned(m.arenaBytes)
        try w.raw(",\"peak_rss_bytes\":"); try w.unsigned(m.peakRSSBytes)
        try w.raw("},\"gpio\":[")
        var index = 0
        while index < m.gpio.count {
            if index > 0 { try w.byte(0x2C) }
            let line = m.gpio[index]
            index += 1
            try w.raw("{\"name\":"); try w.string(line.name)
            try w.raw(",\"value\":"); try w.integer(line.value)
            try w.byte(0x7D)
        }
        try w.raw("],\"errors\":{\"count\":"); try w.unsigned(m.errorCount)
        try w.raw(",\"last\":"); try w.string(m.lastError)
        try w.raw("}}")
        w.finish()
    }

    /// Writes a meta message.
    public static func encode(_ m: MetaMessage, into buffer: MessageBuffer) throws(BusError) {
        var w = JSONWriter(buffer)
        try w.raw("{\"schema\":"); try w.raw(schema)
        try w.raw(",\"type\":\"meta\",\"seq\":"); try w.unsigned(m.seq)
        try w.raw(",\"boot_id\":"); try w.string(m.bootID)
        try w.raw(",\"monotonic_ns\":"); try w.unsigned(m.monotonicNs)
        try w.raw(",\"realtime_ns\":"); try w.unsigned(m.realtimeNs)
        try w.raw(",\"model\":{\"id\":"); try w.string(m.modelID)
        try w.raw(",\"name\":"); try w.string(m.modelName)
        try w.raw(",\"version\":"); try w.string(m.modelVersion)
        try w.raw(",\"hash\":"); try w.string(m.modelHash)
        try w.raw("},\"input\":{\"width\":"); try w.integer(m.inputWidth)
        try w.raw(",\"height\":"); try w.integer(m.inputHeight)
        try w.raw("},\"labels\":[")
        var index = 0
        while index < m.labels.count {
            if index > 0 { try w.byte(0x2C) }
            let label = m.labels[index]
            index += 1
            try w.raw("{\"id\":"); try w.integer(label.id)
            try w.raw(",\"name\":"); try w.string(label.name)
            try w.byte(0x7D)
        }
        try w.raw("],\"float_decimals\":4,\"runtime_version\":"); try w.string(m.runtimeVersion)
        try w.byte(0x7D)
        w.finish()
    }
}
