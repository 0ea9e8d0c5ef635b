import EdgeRuntime

/// An in-memory GPIO chip for tests: records every level written and lets tests drive inputs.
public final class MemoryGpioBackend: GpioBackend {
    /// One line of the fake chip.
    public final class Line: GpioOutputLine, GpioInputLine {
        public let selector: LineSelector
        private let monitor = Monitor()
        private var levels: [Bool] = []
        private var inputLevel = false
        private var pendingEdges = 0
        private var released = false

        init(selector: LineSelector, initial: Bool) {
            self.selector = selector
            levels = [initial]
            inputLevel = initial
        }

        public func set(_ high: Bool) throws(GpioError) {
            let ok = monitor.locked { () -> Bool in
                if released { return false }
                levels.append(high)
                return true
            }
            if !ok { throw GpioError("line released") }
        }

        public func read() throws(GpioError) -> Bool { monitor.locked { inputLevel } }

        public func waitForEdge(timeoutNanoseconds: UInt64) throws(GpioError) -> Bool {
            let deadline = SystemClock().monotonicNanoseconds() + timeoutNanoseconds
            return monitor.locked {
                while pendingEdges == 0 {
                    if !monitor.wait(untilMonotonic: deadline) { break }
                }
                let had = pendingEdges > 0
                pendingEdges = 0
                return had
            }
        }

        public func release() { monitor.locked { released = true } }

        /// Every level driven on this output, starting with the initial one.
        public var history: [Bool] { monitor.locked { levels } }
        /// The current output level.
        public var level: Bool { monitor.locked { levels.last ?? false } }
        /// True once released.
        public var isReleased: Bool { monitor.locked { released } }

        /// Changes the input level as an external signal would (an edge when it changes).
        public func drive(_ high: Bool) {
            monitor.locked {
                if inputLevel != high { pendingEdges += 1 }
                inputLevel = high
                monitor.broadcast()
            }
        }
    }

    private let monitor = Monitor()
    private var requested: [Line] = []
    /// Levels that inputs read when requested, by selector.
    private var initialInputs: [(LineSelector, Bool)] = []
    /// When set, requests fail with this message (a missing chip).
    public var failure: String? = nil

    public init() {}

    /// Sets the level an input line will have when the daemon requests it.
    public func presetInput(_ line: LineSelector, high: Bool) {
        monitor.locked { initialInputs.append((line, high)) }
    }

    /// The requested line with this selector, if any.
    public func line(_ selector: LineSelector) -> Line? {
        monitor.locked { requested.last { $0.selector == selector } }
    }

    public func requestOutput(chip: ChipSelector, line: LineSelector, consumer: String, initial: Bool) throws(GpioError) -> any GpioOutputLine {
        if let failure { throw GpioError(failure) }
        let made = Line(selector: line, initial: initial)
        monitor.locked { requested.append(made) }
        return made
    }

    public func requestInput(chip: ChipSelector, line: LineSelector, consumer: String) throws(GpioError) -> any GpioInputLine {
        if let failure { throw GpioError(failure) }
        let level = monitor.locked { initialInputs.last { $0.0 == line }?.1 ?? false }
        let made = Line(selector: line, initial: level)
        monitor.locked { requested.append(made) }
        return made
    }
}
