import EdgeRuntime

/// The row-parallel parts of pre- and post-processing (NUMERICS 7 and 8), run on the engine's pool.
///
/// At two threads these took a fifth of tiny's frame when they ran on one thread. Every output row depends only
/// on its inputs, and the gray sum is an exact integer sum taken per worker and added up, so the result is the same
/// for any split. Allocated once at load; a frame sets the stage and its pointers, then runs it (`task:` form,
/// no allocation).
final class FrameStages: ParallelTask {
    enum Stage {
        /// Frame rows -> RGB8 rows, and each worker's gray sum of them.
        case convert
        /// Model-input rows: the resized image and its gamma-corrected copy.
        case resizeInput
        /// Source-size rows of the 8-bit map.
        case resizeMap
        /// Chunk 0 labels the instances, chunk 1 encodes the frame mask from the map (no component dropped).
        case labelAndMask
        /// One chunk per stored instance: its RLE into its own slot of `instanceRLE`.
        case instanceRLE
    }

    private let pool: ThreadPool
    private let buffers: FrameBuffers
    private let side: Int
    /// One partial gray sum per worker (`threadCount` entries).
    private let graySums: UnsafeMutablePointer<UInt64>
    /// Each worker's blended source row of a resize (`buffers.resizeColumnCount` Int32 per worker).
    private let resizeColumns: UnsafeMutablePointer<Int32>
    /// Each worker's RLE strip words (`rleScratchCount` per worker).
    private let rleScratch: UnsafeMutablePointer<UInt64>
    private let rleScratchCount: Int

    private var stage = Stage.convert
    private var frame: UnsafePointer<UInt8>? = nil
    /// The RGB8 image the input resize reads and its row stride: the frame itself when it is RGB8, else
    /// `buffers.rgb` after the conversion.
    private var image: UnsafePointer<UInt8>? = nil
    private var imageRowBytes = 0
    private var width = 0, height = 0, rowBytes = 0
    private var format = PixelFormat.rgb8
    private var alpha: UnsafeMutablePointer<UInt8>? = nil
    private var beta: UnsafeMutablePointer<UInt8>? = nil
    private var map8: UnsafePointer<UInt8>? = nil
    private var minArea = 0
    private var labelError: OpError? = nil
    private var rleError: RLEError? = nil
    private var counts = InstanceCounts(found: 0, stored: 0)
    private var maskLength = 0

    init(pool: ThreadPool, buffers: FrameBuffers, side: Int) {
        self.pool = pool
        self.buffers = buffers
        self.side = side
        graySums = .allocate(capacity: pool.threadCount)
        resizeColumns = .allocate(capacity: pool.threadCount * buffers.resizeColumnCount)
        resizeColumns.update(repeating: 0, count: pool.threadCount * buffers.resizeColumnCount)
        rleScratchCount = COCORLE.scratchCount(height: buffers.maxHeight)
        rleScratch = .allocate(capacity: pool.threadCount * rleScratchCount)
        rleScratch.update(repeating: 0, count: pool.threadCount * rleScratchCount)
    }

    deinit { graySums.deallocate(); resizeColumns.deallocate(); rleScratch.deallocate() }

    /// RGB8 frame, gamma LUT, model-input image and its gamma copy; the frame's sizes are checked by the caller.
    func preprocess(_ src: UnsafePointer<UInt8>, width: Int, height: Int, rowBytes: Int, format: PixelFormat,
                    alpha: UnsafeMutablePointer<UInt8>, beta: UnsafeMutablePointer<UInt8>) {
        frame = src
        self.width = width
        self.height = height
        self.rowBytes = rowBytes
        self.format = format
        (image, imageRowBytes) = format == .rgb8 ? (src, rowBytes) : (UnsafePointer(buffers.rgb), width * 3)
        self.alpha = alpha
        self.beta = beta
        graySums.update(repeating: 0, count: pool.threadCount)
        run(.convert, rows: height)
        var total: UInt64 = 0
        for worker in 0..<pool.threadCount { total &+= graySums[worker] }
        Preprocess.gammaLUT(graySum: total, pixels: width * height, into: buffers.lut)
        Preprocess.resizeTaps(srcW: width, dstW: side, into: buffers.resizeScratch)
        run(.resizeInput, rows: side)
    }

    /// The map at source size (`buffers.gray`), its instances, the frame mask RLE and each stored instance's RLE.
    func postprocess(_ map8: UnsafePointer<UInt8>, width: Int, height: Int, minArea: Int) throws(EngineError)
        -> (counts: InstanceCounts, maskLength: Int) {
        let b = buffers
        self.map8 = map8
        self.width = width
        self.height = height
        self.minArea = minArea
        Preprocess.resizeTaps(srcW: side, dstW: width, into: b.resizeScratch)
        run(.resizeMap, rows: height)
        labelError = nil
        rleError = nil
        maskLength = 0
        // With no minimum area the frame mask is the thresholded map; else dropped components (labelled -1)
        // leave it, so it is read from the labels after the labelling.
        stage = .labelAndMask
        pool.parallelFor(minArea == 0 ? 2 : 1, grain: 1, task: self)
        if let labelError { throw .badFrame(reason: opErrorText(labelError)) }
        if minArea > 0 {
            do throws(RLEError) {
                maskLength = try COCORLE.encode(labels: UnsafeBufferPointer(start: b.labels, count: width * height),
                                                id: nil, height: height, width: width, columns: 0..<width,
                                                scratch: rleScratch, into: b.maskRLE)
            } catch { rleError = error }
        }
        // Each instance gets a slot for its worst case (the slots fit in the pool: FrameBuffers), so the encodings
        // run in any order.
        var start = 0
        for index in 0..<counts.stored {
            b.rleStart[index] = start
            start += slotLength(b.instances[index])
        }
        stage = .instanceRLE
        pool.parallelFor(counts.stored, grain: 1, task: self)
        var failed = rleError != nil
        for index in 0..<counts.stored where b.rleLength[index] < 0 { failed = true }
        if failed { throw .badFrame(reason: "RLE buffer too small (engine sizing bug)") }
        return (counts, maskLength)
    }

    /// The room of one instance's RLE string in `instanceRLE`.
    private func slotLength(_ instance: Instance) -> Int {
        COCORLE.maxEncodedLength(area: instance.area, height: height, width: width)
    }

    private func run(_ stage: Stage, rows: Int) {
        self.stage = stage
        // About four chunks per thread: even work per row, so this only evens out a busy core.
        let grain = max(1, (rows + 4 * pool.threadCount - 1) / (4 * pool.threadCount))
        pool.parallelFor(rows, grain: grain, task: self)
    }

    func run(_ range: Range<Int>, worker: Int) {
        let b = buffers
        switch stage {
        case .convert:
            // An RGB8 frame is read where it is (`image`); other formats are converted into it first.
            if format != .rgb8 {
                Preprocess.convertRowsToRGB8(frame!, width: width, rowBytes: rowBytes, format: format, rows: range,
                                             into: b.rgb)
            }
            for y in range { graySums[worker] &+= Preprocess.graySum(image! + y * imageRowBytes, pixels: width) }
        case .resizeInput:
            Preprocess.resizeRows(image!, srcW: width, srcH: height, channels: 3, srcRowBytes: imageRowBytes,
                                  into: alpha!, dstW: side, dstH: side, rows: range, taps: b.resizeScratch,
                                  column: resizeColumns + worker * b.resizeColumnCount)
            let start = range.lowerBound * side * 3
            Preprocess.applyLUT(b.lut, from: alpha! + start, into: beta! + start, count: range.count * side * 3)
        case .resizeMap:
            Preprocess.resizeRows(map8!, srcW: side, srcH: side, channels: 1, srcRowBytes: side, into: b.gray, dstW: width,
                                  dstH: height, rows: range, taps: b.resizeScratch,
                                  column: resizeColumns + worker * b.resizeColumnCount)
        case .labelAndMask:
            for chunk in range {
                if chunk == 0 {
                    do throws(OpError) {
                        counts = try Instances.label(b.gray, width: width, height: height, minArea: minArea,
                                                     labels: b.labels, scratch: b.labelScratch, instances: b.instances,
                                                     capacity: b.maxInstances)
                    } catch { labelError = error }
                } else {
                    do throws(RLEError) {
                        maskLength = try COCORLE.encode(map: UnsafeBufferPointer(start: b.gray, count: width * height),
                                                        threshold: Postprocess.foregroundThreshold, height: height,
                                                        width: width, scratch: rleScratch + worker * rleScratchCount,
                                                        into: b.maskRLE)
                    } catch { rleError = error }
                }
            }
        case .instanceRLE:
            let labels = UnsafeBufferPointer(start: b.labels, count: width * height)
            for index in range {
                let inst = b.instances[index]
                let box = inst.bbox
                let start = b.rleStart[index]
                let room = UnsafeMutableBufferPointer(rebasing: b.instanceRLE[start ..< start + slotLength(inst)])
                do throws(RLEError) {
                    b.rleLength[index] = try COCORLE.encode(labels: labels, id: inst.id, height: height, width: width,
                                                            columns: box.x ..< box.x + box.w,
                                                            scratch: rleScratch + worker * rleScratchCount, into: room)
                } catch { b.rleLength[index] = -1 }  // reported after the loop (workers share no error slot)
            }
        }
    }
}
