import Bus
import CEdgeShim
import EdgeRuntime

/// Documented process exit codes of edge-daemon.
public enum ExitCode: Int32 {
    case success = 0
    /// Bad command line or configuration.
    case usage = 64
    /// The model file is missing, corrupt or does not fit the memory limit.
    case model = 65
    /// A failure while running.
    case runtime = 70
}

/// The config file used when `--config` is not given.
public let defaultConfigPath = "/etc/edge-daemon/edge-daemon.conf"

/// The sub-commands edge-daemon understands.
public enum Command: Equatable {
    case help
    case version
    /// Run the daemon with this config file.
    case run(config: String)
    /// Validate the config file and exit.
    case checkConfig(config: String)
    /// Write a new CURVE key pair.
    case keygen(secret: String, public: String)
    /// Print the model's memory plan (`plan`), benchmark it (`bench`), or run it on images (hidden `infer`).
    case plan(EngineCommandOptions)
    case bench(EngineCommandOptions)
    case infer(EngineCommandOptions)
}

/// Why a command line was rejected.
public struct UsageError: Error, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// Parses the arguments after the program name.
public func parseCommandLine(_ arguments: [String]) throws(UsageError) -> Command {
    guard let first = arguments.first else { return .help }
    switch first {
    case "--help", "-h", "help":
        return .help
    case "version", "--version":
        if arguments.count > 1 { throw UsageError("'version' takes no arguments") }
        return .version
    case "keygen":
        return try parseKeygen(Array(arguments.dropFirst()))
    case "plan":
        return .plan(try parseEngineCommand(Array(arguments.dropFirst()), command: first, allowed: ["--threads"], takesImages: false))
    case "bench":
        return .bench(try parseEngineCommand(Array(arguments.dropFirst()), command: first,
                                             allowed: ["--threads", "--runs", "--width", "--height"], takesImages: false))
    case "infer":
        return .infer(try parseEngineCommand(Array(arguments.dropFirst()), command: first, allowed: ["--threads", "--min-area"],
                                                      takesImages: true))
    case "run", "check-config":
        let config = try parseConfigOption(Array(arguments.dropFirst()), command: first)
        return first == "run" ? .run(config: config) : .checkConfig(config: config)
    default:
        throw UsageError("unknown command '" + first + "' (try --help)")
    }
}

private func parseKeygen(_ options: [String]) throws(UsageError) -> Command {
    var secret: String? = nil
    var publicKey: String? = nil
    var index = 0
    while index < options.count {
        let option = options[index]
        guard option == "--secret" || option == "--public" else {
            throw UsageError("unknown option '" + option + "' for keygen (try --help)")
        }
        guard index + 1 < options.count, !options[index + 1].isEmpty else { throw UsageError(option + " needs a file name") }
        if option == "--secret" { secret = options[index + 1] } else { publicKey = options[index + 1] }
        index += 2
    }
    guard let secret, let publicKey else { throw UsageError("keygen needs --secret FILE and --public FILE") }
    return .keygen(secret: secret, public: publicKey)
}

private func parseConfigOption(_ options: [String], command: String) throws(UsageError) -> String {
    var config = defaultConfigPath
    var index = 0
    while index < options.count {
        let option = options[index]
        if option == "--config" || option == "-c" {
            guard index + 1 < options.count, !options[index + 1].isEmpty else {
                throw UsageError(option + " needs a file name")
            }
            config = options[index + 1]
            index += 2
        } else if option.hasPrefix("--config=") {
            config = String(option.dropFirst(9))
            if config.isEmpty { throw UsageError("--config= needs a file name") }
            index += 1
        } else {
            throw UsageError("unknown option '" + option + "' for " + command + " (try --help)")
        }
    }
    return config
}

/// The text `edge-daemon --help` prints.
public let helpText = """
usage: edge-daemon COMMAND [OPTIONS]

commands:
  run [--config FILE]           run the daemon (default config: \(defaultConfigPath))
  check-config [--config FILE]  validate the config file and the files it names, then exit
  keygen --secret FILE --public FILE
                                write a new CURVE key pair (secret 0600, public 0644; never overwrites)
  plan MODEL [--threads N]      print the model's memory plan: arena, weights, peak live set, largest tensors
  bench MODEL [--threads N] [--runs N] [--width W] [--height H]
                                time the engine on a synthetic frame: first run, median/min/max, peak RSS, arena
  version                       print the version and build architecture
  --help                        print this help

environment: EDGE_MODEL, EDGE_THREADS, EDGE_CPUS, EDGE_LOG_LEVEL, EDGE_PUBLISH, EDGE_REPLAY override
  model.path, model.threads, model.cpus, log.level, publish.endpoints, replay.path
exit codes: 0 ok, 64 usage or config error, 65 model error, 70 runtime failure
signals: SIGTERM/SIGINT stop cleanly, SIGHUP reloads the config and model
"""

/// What `run` needs from the engine and the bus; nil parts make `run` fail with a clear message.
public struct DaemonComponents {
    public var processorFactory: (any FrameProcessorFactory)?
    public var sinkFactory: (any DetectionSinkFactory)?

    public init(processorFactory: (any FrameProcessorFactory)?, sinkFactory: (any DetectionSinkFactory)?) {
        self.processorFactory = processorFactory
        self.sinkFactory = sinkFactory
    }
}

/// Runs edge-daemon with the given arguments and returns the process exit code.
public func runMain(_ arguments: [String], components: DaemonComponents = DaemonComponents(processorFactory: nil, sinkFactory: nil)) -> ExitCode {
    let command: Command
    do throws(UsageError) {
        command = try parseCommandLine(arguments)
    } catch {
        printErrorLine("edge-daemon: " + error.message)
        return .usage
    }
    switch command {
    case .help:
        printLine(helpText)
        return .success
    case .version:
        printLine("edge-daemon " + BuildInfo.version + " (" + BuildInfo.architecture + ")")
        return .success
    case .checkConfig(let path):
        return checkConfig(path: path)
    case .run(let path):
        return run(path: path, components: components)
    case .plan(let options):
        return runPlanCommand(options)
    case .bench(let options):
        return runBenchCommand(options)
    case .infer(let options):
        return runInferCommand(options)
    case .keygen(let secret, let publicPath):
        do throws(BusError) {
            let pair = try writeCurveKeyPair(publicPath: publicPath, secretPath: secret)
            printLine("public key " + pair.publicKey.z85 + " written to " + publicPath + "; secret key to " + secret)
            return .success
        } catch {
            printErrorLine(Logger.format(.error, "keygen: " + error.description))
            return .runtime
        }
    }
}

private func loadConfig(_ path: String) -> DaemonConfig? {
    do throws(ConfigError) {
        return try DaemonConfig.load(path: path)
    } catch {
        printErrorLine(Logger.format(.error, "config: " + error.description))
        return nil
    }
}

private func checkConfig(path: String) -> ExitCode {
    guard let config = loadConfig(path) else { return .usage }
    if access(config.model.path, R_OK) != 0 {
        printErrorLine(Logger.format(.error, "model: " + config.model.path + ": " + SystemError.current("access").description))
        return .model
    }
    if config.source == .replay {
        do throws(SourceError) { _ = try ReplaySource(settings: config.replay) } catch {
            printErrorLine(Logger.format(.error, "source: " + error.message))
            return .usage
        }
    }
    let keyFiles = config.security.curve ? [config.security.secretKeyFile] + config.security.allowedKeyFiles : []
    for file in keyFiles where access(file, R_OK) != 0 {
        printErrorLine(Logger.format(.error, "security: " + file + ": " + SystemError.current("access").description))
        return .usage
    }
    printLine("edge-daemon: " + path + " is valid")
    return .success
}

private func run(path: String, components: DaemonComponents) -> ExitCode {
    guard let config = loadConfig(path) else { return .usage }
    let notifier: SystemdNotifier?
    do throws(NotifyError) { notifier = try SystemdNotifier.fromEnvironment() } catch {
        printErrorLine(Logger.format(.error, "sd_notify: " + error.message))
        return .runtime
    }
    let signals: SignalPipe
    do throws(SystemError) { signals = try SignalPipe() } catch {
        printErrorLine(Logger.format(.error, "signals: " + error.description))
        return .runtime
    }
    let context = DaemonContext(signals: signals, processorFactory: components.processorFactory,
                                sinkFactory: components.sinkFactory, notifier: notifier,
                                watchdogPeriod: Watchdog.periodFromEnvironment())
    return Daemon(config: config, configPath: path, context: context).run()
}
