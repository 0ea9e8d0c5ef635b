import XCTest

@testable import LiteModel

/// C3P voting with the official one-pixel shift rule, channel by channel (dual-sam.md 1.7).
final class C3PTests: XCTestCase {
    /// dual-sam.md 1.7, literally: k=0 partner p7(r+1,c); k=1 p6(r-1,c); k=2 p5(r,c+1); k=3 p4(r,c-1);
    /// k=4 p3(r,c+1); k=5 p2(r,c+1); k=6 p1(r+1,c); k=7 p0(r+1,c).
    let documented: [(partner: Int, dy: Int, dx: Int)] = [(7, 1, 0), (6, -1, 0), (5, 0, 1), (4, 0, -1),
                                                          (3, 0, 1), (2, 0, 1), (1, 1, 0), (0, 1, 0)]
    let h = 7, w = 6

    func vote(_ p: [Float]) -> [Float] {
        var pred = [Float](repeating: -1, count: h * w)
        C3P.vote(p, height: h, width: w, rows: 0..<h, into: &pred)
        return pred
    }

    /// The fast vote equals the reference bit for bit: every size from 1x1 (all edge) up, row sub-ranges, and
    /// special values (NaN, infinity, zeros, ties) whose running-maximum handling must match.
    func testVoteEqualsTheScalarReference() {
        var rng = TestRNG(33)
        let specials: [Float] = [.nan, .infinity, 0, 1, 0.5, 0.5, 1e-30]
        for (hh, ww) in [(1, 1), (1, 5), (5, 1), (2, 2), (3, 3), (4, 7), (9, 3), (16, 16), (13, 29)] {
            for _ in 0..<4 {
                let p = (0..<(hh * ww * 8)).map { _ -> Float in
                    rng.int(0...19) == 0 ? specials[rng.int(0...6)] : Float(rng.int(0...1000)) / 1000
                }
                let lo = rng.int(0...(hh - 1)), hi = rng.int((lo + 1)...hh)
                var fast = [Float](repeating: -7, count: hh * ww), ref = fast
                C3P.vote(p, height: hh, width: ww, rows: lo..<hi, into: &fast)
                C3P.vote__scalar_ref(p, height: hh, width: ww, rows: lo..<hi, into: &ref)
                XCTAssertEqual(fast.map(\.bitPattern), ref.map(\.bitPattern), "\(hh)x\(ww) rows \(lo)..<\(hi)")
            }
        }
    }

    func testEachChannelVotesWithItsDocumentedPartnerOnly() {
        let r = 3, c = 2
        for k in 0..<8 {
            let (pk, dy, dx) = documented[k]
            XCTAssertTrue(C3P.partner(of: k) == (pk, dy, dx), "partner table k=\(k)")
            // Right direction: the vote at (r, c) is a * b.
            var p = [Float](repeating: 0, count: h * w * 8)
            p[(r * w + c) * 8 + k] = 0.75
            p[((r + dy) * w + c + dx) * 8 + pk] = 0.5
            let pred = vote(p)
            XCTAssertEqual(pred[r * w + c], 0.375, "k=\(k) votes at its pixel")
            // Anything else that is non-zero is the bilateral twin at the partner's pixel.
            for i in 0..<(h * w) where i != r * w + c && pred[i] != 0 {
                XCTAssertEqual(i, (r + dy) * w + c + dx, "k=\(k): unexpected vote at \(i)")
                XCTAssertEqual(documented[pk].dy, -dy, "k=\(k): only true bilateral pairs vote twice")
                XCTAssertEqual(documented[pk].dx, -dx)
            }
            // Wrong direction (the mirrored offset): no vote at (r, c).
            var q = [Float](repeating: 0, count: h * w * 8)
            q[(r * w + c) * 8 + k] = 0.75
            q[((r - dy) * w + c - dx) * 8 + pk] = 0.5
            XCTAssertEqual(vote(q)[r * w + c], 0, "k=\(k) must not read its partner at the mirrored offset")
            // Two pixels away (the "true" distance-2 neighbour) does not vote either.
            var d2 = [Float](repeating: 0, count: h * w * 8)
            d2[(r * w + c) * 8 + k] = 0.75
            if r + 2 * dy < h, c + 2 * dx < w, r + 2 * dy >= 0, c + 2 * dx >= 0 {
                d2[((r + 2 * dy) * w + c + 2 * dx) * 8 + pk] = 0.5
                XCTAssertEqual(vote(d2)[r * w + c], 0, "k=\(k) reads exactly one pixel away")
            }
        }
    }

    func testZeroFillAtTheBorderAndMaxOverChannels() {
        var p = [Float](repeating: 1, count: h * w * 8)
        let pred = vote(p)
        // Interior pixels see every partner: max = 1. Row 0: k = 1 reads row -1 (0) but others vote 1.
        XCTAssertEqual(pred[3 * w + 3], 1)
        XCTAssertEqual(pred[0], 1)
        // Bottom-right corner: k 0, 6, 7 read row h (0); k 2, 4, 5 read column w (0); k 3 reads (r, c-1) = 1.
        XCTAssertEqual(pred[(h - 1) * w + w - 1], 1)
        for i in 0..<(h * w * 8) where i % 8 != 3 { p[i] = 0.5 }
        for i in 0..<(h * w * 8) where i % 8 == 3 { p[i] = 0.25 }
        let pred2 = vote(p)
        XCTAssertEqual(pred2[3 * w + 3], 0.25)                 // 0.5 * 0.5 beats 0.25 * 0.5
        XCTAssertEqual(pred2[(h - 1) * w + w - 1], 0.25)       // k=1 (0.5 * p6 above) wins over k=3 (0.25 * 0.5)
    }

    func testRandomMapsAgainstTheDocumentedTable() {
        var rng = TestRNG(51)
        let p = rng.floats(h * w * 8, 0, 1)
        let pred = vote(p)
        for r in 0..<h {
            for c in 0..<w {
                var best: Float = 0
                for k in 0..<8 {
                    let (pk, dy, dx) = documented[k]
                    let rr = r + dy, cc = c + dx
                    let mate: Float = (0..<h).contains(rr) && (0..<w).contains(cc) ? p[(rr * w + cc) * 8 + pk] : 0
                    best = max(best, p[(r * w + c) * 8 + k] * mate)
                }
                XCTAssertEqual(pred[r * w + c], best)
            }
        }
    }
}
