import CEdgeShim
import EdgeRuntime

/// Why a frame source could not be set up (a config problem: exit code 64).
public struct SourceError: Error, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// Builds the frame source named by a configuration.
public protocol FrameSourceFactory: AnyObject {
    func makeSource(_ config: DaemonConfig, logger: Logger) throws(SourceError) -> any FrameSource
}

/// Decides when to send WATCHDOG=1: only while frames are finishing (or the pipeline is paused on
/// purpose), and no more often than a quarter period so pings land at most half a period apart.
public struct WatchdogPolicy {
    public let period: UInt64
    public var stallTimeout: UInt64
    public private(set) var lastPing: UInt64? = nil

    public init(period: UInt64, stallTimeout: UInt64) {
        self.period = period
        self.stallTimeout = stallTimeout
    }

    /// True when a ping is due at `now` given the time of the last progress; records the ping.
    public mutating func shouldPing(now: UInt64, lastProgress: UInt64?) -> Bool {
        guard let progress = lastProgress, now &- progress < stallTimeout else { return false }
        if let last = lastPing, now &- last < period / 4 { return false }
        lastPing = now
        return true
    }

    /// How often the main loop should wake to keep pings within half a period.
    public var tick: UInt64 { max(1_000_000, min(period / 4, 250_000_000)) }
}

/// Everything the daemon takes from outside, swappable for tests.
public final class DaemonContext {
    public var notifier: (any Notifier)?
    /// The systemd watchdog period (from `$WATCHDOG_USEC`), nil when not supervised.
    public var watchdogPeriod: UInt64?
    public var clock: any Clock
    public var logOutput: any LogOutput
    public var gpioBackend: any GpioBackend
    public var processorFactory: (any FrameProcessorFactory)?
    public var sinkFactory: (any DetectionSinkFactory)?
    public var sourceFactory: any FrameSourceFactory
    /// Lookup of environment variables (overrides on reload).
    public var environment: (String) -> String?
    /// Receives SIGTERM/SIGINT/SIGHUP; tests may inject signals into it.
    public let signals: SignalPipe
    /// Whether to install the real signal handlers (tests that only inject leave them alone).
    public var installSignalHandlers = true
    /// How long after SIGTERM the pipeline may take to hand its last result to the sink.
    public var stopGrace: UInt64 = 800_000_000

    public init(signals: SignalPipe, processorFactory: (any FrameProcessorFactory)?, sinkFactory: (any DetectionSinkFactory)?,
                sourceFactory: any FrameSourceFactory = StandardSourceFactory(), notifier: (any Notifier)? = nil,
                watchdogPeriod: UInt64? = nil, clock: any Clock = SystemClock(), logOutput: any LogOutput = StderrLogOutput(),
                gpioBackend: any GpioBackend = LibgpiodBackend(), environment: @escaping (String) -> String? = environmentValue) {
        self.signals = signals
        self.processorFactory = processorFactory
        self.sinkFactory = sinkFactory
        self.sourceFactory = sourceFactory
        self.notifier = notifier
        self.watchdogPeriod = watchdogPeriod
        self.clock = clock
        self.logOutput = logOutput
        self.gpioBackend = gpioBackend
        self.environment = environment
    }
}

/// The daemon's main loop: loads, starts the pipeline, tells systemd, and handles signals.
public final class Daemon {
    private var config: DaemonConfig
    private let configPath: String?
    private let context: DaemonContext
    public let logger: Logger

    public init(config: DaemonConfig, configPath: String?, context: DaemonContext) {
        self.config = config
        self.configPath = configPath
        self.context = context
        logger = Logger(level: config.log.level, output: context.logOutput, clock: context.clock,
                        window: config.log.rateLimitWindow, burst: config.log.rateLimitBurst)
    }

    /// Runs until SIGTERM/SIGINT, or until a non-looping source has been fully processed.
    public func run() -> ExitCode {
        // Handlers first, so a SIGTERM during a long model load is a clean stop, not a kill.
        if context.installSignalHandlers {
            do throws(SystemError) { try context.signals.install() } catch {
                logger.error("signals: " + error.description)
                return .runtime
            }
        }
        defer { if context.installSignalHandlers { context.signals.uninstall() } }
        guard let factory = context.processorFactory else {
            logger.error("this build has no inference engine linked in; cannot load " + config.model.path)
            return .model
        }
        let processor: any FrameProcessor
        do throws(ModelError) { processor = try factory.makeProcessor(config) } catch {
            logger.error("model: " + error.message)
            return .model
        }
        guard let sinkFactory = context.sinkFactory else {
            logger.error("this build has no detection publisher linked in")
            return .runtime
        }
        let source: any FrameSource
        do throws(SourceError) { source = try context.sourceFactory.makeSource(config, logger: logger) } catch {
            logger.error("source: " + error.message)
            return .usage
        }
        let sink: any DetectionSink
        do throws(SinkError) { sink = try sinkFactory.makeSink(config) } catch {
            logger.error("publisher: " + error.message)
            return .runtime
        }
        let pausedBox = Shared<Pipeline?>(nil)
        var gpio: GpioController? = nil
        if config.gpio.enabled {
            do throws(GpioError) {
                gpio = try GpioController(settings: config.gpio, backend: context.gpioBackend, logger: logger) { enabled in
                    pausedBox.load()?.setPaused(!enabled)
                }
            } catch {
                logger.error("gpio: " + error.message)
                sink.close()
                return .runtime
            }
        }
        let pipeline = Pipeline(source: source, processor: processor, sink: sink, gpio: gpio, logger: logger, clock: context.clock,
                                lossless: config.source == .replay && config.replay.lossless)
        pausedBox.store(pipeline)
        if let gpio, !gpio.isEnabled { pipeline.setPaused(true) }
        // A SIGTERM that arrived while loading: stop before starting anything.
        if context.signals.drain().contains(.terminate) {
            logger.notice("stopping on signal before start")
            context.notifier?.notify("STOPPING=1")
            gpio?.shutdown()
            sink.close()
            return .success
        }
        do throws(SystemError) { try pipeline.start() } catch {
            logger.error("cannot start the pipeline: " + error.description)
            gpio?.shutdown()
            sink.close()
            return .runtime
        }
        logger.notice("edge-daemon " + BuildInfo.version + " running: model " + config.model.path + ", source " + source.name)
        context.notifier?.notify("READY=1\nSTATUS=running, waiting for frames")
        let outcome = loop(pipeline: pipeline, gpio: gpio, sink: sink)
        return shutdown(pipeline: pipeline, gpio: gpio, sink: sink, reason: outcome)
    }

    private enum LoopEnd { case terminated, sourceEnded }

    private func loop(pipeline: Pipeline, gpio: GpioController?, sink: any DetectionSink) -> LoopEnd {
        var watchdog = context.watchdogPeriod.map { WatchdogPolicy(period: $0, stallTimeout: config.watchdog.stallTimeout) }
        let tick = watchdog?.tick ?? 250_000_000
        let clock = context.clock
        var lastStatus = clock.monotonicNanoseconds()
        var lastStatusProcessed: UInt64 = 0
        var lastHealth = lastStatus
        while true {
            for signal in context.signals.wait(timeoutMilliseconds: Int32(tick / 1_000_000)) {
                switch signal {
                case .terminate:
                    return .terminated
                case .reload:
                    // Loading blocks this loop: ping first (if healthy) so a load shorter than
                    // WatchdogSec never trips the watchdog.
                    if let policy = watchdog, let progress = pipeline.lastProgress,
                       clock.monotonicNanoseconds() &- progress < policy.stallTimeout {
                        context.notifier?.notify("WATCHDOG=1")
                    }
                    reload(pipeline: pipeline, watchdog: &watchdog)
                }
            }
            if pipeline.isFinished { return .sourceEnded }
            let now = clock.monotonicNanoseconds()
            gpio?.tick(now: now)
            pipeline.refreshPausedProgress()
            if watchdog?.shouldPing(now: now, lastProgress: pipeline.lastProgress) == true {
                context.notifier?.notify("WATCHDOG=1")
            }
            if now &- lastStatus >= config.watchdog.statusInterval {
                let stats = pipeline.stats
                let fps = Double(stats.processed &- lastStatusProcessed) * 1e9 / Double(max(1, now &- lastStatus))
                context.notifier?.notify("STATUS=" + statusLine(stats, fps: fps))
                lastStatus = now
                lastStatusProcessed = stats.processed
            }
            if now &- lastHealth >= config.publish.healthInterval {
                var stats = pipeline.stats
                stats.gpio = gpio?.levels ?? []
                sink.publishHealth(stats)
                lastHealth = now
            }
            logger.flushSuppressed()
        }
    }

    private func shutdown(pipeline: Pipeline, gpio: GpioController?, sink: any DetectionSink, reason: LoopEnd) -> ExitCode {
        let start = context.clock.monotonicNanoseconds()
        context.notifier?.notify("STOPPING=1")
        logger.notice(reason == .terminated ? "stopping on signal" : "stopping: the source has ended")
        pipeline.requestStop()
        let finished = pipeline.waitFinished(deadline: SystemClock().monotonicNanoseconds() + context.stopGrace)
        var stats = pipeline.stats
        stats.gpio = gpio?.levels ?? []
        sink.publishHealth(stats)
        sink.close()
        gpio?.shutdown()
        logger.flushSuppressed(all: true)
        if !finished {
            // A frame still being inferred is not "already inferred": a model slower than the grace period
            // (lite, or tiny under load) is a normal stop, so exit 0 and let the engine's thread die with us.
            logger.warning("a frame was still being inferred after the stop grace period; exiting without its result")
            return .success
        }
        let took = (context.clock.monotonicNanoseconds() &- start) / 1_000_000
        logger.notice("stopped in " + String(took) + " ms: " + statusLine(stats, fps: nil))
        return .success
    }

    private func reload(pipeline: Pipeline, watchdog: inout WatchdogPolicy?) {
        guard let path = configPath else {
            logger.warning("SIGHUP: started without a config file, nothing to reload")
            return
        }
        context.notifier?.notify("RELOADING=1")
        defer { context.notifier?.notify("READY=1") }
        let fresh: DaemonConfig
        do throws(ConfigError) { fresh = try DaemonConfig.load(path: path, environment: context.environment) } catch {
            logger.error("reload failed, keeping the running configuration: " + error.description)
            return
        }
        guard let factory = context.processorFactory else { return }
        let processor: any FrameProcessor
        do throws(ModelError) { processor = try factory.makeProcessor(fresh) } catch {
            logger.error("reload failed, keeping the running model and configuration: " + error.message)
            return
        }
        pipeline.replaceProcessor(processor)
        var applied = fresh
        if fresh.source != config.source || fresh.replay != config.replay || fresh.camera != config.camera
            || fresh.publish != config.publish || fresh.security != config.security || fresh.gpio != config.gpio {
            logger.warning("reload: changes to [source], [replay], [camera], [publish], [security] or [gpio] take effect after a restart")
            applied.source = config.source
            applied.replay = config.replay
            applied.camera = config.camera
            applied.publish = config.publish
            applied.security = config.security
            applied.gpio = config.gpio
        }
        logger.level = applied.log.level
        watchdog?.stallTimeout = applied.watchdog.stallTimeout
        config = applied
        logger.notice("reloaded configuration and model " + applied.model.path)
    }

    /// "processed 120, 4.9 fps, latency 85 ms, dropped 3, rejected 1".
    func statusLine(_ stats: PipelineStats, fps: Double?) -> String {
        var text = "processed " + String(stats.processed)
        if let fps { text += ", " + formatFixed(fps, decimals: 1) + " fps" }
        text += ", latency " + String(stats.meanLatencyNanoseconds / 1_000_000) + " ms"
        text += ", dropped " + String(stats.dropped) + ", rejected " + String(stats.rejected)
        if stats.processingErrors > 0 { text += ", errors " + String(stats.processingErrors) }
        return text
    }
}

/// Formats a non-negative number with a fixed number of decimals (Embedded Swift has no float printing).
public func formatFixed(_ value: Double, decimals: Int) -> String {
    guard value.isFinite else { return "nan" }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let negative = value < 0
    let scaled = UInt64((negative ? -value : value) * scale + 0.5)
    let unit = UInt64(scale)
    var text = (negative ? "-" : "") + String(scaled / unit)
    if decimals > 0 {
        var fraction = String(scaled % unit)
        while fraction.count < decimals { fraction = "0" + fraction }
        text += "." + fraction
    }
    return text
}
