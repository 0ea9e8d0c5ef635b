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
    }

    private let pool: ThreadPool
    private let buffers: FrameBuffers
    private let side: Int
    /// One partial gray sum per worker (`threadCount` entries).
    private let graySums: UnsafeMutablePointer<UInt64>

    private var stage = Stage.convert
    private var frame: UnsafePointer<UInt8>? = nil
    private var width = 0, height = 0, rowBytes = 0
    private var format = PixelFormat.rgb8
    private var alpha: UnsafeMutablePointer<UInt8>? = nil
    private var beta: UnsafeMutablePointer<UInt8>? = nil
    private var map8: UnsafePointer<UInt8>? = nil

    init(pool: ThreadPool, buffers: FrameBuffers, side: Int) {
        self.pool = pool
        self.buffers = buffers
        self.side = side
        graySums = .allocate(capacity: pool.threadCount)
    }

    deinit { graySums.deallocate() }

    /// RGB8 frame, gamma LUT, model-input image and its gamma copy; the frame's sizes are checked by the caller.
    func preprocess(_ src: UnsafePointer<UInt8>, width: Int, height: Int, rowBytes: Int, format: PixelFormat,
                    alpha: UnsafeMutablePointer<UInt8>, beta: UnsafeMutablePointer<UInt8>) {
        frame = src
        self.width = width
        self.height = height
        self.rowBytes = rowBytes
        self.format = format
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

    /// The model's 8-bit map resized to the source size (`buffers.gray`).
    func resizeMap(_ map8: UnsafePointer<UInt8>, width: Int, height: Int) {
        self.map8 = map8
        self.width = width
        self.height = height
        Preprocess.resizeTaps(srcW: side, dstW: width, into: buffers.resizeScratch)
        run(.resizeMap, rows: height)
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
            Preprocess.convertRowsToRGB8(frame!, width: width, rowBytes: rowBytes, format: format, rows: range,
                                         into: b.rgb)
            graySums[worker] &+= Preprocess.graySum(b.rgb + range.lowerBound * width * 3,
                                                   pixels: range.count * width)
        case .resizeInput:
            Preprocess.resizeRows(b.rgb, srcW: width, srcH: height, channels: 3, into: alpha!, dstW: side, dstH: side,
                                  rows: range, taps: b.resizeScratch)
            let start = range.lowerBound * side * 3, count = range.count * side * 3
            let a = alpha! + start, g = beta! + start, lut = b.lut
            for i in 0..<count { g[i] = lut[Int(a[i])] }
        case .resizeMap:
            Preprocess.resizeRows(map8!, srcW: side, srcH: side, channels: 1, into: b.gray, dstW: width,
                                  dstH: height, rows: range, taps: b.resizeScratch)
        }
    }
}
