import CEdgeShim

/// A source of time: monotonic for intervals, realtime for stamps; swappable for tests.
public protocol Clock: AnyObject {
    /// Nanoseconds on a clock that never jumps (CLOCK_MONOTONIC).
    func monotonicNanoseconds() -> UInt64
    /// Nanoseconds since the Unix epoch (CLOCK_REALTIME).
    func realtimeNanoseconds() -> UInt64
}

/// The system clocks.
public final class SystemClock: Clock {
    public init() {}
    public func monotonicNanoseconds() -> UInt64 { edge_monotonic_ns() }
    public func realtimeNanoseconds() -> UInt64 { edge_realtime_ns() }
}

/// A clock that moves only when a test advances it.
public final class FakeClock: Clock {
    private let lock = Monitor()
    private var monotonic: UInt64
    private var realtime: UInt64

    public init(monotonic: UInt64 = 1_000_000_000, realtime: UInt64 = 1_700_000_000_000_000_000) {
        self.monotonic = monotonic
        self.realtime = realtime
    }

    public func monotonicNanoseconds() -> UInt64 { lock.locked { monotonic } }
    public func realtimeNanoseconds() -> UInt64 { lock.locked { realtime } }

    /// Moves both clocks forward.
    public func advance(nanoseconds: UInt64) {
        lock.locked {
            monotonic += nanoseconds
            realtime += nanoseconds
        }
    }
}

/// Sleeps the calling thread, resuming after EINTR until the whole interval has passed.
public func sleepNanoseconds(_ nanoseconds: UInt64) {
    var request = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && edge_errno() == EINTR {
        request = remaining
    }
}
