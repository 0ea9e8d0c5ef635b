// GEMM throughput of the x86 int8 kernels on ViT shapes, one thread (run by hand; not a test):
//   clang -O2 -ISources/CKernels/include tools/gemm_bench.c Sources/CKernels/{x86,x86_packed,x86_packed_vnni,pack}.c -o /tmp/gemm_bench
//   /tmp/gemm_bench 20            (gcc builds it the same way)
// Prints the machine's ceilings (vpdpbusd zmm when it has AVX-512 VNNI; vpmaddwd ymm alone and with the
// vpaddd every accumulation needs), then GOPS = 2*M*N*K / best time over repeats per shape and kernel for
// one call over the whole matrix, for 8-row calls (the engine's unit of work; the unpacked kernels in
// 4 x 64 blocks, as QGemm.swift runs them before a Swift epilogue), and for the same 8-row calls each at its
// best over the repeats ("best calls": the undisturbed speed on a shared machine), and the total over all shapes.
#include "CKernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <immintrin.h>

typedef void (*kernel_fn)(int, int, int, const int8_t *, size_t, int32_t, const int8_t *, size_t, const int32_t *,
                          int32_t *, size_t);

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void packed_raw(int m, int n, int k, const int8_t *a, size_t lda, int32_t z, const int8_t *w, size_t ldw,
                       const int32_t *s, int32_t *out, size_t ldo) {
    (void)ldw; (void)s;  // w is the packed matrix here
    qs8_gemm_packed_4x16__avx2(m, n, k, a, lda, z, w, out, ldo);
}

static void packed_vnni_raw(int m, int n, int k, const int8_t *a, size_t lda, int32_t z, const int8_t *w,
                            size_t ldw, const int32_t *s, int32_t *out, size_t ldo) {
    (void)ldw;  // w is the 16c4-packed matrix here
    qs8_gemm_packed_8x48c4__avx512vnni(m, n, k, a, lda, z, w, s, out, ldo);
}

// One 8-row call (rows i0 ..) of run()'s blocked mode.
static void run_chunk(kernel_fn f, int packed, int i0, int m, int n, int k, const int8_t *a, const int8_t *w,
                      const int32_t *s, int32_t *out) {
    int m8 = m - i0 < 8 ? m - i0 : 8;
    if (packed) { f(m8, n, k, a + (size_t)i0 * k, k, 3, w, k, s, out + (size_t)i0 * n, n); return; }
    for (int i = i0; i < i0 + m8; i += 4)
        for (int c = 0; c < n; c += 64) {
            int mr = i0 + m8 - i < 4 ? i0 + m8 - i : 4, nr = n - c < 64 ? n - c : 64;
            f(mr, nr, k, a + (size_t)i * k, k, 3, w + (size_t)c * k, k, s + c, out + (size_t)i * n + c, n);
        }
}

// blocked: 8-row calls; the unpacked kernels further in 4 x 64 blocks (QGemm.swift's epilogue blocks).
static void run(kernel_fn f, int packed, int blocked, int m, int n, int k, const int8_t *a, const int8_t *w,
                const int32_t *s, int32_t *out) {
    if (!blocked) { f(m, n, k, a, k, 3, w, k, s, out, n); return; }
    for (int i0 = 0; i0 < m; i0 += 8) run_chunk(f, packed, i0, m, n, k, a, w, s, out);
}

// The machine's vpdpbusd ceiling: 12 independent zmm accumulators, best of many ~1 ms bursts (the machine is
// shared, so long runs measure the neighbours).
__attribute__((target("avx512f,avx512vnni,avx512bw"))) static double vnni_ceiling(void) {
    // Twelve named accumulators: an array kept them in memory under gcc 12 (it measured store-to-load latency:
    // 256-305 instead of 747 GOPS on an Emerald Rapids); the empty asm keeps each chain from being folded.
    __m512i a0 = _mm512_set1_epi32(0), a1 = _mm512_set1_epi32(1), a2 = _mm512_set1_epi32(2), a3 = _mm512_set1_epi32(3);
    __m512i a4 = _mm512_set1_epi32(4), a5 = _mm512_set1_epi32(5), a6 = _mm512_set1_epi32(6), a7 = _mm512_set1_epi32(7);
    __m512i a8 = _mm512_set1_epi32(8), a9 = _mm512_set1_epi32(9), a10 = _mm512_set1_epi32(10), a11 = _mm512_set1_epi32(11);
    const __m512i x = _mm512_set1_epi8(3), y = _mm512_set1_epi8(5);
    const long iters = 200000;
    double best = 1e9;
    for (int r = 0; r < 300; r++) {
        double t0 = now();
        for (long it = 0; it < iters; it++) {
#define STEP(a) a = _mm512_dpbusd_epi32(a, x, y); __asm__ volatile("" : "+v"(a));
            STEP(a0) STEP(a1) STEP(a2) STEP(a3) STEP(a4) STEP(a5) STEP(a6) STEP(a7) STEP(a8) STEP(a9) STEP(a10) STEP(a11)
#undef STEP
        }
        double t = now() - t0;
        if (t < best) best = t;
    }
    __m512i sum = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)),
                                   _mm512_add_epi32(_mm512_add_epi32(a4, a5), _mm512_add_epi32(a6, a7)));
    sum = _mm512_add_epi32(sum, _mm512_add_epi32(_mm512_add_epi32(a8, a9), _mm512_add_epi32(a10, a11)));
    volatile int sink = _mm512_reduce_add_epi32(sum);
    (void)sink;
    return iters * 12.0 * 128 / best * 1e-9;
}

// The AVX2 int8 ceiling (int8 widened to int16, vpmaddwd = 16 multiplies and 16 adds per ymm), written in
// assembly so the compiler cannot spill or merge: 8 independent vpmaddwd per iteration, alone (`add` = 0) or
// each followed by the vpaddd into its own accumulator that a GEMM needs (`add` = 1). Best of 1 ms bursts.
static double avx2_ceiling(int add) {
    const long iters = 100000;
    double best = 1e9;
    for (int r = 0; r < 300; r++) {
        double t0 = now();
        if (add)
            __asm__ volatile(
                "mov %0, %%rcx\n1:\n"
                "vpmaddwd %%ymm14, %%ymm15, %%ymm0\n vpaddd %%ymm0, %%ymm8, %%ymm8\n"
                "vpmaddwd %%ymm14, %%ymm15, %%ymm1\n vpaddd %%ymm1, %%ymm9, %%ymm9\n"
                "vpmaddwd %%ymm14, %%ymm15, %%ymm2\n vpaddd %%ymm2, %%ymm10, %%ymm10\n"
                "vpmaddwd %%ymm14, %%ymm15, %%ymm3\n vpaddd %%ymm3, %%ymm11, %%ymm11\n"
                "vpmaddwd %%ymm14, %%ymm15, %%ymm4\n vpaddd %%ymm4, %%ymm12, %%ymm12\n"
                "vpmaddwd %%ymm14, %%ymm15, %%ymm5\n vpaddd %%ymm5, %%ymm13, %%ymm13\n"
                "vpmaddwd %%ymm14, %%ymm15, %%ymm6\n vpaddd %%ymm6, %%ymm8, %%ymm8\n"
                "vpmaddwd %%ymm14, %%ymm15, %%ymm7\n vpaddd %%ymm7, %%ymm9, %%ymm9\n"
                "dec %%rcx\n jnz 1b\n"
                :: "r"(iters) : "rcx", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
                  "xmm10", "xmm11", "xmm12", "xmm13");
        else
            __asm__ volatile(
                "mov %0, %%rcx\n1:\n"
                "vpmaddwd %%ymm14, %%ymm15, %%ymm0\n vpmaddwd %%ymm14, %%ymm15, %%ymm1\n"
                "vpmaddwd %%ymm14, %%ymm15, %%ymm2\n vpmaddwd %%ymm14, %%ymm15, %%ymm3\n"
                "vpmaddwd %%ymm14, %%ymm15, %%ymm4\n vpmaddwd %%ymm14, %%ymm15, %%ymm5\n"
                "vpmaddwd %%ymm14, %%ymm15, %%ymm6\n vpmaddwd %%ymm14, %%ymm15, %%ymm7\n"
                "dec %%rcx\n jnz 1b\n"
                :: "r"(iters) : "rcx", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7");
        double t = now() - t0;
        if (t < best) best = t;
    }
    return iters * 8.0 * 32 / best * 1e-9;
}

int main(int argc, char **argv) {
    int shapes[][3] = {{1764, 576, 192}, {1764, 192, 192}, {1024, 768, 192}, {1024, 1280, 320}, {256, 768, 768},
                       {256, 1536, 768}, {1024, 320, 1280}};
    enum { NK = 4, NS = sizeof shapes / sizeof shapes[0] };
    const char *names[NK] = {"avx512vnni_4x4", "avx2_2x4", "avx2_packed_4x16", "vnni_packed_8x48"};
    kernel_fn fns[NK] = {qs8_gemm_raw_4x4__avx512vnni, qs8_gemm_raw_2x4__avx2, packed_raw, packed_vnni_raw};
    int repeats = argc > 1 ? atoi(argv[1]) : 5;
    __builtin_cpu_init();
    int have[NK] = {__builtin_cpu_supports("avx512vnni"), __builtin_cpu_supports("avx2"),
                    __builtin_cpu_supports("avx2"), __builtin_cpu_supports("avx512vnni")};
    if (have[0]) printf("vpdpbusd zmm ceiling, 1 thread: %.0f GOPS\n", vnni_ceiling());
    if (have[1]) {
        printf("vpmaddwd ymm ceiling, 1 thread: %.0f GOPS alone, %.0f GOPS with its vpaddd\n", avx2_ceiling(0),
               avx2_ceiling(1));
    }
    double ops_total = 0, time_total[NK][3] = {{0}};
    printf("%-16s %5s %5s %5s %10s %10s %10s\n", "kernel", "M", "N", "K", "GOPS whole", "GOPS 8-row", "best calls");
    for (int si = 0; si < NS; si++) {
        int m = shapes[si][0], n = shapes[si][1], k = shapes[si][2];
        int8_t *a = malloc((size_t)m * k), *w = malloc((size_t)n * k), *p = malloc(qs8_packed_8c2_bytes(n, k)),
               *p16 = malloc(qs8_packed_16c4_bytes(n, k));
        int32_t *s = calloc((size_t)n, 4), *out = malloc((size_t)m * n * 4);
        for (size_t i = 0; i < (size_t)m * k; i++) a[i] = (int8_t)(rand() & 255);
        for (size_t i = 0; i < (size_t)n * k; i++) w[i] = (int8_t)(rand() & 255);
        for (int c = 0; c < n; c++)
            for (int kk = 0; kk < k; kk++) s[c] += w[(size_t)c * k + kk];
        qs8_pack_8c2(n, k, w, k, p);
        qs8_pack_16c4(n, k, w, k, p16);
        ops_total += 2.0 * m * n * k;
        for (int f = 0; f < NK; f++) {
            if (!have[f]) continue;
            const int8_t *wf = f == 2 ? p : f == 3 ? p16 : w;
            double gops[2];
            for (int blocked = 0; blocked < 2; blocked++) {
                double best = 1e9;
                for (int r = 0; r < repeats; r++) {
                    memset(out, 0x55, (size_t)m * n * 4);
                    double t0 = now();
                    run(fns[f], f >= 2, blocked, m, n, k, a, wf, s, out);
                    double t = now() - t0;
                    if (t < best) best = t;
                }
                gops[blocked] = 2.0 * m * n * k / best * 1e-9;
                time_total[f][blocked] += best;
                // Spot-check against the definition so a broken kernel cannot report a fast number.
                for (int t = 0; t < 64; t++) {
                    int i = rand() % m, c = rand() % n;
                    int32_t ref = 0;
                    for (int kk = 0; kk < k; kk++) ref += (a[(size_t)i * k + kk] - 3) * w[(size_t)c * k + kk];
                    if (out[(size_t)i * n + c] != ref) { printf("%s WRONG at %d,%d\n", names[f], i, c); return 1; }
                }
            }
            // The same 8-row calls, each timed alone and kept at its best over the repeats: on a shared machine a
            // whole-matrix repeat (milliseconds) rarely runs undisturbed, a 10-100 us call often does.
            double chunk_sum = 0;
            for (int i0 = 0; i0 < m; i0 += 8) {
                double best = 1e9;
                for (int r = 0; r < repeats; r++) {
                    double t0 = now();
                    run_chunk(fns[f], f >= 2, i0, m, n, k, a, wf, s, out);
                    double t = now() - t0;
                    if (t < best) best = t;
                }
                chunk_sum += best;
            }
            time_total[f][2] += chunk_sum;
            printf("%-16s %5d %5d %5d %10.1f %10.1f %10.1f\n", names[f], m, n, k, gops[0], gops[1],
                   2.0 * m * n * k / chunk_sum * 1e-9);
        }
        free(a); free(w); free(p); free(p16); free(s); free(out);
    }
    for (int f = 0; f < NK; f++)
        if (have[f])
            printf("%-16s %17s %10.1f %10.1f %10.1f\n", names[f], "all shapes", ops_total / time_total[f][0] * 1e-9,
                   ops_total / time_total[f][1] * 1e-9, ops_total / time_total[f][2] * 1e-9);
    return 0;
}
