import XCTest

@testable import Bus

final class WireDecoderErrorTests: XCTestCase {
    let decoder = WireDecoder(maxBytes: 4096)

    private func error(_ text: String, decoder: WireDecoder? = nil) -> BusError? {
        do {
            _ = try (decoder ?? self.decoder).decode(Array(text.utf8))
            return nil
        } catch {
            return error
        }
    }

    private func validDetectionText() throws -> String {
        var rng = SplitMix(state: 99)
        var message = try randomDetection(using: &rng)
        while message.instances.isEmpty { message = try randomDetection(using: &rng) }
        let buffer = MessageBuffer(capacity: 1 << 16)
        try WireEncoder.encode(message, into: buffer)
        return buffer.text
    }

    func testMalformedJSONGivesTypedErrorsWithOffsets() {
        let cases: [(String, Int, JSONSyntaxError)] = [
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
        for (text, offset, reason) in cases {
            XCTAssertEqual(error(text), .malformedJSON(offset: offset, reason: reason), text)
        }
        // Invalid UTF-8 inside a string: a lone continuation byte, an overlong form, a surrogate.
        for bytes: [UInt8] in [[0x80], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xE2, 0x82]] {
            let text = Array("{\"a\":\"".utf8) + bytes + Array("\"}".utf8)
            XCTAssertEqual(try? decoder.parser.parse(text), nil)
            do { _ = try decoder.parser.parse(text) } catch {
                XCTAssertEqual(error, .malformedJSON(offset: 6, reason: .invalidUTF8))
            }
        }
    }

    func testUnknownSchemaMajorIsRejectedAndNewerMinorAccepted() throws {
        let text = try validDetectionText()
        XCTAssertEqual(error(text.replacingOccurrences(of: "\"schema\":\"1.0\"", with: "\"schema\":\"2.0\"")),
                       .unsupportedSchema("2.0"))
        XCTAssertEqual(error(text.replacingOccurrences(of: "\"schema\":\"1.0\"", with: "\"schema\":\"one\"")),
                       .unsupportedSchema("one"))
        XCTAssertEqual(error(text.replacingOccurrences(of: "\"schema\":\"1.0\"", with: "\"schema\":\"10\"")),
                       .unsupportedSchema("10"))
        XCTAssertEqual(error(text.replacingOccurrences(of: "\"schema\":\"1.0\"", with: "\"schema\":1.0")),
                       .wrongType(field: "schema"))
        // A newer minor may add fields; this decoder ignores them.
        let newer = text.replacingOccurrences(of: "\"schema\":\"1.0\"", with: "\"schema\":\"1.7\",\"extra\":[1,{}]")
        XCTAssertNil(error(newer))
    }

    func testOversizedMessagesAreRejectedBeforeParsing() throws {
        let big = "{\"pad\":\"" + String(repeating: "x", count: 5000) + "\"}"
        XCTAssertEqual(error(big), .messageTooLarge(limit: 4096))
    }

    func testMissingAndIllTypedFieldsNameTheField() throws {
        let text = try validDetectionText()
        XCTAssertEqual(error(text.replacingOccurrences(of: "\"frame_id\":", with: "\"frame_idx\":")),
                       .missingField("frame_id"))
        XCTAssertEqual(error(text.replacingOccurrences(of: "\"camera\":\"", with: "\"camera\":7,\"x\":\"")),
                       .wrongType(field: "camera"))
        XCTAssertEqual(error(text.replacingOccurrences(of: "\"queue\":", with: "\"queue\":-")),
                       .invalidValue(field: "latency_us.queue"))
        XCTAssertEqual(error(text.replacingOccurrences(of: "\"bbox\":[", with: "\"bbox\":[\"0\",")),
                       .invalidValue(field: "instances[0].bbox"))
        XCTAssertEqual(error(text.replacingOccurrences(of: "\"bbox\":[", with: "\"bbox\":[-1,")),
                       .invalidValue(field: "instances[0].bbox"))
        XCTAssertEqual(error(text.replacingOccurrences(of: "\"score\":", with: "\"score\":7")),
                       .invalidValue(field: "instances[0].score"))
        XCTAssertEqual(error(text.replacingOccurrences(of: "\"id\":1,", with: "\"id\":true,")),
                       .wrongType(field: "instances[0].id"))
        XCTAssertEqual(error(text.replacingOccurrences(of: "\"seq\":", with: "\"seq\":1.5,\"old\":")),
                       .invalidValue(field: "seq"))
        XCTAssertEqual(error(text.replacingOccurrences(of: "\"seq\":", with: "\"seq\":18446744073709551616,\"old\":")),
                       .invalidValue(field: "seq"))
        XCTAssertEqual(error(text.replacingOccurrences(of: "\"type\":\"detection\"", with: "\"type\":\"gossip\"")),
                       .unexpectedMessageType("gossip"))
        XCTAssertEqual(error("[1,2]"), .wrongType(field: "(message)"))
        XCTAssertEqual(error("{\"schema\":\"1.0\"}"), .missingField("type"))
        XCTAssertEqual(error("{\"type\":\"meta\"}"), .missingField("schema"))
    }

    func testCorruptMaskCountsAreInvalidValues() throws {
        let text = try validDetectionText()
        let broken = text.replacingOccurrences(of: "\"counts\":\"", with: "\"counts\":\"~")
        XCTAssertEqual(error(broken), .invalidValue(field: "instances[0].mask.counts"))
    }

    func testRandomGarbageNeverCrashes() {
        var rng = SplitMix(state: 3)
        let alphabet = Array("{}[]\":,0123456789.eE-+truefalsnul\\ u\"schema\"1.0".utf8)
        var rejected = 0
        for _ in 0..<20_000 {
            let length = Int.random(in: 0..<64, using: &rng)
            let bytes = (0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] }
            if (try? decoder.decode(bytes)) == nil { rejected += 1 }
        }
        XCTAssertEqual(rejected, 20_000)
    }

    func testTruncatedAndMutatedRealMessagesNeverCrash() throws {
        let bytes = Array(try validDetectionText().utf8)
        var rng = SplitMix(state: 11)
        for cut in 0..<bytes.count {
            XCTAssertNotNil(error(String(decoding: bytes[0..<cut], as: UTF8.self)))
        }
        for _ in 0..<5000 {
            var mutated = bytes
            mutated[Int.random(in: 0..<mutated.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            _ = try? decoder.decode(mutated)
        }
    }
}
