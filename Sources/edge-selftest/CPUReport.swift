import CEdgeShim

/// What this binary was compiled for and what the CPU it runs on offers.
struct CPUReport {
    /// The code-generation target, as set by cross/build's compile conditions.
    let buildTarget: String
    /// True when the running CPU has the Arm dot-product extension (AT_HWCAP bit 20, asimddp).
    let hasDotProduct: Bool

    static var current: CPUReport {
        #if EDGE_BUILD_DOTPROD
        let target = "cortex-a76, dot-product"
        #elseif arch(arm64)
        let target = "armv8-a baseline"
        #else
        let target = "host baseline"
        #endif
        #if arch(arm64)
        let hasDot = (edge_hwcap() & (1 << 20)) != 0
        #else
        let hasDot = false
        #endif
        return CPUReport(buildTarget: target, hasDotProduct: hasDot)
    }
}
