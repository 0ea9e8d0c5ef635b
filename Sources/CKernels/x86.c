// x86-64 int8 GEMM kernels; each function carries its own target attribute so the file builds with the
// baseline flags and the dispatcher in QGemm.swift chooses from cpuid at run time.
#include "CKernels.h"
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#include "x86_reduce.h"

int ckernels_has_x86(void) { return 1; }

#define VNNI_TARGET __attribute__((target("avx512f,avx512vnni,avx512bw,avx512vl")))

VNNI_TARGET void qs8_gemm_raw_4x4__avx512vnni(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                              const int8_t *w, size_t ldw, const int32_t *w_sum,
                                              int32_t *out, size_t ldo) {
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    const int kfull = k & ~63;
    const __mmask64 tail = (k & 63) ? (~(__mmask64)0 >> (64 - (k & 63))) : 0;
    // vpdpbusd multiplies unsigned by signed: a ^ 0x80 = a + 128, so subtract (128 + z_a) * w_sum.
    const __m128i zc = _mm_set1_epi32(128 + a_zero);
    for (int i = 0; i < m; i += 4) {
        const int8_t *ar[4];
        for (int r = 0; r < 4; r++) ar[r] = a + (size_t)(i + r < m ? i + r : m - 1) * lda;
        for (int c = 0; c < n; c += 4) {
            const int8_t *wr[4];
            int ci[4];
            for (int q = 0; q < 4; q++) { ci[q] = c + q < n ? c + q : n - 1; wr[q] = w + (size_t)ci[q] * ldw; }
            __m512i acc[16];
            for (int t = 0; t < 16; t++) acc[t] = _mm512_setzero_si512();
            for (int kk = 0; kk < kfull; kk += 64) {
                __m512i x0 = _mm512_xor_si512(_mm512_loadu_si512(ar[0] + kk), flip);
                __m512i x1 = _mm512_xor_si512(_mm512_loadu_si512(ar[1] + kk), flip);
                __m512i x2 = _mm512_xor_si512(_mm512_loadu_si512(ar[2] + kk), flip);
                __m512i x3 = _mm512_xor_si512(_mm512_loadu_si512(ar[3] + kk), flip);
                for (int q = 0; q < 4; q++) {
                    __m512i y = _mm512_loadu_si512(wr[q] + kk);
                    acc[q] = _mm512_dpbusd_epi32(acc[q], x0, y);
                    acc[4 + q] = _mm512_dpbusd_epi32(acc[4 + q], x1, y);
                    acc[8 + q] = _mm512_dpbusd_epi32(acc[8 + q], x2, y);
                    acc[12 + q] = _mm512_dpbusd_epi32(acc[12 + q], x3, y);
                }
            }
            if (tail) {
                // Masked-off weight bytes load as 0, so whatever the activation byte becomes adds nothing.
                __m512i x[4];
                for (int r = 0; r < 4; r++) x[r] = _mm512_xor_si512(_mm512_maskz_loadu_epi8(tail, ar[r] + kfull), flip);
                for (int q = 0; q < 4; q++) {
                    __m512i y = _mm512_maskz_loadu_epi8(tail, wr[q] + kfull);
                    for (int r = 0; r < 4; r++) acc[4 * r + q] = _mm512_dpbusd_epi32(acc[4 * r + q], x[r], y);
                }
            }
            __m512i sums = reduce16(acc);
            __m128i corr = _mm_mullo_epi32(zc, _mm_setr_epi32(w_sum[ci[0]], w_sum[ci[1]], w_sum[ci[2]], w_sum[ci[3]]));
            sums = _mm512_sub_epi32(sums, _mm512_broadcast_i32x4(corr));
            const __mmask8 cols = (__mmask8)((1u << (n - c < 4 ? n - c : 4)) - 1);
            int32_t *o = out + (size_t)i * ldo + c;
            _mm_mask_storeu_epi32(o, cols, _mm512_extracti32x4_epi32(sums, 0));
            if (i + 1 < m) _mm_mask_storeu_epi32(o + ldo, cols, _mm512_extracti32x4_epi32(sums, 1));
            if (i + 2 < m) _mm_mask_storeu_epi32(o + 2 * ldo, cols, _mm512_extracti32x4_epi32(sums, 2));
            if (i + 3 < m) _mm_mask_storeu_epi32(o + 3 * ldo, cols, _mm512_extracti32x4_epi32(sums, 3));
        }
    }
}

#define AVX2_TARGET __attribute__((target("avx2")))

AVX2_TARGET static inline __m256i load16_s16(const int8_t *p) {
    return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)p));
}

// Four vectors to one: per 128-bit lane, element q = lane sum of v[q].
AVX2_TARGET static inline __m256i reduce4(const __m256i *v) {
    __m256i s01 = _mm256_add_epi32(_mm256_unpacklo_epi32(v[0], v[1]), _mm256_unpackhi_epi32(v[0], v[1]));
    __m256i s23 = _mm256_add_epi32(_mm256_unpacklo_epi32(v[2], v[3]), _mm256_unpackhi_epi32(v[2], v[3]));
    return _mm256_add_epi32(_mm256_unpacklo_epi64(s01, s23), _mm256_unpackhi_epi64(s01, s23));
}

AVX2_TARGET void qs8_gemm_raw_2x4__avx2(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                        const int8_t *w, size_t ldw, const int32_t *w_sum,
                                        int32_t *out, size_t ldo) {
    // int16 x int16 pairs summed by vpmaddwd are exact; vpmaddubsw would saturate on int8 x int8.
    const int kfull = k & ~15, krem = k & 15;
    const __m128i zc = _mm_set1_epi32(a_zero);
    for (int i = 0; i < m; i += 2) {
        const int8_t *a0 = a + (size_t)i * lda, *a1 = i + 1 < m ? a0 + lda : a0;
        int8_t ta0[16] = {0}, ta1[16] = {0};
        if (krem) { memcpy(ta0, a0 + kfull, (size_t)krem); memcpy(ta1, a1 + kfull, (size_t)krem); }
        for (int c = 0; c < n; c += 4) {
            const int8_t *wr[4];
            int ci[4];
            for (int q = 0; q < 4; q++) { ci[q] = c + q < n ? c + q : n - 1; wr[q] = w + (size_t)ci[q] * ldw; }
            __m256i acc[8];
            for (int t = 0; t < 8; t++) acc[t] = _mm256_setzero_si256();
            for (int kk = 0; kk < kfull; kk += 16) {
                __m256i x0 = load16_s16(a0 + kk), x1 = load16_s16(a1 + kk);
                for (int q = 0; q < 4; q++) {
                    __m256i y = load16_s16(wr[q] + kk);
                    acc[q] = _mm256_add_epi32(acc[q], _mm256_madd_epi16(x0, y));
                    acc[4 + q] = _mm256_add_epi32(acc[4 + q], _mm256_madd_epi16(x1, y));
                }
            }
            if (krem) {
                __m256i x0 = load16_s16(ta0), x1 = load16_s16(ta1);
                for (int q = 0; q < 4; q++) {
                    int8_t tw[16] = {0};
                    memcpy(tw, wr[q] + kfull, (size_t)krem);
                    __m256i y = load16_s16(tw);
                    acc[q] = _mm256_add_epi32(acc[q], _mm256_madd_epi16(x0, y));
                    acc[4 + q] = _mm256_add_epi32(acc[4 + q], _mm256_madd_epi16(x1, y));
                }
            }
            __m256i r0 = reduce4(acc), r1 = reduce4(acc + 4);
            __m256i lo = _mm256_permute2x128_si256(r0, r1, 0x20), hi = _mm256_permute2x128_si256(r0, r1, 0x31);
            __m256i sums = _mm256_add_epi32(lo, hi);  // row 0 in the low lane, row 1 in the high lane
            __m128i corr = _mm_mullo_epi32(zc, _mm_setr_epi32(w_sum[ci[0]], w_sum[ci[1]], w_sum[ci[2]], w_sum[ci[3]]));
            sums = _mm256_sub_epi32(sums, _mm256_broadcastsi128_si256(corr));
            int32_t row[8];
            _mm256_storeu_si256((__m256i *)row, sums);
            const int nc = n - c < 4 ? n - c : 4;
            int32_t *o = out + (size_t)i * ldo + c;
            for (int q = 0; q < nc; q++) o[q] = row[q];
            if (i + 1 < m) for (int q = 0; q < nc; q++) o[ldo + q] = row[4 + q];
        }
    }
}

#else

int ckernels_has_x86(void) { return 0; }
void qs8_gemm_raw_4x4__avx512vnni(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                  const int8_t *w, size_t ldw, const int32_t *w_sum, int32_t *out, size_t ldo) {
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)a_zero; (void)w; (void)ldw; (void)w_sum; (void)out; (void)ldo;
}
void qs8_gemm_raw_2x4__avx2(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                            const int8_t *w, size_t ldw, const int32_t *w_sum, int32_t *out, size_t ldo) {
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)a_zero; (void)w; (void)ldw; (void)w_sum; (void)out; (void)ldo;
}

#endif
