import XCTest

@testable import LiteModel

final class SafeTensorsJSONTests: XCTestCase {
    private func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(text) }

    func testValues() throws {
        let value = try parse(" {\"a\": [1, -2, 3.5e2, true, false, null], \"b\": {\"c\": \"d\"}, \"e\": 0}   ")
        XCTAssertEqual(value["a"]?.arrayValue?.count, 6)
        XCTAssertEqual(value["a"]?.arrayValue?[1].intValue, -2)
        XCTAssertNil(value["a"]?.arrayValue?[2].intValue)
        XCTAssertEqual(value["a"]?.arrayValue?[2].doubleValue, 350)
        XCTAssertEqual(value["a"]?.arrayValue?[3], .bool(true))
        XCTAssertEqual(value["a"]?.arrayValue?[5], .null)
        XCTAssertEqual(value["b"]?["c"]?.stringValue, "d")
        XCTAssertEqual(value["e"]?.intValue, 0)
        XCTAssertNil(value["missing"])
        XCTAssertEqual(try parse("[]"), .array([]))
        XCTAssertEqual(try parse("{}"), .object([]))
    }

    func testNumbers() throws {
        XCTAssertEqual(try parse("9223372036854775807").intValue, Int.max)
        XCTAssertEqual(try parse("-9223372036854775808").intValue, Int.min)
        XCTAssertNil(try parse("9223372036854775808").intValue)
        XCTAssertEqual(try parse("1e-06").doubleValue, 1e-6)
        XCTAssertEqual(Float(try parse("1e-05").doubleValue!), Float(1e-5))
        XCTAssertEqual(try parse("-0.125").doubleValue, -0.125)
        XCTAssertEqual(try parse("0.1").doubleValue, 0.1)
        for bad in ["01", "1.", ".5", "-", "1e", "1e+", "+1", "0x10", "Infinity", "NaN", "1.5.2"] {
            XCTAssertThrowsError(try parse(bad), bad)
        }
    }

    func testStringsAndEscapes() throws {
        XCTAssertEqual(try parse(#""a\"b\\c\/d\b\f\n\r\t""#).stringValue, "a\"b\\c/d\u{8}\u{c}\n\r\t")
        XCTAssertEqual(try parse(#""\u00e9\u4e2d\ud83d\ude00""#).stringValue, "é中😀")
        XCTAssertEqual(try parse("\"é\"").stringValue, "é")
        for bad in [#""abc"#, #""\x""#, #""\u12""#, #""\u12g4""#, #""\ud83d""#, #""\ude00""#, #""\ud83d\u0041""#,
                    "\"a\u{1}b\"", "\"\\"] {
            XCTAssertThrowsError(try parse(bad), bad)
        }
    }

    func testInvalidUTF8IsRejected() {
        for bytes: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0xC0, 0x80, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22],
                               [0x22, 0xE4, 0xB8, 0x22], [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22]] {
            XCTAssertThrowsError(try bytes.withUnsafeBytes { try JSONParser.parse($0) })
        }
    }

    func testStructuralErrorsCarryOffsets() {
        XCTAssertThrowsError(try parse("{\"a\":1,}")) { error in
            XCTAssertEqual((error as? JSONError)?.offset, 7)
        }
        XCTAssertThrowsError(try parse("{\"a\":1 \"b\":2}"))
        XCTAssertThrowsError(try parse("{\"a\" 1}"))
        XCTAssertThrowsError(try parse("{1:2}"))
        XCTAssertThrowsError(try parse("[1 2]"))
        XCTAssertThrowsError(try parse("[1,]"))
        XCTAssertThrowsError(try parse("[1] x"))
        XCTAssertThrowsError(try parse(""))
        XCTAssertThrowsError(try parse("tru"))
        XCTAssertThrowsError(try parse("nul"))
        XCTAssertThrowsError(try parse("{\"k\":1,\"k\":2}")) { error in
            XCTAssertEqual((error as? JSONError)?.reason, "duplicate key \"k\"")
        }
    }

    func testDeepNestingIsAnErrorNotACrash() {
        XCTAssertNoThrow(try parse(String(repeating: "[", count: 64) + String(repeating: "]", count: 64)))
        XCTAssertThrowsError(try parse(String(repeating: "[", count: 65) + String(repeating: "]", count: 65)))
        XCTAssertThrowsError(try parse(String(repeating: "[", count: 100_000)))
        XCTAssertThrowsError(try parse(String(repeating: "{\"a\":", count: 100_000)))
    }

    func testRandomBytesNeverCrash() {
        var rng = SplitMix64(seed: 42)
        let alphabet = Array("{}[]\":,.-+eE0123456789 \\utrfalsn\u{7f}".utf8) + [0xC3, 0xA9, 0xFF]
        for _ in 0..<20_000 {
            let count = rng.below(40)
            let bytes = (0..<count).map { _ in alphabet[rng.below(alphabet.count)] }
            _ = try? bytes.withUnsafeBytes { try JSONParser.parse($0) }
        }
    }
}
