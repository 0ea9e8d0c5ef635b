import CEdgeShim
import CZmq

/// A CURVE key (32 bytes), shown as 40 Z85 characters in key files and logs.
public struct CurveKey: Equatable {
    /// The raw 32 key bytes libzmq takes in ZMQ_CURVE_* options.
    public let bytes: [UInt8]

    /// Wraps 32 raw key bytes; nil for any other length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    /// Decodes 40 Z85 characters (`zmq_z85_decode`); nil when the text is not a valid Z85 key.
    public init?(z85 text: String) {
        let characters = Array(text.utf8)
        guard characters.count == 40 else { return nil }
        // Z85's alphabet: digits, letters and .-:+=^!/*?&<>()[]{}@%$#
        for c in characters where !CurveKey.isZ85(c) { return nil }
        var terminated = characters
        terminated.append(0)
        var decoded = [UInt8](repeating: 0, count: 32)
        let ok = terminated.withUnsafeBufferPointer { source in
            decoded.withUnsafeMutableBufferPointer { target in
                source.baseAddress!.withMemoryRebound(to: CChar.self, capacity: source.count) { text in
                    zmq_z85_decode(target.baseAddress, text) != nil
                }
            }
        }
        guard ok else { return nil }
        self.bytes = decoded
    }

    /// The key as 40 Z85 characters (`zmq_z85_encode`).
    public var z85: String {
        var text = [CChar](repeating: 0, count: 41)
        bytes.withUnsafeBufferPointer { source in
            _ = zmq_z85_encode(&text, source.baseAddress, 32)
        }
        return String(decoding: text[0..<40].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func isZ85(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "A")...UInt8(ascii: "Z"):
            return true
        default:
            for allowed in ".-:+=^!/*?&<>()[]{}@%$#".utf8 where allowed == c { return true }
            return false
        }
    }
}

/// A CURVE key pair: the public key is shared with peers, the secret key never leaves the machine.
public struct CurveKeyPair: Equatable {
    /// The public half (given to servers' allow-lists or to clients as the server key).
    public let publicKey: CurveKey
    /// The secret half.
    public let secretKey: CurveKey

    public init(publicKey: CurveKey, secretKey: CurveKey) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// Generates a fresh key pair (`zmq_curve_keypair`; needs libzmq built with CURVE support).
    public static func generate() throws(ZmqError) -> CurveKeyPair {
        var publicText = [CChar](repeating: 0, count: 41)
        var secretText = [CChar](repeating: 0, count: 41)
        if zmq_curve_keypair(&publicText, &secretText) != 0 { throw ZmqError.current("zmq_curve_keypair") }
        guard let publicKey = CurveKey(z85: textUpToNul(publicText)),
              let secretKey = CurveKey(z85: textUpToNul(secretText)) else {
            throw ZmqError("zmq_curve_keypair", code: EINVAL)
        }
        return CurveKeyPair(publicKey: publicKey, secretKey: secretKey)
    }

    /// Derives the key pair of a secret key (`zmq_curve_public`).
    public static func derive(secretKey: CurveKey) throws(ZmqError) -> CurveKeyPair {
        var publicText = [CChar](repeating: 0, count: 41)
        var secretText = Array(secretKey.z85.utf8).map { CChar(bitPattern: $0) }
        secretText.append(0)
        if zmq_curve_public(&publicText, secretText) != 0 { throw ZmqError.current("zmq_curve_public") }
        guard let publicKey = CurveKey(z85: textUpToNul(publicText)) else {
            throw ZmqError("zmq_curve_public", code: EINVAL)
        }
        return CurveKeyPair(publicKey: publicKey, secretKey: secretKey)
    }
}

/// The characters of a NUL-terminated C buffer before its first NUL.
func textUpToNul(_ characters: [CChar]) -> String {
    var bytes: [UInt8] = []
    for c in characters {
        if c == 0 { break }
        bytes.append(UInt8(bitPattern: c))
    }
    return String(decoding: bytes, as: UTF8.self)
}
