// CEdgeShim: the one door from Swift to libc.
//
// Swift code imports this module instead of Glibc or Foundation, so the same sources compile as
// Embedded Swift for x86_64 and aarch64. Keep it thin: headers, plus tiny inline helpers for what
// Swift cannot call directly (errno, variadic functions, macros).
#ifndef CEDGESHIM_H
#define CEDGESHIM_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/auxv.h>
#include "edge_daemon_shim.h"

#endif

/// The calling thread's errno (a macro in C, so Swift cannot read it directly).
static inline int edge_errno(void) { return errno; }
/// Sets errno; used by tests of error paths.
static inline void edge_set_errno(int value) { errno = value; }

/// open(2) without the variadic mode argument Swift cannot pass.
static inline int edge_open(const char *path, int flags, unsigned mode) { return open(path, flags, (mode_t)mode); }
/// fcntl(2) with an int argument.
static inline int edge_fcntl_int(int fd, int cmd, int arg) { return fcntl(fd, cmd, arg); }

/// Monotonic clock in nanoseconds.
static inline uint64_t edge_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
/// Realtime (wall) clock in nanoseconds since the Unix epoch.
static inline uint64_t edge_realtime_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/// The stdio stderr stream (a macro-backed global in glibc).
static inline FILE *edge_stderr(void) { return stderr; }
/// The stdio stdout stream.
static inline FILE *edge_stdout(void) { return stdout; }

/// Size of `struct sockaddr_un`'s path field.
static inline size_t edge_sun_path_size(void) { return sizeof(((struct sockaddr_un *)0)->sun_path); }

/// Atomically adds `value` to `*counter` and returns the old value. Relaxed order is enough: the thread
/// pool hands out work items with it, while its mutex orders the job itself. (Swift's atomics live in the
/// Synchronization module, which the Embedded builds here do not use.)
static inline long edge_atomic_fetch_add(long *counter, long value) {
    return __atomic_fetch_add(counter, value, __ATOMIC_RELAXED);
}
/// Atomically stores `value` into `*counter` (relaxed).
static inline void edge_atomic_store(long *counter, long value) { __atomic_store_n(counter, value, __ATOMIC_RELAXED); }
/// Atomically loads `*counter` (relaxed).
static inline long edge_atomic_load(long *counter) { return __atomic_load_n(counter, __ATOMIC_RELAXED); }

/// A spin-wait hint to the CPU (x86 `pause`, aarch64 `yield`): lets a sibling hardware thread run and saves power.
static inline void edge_cpu_relax(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/// Names the calling thread (at most 15 bytes are kept), as shown by `top -H` and /proc/self/task/*/comm.
int edge_set_thread_name(const char *name);
/// Restricts `thread` to the `count` CPUs `cpus` (pthread_setaffinity_np); 0 or an errno value (EINVAL for a
/// CPU this system does not have, EPERM where a seccomp filter denies sched_setaffinity).
int edge_set_thread_cpus(pthread_t thread, const int *cpus, int count);
/// The CPUs the calling thread may run on, ascending, the first `capacity` into `cpus`; returns how many there
/// are, or minus an errno value.
int edge_thread_cpus(int *cpus, int capacity);

/// Hardware capability bits of the CPU (AT_HWCAP), 0 where the platform has none.
unsigned long edge_hwcap(void);
/// True when the x86 CPU supports AVX-512 VNNI (always false elsewhere).
int edge_cpu_has_avx512vnni(void);
/// True when the x86 CPU has AVX-512 F, BW, VL and DQ, the vector-math kernels' set (always false elsewhere).
int edge_cpu_has_avx512(void);
/// Whether the CPU has AVX-512 VBMI (byte permutes across the register: the activation-table lookup).
int edge_cpu_has_avx512vbmi(void);
/// True when the x86 CPU supports AVX2 (always false elsewhere).
int edge_cpu_has_avx2(void);

/// The process's argc, captured before main (glibc passes it to ELF constructors).
int edge_argc(void);
/// The process's argv, captured before main.
char **edge_argv(void);

#include "edge_daemon_shim.h"

#endif
