import EdgeRuntime
import XCTest

@testable import DaemonCore

final class ReplaySourceTests: XCTestCase {
    func testDecodesPPMWithComment() throws {
        let image = try decodePPM(ppm(width: 3, height: 2, comment: true), origin: "a.ppm")
        XCTAssertEqual(image.width, 3)
        XCTAssertEqual(image.height, 2)
        XCTAssertEqual(image.pixels.count, 18)
        XCTAssertEqual(image.pixels[0], 1)
        XCTAssertEqual(image.pixels[1], 8)
    }

    func testRejectsBrokenPPMs() {
        let good = ppm(width: 3, height: 2)
        assertFrameError(Array(good.dropLast(5)), .truncated)
        assertFrameError(Array("P6\n3 2\n".utf8), .truncated)
        assertFrameError(Array("P6\n3 x 2\n255\n".utf8), .corrupt)
        assertFrameError(Array("P6\n3 2\n65535\n".utf8) + [UInt8](repeating: 0, count: 36), .unsupported)
        assertFrameError(Array("P6\n99999 2\n255\n".utf8) + [0], .wrongSize)
        assertFrameError(Array("P6\n0 2\n255\n".utf8) + [0], .wrongSize)
    }

    func testDecodesPNGColourAndGray() throws {
        let rgb = try decodePNG(tinyPNG, origin: "a.png")
        XCTAssertEqual(rgb.width, 4)
        XCTAssertEqual(rgb.height, 3)
        XCTAssertEqual(rgb.encoding, .rgb8)
        // Pixel (x=2, y=1) is (120, 100, 7).
        let i = (1 * 4 + 2) * 3
        XCTAssertEqual(Array(rgb.pixels[i..<(i + 3)]), [120, 100, 7])
        let gray = try decodePNG(tinyGrayPNG, origin: "g.png")
        XCTAssertEqual(gray.encoding, .mono8)
        XCTAssertEqual(gray.pixels.count, 12)
    }

    func testRejectsBrokenPNGs() {
        var badCRC = tinyPNG
        badCRC[20] ^= 0xFF
        XCTAssertThrowsError(try decodeImage(badCRC, origin: "crc.png")) { error in
            XCTAssertEqual((error as? FrameError)?.kind, .corrupt, "\(error)")
        }
        XCTAssertThrowsError(try decodeImage(Array(tinyPNG.prefix(40)), origin: "short.png")) { error in
            let e = error as? FrameError
            XCTAssertTrue(e?.kind == .truncated || e?.kind == .corrupt, "\(error)")
            XCTAssertEqual(e?.origin, "short.png")
        }
    }

    func testDecodesJPEGAndRejectsTruncated() throws {
        let image = try decodeJPEG(tinyJPEG, origin: "a.jpg")
        XCTAssertEqual(image.width, 16)
        XCTAssertEqual(image.height, 8)
        XCTAssertEqual(image.encoding, .rgb8)
        XCTAssertEqual(Int(image.pixels[0]), 200, accuracy: 4)
        XCTAssertEqual(Int(image.pixels[1]), 100, accuracy: 4)
        XCTAssertThrowsError(try decodeImage(Array(tinyJPEG.prefix(tinyJPEG.count - 30)), origin: "cut.jpg")) { error in
            XCTAssertNotNil(error as? FrameError)
        }
        XCTAssertThrowsError(try decodeImage([0xFF, 0xD8, 0xFF, 0x00, 0x01], origin: "junk.jpg"))
    }

    func testUnknownFormatIsUnsupported() {
        assertFrameError(Array("GIF89a....".utf8), .unsupported)
        assertFrameError([], .truncated)
    }

    func testReplaysDirectoryInOrderSkippingBadFilesAndWrongSizes() throws {
        let dir = makeTemporaryDirectory(self)
        writeFile(dir + "/frame_01.ppm", ppm(width: 4, height: 3))
        writeFile(dir + "/frame_02.png", tinyPNG)
        writeFile(dir + "/frame_03.ppm", Array(ppm(width: 4, height: 3).dropLast(1)))
        writeFile(dir + "/frame_04.ppm", ppm(width: 5, height: 3))
        writeFile(dir + "/frame_05.png", tinyGrayPNG)
        writeFile(dir + "/notes.txt", "not an image")
        var settings = ReplaySettings()
        settings.path = dir
        settings.rate = 0
        settings.width = 4
        settings.height = 3
        let source = try ReplaySource(settings: settings)
        XCTAssertEqual(source.fileList.map { baseName($0) }, ["frame_01.ppm", "frame_02.png", "frame_03.ppm", "frame_04.ppm", "frame_05.png"])
        var frames: [Frame] = []
        var errors: [FrameError] = []
        loop: while true {
            do {
                switch try source.next() {
                case .frame(let f): frames.append(f)
                case .idle: continue
                case .end: break loop
                }
            } catch { errors.append(error) }
        }
        XCTAssertEqual(frames.map { $0.frameId }, ["frame_01.ppm", "frame_02.png", "frame_05.png"])
        XCTAssertEqual(frames.map { $0.seq }, [1, 2, 5])
        XCTAssertEqual(frames[2].encoding, .mono8)
        XCTAssertEqual(errors.map { $0.kind }, [.truncated, .wrongSize])
    }

    func testLoopingRestartsAndRateIsPaced() throws {
        let dir = makeTemporaryDirectory(self)
        writeFile(dir + "/a.ppm", ppm(width: 2, height: 2))
        var settings = ReplaySettings()
        settings.path = dir
        settings.rate = 100
        settings.loop = true
        let source = try ReplaySource(settings: settings)
        let start = SystemClock().monotonicNanoseconds()
        var seqs: [UInt64] = []
        while seqs.count < 4 {
            if case .frame(let f) = try source.next() { seqs.append(f.seq) }
        }
        XCTAssertEqual(seqs, [1, 2, 3, 4])
        // Three periods of 10 ms must have passed between the first and fourth frame.
        XCTAssertGreaterThanOrEqual(SystemClock().monotonicNanoseconds() - start, 30_000_000)
    }

    func testInterruptWakesAPacedWait() throws {
        let dir = makeTemporaryDirectory(self)
        writeFile(dir + "/a.ppm", ppm(width: 2, height: 2))
        var settings = ReplaySettings()
        settings.path = dir
        settings.rate = 0.1
        settings.loop = true
        let source = try ReplaySource(settings: settings)
        _ = try source.next()
        let thread = try WorkerThread(name: "interrupter") {
            sleepNanoseconds(20_000_000)
            source.interrupt()
        }
        XCTAssertEqual(try source.next(), .idle)
        thread.join()
    }

    func testLoopingOverOnlyBadFilesPausesInsteadOfSpinning() throws {
        let dir = makeTemporaryDirectory(self)
        writeFile(dir + "/bad.ppm", Array("P6\n2 2\n255\n".utf8))
        var settings = ReplaySettings()
        settings.path = dir
        settings.rate = 0
        settings.loop = true
        let source = try ReplaySource(settings: settings)
        XCTAssertThrowsError(try source.next())
        let start = SystemClock().monotonicNanoseconds()
        let thread = try WorkerThread(name: "interrupter") {
            sleepNanoseconds(50_000_000)
            source.interrupt()
        }
        XCTAssertEqual(try source.next(), .idle, "the wrap-around after a pass without frames waits")
        thread.join()
        XCTAssertGreaterThanOrEqual(SystemClock().monotonicNanoseconds() - start, 50_000_000)
        XCTAssertThrowsError(try source.next(), "then carries on with the files")
    }

    func testMissingOrEmptyPathIsASourceError() {
        var settings = ReplaySettings()
        settings.path = "/nonexistent/frames"
        XCTAssertThrowsError(try ReplaySource(settings: settings))
        settings.path = makeTemporaryDirectory(self)
        XCTAssertThrowsError(try ReplaySource(settings: settings)) { error in
            XCTAssertTrue((error as? SourceError)?.message.contains("holds no") == true)
        }
    }

    private func assertFrameError(_ bytes: [UInt8], _ kind: FrameError.Kind, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try decodeImage(bytes, origin: "x"), file: file, line: line) { error in
            XCTAssertEqual((error as? FrameError)?.kind, kind, "\(error)", file: file, line: line)
        }
    }
}
