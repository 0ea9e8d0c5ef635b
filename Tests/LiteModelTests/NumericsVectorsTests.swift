import XCTest

@testable import LiteModel

/// Composite ops against the numpy model of docs/NUMERICS.md (tests/python/test_ops_numerics.py).
final class NumericsVectorsTests: XCTestCase {
    typealias V = NumericsVectors

    func testInt8AttentionHeadMatchesNumpyBitForBit() throws {
        let gh = 3, gw = 4, hd = 8, n = 12
        for withRel in [true, false] {
            var o = [Float](repeating: .nan, count: n * hd)
            try V.att_rh.withUnsafeBufferPointer { rh in
                try V.att_rw.withUnsafeBufferPointer { rw in
                    let rel = withRel ? QRelPos(rh: rh.baseAddress!, rw: rw.baseAddress!, rhScale: 0.004, rwScale: 0.003) : nil
                    try o.withUnsafeMutableBufferPointer { op in
                        let head = try QAttentionHead(gridH: gh, gridW: gw, headDim: hd, q: V.att_q, ldq: hd, zq: 3,
                                                      k: V.att_k, ldk: hd, zk: -5, v: V.att_v, ldv: hd, zv: 7,
                                                      logitScale: 0.002, vScale: 0.05, relPos: rel, output: .f32(op.baseAddress!, ld: hd))
                        var scratch = [UInt8](repeating: 0, count: head.scratchBytes(blockRows: 5))
                        try head.run(queries: 0..<n, blockRows: 5, scratch: &scratch, scratchBytes: scratch.count)
                    }
                }
            }
            assertBitEqual(o, (withRel ? V.att_o : V.att_o_norel).map { Float(bitPattern: $0) }, "attention rel=\(withRel)")
        }
    }

    func testC3PMatchesNumpy() {
        let p = V.c3p_p.map { Float(bitPattern: $0) }
        var pred = [Float](repeating: -1, count: 30)
        C3P.vote(p, height: 5, width: 6, rows: 0..<5, into: &pred)
        assertBitEqual(pred, V.c3p_pred.map { Float(bitPattern: $0) }, "C3P")
    }
}
