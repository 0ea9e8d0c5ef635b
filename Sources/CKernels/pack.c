// Load-time weight packing for the packed kernels (portable C: it runs once per layer, not per frame).
#include "CKernels.h"
#include <string.h>

size_t qs8_packed_8c2_bytes(int n, int k) {
    return (size_t)((n + 7) / 8) * 8 * (size_t)((k + 1) & ~1);
}

void qs8_pack_8c2(int n, int k, const int8_t *w, size_t ldw, int8_t *packed) {
    const int kp = (k + 1) & ~1;
    for (int c0 = 0; c0 < n; c0 += 8)
        for (int kk = 0; kk < kp; kk += 2)
            for (int q = 0; q < 8; q++)
                for (int t = 0; t < 2; t++) {
                    const int c = c0 + q, x = kk + t;
                    *packed++ = c < n && x < k ? w[(size_t)c * ldw + x] : 0;
                }
}

size_t qs8_packed_16c4_bytes(int n, int k) {
    return (size_t)((n + 15) / 16) * 16 * (size_t)((k + 3) & ~3);
}

void qs8_pack_16c4(int n, int k, const int8_t *w, size_t ldw, int8_t *packed) {
    const int kp = (k + 3) & ~3, kfull = k & ~3;
    // Whole quads are 4-byte copies (a column's four k are contiguous in w); this also runs once per attention
    // head and frame (keys and transposed values), so it is not only a load-time cost.
    for (int c0 = 0; c0 < n; c0 += 16) {
        for (int q = 0; q < 16; q++) {
            const int c = c0 + q;
            int8_t *dst = packed + 4 * q;
            if (c >= n) {
                for (int kk = 0; kk < kp; kk += 4, dst += 64) memset(dst, 0, 4);
                continue;
            }
            const int8_t *src = w + (size_t)c * ldw;
            int kk = 0;
            for (; kk < kfull; kk += 4, dst += 64) memcpy(dst, src + kk, 4);
            for (; kk < kp; kk += 4, dst += 64)
                for (int t = 0; t < 4; t++) dst[t] = kk + t < k ? src[kk + t] : 0;
        }
        packed += (size_t)16 * kp;
    }
}
