import CEdgeShim

/// A failed libc call: which call, and the errno it left.
public struct SystemError: Error, Equatable {
    /// The libc function that failed, e.g. "open".
    public let call: StaticString
    /// The errno value after the failure.
    public let code: Int32

    public init(_ call: StaticString, code: Int32) {
        self.call = call
        self.code = code
    }

    /// Captures the current thread's errno for `call`.
    public static func current(_ call: StaticString) -> SystemError {
        SystemError(call, code: edge_errno())
    }

    /// "open: No such file or directory (errno 2)".
    public var description: String {
        var text = String(decoding: UnsafeBufferPointer(start: call.utf8Start, count: call.utf8CodeUnitCount), as: UTF8.self) + ": "
        if let message = strerror(code) {
            text += String(cString: message)
        } else {
            text += "unknown error"
        }
        return text + " (errno " + String(code) + ")"
    }

    public static func == (lhs: SystemError, rhs: SystemError) -> Bool {
        lhs.code == rhs.code && lhs.call.utf8Start == rhs.call.utf8Start
    }
}
