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

    func testForcedOffRunsTheSwiftForms() {
        VectorKernels.force(avx512: false)
        XCTAssertFalse(VectorKernels.usesAVX512)
        vm.checkFloatMap("swift gelu", gelu32) { VectorKernels.activate($0, into: $1, count: $2, .gelu) }
    }
}
