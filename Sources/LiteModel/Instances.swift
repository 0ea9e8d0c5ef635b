// Instances of NUMERICS 8.5: 8-connected components of a binary mask in raster order (ids 1..n by
// first pixel), each with area, bbox, centroid and score. Iterative flood fill with caller scratch:
// no recursion, no allocation. Components smaller than `minArea` are dropped (NUMERICS 8.6): a model
// that is unsure near the threshold leaves specks of a few pixels that are noise to a robot, and whose
// presence flips between int8 and fp32.

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
        try require(width * height < Int(Int32.max), "instances", "map too large for int32 labels")
        let n = width * height
        labels.update(repeating: 0, count: n)
        var found = 0, dropped = 0
        for start in 0..<n where labels[start] == 0 && g[start] > threshold {
            let id = Int32(truncatingIfNeeded: found + 1)
            var inst = Instance(id: id, area: 0, minX: width, minY: height, maxX: -1, maxY: -1, sumX: 0, sumY: 0, sumG: 0)
            labels[start] = id
            stack[0] = Int32(start)
            var top = 1
            while top > 0 {
                top -= 1
                let p = Int(stack[top])
                let y = p / width, x = p - y * width
                inst.area += 1
                inst.sumX += x; inst.sumY += y; inst.sumG += Int(g[p])
                if x < inst.minX { inst.minX = x }
                if x > inst.maxX { inst.maxX = x }
                if y < inst.minY { inst.minY = y }
                if y > inst.maxY { inst.maxY = y }
                for dy in -1...1 {
                    let yy = y + dy
                    if yy < 0 || yy >= height { continue }
                    for dx in -1...1 {
                        let xx = x + dx
                        if xx < 0 || xx >= width { continue }
                        let q = yy * width + xx
                        // Labelled when pushed, so each pixel enters the stack once: n entries suffice.
                        if labels[q] == 0 && g[q] > threshold {
                            labels[q] = id
                            stack[top] = Int32(q)
                            top += 1
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
