import Bus
import CZmq
import EdgeRuntime

/// Raw camera frames from a ZeroMQ SUB socket: [topic][header][pixels] (docs/WIRE.md, "Camera frames (input)").
public final class CameraSource: FrameSource {
    public let name: String
    private let settings: CameraSettings
    private let context: ZmqContext
    private let socket: ZmqSocket
    private let interrupted = Shared(false)
    /// Messages larger than this are refused by libzmq (ZMQ_MAXMSGSIZE) before we allocate them.
    public static let maxMessageBytes: Int64 = 8192 * 8192 * 3

    /// Connects and subscribes; a bad endpoint is a `SourceError`.
    public init(settings: CameraSettings) throws(SourceError) {
        self.settings = settings
        name = "camera " + settings.endpoint + " topic " + settings.topic
        do throws(ZmqError) {
            context = try ZmqContext()
            socket = try ZmqSocket(context: context, type: .subscriber)
            try socket.setLinger(milliseconds: 0)
            // Two frames of slack: the application conflates, libzmq need not queue much.
            try socket.setReceiveHighWaterMark(2)
            var limit: [UInt8] = []
            for i in 0..<8 { limit.append(UInt8(truncatingIfNeeded: CameraSource.maxMessageBytes >> (8 * Int64(i)))) }
            try socket.setOption(ZMQ_MAXMSGSIZE, bytes: limit)
            try socket.subscribe(settings.topic)
            try socket.connect(settings.endpoint)
        } catch {
            throw SourceError("camera.endpoint " + settings.endpoint + ": " + error.description)
        }
    }

    deinit {
        socket.close()
        context.terminate()
    }

    /// What one receive produced, before validation.
    private enum Received {
        case nothing
        case message(header: [UInt8], data: [UInt8])
        case malformed(FrameError.Kind, String)
    }

    private func receive() throws(ZmqError) -> Received {
        guard try socket.pollReadable(timeoutMilliseconds: 100) else { return .nothing }
        guard let topic = try socket.receiveBytes(dontWait: true) else { return .nothing }
        guard String(decoding: topic.bytes, as: UTF8.self) == settings.topic else {
            // Another topic that shares our prefix (e.g. "frame2" for "frame").
            if topic.more { try socket.discardRemainingFrames() }
            return .nothing
        }
        guard topic.more, let header = try socket.receiveBytes(dontWait: true) else {
            return .malformed(.truncated, "message has only the topic frame, expected 3 frames")
        }
        guard header.more, let data = try socket.receiveBytes(dontWait: true) else {
            return .malformed(.truncated, "message has no pixel frame, expected 3 frames")
        }
        if data.more {
            try socket.discardRemainingFrames()
            return .malformed(.corrupt, "message has more than 3 frames")
        }
        return .message(header: header.bytes, data: data.bytes)
    }

    public func next() throws(FrameError) -> SourceEvent {
        if interrupted.update({ let was = $0; $0 = false; return was }) { return .idle }
        let origin = settings.endpoint
        let received: Received
        do throws(ZmqError) { received = try receive() } catch {
            throw FrameError(.io, origin: origin, error.description)
        }
        switch received {
        case .nothing:
            return .idle
        case .malformed(let kind, let message):
            throw FrameError(kind, origin: origin, message)
        case .message(let headerBytes, let data):
            let header = try CameraFrameHeader.parse(headerBytes, origin: origin)
            if (settings.width != 0 && header.width != settings.width) || (settings.height != 0 && header.height != settings.height) {
                throw FrameError(.wrongSize, origin: origin, "frame is " + String(header.width) + "x" + String(header.height)
                                 + ", configured " + String(settings.width) + "x" + String(settings.height))
            }
            guard data.count == header.step * header.height else {
                throw FrameError(data.count < header.step * header.height ? .truncated : .wrongSize, origin: origin,
                                 "pixel frame has " + String(data.count) + " bytes, header says step "
                                 + String(header.step) + " x height " + String(header.height))
            }
            return .frame(try Frame(width: header.width, height: header.height, encoding: header.encoding, step: header.step,
                                    captureStampNanoseconds: header.captureStampNanoseconds, frameId: header.frameId,
                                    seq: header.seq, bytes: data, origin: origin))
        }
    }

    public func interrupt() {
        interrupted.store(true)
    }
}
