// GEMM throughput of the x86 int8 kernels on ViT shapes, one thread (run by hand; not a test):
//   clang -O2 -ISources/CKernels/include tools/gemm_bench.c Sources/CKernels/x86.c -o /tmp/gemm_bench && /tmp/gemm_bench 20
// Prints GOPS = 2*M*N*K / best time over repeats, for one call over the whole matrix and for the 16 x 128
// blocks QGemm.swift uses when an epilogue follows.
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

static void run(kernel_fn f, int blocked, int m, int n, int k, const int8_t *a, const int8_t *w, const int32_t *s,
                int32_t *out) {
    if (!blocked) { f(m, n, k, a, k, 3, w, k, s, out, n); return; }
    for (int i = 0; i < m; i += 16)
        for (int c = 0; c < n; c += 128) {
            int mr = m - i < 16 ? m - i : 16, nr = n - c < 128 ? n - c : 128;
            f(mr, nr, k, a + (size_t)i * k, k, 3, w + (size_t)c * k, k, s + c, out + (size_t)i * n + c, n);
        }
}

// The machine's vpdpbusd ceiling: 12 independent zmm accumulators, best of many ~1 ms bursts (the machine is
// shared, so long runs measure the neighbours).
__attribute__((target("avx512f,avx512vnni,avx512bw"))) static double vnni_ceiling(void) {
    __m512i acc[12];
    for (int i = 0; i < 12; i++) acc[i] = _mm512_set1_epi32(i);
    const __m512i x = _mm512_set1_epi8(3), y = _mm512_set1_epi8(5);
    const long iters = 200000;
    double best = 1e9;
    for (int r = 0; r < 300; r++) {
        double t0 = now();
        for (long it = 0; it < iters; it++)
            for (int i = 0; i < 12; i++) {
                acc[i] = _mm512_dpbusd_epi32(acc[i], x, y);
                __asm__ volatile("" : "+v"(acc[i]));
            }
        double t = now() - t0;
        if (t < best) best = t;
    }
    volatile int sink = _mm512_reduce_add_epi32(acc[0]);
    (void)sink;
    return iters * 12.0 * 128 / best * 1e-9;
}

int main(int argc, char **argv) {
    int shapes[][3] = {{1764, 576, 192}, {1764, 192, 192}, {1024, 768, 192}, {1024, 1280, 320}, {256, 768, 768},
                       {256, 1536, 768}, {1024, 320, 1280}};
    const char *names[] = {"avx512vnni_4x4", "avx2_2x4"};
    kernel_fn fns[] = {qs8_gemm_raw_4x4__avx512vnni, qs8_gemm_raw_2x4__avx2};
    int repeats = argc > 1 ? atoi(argv[1]) : 5;
    __builtin_cpu_init();
    int have[] = {__builtin_cpu_supports("avx512vnni"), __builtin_cpu_supports("avx2")};
    if (__builtin_cpu_supports("avx512vnni")) printf("vpdpbusd zmm ceiling, 1 thread: %.0f GOPS\n", vnni_ceiling());
    printf("%-16s %5s %5s %5s %10s %10s\n", "kernel", "M", "N", "K", "GOPS whole", "GOPS 16x128");
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        int m = shapes[si][0], n = shapes[si][1], k = shapes[si][2];
        int8_t *a = malloc((size_t)m * k), *w = malloc((size_t)n * k);
        int32_t *s = calloc((size_t)n, 4), *out = malloc((size_t)m * n * 4);
        for (size_t i = 0; i < (size_t)m * k; i++) a[i] = (int8_t)(rand() & 255);
        for (size_t i = 0; i < (size_t)n * k; i++) w[i] = (int8_t)(rand() & 255);
        for (int c = 0; c < n; c++)
            for (int kk = 0; kk < k; kk++) s[c] += w[(size_t)c * k + kk];
        for (int f = 0; f < 2; f++) {
            if (!have[f]) continue;
            double gops[2];
            for (int blocked = 0; blocked < 2; blocked++) {
                double best = 1e9;
                for (int r = 0; r < repeats; r++) {
                    double t0 = now();
                    run(fns[f], blocked, m, n, k, a, w, s, out);
                    double t = now() - t0;
                    if (t < best) best = t;
                }
                gops[blocked] = 2.0 * m * n * k / best * 1e-9;
            }
            // Spot-check against the definition so a broken kernel cannot report a fast number.
            for (int t = 0; t < 64; t++) {
                int i = rand() % m, c = rand() % n;
                int32_t ref = 0;
                for (int kk = 0; kk < k; kk++) ref += (a[(size_t)i * k + kk] - 3) * w[(size_t)c * k + kk];
                if (out[(size_t)i * n + c] != ref) { printf("%s WRONG at %d,%d\n", names[f], i, c); return 1; }
            }
            printf("%-16s %5d %5d %5d %10.1f %10.1f\n", names[f], m, n, k, gops[0], gops[1]);
        }
        free(a); free(w); free(s); free(out);
    }
    return 0;
}
