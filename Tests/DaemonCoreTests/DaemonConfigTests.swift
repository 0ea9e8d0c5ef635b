import EdgeRuntime
import XCTest

@testable import DaemonCore

final class DaemonConfigTests: XCTestCase {
    private func parse(_ text: String, file: String = "edge.conf") throws -> DaemonConfig {
        try DaemonConfig.parse(try ConfigDocument.parse(text, file: file))
    }

    private func assertConfigError(_ text: String, key: String, line: Int, contains: String = "",
                                   file: StaticString = #filePath, sourceLine: UInt = #line) {
        XCTAssertThrowsError(try parse(text), file: file, line: sourceLine) { error in
            guard let e = error as? ConfigError else { return XCTFail("not a ConfigError: \(error)", file: file, line: sourceLine) }
            XCTAssertEqual(e.file, "edge.conf", file: file, line: sourceLine)
            XCTAssertEqual(e.key, key, e.description, file: file, line: sourceLine)
            XCTAssertEqual(e.line, line, e.description, file: file, line: sourceLine)
            if !contains.isEmpty { XCTAssertTrue(e.description.contains(contains), e.description, file: file, line: sourceLine) }
        }
    }

    func testMinimalConfigHasDefaults() throws {
        let c = try parse(configText(replayPath: "/frames"))
        XCTAssertEqual(c.model.path, "/models/a.dsam")
        XCTAssertEqual(c.model.threads, 2)
        XCTAssertEqual(c.model.cpus, [], "no pinning unless asked")
        XCTAssertEqual(c.source, .replay)
        XCTAssertEqual(c.replay.rate, 0)
        XCTAssertFalse(c.gpio.enabled)
        XCTAssertEqual(c.log.level, .info)
    }

    func testEveryTypedKey() throws {
        let c = try parse("""
        [model]
        path = /m.dsam
        threads = 4
        cpus = 4-5, 7
        memory_limit = 256MiB
        min_instance_area = 64
        [source]
        kind = camera
        [camera]
        endpoint = tcp://10.0.0.2:5550
        topic = frame
        width = 640
        height = 480
        [publish]
        endpoints = tcp://*:5560, ipc:///run/x.sock
        camera = front
        health_interval = 500ms
        [security]
        curve = true
        secret_key_file = /etc/edge/server.secret
        allow = /etc/edge/a.pub, /etc/edge/b.pub
        [gpio]
        enabled = true
        chip = label:pinctrl-rp1
        detect_line = 17
        heartbeat_line = HEARTBEAT
        enable_line = 22
        detect_hold = 1.5s
        active_low = yes
        [log]
        level = debug
        [watchdog]
        stall_timeout = 3s
        """)
        XCTAssertEqual(c.model.threads, 4)
        XCTAssertEqual(c.model.cpus, [4, 5, 7])
        XCTAssertEqual(c.model.memoryLimit, 256 << 20)
        XCTAssertEqual(c.model.minInstanceArea, 64)
        XCTAssertEqual(engineFrameOptions(c).minInstanceArea, 64)
        XCTAssertEqual(c.source, .camera)
        XCTAssertEqual(c.camera.width, 640)
        XCTAssertEqual(c.publish.endpoints, ["tcp://*:5560", "ipc:///run/x.sock"])
        XCTAssertEqual(c.publish.healthInterval, 500_000_000)
        XCTAssertTrue(c.security.curve)
        XCTAssertEqual(c.security.allowedKeyFiles.count, 2)
        XCTAssertEqual(c.gpio.chip, .label("pinctrl-rp1"))
        XCTAssertEqual(c.gpio.detectLine, .offset(17))
        XCTAssertEqual(c.gpio.heartbeatLine, .name("HEARTBEAT"))
        XCTAssertEqual(c.gpio.detectHold, 1_500_000_000)
        XCTAssertTrue(c.gpio.activeLow)
        XCTAssertEqual(c.log.level, .debug)
        XCTAssertEqual(c.watchdog.stallTimeout, 3_000_000_000)
    }

    func testBadValuesNameFileLineAndKey() {
        assertConfigError("[model]\nthreads = lots\n", key: "model.threads", line: 2, contains: "expected an integer")
        assertConfigError("[model]\nthreads = 0\n", key: "model.threads", line: 2, contains: "between 1 and 64")
        assertConfigError("[model]\ncpus = 4-\n", key: "model.cpus", line: 2, contains: "ranges like 4-7")
        assertConfigError("[model]\ncpus = 7-4\n", key: "model.cpus", line: 2, contains: "ranges like 4-7")
        assertConfigError("[model]\ncpus = 1024\n", key: "model.cpus", line: 2, contains: "at most 1023")
        assertConfigError(configText(replayPath: "/f", extra: "[log]\nlevel = loud"), key: "log.level", line: 9)
        assertConfigError(configText(replayPath: "/f", extra: "[gpio]\ndetect_hold = 5 parsecs"), key: "gpio.detect_hold", line: 9)
        assertConfigError(configText(replayPath: "/f", extra: "[publish]\nendpoints = http://x"), key: "publish.endpoints", line: 9)
        assertConfigError(configText(replayPath: "/f", extra: "[model]\nmin_instance_area = -1"),
                          key: "model.min_instance_area", line: 9)
        assertConfigError(configText(replayPath: "/f", extra: "[model]\nmemory_limit = 1MiB"), key: "model.memory_limit", line: 9,
                          contains: "at least 16MiB")
        assertConfigError(configText(replayPath: "/f", extra: "[model]\npath = /again"), key: "model.path", line: 9,
                          contains: "set twice")
    }

    func testUnknownKeyAndSection() {
        assertConfigError(configText(replayPath: "/f", extra: "[replay]\nspeed = 3"), key: "replay.speed", line: 9, contains: "unknown key")
        assertConfigError(configText(replayPath: "/f", extra: "[pipeline]\nthreads = 2"), key: "pipeline.threads", line: 9,
                          contains: "unknown key")
        assertConfigError(configText(replayPath: "/f", extra: "[log]\nlevle = info"), key: "log.levle", line: 9, contains: "unknown key")
    }

    func testSecurityMustBeExplicit() {
        assertConfigError("[replay]\npath = /f\n", key: "security.curve", line: 0, contains: "plaintext = true")
        assertConfigError(configText(replayPath: "/f").replacingOccurrences(of: "plaintext = true", with: "curve = true"),
                          key: "security.secret_key_file", line: 0)
    }

    func testGpioEnabledNeedsALine() {
        assertConfigError(configText(replayPath: "/f", extra: "[gpio]\nenabled = true"), key: "gpio.enabled", line: 9)
    }

    func testEnvironmentOverrides() throws {
        let dir = makeTemporaryDirectory(self)
        let path = dir + "/edge.conf"
        writeFile(path, configText(replayPath: "/frames"))
        let env = ["EDGE_MODEL": "/other.dsam", "EDGE_THREADS": "3", "EDGE_CPUS": "2-3", "EDGE_LOG_LEVEL": "debug"]
        let c = try DaemonConfig.load(path: path) { env[$0] }
        XCTAssertEqual(c.model.path, "/other.dsam")
        XCTAssertEqual(c.model.threads, 3)
        XCTAssertEqual(c.model.cpus, [2, 3])
        XCTAssertEqual(c.log.level, .debug)
        XCTAssertThrowsError(try DaemonConfig.load(path: path) { $0 == "EDGE_THREADS" ? "x" : nil }) { error in
            XCTAssertEqual((error as? ConfigError)?.description,
                           "environment EDGE_THREADS: key 'model.threads': expected an integer, got 'x'")
        }
    }

    func testSampleConfigInSystemdDirectoryIsValid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let sample = root.appendingPathComponent("systemd/edge-daemon.conf").path
        try XCTSkipUnless(FileManager.default.fileExists(atPath: sample), "no sample config")
        let c = try DaemonConfig.load(path: sample) { _ in nil }
        XCTAssertEqual(c.source, .replay)
    }
}
