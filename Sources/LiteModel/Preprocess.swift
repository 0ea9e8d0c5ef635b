import CEdgeShim
import CKernels

// Pre-processing of NUMERICS 7: frame -> RGB8, the gamma LUT from the full-size frame, the integer
// bilinear resize, and the per-channel normalise-and-quantize tables. Integer except the LUT (float64
// log and pow from libm) and the normalisation tables (fp32).

/// Pixel layouts a frame may arrive in.
public enum PixelFormat: Equatable {
    case rgb8, bgr8, mono8
    /// YUV 4:2:2, bytes Y0 U Y1 V per pixel pair (BT.601 limited range).
    case yuyv

    /// Bytes per pixel (yuyv: 2, averaged over a pair).
    public var bytesPerPixel: Int {
        switch self { case .rgb8, .bgr8: return 3; case .mono8: return 1; case .yuyv: return 2 }
    }
}

/// The dataset normalisation of Dual-SAM (RGB, 0-255 scale), float32 of the documented values.
public enum InputNormalization {
    public static let mean: (Float, Float, Float) = (Float(bitPattern: 0x42f9_199a), Float(bitPattern: 0x42ed_cccd),
                                                     Float(bitPattern: 0x42cd_e148))  // 124.55, 118.90, 102.94
    public static let std: (Float, Float, Float) = (Float(bitPattern: 0x4263_147b), Float(bitPattern: 0x425f_e148),
                                                    Float(bitPattern: 0x4266_0000))   // 56.77, 55.97, 57.50
}

/// Pre-processing steps; each works on caller buffers and allocates nothing.
public enum Preprocess {
    @inline(__always)
    static func clampByte(_ v: Int32) -> UInt8 { UInt8(v < 0 ? 0 : (v > 255 ? 255 : v)) }

    /// Converts a `width x height` frame (rows `rowBytes` apart) to packed RGB8 (NUMERICS 7.1).
    public static func convertToRGB8(_ src: UnsafePointer<UInt8>, width: Int, height: Int, rowBytes: Int,
                                     format: PixelFormat, into dst: UnsafeMutablePointer<UInt8>) throws(OpError) {
        try checkFrame(width: width, height: height, rowBytes: rowBytes, format: format)
        convertRowsToRGB8(src, width: width, rowBytes: rowBytes, format: format, rows: 0..<height, into: dst)
    }

    /// The checks of `convertToRGB8`, for callers that split its rows (`convertRowsToRGB8`) over the pool.
    public static func checkFrame(width: Int, height: Int, rowBytes: Int, format: PixelFormat) throws(OpError) {
        try require(width >= 1 && height >= 1, "convert_rgb8", "empty frame")
        try require(rowBytes >= width * format.bytesPerPixel, "convert_rgb8", "row stride shorter than a row")
        if format == .yuyv { try require(width % 2 == 0, "convert_rgb8", "yuyv needs an even width") }
    }

    /// Rows `rows` of `convertToRGB8`, without its checks (`checkFrame`).
    static func convertRowsToRGB8(_ src: UnsafePointer<UInt8>, width: Int, rowBytes: Int, format: PixelFormat,
                                  rows: Range<Int>, into dst: UnsafeMutablePointer<UInt8>) {
        for y in rows {
            let s = src + y * rowBytes, d = dst + y * width * 3
            switch format {
            case .rgb8:
                d.update(from: s, count: width * 3)
            case .bgr8:
                for x in 0..<width { d[3 * x] = s[3 * x + 2]; d[3 * x + 1] = s[3 * x + 1]; d[3 * x + 2] = s[3 * x] }
            case .mono8:
                for x in 0..<width { d[3 * x] = s[x]; d[3 * x + 1] = s[x]; d[3 * x + 2] = s[x] }
            case .yuyv:
                var x = 0
                while x < width {
                    let u = Int32(s[2 * x + 1]) - 128, v = Int32(s[2 * x + 3]) - 128
                    for t in 0..<2 {
                        let c = Int32(s[2 * (x + t)]) - 16
                        let o = d + 3 * (x + t)
                        o[0] = clampByte((298 * c + 409 * v + 128) >> 8)
                        o[1] = clampByte((298 * c - 100 * u - 208 * v + 128) >> 8)
                        o[2] = clampByte((298 * c + 516 * u + 128) >> 8)
                    }
                    x += 2
                }
            }
        }
    }

    /// `Σ g` over packed RGB8 pixels, `g = (4899 R + 9617 G + 1868 B + 8192) >> 14` (OpenCV's gray): the AVX-512
    /// VBMI or NEON kernel where there is one, else `graySumScalar`; all equal.
    public static func graySum(_ rgb: UnsafePointer<UInt8>, pixels: Int) -> UInt64 {
        if VectorKernels.usesVBMI { return pre_gray_sum_rgb8__avx512vbmi(rgb, pixels) }
        if ckernels_has_aarch64() != 0 { return pre_gray_sum_rgb8__neon(rgb, pixels) }
        return graySumScalar(rgb, pixels: pixels)
    }

    /// `graySum` one pixel at a time: the reference of the SIMD kernels.
    public static func graySumScalar(_ rgb: UnsafePointer<UInt8>, pixels: Int) -> UInt64 {
        var total: UInt64 = 0
        for p in 0..<pixels {
            let r = UInt32(rgb[3 * p]), g = UInt32(rgb[3 * p + 1]), b = UInt32(rgb[3 * p + 2])
            total &+= UInt64((4899 &* r &+ 9617 &* g &+ 1868 &* b &+ 8192) >> 14)
        }
        return total
    }

    /// The gamma LUT of NUMERICS 7.2 from the frame's gray sum over `pixels` pixels.
    public static func gammaLUT(graySum: UInt64, pixels: Int, into lut: UnsafeMutablePointer<UInt8>) {
        let mean = Double(graySum) / Double(max(pixels, 1))
        let m = min(max(mean, 1.0), 254.0) / 255.0
        let gamma = log(0.5) / log(m)
        for i in 0..<256 {
            let v = floor(255.0 * pow(Double(i) / 255.0, gamma) + 0.5)
            lut[i] = UInt8(v < 0 ? 0 : (v > 255 ? 255 : v))
        }
    }

    /// Applies a 256-entry LUT in place to `count` bytes.
    public static func applyLUT(_ lut: UnsafePointer<UInt8>, to data: UnsafeMutablePointer<UInt8>, count: Int) {
        applyLUT(lut, from: data, into: data, count: count)
    }

    /// `dst[i] = lut[src[i]]` for `count` bytes (`dst` may be `src`).
    public static func applyLUT(_ lut: UnsafePointer<UInt8>, from src: UnsafePointer<UInt8>,
                                into dst: UnsafeMutablePointer<UInt8>, count: Int) {
        for i in 0..<count { dst[i] = lut[Int(src[i])] }
    }

    /// Int32 scratch entries `resizeBilinear` needs: the output width's taps and one blended source row.
    public static func resizeScratchCount(outWidth: Int, inWidth: Int, channels: Int) -> Int {
        resizeTapCount(outWidth: outWidth) + inWidth * channels
    }

    /// Int32 entries of `resizeTaps` for an output width (a source index and a weight per output column).
    static func resizeTapCount(outWidth: Int) -> Int { 2 * outWidth }

    /// Source index and 11-bit weight of output coordinate `x` (NUMERICS 7.3, half-pixel centres).
    @inline(__always)
    static func resizeTap(_ x: Int, src: Int, dst: Int) -> (Int, Int) {
        let num = (2 * x + 1) * src - dst, den = 2 * dst
        if num < 0 { return (0, 0) }
        let x0 = num / den
        if x0 >= src - 1 { return (src - 1, 0) }
        return (x0, ((num - x0 * den) * 2048 + den / 2) / den)
    }

    /// Bilinear resize of packed `channels`-channel bytes from `srcW x srcH` to `dstW x dstH`,
    /// output rows `rows` (the pool's unit); `scratch` holds `resizeScratchCount(outWidth:inWidth:channels:)` Int32.
    public static func resizeBilinear(_ src: UnsafePointer<UInt8>, srcW: Int, srcH: Int, channels: Int,
                                      into dst: UnsafeMutablePointer<UInt8>, dstW: Int, dstH: Int, rows: Range<Int>,
                                      scratch: UnsafeMutablePointer<Int32>) throws(OpError) {
        try require(srcW >= 1 && srcH >= 1 && dstW >= 1 && dstH >= 1 && channels >= 1, "resize_bilinear", "empty image")
        try require(srcW < 1 << 20 && srcH < 1 << 20 && dstW < 1 << 20 && dstH < 1 << 20, "resize_bilinear", "image too large")
        resizeTaps(srcW: srcW, dstW: dstW, into: scratch)
        resizeRows(src, srcW: srcW, srcH: srcH, channels: channels, srcRowBytes: srcW * channels, into: dst, dstW: dstW,
                   dstH: dstH, rows: rows, taps: scratch, column: scratch + resizeTapCount(outWidth: dstW))
    }

    /// The horizontal taps of `resizeBilinear` (`resizeTapCount(outWidth: dstW)` entries): computed once per
    /// frame, then read by every row range.
    static func resizeTaps(srcW: Int, dstW: Int, into taps: UnsafeMutablePointer<Int32>) {
        for x in 0..<dstW {
            let (x0, f) = resizeTap(x, src: srcW, dst: dstW)
            taps[2 * x] = Int32(x0); taps[2 * x + 1] = Int32(f)
        }
    }

    /// Output rows `rows` of `resizeBilinear` (source rows `srcRowBytes` apart) with its taps precomputed; `column`
    /// (srcW x channels Int32, private to the caller's thread) holds a row's vertical blend. Blending the two source rows first, once per source
    /// value, leaves two products per output value, and the sum is the same integer as the reference's
    /// `wy0 (wx0 a + wx1 b) + wy1 (wx0 c + wx1 d)`.
    static func resizeRows(_ src: UnsafePointer<UInt8>, srcW: Int, srcH: Int, channels: Int, srcRowBytes: Int,
                           into dst: UnsafeMutablePointer<UInt8>, dstW: Int, dstH: Int, rows: Range<Int>,
                           taps: UnsafePointer<Int32>, column: UnsafeMutablePointer<Int32>) {
        let values = srcW * channels
        for y in rows.clamped(to: 0..<dstH) {
            let (y0, fy) = resizeTap(y, src: srcH, dst: dstH)
            let y1 = min(y0 + 1, srcH - 1)
            let r0 = src + y0 * srcRowBytes, r1 = src + y1 * srcRowBytes
            let wy0 = Int32(2048 - fy), wy1 = Int32(fy)
            // Wrapping arithmetic: a blend is at most 2048 * 255 and an output sum 2048 * 2048 * 255 + 2^21 < 2^31,
            // so nothing can overflow, and the checks would cost more than the multiplies.
            for i in 0..<values { column[i] = wy0 &* Int32(r0[i]) &+ wy1 &* Int32(r1[i]) }
            let d = dst + y * dstW * channels
            if channels == 1 {      // the map: one byte per pixel, no channel loop
                for x in 0..<dstW {
                    let x0 = Int(taps[2 * x]), fx = taps[2 * x + 1]
                    let x1 = Swift.min(x0 &+ 1, srcW &- 1)
                    let sum = (2048 &- fx) &* column[x0] &+ fx &* column[x1] &+ (1 << 21)
                    d[x] = UInt8(truncatingIfNeeded: sum &>> 22)
                }
                continue
            }
            for x in 0..<dstW {
                let x0 = Int(taps[2 * x]), fx = taps[2 * x + 1]
                let x1 = Swift.min(x0 &+ 1, srcW &- 1)
                let wx0 = 2048 &- fx, wx1 = fx
                for c in 0..<channels {
                    let sum = wx0 &* column[x0 &* channels &+ c] &+ wx1 &* column[x1 &* channels &+ c] &+ (1 << 21)
                    d[x &* channels &+ c] = UInt8(truncatingIfNeeded: sum &>> 22)
                }
            }
        }
    }

    /// Plain scalar reference of `resizeBilinear`: every tap computed where it is used.
    public static func resizeBilinear__scalar_ref(_ src: UnsafePointer<UInt8>, srcW: Int, srcH: Int, channels: Int,
                                                  into dst: UnsafeMutablePointer<UInt8>, dstW: Int, dstH: Int) {
        for y in 0..<dstH {
            let (y0, fy) = resizeTap(y, src: srcH, dst: dstH)
            for x in 0..<dstW {
                let (x0, fx) = resizeTap(x, src: srcW, dst: dstW)
                for c in 0..<channels {
                    let y1 = min(y0 + 1, srcH - 1), x1 = min(x0 + 1, srcW - 1)
                    func px(_ yy: Int, _ xx: Int) -> Int { Int(src[(yy * srcW + xx) * channels + c]) }
                    var sum = (2048 - fy) * (2048 - fx) * px(y0, x0)
                    sum += (2048 - fy) * fx * px(y0, x1)
                    sum += fy * (2048 - fx) * px(y1, x0)
                    sum += fy * fx * px(y1, x1)
                    dst[(y * dstW + x) * channels + c] = UInt8((sum + (1 << 21)) >> 22)
                }
            }
        }
    }

    /// `N_c[u] = (Float(u) - mean_c) / std_c` for c = 0..2, u = 0..255 (768 floats, channel-major).
    public static func normalizedValues(into table: UnsafeMutablePointer<Float>) {
        for c in 0..<3 {
            let mean = c == 0 ? InputNormalization.mean.0 : (c == 1 ? InputNormalization.mean.1 : InputNormalization.mean.2)
            let std = c == 0 ? InputNormalization.std.0 : (c == 1 ? InputNormalization.std.1 : InputNormalization.std.2)
            for u in 0..<256 {
                let d = Float(u) - mean
                table[c * 256 + u] = d / std
            }
        }
    }

    /// `T_c[u] = Q(N_c[u]; invScale, zeroPoint)` from `normalizedValues` (768 int8, channel-major).
    public static func quantizedTable(_ values: UnsafePointer<Float>, invScale: Float, zeroPoint: Int32,
                                      into table: UnsafeMutablePointer<Int8>) {
        for i in 0..<768 { table[i] = quantize(values[i], invScale: invScale, zeroPoint: zeroPoint) }
    }

    /// Int8 model input: `out[p, c] = T_c[rgb[p, c]]` over `pixels` packed RGB8 pixels.
    public static func quantizeInput(_ rgb: UnsafePointer<UInt8>, pixels: Int, table: UnsafePointer<Int8>,
                                     into out: UnsafeMutablePointer<Int8>) {
        for p in 0..<pixels {
            for c in 0..<3 { out[3 * p + c] = table[c * 256 + Int(rgb[3 * p + c])] }
        }
    }

    /// fp32 model input: `out[p, c] = N_c[rgb[p, c]]`.
    public static func normalizeInput(_ rgb: UnsafePointer<UInt8>, pixels: Int, values: UnsafePointer<Float>,
                                      into out: UnsafeMutablePointer<Float>) {
        for p in 0..<pixels {
            for c in 0..<3 { out[3 * p + c] = values[c * 256 + Int(rgb[3 * p + c])] }
        }
    }

    /// The MCP's initial prompt input `I^α + I^β` in fp32: `N_c[α] + N_c[β]`.
    public static func promptInput(_ alpha: UnsafePointer<UInt8>, _ beta: UnsafePointer<UInt8>, pixels: Int,
                                   values: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        for i in 0..<(3 * pixels) {
            let c = i % 3
            out[i] = values[c * 256 + Int(alpha[i])] + values[c * 256 + Int(beta[i])]
        }
    }

    /// The MCP's initial prompt input, int8: `Q(N_c[α] + N_c[β]; invScale, zeroPoint)`.
    public static func quantizePromptInput(_ alpha: UnsafePointer<UInt8>, _ beta: UnsafePointer<UInt8>, pixels: Int,
                                           values: UnsafePointer<Float>, invScale: Float, zeroPoint: Int32,
                                           into out: UnsafeMutablePointer<Int8>) {
        for i in 0..<(3 * pixels) {
            let c = i % 3
            let s = values[c * 256 + Int(alpha[i])] + values[c * 256 + Int(beta[i])]
            out[i] = quantize(s, invScale: invScale, zeroPoint: zeroPoint)
        }
    }
}
