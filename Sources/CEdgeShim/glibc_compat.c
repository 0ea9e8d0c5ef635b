// Keeps the aarch64 deployment build runnable on glibc 2.34/2.35 (Ubuntu 22.04, hence NVIDIA JetPack 6 on
// Jetson Orin). Embedded Swift's runtime draws its random seeds from arc4random_buf, which glibc only
// gained in 2.36; cross/build defines EDGE_PROVIDE_ARC4RANDOM so the binary carries this one instead of
// requiring GLIBC_2.36. Other builds use the C library's.
#if defined(EDGE_PROVIDE_ARC4RANDOM) && defined(__linux__)
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/random.h>

void arc4random_buf(void *buffer, size_t count) {
    unsigned char *bytes = buffer;
    while (count > 0) {
        ssize_t n = getrandom(bytes, count, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            abort();  // no kernel entropy (Linux < 3.17): nothing safe to fall back to
        }
        bytes += n;
        count -= (size_t)n;
    }
}
#endif
