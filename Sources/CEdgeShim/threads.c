// Thread naming needs _GNU_SOURCE, which the shared header does not define; so it lives in its own file.
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>
#include "CEdgeShim.h"

int edge_set_thread_name(const char *name) {
    // Linux limits names to 15 bytes plus the terminator; longer names fail with ERANGE, so cut them.
    char buffer[16];
    strncpy(buffer, name, sizeof buffer - 1);
    buffer[sizeof buffer - 1] = 0;
    return pthread_setname_np(pthread_self(), buffer);
}
