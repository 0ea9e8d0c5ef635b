import CEdgeShim
import XCTest

@testable import EdgeRuntime

final class SignalsTests: XCTestCase {
    func testRealSignalsBecomeEvents() throws {
        let pipe = try SignalPipe()
        try pipe.install()
        defer { pipe.uninstall() }
        XCTAssertEqual(raise(SIGHUP), 0)
        XCTAssertEqual(raise(SIGTERM), 0)
        XCTAssertEqual(raise(SIGINT), 0)
        XCTAssertEqual(pipe.wait(timeoutMilliseconds: 1000), [.reload, .terminate, .terminate])
    }

    func testWaitTimesOutWithNothing() throws {
        let pipe = try SignalPipe()
        XCTAssertEqual(pipe.wait(timeoutMilliseconds: 1), [])
    }

    func testInject() throws {
        let pipe = try SignalPipe()
        pipe.inject(.reload)
        XCTAssertEqual(pipe.drain(), [.reload])
    }
}
