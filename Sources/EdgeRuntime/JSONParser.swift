// A strict RFC 8259 JSON parser over UTF-8 bytes, shared by the bus (received messages) and the model
// reader (safetensors headers, config metadata). Limits on size, nesting and number length keep the time,
// memory and stack a hostile or corrupt text can cost bounded. It builds a tree (`JSONValue`).

/// Parses JSON text with limits; errors are `JSONError`s carrying the byte offset.
public struct JSONParser {
    /// Largest accepted input, bytes.
    public var maxBytes: Int
    /// Deepest accepted nesting of arrays and objects.
    public var maxDepth: Int
    /// Longest accepted number literal, characters.
    public var maxNumberLength: Int

    public init(maxBytes: Int = Int.max, maxDepth: Int = 64, maxNumberLength: Int = 400) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
        self.maxNumberLength = maxNumberLength
    }

    /// Parses one complete JSON value (whitespace around it allowed, nothing else).
    public func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONError) -> JSONValue {
        guard bytes.count <= maxBytes else {
            throw JSONError(offset: maxBytes, kind: .tooLarge, reason: "text larger than " + String(maxBytes) + " bytes")
        }
        var cursor = JSONCursor(bytes: bytes, maxDepth: maxDepth, maxNumberLength: maxNumberLength)
        cursor.skipSpace()
        let value = try cursor.value(depth: 0)
        cursor.skipSpace()
        guard cursor.offset == bytes.count else { throw cursor.fail(.trailingData, "unexpected text after the JSON value") }
        return value
    }

    /// Parses bytes from an array.
    public func parse(_ bytes: [UInt8]) throws(JSONError) -> JSONValue {
        let result: Result<JSONValue, JSONError> = bytes.withUnsafeBytes { buffer in
            do throws(JSONError) { return .success(try parse(buffer)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Parses a JSON text held in a String.
    public func parse(_ text: String) throws(JSONError) -> JSONValue { try parse(Array(text.utf8)) }

    /// Parses `bytes` with the default limits.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONError) -> JSONValue {
        try JSONParser().parse(bytes)
    }

    /// Parses a String with the default limits.
    public static func parse(_ text: String) throws(JSONError) -> JSONValue { try JSONParser().parse(text) }
}

private struct JSONCursor {
    let bytes: UnsafeRawBufferPointer
    let maxDepth: Int
    let maxNumberLength: Int
    var offset = 0

    init(bytes: UnsafeRawBufferPointer, maxDepth: Int, maxNumberLength: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
        self.maxNumberLength = maxNumberLength
    }

    func fail(_ kind: JSONError.Kind, _ reason: String) -> JSONError { JSONError(offset: offset, kind: kind, reason: reason) }

    var peek: UInt8? { offset < bytes.count ? bytes[offset] : nil }

    mutating func skipSpace() {
        while let c = peek, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { offset += 1 }
    }

    /// Matches a literal byte by byte, so the error points at the first wrong (or missing) byte.
    mutating func expect(_ literal: StaticString, _ what: String) throws(JSONError) {
        let n = literal.utf8CodeUnitCount
        var i = 0
        while i < n {
            guard let c = peek else { throw fail(.unexpectedEnd, "truncated " + what) }
            guard c == literal.utf8Start[i] else { throw fail(.unexpectedCharacter, "invalid " + what) }
            offset += 1
            i += 1
        }
    }

    mutating func value(depth: Int) throws(JSONError) -> JSONValue {
        guard let c = peek else { throw fail(.unexpectedEnd, "unexpected end of text") }
        switch c {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try expect("true", "literal"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false", "literal"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null", "literal"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw fail(.unexpectedCharacter, "unexpected character")
        }
    }

    func checkDepth(_ depth: Int) throws(JSONError) {
        guard depth <= maxDepth else { throw fail(.tooDeep, "nesting deeper than " + String(maxDepth)) }
    }

    mutating func object(depth: Int) throws(JSONError) -> JSONValue {
        try checkDepth(depth)
        offset += 1
        var members: [JSONMember] = []
        var keys = Set<String>()
        skipSpace()
        if peek == UInt8(ascii: "}") { offset += 1; return .object(members) }
        while true {
            skipSpace()
            guard let c = peek else { throw fail(.unexpectedEnd, "unterminated object") }
            guard c == UInt8(ascii: "\"") else { throw fail(.unexpectedCharacter, "object key is not a string") }
            let keyOffset = offset
            let key = try string()
            guard keys.insert(key).inserted else {
                throw JSONError(offset: keyOffset, kind: .duplicateKey, reason: "duplicate key \"" + key + "\"")
            }
            skipSpace()
            guard let colon = peek else { throw fail(.unexpectedEnd, "expected ':' after an object key") }
            guard colon == UInt8(ascii: ":") else { throw fail(.unexpectedCharacter, "expected ':' after an object key") }
            offset += 1
            skipSpace()
            members.append(JSONMember(key: key, value: try value(depth: depth)))
            skipSpace()
            guard let next = peek else { throw fail(.unexpectedEnd, "unterminated object") }
            if next == UInt8(ascii: "}") { offset += 1; return .object(members) }
            guard next == UInt8(ascii: ",") else { throw fail(.unexpectedCharacter, "expected ',' or '}' in an object") }
            offset += 1
        }
    }

    mutating func array(depth: Int) throws(JSONError) -> JSONValue {
        try checkDepth(depth)
        offset += 1
        var elements: [JSONValue] = []
        skipSpace()
        if peek == UInt8(ascii: "]") { offset += 1; return .array(elements) }
        while true {
            skipSpace()
            elements.append(try value(depth: depth))
            skipSpace()
            guard let next = peek else { throw fail(.unexpectedEnd, "unterminated array") }
            if next == UInt8(ascii: "]") { offset += 1; return .array(elements) }
            guard next == UInt8(ascii: ",") else { throw fail(.unexpectedCharacter, "expected ',' or ']' in an array") }
            offset += 1
        }
    }

    mutating func hex4() throws(JSONError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let c = peek else { throw fail(.unexpectedEnd, "truncated \\u escape") }
            let digit: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
            default: throw fail(.invalidEscape, "invalid hex digit in a \\u escape")
            }
            value = value << 4 | digit
            offset += 1
        }
        return value
    }

    mutating func string() throws(JSONError) -> String {
        offset += 1  // opening quote
        var text: [UInt8] = []
        while true {
            guard let c = peek else { throw fail(.unexpectedEnd, "unterminated string") }
            switch c {
            case 0x22:
                offset += 1
                return String(decoding: text, as: UTF8.self)
            case 0x5C:
                offset += 1
                guard let e = peek else { throw fail(.unexpectedEnd, "unterminated escape") }
                offset += 1
                switch e {
                case 0x22, 0x5C, 0x2F: text.append(e)
                case UInt8(ascii: "b"): text.append(0x08)
                case UInt8(ascii: "f"): text.append(0x0C)
                case UInt8(ascii: "n"): text.append(0x0A)
                case UInt8(ascii: "r"): text.append(0x0D)
                case UInt8(ascii: "t"): text.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if scalar >= 0xD800 && scalar < 0xDC00 {
                        // A high surrogate must be followed by an escaped low surrogate.
                        try expect("\\u", "surrogate pair")
                        let low = try hex4()
                        guard low >= 0xDC00 && low < 0xE000 else { throw fail(.invalidEscape, "unpaired surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if scalar >= 0xDC00 && scalar < 0xE000 {
                        throw fail(.invalidEscape, "unpaired surrogate")
                    }
                    appendUTF8(scalar, to: &text)
                default:
                    offset -= 1
                    throw fail(.invalidEscape, "invalid escape")
                }
            case 0x00..<0x20:
                throw fail(.controlCharacterInString, "control character in a string")
            case 0x80...0xFF:
                try utf8Sequence(into: &text)
            default:
                text.append(c)
                offset += 1
            }
        }
    }

    /// Copies one well-formed UTF-8 sequence (no overlongs, surrogates or values past U+10FFFF).
    mutating func utf8Sequence(into text: inout [UInt8]) throws(JSONError) {
        let lead = bytes[offset]
        let length: Int
        let minimum: UInt32
        var scalar: UInt32
        switch lead {
        case 0xC2...0xDF: length = 2; minimum = 0x80; scalar = UInt32(lead & 0x1F)
        case 0xE0...0xEF: length = 3; minimum = 0x800; scalar = UInt32(lead & 0x0F)
        case 0xF0...0xF4: length = 4; minimum = 0x10000; scalar = UInt32(lead & 0x07)
        default: throw fail(.invalidUTF8, "invalid UTF-8")
        }
        guard offset + length <= bytes.count else { throw fail(.invalidUTF8, "truncated UTF-8 sequence") }
        for k in 1..<length {
            let c = bytes[offset + k]
            guard c & 0xC0 == 0x80 else { throw fail(.invalidUTF8, "invalid UTF-8") }
            scalar = scalar << 6 | UInt32(c & 0x3F)
        }
        guard scalar >= minimum, scalar <= 0x10FFFF, !(scalar >= 0xD800 && scalar < 0xE000) else {
            throw fail(.invalidUTF8, "invalid UTF-8")
        }
        for k in 0..<length { text.append(bytes[offset + k]) }
        offset += length
    }

    func appendUTF8(_ scalar: UInt32, to text: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            text.append(UInt8(scalar))
        case 0x80..<0x800:
            text.append(UInt8(0xC0 | scalar >> 6)); text.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            text.append(UInt8(0xE0 | scalar >> 12)); text.append(UInt8(0x80 | (scalar >> 6) & 0x3F))
            text.append(UInt8(0x80 | scalar & 0x3F))
        default:
            text.append(UInt8(0xF0 | scalar >> 18)); text.append(UInt8(0x80 | (scalar >> 12) & 0x3F))
            text.append(UInt8(0x80 | (scalar >> 6) & 0x3F)); text.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    func isDigit(_ c: UInt8?) -> Bool { c.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }

    mutating func number() throws(JSONError) -> JSONNumber {
        let start = offset
        if peek == UInt8(ascii: "-") { offset += 1 }
        guard isDigit(peek) else { throw fail(.invalidNumber, "invalid number") }
        if peek == UInt8(ascii: "0") {
            offset += 1
            guard !isDigit(peek) else { throw fail(.invalidNumber, "number with a leading zero") }
        } else {
            while isDigit(peek) { offset += 1 }
        }
        var isInteger = true
        if peek == UInt8(ascii: ".") {
            isInteger = false
            offset += 1
            guard isDigit(peek) else { throw fail(.invalidNumber, "invalid number fraction") }
            while isDigit(peek) { offset += 1 }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            isInteger = false
            offset += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { offset += 1 }
            guard isDigit(peek) else { throw fail(.invalidNumber, "invalid number exponent") }
            while isDigit(peek) { offset += 1 }
        }
        guard offset - start <= maxNumberLength else {
            throw JSONError(offset: start, kind: .numberTooLong,
                            reason: "number longer than " + String(maxNumberLength) + " characters")
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)
        return JSONNumber(text: text, isInteger: isInteger)
    }
}
