// AArch64 int8 GEMM kernels. The dot-product kernel exists only in builds whose target has the extension
// (cross/build's cortex-a76 variant): the armv8-a build must hold no ARMv8.1+ instruction at all
// (cross/qemu-test checks it), so it gets the plain NEON kernel alone. QGemm.swift also checks HWCAP_ASIMDDP.
#include "CKernels.h"
#include <string.h>

#if defined(__aarch64__)
#include <arm_neon.h>

int ckernels_has_aarch64(void) { return 1; }

#if defined(__ARM_FEATURE_DOTPROD)
int ckernels_has_neondot(void) { return 1; }

void qs8_gemm_raw_4x4__neondot(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                          const int8_t *w, size_t ldw, const int32_t *w_sum,
                                          int32_t *out, size_t ldo) {
    const int kfull = k & ~15, krem = k & 15;
    for (int i = 0; i < m; i += 4) {
        const int8_t *ar[4];
        int8_t ta[4][16];
        for (int r = 0; r < 4; r++) {
            ar[r] = a + (size_t)(i + r < m ? i + r : m - 1) * lda;
            memset(ta[r], 0, 16);
            if (krem) memcpy(ta[r], ar[r] + kfull, (size_t)krem);
        }
        for (int c = 0; c < n; c += 4) {
            const int8_t *wr[4];
            int ci[4];
            for (int q = 0; q < 4; q++) { ci[q] = c + q < n ? c + q : n - 1; wr[q] = w + (size_t)ci[q] * ldw; }
            int32x4_t acc[16];
            for (int t = 0; t < 16; t++) acc[t] = vdupq_n_s32(0);
            for (int kk = 0; kk <= kfull; kk += 16) {
                int8x16_t x[4], y[4];
                if (kk < kfull) {
                    for (int r = 0; r < 4; r++) x[r] = vld1q_s8(ar[r] + kk);
                    for (int q = 0; q < 4; q++) y[q] = vld1q_s8(wr[q] + kk);
                } else {
                    if (!krem) break;
                    for (int r = 0; r < 4; r++) x[r] = vld1q_s8(ta[r]);
                    for (int q = 0; q < 4; q++) {
                        int8_t tw[16] = {0};
                        memcpy(tw, wr[q] + kfull, (size_t)krem);
                        y[q] = vld1q_s8(tw);
                    }
                }
                for (int r = 0; r < 4; r++)
                    for (int q = 0; q < 4; q++) acc[4 * r + q] = vdotq_s32(acc[4 * r + q], x[r], y[q]);
            }
            int32x4_t corr = {w_sum[ci[0]], w_sum[ci[1]], w_sum[ci[2]], w_sum[ci[3]]};
            corr = vmulq_n_s32(corr, a_zero);
            const int nc = n - c < 4 ? n - c : 4;
            for (int r = 0; r < 4 && i + r < m; r++) {
                const int32x4_t *v = acc + 4 * r;
                int32x4_t s = vpaddq_s32(vpaddq_s32(v[0], v[1]), vpaddq_s32(v[2], v[3]));
                s = vsubq_s32(s, corr);
                int32_t row[4];
                vst1q_s32(row, s);
                for (int q = 0; q < nc; q++) out[(size_t)(i + r) * ldo + c + q] = row[q];
            }
        }
    }
}

#else
int ckernels_has_neondot(void) { return 0; }
void qs8_gemm_raw_4x4__neondot(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                               const int8_t *w, size_t ldw, const int32_t *w_sum, int32_t *out, size_t ldo) {
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)a_zero; (void)w; (void)ldw; (void)w_sum; (void)out; (void)ldo;
}
#endif

// int8 x int8 fits int16 (at most 16384); sadalp adds pairs into int32, so nothing saturates.
static inline int32x4_t mac16(int32x4_t acc, int8x16_t x, int8x16_t y) {
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(x), vget_low_s8(y)));
    return vpadalq_s16(acc, vmull_high_s8(x, y));
}

void qs8_gemm_raw_2x4__neon(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                            const int8_t *w, size_t ldw, const int32_t *w_sum, int32_t *out, size_t ldo) {
    const int kfull = k & ~15, krem = k & 15;
    for (int i = 0; i < m; i += 2) {
        const int8_t *a0 = a + (size_t)i * lda, *a1 = i + 1 < m ? a0 + lda : a0;
        int8_t ta0[16] = {0}, ta1[16] = {0};
        if (krem) { memcpy(ta0, a0 + kfull, (size_t)krem); memcpy(ta1, a1 + kfull, (size_t)krem); }
        for (int c = 0; c < n; c += 4) {
            const int8_t *wr[4];
            int ci[4];
            for (int q = 0; q < 4; q++) { ci[q] = c + q < n ? c + q : n - 1; wr[q] = w + (size_t)ci[q] * ldw; }
            int32x4_t acc[8];
            for (int t = 0; t < 8; t++) acc[t] = vdupq_n_s32(0);
            for (int kk = 0; kk < kfull; kk += 16) {
                int8x16_t x0 = vld1q_s8(a0 + kk), x1 = vld1q_s8(a1 + kk);
                for (int q = 0; q < 4; q++) {
                    int8x16_t y = vld1q_s8(wr[q] + kk);
                    acc[q] = mac16(acc[q], x0, y);
                    acc[4 + q] = mac16(acc[4 + q], x1, y);
                }
            }
            if (krem) {
                int8x16_t x0 = vld1q_s8(ta0), x1 = vld1q_s8(ta1);
                for (int q = 0; q < 4; q++) {
                    int8_t tw[16] = {0};
                    memcpy(tw, wr[q] + kfull, (size_t)krem);
                    int8x16_t y = vld1q_s8(tw);
                    acc[q] = mac16(acc[q], x0, y);
                    acc[4 + q] = mac16(acc[4 + q], x1, y);
                }
            }
            int32x4_t corr = {w_sum[ci[0]], w_sum[ci[1]], w_sum[ci[2]], w_sum[ci[3]]};
            corr = vmulq_n_s32(corr, a_zero);
            const int nc = n - c < 4 ? n - c : 4;
            for (int r = 0; r < 2 && i + r < m; r++) {
                const int32x4_t *v = acc + 4 * r;
                int32x4_t s = vsubq_s32(vpaddq_s32(vpaddq_s32(v[0], v[1]), vpaddq_s32(v[2], v[3])), corr);
                int32_t row[4];
                vst1q_s32(row, s);
                for (int q = 0; q < nc; q++) out[(size_t)(i + r) * ldo + c + q] = row[q];
            }
        }
    }
}

// out[i] = table[x[i] + 128] (NUMERICS 3.5's activation tables): the 256 entries in four 64-byte tbl groups;
// tbx leaves lanes whose index is out of its group's range alone, so each group fills only its own quarter.
void vm_lookup_s8__neon(const int8_t *x, const int8_t *table, int8_t *out, size_t count) {
    const uint8_t *t = (const uint8_t *)table;
    uint8x16x4_t g[4];
    for (int q = 0; q < 4; q++)
        for (int j = 0; j < 4; j++) g[q].val[j] = vld1q_u8(t + 64 * q + 16 * j);
    const uint8x16_t flip = vdupq_n_u8(0x80), step = vdupq_n_u8(64);
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        uint8x16_t u = veorq_u8(vld1q_u8((const uint8_t *)x + i), flip);  // x + 128 as a byte
        uint8x16_t r = vqtbl4q_u8(g[0], u);
        u = vsubq_u8(u, step);
        r = vqtbx4q_u8(r, g[1], u);
        u = vsubq_u8(u, step);
        r = vqtbx4q_u8(r, g[2], u);
        u = vsubq_u8(u, step);
        r = vqtbx4q_u8(r, g[3], u);
        vst1q_u8((uint8_t *)out + i, r);
    }
    for (; i < count; i++) out[i] = table[(int)x[i] + 128];
}

#else

int ckernels_has_aarch64(void) { return 0; }
void vm_lookup_s8__neon(const int8_t *x, const int8_t *table, int8_t *out, size_t count) {
    (void)x; (void)table; (void)out; (void)count;
}
int ckernels_has_neondot(void) { return 0; }
void qs8_gemm_raw_4x4__neondot(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                               const int8_t *w, size_t ldw, const int32_t *w_sum, int32_t *out, size_t ldo) {
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)a_zero; (void)w; (void)ldw; (void)w_sum; (void)out; (void)ldo;
}
void qs8_gemm_raw_2x4__neon(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                            const int8_t *w, size_t ldw, const int32_t *w_sum, int32_t *out, size_t ldo) {
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)a_zero; (void)w; (void)ldw; (void)w_sum; (void)out; (void)ldo;
}

#endif
