import CEdgeShim
import EdgeRuntime

/// EdgeRuntime on the target: typed libc errors, writing to descriptors, argv capture, build facts.
func registerEdgeRuntimeTests(_ registry: inout TestRegistry) {
    registry.add("EdgeRuntime/SystemError captures errno and describes it") { t in
        let fd = edge_open("/nonexistent-edge-selftest/file", O_RDONLY, 0)
        t.expectEqual(fd, -1, "open of a missing file:")
        let error = SystemError.current("open")
        t.expectEqual(error.code, ENOENT, "errno:")
        t.expectEqual(error.description, "open: No such file or directory (errno 2)")
        t.expect(error == SystemError("open", code: ENOENT), "equal errors compare equal")
    }

    registry.add("EdgeRuntime/writeAll delivers every byte through a pipe") { t in
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return t.fail("pipe failed, errno " + String(edge_errno())) }
        defer { close(fds[0]) }
        // Larger than one write on some kernels, smaller than the 64 KiB pipe buffer so nothing blocks.
        var text = ""
        for i in 0..<400 { text += "line " + String(i) + " of the edge-selftest pipe check\n" }
        t.expect(writeAll(fd: fds[1], text), "writeAll reported a failure")
        close(fds[1])
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if n <= 0 { break }
            received.append(contentsOf: buffer[0..<n])
        }
        t.expectEqual(received.count, text.utf8.count, "bytes received:")
        t.expect(received.elementsEqual(text.utf8), "the bytes differ from what was written")
    }

    registry.add("EdgeRuntime/writeAll reports a closed descriptor") { t in
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return t.fail("pipe failed") }
        close(fds[0])
        close(fds[1])
        t.expect(!writeAll(fd: fds[1], "x"), "writing to a closed descriptor succeeded")
    }

    registry.add("EdgeRuntime/processArguments drops the program name") { t in
        t.expect(edge_argc() >= 1, "argc was not captured before main")
        t.expectEqual(processArguments().count, Int(edge_argc()) - 1, "argument count:")
    }

    registry.add("EdgeRuntime/BuildInfo.version is MAJOR.MINOR.PATCH") { t in
        let parts = BuildInfo.version.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        t.expectEqual(parts.count, 3, "dot-separated parts in " + BuildInfo.version + ":")
        for part in parts {
            t.expect(!part.isEmpty && part.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") },
                     "non-numeric part in " + BuildInfo.version)
        }
        #if arch(arm64)
        t.expectEqual(BuildInfo.architecture, "aarch64")
        #elseif arch(x86_64)
        t.expectEqual(BuildInfo.architecture, "x86_64")
        #endif
    }
}
