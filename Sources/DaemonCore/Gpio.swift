import EdgeRuntime

/// A GPIO failure: a missing chip or line, a busy line, a failed write.
public struct GpioError: Error, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// One requested output line.
public protocol GpioOutputLine: AnyObject {
    /// Drives the physical level (true = high).
    func set(_ high: Bool) throws(GpioError)
    /// Gives the line back to the kernel.
    func release()
}

/// One requested input line with edge events.
public protocol GpioInputLine: AnyObject {
    /// The physical level (true = high).
    func read() throws(GpioError) -> Bool
    /// Waits up to `timeoutNanoseconds` for an edge; returns true when one (or more) arrived and was consumed.
    func waitForEdge(timeoutNanoseconds: UInt64) throws(GpioError) -> Bool
    func release()
}

/// A GPIO implementation (libgpiod 1.6 here; a 2.x backend or the in-memory one implement the same).
public protocol GpioBackend: AnyObject {
    func requestOutput(chip: ChipSelector, line: LineSelector, consumer: String, initial: Bool) throws(GpioError) -> any GpioOutputLine
    func requestInput(chip: ChipSelector, line: LineSelector, consumer: String) throws(GpioError) -> any GpioInputLine
}

/// Drives the daemon's lines: `detect` asserted while an animal was seen within the hold time,
/// `heartbeat` toggled per processed frame, and `enable` edges that pause or resume inference.
public final class GpioController {
    private let settings: GpioSettings
    private let logger: Logger
    private let detect: (any GpioOutputLine)?
    private let heartbeat: (any GpioOutputLine)?
    private let enable: (any GpioInputLine)?
    private let state = Shared(State())
    private var watcher: WorkerThread?
    private let stopping = Shared(false)
    /// Called with true (enabled) or false (paused) when the enable input changes.
    private let onEnableChange: (Bool) -> Void

    private struct State {
        var detectAsserted = false
        var lastDetection: UInt64 = 0
        var heartbeatLevel = false
        var enabled = true
        var closed = false
    }

    /// Requests the configured lines (outputs start inactive) and starts watching the enable input.
    public init(settings: GpioSettings, backend: any GpioBackend, logger: Logger,
                onEnableChange: @escaping (Bool) -> Void) throws(GpioError) {
        self.settings = settings
        self.logger = logger
        self.onEnableChange = onEnableChange
        let inactive = settings.activeLow
        var detect: (any GpioOutputLine)? = nil
        var heartbeat: (any GpioOutputLine)? = nil
        var enable: (any GpioInputLine)? = nil
        do throws(GpioError) {
            if let line = settings.detectLine {
                detect = try backend.requestOutput(chip: settings.chip, line: line, consumer: settings.consumer, initial: inactive)
            }
            if let line = settings.heartbeatLine {
                heartbeat = try backend.requestOutput(chip: settings.chip, line: line, consumer: settings.consumer, initial: inactive)
            }
            if let line = settings.enableLine {
                enable = try backend.requestInput(chip: settings.chip, line: line, consumer: settings.consumer)
            }
        } catch {
            detect?.release()
            heartbeat?.release()
            throw error
        }
        self.detect = detect
        self.heartbeat = heartbeat
        self.enable = enable
        if let enable {
            let level = try enable.read()
            let enabled = level != settings.enableActiveLow
            state.update { $0.enabled = enabled }
            onEnableChange(enabled)
            do throws(SystemError) {
                watcher = try WorkerThread(name: "gpio-enable") { [self] in watchEnable(enable) }
            } catch {
                throw GpioError("cannot start the enable-input thread: " + error.description)
            }
        }
    }

    /// True while the enable input allows inference (always true without one).
    public var isEnabled: Bool { state.load().enabled }

    /// True while `detect` is asserted.
    public var isDetectAsserted: Bool { state.load().detectAsserted }

    /// Logical levels of the configured lines, for health reports.
    public var levels: [GpioLineLevel] {
        let s = state.load()
        var out: [GpioLineLevel] = []
        if detect != nil { out.append(GpioLineLevel(name: "detect", active: s.detectAsserted)) }
        if heartbeat != nil { out.append(GpioLineLevel(name: "heartbeat", active: s.heartbeatLevel)) }
        if enable != nil { out.append(GpioLineLevel(name: "enable", active: s.enabled)) }
        return out
    }

    /// Records one processed frame: toggles heartbeat; asserts detect when `detected`.
    public func frameProcessed(detected: Bool, now: UInt64) {
        let (assertDetect, beat) = state.update { s -> (Bool, Bool?) in
            if s.closed { return (false, nil) }
            var assertNow = false
            if detected {
                s.lastDetection = now
                if !s.detectAsserted { s.detectAsserted = true; assertNow = true }
            }
            s.heartbeatLevel.toggle()
            return (assertNow, s.heartbeatLevel)
        }
        if assertDetect { drive(detect, active: true, "detect") }
        if let beat, let heartbeat {
            do throws(GpioError) { try heartbeat.set(beat) } catch { logger.error("gpio heartbeat: " + error.message) }
        }
        tick(now: now)
    }

    /// Releases `detect` once the hold time after the last detection has passed.
    public func tick(now: UInt64) {
        let release = state.update { s -> Bool in
            guard !s.closed, s.detectAsserted, now &- s.lastDetection >= settings.detectHold else { return false }
            s.detectAsserted = false
            return true
        }
        if release { drive(detect, active: false, "detect") }
    }

    /// Drives safe values (outputs inactive, heartbeat low) and releases every line.
    public func shutdown() {
        stopping.store(true)
        watcher?.join()
        watcher = nil
        let wasClosed = state.update { s -> Bool in
            let was = s.closed
            s.closed = true
            s.detectAsserted = false
            return was
        }
        if wasClosed { return }
        drive(detect, active: false, "detect")
        drive(heartbeat, active: false, "heartbeat")
        detect?.release()
        heartbeat?.release()
        enable?.release()
    }

    private func drive(_ line: (any GpioOutputLine)?, active: Bool, _ name: String) {
        guard let line else { return }
        do throws(GpioError) {
            try line.set(active != settings.activeLow)
        } catch {
            logger.error("gpio " + name + ": " + error.message)
        }
    }

    private func watchEnable(_ input: any GpioInputLine) {
        while !stopping.load() {
            do throws(GpioError) {
                guard try input.waitForEdge(timeoutNanoseconds: 100_000_000) else { continue }
                let enabled = try input.read() != settings.enableActiveLow
                let changed = state.update { s -> Bool in
                    let changed = s.enabled != enabled
                    s.enabled = enabled
                    return changed
                }
                if changed {
                    logger.notice(enabled ? "gpio enable input: inference resumed" : "gpio enable input: inference paused")
                    onEnableChange(enabled)
                }
            } catch {
                logger.error("gpio enable input: " + error.message)
                sleepNanoseconds(100_000_000)
            }
        }
    }
}
