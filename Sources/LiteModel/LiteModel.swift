import EdgeRuntime

/// Facts about the model file formats this engine reads (see docs/MODEL_FORMAT.md).
public enum ModelFormat {
    /// Major version of the model file format; files with another major are rejected.
    public static let major = 1
}
