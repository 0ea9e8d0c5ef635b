import XCTest

@testable import LiteModel

/// 8-connected components and per-instance statistics (NUMERICS 8.5).
final class InstancesTests: XCTestCase {
    func run(_ g: [UInt8], _ w: Int, _ h: Int, capacity: Int = 64, minArea: Int = 0, threshold: UInt8 = 65) throws
        -> (InstanceCounts, [Instance], [Int32]) {
        var labels = [Int32](repeating: -1, count: w * h)
        var scratch = [Int32](repeating: -5, count: Instances.scratchCount(width: w, height: h))
        var out = [Instance](repeating: Instance(id: 0, area: 0, minX: 0, minY: 0, maxX: 0, maxY: 0, sumX: 0, sumY: 0, sumG: 0),
                             count: capacity)
        let counts = try Instances.label(g, width: w, height: h, threshold: threshold, minArea: minArea, labels: &labels, scratch: &scratch, instances: &out, capacity: capacity)
        return (counts, Array(out.prefix(counts.stored)), labels)
    }

    func testDiagonalNeighboursJoinAndIdsFollowRasterOrder() throws {
        // Threshold 65: 66 is foreground, 65 is not.
        let X: UInt8 = 200, o: UInt8 = 0, t: UInt8 = 65, u: UInt8 = 66
        let g: [UInt8] = [
            o, o, o, o, o, X,
            o, X, o, o, X, o,
            X, o, t, o, o, o,
            o, o, o, u, u, o,
        ]
        let (counts, inst, labels) = try run(g, 6, 4)
        XCTAssertEqual(counts, InstanceCounts(found: 3, stored: 3))
        // id 1 starts at (5, 0) (first in raster order) and includes (4, 1) diagonally.
        XCTAssertEqual(inst[0].id, 1)
        XCTAssertEqual(inst[0].area, 2)
        XCTAssertTrue(inst[0].bbox == (4, 0, 2, 2))
        XCTAssertEqual(labels[1 * 6 + 4], 1)
        // id 2: (1, 1) and (0, 2) diagonal.
        XCTAssertEqual(inst[1].area, 2)
        XCTAssertTrue(inst[1].bbox == (0, 1, 2, 2))
        XCTAssertEqual(inst[1].centroid.x, 0.5)
        XCTAssertEqual(inst[1].centroid.y, 1.5)
        XCTAssertEqual(inst[1].score, 200.0 / 255.0)
        // id 3: the two 66 pixels; 65 at (2, 2) is background and does not bridge.
        XCTAssertEqual(inst[2].area, 2)
        XCTAssertEqual(inst[2].sumG, 132)
        XCTAssertEqual(inst[2].score, 132.0 / 510.0)
        XCTAssertEqual(labels[2 * 6 + 2], 0)
        XCTAssertEqual(labels.filter { $0 == 0 }.count, 24 - 6)
    }

    func testSpiralNeedsNoRecursionAndCapacityIsRespected() throws {
        // A one-pixel-wide serpentine over a 200x200 map: one component of ~20k pixels.
        let w = 200, h = 200
        var g = [UInt8](repeating: 0, count: w * h)
        for y in stride(from: 0, to: h, by: 2) {
            for x in 0..<w { g[y * w + x] = 255 }
            if y + 1 < h { g[(y + 1) * w + ((y / 2) % 2 == 0 ? w - 1 : 0)] = 255 }
        }
        let (counts, inst, _) = try run(g, w, h)
        XCTAssertEqual(counts.found, 1)
        XCTAssertEqual(inst[0].area, g.filter { $0 > 65 }.count)
        XCTAssertTrue(inst[0].bbox == (0, 0, w, h))  // the last row holds a connector
        // A checkerboard of isolated pixels at distance 2: many components, only `capacity` stored.
        var dots = [UInt8](repeating: 0, count: 20 * 20)
        for y in stride(from: 0, to: 20, by: 2) { for x in stride(from: 0, to: 20, by: 2) { dots[y * 20 + x] = 100 } }
        let (c2, i2, labels) = try run(dots, 20, 20, capacity: 7)
        XCTAssertEqual(c2, InstanceCounts(found: 100, stored: 7))
        XCTAssertEqual(i2.map { $0.id }, [1, 2, 3, 4, 5, 6, 7])
        XCTAssertEqual(labels[18 * 20 + 18], 100)
        XCTAssertThrowsError(try run([], 0, 0))
    }

    func testAgainstUnionFindOnRandomMaps() throws {
        var rng = TestRNG(61)
        for trial in 0..<168 {
            // Very sparse to dense maps: sparse ones exercise the 8-byte background skip (foreground next to
            // long background stretches, at every offset in a word), dense ones make long runs, stretches and
            // holes for the scanline fill. Thresholds on both sides of 128 (the skip's limit) and at the ends;
            // values right at the threshold and at 127/128.
            // Every third map is wide and the densest ones all but full: long runs crossing many 8-byte words,
            // runs ending at every offset in a word and at the row's end, rows that join far apart.
            let w = trial % 3 == 2 ? rng.int(60...150) : rng.int(1...40), h = rng.int(1...30)
            let percent = [1, 4, 20, 45, 70, 97, 100][trial % 7]
            let t = UInt8([65, 65, 0, 126, 127, 128, 200, 254][trial % 8])
            let edges: [Int] = [Int(t), min(Int(t) + 1, 255), 127, 128, 255, 0]
            let g = (0..<(w * h)).map { _ -> UInt8 in
                if rng.int(0...9) == 0 { return UInt8(edges[rng.int(0...5)]) }
                return UInt8(rng.int(0...99) < percent && t < 255 ? rng.int((Int(t) + 1)...255) : rng.int(0...Int(t)))
            }
            let (counts, inst, labels) = try run(g, w, h, capacity: w * h, threshold: t)
            // Union-find reference over 8-neighbours.
            var parent = Array(0..<(w * h))
            func find(_ i: Int) -> Int { var i = i; while parent[i] != i { parent[i] = parent[parent[i]]; i = parent[i] }; return i }
            for y in 0..<h { for x in 0..<w where g[y * w + x] > t {
                for (dy, dx) in [(0, 1), (1, -1), (1, 0), (1, 1)] {
                    let yy = y + dy, xx = x + dx
                    if yy < h, xx >= 0, xx < w, g[yy * w + xx] > t { parent[find(yy * w + xx)] = find(y * w + x) }
                }
            } }
            var idOfRoot = [Int: Int32](), areas = [Int32: Int]()
            for i in 0..<(w * h) where g[i] > t {
                let root = find(i)
                if idOfRoot[root] == nil { idOfRoot[root] = Int32(idOfRoot.count + 1) }
                XCTAssertEqual(labels[i], idOfRoot[root])
                areas[idOfRoot[root]!, default: 0] += 1
            }
            XCTAssertEqual(counts.found, idOfRoot.count)
            for item in inst { XCTAssertEqual(item.area, areas[item.id]) }
            // Every statistic from the reference membership.
            for item in inst {
                var want = Instance(id: item.id, area: 0, minX: w, minY: h, maxX: -1, maxY: -1, sumX: 0, sumY: 0, sumG: 0)
                for i in 0..<(w * h) where g[i] > t && idOfRoot[find(i)] == item.id {
                    let x = i % w, y = i / w
                    want.area += 1; want.sumX += x; want.sumY += y; want.sumG += Int(g[i])
                    want.minX = min(want.minX, x); want.maxX = max(want.maxX, x)
                    want.minY = min(want.minY, y); want.maxY = max(want.maxY, y)
                }
                XCTAssertEqual(item, want)
            }
        }
    }

    func testComponentsBelowTheMinimumAreaAreDroppedAndGiveUpTheirIds() throws {
        let X: UInt8 = 200, o: UInt8 = 0
        // A 1-pixel speck, a 4-pixel block, a 3-pixel diagonal.
        let g: [UInt8] = [
            X, o, o, o, o, X, X,
            o, o, X, o, o, X, X,
            o, o, o, X, o, o, o,
            o, o, X, o, o, o, o,
        ]
        let (all, _, _) = try run(g, 7, 4)
        XCTAssertEqual(all, InstanceCounts(found: 3, stored: 3))
        let (counts, inst, labels) = try run(g, 7, 4, minArea: 4)
        XCTAssertEqual(counts, InstanceCounts(found: 1, stored: 1, dropped: 2))
        XCTAssertEqual(inst.map { $0.area }, [4])
        XCTAssertEqual(inst[0].id, 1)
        XCTAssertEqual(labels.filter { $0 == -1 }.count, 4)
        XCTAssertEqual(labels.filter { $0 == 1 }.count, 4)
        XCTAssertEqual(labels[1 * 7 + 2], -1)
        let (c2, i2, l2) = try run(g, 7, 4, minArea: 2)
        XCTAssertEqual(c2, InstanceCounts(found: 2, stored: 2, dropped: 1))
        XCTAssertEqual(i2.map { $0.area }, [4, 3])  // ids follow the raster order of the kept ones
        XCTAssertEqual(l2[0], -1)
        XCTAssertEqual(l2[3 * 7 + 2], 2)
        XCTAssertThrowsError(try run(g, 7, 4, minArea: -1))
    }

    func testMinimumAreaAgainstTheUnfilteredLabelling() throws {
        var rng = TestRNG(62)
        for _ in 0..<20 {
            let w = rng.int(1...40), h = rng.int(1...30), minArea = rng.int(0...6)
            let g = (0..<(w * h)).map { _ in UInt8(rng.int(0...3) == 0 ? rng.int(66...255) : rng.int(0...65)) }
            let (all, allInst, allLabels) = try run(g, w, h, capacity: w * h)
            let (counts, inst, labels) = try run(g, w, h, capacity: w * h, minArea: minArea)
            let kept = allInst.filter { $0.area >= minArea }
            XCTAssertEqual(counts.found, kept.count)
            XCTAssertEqual(counts.dropped, all.found - kept.count)
            XCTAssertEqual(inst.map { $0.area }, kept.map { $0.area })
            XCTAssertEqual(inst.map { $0.id }, Array(1...max(1, kept.count)).prefix(kept.count).map { Int32($0) })
            // Same components, renumbered 1..k in raster order; dropped pixels are -1.
            var newIdOfOld = [Int32: Int32]()
            for (index, item) in kept.enumerated() { newIdOfOld[item.id] = Int32(index + 1) }
            for i in 0..<(w * h) where allLabels[i] > 0 {
                XCTAssertEqual(labels[i], newIdOfOld[allLabels[i]] ?? -1)
            }
        }
    }
}
