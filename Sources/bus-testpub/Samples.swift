import Bus
import LiteModel

/// SplitMix64: deterministic random numbers, so a seed reproduces a run.
struct SplitMix {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<bound (bound > 0; the tiny modulo bias is irrelevant here).
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(UInt64(1) << 53) }
}

/// Random detection messages whose instances are real: each comes from a random mask, with its
/// bbox, area, centroid and RLE computed from that mask, so Python can check them with pycocotools.
struct SampleFactory {
    var rng: SplitMix
    var camera = "cam0"
    var modelID = "dualsam-lite-test"
    var maxSide = 48

    /// A mask of one of the shapes that break encoders (empty, full, one pixel, first/last, noise, blob).
    mutating func mask(height h: Int, width w: Int) -> [UInt8] {
        let n = h * w
        var mask = [UInt8](repeating: 0, count: n)
        switch rng.below(7) {
        case 0: break
        case 1: for k in 0..<n { mask[k] = 1 }
        case 2: mask[0] = 1
        case 3: mask[n - 1] = 1
        case 4: mask[rng.below(n)] = 1
        case 5:
            let density = rng.unit()
            for k in 0..<n where rng.unit() < density { mask[k] = 1 }
        default:
            let y0 = rng.below(h), x0 = rng.below(w)
            let y1 = y0 + rng.below(h - y0), x1 = x0 + rng.below(w - x0)
            for y in y0...y1 { for x in x0...x1 { mask[y * w + x] = 1 } }
        }
        return mask
    }

    mutating func message(frameID: UInt64) throws(RLEError) -> DetectionMessage {
        let h = 1 + rng.below(maxSide), w = 1 + rng.below(maxSide)
        var m = DetectionMessage()
        m.camera = camera
        m.frameID = frameID
        m.captureMonotonicNs = rng.next() >> 8
        m.captureRealtimeNs = rng.next() >> 4
        m.latency = LatencyBreakdown(queueMicros: UInt64(rng.below(1000)), preprocessMicros: UInt64(rng.below(5000)),
                                     inferenceMicros: UInt64(rng.below(90_000)), postprocessMicros: UInt64(rng.below(3000)))
        m.imageWidth = w
        m.imageHeight = h
        m.modelID = modelID
        m.droppedFrames = UInt64(rng.below(3))
        var union = [UInt8](repeating: 0, count: h * w)
        let count = rng.below(4)
        var id = 1
        while id <= count {
            let mask = mask(height: h, width: w)
            var instance = DetectedInstance()
            instance.id = id
            instance.score = Double(rng.below(10_001)) / 10_000
            describe(mask, height: h, width: w, into: &instance)
            instance.mask = WireMask(height: h, width: w, counts: try COCORLE.encode(mask: mask, height: h, width: w))
            for k in 0..<(h * w) where mask[k] != 0 { union[k] = 1 }
            m.instances.append(instance)
            id += 1
        }
        m.mask = WireMask(height: h, width: w, counts: try COCORLE.encode(mask: union, height: h, width: w))
        return m
    }

    /// Bounding box, area and centroid of a row-major mask (an empty mask gets a zero box).
    func describe(_ mask: [UInt8], height h: Int, width w: Int, into instance: inout DetectedInstance) {
        var minX = w, minY = h, maxX = -1, maxY = -1, area = 0, sumX = 0, sumY = 0
        for y in 0..<h {
            for x in 0..<w where mask[y * w + x] != 0 {
                minX = min(minX, x); maxX = max(maxX, x)
                minY = min(minY, y); maxY = max(maxY, y)
                area += 1
                sumX += x
                sumY += y
            }
        }
        instance.area = area
        if area == 0 {
            instance.x = 0; instance.y = 0; instance.width = 0; instance.height = 0
            instance.centroidX = 0; instance.centroidY = 0
        } else {
            instance.x = minX; instance.y = minY
            instance.width = maxX - minX + 1; instance.height = maxY - minY + 1
            instance.centroidX = Double(sumX) / Double(area)
            instance.centroidY = Double(sumY) / Double(area)
        }
    }
}
