import EdgeRuntime

/// A one-frame mailbox between the capture and inference threads: a newer frame replaces one not yet
/// taken (counted as dropped), so latency never piles up and memory is bounded by one frame.
public final class LatestFrameSlot {
    private let monitor = Monitor()
    private var pending: (frame: Frame, enqueued: UInt64)?
    private var closed = false
    private var dropCount: UInt64 = 0

    public init() {}

    /// Stores `frame`; returns true when it replaced an unprocessed one. Ignored once closed.
    @discardableResult
    public func put(_ frame: Frame, at monotonic: UInt64) -> Bool {
        monitor.locked {
            if closed { return false }
            let replaced = pending != nil
            if replaced { dropCount += 1 }
            pending = (frame, monotonic)
            monitor.broadcast()
            return replaced
        }
    }

    /// Waits for a frame until `deadline` (monotonic ns; nil = forever). Returns nil on timeout, or once
    /// the slot is closed and empty.
    public func take(deadline: UInt64?) -> (frame: Frame, enqueued: UInt64)? {
        monitor.locked {
            while pending == nil && !closed {
                if !monitor.wait(untilMonotonic: deadline) { break }
            }
            let item = pending
            pending = nil
            monitor.broadcast()
            return item
        }
    }

    /// Waits until inference has taken the pending frame (or the slot closes, or `deadline` passes);
    /// true when the slot is empty. Lossless replay uses it so no frame is replaced.
    public func waitUntilEmpty(deadline: UInt64) -> Bool {
        monitor.locked {
            while pending != nil && !closed {
                if !monitor.wait(untilMonotonic: deadline) { break }
            }
            return pending == nil
        }
    }

    /// Stops accepting frames and wakes the taker; `discardPending` drops a frame not yet taken (counted).
    public func close(discardPending: Bool) {
        monitor.locked {
            closed = true
            if discardPending && pending != nil {
                pending = nil
                dropCount += 1
            }
            monitor.broadcast()
        }
    }

    /// True once closed with nothing left to take.
    public var isDrained: Bool { monitor.locked { closed && pending == nil } }

    /// Frames replaced (or discarded at close) before inference took them.
    public var drops: UInt64 { monitor.locked { dropCount } }
}
