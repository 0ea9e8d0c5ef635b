import CEdgeShim

// A strict RFC 8259 JSON parser for received messages, with limits on size and nesting so a hostile
// or corrupt message costs bounded time and memory. It allocates (a tree); the hot path only encodes.

/// A JSON number: exact when it is an integer literal, otherwise the nearest Double.
public struct JSONNumber: Equatable {
    /// The value as a Double (rounded for large integers).
    public let double: Double
    /// The exact value when the literal is an integer that fits Int64 or UInt64.
    public let integer: Int64?
    /// The exact value when the literal is a non-negative integer that fits UInt64.
    public let unsigned: UInt64?
}

/// One member of a JSON object, in document order.
public struct JSONMember: Equatable {
    public let key: String
    public let value: JSONValue
}

/// A parsed JSON value.
public enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object([JSONMember])

    /// The member named `key` of an object, nil for other values or a missing key.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        for member in members where member.key == key { return member.value }
        return nil
    }
}

/// Parses JSON text with limits (`maxBytes`, `maxDepth`); errors carry the byte offset.
public struct JSONParser {
    /// Largest accepted input, bytes.
    public var maxBytes: Int
    /// Deepest accepted nesting of arrays and objects.
    public var maxDepth: Int

    public init(maxBytes: Int = 1 << 20, maxDepth: Int = 16) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
    }

    /// Parses one complete JSON value (whitespace around it allowed, nothing else).
    public func parse(_ bytes: UnsafeRawBufferPointer) throws(BusError) -> JSONValue {
        guard bytes.count <= maxBytes else { throw BusError.messageTooLarge(limit: maxBytes) }
        var cursor = Cursor(bytes: bytes, maxDepth: maxDepth)
        cursor.skipSpace()
        let value = try cursor.value(depth: 0)
        cursor.skipSpace()
        guard cursor.offset == bytes.count else { throw cursor.fail(.trailingData) }
        return value
    }

    /// Parses bytes from an array.
    public func parse(_ bytes: [UInt8]) throws(BusError) -> JSONValue {
        var result: Result<JSONValue, BusError> = .success(.null)
        bytes.withUnsafeBytes { buffer in
            do throws(BusError) { result = .success(try parse(buffer)) } catch { result = .failure(error) }
        }
        return try result.get()
    }
}

private struct Cursor {
    let bytes: UnsafeRawBufferPointer
    let maxDepth: Int
    var offset = 0

    init(bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    func fail(_ reason: JSONSyntaxError) -> BusError { BusError.malformedJSON(offset: offset, reason: reason) }

    var peek: UInt8? { offset < bytes.count ? bytes[offset] : nil }

    mutating func skipSpace() {
        while let c = peek, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { offset += 1 }
    }

    mutating func expect(_ literal: StaticString) throws(BusError) {
        let n = literal.utf8CodeUnitCount
        var i = 0
        while i < n {
            guard let c = peek else { throw fail(.unexpectedEnd) }
            guard c == literal.utf8Start[i] else { throw fail(.unexpectedCharacter) }
            offset += 1
            i += 1
        }
    }

    mutating func value(depth: Int) throws(BusError) -> JSONValue {
        guard let c = peek else { throw fail(.unexpectedEnd) }
        switch c {
        case 0x7B: return try object(depth: depth + 1)
        case 0x5B: return try array(depth: depth + 1)
        case 0x22: return .string(try string())
        case 0x74: try expect("true"); return .bool(true)
        case 0x66: try expect("false"); return .bool(false)
        case 0x6E: try expect("null"); return .null
        case 0x2D, 0x30...0x39: return .number(try number())
        default: throw fail(.unexpectedCharacter)
        }
    }

    mutating func object(depth: Int) throws(BusError) -> JSONValue {
        guard depth <= maxDepth else { throw fail(.tooDeep) }
        offset += 1
        var members: [JSONMember] = []
        skipSpace()
        if peek == 0x7D { offset += 1; return .object(members) }
        while true {
            skipSpace()
            guard let c = peek else { throw fail(.unexpectedEnd) }
            guard c == 0x22 else { throw fail(.unexpectedCharacter) }
            let keyOffset = offset
            let key = try string()
            for member in members where member.key == key {
                throw BusError.malformedJSON(offset: keyOffset, reason: .duplicateKey)
            }
            skipSpace()
            try expect(":")
            skipSpace()
            members.append(JSONMember(key: key, value: try value(depth: depth)))
            skipSpace()
            guard let next = peek else { throw fail(.unexpectedEnd) }
            offset += 1
            if next == 0x7D { return .object(members) }
            guard next == 0x2C else { offset -= 1; throw fail(.unexpectedCharacter) }
        }
    }

    mutating func array(depth: Int) throws(BusError) -> JSONValue {
        guard depth <= maxDepth else { throw fail(.tooDeep) }
        offset += 1
        var elements: [JSONValue] = []
        skipSpace()
        if peek == 0x5D { offset += 1; return .array(elements) }
        while true {
            skipSpace()
            elements.append(try value(depth: depth))
            skipSpace()
            guard let next = peek else { throw fail(.unexpectedEnd) }
            offset += 1
            if next == 0x5D { return .array(elements) }
            guard next == 0x2C else { offset -= 1; throw fail(.unexpectedCharacter) }
        }
    }

    mutating func hex4() throws(BusError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let c = peek else { throw fail(.unexpectedEnd) }
            let digit: UInt32
            switch c {
            case 0x30...0x39: digit = UInt32(c - 0x30)
            case 0x41...0x46: digit = UInt32(c - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(c - 0x61 + 10)
            default: throw fail(.invalidEscape)
            }
            value = value << 4 | digit
            offset += 1
        }
        return value
    }

    mutating func string() throws(BusError) -> String {
        offset += 1  // opening quote
        var text: [UInt8] = []
        while true {
            guard let c = peek else { throw fail(.unexpectedEnd) }
            switch c {
            case 0x22:
                offset += 1
                return String(decoding: text, as: UTF8.self)
            case 0x5C:
                offset += 1
                guard let e = peek else { throw fail(.unexpectedEnd) }
                offset += 1
                switch e {
                case 0x22, 0x5C, 0x2F: text.append(e)
                case 0x62: text.append(0x08)
                case 0x66: text.append(0x0C)
                case 0x6E: text.append(0x0A)
                case 0x72: text.append(0x0D)
                case 0x74: text.append(0x09)
                case 0x75:
                    var scalar = try hex4()
                    if scalar >= 0xD800 && scalar < 0xDC00 {
                        // A high surrogate must be followed by an escaped low surrogate.
                        try expect("\\u")
                        let low = try hex4()
                        guard low >= 0xDC00 && low < 0xE000 else { throw fail(.invalidEscape) }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if scalar >= 0xDC00 && scalar < 0xE000 {
                        throw fail(.invalidEscape)
                    }
                    appendUTF8(scalar, to: &text)
                default:
                    offset -= 1
                    throw fail(.invalidEscape)
                }
            case 0x00..<0x20:
                throw fail(.controlCharacterInString)
            case 0x80...0xFF:
                try utf8Sequence(into: &text)
            default:
                text.append(c)
                offset += 1
            }
        }
    }

    /// Copies one well-formed UTF-8 sequence (no overlongs, surrogates or values past U+10FFFF).
    mutating func utf8Sequence(into text: inout [UInt8]) throws(BusError) {
        let lead = bytes[offset]
        let length: Int
        let minimum: UInt32
        var scalar: UInt32
        switch lead {
        case 0xC2...0xDF: length = 2; minimum = 0x80; scalar = UInt32(lead & 0x1F)
        case 0xE0...0xEF: length = 3; minimum = 0x800; scalar = UInt32(lead & 0x0F)
        case 0xF0...0xF4: length = 4; minimum = 0x10000; scalar = UInt32(lead & 0x07)
        default: throw fail(.invalidUTF8)
        }
        guard offset + length <= bytes.count else { throw fail(.invalidUTF8) }
        for k in 1..<length {
            let c = bytes[offset + k]
            guard c & 0xC0 == 0x80 else { throw fail(.invalidUTF8) }
            scalar = scalar << 6 | UInt32(c & 0x3F)
        }
        guard scalar >= minimum, scalar <= 0x10FFFF, !(scalar >= 0xD800 && scalar < 0xE000) else {
            throw fail(.invalidUTF8)
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

    mutating func number() throws(BusError) -> JSONNumber {
        let start = offset
        var negative = false
        if peek == 0x2D { negative = true; offset += 1 }
        guard isDigit(peek) else { throw fail(.invalidNumber) }
        var magnitude: UInt64? = 0
        if peek == 0x30 {
            offset += 1
            guard !isDigit(peek) else { throw fail(.invalidNumber) }  // no leading zeros
        } else {
            while isDigit(peek) {
                let digit = UInt64(bytes[offset] - 0x30)
                if let m = magnitude {
                    let (times10, o1) = m.multipliedReportingOverflow(by: 10)
                    let (sum, o2) = times10.addingReportingOverflow(digit)
                    magnitude = (o1 || o2) ? nil : sum
                }
                offset += 1
            }
        }
        var isInteger = true
        if peek == 0x2E {
            isInteger = false
            offset += 1
            guard isDigit(peek) else { throw fail(.invalidNumber) }
            while isDigit(peek) { offset += 1 }
        }
        if peek == 0x65 || peek == 0x45 {
            isInteger = false
            offset += 1
            if peek == 0x2B || peek == 0x2D { offset += 1 }
            guard isDigit(peek) else { throw fail(.invalidNumber) }
            while isDigit(peek) { offset += 1 }
        }
        let length = offset - start
        guard length <= 64 else { throw BusError.malformedJSON(offset: start, reason: .numberTooLong) }
        // strtod on a NUL-terminated copy: glibc rounds correctly, and the JSON grammar checked above
        // leaves nothing locale-dependent but the '.', which is the C locale's (we never call setlocale).
        var scratch: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0, 0)
        let double = withUnsafeMutableBytes(of: &scratch) { raw -> Double in
            raw.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[start..<offset]))
            raw[length] = 0
            return strtod(raw.baseAddress!.assumingMemoryBound(to: CChar.self), nil)
        }
        var integer: Int64? = nil
        var unsigned: UInt64? = nil
        if isInteger, let m = magnitude {
            if negative {
                if m <= UInt64(Int64.max) { integer = -Int64(m) } else if m == UInt64(Int64.max) + 1 { integer = Int64.min }
                if m == 0 { unsigned = 0 }
            } else {
                unsigned = m
                if m <= UInt64(Int64.max) { integer = Int64(m) }
            }
        }
        return JSONNumber(double: double, integer: integer, unsigned: unsigned)
    }
}
