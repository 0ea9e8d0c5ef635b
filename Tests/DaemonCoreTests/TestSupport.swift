import EdgeRuntime
import Foundation
import XCTest

@testable import DaemonCore

/// A small rgb8 frame whose first byte decides what the fake processor reports (0: nothing, 255: failure).
func makeFrame(seq: UInt64, first: UInt8 = 1, width: Int = 4, height: Int = 2) -> Frame {
    var bytes = [UInt8](repeating: 9, count: width * height * 3)
    bytes[0] = first
    return try! Frame(width: width, height: height, encoding: .rgb8, step: width * 3, captureStampNanoseconds: 1,
                      frameId: "f" + String(seq), seq: seq, bytes: bytes, origin: "test")
}

/// A fresh temporary directory removed by the test's teardown.
func makeTemporaryDirectory(_ test: XCTestCase) -> String {
    let path = NSTemporaryDirectory() + "edge-daemon-test-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}

func writeFile(_ path: String, _ bytes: [UInt8]) {
    precondition(FileManager.default.createFile(atPath: path, contents: Data(bytes)), "cannot write " + path)
}

func writeFile(_ path: String, _ text: String) {
    writeFile(path, Array(text.utf8))
}

/// A binary PPM of `width` x `height` with a gradient.
func ppm(width: Int, height: Int, comment: Bool = false) -> [UInt8] {
    var bytes = Array(("P6\n" + (comment ? "# made by a test\n" : "") + String(width) + " " + String(height) + "\n255\n").utf8)
    for i in 0..<(width * height * 3) { bytes.append(UInt8(truncatingIfNeeded: i * 7 + 1)) }
    return bytes
}

/// A 4x3 RGB PNG (pixel (x, y) = (60x, 100y, 7)) made with Pillow.
let tinyPNG = Array(Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAAQAAAADCAIAAAA7ljmRAAAAGElEQVR4nGNkYGC3YWCAIBaGFAY4QOEAACYSAY3bC3g/AAAAAElFTkSuQmCC")!)
/// The same image in grayscale.
let tinyGrayPNG = Array(Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAAQAAAADCAAAAACRn/EaAAAAF0lEQVR4nGNkFBISYrESEhJisRYSEgIAB8wBInC6MWkAAAAASUVORK5CYII=")!)
/// A 16x8 JPEG filled with (200, 100, 50), made with Pillow.
let tinyJPEG = Array(Data(base64Encoded: "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAIBAQEBAQIBAQECAgICAgQDAgICAgUEBAMEBgUGBgYFBgYGBwkIBgcJBwYGCAsICQoKCgoKBggLDAsKDAkKCgr/2wBDAQICAgICAgUDAwUKBwYHCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgr/wAARCAAIABADASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDPooor+Vz+2D//2Q==")!)

/// Polls `condition` every millisecond for up to `seconds`.
func eventually(_ seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(1000)
    }
    return condition()
}

/// The minimal valid config text (replay of `replayPath`, plaintext publishing) plus `extra` lines.
func configText(replayPath: String, model: String = "/models/a.dsam", extra: String = "") -> String {
    """
    [model]
    path = \(model)
    [replay]
    path = \(replayPath)
    rate = 0
    [security]
    plaintext = true
    \(extra)
    """
}
