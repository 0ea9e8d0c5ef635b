import CZmq

/// The client side of CURVE: the publisher's public key and this subscriber's key pair.
public struct CurveClientKeys {
    /// The publisher's public key (its `.pub` file).
    public var serverKey: CurveKey
    /// This subscriber's key pair; its public key must be in the publisher's allow-list.
    public var keyPair: CurveKeyPair

    public init(serverKey: CurveKey, keyPair: CurveKeyPair) {
        self.serverKey = serverKey
        self.keyPair = keyPair
    }
}

/// Where and what a subscriber receives.
public struct SubscriberConfig {
    /// The publisher's endpoint ("tcp://robot.local:5555", "ipc:///run/edge-daemon/det.sock").
    public var endpoint: String
    /// Topic prefixes: "det/" for every camera, "det/cam0", "health", "meta"; "" for all.
    public var topics: [String]
    /// CURVE keys, or nil for a plaintext publisher.
    public var curve: CurveClientKeys?
    /// The largest accepted message body, bytes; larger ones are skipped with `messageTooLarge`.
    public var maxMessageBytes: Int = 4 << 20
    /// Messages queued locally before libzmq drops (ZMQ_RCVHWM).
    public var receiveHighWaterMark: Int32 = 1000

    public init(endpoint: String, topics: [String], curve: CurveClientKeys? = nil) {
        self.endpoint = endpoint
        self.topics = topics
        self.curve = curve
    }
}

/// One received message.
public struct ReceivedMessage: Equatable {
    /// The topic frame ("det/cam0", "health", "meta").
    public var topic: String
    /// The decoded body.
    public var message: BusMessage
    /// Messages of this topic missed just before this one (a seq gap), 0 when contiguous or the first seen.
    public var missedBefore: UInt64
}

/// Receives and decodes bus messages; tracks seq per topic to report gaps.
///
/// Subscribing is a prefix match: "det/cam1" also matches "det/cam10". `receive` returns the exact topic.
public final class Subscriber {
    public let config: SubscriberConfig
    private let context: ZmqContext
    private var socket: ZmqSocket?
    private let body: MessageBuffer
    private let topicBuffer = MessageBuffer(capacity: 256)
    private let decoder: WireDecoder
    private var lastSeq: [(topic: String, bootID: String, seq: UInt64)] = []
    /// Messages of any topic found missing from seq gaps since the start.
    public private(set) var missedTotal: UInt64 = 0

    /// Connects (libzmq connects in the background and retries; no publisher needs to be up yet).
    public init(config: SubscriberConfig) throws(BusError) {
        self.config = config
        body = MessageBuffer(capacity: config.maxMessageBytes)
        decoder = WireDecoder(maxBytes: config.maxMessageBytes)
        do throws(ZmqError) {
            context = try ZmqContext()
            let socket = try ZmqSocket(context: context, type: .subscriber)
            self.socket = socket
            try socket.setLinger(milliseconds: 0)
            try socket.setReceiveHighWaterMark(config.receiveHighWaterMark)
            if let curve = config.curve {
                try socket.setCurveClient(serverKey: curve.serverKey.bytes, publicKey: curve.keyPair.publicKey.bytes,
                                          secretKey: curve.keyPair.secretKey.bytes)
            }
            for topic in config.topics { try socket.subscribe(topic) }
            try socket.connect(config.endpoint)
        } catch {
            throw BusError.zmq(error)
        }
    }

    /// Closes the socket.
    public func close() {
        socket?.close()
        socket = nil
        context.terminate()
    }

    deinit { close() }

    /// Waits up to `timeoutMilliseconds` (-1: forever) for a message; nil on timeout.
    /// A malformed, oversized or unknown-schema message is consumed and reported as its typed error.
    public func receive(timeoutMilliseconds: Int) throws(BusError) -> ReceivedMessage? {
        guard let socket else { throw BusError.invalidConfiguration("subscriber closed") }
        guard try mapZmq({ () throws(ZmqError) in try socket.pollReadable(timeoutMilliseconds: timeoutMilliseconds) }),
              let topicFrame = try mapZmq({ () throws(ZmqError) in
                  try socket.receive(into: topicBuffer.storage, dontWait: true)
              }) else { return nil }
        guard topicFrame.more else { throw BusError.invalidValue(field: "(envelope)") }
        guard let bodyFrame = try mapZmq({ () throws(ZmqError) in try socket.receive(into: body.storage, dontWait: true) })
        else { throw BusError.invalidValue(field: "(envelope)") }
        if bodyFrame.more {
            try mapZmq { () throws(ZmqError) in try socket.discardRemainingFrames() }
            throw BusError.invalidValue(field: "(envelope)")
        }
        guard !topicFrame.truncated else { throw BusError.invalidValue(field: "(topic)") }
        guard !bodyFrame.truncated else { throw BusError.messageTooLarge(limit: body.capacity) }
        body.count = bodyFrame.count
        topicBuffer.count = topicFrame.count
        let topic = topicBuffer.text
        let message = try decoder.decode(body.bytes)
        return ReceivedMessage(topic: topic, message: message, missedBefore: track(topic: topic, message: message))
    }

    private func track(topic: String, message: BusMessage) -> UInt64 {
        let seq: UInt64
        let bootID: String
        switch message {
        case .detection(let m): seq = m.seq; bootID = m.bootID
        case .health(let m): seq = m.seq; bootID = m.bootID
        case .meta(let m): seq = m.seq; bootID = m.bootID
        }
        for index in lastSeq.indices where lastSeq[index].topic == topic {
            let previous = lastSeq[index]
            lastSeq[index] = (topic, bootID, seq)
            // A new boot id means the publisher restarted: seq starts again, nothing was missed.
            guard previous.bootID == bootID, seq > previous.seq else { return 0 }
            let missed = seq - previous.seq - 1
            missedTotal += missed
            return missed
        }
        lastSeq.append((topic, bootID, seq))
        return 0
    }
}

/// Runs a libzmq wrapper call, mapping its error into `BusError`.
@discardableResult
func mapZmq<T>(_ body: () throws(ZmqError) -> T) throws(BusError) -> T {
    do throws(ZmqError) {
        return try body()
    } catch {
        throw BusError.zmq(error)
    }
}
