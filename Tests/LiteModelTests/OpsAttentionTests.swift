import Foundation
import XCTest

@testable import LiteModel

/// Tiled attention heads (int8 and fp32) against their scalar references and float64 attention.
final class OpsAttentionTests: XCTestCase {
    struct Grid { var h: Int, w: Int, hd: Int, validH: Int, validW: Int, relPos: Bool }
    let grids: [Grid] = [Grid(h: 1, w: 1, hd: 1, validH: 1, validW: 1, relPos: false),
                         Grid(h: 5, w: 7, hd: 8, validH: 5, validW: 7, relPos: true),
                         Grid(h: 14, w: 14, hd: 16, validH: 4, validW: 9, relPos: true),
                         Grid(h: 6, w: 6, hd: 12, validH: 6, validW: 6, relPos: false)]

    func testInt8AttentionTiledEqualsReferenceAndApproximatesSoftmax() throws {
        var rng = TestRNG(31)
        for g in grids {
            let n = g.h * g.w, ld = g.hd + 3
            let q = rng.int8s(n * ld), k = rng.int8s(n * ld), v = rng.int8s(n * ld)
            let rh = rng.int8s(g.h * g.h * g.hd, -127...127), rw = rng.int8s(g.w * g.w * g.hd, -127...127)
            let zq = Int32(rng.int(-20...20)), zk = Int32(rng.int(-20...20)), zv = Int32(rng.int(-20...20))
            let sq: Float = 0.02, sk: Float = 0.03, sv: Float = 0.05, srh: Float = 0.01, srw: Float = 0.015
            let logitScale = sq * sk / Float(g.hd).squareRoot()
            try rh.withUnsafeBufferPointer { rhp in
                try rw.withUnsafeBufferPointer { rwp in
                    let rel = g.relPos ? QRelPos(rh: rhp.baseAddress!, rw: rwp.baseAddress!, rhScale: sq * srh, rwScale: sq * srw) : nil
                    func head(_ out: UnsafeMutablePointer<Float>) throws -> QAttentionHead {
                        try QAttentionHead(gridH: g.h, gridW: g.w, headDim: g.hd, q: q, ldq: ld, zq: zq, k: k, ldk: ld, zk: zk,
                                           v: v, ldv: ld, zv: zv, logitScale: logitScale, vScale: sv, relPos: rel,
                                           validH: g.validH, validW: g.validW, output: .f32(out, ld: g.hd))
                    }
                    var ref = [Float](repeating: .nan, count: n * g.hd)
                    var refScratch = [UInt8](repeating: 0, count: n * 8 + 64)
                    try ref.withUnsafeMutableBufferPointer { o in
                        qs8_attention__scalar_ref(try head(o.baseAddress!), queries: 0..<n, scratch: &refScratch)
                    }
                    for blockRows in [1, 3, 64] {
                        var out = [Float](repeating: .nan, count: n * g.hd)
                        try out.withUnsafeMutableBufferPointer { o in
                            let h = try head(o.baseAddress!)
                            var scratch = [UInt8](repeating: 0, count: h.scratchBytes(blockRows: blockRows))
                            let half = n / 2
                            try h.run(queries: half..<n, blockRows: blockRows, scratch: &scratch, scratchBytes: scratch.count)
                            try h.run(queries: 0..<half, blockRows: blockRows, scratch: &scratch, scratchBytes: scratch.count)
                            XCTAssertThrowsError(try h.run(queries: 0..<n, blockRows: blockRows, scratch: &scratch,
                                                           scratchBytes: scratch.count - 1))
                        }
                        assertBitEqual(out, ref, "int8 attention \(g) block \(blockRows)")
                        // With the per-head operands prepared once and shared (the graph's form).
                        var shared = [Float](repeating: .nan, count: n * g.hd)
                        try shared.withUnsafeMutableBufferPointer { o in
                            let h = try head(o.baseAddress!)
                            let prepared = UnsafeMutableRawPointer.allocate(byteCount: h.preparedBytes, alignment: 64)
                            defer { prepared.deallocate() }
                            h.prepare(into: prepared)
                            let bytes = h.scratchBytes(blockRows: blockRows, prepared: true)
                            XCTAssertLessThan(bytes, h.scratchBytes(blockRows: blockRows))
                            var scratch = [UInt8](repeating: 0, count: bytes)
                            for start in stride(from: 0, to: n, by: max(1, blockRows)) {
                                try h.run(queries: start..<min(n, start + blockRows), blockRows: blockRows, scratch: &scratch,
                                          scratchBytes: bytes, prepared: prepared)
                            }
                            XCTAssertThrowsError(try h.run(queries: 0..<n, blockRows: blockRows, scratch: &scratch,
                                                           scratchBytes: bytes - 1, prepared: prepared))
                        }
                        assertBitEqual(shared, ref, "int8 attention \(g) block \(blockRows), prepared")
                    }
                    // Skipped (padded) queries stay untouched; kept ones approximate float64 softmax attention.
                    for i in 0..<n {
                        let kept = i / g.w < g.validH && i % g.w < g.validW
                        XCTAssertEqual(ref[i * g.hd].isNaN, !kept, "query \(i)")
                        guard kept else { continue }
                        var logits = [Double](repeating: 0, count: n)
                        for j in 0..<n {
                            var s = 0.0, sh = 0.0, sw = 0.0
                            for c in 0..<g.hd {
                                let qc = Double(Int(q[i * ld + c]) - Int(zq))
                                s += qc * Double(Int(k[j * ld + c]) - Int(zk))
                                sh += qc * Double(rh[((i / g.w) * g.h + j / g.w) * g.hd + c])
                                sw += qc * Double(rw[((i % g.w) * g.w + j % g.w) * g.hd + c])
                            }
                            logits[j] = s * Double(logitScale) + (g.relPos ? sh * Double(sq * srh) + sw * Double(sq * srw) : 0)
                        }
                        let m = logits.max()!
                        let e = logits.map { Foundation.exp($0 - m) }, z = e.reduce(0, +)
                        // P_j = 255 e_j + d_j with |d_j| <= 1/2, so |o - o_true| <= (1/2) Σ_j |v_j - o_true| / Z.
                        let zLow = e.map { max(0, 255 * $0 - 0.5) }.reduce(0, +)
                        for c in 0..<g.hd {
                            let vs = (0..<n).map { Double(Int(v[$0 * ld + c]) - Int(zv)) * Double(sv) }
                            var o = 0.0
                            for j in 0..<n { o += e[j] / z * vs[j] }
                            let bound = 0.5 * vs.map { abs($0 - o) }.reduce(0, +) / zLow + 1e-4
                            XCTAssertEqual(Double(ref[i * g.hd + c]), o, accuracy: bound)
                        }
                    }
                }
            }
        }
    }

    func testInt8AttentionQuantizedOutputIsQOfTheFloatOutput() throws {
        var rng = TestRNG(32)
        let n = 9, hd = 4
        let q = rng.int8s(n * hd), k = rng.int8s(n * hd), v = rng.int8s(n * hd)
        var f = [Float](repeating: 0, count: n * hd), i8 = [Int8](repeating: 0, count: n * hd)
        var scratch = [UInt8](repeating: 0, count: 4096)
        try f.withUnsafeMutableBufferPointer { o in
            try QAttentionHead(gridH: 3, gridW: 3, headDim: hd, q: q, ldq: hd, zq: 1, k: k, ldk: hd, zk: -2, v: v, ldv: hd, zv: 3,
                               logitScale: 0.001, vScale: 0.04, relPos: nil, output: .f32(o.baseAddress!, ld: hd))
                .run(queries: 0..<n, blockRows: 4, scratch: &scratch, scratchBytes: scratch.count)
        }
        try i8.withUnsafeMutableBufferPointer { o in
            try QAttentionHead(gridH: 3, gridW: 3, headDim: hd, q: q, ldq: hd, zq: 1, k: k, ldk: hd, zk: -2, v: v, ldv: hd, zv: 3,
                               logitScale: 0.001, vScale: 0.04, relPos: nil,
                               output: .qs8(o.baseAddress!, ld: hd, invScale: 30, zeroPoint: -4))
                .run(queries: 0..<n, blockRows: 4, scratch: &scratch, scratchBytes: scratch.count)
        }
        XCTAssertEqual(i8, f.map { quantize($0, invScale: 30, zeroPoint: -4) })
    }

    func testInt8AttentionOfIdenticalKeysAveragesValuesExactly() throws {
        // All logits equal: every P is 255, Z = 255 n, o = s_v * mean(v - z_v) exactly for these values.
        let n = 4, hd = 2
        let q = [Int8](repeating: 3, count: n * hd), k = [Int8](repeating: -7, count: n * hd)
        let v: [Int8] = [10, 0, 20, 0, 30, 0, 40, 4]
        var o = [Float](repeating: 0, count: n * hd)
        var scratch = [UInt8](repeating: 0, count: 1024)
        try o.withUnsafeMutableBufferPointer { op in
            try QAttentionHead(gridH: 2, gridW: 2, headDim: hd, q: q, ldq: hd, zq: 0, k: k, ldk: hd, zk: 0, v: v, ldv: hd, zv: 0,
                               logitScale: 0.5, vScale: 0.5, relPos: nil, output: .f32(op.baseAddress!, ld: hd))
                .run(queries: 0..<n, blockRows: 2, scratch: &scratch, scratchBytes: scratch.count)
        }
        XCTAssertEqual(o, [12.5, 0.5, 12.5, 0.5, 12.5, 0.5, 12.5, 0.5])
    }

    func testF32AttentionTiledEqualsReferenceAndFloat64() throws {
        var rng = TestRNG(33)
        for g in grids {
            let n = g.h * g.w, ld = g.hd + 1
            let q = rng.floats(n * ld, -2, 2), k = rng.floats(n * ld, -2, 2), v = rng.floats(n * ld, -1, 1)
            let rh = rng.floats(g.h * g.h * g.hd, -0.3, 0.3), rw = rng.floats(g.w * g.w * g.hd, -0.3, 0.3)
            let scale = 1 / Float(g.hd).squareRoot()
            try rh.withUnsafeBufferPointer { rhp in
                try rw.withUnsafeBufferPointer { rwp in
                    let rel = g.relPos ? FRelPos(rh: rhp.baseAddress!, rw: rwp.baseAddress!) : nil
                    func head(_ out: UnsafeMutablePointer<Float>) throws -> FAttentionHead {
                        try FAttentionHead(gridH: g.h, gridW: g.w, headDim: g.hd, q: q, ldq: ld, k: k, ldk: ld, v: v, ldv: ld,
                                           scale: scale, relPos: rel, validH: g.validH, validW: g.validW,
                                           output: .f32(out, ld: g.hd))
                    }
                    var ref = [Float](repeating: .nan, count: n * g.hd)
                    var refScratch = [Float](repeating: 0, count: n)
                    try ref.withUnsafeMutableBufferPointer { o in
                        f32_attention__scalar_ref(try head(o.baseAddress!), queries: 0..<n, scratch: &refScratch)
                    }
                    for blockRows in [1, 5, 300] {
                        var out = [Float](repeating: .nan, count: n * g.hd)
                        try out.withUnsafeMutableBufferPointer { o in
                            let h = try head(o.baseAddress!)
                            var scratch = [UInt8](repeating: 0, count: h.scratchBytes(blockRows: blockRows))
                            try h.run(queries: 0..<n, blockRows: blockRows, scratch: &scratch, scratchBytes: scratch.count)
                        }
                        assertBitEqual(out, ref, "f32 attention \(g) block \(blockRows)")
                    }
                    for i in 0..<n where i / g.w < g.validH && i % g.w < g.validW {
                        var logits = [Double](repeating: 0, count: n)
                        for j in 0..<n {
                            for c in 0..<g.hd {
                                let qc = Double(q[i * ld + c])
                                logits[j] += qc * Double(scale) * Double(k[j * ld + c])
                                if g.relPos {
                                    logits[j] += qc * Double(rh[((i / g.w) * g.h + j / g.w) * g.hd + c])
                                    logits[j] += qc * Double(rw[((i % g.w) * g.w + j % g.w) * g.hd + c])
                                }
                            }
                        }
                        let m = logits.max()!
                        let e = logits.map { Foundation.exp($0 - m) }, z = e.reduce(0, +)
                        for c in 0..<g.hd {
                            var o = 0.0
                            for j in 0..<n { o += e[j] / z * Double(v[j * ld + c]) }
                            XCTAssertEqual(Double(ref[i * g.hd + c]), o, accuracy: 1e-5)
                        }
                    }
                }
            }
        }
    }
}
