/// What `edge-daemon plan` prints: arena size, weight bytes, peak live set and the largest tensors.
public struct PlanReport: Equatable {
    /// One of the largest tensors.
    public struct Entry: Equatable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        public let byteSize: Int
        public let offset: Int
        public let lifetime: Lifetime
    }

    /// Number of planned tensors.
    public let tensorCount: Int
    /// Number of steps in the execution order.
    public let stepCount: Int
    /// Bytes of the one arena holding every intermediate tensor.
    public let arenaBytes: Int
    /// Bytes of the (packed) weights, held outside the arena.
    public let weightBytes: Int
    /// Largest sum of live tensor sizes at one step (a lower bound for the arena).
    public let peakLiveBytes: Int
    /// A step where the live set peaks.
    public let peakStep: Int
    /// The largest tensors, biggest first.
    public let largest: [Entry]

    /// Arena bytes over the peak live set, in percent (100 means the arena meets the lower bound).
    public var arenaToPeakPercent: Int {
        peakLiveBytes == 0 ? 100 : (arenaBytes * 100 + peakLiveBytes / 2) / peakLiveBytes
    }

    /// The report as lines of text.
    public var text: String {
        var out = "tensors:        " + String(tensorCount) + " over " + String(stepCount) + " steps\n"
        out += "arena:          " + formatBytes(arenaBytes) + " (" + String(arenaBytes) + " bytes)\n"
        out += "weights:        " + formatBytes(weightBytes) + " (" + String(weightBytes) + " bytes)\n"
        out += "total:          " + formatBytes(arenaBytes + weightBytes) + "\n"
        out += "peak live set:  " + formatBytes(peakLiveBytes) + " (" + String(peakLiveBytes) + " bytes) at step "
            + String(peakStep) + "; arena is " + String(arenaToPeakPercent) + "% of it\n"
        out += "largest tensors:\n"
        for entry in largest {
            out += "  " + pad(formatBytes(entry.byteSize), 12) + " " + pad(entry.dtype.name, 8) + pad(formatShape(entry.shape), 22)
                + " steps " + String(entry.lifetime.first) + "-" + String(entry.lifetime.last)
                + " @" + String(entry.offset) + "  " + entry.name + "\n"
        }
        return out
    }

    private func pad(_ text: String, _ width: Int) -> String {
        var text = text
        while text.utf8.count < width { text += " " }
        return text
    }
}
