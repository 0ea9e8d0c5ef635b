import CEdgeShim
import CPng
import CTurboJpeg

/// A decoded still image: tightly packed rows of rgb8 or mono8 pixels.
public struct DecodedImage: Equatable {
    public let width: Int
    public let height: Int
    public let encoding: PixelEncoding
    public let pixels: [UInt8]
}

/// Image file formats the replay source reads, recognised by their first bytes.
public enum ImageFormat: Equatable {
    case png, jpeg, ppm

    /// The format of `bytes`, or nil when unrecognised.
    public static func detect(_ bytes: [UInt8]) -> ImageFormat? {
        if bytes.count >= 8 && bytes[0] == 0x89 && bytes[1] == 0x50 && bytes[2] == 0x4E && bytes[3] == 0x47 { return .png }
        if bytes.count >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF { return .jpeg }
        if bytes.count >= 2 && bytes[0] == 0x50 && bytes[1] == 0x36 { return .ppm }
        return nil
    }

    /// True for file names the replay source picks up from a directory.
    public static func isImageName(_ name: String) -> Bool {
        let lower = String(name.lowercased())
        return lower.hasSuffix(".png") || lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") || lower.hasSuffix(".ppm")
    }
}

/// Decodes a PNG, JPEG or binary PPM held in memory; damaged data is a `FrameError`, never a crash.
public func decodeImage(_ bytes: [UInt8], origin: String) throws(FrameError) -> DecodedImage {
    switch ImageFormat.detect(bytes) {
    case .png: return try decodePNG(bytes, origin: origin)
    case .jpeg: return try decodeJPEG(bytes, origin: origin)
    case .ppm: return try decodePPM(bytes, origin: origin)
    case nil:
        if bytes.isEmpty { throw FrameError(.truncated, origin: origin, "empty file") }
        throw FrameError(.unsupported, origin: origin, "not a PNG, JPEG or binary PPM (P6) image")
    }
}

private func checkDimensions(_ width: Int, _ height: Int, origin: String) throws(FrameError) {
    guard width > 0, height > 0, width <= maxFrameDimension, height <= maxFrameDimension else {
        throw FrameError(.wrongSize, origin: origin, "image size " + String(width) + "x" + String(height)
                         + " outside 1.." + String(maxFrameDimension))
    }
}

/// Binary PPM (P6): "P6", width, height, maxval (1...255) separated by whitespace and `#` comments,
/// one whitespace byte, then width * height RGB triples.
public func decodePPM(_ bytes: [UInt8], origin: String) throws(FrameError) -> DecodedImage {
    var index = 2
    func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 || c == 11 || c == 12 }
    func field(_ name: String) throws(FrameError) -> Int {
        while index < bytes.count {
            if isSpace(bytes[index]) { index += 1 } else if bytes[index] == 35 {
                while index < bytes.count && bytes[index] != 10 { index += 1 }
            } else { break }
        }
        var value = 0
        var digits = 0
        while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
            value = value * 10 + Int(bytes[index] - 48)
            digits += 1
            index += 1
            if digits > 6 { throw FrameError(.corrupt, origin: origin, "PPM " + name + " too large") }
        }
        if index >= bytes.count { throw FrameError(.truncated, origin: origin, "PPM header ends before its " + name) }
        if digits == 0 { throw FrameError(.corrupt, origin: origin, "PPM header: expected the " + name) }
        return value
    }
    let width = try field("width")
    let height = try field("height")
    let maxval = try field("maxval")
    guard maxval >= 1 && maxval <= 255 else {
        throw FrameError(.unsupported, origin: origin, "PPM maxval " + String(maxval) + " (only 8-bit, 1...255)")
    }
    try checkDimensions(width, height, origin: origin)
    guard isSpace(bytes[index]) else { throw FrameError(.corrupt, origin: origin, "PPM header: no whitespace after maxval") }
    index += 1
    let needed = width * height * 3
    let available = bytes.count - index
    if available < needed {
        throw FrameError(.truncated, origin: origin, "PPM data has " + String(available) + " of " + String(needed) + " bytes")
    }
    var pixels = Array(bytes[index..<(index + needed)])
    if maxval != 255 {
        for i in 0..<pixels.count { pixels[i] = UInt8(min(255, (Int(pixels[i]) * 255 + maxval / 2) / maxval)) }
    }
    return DecodedImage(width: width, height: height, encoding: .rgb8, pixels: pixels)
}

/// PNG through libpng's simplified API (it reports errors in `png_image.message` instead of longjmp).
/// Grayscale images decode to mono8, everything else to rgb8 (alpha is composited away).
public func decodePNG(_ bytes: [UInt8], origin: String) throws(FrameError) -> DecodedImage {
    var image = png_image()
    image.version = UInt32(PNG_IMAGE_VERSION)
    let began = bytes.withUnsafeBytes { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
    guard began != 0 else { throw FrameError(.corrupt, origin: origin, "PNG: " + pngMessage(&image)) }
    let width = Int(image.width)
    let height = Int(image.height)
    do throws(FrameError) { try checkDimensions(width, height, origin: origin) } catch {
        png_image_free(&image)
        throw error
    }
    let gray = image.format & UInt32(PNG_FORMAT_FLAG_COLOR) == 0
    image.format = gray ? UInt32(PNG_FORMAT_GRAY) : UInt32(PNG_FORMAT_RGB)
    let channels = gray ? 1 : 3
    var pixels = [UInt8](repeating: 0, count: width * height * channels)
    let finished = pixels.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
    guard finished != 0 else {
        let message = pngMessage(&image)
        png_image_free(&image)
        let truncated = containsText(message, "end") || containsText(message, "EOF") || containsText(message, "truncat")
        throw FrameError(truncated ? .truncated : .corrupt, origin: origin, "PNG: " + message)
    }
    return DecodedImage(width: width, height: height, encoding: gray ? .mono8 : .rgb8, pixels: pixels)
}

private func pngMessage(_ image: inout png_image) -> String {
    withUnsafeBytes(of: &image.message) { raw in
        let bytes = raw.bindMemory(to: UInt8.self)
        var end = 0
        while end < bytes.count && bytes[end] != 0 { end += 1 }
        return end == 0 ? "unknown error" : String(decoding: UnsafeBufferPointer(rebasing: bytes[0..<end]), as: UTF8.self)
    }
}

/// JPEG through libturbojpeg; grayscale JPEGs decode to mono8, the rest to rgb8. Warnings (such as a
/// premature end of data) are errors, so truncated files are rejected.
public func decodeJPEG(_ bytes: [UInt8], origin: String) throws(FrameError) -> DecodedImage {
    guard let handle = tjInitDecompress() else { throw FrameError(.io, origin: origin, "cannot start the JPEG decoder") }
    defer { tjDestroy(handle) }
    var width: Int32 = 0
    var height: Int32 = 0
    var subsampling: Int32 = 0
    var colorspace: Int32 = 0
    let header = bytes.withUnsafeBufferPointer {
        tjDecompressHeader3(handle, $0.baseAddress, UInt($0.count), &width, &height, &subsampling, &colorspace)
    }
    guard header == 0 else { throw FrameError(.corrupt, origin: origin, "JPEG: " + jpegMessage(handle)) }
    try checkDimensions(Int(width), Int(height), origin: origin)
    let gray = colorspace == Int32(TJCS_GRAY.rawValue)
    let format = gray ? Int32(TJPF_GRAY.rawValue) : Int32(TJPF_RGB.rawValue)
    let channels = gray ? 1 : 3
    var pixels = [UInt8](repeating: 0, count: Int(width) * Int(height) * channels)
    let status = bytes.withUnsafeBufferPointer { source in
        pixels.withUnsafeMutableBufferPointer { target in
            tjDecompress2(handle, source.baseAddress, UInt(source.count), target.baseAddress, width, 0, height, format,
                          Int32(TJFLAG_STOPONWARNING))
        }
    }
    guard status == 0 else {
        let message = jpegMessage(handle)
        let truncated = containsText(message, "Premature end")
        throw FrameError(truncated ? .truncated : .corrupt, origin: origin, "JPEG: " + message)
    }
    return DecodedImage(width: Int(width), height: Int(height), encoding: gray ? .mono8 : .rgb8, pixels: pixels)
}

private func jpegMessage(_ handle: tjhandle) -> String {
    guard let text = tjGetErrorStr2(handle) else { return "unknown error" }
    return String(cString: text)
}
