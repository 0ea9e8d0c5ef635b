import EdgeRuntime

/// Why a model file was rejected. Every case names the problem and where it is; `description` is the message.
public enum ModelFileError: Error, Equatable {
    // File access.
    /// A libc call on the file failed (open, fstat, mmap, read).
    case io(path: String, error: SystemError)
    /// The path is not a regular file.
    case notARegularFile(path: String)

    // Container (safetensors).
    /// The file ends before the 8-byte header length or before the end of the header.
    case truncated(fileBytes: Int, neededBytes: Int)
    /// The header length field exceeds the limit.
    case headerTooLarge(length: UInt64, limit: Int)
    /// The header is not valid JSON.
    case badJSON(what: String, error: JSONError)
    /// The header JSON is not an object.
    case headerNotObject
    /// `__metadata__` is missing, not an object, or has a non-string value.
    case badMetadata(reason: String)
    /// More tensors than the limit.
    case tooManyTensors(count: Int, limit: Int)
    /// A tensor entry is not an object with exactly `dtype`, `shape` and `data_offsets`.
    case badTensorEntry(tensor: String, reason: String)
    /// A dtype other than F32, I8, I32.
    case unknownDType(tensor: String, dtype: String)
    /// A shape that is not a list of at most 4 non-negative integers, or whose size overflows.
    case badShape(tensor: String, reason: String)
    /// `data_offsets` outside the data region or reversed.
    case offsetsOutOfRange(tensor: String, begin: Int, end: Int, dataBytes: Int)
    /// `data_offsets` span a different byte count than shape times dtype size.
    case sizeMismatch(tensor: String, spanBytes: Int, expectedBytes: Int)
    /// Two tensors share bytes.
    case overlappingOffsets(tensor: String, previous: String)
    /// Bytes between two tensors (or before the first) belong to no tensor.
    case gapInData(tensor: String, offset: Int)
    /// Bytes after the last tensor belong to no tensor.
    case trailingBytes(count: Int)

    // Metadata (docs/MODEL_FORMAT.md section 2).
    /// A required metadata key is missing.
    case missingMetadata(key: String)
    /// `format` is not "dualsam-edge".
    case wrongFormat(found: String)
    /// `format_version` is not `major.minor`.
    case badFormatVersion(found: String)
    /// A format major version this reader does not implement.
    case unsupportedFormatMajor(found: Int, supported: Int)
    /// A numerics version this engine does not implement.
    case unsupportedNumerics(found: String, supported: String)
    /// The model `dtype` is neither int8 nor fp32.
    case badModelDType(found: String)
    /// The checksum marker is missing, repeated or not followed by 8 lowercase hex digits and a quote.
    case badChecksumField(reason: String)
    /// The CRC-32 of the file differs from the stored one.
    case checksumMismatch(stored: UInt32, computed: UInt32)

    // Config and tensor set (sections 3 and 5).
    /// A config key is missing.
    case missingConfigKey(key: String)
    /// A config value has the wrong type or an impossible value.
    case badConfigValue(key: String, reason: String)
    /// A tensor the config requires is absent.
    case missingTensor(name: String)
    /// A tensor the config does not describe is present.
    case unexpectedTensor(name: String)
    /// A tensor has another dtype than the format requires.
    case wrongDType(tensor: String, expected: String, found: String)
    /// A tensor's shape does not match the config.
    case wrongShape(tensor: String, expected: [Int], found: [Int])
    /// A quantization constant is outside its NUMERICS range.
    case badQuantization(tensor: String, index: Int, value: String, reason: String)
    /// A float tensor holds NaN or an infinity.
    case nonFinite(tensor: String, index: Int)
    /// A valid container that is not a model (the format-test files).
    case notRunnable(reason: String)

    /// A one-line message naming the problem, with the tensor, key or numbers involved.
    public var description: String {
        switch self {
        case let .io(path, error): return "cannot read model file '" + path + "': " + error.description
        case let .notARegularFile(path): return "model file '" + path + "' is not a regular file"
        case let .truncated(fileBytes, neededBytes):
            return "truncated file: " + String(fileBytes) + " bytes, at least " + String(neededBytes) + " needed"
        case let .headerTooLarge(length, limit):
            return "header length " + String(length) + " exceeds the limit of " + String(limit) + " bytes"
        case let .badJSON(what, error): return what + " is not valid JSON: " + error.description
        case .headerNotObject: return "header JSON is not an object"
        case let .badMetadata(reason): return "__metadata__: " + reason
        case let .tooManyTensors(count, limit):
            return "too many tensors: " + String(count) + " (limit " + String(limit) + ")"
        case let .badTensorEntry(tensor, reason): return "tensor '" + tensor + "': " + reason
        case let .unknownDType(tensor, dtype):
            return "tensor '" + tensor + "': unknown dtype '" + dtype + "' (model files allow F32, I8, I32)"
        case let .badShape(tensor, reason): return "tensor '" + tensor + "': bad shape: " + reason
        case let .offsetsOutOfRange(tensor, begin, end, dataBytes):
            return "tensor '" + tensor + "': data_offsets [" + String(begin) + ", " + String(end)
                + "] out of range (data region is " + String(dataBytes) + " bytes)"
        case let .sizeMismatch(tensor, spanBytes, expectedBytes):
            return "tensor '" + tensor + "': data_offsets span " + String(spanBytes) + " bytes but shape x dtype size needs "
                + String(expectedBytes)
        case let .overlappingOffsets(tensor, previous):
            return "tensor '" + tensor + "': data_offsets overlap tensor '" + previous + "'"
        case let .gapInData(tensor, offset):
            return "tensor '" + tensor + "': gap in the data region before offset " + String(offset)
        case let .trailingBytes(count):
            return "data region has " + String(count) + " trailing bytes not covered by any tensor"
        case let .missingMetadata(key): return "metadata key '" + key + "' missing"
        case let .wrongFormat(found): return "format is '" + found + "', expected '" + ModelFormat.name + "'"
        case let .badFormatVersion(found): return "format_version '" + found + "' is not major.minor"
        case let .unsupportedFormatMajor(found, supported):
            return "unsupported format major version " + String(found) + " (this reader implements " + String(supported) + ")"
        case let .unsupportedNumerics(found, supported):
            return "unsupported numerics_version '" + found + "' (implemented: " + supported
                + "; convert the checkpoint again with python -m tools.convert)"
        case let .badModelDType(found): return "model dtype '" + found + "' is neither int8 nor fp32"
        case let .badChecksumField(reason): return "checksum: " + reason
        case let .checksumMismatch(stored, computed):
            return "checksum mismatch: file says crc32:" + hex8(stored) + ", contents give crc32:" + hex8(computed)
                + " (corrupted file)"
        case let .missingConfigKey(key): return "config is missing key '" + key + "'"
        case let .badConfigValue(key, reason): return "config '" + key + "': " + reason
        case let .missingTensor(name): return "required tensor '" + name + "' missing"
        case let .unexpectedTensor(name): return "unexpected tensor '" + name + "' for this config and dtype"
        case let .wrongDType(tensor, expected, found):
            return "tensor '" + tensor + "': dtype " + found + " but " + expected + " expected"
        case let .wrongShape(tensor, expected, found):
            return "tensor '" + tensor + "': shape " + formatShape(found) + " but " + formatShape(expected)
                + " expected (does not match the config)"
        case let .badQuantization(tensor, index, value, reason):
            return "tensor '" + tensor + "'[" + String(index) + "] = " + value + ": " + reason
        case let .nonFinite(tensor, index):
            return "tensor '" + tensor + "'[" + String(index) + "] is not finite"
        case let .notRunnable(reason): return "not a runnable model: " + reason
        }
    }
}

/// Eight lowercase hex digits.
func hex8(_ value: UInt32) -> String {
    let digits: [UInt8] = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    var shift: UInt32 = 28
    for _ in 0..<8 {
        out.append(digits[Int((value >> shift) & 0xF)])
        shift &-= 4
    }
    return String(decoding: out, as: UTF8.self)
}
