// Pre-processing kernels (NUMERICS 7): the frame's gray sum, `Σ (4899 R + 9617 G + 1868 B + 8192) >> 14` over packed
// RGB8 pixels (OpenCV's gray), exact integer arithmetic, equal to Preprocess.graySumScalar. 16 pixels per step;
// the scalar loop costs ~12 instructions per pixel (0.3 ms of a 640x480 frame at 1 thread).
#include "CKernels.h"

// One pixel, the tail of both kernels.
static inline uint32_t gray(const uint8_t *p) {
    return (4899u * p[0] + 9617u * p[1] + 1868u * p[2] + 8192u) >> 14;
}

#if defined(__x86_64__)
#include <immintrin.h>

// vpermb spreads 16 pixels (48 bytes) into dword lanes: `rg` holds R and G of pixel i as the two 16-bit halves of
// lane i, `b` holds B in the low half (the high half is set to 1), so one vpmaddwd each gives 4899 R + 9617 G and
// 1868 B + 8192 exactly (all coefficients fit int16, the sums int32). Masked-off tail pixels are 0: (0 + 8192) >> 14
// adds nothing.
__attribute__((target("avx512f,avx512bw,avx512vbmi")))
uint64_t pre_gray_sum_rgb8__avx512vbmi(const uint8_t *rgb, size_t pixels) {
    uint8_t idx_rg[64], idx_b[64];
    for (int i = 0; i < 16; i++) {
        idx_rg[4 * i] = (uint8_t)(3 * i); idx_rg[4 * i + 1] = 0; idx_rg[4 * i + 2] = (uint8_t)(3 * i + 1); idx_rg[4 * i + 3] = 0;
        idx_b[4 * i] = (uint8_t)(3 * i + 2); idx_b[4 * i + 1] = 0; idx_b[4 * i + 2] = 0; idx_b[4 * i + 3] = 0;
    }
    const __m512i rg_index = _mm512_loadu_si512(idx_rg), b_index = _mm512_loadu_si512(idx_b);
    const __mmask64 rg_bytes = 0x5555555555555555ull, b_bytes = 0x1111111111111111ull;
    const __m512i rg_coef = _mm512_set1_epi32((9617 << 16) | 4899), b_coef = _mm512_set1_epi32((8192 << 16) | 1868);
    const __m512i one_high = _mm512_set1_epi32(1 << 16);
    uint64_t total = 0;
    size_t p = 0;
    while (p < pixels) {
        // Lanes gain at most 255 per step: flush to 64 bits every 2^16 steps.
        __m512i acc = _mm512_setzero_si512();
        for (size_t steps = 0; p < pixels && steps < (1u << 16); steps++, p += 16) {
            const size_t n = pixels - p < 16 ? pixels - p : 16;
            const __mmask64 load = n == 16 ? (__mmask64)0xFFFFFFFFFFFFull : (((__mmask64)1 << (3 * n)) - 1);
            const __m512i x = _mm512_maskz_loadu_epi8(load, rgb + 3 * p);
            const __m512i rg = _mm512_maskz_permutexvar_epi8(rg_bytes, rg_index, x);
            const __m512i b = _mm512_or_si512(_mm512_maskz_permutexvar_epi8(b_bytes, b_index, x), one_high);
            const __m512i sum = _mm512_add_epi32(_mm512_madd_epi16(rg, rg_coef), _mm512_madd_epi16(b, b_coef));
            acc = _mm512_add_epi32(acc, _mm512_srli_epi32(sum, 14));
        }
        __m512i wide = _mm512_add_epi64(_mm512_cvtepu32_epi64(_mm512_castsi512_si256(acc)),
                                        _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(acc, 1)));
        total += (uint64_t)_mm512_reduce_add_epi64(wide);
    }
    return total;
}

#else

uint64_t pre_gray_sum_rgb8__avx512vbmi(const uint8_t *rgb, size_t pixels) { (void)rgb; (void)pixels; return 0; }

#endif

#if defined(__aarch64__)
#include <arm_neon.h>

// `ld3` splits 16 pixels into R, G and B registers; widened, multiplied by the constants (umull / umlal), rounded
// and shifted into the accumulator by one `usra` per four pixels.
uint64_t pre_gray_sum_rgb8__neon(const uint8_t *rgb, size_t pixels) {
    uint64_t total = 0;
    size_t p = 0;
    const uint32x4_t round = vdupq_n_u32(8192);
    while (p + 16 <= pixels) {
        uint32x4_t acc = vdupq_n_u32(0);  // at most 255 per lane and step: flushed every 2^16 steps
        for (size_t steps = 0; p + 16 <= pixels && steps < (1u << 16); steps++, p += 16) {
            const uint8x16x3_t v = vld3q_u8(rgb + 3 * p);
            const uint16x8_t r[2] = {vmovl_u8(vget_low_u8(v.val[0])), vmovl_high_u8(v.val[0])};
            const uint16x8_t g[2] = {vmovl_u8(vget_low_u8(v.val[1])), vmovl_high_u8(v.val[1])};
            const uint16x8_t b[2] = {vmovl_u8(vget_low_u8(v.val[2])), vmovl_high_u8(v.val[2])};
            for (int h = 0; h < 2; h++) {
                uint32x4_t lo = vmlal_n_u16(vmlal_n_u16(vmlal_n_u16(round, vget_low_u16(r[h]), 4899),
                                                        vget_low_u16(g[h]), 9617), vget_low_u16(b[h]), 1868);
                uint32x4_t hi = vmlal_high_n_u16(vmlal_high_n_u16(vmlal_high_n_u16(round, r[h], 4899), g[h], 9617),
                                                 b[h], 1868);
                acc = vsraq_n_u32(vsraq_n_u32(acc, lo, 14), hi, 14);
            }
        }
        total += vaddlvq_u32(acc);
    }
    for (; p < pixels; p++) total += gray(rgb + 3 * p);
    return total;
}

#else

uint64_t pre_gray_sum_rgb8__neon(const uint8_t *rgb, size_t pixels) {
    uint64_t total = 0;  // not built for AArch64: the plain loop (never selected)
    for (size_t p = 0; p < pixels; p++) total += gray(rgb + 3 * p);
    return total;
}

#endif
