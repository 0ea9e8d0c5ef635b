// x86-64 AVX2 int8 GEMM over weights packed once at load (qs8_pack_8c2, pack.c): the kernel broadcasts one
// pair of activations per row and multiplies it by 8 columns' weight pairs with vpmaddwd, so every
// accumulator lane is one output and no horizontal reduction is needed. Zen 3 has no AVX-512 / VNNI;
// this is the fastest exact form measured there (tools/gemm_bench.c, docs/PERFORMANCE.md).
#include "CKernels.h"
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2_TARGET __attribute__((target("avx2")))
#define PK_NR 8  // columns per packed panel (qs8_pack_8c2)
// K chunk whose widened activations live on the stack: PK_MR rows x 1024 int16 (8 KiB). Longer K accumulates
// chunk by chunk in the output (raw int32 rows).
#define PK_KC QS8_PACKED_MAX_K_REQUANT

// Rows of a - z_a as int16 (|a - z_a| <= 255, so each vpmaddwd pair sum is at most 2 * 255 * 128: exact),
// PK_KC apart, with a zero after an odd chunk so the last pair reads a defined value (its weight is 0 anyway).
AVX2_TARGET static void widen_rows(int mr, int kc, const int8_t *a, size_t lda, int32_t a_zero, int16_t *a16) {
    const __m256i z = _mm256_set1_epi16((short)a_zero);
    for (int r = 0; r < mr; r++) {
        const int8_t *row = a + (size_t)r * lda;
        int16_t *dst = a16 + (size_t)r * PK_KC;
        int kk = 0;
        for (; kk + 16 <= kc; kk += 16) {
            __m256i x = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(row + kk)));
            _mm256_storeu_si256((__m256i *)(dst + kk), _mm256_sub_epi16(x, z));
        }
        for (; kk < kc; kk++) dst[kk] = (int16_t)(row[kk] - a_zero);
        if (kc & 1) dst[kc] = 0;
    }
}

// (`#pragma GCC unroll`: gcc -O2 otherwise keeps the accumulator arrays in memory; clang unrolls them anyway.)
// Tile: PK_MR rows x PK_NV panels of 8 columns (8 ymm accumulators). 8x8, 4x16, 6x16, 3x24 and 2x32 all reach
// ~140 GOPS in gemm_bench on the Zen 3 (88 % of the vpmaddwd+vpaddd ceiling); 4x16 needs the fewest
// broadcasts and instructions per vpmaddwd. Override with -DPK_MR= -DPK_NV= to measure others.
#ifndef PK_MR
#define PK_MR 4
#endif
#ifndef PK_NV
#define PK_NV 2
#endif

// The store of one row's `nv` accumulators (columns c .. c + 8nv, `nc` of them valid): added to the partial sums
// of earlier K chunks, and with `scale` != NULL finished with NUMERICS 3.3's dequantization into float rows:
// float(acc) * scale, then + bias, two rounded operations as in the Swift reference (no FMA: the target has
// none enabled, and intrinsics are never contracted).
AVX2_TARGET __attribute__((always_inline)) static inline void
store_row(const int nv, const __m256i *acc, int nc, int32_t *o, int accumulate, const __m256 *s, const __m256 *b) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    #pragma GCC unroll 8
    for (int v = 0; v < nv; v++, o += PK_NR, nc -= PK_NR) {
        if (nc <= 0) break;
        const int full = nc >= PK_NR;
        const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(nc), lane);
        __m256i x = acc[v];
        if (accumulate)
            x = _mm256_add_epi32(x, full ? _mm256_loadu_si256((const __m256i *)o) : _mm256_maskload_epi32(o, mask));
        if (s) {
            __m256 y = _mm256_mul_ps(_mm256_cvtepi32_ps(x), s[v]);
            y = _mm256_add_ps(y, b[v]);
            x = _mm256_castps_si256(y);
        }
        if (full) _mm256_storeu_si256((__m256i *)o, x);
        else _mm256_maskstore_epi32(o, mask, x);
    }
}

// NUMERICS 3.4 requantization of 8 columns, exactly as the Swift reference `requantize` (Int64 arithmetic,
// wrapping `&*` / `&+`, shift counts masked to 0..63 like `&<<` / `&>>`), in two halves of four int64 lanes.
typedef struct { __m256i bias[2], mult[2], shift[2], round[2], zero[2]; } rq_cols;

AVX2_TARGET __attribute__((always_inline)) static inline rq_cols
rq_load(const int32_t *mult, const int32_t *shift, const int32_t *bias, const int32_t *zero, int nc) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), m63 = _mm256_set1_epi64x(63);
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(nc), lane);
    const __m256i vm = _mm256_maskload_epi32(mult, mask), vs = _mm256_maskload_epi32(shift, mask);
    const __m256i vb = _mm256_maskload_epi32(bias, mask), vz = _mm256_maskload_epi32(zero, mask);
    rq_cols p;
    for (int h = 0; h < 2; h++) {
        const __m128i m = h ? _mm256_extracti128_si256(vm, 1) : _mm256_castsi256_si128(vm);
        const __m128i sh = h ? _mm256_extracti128_si256(vs, 1) : _mm256_castsi256_si128(vs);
        const __m128i b = h ? _mm256_extracti128_si256(vb, 1) : _mm256_castsi256_si128(vb);
        const __m128i z = h ? _mm256_extracti128_si256(vz, 1) : _mm256_castsi256_si128(vz);
        const __m256i s64 = _mm256_cvtepi32_epi64(sh);
        p.mult[h] = _mm256_cvtepi32_epi64(m);
        p.shift[h] = _mm256_and_si256(s64, m63);
        p.round[h] = _mm256_sllv_epi64(_mm256_set1_epi64x(1), _mm256_and_si256(_mm256_sub_epi64(s64, _mm256_set1_epi64x(1)), m63));
        p.bias[h] = _mm256_cvtepi32_epi64(b);
        p.zero[h] = _mm256_cvtepi32_epi64(z);
    }
    return p;
}

// Four int64 lanes: ((acc + bias) * mult + round) >> shift (arithmetic) + zero, clamped to int8.
AVX2_TARGET __attribute__((always_inline)) static inline __m256i
rq_half(__m256i acc, const rq_cols *p, int h) {
    const __m256i a = _mm256_add_epi64(acc, p->bias[h]), m = p->mult[h];
    // The low 64 bits of a 64 x 64 product from 32 x 32 -> 64 pieces (the high x high piece falls off).
    const __m256i lo = _mm256_mul_epu32(a, m);
    const __m256i cross = _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), m),
                                           _mm256_mul_epu32(a, _mm256_srli_epi64(m, 32)));
    __m256i x = _mm256_add_epi64(_mm256_add_epi64(lo, _mm256_slli_epi64(cross, 32)), p->round[h]);
    // Arithmetic shift right (AVX2 has only the logical one): flip negatives, shift, flip back.
    const __m256i sign = _mm256_cmpgt_epi64(_mm256_setzero_si256(), x);
    x = _mm256_xor_si256(_mm256_srlv_epi64(_mm256_xor_si256(x, sign), p->shift[h]), sign);
    x = _mm256_add_epi64(x, p->zero[h]);
    const __m256i hi = _mm256_set1_epi64x(127), lo8 = _mm256_set1_epi64x(-128);
    x = _mm256_blendv_epi8(x, hi, _mm256_cmpgt_epi64(x, hi));
    return _mm256_blendv_epi8(x, lo8, _mm256_cmpgt_epi64(lo8, x));
}

// One row's 8 accumulators of a panel requantized into `nc` (<= 8 used) int8 outputs at `o`.
AVX2_TARGET __attribute__((always_inline)) static inline void
rq_store(__m256i acc, const rq_cols *p, int nc, int8_t *o) {
    const __m256i low = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    const __m256i q0 = rq_half(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(acc)), p, 0);
    const __m256i q1 = rq_half(_mm256_cvtepi32_epi64(_mm256_extracti128_si256(acc, 1)), p, 1);
    const __m128i d0 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(q0, low));
    const __m128i d1 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(q1, low));
    const __m128i bytes = _mm_packs_epi16(_mm_packs_epi32(d0, d1), _mm_setzero_si128());  // in range: no saturation
    if (nc >= PK_NR) {
        _mm_storel_epi64((__m128i *)o, bytes);
    } else {
        int8_t t[16];
        _mm_storeu_si128((__m128i *)t, bytes);
        memcpy(o, t, (size_t)nc);
    }
}

// One tile: `mr` rows x `nv` panels of 8 columns, one ymm accumulator per row and panel; per pair of k, one
// vpmovsxbw load per panel and one broadcast per row.
AVX2_TARGET __attribute__((always_inline)) static inline void
tile(const int mr, const int nv, int nc, int pairs, const int16_t *a16, const int8_t *w, size_t panel, int32_t *out,
     size_t ldo, int accumulate, const float *scale, const float *bias, const qs8_requant_cols *rq, int8_t *q8) {
    __m256i acc[PK_MR][PK_NV];
    #pragma GCC unroll 8
    for (int r = 0; r < mr; r++)
        #pragma GCC unroll 8
        for (int v = 0; v < nv; v++) acc[r][v] = _mm256_setzero_si256();
    for (int j = 0; j < pairs; j++) {
        __m256i y[PK_NV];
        #pragma GCC unroll 8
        for (int v = 0; v < nv; v++)
            y[v] = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + v * panel + 16 * (size_t)j)));
        #pragma GCC unroll 8
        for (int r = 0; r < mr; r++) {
            int32_t x;
            memcpy(&x, a16 + (size_t)r * PK_KC + 2 * j, 4);
            const __m256i xb = _mm256_set1_epi32(x);
            #pragma GCC unroll 8
            for (int v = 0; v < nv; v++) acc[r][v] = _mm256_add_epi32(acc[r][v], _mm256_madd_epi16(xb, y[v]));
        }
    }
    if (rq) {  // requantized int8 rows `ldo` bytes apart (one K chunk: nothing to accumulate)
        #pragma GCC unroll 8
        for (int v = 0; v < nv; v++) {
            const int cols = nc - PK_NR * v;
            const rq_cols p = rq_load(rq->multiplier + PK_NR * v, rq->shift + PK_NR * v, rq->bias + PK_NR * v,
                                      rq->zero_point + PK_NR * v, cols);
            #pragma GCC unroll 8
            for (int r = 0; r < mr; r++) rq_store(acc[r][v], &p, cols, q8 + (size_t)r * ldo + PK_NR * v);
        }
        return;
    }
    __m256 s[PK_NV], b[PK_NV];
    #pragma GCC unroll 8
    for (int v = 0; v < nv; v++) s[v] = b[v] = _mm256_setzero_ps();
    if (scale) {
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        #pragma GCC unroll 8
        for (int v = 0; v < nv; v++) {
            const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(nc - PK_NR * v), lane);
            s[v] = _mm256_maskload_ps(scale + PK_NR * v, mask);
            b[v] = _mm256_maskload_ps(bias + PK_NR * v, mask);
        }
    }
    #pragma GCC unroll 8
    for (int r = 0; r < mr; r++)
        store_row(nv, acc[r], nc, out + (size_t)r * ldo, accumulate, scale ? s : NULL, b);
}

// One band of `mr` rows against every column: PK_NV panels at a time, then single panels for the rest.
AVX2_TARGET __attribute__((always_inline)) static inline void
band(const int mr, int n, int pairs, const int16_t *a16, const int8_t *w, size_t panel, void *out, size_t ldo,
     int accumulate, const float *scale, const float *bias, const qs8_requant_cols *rq) {
    int c = 0;
    for (; c + PK_NR * (PK_NV - 1) < n; c += PK_NR * PK_NV, w += PK_NV * panel) {
        qs8_requant_cols r;
        if (rq) r = (qs8_requant_cols){rq->multiplier + c, rq->shift + c, rq->bias + c, rq->zero_point + c};
        tile(mr, PK_NV, n - c, pairs, a16, w, panel, rq ? NULL : (int32_t *)out + c, ldo, accumulate,
             scale ? scale + c : NULL, scale ? bias + c : NULL, rq ? &r : NULL, rq ? (int8_t *)out + c : NULL);
    }
    for (; c < n; c += PK_NR, w += panel) {
        qs8_requant_cols r;
        if (rq) r = (qs8_requant_cols){rq->multiplier + c, rq->shift + c, rq->bias + c, rq->zero_point + c};
        tile(mr, 1, n - c, pairs, a16, w, panel, rq ? NULL : (int32_t *)out + c, ldo, accumulate,
             scale ? scale + c : NULL, scale ? bias + c : NULL, rq ? &r : NULL, rq ? (int8_t *)out + c : NULL);
    }
}

AVX2_TARGET __attribute__((always_inline)) static inline void
packed_gemm(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero, const int8_t *packed,
            const float *scale, const float *bias, const qs8_requant_cols *rq, void *out, size_t ldo) {
    const size_t panel = (size_t)PK_NR * (size_t)((k + 1) & ~1);
    int16_t a16[PK_MR * PK_KC] __attribute__((aligned(32)));
    for (int i = 0; i < m; i += PK_MR) {
        const int mr = m - i < PK_MR ? m - i : PK_MR;
        void *o = rq ? (void *)((int8_t *)out + (size_t)i * ldo) : (void *)((int32_t *)out + (size_t)i * ldo);
        for (int k0 = 0; k0 < k; k0 += PK_KC) {
            const int kc = k - k0 < PK_KC ? k - k0 : PK_KC;
            widen_rows(mr, kc, a + (size_t)i * lda + k0, lda, a_zero, a16);
            const int8_t *w = packed + (size_t)k0 * PK_NR;
            const int pairs = (kc + 1) / 2, acc = k0 > 0;
            const float *s = k0 + kc == k ? scale : NULL;
            switch (mr) {
            case 8: if (PK_MR >= 8) band(8, n, pairs, a16, w, panel, o, ldo, acc, s, bias, rq); break;
            case 7: if (PK_MR >= 7) band(7, n, pairs, a16, w, panel, o, ldo, acc, s, bias, rq); break;
            case 6: if (PK_MR >= 6) band(6, n, pairs, a16, w, panel, o, ldo, acc, s, bias, rq); break;
            case 5: if (PK_MR >= 5) band(5, n, pairs, a16, w, panel, o, ldo, acc, s, bias, rq); break;
            case 4: if (PK_MR >= 4) band(4, n, pairs, a16, w, panel, o, ldo, acc, s, bias, rq); break;
            case 3: band(3, n, pairs, a16, w, panel, o, ldo, acc, s, bias, rq); break;
            case 2: band(2, n, pairs, a16, w, panel, o, ldo, acc, s, bias, rq); break;
            default: band(1, n, pairs, a16, w, panel, o, ldo, acc, s, bias, rq); break;
            }
        }
    }
}

AVX2_TARGET void qs8_gemm_packed_4x16__avx2(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                           const int8_t *packed, int32_t *out, size_t ldo) {
    packed_gemm(m, n, k, a, lda, a_zero, packed, NULL, NULL, NULL, out, ldo);
}

AVX2_TARGET void qs8_gemm_packed_4x16_dequant__avx2(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                                   const int8_t *packed, const float *scale, const float *bias,
                                                   float *out, size_t ldo) {
    packed_gemm(m, n, k, a, lda, a_zero, packed, scale, bias, NULL, out, ldo);
}

AVX2_TARGET void qs8_gemm_packed_4x16_requant__avx2(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                                   const int8_t *packed, qs8_requant_cols rq, int8_t *out, size_t ldo) {
    if (k > QS8_PACKED_MAX_K_REQUANT) return;  // the caller checks: one K chunk keeps every sum in registers
    packed_gemm(m, n, k, a, lda, a_zero, packed, NULL, NULL, &rq, out, ldo);
}

#else

void qs8_gemm_packed_4x16_requant__avx2(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                       const int8_t *packed, qs8_requant_cols rq, int8_t *out, size_t ldo) {
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)a_zero; (void)packed; (void)rq; (void)out; (void)ldo;
}
void qs8_gemm_packed_4x16__avx2(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                               const int8_t *packed, int32_t *out, size_t ldo) {
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)a_zero; (void)packed; (void)out; (void)ldo;
}
void qs8_gemm_packed_4x16_dequant__avx2(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                       const int8_t *packed, const float *scale, const float *bias,
                                       float *out, size_t ldo) {
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)a_zero; (void)packed; (void)scale; (void)bias;
    (void)out; (void)ldo;
}

#endif
