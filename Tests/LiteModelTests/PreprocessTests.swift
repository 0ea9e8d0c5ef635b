import Foundation
import XCTest

@testable import LiteModel

/// Frame conversion, gamma LUT, integer resize and input tables (NUMERICS 7).
final class PreprocessTests: XCTestCase {
    typealias V = NumericsVectors

    func testConvertBGRAndMonoWithRowPadding() throws {
        let bgr: [UInt8] = [1, 2, 3, 4, 5, 6, 99, 7, 8, 9, 10, 11, 12, 99]   // 2x2, rowBytes 7
        var rgb = [UInt8](repeating: 0, count: 12)
        try Preprocess.convertToRGB8(bgr, width: 2, height: 2, rowBytes: 7, format: .bgr8, into: &rgb)
        XCTAssertEqual(rgb, [3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10])
        try Preprocess.convertToRGB8([5, 6, 0, 7, 8, 0], width: 2, height: 2, rowBytes: 3, format: .mono8, into: &rgb)
        XCTAssertEqual(rgb, [5, 5, 5, 6, 6, 6, 7, 7, 7, 8, 8, 8])
        try Preprocess.convertToRGB8(bgr, width: 2, height: 2, rowBytes: 7, format: .rgb8, into: &rgb)
        XCTAssertEqual(rgb, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        XCTAssertThrowsError(try Preprocess.convertToRGB8(bgr, width: 3, height: 2, rowBytes: 7, format: .rgb8, into: &rgb))
        XCTAssertThrowsError(try Preprocess.convertToRGB8(bgr, width: 3, height: 1, rowBytes: 8, format: .yuyv, into: &rgb))
        XCTAssertThrowsError(try Preprocess.convertToRGB8(bgr, width: 0, height: 1, rowBytes: 8, format: .rgb8, into: &rgb))
    }

    func testYUYVUsesIntegerBT601LimitedRange() throws {
        // Pairs: black (16,128,128), white (235,128,128), and saturated colours that clamp.
        let yuyv: [UInt8] = [16, 128, 235, 128, 81, 90, 145, 240, 41, 240, 210, 16]
        var rgb = [UInt8](repeating: 0, count: 18)
        try Preprocess.convertToRGB8(yuyv, width: 6, height: 1, rowBytes: 12, format: .yuyv, into: &rgb)
        func expect(_ y: Int, _ u: Int, _ v: Int) -> [UInt8] {
            let c = y - 16, d = u - 128, e = v - 128
            func cl(_ x: Int) -> UInt8 { UInt8(max(0, min(255, x))) }
            return [cl((298 * c + 409 * e + 128) >> 8), cl((298 * c - 100 * d - 208 * e + 128) >> 8), cl((298 * c + 516 * d + 128) >> 8)]
        }
        XCTAssertEqual(Array(rgb[0..<3]), [0, 0, 0])
        XCTAssertEqual(Array(rgb[3..<6]), [255, 255, 255])
        XCTAssertEqual(Array(rgb[6..<9]), expect(81, 90, 240))
        XCTAssertEqual(Array(rgb[9..<12]), expect(145, 90, 240))
        XCTAssertEqual(Array(rgb[12..<15]), expect(41, 240, 16))
        XCTAssertEqual(Array(rgb[15..<18]), expect(210, 240, 16))
        XCTAssertEqual(Array(rgb[6..<9]), [255, 0, 0])   // BT.601 red (81, 90, 240) clamps to pure red
    }

    /// The SIMD gray sum (16 pixels per step, masked or scalar tail) equals the scalar loop: every length 0...40,
    /// a frame row, odd start addresses, all-white pixels (the largest per-pixel value) and random ones.
    func testGraySumKernelEqualsScalar() {
        var rng = TestRNG(31)
        let bytes = rng.int8s(3 * 700 + 7).map { UInt8(bitPattern: $0) }
        let white = [UInt8](repeating: 255, count: 3 * 700)
        bytes.withUnsafeBufferPointer { b in white.withUnsafeBufferPointer { w in
            for pixels in Array(0...40) + [47, 48, 49, 640, 700] {
                for start in [0, 1, 7] where 3 * pixels + start <= b.count {
                    XCTAssertEqual(Preprocess.graySum(b.baseAddress! + start, pixels: pixels),
                                   Preprocess.graySumScalar(b.baseAddress! + start, pixels: pixels), "\(pixels) pixels at \(start)")
                }
                XCTAssertEqual(Preprocess.graySum(w.baseAddress!, pixels: min(pixels, 700)), UInt64(255 * min(pixels, 700)))
            }
        } }
        // Pixels on the rounding boundary ((4899 R + 9617 G + 1868 B + 8192) a multiple of 2^14): an off-by-one in
        // the rounding term changes each of them.
        var edge = [UInt8]()
        for r in 0..<64 { for g in 0..<64 { for b in 0..<256 where (4899 * r + 9617 * g + 1868 * b + 8192) % 16384 == 0 {
            if edge.count < 3 * 40 { edge += [UInt8(r), UInt8(g), UInt8(b)] }
        } } }
        XCTAssertEqual(edge.count, 3 * 40)
        XCTAssertEqual(Preprocess.graySum(edge, pixels: 40), Preprocess.graySumScalar(edge, pixels: 40))
    }

    func testGraySumAndGammaLUTMatchPython() {
        let weighted: Int = 4899 * 10 + 9617 * 20 + 1868 * 30 + 8192
        let pixels: [UInt8] = [255, 255, 255, 0, 0, 0, 10, 20, 30]
        XCTAssertEqual(Preprocess.graySum(pixels, pixels: 3), UInt64(255 + (weighted >> 14)))
        for g in V.gamma {
            var lut = [UInt8](repeating: 0, count: 256)
            Preprocess.gammaLUT(graySum: g.graySum, pixels: g.count, into: &lut)
            XCTAssertEqual(lut, g.lut, "gray sum \(g.graySum) over \(g.count)")
        }
        var lut = [UInt8](repeating: 0, count: 256)
        Preprocess.gammaLUT(graySum: 0, pixels: 0, into: &lut)  // empty frame: no division by zero
        XCTAssertEqual(lut[255], 255)
        var data: [UInt8] = [0, 128, 255]
        Preprocess.gammaLUT(graySum: 64 * 100, pixels: 64, into: &lut)
        Preprocess.applyLUT(lut, to: &data, count: 3)
        XCTAssertEqual(data, [lut[0], lut[128], lut[255]])
    }

    func testResizeMatchesPythonAndTheScalarReference() throws {
        for (dst, h, w) in [(V.resize_small, 3, 4), (V.resize_big, 11, 13)] {
            var out = [UInt8](repeating: 0, count: h * w * 3), ref = out
            var scratch = [Int32](repeating: 0, count: Preprocess.resizeScratchCount(outWidth: w, inWidth: 7, channels: 3))
            try Preprocess.resizeBilinear(V.resize_src, srcW: 7, srcH: 5, channels: 3, into: &out, dstW: w, dstH: h,
                                          rows: 0..<2, scratch: &scratch)
            try Preprocess.resizeBilinear(V.resize_src, srcW: 7, srcH: 5, channels: 3, into: &out, dstW: w, dstH: h,
                                          rows: 2..<h, scratch: &scratch)
            Preprocess.resizeBilinear__scalar_ref(V.resize_src, srcW: 7, srcH: 5, channels: 3, into: &ref, dstW: w, dstH: h)
            XCTAssertEqual(out, dst, "resize to \(h)x\(w)")
            XCTAssertEqual(ref, dst, "reference resize to \(h)x\(w)")
        }
        // One channel, large factors both ways, against the reference.
        var rng = TestRNG(41)
        let src = (0..<(37 * 23)).map { _ in UInt8(rng.int(0...255)) }
        for (w, h) in [(512, 512), (5, 3), (23, 37), (1, 1)] {
            var out = [UInt8](repeating: 0, count: w * h), ref = out
            var scratch = [Int32](repeating: 0, count: Preprocess.resizeScratchCount(outWidth: w, inWidth: 23, channels: 1))
            try Preprocess.resizeBilinear(src, srcW: 23, srcH: 37, channels: 1, into: &out, dstW: w, dstH: h, rows: 0..<h, scratch: &scratch)
            Preprocess.resizeBilinear__scalar_ref(src, srcW: 23, srcH: 37, channels: 1, into: &ref, dstW: w, dstH: h)
            XCTAssertEqual(out, ref, "\(w)x\(h)")
            if w == 23 { XCTAssertEqual(out, src, "same size is the identity") }
        }
        var scratch = [Int32](repeating: 0, count: 2)
        var out = [UInt8](repeating: 0, count: 1)
        XCTAssertThrowsError(try Preprocess.resizeBilinear(src, srcW: 0, srcH: 1, channels: 1, into: &out, dstW: 1, dstH: 1,
                                                           rows: 0..<1, scratch: &scratch))
    }

    func testNormalisationTablesAndInputs() {
        var values = [Float](repeating: 0, count: 768)
        Preprocess.normalizedValues(into: &values)
        XCTAssertEqual(values[0 * 256 + 200], (Float(200) - Float("124.55")!) / Float("56.77")!)
        XCTAssertEqual(values[2 * 256 + 7], (Float(7) - Float("102.94")!) / Float("57.50")!)
        var table = [Int8](repeating: 0, count: 768)
        Preprocess.quantizedTable(values, invScale: 30, zeroPoint: -3, into: &table)
        XCTAssertEqual(table, values.map { quantize($0, invScale: 30, zeroPoint: -3) })
        let a: [UInt8] = [0, 128, 255, 10, 20, 30], b: [UInt8] = [255, 0, 9, 10, 20, 31]
        var q = [Int8](repeating: 0, count: 6), f = [Float](repeating: 0, count: 6)
        Preprocess.quantizeInput(a, pixels: 2, table: table, into: &q)
        XCTAssertEqual(q, (0..<6).map { table[($0 % 3) * 256 + Int(a[$0])] })
        Preprocess.normalizeInput(a, pixels: 2, values: values, into: &f)
        XCTAssertEqual(f, (0..<6).map { values[($0 % 3) * 256 + Int(a[$0])] })
        Preprocess.promptInput(a, b, pixels: 2, values: values, into: &f)
        let sums: [Float] = (0..<6).map { (i: Int) -> Float in
            let va: Float = values[(i % 3) * 256 + Int(a[i])], vb: Float = values[(i % 3) * 256 + Int(b[i])]
            return va + vb
        }
        XCTAssertEqual(f, sums)
        Preprocess.quantizePromptInput(a, b, pixels: 2, values: values, invScale: 20, zeroPoint: 1, into: &q)
        XCTAssertEqual(q, sums.map { quantize($0, invScale: 20, zeroPoint: 1) })
    }
}
