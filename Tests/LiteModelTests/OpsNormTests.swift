import Foundation
import XCTest

@testable import LiteModel

/// LayerNorm, channel attention, window partition and element-wise ops.
final class OpsNormTests: XCTestCase {
    /// The Swift lanes and, where the CPU has it, the AVX-512 kernel, each against the scalar reference.
    func testLayerNormFastEqualsReferenceAndNormalises() throws {
        defer { VectorKernels.force(avx512: nil) }
        for wide in [false, true] {
            VectorKernels.force(avx512: wide)
            if wide && !VectorKernels.usesAVX512 { continue }
            try checkLayerNorm()
        }
    }

    func checkLayerNorm() throws {
        var rng = TestRNG(21)
        for c in [1, 5, 15, 16, 17, 48, 256, 320, 768] {
            let rows = 7, ldx = c + 2  // a group of four rows and three single ones
            let x = rng.floats(rows * ldx, -4, 6), w = rng.floats(c, 0.5, 1.5), b = rng.floats(c, -0.5, 0.5)
            var y = [Float](repeating: 0, count: rows * c), yr = y
            var scratch = [Float](repeating: 0, count: 2 * c)
            try y.withUnsafeMutableBufferPointer { o in
                try LayerNorm(c: c, x: x, ldx: ldx, weight: w, bias: b, eps: 1e-6, output: .f32(o.baseAddress!, ld: c)).run(rows: 0..<rows)
            }
            try yr.withUnsafeMutableBufferPointer { o in
                try LayerNorm(c: c, x: x, ldx: ldx, weight: w, bias: b, eps: 1e-6, output: .f32(o.baseAddress!, ld: c))
                    .runReference(rows: 0..<rows, deviationScratch: &scratch)
            }
            assertBitEqual(y, yr, "layer norm C=\(c)")
            if c >= 16 {
                // Float64 check of the definition: ((x - mean) / sqrt(var + eps)) * w + b.
                let row = (0..<c).map { Double(x[ldx + $0]) }
                let mean = row.reduce(0, +) / Double(c)
                let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(c)
                for i in 0..<c {
                    let want = (row[i] - mean) / (variance + 1e-6).squareRoot() * Double(w[i]) + Double(b[i])
                    XCTAssertEqual(Double(y[c + i]), want, accuracy: 1e-5)
                }
            }
            // int8 output is Q of the fp32 output.
            var q = [Int8](repeating: 0, count: rows * c)
            try q.withUnsafeMutableBufferPointer { o in
                try LayerNorm(c: c, x: x, ldx: ldx, weight: w, bias: b, eps: 1e-6,
                              output: .qs8(o.baseAddress!, ld: c, invScale: 40, zeroPoint: 3)).run(rows: 0..<rows)
            }
            XCTAssertEqual(q, y.map { quantize($0, invScale: 40, zeroPoint: 3) })
        }
    }

    func testLayerNormRejectsBadArguments() throws {
        let x: [Float] = [1, 2]
        var o: [Float] = [0, 0]
        try o.withUnsafeMutableBufferPointer { op in
            XCTAssertThrowsError(try LayerNorm(c: 2, x: x, ldx: 1, weight: x, bias: x, eps: 1e-6, output: .f32(op.baseAddress!, ld: 2)))
            XCTAssertThrowsError(try LayerNorm(c: 2, x: x, ldx: 2, weight: x, bias: x, eps: 0, output: .f32(op.baseAddress!, ld: 2)))
        }
    }

    func testChannelAttentionFastEqualsReferenceAndDefinition() throws {
        var rng = TestRNG(22)
        for (pixels, c, hidden) in [(1, 16, 1), (37, 32, 2), (64 * 64, 128, 8), (5, 3, 2)] {
            let x = rng.floats(pixels * c, -2, 2)
            let w1 = rng.floats(hidden * c, -0.5, 0.5), b1 = rng.floats(hidden, -0.1, 0.1)
            let w2 = rng.floats(c * hidden, -0.5, 0.5), b2 = rng.floats(c, -0.1, 0.1)
            let ca = try ChannelAttention(pixels: pixels, c: c, hidden: hidden, w1: w1, b1: b1, w2: w2, b2: b2)
            var scratch = [Float](repeating: 0, count: ca.scratchCount)
            var y = x, yr = [Float](repeating: 0, count: x.count)
            y.withUnsafeMutableBufferPointer { yp in ca.run(yp.baseAddress!, into: yp.baseAddress!, scratch: &scratch) }  // in place
            ca.runReference(x, into: &yr, scratch: &scratch)
            assertBitEqual(y, yr, "channel attention \(pixels)x\(c)")
            // Float64 check of one channel's gate.
            let ch = c - 1
            let avg = (0..<c).map { k in (0..<pixels).map { Double(x[$0 * c + k]) }.reduce(0, +) / Double(pixels) }
            let mx = (0..<c).map { k in (0..<pixels).map { Double(x[$0 * c + k]) }.max()! }
            func fc(_ v: [Double]) -> Double {
                let h = (0..<hidden).map { j in max(0, (0..<c).map { Double(w1[j * c + $0]) * v[$0] }.reduce(0, +) + Double(b1[j])) }
                return (0..<hidden).map { Double(w2[ch * hidden + $0]) * h[$0] }.reduce(0, +) + Double(b2[ch])
            }
            let gate = 1 / (1 + Foundation.exp(-(fc(avg) + fc(mx))))
            XCTAssertEqual(Double(y[ch]), Double(x[ch]) * (1 + gate), accuracy: 1e-5)
        }
    }

    func testWindowPartitionPadsWithTheZeroPointAndRoundTrips() throws {
        let g = try WindowGeometry(h: 32, w: 32, size: 14)
        XCTAssertEqual(g.windowCount, 9)
        XCTAssertEqual(g.paddedH, 42)
        XCTAssertTrue(g.validExtent(window: 0) == (14, 14))
        XCTAssertTrue(g.validExtent(window: 2) == (14, 4))
        XCTAssertTrue(g.validExtent(window: 8) == (4, 4))
        let c = 3
        let src = (0..<(32 * 32 * c)).map { Int8(truncatingIfNeeded: $0 % 251) }
        var windows = [Int8](repeating: 0, count: 9 * 196 * c)
        g.partition(src, c: c, pad: Int8(-5), into: &windows)
        // Window 4 (middle), token (3, 7) is pixel (17, 21).
        XCTAssertEqual(Array(windows[((4 * 14 + 3) * 14 + 7) * c..<((4 * 14 + 3) * 14 + 8) * c]),
                       Array(src[(17 * 32 + 21) * c..<(17 * 32 + 22) * c]))
        // Window 8, token (5, 2) is pixel (33, 30): padding.
        XCTAssertEqual(windows[((8 * 14 + 5) * 14 + 2) * c], -5)
        XCTAssertEqual(windows.filter { $0 == -5 }.count >= (42 * 42 - 32 * 32) * c, true)
        var back = [Int8](repeating: 0, count: src.count)
        g.unpartition(windows, c: c, into: &back)
        XCTAssertEqual(back, src)
    }

    func testElementwiseOps() {
        let x: [Float] = [1e8, 1, -3], y: [Float] = [1, 2, 3], z: [Float] = [-1e8, 0.5, 0]
        var out = [Float](repeating: 0, count: 3)
        Elementwise.add3(x, y, z, into: &out, count: 3)
        XCTAssertEqual(out, [0, 3.5, 0])  // (1e8 + 1) rounds to 1e8 first: left to right
        Elementwise.add(x, y, into: &out, count: 3)
        XCTAssertEqual(out, [1e8 + 1, 3, 0])
        var a: [Float] = [-1, 0, 2]
        Elementwise.activate(&a, count: 3, .relu)
        XCTAssertEqual(a, [0, 0, 2])
        a = [-1, 0, 2]
        Elementwise.activate(&a, count: 3, .gelu)
        XCTAssertEqual(a, [gelu32(-1), 0, gelu32(2)])
        var q = [Int8](repeating: 0, count: 3)
        Elementwise.quantize([0.5, 1.5, -100], into: &q, count: 3, invScale: 1, zeroPoint: 0)
        XCTAssertEqual(q, [0, 2, -100])
        var cat = [Float](repeating: 0, count: 2 * 5)
        Elementwise.copyChannels([1, 2, 3, 4, 5, 6], ldSrc: 3, c: 3, pixels: 2, into: &cat, ldDst: 5, offset: 0)
        Elementwise.copyChannels([7, 8, 9, 10], ldSrc: 2, c: 2, pixels: 2, into: &cat, ldDst: 5, offset: 3)
        XCTAssertEqual(cat, [1, 2, 3, 7, 8, 4, 5, 6, 9, 10])
        var gated = [Float](repeating: 0, count: 2)
        Elementwise.addScaled([1, 2], gate: 0.5, [4, -8], into: &gated, count: 2)
        XCTAssertEqual(gated, [3, -2])
        // [T=2, D=3] buffer 0..5 read flat as [D, T]: token 0 = (0, 2, 4), token 1 = (1, 3, 5).
        var scrambled = [Int8](repeating: 0, count: 6)
        Elementwise.scramble([0, 1, 2, 3, 4, 5] as [Int8], tokens: 2, channels: 3, into: &scrambled)
        XCTAssertEqual(scrambled, [0, 2, 4, 1, 3, 5])
        // By output-token ranges (the pool's unit): the pieces make the whole, nothing outside a range is written.
        let flat = (0..<(7 * 5)).map { Int8($0) }
        var whole = [Int8](repeating: 0, count: 35), pieces = [Int8](repeating: -1, count: 35)
        Elementwise.scramble(flat, tokens: 7, channels: 5, into: &whole)
        Elementwise.scramble(flat, tokens: 7, channels: 5, rows: 0..<3, into: &pieces)
        XCTAssertEqual(Array(pieces[15...]), [Int8](repeating: -1, count: 20))
        Elementwise.scramble(flat, tokens: 7, channels: 5, rows: 3..<9, into: &pieces)
        XCTAssertEqual(pieces, whole)
    }
}
