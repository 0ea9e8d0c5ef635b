import CEdgeShim
import EdgeRuntime

/// The model and engine settings (`[model]`).
public struct ModelSettings: Equatable {
    /// The model file (env EDGE_MODEL).
    public var path = "/usr/share/dualsam-edge/models/dualsam-tiny-int8.dsm"
    /// Inference threads (env EDGE_THREADS).
    public var threads = 2
    /// CPUs to pin the inference threads to, thread w on the w-th (cycling); empty leaves them to the scheduler
    /// (env EDGE_CPUS).
    public var cpus: [Int] = []
    /// Upper bound on the arena and buffers; model load fails if the plan needs more.
    public var memoryLimit: UInt64 = 512 * 1024 * 1024
    /// Connected components with fewer source pixels are left out of detections and the mask; 0 keeps all.
    public var minInstanceArea = 0
}

/// Replay of image files (`[replay]`).
public struct ReplaySettings: Equatable {
    /// An image file or a directory of .png, .jpg/.jpeg and .ppm files (read in name order).
    public var path = ""
    /// Frames per second; 0 means as fast as the source can decode.
    public var rate = 5.0
    /// Start again after the last file instead of ending.
    public var loop = false
    /// Wait for inference to take each frame instead of replacing it (every file is processed).
    public var lossless = false
    /// Expected frame size; 0 accepts any size.
    public var width = 0
    public var height = 0
}

/// A ZeroMQ SUB of raw camera frames (`[camera]`), see docs/WIRE.md, "Camera frames (input)".
public struct CameraSettings: Equatable {
    public var endpoint = "tcp://127.0.0.1:5550"
    /// Subscription prefix; the first frame of each message must equal it.
    public var topic = "frame"
    /// Expected frame size; 0 accepts any size.
    public var width = 0
    public var height = 0
}

/// Which frame source feeds the pipeline.
public enum SourceKind: Equatable {
    case replay, camera
}

/// Where and how detections are published (`[publish]`).
public struct PublishSettings: Equatable {
    /// ZeroMQ endpoints the publisher binds (env EDGE_PUBLISH).
    public var endpoints = ["ipc:///run/edge-daemon/detections.sock"]
    /// The camera's name in topics (`det/<camera>`).
    public var camera = "cam0"
    /// Period of `health` messages.
    public var healthInterval: UInt64 = 1_000_000_000
}

/// CURVE encryption and the subscriber allow-list (`[security]`).
public struct SecuritySettings: Equatable {
    public var curve = false
    /// Explicit consent to publish without encryption (required when curve is off).
    public var plaintext = false
    /// The server's secret key file (z85 text), required with curve.
    public var secretKeyFile = ""
    /// Files holding the public keys of subscribers allowed to connect (z85 text, one key each).
    public var allowedKeyFiles: [String] = []
}

/// Chooses a GPIO chip by device name ("gpiochip0") or label ("pinctrl-rp1").
public enum ChipSelector: Equatable {
    case name(String)
    case label(String)
}

/// Chooses a line by offset on the chip or by its name.
public enum LineSelector: Equatable {
    case offset(UInt32)
    case name(String)
}

/// GPIO outputs and input (`[gpio]`); off unless `enabled`.
public struct GpioSettings: Equatable {
    public var enabled = false
    public var chip = ChipSelector.name("gpiochip0")
    public var detectLine: LineSelector? = nil
    public var heartbeatLine: LineSelector? = nil
    public var enableLine: LineSelector? = nil
    /// How long `detect` stays asserted after the last frame with an animal.
    public var detectHold: UInt64 = 1_000_000_000
    /// Outputs drive low for "asserted".
    public var activeLow = false
    /// The enable input reads low for "enabled".
    public var enableActiveLow = false
    /// The consumer name shown by gpioinfo.
    public var consumer = "edge-daemon"
}

/// Logging (`[log]`).
public struct LogSettings: Equatable {
    /// env EDGE_LOG_LEVEL.
    public var level = LogLevel.info
    public var rateLimitWindow: UInt64 = 10_000_000_000
    public var rateLimitBurst = 3
}

/// Health supervision (`[watchdog]`).
public struct WatchdogSettings: Equatable {
    /// With no frame finished for this long, the systemd watchdog pings stop.
    public var stallTimeout: UInt64 = 5_000_000_000
    /// Period of STATUS= updates.
    public var statusInterval: UInt64 = 2_000_000_000
}

/// The whole daemon configuration, validated.
public struct DaemonConfig: Equatable {
    public var model = ModelSettings()
    public var source = SourceKind.replay
    public var replay = ReplaySettings()
    public var camera = CameraSettings()
    public var publish = PublishSettings()
    public var security = SecuritySettings()
    public var gpio = GpioSettings()
    public var log = LogSettings()
    public var watchdog = WatchdogSettings()

    public init() {}

    /// Environment variables that override single keys, and the keys they set.
    public static let environmentOverrides: [(variable: String, section: String, key: String)] = [
        ("EDGE_MODEL", "model", "path"),
        ("EDGE_THREADS", "model", "threads"),
        ("EDGE_CPUS", "model", "cpus"),
        ("EDGE_LOG_LEVEL", "log", "level"),
        ("EDGE_PUBLISH", "publish", "endpoints"),
        ("EDGE_REPLAY", "replay", "path"),
    ]

    /// Reads `path`, applies environment overrides (looked up with `environment`) and validates.
    public static func load(path: String, environment: (String) -> String? = environmentValue) throws(ConfigError) -> DaemonConfig {
        var document = try ConfigDocument.load(path: path)
        for item in environmentOverrides {
            if let value = environment(item.variable) {
                document.override(section: item.section, key: item.key, value: value, variable: item.variable)
            }
        }
        return try parse(document)
    }

    /// Validates a parsed document against the schema.
    public static func parse(_ document: ConfigDocument) throws(ConfigError) -> DaemonConfig {
        let r = ConfigReader(document)
        var c = DaemonConfig()

        c.model.path = r.string("model", "path", default: c.model.path)
        if c.model.path.isEmpty { throw r.error("model", "path", "must not be empty") }
        c.model.threads = try r.integer("model", "threads", default: c.model.threads, range: 1...64)
        guard let cpus = CPUList.parse(r.string("model", "cpus", default: "")) else {
            throw r.error("model", "cpus", "must be CPU numbers and ranges like 4-7 or 0,2 (at most "
                          + String(CPUList.maxCPU) + ")")
        }
        c.model.cpus = cpus
        c.model.memoryLimit = try r.size("model", "memory_limit", default: c.model.memoryLimit)
        if c.model.memoryLimit < 16 * 1024 * 1024 { throw r.error("model", "memory_limit", "must be at least 16MiB") }
        c.model.minInstanceArea = try r.integer("model", "min_instance_area", default: c.model.minInstanceArea,
                                                range: 0...(maxFrameDimension * maxFrameDimension))

        let kind = try r.choice("source", "kind", default: "replay", allowed: ["replay", "camera"])
        c.source = kind == "camera" ? .camera : .replay

        c.replay.path = r.string("replay", "path", default: "")
        c.replay.rate = try r.number("replay", "rate", default: c.replay.rate, minimum: 0, maximum: 1000)
        c.replay.loop = try r.boolean("replay", "loop", default: false)
        c.replay.lossless = try r.boolean("replay", "lossless", default: false)
        c.replay.width = try r.integer("replay", "width", default: 0, range: 0...maxFrameDimension)
        c.replay.height = try r.integer("replay", "height", default: 0, range: 0...maxFrameDimension)
        if c.source == .replay && c.replay.path.isEmpty {
            throw r.error("replay", "path", "required when source.kind = replay")
        }

        c.camera.endpoint = r.string("camera", "endpoint", default: c.camera.endpoint)
        c.camera.topic = r.string("camera", "topic", default: c.camera.topic)
        c.camera.width = try r.integer("camera", "width", default: 0, range: 0...maxFrameDimension)
        c.camera.height = try r.integer("camera", "height", default: 0, range: 0...maxFrameDimension)
        if c.source == .camera {
            if !isEndpoint(c.camera.endpoint) {
                throw r.error("camera", "endpoint", "expected tcp://, ipc:// or inproc:// endpoint, got '" + c.camera.endpoint + "'")
            }
            if c.camera.topic.isEmpty { throw r.error("camera", "topic", "must not be empty") }
        }

        c.publish.endpoints = try r.list("publish", "endpoints", default: c.publish.endpoints)
        for endpoint in c.publish.endpoints where !isEndpoint(endpoint) {
            throw r.error("publish", "endpoints", "expected tcp://, ipc:// or inproc:// endpoint, got '" + endpoint + "'")
        }
        c.publish.camera = r.string("publish", "camera", default: c.publish.camera)
        if c.publish.camera.isEmpty || c.publish.camera.contains("/") || c.publish.camera.contains(" ") {
            throw r.error("publish", "camera", "must be a non-empty name without '/' or spaces")
        }
        c.publish.healthInterval = try r.duration("publish", "health_interval", default: c.publish.healthInterval)
        if c.publish.healthInterval < 100_000_000 { throw r.error("publish", "health_interval", "must be at least 100ms") }

        c.security.curve = try r.boolean("security", "curve", default: false)
        c.security.plaintext = try r.boolean("security", "plaintext", default: false)
        c.security.secretKeyFile = r.string("security", "secret_key_file", default: "")
        c.security.allowedKeyFiles = try r.list("security", "allow", default: [])
        if c.security.curve {
            if c.security.plaintext { throw r.error("security", "plaintext", "contradicts curve = true") }
            if c.security.secretKeyFile.isEmpty { throw r.error("security", "secret_key_file", "required when curve = true") }
            if c.security.allowedKeyFiles.isEmpty {
                throw r.error("security", "allow", "list the subscribers' public key files (CURVE without an allow-list accepts anyone)")
            }
        } else if !c.security.plaintext {
            throw r.error("security", "curve", "curve is off: set security.plaintext = true to publish unencrypted on purpose")
        }

        c.gpio.enabled = try r.boolean("gpio", "enabled", default: false)
        if let chip = r.optionalString("gpio", "chip") {
            if chip.hasPrefix("label:") {
                let label = String(chip.dropFirst(6))
                if label.isEmpty { throw r.error("gpio", "chip", "empty label") }
                c.gpio.chip = .label(label)
            } else {
                c.gpio.chip = .name(chip)
            }
        }
        c.gpio.detectLine = try line(r, "detect_line")
        c.gpio.heartbeatLine = try line(r, "heartbeat_line")
        c.gpio.enableLine = try line(r, "enable_line")
        c.gpio.detectHold = try r.duration("gpio", "detect_hold", default: c.gpio.detectHold)
        c.gpio.activeLow = try r.boolean("gpio", "active_low", default: false)
        c.gpio.enableActiveLow = try r.boolean("gpio", "enable_active_low", default: false)
        c.gpio.consumer = r.string("gpio", "consumer", default: c.gpio.consumer)
        if c.gpio.enabled && c.gpio.detectLine == nil && c.gpio.heartbeatLine == nil && c.gpio.enableLine == nil {
            throw r.error("gpio", "enabled", "no line configured (detect_line, heartbeat_line or enable_line)")
        }

        if let name = r.optionalString("log", "level") {
            guard let level = LogLevel(name: name) else {
                throw r.error("log", "level", "expected error, warning, notice, info or debug, got '" + name + "'")
            }
            c.log.level = level
        }
        c.log.rateLimitWindow = try r.duration("log", "rate_limit_window", default: c.log.rateLimitWindow)
        c.log.rateLimitBurst = try r.integer("log", "rate_limit_burst", default: c.log.rateLimitBurst, range: 1...1000)

        c.watchdog.stallTimeout = try r.duration("watchdog", "stall_timeout", default: c.watchdog.stallTimeout)
        if c.watchdog.stallTimeout < 10_000_000 { throw r.error("watchdog", "stall_timeout", "must be at least 10ms") }
        c.watchdog.statusInterval = try r.duration("watchdog", "status_interval", default: c.watchdog.statusInterval)

        try r.finish()
        return c
    }

    private static func line(_ r: ConfigReader, _ key: String) throws(ConfigError) -> LineSelector? {
        guard let text = r.optionalString("gpio", key) else { return nil }
        if text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
            let offset: Int
            do throws(ConfigValueError) { offset = try ConfigValue.integer(text) } catch {
                throw r.error("gpio", key, error.message)
            }
            guard offset <= 1023 else { throw r.error("gpio", key, "line offset out of range: " + text) }
            return .offset(UInt32(offset))
        }
        return .name(text)
    }

    static func isEndpoint(_ text: String) -> Bool {
        for scheme in ["tcp://", "ipc://", "inproc://"] where text.hasPrefix(scheme) && text.count > scheme.count {
            return true
        }
        return false
    }
}
