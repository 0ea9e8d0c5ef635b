import EdgeRuntime

/// Why a JSON text was rejected (the shared parser's error kind; `tooLarge` surfaces as `messageTooLarge`).
public typealias JSONSyntaxError = JSONError.Kind

/// Everything that can go wrong on the bus: transport, encoding, decoding, security setup.
public enum BusError: Error, Equatable {
    /// A libzmq call failed.
    case zmq(ZmqError)
    /// A libc call failed (key files, ipc socket permissions).
    case system(SystemError, path: String)
    /// An encoded message does not fit the buffer's capacity, or a received one exceeds the decoder's limit.
    case messageTooLarge(limit: Int)
    /// The bytes are not valid JSON (offset of the problem in the message).
    case malformedJSON(offset: Int, reason: JSONSyntaxError)
    /// The message's schema major is not one this build reads (or the version is unreadable).
    case unsupportedSchema(String)
    /// The message's "type" is not the one expected for its topic.
    case unexpectedMessageType(String)
    /// A required field is absent.
    case missingField(String)
    /// A field has the wrong JSON type (e.g. a string where a number belongs).
    case wrongType(field: String)
    /// A field has the right type but an impossible value (negative size, corrupt RLE, non-finite float).
    case invalidValue(field: String)
    /// A camera name is empty, too long, or has characters outside [A-Za-z0-9_.-].
    case invalidCameraName(String)
    /// A CURVE key file or allow-list is unreadable or malformed (line 0 = the file as a whole).
    case invalidKeyFile(path: String, line: Int)
    /// The configuration asks for something inconsistent (e.g. CURVE without a secret key).
    case invalidConfiguration(String)
    /// An ipc endpoint's socket file is already served by another live process.
    case endpointInUse(String)

    /// A one-line description for logs.
    public var description: String {
        switch self {
        case .zmq(let error): return error.description
        case .system(let error, let path): return error.description + " (" + path + ")"
        case .messageTooLarge(let limit): return "message larger than the limit of " + String(limit) + " bytes"
        case .malformedJSON(let offset, _): return "malformed JSON at byte " + String(offset)
        case .unsupportedSchema(let version): return "unsupported schema version '" + version + "'"
        case .unexpectedMessageType(let type): return "unexpected message type '" + type + "'"
        case .missingField(let field): return "missing field '" + field + "'"
        case .wrongType(let field): return "field '" + field + "' has the wrong type"
        case .invalidValue(let field): return "field '" + field + "' has an invalid value"
        case .invalidCameraName(let name): return "invalid camera name '" + name + "'"
        case .invalidKeyFile(let path, let line): return "invalid key file " + path + " (line " + String(line) + ")"
        case .invalidConfiguration(let reason): return "invalid bus configuration: " + reason
        case .endpointInUse(let endpoint): return "endpoint already in use by another process: " + endpoint
        }
    }
}

extension BusError {
    /// The bus's view of a JSON parse failure: size as `messageTooLarge`, the rest as `malformedJSON`.
    init(json error: JSONError, maxBytes: Int) {
        if error.kind == .tooLarge {
            self = .messageTooLarge(limit: maxBytes)
        } else {
            self = .malformedJSON(offset: error.offset, reason: error.kind)
        }
    }
}
