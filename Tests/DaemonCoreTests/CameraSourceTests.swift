import Bus
import EdgeRuntime
import XCTest

@testable import DaemonCore

final class CameraSourceTests: XCTestCase {
    private func header(width: Int = 4, height: Int = 2, encoding: PixelEncoding = .rgb8, step: Int? = nil, seq: UInt64 = 7) -> CameraFrameHeader {
        CameraFrameHeader(encoding: encoding, width: width, height: height, step: step ?? width * encoding.bytesPerPixel,
                          seq: seq, captureStampNanoseconds: 1_700_000_000_123_456_789, frameId: "cam0")
    }

    func testHeaderRoundTripAndLayout() throws {
        let bytes = header().serialized()
        XCTAssertEqual(bytes.count, 42 + 4)
        XCTAssertEqual(Array(bytes[0..<4]), Array("EDGF".utf8))
        XCTAssertEqual(bytes[8], 4)
        XCTAssertEqual(bytes[24], 7)
        XCTAssertEqual(try CameraFrameHeader.parse(bytes, origin: "t"), header())
    }

    /// The same bytes as tests/python/test_daemon_camera_pub.py: Swift and examples/camera_pub.py agree.
    func testHeaderGoldenVector() throws {
        let hex = "454447460100000004000000020000000c00000000000000070000000000000015cd853dfe9c9717040063616d30"
        var expected: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            expected.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        XCTAssertEqual(header().serialized(), expected)
    }

    func testHeaderErrors() {
        var bytes = header().serialized()
        XCTAssertThrowsError(try CameraFrameHeader.parse(Array(bytes.prefix(20)), origin: "t")) { e in
            XCTAssertEqual((e as? FrameError)?.kind, .truncated)
        }
        bytes[6] = 9
        XCTAssertThrowsError(try CameraFrameHeader.parse(bytes, origin: "t")) { e in
            XCTAssertEqual((e as? FrameError)?.kind, .unsupported)
        }
        var badMagic = header().serialized()
        badMagic[0] = 0
        XCTAssertThrowsError(try CameraFrameHeader.parse(badMagic, origin: "t")) { e in
            XCTAssertEqual((e as? FrameError)?.kind, .corrupt)
        }
    }

    func testReceivesFramesAndRejectsBadOnesOverZeroMQ() throws {
        let context = try ZmqContext()
        let publisher = try ZmqSocket(context: context, type: .publisher)
        try publisher.setLinger(milliseconds: 0)
        try publisher.bind("tcp://127.0.0.1:*")
        let endpoint = try publisher.lastEndpoint()
        var settings = CameraSettings()
        settings.endpoint = endpoint
        settings.topic = "frame"
        settings.width = 4
        let source = try CameraSource(settings: settings)

        func send(_ parts: [[UInt8]]) throws {
            for (i, part) in parts.enumerated() { _ = try publisher.send(part, more: i < parts.count - 1) }
        }
        let pixels = [UInt8](repeating: 5, count: 4 * 2 * 3)
        // Slow joiner: publish until the subscription has reached the publisher.
        var first: Frame?
        for _ in 0..<100 where first == nil {
            try send([Array("frame".utf8), header(seq: 1).serialized(), pixels])
            if case .frame(let f) = try source.next() { first = f }
        }
        let frame = try XCTUnwrap(first)
        XCTAssertEqual(frame.width, 4)
        XCTAssertEqual(frame.frameId, "cam0")
        XCTAssertEqual(frame.captureStampNanoseconds, 1_700_000_000_123_456_789)
        while case .frame = try source.next() {}

        func expectError(_ parts: [[UInt8]], _ kind: FrameError.Kind, line: UInt = #line) throws {
            try send(parts)
            var outcome: FrameError?
            for _ in 0..<20 where outcome == nil {
                do {
                    if case .frame = try source.next() { XCTFail("accepted a bad frame", line: line); return }
                } catch { outcome = error }
            }
            XCTAssertEqual(outcome?.kind, kind, "\(String(describing: outcome))", line: line)
        }
        try expectError([Array("frame".utf8), header(seq: 2).serialized(), Array(pixels.dropLast(3))], .truncated)
        try expectError([Array("frame".utf8), header(width: 6, seq: 3).serialized(), [UInt8](repeating: 0, count: 36)], .wrongSize)
        try expectError([Array("frame".utf8), header(seq: 4).serialized()], .truncated)
        try expectError([Array("frame".utf8), Array("garbage".utf8), pixels], .truncated)
        try expectError([Array("frame".utf8), header(step: 2, seq: 5).serialized(), [UInt8](repeating: 0, count: 4)], .wrongSize)

        // Still running: a good frame after the bad ones is accepted; another topic is ignored.
        try send([Array("frame2".utf8), header(seq: 8).serialized(), pixels])
        try send([Array("frame".utf8), header(seq: 9).serialized(), pixels])
        var next: Frame?
        for _ in 0..<20 where next == nil {
            if case .frame(let f) = try source.next() { next = f }
        }
        XCTAssertEqual(next?.seq, 9)
    }

    func testInterruptReturnsIdle() throws {
        var settings = CameraSettings()
        settings.endpoint = "tcp://127.0.0.1:1"
        let source = try CameraSource(settings: settings)
        source.interrupt()
        XCTAssertEqual(try source.next(), .idle)
    }

    func testBadEndpointIsASourceError() {
        var settings = CameraSettings()
        settings.endpoint = "tcp://nonsense"
        XCTAssertThrowsError(try CameraSource(settings: settings))
    }
}
