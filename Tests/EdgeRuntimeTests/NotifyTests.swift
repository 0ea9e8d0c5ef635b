import CEdgeShim
import XCTest

@testable import EdgeRuntime

/// A real AF_UNIX datagram socket standing in for systemd's notify socket.
final class NotifyListener {
    let fd: Int32
    let path: String

    init(abstract: Bool = false) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        let name = "edge-notify-" + String(getpid()) + "-" + String(UInt32.random(in: 0...UInt32.max))
        path = abstract ? "@" + name : NSTemporaryDirectory() + name
        let bytes = SystemdNotifier.address(for: path)!
        let status = bytes.withUnsafeBufferPointer { edge_unix_bind(fd, $0.baseAddress, $0.count) }
        guard status == 0 else { throw SystemError.current("bind") }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        close(fd)
        if !path.hasPrefix("@") { unlink(path) }
    }

    /// The next datagram, or nil after `timeoutMs`.
    func receive(timeoutMs: Int32 = 2000) -> String? {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, timeoutMs) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        guard n >= 0 else { return nil }
        return String(decoding: buffer[0..<n], as: UTF8.self)
    }
}

final class NotifyTests: XCTestCase {
    func testSendsToPathSocket() throws {
        let listener = try NotifyListener()
        let notifier = try SystemdNotifier(socketPath: listener.path)
        XCTAssertTrue(notifier.notify("READY=1\nSTATUS=ok"))
        XCTAssertEqual(listener.receive(), "READY=1\nSTATUS=ok")
    }

    func testSendsToAbstractSocketWithExactLength() throws {
        let listener = try NotifyListener(abstract: true)
        let notifier = try SystemdNotifier(socketPath: listener.path)
        XCTAssertTrue(notifier.notify("WATCHDOG=1"))
        XCTAssertEqual(listener.receive(), "WATCHDOG=1")
    }

    func testRejectsRelativeAndOverlongPaths() {
        XCTAssertThrowsError(try SystemdNotifier(socketPath: "relative/sock"))
        XCTAssertThrowsError(try SystemdNotifier(socketPath: "/" + String(repeating: "x", count: 200)))
    }

    func testAddressReplacesAtWithNul() {
        XCTAssertEqual(SystemdNotifier.address(for: "@ab"), [0, 97, 98])
        XCTAssertEqual(SystemdNotifier.address(for: "/ab"), [47, 97, 98])
    }

    func testWatchdogPeriodHonoursPid() {
        XCTAssertEqual(Watchdog.period(usec: "2000000", pid: nil, ourPid: 7), 2_000_000_000)
        XCTAssertEqual(Watchdog.period(usec: "2000000", pid: "7", ourPid: 7), 2_000_000_000)
        XCTAssertNil(Watchdog.period(usec: "2000000", pid: "8", ourPid: 7))
        XCTAssertNil(Watchdog.period(usec: "0", pid: nil, ourPid: 7))
        XCTAssertNil(Watchdog.period(usec: "soon", pid: nil, ourPid: 7))
        XCTAssertNil(Watchdog.period(usec: nil, pid: nil, ourPid: 7))
    }

    func testMemoryNotifierRecords() {
        let n = MemoryNotifier(clock: FakeClock())
        n.notify("READY=1")
        n.notify("WATCHDOG=1")
        XCTAssertEqual(n.messages, ["READY=1", "WATCHDOG=1"])
        XCTAssertEqual(n.times(of: "WATCHDOG=1").count, 1)
    }
}
