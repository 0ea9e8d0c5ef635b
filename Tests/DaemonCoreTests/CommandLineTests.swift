import Foundation
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

    func testRunAndCheckConfigTakeAConfigFile() throws {
        XCTAssertEqual(try parseCommandLine(["run"]), .run(config: defaultConfigPath))
        XCTAssertEqual(try parseCommandLine(["run", "--config", "/x.conf"]), .run(config: "/x.conf"))
        XCTAssertEqual(try parseCommandLine(["check-config", "--config=/y.conf"]), .checkConfig(config: "/y.conf"))
        XCTAssertThrowsError(try parseCommandLine(["run", "--config"]))
        XCTAssertThrowsError(try parseCommandLine(["run", "--fast"])) { error in
            XCTAssertEqual((error as? UsageError)?.message, "unknown option '--fast' for run (try --help)")
        }
    }

    func testCheckConfigExitCodes() throws {
        let dir = makeTemporaryDirectory(self)
        writeFile(dir + "/a.ppm", ppm(width: 2, height: 2))
        writeFile(dir + "/model.dsam", "not checked here")
        let good = dir + "/good.conf"
        writeFile(good, configText(replayPath: dir, model: dir + "/model.dsam"))
        XCTAssertEqual(runMain(["check-config", "--config", good]), .success)
        let bad = dir + "/bad.conf"
        writeFile(bad, configText(replayPath: dir, model: dir + "/model.dsam", extra: "[model]\nthreads = -3"))
        XCTAssertEqual(runMain(["check-config", "--config", bad]), .usage)
        let noModel = dir + "/nomodel.conf"
        writeFile(noModel, configText(replayPath: dir, model: dir + "/absent.dsam"))
        XCTAssertEqual(runMain(["check-config", "--config", noModel]), .model)
        XCTAssertEqual(runMain(["check-config", "--config", dir + "/absent.conf"]), .usage)
    }

    func testRunWithoutEngineIsAModelError() throws {
        let dir = makeTemporaryDirectory(self)
        writeFile(dir + "/a.ppm", ppm(width: 2, height: 2))
        let path = dir + "/edge.conf"
        writeFile(path, configText(replayPath: dir))
        XCTAssertEqual(runMain(["run", "--config", path]), .model)
    }

    func testKeygenWritesAPairOnceAndRefusesToOverwrite() throws {
        let dir = makeTemporaryDirectory(self)
        XCTAssertEqual(try parseCommandLine(["keygen", "--secret", "/s", "--public", "/p"]), .keygen(secret: "/s", public: "/p"))
        XCTAssertThrowsError(try parseCommandLine(["keygen", "--secret", "/s"]))
        let args = ["keygen", "--secret", dir + "/server.key_secret", "--public", dir + "/server.key"]
        XCTAssertEqual(runMain(args), .success)
        let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/server.key_secret")
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        XCTAssertEqual(runMain(args), .runtime, "an existing key is never replaced")
    }
}
