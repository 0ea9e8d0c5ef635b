import XCTest

@testable import EdgeRuntime

final class JSONTests: XCTestCase {
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

    // The bus's corpus (it parses with maxDepth 8 and 64-character numbers): kind and offset of each failure.
    func testMalformedTextGivesKindsAndOffsets() {
        let parser = JSONParser(maxBytes: 4096, maxDepth: 8, maxNumberLength: 64)
        let cases: [(String, Int, JSONError.Kind)] = [
            ("", 0, .unexpectedEnd),
            ("{", 1, .unexpectedEnd),
            ("{\"a\":1,}", 7, .unexpectedCharacter),
            ("{\"a\" 1}", 5, .unexpectedCharacter),
            ("[1 2]", 3, .unexpectedCharacter),
            ("{\"a\":01}", 6, .invalidNumber),
            ("{\"a\":-}", 6, .invalidNumber),
            ("{\"a\":1.}", 7, .invalidNumber),
            ("{\"a\":1e}", 7, .invalidNumber),
            ("{\"a\":\"\\x\"}", 7, .invalidEscape),
            ("{\"a\":\"\\ud800\"}", 12, .unexpectedCharacter),
            ("{\"a\":\"\\udc00\"}", 12, .invalidEscape),
            ("{\"a\":\"\u{1}\"}", 6, .controlCharacterInString),
            ("{\"a\":1,\"a\":2}", 7, .duplicateKey),
            ("{} x", 3, .trailingData),
            ("tru", 3, .unexpectedEnd),
            ("nul!", 3, .unexpectedCharacter),
            ("{\"a\":" + String(repeating: "1", count: 70) + "}", 5, .numberTooLong),
            (String(repeating: "[", count: 9) + String(repeating: "]", count: 9), 8, .tooDeep),
        ]
        for (text, offset, kind) in cases {
            XCTAssertThrowsError(try parser.parse(text), text) { error in
                XCTAssertEqual((error as? JSONError)?.offset, offset, text)
                XCTAssertEqual((error as? JSONError)?.kind, kind, text)
            }
        }
        // Invalid UTF-8 inside a string: a lone continuation byte, an overlong form, a surrogate, past U+10FFFF, truncated.
        for bytes: [UInt8] in [[0x80], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xE2, 0x82]] {
            let text = Array("{\"a\":\"".utf8) + bytes + Array("\"}".utf8)
            XCTAssertThrowsError(try parser.parse(text)) { error in
                XCTAssertEqual(error as? JSONError, JSONError(offset: 6, kind: .invalidUTF8, reason: "invalid UTF-8"))
            }
        }
    }

    func testSizeLimitAndMessages() {
        let parser = JSONParser(maxBytes: 8)
        XCTAssertNoThrow(try parser.parse("[1,2,3] "))
        XCTAssertThrowsError(try parser.parse("[1,2,3,4]")) { error in
            XCTAssertEqual((error as? JSONError)?.kind, .tooLarge)
        }
        XCTAssertThrowsError(try JSONParser.parse("\"abc")) { error in
            XCTAssertEqual((error as? JSONError)?.description, "at byte 4: unterminated string")
        }
        XCTAssertThrowsError(try JSONParser.parse("[" + String(repeating: "1", count: 401) + "]")) { error in
            XCTAssertEqual((error as? JSONError)?.description, "at byte 1: number longer than 400 characters")
        }
        XCTAssertNoThrow(try JSONParser.parse(String(repeating: "1", count: 400)))
    }

    func testIntegerAccessorsAreExact() throws {
        func number(_ text: String) throws -> JSONNumber {
            guard case .number(let n) = try JSONParser.parse(text) else { throw JSONError(offset: 0, kind: .invalidNumber, reason: "not a number") }
            return n
        }
        XCTAssertEqual(try number("18446744073709551615").uint64Value, UInt64.max)
        XCTAssertNil(try number("18446744073709551616").uint64Value)
        XCTAssertNil(try number("-1").uint64Value)
        XCTAssertEqual(try number("-0").uint64Value, 0)
        XCTAssertEqual(try number("-9223372036854775808").int64Value, Int64.min)
        XCTAssertNil(try number("-9223372036854775809").int64Value)
        XCTAssertNil(try number("9223372036854775808").int64Value)
        XCTAssertNil(try number("1.0").int64Value)
        XCTAssertEqual(try number("1e400").doubleValue, .infinity)
    }
}
