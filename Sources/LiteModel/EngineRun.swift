import CEdgeShim
import EdgeRuntime

/// The engine's frame-size buffers, allocated once at load for the largest frame.
final class FrameBuffers {
    let maxPixels: Int
    /// The largest frame height (the RLE strip scratch is one word per row).
    let maxHeight: Int
    /// Int32 values of one source row of either resize (the frame's, or the map's): a worker's `resizeColumns` slice.
    let resizeColumnCount: Int
    let maxInstances: Int
    let rgb: UnsafeMutablePointer<UInt8>
    let lut: UnsafeMutablePointer<UInt8>
    let resizeScratch: UnsafeMutablePointer<Int32>
    let gray: UnsafeMutablePointer<UInt8>
    let labels: UnsafeMutablePointer<Int32>
    /// Instances.label's scratch (its runs and their links).
    let labelScratch: UnsafeMutablePointer<Int32>
    let labelScratchCount: Int
    let instances: UnsafeMutablePointer<Instance>
    let maskRLE: UnsafeMutableBufferPointer<UInt8>
    /// All instance RLE strings, back to back; `rleStart/rleLength` locate each.
    let instanceRLE: UnsafeMutableBufferPointer<UInt8>
    let rleStart: UnsafeMutablePointer<Int>
    let rleLength: UnsafeMutablePointer<Int>
    let bytes: Int

    init(options: EngineFrameOptions, side: Int) {
        let pixels = options.maxFrameWidth * options.maxFrameHeight
        maxPixels = pixels
        maxHeight = options.maxFrameHeight
        maxInstances = options.maxInstances
        rgb = .allocate(capacity: pixels * 3)
        lut = .allocate(capacity: 256)
        let scratchCount = Preprocess.resizeTapCount(outWidth: max(side, options.maxFrameWidth))  // either resize
        resizeColumnCount = 3 * max(side, options.maxFrameWidth)
        resizeScratch = .allocate(capacity: scratchCount)
        gray = .allocate(capacity: pixels)
        labels = .allocate(capacity: pixels)
        labelScratchCount = Instances.scratchCount(width: options.maxFrameWidth, height: options.maxFrameHeight)
        labelScratch = .allocate(capacity: labelScratchCount)
        instances = .allocate(capacity: max(1, options.maxInstances))
        let full = COCORLE.maxEncodedLength(height: options.maxFrameHeight, width: options.maxFrameWidth)
        maskRLE = .allocate(capacity: full)
        // An instance mask has at most 2 * area + 1 runs and the areas sum to at most the frame, so all instance
        // strings together need at most (2 * pixels + instances) counts.
        let perCount = COCORLE.maxCountLength(height: options.maxFrameHeight, width: options.maxFrameWidth)
        let pool = (2 * pixels + options.maxInstances + 1) * perCount
        instanceRLE = .allocate(capacity: pool)
        rleStart = .allocate(capacity: max(1, options.maxInstances))
        rleLength = .allocate(capacity: max(1, options.maxInstances))
        bytes = pixels * 3 + 256 + scratchCount * 4 + pixels * 5 + labelScratchCount * 4 + full + pool
            + max(1, options.maxInstances) * (MemoryLayout<Instance>.stride + 16)
        // Touch the per-pixel buffers now so the first frame does not fault them in. The RLE buffers are sized
        // for the worst case (a checkerboard) and a real frame uses a small prefix: left untouched, they cost
        // address space, not resident memory.
        rgb.update(repeating: 0, count: pixels * 3)
        gray.update(repeating: 0, count: pixels)
        labels.update(repeating: 0, count: pixels)
        labelScratch.update(repeating: 0, count: labelScratchCount)
    }

    deinit {
        rgb.deallocate(); lut.deallocate(); resizeScratch.deallocate(); gray.deallocate()
        labels.deallocate(); labelScratch.deallocate(); instances.deallocate(); maskRLE.deallocate()
        instanceRLE.deallocate(); rleStart.deallocate(); rleLength.deallocate()
    }
}

extension Engine {
    /// Runs one frame: pre-processing, the graph, post-processing at source size (NUMERICS 7 and 8).
    ///
    /// `pixels` holds `height` rows of `step` bytes (`step >= width * bytesPerPixel`). Allocates nothing; the
    /// result views engine buffers that the next `run` overwrites.
    public func run(frame pixels: UnsafeRawBufferPointer, width: Int, height: Int, encoding: PixelFormat,
                    step: Int) throws(EngineError) -> FrameResult {
        guard width >= 1, height >= 1 else { throw .badFrame(reason: "empty frame") }
        guard width <= frameOptions.maxFrameWidth, height <= frameOptions.maxFrameHeight else {
            throw .frameTooLarge(width: width, height: height, maxWidth: frameOptions.maxFrameWidth,
                                 maxHeight: frameOptions.maxFrameHeight)
        }
        guard step >= width * encoding.bytesPerPixel else { throw .badFrame(reason: "step shorter than a row") }
        guard let base = pixels.baseAddress, pixels.count >= (height - 1) * step + width * encoding.bytesPerPixel else {
            throw .badFrame(reason: "buffer shorter than height x step")
        }
        let b = buffers
        var latency = LatencyBreakdown()
        let t0 = edge_monotonic_ns()
        do throws(OpError) {
            try Preprocess.checkFrame(width: width, height: height, rowBytes: step, format: encoding)
        } catch { throw .badFrame(reason: opErrorText(error)) }
        stages.preprocess(base.assumingMemoryBound(to: UInt8.self), width: width, height: height, rowBytes: step,
                          format: encoding, alpha: tensorBytes(io.alpha), beta: tensorBytes(io.beta))
        let t1 = edge_monotonic_ns()
        executor.execute()
        let t2 = edge_monotonic_ns()
        let counts = try postprocess(width: width, height: height)
        let t3 = edge_monotonic_ns()
        latency.preprocessNs = t1 - t0
        latency.inferenceNs = t2 - t1
        latency.postprocessNs = t3 - t2
        return FrameResult(width: width, height: height, found: counts.found, count: counts.stored,
                           dropped: counts.dropped,
                           maskRLE: UnsafeBufferPointer(rebasing: b.maskRLE[0..<counts.maskLength]),
                           sourceMap: UnsafeBufferPointer(start: b.gray, count: width * height), latency: latency,
                           engine: self)
    }

    /// The 8-bit map at source size, threshold, instances and their RLE strings.
    func postprocess(width: Int, height: Int) throws(EngineError)
        -> (found: Int, stored: Int, dropped: Int, maskLength: Int) {
        let (counts, maskLength) = try stages.postprocess(tensorBytes(io.map8), width: width, height: height,
                                                          minArea: frameOptions.minInstanceArea)
        return (counts.found, counts.stored, counts.dropped, maskLength)
    }

    func tensorBytes(_ t: GTensor) -> UnsafeMutablePointer<UInt8> {
        (model.arena!.base + model.plan!.offsets[t.id] + t.offset * t.dtype.byteWidth).assumingMemoryBound(to: UInt8.self)
    }

    /// Instance `index` of the last frame.
    func detection(_ index: Int) -> Detection {
        let b = buffers
        let inst = b.instances[index]
        let rle = UnsafeBufferPointer(rebasing: b.instanceRLE[b.rleStart[index] ..< b.rleStart[index] + b.rleLength[index]])
        return Detection(id: inst.id, area: inst.area, bbox: inst.bbox, centroid: inst.centroid, score: inst.score,
                         maskRLE: rle)
    }
}
