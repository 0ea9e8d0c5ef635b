// DFAM channel attention (`senet`) of NUMERICS 5 over an HWC fp32 tensor:
// avg_c = lane16(x_c over pixels) / HW, max_c, a shared two-layer 1x1 fc in seq order with ReLU,
// g_c = sigmoid(fc(avg)_c + fc(max)_c), y = x + (x * g_c).

/// Channel attention of one HWC tensor with `c` channels and `hidden` fc units.
public struct ChannelAttention {
    public let pixels: Int
    public let c: Int
    public let hidden: Int
    /// fc1 weights `[hidden][c]` and bias `[hidden]`.
    public let w1: UnsafePointer<Float>
    public let b1: UnsafePointer<Float>
    /// fc2 weights `[c][hidden]` and bias `[c]`.
    public let w2: UnsafePointer<Float>
    public let b2: UnsafePointer<Float>

    public init(pixels: Int, c: Int, hidden: Int, w1: UnsafePointer<Float>, b1: UnsafePointer<Float>,
                w2: UnsafePointer<Float>, b2: UnsafePointer<Float>) throws(OpError) {
        try require(pixels >= 1 && c >= 1 && hidden >= 1, "channel_attention", "empty tensor or fc")
        self.pixels = pixels; self.c = c; self.hidden = hidden
        self.w1 = w1; self.b1 = b1; self.w2 = w2; self.b2 = b2
    }

    /// Floats of scratch `run` needs: 16 lane sums per channel, then max, gate and the fc hidden units.
    public var scratchCount: Int { 18 * c + 2 * hidden }

    /// Computes the gates then `out = x + x * g` (`out` may alias `x`).
    public func run(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                    scratch: UnsafeMutablePointer<Float>) {
        let lanes = scratch, mx = scratch + 16 * c, gate = scratch + 17 * c, hid = scratch + 18 * c
        lanes.update(repeating: 0, count: 16 * c)
        (mx).update(from: x, count: c)
        for p in 0..<pixels {
            let lane = lanes + (p & 15) * c
            let row = x + p * c
            for ch in 0..<c {
                lane[ch] = lane[ch] + row[ch]
                mx[ch] = row[ch] > mx[ch] ? row[ch] : mx[ch]
            }
        }
        // lane16's tree, channel-wise: lanes j += lanes j + w for w = 8, 4, 2, 1.
        var w = 8
        while w >= 1 {
            for j in 0..<w {
                let dst = lanes + j * c, src = lanes + (j + w) * c
                for ch in 0..<c { dst[ch] = dst[ch] + src[ch] }
            }
            w /= 2
        }
        let hw = Float(pixels)
        for ch in 0..<c { lanes[ch] = lanes[ch] / hw }
        gates(avg: lanes, max: mx, hidden: hid, into: gate)
        apply(x, gate: gate, into: out)
    }

    /// Plain scalar reference of `run` (strided scalar lane16 per channel); scratch as `run`.
    public func runReference(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                             scratch: UnsafeMutablePointer<Float>) {
        let avg = scratch, mx = scratch + c, gate = scratch + 2 * c, hid = scratch + 3 * c
        for ch in 0..<c {
            avg[ch] = lane16Sum__scalar_ref(x + ch, count: pixels, stride: c) / Float(pixels)
            var m = x[ch]
            for p in 0..<pixels where x[p * c + ch] > m { m = x[p * c + ch] }
            mx[ch] = m
        }
        gates(avg: avg, max: mx, hidden: hid, into: gate)
        for p in 0..<pixels {
            for ch in 0..<c {
                let v = x[p * c + ch]
                let prod = v * gate[ch]
                out[p * c + ch] = v + prod
            }
        }
    }

    /// `g = sigmoid(fc(avg) + fc(max))`, fc in seq order; `hidden` holds 2 x hidden floats.
    func gates(avg: UnsafePointer<Float>, max: UnsafePointer<Float>, hidden hid: UnsafeMutablePointer<Float>,
               into gate: UnsafeMutablePointer<Float>) {
        for j in 0..<hidden {
            hid[j] = relu32(seqDot(w1 + j * c, avg, count: c) + b1[j])
            hid[hidden + j] = relu32(seqDot(w1 + j * c, max, count: c) + b1[j])
        }
        for ch in 0..<c {
            let fa = seqDot(w2 + ch * hidden, hid, count: hidden) + b2[ch]
            let fm = seqDot(w2 + ch * hidden, hid + hidden, count: hidden) + b2[ch]
            gate[ch] = sigmoid32(fa + fm)
        }
    }

    func apply(_ x: UnsafePointer<Float>, gate: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        for p in 0..<pixels {
            let row = x + p * c, o = out + p * c
            for ch in 0..<c {
                let prod = row[ch] * gate[ch]
                o[ch] = row[ch] + prod
            }
        }
    }
}
