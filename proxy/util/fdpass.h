#ifndef WCP_UTIL_FDPASS_H
#define WCP_UTIL_FDPASS_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

/** Most fds one message carries in this project (a SEND's identifiers). */
#define WCP_FDPASS_MAX_FDS 28

/**
 * sendmsg of `iov` with `count` fds attached (none when 0), retried on
 * EINTR, never raising SIGPIPE. Returns the bytes sent, or -1 with errno.
 */
ssize_t fdpass_send(
	int sock, const struct iovec *iov, size_t iovcnt, const int *fds, size_t count, int flags);

/**
 * recvmsg into `iov`, retried on EINTR, with received fds close-on-exec
 * and stored in fds (up to `max`; *count says how many). Fds beyond `max`
 * are closed and reported as MSG_CTRUNC. *msg_flags (may be NULL) gets the
 * message's flags, 0 on failure. Returns the bytes received, or -1 with errno.
 */
ssize_t fdpass_recv(int sock, const struct iovec *iov, size_t iovcnt, int *fds, size_t max,
	size_t *count, int flags, int *msg_flags);

#endif
