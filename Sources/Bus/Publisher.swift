import CEdgeShim
import CZmq
import EdgeRuntime

/// How the bus is protected. There is no default: plaintext must be chosen explicitly.
public enum BusSecurity {
    /// No encryption, no authentication: anyone who reaches the endpoint reads everything.
    case plaintext
    /// CURVE encryption; only clients whose public key is in `allowedClients` are admitted (ZAP).
    case curve(secretKey: CurveKey, allowedClients: [CurveKey])

    /// CURVE with the server secret key and the allow-list read from files (see `readCurveKeys`).
    public static func curve(secretKeyPath: String, allowListPath: String) throws(BusError) -> BusSecurity {
        .curve(secretKey: try readCurveKey(path: secretKeyPath), allowedClients: try readCurveKeys(path: allowListPath))
    }
}

/// Where and how the publisher sends.
public struct PublisherConfig {
    /// Endpoints to bind: "tcp://127.0.0.1:5555", "tcp://0.0.0.0:5555", "ipc:///run/edge-daemon/det.sock".
    public var endpoints: [String]
    /// Encryption and authentication (no default on purpose).
    public var security: BusSecurity
    /// Identifies this process run in every message.
    public var bootID: String
    /// Messages queued per subscriber before libzmq drops for that subscriber (ZMQ_SNDHWM).
    public var sendHighWaterMark: Int32 = 64
    /// How long closing may spend flushing queued messages, ms (ZMQ_LINGER); bounded so shutdown never hangs.
    public var lingerMilliseconds: Int32 = 100
    /// Permissions of ipc socket files (owner and group only by default).
    public var ipcMode: UInt32 = 0o660
    /// The largest message body, bytes (the preallocated buffer's size).
    public var maxMessageBytes: Int = 4 << 20
    /// How often `publishMetaIfDue` re-sends `meta`, ns.
    public var metaIntervalNs: UInt64 = 2_000_000_000
    /// How often `isHealthDue` asks for a `health` message, ns (1 Hz).
    public var healthIntervalNs: UInt64 = 1_000_000_000

    public init(endpoints: [String], security: BusSecurity, bootID: String) {
        self.endpoints = endpoints
        self.security = security
        self.bootID = bootID
    }
}

/// Counters of what the publisher did since it started.
public struct PublisherStats: Equatable {
    /// Messages handed to libzmq.
    public var sent: UInt64 = 0
    /// Messages libzmq refused without blocking (EAGAIN). A PUB socket normally drops per slow
    /// subscriber instead, silently: subscribers see those as seq gaps.
    public var dropped: UInt64 = 0
}

/// Publishes detections, health and meta on a PUB socket, never blocking the caller.
///
/// Not thread-safe: call it from one thread (the daemon's pipeline loop). No threads of its own
/// except the ZAP handler when CURVE is on.
public final class Publisher {
    /// Topic of `health` messages.
    public static let healthTopic = "health"
    /// Topic of `meta` messages.
    public static let metaTopic = "meta"
    /// Prefix of detection topics ("det/<camera>").
    public static let detectionTopicPrefix = "det/"

    public let config: PublisherConfig
    /// The endpoints actually bound (tcp ports resolved when configured as "*").
    public private(set) var boundEndpoints: [String] = []
    /// What was sent and dropped.
    public private(set) var stats = PublisherStats()

    private let context: ZmqContext
    private var socket: ZmqSocket?
    private var zap: ZapHandler?
    private let body: MessageBuffer
    private let topic = MessageBuffer(capacity: 128)
    private var cameraSeqs: [(camera: String, next: UInt64)] = []
    private var healthSeq: UInt64 = 0
    private var metaSeq: UInt64 = 0
    private var meta: MetaMessage?
    private var lastMetaNs: UInt64? = nil
    private var lastHealthNs: UInt64? = nil

    /// Sets up security, binds every endpoint, and is ready to publish.
    public init(config: PublisherConfig) throws(BusError) {
        guard !config.endpoints.isEmpty else { throw BusError.invalidConfiguration("no endpoints") }
        self.config = config
        body = MessageBuffer(capacity: config.maxMessageBytes)
        do {
            context = try ZmqContext()
        } catch {
            throw BusError.zmq(error)
        }
        do throws(BusError) {
            try setUp()
        } catch {
            close()
            throw error
        }
    }

    private func setUp() throws(BusError) {
        let socket = try mapZmq { () throws(ZmqError) in try ZmqSocket(context: context, type: .publisher) }
        self.socket = socket
        try mapZmq { () throws(ZmqError) in
            try socket.setSendHighWaterMark(config.sendHighWaterMark)
            try socket.setLinger(milliseconds: config.lingerMilliseconds)
        }
        if case .curve(let secretKey, let allowedClients) = config.security {
            guard zmqHas("curve") else { throw BusError.invalidConfiguration("libzmq lacks CURVE support") }
            // The handler must exist before the socket binds, or libzmq admits every key.
            let handler = try mapZmq { () throws(ZmqError) in try ZapHandler(context: context, allowed: allowedClients) }
            zap = handler
            try handler.start()
            try mapZmq { () throws(ZmqError) in
                try socket.setZapDomain("dualsam-edge")
                try socket.setCurveServer(secretKey: secretKey.bytes)
            }
        }
        for endpoint in config.endpoints { try bind(endpoint) }
    }

    private func bind(_ endpoint: String) throws(BusError) {
        guard let socket else { throw BusError.invalidConfiguration("publisher closed") }
        let ipcPath = Publisher.ipcPath(endpoint)
        // libzmq silently replaces a live ipc socket file; refuse instead of stealing another daemon's endpoint.
        if let ipcPath, unixSocketIsLive(path: ipcPath) { throw BusError.endpointInUse(endpoint) }
        do throws(ZmqError) {
            try socket.bind(endpoint)
            boundEndpoints.append(try socket.lastEndpoint())
        } catch {
            throw BusError.zmq(error)
        }
        if let ipcPath, chmod(ipcPath, mode_t(config.ipcMode)) != 0 {
            throw BusError.system(SystemError.current("chmod"), path: ipcPath)
        }
    }

    /// The filesystem path of an "ipc://" endpoint (nil for other transports and abstract sockets).
    static func ipcPath(_ endpoint: String) -> String? {
        guard endpoint.hasPrefix("ipc://") else { return nil }
        let path = String(endpoint.utf8.dropFirst(6)) ?? ""
        return path.hasPrefix("@") || path.isEmpty ? nil : path
    }

    /// Closes the socket (waiting at most LINGER for queued messages) and stops the ZAP thread.
    public func close() {
        socket?.close()
        socket = nil
        context.shutdown()  // ends the ZAP handler's blocking receive
        zap?.join()
        zap = nil
        context.terminate()
    }

    deinit { close() }

    // MARK: publishing

    /// Publishes one frame's detections on "det/<camera>": sets `seq` and the publish times, and sends
    /// without blocking. Returns false when libzmq refused the message (counted in `stats.dropped`).
    @discardableResult
    public func publish(_ message: inout DetectionMessage) throws(BusError) -> Bool {
        try checkCameraName(message.camera)
        message.seq = nextSeq(camera: message.camera)
        message.bootID = config.bootID
        message.publishMonotonicNs = edge_monotonic_ns()
        message.publishRealtimeNs = edge_realtime_ns()
        try WireEncoder.encode(message, into: body)
        try setTopic(Publisher.detectionTopicPrefix, message.camera)
        return try send()
    }

    /// Publishes a health message on "health" (sets `seq`, boot id and the publish times).
    @discardableResult
    public func publish(_ message: inout HealthMessage) throws(BusError) -> Bool {
        message.seq = healthSeq
        healthSeq += 1
        message.bootID = config.bootID
        message.monotonicNs = edge_monotonic_ns()
        message.realtimeNs = edge_realtime_ns()
        message.publishDropped = stats.dropped
        lastHealthNs = message.monotonicNs
        try WireEncoder.encode(message, into: body)
        try setTopic(Publisher.healthTopic, "")
        return try send()
    }

    /// True when no health message went out yet or `healthIntervalNs` has passed since the last one;
    /// the daemon checks this in its loop and only then gathers and publishes a `HealthMessage`.
    public func isHealthDue(nowMonotonicNs: UInt64) -> Bool {
        guard let last = lastHealthNs, nowMonotonicNs >= last else { return true }
        return nowMonotonicNs - last >= config.healthIntervalNs
    }

    /// Sets the model description that `publishMetaIfDue` re-publishes (and publishes it at the next call).
    public func setMeta(_ meta: MetaMessage) {
        self.meta = meta
        lastMetaNs = nil
    }

    /// Publishes `meta` when none went out yet or `metaIntervalNs` has passed since the last one.
    /// The daemon calls this from its loop with the current monotonic time. Returns true if it sent.
    @discardableResult
    public func publishMetaIfDue(nowMonotonicNs: UInt64) throws(BusError) -> Bool {
        guard var message = meta else { return false }
        if let last = lastMetaNs, nowMonotonicNs &- last < config.metaIntervalNs, nowMonotonicNs >= last { return false }
        lastMetaNs = nowMonotonicNs
        message.seq = metaSeq
        metaSeq += 1
        message.bootID = config.bootID
        message.monotonicNs = edge_monotonic_ns()
        message.realtimeNs = edge_realtime_ns()
        try WireEncoder.encode(message, into: body)
        try setTopic(Publisher.metaTopic, "")
        return try send()
    }

    private func setTopic(_ prefix: String, _ suffix: String) throws(BusError) {
        var w = JSONWriter(topic)
        for c in prefix.utf8 { try w.byte(c) }
        for c in suffix.utf8 { try w.byte(c) }
        w.finish()
    }

    private func send() throws(BusError) -> Bool {
        guard let socket else { throw BusError.invalidConfiguration("publisher closed") }
        let accepted = try mapZmq { () throws(ZmqError) in try socket.send(topic.bytes, more: true, dontWait: true) }
        guard accepted else {
            stats.dropped += 1
            return false
        }
        // Once the first frame is in, libzmq takes the rest of the message atomically.
        _ = try mapZmq { () throws(ZmqError) in try socket.send(body.bytes, dontWait: true) }
        stats.sent += 1
        return true
    }

    private func nextSeq(camera: String) -> UInt64 {
        var index = 0
        while index < cameraSeqs.count {
            if cameraSeqs[index].camera == camera {
                let seq = cameraSeqs[index].next
                cameraSeqs[index].next = seq + 1
                return seq
            }
            index += 1
        }
        cameraSeqs.append((camera, 1))
        return 0
    }
}

/// Checks a camera name: 1...64 characters from [A-Za-z0-9_.-] (it becomes part of a topic).
public func checkCameraName(_ name: String) throws(BusError) {
    var count = 0
    for c in name.utf8 {
        count += 1
        let ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
            || c == 0x5F || c == 0x2D || c == 0x2E
        guard ok, count <= 64 else { throw BusError.invalidCameraName(name) }
    }
    guard count > 0 else { throw BusError.invalidCameraName(name) }
}

/// True when something accepts connections on the AF_UNIX socket at `path`.
func unixSocketIsLive(path: String) -> Bool {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { _ = close(fd) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < edge_sun_path_size() else { return false }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (i, b) in bytes.enumerated() { raw[i] = b }
    }
    let status = withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
    return status == 0
}
