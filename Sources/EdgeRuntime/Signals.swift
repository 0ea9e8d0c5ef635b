import CEdgeShim

/// A signal the daemon reacts to.
public enum DaemonSignal: Equatable, Sendable {
    /// SIGTERM or SIGINT: stop cleanly.
    case terminate
    /// SIGHUP: reload the configuration and model.
    case reload
}

/// Turns SIGTERM, SIGINT and SIGHUP into bytes on a pipe (the self-pipe trick): the handler only
/// writes one byte; the main loop polls the read end and does the work outside signal context.
public final class SignalPipe {
    /// The read end, for poll(2) alongside other descriptors.
    public let readFD: Int32
    private let writeFD: Int32
    private static let handled: [Int32] = [SIGTERM, SIGINT, SIGHUP]
    private var installed = false

    public init() throws(SystemError) {
        var fds: [Int32] = [0, 0]
        if pipe(&fds) != 0 { throw SystemError.current("pipe") }
        readFD = fds[0]
        writeFD = fds[1]
        for fd in fds {
            _ = edge_fcntl_int(fd, F_SETFL, edge_fcntl_int(fd, F_GETFL, 0) | O_NONBLOCK)
            _ = edge_fcntl_int(fd, F_SETFD, FD_CLOEXEC)
        }
    }

    deinit {
        uninstall()
        close(readFD)
        close(writeFD)
    }

    /// Routes the signals to this pipe (only one SignalPipe should be installed at a time).
    public func install() throws(SystemError) {
        for signo in SignalPipe.handled where edge_signal_forward(signo, writeFD) != 0 {
            throw SystemError.current("sigaction")
        }
        installed = true
    }

    /// Restores the default dispositions.
    public func uninstall() {
        guard installed else { return }
        for signo in SignalPipe.handled { _ = edge_signal_default(signo) }
        installed = false
    }

    /// Injects a signal as if it had been delivered (tests; also a way to stop from another thread).
    public func inject(_ signal: DaemonSignal) {
        var byte = UInt8(truncatingIfNeeded: signal == .terminate ? SIGTERM : SIGHUP)
        _ = write(writeFD, &byte, 1)
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) and returns the signals that arrived, oldest first.
    public func wait(timeoutMilliseconds: Int32) -> [DaemonSignal] {
        var descriptor = pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, timeoutMilliseconds)
        guard ready > 0 else { return [] }
        return drain()
    }

    /// Reads every pending signal without waiting.
    public func drain() -> [DaemonSignal] {
        var signals: [DaemonSignal] = []
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(readFD, $0.baseAddress, $0.count) }
            if n <= 0 {
                if n < 0 && edge_errno() == EINTR { continue }
                break
            }
            for byte in buffer[0..<n] {
                switch Int32(byte) {
                case SIGTERM, SIGINT: signals.append(.terminate)
                case SIGHUP: signals.append(.reload)
                default: break
                }
            }
        }
        return signals
    }
}
