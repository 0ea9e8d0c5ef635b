import DaemonCore

/// DaemonCore's command line on the target.
func registerDaemonCoreTests(_ registry: inout TestRegistry) {
    registry.add("DaemonCore/version command parses") { t in
        do throws(UsageError) {
            let command = try parseCommandLine(["version"])
            t.expect(command == .version, "'version' did not parse as the version command")
        } catch {
            t.fail("'version' was rejected: " + error.message)
        }
    }

    registry.add("DaemonCore/unknown command is a usage error naming it") { t in
        do throws(UsageError) {
            _ = try parseCommandLine(["no-such-command"])
            t.fail("an unknown command was accepted")
        } catch {
            t.expect(contains(error.message, "no-such-command"), "the message does not name the command: " + error.message)
        }
        t.expectEqual(ExitCode.usage.rawValue, 64, "usage exit code:")
    }
}
