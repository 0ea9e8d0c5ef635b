import CEdgeShim

/// Checks of the code the compiler generates for this target (cross/build looks for SDOT in the
/// dot-product build of `int8DotProduct`, which proves the target-CPU flags reach code generation).
func registerToolchainTests(_ registry: inout TestRegistry) {
    registry.add("Toolchain/int8 dot product matches a widening reference") { t in
        var state: UInt32 = 0x2545_F491
        func next() -> Int8 {
            state = state &* 1_664_525 &+ 1_013_904_223
            return Int8(truncatingIfNeeded: state >> 24)
        }
        // Odd lengths reach the vector loop's tail; extremes check that the products widen before summing.
        for length in [0, 1, 3, 15, 16, 17, 64, 255, 1000] {
            let a = (0..<length).map { _ in next() }
            let b = (0..<length).map { _ in next() }
            t.expectEqual(Int(int8DotProduct(a, b)), widenedDotProduct(a, b), "length " + String(length) + ":")
        }
        let lows = [Int8](repeating: -128, count: 4096)
        t.expectEqual(int8DotProduct(lows, lows), Int32(4096 * 16384), "all -128:")
        let highs = [Int8](repeating: 127, count: 33)
        t.expectEqual(int8DotProduct(lows[0..<33].map { $0 }, highs), Int32(33 * -128 * 127), "-128 x 127:")
    }

    // The aarch64 builds carry their own arc4random_buf (CEdgeShim/glibc_compat.c) for glibc < 2.36.
    registry.add("Toolchain/system random source delivers varying bytes") { t in
        var generator = SystemRandomNumberGenerator()
        let draws = (0..<4).map { _ in generator.next() }
        t.expect(draws.contains { $0 != draws[0] }, "four 64-bit random draws were all equal")
        var buffer = [UInt8](repeating: 0, count: 64)
        buffer.withUnsafeMutableBytes { arc4random_buf($0.baseAddress!, $0.count) }
        t.expect(buffer.contains { $0 != 0 }, "arc4random_buf left 64 bytes all zero")
    }
}

/// The int8 dot product as a kernel writes it: Int32 accumulation of widened products (vectorised by LLVM).
@inline(never)
func int8DotProduct(_ a: [Int8], _ b: [Int8]) -> Int32 {
    precondition(a.count == b.count)
    return a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
            var acc: Int32 = 0
            for i in 0..<pa.count { acc &+= Int32(pa[i]) &* Int32(pb[i]) }
            return acc
        }
    }
}

/// The scalar reference: every product in a 64-bit Int, one at a time.
func widenedDotProduct(_ a: [Int8], _ b: [Int8]) -> Int {
    var sum = 0
    for i in 0..<a.count { sum += Int(a[i]) * Int(b[i]) }
    return sum
}
