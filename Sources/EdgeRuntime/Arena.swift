import CEdgeShim

/// Why an arena or a tensor view could not be made.
public enum TensorError: Error, Equatable {
    /// posix_memalign failed (errno-style code).
    case allocationFailed(bytes: Int, code: Int32)
    /// The view would reach past its buffer.
    case outOfBounds(offset: Int, bytes: Int, capacity: Int)
    /// The view's start is not aligned for its element type or for `tensorAlignment`.
    case misaligned(offset: Int, alignment: Int)
    /// Rank above `TensorShape.maxRank`, a negative dimension or stride, or a size overflow.
    case badShape(shape: [Int])
    /// A reshape or slice that the view's layout cannot express.
    case badView(reason: String)

    /// A one-line message.
    public var description: String {
        switch self {
        case let .allocationFailed(bytes, code):
            return "cannot allocate an arena of " + formatBytes(bytes) + " (" + String(bytes) + " bytes): "
                + SystemError("posix_memalign", code: code).description
        case let .outOfBounds(offset, bytes, capacity):
            return "tensor view at offset " + String(offset) + " of " + String(bytes) + " bytes reaches past its buffer of "
                + String(capacity) + " bytes"
        case let .misaligned(offset, alignment):
            return "tensor view at offset " + String(offset) + " is not " + String(alignment) + "-byte aligned"
        case let .badShape(shape):
            return "bad tensor shape " + formatShape(shape) + " (rank over " + String(TensorShape.maxRank)
                + ", negative dimension or overflow)"
        case let .badView(reason):
            return "bad tensor view: " + reason
        }
    }
}

/// One 64-byte-aligned block of memory holding every intermediate tensor, allocated once when a model loads.
public final class Arena {
    /// Usable bytes.
    public let size: Int
    /// Start of the block (64-byte aligned).
    public let base: UnsafeMutableRawPointer

    /// Allocates `size` bytes (at least one alignment unit, so the base is never null) and zeroes them, so
    /// the pages are touched at load rather than during the first frame.
    public init(size: Int) throws(TensorError) {
        guard size >= 0, size <= Int.max - tensorAlignment else { throw .allocationFailed(bytes: size, code: ENOMEM) }
        let bytes = alignUp(max(size, tensorAlignment), tensorAlignment)
        var pointer: UnsafeMutableRawPointer? = nil
        let status = posix_memalign(&pointer, tensorAlignment, bytes)
        guard status == 0, let base = pointer else { throw .allocationFailed(bytes: size, code: status) }
        memset(base, 0, bytes)
        self.size = size
        self.base = base
    }

    deinit {
        free(base)
    }

    /// A view of `shape` (row-major, contiguous) at byte `offset`; checked against the arena's bounds.
    public func view<Element: ArenaElement>(_ type: Element.Type, offset: Int, shape: TensorShape) throws(TensorError) -> TensorView<Element> {
        guard offset >= 0, offset % tensorAlignment == 0 else { throw .misaligned(offset: offset, alignment: tensorAlignment) }
        guard offset <= size else { throw .outOfBounds(offset: offset, bytes: 0, capacity: size) }
        let capacity = (size - offset) / MemoryLayout<Element>.stride
        return try TensorView(base: (base + offset).assumingMemoryBound(to: Element.self), capacity: capacity, shape: shape)
    }

    /// The view of tensor `index` of `plan`, typed as the descriptor says.
    public func view<Element: ArenaElement>(_ type: Element.Type, plan: MemoryPlan, tensor index: Int) throws(TensorError) -> TensorView<Element> {
        guard index >= 0 && index < plan.tensors.count else { throw .badView(reason: "tensor index outside the plan") }
        let descriptor = plan.tensors[index]
        guard descriptor.dtype == Element.dtype else {
            throw .badView(reason: "element type does not match the planned dtype")
        }
        return try view(type, offset: plan.offsets[index], shape: try TensorShape(descriptor.shape))
    }

    /// Sets every byte to zero.
    public func zero() {
        memset(base, 0, size)
    }
}
