import CZmq

/// A failed libzmq call: which call, the errno it left, and libzmq's text for it.
///
/// libzmq reports failures through errno (`zmq_errno()`), including its own codes such as
/// `ETERM` (context terminated) and `EFSM`; `message` resolves them with `zmq_strerror`.
public struct ZmqError: Error, Equatable {
    /// The libzmq function that failed, e.g. "zmq_bind".
    public let call: String
    /// The errno value after the failure (EAGAIN, EADDRINUSE, ETERM, ...).
    public let code: Int32

    public init(_ call: String, code: Int32) {
        self.call = call
        self.code = code
    }

    /// Captures the calling thread's libzmq errno for `call`.
    public static func current(_ call: String) -> ZmqError {
        ZmqError(call, code: zmq_errno())
    }

    /// libzmq's text for `code` (`zmq_strerror`).
    public var message: String {
        guard let text = zmq_strerror(code) else { return "unknown error" }
        return String(cString: text)
    }

    /// "zmq_bind: Address already in use (errno 98)".
    public var description: String {
        call + ": " + message + " (errno " + String(code) + ")"
    }

    /// True for "try again": a DONTWAIT send or receive that would have blocked, or a receive timeout.
    public var isWouldBlock: Bool { code == EAGAIN }

    /// True when the context was terminated under a blocking call.
    public var isTerminated: Bool { code == ETERM }
}
