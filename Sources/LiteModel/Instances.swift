// Instances of NUMERICS 8.5: 8-connected components of a binary mask in raster order (ids 1..n by
// first pixel), each with area, bbox, centroid and score. Iterative scanline fill with caller scratch:
// no recursion, no allocation, whole runs of a row per step (no per-pixel division or 3x3 probe).
// Components smaller than `minArea` are dropped (NUMERICS 8.6): a model that is unsure near the threshold
// leaves specks of a few pixels that are noise to a robot, and whose presence flips between int8 and fp32.

/// One connected component, with its sums so derived values are exact.
public struct Instance: Equatable {
    /// 1-based id in raster order of first pixel.
    public var id: Int32
    public var area: Int
    public var minX: Int, minY: Int, maxX: Int, maxY: Int
    public var sumX: Int, sumY: Int
    /// Σ of the 8-bit map over the component's pixels.
    public var sumG: Int

    /// COCO bbox `[x, y, w, h]` with inclusive pixel extents.
    public var bbox: (x: Int, y: Int, w: Int, h: Int) { (minX, minY, maxX - minX + 1, maxY - minY + 1) }
    /// `(Σx / area, Σy / area)` in float64.
    public var centroid: (x: Double, y: Double) { (Double(sumX) / Double(area), Double(sumY) / Double(area)) }
    /// Mean probability `Σ g / (255 * area)` in float64.
    public var score: Double { Double(sumG) / Double(255 * area) }
}

/// Counts of one labelling pass.
public struct InstanceCounts: Equatable {
    /// Components found.
    public var found: Int
    /// Components written to the caller's buffer (the first `capacity` in raster order).
    public var stored: Int
    /// Components smaller than the minimum area: labelled -1, not counted in `found`, given no id.
    public var dropped: Int = 0

    public init(found: Int, stored: Int, dropped: Int = 0) {
        self.found = found; self.stored = stored; self.dropped = dropped
    }
}

/// Connected components and per-instance statistics.
public enum Instances {
    /// Labels the foreground (`g > threshold`) of a `width x height` 8-bit map with 8-connectivity.
    ///
    /// `labels` (width x height Int32) receives 0 for background, -1 for a dropped component (area below
    /// `minArea`) and the instance id otherwise; `stack` (width x height Int32) is scratch. Instances beyond
    /// `capacity` are labelled but not stored.
    public static func label(_ g: UnsafePointer<UInt8>, width: Int, height: Int,
                             threshold: UInt8 = Postprocess.foregroundThreshold, minArea: Int = 0,
                             labels: UnsafeMutablePointer<Int32>, stack: UnsafeMutablePointer<Int32>,
                             instances: UnsafeMutablePointer<Instance>, capacity: Int) throws(OpError) -> InstanceCounts {
        try require(width >= 1 && height >= 1, "instances", "empty map")
        try require(capacity >= 0, "instances", "negative capacity")
        try require(minArea >= 0, "instances", "negative minimum area")
        try require(width <= 1 << 16 && height <= 1 << 15, "instances", "map too large (at most 65536 x 32768)")
        let n = width * height
        labels.update(repeating: 0, count: n)
        var found = 0, dropped = 0
        @inline(__always) func open(_ q: Int) -> Bool { labels[q] == 0 && g[q] > threshold }
        // Most of a frame is background: test 8 map bytes at once for one above the threshold (per byte,
        // `(b & 0x7f) + (127 - t)` reaches bit 7 iff `b & 0x7f > t`, without a carry into the next byte; bytes
        // >= 128 have bit 7 already). Only for thresholds below 128.
        let lanes: UInt64 = 0x0101_0101_0101_0101
        let swar = threshold < 128
        let bias = UInt64(127 &- (threshold & 0x7f)) &* lanes
        var start = -1
        while true {
            start += 1
            if swar {
                while start & 7 == 0 && start + 8 <= n {
                    let word = UnsafeRawPointer(g + start).loadUnaligned(as: UInt64.self)
                    if ((word & (0x7f &* lanes)) &+ bias | word) & (0x80 &* lanes) != 0 { break }
                    start += 8
                }
            }
            if start >= n { break }
            guard open(start) else { continue }
            let id = Int32(truncatingIfNeeded: found + 1)
            var inst = Instance(id: id, area: 0, minX: width, minY: height, maxX: -1, maxY: -1, sumX: 0, sumY: 0, sumG: 0)
            // Seeds are (y << 16 | x), each labelled when pushed: every pixel enters the stack at most once.
            labels[start] = id
            stack[0] = Int32(truncatingIfNeeded: (start / width) << 16 | (start % width))
            var top = 1
            while top > 0 {
                top -= 1
                let seed = Int(stack[top]), y = seed >> 16, row = y * width
                var xl = seed & 0xffff, xr = xl
                while xl > 0 && open(row + xl - 1) { xl -= 1; labels[row + xl] = id }
                while xr + 1 < width && open(row + xr + 1) { xr += 1; labels[row + xr] = id }
                let length = xr - xl + 1
                inst.area += length
                inst.sumX += (xl + xr) * length / 2
                inst.sumY += y * length
                for x in xl...xr { inst.sumG += Int(g[row + x]) }
                if xl < inst.minX { inst.minX = xl }
                if xr > inst.maxX { inst.maxX = xr }
                if y < inst.minY { inst.minY = y }
                if y > inst.maxY { inst.maxY = y }
                // One seed per open stretch of the rows above and below, over the run widened by one (8-connectivity).
                for yy in stride(from: y - 1, through: y + 1, by: 2) where yy >= 0 && yy < height {
                    let other = yy * width
                    var x = max(xl - 1, 0)
                    let last = min(xr + 1, width - 1)
                    while x <= last {
                        if open(other + x) {
                            labels[other + x] = id
                            stack[top] = Int32(truncatingIfNeeded: yy << 16 | x)
                            top += 1
                            x += 1
                            while x <= last && open(other + x) { x += 1 }
                        } else {
                            x += 1
                        }
                    }
                }
            }
            if inst.area < minArea {
                // Its pixels all lie in its bbox; -1 keeps them visited and frees the id for the next one.
                for y in inst.minY...inst.maxY {
                    for x in inst.minX...inst.maxX where labels[y * width + x] == id { labels[y * width + x] = -1 }
                }
                dropped += 1
                continue
            }
            found += 1
            if found <= capacity { instances[found - 1] = inst }
        }
        return InstanceCounts(found: found, stored: min(found, capacity), dropped: dropped)
    }
}
