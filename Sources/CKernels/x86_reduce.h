// Horizontal sums shared by the x86 kernels (internal header of CKernels; not part of the public API).
#ifndef CKERNELS_X86_REDUCE_H
#define CKERNELS_X86_REDUCE_H
#include <immintrin.h>

// Sums each of 16 vectors to one int32: result lane 4r+c = sum of x[4r+c] (a 4x4 tile, row-major).
__attribute__((target("avx512f"), always_inline)) static inline __m512i reduce16(const __m512i x[16]) {
    __m512i r[4];
    for (int j = 0; j < 4; j++) {
        const __m512i *v = x + 4 * j;
        __m512i s01 = _mm512_add_epi32(_mm512_unpacklo_epi32(v[0], v[1]), _mm512_unpackhi_epi32(v[0], v[1]));
        __m512i s23 = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2], v[3]), _mm512_unpackhi_epi32(v[2], v[3]));
        r[j] = _mm512_add_epi32(_mm512_unpacklo_epi64(s01, s23), _mm512_unpackhi_epi64(s01, s23));
    }
    // r[j] holds, per 128-bit lane L, the lane-L partial sums of rows 4j..4j+3; fold the four lanes.
    __m512i p01 = _mm512_add_epi32(_mm512_shuffle_i32x4(r[0], r[1], 0x88), _mm512_shuffle_i32x4(r[0], r[1], 0xDD));
    __m512i p23 = _mm512_add_epi32(_mm512_shuffle_i32x4(r[2], r[3], 0x88), _mm512_shuffle_i32x4(r[2], r[3], 0xDD));
    return _mm512_add_epi32(_mm512_shuffle_i32x4(p01, p23, 0x88), _mm512_shuffle_i32x4(p01, p23, 0xDD));
}

#endif
