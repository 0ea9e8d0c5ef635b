// AArch64 dot-product int8 GEMM over weights packed once at load in the 16c4 layout of the VNNI kernel
// (qs8_pack_16c4, pack.c): one 16-byte register holds four k of four columns, and `sdot` by lane multiplies it
// by four k of one row, so every accumulator lane is one output and no horizontal sums are needed (the
// unpacked 4x4 kernel folds each of its 16 accumulators). Like the other dot-product code this exists only in
// builds whose target has the extension (cross/build's cortex-a76 variant).
#include "CKernels.h"
#include <string.h>

#if defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD)
#include <arm_neon.h>

#define PN_KC QS8_PACKED_MAX_K_REQUANT  // k per chunk of interleaved activations on the stack (4 rows x 1 KiB)

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

#define SDOT_ROW(r)                                                  \
    acc[r][0] = vdotq_laneq_s32(acc[r][0], y0, x, r);                \
    acc[r][1] = vdotq_laneq_s32(acc[r][1], y1, x, r);                \
    acc[r][2] = vdotq_laneq_s32(acc[r][2], y2, x, r);                \
    acc[r][3] = vdotq_laneq_s32(acc[r][3], y3, x, r);

void qs8_gemm_packed_4x16c4__neondot(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                     const int8_t *packed, const int32_t *w_sum, int32_t *out, size_t ldo) {
    const size_t panel = (size_t)16 * (size_t)((k + 3) & ~3);
    int8_t a4[4 * PN_KC] __attribute__((aligned(16)));
    for (int i = 0; i < m; i += 4) {
        const int mr = m - i < 4 ? m - i : 4;
        for (int k0 = 0; k0 < k; k0 += PN_KC) {
            const int kc = k - k0 < PN_KC ? k - k0 : PN_KC, quads = (kc + 3) / 4;
            interleave_rows(mr, kc, a + (size_t)i * lda + k0, lda, a4);
            const int8_t *w = packed + (size_t)k0 * 16;
            for (int c = 0; c < n; c += 16, w += panel) {
                int32x4_t acc[4][4];
                for (int r = 0; r < 4; r++)
                    for (int q = 0; q < 4; q++) acc[r][q] = vdupq_n_s32(0);
                for (int j = 0; j < quads; j++) {
                    const int8x16_t x = vld1q_s8(a4 + 16 * j);
                    const int8_t *wj = w + 64 * (size_t)j;
                    const int8x16_t y0 = vld1q_s8(wj), y1 = vld1q_s8(wj + 16);
                    const int8x16_t y2 = vld1q_s8(wj + 32), y3 = vld1q_s8(wj + 48);
                    SDOT_ROW(0)
                    SDOT_ROW(1)
                    SDOT_ROW(2)
                    SDOT_ROW(3)
                }
                // The zero-point correction z_a * sum_k w, once per output (in the first K chunk).
                const int nc = n - c < 16 ? n - c : 16;
                int32_t sums[16] = {0};
                if (k0 == 0) memcpy(sums, w_sum + c, (size_t)nc * 4);
                for (int r = 0; r < mr; r++) {
                    int32_t *o = out + (size_t)(i + r) * ldo + c;
                    for (int q = 0; q < 4 && 4 * q < nc; q++) {
                        int32x4_t v = vsubq_s32(acc[r][q], vmulq_n_s32(vld1q_s32(sums + 4 * q), a_zero));
                        int32_t lanes[4] = {0};
                        const int cols = nc - 4 * q < 4 ? nc - 4 * q : 4;
                        if (k0 > 0) {
                            memcpy(lanes, o + 4 * q, (size_t)cols * 4);
                            v = vaddq_s32(v, vld1q_s32(lanes));
                        }
                        vst1q_s32(lanes, v);
                        memcpy(o + 4 * q, lanes, (size_t)cols * 4);
                    }
                }
            }
        }
    }
}

#else

void qs8_gemm_packed_4x16c4__neondot(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                     const int8_t *packed, const int32_t *w_sum, int32_t *out, size_t ldo) {
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)a_zero; (void)packed; (void)w_sum; (void)out; (void)ldo;
}

#endif
