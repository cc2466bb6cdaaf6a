#ifndef WCP_TESTS_FDLEAK_H
#define WCP_TESTS_FDLEAK_H

#include <stdbool.h>
#include <stdio.h>

/** Highest fd number a snapshot records. */
#define WCP_FD_SET_MAX 4096

/** The set of fds open in this process at one moment. */
struct wcp_fd_set {
	unsigned char open[WCP_FD_SET_MAX / 8];
	int count;
};

/** Records the fds open now (from /proc/self/fd); false on failure. */
bool fdleak_snapshot(struct wcp_fd_set *set);

/** Whether fd is in the set. */
bool fdleak_contains(const struct wcp_fd_set *set, int fd);

/**
 * Prints each fd open in `after` but not in `before`, with what it refers
 * to, and returns how many there are.
 */
int fdleak_report(const struct wcp_fd_set *before, const struct wcp_fd_set *after, FILE *out);

#endif
