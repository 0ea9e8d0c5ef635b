import XCTest

@testable import DaemonCore

final class CommandLineTests: XCTestCase {
    func testNoArgumentsMeansHelp() throws {
        XCTAssertEqual(try parseCommandLine([]), .help)
    }

    func testVersion() throws {
        XCTAssertEqual(try parseCommandLine(["version"]), .version)
    }

    func testUnknownCommandIsAUsageErrorNamingIt() {
        XCTAssertThrowsError(try parseCommandLine(["frobnicate"])) { error in
            XCTAssertEqual((error as? UsageError)?.message, "unknown command 'frobnicate' (try --help)")
        }
        XCTAssertEqual(runMain(["frobnicate"]), .usage)
    }
}
