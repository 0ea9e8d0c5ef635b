import EdgeRuntime
import XCTest

@testable import DaemonCore

final class GpioTests: XCTestCase {
    private func settings(enable: Bool = false) -> GpioSettings {
        var s = GpioSettings()
        s.enabled = true
        s.detectLine = .offset(17)
        s.heartbeatLine = .name("HB")
        if enable { s.enableLine = .offset(22) }
        s.detectHold = 1_000
        return s
    }

    func testDetectHeldAndHeartbeatToggles() throws {
        let backend = MemoryGpioBackend()
        let gpio = try GpioController(settings: settings(), backend: backend, logger: Logger(output: MemoryLogOutput())) { _ in }
        let detect = try XCTUnwrap(backend.line(.offset(17)))
        let heartbeat = try XCTUnwrap(backend.line(.name("HB")))
        XCTAssertEqual(detect.history, [false])
        gpio.frameProcessed(detected: false, now: 100)
        XCTAssertFalse(detect.level)
        gpio.frameProcessed(detected: true, now: 200)
        XCTAssertTrue(detect.level)
        gpio.frameProcessed(detected: false, now: 700)
        XCTAssertTrue(detect.level, "held for 1000 ns after the last detection")
        gpio.tick(now: 1_199)
        XCTAssertTrue(detect.level)
        gpio.tick(now: 1_200)
        XCTAssertFalse(detect.level)
        XCTAssertEqual(detect.history, [false, true, false])
        XCTAssertEqual(heartbeat.history, [false, true, false, true])
        XCTAssertEqual(gpio.levels, [GpioLineLevel(name: "detect", active: false), GpioLineLevel(name: "heartbeat", active: true)])
        gpio.shutdown()
        XCTAssertFalse(detect.level)
        XCTAssertFalse(heartbeat.level)
        XCTAssertTrue(detect.isReleased && heartbeat.isReleased)
    }

    func testActiveLowDrivesInvertedLevelsAndSafeHighOnExit() throws {
        var s = settings()
        s.activeLow = true
        let backend = MemoryGpioBackend()
        let gpio = try GpioController(settings: s, backend: backend, logger: Logger(output: MemoryLogOutput())) { _ in }
        let detect = try XCTUnwrap(backend.line(.offset(17)))
        XCTAssertEqual(detect.history, [true])
        gpio.frameProcessed(detected: true, now: 1)
        XCTAssertFalse(detect.level)
        gpio.shutdown()
        XCTAssertTrue(detect.level)
    }

    func testEnableInputEdgesPauseAndResume() throws {
        let backend = MemoryGpioBackend()
        backend.presetInput(.offset(22), high: true)
        let changes = Shared<[Bool]>([])
        let gpio = try GpioController(settings: settings(enable: true), backend: backend,
                                      logger: Logger(output: MemoryLogOutput())) { enabled in changes.update { $0.append(enabled) } }
        defer { gpio.shutdown() }
        XCTAssertTrue(gpio.isEnabled)
        let input = try XCTUnwrap(backend.line(.offset(22)))
        input.drive(false)
        XCTAssertTrue(eventually { !gpio.isEnabled })
        input.drive(true)
        XCTAssertTrue(eventually { gpio.isEnabled })
        XCTAssertEqual(changes.load(), [true, false, true])
    }

    func testMissingChipFailsWithClearError() {
        var s = settings()
        s.chip = .name("gpiochip-does-not-exist")
        XCTAssertThrowsError(try GpioController(settings: s, backend: LibgpiodBackend(), logger: Logger(output: MemoryLogOutput())) { _ in }) { error in
            let message = (error as? GpioError)?.message ?? ""
            XCTAssertTrue(message.hasPrefix("cannot open GPIO chip 'gpiochip-does-not-exist'"), message)
        }
        s.chip = .label("no-such-label")
        XCTAssertThrowsError(try LibgpiodBackend().requestInput(chip: s.chip, line: .offset(0), consumer: "t")) { error in
            XCTAssertTrue(((error as? GpioError)?.message ?? "").contains("no-such-label"))
        }
    }
}
