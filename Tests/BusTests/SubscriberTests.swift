import Foundation
import XCTest

@testable import Bus

final class SubscriberTests: XCTestCase {
    /// A raw PUB socket sends broken envelopes and bodies: each gives a typed error, and the next
    /// valid message still arrives.
    func testMalformedMessagesOnTheWireGiveTypedErrorsAndDoNotWedgeTheSubscriber() throws {
        let context = try ZmqContext()
        let pub = try ZmqSocket(context: context, type: .publisher)
        try pub.setLinger(milliseconds: 0)
        try pub.bind("tcp://127.0.0.1:*")
        var config = SubscriberConfig(endpoint: try pub.lastEndpoint(), topics: [""])
        config.maxMessageBytes = 2048
        let subscriber = try Subscriber(config: config)

        let valid = MessageBuffer(capacity: 4096)
        try WireEncoder.encode(MetaMessage(seq: 3, modelID: "ok"), into: valid)
        // Slow joiner: send valid meta until one arrives.
        let deadline = Date().addingTimeInterval(5)
        var connected = false
        while !connected && Date() < deadline {
            XCTAssertTrue(try pub.send(Array("meta".utf8), more: true, dontWait: true))
            XCTAssertTrue(try pub.send(valid.array, dontWait: true))
            connected = try subscriber.receive(timeoutMilliseconds: 20) != nil
        }
        XCTAssertTrue(connected)
        while try subscriber.receive(timeoutMilliseconds: 50) != nil {}

        let schema2 = valid.text.replacingOccurrences(of: "\"1.0\"", with: "\"2.0\"")
        let cases: [([[UInt8]], BusError)] = [
            ([Array("meta".utf8)], .invalidValue(field: "(envelope)")),
            ([Array("meta".utf8), Array("{".utf8)], .malformedJSON(offset: 1, reason: .unexpectedEnd)),
            ([Array("meta".utf8), valid.array, [1]], .invalidValue(field: "(envelope)")),
            ([Array("meta".utf8), Array(schema2.utf8)], .unsupportedSchema("2.0")),
            ([Array("meta".utf8), [UInt8](repeating: 0x20, count: 3000)], .messageTooLarge(limit: 2048)),
            ([[UInt8](repeating: 0x61, count: 300), valid.array], .invalidValue(field: "(topic)")),
        ]
        for (frames, expected) in cases {
            for (index, frame) in frames.enumerated() {
                XCTAssertTrue(try pub.send(frame, more: index < frames.count - 1, dontWait: true))
            }
            XCTAssertThrowsError(try subscriber.receive(timeoutMilliseconds: 2000)) {
                XCTAssertEqual($0 as? BusError, expected)
            }
        }
        XCTAssertTrue(try pub.send(Array("meta".utf8), more: true, dontWait: true))
        XCTAssertTrue(try pub.send(valid.array, dontWait: true))
        let received = try XCTUnwrap(try subscriber.receive(timeoutMilliseconds: 2000))
        XCTAssertEqual(received.topic, "meta")
        XCTAssertEqual(received.message, .meta(MetaMessage(seq: 3, modelID: "ok")))
        subscriber.close()
        XCTAssertThrowsError(try subscriber.receive(timeoutMilliseconds: 0))
    }

    func testSeqGapsAreReportedPerTopicAndResetByANewBootID() throws {
        let context = try ZmqContext()
        let pub = try ZmqSocket(context: context, type: .publisher)
        try pub.setLinger(milliseconds: 0)
        try pub.bind("tcp://127.0.0.1:*")
        let subscriber = try Subscriber(config: SubscriberConfig(endpoint: try pub.lastEndpoint(), topics: [""]))
        let buffer = MessageBuffer(capacity: 4096)
        func send(_ topic: String, seq: UInt64, boot: String) throws {
            try WireEncoder.encode(MetaMessage(seq: seq, bootID: boot), into: buffer)
            XCTAssertTrue(try pub.send(Array(topic.utf8), more: true, dontWait: true))
            XCTAssertTrue(try pub.send(buffer.array, dontWait: true))
        }
        let deadline = Date().addingTimeInterval(5)
        var connected = false
        while !connected && Date() < deadline {
            try send("warmup", seq: 0, boot: "w")
            connected = try subscriber.receive(timeoutMilliseconds: 20) != nil
        }
        XCTAssertTrue(connected)
        while try subscriber.receive(timeoutMilliseconds: 50) != nil {}
        let baseline = subscriber.missedTotal

        let script: [(String, UInt64, String, UInt64)] = [
            ("meta", 0, "b1", 0), ("meta", 1, "b1", 0), ("meta", 5, "b1", 3),  // 2, 3, 4 missed
            ("other", 9, "b1", 0),  // first on its topic
            ("meta", 6, "b1", 0), ("meta", 0, "b2", 0),  // restart: new boot id, seq starts over
            ("meta", 2, "b2", 1),
        ]
        for (topic, seq, boot, missed) in script {
            try send(topic, seq: seq, boot: boot)
            let received = try XCTUnwrap(try subscriber.receive(timeoutMilliseconds: 2000))
            XCTAssertEqual(received.topic, topic)
            XCTAssertEqual(received.missedBefore, missed, "\(topic) seq \(seq)")
        }
        XCTAssertEqual(subscriber.missedTotal - baseline, 4)
    }

    func testCurveSetupFailureCleansUpWithoutHanging() throws {
        let pair = try CurveKeyPair.generate()
        let start = Date()
        XCTAssertThrowsError(try Publisher(config: PublisherConfig(
            endpoints: ["tcp://127.0.0.1:*", "bogus://"], security: .curve(secretKey: pair.secretKey, allowedClients: []),
            bootID: "b")))
        // The ZAP thread was started, then torn down; a new publisher can bind the ZAP endpoint again.
        let publisher = try Publisher(config: PublisherConfig(
            endpoints: ["tcp://127.0.0.1:*"], security: .curve(secretKey: pair.secretKey, allowedClients: []),
            bootID: "b"))
        publisher.close()
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)
    }
}
