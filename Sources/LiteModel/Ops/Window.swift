// SAM's window partition: an H x W x C token grid zero-padded to multiples of the window size and cut
// into windows (row-major over windows, then tokens), and the inverse that crops the padding away.

/// Geometry of a window partition of an `h x w` token grid into `size x size` windows.
public struct WindowGeometry: Equatable {
    public let h: Int, w: Int, size: Int
    public let paddedH: Int, paddedW: Int

    public init(h: Int, w: Int, size: Int) throws(OpError) {
        try require(h >= 1 && w >= 1 && size >= 1, "window_partition", "empty grid or window")
        self.h = h; self.w = w; self.size = size
        paddedH = (h + size - 1) / size * size
        paddedW = (w + size - 1) / size * size
    }

    public var windowsH: Int { paddedH / size }
    public var windowsW: Int { paddedW / size }
    public var windowCount: Int { windowsH * windowsW }
    public var tokensPerWindow: Int { size * size }
    /// Rows x columns of real (unpadded) tokens inside window `index`; queries outside may be skipped.
    public func validExtent(window index: Int) -> (rows: Int, cols: Int) {
        let wy = index / windowsW, wx = index % windowsW
        return (Swift.min(size, h - wy * size), Swift.min(size, w - wx * size))
    }

    /// Copies `[h, w, c]` tokens into `[windows, size, size, c]`, `pad` in the padding
    /// (`z_a` for int8 tokens, 0 for fp32: NUMERICS 3.2's zero).
    public func partition<T>(_ src: UnsafePointer<T>, c: Int, pad: T, into dst: UnsafeMutablePointer<T>) {
        for wi in 0..<windowCount {
            let wy = wi / windowsW, wx = wi % windowsW
            for ty in 0..<size {
                for tx in 0..<size {
                    let y = wy * size + ty, x = wx * size + tx
                    let d = dst + ((wi * size + ty) * size + tx) * c
                    if y < h && x < w { d.update(from: src + (y * w + x) * c, count: c) }
                    else { d.update(repeating: pad, count: c) }
                }
            }
        }
    }

    /// Copies `[windows, size, size, c]` back to `[h, w, c]`, dropping padded tokens.
    public func unpartition<T>(_ src: UnsafePointer<T>, c: Int, into dst: UnsafeMutablePointer<T>) {
        for y in 0..<h {
            for x in 0..<w {
                let wi = (y / size) * windowsW + x / size
                let t = (y % size) * size + x % size
                (dst + (y * w + x) * c).update(from: src + (wi * tokensPerWindow + t) * c, count: c)
            }
        }
    }
}
