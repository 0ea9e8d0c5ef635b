// Load-time weight packing for the packed kernels (portable C: it runs once per layer, not per frame).
#include "CKernels.h"

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
    const int kp = (k + 3) & ~3;
    for (int c0 = 0; c0 < n; c0 += 16)
        for (int kk = 0; kk < kp; kk += 4)
            for (int q = 0; q < 16; q++)
                for (int t = 0; t < 4; t++) {
                    const int c = c0 + q, x = kk + t;
                    *packed++ = c < n && x < k ? w[(size_t)c * ldw + x] : 0;
                }
}
