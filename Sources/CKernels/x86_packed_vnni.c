// x86-64 AVX-512 VNNI int8 GEMM over weights packed once at load (qs8_pack_16c4, pack.c): one zmm holds four
// consecutive k of 16 columns, so a broadcast of four activation bytes times one panel load is one vpdpbusd
// per 16 outputs, every accumulator lane is one output and no horizontal reduction is needed.
// vpdpbusd multiplies unsigned by signed bytes: activations go in as a ^ 0x80 = a + 128 (flipped once per band
// of rows into a stack buffer, not per multiply) and (128 + z_a) * sum_k w is taken off each column at the end.
#include "CKernels.h"
#include <string.h>

#if defined(__x86_64__)
#include "x86_vnni_tile.h"

#define PV_KC QS8_PACKED_MAX_K_REQUANT  // k per chunk of flipped activations on the stack (8 rows x 1 KiB)

// Rows of a + 128 (as unsigned bytes), PV_KC apart, the k past the chunk up to a multiple of 4 set to 0x80
// (their weights are 0, so any value adds nothing; a fixed one keeps the kernel deterministic under tools).
VNNI_TARGET static void flip_rows(int mr, int kc, const int8_t *a, size_t lda, uint8_t *a8) {
    const int k4 = (kc + 3) & ~3;
    for (int r = 0; r < mr; r++) {
        uint8_t *dst = a8 + (size_t)r * PV_KC;
        flip_bytes(a + (size_t)r * lda, dst, (size_t)kc);
        for (int t = kc; t < k4; t++) dst[t] = 0x80;
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
    tile_finish(acc, mr, nv, nc, c, w_sum, zc, out, ldo, accumulate, scale, bias, rq, q8, ldq);
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
