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
