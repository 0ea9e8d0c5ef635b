// The AVX-512 VNNI packed tiles' shared pieces (internal header of CKernels): the tile shape and the epilogues
// (zero-point correction, raw / dequantized / requantized stores) used by the GEMM and the direct conv.
#ifndef CKERNELS_X86_VNNI_TILE_H
#define CKERNELS_X86_VNNI_TILE_H
#include "CKernels.h"
#include <immintrin.h>

#define VNNI_TARGET __attribute__((target("avx512f,avx512vnni,avx512bw,avx512vl,avx512dq")))
#define PV_NR 16  // columns per packed panel (qs8_pack_16c4)

// Tile: PV_MR rows x PV_NV panels of 16 columns = 24 zmm accumulators, 3 panel loads and one broadcast per row
// per four k; tools/gemm_bench.c measures others with -DPV_MR= -DPV_NV=.
#ifndef PV_MR
#define PV_MR 8
#endif
#ifndef PV_NV
#define PV_NV 3
#endif

// `n` bytes of a + 128 (a ^ 0x80, the unsigned operand of vpdpbusd): 64 per step, a masked tail.
VNNI_TARGET __attribute__((always_inline)) static inline void flip_bytes(const int8_t *src, uint8_t *dst, size_t n) {
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    size_t i = 0;
    for (; i + 64 <= n; i += 64)
        _mm512_storeu_si512(dst + i, _mm512_xor_si512(_mm512_loadu_si512(src + i), flip));
    if (i < n) {
        const __mmask64 m = ~(__mmask64)0 >> (64 - (n - i));
        _mm512_mask_storeu_epi8(dst + i, m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, src + i), flip));
    }
}

// NUMERICS 3.4's per-column constants of one tile, prepared once per tile (not per row), split by the parity of
// the column within its panel: `vpmuldq` multiplies the even int32 lanes (the low half of each 64-bit lane), so a
// panel's 16 outputs are requantized as 8 even and 8 odd ones. (acc + bq) * M + round is computed as
// acc * M + (bq * M + round), the second term per column: the same int64 value (each product < 2^62 in size), one
// multiply per output instead of a widening add and a 64-bit multiply. Shifts masked to 0..63 and the rounding term
// 1 << ((shift - 1) & 63), like Swift's `&<<` / `&>>`. Per panel v: [v][0] even columns, [v][1] odd.
typedef struct {
    __m512i mult[PV_NV][2], add[PV_NV][2], shift[PV_NV][2], zero[PV_NV][2];
} rq_tile;

VNNI_TARGET __attribute__((always_inline)) static inline void
rq_prepare(const qs8_requant_cols *rq, int c, int nc, int nv, rq_tile *t) {
    const __m512i m63 = _mm512_set1_epi64(63), one = _mm512_set1_epi64(1), low = _mm512_set1_epi64(0xFFFFFFFF);
    for (int v = 0; v < nv; v++) {
        const int left = nc - PV_NR * v, cv = c + PV_NR * v;
        const __mmask16 mask = left >= PV_NR ? (__mmask16)0xFFFF : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
        const __m512i m = _mm512_maskz_loadu_epi32(mask, rq->multiplier + cv);
        const __m512i b = _mm512_maskz_loadu_epi32(mask, rq->bias + cv);
        const __m512i sh = _mm512_maskz_loadu_epi32(mask, rq->shift + cv);
        const __m512i z = _mm512_maskz_loadu_epi32(mask, rq->zero_point + cv);
        for (int odd = 0; odd < 2; odd++) {
            // This parity's columns in the low half of each 64-bit lane (int32 values, sign-extended where needed).
            const __m512i mp = odd ? _mm512_srli_epi64(m, 32) : m;
            const __m512i bp = odd ? _mm512_srli_epi64(b, 32) : b;
            const __m512i shp = _mm512_and_si512(odd ? _mm512_srli_epi64(sh, 32) : _mm512_and_si512(sh, low), m63);
            const __m512i round = _mm512_sllv_epi64(one, _mm512_and_si512(_mm512_sub_epi64(
                odd ? _mm512_srai_epi64(sh, 32) : _mm512_srai_epi64(_mm512_slli_epi64(sh, 32), 32), one), m63));
            t->mult[v][odd] = mp;
            t->add[v][odd] = _mm512_add_epi64(_mm512_mul_epi32(bp, mp), round);
            t->shift[v][odd] = shp;
            t->zero[v][odd] = odd ? _mm512_srai_epi64(z, 32) : _mm512_srai_epi64(_mm512_slli_epi64(z, 32), 32);
        }
    }
}

// Requantization of one panel's 16 outputs, exactly as the Swift reference `requantize` (wrapping 64-bit products);
// the clamp to int8 is vpmovsqb's signed saturation, and the even and odd bytes are interleaved back.
VNNI_TARGET static inline __m128i rq16(__m512i acc, const rq_tile *t, int v) {
    __m512i e = _mm512_add_epi64(_mm512_mul_epi32(acc, t->mult[v][0]), t->add[v][0]);
    __m512i o = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(acc, 32), t->mult[v][1]), t->add[v][1]);
    e = _mm512_add_epi64(_mm512_srav_epi64(e, t->shift[v][0]), t->zero[v][0]);
    o = _mm512_add_epi64(_mm512_srav_epi64(o, t->shift[v][1]), t->zero[v][1]);
    return _mm_unpacklo_epi8(_mm512_cvtsepi64_epi8(e), _mm512_cvtsepi64_epi8(o));
}

// One row's accumulator of one panel (columns c .. c + 16, `nc` valid) stored: raw int32 (added to the partial
// sums of earlier K chunks when `accumulate`), dequantized float (NUMERICS 3.3: float(acc) * scale, then + bias,
// two rounded operations, no FMA) or requantized int8 (NUMERICS 3.4, the tile's constants from `j` on).
VNNI_TARGET __attribute__((always_inline)) static inline void
store16(__m512i acc, int nc, int32_t *o, int accumulate, const float *scale, const float *bias,
        const rq_tile *rqt, int j, int c, int8_t *q8) {
    const __mmask16 mask = nc >= PV_NR ? (__mmask16)0xFFFF : (__mmask16)((1u << nc) - 1);
    if (rqt) {
        _mm_mask_storeu_epi8(q8, mask, rq16(acc, rqt, j / PV_NR));
        return;
    }
    if (accumulate) acc = _mm512_add_epi32(acc, _mm512_maskz_loadu_epi32(mask, o));
    if (scale) {
        __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_maskz_loadu_ps(mask, scale + c));
        y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(mask, bias + c));
        _mm512_mask_storeu_ps((float *)o, mask, y);
    } else {
        _mm512_mask_storeu_epi32(o, mask, acc);
    }
}

// The end of a tile of `mr` rows x `nv` panels (columns c .. c + nc): in the first K chunk (`accumulate` 0) takes
// (128 + z_a) * w_sum off every output, then stores each row through store16 (`out` int32/float rows or `q8`).
VNNI_TARGET __attribute__((always_inline)) static inline void
tile_finish(__m512i acc[PV_MR][PV_NV], const int mr, const int nv, int nc, int c, const int32_t *w_sum, int32_t zc,
            int32_t *out, size_t ldo, int accumulate, const float *scale, const float *bias,
            const qs8_requant_cols *rq, int8_t *q8, size_t ldq) {
    rq_tile rqt __attribute__((aligned(64)));
    if (rq) rq_prepare(rq, c, nc, nv, &rqt);
    #pragma GCC unroll 8
    for (int v = 0; v < nv; v++) {
        const int cols = nc - PV_NR * v, cv = c + PV_NR * v;
        if (!accumulate) {  // the zero-point correction, once per output (in the first K chunk)
            const __mmask16 mask = cols >= PV_NR ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1);
            const __m512i corr = _mm512_mullo_epi32(_mm512_set1_epi32(zc), _mm512_maskz_loadu_epi32(mask, w_sum + cv));
            #pragma GCC unroll 8
            for (int r = 0; r < mr; r++) acc[r][v] = _mm512_sub_epi32(acc[r][v], corr);
        }
        #pragma GCC unroll 8
        for (int r = 0; r < mr; r++)
            store16(acc[r][v], cols, out ? out + (size_t)r * ldo + cv : NULL, accumulate, scale, bias,
                    rq ? &rqt : NULL, PV_NR * v, cv, q8 ? q8 + (size_t)r * ldq + cv : NULL);
    }
}

#endif
