import XCTest

@testable import Bus

final class ZmqSocketTests: XCTestCase {
    func testPubSubMultipartOverLoopbackTCP() throws {
        let context = try ZmqContext()
        let pub = try ZmqSocket(context: context, type: .publisher)
        try pub.setLinger(milliseconds: 0)
        try pub.setSendHighWaterMark(100)
        try pub.bind("tcp://127.0.0.1:*")
        let endpoint = try pub.lastEndpoint()
        XCTAssertTrue(endpoint.hasPrefix("tcp://127.0.0.1:"))

        let sub = try ZmqSocket(context: context, type: .subscriber)
        try sub.setLinger(milliseconds: 0)
        try sub.subscribe("det/")
        try sub.connect(endpoint)

        // Slow joiner: keep publishing until the subscription has propagated (bounded).
        var received: (bytes: [UInt8], more: Bool)?
        for _ in 0..<200 {
            XCTAssertTrue(try pub.send(Array("health".utf8), more: true, dontWait: true))
            XCTAssertTrue(try pub.send(Array("ignored".utf8), dontWait: true))
            XCTAssertTrue(try pub.send(Array("det/cam0".utf8), more: true, dontWait: true))
            XCTAssertTrue(try pub.send(Array("{}".utf8), dontWait: true))
            if try sub.pollReadable(timeoutMilliseconds: 10) {
                received = try sub.receiveBytes(dontWait: true)
                break
            }
        }
        let topic = try XCTUnwrap(received)
        XCTAssertEqual(String(decoding: topic.bytes, as: UTF8.self), "det/cam0")
        XCTAssertTrue(topic.more)

        // The body into a buffer too small for it: truncated, with the real size reported.
        var small = [UInt8](repeating: 0, count: 1)
        let frame = try small.withUnsafeMutableBytes { try sub.receive(into: $0) }
        XCTAssertEqual(frame, ZmqFrame(count: 1, size: 2, more: false))
        XCTAssertEqual(small, [UInt8(ascii: "{")])
    }

    func testReceiveTimeoutReturnsNilAndBadEndpointThrowsTypedError() throws {
        let context = try ZmqContext()
        let sub = try ZmqSocket(context: context, type: .subscriber)
        try sub.setLinger(milliseconds: 0)
        try sub.setReceiveTimeout(milliseconds: 20)
        try sub.subscribe("")
        XCTAssertNil(try sub.receiveBytes())
        XCTAssertThrowsError(try sub.bind("nonsense://x")) { error in
            let zmq = error as? ZmqError
            XCTAssertEqual(zmq?.call, "zmq_bind")
            XCTAssertFalse(zmq?.message.isEmpty ?? true)
        }
        sub.close()
        XCTAssertThrowsError(try sub.connect("tcp://127.0.0.1:1")) { error in
            XCTAssertEqual((error as? ZmqError)?.code, ENOTSOCK)
        }
    }

    func testCurveKeysRoundTripThroughZ85() throws {
        let pair = try CurveKeyPair.generate()
        XCTAssertEqual(pair.publicKey.z85.utf8.count, 40)
        XCTAssertEqual(CurveKey(z85: pair.publicKey.z85), pair.publicKey)
        XCTAssertEqual(try CurveKeyPair.derive(secretKey: pair.secretKey), pair)
        XCTAssertNil(CurveKey(z85: "too short"))
        XCTAssertNil(CurveKey(z85: String(repeating: "~", count: 40)))
        XCTAssertNil(CurveKey(bytes: [1, 2, 3]))
    }
}
