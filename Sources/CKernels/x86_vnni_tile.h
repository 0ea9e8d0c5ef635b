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

// NUMERICS 3.4's per-column constants of one tile in int64 lanes, prepared once per tile (not per row):
// the shift masked to 0..63 and the rounding term 1 << ((shift - 1) & 63), like Swift's `&<<` / `&>>`.
typedef struct {
    int64_t mult[PV_NR * PV_NV], round[PV_NR * PV_NV], shift[PV_NR * PV_NV], bias[PV_NR * PV_NV],
        zero[PV_NR * PV_NV];
} rq_tile;

VNNI_TARGET __attribute__((always_inline)) static inline void
rq_prepare(const qs8_requant_cols *rq, int c, int nc, int nv, rq_tile *t) {
    const __m512i m63 = _mm512_set1_epi64(63), one = _mm512_set1_epi64(1);
    for (int j = 0; j < nv * PV_NR; j += 8) {
        const int left = nc - j;
        const __mmask8 mask = left >= 8 ? (__mmask8)0xFF : left <= 0 ? 0 : (__mmask8)((1u << left) - 1);
        const __m512i shift = _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(mask, rq->shift + c + j));
        _mm512_store_si512(t->shift + j, _mm512_and_si512(shift, m63));
        _mm512_store_si512(t->round + j, _mm512_sllv_epi64(one, _mm512_and_si512(_mm512_sub_epi64(shift, one), m63)));
        _mm512_store_si512(t->mult + j, _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(mask, rq->multiplier + c + j)));
        _mm512_store_si512(t->bias + j, _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(mask, rq->bias + c + j)));
        _mm512_store_si512(t->zero + j, _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(mask, rq->zero_point + c + j)));
    }
}

// Requantization of 8 columns (tile columns j .. j + 8) in int64 lanes, exactly as the Swift reference `requantize`
// (wrapping 64-bit products); the clamp to int8 is vpmovsqb's signed saturation.
VNNI_TARGET static inline __m128i rq8(__m512i acc64, const rq_tile *t, int j) {
    __m512i x = _mm512_add_epi64(acc64, _mm512_load_si512(t->bias + j));
    x = _mm512_add_epi64(_mm512_mullo_epi64(x, _mm512_load_si512(t->mult + j)), _mm512_load_si512(t->round + j));
    x = _mm512_add_epi64(_mm512_srav_epi64(x, _mm512_load_si512(t->shift + j)), _mm512_load_si512(t->zero + j));
    return _mm512_cvtsepi64_epi8(x);
}

// One row's accumulator of one panel (columns c .. c + 16, `nc` valid) stored: raw int32 (added to the partial
// sums of earlier K chunks when `accumulate`), dequantized float (NUMERICS 3.3: float(acc) * scale, then + bias,
// two rounded operations, no FMA) or requantized int8 (NUMERICS 3.4, the tile's constants from `j` on).
VNNI_TARGET __attribute__((always_inline)) static inline void
store16(__m512i acc, int nc, int32_t *o, int accumulate, const float *scale, const float *bias,
        const rq_tile *rqt, int j, int c, int8_t *q8) {
    const __mmask16 mask = nc >= PV_NR ? (__mmask16)0xFFFF : (__mmask16)((1u << nc) - 1);
    if (rqt) {
        const __m128i lo = rq8(_mm512_cvtepi32_epi64(_mm512_castsi512_si256(acc)), rqt, j);
        const __m128i hi = rq8(_mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(acc, 1)), rqt, j + 8);
        _mm_mask_storeu_epi8(q8, mask, _mm_unpacklo_epi64(lo, hi));
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
