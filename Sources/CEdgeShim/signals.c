// Daemon helpers: the signal handler (async-signal-safe, writes one byte) and AF_UNIX addressing.
#include "CEdgeShim.h"
#include <stddef.h>

static volatile sig_atomic_t forward_fd = -1;

static void edge_forward_handler(int signo) {
    int saved = errno;
    unsigned char byte = (unsigned char)signo;
    if (forward_fd >= 0) {
        // A full pipe means a wake-up is already pending; losing this byte is harmless.
        ssize_t ignored = write(forward_fd, &byte, 1);
        (void)ignored;
    }
    errno = saved;
}

int edge_signal_forward(int signo, int write_fd) {
    forward_fd = write_fd;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = edge_forward_handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    return sigaction(signo, &action, NULL);
}

int edge_signal_default(int signo) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    return sigaction(signo, &action, NULL);
}

static int edge_fill_unix(struct sockaddr_un *sun, const char *address, size_t address_len, socklen_t *out_len) {
    if (address_len == 0 || address_len > sizeof sun->sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    memcpy(sun->sun_path, address, address_len);
    *out_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + address_len);
    return 0;
}

long edge_unix_sendto(int fd, const char *address, size_t address_len, const void *buffer, size_t length) {
    struct sockaddr_un sun;
    socklen_t len;
    if (edge_fill_unix(&sun, address, address_len, &len) != 0) return -1;
    return (long)sendto(fd, buffer, length, MSG_NOSIGNAL, (const struct sockaddr *)&sun, len);
}

int edge_unix_bind(int fd, const char *address, size_t address_len) {
    struct sockaddr_un sun;
    socklen_t len;
    if (edge_fill_unix(&sun, address, address_len, &len) != 0) return -1;
    return bind(fd, (const struct sockaddr *)&sun, len);
}
