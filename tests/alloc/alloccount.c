// Heap allocation counter, preloaded (LD_PRELOAD) around a test executable.
//
// Wraps the malloc family and forwards to the next definition (glibc) found with dlsym(RTLD_NEXT).
// The test binary does not link this library: it looks up edge_alloc_counts with dlsym(RTLD_DEFAULT),
// so the same binary runs (and reports "counter not preloaded") without it.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>

static void *(*next_malloc)(size_t);
static void *(*next_calloc)(size_t, size_t);
static void *(*next_realloc)(void *, size_t);
static void (*next_free)(void *);
static int (*next_posix_memalign)(void **, size_t, size_t);
static void *(*next_aligned_alloc)(size_t, size_t);
static void *(*next_memalign)(size_t, size_t);

static uint64_t allocations;  // successful malloc, calloc, posix_memalign, aligned_alloc, memalign, realloc(NULL, n)
static uint64_t reallocations;  // realloc of an existing block
static uint64_t frees;  // free of a non-null pointer
static uint64_t allocated_bytes;

// dlsym may itself call calloc before next_calloc is known: serve those few calls from a static buffer.
static _Alignas(64) unsigned char bootstrap[8192];
static size_t bootstrap_used;
static int resolving;

static int from_bootstrap(const void *p) {
    return (const unsigned char *)p >= bootstrap && (const unsigned char *)p < bootstrap + sizeof bootstrap;
}

static void *bootstrap_alloc(size_t size) {
    size_t start = (bootstrap_used + 63) & ~(size_t)63;
    if (start + size > sizeof bootstrap) return NULL;
    bootstrap_used = start + size;
    return bootstrap + start;  // already zero (static storage), so it also serves calloc
}

static void resolve(void) {
    if (next_malloc || resolving) return;
    resolving = 1;
    next_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
    next_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    next_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
    next_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
    next_posix_memalign = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
    next_aligned_alloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
    next_memalign = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "memalign");
    resolving = 0;
}

static void count(uint64_t *counter, size_t bytes) {
    __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&allocated_bytes, bytes, __ATOMIC_RELAXED);
}

void *malloc(size_t size) {
    resolve();
    if (!next_malloc) return bootstrap_alloc(size);
    void *p = next_malloc(size);
    if (p) count(&allocations, size);
    return p;
}

void *calloc(size_t n, size_t size) {
    resolve();
    if (!next_calloc) return bootstrap_alloc(n * size);
    void *p = next_calloc(n, size);
    if (p) count(&allocations, n * size);
    return p;
}

void *realloc(void *old, size_t size) {
    resolve();
    if (from_bootstrap(old)) {
        void *p = malloc(size);
        size_t available = (size_t)(bootstrap + sizeof bootstrap - (unsigned char *)old);
        if (p) memcpy(p, old, size < available ? size : available);
        return p;
    }
    void *p = next_realloc(old, size);
    if (p) count(old ? &reallocations : &allocations, size);
    return p;
}

void free(void *p) {
    if (!p || from_bootstrap(p)) return;
    resolve();
    __atomic_fetch_add(&frees, 1, __ATOMIC_RELAXED);
    next_free(p);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    resolve();
    if (!next_posix_memalign) return ENOMEM;
    int status = next_posix_memalign(out, alignment, size);
    if (status == 0) count(&allocations, size);
    return status;
}

void *aligned_alloc(size_t alignment, size_t size) {
    resolve();
    if (!next_aligned_alloc) return NULL;
    void *p = next_aligned_alloc(alignment, size);
    if (p) count(&allocations, size);
    return p;
}

void *memalign(size_t alignment, size_t size) {
    resolve();
    if (!next_memalign) return NULL;
    void *p = next_memalign(alignment, size);
    if (p) count(&allocations, size);
    return p;
}

/// The counters so far: [allocations, reallocations, frees, allocated bytes].
void edge_alloc_counts(uint64_t out[4]) {
    out[0] = __atomic_load_n(&allocations, __ATOMIC_RELAXED);
    out[1] = __atomic_load_n(&reallocations, __ATOMIC_RELAXED);
    out[2] = __atomic_load_n(&frees, __ATOMIC_RELAXED);
    out[3] = __atomic_load_n(&allocated_bytes, __ATOMIC_RELAXED);
}
