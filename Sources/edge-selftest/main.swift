import CEdgeShim
import EdgeRuntime

// edge-selftest: the Embedded-mode test runner (XCTest does not exist in Embedded Swift).
// Exit codes: 0 all passed, 1 a test failed, 64 usage error. A cortex-a76 build on a CPU without
// ARMv8.2 and the dot-product extension stops before main (exit 70, see CEdgeShim's shim.c).

let usage = """
usage: edge-selftest [--fixtures DIR] [--filter TEXT] [--list]

  --fixtures DIR   golden fixtures (default: Tests/Fixtures when it exists)
  --filter TEXT    run only tests whose names contain TEXT
  --list           print the test names and exit
"""

func selftestMain(_ arguments: [String]) -> Int32 {
    var fixturesDirectory: String? = access("Tests/Fixtures", R_OK | X_OK) == 0 ? "Tests/Fixtures" : nil
    var filter: String?
    var listOnly = false
    var index = 0
    while index < arguments.count {
        let argument = arguments[index]
        switch argument {
        case "--fixtures", "--filter":
            guard index + 1 < arguments.count else {
                printErrorLine("edge-selftest: " + argument + " needs a value\n" + usage)
                return 64
            }
            if argument == "--filter" {
                filter = arguments[index + 1]
            } else {
                let directory = arguments[index + 1]
                guard access(directory, R_OK | X_OK) == 0 else {
                    printErrorLine("edge-selftest: fixtures directory '" + directory + "' is not readable")
                    return 64
                }
                fixturesDirectory = directory
            }
            index += 2
        case "--list":
            listOnly = true
            index += 1
        case "--help", "-h":
            printLine(usage)
            return 0
        default:
            printErrorLine("edge-selftest: unknown argument '" + argument + "'\n" + usage)
            return 64
        }
    }

    var registry = TestRegistry()
    for register in allSuites() { register(&registry) }
    if listOnly {
        for test in registry.tests { printLine(test.name) }
        return 0
    }

    let cpu = CPUReport.current
    printLine("edge-selftest " + BuildInfo.version + " (" + BuildInfo.architecture + ", built for " + cpu.buildTarget
              + "; CPU dot-product: " + (cpu.hasDotProduct ? "yes" : "no") + ")")
    let totals = runTests(registry, filter: filter, fixturesDirectory: fixturesDirectory)
    if totals.passed + totals.failed + totals.skipped == 0 {
        printErrorLine("edge-selftest: no test matches the filter")
        return 1
    }
    printLine(String(totals.passed) + " passed, " + String(totals.failed) + " failed, "
              + String(totals.skipped) + " skipped")
    return totals.failed == 0 ? 0 : 1
}

exit(selftestMain(processArguments()))
