import XCTest

@testable import Bus
import LiteModel

final class WireCodecTests: XCTestCase {
    let decoder = WireDecoder()

    func testThousandsOfRandomDetectionsRoundTripExactly() throws {
        var rng = SplitMix(state: 2024)
        let buffer = MessageBuffer(capacity: 1 << 16)
        let again = MessageBuffer(capacity: 1 << 16)
        var empty = 0
        for index in 0..<3000 {
            let message = try randomDetection(using: &rng)
            if message.instances.isEmpty { empty += 1 }
            try WireEncoder.encode(message, into: buffer)
            let decoded = try decoder.decodeDetection(buffer.array)
            XCTAssertEqual(decoded, message, "message \(index): \(buffer.text)")
            // Identical values give identical bytes.
            try WireEncoder.encode(decoded, into: again)
            XCTAssertEqual(again.array, buffer.array)
            for instance in decoded.instances {
                XCTAssertEqual(try COCORLE.area(instance.mask.counts, height: instance.mask.height, width: instance.mask.width),
                               instance.area)
            }
        }
        XCTAssertGreaterThan(empty, 100, "empty frames are part of the mix")
    }

    func testHealthAndMetaRoundTrip() throws {
        var rng = SplitMix(state: 5)
        let buffer = MessageBuffer(capacity: 4096)
        for _ in 0..<500 {
            let health = HealthMessage(seq: rng.next(), bootID: randomText(using: &rng), monotonicNs: rng.next(),
                                       realtimeNs: rng.next(), uptimeNs: rng.next(), state: randomText(using: &rng),
                                       fps: quantized(Double.random(in: 0...200, using: &rng)),
                                       latencyP50Micros: rng.next(), latencyP90Micros: 2, latencyP99Micros: 3,
                                       latencyMaxMicros: 4, framesProcessed: rng.next(), droppedFrames: 7,
                                       publishDropped: rng.next(), arenaBytes: rng.next(), peakRSSBytes: 9,
                                       gpio: [GPIOLineState(name: randomText(using: &rng), value: 1),
                                              GPIOLineState(name: "fault", value: 0)],
                                       errorCount: 3, lastError: randomText(using: &rng, maxLength: 40))
            try WireEncoder.encode(health, into: buffer)
            XCTAssertEqual(try decoder.decode(buffer.array), .health(health))
            let meta = MetaMessage(seq: rng.next(), bootID: "b", monotonicNs: 1, realtimeNs: 2,
                                   modelID: randomText(using: &rng), modelName: "dualsam-lite", modelVersion: "1.0.0",
                                   modelHash: "0123abcd", inputWidth: 352, inputHeight: 352,
                                   labels: [LabelEntry(id: 0, name: randomText(using: &rng))], runtimeVersion: "0.1.0")
            try WireEncoder.encode(meta, into: buffer)
            XCTAssertEqual(try decoder.decode(buffer.array), .meta(meta))
        }
    }

    func testExactBytesOfAKnownMessage() throws {
        let mask = WireMask(height: 2, width: 3, counts: Array("121O0".utf8))
        let message = DetectionMessage(
            seq: 7, bootID: "b00t", camera: "cam0", frameID: 42, captureMonotonicNs: 1, captureRealtimeNs: 2,
            publishMonotonicNs: 3, publishRealtimeNs: 4,
            latency: LatencyBreakdown(queueMicros: 10, preprocessMicros: 20, inferenceMicros: 30, postprocessMicros: 40),
            imageWidth: 3, imageHeight: 2, modelID: "m", droppedFrames: 1,
            instances: [DetectedInstance(id: 1, label: 0, score: 0.98765, x: 0, y: 0, width: 3, height: 2, area: 3,
                                         centroidX: 1.0 / 3.0, centroidY: -0.00004, mask: mask)],
            mask: mask)
        let buffer = MessageBuffer(capacity: 1024)
        try WireEncoder.encode(message, into: buffer)
        let expected = #"{"schema":"1.0","type":"detection","seq":7,"boot_id":"b00t","camera":"cam0","frame_id":42,"#
            + #""capture_monotonic_ns":1,"capture_realtime_ns":2,"publish_monotonic_ns":3,"publish_realtime_ns":4,"#
            + #""latency_us":{"queue":10,"preprocess":20,"inference":30,"postprocess":40},"image":{"width":3,"height":2},"#
            + #""model":"m","dropped_frames":1,"instances":[{"id":1,"label":0,"score":0.9877,"bbox":[0,0,3,2],"#
            + #""center":[1.5000,1.0000],"size":[3,2],"area":3,"centroid":[0.3333,0.0000],"#
            + #""mask":{"size":[2,3],"counts":"121O0"}}],"mask":{"size":[2,3],"counts":"121O0"}}"#
        XCTAssertEqual(buffer.text, expected)
    }

    func testFixedDecimalFormatting() throws {
        let buffer = MessageBuffer(capacity: 64)
        func format(_ value: Double) throws -> String {
            var w = JSONWriter(buffer)
            try w.fixed(value, field: "x")
            w.finish()
            return buffer.text
        }
        XCTAssertEqual(try format(0), "0.0000")
        XCTAssertEqual(try format(-0.0), "0.0000")
        XCTAssertEqual(try format(0.00005), "0.0001")  // half away from zero (0.00005 * 1e4 rounds to 0.5 exactly)
        XCTAssertEqual(try format(-2.5), "-2.5000")
        XCTAssertEqual(try format(1234567.89), "1234567.8900")
        XCTAssertEqual(try format(8.9e14), "890000000000000.0000")
        for bad in [Double.nan, .infinity, -.infinity, 9.0e14] {
            XCTAssertThrowsError(try format(bad)) { XCTAssertEqual($0 as? BusError, .invalidValue(field: "x")) }
        }
        var w = JSONWriter(buffer)
        try w.integer(Int.min)
        try w.byte(0x20)
        try w.unsigned(UInt64.max)
        w.finish()
        XCTAssertEqual(buffer.text, "-9223372036854775808 18446744073709551615")
    }

    func testEncoderThrowsMessageTooLargeInsteadOfGrowing() throws {
        var rng = SplitMix(state: 1)
        var message = try randomDetection(using: &rng)
        message.bootID = String(repeating: "x", count: 300)
        let small = MessageBuffer(capacity: 256)
        XCTAssertThrowsError(try WireEncoder.encode(message, into: small)) {
            XCTAssertEqual($0 as? BusError, .messageTooLarge(limit: 256))
        }
        XCTAssertThrowsError(try WireEncoder.encode(HealthMessage(lastError: String(repeating: "e", count: 300)), into: small))
        // The buffer is still usable afterwards.
        try WireEncoder.encode(MetaMessage(), into: small)
        XCTAssertEqual(try decoder.decode(small.array), .meta(MetaMessage()))
    }

    func testEscapesSurviveAndRLEBackslashIsEscaped() throws {
        var message = DetectionMessage(bootID: "q\"\\/\n\t\u{1}\u{e9}\u{1F41F}", camera: "c")
        // '\\' (92) is a legal RLE character: it must be escaped inside the JSON string.
        message.mask = WireMask(height: 1, width: 1, counts: Array(#"\"#.utf8))
        let buffer = MessageBuffer(capacity: 2048)
        try WireEncoder.encode(message, into: buffer)
        XCTAssertTrue(buffer.text.contains(#""counts":"\\""#))
        XCTAssertTrue(buffer.text.contains(#""boot_id":"q\"\\/\n\t\u0001é🐟""#))
        XCTAssertEqual(try decoder.decodeDetection(buffer.array), message)
    }
}
