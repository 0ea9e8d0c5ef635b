// Eight-lane forms of the elementary functions of docs/NUMERICS.md (Numerics.swift holds the scalar
// references). Each lane performs exactly the scalar function's IEEE operations in the same order, so
// the results are the same bits: SIMD `+ - * /` are single rounded operations (Swift never contracts
// them into FMA), selects replace the scalar `?:` clamps, and sign changes are bit flips like the
// scalar prefix `-` (SIMD's own prefix `-` is `0 - x`, which differs on zeros). Roundings to an integer
// use the 1.5 * 2^23 trick, which is roundEven for |t| < 2^22 and needs no SSE4.1 `roundps`.
//
// Lanes are independent, so a buffer loop does 8 values at a time and finishes with the scalar
// function: the split point changes no bit.

/// Eight fp32 lanes.
public typealias Float8 = SIMD8<Float>

@usableFromInline
enum VectorConstant {
    /// 1.5 * 2^23: adding it rounds |t| < 2^22 to an integer (nearest even) held in the low mantissa bits.
    @usableFromInline static let magic: Float = 12_582_912.0
    @usableFromInline static let magicBits: Int32 = 0x4b40_0000
}

@inlinable @inline(__always)
func bits8(_ x: Float8) -> SIMD8<UInt32> { unsafeBitCast(x, to: SIMD8<UInt32>.self) }

@inlinable @inline(__always)
func float8(_ b: SIMD8<UInt32>) -> Float8 { unsafeBitCast(b, to: Float8.self) }

/// `-x` as the scalar prefix minus does it: the sign bit flipped.
@inlinable @inline(__always)
func negate8(_ x: Float8) -> Float8 { float8(bits8(x) ^ 0x8000_0000) }

/// `roundEven` of every lane (NUMERICS 2), signed zeros and NaN included.
@inlinable @inline(__always)
public func roundEven8(_ x: Float8) -> Float8 {
    let b = bits8(x)
    let a = float8(b & 0x7fff_ffff)
    let r = (a + 8_388_608.0) - 8_388_608.0
    let signed = float8(bits8(r) | (b & 0x8000_0000))
    return x.replacing(with: signed, where: a .< 8_388_608.0)
}

/// `Int32(t)` of lanes that are integers with |t| < 2^22 (also rounds non-integers to nearest even).
@inlinable @inline(__always)
func smallInt8(_ t: Float8) -> SIMD8<Int32> {
    unsafeBitCast(t + VectorConstant.magic, to: SIMD8<Int32>.self) &- VectorConstant.magicBits
}

/// `exp32` of every lane (NUMERICS 4.1).
@inlinable @inline(__always)
public func exp32x8(_ input: Float8) -> Float8 {
    typealias K = NumericsConstant
    var x = input
    x = x.replacing(with: -87.0, where: x .< -87.0)
    x = x.replacing(with: 88.0, where: x .> 88.0)
    x = x.replacing(with: 0, where: x .!= x)
    // |x * log2e| < 2^22, so adding and subtracting 1.5 * 2^23 is roundEven, except that it gives +0
    // where roundEven(-0.4) is -0: n = ±0 changes r only when x is -0 (r = ±0), and exp32 is then 1
    // either way, so the result bits are the scalar ones (the exact tests cover this).
    let n = (x * K.log2e + VectorConstant.magic) - VectorConstant.magic
    var r = x - n * K.ln2Hi
    r = r - n * K.ln2Lo
    var p = Float8(repeating: K.expP0)
    p = p * r + K.expP1
    p = p * r + K.expP2
    p = p * r + K.expP3
    p = p * r + K.expP4
    p = p * r + K.expP5
    let rr = r * r
    p = (p * rr + r) + 1.0
    let e = (smallInt8(n) &+ 127) &<< 23
    return p * unsafeBitCast(e, to: Float8.self)
}

/// `numeratorExp32` of every lane (NUMERICS 6 step 4; the magic-number rounding as in `exp32x8`).
@inlinable @inline(__always)
public func numeratorExp32x8(_ d: Float8) -> Float8 {
    typealias K = NumericsConstant
    let x = Float8(repeating: K.numLow).replacing(with: d, where: d .> K.numLow)
    let n = (x * K.log2e + VectorConstant.magic) - VectorConstant.magic
    let r = x - n * K.ln2
    var p = Float8(repeating: K.numC4)
    p = p * r + K.numC3
    p = p * r + K.numC2
    p = p * r + 1.0
    p = p * r + 1.0
    let e = (smallInt8(n) &+ 127) &<< 23
    return p * unsafeBitCast(e, to: Float8.self)
}

/// `erf32` of every lane (NUMERICS 4.2).
@inlinable @inline(__always)
public func erf32x8(_ x: Float8) -> Float8 {
    typealias K = NumericsConstant
    let a = float8(bits8(x) & 0x7fff_ffff)
    let t = 1.0 / (1.0 + K.erfP * a)
    var y = Float8(repeating: K.erfA1)
    y = y * t - K.erfA2
    y = y * t + K.erfA3
    y = y * t - K.erfA4
    y = y * t + K.erfA5
    y = y * t
    let e = exp32x8(negate8(a * a))
    let r = 1.0 - y * e
    return r.replacing(with: negate8(r), where: x .< 0)
}

/// `gelu32` of every lane (NUMERICS 4.3).
@inlinable @inline(__always)
public func gelu32x8(_ x: Float8) -> Float8 {
    let half = x * 0.5
    let s = 1.0 + erf32x8(x * NumericsConstant.invSqrt2)
    return half * s
}

/// `sigmoid32` of every lane.
@inlinable @inline(__always)
public func sigmoid32x8(_ x: Float8) -> Float8 {
    let d = 1.0 + exp32x8(negate8(x))
    return 1.0 / d
}

/// `quickGelu32` of every lane.
@inlinable @inline(__always)
public func quickGelu32x8(_ x: Float8) -> Float8 {
    x * sigmoid32x8(NumericsConstant.quickGeluK * x)
}

/// `relu32` of every lane.
@inlinable @inline(__always)
public func relu32x8(_ x: Float8) -> Float8 {
    Float8(repeating: 0).replacing(with: x, where: x .> 0)
}

/// `quantize` (NUMERICS 3.1) of every lane, as int32 lanes in [-128, 127] (store them with `store8`).
///
/// All in fp32, where every value is an exact integer below 2^24: `t + 1.5 * 2^23` rounds `t` half to
/// even (|t| <= 1024), adding the zero point and clamping to `magic + [-128, 127]` is exact, and the bits
/// minus the magic's bits are `clamp(roundEven(t) + z, -128, 127)`. (Swift's integer SIMD compares and
/// narrowing conversions are not inlined, so the clamp stays in the float domain.)
@inlinable @inline(__always)
public func quantize8(_ x: Float8, invScale: Float, zeroPoint: Int32) -> SIMD8<Int32> {
    typealias V = VectorConstant
    var t = x * invScale
    t = t.replacing(with: -1024.0, where: t .< -1024.0)
    t = t.replacing(with: 1024.0, where: t .> 1024.0)
    t = t.replacing(with: 0, where: t .!= t)
    var u = (t + V.magic) + Float(zeroPoint)
    u = u.replacing(with: V.magic - 128.0, where: u .< V.magic - 128.0)
    u = u.replacing(with: V.magic + 127.0, where: u .> V.magic + 127.0)
    return unsafeBitCast(u, to: SIMD8<Int32>.self) &- V.magicBits
}

/// `Postprocess.to8Bit` of every lane, as int32 lanes in [0, 255].
///
/// `u = pred * 255 + 0.5` (two rounded ops as in the scalar code) is clamped to [0, 255] by selects (NaN
/// to 0), then floored exactly: `r = u + 1.5 * 2^23 - 1.5 * 2^23` is u rounded to an integer, one less
/// where that rounded up.
@inlinable @inline(__always)
public func to8Bit8(_ pred: Float8) -> SIMD8<Int32> {
    let t = pred * 255.0
    var u = t + 0.5
    u = u.replacing(with: 0, where: u .< 0)
    u = u.replacing(with: 0, where: u .!= u)
    u = u.replacing(with: 255.0, where: u .> 255.0)
    var r = (u + VectorConstant.magic) - VectorConstant.magic
    r = r.replacing(with: r - 1.0, where: r .> u)
    return smallInt8(r)
}

@inlinable @inline(__always)
func load8(_ p: UnsafePointer<Float>) -> Float8 { UnsafeRawPointer(p).loadUnaligned(as: Float8.self) }

@inlinable @inline(__always)
func store8(_ v: Float8, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: Float8.self) }

/// Stores the low byte of each lane. (Written per lane, LLVM emits `pand` + `packuswb`; the stdlib's
/// narrowing `SIMD8<Int8>(truncatingIfNeeded:)` is an outlined loop.)
@inlinable @inline(__always)
func store8(_ v: SIMD8<Int32>, _ p: UnsafeMutablePointer<Int8>) {
    for lane in 0..<8 { p[lane] = Int8(truncatingIfNeeded: v[lane]) }
}

/// Buffer loops over the eight-lane functions (`out` may alias `x`).
public enum VectorMath {
    /// `out[i] = exp32(x[i])`.
    public static func exp(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count { store8(exp32x8(load8(x + i)), out + i); i += 8 }
        while i < count { out[i] = exp32(x[i]); i += 1 }
    }

    /// `out[i] = act(x[i])`.
    public static func activate(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int,
                                _ act: Activation) {
        switch act {
        case .gelu: map(x, out, count, gelu32x8, gelu32)
        case .quickGelu: map(x, out, count, quickGelu32x8, quickGelu32)
        case .sigmoid: map(x, out, count, sigmoid32x8, sigmoid32)
        case .relu: map(x, out, count, relu32x8, relu32)
        }
    }

    /// `out[i] = Q(x[i]; invScale, zeroPoint)`.
    public static func quantize(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Int8>, count: Int,
                                invScale: Float, zeroPoint: Int32) {
        var i = 0
        while i + 8 <= count { store8(quantize8(load8(x + i), invScale: invScale, zeroPoint: zeroPoint), out + i); i += 8 }
        while i < count { out[i] = LiteModel.quantize(x[i], invScale: invScale, zeroPoint: zeroPoint); i += 1 }
    }

    /// `out[i] = Q(act(x[i]); invScale, zeroPoint)`.
    public static func activateQuantize(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Int8>, count: Int,
                                        _ act: Activation, invScale: Float, zeroPoint: Int32) {
        switch act {
        case .gelu: mapQ(x, out, count, gelu32x8, gelu32, invScale, zeroPoint)
        case .quickGelu: mapQ(x, out, count, quickGelu32x8, quickGelu32, invScale, zeroPoint)
        case .sigmoid: mapQ(x, out, count, sigmoid32x8, sigmoid32, invScale, zeroPoint)
        case .relu: mapQ(x, out, count, relu32x8, relu32, invScale, zeroPoint)
        }
    }

    /// `out[i] = Postprocess.to8Bit(pred[i])`.
    public static func to8Bit(_ pred: UnsafePointer<Float>, into out: UnsafeMutablePointer<UInt8>, count: Int) {
        let bytes = UnsafeMutableRawPointer(out).assumingMemoryBound(to: Int8.self)
        var i = 0
        while i + 8 <= count { store8(to8Bit8(load8(pred + i)), bytes + i); i += 8 }
        while i < count { out[i] = Postprocess.to8Bit(pred[i]); i += 1 }
    }

    @inline(__always)
    static func map(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ count: Int,
                    _ f8: (Float8) -> Float8, _ f: (Float) -> Float) {
        var i = 0
        while i + 8 <= count { store8(f8(load8(x + i)), out + i); i += 8 }
        while i < count { out[i] = f(x[i]); i += 1 }
    }

    @inline(__always)
    static func mapQ(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Int8>, _ count: Int,
                     _ f8: (Float8) -> Float8, _ f: (Float) -> Float, _ inv: Float, _ z: Int32) {
        var i = 0
        while i + 8 <= count { store8(quantize8(f8(load8(x + i)), invScale: inv, zeroPoint: z), out + i); i += 8 }
        while i < count { out[i] = LiteModel.quantize(f(x[i]), invScale: inv, zeroPoint: z); i += 1 }
    }
}
