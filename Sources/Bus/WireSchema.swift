import EdgeRuntime

/// The detection wire format's version (see docs/WIRE.md); consumers reject unknown majors.
public enum WireSchema {
    /// Incremented on incompatible changes.
    public static let major = 1
    /// Incremented on compatible additions.
    public static let minor = 0
}
