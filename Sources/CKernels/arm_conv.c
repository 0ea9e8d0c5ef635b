// AArch64 direct convolution (stride 1, any kernel and dilation) of channels-last int8 maps over weights packed by
// qs8_pack_16c4 as the conv's GEMM ([outC][kH][kW][inC]), the counterpart of x86_conv_vnni.c: the kH input rows an
// output row reads are copied once into a padded window and each tap reads its pixels straight from it (output
// pixel r of a tap is window pixel ky * Wp + kx * dilation + r), instead of im2col's kW * kH copies per pixel.
// Tiles of 4 pixels x 16 columns, every tap's K in one pass, the stores of arm_tile.h.
//  - `__neondot`: the window holds the int8 input, the padding the zero point (so `z_a * Σw` taken off at the end is
//    exact at the border); per tap and quad of channels the four pixels' quads are gathered into one register's lanes
//    and `sdot` by lane multiplies them by the panel.
//  - `__neon_mlal_lane`: the window holds a - z_a widened to int16 (padding 0), read as int16x4 quads directly.
#include "CKernels.h"
#include <string.h>

#if defined(__aarch64__)
#include "arm_tile.h"

// The window rows of output row `oy`: for each ky, `pad` pixels of padding, input row oy - pad + ky * dilation (or
// padding when it lies outside the input), `pad` more; `store_row(dst, src, pixels)` writes input pixels and
// `fill_row(dst, pixels)` padding, in the window's element type.
#define BUILD_WINDOW(T, fill_row, store_row)                                                              \
    do {                                                                                                  \
        const size_t side = (size_t)s->pad, body = (size_t)s->in_w, cin = (size_t)s->cin;                 \
        for (int ky = 0; ky < s->kh; ky++) {                                                              \
            T *dst = window + (size_t)ky * wp * cin;                                                      \
            const int iy = oy - s->pad + ky * s->dilation;                                                \
            if (iy < 0 || iy >= s->in_h) {                                                                \
                fill_row(dst, wp);                                                                        \
                continue;                                                                                 \
            }                                                                                             \
            fill_row(dst, side);                                                                          \
            store_row(dst + side * cin, input + (size_t)iy * body * cin, body);                           \
            fill_row(dst + (side + body) * cin, side);                                                    \
        }                                                                                                 \
    } while (0)

// Every tile of the output row: 4 output pixels (fewer at the row's end; `mr` a constant for each tile) x one panel
// of 16 columns, as `TILE(mr, i, c, w)` for first pixel i, first column c and its packed panel w.
#define CONV_ROW_TILES(TILE)                                                                               \
    for (int i = 0; i < s->out_w; i += PN_MR) {                                                          \
        const int8_t *w = packed;                                                                        \
        for (int c = 0; c < s->n; c += PN_NR, w += panel) {                                              \
            switch (s->out_w - i < PN_MR ? s->out_w - i : PN_MR) {                                       \
            case 4: TILE(4, i, c, w); break;                                                             \
            case 3: TILE(3, i, c, w); break;                                                             \
            case 2: TILE(2, i, c, w); break;                                                             \
            default: TILE(1, i, c, w); break;                                                            \
            }                                                                                            \
        }                                                                                                \
    }

#if defined(__ARM_FEATURE_DOTPROD)

__attribute__((always_inline)) static inline void
dot_conv_tile(const int mr, int nc, const qs8_conv_row *s, const int8_t *a8, size_t wp, const int8_t *w, int c,
              const int32_t *w_sum, const pn_output *o, int i) {
    int32x4_t acc[PN_MR][4];
    pn_zero(acc);
    const int quads = s->cin / 4;
    const size_t cin = (size_t)s->cin;
    for (int ky = 0; ky < s->kh; ky++) {
        for (int kx = 0; kx < s->kw; kx++) {
            const int8_t *tap = a8 + ((size_t)ky * wp + (size_t)kx * (size_t)s->dilation) * cin;
            for (int j = 0; j < quads; j++, w += 64) {
                // Pixel r's four channels into lane r (pixels past `mr` stay 0: their rows are not stored).
                int32_t q[PN_MR] = {0};
                #pragma GCC unroll 4
                for (int r = 0; r < mr; r++) memcpy(&q[r], tap + (size_t)r * cin + 4 * (size_t)j, 4);
                const int8x16_t x = vreinterpretq_s8_s32(vld1q_s32(q));
                SDOT_STEP(x, w)
            }
        }
    }
    pn_subtract_zero_point(acc, w_sum, c, nc, s->a_zero);
    pn_tile_finish(acc, mr, nc < PN_NR ? nc : PN_NR, c, pn_rows32(o, i), o->ldo, 0, o->scale, o->bias, o->rq,
                   pn_rows8(o, i));
}

#define FILL_S8(dst, pixels) memset((dst), fill, (size_t)(pixels) * cin)
#define STORE_S8(dst, src, pixels) memcpy((dst), (src), (size_t)(pixels) * cin)

void qs8_conv_row_packed_4x16c4__neondot(const qs8_conv_row *s, const int8_t *input, int oy, int8_t *window,
                                         const int8_t *packed, const int32_t *w_sum, const float *scale,
                                         const float *bias, const qs8_requant_cols *rq, void *out, size_t ldo) {
    if (s->cin % 4 != 0 || s->kh < 1 || s->kw < 1) return;  // the caller checks (qs8_conv_row's contract)
    const size_t wp = (size_t)s->in_w + 2 * (size_t)s->pad;
    const int8_t fill = (int8_t)s->a_zero;
    BUILD_WINDOW(int8_t, FILL_S8, STORE_S8);
    const size_t panel = (size_t)PN_NR * (size_t)(s->kh * s->kw * s->cin);
    const pn_output o = {scale, bias, rq, out, ldo};
#define DOT_TILE(mr, i, c, w) dot_conv_tile(mr, s->n - c, s, window + (size_t)(i) * (size_t)s->cin, wp, w, c, w_sum, &o, i)
    CONV_ROW_TILES(DOT_TILE)
#undef DOT_TILE
}

#else

void qs8_conv_row_packed_4x16c4__neondot(const qs8_conv_row *s, const int8_t *input, int oy, int8_t *window,
                                         const int8_t *packed, const int32_t *w_sum, const float *scale,
                                         const float *bias, const qs8_requant_cols *rq, void *out, size_t ldo) {
    (void)s; (void)input; (void)oy; (void)window; (void)packed; (void)w_sum; (void)scale; (void)bias; (void)rq;
    (void)out; (void)ldo;
}

#endif  // __ARM_FEATURE_DOTPROD

__attribute__((always_inline)) static inline void
mlal_conv_tile(const int mr, int nc, const qs8_conv_row *s, const int16_t *a16, size_t wp, const int8_t *w, int c,
               const pn_output *o, int i) {
    int32x4_t acc[PN_MR][4];
    pn_zero(acc);
    const int quads = s->cin / 4;
    const size_t cin = (size_t)s->cin;
    for (int ky = 0; ky < s->kh; ky++) {
        for (int kx = 0; kx < s->kw; kx++) {
            const int16_t *tap = a16 + ((size_t)ky * wp + (size_t)kx * (size_t)s->dilation) * cin;
            for (int j = 0; j < quads; j++, w += 64) {
                int16x4_t x[PN_MR];
                #pragma GCC unroll 4
                for (int r = 0; r < PN_MR; r++) x[r] = r < mr ? vld1_s16(tap + (size_t)r * cin + 4 * (size_t)j) : vdup_n_s16(0);
                MLAL_STEP(w)
            }
        }
    }
    pn_tile_finish(acc, mr, nc < PN_NR ? nc : PN_NR, c, pn_rows32(o, i), o->ldo, 0, o->scale, o->bias, o->rq,
                   pn_rows8(o, i));
}

#define FILL_S16(dst, pixels) memset((dst), 0, (size_t)(pixels) * cin * 2)
#define STORE_S16(dst, src, pixels) pn_widen((dst), (src), (size_t)(pixels) * cin, s->a_zero)

void qs8_conv_row_packed_4x16c4__neon_mlal_lane(const qs8_conv_row *s, const int8_t *input, int oy, int16_t *window,
                                                const int8_t *packed, const float *scale, const float *bias,
                                                const qs8_requant_cols *rq, void *out, size_t ldo) {
    if (s->cin % 4 != 0 || s->kh < 1 || s->kw < 1) return;
    const size_t wp = (size_t)s->in_w + 2 * (size_t)s->pad;
    BUILD_WINDOW(int16_t, FILL_S16, STORE_S16);
    const size_t panel = (size_t)PN_NR * (size_t)(s->kh * s->kw * s->cin);
    const pn_output o = {scale, bias, rq, out, ldo};
#define MLAL_TILE(mr, i, c, w) mlal_conv_tile(mr, s->n - c, s, window + (size_t)(i) * (size_t)s->cin, wp, w, c, &o, i)
    CONV_ROW_TILES(MLAL_TILE)
#undef MLAL_TILE
}

#else  // not AArch64

void qs8_conv_row_packed_4x16c4__neondot(const qs8_conv_row *s, const int8_t *input, int oy, int8_t *window,
                                         const int8_t *packed, const int32_t *w_sum, const float *scale,
                                         const float *bias, const qs8_requant_cols *rq, void *out, size_t ldo) {
    (void)s; (void)input; (void)oy; (void)window; (void)packed; (void)w_sum; (void)scale; (void)bias; (void)rq;
    (void)out; (void)ldo;
}
void qs8_conv_row_packed_4x16c4__neon_mlal_lane(const qs8_conv_row *s, const int8_t *input, int oy, int16_t *window,
                                                const int8_t *packed, const float *scale, const float *bias,
                                                const qs8_requant_cols *rq, void *out, size_t ldo) {
    (void)s; (void)input; (void)oy; (void)window; (void)packed; (void)scale; (void)bias; (void)rq; (void)out; (void)ldo;
}

#endif
