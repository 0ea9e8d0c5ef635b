/// The camera-frame header (docs/WIRE.md, "Camera frames (input)"): 42 little-endian bytes, then the frame_id bytes.
///
///     offset size field
///     0      4    magic "EDGF"
///     4      2    version (1)
///     6      2    encoding: 0 rgb8, 1 bgr8, 2 mono8, 3 yuyv
///     8      4    width
///     12     4    height
///     16     4    step (bytes per row)
///     20     4    reserved (0)
///     24     8    seq
///     32     8    capture stamp, ns since the Unix epoch
///     40     2    frame_id length n (0...255)
///     42     n    frame_id, UTF-8
public struct CameraFrameHeader: Equatable {
    public static let magic: [UInt8] = [0x45, 0x44, 0x47, 0x46]
    public static let version: UInt16 = 1
    public static let fixedSize = 42

    public var encoding: PixelEncoding
    public var width: Int
    public var height: Int
    public var step: Int
    public var seq: UInt64
    public var captureStampNanoseconds: UInt64
    public var frameId: String

    public init(encoding: PixelEncoding, width: Int, height: Int, step: Int, seq: UInt64, captureStampNanoseconds: UInt64, frameId: String) {
        self.encoding = encoding
        self.width = width
        self.height = height
        self.step = step
        self.seq = seq
        self.captureStampNanoseconds = captureStampNanoseconds
        self.frameId = frameId
    }

    static func code(_ encoding: PixelEncoding) -> UInt16 {
        switch encoding {
        case .rgb8: return 0
        case .bgr8: return 1
        case .mono8: return 2
        case .yuyv: return 3
        }
    }

    /// Parses a header frame; every malformed field is a `FrameError` naming it.
    public static func parse(_ bytes: [UInt8], origin: String) throws(FrameError) -> CameraFrameHeader {
        guard bytes.count >= fixedSize else {
            throw FrameError(.truncated, origin: origin, "header has " + String(bytes.count) + " bytes, expected at least " + String(fixedSize))
        }
        guard Array(bytes[0..<4]) == magic else { throw FrameError(.corrupt, origin: origin, "header does not start with EDGF") }
        func u16(_ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
        func u32(_ at: Int) -> UInt32 { UInt32(u16(at)) | UInt32(u16(at + 2)) << 16 }
        func u64(_ at: Int) -> UInt64 { UInt64(u32(at)) | UInt64(u32(at + 4)) << 32 }
        let version = u16(4)
        guard version == self.version else {
            throw FrameError(.unsupported, origin: origin, "header version " + String(version) + " (this daemon reads 1)")
        }
        let encoding: PixelEncoding
        switch u16(6) {
        case 0: encoding = .rgb8
        case 1: encoding = .bgr8
        case 2: encoding = .mono8
        case 3: encoding = .yuyv
        default: throw FrameError(.unsupported, origin: origin, "unknown encoding code " + String(u16(6)))
        }
        let idLength = Int(u16(40))
        guard idLength <= 255 else { throw FrameError(.corrupt, origin: origin, "frame_id length " + String(idLength) + " > 255") }
        guard bytes.count == fixedSize + idLength else {
            throw FrameError(bytes.count < fixedSize + idLength ? .truncated : .corrupt, origin: origin,
                             "header has " + String(bytes.count) + " bytes, expected " + String(fixedSize + idLength))
        }
        let id = Array(bytes[fixedSize..<(fixedSize + idLength)])
        guard let frameId = String(validating: id, as: UTF8.self) else {
            throw FrameError(.corrupt, origin: origin, "frame_id is not UTF-8")
        }
        return CameraFrameHeader(encoding: encoding, width: Int(u32(8)), height: Int(u32(12)), step: Int(u32(16)),
                                 seq: u64(24), captureStampNanoseconds: u64(32), frameId: frameId)
    }

    /// The wire bytes of this header.
    public func serialized() -> [UInt8] {
        var out = CameraFrameHeader.magic
        func put(_ value: UInt64, _ size: Int) { for i in 0..<size { out.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) } }
        put(UInt64(CameraFrameHeader.version), 2)
        put(UInt64(CameraFrameHeader.code(encoding)), 2)
        put(UInt64(width), 4)
        put(UInt64(height), 4)
        put(UInt64(step), 4)
        put(0, 4)
        put(seq, 8)
        put(captureStampNanoseconds, 8)
        let id = Array(frameId.utf8.prefix(255))
        put(UInt64(id.count), 2)
        out += id
        return out
    }
}
