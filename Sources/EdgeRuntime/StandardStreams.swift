import CEdgeShim

/// Writes text to a file descriptor, retrying on EINTR and short writes.
@discardableResult
public func writeAll(fd: Int32, _ text: String) -> Bool {
    var text = text
    return text.withUTF8 { buffer in
        var offset = 0
        while offset < buffer.count {
            let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 {
                if edge_errno() == EINTR { continue }
                return false
            }
            offset += n
        }
        return true
    }
}

/// Prints a line on standard output.
public func printLine(_ text: String) {
    writeAll(fd: STDOUT_FILENO, text + "\n")
}

/// Prints a line on standard error.
public func printErrorLine(_ text: String) {
    writeAll(fd: STDERR_FILENO, text + "\n")
}
