import CEdgeShim
import CZmq

// A thin wrapper over libzmq: one Swift call per C call, typed errors, no hidden threads.
// Used by the detection publisher and subscriber here and by the daemon's camera-frame SUB source.
//
// Threading: a libzmq socket must be used by one thread at a time; a context may be shared.
// Lifetime: a socket keeps its context alive; `ZmqContext` terminates in deinit, which blocks until
// every socket is closed, so always set LINGER on sockets that send (see `ZmqSocket.setLinger`).

/// A libzmq context (`zmq_ctx_new`): owns libzmq's I/O threads; shared by the sockets made from it.
public final class ZmqContext {
    /// The raw `void *` handle, for sockets created from this context.
    let handle: UnsafeMutableRawPointer
    private var terminated = false

    /// Creates a context with libzmq's default of one I/O thread.
    public init() throws(ZmqError) {
        guard let handle = zmq_ctx_new() else { throw ZmqError.current("zmq_ctx_new") }
        self.handle = handle
    }

    /// Makes blocking calls on this context's sockets fail with ETERM (`zmq_ctx_shutdown`); does not close them.
    public func shutdown() {
        if !terminated { _ = zmq_ctx_shutdown(handle) }
    }

    /// Terminates the context (`zmq_ctx_term`); blocks until every socket made from it is closed.
    public func terminate() {
        if terminated { return }
        terminated = true
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }

    deinit { terminate() }
}

/// The libzmq socket types this project uses.
public enum ZmqSocketType {
    case publisher, subscriber, reply, request, push, pull

    var raw: Int32 {
        switch self {
        case .publisher: return ZMQ_PUB
        case .subscriber: return ZMQ_SUB
        case .reply: return ZMQ_REP
        case .request: return ZMQ_REQ
        case .push: return ZMQ_PUSH
        case .pull: return ZMQ_PULL
        }
    }
}

/// One frame received by `ZmqSocket.receive(into:dontWait:)`.
public struct ZmqFrame: Equatable {
    /// Bytes copied into the caller's buffer (at most its capacity).
    public let count: Int
    /// The frame's real size; larger than `count` when the buffer was too small (the rest was dropped).
    public let size: Int
    /// True when more frames of the same multipart message follow.
    public let more: Bool

    /// True when the frame did not fit the buffer.
    public var truncated: Bool { size > count }
}

/// A libzmq socket (`zmq_socket`); closed on `close()` or deinit.
public final class ZmqSocket {
    /// The context this socket belongs to (kept alive while the socket is open).
    public let context: ZmqContext
    /// The raw `void *` handle; nil after `close()`.
    private(set) var handle: UnsafeMutableRawPointer?

    /// Creates a socket of `type` in `context`.
    public init(context: ZmqContext, type: ZmqSocketType) throws(ZmqError) {
        guard let handle = zmq_socket(context.handle, type.raw) else { throw ZmqError.current("zmq_socket") }
        self.context = context
        self.handle = handle
    }

    deinit { close() }

    /// Closes the socket (`zmq_close`); pending outgoing messages follow the LINGER setting.
    public func close() {
        if let handle { _ = zmq_close(handle) }
        handle = nil
    }

    private func open(_ call: String) throws(ZmqError) -> UnsafeMutableRawPointer {
        guard let handle else { throw ZmqError(call, code: ENOTSOCK) }
        return handle
    }

    // MARK: options

    /// Sets an integer option (`zmq_setsockopt` with an `int`).
    public func setOption(_ option: Int32, _ value: Int32) throws(ZmqError) {
        let socket = try open("zmq_setsockopt")
        var value = value
        if zmq_setsockopt(socket, option, &value, MemoryLayout<Int32>.size) != 0 {
            throw ZmqError.current("zmq_setsockopt")
        }
    }

    /// Sets a binary or string option (`zmq_setsockopt` with bytes, no terminating NUL).
    public func setOption(_ option: Int32, bytes: [UInt8]) throws(ZmqError) {
        let socket = try open("zmq_setsockopt")
        let status = bytes.withUnsafeBytes { zmq_setsockopt(socket, option, $0.baseAddress, $0.count) }
        if status != 0 { throw ZmqError.current("zmq_setsockopt") }
    }

    /// Sets a string option (its UTF-8 bytes, no terminating NUL).
    public func setOption(_ option: Int32, string: String) throws(ZmqError) {
        try setOption(option, bytes: Array(string.utf8))
    }

    /// Reads an integer option (`zmq_getsockopt`).
    public func intOption(_ option: Int32) throws(ZmqError) -> Int32 {
        let socket = try open("zmq_getsockopt")
        var value: Int32 = 0
        var size = MemoryLayout<Int32>.size
        if zmq_getsockopt(socket, option, &value, &size) != 0 { throw ZmqError.current("zmq_getsockopt") }
        return value
    }

    /// Reads a string option such as ZMQ_LAST_ENDPOINT.
    public func stringOption(_ option: Int32) throws(ZmqError) -> String {
        let socket = try open("zmq_getsockopt")
        var buffer = [UInt8](repeating: 0, count: 512)
        var size = buffer.count
        let status = buffer.withUnsafeMutableBytes { zmq_getsockopt(socket, option, $0.baseAddress, &size) }
        if status != 0 { throw ZmqError.current("zmq_getsockopt") }
        var length = 0
        while length < size && buffer[length] != 0 { length += 1 }
        return String(decoding: buffer[0..<length], as: UTF8.self)
    }

    /// Send high-water mark in messages (ZMQ_SNDHWM): beyond it, a DONTWAIT send fails with EAGAIN.
    public func setSendHighWaterMark(_ messages: Int32) throws(ZmqError) { try setOption(ZMQ_SNDHWM, messages) }
    /// Receive high-water mark in messages (ZMQ_RCVHWM).
    public func setReceiveHighWaterMark(_ messages: Int32) throws(ZmqError) { try setOption(ZMQ_RCVHWM, messages) }
    /// How long `close` keeps unsent messages, in ms (ZMQ_LINGER); -1 (libzmq's default) can hang shutdown.
    public func setLinger(milliseconds: Int32) throws(ZmqError) { try setOption(ZMQ_LINGER, milliseconds) }
    /// Receive timeout in ms (ZMQ_RCVTIMEO); -1 blocks forever.
    public func setReceiveTimeout(milliseconds: Int32) throws(ZmqError) { try setOption(ZMQ_RCVTIMEO, milliseconds) }
    /// Send timeout in ms (ZMQ_SNDTIMEO).
    public func setSendTimeout(milliseconds: Int32) throws(ZmqError) { try setOption(ZMQ_SNDTIMEO, milliseconds) }
    /// Adds a SUB prefix filter (ZMQ_SUBSCRIBE); "" receives everything.
    public func subscribe(_ prefix: String) throws(ZmqError) { try setOption(ZMQ_SUBSCRIBE, string: prefix) }
    /// Removes a SUB prefix filter (ZMQ_UNSUBSCRIBE).
    public func unsubscribe(_ prefix: String) throws(ZmqError) { try setOption(ZMQ_UNSUBSCRIBE, string: prefix) }
    /// The ZAP domain (ZMQ_ZAP_DOMAIN) passed to the authentication handler.
    public func setZapDomain(_ domain: String) throws(ZmqError) { try setOption(ZMQ_ZAP_DOMAIN, string: domain) }
    /// Makes this socket a CURVE server (ZMQ_CURVE_SERVER) with its 32-byte secret key.
    public func setCurveServer(secretKey: [UInt8]) throws(ZmqError) {
        try setOption(ZMQ_CURVE_SERVER, 1)
        try setOption(ZMQ_CURVE_SECRETKEY, bytes: secretKey)
    }
    /// Makes this socket a CURVE client of the server with `serverKey`, using its own 32-byte key pair.
    public func setCurveClient(serverKey: [UInt8], publicKey: [UInt8], secretKey: [UInt8]) throws(ZmqError) {
        try setOption(ZMQ_CURVE_SERVERKEY, bytes: serverKey)
        try setOption(ZMQ_CURVE_PUBLICKEY, bytes: publicKey)
        try setOption(ZMQ_CURVE_SECRETKEY, bytes: secretKey)
    }

    // MARK: endpoints

    /// Binds to an endpoint such as "tcp://127.0.0.1:5555" or "ipc:///run/edge/det.sock" (`zmq_bind`).
    public func bind(_ endpoint: String) throws(ZmqError) {
        let socket = try open("zmq_bind")
        if zmq_bind(socket, endpoint) != 0 { throw ZmqError.current("zmq_bind") }
    }

    /// Connects to an endpoint (`zmq_connect`); libzmq reconnects in the background.
    public func connect(_ endpoint: String) throws(ZmqError) {
        let socket = try open("zmq_connect")
        if zmq_connect(socket, endpoint) != 0 { throw ZmqError.current("zmq_connect") }
    }

    /// Undoes a `bind` (`zmq_unbind`).
    public func unbind(_ endpoint: String) throws(ZmqError) {
        let socket = try open("zmq_unbind")
        if zmq_unbind(socket, endpoint) != 0 { throw ZmqError.current("zmq_unbind") }
    }

    /// The endpoint last bound, with the real port after binding "tcp://127.0.0.1:*".
    public func lastEndpoint() throws(ZmqError) -> String { try stringOption(ZMQ_LAST_ENDPOINT) }

    // MARK: sending and receiving

    /// Sends one frame (`zmq_send`; libzmq copies the bytes). `more` marks a following frame of the same message.
    /// Returns false when `dontWait` is set and the send would block (EAGAIN: high-water mark reached).
    public func send(_ bytes: UnsafeRawBufferPointer, more: Bool = false, dontWait: Bool = false) throws(ZmqError) -> Bool {
        let socket = try open("zmq_send")
        var flags: Int32 = 0
        if more { flags |= ZMQ_SNDMORE }
        if dontWait { flags |= ZMQ_DONTWAIT }
        while true {
            if zmq_send(socket, bytes.baseAddress, bytes.count, flags) >= 0 { return true }
            let code = zmq_errno()
            if code == EINTR { continue }
            if code == EAGAIN { return false }
            throw ZmqError("zmq_send", code: code)
        }
    }

    /// Sends one frame from an array (see `send(_:more:dontWait:)` for the buffer form).
    public func send(_ bytes: [UInt8], more: Bool = false, dontWait: Bool = false) throws(ZmqError) -> Bool {
        var result: Result<Bool, ZmqError> = .success(false)
        bytes.withUnsafeBytes { buffer in
            do throws(ZmqError) {
                result = .success(try send(buffer, more: more, dontWait: dontWait))
            } catch {
                result = .failure(error)
            }
        }
        return try result.get()
    }

    /// `zmq_msg_recv` into an initialised message, retrying on EINTR; false when it would block.
    private func receiveMessage(_ message: inout zmq_msg_t, dontWait: Bool) throws(ZmqError) -> Bool {
        let socket = try open("zmq_msg_recv")
        while true {
            if zmq_msg_recv(&message, socket, dontWait ? ZMQ_DONTWAIT : 0) >= 0 { return true }
            let code = zmq_errno()
            if code == EINTR { continue }
            if code == EAGAIN { return false }
            throw ZmqError("zmq_msg_recv", code: code)
        }
    }

    /// Receives one frame into `buffer` (`zmq_msg_recv`), copying at most its capacity.
    /// Returns nil when the call would block (DONTWAIT or RCVTIMEO expired).
    public func receive(into buffer: UnsafeMutableRawBufferPointer, dontWait: Bool = false) throws(ZmqError) -> ZmqFrame? {
        var message = zmq_msg_t()
        if zmq_msg_init(&message) != 0 { throw ZmqError.current("zmq_msg_init") }
        defer { _ = zmq_msg_close(&message) }
        guard try receiveMessage(&message, dontWait: dontWait) else { return nil }
        let size = zmq_msg_size(&message)
        let count = min(size, buffer.count)
        if count > 0, let source = zmq_msg_data(&message), let target = buffer.baseAddress {
            target.copyMemory(from: UnsafeRawPointer(source), byteCount: count)
        }
        return ZmqFrame(count: count, size: size, more: zmq_msg_more(&message) != 0)
    }

    /// Receives one frame as a new array (allocates; for tests and control paths). Nil when it would block.
    public func receiveBytes(dontWait: Bool = false) throws(ZmqError) -> (bytes: [UInt8], more: Bool)? {
        var message = zmq_msg_t()
        if zmq_msg_init(&message) != 0 { throw ZmqError.current("zmq_msg_init") }
        defer { _ = zmq_msg_close(&message) }
        guard try receiveMessage(&message, dontWait: dontWait) else { return nil }
        let size = zmq_msg_size(&message)
        var bytes = [UInt8](repeating: 0, count: size)
        if size > 0, let source = zmq_msg_data(&message) {
            bytes.withUnsafeMutableBytes { $0.baseAddress!.copyMemory(from: UnsafeRawPointer(source), byteCount: size) }
        }
        return (bytes, zmq_msg_more(&message) != 0)
    }

    /// Receives and discards the rest of a multipart message (after a frame with `more`).
    public func discardRemainingFrames() throws(ZmqError) {
        while let frame = try receiveBytes(dontWait: true), frame.more {}
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) for this socket to become readable (`zmq_poll`).
    public func pollReadable(timeoutMilliseconds: Int) throws(ZmqError) -> Bool {
        let socket = try open("zmq_poll")
        var item = zmq_pollitem_t(socket: socket, fd: -1, events: Int16(ZMQ_POLLIN), revents: 0)
        while true {
            let count = zmq_poll(&item, 1, timeoutMilliseconds)
            if count >= 0 { return count > 0 && (item.revents & Int16(ZMQ_POLLIN)) != 0 }
            let code = zmq_errno()
            if code == EINTR { continue }
            throw ZmqError("zmq_poll", code: code)
        }
    }
}

/// The libzmq library version as "major.minor.patch".
public func zmqVersion() -> String {
    var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
    zmq_version(&major, &minor, &patch)
    return String(major) + "." + String(minor) + "." + String(patch)
}

/// True when this libzmq supports a capability such as "curve" or "ipc" (`zmq_has`).
public func zmqHas(_ capability: String) -> Bool {
    zmq_has(capability) != 0
}
