import CEdgeShim

/// Why a JSON text was rejected: the byte offset, the kind of problem and a short message.
public struct JSONError: Error, Equatable {
    /// The class of a JSON error, for callers that map it into their own error types.
    public enum Kind: Equatable, Sendable {
        case tooLarge
        case unexpectedEnd
        case unexpectedCharacter
        case invalidEscape
        case invalidNumber
        case numberTooLong
        case invalidUTF8
        case controlCharacterInString
        case duplicateKey
        case tooDeep
        case trailingData
    }

    /// Byte offset in the text where the problem was found.
    public let offset: Int
    /// The class of the problem.
    public let kind: Kind
    /// What was wrong, e.g. "unterminated string".
    public let reason: String

    public init(offset: Int, kind: Kind, reason: String) {
        self.offset = offset
        self.kind = kind
        self.reason = reason
    }

    /// "at byte 17: unterminated string".
    public var description: String { "at byte " + String(offset) + ": " + reason }
}

/// A JSON number kept as its text, so integers stay exact and decimals are converted once, correctly rounded.
public struct JSONNumber: Equatable {
    /// The number exactly as written.
    public let text: String
    /// True when written without fraction or exponent.
    public let isInteger: Bool

    public init(text: String, isInteger: Bool) {
        self.text = text
        self.isInteger = isInteger
    }

    /// The magnitude of an integer literal and its sign, nil when not an integer or past UInt64.
    private var integerParts: (negative: Bool, magnitude: UInt64)? {
        guard isInteger else { return nil }
        var magnitude: UInt64 = 0
        var negative = false
        for byte in text.utf8 {
            if byte == UInt8(ascii: "-") { negative = true; continue }
            let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            magnitude = next
        }
        return (negative, magnitude)
    }

    /// The value as an Int64 when it is an integer that fits.
    public var int64Value: Int64? {
        guard let (negative, m) = integerParts else { return nil }
        if !negative { return m <= UInt64(Int64.max) ? Int64(m) : nil }
        if m <= UInt64(Int64.max) { return -Int64(m) }
        return m == UInt64(Int64.max) + 1 ? Int64.min : nil
    }

    /// The value as a UInt64 when it is a non-negative integer (or -0) that fits.
    public var uint64Value: UInt64? {
        guard let (negative, m) = integerParts else { return nil }
        return negative ? (m == 0 ? 0 : nil) : m
    }

    /// The value as an Int when it is an integer that fits.
    public var intValue: Int? { int64Value.flatMap { Int(exactly: $0) } }

    /// The value as a Double (correctly rounded by the C library's strtod in the "C" locale).
    public var doubleValue: Double {
        // The grammar check leaves nothing locale-dependent but the '.', the C locale's (setlocale is never called).
        var bytes = Array(text.utf8)
        bytes.append(0)
        return bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { strtod($0, nil) }
        }
    }
}

/// One `"key": value` member of a JSON object.
public struct JSONMember: Equatable {
    public let key: String
    public let value: JSONValue

    public init(key: String, value: JSONValue) {
        self.key = key
        self.value = value
    }
}

/// A parsed JSON value. Objects keep their members in document order (readers must not rely on it).
public indirect enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object([JSONMember])

    /// The member `key` of an object (nil for other values or a missing key).
    public subscript(key: String) -> JSONValue? {
        guard case let .object(members) = self else { return nil }
        for member in members where member.key == key { return member.value }
        return nil
    }

    /// The string, if this is one.
    public var stringValue: String? {
        if case let .string(text) = self { return text }
        return nil
    }

    /// The integer, if this is an integer number that fits an Int.
    public var intValue: Int? {
        if case let .number(number) = self { return number.intValue }
        return nil
    }

    /// The number as a Double, if this is a number.
    public var doubleValue: Double? {
        if case let .number(number) = self { return number.doubleValue }
        return nil
    }

    /// The elements, if this is an array.
    public var arrayValue: [JSONValue]? {
        if case let .array(elements) = self { return elements }
        return nil
    }

    /// The members, if this is an object.
    public var objectValue: [JSONMember]? {
        if case let .object(members) = self { return members }
        return nil
    }

    /// A short name of the value's kind, for messages ("string", "object", ...).
    public var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number(let number): return number.isInteger ? "integer" : "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}
