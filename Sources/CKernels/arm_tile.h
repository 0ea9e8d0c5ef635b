// The AArch64 packed tiles' shared pieces (internal header of CKernels): 4 rows x 16 columns of int32
// accumulators (4 x 4 registers), and their raw / dequantized / requantized stores, used by the dot-product
// kernel and the plain NEON one (arm_packed.c). Only for aarch64 builds.
#ifndef CKERNELS_ARM_TILE_H
#define CKERNELS_ARM_TILE_H
#include "CKernels.h"
#include <arm_neon.h>
#include <string.h>

#define PN_MR 4                          // rows per tile
#define PN_NR 16                         // columns per tile: one packed panel (qs8_pack_16c4)
#define PN_KC QS8_PACKED_MAX_K_REQUANT   // k per chunk of prepared activations on the stack

// Which of the three outputs a kernel call writes: raw int32 (`scale`, `rq` NULL), float through NUMERICS 3.3
// (`scale`, `bias`) or int8 through 3.4 (`rq`, one K chunk only).
typedef struct {
    const float *scale, *bias;
    const qs8_requant_cols *rq;
    void *out;
    size_t ldo;
} pn_output;

// Rows i .. i + mr of the output: int32 / float rows or int8 rows.
static inline int32_t *pn_rows32(const pn_output *o, int i) {
    return o->rq ? NULL : (int32_t *)o->out + (size_t)i * o->ldo;
}
static inline int8_t *pn_rows8(const pn_output *o, int i) {
    return o->rq ? (int8_t *)o->out + (size_t)i * o->ldo : NULL;
}

// NUMERICS 3.4's per-column constants of one 16-column tile, prepared once per tile (not per row). As on x86,
// (acc + bq) * M + round is computed as acc * M + (bq * M + round): the same wrapping int64 value, one `smull`
// per output. Shifts masked to 0..63 and the rounding term 1 << ((shift - 1) & 63), like Swift's `&<<` / `&>>`;
// `nshift` is the negated count (`sshl` by a negative count shifts right, arithmetically). Per quarter q of 4
// columns: [q][0] its low two, [q][1] its high two.
typedef struct {
    int32x4_t mult[4];
    int64x2_t add[4][2], nshift[4][2], zero[4][2];
} pn_rq_tile;

static inline void pn_rq_prepare(const qs8_requant_cols *rq, int c, int nc, pn_rq_tile *t) {
    int32_t m[PN_NR] = {0}, b[PN_NR] = {0}, s[PN_NR] = {0}, z[PN_NR] = {0};
    const size_t cols = (size_t)(nc < PN_NR ? nc : PN_NR) * 4;
    memcpy(m, rq->multiplier + c, cols);
    memcpy(b, rq->bias + c, cols);
    memcpy(s, rq->shift + c, cols);
    memcpy(z, rq->zero_point + c, cols);
    for (int q = 0; q < 4; q++) {
        t->mult[q] = vld1q_s32(m + 4 * q);
        for (int h = 0; h < 2; h++) {
            const int j = 4 * q + 2 * h;
            // In uint64_t: the sum wraps (as Swift's &+) where int64_t would overflow.
            const int64_t add[2] = {(int64_t)((uint64_t)((int64_t)b[j] * m[j]) + ((uint64_t)1 << ((s[j] - 1) & 63))),
                                    (int64_t)((uint64_t)((int64_t)b[j + 1] * m[j + 1]) +
                                              ((uint64_t)1 << ((s[j + 1] - 1) & 63)))};
            const int64_t nshift[2] = {-(int64_t)(s[j] & 63), -(int64_t)(s[j + 1] & 63)};
            const int64_t zero[2] = {z[j], z[j + 1]};
            t->add[q][h] = vld1q_s64(add);
            t->nshift[q][h] = vld1q_s64(nshift);
            t->zero[q][h] = vld1q_s64(zero);
        }
    }
}

// Requantization of one quarter's 4 outputs exactly as the Swift reference `requantize` (wrapping 64-bit sums of
// exact products); the clamp to int8 is the saturating narrowings 64 -> 32 -> 16 bits (the last one by the caller).
static inline int16x4_t pn_rq4(int32x4_t acc, const pn_rq_tile *t, int q) {
    int64x2_t lo = vaddq_s64(vmull_s32(vget_low_s32(acc), vget_low_s32(t->mult[q])), t->add[q][0]);
    int64x2_t hi = vaddq_s64(vmull_high_s32(acc, t->mult[q]), t->add[q][1]);
    lo = vaddq_s64(vshlq_s64(lo, t->nshift[q][0]), t->zero[q][0]);
    hi = vaddq_s64(vshlq_s64(hi, t->nshift[q][1]), t->zero[q][1]);
    return vqmovn_s32(vcombine_s32(vqmovn_s64(lo), vqmovn_s64(hi)));
}

// One row of a tile (columns c .. c + nc, at most 16) stored: raw int32 (added to the partial sums of earlier K
// chunks when `accumulate`), dequantized float (NUMERICS 3.3: float(acc) * scale, then + bias, two rounded
// operations: `vmulq`/`vaddq` intrinsics are never contracted into a fused multiply-add) or requantized int8.
__attribute__((always_inline)) static inline void
pn_store_row(int32x4_t acc[4], int nc, int c, int32_t *o, int accumulate, const float *scale, const float *bias,
             const pn_rq_tile *rqt, int8_t *q8) {
    if (rqt) {
        const int8x16_t v = vcombine_s8(vqmovn_s16(vcombine_s16(pn_rq4(acc[0], rqt, 0), pn_rq4(acc[1], rqt, 1))),
                                        vqmovn_s16(vcombine_s16(pn_rq4(acc[2], rqt, 2), pn_rq4(acc[3], rqt, 3))));
        if (nc >= PN_NR) {
            vst1q_s8(q8, v);
        } else {
            int8_t bytes[PN_NR];
            vst1q_s8(bytes, v);
            memcpy(q8, bytes, (size_t)nc);
        }
        return;
    }
    for (int q = 0; q < 4 && 4 * q < nc; q++) {
        const int cols = nc - 4 * q < 4 ? nc - 4 * q : 4, cq = c + 4 * q;
        int32_t lanes[4] = {0};
        float sl[4] = {0}, bl[4] = {0};
        int32x4_t v = acc[q];
        if (accumulate) {
            memcpy(lanes, o + 4 * q, (size_t)cols * 4);
            v = vaddq_s32(v, vld1q_s32(lanes));
        }
        if (scale) {
            memcpy(sl, scale + cq, (size_t)cols * 4);
            memcpy(bl, bias + cq, (size_t)cols * 4);
            const float32x4_t y = vaddq_f32(vmulq_f32(vcvtq_f32_s32(v), vld1q_f32(sl)), vld1q_f32(bl));
            v = vreinterpretq_s32_f32(y);
        }
        vst1q_s32(lanes, v);
        memcpy(o + 4 * q, lanes, (size_t)cols * 4);
    }
}

// The end of a tile of `mr` rows (columns c .. c + nc): each row through pn_store_row into `out` (int32 / float
// rows `ldo` apart) or `q8` (int8 rows `ldo` bytes apart).
__attribute__((always_inline)) static inline void
pn_tile_finish(int32x4_t acc[PN_MR][4], int mr, int nc, int c, int32_t *out, size_t ldo, int accumulate,
               const float *scale, const float *bias, const qs8_requant_cols *rq, int8_t *q8) {
    pn_rq_tile rqt;
    if (rq) pn_rq_prepare(rq, c, nc, &rqt);
    #pragma GCC unroll 4
    for (int r = 0; r < mr; r++)
        pn_store_row(acc[r], nc, c, out ? out + (size_t)r * ldo + c : NULL, accumulate, scale, bias,
                     rq ? &rqt : NULL, q8 ? q8 + (size_t)r * ldo + c : NULL);
}

// A tile's accumulators set to 0.
__attribute__((always_inline)) static inline void pn_zero(int32x4_t acc[PN_MR][4]) {
    #pragma GCC unroll 4
    for (int r = 0; r < PN_MR; r++)
        #pragma GCC unroll 4
        for (int q = 0; q < 4; q++) acc[r][q] = vdupq_n_s32(0);
}

// `dst[i] = src[i] - a_zero` widened to int16 for `count` values (|a - z_a| <= 255: z_a is an int8): the
// activations of the plain NEON kernels, GEMM rows and conv windows.
static inline void pn_widen(int16_t *dst, const int8_t *src, size_t count, int32_t a_zero) {
    const int16x8_t z = vdupq_n_s16((int16_t)a_zero);
    size_t i = 0;
    for (; i + 8 <= count; i += 8) vst1q_s16(dst + i, vsubq_s16(vmovl_s8(vld1_s8(src + i)), z));
    for (; i < count; i++) dst[i] = (int16_t)(src[i] - a_zero);
}

// The zero-point correction of the `sdot` tiles: `z_a * w_sum[c]` off every row's outputs of columns c .. c + nc.
__attribute__((always_inline)) static inline void
pn_subtract_zero_point(int32x4_t acc[PN_MR][4], const int32_t *w_sum, int c, int nc, int32_t a_zero) {
    int32_t sums[PN_NR] = {0};
    memcpy(sums, w_sum + c, (size_t)(nc < PN_NR ? nc : PN_NR) * 4);
    #pragma GCC unroll 4
    for (int q = 0; q < 4; q++) {
        const int32x4_t corr = vmulq_n_s32(vld1q_s32(sums + 4 * q), a_zero);
        #pragma GCC unroll 4
        for (int r = 0; r < PN_MR; r++) acc[r][q] = vsubq_s32(acc[r][q], corr);
    }
}

// The tile steps of the two AArch64 kernels (GEMM and direct conv), accumulators `acc[PN_MR][4]` in scope.
#if defined(__ARM_FEATURE_DOTPROD)
// Row r's four k (lane r of `x`, four rows interleaved by quads of k) times the panel's four registers
// y0..y3 (four k of four columns each): `sdot` by lane.
#define SDOT_ROW(r)                                                  \
    acc[r][0] = vdotq_laneq_s32(acc[r][0], y0, x, r);                \
    acc[r][1] = vdotq_laneq_s32(acc[r][1], y1, x, r);                \
    acc[r][2] = vdotq_laneq_s32(acc[r][2], y2, x, r);                \
    acc[r][3] = vdotq_laneq_s32(acc[r][3], y3, x, r);

// One quad of k: the panel's 64 bytes at `wq` times the four rows' quads in `x` (16 `sdot` by lane).
#define SDOT_STEP(x, wq)                                                                          \
    {                                                                                             \
        const int8_t *w_ = (wq);                                                                  \
        const int8x16_t y0 = vld1q_s8(w_), y1 = vld1q_s8(w_ + 16), y2 = vld1q_s8(w_ + 32),        \
                        y3 = vld1q_s8(w_ + 48);                                                   \
        SDOT_ROW(0)                                                                               \
        SDOT_ROW(1)                                                                               \
        SDOT_ROW(2)                                                                               \
        SDOT_ROW(3)                                                                               \
    }
#endif

// One k (lane t of the rows' int16x4 quads) of 16 columns (int8 register `yt`) into every row's accumulators.
#define MLAL_K(yt, t)                                                           \
    {                                                                           \
        const int16x8_t wl = vmovl_s8(vget_low_s8(yt)), wh = vmovl_high_s8(yt); \
        _Pragma("GCC unroll 4") for (int r = 0; r < PN_MR; r++) {               \
            acc[r][0] = vmlal_lane_s16(acc[r][0], vget_low_s16(wl), x[r], t);   \
            acc[r][1] = vmlal_high_lane_s16(acc[r][1], wl, x[r], t);            \
            acc[r][2] = vmlal_lane_s16(acc[r][2], vget_low_s16(wh), x[r], t);   \
            acc[r][3] = vmlal_high_lane_s16(acc[r][3], wh, x[r], t);            \
        }                                                                       \
    }

// One quad of k: the panel's 64 bytes at `wq` split by `ld4` into one k of 16 columns each, times the rows' int16
// quads `x[PN_MR]` (64 `smlal`/`smlal2` by lane).
#define MLAL_STEP(wq)                                                                             \
    {                                                                                             \
        const int8x16x4_t y = vld4q_s8(wq);  /* y.val[t][q] = column q's k number t of the quad */ \
        MLAL_K(y.val[0], 0)                                                                       \
        MLAL_K(y.val[1], 1)                                                                       \
        MLAL_K(y.val[2], 2)                                                                       \
        MLAL_K(y.val[3], 3)                                                                       \
    }

#endif
