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
#define PK_KC 1024

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

// One tile: `mr` rows x `nv` panels of 8 columns, one ymm accumulator per row and panel; per pair of k, one
// vpmovsxbw load per panel and one broadcast per row.
AVX2_TARGET __attribute__((always_inline)) static inline void
tile(const int mr, const int nv, int nc, int pairs, const int16_t *a16, const int8_t *w, size_t panel, int32_t *out,
     size_t ldo, int accumulate, const float *scale, const float *bias) {
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
band(const int mr, int n, int pairs, const int16_t *a16, const int8_t *w, size_t panel, int32_t *out, size_t ldo,
     int accumulate, const float *scale, const float *bias) {
    int c = 0;
    for (; c + PK_NR * (PK_NV - 1) < n; c += PK_NR * PK_NV, w += PK_NV * panel)
        tile(mr, PK_NV, n - c, pairs, a16, w, panel, out + c, ldo, accumulate, scale ? scale + c : NULL,
             scale ? bias + c : NULL);
    for (; c < n; c += PK_NR, w += panel)
        tile(mr, 1, n - c, pairs, a16, w, panel, out + c, ldo, accumulate, scale ? scale + c : NULL,
             scale ? bias + c : NULL);
}

AVX2_TARGET __attribute__((always_inline)) static inline void
packed_gemm(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero, const int8_t *packed,
            const float *scale, const float *bias, void *out, size_t ldo) {
    const size_t panel = (size_t)PK_NR * (size_t)((k + 1) & ~1);
    int16_t a16[PK_MR * PK_KC] __attribute__((aligned(32)));
    for (int i = 0; i < m; i += PK_MR) {
        const int mr = m - i < PK_MR ? m - i : PK_MR;
        int32_t *o = (int32_t *)out + (size_t)i * ldo;
        for (int k0 = 0; k0 < k; k0 += PK_KC) {
            const int kc = k - k0 < PK_KC ? k - k0 : PK_KC;
            widen_rows(mr, kc, a + (size_t)i * lda + k0, lda, a_zero, a16);
            const int8_t *w = packed + (size_t)k0 * PK_NR;
            const int pairs = (kc + 1) / 2, acc = k0 > 0;
            const float *s = k0 + kc == k ? scale : NULL;
            switch (mr) {
            case 8: if (PK_MR >= 8) band(8, n, pairs, a16, w, panel, o, ldo, acc, s, bias); break;
            case 7: if (PK_MR >= 7) band(7, n, pairs, a16, w, panel, o, ldo, acc, s, bias); break;
            case 6: if (PK_MR >= 6) band(6, n, pairs, a16, w, panel, o, ldo, acc, s, bias); break;
            case 5: if (PK_MR >= 5) band(5, n, pairs, a16, w, panel, o, ldo, acc, s, bias); break;
            case 4: if (PK_MR >= 4) band(4, n, pairs, a16, w, panel, o, ldo, acc, s, bias); break;
            case 3: band(3, n, pairs, a16, w, panel, o, ldo, acc, s, bias); break;
            case 2: band(2, n, pairs, a16, w, panel, o, ldo, acc, s, bias); break;
            default: band(1, n, pairs, a16, w, panel, o, ldo, acc, s, bias); break;
            }
        }
    }
}

AVX2_TARGET void qs8_gemm_packed_4x16__avx2(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                           const int8_t *packed, int32_t *out, size_t ldo) {
    packed_gemm(m, n, k, a, lda, a_zero, packed, NULL, NULL, out, ldo);
}

AVX2_TARGET void qs8_gemm_packed_4x16_dequant__avx2(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                                   const int8_t *packed, const float *scale, const float *bias,
                                                   float *out, size_t ldo) {
    packed_gemm(m, n, k, a, lda, a_zero, packed, scale, bias, out, ldo);
}

#else

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
