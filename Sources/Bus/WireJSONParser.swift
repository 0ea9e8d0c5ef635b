import EdgeRuntime

/// The shared `JSONParser` with the bus's limits, reporting failures as `BusError`s.
public struct WireJSONParser {
    /// The underlying parser and its limits (size, depth, number length).
    public var json: JSONParser

    /// Numbers are capped at 64 characters: no wire field needs more, and it bounds the strtod copy.
    public init(maxBytes: Int = 1 << 20, maxDepth: Int = 16) {
        json = JSONParser(maxBytes: maxBytes, maxDepth: maxDepth, maxNumberLength: 64)
    }

    /// Parses one complete JSON value (whitespace around it allowed, nothing else).
    public func parse(_ bytes: UnsafeRawBufferPointer) throws(BusError) -> JSONValue {
        do throws(JSONError) { return try json.parse(bytes) } catch { throw BusError(json: error, maxBytes: json.maxBytes) }
    }

    /// Parses bytes from an array.
    public func parse(_ bytes: [UInt8]) throws(BusError) -> JSONValue {
        do throws(JSONError) { return try json.parse(bytes) } catch { throw BusError(json: error, maxBytes: json.maxBytes) }
    }
}
