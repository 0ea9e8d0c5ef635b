import Foundation
import XCTest

@testable import Bus

final class SecurityTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("bus-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Publishes until `subscriber` gets a detection or `seconds` pass; returns how many it got.
    private func receivedCount(_ publisher: Publisher, _ subscriber: Subscriber, seconds: Double) throws -> Int {
        var count = 0
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            var message = DetectionMessage(camera: "cam0")
            try publisher.publish(&message)
            if try subscriber.receive(timeoutMilliseconds: 20) != nil {
                count += 1
                if count >= 3 { break }
            }
        }
        return count
    }

    func testCurveAllowListAdmitsOnlyListedKeys() throws {
        let server = try writeCurveKeyPair(publicPath: path("server.pub"), secretPath: path("server.key"))
        let listed = try CurveKeyPair.generate()
        let unlisted = try CurveKeyPair.generate()
        let allowList = "# subscribers allowed on this robot\n\n" + listed.publicKey.z85 + "   # mission computer\n"
        try allowList.write(toFile: path("allow"), atomically: true, encoding: .utf8)

        let security = try BusSecurity.curve(secretKeyPath: path("server.key"), allowListPath: path("allow"))
        let publisher = try Publisher(config: PublisherConfig(endpoints: ["tcp://127.0.0.1:*"], security: security,
                                                              bootID: "b"))
        let endpoint = publisher.boundEndpoints[0]
        let serverKey = try readCurveKey(path: path("server.pub"))
        XCTAssertEqual(serverKey, server.publicKey)

        let good = try Subscriber(config: SubscriberConfig(
            endpoint: endpoint, topics: ["det/"], curve: CurveClientKeys(serverKey: serverKey, keyPair: listed)))
        let stranger = try Subscriber(config: SubscriberConfig(
            endpoint: endpoint, topics: ["det/"], curve: CurveClientKeys(serverKey: serverKey, keyPair: unlisted)))
        let plaintext = try Subscriber(config: SubscriberConfig(endpoint: endpoint, topics: ["det/"]))

        XCTAssertGreaterThan(try receivedCount(publisher, good, seconds: 5), 0, "listed key must receive")
        // All three were connecting during that time; the others must still have nothing.
        XCTAssertEqual(try receivedCount(publisher, stranger, seconds: 1.5), 0, "unlisted key received")
        XCTAssertEqual(try receivedCount(publisher, plaintext, seconds: 1.0), 0, "plaintext subscriber received")
        XCTAssertGreaterThan(try receivedCount(publisher, good, seconds: 2), 0, "listed key keeps receiving")

        let closeStart = Date()
        publisher.close()
        XCTAssertLessThan(Date().timeIntervalSince(closeStart), 2.0)
    }

    func testKeyFilesAreWrittenPrivatelyAndNeverOverwritten() throws {
        let pair = try writeCurveKeyPair(publicPath: path("a.pub"), secretPath: path("a.key"))
        let secretMode = try FileManager.default.attributesOfItem(atPath: path("a.key"))[.posixPermissions] as? NSNumber
        let publicMode = try FileManager.default.attributesOfItem(atPath: path("a.pub"))[.posixPermissions] as? NSNumber
        XCTAssertEqual(secretMode?.intValue, 0o600)
        XCTAssertEqual(publicMode?.intValue, 0o644)
        XCTAssertEqual(try readCurveKey(path: path("a.key")), pair.secretKey)
        XCTAssertEqual(try CurveKeyPair.derive(secretKey: try readCurveKey(path: path("a.key"))), pair)
        XCTAssertThrowsError(try writeCurveKeyPair(publicPath: path("a.pub"), secretPath: path("a.key"))) { error in
            guard case .system(let system, let where_)? = error as? BusError else { return XCTFail("\(error)") }
            XCTAssertEqual(system.code, EEXIST)
            XCTAssertEqual(where_, self.path("a.key"))
        }
    }

    func testAllowListParsingReportsTheBadLine() throws {
        let key = try CurveKeyPair.generate().publicKey.z85
        try "# comment\n\(key)\n  \n#another\nnot-a-key\n".write(toFile: path("bad"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try readCurveKeys(path: path("bad"))) {
            XCTAssertEqual($0 as? BusError, .invalidKeyFile(path: self.path("bad"), line: 5))
        }
        try "\(key) trailing\n".write(toFile: path("trail"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try readCurveKeys(path: path("trail"))) {
            XCTAssertEqual($0 as? BusError, .invalidKeyFile(path: self.path("trail"), line: 1))
        }
        try "# none\n".write(toFile: path("empty"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try readCurveKeys(path: path("empty")), [])
        XCTAssertThrowsError(try readCurveKey(path: path("empty"))) {
            XCTAssertEqual($0 as? BusError, .invalidKeyFile(path: self.path("empty"), line: 0))
        }
        XCTAssertThrowsError(try readCurveKeys(path: path("missing"))) { error in
            guard case .system(let system, _)? = error as? BusError else { return XCTFail("\(error)") }
            XCTAssertEqual(system.code, ENOENT)
        }
    }
}
