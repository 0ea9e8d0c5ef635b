/// Pixel layouts a frame source may deliver.
public enum PixelEncoding: Equatable, Sendable {
    case rgb8, bgr8, mono8, yuyv

    /// Parses the wire/config name ("rgb8", "bgr8", "mono8", "yuyv").
    public init?(name: String) {
        switch name {
        case "rgb8": self = .rgb8
        case "bgr8": self = .bgr8
        case "mono8": self = .mono8
        case "yuyv", "yuv422_yuy2": self = .yuyv
        default: return nil
        }
    }

    /// The wire name.
    public var name: String {
        switch self {
        case .rgb8: return "rgb8"
        case .bgr8: return "bgr8"
        case .mono8: return "mono8"
        case .yuyv: return "yuyv"
        }
    }

    /// Bytes per pixel (YUYV packs two pixels in four bytes).
    public var bytesPerPixel: Int {
        switch self {
        case .rgb8, .bgr8: return 3
        case .mono8: return 1
        case .yuyv: return 2
        }
    }
}

/// Why a frame was rejected; the pipeline counts it, logs it and carries on.
public struct FrameError: Error, Equatable {
    public enum Kind: Equatable, Sendable {
        /// The image data is damaged or not an image.
        case corrupt
        /// The image or message ends early.
        case truncated
        /// Width, height or step do not match what is configured or what the data holds.
        case wrongSize
        /// A pixel encoding or image format we do not handle.
        case unsupported
        /// Reading the input failed.
        case io
    }

    public let kind: Kind
    /// What the frame came from (a file path, an endpoint).
    public let origin: String
    public let message: String

    public init(_ kind: Kind, origin: String, _ message: String) {
        self.kind = kind
        self.origin = origin
        self.message = message
    }

    /// The kind's name, for logs and counters.
    public var kindName: String {
        switch kind {
        case .corrupt: return "corrupt"
        case .truncated: return "truncated"
        case .wrongSize: return "wrong size"
        case .unsupported: return "unsupported"
        case .io: return "unreadable"
        }
    }

    /// "corrupt frame from /x/a.png: ...".
    public var description: String { kindName + " frame from " + origin + ": " + message }
}

/// Largest width or height accepted from any source (bounds allocations from a hostile header).
public let maxFrameDimension = 8192

/// One camera image with its capture metadata; the bytes are owned by the frame.
public struct Frame: Equatable {
    public let width: Int
    public let height: Int
    public let encoding: PixelEncoding
    /// Bytes per row (at least width * bytesPerPixel).
    public let step: Int
    /// Acquisition time, nanoseconds since the Unix epoch (the camera's stamp, or read time for replay).
    public let captureStampNanoseconds: UInt64
    /// Camera or file identifier carried to the detections (e.g. the file name for replay).
    public let frameId: String
    /// The source's sequence number.
    public let seq: UInt64
    public let bytes: [UInt8]

    /// Builds a frame after checking that the sizes agree with the data.
    public init(width: Int, height: Int, encoding: PixelEncoding, step: Int, captureStampNanoseconds: UInt64,
                frameId: String, seq: UInt64, bytes: [UInt8], origin: String) throws(FrameError) {
        guard width > 0, height > 0, width <= maxFrameDimension, height <= maxFrameDimension else {
            throw FrameError(.wrongSize, origin: origin, "size " + String(width) + "x" + String(height)
                             + " outside 1.." + String(maxFrameDimension))
        }
        if encoding == .yuyv && width % 2 != 0 {
            throw FrameError(.wrongSize, origin: origin, "yuyv needs an even width, got " + String(width))
        }
        let rowBytes = width * encoding.bytesPerPixel
        guard step >= rowBytes else {
            throw FrameError(.wrongSize, origin: origin, "step " + String(step) + " is less than width * "
                             + String(encoding.bytesPerPixel) + " = " + String(rowBytes))
        }
        let needed = step * (height - 1) + rowBytes
        guard bytes.count >= needed else {
            throw FrameError(.truncated, origin: origin, "expected at least " + String(needed) + " bytes for "
                             + String(width) + "x" + String(height) + " " + encoding.name + ", got " + String(bytes.count))
        }
        guard bytes.count <= step * height else {
            throw FrameError(.wrongSize, origin: origin, "expected at most " + String(step * height)
                             + " bytes, got " + String(bytes.count))
        }
        self.width = width
        self.height = height
        self.encoding = encoding
        self.step = step
        self.captureStampNanoseconds = captureStampNanoseconds
        self.frameId = frameId
        self.seq = seq
        self.bytes = bytes
    }

    /// The metadata without the pixels.
    public var info: FrameInfo {
        FrameInfo(width: width, height: height, encoding: encoding, captureStampNanoseconds: captureStampNanoseconds,
                  frameId: frameId, seq: seq)
    }
}

/// A frame's metadata, carried with its detections to the sink.
public struct FrameInfo: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public let encoding: PixelEncoding
    public let captureStampNanoseconds: UInt64
    public let frameId: String
    public let seq: UInt64

    public init(width: Int, height: Int, encoding: PixelEncoding, captureStampNanoseconds: UInt64, frameId: String, seq: UInt64) {
        self.width = width
        self.height = height
        self.encoding = encoding
        self.captureStampNanoseconds = captureStampNanoseconds
        self.frameId = frameId
        self.seq = seq
    }
}
