import EdgeRuntime

extension ModelFormat {
    /// The `format` metadata value.
    public static let name = "dualsam-edge"
    /// The config name of container-only test files (MODEL_FORMAT.md section 8).
    public static let formatTestConfigName = "format-test"
    /// Minor format version this reader knows; files with a newer minor may carry extra tensors, which are ignored.
    public static let minor = 0
    /// The `numerics_version` this engine implements (docs/NUMERICS.md).
    public static let numericsVersion = "2"
    /// Metadata keys every model file has (docs/MODEL_FORMAT.md section 2; `producer` is optional).
    public static let requiredMetadata = ["format", "format_version", "numerics_version", "dtype", "config",
                                          "calibration", "checksum"]
}

/// Which tensor set a model file holds.
public enum ModelDType: Equatable {
    case int8
    case fp32

    /// The metadata spelling.
    public var name: String { self == .int8 ? "int8" : "fp32" }
}

/// One tensor of a model file: its header entry and raw little-endian bytes inside the file.
public struct ModelTensor {
    /// Name, dtype, shape and offsets.
    public let entry: SafeTensorsEntry
    /// The tensor's bytes (may be unaligned when the file is not 8-byte aligned; use the load helpers).
    public let bytes: UnsafeRawBufferPointer

    public var name: String { entry.name }
    public var dtype: SafeTensorsDType { entry.dtype }
    public var shape: [Int] { entry.shape }
    /// Number of elements.
    public var count: Int { entry.elementCount }

    /// Element `index` of an F32 tensor.
    @inline(__always)
    public func float(_ index: Int) -> Float {
        Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)))
    }

    /// Element `index` of an I32 tensor.
    @inline(__always)
    public func int32(_ index: Int) -> Int32 {
        Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: index * 4, as: Int32.self))
    }

    /// Element `index` of an I8 tensor.
    @inline(__always)
    public func int8(_ index: Int) -> Int8 {
        Int8(bitPattern: bytes[index])
    }

    /// Element `index` of a U8 tensor.
    @inline(__always)
    public func uint8(_ index: Int) -> UInt8 {
        bytes[index]
    }

    /// The elements in place, when the dtype is `Element`'s and the bytes are aligned for it (always the case in
    /// a model file mapped from disk: MODEL_FORMAT.md section 1); nil otherwise. Little-endian hosts only.
    public func elements<Element: ArenaElement>(_ type: Element.Type) -> UnsafeBufferPointer<Element>? {
        guard dtype.runtimeDType == Element.dtype else { return nil }
        guard let base = bytes.baseAddress else { return UnsafeBufferPointer(start: nil, count: 0) }
        guard Int(bitPattern: base) % MemoryLayout<Element>.alignment == 0 else { return nil }
        return UnsafeBufferPointer(start: base.assumingMemoryBound(to: Element.self), count: count)
    }
}

/// A model file whose container, metadata and checksum are valid (docs/MODEL_FORMAT.md sections 1, 2 and 4).
///
/// `validateModel()` then checks the config and the tensor set; `ModelLoader.load` does both.
public final class ModelFile {
    /// The file's bytes (mapped read-only).
    public let storage: ModelFileBytes
    /// The safetensors header.
    public let header: SafeTensorsHeader
    /// int8 or fp32.
    public let dtype: ModelDType
    /// `format_version` as (major, minor).
    public let formatVersion: (major: Int, minor: Int)
    /// The `config` metadata, parsed.
    public let configJSON: JSONValue
    /// The `calibration` metadata, parsed.
    public let calibrationJSON: JSONValue
    /// The `producer` metadata ("" when absent).
    public let producer: String

    /// Maps and checks `path`.
    public static func open(path: String, verifyChecksum: Bool = true) throws(ModelFileError) -> ModelFile {
        try ModelFile(storage: try ModelFileBytes(path: path), verifyChecksum: verifyChecksum)
    }

    /// Drops the resident pages of the whole tensor data region (see `ModelFileBytes.releaseResident`): tensors
    /// read later fault back in from the file.
    public func releaseTensorData() {
        storage.releaseResident(UnsafeRawBufferPointer(rebasing: storage.bytes[header.dataStart...]))
    }

    /// Checks the file in `storage`: container, metadata, checksum, and that config and calibration are JSON.
    public init(storage: ModelFileBytes, verifyChecksum: Bool = true) throws(ModelFileError) {
        let file = storage.bytes
        let header = try SafeTensorsHeader.parse(file)
        for entry in header.entries where entry.dtype == .u8 {
            // U8 appears in fixture tensor files, never in a model file.
            throw .unknownDType(tensor: entry.name, dtype: entry.dtype.name)
        }
        guard header.metadata != nil else { throw .badMetadata(reason: "header has no __metadata__ object") }
        for key in ModelFormat.requiredMetadata where header.metadataValue(key) == nil {
            throw .missingMetadata(key: key)
        }
        let format = header.metadataValue("format")!
        guard format == ModelFormat.name else { throw .wrongFormat(found: format) }
        let versionText = header.metadataValue("format_version")!
        guard let version = ModelFile.parseVersion(versionText) else { throw .badFormatVersion(found: versionText) }
        guard version.major == ModelFormat.major else {
            throw .unsupportedFormatMajor(found: version.major, supported: ModelFormat.major)
        }
        let numerics = header.metadataValue("numerics_version")!
        guard numerics == ModelFormat.numericsVersion else {
            throw .unsupportedNumerics(found: numerics, supported: ModelFormat.numericsVersion)
        }
        let dtypeText = header.metadataValue("dtype")!
        switch dtypeText {
        case "int8": dtype = .int8
        case "fp32": dtype = .fp32
        default: throw .badModelDType(found: dtypeText)
        }
        if verifyChecksum {
            try ModelChecksum.verify(file: file, headerLength: header.headerLength)
            // The checksum pass made every page of the mapping resident; let them go, so that packing at load
            // holds one layer of the file at a time next to its packed copy (peak RSS), not the whole file.
            storage.releaseResident(UnsafeRawBufferPointer(rebasing: file[header.dataStart...]))
        }
        configJSON = try ModelFile.parseJSON(header.metadataValue("config")!, what: "metadata config")
        guard configJSON.objectValue != nil else {
            throw .badConfigValue(key: "config", reason: "is a " + configJSON.kindName + ", not a JSON object")
        }
        calibrationJSON = try ModelFile.parseJSON(header.metadataValue("calibration")!, what: "metadata calibration")
        producer = header.metadataValue("producer") ?? ""
        formatVersion = version
        self.header = header
        self.storage = storage
    }

    /// The tensor `name`, or nil.
    public func tensor(_ name: String) -> ModelTensor? {
        guard let entry = header.entry(name) else { return nil }
        let start = header.dataStart + entry.begin
        return ModelTensor(entry: entry, bytes: UnsafeRawBufferPointer(rebasing: storage.bytes[start..<(header.dataStart + entry.end)]))
    }

    /// Bytes of all tensors (the data region).
    public var weightBytes: Int { header.dataLength }

    /// The config name, if the config has one (the format-test fixture has only a name).
    public var configName: String? { configJSON["name"]?.stringValue }

    /// True for a container-only test file (config name "format-test"): valid as a container, never runnable.
    public var isFormatTest: Bool {
        // Unwrapped first: `String? == String` miscompiles in the aarch64 Embedded build (crash under qemu).
        guard let name = configName else { return false }
        return name == ModelFormat.formatTestConfigName
    }

    /// "1.0" -> (1, 0); nil unless digits, one dot, digits.
    static func parseVersion(_ text: String) -> (major: Int, minor: Int)? {
        var parts: [Int] = [0]
        var digits = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, parts.count == 1 else { return nil }
                parts.append(0)
                digits = 0
                continue
            }
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"), digits < 9 else { return nil }
            parts[parts.count - 1] = parts[parts.count - 1] * 10 + Int(byte - UInt8(ascii: "0"))
            digits += 1
        }
        guard parts.count == 2, digits > 0 else { return nil }
        return (parts[0], parts[1])
    }

    private static func parseJSON(_ text: String, what: String) throws(ModelFileError) -> JSONValue {
        do throws(JSONError) {
            return try JSONParser.parse(text)
        } catch {
            throw .badJSON(what: what, error: error)
        }
    }
}
