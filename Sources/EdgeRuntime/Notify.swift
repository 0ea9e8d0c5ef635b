import CEdgeShim

/// Tells the service manager about our state (sd_notify protocol): "READY=1", "WATCHDOG=1", ...
public protocol Notifier: AnyObject {
    /// Sends one state string (several assignments may be joined with "\n"). Returns false if it failed.
    @discardableResult
    func notify(_ state: String) -> Bool
}

/// Why `$NOTIFY_SOCKET` could not be used.
public struct NotifyError: Error, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// The sd_notify protocol without libsystemd: one AF_UNIX datagram per message to `$NOTIFY_SOCKET`.
public final class SystemdNotifier: Notifier {
    private let fd: Int32
    private let address: [CChar]

    /// Opens a datagram socket for `socketPath`; a leading "@" names the abstract namespace.
    public init(socketPath: String) throws(NotifyError) {
        guard let address = SystemdNotifier.address(for: socketPath) else {
            throw NotifyError("NOTIFY_SOCKET '" + socketPath + "' is not an absolute path or @abstract name of at most 107 bytes")
        }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw NotifyError("socket: " + SystemError.current("socket").description) }
        self.fd = fd
        self.address = address
    }

    /// A notifier from the environment, or nil when `$NOTIFY_SOCKET` is unset (not started by systemd).
    public static func fromEnvironment() throws(NotifyError) -> SystemdNotifier? {
        guard let value = environmentValue("NOTIFY_SOCKET"), !value.isEmpty else { return nil }
        return try SystemdNotifier(socketPath: value)
    }

    deinit { close(fd) }

    /// The bytes of the socket address: the path without a terminating NUL, with "@" replaced by NUL.
    static func address(for path: String) -> [CChar]? {
        var bytes = Array(path.utf8).map { CChar(bitPattern: $0) }
        guard let first = bytes.first, first == 47 || first == 64 else { return nil }
        guard bytes.count >= 2, bytes.count < Int(edge_sun_path_size()) else { return nil }
        if first == 64 { bytes[0] = 0 }
        return bytes
    }

    @discardableResult
    public func notify(_ state: String) -> Bool {
        var message = state
        return message.withUTF8 { buffer in
            address.withUnsafeBufferPointer { addr in
                while true {
                    let sent = edge_unix_sendto(fd, addr.baseAddress, addr.count, buffer.baseAddress, buffer.count)
                    if sent >= 0 { return true }
                    if edge_errno() != EINTR { return false }
                }
            }
        }
    }
}

/// Records notifications in memory for tests.
public final class MemoryNotifier: Notifier {
    private let clock: any Clock
    private let log = Shared<[(UInt64, String)]>([])

    public init(clock: any Clock = SystemClock()) { self.clock = clock }

    @discardableResult
    public func notify(_ state: String) -> Bool {
        let now = clock.monotonicNanoseconds()
        log.update { $0.append((now, state)) }
        return true
    }

    /// Every message sent, in order.
    public var messages: [String] { log.load().map { $0.1 } }
    /// Monotonic times at which messages equal to `state` were sent.
    public func times(of state: String) -> [UInt64] { log.load().filter { $0.1 == state }.map { $0.0 } }
}

/// The systemd watchdog settings from `$WATCHDOG_USEC` and `$WATCHDOG_PID`.
public enum Watchdog {
    /// The watchdog period in nanoseconds if this process must ping, or nil.
    ///
    /// `WATCHDOG_PID`, when set, must equal our pid (the variables may be inherited by a child that
    /// systemd does not supervise); an unset, empty, zero or malformed `WATCHDOG_USEC` means no watchdog.
    public static func period(usec: String?, pid: String?, ourPid: Int32) -> UInt64? {
        guard let usec, let micros = UInt64(usec), micros > 0, micros < UInt64.max / 1000 else { return nil }
        if let pid, !pid.isEmpty {
            guard let owner = Int32(pid), owner == ourPid else { return nil }
        }
        return micros * 1000
    }

    /// The watchdog period of this process from its environment.
    public static func periodFromEnvironment() -> UInt64? {
        period(usec: environmentValue("WATCHDOG_USEC"), pid: environmentValue("WATCHDOG_PID"), ourPid: getpid())
    }
}

/// The value of an environment variable, or nil.
public func environmentValue(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    return String(cString: value)
}
