import XCTest

@testable import LiteModel

final class ModelFormatTests: XCTestCase {
    func testFormatMajorMatchesTheDocumentedVersion() {
        // docs/MODEL_FORMAT.md documents major version 1; the converter writes it.
        XCTAssertEqual(ModelFormat.major, 1)
    }
}
