// Out-of-line parts of the shim: CPU feature queries that need compiler builtins.
#include "CEdgeShim.h"

unsigned long edge_hwcap(void) {
#if defined(__linux__)
    return getauxval(AT_HWCAP);
#else
    return 0;
#endif
}

int edge_cpu_has_avx512vnni(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vnni");
#else
    return 0;
#endif
}

int edge_cpu_has_avx512(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
#else
    return 0;
#endif
}

int edge_cpu_has_avx512vbmi(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vbmi");
#else
    return 0;
#endif
}

int edge_cpu_has_avx2(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
#else
    return 0;
#endif
}

// glibc passes (argc, argv, envp) to ELF constructors; Embedded Swift has no CommandLine,
// so the shim captures them here before main runs.
static int captured_argc;
static char **captured_argv;

__attribute__((constructor)) static void edge_capture_arguments(int argc, char **argv, char **envp) {
    (void)envp;
    captured_argc = argc;
    captured_argv = argv;
}

int edge_argc(void) { return captured_argc; }
char **edge_argv(void) { return captured_argv; }

#if defined(__aarch64__) && defined(__linux__) && defined(__ARM_FEATURE_DOTPROD)
// A build tuned for Cortex-A76-class CPUs (cross/build cortex-a76) lets the compiler use ARMv8.2
// instructions anywhere, LSE atomics and LDAPR in reference counting included, so on an older core it
// would die of SIGILL in its first lines. This constructor runs before any Swift code and refuses
// clearly instead (exit 70, edge-daemon's runtime-failure code).
__attribute__((constructor(101))) static void edge_require_build_cpu_features(void) {
    const unsigned long atomics = 1ul << 8, lrcpc = 1ul << 15, asimddp = 1ul << 20;  // AT_HWCAP bits
    const unsigned long needed = atomics | lrcpc | asimddp;
    if ((getauxval(AT_HWCAP) & needed) != needed) {
        static const char message[] =
            "this build needs an ARMv8.2 CPU with the dot-product extension (Cortex-A76 class: Raspberry Pi 5, "
            "Jetson Orin, RK3588); this CPU lacks it: use the armv8-a build\n";
        ssize_t ignored = write(STDERR_FILENO, message, sizeof message - 1);
        (void)ignored;
        _exit(70);
    }
}
#endif
