import Foundation
import XCTest

@testable import Bus
import LiteModel

/// Publishes meta until the subscriber sees one (the slow-joiner handshake), within a bound.
func waitUntilConnected(_ publisher: Publisher, _ subscriber: Subscriber, file: StaticString = #filePath,
                        line: UInt = #line) throws {
    publisher.setMeta(MetaMessage(modelID: "test"))
    let deadline = Date().addingTimeInterval(5)
    while Date() < deadline {
        try publisher.publishMetaIfDue(nowMonotonicNs: 0)
        publisher.setMeta(MetaMessage(modelID: "test"))
        if let received = try subscriber.receive(timeoutMilliseconds: 20), received.topic == "meta" { return }
    }
    XCTFail("subscriber never connected", file: file, line: line)
}

final class PublisherTests: XCTestCase {
    func testSubscriberReceivesContiguousSeqAndIdenticalMessages() throws {
        let publisher = try Publisher(config: PublisherConfig(endpoints: ["tcp://127.0.0.1:*"], security: .plaintext,
                                                              bootID: "boot-1"))
        let subscriber = try Subscriber(config: SubscriberConfig(endpoint: publisher.boundEndpoints[0],
                                                                 topics: ["det/cam0", "meta", "health"]))
        try waitUntilConnected(publisher, subscriber)
        var rng = SplitMix(state: 77)
        var received: [DetectionMessage] = []
        var sent: [DetectionMessage] = []
        for batch in 0..<50 {
            for _ in 0..<10 {
                var message = try randomDetection(using: &rng)
                message.camera = "cam0"
                XCTAssertTrue(try publisher.publish(&message))
                sent.append(message)
                var other = try randomDetection(using: &rng)
                other.camera = "cam1"  // not subscribed
                try publisher.publish(&other)
            }
            var health = HealthMessage(fps: 9.5)
            try publisher.publish(&health)
            while received.count < (batch + 1) * 10 {
                guard let message = try subscriber.receive(timeoutMilliseconds: 2000) else {
                    return XCTFail("timed out after \(received.count) messages")
                }
                if case .detection(let detection) = message.message {
                    XCTAssertEqual(message.topic, "det/cam0")
                    XCTAssertEqual(message.missedBefore, 0)
                    received.append(detection)
                }
            }
        }
        XCTAssertEqual(received.map(\.seq), Array(0..<500))
        XCTAssertEqual(received, sent)
        XCTAssertEqual(subscriber.missedTotal, 0)
        XCTAssertEqual(publisher.stats.dropped, 0)
        XCTAssertTrue(received.allSatisfy { $0.bootID == "boot-1" && $0.publishRealtimeNs > 0 })
    }

    func testStalledSubscriberNeverBlocksAndCloseIsBounded() throws {
        var config = PublisherConfig(endpoints: ["tcp://127.0.0.1:*"], security: .plaintext, bootID: "b")
        config.sendHighWaterMark = 4
        config.lingerMilliseconds = 200
        let publisher = try Publisher(config: config)
        // A subscriber that connects and never reads, with tiny queues.
        let context = try ZmqContext()
        let stalled = try ZmqSocket(context: context, type: .subscriber)
        try stalled.setReceiveHighWaterMark(1)
        try stalled.setLinger(milliseconds: 0)
        try stalled.subscribe("")
        try stalled.connect(publisher.boundEndpoints[0])
        Thread.sleep(forTimeInterval: 0.2)

        var message = DetectionMessage(camera: "cam0", modelID: String(repeating: "m", count: 16_000))
        var slowest = 0.0
        let start = Date()
        for _ in 0..<4_000 {
            let t0 = Date()
            try publisher.publish(&message)
            slowest = max(slowest, Date().timeIntervalSince(t0))
        }
        let elapsed = Date().timeIntervalSince(start)
        // 4 000 x 16 kB is 64 MB: far beyond any socket buffer, so a blocking publisher would stall here.
        XCTAssertLessThan(elapsed, 30, "4 000 publishes took \(elapsed) s")
        XCTAssertLessThan(slowest, 1.0, "one publish took \(slowest) s")
        XCTAssertEqual(message.seq, 3_999)

        let closeStart = Date()
        publisher.close()
        XCTAssertLessThan(Date().timeIntervalSince(closeStart), 2.0, "close took too long")
        stalled.close()
    }

    func testMetaIsRepublishedOnItsInterval() throws {
        var config = PublisherConfig(endpoints: ["tcp://127.0.0.1:*"], security: .plaintext, bootID: "b")
        config.metaIntervalNs = 1000
        let publisher = try Publisher(config: config)
        XCTAssertFalse(try publisher.publishMetaIfDue(nowMonotonicNs: 0), "nothing to publish before setMeta")
        publisher.setMeta(MetaMessage(modelID: "m"))
        XCTAssertTrue(try publisher.publishMetaIfDue(nowMonotonicNs: 5000))
        XCTAssertFalse(try publisher.publishMetaIfDue(nowMonotonicNs: 5999))
        XCTAssertTrue(try publisher.publishMetaIfDue(nowMonotonicNs: 6000))
        XCTAssertFalse(try publisher.publishMetaIfDue(nowMonotonicNs: 6001))
        XCTAssertEqual(publisher.stats.sent, 2)
    }

    func testHealthIsDueOncePerInterval() throws {
        let publisher = try Publisher(config: PublisherConfig(endpoints: ["tcp://127.0.0.1:*"], security: .plaintext,
                                                              bootID: "b"))
        XCTAssertTrue(publisher.isHealthDue(nowMonotonicNs: 0))
        var health = HealthMessage(fps: 3)
        try publisher.publish(&health)
        XCTAssertEqual(health.seq, 0)
        XCTAssertFalse(publisher.isHealthDue(nowMonotonicNs: health.monotonicNs + 999_999_999))
        XCTAssertTrue(publisher.isHealthDue(nowMonotonicNs: health.monotonicNs + 1_000_000_000))
        try publisher.publish(&health)
        XCTAssertEqual(health.seq, 1)
    }

    func testInvalidCameraNamesAndConfigurationsAreTypedErrors() throws {
        let publisher = try Publisher(config: PublisherConfig(endpoints: ["tcp://127.0.0.1:*"], security: .plaintext,
                                                              bootID: "b"))
        for name in ["", "cam/0", "cam 0", String(repeating: "c", count: 65), "caméra"] {
            var message = DetectionMessage(camera: name)
            XCTAssertThrowsError(try publisher.publish(&message)) {
                XCTAssertEqual($0 as? BusError, .invalidCameraName(name))
            }
        }
        XCTAssertThrowsError(try Publisher(config: PublisherConfig(endpoints: [], security: .plaintext, bootID: "b")))
        XCTAssertThrowsError(try Publisher(config: PublisherConfig(endpoints: ["bogus://x"], security: .plaintext,
                                                                   bootID: "b"))) { error in
            guard case .zmq(let zmq)? = error as? BusError else { return XCTFail("\(error)") }
            XCTAssertEqual(zmq.call, "zmq_bind")
        }
        var small = PublisherConfig(endpoints: ["tcp://127.0.0.1:*"], security: .plaintext, bootID: "b")
        small.maxMessageBytes = 100
        let tiny = try Publisher(config: small)
        var big = DetectionMessage(camera: "c", modelID: String(repeating: "x", count: 200))
        XCTAssertThrowsError(try tiny.publish(&big)) { XCTAssertEqual($0 as? BusError, .messageTooLarge(limit: 100)) }
    }

    func testIpcSocketIsRestrictedAndNeverStolen() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bus-ipc-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("det.sock").path
        var config = PublisherConfig(endpoints: ["ipc://" + path], security: .plaintext, bootID: "b")
        config.ipcMode = 0o640
        let publisher = try Publisher(config: config)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o640)
        XCTAssertThrowsError(try Publisher(config: config)) {
            XCTAssertEqual($0 as? BusError, .endpointInUse("ipc://" + path))
        }
        let subscriber = try Subscriber(config: SubscriberConfig(endpoint: "ipc://" + path, topics: ["det/"]))
        try waitUntilConnectedDetections(publisher, subscriber)
        publisher.close()
    }

    private func waitUntilConnectedDetections(_ publisher: Publisher, _ subscriber: Subscriber) throws {
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            var message = DetectionMessage(camera: "ipc")
            try publisher.publish(&message)
            if try subscriber.receive(timeoutMilliseconds: 20) != nil { return }
        }
        XCTFail("no message over ipc")
    }
}
