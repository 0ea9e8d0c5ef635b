import CEdgeShim
import EdgeRuntime

// CURVE key files. A key file holds one Z85 key (40 characters) on a line; an allow-list holds any
// number. Lines whose first token is not a 40-character Z85 key are comments if they start with '#'
// and errors otherwise (a key may itself begin with '#', so "is it a key" is checked first). Text after
// a key must be blank or a '#' comment.

/// Reads the keys of a key file or allow-list (see the format above); `invalidKeyFile` names the bad line.
public func readCurveKeys(path: String) throws(BusError) -> [CurveKey] {
    let bytes = try readSmallFile(path: path, limit: 1 << 20)
    var keys: [CurveKey] = []
    var lineNumber = 0
    for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
        lineNumber += 1
        let tokens = line.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D })
        guard let first = tokens.first else { continue }
        if let key = CurveKey(z85: String(decoding: first, as: UTF8.self)) {
            if tokens.count > 1 && tokens[1].first != 0x23 {
                throw BusError.invalidKeyFile(path: path, line: lineNumber)
            }
            keys.append(key)
        } else if first.first != 0x23 {
            throw BusError.invalidKeyFile(path: path, line: lineNumber)
        }
    }
    return keys
}

/// Reads a file holding exactly one key (a public or secret key file).
public func readCurveKey(path: String) throws(BusError) -> CurveKey {
    let keys = try readCurveKeys(path: path)
    guard keys.count == 1 else { throw BusError.invalidKeyFile(path: path, line: 0) }
    return keys[0]
}

/// Generates a CURVE key pair and writes it in Z85: the secret key with mode 0600, the public key 0644.
/// Refuses to overwrite existing files (EEXIST), so a deployed identity is never replaced by accident.
@discardableResult
public func writeCurveKeyPair(publicPath: String, secretPath: String) throws(BusError) -> CurveKeyPair {
    let pair: CurveKeyPair
    do { pair = try CurveKeyPair.generate() } catch { throw BusError.zmq(error) }
    let secretText = "# dualsam-edge CURVE secret key: keep private (public key: " + pair.publicKey.z85 + ")\n"
        + pair.secretKey.z85 + "\n"
    let publicText = "# dualsam-edge CURVE public key: give it to peers (allow-lists, subscribers' server key)\n"
        + pair.publicKey.z85 + "\n"
    try writeNewFile(path: secretPath, text: secretText, mode: 0o600)
    try writeNewFile(path: publicPath, text: publicText, mode: 0o644)
    return pair
}

/// Reads a whole regular file of at most `limit` bytes.
func readSmallFile(path: String, limit: Int) throws(BusError) -> [UInt8] {
    let fd = edge_open(path, O_RDONLY | O_CLOEXEC, 0)
    guard fd >= 0 else { throw BusError.system(SystemError.current("open"), path: path) }
    defer { _ = close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if edge_errno() == EINTR { continue }
            throw BusError.system(SystemError.current("read"), path: path)
        }
        if n == 0 { return bytes }
        bytes.append(contentsOf: chunk[0..<n])
        guard bytes.count <= limit else { throw BusError.invalidKeyFile(path: path, line: 0) }
    }
}

/// Creates `path` (which must not exist) with `mode` and writes `text`.
func writeNewFile(path: String, text: String, mode: UInt32) throws(BusError) {
    let fd = edge_open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
    guard fd >= 0 else { throw BusError.system(SystemError.current("open"), path: path) }
    defer { _ = close(fd) }
    // The umask may have narrowed the mode; a public key must stay readable, a secret key never widens.
    _ = fchmod(fd, mode_t(mode))
    if !writeAll(fd: fd, text) { throw BusError.system(SystemError.current("write"), path: path) }
}
