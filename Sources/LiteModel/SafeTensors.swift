import EdgeRuntime

/// Element types of the safetensors files read here: model files hold F32, I8 and I32 (docs/MODEL_FORMAT.md
/// section 1); test fixture tensor files also U8.
public enum SafeTensorsDType: Equatable {
    case f32
    case i8
    case i32
    case u8

    /// Parses the safetensors dtype name ("F32", "I8", "I32").
    public init?(name: String) {
        switch name {
        case "F32": self = .f32
        case "I8": self = .i8
        case "I32": self = .i32
        case "U8": self = .u8
        default: return nil
        }
    }

    /// The safetensors name.
    public var name: String {
        switch self {
        case .f32: return "F32"
        case .i8: return "I8"
        case .i32: return "I32"
        case .u8: return "U8"
        }
    }

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f32, .i32: return 4
        case .i8, .u8: return 1
        }
    }

    /// The arena element type with the same representation.
    public var runtimeDType: DType {
        switch self {
        case .f32: return .float32
        case .i8: return .int8
        case .i32: return .int32
        case .u8: return .uint8
        }
    }
}

/// One tensor of a safetensors header: name, dtype, shape and its byte range in the data region.
public struct SafeTensorsEntry: Equatable {
    public let name: String
    public let dtype: SafeTensorsDType
    public let shape: [Int]
    /// Offset of the first byte, relative to the data region.
    public let begin: Int
    /// Offset one past the last byte, relative to the data region.
    public let end: Int

    /// Number of elements.
    public var elementCount: Int { (end - begin) / dtype.size }
}

/// Limits a loader enforces before trusting a header.
public struct SafeTensorsLimits {
    /// Largest header length accepted.
    public var maxHeaderBytes: Int = 16 << 20
    /// Most tensors accepted.
    public var maxTensors: Int = 4096
    /// Highest rank accepted.
    public var maxRank: Int = 4

    public init() {}
}

/// A parsed and validated safetensors header. The data region is covered exactly by the tensors.
public struct SafeTensorsHeader {
    /// The header length N from the first 8 bytes.
    public let headerLength: Int
    /// File offset of the data region (8 + N).
    public let dataStart: Int
    /// Bytes of the data region.
    public let dataLength: Int
    /// `__metadata__` members in file order (nil when the header has none).
    public let metadata: [(key: String, value: String)]?
    /// Tensors sorted by their begin offset.
    public let entries: [SafeTensorsEntry]
    private let index: [String: Int]

    /// The entry named `name`.
    public func entry(_ name: String) -> SafeTensorsEntry? {
        guard let position = index[name] else { return nil }
        return entries[position]
    }

    /// The metadata value of `key`.
    public func metadataValue(_ key: String) -> String? {
        guard let metadata else { return nil }
        for member in metadata where member.key == key { return member.value }
        return nil
    }

    /// Parses and validates the header of a whole safetensors file held in `file`.
    public static func parse(_ file: UnsafeRawBufferPointer, limits: SafeTensorsLimits = SafeTensorsLimits()) throws(ModelFileError) -> SafeTensorsHeader {
        guard file.count >= 8 else { throw .truncated(fileBytes: file.count, neededBytes: 8) }
        var length: UInt64 = 0
        for index in 0..<8 { length |= UInt64(file[index]) << (8 * UInt64(index)) }
        guard length <= UInt64(limits.maxHeaderBytes) else { throw .headerTooLarge(length: length, limit: limits.maxHeaderBytes) }
        let headerLength = Int(length)
        guard 8 + headerLength <= file.count else { throw .truncated(fileBytes: file.count, neededBytes: 8 + headerLength) }
        let headerBytes = UnsafeRawBufferPointer(rebasing: file[8..<(8 + headerLength)])
        let json: JSONValue
        do throws(JSONError) {
            json = try JSONParser.parse(headerBytes)
        } catch {
            throw .badJSON(what: "header", error: error)
        }
        guard let members = json.objectValue else { throw .headerNotObject }
        let dataLength = file.count - 8 - headerLength

        var metadata: [(key: String, value: String)]? = nil
        var entries: [SafeTensorsEntry] = []
        entries.reserveCapacity(members.count)
        for member in members {
            if member.key == "__metadata__" {
                guard let pairs = member.value.objectValue else { throw .badMetadata(reason: "not an object") }
                var collected: [(key: String, value: String)] = []
                for pair in pairs {
                    guard let text = pair.value.stringValue else {
                        throw .badMetadata(reason: "value of '" + pair.key + "' is a " + pair.value.kindName + ", not a string")
                    }
                    collected.append((pair.key, text))
                }
                metadata = collected
                continue
            }
            guard entries.count < limits.maxTensors else { throw .tooManyTensors(count: members.count - 1, limit: limits.maxTensors) }
            entries.append(try parseEntry(name: member.key, member.value, dataLength: dataLength, limits: limits))
        }

        // Tensors that tile [0, E) contiguously with E past the data region mean a cut file, not bad offsets
        // (MODEL_FORMAT.md section 8).
        var sortedEntries = entries
        sortedEntries.sort { $0.begin != $1.begin ? $0.begin < $1.begin : ($0.end != $1.end ? $0.end < $1.end : $0.name < $1.name) }
        var tileEnd = 0
        var tiles = true
        for entry in sortedEntries {
            if entry.begin != tileEnd { tiles = false; break }
            tileEnd = entry.end
        }
        if tiles && tileEnd > dataLength {
            throw .truncated(fileBytes: file.count, neededBytes: 8 + headerLength + tileEnd)
        }
        for entry in entries where entry.end > dataLength {
            throw .offsetsOutOfRange(tensor: entry.name, begin: entry.begin, end: entry.end, dataBytes: dataLength)
        }
        entries = sortedEntries

        // Sorted by (begin, end), the ranges must tile the data region exactly.
        var cursor = 0
        var previous = ""
        for entry in entries {
            if entry.begin < cursor { throw .overlappingOffsets(tensor: entry.name, previous: previous) }
            if entry.begin > cursor { throw .gapInData(tensor: entry.name, offset: entry.begin) }
            if entry.end > entry.begin {
                cursor = entry.end
                previous = entry.name
            }
        }
        if cursor != dataLength { throw .trailingBytes(count: dataLength - cursor) }

        var index: [String: Int] = [:]
        index.reserveCapacity(entries.count)
        for (position, entry) in entries.enumerated() { index[entry.name] = position }
        return SafeTensorsHeader(headerLength: headerLength, dataStart: 8 + headerLength, dataLength: dataLength,
                                 metadata: metadata, entries: entries, index: index)
    }

    /// One tensor entry; its end is checked against the data region by the caller.
    private static func parseEntry(name: String, _ value: JSONValue, dataLength: Int, limits: SafeTensorsLimits) throws(ModelFileError) -> SafeTensorsEntry {
        guard let fields = value.objectValue else {
            throw .badTensorEntry(tensor: name, reason: "entry is a " + value.kindName + ", not an object")
        }
        for field in fields where field.key != "dtype" && field.key != "shape" && field.key != "data_offsets" {
            throw .badTensorEntry(tensor: name, reason: "unknown key '" + field.key + "' (expected dtype, shape, data_offsets)")
        }
        guard let dtypeValue = value["dtype"] else { throw .badTensorEntry(tensor: name, reason: "missing key 'dtype'") }
        guard let shapeValue = value["shape"] else { throw .badTensorEntry(tensor: name, reason: "missing key 'shape'") }
        guard let offsetsValue = value["data_offsets"] else { throw .badTensorEntry(tensor: name, reason: "missing key 'data_offsets'") }
        guard let dtypeName = dtypeValue.stringValue else {
            throw .badTensorEntry(tensor: name, reason: "dtype is a " + dtypeValue.kindName + ", not a string")
        }
        guard let dtype = SafeTensorsDType(name: dtypeName) else { throw .unknownDType(tensor: name, dtype: dtypeName) }
        guard let dimensions = shapeValue.arrayValue else {
            throw .badShape(tensor: name, reason: "a " + shapeValue.kindName + ", not a list")
        }
        guard dimensions.count <= limits.maxRank else {
            throw .badShape(tensor: name, reason: "rank " + String(dimensions.count) + " above " + String(limits.maxRank))
        }
        var shape: [Int] = []
        var elements = 1
        for dimension in dimensions {
            guard let size = dimension.intValue, size >= 0 else {
                throw .badShape(tensor: name, reason: "dimension is not a non-negative integer")
            }
            let (product, overflow) = elements.multipliedReportingOverflow(by: size)
            guard !overflow, product <= Int(UInt32.max) * 64 else { throw .badShape(tensor: name, reason: "size overflows") }
            elements = product
            shape.append(size)
        }
        guard let offsets = offsetsValue.arrayValue, offsets.count == 2,
              let begin = offsets[0].intValue, let end = offsets[1].intValue else {
            throw .badTensorEntry(tensor: name, reason: "data_offsets must be two integers")
        }
        guard begin >= 0, begin <= end else {
            throw .offsetsOutOfRange(tensor: name, begin: begin, end: end, dataBytes: dataLength)
        }
        let expected = elements * dtype.size
        guard end - begin == expected else { throw .sizeMismatch(tensor: name, spanBytes: end - begin, expectedBytes: expected) }
        return SafeTensorsEntry(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
    }
}

/// A plain safetensors file (no model metadata, no checksum): golden test tensors and inputs.
public final class SafeTensorsFile {
    /// The file's bytes.
    public let storage: ModelFileBytes
    /// The validated header.
    public let header: SafeTensorsHeader

    /// Maps and parses `path`.
    public static func open(path: String) throws(ModelFileError) -> SafeTensorsFile {
        try SafeTensorsFile(storage: try ModelFileBytes(path: path))
    }

    /// Parses the file in `storage`.
    public init(storage: ModelFileBytes) throws(ModelFileError) {
        header = try SafeTensorsHeader.parse(storage.bytes)
        self.storage = storage
    }

    /// The tensor `name`, or nil.
    public func tensor(_ name: String) -> ModelTensor? {
        guard let entry = header.entry(name) else { return nil }
        return ModelTensor(entry: entry, bytes: UnsafeRawBufferPointer(
            rebasing: storage.bytes[(header.dataStart + entry.begin)..<(header.dataStart + entry.end)]))
    }
}
