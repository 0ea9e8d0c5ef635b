// Convolutions as GEMMs over channels-last (HWC) tensors, int8 and fp32.
//
// Weights are `[outC][kH][kW][inC]` (one GEMM row per output channel, K = kH * kW * inC).
// A 1x1 stride-1 conv is the GEMM itself; other kernels gather one output row of patches at a time
// into caller scratch (`scratchCount`), filling borders with the activation zero point (int8, NUMERICS
// 3.2) or 0.0 (fp32). Transposed 2x2 stride-2 convs are four GEMMs written to interleaved pixels.

import CKernels

/// Geometry of a 2-D convolution over an HWC tensor.
public struct ConvGeometry: Equatable {
    public let inH: Int, inW: Int, inC: Int, outC: Int
    public let kH: Int, kW: Int, stride: Int, pad: Int, dilation: Int
    public let outH: Int, outW: Int

    /// Validates the geometry and derives the output size (PyTorch's floor formula).
    public init(inH: Int, inW: Int, inC: Int, outC: Int, kernel: Int, stride: Int = 1, pad: Int = 0,
                dilation: Int = 1) throws(OpError) {
        try require(inH >= 1 && inW >= 1 && inC >= 1 && outC >= 1, "conv2d", "empty tensor")
        try require(kernel >= 1 && stride >= 1 && dilation >= 1 && pad >= 0, "conv2d", "bad kernel/stride/pad/dilation")
        let span = dilation * (kernel - 1) + 1
        try require(inH + 2 * pad >= span && inW + 2 * pad >= span, "conv2d", "kernel larger than padded input")
        self.inH = inH; self.inW = inW; self.inC = inC; self.outC = outC
        self.kH = kernel; self.kW = kernel; self.stride = stride; self.pad = pad; self.dilation = dilation
        self.outH = (inH + 2 * pad - span) / stride + 1
        self.outW = (inW + 2 * pad - span) / stride + 1
    }

    /// GEMM reduction length `kH * kW * inC`.
    public var k: Int { kH * kW * inC }
    /// True when the conv is its GEMM with no gathering (1x1, stride 1, no padding).
    public var isPointwise: Bool { kH == 1 && kW == 1 && stride == 1 && pad == 0 }
    /// Scratch elements (int8 or fp32) one call needs: one output row of gathered patches.
    public var scratchCount: Int { isPointwise ? 0 : outW * k }

    /// Gathers output row `oy`'s patches into `dst` (`outW x k`), `fill` outside the input.
    @inline(__always)
    func gatherRow<T>(_ src: UnsafePointer<T>, oy: Int, fill: T, into dst: UnsafeMutablePointer<T>) {
        let k = self.k
        for ox in 0..<outW {
            let row = dst + ox * k
            var o = 0
            for ky in 0..<kH {
                let iy = oy * stride - pad + ky * dilation
                let ix0 = ox * stride - pad, ixLast = ix0 + (kW - 1) * dilation
                if dilation == 1 && iy >= 0 && iy < inH && ix0 >= 0 && ixLast < inW {
                    // The kernel row's taps are adjacent pixels: one copy instead of kW.
                    copyElements(row + o, src + (iy * inW + ix0) * inC, kW * inC)
                    o += kW * inC
                    continue
                }
                for kx in 0..<kW {
                    let ix = ox * stride - pad + kx * dilation
                    if iy >= 0 && iy < inH && ix >= 0 && ix < inW {
                        copyElements(row + o, src + (iy * inW + ix) * inC, inC)
                    } else {
                        (row + o).update(repeating: fill, count: inC)
                    }
                    o += inC
                }
            }
        }
    }

    /// `count` elements from `src` to `dst`. The decoder's taps are 8 to 48 bytes (8-16 channels): moved as
    /// 8-byte words, since a `memmove` call per tap cost more than the copy.
    @inline(__always)
    func copyElements<T>(_ dst: UnsafeMutablePointer<T>, _ src: UnsafePointer<T>, _ count: Int) {
        let bytes = count * MemoryLayout<T>.stride
        guard bytes <= 64 && bytes & 7 == 0 else {
            dst.update(from: src, count: count)
            return
        }
        let d = UnsafeMutableRawPointer(dst), s = UnsafeRawPointer(src)
        var i = 0
        while i < bytes {
            d.storeBytes(of: s.loadUnaligned(fromByteOffset: i, as: UInt64.self), toByteOffset: i, as: UInt64.self)
            i += 8
        }
    }
}

extension QGemmOutput {
    /// The same output advanced by `rows` rows.
    @inline(__always)
    func advanced(rows: Int) -> QGemmOutput {
        switch self {
        case .dequant(let p, let ld, let e): return .dequant(p + rows * ld, ld: ld, e)
        case .requant(let p, let ld, let e): return .requant(p + rows * ld, ld: ld, e)
        case .raw(let p, let ld): return .raw(p + rows * ld, ld: ld)
        }
    }

    /// The same epilogue writing to a different base, rows `ld` apart, its per-channel constants
    /// read from `channelOffset` on (a block of a stacked weight matrix).
    @inline(__always)
    func rebased(offset: Int, ld newLd: Int, channelOffset o: Int) -> QGemmOutput {
        switch self {
        case .dequant(let p, _, let e):
            return .dequant(p + offset, ld: newLd, QDequantParams(scale: e.scale + o, bias: e.bias + o))
        case .requant(let p, _, let e):
            return .requant(p + offset, ld: newLd, QRequantParams(multiplier: e.multiplier + o, shift: e.shift + o,
                                                                   bias: e.bias + o, zeroPoint: e.zeroPoint + o))
        case .raw(let p, _): return .raw(p + offset, ld: newLd)
        }
    }
}

/// An int8 conv: input HWC int8 with zero point, weights `[outC][kH][kW][inC]`, output pixels x outC
/// through a `QGemmOutput` whose `ld` is the pixel stride (>= outC).
public struct QConv2d {
    public let geometry: ConvGeometry
    public let input: UnsafePointer<Int8>
    public let inputZero: Int32
    public let weights: UnsafePointer<Int8>
    public let weightRowSums: UnsafePointer<Int32>
    /// The weights packed by `qs8PackWeights` (for the packed kernels), or nil.
    public let packedWeights: QPackedWeights?
    public let output: QGemmOutput

    public init(geometry: ConvGeometry, input: UnsafePointer<Int8>, inputZero: Int32, weights: UnsafePointer<Int8>,
                weightRowSums: UnsafePointer<Int32>, packedWeights: QPackedWeights? = nil,
                output: QGemmOutput) throws(OpError) {
        // Validates zero point, K and ld through a throwaway GEMM description.
        _ = try QGemm(m: 0, n: geometry.outC, k: geometry.k, a: input, lda: geometry.k, aZero: inputZero,
                      w: weights, wRowSums: weightRowSums, output: output)
        self.geometry = geometry; self.input = input; self.inputZero = inputZero
        self.weights = weights; self.weightRowSums = weightRowSums; self.packedWeights = packedWeights
        self.output = output
    }

    /// Computes output rows `outRows` (the pool's unit); `scratch` holds `geometry.scratchCount` bytes
    /// (nil only for a pointwise conv).
    public func run(outRows: Range<Int>, scratch: UnsafeMutablePointer<Int8>?, reference: Bool = false) throws(OpError) {
        let g = geometry
        let rows = outRows.clamped(to: 0..<g.outH)
        if g.isPointwise {
            let gemm = try! QGemm(m: g.outH * g.outW, n: g.outC, k: g.inC, a: input, lda: g.inC, aZero: inputZero,
                                  w: weights, wRowSums: weightRowSums, packed: packedWeights, output: output)
            let r = (rows.lowerBound * g.outW)..<(rows.upperBound * g.outW)
            if reference { qs8_gemm__scalar_ref(gemm, rows: r) } else { gemm.run(rows: r) }
            return
        }
        guard let scratch else { throw OpError.invalidArgument(op: "conv2d", reason: "no scratch for a gathering conv") }
        if !reference, let packed = packedWeights, let kernel = directKernel(packed) {
            for oy in rows { runDirect(kernel, oy: oy, window: scratch, packed: packed) }
            return
        }
        for oy in rows {
            g.gatherRow(input, oy: oy, fill: Int8(truncatingIfNeeded: inputZero), into: scratch)
            let gemm = try! QGemm(m: g.outW, n: g.outC, k: g.k, a: scratch, lda: g.k, aZero: inputZero,
                                  w: weights, wRowSums: weightRowSums, packed: packedWeights,
                                  output: output.advanced(rows: oy * g.outW))
            if reference { qs8_gemm__scalar_ref(gemm, rows: 0..<g.outW) } else { gemm.run() }
        }
    }
}

/// The direct (window instead of im2col) conv kernels, one per packed GEMM kernel that has one.
public enum DirectConvKernel {
    /// `qs8_conv_row_packed_8x48c4__avx512vnni`
    case avx512vnni
    /// `qs8_conv_row_packed_4x16c4__neondot`
    case neondot
    /// `qs8_conv_row_packed_4x16c4__neon_mlal_lane` (its window holds int16: twice the bytes)
    case neonMlal
}

extension QConv2d {
    /// The direct kernel that runs this conv, or nil (im2col and the GEMM): the selected packed GEMM kernel has one
    /// and the weights are packed for it, stride 1, whole quads of input channels, and the kernel's window of kH
    /// padded input rows fits the im2col scratch (it does unless the dilation exceeds the output width).
    public func directKernel(_ packed: QPackedWeights) -> DirectConvKernel? {
        let g = geometry
        guard packed.layout == .panels16c4 && g.stride == 1 && g.inC % 4 == 0 else { return nil }
        let window = g.kH * (g.inW + 2 * g.pad) * g.inC
        switch QGemmKernel.selected {
        case .avx512vnniPacked: return window <= g.scratchCount ? .avx512vnni : nil
        case .neondotPacked: return window <= g.scratchCount ? .neondot : nil
        case .neonPacked: return 2 * window <= g.scratchCount ? .neonMlal : nil
        default: return nil
        }
    }

    /// Output row `oy` by a direct kernel, `window` its scratch.
    func runDirect(_ kernel: DirectConvKernel, oy: Int, window: UnsafeMutablePointer<Int8>, packed: QPackedWeights) {
        let g = geometry
        var shape = qs8_conv_row(out_w: Int32(g.outW), n: Int32(g.outC), cin: Int32(g.inC), kh: Int32(g.kH),
                                 kw: Int32(g.kW), dilation: Int32(g.dilation), pad: Int32(g.pad), in_h: Int32(g.inH),
                                 in_w: Int32(g.inW), a_zero: inputZero)
        // The output as the C kernels take it: raw (no constants), dequantized (scale, bias) or requantized (rq).
        var cols = qs8_requant_cols()
        var scale: UnsafePointer<Float>? = nil, bias: UnsafePointer<Float>? = nil, requant = false
        let out: UnsafeMutableRawPointer, ld: Int
        switch output.advanced(rows: oy * g.outW) {
        case .raw(let o, let l): out = UnsafeMutableRawPointer(o); ld = l
        case .dequant(let o, let l, let p): out = UnsafeMutableRawPointer(o); ld = l; scale = p.scale; bias = p.bias
        case .requant(let o, let l, let p):
            out = UnsafeMutableRawPointer(o); ld = l; requant = true
            cols = qs8_requant_cols(multiplier: p.multiplier, shift: p.shift, bias: p.bias, zero_point: p.zeroPoint)
        }
        withUnsafePointer(to: &cols) { rqCols in
            let rq = requant ? rqCols : nil
            switch kernel {
            case .avx512vnni:
                let win = UnsafeMutableRawPointer(window).assumingMemoryBound(to: UInt8.self)
                qs8_conv_row_packed_8x48c4__avx512vnni(&shape, input, Int32(oy), win, packed.bytes, weightRowSums,
                                                       scale, bias, rq, out, ld)
            case .neondot:
                qs8_conv_row_packed_4x16c4__neondot(&shape, input, Int32(oy), window, packed.bytes, weightRowSums,
                                                    scale, bias, rq, out, ld)
            case .neonMlal:
                let win = UnsafeMutableRawPointer(window).assumingMemoryBound(to: Int16.self)
                qs8_conv_row_packed_4x16c4__neon_mlal_lane(&shape, input, Int32(oy), win, packed.bytes, scale, bias,
                                                           rq, out, ld)
            }
        }
    }
}

/// An fp32 conv (seq order per output, bias added last): input HWC, weights `[outC][kH][kW][inC]`.
public struct FConv2d {
    public let geometry: ConvGeometry
    public let input: UnsafePointer<Float>
    public let weights: UnsafePointer<Float>
    public let bias: UnsafePointer<Float>?
    public let output: UnsafeMutablePointer<Float>
    /// Output pixel stride (>= outC), so a conv can write into a slice of a concatenated tensor.
    public let ldo: Int

    public init(geometry: ConvGeometry, input: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>, ldo: Int) throws(OpError) {
        try require(ldo >= geometry.outC, "f32_conv2d", "ldo < outC")
        self.geometry = geometry; self.input = input; self.weights = weights; self.bias = bias
        self.output = output; self.ldo = ldo
    }

    /// Computes output rows `outRows`; `scratch` holds `geometry.scratchCount` floats (nil only for a pointwise conv).
    public func run(outRows: Range<Int>, scratch: UnsafeMutablePointer<Float>?, reference: Bool = false) throws(OpError) {
        let g = geometry
        let rows = outRows.clamped(to: 0..<g.outH)
        if g.isPointwise {
            let gemm = try! FGemm(m: g.outH * g.outW, n: g.outC, k: g.inC, a: input, lda: g.inC, w: weights,
                                  bias: bias, out: output, ldo: ldo)
            let r = (rows.lowerBound * g.outW)..<(rows.upperBound * g.outW)
            if reference { f32_gemm__scalar_ref(gemm, rows: r) } else { gemm.run(rows: r) }
            return
        }
        guard let scratch else { throw OpError.invalidArgument(op: "conv2d", reason: "no scratch for a gathering conv") }
        for oy in rows {
            g.gatherRow(input, oy: oy, fill: 0, into: scratch)
            let gemm = try! FGemm(m: g.outW, n: g.outC, k: g.k, a: scratch, lda: g.k, w: weights, bias: bias,
                                  out: output + oy * g.outW * ldo, ldo: ldo)
            if reference { f32_gemm__scalar_ref(gemm, rows: 0..<g.outW) } else { gemm.run() }
        }
    }
}

/// Int8 transposed conv, kernel 2 stride 2: `out[2y+dy, 2x+dx, :] = W[dy][dx] x in[y, x, :]`.
///
/// Weights `[4 * outC, inC]` with row `(dy * 2 + dx) * outC + co` (docs/MODEL_FORMAT.md 5.1), and row sums,
/// epilogue constants and biases per row (4 * outC each). Output is `(2 inH) x (2 inW)` pixels, `ld` apart.
public struct QConvTranspose2x2 {
    public let inH: Int, inW: Int, inC: Int, outC: Int
    public let input: UnsafePointer<Int8>
    public let inputZero: Int32
    public let weights: UnsafePointer<Int8>
    public let weightRowSums: UnsafePointer<Int32>
    /// The two tap pairs' `[2 outC, inC]` weight blocks (taps (dy, 0) and (dy, 1): rows `2 dy outC ..<
    /// 2 (dy + 1) outC`), each packed by `qs8PackWeights` (`QConvTranspose2x2.packWeights`), one after the other;
    /// or nil.
    public let packedWeights: QPackedWeights?
    public let output: QGemmOutput

    public init(inH: Int, inW: Int, inC: Int, outC: Int, input: UnsafePointer<Int8>, inputZero: Int32,
                weights: UnsafePointer<Int8>, weightRowSums: UnsafePointer<Int32>, packedWeights: QPackedWeights? = nil,
                output: QGemmOutput) throws(OpError) {
        try require(inH >= 1 && inW >= 1, "qs8_convT2x2", "empty input")
        _ = try QGemm(m: 0, n: outC, k: inC, a: input, lda: inC, aZero: inputZero, w: weights,
                      wRowSums: weightRowSums, output: output)
        self.inH = inH; self.inW = inW; self.inC = inC; self.outC = outC
        self.input = input; self.inputZero = inputZero; self.weights = weights
        self.weightRowSums = weightRowSums; self.packedWeights = packedWeights; self.output = output
    }

    /// Row blocks of the packed weights: the two tap pairs.
    public static let packedBlocks = 2

    /// Bytes of `packWeights`' output for `layout`.
    public static func packedBytes(outC: Int, inC: Int, layout: QPackLayout) -> Int {
        qs8PackedBytes(n: 4 * outC, k: inC, blocks: packedBlocks, layout: layout)
    }

    /// Packs `[4 outC, inC]` weights for `packedWeights`: the two tap pairs one after the other.
    public static func packWeights(_ w: UnsafePointer<Int8>, outC: Int, inC: Int, layout: QPackLayout,
                                   into packed: UnsafeMutablePointer<Int8>) {
        qs8PackWeights(w, n: 4 * outC, k: inC, blocks: packedBlocks, layout: layout, into: packed)
    }

    /// Computes the output rows produced by input rows `inRows` (two output rows each).
    ///
    /// With a dense output (`ld == outC`) taps (dy, 0) and (dy, 1) of input pixel x write output pixels 2x and
    /// 2x + 1 of one row, which are adjacent: one GEMM of `2 outC` columns per input row and dy (rows `2 ld`
    /// apart) instead of two of `outC` (the decoder's 8-32 channels fill a packed panel and the calls halve).
    public func run(inRows: Range<Int>, reference: Bool = false) {
        let ld: Int
        switch output { case .dequant(_, let l, _), .requant(_, let l, _), .raw(_, let l): ld = l }
        let outW = 2 * inW
        let pairBytes = packedWeights.map { qs8PackedBytes(n: 2 * outC, k: inC, layout: $0.layout) } ?? 0
        @inline(__always) func pairPacked(_ dy: Int) -> QPackedWeights? {
            packedWeights.map { QPackedWeights($0.bytes + dy * pairBytes, layout: $0.layout) }
        }
        for y in inRows.clamped(to: 0..<inH) {
            let a = input + y * inW * inC
            if ld == outC && !reference {
                for dy in 0..<2 {
                    let out = output.rebased(offset: (2 * y + dy) * outW * ld, ld: 2 * ld, channelOffset: dy * 2 * outC)
                    try! QGemm(m: inW, n: 2 * outC, k: inC, a: a, lda: inC, aZero: inputZero,
                               w: weights + dy * 2 * outC * inC, wRowSums: weightRowSums + dy * 2 * outC,
                               packed: pairPacked(dy), output: out).run()
                }
                continue
            }
            for tap in 0..<4 {
                let dy = tap >> 1, dx = tap & 1
                let out = output.rebased(offset: ((2 * y + dy) * outW + dx) * ld, ld: 2 * ld, channelOffset: tap * outC)
                // A tap's columns within its pair's panels (nil off a panel edge: the unpacked sibling runs).
                let gemm = try! QGemm(m: inW, n: outC, k: inC, a: a, lda: inC, aZero: inputZero,
                                      w: weights + tap * outC * inC, wRowSums: weightRowSums + tap * outC,
                                      packed: qs8PackedColumns(pairPacked(dy), k: inC, from: dx * outC), output: out)
                if reference { qs8_gemm__scalar_ref(gemm, rows: 0..<inW) } else { gemm.run() }
            }
        }
    }
}

/// fp32 transposed conv, kernel 2 stride 2 (same layout as `QConvTranspose2x2`; bias per row, 4 * outC), bias added last.
public struct FConvTranspose2x2 {
    public let inH: Int, inW: Int, inC: Int, outC: Int
    public let input: UnsafePointer<Float>
    public let weights: UnsafePointer<Float>
    public let bias: UnsafePointer<Float>?
    public let output: UnsafeMutablePointer<Float>
    public let ldo: Int

    public init(inH: Int, inW: Int, inC: Int, outC: Int, input: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>, ldo: Int) throws(OpError) {
        try require(inH >= 1 && inW >= 1 && inC >= 1 && outC >= 1, "f32_convT2x2", "empty tensor")
        try require(ldo >= outC, "f32_convT2x2", "ldo < outC")
        self.inH = inH; self.inW = inW; self.inC = inC; self.outC = outC
        self.input = input; self.weights = weights; self.bias = bias; self.output = output; self.ldo = ldo
    }

    /// Computes the output rows produced by input rows `inRows`.
    public func run(inRows: Range<Int>, reference: Bool = false) {
        let outW = 2 * inW
        for y in inRows.clamped(to: 0..<inH) {
            for tap in 0..<4 {
                let dy = tap >> 1, dx = tap & 1
                let gemm = try! FGemm(m: inW, n: outC, k: inC, a: input + y * inW * inC, lda: inC,
                                      w: weights + tap * outC * inC, bias: bias.map { $0 + tap * outC },
                                      out: output + ((2 * y + dy) * outW + dx) * ldo, ldo: 2 * ldo)
                if reference { f32_gemm__scalar_ref(gemm, rows: 0..<inW) } else { gemm.run() }
            }
        }
    }
}
