// Instances of NUMERICS 8.5: 8-connected components of a binary mask in raster order (ids 1..n by
// first pixel), each with area, bbox, centroid and score. Run-based labelling with caller scratch (no
// recursion, no allocation): each row's foreground runs are found 8 map bytes at a time, runs of adjacent
// rows that touch are joined by union-find, and every pixel is then written once, a run at a time. A frame
// that is one large animal costs a few passes over bytes, not a per-pixel fill (docs/PERFORMANCE.md).
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
    /// Int32 elements of the scratch `label` needs for a `width x height` map: per row, room for its most runs
    /// ((width + 1) / 2) twice (the runs, then their union-find links), and one count.
    public static func scratchCount(width: Int, height: Int) -> Int {
        height * (2 * ((width + 1) / 2) + 1)
    }

    /// Labels the foreground (`g > threshold`) of a `width x height` 8-bit map with 8-connectivity.
    ///
    /// `labels` (width x height Int32) receives 0 for background, -1 for a dropped component (area below
    /// `minArea`) and the instance id otherwise; `scratch` holds `scratchCount(width:height:)` Int32. Instances
    /// beyond `capacity` are labelled but not stored.
    public static func label(_ g: UnsafePointer<UInt8>, width: Int, height: Int,
                             threshold: UInt8 = Postprocess.foregroundThreshold, minArea: Int = 0,
                             labels: UnsafeMutablePointer<Int32>, scratch: UnsafeMutablePointer<Int32>,
                             instances: UnsafeMutablePointer<Instance>, capacity: Int) throws(OpError) -> InstanceCounts {
        try require(width >= 1 && height >= 1, "instances", "empty map")
        try require(capacity >= 0, "instances", "negative capacity")
        try require(minArea >= 0, "instances", "negative minimum area")
        try require(width <= 1 << 16 && height <= 1 << 15, "instances", "map too large (at most 65536 x 32768)")
        // Run r of row y sits at y * perRow + r: `runs` holds (x0 | x1 << 16), `link` the union-find parent
        // (an earlier run, so parents always precede children) or, at a root, minus the component's area.
        let perRow = (width + 1) / 2
        let runs = scratch, link = scratch + height * perRow, counts = scratch + 2 * height * perRow
        for y in 0..<height {
            counts[y] = Int32(truncatingIfNeeded: findRuns(g + y * width, width: width, threshold: threshold,
                                                           into: runs + y * perRow))
        }
        @inline(__always) func root(_ r: Int) -> Int {
            var r = r
            while link[r] >= 0 {
                let up = Int(link[r])
                if link[up] >= 0 { link[r] = link[up] }  // path halving keeps every parent before its child
                r = Int(link[r])
            }
            return r
        }
        for y in 0..<height {
            let base = y * perRow, count = Int(counts[y])
            for i in 0..<count {
                let run = UInt32(bitPattern: runs[base + i])
                link[base + i] = -Int32(truncatingIfNeeded: Int(run >> 16) - Int(run & 0xffff) + 1)
            }
            guard y > 0 else { continue }
            // Touching runs of the row above (8-connectivity: overlapping once widened by one pixel) join.
            let above = base - perRow, aboveCount = Int(counts[y - 1])
            var i = 0, j = 0
            while i < aboveCount && j < count {
                let a = UInt32(bitPattern: runs[above + i]), b = UInt32(bitPattern: runs[base + j])
                let a0 = Int(a & 0xffff), a1 = Int(a >> 16), b0 = Int(b & 0xffff), b1 = Int(b >> 16)
                if a1 + 1 < b0 { i += 1; continue }
                if b1 + 1 < a0 { j += 1; continue }
                let ra = root(above + i), rb = root(base + j)
                if ra != rb {
                    let (keep, join) = ra < rb ? (ra, rb) : (rb, ra)
                    link[keep] += link[join]
                    link[join] = Int32(truncatingIfNeeded: keep)
                }
                if a1 < b1 { i += 1 } else { j += 1 }
            }
        }
        // Raster order: a root is its component's first run, so ids follow first pixels. Each run's link
        // becomes its code (the id, or -1 when dropped), read by later runs from their parent's slot.
        var found = 0, dropped = 0
        for y in 0..<height {
            let base = y * perRow, count = Int(counts[y]), row = labels + y * width
            var x = 0
            for i in 0..<count {
                let run = UInt32(bitPattern: runs[base + i])
                let x0 = Int(run & 0xffff), x1 = Int(run >> 16), length = x1 - x0 + 1
                let parent = Int(link[base + i])
                let code: Int32
                if parent < 0 {
                    if -parent < minArea {
                        code = -1
                        dropped += 1
                    } else {
                        found += 1
                        code = Int32(truncatingIfNeeded: found)
                        if found <= capacity {
                            instances[found - 1] = Instance(id: code, area: 0, minX: width, minY: height, maxX: -1,
                                                            maxY: -1, sumX: 0, sumY: 0, sumG: 0)
                        }
                    }
                } else {
                    code = link[parent]
                }
                link[base + i] = code
                if code > 0 && Int(code) <= capacity {
                    var sumG = 0
                    for p in x0...x1 { sumG &+= Int(g[y * width + p]) }
                    let inst = instances + Int(code) - 1
                    inst.pointee.area += length
                    inst.pointee.sumX += (x0 + x1) * length / 2
                    inst.pointee.sumY += y * length
                    inst.pointee.sumG += sumG
                    if x0 < inst.pointee.minX { inst.pointee.minX = x0 }
                    if x1 > inst.pointee.maxX { inst.pointee.maxX = x1 }
                    if y < inst.pointee.minY { inst.pointee.minY = y }
                    inst.pointee.maxY = y
                }
                (row + x).update(repeating: 0, count: x0 - x)
                (row + x0).update(repeating: code, count: length)
                x = x1 + 1
            }
            (row + x).update(repeating: 0, count: width - x)
        }
        return InstanceCounts(found: found, stored: min(found, capacity), dropped: dropped)
    }

    /// The foreground runs (`g > threshold`) of one row as `x0 | x1 << 16` (inclusive ends), left to right;
    /// returns their count. Whole 8-byte words of background, or of foreground inside a run, are passed at once.
    static func findRuns(_ g: UnsafePointer<UInt8>, width: Int, threshold t: UInt8,
                         into runs: UnsafeMutablePointer<Int32>) -> Int {
        let swar = ByteThreshold(t)
        var count = 0, x = 0, start = -1
        while x < width {
            if x & 7 == 0 && x + 8 <= width {
                let fg = swar.above(UnsafeRawPointer(g + x).loadUnaligned(as: UInt64.self))
                if fg == (start < 0 ? 0 : ByteThreshold.high) {
                    x += 8
                    continue
                }
            }
            if g[x] > t {
                if start < 0 { start = x }
            } else if start >= 0 {
                runs[count] = Int32(bitPattern: UInt32(start) | UInt32(x - 1) << 16)
                count += 1
                start = -1
            }
            x += 1
        }
        if start >= 0 {
            runs[count] = Int32(bitPattern: UInt32(start) | UInt32(width - 1) << 16)
            count += 1
        }
        return count
    }
}
