import CEdgeShim
import CZmq
import EdgeRuntime

// ZAP (ZeroMQ RFC 27) authentication. CURVE alone encrypts but admits any client key; libzmq asks
// the handler bound at inproc://zeromq.zap.01 in the same context about every new connection, and
// only a "200" reply lets the client in. The handler must be bound before the server socket binds.

/// Authenticates CURVE clients against an allow-list of public keys, on its own pthread.
final class ZapHandler {
    static let endpoint = "inproc://zeromq.zap.01"

    private let socket: ZmqSocket
    private let allowed: [CurveKey]
    private var thread = pthread_t()
    private var running = false

    /// Binds the ZAP endpoint in `context` (on the calling thread, so it is bound before we return).
    init(context: ZmqContext, allowed: [CurveKey]) throws(ZmqError) {
        socket = try ZmqSocket(context: context, type: .reply)
        try socket.setLinger(milliseconds: 0)
        try socket.bind(ZapHandler.endpoint)
        self.allowed = allowed
    }

    /// Starts answering requests on a new thread.
    func start() throws(BusError) {
        let box = Unmanaged.passRetained(self).toOpaque()
        let status = pthread_create(&thread, nil, { argument in
            let handler = Unmanaged<ZapHandler>.fromOpaque(argument!).takeRetainedValue()
            handler.serve()
            return nil
        }, box)
        guard status == 0 else {
            Unmanaged<ZapHandler>.fromOpaque(box).release()
            throw BusError.system(SystemError("pthread_create", code: status), path: ZapHandler.endpoint)
        }
        running = true
    }

    /// Waits for the thread to end; call after `ZmqContext.shutdown()`, which ends its blocking receive.
    func join() {
        if running { _ = pthread_join(thread, nil) }
        running = false
    }

    /// The handler loop: one request, one reply, until the context shuts down.
    private func serve() {
        var frames: [[UInt8]] = []
        while true {
            frames.removeAll(keepingCapacity: true)
            do {
                while true {
                    guard let frame = try socket.receiveBytes() else { continue }
                    frames.append(frame.bytes)
                    if !frame.more || frames.count > 16 { break }
                }
                if frames.count > 16 { try socket.discardRemainingFrames() }
                try reply(to: frames)
            } catch {
                // ETERM: the publisher is closing. Any other error leaves the socket unusable as well.
                socket.close()
                return
            }
        }
    }

    private func reply(to frames: [[UInt8]]) throws(ZmqError) {
        let requestID = frames.count > 1 ? frames[1] : []
        var status: StaticString = "400"
        var text: StaticString = "unknown client key"
        // Request: version, request id, domain, address, routing id, mechanism, credentials...
        if frames.count < 6 || frames[0] != Array("1.0".utf8) {
            text = "malformed ZAP request"
        } else if frames[5] == Array("CURVE".utf8), frames.count >= 7, let key = CurveKey(bytes: frames[6]),
                  allowed.contains(key) {
            status = "200"
            text = "OK"
        } else if frames[5] != Array("CURVE".utf8) {
            text = "CURVE required"
        }
        _ = try socket.send(Array("1.0".utf8), more: true)
        _ = try socket.send(requestID, more: true)
        _ = try socket.send(bytes(status), more: true)
        _ = try socket.send(bytes(text), more: true)
        _ = try socket.send([], more: true)  // user id
        _ = try socket.send([])  // metadata
    }

    private func bytes(_ text: StaticString) -> [UInt8] {
        Array(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }
}
