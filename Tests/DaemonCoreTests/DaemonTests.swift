import CEdgeShim
import EdgeRuntime
import Foundation
import XCTest

@testable import DaemonCore

/// A real AF_UNIX datagram socket standing in for systemd's notify socket; records what arrives and when.
final class FakeSystemd {
    let fd: Int32
    let path: String
    private let received = Shared<[(UInt64, String)]>([])
    private var thread: WorkerThread?
    private let stop = Shared(false)

    init() throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        path = NSTemporaryDirectory() + "edge-notify-" + UUID().uuidString.prefix(8)
        let bytes = Array(path.utf8).map { CChar(bitPattern: $0) }
        guard bytes.withUnsafeBufferPointer({ edge_unix_bind(fd, $0.baseAddress, $0.count) }) == 0 else {
            throw SystemError.current("bind")
        }
        thread = try WorkerThread(name: "fake-systemd") { [self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !stop.load() {
                var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&descriptor, 1, 20) > 0 else { continue }
                let n = recv(fd, &buffer, buffer.count, 0)
                if n > 0 {
                    let now = SystemClock().monotonicNanoseconds()
                    let text = String(decoding: buffer[0..<n], as: UTF8.self)
                    received.update { $0.append((now, text)) }
                }
            }
        }
    }

    func close() {
        stop.store(true)
        thread?.join()
        Glibc.close(fd)
        unlink(path)
    }

    var messages: [String] { received.load().map { $0.1 } }
    func times(_ prefix: String) -> [UInt64] { received.load().filter { $0.1.hasPrefix(prefix) }.map { $0.0 } }
}

/// Hands the daemon a prepared source.
final class FixedSourceFactory: FrameSourceFactory {
    let source: any FrameSource
    init(_ source: any FrameSource) { self.source = source }
    func makeSource(_ config: DaemonConfig, logger: Logger) throws(SourceError) -> any FrameSource { source }
}

/// Runs a daemon on its own thread.
final class DaemonRun {
    let daemon: Daemon
    private let result = Shared<ExitCode?>(nil)
    private let finishedAt = Shared<UInt64?>(nil)
    private var thread: WorkerThread?

    init(_ daemon: Daemon) throws {
        self.daemon = daemon
        thread = try WorkerThread(name: "daemon") { [self] in
            let code = daemon.run()
            finishedAt.store(SystemClock().monotonicNanoseconds())
            result.store(code)
        }
    }

    func wait(seconds: Double = 10) -> ExitCode? {
        _ = eventually(seconds) { result.load() != nil }
        if result.load() != nil { thread?.join() }
        return result.load()
    }

    var exitTime: UInt64? { finishedAt.load() }
}

final class DaemonTests: XCTestCase {
    private func config(_ extra: String = "", model: String = "/models/a.dsam") throws -> (DaemonConfig, String) {
        let dir = makeTemporaryDirectory(self)
        let path = dir + "/edge.conf"
        writeFile(path, configText(replayPath: dir, model: model, extra: extra))
        return (try DaemonConfig.load(path: path) { _ in nil }, path)
    }

    private func context(source: any FrameSource, factory: FakeProcessorFactory, sink: MemoryDetectionSink,
                         notifier: (any Notifier)?, watchdog: UInt64?, log: MemoryLogOutput, install: Bool = false) throws -> DaemonContext {
        let c = DaemonContext(signals: try SignalPipe(), processorFactory: factory, sinkFactory: sink,
                              sourceFactory: FixedSourceFactory(source), notifier: notifier, watchdogPeriod: watchdog,
                              logOutput: log, gpioBackend: MemoryGpioBackend(), environment: { _ in nil })
        c.installSignalHandlers = install
        return c
    }

    func testReadyWatchdogWhileProcessingStallStopsPingsAndSigtermStopsWithinOneSecond() throws {
        let systemd = try FakeSystemd()
        defer { systemd.close() }
        var steps: [FakeFrameSource.Step] = []
        for seq in 1...30 { steps.append(.frame(makeFrame(seq: UInt64(seq)))) }
        let source = FakeFrameSource(steps, interval: 50_000_000)
        let factory = FakeProcessorFactory()
        let sink = MemoryDetectionSink()
        let log = MemoryLogOutput()
        let (cfg, path) = try config("[watchdog]\nstall_timeout = 300ms")
        let period: UInt64 = 1_000_000_000
        let ctx = try context(source: source, factory: factory, sink: sink,
                              notifier: try SystemdNotifier(socketPath: systemd.path), watchdog: period, log: log, install: true)
        let run = try DaemonRun(Daemon(config: cfg, configPath: path, context: ctx))

        XCTAssertTrue(eventually { systemd.messages.first?.hasPrefix("READY=1") == true }, "\(systemd.messages)")
        XCTAssertEqual(systemd.times("WATCHDOG=1").count, 0, "no ping before a frame is processed")
        // Frames flow for 1.5 s, then the source stalls.
        XCTAssertTrue(eventually { sink.results.count == 30 })
        let lastFrame = SystemClock().monotonicNanoseconds()
        let flowingPings = systemd.times("WATCHDOG=1")
        XCTAssertGreaterThanOrEqual(flowingPings.count, 3, "pings while frames flow")
        for (a, b) in zip(flowingPings, flowingPings.dropFirst()) {
            XCTAssertLessThanOrEqual(b - a, period / 2, "pings at most half a period apart")
        }
        // Stalled: pings stop within stall_timeout plus one tick.
        usleep(1_200_000)
        let late = systemd.times("WATCHDOG=1").filter { $0 > lastFrame + 300_000_000 + period / 4 + 100_000_000 }
        XCTAssertEqual(late.count, 0, "pings continued after the source stalled")

        let before = SystemClock().monotonicNanoseconds()
        XCTAssertEqual(raise(SIGTERM), 0)
        XCTAssertEqual(run.wait(), .success)
        XCTAssertLessThan(try XCTUnwrap(run.exitTime) - before, 1_000_000_000, "exit within 1 s of SIGTERM")
        XCTAssertTrue(eventually { systemd.messages.contains("STOPPING=1") })
        XCTAssertTrue(sink.isClosed)
        XCTAssertEqual(sink.results.count, 30)
    }

    func testSigtermDuringInferencePublishesTheInferredFrame() throws {
        var steps: [FakeFrameSource.Step] = []
        for seq in 1...50 { steps.append(.frame(makeFrame(seq: UInt64(seq)))) }
        let source = FakeFrameSource(steps, interval: 10_000_000)
        let factory = FakeProcessorFactory(delay: 150_000_000)
        let sink = MemoryDetectionSink()
        let notifier = MemoryNotifier()
        let (cfg, path) = try config()
        let ctx = try context(source: source, factory: factory, sink: sink, notifier: notifier, watchdog: nil, log: MemoryLogOutput())
        let run = try DaemonRun(Daemon(config: cfg, configPath: path, context: ctx))
        XCTAssertTrue(eventually { sink.results.count >= 2 })
        usleep(50_000)
        let before = SystemClock().monotonicNanoseconds()
        ctx.signals.inject(.terminate)
        XCTAssertEqual(run.wait(), .success)
        XCTAssertLessThan(try XCTUnwrap(run.exitTime) - before, 1_000_000_000)
        let processor = try XCTUnwrap(factory.processors.first)
        XCTAssertEqual(sink.results.map { $0.frame.seq }, processor.processedSeqs, "every inferred frame reached the sink")
        XCTAssertEqual(notifier.messages.first, "READY=1\nSTATUS=running, waiting for frames")
        XCTAssertTrue(notifier.messages.contains("STOPPING=1"))
    }

    func testStuckInferenceStopsPings() throws {
        var steps: [FakeFrameSource.Step] = []
        for seq in 1...200 { steps.append(.frame(makeFrame(seq: UInt64(seq)))) }
        let source = FakeFrameSource(steps, interval: 10_000_000)
        let factory = FakeProcessorFactory()
        let sink = MemoryDetectionSink()
        let notifier = MemoryNotifier()
        let (cfg, path) = try config("[watchdog]\nstall_timeout = 200ms")
        let ctx = try context(source: source, factory: factory, sink: sink, notifier: notifier, watchdog: 400_000_000, log: MemoryLogOutput())
        ctx.stopGrace = 100_000_000
        let run = try DaemonRun(Daemon(config: cfg, configPath: path, context: ctx))
        XCTAssertTrue(eventually { notifier.times(of: "WATCHDOG=1").count >= 2 })
        let processor = try XCTUnwrap(factory.processors.first)
        processor.block()
        let blockedAt = SystemClock().monotonicNanoseconds()
        usleep(700_000)
        let late = notifier.times(of: "WATCHDOG=1").filter { $0 > blockedAt + 200_000_000 + 100_000_000 + 100_000_000 }
        XCTAssertEqual(late, [], "pings continued while inference was stuck")
        ctx.signals.inject(.terminate)
        let code = run.wait()
        processor.unblock()
        XCTAssertEqual(code, .success, "a frame still in inference at the end of the grace period is dropped, not a failure")
    }

    func testReloadSwapsModelAndKeepsOldOnFailure() throws {
        var steps: [FakeFrameSource.Step] = []
        for seq in 1...400 { steps.append(.frame(makeFrame(seq: UInt64(seq)))) }
        let source = FakeFrameSource(steps, interval: 5_000_000)
        let factory = FakeProcessorFactory()
        let sink = MemoryDetectionSink()
        let log = MemoryLogOutput()
        let notifier = MemoryNotifier()
        let (cfg, path) = try config()
        let ctx = try context(source: source, factory: factory, sink: sink, notifier: notifier, watchdog: nil, log: log)
        let run = try DaemonRun(Daemon(config: cfg, configPath: path, context: ctx))
        let replay = (path as NSString).deletingLastPathComponent
        XCTAssertTrue(eventually { sink.results.count >= 1 })

        writeFile(path, configText(replayPath: replay, model: "/models/b.dsam"))
        ctx.signals.inject(.reload)
        XCTAssertTrue(eventually { sink.results.last?.detections.fullMaskRLE == "/models/b.dsam" })
        XCTAssertTrue(log.all.contains("<5>reloaded configuration and model /models/b.dsam"), "\(log.all)")

        writeFile(path, configText(replayPath: replay, model: "/models/missing.dsam"))
        ctx.signals.inject(.reload)
        XCTAssertTrue(eventually { log.all.contains { $0.hasPrefix("<3>reload failed, keeping the running model") } }, "\(log.all)")

        writeFile(path, configText(replayPath: replay, model: "/models/c.dsam", extra: "[model]\nthreads = many"))
        ctx.signals.inject(.reload)
        XCTAssertTrue(eventually { log.all.contains { $0.hasPrefix("<3>reload failed") && $0.contains("'model.threads'") } }, "\(log.all)")
        let count = sink.results.count
        XCTAssertTrue(eventually { sink.results.count > count + 2 })
        XCTAssertEqual(sink.results.last?.detections.fullMaskRLE, "/models/b.dsam", "the old model keeps running")
        XCTAssertEqual(factory.processors.count, 2)
        XCTAssertTrue(notifier.messages.contains("RELOADING=1"))

        ctx.signals.inject(.terminate)
        XCTAssertEqual(run.wait(), .success)
    }

    func testModelFailureAndMissingEngineExitWithModelCode() throws {
        let (cfg, path) = try config(model: "/models/missing.dsam")
        let log = MemoryLogOutput()
        let ctx = try context(source: FakeFrameSource([]), factory: FakeProcessorFactory(), sink: MemoryDetectionSink(),
                              notifier: nil, watchdog: nil, log: log)
        XCTAssertEqual(Daemon(config: cfg, configPath: path, context: ctx).run(), .model)
        XCTAssertTrue(log.all.contains { $0.hasPrefix("<3>model: cannot load model /models/missing.dsam") }, "\(log.all)")

        ctx.processorFactory = nil
        XCTAssertEqual(Daemon(config: cfg, configPath: path, context: ctx).run(), .model)
    }

    func testSourceEndExitsCleanlyAfterPublishingEverything() throws {
        let source = FakeFrameSource([.frame(makeFrame(seq: 1)), .frame(makeFrame(seq: 2)), .end], interval: 1_000_000)
        let sink = MemoryDetectionSink()
        let notifier = MemoryNotifier()
        let (cfg, path) = try config()
        let ctx = try context(source: source, factory: FakeProcessorFactory(), sink: sink, notifier: notifier, watchdog: nil, log: MemoryLogOutput())
        XCTAssertEqual(Daemon(config: cfg, configPath: path, context: ctx).run(), .success)
        XCTAssertEqual(sink.results.last?.frame.seq, 2)
        XCTAssertEqual(notifier.messages.last, "STOPPING=1")
        XCTAssertGreaterThanOrEqual(sink.health.count, 1, "final health is published")
    }

    func testGpioFollowsDetectionsThroughTheDaemon() throws {
        let source = FakeFrameSource([.frame(makeFrame(seq: 1, first: 0)), .frame(makeFrame(seq: 2, first: 1)), .end], interval: 1_000_000)
        let sink = MemoryDetectionSink()
        let (cfg, path) = try config("[gpio]\nenabled = true\ndetect_line = 5\nheartbeat_line = 6\ndetect_hold = 10s")
        let backend = MemoryGpioBackend()
        let ctx = try context(source: source, factory: FakeProcessorFactory(), sink: sink, notifier: nil, watchdog: nil, log: MemoryLogOutput())
        ctx.gpioBackend = backend
        XCTAssertEqual(Daemon(config: cfg, configPath: path, context: ctx).run(), .success)
        let processed = sink.results.count
        // Initial level, one toggle per processed frame, then the safe level at exit.
        XCTAssertEqual(backend.line(.offset(6))?.history.count, 1 + processed + 1, "one heartbeat toggle per processed frame")
        XCTAssertEqual(backend.line(.offset(6))?.level, false)
        XCTAssertEqual(backend.line(.offset(5))?.history, [false, true, false], "asserted on detection, safe at exit")
    }

    func testSigtermDuringLoadStopsBeforeReady() throws {
        let sink = MemoryDetectionSink()
        let notifier = MemoryNotifier()
        let (cfg, path) = try config()
        let ctx = try context(source: FakeFrameSource([.frame(makeFrame(seq: 1))]), factory: FakeProcessorFactory(), sink: sink,
                              notifier: notifier, watchdog: nil, log: MemoryLogOutput())
        ctx.signals.inject(.terminate)
        XCTAssertEqual(Daemon(config: cfg, configPath: path, context: ctx).run(), .success)
        XCTAssertEqual(notifier.messages, ["STOPPING=1"])
        XCTAssertTrue(sink.isClosed)
        XCTAssertEqual(sink.results.count, 0)
    }

    func testWatchdogPolicy() {
        var policy = WatchdogPolicy(period: 1_000, stallTimeout: 500)
        XCTAssertFalse(policy.shouldPing(now: 100, lastProgress: nil))
        XCTAssertTrue(policy.shouldPing(now: 100, lastProgress: 90))
        XCTAssertFalse(policy.shouldPing(now: 200, lastProgress: 190), "not more often than a quarter period")
        XCTAssertTrue(policy.shouldPing(now: 350, lastProgress: 300))
        XCTAssertFalse(policy.shouldPing(now: 900, lastProgress: 300), "stalled")
        XCTAssertEqual(WatchdogPolicy(period: 8_000_000_000, stallTimeout: 1).tick, 250_000_000)
        XCTAssertEqual(WatchdogPolicy(period: 400_000_000, stallTimeout: 1).tick, 100_000_000)
    }

    func testStatusFormatting() {
        XCTAssertEqual(formatFixed(4.96, decimals: 1), "5.0")
        XCTAssertEqual(formatFixed(0.04, decimals: 2), "0.04")
        XCTAssertEqual(formatFixed(12, decimals: 0), "12")
    }
}

