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
    public static func vote(_ p: UnsafePointer<Float>, height: Int, width: Int, rows: Range<Int>,
                            into pred: UnsafeMutablePointer<Float>) {
        for r in rows.clamped(to: 0..<height) {
            for c in 0..<width {
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
}
