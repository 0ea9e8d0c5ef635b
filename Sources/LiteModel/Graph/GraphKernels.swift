import CEdgeShim
import EdgeRuntime

// The executable form of the Dual-SAM graph: a flat list of kernels whose pointers are bound to the arena
// and to the mapped weights at load. Each kernel splits into `count` independent units (rows, pixels,
// query blocks) cut into chunks of `grain`; every output element is written inside one unit, so the bits
// do not depend on the thread count (ThreadPool's chunking contract).

/// A group of attention heads run as one parallel loop: unit `u` is head `u / blocksPerHead`,
/// query block `u % blocksPerHead`. Head `h`'s shared operands (`QAttentionHead.prepare`) live at
/// `prepared + h * preparedPerHead`, written by the group's `qattentionPrepare` kernel first.
struct QAttentionGroup {
    /// The heads, in load-time memory (`GraphBuilder.stored`): an array here made every step's copy of its
    /// `Kernel` retain and release it, on every thread, for every chunk.
    var heads: UnsafeBufferPointer<QAttentionHead>
    var blockRows: Int
    var blocksPerHead: Int
    var scratch: UnsafeMutableRawPointer
    var scratchPerWorker: Int
    var prepared: UnsafeMutableRawPointer
    var preparedPerHead: Int
}

/// fp32 counterpart of `QAttentionGroup`.
struct FAttentionGroup {
    var heads: UnsafeBufferPointer<FAttentionHead>
    var blockRows: Int
    var blocksPerHead: Int
    var scratch: UnsafeMutableRawPointer
    var scratchPerWorker: Int
}

/// Element-wise and data-movement steps (units are elements, rows or pixels as noted).
enum Pointwise {
    /// `out = Q(x)`, elements.
    case quantize(x: UnsafePointer<Float>, out: UnsafeMutablePointer<Int8>, invScale: Float, zero: Int32)
    /// `out = act(x)`, elements.
    case activate(x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, Activation)
    /// `out = Q(act(x))`, elements (the activation feeding an int8 matmul).
    case activateQ(x: UnsafePointer<Float>, out: UnsafeMutablePointer<Int8>, Activation, invScale: Float, zero: Int32)
    /// `out = table[x + 128]`, elements (an activation between two int8 matmuls, NUMERICS 3.5).
    case lookup(x: UnsafePointer<Int8>, table: UnsafePointer<Int8>, out: UnsafeMutablePointer<Int8>)
    /// `out = x + y[i % period]`, elements (residual adds; period = count, or the positional table).
    case add(x: UnsafePointer<Float>, y: UnsafePointer<Float>, period: Int, out: UnsafeMutablePointer<Float>)
    /// `out = x + gate * y`, elements.
    case gated(x: UnsafePointer<Float>, gate: Float, y: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>)
    /// Channel concatenation of two HWC maps, pixels.
    case concat(a: UnsafeRawPointer, ca: Int, b: UnsafeRawPointer, cb: Int, out: UnsafeMutableRawPointer, width: Int)
    /// Patch rows of the model input, rows of the patch matrix (see `PatchSource`).
    case patches(PatchSource)
    /// C3P voting, output rows.
    case c3p(p: UnsafePointer<Float>, side: Int, out: UnsafeMutablePointer<Float>)
    /// The 8-bit map, elements.
    case map8(pred: UnsafePointer<Float>, out: UnsafeMutablePointer<UInt8>)
}

/// How patch rows are made from the resized 8-bit images (docs/MODEL_FORMAT.md 6.1).
struct PatchSource {
    var alpha: UnsafePointer<UInt8>
    /// The gamma image: a second block of rows (encoder) or added to alpha (MCP prompt input).
    var beta: UnsafePointer<UInt8>
    var sum: Bool
    var side: Int, patch: Int, grid: Int
    /// `N_c[u]`, 768 floats channel-major.
    var values: UnsafePointer<Float>
    /// int8 output with `Q(·; invScale, zero)`, or fp32 output.
    var outQ: UnsafeMutablePointer<Int8>?
    var outF: UnsafeMutablePointer<Float>?
    var invScale: Float, zero: Int32
    /// `Q(values[i]; invScale, zero)` for the 768 entries (int8, not summing): rows become byte lookups.
    var quantized: UnsafePointer<Int8>? = nil

    /// Fills `table` (768 bytes) with `Q(values[i])`, the `quantized` table of a non-summing int8 source.
    static func quantizeValues(_ values: UnsafePointer<Float>, invScale: Float, zero: Int32,
                               into table: UnsafeMutablePointer<Int8>) {
        VectorMath.quantize(values, into: table, count: 768, invScale: invScale, zeroPoint: zero)
    }

    /// Writes patch row `r` (rows `>= grid^2` are the beta image's when not summing).
    ///
    /// Each kernel row `ky` of the patch is `patch * 3` contiguous bytes of the image and of the output
    /// row; its looked-up values are quantized together (bit-exact with `quantize`), or looked up already
    /// quantized (`quantized`).
    @inline(__always)
    func row(_ r: Int) {
        let t = grid * grid
        let second = !sum && r >= t
        let token = second ? r - t : r
        let py = token / grid, px = token % grid
        let run = patch * 3, k = patch * run
        let a = second ? beta : alpha
        for ky in 0..<patch {
            let pix = ((py * patch + ky) * side + px * patch) * 3
            let col = r * k + ky * run
            @inline(__always) func value(_ e: Int) -> Float {
                let table = values + (e % 3) * 256
                let v = table[Int(a[pix + e])]
                return sum ? v + table[Int(beta[pix + e])] : v
            }
            guard let outQ else {
                for e in 0..<run { outF![col + e] = value(e) }
                continue
            }
            if let quantized, !sum {
                let src = a + pix, dst = outQ + col
                for e in stride(from: 0, to: run, by: 3) {
                    dst[e] = quantized[Int(src[e])]
                    dst[e + 1] = quantized[256 + Int(src[e + 1])]
                    dst[e + 2] = quantized[512 + Int(src[e + 2])]
                }
                continue
            }
            // The kernel row's values into a stack buffer, pixel by pixel with each channel's table named (a
            // per-value `e % 3` and a lane-by-lane build were most of this step's time), then quantized at once
            // (VectorKernels.quantize, bit-exact with `quantize`). A row above 1 KiB of floats (patch > 85) takes
            // the per-value path.
            if run <= 256 {
                withUnsafeTemporaryAllocation(of: Float.self, capacity: run) { buffer in
                    let tmp = buffer.baseAddress!
                    let t0 = values, t1 = values + 256, t2 = values + 512
                    let pa = a + pix, pb = beta + pix
                    for p in stride(from: 0, to: run, by: 3) {
                        if sum {
                            tmp[p] = t0[Int(pa[p])] + t0[Int(pb[p])]
                            tmp[p + 1] = t1[Int(pa[p + 1])] + t1[Int(pb[p + 1])]
                            tmp[p + 2] = t2[Int(pa[p + 2])] + t2[Int(pb[p + 2])]
                        } else {
                            tmp[p] = t0[Int(pa[p])]
                            tmp[p + 1] = t1[Int(pa[p + 1])]
                            tmp[p + 2] = t2[Int(pa[p + 2])]
                        }
                    }
                    VectorKernels.quantize(tmp, into: outQ + col, count: run, invScale: invScale, zeroPoint: zero)
                }
                continue
            }
            for e in 0..<run { outQ[col + e] = quantize(value(e), invScale: invScale, zeroPoint: zero) }
        }
    }
}

/// One step of the executable graph.
enum Kernel {
    case qgemm(QGemm)
    case fgemm(FGemm)
    case norm(LayerNorm, rows: Int)
    case qconv(QConv2d, scratch: UnsafeMutablePointer<Int8>, perWorker: Int)
    case fconv(FConv2d, scratch: UnsafeMutablePointer<Float>, perWorker: Int)
    case qconvT(QConvTranspose2x2)
    case fconvT(FConvTranspose2x2)
    /// Per-head key sums and transposed values of an attention group, heads as units.
    case qattentionPrepare(QAttentionGroup)
    case qattention(QAttentionGroup)
    case fattention(FAttentionGroup)
    case pointwise(Pointwise, count: Int)
    /// Window partition (`reverse`: unpartition) of `branches` stacked token grids, whole grids as units.
    case window(WindowGeometry, src: UnsafeRawPointer, dst: UnsafeMutableRawPointer, channels: Int, elementBytes: Int,
                pad: UInt32, reverse: Bool, branches: Int)
    /// The cross-attention value scramble, output tokens.
    case scramble(src: UnsafePointer<Float>, dst: UnsafeMutablePointer<Float>, tokens: Int, channels: Int)
    /// DFAM channel attention, one unit (its pooled sums span every pixel).
    case channelAttention(ChannelAttention, x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
                          scratch: UnsafeMutablePointer<Float>)

    /// Multiply-adds of one frame's run of this step when it is a matrix product (GEMMs, convs, the attention
    /// heads' two products over their kept queries), else 0: the benchmark's GOPS (2 operations each).
    var multiplyAdds: Int {
        switch self {
        case .qgemm(let g): return g.m * g.n * g.k
        case .fgemm(let g): return g.m * g.n * g.k
        case .qconv(let c, _, _): return c.geometry.outH * c.geometry.outW * c.geometry.outC * c.geometry.k
        case .fconv(let c, _, _): return c.geometry.outH * c.geometry.outW * c.geometry.outC * c.geometry.k
        case .qconvT(let c): return c.inH * c.inW * 4 * c.outC * c.inC
        case .fconvT(let c): return c.inH * c.inW * 4 * c.outC * c.inC
        case .qattention(let a):
            var total = 0
            for h in a.heads { total += h.validH * h.validW * h.gridH * h.gridW * h.headDim * 2 }
            return total
        case .fattention(let a):
            var total = 0
            for h in a.heads { total += h.validH * h.validW * h.gridH * h.gridW * h.headDim * 2 }
            return total
        default: return 0
        }
    }

    /// Whether the step is a GEMM or a convolution (int8 or fp32).
    var isGemmOrConv: Bool {
        switch self {
        case .qgemm, .fgemm, .qconv, .fconv, .qconvT, .fconvT: return true
        default: return false
        }
    }

    /// Units of work and the chunk size; chunk boundaries never depend on the thread count.
    var units: (count: Int, grain: Int) {
        switch self {
        case .qgemm(let g): return (g.m, 8)
        case .fgemm(let g): return (g.m, 8)
        case .norm(_, let rows): return (rows, 16)
        case .qconv(let c, _, _): return (c.geometry.outH, 1)
        case .fconv(let c, _, _): return (c.geometry.outH, 1)
        case .qconvT(let c): return (c.inH, 1)
        case .fconvT(let c): return (c.inH, 1)
        case .qattentionPrepare(let a): return (a.heads.count, 1)
        case .qattention(let a): return (a.heads.count * a.blocksPerHead, 1)
        case .fattention(let a): return (a.heads.count * a.blocksPerHead, 1)
        case .pointwise(let p, let count):
            switch p {
            case .patches, .c3p: return (count, 4)
            case .concat: return (count, 256)
            default: return (count, 4096)
            }
        case .window(_, _, _, _, _, _, _, let branches): return (branches, 1)
        case let .scramble(_, _, tokens, _): return (tokens, 32)
        case .channelAttention: return (1, 1)
        }
    }

    /// Runs units `range` on `worker` (whose scratch slices are private to it).
    func run(_ range: Range<Int>, worker: Int) {
        switch self {
        case .qgemm(let g): g.run(rows: range)
        case .fgemm(let g): g.run(rows: range)
        case .norm(let n, _): n.run(rows: range)
        case .qconv(let c, let s, let per): try! c.run(outRows: range, scratch: s + worker * per)
        case .fconv(let c, let s, let per): try! c.run(outRows: range, scratch: s + worker * per)
        case .qconvT(let c): c.run(inRows: range)
        case .fconvT(let c): c.run(inRows: range)
        case .qattentionPrepare(let a):
            for h in range { a.heads[h].prepare(into: a.prepared + h * a.preparedPerHead) }
        case .qattention(let a):
            for u in range {
                let h = u / a.blocksPerHead, head = a.heads[h]
                let start = (u % a.blocksPerHead) * a.blockRows
                try! head.run(queries: start ..< min(start + a.blockRows, head.tokens), blockRows: a.blockRows,
                              scratch: a.scratch + worker * a.scratchPerWorker, scratchBytes: a.scratchPerWorker,
                              prepared: UnsafeRawPointer(a.prepared + h * a.preparedPerHead))
            }
        case .fattention(let a):
            for u in range {
                let head = a.heads[u / a.blocksPerHead]
                let start = (u % a.blocksPerHead) * a.blockRows
                try! head.run(queries: start ..< min(start + a.blockRows, head.tokens), blockRows: a.blockRows,
                              scratch: a.scratch + worker * a.scratchPerWorker, scratchBytes: a.scratchPerWorker)
            }
        case .pointwise(let p, _): Kernel.runPointwise(p, range)
        case let .window(g, src, dst, c, width, pad, reverse, _):
            for b in range { Kernel.runWindow(g, src: src, dst: dst, c: c, width: width, pad: pad, reverse: reverse, branch: b) }
        case let .scramble(src, dst, tokens, channels):
            Elementwise.scramble(src, tokens: tokens, channels: channels, rows: range, into: dst)
        case let .channelAttention(ca, x, out, scratch):
            ca.run(x, into: out, scratch: scratch)
        }
    }

    static func runWindow(_ g: WindowGeometry, src: UnsafeRawPointer, dst: UnsafeMutableRawPointer, c: Int, width: Int,
                          pad: UInt32, reverse: Bool, branch b: Int) {
        let grid = g.h * g.w * c, padded = g.windowCount * g.tokensPerWindow * c
        if width == 1 {
            let s = src.assumingMemoryBound(to: Int8.self), d = dst.assumingMemoryBound(to: Int8.self)
            if reverse { g.unpartition(s + b * padded, c: c, into: d + b * grid) }
            else { g.partition(s + b * grid, c: c, pad: Int8(truncatingIfNeeded: pad), into: d + b * padded) }
        } else {
            let s = src.assumingMemoryBound(to: Float.self), d = dst.assumingMemoryBound(to: Float.self)
            if reverse { g.unpartition(s + b * padded, c: c, into: d + b * grid) }
            else { g.partition(s + b * grid, c: c, pad: Float(bitPattern: pad), into: d + b * padded) }
        }
    }

    static func runPointwise(_ p: Pointwise, _ range: Range<Int>) {
        switch p {
        case let .quantize(x, out, inv, z):
            VectorKernels.quantize(x + range.lowerBound, into: out + range.lowerBound, count: range.count,
                                invScale: inv, zeroPoint: z)
        case let .activate(x, out, act):
            VectorKernels.activate(x + range.lowerBound, into: out + range.lowerBound, count: range.count, act)
        case let .activateQ(x, out, act, inv, z):
            VectorKernels.activateQuantize(x + range.lowerBound, into: out + range.lowerBound, count: range.count, act,
                                        invScale: inv, zeroPoint: z)
        case let .lookup(x, table, out):
            VectorKernels.lookup(x + range.lowerBound, table: table, into: out + range.lowerBound, count: range.count)
        case let .add(x, y, period, out):
            var i = range.lowerBound
            while i < range.upperBound {  // contiguous runs of y
                let offset = i % period, run = min(range.upperBound - i, period - offset)
                Elementwise.add(x + i, y + offset, into: out + i, count: run)
                i += run
            }
        case let .gated(x, gate, y, out):
            Elementwise.addScaled(x + range.lowerBound, gate: gate, y + range.lowerBound, into: out + range.lowerBound,
                                  count: range.count)
        case let .concat(a, ca, b, cb, out, width):
            let c = ca + cb
            for px in range {
                (out + px * c * width).copyMemory(from: a + px * ca * width, byteCount: ca * width)
                (out + (px * c + ca) * width).copyMemory(from: b + px * cb * width, byteCount: cb * width)
            }
        case .patches(let s):
            for r in range { s.row(r) }
        case let .c3p(prob, side, out):
            C3P.vote(prob, height: side, width: side, rows: range, into: out)
        case let .map8(pred, out):
            VectorMath.to8Bit(pred + range.lowerBound, into: out + range.lowerBound, count: range.count)
        }
    }
}

/// Runs a kernel list on the pool without allocating: the executor is the pool's class-bound task.
final class GraphExecutor: ParallelTask {
    let kernels: [Kernel]
    let pool: ThreadPool
    private var current = 0

    init(kernels: [Kernel], pool: ThreadPool) {
        self.kernels = kernels
        self.pool = pool
    }

    func run(_ range: Range<Int>, worker: Int) {
        kernels[current].run(range, worker: worker)
    }

    /// Nanoseconds spent in each kernel, summed over frames, while set (`Engine.startOpTimings`).
    var timings: UnsafeMutablePointer<UInt64>? = nil

    deinit { timings?.deallocate() }

    /// Executes every kernel in order.
    func execute() {
        for index in 0..<kernels.count {
            current = index
            let (count, grain) = kernels[index].units
            guard let timings else {
                pool.parallelFor(count, grain: grain, task: self)
                continue
            }
            let start = edge_monotonic_ns()
            pool.parallelFor(count, grain: grain, task: self)
            timings[index] &+= edge_monotonic_ns() &- start
        }
    }
}
