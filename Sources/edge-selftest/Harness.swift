import CEdgeShim
import EdgeRuntime

/// One test's view of the run: records failures, skips, and where the fixtures are.
public struct TestContext {
    /// Directory of golden fixtures (Tests/Fixtures by default), nil when none was found.
    public let fixturesDirectory: String?
    /// Failure messages recorded so far; the test fails when this is not empty.
    public private(set) var failures: [String] = []
    /// Why the test was skipped, if it was; a skipped test counts neither as passed nor as failed.
    public private(set) var skipReason: String?

    init(fixturesDirectory: String?) {
        self.fixturesDirectory = fixturesDirectory
    }

    /// Records a failure unless `condition` holds.
    public mutating func expect(_ condition: Bool, _ message: @autoclosure () -> String,
                                file: StaticString = #fileID, line: UInt = #line) {
        if !condition { fail(message(), file: file, line: line) }
    }

    /// Records a failure unless two integers are equal.
    public mutating func expectEqual<T: BinaryInteger>(_ actual: T, _ expected: T, _ what: String = "",
                                                       file: StaticString = #fileID, line: UInt = #line) {
        if actual != expected {
            fail(what + " got " + String(actual) + ", expected " + String(expected), file: file, line: line)
        }
    }

    /// Records a failure unless two strings are equal.
    public mutating func expectEqual(_ actual: String, _ expected: String, _ what: String = "",
                                     file: StaticString = #fileID, line: UInt = #line) {
        if actual != expected {
            fail(what + " got \"" + actual + "\", expected \"" + expected + "\"", file: file, line: line)
        }
    }

    /// Records a failure with a message and the caller's location.
    public mutating func fail(_ message: String, file: StaticString = #fileID, line: UInt = #line) {
        failures.append(message + " (" + staticText(file) + ":" + String(line) + ")")
    }

    /// Marks the test as skipped; the test body should return right after.
    public mutating func skip(_ reason: String) {
        skipReason = reason
    }

    /// The path of a fixture file, or nil after marking the test skipped when the fixture is absent.
    public mutating func fixture(_ relativePath: String) -> String? {
        guard let directory = fixturesDirectory else {
            skip("no fixtures directory (pass --fixtures DIR)")
            return nil
        }
        let path = directory + "/" + relativePath
        if access(path, R_OK) != 0 {
            skip("fixture " + path + " is absent")
            return nil
        }
        return path
    }
}

/// A named test: a function that takes the context and records what it finds.
public struct TestCase {
    public let name: String
    public let body: (inout TestContext) -> Void
}

/// The tests of one run, in registration order.
public struct TestRegistry {
    public private(set) var tests: [TestCase] = []

    /// Adds a test; names are "Suite/what it checks" so `--filter` can pick a suite.
    public mutating func add(_ name: String, _ body: @escaping (inout TestContext) -> Void) {
        tests.append(TestCase(name: name, body: body))
    }
}

/// Totals of a run.
public struct TestTotals {
    public var passed = 0
    public var failed = 0
    public var skipped = 0
}

/// Runs the tests whose names contain `filter` (all when nil), printing one line per test.
public func runTests(_ registry: TestRegistry, filter: String?, fixturesDirectory: String?) -> TestTotals {
    var totals = TestTotals()
    for test in registry.tests {
        if let filter, !contains(test.name, filter) { continue }
        var context = TestContext(fixturesDirectory: fixturesDirectory)
        test.body(&context)
        if !context.failures.isEmpty {
            totals.failed += 1
            printLine("FAIL " + test.name)
            for failure in context.failures { printLine("     " + failure) }
        } else if let reason = context.skipReason {
            totals.skipped += 1
            printLine("SKIP " + test.name + ": " + reason)
        } else {
            totals.passed += 1
            printLine("ok   " + test.name)
        }
    }
    return totals
}

/// True when `needle` occurs in `haystack` (byte-wise; Embedded Swift has no Foundation `contains`).
func contains(_ haystack: String, _ needle: String) -> Bool {
    let h = Array(haystack.utf8), n = Array(needle.utf8)
    if n.isEmpty { return true }
    if n.count > h.count { return false }
    var start = 0
    while start + n.count <= h.count {
        if h[start..<(start + n.count)].elementsEqual(n) { return true }
        start += 1
    }
    return false
}

/// The text of a StaticString (Embedded Swift cannot interpolate it).
func staticText(_ text: StaticString) -> String {
    String(decoding: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount), as: UTF8.self)
}
