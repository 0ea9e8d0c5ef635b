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
