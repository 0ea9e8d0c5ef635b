// x86-64 AVX-512 VNNI int8 GEMM over weights packed once at load (qs8_pack_16c4, pack.c): one zmm holds four
// consecutive k of 16 columns, so a broadcast of four activation bytes times one panel load is one vpdpbusd
// per 16 outputs, every accumulator lane is one output and no horizontal reduction is needed.
// vpdpbusd multiplies unsigned by signed bytes: activations go in as a ^ 0x80 = a + 128 (flipped once per band
// of rows into a stack buffer, not per multiply) and (128 + z_a) * sum_k w is taken off each column at the end.
#include "CKernels.h"
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define VNNI_TARGET __attribute__((target("avx512f,avx512vnni,avx512bw,avx512vl,avx512dq")))
#define PV_NR 16  // columns per packed panel (qs8_pack_16c4)
#define PV_KC QS8_PACKED_MAX_K_REQUANT  // k per chunk of flipped activations on the stack (8 rows x 1 KiB)

// Tile: PV_MR rows x PV_NV panels of 16 columns = 24 zmm accumulators, 3 panel loads and one broadcast per row
// per four k; tools/gemm_bench.c measures others with -DPV_MR= -DPV_NV=.
#ifndef PV_MR
#define PV_MR 8
#endif
#ifndef PV_NV
#define PV_NV 3
#endif

// Rows of a + 128 (as unsigned bytes), PV_KC apart, the k past the chunk up to a multiple of 4 set to 0x80
// (their weights are 0, so any value adds nothing; a fixed one keeps the kernel deterministic under tools).
VNNI_TARGET static void flip_rows(int mr, int kc, const int8_t *a, size_t lda, uint8_t *a8) {
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    const int k4 = (kc + 3) & ~3;
    for (int r = 0; r < mr; r++) {
        const int8_t *row = a + (size_t)r * lda;
        uint8_t *dst = a8 + (size_t)r * PV_KC;
        int kk = 0;
        for (; kk + 64 <= kc; kk += 64)
            _mm512_storeu_si512(dst + kk, _mm512_xor_si512(_mm512_loadu_si512(row + kk), flip));
        if (kk < kc) {
            const __mmask64 m = ~(__mmask64)0 >> (64 - (kc - kk));
            _mm512_storeu_si512(dst + kk, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, row + kk), flip));
        }
        for (int t = kc; t < k4; t++) dst[t] = 0x80;
    }
}

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

// One tile: `mr` rows x `nv` panels, one zmm accumulator per row and panel; per four k, one load per panel and
// one broadcast per row. The first K chunk takes (128 + z_a) * w_sum of the tile's columns off its sums.
VNNI_TARGET __attribute__((always_inline)) static inline void
tile(const int mr, const int nv, int nc, int quads, const uint8_t *a8, const int8_t *w, size_t panel, int c,
     const int32_t *w_sum, int32_t zc, int32_t *out, size_t ldo, int accumulate, const float *scale,
     const float *bias, const qs8_requant_cols *rq, int8_t *q8, size_t ldq) {
    __m512i acc[PV_MR][PV_NV];
    #pragma GCC unroll 8
    for (int r = 0; r < mr; r++)
        #pragma GCC unroll 8
        for (int v = 0; v < nv; v++) acc[r][v] = _mm512_setzero_si512();
    for (int j = 0; j < quads; j++) {
        __m512i y[PV_NV];
        #pragma GCC unroll 8
        for (int v = 0; v < nv; v++) y[v] = _mm512_loadu_si512(w + v * panel + 64 * (size_t)j);
        #pragma GCC unroll 8
        for (int r = 0; r < mr; r++) {
            int32_t x;
            memcpy(&x, a8 + (size_t)r * PV_KC + 4 * j, 4);
            const __m512i xb = _mm512_set1_epi32(x);
            #pragma GCC unroll 8
            for (int v = 0; v < nv; v++) acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], xb, y[v]);
        }
    }
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

// One band of `mr` rows against every column: PV_NV panels at a time, then single panels for the rest.
VNNI_TARGET __attribute__((always_inline)) static inline void
band(const int mr, int n, int quads, const uint8_t *a8, const int8_t *w, size_t panel, const int32_t *w_sum,
     int32_t zc, int32_t *out, size_t ldo, int accumulate, const float *scale, const float *bias,
     const qs8_requant_cols *rq, int8_t *q8) {
    int c = 0;
    for (; c + PV_NR * (PV_NV - 1) < n; c += PV_NR * PV_NV, w += PV_NV * panel)
        tile(mr, PV_NV, n - c, quads, a8, w, panel, c, w_sum, zc, out, ldo, accumulate, scale, bias, rq, q8, ldo);
    for (; c < n; c += PV_NR, w += panel)
        tile(mr, 1, n - c, quads, a8, w, panel, c, w_sum, zc, out, ldo, accumulate, scale, bias, rq, q8, ldo);
}

VNNI_TARGET __attribute__((always_inline)) static inline void
packed_gemm(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero, const int8_t *packed,
            const int32_t *w_sum, const float *scale, const float *bias, const qs8_requant_cols *rq, void *out,
            size_t ldo) {
    const size_t panel = (size_t)PV_NR * (size_t)((k + 3) & ~3);
    const int32_t zc = 128 + a_zero;
    uint8_t a8[PV_MR * PV_KC] __attribute__((aligned(64)));
    for (int i = 0; i < m; i += PV_MR) {
        const int mr = m - i < PV_MR ? m - i : PV_MR;
        int32_t *o32 = rq ? NULL : (int32_t *)out + (size_t)i * ldo;
        int8_t *o8 = rq ? (int8_t *)out + (size_t)i * ldo : NULL;
        for (int k0 = 0; k0 < k; k0 += PV_KC) {
            const int kc = k - k0 < PV_KC ? k - k0 : PV_KC;
            flip_rows(mr, kc, a + (size_t)i * lda + k0, lda, a8);
            const int8_t *w = packed + (size_t)k0 * PV_NR;
            const int quads = (kc + 3) / 4, acc = k0 > 0;
            const float *s = k0 + kc == k ? scale : NULL;
            switch (mr) {
            case 8: if (PV_MR >= 8) band(8, n, quads, a8, w, panel, w_sum, zc, o32, ldo, acc, s, bias, rq, o8); break;
            case 7: if (PV_MR >= 7) band(7, n, quads, a8, w, panel, w_sum, zc, o32, ldo, acc, s, bias, rq, o8); break;
            case 6: if (PV_MR >= 6) band(6, n, quads, a8, w, panel, w_sum, zc, o32, ldo, acc, s, bias, rq, o8); break;
            case 5: if (PV_MR >= 5) band(5, n, quads, a8, w, panel, w_sum, zc, o32, ldo, acc, s, bias, rq, o8); break;
            case 4: band(4, n, quads, a8, w, panel, w_sum, zc, o32, ldo, acc, s, bias, rq, o8); break;
            case 3: band(3, n, quads, a8, w, panel, w_sum, zc, o32, ldo, acc, s, bias, rq, o8); break;
            case 2: band(2, n, quads, a8, w, panel, w_sum, zc, o32, ldo, acc, s, bias, rq, o8); break;
            default: band(1, n, quads, a8, w, panel, w_sum, zc, o32, ldo, acc, s, bias, rq, o8); break;
            }
        }
    }
}

VNNI_TARGET void qs8_gemm_packed_8x48c4__avx512vnni(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                                    const int8_t *packed, const int32_t *w_sum, int32_t *out,
                                                    size_t ldo) {
    packed_gemm(m, n, k, a, lda, a_zero, packed, w_sum, NULL, NULL, NULL, out, ldo);
}

VNNI_TARGET void qs8_gemm_packed_8x48c4_dequant__avx512vnni(int m, int n, int k, const int8_t *a, size_t lda,
                                                            int32_t a_zero, const int8_t *packed,
                                                            const int32_t *w_sum, const float *scale,
                                                            const float *bias, float *out, size_t ldo) {
    packed_gemm(m, n, k, a, lda, a_zero, packed, w_sum, scale, bias, NULL, out, ldo);
}

VNNI_TARGET void qs8_gemm_packed_8x48c4_requant__avx512vnni(int m, int n, int k, const int8_t *a, size_t lda,
                                                            int32_t a_zero, const int8_t *packed,
                                                            const int32_t *w_sum, qs8_requant_cols rq, int8_t *out,
                                                            size_t ldo) {
    if (k > QS8_PACKED_MAX_K_REQUANT) return;  // the caller checks: one K chunk keeps every sum in registers
    packed_gemm(m, n, k, a, lda, a_zero, packed, w_sum, NULL, NULL, &rq, out, ldo);
}

#else

void qs8_gemm_packed_8x48c4__avx512vnni(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                        const int8_t *packed, const int32_t *w_sum, int32_t *out, size_t ldo) {
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)a_zero; (void)packed; (void)w_sum; (void)out; (void)ldo;
}
void qs8_gemm_packed_8x48c4_dequant__avx512vnni(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                                const int8_t *packed, const int32_t *w_sum, const float *scale,
                                                const float *bias, float *out, size_t ldo) {
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)a_zero; (void)packed; (void)w_sum; (void)scale;
    (void)bias; (void)out; (void)ldo;
}
void qs8_gemm_packed_8x48c4_requant__avx512vnni(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                                const int8_t *packed, const int32_t *w_sum, qs8_requant_cols rq,
                                                int8_t *out, size_t ldo) {
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)a_zero; (void)packed; (void)w_sum; (void)rq; (void)out;
    (void)ldo;
}

#endif
