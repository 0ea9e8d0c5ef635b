@testable import Bus
import LiteModel

/// SplitMix64: deterministic, so a failing seed reproduces.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A random row-major mask of the kinds that break encoders: empty, full, one pixel, first/last, noise, blobs.
func randomMask(height h: Int, width w: Int, using rng: inout SplitMix) -> [UInt8] {
    let n = h * w
    var mask = [UInt8](repeating: 0, count: n)
    switch Int.random(in: 0..<7, using: &rng) {
    case 0: break
    case 1: mask = [UInt8](repeating: 1, count: n)
    case 2: mask[0] = 1
    case 3: mask[n - 1] = 1
    case 4: mask[Int.random(in: 0..<n, using: &rng)] = 1
    case 5:
        let density = Double.random(in: 0...1, using: &rng)
        for k in 0..<n where Double.random(in: 0..<1, using: &rng) < density { mask[k] = 1 }
    default:
        let y0 = Int.random(in: 0..<h, using: &rng), x0 = Int.random(in: 0..<w, using: &rng)
        let y1 = Int.random(in: y0..<h, using: &rng), x1 = Int.random(in: x0..<w, using: &rng)
        for y in y0...y1 { for x in x0...x1 { mask[y * w + x] = 1 } }
    }
    return mask
}

/// A value with at most `wireFloatDecimals` decimals, so it survives the wire exactly.
func quantized(_ value: Double) -> Double { (value * 10_000).rounded() / 10_000 }

private let nameCharacters = Array("abcXYZ019_-. \"\\/\u{7}\u{e9}\u{1F41F}")

func randomText(using rng: inout SplitMix, maxLength: Int = 12) -> String {
    var text = ""
    for _ in 0..<Int.random(in: 0...maxLength, using: &rng) {
        text.append(nameCharacters[Int.random(in: 0..<nameCharacters.count, using: &rng)])
    }
    return text
}

/// A random detection message with real RLE masks; floats quantized to the wire's precision.
func randomDetection(using rng: inout SplitMix) throws -> DetectionMessage {
    let h = Int.random(in: 1...24, using: &rng), w = Int.random(in: 1...24, using: &rng)
    var m = DetectionMessage()
    m.seq = rng.next()
    m.bootID = randomText(using: &rng)
    m.camera = ["cam0", "port", "starboard-1"][Int.random(in: 0..<3, using: &rng)]
    m.frameID = rng.next() >> Int.random(in: 0..<64, using: &rng)
    m.captureMonotonicNs = rng.next()
    m.captureRealtimeNs = rng.next()
    m.publishMonotonicNs = UInt64.max
    m.publishRealtimeNs = 0
    m.latency = LatencyBreakdown(queueMicros: rng.next() % 1000, preprocessMicros: rng.next() % 100_000,
                                 inferenceMicros: rng.next(), postprocessMicros: 0)
    m.imageWidth = w
    m.imageHeight = h
    m.modelID = randomText(using: &rng)
    m.droppedFrames = rng.next() % 5
    var union = [UInt8](repeating: 0, count: h * w)
    for id in 0..<Int.random(in: 0...4, using: &rng) {
        let mask = randomMask(height: h, width: w, using: &rng)
        var i = DetectedInstance()
        i.id = id + 1
        i.label = Int.random(in: 0...2, using: &rng)
        i.score = quantized(Double.random(in: 0...1, using: &rng))
        i.x = Int.random(in: 0..<w, using: &rng)
        i.y = Int.random(in: 0..<h, using: &rng)
        i.width = Int.random(in: 0...(w - i.x), using: &rng)
        i.height = Int.random(in: 0...(h - i.y), using: &rng)
        i.area = mask.reduce(0) { $0 + Int($1) }
        i.centroidX = quantized(Double.random(in: -1...Double(w), using: &rng))
        i.centroidY = quantized(Double.random(in: 0...Double(h), using: &rng))
        i.mask = WireMask(height: h, width: w, counts: try COCORLE.encode(mask: mask, height: h, width: w))
        for k in 0..<(h * w) where mask[k] != 0 { union[k] = 1 }
        m.instances.append(i)
    }
    m.mask = WireMask(height: h, width: w, counts: try COCORLE.encode(mask: union, height: h, width: w))
    return m
}
