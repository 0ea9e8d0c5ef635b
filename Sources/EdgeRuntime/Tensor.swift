/// An element type a tensor view can hold.
public protocol ArenaElement: BitwiseCopyable {
    /// The planner's name for this type.
    static var dtype: DType { get }
}

extension Int8: ArenaElement { public static var dtype: DType { .int8 } }
extension UInt8: ArenaElement { public static var dtype: DType { .uint8 } }
extension Int32: ArenaElement { public static var dtype: DType { .int32 } }
extension Float: ArenaElement { public static var dtype: DType { .float32 } }

/// Up to six dimensions stored inline, so shapes and strides never touch the heap.
public struct TensorShape: Equatable {
    /// The most dimensions a shape holds.
    public static let maxRank = 6
    /// Number of dimensions.
    public let rank: Int
    private var dims: (Int, Int, Int, Int, Int, Int)

    /// A shape from an array; fails on rank over `maxRank`, a negative dimension or an element count overflow.
    public init(_ dimensions: [Int]) throws(TensorError) {
        guard dimensions.count <= TensorShape.maxRank else { throw .badShape(shape: dimensions) }
        var total = 1
        for dimension in dimensions {
            guard dimension >= 0 else { throw .badShape(shape: dimensions) }
            let (product, overflow) = total.multipliedReportingOverflow(by: dimension)
            guard !overflow, product <= Int.max / 16 else { throw .badShape(shape: dimensions) }
            total = product
        }
        rank = dimensions.count
        dims = (0, 0, 0, 0, 0, 0)
        for (index, dimension) in dimensions.enumerated() { set(index, dimension) }
    }

    /// Dimension `index` (0 ..< rank).
    public subscript(index: Int) -> Int {
        precondition(index >= 0 && index < rank, "TensorShape index out of range")
        switch index {
        case 0: return dims.0
        case 1: return dims.1
        case 2: return dims.2
        case 3: return dims.3
        case 4: return dims.4
        default: return dims.5
        }
    }

    private mutating func set(_ index: Int, _ value: Int) {
        switch index {
        case 0: dims.0 = value
        case 1: dims.1 = value
        case 2: dims.2 = value
        case 3: dims.3 = value
        case 4: dims.4 = value
        default: dims.5 = value
        }
    }

    /// Product of the dimensions (1 for rank 0).
    public var elementCount: Int {
        var total = 1
        for index in 0..<rank { total *= self[index] }
        return total
    }

    /// Row-major strides in elements (the last dimension is contiguous).
    public var contiguousStrides: TensorShape {
        var strides = self
        var step = 1
        var index = rank - 1
        while index >= 0 {
            strides.set(index, step)
            step *= self[index]
            index -= 1
        }
        return strides
    }

    /// The dimensions as an array (for messages and tests).
    public var array: [Int] {
        var out: [Int] = []
        for index in 0..<rank { out.append(self[index]) }
        return out
    }

    /// This shape with dimension `index` replaced.
    func replacing(_ index: Int, with value: Int) -> TensorShape {
        var copy = self
        copy.set(index, value)
        return copy
    }

    public static func == (lhs: TensorShape, rhs: TensorShape) -> Bool {
        guard lhs.rank == rhs.rank else { return false }
        for index in 0..<lhs.rank where lhs[index] != rhs[index] { return false }
        return true
    }
}

/// A typed window on memory the view does not own: base pointer, shape and strides (in elements).
///
/// Bounds are checked once, when the view is made; kernels then use `base` with unchecked pointer arithmetic.
public struct TensorView<Element: ArenaElement> {
    /// Address of element [0, 0, ...].
    public let base: UnsafeMutablePointer<Element>
    /// Dimensions.
    public let shape: TensorShape
    /// Distance in elements between neighbours along each dimension.
    public let strides: TensorShape

    /// A contiguous row-major view of `shape` over `capacity` elements at `base`.
    public init(base: UnsafeMutablePointer<Element>, capacity: Int, shape: TensorShape) throws(TensorError) {
        try self.init(base: base, capacity: capacity, shape: shape, strides: shape.contiguousStrides)
    }

    /// A strided view; fails when a stride is negative or the farthest element lies past `capacity`.
    public init(base: UnsafeMutablePointer<Element>, capacity: Int, shape: TensorShape, strides: TensorShape) throws(TensorError) {
        guard strides.rank == shape.rank else { throw .badView(reason: "strides and shape differ in rank") }
        guard Int(bitPattern: base) % MemoryLayout<Element>.alignment == 0 else {
            throw .misaligned(offset: 0, alignment: MemoryLayout<Element>.alignment)
        }
        let span = try TensorView.span(shape: shape, strides: strides)
        guard capacity >= 0, span <= capacity else {
            throw .outOfBounds(offset: 0, bytes: span * MemoryLayout<Element>.stride,
                               capacity: max(capacity, 0) * MemoryLayout<Element>.stride)
        }
        self.base = base
        self.shape = shape
        self.strides = strides
    }

    /// Elements from the first to one past the farthest reachable element (0 when any dimension is 0).
    static func span(shape: TensorShape, strides: TensorShape) throws(TensorError) -> Int {
        var farthest = 0
        for index in 0..<shape.rank {
            if shape[index] == 0 { return 0 }
            guard strides[index] >= 0 else { throw .badView(reason: "negative stride") }
            let (reach, overflow) = (shape[index] - 1).multipliedReportingOverflow(by: strides[index])
            guard !overflow, reach <= Int.max / 16 - farthest else { throw .badShape(shape: shape.array) }
            farthest += reach
        }
        return farthest + 1
    }

    /// Number of elements.
    public var count: Int { shape.elementCount }

    /// True when the elements are row-major with no gaps.
    public var isContiguous: Bool { strides == shape.contiguousStrides || count <= 1 }

    /// Element offset (from `base`) of a full index; nil when any index is out of range.
    public func offset(of indices: [Int]) -> Int? {
        guard indices.count == shape.rank else { return nil }
        var offset = 0
        for (dimension, index) in indices.enumerated() {
            guard index >= 0 && index < shape[dimension] else { return nil }
            offset += index * strides[dimension]
        }
        return offset
    }

    /// Checked element access for tests and slow paths (kernels use `base` directly).
    public subscript(indices: Int...) -> Element {
        get {
            guard let offset = offset(of: indices) else { preconditionFailure("TensorView index out of range") }
            return base[offset]
        }
        nonmutating set {
            guard let offset = offset(of: indices) else { preconditionFailure("TensorView index out of range") }
            base[offset] = newValue
        }
    }

    /// The sub-view `range` along `dimension` (same strides, no copy): how kernels take tiles.
    public func slice(dimension: Int, _ range: Range<Int>) throws(TensorError) -> TensorView<Element> {
        guard dimension >= 0 && dimension < shape.rank else { throw .badView(reason: "slice dimension out of range") }
        guard range.lowerBound >= 0 && range.upperBound <= shape[dimension] else {
            throw .badView(reason: "slice range outside the dimension")
        }
        let start = range.isEmpty ? 0 : range.lowerBound * strides[dimension]
        return TensorView(unchecked: base + start, shape: shape.replacing(dimension, with: range.count), strides: strides)
    }

    /// The same contiguous elements under another shape with the same element count.
    public func reshaped(_ newShape: TensorShape) throws(TensorError) -> TensorView<Element> {
        guard isContiguous else { throw .badView(reason: "reshape of a non-contiguous view") }
        guard newShape.elementCount == count else { throw .badView(reason: "reshape changes the element count") }
        return TensorView(unchecked: base, shape: newShape, strides: newShape.contiguousStrides)
    }

    /// Sets every element to `value`.
    public func fill(_ value: Element) {
        if isContiguous {
            base.update(repeating: value, count: count)
            return
        }
        forEachOffset { base[$0] = value }
    }

    /// Calls `body` with the element offset of every element, in row-major index order.
    public func forEachOffset(_ body: (Int) -> Void) {
        let total = count
        guard total > 0 else { return }
        var index = (0, 0, 0, 0, 0, 0)
        var done = 0
        while done < total {
            let offset = index.0 * (shape.rank > 0 ? strides[0] : 0) + index.1 * (shape.rank > 1 ? strides[1] : 0)
                + index.2 * (shape.rank > 2 ? strides[2] : 0) + index.3 * (shape.rank > 3 ? strides[3] : 0)
                + index.4 * (shape.rank > 4 ? strides[4] : 0) + index.5 * (shape.rank > 5 ? strides[5] : 0)
            body(offset)
            done += 1
            // Increment the multi-index, last dimension fastest.
            var dimension = shape.rank - 1
            while dimension >= 0 {
                let next: Int
                switch dimension {
                case 0: index.0 += 1; next = index.0
                case 1: index.1 += 1; next = index.1
                case 2: index.2 += 1; next = index.2
                case 3: index.3 += 1; next = index.3
                case 4: index.4 += 1; next = index.4
                default: index.5 += 1; next = index.5
                }
                if next < shape[dimension] { break }
                switch dimension {
                case 0: index.0 = 0
                case 1: index.1 = 0
                case 2: index.2 = 0
                case 3: index.3 = 0
                case 4: index.4 = 0
                default: index.5 = 0
                }
                dimension -= 1
            }
        }
    }

    private init(unchecked base: UnsafeMutablePointer<Element>, shape: TensorShape, strides: TensorShape) {
        self.base = base
        self.shape = shape
        self.strides = strides
    }
}
