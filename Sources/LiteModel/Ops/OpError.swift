// The one error type of the op entry points: a shape or parameter that does not fit.

/// A kernel entry point refused its arguments before touching memory.
public enum OpError: Error, Equatable {
    /// A dimension, stride or parameter is out of range; `op` names the kernel, `reason` the rule broken.
    case invalidArgument(op: StaticString, reason: StaticString)
    /// A caller-supplied scratch or output buffer is smaller than the documented size function requires.
    case bufferTooSmall(op: StaticString, needed: Int, given: Int)

    public static func == (lhs: OpError, rhs: OpError) -> Bool {
        switch (lhs, rhs) {
        case let (.invalidArgument(a, b), .invalidArgument(c, d)):
            return a.utf8Start == c.utf8Start && b.utf8Start == d.utf8Start
        case let (.bufferTooSmall(a, b, c), .bufferTooSmall(d, e, f)):
            return a.utf8Start == d.utf8Start && b == e && c == f
        default:
            return false
        }
    }
}

@inline(__always)
func require(_ condition: Bool, _ op: StaticString, _ reason: StaticString) throws(OpError) {
    if !condition { throw OpError.invalidArgument(op: op, reason: reason) }
}
