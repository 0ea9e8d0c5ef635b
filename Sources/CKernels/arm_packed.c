// AArch64 int8 GEMMs over weights packed once at load in the 16c4 layout of the VNNI kernel (qs8_pack_16c4,
// pack.c): a tile is 4 rows x 16 columns of int32 accumulators in 16 registers, every lane one output (no
// horizontal sums), finished by the raw / dequantizing / requantizing stores of arm_tile.h.
//  - `__neondot` (ARMv8.2 dot product): one 16-byte load holds four k of four columns and `sdot` by lane
//    multiplies it by four k of one row. Only in builds whose target has the extension (cross/build's cortex-a76
//    variant): the armv8-a build must hold no ARMv8.1+ instruction (cross/qemu-test checks it).
//  - `__neon_mlal_lane` (any AArch64, e.g. Cortex-A72): `ld4` splits a panel's 64 bytes into the four k of 16
//    columns, each widened to int16 and multiplied by one k of a row (a - z_a, widened once per chunk) with
//    `smlal` by lane; no row sums are needed.
#include "CKernels.h"
#include <string.h>

#if defined(__aarch64__)
#include "arm_tile.h"

#if defined(__ARM_FEATURE_DOTPROD)

// Four rows interleaved by quads of k: a4[16 j + 4 r + t] = a[r][4 j + t], zero past the chunk and for rows
// past `mr`, so one 16-byte load feeds lane r of `sdot` for row r. (The weights past K are zero as well.)
static void interleave_rows(int mr, int kc, const int8_t *a, size_t lda, int8_t *a4) {
    const int quads = (kc + 3) / 4;
    memset(a4, 0, (size_t)quads * 16);
    for (int r = 0; r < mr; r++) {
        const int8_t *row = a + (size_t)r * lda;
        for (int j = 0; j < quads; j++) {
            const int take = kc - 4 * j < 4 ? kc - 4 * j : 4;
            memcpy(a4 + 16 * j + 4 * r, row + 4 * j, (size_t)take);
        }
    }
}

// Inlined into each entry point, so each is one copy with its output kind constant-folded (as on x86).
__attribute__((always_inline)) static inline void
dot_gemm(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero, const int8_t *packed, const int32_t *w_sum,
         const pn_output *o) {
    const size_t panel = (size_t)PN_NR * (size_t)((k + 3) & ~3);
    int8_t a4[PN_MR * PN_KC] __attribute__((aligned(16)));
    for (int i = 0; i < m; i += PN_MR) {
        const int mr = m - i < PN_MR ? m - i : PN_MR;
        for (int k0 = 0; k0 < k; k0 += PN_KC) {
            const int kc = k - k0 < PN_KC ? k - k0 : PN_KC, quads = (kc + 3) / 4, accumulate = k0 > 0;
            const float *scale = k0 + kc == k ? o->scale : NULL;  // int32 partial sums until the last chunk
            interleave_rows(mr, kc, a + (size_t)i * lda + k0, lda, a4);
            const int8_t *w = packed + (size_t)k0 * PN_NR;
            for (int c = 0; c < n; c += PN_NR, w += panel) {
                int32x4_t acc[PN_MR][4];
                pn_zero(acc);
                for (int j = 0; j < quads; j++) {
                    const int8x16_t x = vld1q_s8(a4 + 16 * j);
                    SDOT_STEP(x, w + 64 * (size_t)j)
                }
                const int nc = n - c < PN_NR ? n - c : PN_NR;
                if (!accumulate) pn_subtract_zero_point(acc, w_sum, c, nc, a_zero);  // once per output: first chunk
                pn_tile_finish(acc, mr, nc, c, pn_rows32(o, i), o->ldo, accumulate, scale, o->bias, o->rq,
                               pn_rows8(o, i));
            }
        }
    }
}

void qs8_gemm_packed_4x16c4__neondot(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                     const int8_t *packed, const int32_t *w_sum, int32_t *out, size_t ldo) {
    const pn_output o = {NULL, NULL, NULL, out, ldo};
    dot_gemm(m, n, k, a, lda, a_zero, packed, w_sum, &o);
}

void qs8_gemm_packed_4x16c4_dequant__neondot(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                             const int8_t *packed, const int32_t *w_sum, const float *scale,
                                             const float *bias, float *out, size_t ldo) {
    const pn_output o = {scale, bias, NULL, out, ldo};
    dot_gemm(m, n, k, a, lda, a_zero, packed, w_sum, &o);
}

void qs8_gemm_packed_4x16c4_requant__neondot(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                             const int8_t *packed, const int32_t *w_sum, qs8_requant_cols rq,
                                             int8_t *out, size_t ldo) {
    if (k > QS8_PACKED_MAX_K_REQUANT) return;  // the caller checks: one K chunk keeps every sum in registers
    const pn_output o = {NULL, NULL, &rq, out, ldo};
    dot_gemm(m, n, k, a, lda, a_zero, packed, w_sum, &o);
}

#else  // AArch64 without the dot product: the `__neondot` entry points exist and do nothing.

#define PN_NO_NEONDOT 1

#endif  // __ARM_FEATURE_DOTPROD

// Rows of a - z_a widened to int16, PN_KC apart, zero past the chunk up to a multiple of 4 and for rows past
// `mr` (|a - z_a| <= 255: QGemm checks z_a is an int8).
static void widen_rows(int mr, int kc, const int8_t *a, size_t lda, int32_t a_zero, int16_t *a16) {
    const int k4 = (kc + 3) & ~3;
    for (int r = 0; r < PN_MR; r++) {
        int16_t *dst = a16 + (size_t)r * PN_KC;
        if (r >= mr) {
            memset(dst, 0, (size_t)k4 * 2);
            continue;
        }
        pn_widen(dst, a + (size_t)r * lda, (size_t)kc, a_zero);
        for (int kk = kc; kk < k4; kk++) dst[kk] = 0;
    }
}

__attribute__((always_inline)) static inline void
mlal_gemm(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero, const int8_t *packed, const pn_output *o) {
    const size_t panel = (size_t)PN_NR * (size_t)((k + 3) & ~3);
    int16_t a16[PN_MR * PN_KC] __attribute__((aligned(16)));
    for (int i = 0; i < m; i += PN_MR) {
        const int mr = m - i < PN_MR ? m - i : PN_MR;
        for (int k0 = 0; k0 < k; k0 += PN_KC) {
            const int kc = k - k0 < PN_KC ? k - k0 : PN_KC, quads = (kc + 3) / 4, accumulate = k0 > 0;
            const float *scale = k0 + kc == k ? o->scale : NULL;
            widen_rows(mr, kc, a + (size_t)i * lda + k0, lda, a_zero, a16);
            const int8_t *w = packed + (size_t)k0 * PN_NR;
            for (int c = 0; c < n; c += PN_NR, w += panel) {
                int32x4_t acc[PN_MR][4];
                pn_zero(acc);
                for (int j = 0; j < quads; j++) {
                    int16x4_t x[PN_MR];
                    #pragma GCC unroll 4
                    for (int r = 0; r < PN_MR; r++) x[r] = vld1_s16(a16 + (size_t)r * PN_KC + 4 * j);
                    MLAL_STEP(w + 64 * (size_t)j)
                }
                pn_tile_finish(acc, mr, n - c < PN_NR ? n - c : PN_NR, c, pn_rows32(o, i), o->ldo, accumulate,
                               scale, o->bias, o->rq, pn_rows8(o, i));
            }
        }
    }
}

void qs8_gemm_packed_4x16c4__neon_mlal_lane(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                            const int8_t *packed, int32_t *out, size_t ldo) {
    const pn_output o = {NULL, NULL, NULL, out, ldo};
    mlal_gemm(m, n, k, a, lda, a_zero, packed, &o);
}

void qs8_gemm_packed_4x16c4_dequant__neon_mlal_lane(int m, int n, int k, const int8_t *a, size_t lda,
                                                    int32_t a_zero, const int8_t *packed, const float *scale,
                                                    const float *bias, float *out, size_t ldo) {
    const pn_output o = {scale, bias, NULL, out, ldo};
    mlal_gemm(m, n, k, a, lda, a_zero, packed, &o);
}

void qs8_gemm_packed_4x16c4_requant__neon_mlal_lane(int m, int n, int k, const int8_t *a, size_t lda,
                                                    int32_t a_zero, const int8_t *packed, qs8_requant_cols rq,
                                                    int8_t *out, size_t ldo) {
    if (k > QS8_PACKED_MAX_K_REQUANT) return;
    const pn_output o = {NULL, NULL, &rq, out, ldo};
    mlal_gemm(m, n, k, a, lda, a_zero, packed, &o);
}

#else  // not AArch64

#define PN_NO_NEONDOT 1

void qs8_gemm_packed_4x16c4__neon_mlal_lane(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                            const int8_t *packed, int32_t *out, size_t ldo) {
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)a_zero; (void)packed; (void)out; (void)ldo;
}
void qs8_gemm_packed_4x16c4_dequant__neon_mlal_lane(int m, int n, int k, const int8_t *a, size_t lda,
                                                    int32_t a_zero, const int8_t *packed, const float *scale,
                                                    const float *bias, float *out, size_t ldo) {
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)a_zero; (void)packed; (void)scale; (void)bias; (void)out;
    (void)ldo;
}
void qs8_gemm_packed_4x16c4_requant__neon_mlal_lane(int m, int n, int k, const int8_t *a, size_t lda,
                                                    int32_t a_zero, const int8_t *packed, qs8_requant_cols rq,
                                                    int8_t *out, size_t ldo) {
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)a_zero; (void)packed; (void)rq; (void)out; (void)ldo;
}

#endif  // __aarch64__

#if defined(PN_NO_NEONDOT)  // no dot product in this build: its entry points do nothing

void qs8_gemm_packed_4x16c4__neondot(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                     const int8_t *packed, const int32_t *w_sum, int32_t *out, size_t ldo) {
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)a_zero; (void)packed; (void)w_sum; (void)out; (void)ldo;
}
void qs8_gemm_packed_4x16c4_dequant__neondot(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                             const int8_t *packed, const int32_t *w_sum, const float *scale,
                                             const float *bias, float *out, size_t ldo) {
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)a_zero; (void)packed; (void)w_sum; (void)scale;
    (void)bias; (void)out; (void)ldo;
}
void qs8_gemm_packed_4x16c4_requant__neondot(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                             const int8_t *packed, const int32_t *w_sum, qs8_requant_cols rq,
                                             int8_t *out, size_t ldo) {
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)a_zero; (void)packed; (void)w_sum; (void)rq; (void)out;
    (void)ldo;
}

#endif
