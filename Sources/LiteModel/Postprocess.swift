// Post-processing of NUMERICS 8, steps 1-4: sigmoid of the head's logits, C3P voting (C3P.swift), the
// 8-bit map as torchvision's save_image writes it, and the foreground threshold `g > 65`.

/// Post-processing steps over caller buffers (HWC maps, no allocation).
public enum Postprocess {
    /// `x[i] = sigmoid32(x[i])` over `count` values (the 8-channel logits become probabilities).
    public static func sigmoidInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] = sigmoid32(x[i]) }
    }

    /// `g = Int(floor(pred * 255 + 0.5))` clamped to [0, 255], each fp32 op rounded.
    @inline(__always)
    public static func to8Bit(_ pred: Float) -> UInt8 {
        let t = pred * 255.0
        let u = t + 0.5
        if !(u >= 0) { return 0 }          // also NaN
        return u >= 255 ? 255 : UInt8(u)   // truncation is floor for u >= 0
    }

    /// The 8-bit map of `count` predictions.
    public static func to8Bit(_ pred: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<UInt8>) {
        for i in 0..<count { out[i] = to8Bit(pred[i]) }
    }

    /// The gray level above which a pixel is foreground (the official `cv2.threshold(65)`).
    public static let foregroundThreshold: UInt8 = 65
}

/// `b > threshold` for the eight bytes of a word at once (SWAR): per byte, bit 7 of `(b & 0x7f) + (127 - (t & 0x7f))`
/// is set iff `b & 0x7f > t & 0x7f`, with no carry into the next byte; `| b` (t < 128) or `& b` (t >= 128) then
/// gives bit 7 iff b > t. Used where maps are scanned 8 bytes at a time (labelling, the RLE strips).
struct ByteThreshold {
    static let lanes: UInt64 = 0x0101_0101_0101_0101
    /// Bit 7 of every byte: `above(word) == high` when all eight bytes are above the threshold.
    static let high: UInt64 = 0x80 &* lanes
    private let bias: UInt64
    private let upper: Bool

    init(_ threshold: UInt8) {
        bias = UInt64(127 &- (threshold & 0x7f)) &* ByteThreshold.lanes
        upper = threshold >= 128
    }

    /// Bit 7 of each byte set iff that byte of `word` is above the threshold; every other bit clear.
    @inline(__always)
    func above(_ word: UInt64) -> UInt64 {
        let low = (word & (0x7f &* ByteThreshold.lanes)) &+ bias
        return (upper ? low & word : low | word) & ByteThreshold.high
    }

    /// The same eight results as bits 0-7 (bit i for byte i, the word read little-endian).
    @inline(__always)
    func bits(_ word: UInt64) -> UInt64 { ((above(word) >> 7) &* 0x0102_0408_1020_4080) >> 56 }
}
