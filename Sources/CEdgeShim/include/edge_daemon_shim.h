// Daemon helpers of CEdgeShim (signals, AF_UNIX datagrams): the parts Swift cannot express safely.
// Included by CEdgeShim.h; kept in its own file so the daemon's additions stay separate.
#ifndef EDGE_DAEMON_SHIM_H
#define EDGE_DAEMON_SHIM_H

#include <stddef.h>

/// Installs a handler for `signo` that writes the signal number as one byte to `write_fd` and
/// does nothing else (the self-pipe trick). Returns 0 or -1 with errno set.
int edge_signal_forward(int signo, int write_fd);
/// Restores the default disposition of `signo`. Returns 0 or -1 with errno set.
int edge_signal_default(int signo);

/// Sends one datagram on an AF_UNIX socket to the address whose first `address_len` bytes are
/// `address` (a leading NUL byte selects the abstract namespace). The sockaddr length passed to the
/// kernel is exactly offsetof(sun_path) + address_len. Returns bytes sent or -1 with errno set.
long edge_unix_sendto(int fd, const char *address, size_t address_len, const void *buffer, size_t length);
/// Binds an AF_UNIX socket to `address` (same addressing rules as edge_unix_sendto).
int edge_unix_bind(int fd, const char *address, size_t address_len);

#endif
