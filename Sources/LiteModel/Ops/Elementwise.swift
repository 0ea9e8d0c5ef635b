// Element-wise fp32 ops (NUMERICS 4.3 and 5): residual adds in the reference model's order,
// activations in place, quantization of fp32 rows for the next int8 matmul, channel concatenation.

/// Element-wise activations applied in place.
public enum Activation {
    case gelu, quickGelu, sigmoid, relu

    @inline(__always)
    func apply(_ x: Float) -> Float {
        switch self {
        case .gelu: return gelu32(x)
        case .quickGelu: return quickGelu32(x)
        case .sigmoid: return sigmoid32(x)
        case .relu: return relu32(x)
        }
    }
}

/// Element-wise ops over `count` contiguous fp32 values (callers split `count` for threads).
public enum Elementwise {
    /// `out[i] = x[i] + y[i]` (`out` may alias `x` or `y`).
    public static func add(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                           count: Int) {
        for i in 0..<count { out[i] = x[i] + y[i] }
    }

    /// `out[i] = (x[i] + y[i]) + z[i]`, left to right as NUMERICS 5 requires for `x + y + a`.
    public static func add3(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafePointer<Float>,
                            into out: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            let s = x[i] + y[i]
            out[i] = s + z[i]
        }
    }

    /// `out[i] = x[i] + (gate * y[i])`: the MCP's gated prompt `Eβ = Xβ + gate * gelu(...)`.
    public static func addScaled(_ x: UnsafePointer<Float>, gate: Float, _ y: UnsafePointer<Float>,
                                 into out: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            let g = gate * y[i]
            out[i] = x[i] + g
        }
    }

    /// The official cross-attention value "scramble" (docs/MODEL_FORMAT.md 6.3): a `[T, D]` buffer read
    /// flat as `[D, T]`, i.e. `out[t, d] = flat[d * T + t]`, for output tokens `rows` (all by default; the pool's
    /// unit). `out` must not alias `f`.
    public static func scramble<T>(_ f: UnsafePointer<T>, tokens: Int, channels: Int, rows: Range<Int>? = nil,
                                   into out: UnsafeMutablePointer<T>) {
        for t in (rows ?? 0..<tokens).clamped(to: 0..<tokens) {
            for d in 0..<channels { out[t * channels + d] = f[d * tokens + t] }
        }
    }

    /// Applies `activation` in place.
    public static func activate(_ x: UnsafeMutablePointer<Float>, count: Int, _ activation: Activation) {
        for i in 0..<count { x[i] = activation.apply(x[i]) }
    }

    /// `out[i] = table[x[i] + 128]`: the scalar form (and reference) of the activation-table lookup.
    public static func lookup(_ x: UnsafePointer<Int8>, table: UnsafePointer<Int8>, into out: UnsafeMutablePointer<Int8>,
                              count: Int) {
        for i in 0..<count { out[i] = table[Int(x[i]) &+ 128] }
    }

    /// `out[i] = Q(x[i]; invScale, zeroPoint)` (NUMERICS 3.1).
    public static func quantize(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Int8>, count: Int,
                                invScale: Float, zeroPoint: Int32) {
        for i in 0..<count { out[i] = LiteModel.quantize(x[i], invScale: invScale, zeroPoint: zeroPoint) }
    }

    /// Copies `pixels` rows of `c` values (stride `ldSrc`) into channels `offset..<offset+c` of rows
    /// `ldDst` apart: one half of a channel concatenation of HWC tensors.
    public static func copyChannels<T>(_ src: UnsafePointer<T>, ldSrc: Int, c: Int, pixels: Int,
                                       into dst: UnsafeMutablePointer<T>, ldDst: Int, offset: Int) {
        for p in 0..<pixels { (dst + p * ldDst + offset).update(from: src + p * ldSrc, count: c) }
    }
}
