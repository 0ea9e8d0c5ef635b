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

/// The sub-commands edge-daemon understands.
public enum Command: Equatable {
    case help
    case version
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
    case "--help", "-h", "help": return .help
    case "version", "--version": return .version
    default: throw UsageError("unknown command '" + first + "' (try --help)")
    }
}

/// The text `edge-daemon --help` prints.
public let helpText = """
usage: edge-daemon COMMAND [OPTIONS]

commands:
  version     print the version and build architecture
  --help      print this help

exit codes: 0 ok, 64 usage or config error, 65 model error, 70 runtime failure
"""

/// Runs edge-daemon with the given arguments and returns the process exit code.
public func runMain(_ arguments: [String]) -> ExitCode {
    let command: Command
    do {
        command = try parseCommandLine(arguments)
    } catch {
        printErrorLine("edge-daemon: " + error.message)
        return .usage
    }
    switch command {
    case .help:
        printLine(helpText)
    case .version:
        printLine("edge-daemon " + BuildInfo.version + " (" + BuildInfo.architecture + ")")
    }
    return .success
}
