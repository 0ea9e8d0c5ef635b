import CEdgeShim
import EdgeRuntime

/// Replays an image file or a directory of PNG/JPEG/PPM files at a set rate, once or looping.
public final class ReplaySource: FrameSource {
    public let name: String
    private let files: [String]
    private let settings: ReplaySettings
    private let clock: any Clock
    private let monitor = Monitor()
    private var interrupted = false
    private var index = 0
    private var seq: UInt64 = 0
    private var nextDue: UInt64? = nil
    private var framesThisPass = 0
    /// Largest image file read (bounds memory on a hostile file).
    public static let maxFileBytes = 64 << 20

    /// Lists the images to replay; an unreadable path or one without images is a `SourceError`.
    public init(settings: ReplaySettings, clock: any Clock = SystemClock()) throws(SourceError) {
        self.settings = settings
        self.clock = clock
        name = "replay " + settings.path
        var info = stat()
        guard stat(settings.path, &info) == 0 else {
            throw SourceError("replay.path " + settings.path + ": " + SystemError.current("stat").description)
        }
        if (info.st_mode & UInt32(S_IFMT)) == UInt32(S_IFDIR) {
            files = try ReplaySource.listImages(settings.path)
            if files.isEmpty { throw SourceError("replay.path " + settings.path + " holds no .png, .jpg, .jpeg or .ppm files") }
        } else {
            files = [settings.path]
        }
    }

    /// The files replayed, in order.
    public var fileList: [String] { files }

    static func listImages(_ directory: String) throws(SourceError) -> [String] {
        guard let dir = opendir(directory) else {
            throw SourceError("replay.path " + directory + ": " + SystemError.current("opendir").description)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: &entry.pointee.d_name) { raw -> String in
                let bytes = raw.bindMemory(to: UInt8.self)
                var end = 0
                while end < bytes.count && bytes[end] != 0 { end += 1 }
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[0..<end]), as: UTF8.self)
            }
            if !name.hasPrefix(".") && ImageFormat.isImageName(name) { names.append(name) }
        }
        // Byte order, so frame_000010 follows frame_000009 when numbers are zero-padded.
        names.sort { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        return names.map { prefix + $0 }
    }

    public func next() throws(FrameError) -> SourceEvent {
        if index >= files.count {
            if !settings.loop { return .end }
            index = 0
            if framesThisPass == 0 && !pauseAfterBadPass() { return .idle }
            framesThisPass = 0
        }
        if !waitUntilDue() { return .idle }
        let path = files[index]
        index += 1
        seq += 1
        let bytes: [UInt8]
        do throws(SystemError) { bytes = try readFileBytes(path: path, limit: ReplaySource.maxFileBytes) } catch {
            throw FrameError(.io, origin: path, error.description)
        }
        let image = try decodeImage(bytes, origin: path)
        if (settings.width != 0 && image.width != settings.width) || (settings.height != 0 && image.height != settings.height) {
            throw FrameError(.wrongSize, origin: path, "image is " + String(image.width) + "x" + String(image.height)
                             + ", configured " + String(settings.width) + "x" + String(settings.height))
        }
        let frame = try Frame(width: image.width, height: image.height, encoding: image.encoding,
                              step: image.width * image.encoding.bytesPerPixel,
                              captureStampNanoseconds: clock.realtimeNanoseconds(), frameId: baseName(path), seq: seq,
                              bytes: image.pixels, origin: path)
        framesThisPass += 1
        return .frame(frame)
    }

    /// A looping replay in which no file decoded: wait a second per pass instead of spinning.
    private func pauseAfterBadPass() -> Bool {
        monitor.locked {
            let deadline = clock.monotonicNanoseconds() + 1_000_000_000
            while !interrupted && monitor.wait(untilMonotonic: deadline) {}
            if interrupted { interrupted = false; return false }
            return true
        }
    }

    /// Paces frames at `rate`; returns false when interrupted first.
    private func waitUntilDue() -> Bool {
        monitor.locked {
            if interrupted { interrupted = false; return false }
            guard settings.rate > 0 else { return true }
            let period = UInt64(1e9 / settings.rate)
            let now = clock.monotonicNanoseconds()
            let due = nextDue ?? now
            // Never try to catch up after a long stall: that would burst frames into the slot.
            nextDue = max(due, now) + period
            while !interrupted && clock.monotonicNanoseconds() < due {
                monitor.wait(untilMonotonic: due)
            }
            if interrupted { interrupted = false; nextDue = due; return false }
            return true
        }
    }

    public func interrupt() {
        monitor.locked {
            interrupted = true
            monitor.broadcast()
        }
    }
}

/// The last path component.
func baseName(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return path }
    return String(path[path.index(after: slash)...])
}

/// Builds the source named by `[source] kind`.
public final class StandardSourceFactory: FrameSourceFactory {
    private let clock: any Clock

    public init(clock: any Clock = SystemClock()) { self.clock = clock }

    public func makeSource(_ config: DaemonConfig, logger: Logger) throws(SourceError) -> any FrameSource {
        switch config.source {
        case .replay:
            return try ReplaySource(settings: config.replay, clock: clock)
        case .camera:
            return try CameraSource(settings: config.camera)
        }
    }
}
