import CEdgeShim
import EdgeRuntime

/// The bytes of a model file: mapped read-only from disk, or an owned copy (tests, in-memory files).
public final class ModelFileBytes {
    /// The whole file.
    public let bytes: UnsafeRawBufferPointer
    private let mapped: Bool

    /// Maps `path` read-only (POSIX open, fstat, mmap); the mapping lives as long as this object.
    public init(path: String) throws(ModelFileError) {
        let fd = edge_open(path, O_RDONLY | O_CLOEXEC, 0)
        guard fd >= 0 else { throw .io(path: path, error: .current("open")) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .io(path: path, error: .current("fstat")) }
        guard UInt32(info.st_mode) & UInt32(S_IFMT) == UInt32(S_IFREG) else { throw .notARegularFile(path: path) }
        let size = Int(info.st_size)
        // mmap of zero bytes fails, and such a file is truncated anyway: keep an empty owned buffer.
        guard size > 0 else {
            bytes = UnsafeRawBufferPointer(UnsafeMutableRawBufferPointer.allocate(byteCount: 0, alignment: 64))
            mapped = false
            return
        }
        let address: UnsafeMutableRawPointer? = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        // MAP_FAILED is the C macro ((void *)-1), which Swift does not import.
        guard let address, address != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw .io(path: path, error: .current("mmap"))
        }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
        mapped = true
    }

    /// An owned, 64-byte-aligned copy of `contents`.
    public init(copying contents: UnsafeRawBufferPointer) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: contents.count, alignment: 64)
        if let source = contents.baseAddress, contents.count > 0 {
            buffer.baseAddress!.copyMemory(from: source, byteCount: contents.count)
        }
        bytes = UnsafeRawBufferPointer(buffer)
        mapped = false
    }

    /// An owned, 64-byte-aligned copy of `contents`.
    public init(_ contents: [UInt8]) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: contents.count, alignment: 64)
        contents.withUnsafeBytes { source in
            if let from = source.baseAddress, source.count > 0 {
                buffer.baseAddress!.copyMemory(from: from, byteCount: source.count)
            }
        }
        bytes = UnsafeRawBufferPointer(buffer)
        mapped = false
    }

    /// Drops the resident pages lying wholly inside `range` (part of `bytes`) from memory: for tensors the
    /// engine has copied into its own layout (packed weights), so they stop counting twice in the resident set.
    /// The mapping stays valid (a later read faults the pages back in from the file); a no-op for an owned copy.
    public func releaseResident(_ range: UnsafeRawBufferPointer) {
        guard mapped, let start = range.baseAddress, range.count > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard page > 0 else { return }
        let lo = (Int(bitPattern: start) + page - 1) / page * page
        let hi = (Int(bitPattern: start) + range.count) / page * page
        guard hi > lo, let address = UnsafeMutableRawPointer(bitPattern: lo) else { return }
        _ = madvise(address, hi - lo, MADV_DONTNEED)
    }

    deinit {
        if mapped {
            munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress!), bytes.count)
        } else {
            UnsafeMutableRawBufferPointer(mutating: bytes).deallocate()
        }
    }
}
