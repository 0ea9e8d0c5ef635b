// Bridging header of the allocation tests: finds the preloaded counter at run time (the test does not link it).
#include <dlfcn.h>
#include <stdint.h>

/// Reads the counters of the preloaded liballoccount.so into out[4]; returns 0 when it is not preloaded.
static inline int alloc_probe_read(uint64_t out[4]) {
    // Looked up once, so later reads do not go through dlsym (which may allocate).
    static void (*counts)(uint64_t *);
    static int looked_up;
    if (!looked_up) {
        counts = (void (*)(uint64_t *))dlsym(RTLD_DEFAULT, "edge_alloc_counts");
        looked_up = 1;
    }
    if (!counts) return 0;
    counts(out);
    return 1;
}
