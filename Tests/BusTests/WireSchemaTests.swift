import XCTest

@testable import Bus

final class WireSchemaTests: XCTestCase {
    func testSchemaVersionIsTheDocumentedOne() {
        // docs/WIRE.md documents 1.0.
        XCTAssertEqual(WireSchema.major, 1)
        XCTAssertEqual(WireSchema.minor, 0)
    }
}
