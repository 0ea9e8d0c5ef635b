// Thread naming and CPU affinity need _GNU_SOURCE, which the shared header does not define; so they live here.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include "CEdgeShim.h"

int edge_set_thread_name(const char *name) {
    // Linux limits names to 15 bytes plus the terminator; longer names fail with ERANGE, so cut them.
    char buffer[16];
    strncpy(buffer, name, sizeof buffer - 1);
    buffer[sizeof buffer - 1] = 0;
    return pthread_setname_np(pthread_self(), buffer);
}

int edge_set_thread_cpus(pthread_t thread, const int *cpus, int count) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < count; i++) {
        if (cpus[i] < 0 || cpus[i] >= CPU_SETSIZE) return EINVAL;
        CPU_SET(cpus[i], &set);
    }
    return pthread_setaffinity_np(thread, sizeof set, &set);
}

int edge_thread_cpus(int *cpus, int capacity) {
    cpu_set_t set;
    CPU_ZERO(&set);
    int status = pthread_getaffinity_np(pthread_self(), sizeof set, &set);
    if (status != 0) return -status;
    int count = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &set)) continue;
        if (count < capacity) cpus[count] = cpu;
        count++;
    }
    return count;
}
