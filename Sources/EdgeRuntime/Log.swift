/// Syslog severities used as sd-daemon prefixes (`<3>` error .. `<7>` debug) on stderr.
public enum LogLevel: Int, Comparable, Sendable {
    case error = 3
    case warning = 4
    case notice = 5
    case info = 6
    case debug = 7

    /// Parses "error", "warning", "notice", "info" or "debug".
    public init?(name: String) {
        switch name {
        case "error", "err": self = .error
        case "warning", "warn": self = .warning
        case "notice": self = .notice
        case "info": self = .info
        case "debug": self = .debug
        default: return nil
        }
    }

    /// The level's config name.
    public var name: String {
        switch self {
        case .error: return "error"
        case .warning: return "warning"
        case .notice: return "notice"
        case .info: return "info"
        case .debug: return "debug"
        }
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Where finished log lines go.
public protocol LogOutput: AnyObject {
    /// Writes one complete line (without the newline).
    func write(line: String)
}

/// Writes log lines to stderr, which journald reads with the `<N>` prefixes as priorities.
public final class StderrLogOutput: LogOutput {
    public init() {}
    public func write(line: String) { printErrorLine(line) }
}

/// Keeps log lines in memory for tests.
public final class MemoryLogOutput: LogOutput {
    private let lines = Shared<[String]>([])
    public init() {}
    public func write(line: String) { lines.update { $0.append(line) } }
    /// Every line written so far.
    public var all: [String] { lines.load() }
}

/// Leveled, thread-safe logging with rate limiting of repeated identical warnings and errors.
///
/// Within `window` nanoseconds of its first occurrence a message is written at most `burst` times;
/// the rest are counted and reported as one "suppressed N repeats" line when the window closes
/// (on the next occurrence or the next `flushSuppressed()`), so a bad camera cannot flood the journal.
public final class Logger {
    private struct Repeat {
        var windowStart: UInt64
        var written: Int
        var suppressed: Int
        var level: LogLevel
    }

    private let monitor = Monitor()
    // An array, not a Dictionary: hashed collections pull libm's ceil into Embedded links; it stays small.
    private var repeats: [(message: String, entry: Repeat)] = []
    private var threshold: LogLevel
    private let output: any LogOutput
    private let clock: any Clock
    private let window: UInt64
    private let burst: Int
    /// Bounds memory when many distinct messages repeat.
    private let maxTracked = 128

    public init(level: LogLevel = .info, output: any LogOutput = StderrLogOutput(), clock: any Clock = SystemClock(),
                window: UInt64 = 10_000_000_000, burst: Int = 3) {
        threshold = level
        self.output = output
        self.clock = clock
        self.window = window
        self.burst = max(1, burst)
    }

    /// The most verbose level written.
    public var level: LogLevel {
        get { monitor.locked { threshold } }
        set { monitor.locked { threshold = newValue } }
    }

    public func error(_ message: String) { log(.error, message) }
    public func warning(_ message: String) { log(.warning, message) }
    public func notice(_ message: String) { log(.notice, message) }
    public func info(_ message: String) { log(.info, message) }
    public func debug(_ message: String) { log(.debug, message) }

    /// Writes `message` at `level`; errors and warnings are rate-limited per identical message.
    public func log(_ level: LogLevel, _ message: String) {
        var lines: [String] = []
        monitor.locked {
            guard level <= threshold else { return }
            if level > .warning {
                lines.append(Logger.format(level, message))
                return
            }
            let now = clock.monotonicNanoseconds()
            if let slot = repeats.firstIndex(where: { $0.message == message }) {
                var entry = repeats[slot].entry
                if now &- entry.windowStart >= window {
                    if entry.suppressed > 0 { lines.append(Logger.suppressedLine(entry, message)) }
                    entry = Repeat(windowStart: now, written: 0, suppressed: 0, level: level)
                }
                if entry.written < burst {
                    entry.written += 1
                    lines.append(Logger.format(level, message))
                } else {
                    entry.suppressed += 1
                }
                repeats[slot].entry = entry
            } else {
                if repeats.count >= maxTracked { lines += collectExpired(now: now, all: true) }
                repeats.append((message, Repeat(windowStart: now, written: 1, suppressed: 0, level: level)))
                lines.append(Logger.format(level, message))
            }
        }
        for line in lines { output.write(line: line) }
    }

    /// Reports the counts of messages whose window has closed (or of all, when `all` is true).
    public func flushSuppressed(all: Bool = false) {
        let lines = monitor.locked { collectExpired(now: clock.monotonicNanoseconds(), all: all) }
        for line in lines { output.write(line: line) }
    }

    private func collectExpired(now: UInt64, all: Bool) -> [String] {
        var lines: [String] = []
        var keep: [(message: String, entry: Repeat)] = []
        for item in repeats {
            if all || now &- item.entry.windowStart >= window {
                if item.entry.suppressed > 0 { lines.append(Logger.suppressedLine(item.entry, item.message)) }
            } else {
                keep.append(item)
            }
        }
        repeats = keep
        return lines
    }

    private static func suppressedLine(_ entry: Repeat, _ message: String) -> String {
        format(entry.level, "suppressed " + String(entry.suppressed) + " repeats of: " + message)
    }

    /// "<3>message": the sd-daemon prefix journald turns into the priority.
    public static func format(_ level: LogLevel, _ message: String) -> String {
        "<" + String(level.rawValue) + ">" + message
    }
}
