// The per-query-row steps of `QAttentionHead.run` (NUMERICS 6 steps 2-5), eight lanes at a time.
// Every lane performs the scalar reference's fp32 operations in its order, so the bits are those of
// `qs8_attention__scalar_ref`; integer sums are exact in any order.
import CKernels

extension QAttentionHead {
    /// `valuesT[c * tokens + j] = v[j, c]`: eight tokens of one channel gathered into one 64-bit store.
    @inline(__always)
    func transposeValues(into valuesT: UnsafeMutablePointer<Int8>) {
        let n = tokens, hd = headDim, ld = ldv
        // 8 x 8 byte blocks: eight 8-byte row loads, transposed in registers (three rounds of swapping bytes,
        // pairs and quads between row pairs), eight 8-byte stores; the rest byte by byte.
        let blockN = n & ~7, blockC = hd & ~7
        var j = 0
        while j < blockN {
            var c = 0
            while c < blockC {
                @inline(__always) func row(_ t: Int) -> UInt64 {
                    UInt64(littleEndian: UnsafeRawPointer(v + ((j &+ t) &* ld &+ c)).loadUnaligned(as: UInt64.self))
                }
                var r = (row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7))
                @inline(__always) func swap(_ a: inout UInt64, _ b: inout UInt64, _ s: UInt64, _ m: UInt64) {
                    let t = ((a &>> s) ^ b) & m
                    a ^= t &<< s
                    b ^= t
                }
                let m8: UInt64 = 0x00ff_00ff_00ff_00ff, m16: UInt64 = 0x0000_ffff_0000_ffff, m32: UInt64 = 0xffff_ffff
                swap(&r.0, &r.1, 8, m8); swap(&r.2, &r.3, 8, m8); swap(&r.4, &r.5, 8, m8); swap(&r.6, &r.7, 8, m8)
                swap(&r.0, &r.2, 16, m16); swap(&r.1, &r.3, 16, m16); swap(&r.4, &r.6, 16, m16); swap(&r.5, &r.7, 16, m16)
                swap(&r.0, &r.4, 32, m32); swap(&r.1, &r.5, 32, m32); swap(&r.2, &r.6, 32, m32); swap(&r.3, &r.7, 32, m32)
                @inline(__always) func store(_ t: Int, _ word: UInt64) {
                    UnsafeMutableRawPointer(valuesT + ((c &+ t) &* n &+ j)).storeBytes(of: word.littleEndian, as: UInt64.self)
                }
                store(0, r.0); store(1, r.1); store(2, r.2); store(3, r.3)
                store(4, r.4); store(5, r.5); store(6, r.6); store(7, r.7)
                c &+= 8
            }
            j &+= 8
        }
        for c in 0..<hd {
            let src = v + c, dst = valuesT + c &* n
            let from = c < blockC ? blockN : 0
            for t in from..<n { dst[t] = src[t &* ld] }
        }
    }

    /// `out[kh] = Float(Σ_c (q_c - z_q) R[kh, c]) * scale` for kh in 0..<count (`table` rows `headDim` apart).
    ///
    /// Sixteen channels at a time as eight int16 lanes holding byte pairs: shifts sign-extend the even
    /// and odd bytes (Swift's widening SIMD conversions are outlined loops). `|q - z_q| <= 255` and
    /// `|R| <= 128`, so each product is exact in int16; the products are widened the same way and summed.
    @inline(__always)
    func relTerms(_ qi: UnsafePointer<Int8>, table: UnsafePointer<Int8>, count: Int, scale: Float,
                  into out: UnsafeMutablePointer<Float>) {
        if VectorKernels.usesAVX512 {
            return vm_rel_terms_qs8__avx512(qi, zq, table, Int32(count), Int32(headDim), scale, out)
        }
        let hd = headDim, zq16 = SIMD8<Int16>(repeating: Int16(truncatingIfNeeded: zq))
        let wide = hd & ~15
        @inline(__always) func pairs(_ p: UnsafePointer<Int8>) -> (SIMD8<Int16>, SIMD8<Int16>) {
            let w = UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Int16>.self)
            return ((w &<< 8) &>> 8, w &>> 8)
        }
        @inline(__always) func widenedSum(_ p: SIMD8<Int16>) -> SIMD4<Int32> {
            let w = unsafeBitCast(p, to: SIMD4<Int32>.self)
            return ((w &<< 16) &>> 16) &+ (w &>> 16)
        }
        for kh in 0..<count {
            let r = table + kh * hd
            var acc = SIMD4<Int32>(repeating: 0)
            var c = 0
            while c < wide {
                let (qe, qo) = pairs(qi + c), (re, ro) = pairs(r + c)
                acc &+= widenedSum((qe &- zq16) &* re) &+ widenedSum((qo &- zq16) &* ro)
                c += 16
            }
            var s = acc.wrappedSum()
            while c < hd { s &+= (Int32(qi[c]) &- zq) &* Int32(r[c]); c += 1 }
            out[kh] = Float(s) * scale
        }
    }

    /// Logits of one query, `l_j = (Float(S_j - correction) * logitScale + relH[h(j)]) + relW[w(j)]`
    /// (without the rel-pos adds when `relH` is nil), into `li`; returns the row maximum as the scalar
    /// loop finds it (`m = l_0`, then every `l_j > m`), which NaN logits cannot change unless `l_0` is one.
    @inline(__always)
    func logitsRow(scores si: UnsafePointer<Int32>, correction: Int32, relH: UnsafePointer<Float>?,
                   relW: UnsafePointer<Float>?, into li: UnsafeMutablePointer<Float>) -> Float {
        let n = tokens, scale = logitScale
        if VectorKernels.usesAVX512 {
            return vm_attention_logits__avx512(si, correction, scale, relH, relW, Int32(gridH), Int32(gridW), li)
        }
        var mv = Float8(repeating: -.infinity)
        @inline(__always) func base(_ j: Int) -> Float8 {
            let s = UnsafeRawPointer(si + j).loadUnaligned(as: SIMD8<Int32>.self) &- correction
            return Float8(s) * scale
        }
        var m: Float = -.infinity
        if let rh = relH, let rw = relW {
            if gridW >= 8 {
                // Whole grid rows; the last chunk of a row overlaps the previous one, which recomputes the
                // same values from the untouched scores (and max is idempotent).
                for kh in 0..<gridH {
                    let row = kh * gridW, h = rh[kh]
                    var kw = 0
                    while true {
                        let k0 = min(kw, gridW - 8)
                        let t = base(row + k0) + h
                        let l = t + load8(rw + k0)
                        store8(l, li + row + k0)
                        mv = mv.replacing(with: l, where: l .> mv)
                        if k0 == gridW - 8 { break }
                        kw += 8
                    }
                }
            } else {
                for j in 0..<n {
                    let l0 = Float(si[j] &- correction) * scale
                    let t = l0 + rh[j / gridW]
                    let l = t + rw[j % gridW]
                    li[j] = l
                    if l > m { m = l }
                }
            }
        } else {
            var j = 0
            while j + 8 <= n {
                let l = base(j)
                store8(l, li + j)
                mv = mv.replacing(with: l, where: l .> mv)
                j += 8
            }
            while j < n {
                let l = Float(si[j] &- correction) * scale
                li[j] = l
                if l > m { m = l }
                j += 1
            }
        }
        for lane in 0..<8 where mv[lane] > m { m = mv[lane] }
        return li[0].isNaN ? li[0] : m
    }

    /// Softmax numerators quantized against the row maximum `m`: writes `P - 128` and returns `Z = Σ P`.
    @inline(__always)
    func quantizedNumerators(_ li: UnsafePointer<Float>, max m: Float, into out: UnsafeMutablePointer<Int8>) -> Int32 {
        let n = tokens
        if VectorKernels.usesAVX512 { return vm_softmax_numerators_qs8__avx512(li, m, out, n) }
        var zsum = SIMD8<Int32>(repeating: 0)
        var j = 0
        while j + 8 <= n {
            let e = numeratorExp32x8(load8(li + j) - m)
            let p = smallInt8(e * 255.0)  // e in [0, 1]: roundEven(e * 255) as an integer
            store8(p &- 128, out + j)
            zsum &+= p
            j += 8
        }
        var z = zsum.wrappedSum()
        while j < n {
            let e = numeratorExp32(li[j] - m)
            let p = Int32(roundEven(e * 255.0))
            out[j] = Int8(truncatingIfNeeded: p &- 128)
            z &+= p
            j += 1
        }
        return z
    }

    /// `o_c = (Float(A_c - z_v Z) * s_v) / Float(Z)` of one query, stored through `output`.
    @inline(__always)
    func outputRow(_ acc: UnsafePointer<Int32>, z: Int32, row: Int) {
        let zf = Float(z), zCorrection = zv &* z, hd = headDim
        if VectorKernels.usesAVX512 {
            let o = output.kernelArguments(row: row)
            vm_attention_output__avx512(acc, zCorrection, vScale, zf, Int32(hd), o.f32, o.q8, o.invScale, o.zeroPoint)
            return
        }
        var c = 0
        while c + 8 <= hd {
            let a = UnsafeRawPointer(acc + c).loadUnaligned(as: SIMD8<Int32>.self) &- zCorrection
            let num = Float8(a) * vScale
            output.store8(num / zf, row: row, col: c)
            c += 8
        }
        while c < hd {
            let num = Float(acc[c] &- zCorrection) * vScale
            output.store(num / zf, row: row, col: c)
            c += 1
        }
    }
}
