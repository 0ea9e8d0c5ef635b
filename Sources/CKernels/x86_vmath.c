// x86-64 AVX-512 forms of the elementary functions of docs/NUMERICS.md, 16 lanes, bit for bit the scalar
// references (Numerics.swift) and the eight-lane Swift forms (VectorMath.swift): every lane performs the same
// IEEE operations in the same order, each separately rounded. They exist because Swift has no per-function
// target features: the Swift forms are compiled for baseline x86-64 (SSE2, 4 lanes), and these are chosen at
// run time where the CPU has AVX-512 (docs/PERFORMANCE.md, "Non-GEMM ops").
#include "CKernels.h"

// No fused multiply-add: NUMERICS rounds every product and sum on its own.
#pragma STDC FP_CONTRACT OFF
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

#if defined(__x86_64__)
#include <immintrin.h>
#include "x86_reduce.h"

#define VM_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))

#define F(bits) _mm512_castsi512_ps(_mm512_set1_epi32((int)(bits)))
// NumericsConstant (Numerics.swift), as bit patterns.
#define LOG2E F(0x3fb8aa3b)
#define LN2HI F(0x3f317200)
#define LN2LO F(0x35bfbe8e)
#define EXP_P0 F(0x39506967)
#define EXP_P1 F(0x3ab743ce)
#define EXP_P2 F(0x3c088908)
#define EXP_P3 F(0x3d2aa9c1)
#define EXP_P4 F(0x3e2aaaaa)
#define EXP_P5 F(0x3f000000)
#define ERF_P F(0x3ea7ba05)
#define ERF_A1 F(0x3f87dc22)
#define ERF_A2 F(0x3fba00e3)
#define ERF_A3 F(0x3fb5f0e3)
#define ERF_A4 F(0x3e91a98e)
#define ERF_A5 F(0x3e827906)
#define INV_SQRT2 F(0x3f3504f3)
#define QUICK_GELU_K F(0x3fd9db23)
#define MAGIC _mm512_set1_ps(12582912.0f)  // 1.5 * 2^23
#define MAGIC_BITS 0x4b400000

VM_TARGET static inline __m512 neg(__m512 x) {  // the scalar prefix minus: a sign-bit flip
    return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int)0x80000000u)));
}

// exp32 (NUMERICS 4.1), as exp32x8.
VM_TARGET static inline __m512 exp16(__m512 x) {
    // Clamp to [-87, 88], NaN to 0: vmaxps / vminps return their second operand when either is NaN, so the NaN
    // survives both and is then replaced (4 instructions instead of three compare-and-blend pairs).
    x = _mm512_min_ps(_mm512_set1_ps(88.0f), _mm512_max_ps(_mm512_set1_ps(-87.0f), x));
    x = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, x, _CMP_ORD_Q), x);
    const __m512 n = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(x, LOG2E), MAGIC), MAGIC);
    __m512 r = _mm512_sub_ps(x, _mm512_mul_ps(n, LN2HI));
    r = _mm512_sub_ps(r, _mm512_mul_ps(n, LN2LO));
    __m512 p = EXP_P0;
    p = _mm512_add_ps(_mm512_mul_ps(p, r), EXP_P1);
    p = _mm512_add_ps(_mm512_mul_ps(p, r), EXP_P2);
    p = _mm512_add_ps(_mm512_mul_ps(p, r), EXP_P3);
    p = _mm512_add_ps(_mm512_mul_ps(p, r), EXP_P4);
    p = _mm512_add_ps(_mm512_mul_ps(p, r), EXP_P5);
    const __m512 rr = _mm512_mul_ps(r, r);
    p = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(p, rr), r), _mm512_set1_ps(1.0f));
    // p * 2^n: the scalar form multiplies by 2^n built from exponent bits (n in [-126, 127] after the clamps);
    // vscalefps is that same exactly rounded product in one instruction.
    return _mm512_scalef_ps(p, n);
}

// numeratorExp32 (NUMERICS 6 step 4), as numeratorExp32x8.
VM_TARGET static inline __m512 numexp16(__m512 d) {
    const __m512 low = _mm512_set1_ps(-17.0f);
    const __m512 x = _mm512_max_ps(d, low);  // d > -17 ? d : -17, NaN to -17 (vmaxps returns `low` then)
    const __m512 n = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(x, LOG2E), MAGIC), MAGIC);
    const __m512 r = _mm512_sub_ps(x, _mm512_mul_ps(n, F(0x3f317218)));
    __m512 p = F(0x3d2912db);
    p = _mm512_add_ps(_mm512_mul_ps(p, r), F(0x3e2b8e55));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), F(0x3f00035a));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);  // p * 2^n exactly, as exp16
}

// erf32 (NUMERICS 4.2), as erf32x8.
VM_TARGET static inline __m512 erf16(__m512 x) {
    const __m512 a = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(0x7fffffff)));
    const __m512 one = _mm512_set1_ps(1.0f);
    const __m512 t = _mm512_div_ps(one, _mm512_add_ps(one, _mm512_mul_ps(ERF_P, a)));
    __m512 y = ERF_A1;
    y = _mm512_sub_ps(_mm512_mul_ps(y, t), ERF_A2);
    y = _mm512_add_ps(_mm512_mul_ps(y, t), ERF_A3);
    y = _mm512_sub_ps(_mm512_mul_ps(y, t), ERF_A4);
    y = _mm512_add_ps(_mm512_mul_ps(y, t), ERF_A5);
    y = _mm512_mul_ps(y, t);
    const __m512 e = exp16(neg(_mm512_mul_ps(a, a)));
    const __m512 r = _mm512_sub_ps(one, _mm512_mul_ps(y, e));
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ), r, neg(r));
}

// One activation (CKernels.h's VM_ACT_*) of 16 lanes, as VectorMath's gelu32x8 / quickGelu32x8 / sigmoid32x8 /
// relu32x8.
VM_TARGET static inline __m512 activate16(__m512 x, int act) {
    const __m512 one = _mm512_set1_ps(1.0f);
    switch (act) {
    case VM_ACT_GELU: {
        const __m512 half = _mm512_mul_ps(x, _mm512_set1_ps(0.5f));
        return _mm512_mul_ps(half, _mm512_add_ps(one, erf16(_mm512_mul_ps(x, INV_SQRT2))));
    }
    case VM_ACT_QUICK_GELU: {
        const __m512 z = _mm512_mul_ps(QUICK_GELU_K, x);
        return _mm512_mul_ps(x, _mm512_div_ps(one, _mm512_add_ps(one, exp16(neg(z)))));
    }
    case VM_ACT_SIGMOID:
        return _mm512_div_ps(one, _mm512_add_ps(one, exp16(neg(x))));
    default:  // relu: 0 unless x > 0 (NaN gives 0)
        return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ), x);
    }
}

// quantize (NUMERICS 3.1) of 16 lanes, as quantize8: int32 lanes in [-128, 127].
VM_TARGET static inline __m512i quantize16(__m512 x, __m512 inv, __m512 zero) {
    __m512 t = _mm512_mul_ps(x, inv);
    t = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(t, _mm512_set1_ps(-1024.0f), _CMP_LT_OQ), t, _mm512_set1_ps(-1024.0f));
    t = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(t, _mm512_set1_ps(1024.0f), _CMP_GT_OQ), t, _mm512_set1_ps(1024.0f));
    t = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(t, t, _CMP_UNORD_Q), t, _mm512_setzero_ps());
    __m512 u = _mm512_add_ps(_mm512_add_ps(t, MAGIC), zero);
    const __m512 lo = _mm512_sub_ps(MAGIC, _mm512_set1_ps(128.0f)), hi = _mm512_add_ps(MAGIC, _mm512_set1_ps(127.0f));
    u = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(u, lo, _CMP_LT_OQ), u, lo);
    u = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(u, hi, _CMP_GT_OQ), u, hi);
    return _mm512_sub_epi32(_mm512_castps_si512(u), _mm512_set1_epi32(MAGIC_BITS));
}

VM_TARGET static inline __mmask16 tail_mask(size_t left) {
    return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
}

// 16 lanes (`m` valid) stored at element `at` of a row that goes out as fp32 (`f32`) or, with `q8` non-NULL,
// through Q into int8.
VM_TARGET static inline void store_row16(__m512 y, __mmask16 m, float *f32, int8_t *q8, size_t at, __m512 inv,
                                         __m512 zero) {
    if (q8) _mm_mask_storeu_epi8(q8 + at, m, _mm512_cvtepi32_epi8(quantize16(y, inv, zero)));
    else _mm512_mask_storeu_ps(f32 + at, m, y);
}

VM_TARGET void vm_activate_f32__avx512(const float *x, float *out, size_t count, int act) {
    for (size_t i = 0; i < count; i += 16) {
        const __mmask16 m = tail_mask(count - i);
        _mm512_mask_storeu_ps(out + i, m, activate16(_mm512_maskz_loadu_ps(m, x + i), act));
    }
}

VM_TARGET void vm_activate_qs8__avx512(const float *x, int8_t *out, size_t count, int act, float inv_scale,
                                       int32_t zero_point) {
    const __m512 inv = _mm512_set1_ps(inv_scale), zero = _mm512_set1_ps((float)zero_point);
    for (size_t i = 0; i < count; i += 16) {
        const __mmask16 m = tail_mask(count - i);
        const __m512 y = activate16(_mm512_maskz_loadu_ps(m, x + i), act);
        _mm_mask_storeu_epi8(out + i, m, _mm512_cvtepi32_epi8(quantize16(y, inv, zero)));
    }
}

VM_TARGET void vm_quantize_qs8__avx512(const float *x, int8_t *out, size_t count, float inv_scale, int32_t zero_point) {
    const __m512 inv = _mm512_set1_ps(inv_scale), zero = _mm512_set1_ps((float)zero_point);
    for (size_t i = 0; i < count; i += 16) {
        const __mmask16 m = tail_mask(count - i);
        _mm_mask_storeu_epi8(out + i, m, _mm512_cvtepi32_epi8(quantize16(_mm512_maskz_loadu_ps(m, x + i), inv, zero)));
    }
}

VM_TARGET void vm_attention_output__avx512(const int32_t *acc, int32_t correction, float v_scale, float z, int hd,
                                          float *out_f32, int8_t *out_q8, float inv_scale, int32_t zero_point) {
    const __m512i corr = _mm512_set1_epi32(correction);
    const __m512 vs = _mm512_set1_ps(v_scale), zf = _mm512_set1_ps(z);
    const __m512 inv = _mm512_set1_ps(inv_scale), zero = _mm512_set1_ps((float)zero_point);
    for (int c = 0; c < hd; c += 16) {
        const __mmask16 m = tail_mask((size_t)(hd - c));
        const __m512i a = _mm512_sub_epi32(_mm512_maskz_loadu_epi32(m, acc + c), corr);
        const __m512 o = _mm512_div_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(a), vs), zf);
        store_row16(o, m, out_f32, out_q8, (size_t)c, inv, zero);
    }
}

VM_TARGET int32_t vm_softmax_numerators_qs8__avx512(const float *logits, float max, int8_t *out, size_t count) {
    const __m512 mx = _mm512_set1_ps(max);
    __m512i sum = _mm512_setzero_si512();
    for (size_t i = 0; i < count; i += 16) {
        const __mmask16 m = tail_mask(count - i);
        const __m512 e = numexp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, logits + i), mx));
        // e in [0, 1]: roundEven(e * 255) as an integer (the conversion's own rounding, nearest-even)
        const __m512i p = _mm512_cvt_roundps_epi32(_mm512_mul_ps(e, _mm512_set1_ps(255.0f)),
                                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm_mask_storeu_epi8(out + i, m, _mm512_cvtepi32_epi8(_mm512_sub_epi32(p, _mm512_set1_epi32(128))));
        sum = _mm512_mask_add_epi32(sum, m, sum, p);
    }
    return _mm512_reduce_add_epi32(sum);
}

__attribute__((target("avx512f,avx512bw,avx512vbmi"))) void vm_lookup_s8__avx512vbmi(const int8_t *x,
                                                                                     const int8_t *table, int8_t *out,
                                                                                     size_t count) {
    const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64);
    const __m512i t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    for (size_t i = 0; i < count; i += 64) {
        const __mmask64 m = count - i >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (count - i)) - 1);
        const __m512i u = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, x + i), flip);  // x + 128 as a byte
        // vpermi2b reads the low 7 bits of each index: entries 0-127 from (t0, t1), 128-255 from (t2, t3).
        const __m512i lo = _mm512_permutex2var_epi8(t0, u, t1), hi = _mm512_permutex2var_epi8(t2, u, t3);
        _mm512_mask_storeu_epi8(out + i, m, _mm512_mask_blend_epi8(_mm512_movepi8_mask(u), lo, hi));
    }
}

VM_TARGET float vm_attention_logits__avx512(const int32_t *scores, int32_t correction, float scale, const float *relh,
                                            const float *relw, int grid_h, int grid_w, float *out) {
    const __m512i corr = _mm512_set1_epi32(correction);
    const __m512 sc = _mm512_set1_ps(scale);
    __m512 mv = _mm512_set1_ps(-__builtin_inff());
    const int rows = relh ? grid_h : 1, width = relh ? grid_w : grid_h * grid_w;
    for (int kh = 0; kh < rows; kh++) {
        const size_t row = (size_t)kh * (size_t)width;
        const __m512 h = relh ? _mm512_set1_ps(relh[kh]) : _mm512_setzero_ps();
        for (int kw = 0; kw < width; kw += 16) {
            const __mmask16 m = tail_mask((size_t)(width - kw));
            const __m512i si = _mm512_sub_epi32(_mm512_maskz_loadu_epi32(m, scores + row + kw), corr);
            __m512 l = _mm512_mul_ps(_mm512_cvtepi32_ps(si), sc);
            if (relh) l = _mm512_add_ps(_mm512_add_ps(l, h), _mm512_maskz_loadu_ps(m, relw + kw));
            _mm512_mask_storeu_ps(out + row + kw, m, l);
            // The scalar loop's `if l > m`: a NaN logit never becomes the maximum.
            mv = _mm512_mask_blend_ps(m & _mm512_cmp_ps_mask(l, mv, _CMP_GT_OQ), mv, l);
        }
    }
    const float mx = _mm512_reduce_max_ps(mv);
    return out[0] != out[0] ? out[0] : mx;
}

VM_TARGET void vm_rel_terms_qs8__avx512(const int8_t *q, int32_t zq, const int8_t *table, int count, int hd, float scale,
                                        float *out) {
    const __m512i z = _mm512_set1_epi16((short)zq);
    const __m512 sc = _mm512_set1_ps(scale);
    for (int k0 = 0; k0 < count; k0 += 16) {
        const int nk = count - k0 < 16 ? count - k0 : 16;
        __m512i acc[16];
        for (int t = 0; t < 16; t++) acc[t] = _mm512_setzero_si512();
        for (int c = 0; c < hd; c += 32) {
            const __mmask32 m = hd - c >= 32 ? 0xFFFFFFFFu : (1u << (hd - c)) - 1;
            // Masked-off channels: r loads as 0, so whatever q - z_q is there adds nothing.
            const __m512i qv = _mm512_sub_epi16(_mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, q + c)), z);
            for (int t = 0; t < nk; t++) {
                const __m512i r = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, table + (size_t)(k0 + t) * hd + c));
                acc[t] = _mm512_add_epi32(acc[t], _mm512_madd_epi16(qv, r));
            }
        }
        const __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(reduce16(acc)), sc);
        _mm512_mask_storeu_ps(out + k0, (__mmask16)((1u << nk) - 1), f);
    }
}

// NUMERICS 2.1's lane16 tree of one accumulator: halves added pairwise 8, 4, 2, 1.
VM_TARGET static inline float lane16_tree(__m512 acc) {
    const __m256 a8 = _mm256_add_ps(_mm512_castps512_ps256(acc), _mm512_extractf32x8_ps(acc, 1));
    const __m128 a4 = _mm_add_ps(_mm256_castps256_ps128(a8), _mm256_extractf128_ps(a8, 1));
    const __m128 a2 = _mm_add_ps(a4, _mm_movehl_ps(a4, a4));
    return _mm_cvtss_f32(_mm_add_ss(a2, _mm_shuffle_ps(a2, a2, 1)));
}

// `nr` rows at once (LN_ROWS at most): each row's lane16 sums are one dependent chain of adds, so one row at a time
// waited on add latency; interleaving the rows' chains fills the pipes with the same operations per row.
#define LN_ROWS 4
VM_TARGET __attribute__((always_inline)) static inline void
layer_norm_rows(const int nr, size_t first, const float *x, size_t ldx, int c, const float *weight, const float *bias,
                float eps, float *out_f32, int8_t *out_q8, size_t ldo, __m512 inv, __m512 zero) {
    x += first * ldx;
    // lane16 sums: element i goes to lane i % 16; a masked tail leaves the other lanes untouched (adding 0 would
    // turn a -0 lane into +0).
    __m512 acc[LN_ROWS], mv[LN_ROWS], rs[LN_ROWS];
    #pragma GCC unroll 4
    for (int r = 0; r < nr; r++) acc[r] = _mm512_setzero_ps();
    for (int i = 0; i < c; i += 16) {
        const __mmask16 m = tail_mask((size_t)(c - i));
        #pragma GCC unroll 4
        for (int r = 0; r < nr; r++)
            acc[r] = _mm512_mask_add_ps(acc[r], m, acc[r], _mm512_maskz_loadu_ps(m, x + (size_t)r * ldx + i));
    }
    #pragma GCC unroll 4
    for (int r = 0; r < nr; r++) {
        mv[r] = _mm512_set1_ps(lane16_tree(acc[r]) / (float)c);
        acc[r] = _mm512_setzero_ps();
    }
    for (int i = 0; i < c; i += 16) {
        const __mmask16 m = tail_mask((size_t)(c - i));
        #pragma GCC unroll 4
        for (int r = 0; r < nr; r++) {
            const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + (size_t)r * ldx + i), mv[r]);
            acc[r] = _mm512_mask_add_ps(acc[r], m, acc[r], _mm512_mul_ps(d, d));
        }
    }
    #pragma GCC unroll 4
    for (int r = 0; r < nr; r++) {
        const float variance = lane16_tree(acc[r]) / (float)c;
        rs[r] = _mm512_set1_ps(1.0f / _mm_cvtss_f32(_mm_sqrt_ss(_mm_set_ss(variance + eps))));
    }
    for (int i = 0; i < c; i += 16) {
        const __mmask16 m = tail_mask((size_t)(c - i));
        const __m512 w = _mm512_maskz_loadu_ps(m, weight + i), b = _mm512_maskz_loadu_ps(m, bias + i);
        #pragma GCC unroll 4
        for (int r = 0; r < nr; r++) {
            const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + (size_t)r * ldx + i), mv[r]);
            const __m512 y = _mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(d, rs[r]), w), b);
            store_row16(y, m, out_f32, out_q8, (first + (size_t)r) * ldo + (size_t)i, inv, zero);
        }
    }
}

VM_TARGET void vm_layer_norm_rows__avx512(const float *x, size_t ldx, int rows, int c, const float *weight,
                                          const float *bias, float eps, float *out_f32, int8_t *out_q8, size_t ldo,
                                          float inv_scale, int32_t zero_point) {
    const __m512 inv = _mm512_set1_ps(inv_scale), zero = _mm512_set1_ps((float)zero_point);
    int r = 0;
    for (; r + LN_ROWS <= rows; r += LN_ROWS)
        layer_norm_rows(LN_ROWS, (size_t)r, x, ldx, c, weight, bias, eps, out_f32, out_q8, ldo, inv, zero);
    for (; r < rows; r++) layer_norm_rows(1, (size_t)r, x, ldx, c, weight, bias, eps, out_f32, out_q8, ldo, inv, zero);
}

#else

void vm_layer_norm_rows__avx512(const float *x, size_t ldx, int rows, int c, const float *weight, const float *bias,
                                float eps, float *out_f32, int8_t *out_q8, size_t ldo, float inv_scale,
                                int32_t zero_point) {
    (void)x; (void)ldx; (void)rows; (void)c; (void)weight; (void)bias; (void)eps; (void)out_f32; (void)out_q8;
    (void)ldo; (void)inv_scale; (void)zero_point;
}
void vm_rel_terms_qs8__avx512(const int8_t *q, int32_t zq, const int8_t *table, int count, int hd, float scale,
                              float *out) {
    (void)q; (void)zq; (void)table; (void)count; (void)hd; (void)scale; (void)out;
}
float vm_attention_logits__avx512(const int32_t *scores, int32_t correction, float scale, const float *relh,
                                  const float *relw, int grid_h, int grid_w, float *out) {
    (void)scores; (void)correction; (void)scale; (void)relh; (void)relw; (void)grid_h; (void)grid_w; (void)out;
    return 0;
}
void vm_activate_f32__avx512(const float *x, float *out, size_t count, int act) {
    (void)x; (void)out; (void)count; (void)act;
}
void vm_activate_qs8__avx512(const float *x, int8_t *out, size_t count, int act, float inv_scale, int32_t zero_point) {
    (void)x; (void)out; (void)count; (void)act; (void)inv_scale; (void)zero_point;
}
void vm_quantize_qs8__avx512(const float *x, int8_t *out, size_t count, float inv_scale, int32_t zero_point) {
    (void)x; (void)out; (void)count; (void)inv_scale; (void)zero_point;
}
void vm_attention_output__avx512(const int32_t *acc, int32_t correction, float v_scale, float z, int hd,
                                 float *out_f32, int8_t *out_q8, float inv_scale, int32_t zero_point) {
    (void)acc; (void)correction; (void)v_scale; (void)z; (void)hd; (void)out_f32; (void)out_q8; (void)inv_scale;
    (void)zero_point;
}
int32_t vm_softmax_numerators_qs8__avx512(const float *logits, float max, int8_t *out, size_t count) {
    (void)logits; (void)max; (void)out; (void)count;
    return 0;
}
void vm_lookup_s8__avx512vbmi(const int8_t *x, const int8_t *table, int8_t *out, size_t count) {
    (void)x; (void)table; (void)out; (void)count;
}

#endif
