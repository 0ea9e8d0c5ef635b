import XCTest

@testable import EdgeRuntime

final class ClockTests: XCTestCase {
    func testFakeClockMovesOnlyWhenAdvanced() {
        let clock = FakeClock(monotonic: 5, realtime: 10)
        XCTAssertEqual(clock.monotonicNanoseconds(), 5)
        clock.advance(nanoseconds: 7)
        XCTAssertEqual(clock.monotonicNanoseconds(), 12)
        XCTAssertEqual(clock.realtimeNanoseconds(), 17)
    }

    func testSystemMonotonicDoesNotGoBack() {
        let clock = SystemClock()
        let a = clock.monotonicNanoseconds()
        sleepNanoseconds(1_000_000)
        XCTAssertGreaterThanOrEqual(clock.monotonicNanoseconds(), a + 1_000_000)
        XCTAssertGreaterThan(clock.realtimeNanoseconds(), 1_600_000_000_000_000_000)
    }

    func testMonitorTimedWaitTimesOut() {
        let monitor = Monitor()
        let deadline = SystemClock().monotonicNanoseconds() + 2_000_000
        let signalled = monitor.locked { monitor.wait(untilMonotonic: deadline) }
        XCTAssertFalse(signalled)
    }

    func testWorkerThreadRunsAndJoins() throws {
        let value = Shared(0)
        let thread = try WorkerThread(name: "t") { value.store(42) }
        thread.join()
        XCTAssertEqual(value.load(), 42)
    }
}
