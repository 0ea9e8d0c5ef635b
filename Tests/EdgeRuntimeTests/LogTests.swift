import XCTest

@testable import EdgeRuntime

final class LogTests: XCTestCase {
    func testPrefixesAndThreshold() {
        let out = MemoryLogOutput()
        let log = Logger(level: .info, output: out, clock: FakeClock())
        log.error("e")
        log.warning("w")
        log.notice("n")
        log.info("i")
        log.debug("d")
        XCTAssertEqual(out.all, ["<3>e", "<4>w", "<5>n", "<6>i"])
    }

    func testRepeatedErrorsAreRateLimitedWithSuppressedCount() {
        let out = MemoryLogOutput()
        let clock = FakeClock()
        let log = Logger(level: .info, output: out, clock: clock, window: 10_000_000_000, burst: 2)
        for _ in 0..<10 { log.error("camera gone") }
        log.error("other")
        XCTAssertEqual(out.all, ["<3>camera gone", "<3>camera gone", "<3>other"])
        clock.advance(nanoseconds: 10_000_000_000)
        log.error("camera gone")
        XCTAssertEqual(Array(out.all.suffix(2)), ["<3>suppressed 8 repeats of: camera gone", "<3>camera gone"])
    }

    func testFlushReportsSuppressedAfterWindow() {
        let out = MemoryLogOutput()
        let clock = FakeClock()
        let log = Logger(level: .info, output: out, clock: clock, window: 1_000, burst: 1)
        log.warning("x")
        log.warning("x")
        log.flushSuppressed()
        XCTAssertEqual(out.all, ["<4>x"])
        clock.advance(nanoseconds: 1_000)
        log.flushSuppressed()
        XCTAssertEqual(out.all, ["<4>x", "<4>suppressed 1 repeats of: x"])
    }

    func testInfoIsNotRateLimited() {
        let out = MemoryLogOutput()
        let log = Logger(level: .debug, output: out, clock: FakeClock(), burst: 1)
        for _ in 0..<5 { log.info("same") }
        XCTAssertEqual(out.all.count, 5)
    }

    func testLevelNames() {
        XCTAssertEqual(LogLevel(name: "warning"), .warning)
        XCTAssertNil(LogLevel(name: "loud"))
    }
}
