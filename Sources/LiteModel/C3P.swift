// C3P decoding (dual-sam.md 1.7, NUMERICS 8.2) with the official one-pixel shift rule: channel k
// (offsets (-2,0) (-1,0) (0,-2) (0,-1) (0,+1) (0,+2) (+1,0) (+2,0)) is voted with its partner channel
// 7 - k read ONE pixel away, in the direction the official code's shift matrices take, including the
// distance-2 channels (shifted by one) and k = 0, 2 (shifted the wrong way). Zero outside the map.

/// C3P bilateral voting over an 8-channel HWC probability map.
public enum C3P {
    /// Per channel k: the partner channel and the partner's (row, column) offset from the pixel.
    public static func partner(of k: Int) -> (channel: Int, dy: Int, dx: Int) {
        switch k {
        case 0: return (7, 1, 0)
        case 1: return (6, -1, 0)
        case 2: return (5, 0, 1)
        case 3: return (4, 0, -1)
        case 4: return (3, 0, 1)
        case 5: return (2, 0, 1)
        case 6: return (1, 1, 0)
        default: return (0, 1, 0)
        }
    }

    /// `pred[r, c] = max_k p_k(r, c) * p_{partner}(r + dy, c + dx)` over output rows `rows`;
    /// `p` is `height x width x 8` probabilities, `pred` is `height x width`.
    ///
    /// The same products and the same running maximum as `vote__scalar_ref`, with the partner offsets spelled
    /// out (the reference looks them up per channel) and no bounds checks away from the map's edge.
    public static func vote(_ p: UnsafePointer<Float>, height: Int, width: Int, rows: Range<Int>,
                            into pred: UnsafeMutablePointer<Float>) {
        let stride = width * 8
        for r in rows.clamped(to: 0..<height) {
            guard r >= 1 && r + 1 < height && width >= 3 else {
                vote__scalar_ref(p, height: height, width: width, rows: r ..< r + 1, into: pred)
                continue
            }
            vote__scalar_ref(p, height: height, width: width, columns: 0..<1, row: r, into: pred)
            var here = p + (r * width + 1) * 8
            let out = pred + r * width
            for c in 1 ..< width - 1 {
                let above = here - stride, below = here + stride, left = here - 8, right = here + 8
                var best = here[0] * below[7]
                var v = here[1] * above[6]; if v > best { best = v }
                v = here[2] * right[5]; if v > best { best = v }
                v = here[3] * left[4]; if v > best { best = v }
                v = here[4] * right[3]; if v > best { best = v }
                v = here[5] * right[2]; if v > best { best = v }
                v = here[6] * below[1]; if v > best { best = v }
                v = here[7] * below[0]; if v > best { best = v }
                out[c] = best
                here += 8
            }
            vote__scalar_ref(p, height: height, width: width, columns: width - 1 ..< width, row: r, into: pred)
        }
    }

    /// Plain scalar reference of `vote`: partner and bounds looked up for every channel of every pixel.
    public static func vote__scalar_ref(_ p: UnsafePointer<Float>, height: Int, width: Int, rows: Range<Int>,
                                        into pred: UnsafeMutablePointer<Float>) {
        for r in rows.clamped(to: 0..<height) {
            vote__scalar_ref(p, height: height, width: width, columns: 0..<width, row: r, into: pred)
        }
    }

    static func vote__scalar_ref(_ p: UnsafePointer<Float>, height: Int, width: Int, columns: Range<Int>, row r: Int,
                                 into pred: UnsafeMutablePointer<Float>) {
        for c in columns {
            let here = p + (r * width + c) * 8
            var best: Float = 0
            for k in 0..<8 {
                let (pk, dy, dx) = partner(of: k)
                let rr = r + dy, cc = c + dx
                let mate: Float = (rr >= 0 && rr < height && cc >= 0 && cc < width) ? p[(rr * width + cc) * 8 + pk] : 0
                let vote = here[k] * mate
                if k == 0 || vote > best { best = vote }
            }
            pred[r * width + c] = best
        }
    }
}
