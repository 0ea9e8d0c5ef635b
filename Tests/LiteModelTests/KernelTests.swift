import XCTest

@testable import LiteModel

/// Every int8 GEMM variant this CPU runs against `qs8_gemm__scalar_ref`: int32 accumulators and both
/// epilogues must be exactly equal, on shapes off every tile size.
final class KernelTests: XCTestCase {
    struct Case {
        var m: Int, n: Int, k: Int, lda: Int, ldw: Int, aZero: Int32
        var a: [Int8], w: [Int8], sums: [Int32]
        /// `w` packed by `qs8PackWeights` in each layout (read by the packed variants, ignored by the others).
        var packed8c2: [Int8], packed16c4: [Int8]

        /// Calls `body` with the weights packed as `kernel` reads them (nil for an unpacked kernel).
        func withPacked<R>(for kernel: QGemmKernel, _ body: (QPackedWeights?) throws -> R) rethrows -> R {
            switch kernel.packLayout {
            case .panels8c2?: return try packed8c2.withUnsafeBufferPointer { try body(QPackedWeights($0.baseAddress!, layout: .panels8c2)) }
            case .panels16c4?: return try packed16c4.withUnsafeBufferPointer { try body(QPackedWeights($0.baseAddress!, layout: .panels16c4)) }
            case nil: return try body(nil)
            }
        }
    }

    func makeCase(_ m: Int, _ n: Int, _ k: Int, _ rng: inout TestRNG, aZero: Int32? = nil,
                  fillA: Int8? = nil, fillW: Int8? = nil) -> Case {
        let lda = k + rng.int(0...5), ldw = k + rng.int(0...3)
        let a = fillA.map { [Int8](repeating: $0, count: max(m, 1) * lda) } ?? rng.int8s(max(m, 1) * lda)
        let w = fillW.map { [Int8](repeating: $0, count: n * ldw) } ?? rng.int8s(n * ldw)
        var sums = [Int32](repeating: 0, count: n)
        w.withUnsafeBufferPointer { wp in
            sums.withUnsafeMutableBufferPointer { qs8RowSums(wp.baseAddress!, n: n, k: k, ldw: ldw, into: $0.baseAddress!) }
        }
        func pack(_ layout: QPackLayout) -> [Int8] {
            var packed = [Int8](repeating: 99, count: qs8PackedBytes(n: n, k: k, layout: layout))
            w.withUnsafeBufferPointer { wp in
                packed.withUnsafeMutableBufferPointer {
                    qs8PackWeights(wp.baseAddress!, n: n, k: k, ldw: ldw, layout: layout, into: $0.baseAddress!)
                }
            }
            return packed
        }
        return Case(m: m, n: n, k: k, lda: lda, ldw: ldw, aZero: aZero ?? Int32(rng.int(-128...127)), a: a, w: w, sums: sums,
                    packed8c2: pack(.panels8c2), packed16c4: pack(.panels16c4))
    }

    /// Raw accumulators of `kernel` over `rows`; untouched cells keep the sentinel.
    func raw(_ c: Case, _ kernel: QGemmKernel, rows: Range<Int>? = nil, ld: Int? = nil) throws -> [Int32] {
        let ld = ld ?? c.n
        var out = [Int32](repeating: Int32.min, count: max(c.m, 1) * ld)
        try c.withPacked(for: kernel) { p in
        try c.a.withUnsafeBufferPointer { a in
            try c.w.withUnsafeBufferPointer { w in
                try c.sums.withUnsafeBufferPointer { s in
                    try out.withUnsafeMutableBufferPointer { o in
                        let g = try QGemm(m: c.m, n: c.n, k: c.k, a: a.baseAddress!, lda: c.lda, aZero: c.aZero,
                                          w: w.baseAddress!, ldw: c.ldw, wRowSums: s.baseAddress!,
                                          packed: p, output: .raw(o.baseAddress!, ld: ld))
                        qs8GemmRun(g, rows: rows ?? 0..<c.m, kernel: kernel)
                    }
                }
            }
        }
        }
        return out
    }

    /// Equal arrays, or one failure naming the first differing index (not two full dumps).
    func assertSame<T: Equatable>(_ got: [T], _ want: [T], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        guard got.count == want.count else { return XCTFail("\(what): \(got.count) vs \(want.count) values", file: file, line: line) }
        if let i = got.indices.first(where: { got[$0] != want[$0] }) {
            XCTFail("\(what): index \(i): \(got[i]) != \(want[i])", file: file, line: line)
        }
    }

    var fastKernels: [QGemmKernel] { QGemmKernel.available.filter { $0 != .scalarRef } }

    func testThisCPUHasItsExpectedKernels() {
        #if arch(x86_64)
        if QGemmKernel.avx2.isAvailable { XCTAssertNotEqual(QGemmKernel.selected, .swift2x4) }
        XCTAssertFalse(QGemmKernel.neon.isAvailable)
        XCTAssertFalse(QGemmKernel.neonPacked.isAvailable)
        #endif
        XCTAssertTrue(QGemmKernel.selected.isAvailable)
        print("KernelTests: available " + QGemmKernel.available.map(\.name).joined(separator: ", ")
              + "; selected " + QGemmKernel.selected.name)
    }

    func testRawAccumulatorsEqualReferenceOnAwkwardShapes() throws {
        var rng = TestRNG(6)
        let shapes: [(Int, Int, Int)] = [(1, 1, 1), (1, 1, 63), (1, 1, 64), (1, 1, 65), (2, 3, 5), (3, 5, 17),
                                         (4, 4, 16), (5, 7, 129), (6, 9, 192), (7, 1, 320), (1, 13, 15), (9, 6, 1),
                                         (17, 19, 200), (4, 8, 768), (5, 5, 4099), (0, 3, 8),
                                         // the packed 4x16 kernel: M around 4 and 8, N around 8 and 16, odd K, K across its
                                         // 1024-long activation chunks
                                         (8, 8, 2), (8, 16, 33), (9, 15, 31), (16, 17, 1023), (15, 24, 1024),
                                         (11, 9, 1025), (24, 40, 2049), (1, 8, 1), (3, 1, 2)]
        for kernel in fastKernels {
            for (m, n, k) in shapes {
                let c = makeCase(m, n, k, &rng)
                assertSame(try raw(c, kernel), try raw(c, .scalarRef), "\(kernel.name) m=\(m) n=\(n) k=\(k)")
            }
        }
    }

    func testExtremeValuesAndLargestK() throws {
        var rng = TestRNG(7)
        // (a - z_a) * w at its largest magnitude, over the largest K QGemm accepts: the sums reach ~±1.07e9.
        let extremes: [(Int8, Int8, Int32)] = [(-128, -128, 127), (127, -128, -128), (127, 127, -128), (-128, 127, 127),
                                               (0, -128, 0), (-128, -128, -128)]
        for kernel in fastKernels {
            for (fa, fw, z) in extremes {
                let c = makeCase(3, 5, 1 << 15, &rng, aZero: z, fillA: fa, fillW: fw)
                let ref = try raw(c, .scalarRef)
                XCTAssertEqual(ref[0], (Int32(fa) - z) * Int32(fw) * Int32(1 << 15))
                assertSame(try raw(c, kernel), ref, "\(kernel.name) a=\(fa) w=\(fw) z=\(z)")
            }
            for z: Int32 in [-128, 0, 127] {
                let c = makeCase(6, 11, 1000, &rng, aZero: z)
                assertSame(try raw(c, kernel), try raw(c, .scalarRef), "\(kernel.name) z=\(z)")
            }
        }
    }

    func testRowRangesAndOutputStrideLeaveOtherCellsAlone() throws {
        var rng = TestRNG(8)
        let c = makeCase(23, 10, 70, &rng)
        for kernel in fastKernels {
            assertSame(try raw(c, kernel, rows: 5..<18, ld: 13), try raw(c, .scalarRef, rows: 5..<18, ld: 13), kernel.name)
            assertSame(try raw(c, kernel, rows: 22..<40, ld: 10), try raw(c, .scalarRef, rows: 22..<40, ld: 10), kernel.name)
        }
    }

    /// Both epilogues through the stack-blocked path (M and N past its 16 x 128 blocks).
    func testEpiloguesEqualReference() throws {
        var rng = TestRNG(9)
        for (m, n, k) in [(37, 300, 77), (16, 128, 64), (1, 129, 3), (9, 33, 1500), (8, 8, 1025)] {
            let c = makeCase(m, n, k, &rng)
            let scale = rng.floats(n, 1e-4, 1e-2), fbias = rng.floats(n, -1, 1)
            let mult = (0..<n).map { _ in Int32(rng.int((1 << 30)...Int(Int32.max))) }
            // Long K: larger sums, so larger shifts keep the requantized values spread over int8.
            let shift = (0..<n).map { _ in Int32(rng.int(k > 500 ? 41...44 : 36...42)) }
            let qbias = (0..<n).map { _ in Int32(rng.int(-5000...5000)) }, zout = (0..<n).map { _ in Int32(rng.int(-20...20)) }
            func run(_ kernel: QGemmKernel) throws -> ([Float], [Int8]) {
                var f = [Float](repeating: .nan, count: m * n), q = [Int8](repeating: 0, count: m * n)
                try c.withPacked(for: kernel) { p in
                try c.a.withUnsafeBufferPointer { a in try c.w.withUnsafeBufferPointer { w in try c.sums.withUnsafeBufferPointer { s in
                    try scale.withUnsafeBufferPointer { sc in try fbias.withUnsafeBufferPointer { fb in
                        try mult.withUnsafeBufferPointer { mu in try shift.withUnsafeBufferPointer { sh in
                            try qbias.withUnsafeBufferPointer { qb in try zout.withUnsafeBufferPointer { zo in
                                try f.withUnsafeMutableBufferPointer { fo in try q.withUnsafeMutableBufferPointer { qo in
                                    let deq = QDequantParams(scale: sc.baseAddress!, bias: fb.baseAddress!)
                                    let req = QRequantParams(multiplier: mu.baseAddress!, shift: sh.baseAddress!,
                                                             bias: qb.baseAddress!, zeroPoint: zo.baseAddress!)
                                    for output in [QGemmOutput.dequant(fo.baseAddress!, ld: n, deq), .requant(qo.baseAddress!, ld: n, req)] {
                                        let g = try QGemm(m: m, n: n, k: k, a: a.baseAddress!, lda: c.lda, aZero: c.aZero,
                                                          w: w.baseAddress!, ldw: c.ldw, wRowSums: s.baseAddress!,
                                                          packed: p, output: output)
                                        qs8GemmRun(g, rows: 0..<m, kernel: kernel)
                                    }
                                } }
                            } }
                        } }
                    } }
                } } }
                }
                return (f, q)
            }
            let (fr, qr) = try run(.scalarRef)
            XCTAssertGreaterThan(Set(qr).count, min(20, m * n / 4), "requant outputs should spread over int8")
            for kernel in fastKernels {
                let (f, q) = try run(kernel)
                assertBitEqual(f, fr, "\(kernel.name) dequant m=\(m) n=\(n)")
                assertSame(q, qr, "\(kernel.name) requant m=\(m) n=\(n)")
            }
        }
    }

    /// Each packed variant reads `QGemm.packed` (weights packed from a different matrix change its result), runs
    /// its unpacked sibling without them or with weights packed for the other layout, and a column block at a panel
    /// edge (`qs8PackedColumns`) is that block.
    func testPackedVariantsUseThePackedWeights() throws {
        let packedKernels = QGemmKernel.available.filter { $0.usesPackedWeights }
        guard !packedKernels.isEmpty else { throw XCTSkip("no packed kernel on this CPU") }
        for kernel in packedKernels {
            var rng = TestRNG(10)
            var c = makeCase(13, 29, 45, &rng)
            let ref = try raw(c, .scalarRef)
            assertSame(try raw(c, kernel), ref, "\(kernel.name) packed")
            let other = makeCase(13, 29, 45, &rng)
            var swapped = c
            swapped.packed8c2 = other.packed8c2
            swapped.packed16c4 = other.packed16c4
            XCTAssertNotEqual(try raw(swapped, kernel), ref, "\(kernel.name) must read the packed weights")
            // No packed weights, or weights in the other layout: the unpacked sibling, same result.
            for wrongLayout in [false, true] {
                var out = [Int32](repeating: 0, count: c.m * c.n)
                let otherLayout: QPackLayout = kernel.packLayout == .panels8c2 ? .panels16c4 : .panels8c2
                let bytes = otherLayout == .panels8c2 ? c.packed8c2 : c.packed16c4
                try bytes.withUnsafeBufferPointer { p in
                try c.a.withUnsafeBufferPointer { a in try c.w.withUnsafeBufferPointer { w in try c.sums.withUnsafeBufferPointer { s in
                    try out.withUnsafeMutableBufferPointer { o in
                        let g = try QGemm(m: c.m, n: c.n, k: c.k, a: a.baseAddress!, lda: c.lda, aZero: c.aZero, w: w.baseAddress!,
                                          ldw: c.ldw, wRowSums: s.baseAddress!,
                                          packed: wrongLayout ? QPackedWeights(p.baseAddress!, layout: otherLayout) : nil,
                                          output: .raw(o.baseAddress!, ld: c.n))
                        qs8GemmRun(g, rows: 0..<c.m, kernel: kernel)
                    }
                } } }
                }
                assertSame(out, ref, "\(kernel.name) without weights in its layout (wrong layout: \(wrongLayout))")
            }
            // Columns 16..<29 from the packed panels at column 16, against the reference on rows 16..<29 of w.
            var block = [Int32](repeating: 0, count: c.m * 13), blockRef = block
            let full = c
            c.w = Array(c.w[(16 * c.ldw)...])
            c.sums = Array(c.sums[16...])
            for (k, dst) in [(kernel, 0), (.scalarRef, 1)] {
                try c.a.withUnsafeBufferPointer { a in try c.w.withUnsafeBufferPointer { w in try c.sums.withUnsafeBufferPointer { s in
                    try full.withPacked(for: kernel) { p in
                        var o = dst == 0 ? block : blockRef
                        try o.withUnsafeMutableBufferPointer { ob in
                            let g = try QGemm(m: c.m, n: 13, k: c.k, a: a.baseAddress!, lda: c.lda, aZero: c.aZero,
                                              w: w.baseAddress!, ldw: c.ldw, wRowSums: s.baseAddress!,
                                              packed: qs8PackedColumns(p, k: c.k, from: 16),
                                              output: .raw(ob.baseAddress!, ld: 13))
                            qs8GemmRun(g, rows: 0..<c.m, kernel: k)
                        }
                        if dst == 0 { block = o } else { blockRef = o }
                    }
                } } }
            }
            assertSame(block, blockRef, "\(kernel.name) packed column block")
            XCTAssertEqual(Array(blockRef[0..<13]), Array(ref[16..<29]))
            full.withPacked(for: kernel) { p in XCTAssertNil(qs8PackedColumns(p, k: c.k, from: 12)) }
        }
    }

    /// Requantization with extreme constants (multipliers 0, Int32.min/max and random, every shift 0...63, biases
    /// and zero points anywhere in Int32, extreme inputs): the packed kernel's fused epilogue against `requantize`.
    func testRequantizeExtremeConstantsEqualReference() throws {
        var rng = TestRNG(11)
        for (m, n, k, fill) in [(9, 64, 40, nil), (5, 23, 1024, Int8(-128)), (4, 17, 3, Int8(127))] as [(Int, Int, Int, Int8?)] {
            let c = makeCase(m, n, k, &rng, aZero: fill.map { $0 < 0 ? 127 : -128 }, fillA: fill, fillW: fill)
            let special: [Int32] = [0, Int32.min, Int32.max]
            var mult = [Int32](), qbias = [Int32](), zout = [Int32]()
            for i in 0..<n {
                let any32 = Int32(truncatingIfNeeded: rng.int(Int(Int32.min)...Int(Int32.max)))
                mult.append(i % 4 == 3 ? special[(i / 4) % 3] : any32)
                qbias.append(Int32(truncatingIfNeeded: rng.int(Int(Int32.min)...Int(Int32.max))))
                zout.append(i % 2 == 0 ? Int32(rng.int(-300...300)) : Int32(truncatingIfNeeded: rng.int(Int(Int32.min)...Int(Int32.max))))
            }
            let shift = (0..<n).map { Int32($0 % 64) }
            func run(_ kernel: QGemmKernel) throws -> [Int8] {
                var q = [Int8](repeating: 0, count: m * n)
                try c.withPacked(for: kernel) { p in try c.a.withUnsafeBufferPointer { a in try c.w.withUnsafeBufferPointer { w in
                    try c.sums.withUnsafeBufferPointer { s in try mult.withUnsafeBufferPointer { mu in try shift.withUnsafeBufferPointer { sh in
                        try qbias.withUnsafeBufferPointer { qb in try zout.withUnsafeBufferPointer { zo in try q.withUnsafeMutableBufferPointer { qo in
                            let req = QRequantParams(multiplier: mu.baseAddress!, shift: sh.baseAddress!, bias: qb.baseAddress!,
                                                     zeroPoint: zo.baseAddress!)
                            let g = try QGemm(m: m, n: n, k: k, a: a.baseAddress!, lda: c.lda, aZero: c.aZero, w: w.baseAddress!,
                                              ldw: c.ldw, wRowSums: s.baseAddress!, packed: p,
                                              output: .requant(qo.baseAddress!, ld: n, req))
                            qs8GemmRun(g, rows: 0..<m, kernel: kernel)
                        } } }
                    } } }
                } } }
                return q
            }
            let ref = try run(.scalarRef)
            if fill == nil { XCTAssertGreaterThan(Set(ref).count, 2, "requant outputs should not all clamp") }
            for kernel in fastKernels { assertSame(try run(kernel), ref, "\(kernel.name) extreme requant m=\(m) n=\(n) k=\(k)") }
        }
    }

    func testForceSelectsAndReleasesAVariant() {
        let detected = QGemmKernel.selected
        QGemmKernel.force(.scalarRef)
        XCTAssertEqual(QGemmKernel.selected, .scalarRef)
        QGemmKernel.force(nil)
        XCTAssertEqual(QGemmKernel.selected, detected)
    }
}
