import XCTest

@testable import EdgeRuntime

final class ConfigTests: XCTestCase {
    func testParsesSectionsCommentsAndQuotes() throws {
        let text = """
        # comment
        [pipeline]
        threads = 2   # inline comment
        name = "a # not a comment"
        ; another comment
        [gpio]
        lines = 17, "detect line", 22
        """
        let doc = try ConfigDocument.parse(text, file: "t.conf")
        XCTAssertEqual(doc.entry("pipeline", "threads")?.value, "2")
        XCTAssertEqual(doc.entry("pipeline", "threads")?.line, 3)
        XCTAssertEqual(doc.entry("pipeline", "name")?.value, "a # not a comment")
        XCTAssertEqual(try ConfigValue.list(doc.entry("gpio", "lines")!.value), ["17", "detect line", "22"])
    }

    func testSyntaxErrorsNameFileAndLine() {
        assertError("[a]\nx = 1\nnonsense\n", line: 3, key: "")
        assertError("x = 1\n", line: 1, key: "x")
        assertError("[a]\nx = 1\nx = 2\n", line: 3, key: "a.x")
        assertError("[a]\ns = \"open\n", line: 2, key: "a.s")
        assertError("[a b]\n", line: 1, key: "")
    }

    func testTypedValues() throws {
        XCTAssertEqual(try ConfigValue.integer("-12"), -12)
        XCTAssertEqual(try ConfigValue.integer("1_000"), 1000)
        XCTAssertThrowsError(try ConfigValue.integer("12x"))
        XCTAssertThrowsError(try ConfigValue.integer("99999999999999999999"))
        XCTAssertEqual(try ConfigValue.number("0.25"), 0.25)
        XCTAssertThrowsError(try ConfigValue.number("0.25.1"))
        XCTAssertThrowsError(try ConfigValue.number("nan"))
        XCTAssertEqual(try ConfigValue.boolean("yes"), true)
        XCTAssertThrowsError(try ConfigValue.boolean("maybe"))
        XCTAssertEqual(try ConfigValue.duration("500ms"), 500_000_000)
        XCTAssertEqual(try ConfigValue.duration("2s"), 2_000_000_000)
        XCTAssertEqual(try ConfigValue.duration("1.5s"), 1_500_000_000)
        XCTAssertEqual(try ConfigValue.duration("3min"), 180_000_000_000)
        XCTAssertEqual(try ConfigValue.duration("0"), 0)
        XCTAssertThrowsError(try ConfigValue.duration("500"))
        XCTAssertThrowsError(try ConfigValue.duration("5 parsecs"))
        XCTAssertThrowsError(try ConfigValue.duration("-1s"))
        XCTAssertEqual(try ConfigValue.size("512MiB"), 512 * 1024 * 1024)
        XCTAssertEqual(try ConfigValue.size("1.5GiB"), 1_610_612_736)
        XCTAssertEqual(try ConfigValue.size("2MB"), 2_000_000)
        XCTAssertEqual(try ConfigValue.size("4096"), 4096)
        XCTAssertThrowsError(try ConfigValue.size("12 bananas"))
        XCTAssertEqual(try ConfigValue.list(""), [])
        XCTAssertThrowsError(try ConfigValue.list("a,,b"))
    }

    func testReaderErrorsNameFileLineAndKey() throws {
        let doc = try ConfigDocument.parse("[pipeline]\nthreads = many\n", file: "/etc/x.conf")
        let reader = ConfigReader(doc)
        XCTAssertThrowsError(try reader.integer("pipeline", "threads", default: 1, range: 1...64)) { error in
            let e = error as! ConfigError
            XCTAssertEqual(e.file, "/etc/x.conf")
            XCTAssertEqual(e.line, 2)
            XCTAssertEqual(e.key, "pipeline.threads")
            XCTAssertEqual(e.description, "/etc/x.conf:2: key 'pipeline.threads': expected an integer, got 'many'")
        }
    }

    func testRangeAndChoiceErrors() throws {
        let doc = try ConfigDocument.parse("[p]\nn = 100\nmode = fast\n", file: "f")
        let reader = ConfigReader(doc)
        XCTAssertThrowsError(try reader.integer("p", "n", default: 1, range: 1...64)) { error in
            XCTAssertEqual((error as! ConfigError).message, "must be between 1 and 64, got 100")
        }
        XCTAssertThrowsError(try reader.choice("p", "mode", default: "a", allowed: ["a", "b"])) { error in
            XCTAssertEqual((error as! ConfigError).line, 3)
        }
    }

    func testUnknownKeyIsReportedByFinish() throws {
        let doc = try ConfigDocument.parse("[p]\nn = 1\ntypo = 2\n", file: "f.conf")
        let reader = ConfigReader(doc)
        XCTAssertEqual(try reader.integer("p", "n", default: 0, range: 0...9), 1)
        XCTAssertThrowsError(try reader.finish()) { error in
            let e = error as! ConfigError
            XCTAssertEqual(e.key, "p.typo")
            XCTAssertEqual(e.line, 3)
            XCTAssertEqual(e.message, "unknown key")
        }
    }

    func testEnvironmentOverrideIsNamedInErrors() throws {
        var doc = try ConfigDocument.parse("[p]\nn = 1\n", file: "f.conf")
        doc.override(section: "p", key: "n", value: "lots", variable: "EDGE_N")
        XCTAssertThrowsError(try ConfigReader(doc).integer("p", "n", default: 0, range: 0...9)) { error in
            XCTAssertEqual((error as! ConfigError).description, "environment EDGE_N: key 'p.n': expected an integer, got 'lots'")
        }
    }

    func testMissingFileIsAConfigError() {
        XCTAssertThrowsError(try ConfigDocument.load(path: "/nonexistent/edge.conf")) { error in
            let e = error as! ConfigError
            XCTAssertEqual(e.file, "/nonexistent/edge.conf")
            XCTAssertTrue(e.message.contains("No such file"), e.message)
        }
    }

    private func assertError(_ text: String, line: Int, key: String, file: StaticString = #filePath, sourceLine: UInt = #line) {
        XCTAssertThrowsError(try ConfigDocument.parse(text, file: "bad.conf"), file: file, line: sourceLine) { error in
            let e = error as! ConfigError
            XCTAssertEqual(e.file, "bad.conf", file: file, line: sourceLine)
            XCTAssertEqual(e.line, line, e.description, file: file, line: sourceLine)
            XCTAssertEqual(e.key, key, e.description, file: file, line: sourceLine)
        }
    }
}
