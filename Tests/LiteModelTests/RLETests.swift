import XCTest

@testable import LiteModel

/// SplitMix64: a small deterministic generator so failures reproduce.
private struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

final class RLETests: XCTestCase {
    // Expected strings were produced by pycocotools.mask.encode on the same masks
    // (tests/python/test_bus_rle.py checks many more against pycocotools directly).
    func testKnownVectorsFromPycocotools() throws {
        XCTAssertEqual(try COCORLE.encodeString(mask: [0, 1, 1, 1, 0, 0], height: 2, width: 3), "121O0")
        XCTAssertEqual(try COCORLE.encodeString(mask: [1], height: 1, width: 1), "01")
        XCTAssertEqual(try COCORLE.encodeString(mask: [0], height: 1, width: 1), "1")
        var box = [UInt8](repeating: 0, count: 5 * 7)
        for y in 1..<4 { for x in 2..<6 { box[y * 7 + x] = 1 } }
        XCTAssertEqual(try COCORLE.encodeString(mask: box, height: 5, width: 7), ";32000004")
        var big = [UInt8](repeating: 0, count: 100 * 100)
        for y in 10..<90 { for x in 5..<95 { big[y * 100 + x] = 1 } }
        big[50 * 100 + 50] = 0
        let expected = "n?`2d" + String(repeating: "0", count: 89) + "hN]OOc0Y1" + String(repeating: "0", count: 86) + "Z?"
        XCTAssertEqual(try COCORLE.encodeString(mask: big, height: 100, width: 100), expected)
    }

    func testRandomRoundTripsAndEdgeCases() throws {
        var rng = SplitMix(state: 7)
        var cases: [(h: Int, w: Int, mask: [UInt8])] = []
        for (h, w) in [(1, 1), (1, 17), (17, 1), (3, 5), (33, 31), (64, 64)] {
            let n = h * w
            cases.append((h, w, [UInt8](repeating: 0, count: n)))
            cases.append((h, w, [UInt8](repeating: 1, count: n)))
            var first = [UInt8](repeating: 0, count: n); first[0] = 1
            var last = [UInt8](repeating: 0, count: n); last[n - 1] = 1
            var single = [UInt8](repeating: 0, count: n); single[n / 2] = 1
            cases.append((h, w, first)); cases.append((h, w, last)); cases.append((h, w, single))
        }
        for _ in 0..<2000 {
            let h = Int.random(in: 1...40, using: &rng), w = Int.random(in: 1...40, using: &rng)
            let density = Double.random(in: 0...1, using: &rng)
            let mask = (0..<(h * w)).map { _ in Double.random(in: 0..<1, using: &rng) < density ? UInt8(1) : 0 }
            cases.append((h, w, mask))
        }
        for c in cases {
            let encoded = try COCORLE.encode(mask: c.mask, height: c.h, width: c.w)
            XCTAssertLessThanOrEqual(encoded.count, COCORLE.maxEncodedLength(height: c.h, width: c.w))
            XCTAssertTrue(encoded.allSatisfy { $0 >= 48 && $0 <= 111 })
            let decoded = try COCORLE.decode(encoded, height: c.h, width: c.w)
            XCTAssertEqual(decoded, c.mask, "\(c.h)x\(c.w)")
            XCTAssertEqual(try COCORLE.area(encoded, height: c.h, width: c.w), c.mask.reduce(0) { $0 + Int($1) })
        }
    }

    func testNonzeroCountsAsForeground() throws {
        XCTAssertEqual(try COCORLE.encode(mask: [0, 255, 7, 0], height: 2, width: 2),
                       try COCORLE.encode(mask: [0, 1, 1, 0], height: 2, width: 2))
    }

    func testBufferFormReportsTooSmallAndBadSizes() throws {
        let mask: [UInt8] = [0, 1, 0, 1, 0, 1]
        var output = [UInt8](repeating: 0, count: 2)
        XCTAssertThrowsError(try mask.withUnsafeBufferPointer { source in
            try output.withUnsafeMutableBufferPointer { try COCORLE.encode(mask: source, height: 2, width: 3, into: $0) }
        }) { XCTAssertEqual($0 as? RLEError, .bufferTooSmall(capacity: 2)) }
        XCTAssertThrowsError(try COCORLE.encode(mask: mask, height: 2, width: 2)) {
            XCTAssertEqual($0 as? RLEError, .invalidSize(height: 2, width: 2, pixels: 6))
        }
        XCTAssertThrowsError(try COCORLE.encode(mask: [], height: -1, width: 0))
    }

    func testDecoderRejectsCorruptStrings() {
        func decodeError(_ text: String, _ h: Int, _ w: Int) -> RLEError? {
            do throws(RLEError) {
                _ = try COCORLE.decode(Array(text.utf8), height: h, width: w); return nil
            } catch { return error }
        }
        XCTAssertEqual(decodeError("12", 1, 1), .invalidCount(index: 1))
        XCTAssertEqual(decodeError("11", 1, 1), .lengthMismatch(expected: 1, actual: 2))
        XCTAssertEqual(decodeError("1", 2, 1), .lengthMismatch(expected: 2, actual: 1))
        XCTAssertEqual(decodeError("1~", 2, 1), .invalidCharacter(offset: 1))
        XCTAssertEqual(decodeError("0P", 2, 1), .truncated)  // 'P' = 32 + 48: "more" with nothing after
        XCTAssertEqual(decodeError("O", 2, 1), .invalidCount(index: 0))  // 'O' = 31 + 48: -1
        XCTAssertEqual(decodeError(String(repeating: "o", count: 20) + "0", 2, 1), .invalidCount(index: 0))
        XCTAssertEqual(decodeError("", 1, 1), .lengthMismatch(expected: 1, actual: 0))
        XCTAssertEqual(decodeError("0", 0, 5), nil)
    }

    /// The label form (`encode(labels:id:columns:)`, the engine's path) equals the mask form of the same mask:
    /// one id within its bbox columns, or every id > 0 over all columns; ids touching the first and last
    /// column, dropped (-1) pixels, empty masks and frames of one row or one column.
    func testMapFormEqualsTheThresholdedMaskForm() throws {
        var rng = TestRNG(78)
        for trial in 0..<200 {
            // Every fourth map is large (strips of 64 columns and blocks of 64 rows, partial at both ends) and
            // made of blobs (long runs crossing blocks) rather than noise.
            let large = trial % 4 == 3
            let h = trial % 11 == 0 ? 1 : (large ? rng.int(60...150) : rng.int(1...20))
            let w = trial % 7 == 0 ? 1 : (large ? rng.int(60...150) : rng.int(1...20))
            let t = UInt8([0, 65, 65, 127, 200, 255][trial % 6])
            let (cy, cx, r) = (rng.int(0...h), rng.int(0...w), rng.int(1...60))
            let map = (0..<(h * w)).map { p -> UInt8 in
                if large { return (p / w - cy) * (p / w - cy) + (p % w - cx) * (p % w - cx) < r * r ? 255 : UInt8(rng.int(0...Int(t))) }
                return UInt8(rng.int(0...2) == 0 ? Int(t) : rng.int(0...255))
            }
            let want = try COCORLE.encode(mask: map.map { $0 > t ? 1 : 0 }, height: h, width: w)
            var out = [UInt8](repeating: 0, count: COCORLE.maxEncodedLength(height: h, width: w))
            var scratch = [UInt64](repeating: 0xAAAA, count: COCORLE.scratchCount(height: h))
            for strips in [false, true] {
                let n = try map.withUnsafeBufferPointer { m in
                    try out.withUnsafeMutableBufferPointer {
                        strips ? try COCORLE.encode(map: m, threshold: t, height: h, width: w, scratch: &scratch, into: $0)
                               : try COCORLE.encode(map: m, threshold: t, height: h, width: w, into: $0)
                    }
                }
                XCTAssertEqual(Array(out[0..<n]), want, "trial \(trial) strips \(strips)")
            }
        }
        XCTAssertThrowsError(try [UInt8](repeating: 0, count: 5).withUnsafeBufferPointer { m in
            var out = [UInt8](repeating: 0, count: 16)
            return try out.withUnsafeMutableBufferPointer { try COCORLE.encode(map: m, threshold: 1, height: 2, width: 2, into: $0) }
        })
    }

    func testLabelFormEqualsMaskForm() throws {
        var rng = TestRNG(77)
        for trial in 0..<300 {
            let large = trial % 5 == 4  // strips of 64 columns and blocks of 64 rows, partial at both ends
            let h = trial % 17 == 0 ? 1 : (large ? rng.int(60...140) : rng.int(1...24))
            let w = trial % 13 == 0 ? 1 : (large ? rng.int(60...140) : rng.int(1...24))
            var labels = [Int32](repeating: 0, count: h * w)
            let ids = rng.int(0...4)
            for p in 0..<(h * w) where rng.int(0...2) > 0 { labels[p] = Int32(rng.int(-1...ids)) }
            if large {  // a big rectangle of one id over the noise
                let id = Int32(max(ids, 1)), y0 = rng.int(0...(h - 1)), x0 = rng.int(0...(w - 1))
                for y in y0..<min(h, y0 + 70) { for x in x0..<min(w, x0 + 90) { labels[y * w + x] = id } }
            }
            var scratch = [UInt64](repeating: 0x5555, count: COCORLE.scratchCount(height: h))
            func check(_ id: Int32?, columns: Range<Int>) throws {
                let mask = labels.map { (l: Int32) -> UInt8 in (id.map { l == $0 } ?? (l > 0)) ? 1 : 0 }
                let want = try COCORLE.encode(mask: mask, height: h, width: w)
                var out = [UInt8](repeating: 0, count: COCORLE.maxEncodedLength(height: h, width: w))
                for strips in [false, true] {
                    let n = try labels.withUnsafeBufferPointer { l in
                        try out.withUnsafeMutableBufferPointer {
                            strips ? try COCORLE.encode(labels: l, id: id, height: h, width: w, columns: columns,
                                                        scratch: &scratch, into: $0)
                                   : try COCORLE.encode(labels: l, id: id, height: h, width: w, columns: columns, into: $0)
                        }
                    }
                    XCTAssertEqual(Array(out[0..<n]), want, "trial \(trial) id \(String(describing: id)) columns \(columns) strips \(strips)")
                }
            }
            try check(nil, columns: 0..<w)
            for id in Int32(1)...Int32(max(ids, 1)) {
                let xs = (0..<(h * w)).filter { labels[$0] == id }.map { $0 % w }
                guard let lo = xs.min(), let hi = xs.max() else {
                    try check(id, columns: 0..<0)  // no pixel: all background
                    continue
                }
                try check(id, columns: lo..<(hi + 1))
                try check(id, columns: max(0, lo - 1)..<min(w, hi + 2))  // wider than the bbox: same string
            }
        }
    }
}
