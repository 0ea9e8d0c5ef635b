/// Version of the dualsam-edge runtime, reported by `edge-daemon version` and on the bus.
public enum BuildInfo {
    /// Semantic version of this build.
    public static let version = "0.1.0"
    /// The CPU architecture this binary was compiled for.
    public static var architecture: String {
        #if arch(x86_64)
        return "x86_64"
        #elseif arch(arm64)
        return "aarch64"
        #else
        return "unknown"
        #endif
    }
}
