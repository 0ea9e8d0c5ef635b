import XCTest

@testable import LiteModel

/// The direct VNNI conv (`qs8_conv_row_packed_8x48c4__avx512vnni`; the AArch64 ones are checked by edge-selftest)
/// against the im2col conv through the scalar reference GEMM, bit for bit, for every epilogue, on awkward shapes
/// (output widths that are not multiples of the 8-pixel tile, column counts around the 16- and 48-column panels,
/// borders wider than the map).
final class OpsDirectConvTests: XCTestCase {
    struct Spec { var h: Int, w: Int, cin: Int, cout: Int, kernel: Int, pad: Int, dilation: Int }
    let specs: [Spec] = [
        Spec(h: 9, w: 10, cin: 8, cout: 8, kernel: 3, pad: 1, dilation: 1),     // decoder: 8 channels
        Spec(h: 8, w: 9, cin: 16, cout: 16, kernel: 3, pad: 2, dilation: 2),    // DFAM's dilated conv
        Spec(h: 7, w: 7, cin: 8, cout: 5, kernel: 3, pad: 2, dilation: 2),
        Spec(h: 5, w: 13, cin: 4, cout: 70, kernel: 3, pad: 1, dilation: 1),    // 48 + 16 + 6 columns
        Spec(h: 6, w: 17, cin: 12, cout: 33, kernel: 3, pad: 1, dilation: 1),
        Spec(h: 3, w: 20, cin: 64, cout: 64, kernel: 3, pad: 1, dilation: 1),   // the neck: K = 576
        Spec(h: 4, w: 6, cin: 32, cout: 48, kernel: 3, pad: 2, dilation: 2),
        Spec(h: 2, w: 3, cin: 4, cout: 5, kernel: 3, pad: 2, dilation: 2),      // every tap row at a border
        Spec(h: 6, w: 11, cin: 8, cout: 20, kernel: 5, pad: 2, dilation: 1),
        Spec(h: 5, w: 6, cin: 4, cout: 9, kernel: 2, pad: 0, dilation: 1),
        Spec(h: 3, w: 1, cin: 4, cout: 6, kernel: 3, pad: 3, dilation: 3),      // window > scratch: im2col instead
    ]

    enum Epilogue: CaseIterable { case raw, dequant, requant }

    func testDirectConvEqualsReferenceForEveryEpilogue() throws {
        let vnni = QGemmKernel.avx512vnniPacked.isAvailable && QGemmKernel.selected == .avx512vnniPacked
        var rng = TestRNG(31)
        var directRuns = 0
        for s in specs {
            let g = try ConvGeometry(inH: s.h, inW: s.w, inC: s.cin, outC: s.cout, kernel: s.kernel, pad: s.pad,
                                     dilation: s.dilation)
            let x = rng.int8s(s.h * s.w * s.cin), w = rng.int8s(s.cout * g.k, -127...127)
            let z = Int32(rng.int(-128...127)), sums = rowSums(w, n: s.cout, k: g.k)
            var packed = [Int8](repeating: 99, count: qs8PackedBytes(n: s.cout, k: g.k, layout: .panels16c4))
            w.withUnsafeBufferPointer { wp in
                packed.withUnsafeMutableBufferPointer {
                    qs8PackWeights(wp.baseAddress!, n: s.cout, k: g.k, layout: .panels16c4, into: $0.baseAddress!)
                }
            }
            let scale = rng.floats(s.cout, 0.0001, 0.01), bias = rng.floats(s.cout)
            let mult = (0..<s.cout).map { _ in Int32(rng.int((1 << 30)...(Int(Int32.max)))) }
            let shift = (0..<s.cout).map { _ in Int32(rng.int(30...44)) }
            let qbias = (0..<s.cout).map { _ in Int32(rng.int(-5000...5000)) }
            let zero = (0..<s.cout).map { _ in Int32(rng.int(-128...127)) }
            for epilogue in Epilogue.allCases {
                // Output pixel stride wider than outC, its gap checked untouched.
                let ld = s.cout + 3
                func run(direct: Bool) throws -> [UInt32] {
                    var out = [UInt32](repeating: 0xDEAD_BEEF, count: g.outH * g.outW * ld)
                    var scratch = [Int8](repeating: 7, count: g.scratchCount)
                    try packed.withUnsafeBufferPointer { pp in
                        try out.withUnsafeMutableBytes { ob in
                            let output: QGemmOutput
                            switch epilogue {
                            case .raw: output = .raw(ob.baseAddress!.assumingMemoryBound(to: Int32.self), ld: ld)
                            case .dequant:
                                output = .dequant(ob.baseAddress!.assumingMemoryBound(to: Float.self), ld: ld,
                                                  QDequantParams(scale: scale, bias: bias))
                            case .requant:
                                output = .requant(ob.baseAddress!.assumingMemoryBound(to: Int8.self), ld: ld,
                                                  QRequantParams(multiplier: mult, shift: shift, bias: qbias,
                                                                 zeroPoint: zero))
                            }
                            let conv = try QConv2d(geometry: g, input: x, inputZero: z, weights: w,
                                                   weightRowSums: sums,
                                                   packedWeights: direct ? QPackedWeights(pp.baseAddress!, layout: .panels16c4) : nil,
                                                   output: output)
                            if direct, vnni, conv.directKernel(conv.packedWeights!) == .avx512vnni { directRuns += 1 }
                            try conv.run(outRows: 0..<1, scratch: &scratch, reference: !direct)
                            try conv.run(outRows: 1..<g.outH, scratch: &scratch, reference: !direct)
                        }
                    }
                    return out
                }
                let want = try run(direct: false), got = try run(direct: true)
                XCTAssertEqual(got, want, "direct conv \(s) \(epilogue)")
                XCTAssertNotEqual(want.filter { $0 != 0xDEAD_BEEF }.count, 0, "reference wrote nothing: \(s)")
            }
        }
        if vnni { XCTAssertEqual(directRuns, 3 * (specs.count - 1), "the direct kernel ran on every eligible spec") }
    }
}
