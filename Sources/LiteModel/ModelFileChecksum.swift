/// CRC-32 (IEEE 802.3 / zlib: reflected polynomial 0xEDB88320, init and final xor 0xFFFFFFFF).
public struct CRC32 {
    private static let table: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            table[n] = c
        }
        return table
    }()

    private var state: UInt32 = 0xFFFF_FFFF

    public init() {}

    /// Feeds bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var crc = state
        CRC32.table.withUnsafeBufferPointer { table in
            for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        }
        state = crc
    }

    /// The checksum of everything fed so far.
    public var value: UInt32 { state ^ 0xFFFF_FFFF }

    /// The CRC-32 of `bytes`.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = CRC32()
        crc.update(bytes)
        return crc.value
    }
}

/// The file checksum of docs/MODEL_FORMAT.md section 4.
enum ModelChecksum {
    /// The marker that precedes the 8 hex digits in the header.
    static let marker: [UInt8] = Array("\"checksum\":\"crc32:".utf8)

    /// Locates the stored CRC in the header, recomputes it over the file with the digits read as '0', and compares.
    static func verify(file: UnsafeRawBufferPointer, headerLength: Int) throws(ModelFileError) {
        let header = UnsafeRawBufferPointer(rebasing: file[8..<(8 + headerLength)])
        var found: Int? = nil
        if header.count >= marker.count {
            for start in 0...(header.count - marker.count) where header[start] == marker[0] {
                var matches = true
                for index in 1..<marker.count where header[start + index] != marker[index] {
                    matches = false
                    break
                }
                guard matches else { continue }
                if found != nil { throw .badChecksumField(reason: "marker occurs more than once in the header") }
                found = start
            }
        }
        guard let position = found else {
            throw .badChecksumField(reason: "marker \"checksum\":\"crc32: not found in the header")
        }
        let digits = 8 + position + marker.count
        guard digits + 9 <= 8 + headerLength else {
            throw .badChecksumField(reason: "value is not crc32: followed by 8 lowercase hex digits")
        }
        var stored: UInt32 = 0
        for index in 0..<8 {
            let byte = file[digits + index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            default: throw .badChecksumField(reason: "value is not crc32: followed by 8 lowercase hex digits")
            }
            stored = stored << 4 | UInt32(digit)
        }
        guard file[digits + 8] == UInt8(ascii: "\"") else {
            throw .badChecksumField(reason: "value is not crc32: followed by 8 lowercase hex digits")
        }
        var crc = CRC32()
        crc.update(UnsafeRawBufferPointer(rebasing: file[0..<digits]))
        let zeros: [UInt8] = [0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30]
        zeros.withUnsafeBytes { crc.update($0) }
        crc.update(UnsafeRawBufferPointer(rebasing: file[(digits + 8)...]))
        guard crc.value == stored else { throw .checksumMismatch(stored: stored, computed: crc.value) }
    }
}
