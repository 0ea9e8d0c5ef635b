// x86-64 AVX-512 VNNI direct convolution (stride 1, any kernel and dilation) of channels-last int8 maps over
// weights packed by qs8_pack_16c4 as the conv's GEMM ([outC][kH][kW][inC], K = kH * kW * inC).
// The GEMM path gathers every output row's patches (im2col: kW * kH copies of inC bytes per pixel, then the
// GEMM flips them to unsigned again). Here the kH input rows an output row reads are flipped once into a
// padded window, and each tap's four-byte broadcasts come straight from it: output pixel r of a tap reads
// window + (ky * Wp + kx * d + r) * inC, so the 8 rows of a tile are the 8 adjacent pixels, inC bytes apart.
// The padding holds the flipped zero point, so the first tile's (128 + z_a) * w_sum correction is exact at
// the border too, as the gathered rows' zero-point fill is in the GEMM.
#include "CKernels.h"
#include <string.h>

#if defined(__x86_64__)
#include "x86_vnni_tile.h"

// One window row: `pad` pixels of the flipped zero point, the flipped input row (or the zero point again when
// the row lies outside the input), `pad` more.
VNNI_TARGET static void window_row(const int8_t *row, int in_w, int cin, int pad, uint8_t fill, uint8_t *dst) {
    const size_t side = (size_t)pad * (size_t)cin, body = (size_t)in_w * (size_t)cin;
    if (!row) {
        memset(dst, fill, body + 2 * side);
        return;
    }
    memset(dst, fill, side);
    flip_bytes(row, dst + side, body);
    memset(dst + side + body, fill, side);
}

// One tile: `mr` adjacent output pixels (their window bytes from `a8` on, `cin` apart) x `nv` panels; per tap
// and four channels one load per panel and one broadcast per pixel, every tap's K in one pass (no chunks).
VNNI_TARGET __attribute__((always_inline)) static inline void
conv_tile(const int mr, const int nv, int nc, const qs8_conv_row *s, const uint8_t *a8, size_t wp,
          const int8_t *w, size_t panel, int c, const int32_t *w_sum, int32_t zc, int32_t *out, size_t ldo,
          const float *scale, const float *bias, const qs8_requant_cols *rq, int8_t *q8) {
    __m512i acc[PV_MR][PV_NV];
    #pragma GCC unroll 8
    for (int r = 0; r < mr; r++)
        #pragma GCC unroll 8
        for (int v = 0; v < nv; v++) acc[r][v] = _mm512_setzero_si512();
    const int quads = s->cin / 4;
    const size_t cin = (size_t)s->cin;
    for (int ky = 0; ky < s->kh; ky++) {
        for (int kx = 0; kx < s->kw; kx++) {
            const uint8_t *tap = a8 + ((size_t)ky * wp + (size_t)kx * (size_t)s->dilation) * cin;
            for (int j = 0; j < quads; j++, w += 64) {
                __m512i y[PV_NV];
                #pragma GCC unroll 8
                for (int v = 0; v < nv; v++) y[v] = _mm512_loadu_si512(w + v * panel);
                #pragma GCC unroll 8
                for (int r = 0; r < mr; r++) {
                    int32_t x;
                    memcpy(&x, tap + (size_t)r * cin + 4 * (size_t)j, 4);
                    const __m512i xb = _mm512_set1_epi32(x);
                    #pragma GCC unroll 8
                    for (int v = 0; v < nv; v++) acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], xb, y[v]);
                }
            }
        }
    }
    tile_finish(acc, mr, nv, nc, c, w_sum, zc, out, ldo, 0, scale, bias, rq, q8, ldo);
}

// `mr` output pixels against every column: PV_NV panels at a time, then single panels.
VNNI_TARGET __attribute__((always_inline)) static inline void
conv_band(const int mr, const qs8_conv_row *s, const uint8_t *a8, size_t wp, const int8_t *w, size_t panel,
          const int32_t *w_sum, int32_t zc, int32_t *out, size_t ldo, const float *scale, const float *bias,
          const qs8_requant_cols *rq, int8_t *q8) {
    const int n = s->n;
    int c = 0;
    for (; c + PV_NR * (PV_NV - 1) < n; c += PV_NR * PV_NV, w += PV_NV * panel)
        conv_tile(mr, PV_NV, n - c, s, a8, wp, w, panel, c, w_sum, zc, out, ldo, scale, bias, rq, q8);
    for (; c < n; c += PV_NR, w += panel)
        conv_tile(mr, 1, n - c, s, a8, wp, w, panel, c, w_sum, zc, out, ldo, scale, bias, rq, q8);
}

VNNI_TARGET void qs8_conv_row_packed_8x48c4__avx512vnni(const qs8_conv_row *s, const int8_t *input, int oy,
                                                        uint8_t *window, const int8_t *packed,
                                                        const int32_t *w_sum, const float *scale,
                                                        const float *bias, const qs8_requant_cols *rq, void *out,
                                                        size_t ldo) {
    if (s->cin % 4 != 0 || s->kh < 1 || s->kw < 1) return;  // the caller checks (qs8_conv_row's contract)
    const size_t wp = (size_t)s->in_w + 2 * (size_t)s->pad;
    const uint8_t fill = (uint8_t)(s->a_zero ^ 0x80);
    for (int ky = 0; ky < s->kh; ky++) {
        const int iy = oy - s->pad + ky * s->dilation;
        const int8_t *row = iy >= 0 && iy < s->in_h ? input + (size_t)iy * (size_t)s->in_w * (size_t)s->cin : NULL;
        window_row(row, s->in_w, s->cin, s->pad, fill, window + (size_t)ky * wp * (size_t)s->cin);
    }
    const size_t panel = (size_t)PV_NR * (size_t)(s->kh * s->kw * s->cin);
    const int32_t zc = 128 + s->a_zero;
    for (int i = 0; i < s->out_w; i += PV_MR) {
        const int mr = s->out_w - i < PV_MR ? s->out_w - i : PV_MR;
        const uint8_t *a8 = window + (size_t)i * (size_t)s->cin;
        int32_t *o32 = rq ? NULL : (int32_t *)out + (size_t)i * ldo;
        int8_t *o8 = rq ? (int8_t *)out + (size_t)i * ldo : NULL;
        switch (mr) {
        case 8: if (PV_MR >= 8) conv_band(8, s, a8, wp, packed, panel, w_sum, zc, o32, ldo, scale, bias, rq, o8); break;
        case 7: if (PV_MR >= 7) conv_band(7, s, a8, wp, packed, panel, w_sum, zc, o32, ldo, scale, bias, rq, o8); break;
        case 6: if (PV_MR >= 6) conv_band(6, s, a8, wp, packed, panel, w_sum, zc, o32, ldo, scale, bias, rq, o8); break;
        case 5: if (PV_MR >= 5) conv_band(5, s, a8, wp, packed, panel, w_sum, zc, o32, ldo, scale, bias, rq, o8); break;
        case 4: conv_band(4, s, a8, wp, packed, panel, w_sum, zc, o32, ldo, scale, bias, rq, o8); break;
        case 3: conv_band(3, s, a8, wp, packed, panel, w_sum, zc, o32, ldo, scale, bias, rq, o8); break;
        case 2: conv_band(2, s, a8, wp, packed, panel, w_sum, zc, o32, ldo, scale, bias, rq, o8); break;
        default: conv_band(1, s, a8, wp, packed, panel, w_sum, zc, o32, ldo, scale, bias, rq, o8); break;
        }
    }
}

#else

void qs8_conv_row_packed_8x48c4__avx512vnni(const qs8_conv_row *s, const int8_t *input, int oy, uint8_t *window,
                                            const int8_t *packed, const int32_t *w_sum, const float *scale,
                                            const float *bias, const qs8_requant_cols *rq, void *out, size_t ldo) {
    (void)s; (void)input; (void)oy; (void)window; (void)packed; (void)w_sum; (void)scale; (void)bias; (void)rq; (void)out;
    (void)ldo;
}

#endif
