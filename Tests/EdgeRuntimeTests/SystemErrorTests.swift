import CEdgeShim
import XCTest

@testable import EdgeRuntime

final class SystemErrorTests: XCTestCase {
    func testDescriptionNamesCallAndErrno() {
        let error = SystemError("open", code: ENOENT)
        XCTAssertEqual(error.description, "open: No such file or directory (errno 2)")
    }

    func testCurrentCapturesErrno() {
        edge_set_errno(EACCES)
        XCTAssertEqual(SystemError.current("bind").code, EACCES)
    }

    func testWriteAllReportsFailureOnClosedDescriptor() {
        XCTAssertFalse(writeAll(fd: -1, "lost"))
    }

    func testWriteAllWritesEveryByte() {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]) }
        let text = String(repeating: "dualsam ", count: 1000)
        XCTAssertTrue(writeAll(fd: fds[1], text))
        close(fds[1])
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fds[0], &buffer, buffer.count)
            if n <= 0 { break }
            received += buffer[0..<n]
        }
        XCTAssertEqual(String(decoding: received, as: UTF8.self), text)
    }
}
