// The elementary arithmetic of docs/NUMERICS.md (numerics version 1; the loader checks a file's version), sections 2-4.
//
// Every fp32 operation here is a separate, rounded IEEE binary32 operation: no `fma`, no
// `addingProduct`, no reassociation. Swift does not contract `a * b + c` on its own, so writing the
// operations one per expression is enough; the constants are spelled as bit patterns so no literal
// parsing question can arise (the decimal value of each is in its comment).

/// Float constants of docs/NUMERICS.md, as the bit patterns of their float32 values.
@usableFromInline
enum NumericsConstant {
    @usableFromInline static let log2e = Float(bitPattern: 0x3fb8_aa3b)          // 1.44269504
    @usableFromInline static let ln2Hi = Float(bitPattern: 0x3f31_7200)          // 0.693145751953125
    @usableFromInline static let ln2Lo = Float(bitPattern: 0x35bf_be8e)          // 1.42860677e-06
    @usableFromInline static let expP0 = Float(bitPattern: 0x3950_6967)          // 1.9875691500e-4
    @usableFromInline static let expP1 = Float(bitPattern: 0x3ab7_43ce)          // 1.3981999507e-3
    @usableFromInline static let expP2 = Float(bitPattern: 0x3c08_8908)          // 8.3334519073e-3
    @usableFromInline static let expP3 = Float(bitPattern: 0x3d2a_a9c1)          // 4.1665795894e-2
    @usableFromInline static let expP4 = Float(bitPattern: 0x3e2a_aaaa)          // 1.6666665459e-1
    @usableFromInline static let expP5 = Float(bitPattern: 0x3f00_0000)          // 5.0000001201e-1 (rounds to 0.5)
    @usableFromInline static let erfP = Float(bitPattern: 0x3ea7_ba05)           // 0.3275911
    @usableFromInline static let erfA1 = Float(bitPattern: 0x3f87_dc22)          // 1.061405429
    @usableFromInline static let erfA2 = Float(bitPattern: 0x3fba_00e3)          // 1.453152027
    @usableFromInline static let erfA3 = Float(bitPattern: 0x3fb5_f0e3)          // 1.421413741
    @usableFromInline static let erfA4 = Float(bitPattern: 0x3e91_a98e)          // 0.284496736
    @usableFromInline static let erfA5 = Float(bitPattern: 0x3e82_7906)          // 0.254829592
    @usableFromInline static let invSqrt2 = Float(bitPattern: 0x3f35_04f3)       // 0.70710677
    @usableFromInline static let quickGeluK = Float(bitPattern: 0x3fd9_db23)     // 1.702
    // The softmax numerators' exponential (NUMERICS 6 step 4).
    @usableFromInline static let numLow: Float = -17.0
    @usableFromInline static let ln2 = Float(bitPattern: 0x3f31_7218)            // 0.693147182
    @usableFromInline static let numC4 = Float(bitPattern: 0x3d29_12db)          // 0.041277748
    @usableFromInline static let numC3 = Float(bitPattern: 0x3e2b_8e55)          // 0.16753514
    @usableFromInline static let numC2 = Float(bitPattern: 0x3f00_035a)          // 0.50005114
}

/// Round half to even (numpy `rint`), the only rounding of docs/NUMERICS.md.
///
/// Adding and subtracting 2^23 rounds |x| < 2^23 to an integer in the default (nearest-even) mode, the
/// same on every target and without a libm call (baseline x86-64 has no rounding instruction).
@inlinable @inline(__always)
public func roundEven(_ x: Float) -> Float {
    let a = x.magnitude
    if !(a < 8_388_608.0) { return x }  // already an integer (or NaN / infinity)
    let r = (a + 8_388_608.0) - 8_388_608.0
    return Float(signOf: x, magnitudeOf: r)
}

/// `Q(x; inv_s, z)` of NUMERICS 3.1: fp32 to int8 with a stored inverse scale and a zero point.
///
/// A NaN input (never produced on the int8 path) maps to the zero point instead of trapping.
@inlinable @inline(__always)
public func quantize(_ x: Float, invScale: Float, zeroPoint: Int32) -> Int8 {
    var t = x * invScale
    t = t < -1024.0 ? -1024.0 : t
    t = t > 1024.0 ? 1024.0 : t
    let q = (t.isNaN ? 0 : Int32(roundEven(t))) &+ zeroPoint
    return Int8(q < -128 ? -128 : (q > 127 ? 127 : q))
}

/// `exp32(x)` of NUMERICS 4.1 (range reduction by ln2 hi/lo, degree-5 polynomial, exponent bits).
@inlinable
public func exp32(_ input: Float) -> Float {
    typealias K = NumericsConstant
    var x = input
    x = x < -87.0 ? -87.0 : x
    x = x > 88.0 ? 88.0 : x
    if x.isNaN { x = 0 }
    let n = roundEven(x * K.log2e)
    var r = x - n * K.ln2Hi
    r = r - n * K.ln2Lo
    var p = K.expP0
    p = p * r + K.expP1
    p = p * r + K.expP2
    p = p * r + K.expP3
    p = p * r + K.expP4
    p = p * r + K.expP5
    let rr = r * r
    p = (p * rr + r) + 1.0
    let scale = Float(bitPattern: UInt32(truncatingIfNeeded: (Int32(n) &+ 127) << 23))
    return p * scale
}

/// `e^d` of the int8 softmax numerators (NUMERICS 6 step 4, `d = l - max <= 0`): below -17 (and NaN) as -17,
/// one-constant Cody-Waite, a degree-4 polynomial with `1 + r` exact, then `2^n`. 8-bit numerators need no more:
/// `roundEven(e * 255)` differs from the exact one for 3e-5 of inputs, by 1.
@inlinable
public func numeratorExp32(_ d: Float) -> Float {
    typealias K = NumericsConstant
    let x = d > K.numLow ? d : K.numLow
    let n = roundEven(x * K.log2e)
    let r = x - n * K.ln2
    var p = K.numC4
    p = p * r + K.numC3
    p = p * r + K.numC2
    p = p * r + 1.0
    p = p * r + 1.0
    return p * Float(bitPattern: UInt32(truncatingIfNeeded: (Int32(n) &+ 127) << 23))
}

/// `erf32(x)` of NUMERICS 4.2 (Abramowitz-Stegun 7.1.26 over `exp32`).
@inlinable
public func erf32(_ x: Float) -> Float {
    typealias K = NumericsConstant
    let a = x.magnitude
    let t = 1.0 / (1.0 + K.erfP * a)
    var y = K.erfA1
    y = y * t - K.erfA2
    y = y * t + K.erfA3
    y = y * t - K.erfA4
    y = y * t + K.erfA5
    y = y * t
    let e = exp32(-(a * a))
    let r = 1.0 - y * e
    return x < 0 ? -r : r
}

/// Exact-erf GELU of NUMERICS 4.3: `(x * 0.5) * (1 + erf32(x * 0.70710677))`.
@inlinable
public func gelu32(_ x: Float) -> Float {
    let half = x * 0.5
    let s = 1.0 + erf32(x * NumericsConstant.invSqrt2)
    return half * s
}

/// `sigmoid(x) = 1 / (1 + exp32(-x))` of NUMERICS 4.3.
@inlinable
public func sigmoid32(_ x: Float) -> Float {
    let d = 1.0 + exp32(-x)
    return 1.0 / d
}

/// QuickGELU of the adapters: `x * sigmoid(1.702 * x)`.
@inlinable
public func quickGelu32(_ x: Float) -> Float {
    x * sigmoid32(NumericsConstant.quickGeluK * x)
}

/// ReLU: `max(x, 0)`.
@inlinable @inline(__always)
public func relu32(_ x: Float) -> Float { x > 0 ? x : 0 }

/// Sum in the canonical **lane16** order of NUMERICS 2.1 over `count` values `stride` apart.
@inlinable
public func lane16Sum(_ x: UnsafePointer<Float>, count: Int, stride: Int = 1) -> Float {
    var acc = SIMD16<Float>(repeating: 0)
    var i = 0
    if stride == 1 {
        while i + 16 <= count {
            acc = acc + UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
            i += 16
        }
    }
    while i < count {
        acc[i & 15] = acc[i & 15] + x[i * stride]
        i += 1
    }
    return lane16Tree(acc)
}

/// The fixed reduction tree of lane16: halves added pairwise 8, 4, 2, 1.
@inlinable @inline(__always)
public func lane16Tree(_ acc: SIMD16<Float>) -> Float {
    let a8 = acc.lowHalf + acc.highHalf
    let a4 = a8.lowHalf + a8.highHalf
    let a2 = a4.lowHalf + a4.highHalf
    return a2[0] + a2[1]
}

/// lane16 sum of squares of `x[i] - mean` (the LayerNorm variance numerator), each square rounded.
@inlinable
public func lane16SumSquaredDeviation(_ x: UnsafePointer<Float>, count: Int, mean: Float) -> Float {
    var acc = SIMD16<Float>(repeating: 0)
    var i = 0
    let m = SIMD16<Float>(repeating: mean)
    while i + 16 <= count {
        let d = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) - m
        acc = acc + d * d
        i += 16
    }
    while i < count {
        let d = x[i] - mean
        acc[i & 15] = acc[i & 15] + d * d
        i += 1
    }
    return lane16Tree(acc)
}

/// Plain scalar lane16 sum, literally as NUMERICS 2.1 writes it (the reference of `lane16Sum`).
public func lane16Sum__scalar_ref(_ x: UnsafePointer<Float>, count: Int, stride: Int = 1) -> Float {
    var acc: (Float, Float, Float, Float, Float, Float, Float, Float,
              Float, Float, Float, Float, Float, Float, Float, Float) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    return withUnsafeMutableBytes(of: &acc) { raw -> Float in
        let a = raw.baseAddress!.assumingMemoryBound(to: Float.self)
        for i in 0..<count { a[i % 16] = a[i % 16] + x[i * stride] }
        var w = 8
        while w >= 1 {
            for j in 0..<w { a[j] = a[j] + a[j + w] }
            w /= 2
        }
        return a[0]
    }
}

/// Dot product in the canonical **seq** order of NUMERICS 2.1: `acc = acc + (a[k] * b[k])`, k ascending.
@inlinable
public func seqDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int,
                   strideA: Int = 1, strideB: Int = 1) -> Float {
    var acc: Float = 0
    for k in 0..<count {
        let p = a[k * strideA] * b[k * strideB]
        acc = acc + p
    }
    return acc
}
