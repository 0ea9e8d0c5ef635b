// Leaf SIMD int8 GEMM kernels (no allocation, no I/O). Every kernel computes, for i < m and c < n,
//   out[i * ldo + c] = sum_k (a[i * lda + k] - a_zero) * w[c * ldw + k]
// exactly (int32, wrapping), using w_sum[c] = sum_k w[c * ldw + k] for the zero-point correction.
// The scalar reference lives in Swift (LiteModel's qs8_gemm__scalar_ref); QGemm.swift picks one at run time.
#ifndef CKERNELS_H
#define CKERNELS_H
#include <stddef.h>
#include <stdint.h>

/// x86-64 AVX-512 VNNI (vpdpbusd on a+128), 4x4 tile of K-dot products, masked K tail.
void qs8_gemm_raw_4x4__avx512vnni(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                  const int8_t *w, size_t ldw, const int32_t *w_sum, int32_t *out, size_t ldo);
/// x86-64 AVX2 (sign-extend to int16, vpmaddwd), 2x4 tile, zero-padded K tail.
void qs8_gemm_raw_2x4__avx2(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                            const int8_t *w, size_t ldw, const int32_t *w_sum, int32_t *out, size_t ldo);
/// AArch64 with the dot-product extension (sdot), 4x4 tile, zero-padded K tail; a no-op unless ckernels_has_neondot().
void qs8_gemm_raw_4x4__neondot(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                               const int8_t *w, size_t ldw, const int32_t *w_sum, int32_t *out, size_t ldo);
/// AArch64 plain NEON (smull + sadalp), 2x4 tile, zero-padded K tail (Cortex-A72 and older).
void qs8_gemm_raw_2x4__neon(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                            const int8_t *w, size_t ldw, const int32_t *w_sum, int32_t *out, size_t ldo);
/// Bytes of an N x K weight matrix packed by qs8_pack_8c2 (N rounded up to 8, K to 2).
size_t qs8_packed_8c2_bytes(int n, int k);
/// Packs `w[N, K]` (rows `ldw` apart) into panels of 8 columns: panel p holds, for each pair of k, the 16 bytes
/// `w[8p+q][k], w[8p+q][k+1]` for q = 0..7; columns past N and the k past an odd K are 0. Panel p starts at
/// byte `p * 8 * K2` (K2 = K rounded up to even), so a column block starting at a multiple of 8 is a plain offset.
void qs8_pack_8c2(int n, int k, const int8_t *w, size_t ldw, int8_t *packed);
/// x86-64 AVX2 over qs8_pack_8c2 weights: a - z_a widened to int16 once per 4 rows and 1024 k, one pair broadcast
/// per row times 8 columns with vpmaddwd (no horizontal sums, no row sums needed), 4x16 tiles, masked column tail.
void qs8_gemm_packed_4x16__avx2(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                               const int8_t *packed, int32_t *out, size_t ldo);
/// qs8_gemm_packed_4x16__avx2 finished with NUMERICS 3.3's dequantization (float(acc) * scale[c], then + bias[c])
/// into float rows `ldo` apart.
void qs8_gemm_packed_4x16_dequant__avx2(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                       const int8_t *packed, const float *scale, const float *bias,
                                       float *out, size_t ldo);
/// Per-output-channel constants of NUMERICS 3.4's requantization (N values each, as QRequantParams).
typedef struct {
    const int32_t *multiplier;
    const int32_t *shift;
    const int32_t *bias;
    const int32_t *zero_point;
} qs8_requant_cols;
/// The largest K qs8_gemm_packed_4x16_requant__avx2 takes (its sums stay in registers over one chunk of K).
#define QS8_PACKED_MAX_K_REQUANT 1024
/// qs8_gemm_packed_4x16__avx2 finished with NUMERICS 3.4's requantization into int8 rows `ldo` bytes apart,
/// bit-exact with the Swift reference (64-bit products, shift counts masked like Swift's &<< / &>>); K <= 1024
/// (larger K writes nothing: the caller runs the raw kernel and the Swift epilogue instead).
void qs8_gemm_packed_4x16_requant__avx2(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                        const int8_t *packed, qs8_requant_cols rq, int8_t *out, size_t ldo);
/// Bytes of an N x K weight matrix packed by qs8_pack_16c4 (N rounded up to 16, K to 4).
size_t qs8_packed_16c4_bytes(int n, int k);
/// Packs `w[N, K]` (rows `ldw` apart) into panels of 16 columns: panel p holds, for each quad of k, the 64 bytes
/// `w[16p+q][k .. k+3]` for q = 0..15; columns past N and the k past K are 0. Panel p starts at byte
/// `p * 16 * K4` (K4 = K rounded up to a multiple of 4), so a column block starting at a multiple of 16 is a plain offset.
void qs8_pack_16c4(int n, int k, const int8_t *w, size_t ldw, int8_t *packed);
/// x86-64 AVX-512 VNNI over qs8_pack_16c4 weights: a + 128 flipped once per 8 rows and 1024 k, one broadcast of four
/// bytes per row times 16 columns with vpdpbusd (no horizontal sums), 8x48 tiles, masked column tail; `w_sum[c]` =
/// sum_k w[c][k] takes (128 + z_a) * w_sum off each output.
void qs8_gemm_packed_8x48c4__avx512vnni(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                        const int8_t *packed, const int32_t *w_sum, int32_t *out, size_t ldo);
/// qs8_gemm_packed_8x48c4__avx512vnni finished with NUMERICS 3.3's dequantization into float rows `ldo` apart.
void qs8_gemm_packed_8x48c4_dequant__avx512vnni(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                                const int8_t *packed, const int32_t *w_sum, const float *scale,
                                                const float *bias, float *out, size_t ldo);
/// qs8_gemm_packed_8x48c4__avx512vnni finished with NUMERICS 3.4's requantization into int8 rows `ldo` bytes apart,
/// bit-exact with the Swift reference; K <= 1024 (larger K writes nothing, as the AVX2 requant kernel).
void qs8_gemm_packed_8x48c4_requant__avx512vnni(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                                const int8_t *packed, const int32_t *w_sum, qs8_requant_cols rq,
                                                int8_t *out, size_t ldo);
/// One output row of a stride-1 convolution over a channels-last int8 map (qs8_conv_row_packed_8x48c4__avx512vnni).
typedef struct {
    int out_w;     ///< output pixels: in_w + 2 pad - dilation (kw - 1)
    int n;         ///< output channels
    int cin;       ///< input channels, a multiple of 4
    int kh, kw, dilation, pad;
    int in_h, in_w;  ///< input rows and pixels per row
    int32_t a_zero;
} qs8_conv_row;
/// x86-64 AVX-512 VNNI direct conv of output row `oy` over weights packed by qs8_pack_16c4 ([outC][kH][kW][inC]):
/// the input rows its taps read (oy - pad + ky * dilation, of `input`) are flipped to a + 128 into `window`
/// (kh x (in_w + 2 pad) x cin bytes, the padding the flipped zero point) and each tap broadcasts four bytes per
/// output pixel from it, 8 pixels x 48 columns per tile, no im2col. Outputs `ldo` apart: raw int32 (`scale` and
/// `rq` NULL), NUMERICS 3.3's dequantization into float (`scale`, `bias`) or 3.4's requantization into int8 (`rq`);
/// equal to the im2col conv through the reference GEMM. Writes nothing when cin is not a multiple of 4.
void qs8_conv_row_packed_8x48c4__avx512vnni(const qs8_conv_row *s, const int8_t *input, int oy, uint8_t *window,
                                            const int8_t *packed, const int32_t *w_sum, const float *scale,
                                            const float *bias, const qs8_requant_cols *rq, void *out, size_t ldo);
/// The AArch64 dot-product direct conv of output row `oy`, as qs8_conv_row_packed_8x48c4__avx512vnni: the kH input rows
/// copied once into `window` (kh x (in_w + 2 pad) x cin int8, the padding the zero point), per tap and quad of channels
/// four pixels' quads gathered into the lanes of one register for `sdot` by lane, 4 pixels x 16 columns per tile, the
/// fused epilogues of the packed GEMM. A no-op unless ckernels_has_neondot() (or when cin is not a multiple of 4).
void qs8_conv_row_packed_4x16c4__neondot(const qs8_conv_row *s, const int8_t *input, int oy, int8_t *window,
                                         const int8_t *packed, const int32_t *w_sum, const float *scale,
                                         const float *bias, const qs8_requant_cols *rq, void *out, size_t ldo);
/// The plain NEON direct conv: `window` holds a - z_a widened to int16 (kh x (in_w + 2 pad) x cin values, padding 0),
/// read as int16x4 quads for `smlal` by lane against `ld4`-split panels. A no-op unless ckernels_has_aarch64().
void qs8_conv_row_packed_4x16c4__neon_mlal_lane(const qs8_conv_row *s, const int8_t *input, int oy, int16_t *window,
                                                const int8_t *packed, const float *scale, const float *bias,
                                                const qs8_requant_cols *rq, void *out, size_t ldo);
/// Activations of the vector-math kernels (VectorMath.Activation).
#define VM_ACT_GELU 0
#define VM_ACT_QUICK_GELU 1
#define VM_ACT_SIGMOID 2
#define VM_ACT_RELU 3
/// `out[i] = act(x[i])`, 16 lanes (x86-64 AVX-512 F/BW/VL/DQ), bit-exact with NUMERICS' scalar functions.
void vm_activate_f32__avx512(const float *x, float *out, size_t count, int act);
/// `out[i] = Q(act(x[i]); inv_scale, zero_point)` (NUMERICS 3.1), 16 lanes, bit-exact.
void vm_activate_qs8__avx512(const float *x, int8_t *out, size_t count, int act, float inv_scale, int32_t zero_point);
/// `out[i] = Q(x[i]; inv_scale, zero_point)`, 16 lanes, bit-exact.
void vm_quantize_qs8__avx512(const float *x, int8_t *out, size_t count, float inv_scale, int32_t zero_point);
/// `out[i] = table[x[i] + 128]` (a 256-entry int8 activation table, NUMERICS 3.5): two `vpermi2b` over the table's
/// halves, chosen by the index's top bit, 64 bytes per step (x86-64 AVX-512 VBMI), equal to Elementwise.lookup.
void vm_lookup_s8__avx512vbmi(const int8_t *x, const int8_t *table, int8_t *out, size_t count);
/// `out[i] = table[x[i] + 128]` on AArch64: `tbl` / `tbx` over the table's four 64-byte quarters, 16 bytes per
/// step, equal to Elementwise.lookup; a no-op unless ckernels_has_aarch64().
void vm_lookup_s8__neon(const int8_t *x, const int8_t *table, int8_t *out, size_t count);
/// Softmax numerators of one attention row quantized against its maximum: p = roundEven(numeratorExp32(l - max) * 255),
/// `out[i] = p - 128`; returns the sum of p. 16 lanes, bit-exact with QAttentionRows.quantizedNumerators.
int32_t vm_softmax_numerators_qs8__avx512(const float *logits, float max, int8_t *out, size_t count);
/// One attention query's output from its P.V sums, `o_c = (float(acc[c] - correction) * v_scale) / z` for c < hd,
/// into `out_f32`, or with `out_q8` non-NULL into int8 through Q(inv_scale, zero_point). 16 lanes, bit-exact with
/// QAttentionRows.outputRow.
void vm_attention_output__avx512(const int32_t *acc, int32_t correction, float v_scale, float z, int hd,
                                 float *out_f32, int8_t *out_q8, float inv_scale, int32_t zero_point);
/// Logits of one attention query, `l_j = (float(S_j - correction) * scale + relh[j / grid_w]) + relw[j % grid_w]`
/// (only the product without `relh`, then `relw` unused), into `out`; returns the row maximum as the scalar loop
/// finds it (NaN logits never become it; a NaN `l_0` is returned). 16 lanes, bit-exact with QAttentionRows.logitsRow.
float vm_attention_logits__avx512(const int32_t *scores, int32_t correction, float scale, const float *relh,
                                  const float *relw, int grid_h, int grid_w, float *out);
/// Decomposed relative-position terms of one attention query: `out[i] = float(sum_c (q[c] - zq) * table[i * hd + c])
/// * scale` for i < count (int32 sums, exact). AVX-512 BW, bit-exact with QAttentionRows.relTerms.
void vm_rel_terms_qs8__avx512(const int8_t *q, int32_t zq, const int8_t *table, int count, int hd, float scale,
                              float *out);
/// AArch64 with the dot-product extension over qs8_pack_16c4 weights: four rows interleaved by quads of k per 1024 k,
/// `sdot` by lane into 16 accumulators of 4 rows x 16 columns (no horizontal sums), `z_a * w_sum[c]` taken off;
/// raw int32 outputs. A no-op unless ckernels_has_neondot().
void qs8_gemm_packed_4x16c4__neondot(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                     const int8_t *packed, const int32_t *w_sum, int32_t *out, size_t ldo);
/// qs8_gemm_packed_4x16c4__neondot finished with NUMERICS 3.3's dequantization into float rows `ldo` apart.
void qs8_gemm_packed_4x16c4_dequant__neondot(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                             const int8_t *packed, const int32_t *w_sum, const float *scale,
                                             const float *bias, float *out, size_t ldo);
/// qs8_gemm_packed_4x16c4__neondot finished with NUMERICS 3.4's requantization into int8 rows `ldo` bytes apart,
/// bit-exact with the Swift reference; K <= 1024 (larger K writes nothing, as the x86 requant kernels).
void qs8_gemm_packed_4x16c4_requant__neondot(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                             const int8_t *packed, const int32_t *w_sum, qs8_requant_cols rq,
                                             int8_t *out, size_t ldo);
/// AArch64 plain NEON (no dot product: Cortex-A72, A53) over qs8_pack_16c4 weights: `ld4` splits each quad of k of
/// a 16-column panel into four registers of one k, widened to int16 and multiplied by one k of each of 4 rows
/// (a - z_a widened once per 1024 k) with `smlal` by lane into 16 accumulators (no row sums); raw int32 outputs.
/// A no-op unless ckernels_has_aarch64().
void qs8_gemm_packed_4x16c4__neon_mlal_lane(int m, int n, int k, const int8_t *a, size_t lda, int32_t a_zero,
                                            const int8_t *packed, int32_t *out, size_t ldo);
/// qs8_gemm_packed_4x16c4__neon_mlal_lane finished with NUMERICS 3.3's dequantization into float rows `ldo` apart.
void qs8_gemm_packed_4x16c4_dequant__neon_mlal_lane(int m, int n, int k, const int8_t *a, size_t lda,
                                                    int32_t a_zero, const int8_t *packed, const float *scale,
                                                    const float *bias, float *out, size_t ldo);
/// qs8_gemm_packed_4x16c4__neon_mlal_lane finished with NUMERICS 3.4's requantization into int8 rows `ldo` bytes
/// apart, bit-exact with the Swift reference; K <= 1024 (larger K writes nothing).
void qs8_gemm_packed_4x16c4_requant__neon_mlal_lane(int m, int n, int k, const int8_t *a, size_t lda,
                                                    int32_t a_zero, const int8_t *packed, qs8_requant_cols rq,
                                                    int8_t *out, size_t ldo);
/// LayerNorm of `rows` rows of `c` values, `ldx` apart (NUMERICS 5: lane16 mean and variance,
/// `((x - mean) * rs) * w + b`), into `out_f32`, or with `out_q8` non-NULL into int8 through Q(inv_scale, zero_point),
/// output rows `ldo` apart. Four rows at a time (their sums' add chains interleaved). AVX-512, bit-exact with
/// LayerNorm.run.
void vm_layer_norm_rows__avx512(const float *x, size_t ldx, int rows, int c, const float *weight, const float *bias,
                                float eps, float *out_f32, int8_t *out_q8, size_t ldo, float inv_scale,
                                int32_t zero_point);
/// `Σ (4899 R + 9617 G + 1868 B + 8192) >> 14` over `pixels` packed RGB8 pixels (NUMERICS 7.2's gray sum), exact:
/// 16 pixels per step spread into dword lanes by `vpermb`, two `vpmaddwd` (x86-64 AVX-512 VBMI); 0 on other targets.
uint64_t pre_gray_sum_rgb8__avx512vbmi(const uint8_t *rgb, size_t pixels);
/// The same on AArch64: `ld3` splits 16 pixels into channels, `umlal` by the constants, `usra` into the sums.
uint64_t pre_gray_sum_rgb8__neon(const uint8_t *rgb, size_t pixels);
/// 1 when this build contains the x86 kernels, 0 otherwise.
int ckernels_has_x86(void);
/// 1 when this build contains the aarch64 kernels, 0 otherwise.
int ckernels_has_aarch64(void);
/// 1 when this build contains the dot-product kernel (compiled for a target with it), 0 otherwise.
int ckernels_has_neondot(void);

#endif
