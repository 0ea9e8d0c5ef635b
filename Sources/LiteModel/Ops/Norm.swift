// LayerNorm over the last (channel) axis of row-major fp32 rows, per NUMERICS 5, with lane16 sums.
// LayerNorm2d of the neck is the same op on HWC pixels: channels are contiguous at each pixel.
import CKernels

/// Where normalised values go: fp32 rows, or int8 rows through `Q` (the input of an int8 matmul).
public enum RowOutput {
    /// fp32 rows `ld` floats apart.
    case f32(UnsafeMutablePointer<Float>, ld: Int)
    /// int8 rows `ld` bytes apart, each value quantized with `Q(y; invScale, zeroPoint)`.
    case qs8(UnsafeMutablePointer<Int8>, ld: Int, invScale: Float, zeroPoint: Int32)

    var ld: Int {
        switch self { case .f32(_, let ld), .qs8(_, let ld, _, _): return ld }
    }

    /// Row `row` as the C row kernels take it: the fp32 destination, or the int8 one with its `Q` constants.
    @inline(__always)
    func kernelArguments(row: Int) -> (f32: UnsafeMutablePointer<Float>?, q8: UnsafeMutablePointer<Int8>?,
                                       invScale: Float, zeroPoint: Int32) {
        switch self {
        case .f32(let p, let ld): return (p + row * ld, nil, 0, 0)
        case .qs8(let p, let ld, let inv, let z): return (nil, p + row * ld, inv, z)
        }
    }

    @inline(__always)
    func store(_ y: Float, row: Int, col: Int) {
        switch self {
        case .f32(let p, let ld): p[row * ld + col] = y
        case .qs8(let p, let ld, let inv, let z): p[row * ld + col] = quantize(y, invScale: inv, zeroPoint: z)
        }
    }

    /// `store` of eight consecutive columns `col..<col+8`.
    @inline(__always)
    func store8(_ y: Float8, row: Int, col: Int) {
        switch self {
        case .f32(let p, let ld): LiteModel.store8(y, p + row * ld + col)
        case .qs8(let p, let ld, let inv, let z): LiteModel.store8(quantize8(y, invScale: inv, zeroPoint: z), p + row * ld + col)
        }
    }
}

/// LayerNorm (or LayerNorm2d on HWC pixels) of `rows` rows of `c` values, `ldx` apart.
public struct LayerNorm {
    public let c: Int
    public let x: UnsafePointer<Float>
    public let ldx: Int
    public let weight: UnsafePointer<Float>
    public let bias: UnsafePointer<Float>
    /// float32 of the configured epsilon.
    public let eps: Float
    public let output: RowOutput

    public init(c: Int, x: UnsafePointer<Float>, ldx: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                eps: Float, output: RowOutput) throws(OpError) {
        try require(c >= 1 && ldx >= c && output.ld >= c, "layer_norm", "needs C >= 1 and strides >= C")
        try require(eps > 0 && eps.isFinite, "layer_norm", "epsilon must be positive")
        self.c = c; self.x = x; self.ldx = ldx; self.weight = weight; self.bias = bias; self.eps = eps
        self.output = output
    }

    /// Normalises rows `rows` (the pool's unit).
    public func run(rows: Range<Int>) {
        let cf = Float(c)
        if VectorKernels.usesAVX512 {
            let o = output.kernelArguments(row: rows.lowerBound)
            vm_layer_norm_rows__avx512(x + rows.lowerBound * ldx, ldx, Int32(rows.count), Int32(c), weight, bias, eps,
                                       o.f32, o.q8, output.ld, o.invScale, o.zeroPoint)
            return
        }
        for r in rows {
            let row = x + r * ldx
            let mean = lane16Sum(row, count: c) / cf
            let variance = lane16SumSquaredDeviation(row, count: c, mean: mean) / cf
            let rs = 1.0 / (variance + eps).squareRoot()
            var i = 0
            while i + 8 <= c {
                let d = load8(row + i) - mean
                let y = (d * rs) * load8(weight + i) + load8(bias + i)
                output.store8(y, row: r, col: i)
                i += 8
            }
            while i < c {
                let d = row[i] - mean
                let y = (d * rs) * weight[i] + bias[i]
                output.store(y, row: r, col: i)
                i += 1
            }
        }
    }

    /// Plain scalar reference of `run` (scalar lane16, deviations kept explicitly).
    public func runReference(rows: Range<Int>, deviationScratch d: UnsafeMutablePointer<Float>) {
        let cf = Float(c)
        for r in rows {
            let row = x + r * ldx
            let mean = lane16Sum__scalar_ref(row, count: c) / cf
            for i in 0..<c { d[i] = row[i] - mean }
            for i in 0..<c { d[c + i] = d[i] * d[i] }
            let variance = lane16Sum__scalar_ref(d + c, count: c) / cf
            let rs = 1.0 / (variance + eps).squareRoot()
            for i in 0..<c {
                let t = d[i] * rs
                let u = t * weight[i]
                output.store(u + bias[i], row: r, col: i)
            }
        }
    }
}
