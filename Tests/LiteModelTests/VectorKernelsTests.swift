import XCTest

@testable import LiteModel

/// The AVX-512 element-wise kernels (CKernels x86_vmath.c, run through `VectorKernels`) against the scalar
/// references, bit for bit, with the inputs of VectorMathTests; and the dispatch falls back to the Swift forms.
final class VectorKernelsTests: XCTestCase {
    // VectorMathTests' helpers (their XCTFail calls record on the running test).
    let vm = VectorMathTests(name: "helpers", testClosure: { _ in })

    override func tearDown() { VectorKernels.force(avx512: nil) }

    func requireAVX512() throws {
        VectorKernels.force(avx512: true)
        guard VectorKernels.usesAVX512 else { throw XCTSkip("this CPU has no AVX-512") }
    }

    func testActivationsMatchScalar() throws {
        try requireAVX512()
        for act in [Activation.gelu, .quickGelu, .sigmoid, .relu] {
            vm.checkFloatMap("avx512 \(act)", act.apply) { VectorKernels.activate($0, into: $1, count: $2, act) }
        }
    }

    func testQuantizeAndActivateQuantizeMatchScalar() throws {
        try requireAVX512()
        for inv: Float in [1, 0.5, 37.25, 1e-3, 3e7, .greatestFiniteMagnitude, 0] {
            for z: Int32 in [-128, -3, 0, 5, 127] {
                for (li, n) in VectorMathTests.lengths.enumerated() {
                    let x = Array((VectorMathTests.special + VectorMathTests.inputs(n, seed: UInt64(li) &+ UInt64(z + 200))).prefix(n))
                    var out = [Int8](repeating: 99, count: n + 1)
                    out.withUnsafeMutableBufferPointer { VectorKernels.quantize(x, into: $0.baseAddress!, count: n, invScale: inv, zeroPoint: z) }
                    XCTAssertEqual(out[n], 99, "quantize wrote past count \(n)")
                    for i in 0..<n where out[i] != quantize(x[i], invScale: inv, zeroPoint: z) {
                        XCTFail("avx512 Q(\(x[i]); \(inv), \(z)) = \(out[i])"); break
                    }
                    for act in [Activation.gelu, .quickGelu, .sigmoid, .relu] {
                        out.withUnsafeMutableBufferPointer {
                            VectorKernels.activateQuantize(x, into: $0.baseAddress!, count: n, act, invScale: inv, zeroPoint: z)
                        }
                        XCTAssertEqual(out[n], 99, "\(act) quantize wrote past count \(n)")
                        for i in 0..<n where out[i] != quantize(act.apply(x[i]), invScale: inv, zeroPoint: z) {
                            XCTFail("avx512 Q(\(act)(\(x[i])); \(inv), \(z)) = \(out[i])"); break
                        }
                    }
                }
            }
        }
    }

    /// A dense sweep through GELU's whole interesting range (erf's exp argument crosses the -87 clamp near 9.33).
    func testGeluSweepMatchesScalar() throws {
        try requireAVX512()
        var x = [Float](), v: Float = -14
        while v < 14 { x.append(v); v += 0.00173 }
        var out = [Float](repeating: 0, count: x.count)
        out.withUnsafeMutableBufferPointer { VectorKernels.activate(x, into: $0.baseAddress!, count: x.count, .gelu) }
        for i in 0..<x.count where !vm.assertSame(out[i], gelu32(x[i]), "avx512 gelu sweep \(x[i])") { break }
    }

    /// The VBMI table lookup against the scalar loop: every byte value at every position of a 64-byte step, all
    /// lengths around the step and the tail mask, a random table; nothing written past `count`.
    func testTableLookupMatchesScalar() throws {
        try requireAVX512()
        guard VectorKernels.usesVBMI else { throw XCTSkip("this CPU has no AVX-512 VBMI") }
        var rng = TestRNG(5)
        let table = (0..<256).map { _ in Int8(truncatingIfNeeded: rng.int(0...255)) }
        for n in [0, 1, 2, 63, 64, 65, 127, 128, 129, 255, 256, 257, 1000] {
            let x = (0..<n).map { i in Int8(truncatingIfNeeded: i % 3 == 0 ? i : rng.int(0...255)) }
            var fast = [Int8](repeating: 99, count: n + 1), ref = fast
            fast.withUnsafeMutableBufferPointer { VectorKernels.lookup(x, table: table, into: $0.baseAddress!, count: n) }
            ref.withUnsafeMutableBufferPointer { Elementwise.lookup(x, table: table, into: $0.baseAddress!, count: n) }
            XCTAssertEqual(fast, ref, "n \(n)")
            XCTAssertEqual(fast[n], 99)
            for i in 0..<n { XCTAssertEqual(ref[i], table[Int(x[i]) + 128]) }
        }
        VectorKernels.force(avx512: false)
        XCTAssertFalse(VectorKernels.usesVBMI)
    }

    func testForcedOffRunsTheSwiftForms() {
        VectorKernels.force(avx512: false)
        XCTAssertFalse(VectorKernels.usesAVX512)
        vm.checkFloatMap("swift gelu", gelu32) { VectorKernels.activate($0, into: $1, count: $2, .gelu) }
    }
}
