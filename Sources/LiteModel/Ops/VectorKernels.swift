// Run-time choice for the element-wise buffer loops: the AVX-512 C kernels (CKernels x86_vmath.c, 16 lanes)
// where the CPU has AVX-512, else VectorMath's eight-lane Swift forms. Swift has no per-function target
// features, so its forms are compiled for the baseline (SSE2 on x86-64, NEON on aarch64); the C ones carry
// their own. Both give the scalar references' bits (VectorKernelsTests compares them).
import CEdgeShim
import CKernels

/// The element-wise loops the graph runs, on the fastest path this CPU has.
public enum VectorKernels {
    /// Whether the AVX-512 kernels run: detected once; `force` overrides it (tests, benchmarks).
    public static var usesAVX512: Bool {
        if let f = forced { return f }
        if let d = detected { return d }
        let d = cpuHasAVX512
        detected = d
        return d
    }

    /// Forces the AVX-512 kernels on (only where the CPU has them) or off; nil returns to detection.
    public static func force(avx512: Bool?) { forced = avx512.map { $0 && cpuHasAVX512 } }

    private static var cpuHasAVX512: Bool { ckernels_has_x86() != 0 && edge_cpu_has_avx512() != 0 }

    nonisolated(unsafe) private static var forced: Bool?
    nonisolated(unsafe) private static var detected: Bool?

    @inline(__always)
    static func code(_ act: Activation) -> Int32 {
        switch act {
        case .gelu: return VM_ACT_GELU
        case .quickGelu: return VM_ACT_QUICK_GELU
        case .sigmoid: return VM_ACT_SIGMOID
        case .relu: return VM_ACT_RELU
        }
    }

    /// `out[i] = act(x[i])`.
    public static func activate(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int,
                                _ act: Activation) {
        if usesAVX512 { vm_activate_f32__avx512(x, out, count, code(act)) } else { VectorMath.activate(x, into: out, count: count, act) }
    }

    /// `out[i] = Q(act(x[i]); invScale, zeroPoint)`.
    public static func activateQuantize(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Int8>, count: Int,
                                        _ act: Activation, invScale: Float, zeroPoint: Int32) {
        if usesAVX512 {
            vm_activate_qs8__avx512(x, out, count, code(act), invScale, zeroPoint)
        } else {
            VectorMath.activateQuantize(x, into: out, count: count, act, invScale: invScale, zeroPoint: zeroPoint)
        }
    }

    /// `out[i] = table[x[i] + 128]` (a 256-entry activation table, NUMERICS 3.5).
    public static func lookup(_ x: UnsafePointer<Int8>, table: UnsafePointer<Int8>, into out: UnsafeMutablePointer<Int8>,
                              count: Int) {
        if usesVBMI {
            vm_lookup_s8__avx512vbmi(x, table, out, count)
        } else if usesNEONLookup {
            vm_lookup_s8__neon(x, table, out, count)
        } else {
            Elementwise.lookup(x, table: table, into: out, count: count)
        }
    }

    /// Whether the AVX-512 VBMI byte-permute lookup runs (follows `force(avx512:)`).
    public static var usesVBMI: Bool {
        if let d = detectedVBMI { return d && usesAVX512 }
        let d = ckernels_has_x86() != 0 && edge_cpu_has_avx512vbmi() != 0
        detectedVBMI = d
        return d && usesAVX512
    }

    nonisolated(unsafe) private static var detectedVBMI: Bool?

    /// Whether the AArch64 `tbl` lookup runs (every AArch64 CPU: NEON is part of the base architecture).
    public static var usesNEONLookup: Bool { ckernels_has_aarch64() != 0 }

    /// `out[i] = Q(x[i]; invScale, zeroPoint)`.
    public static func quantize(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Int8>, count: Int,
                                invScale: Float, zeroPoint: Int32) {
        if usesAVX512 {
            vm_quantize_qs8__avx512(x, out, count, invScale, zeroPoint)
        } else {
            VectorMath.quantize(x, into: out, count: count, invScale: invScale, zeroPoint: zeroPoint)
        }
    }
}
