#ifndef WCP_BENCH_HELPER_H
#define WCP_BENCH_HELPER_H

#include <stdbool.h>
#include <sys/types.h>

/**
 * A process a measurement forks beside itself, and the pipes to and from it:
 * the measurement writes into to[1] and reads from from[0].
 */
struct wcp_helper {
	int to[2], from[2];
	pid_t pid;
};

/** A helper not started: wcp_helper_finish on it does nothing. */
#define WCP_HELPER_NONE \
	{ {-1, -1}, {-1, -1}, -1 }

/**
 * Forks a helper that runs `body(context, in, out)` (which must not return)
 * on the far ends of the pipes. False when it could not start; *h can be
 * finished either way.
 */
bool wcp_helper_start(struct wcp_helper *h, void (*body)(const void *context, int in, int out),
	const void *context);

/** Closes the pipes, which ends the helper, and waits for it. */
void wcp_helper_finish(struct wcp_helper *h);

/** Keeps the calling process on `cpu` alone; false if that is refused. */
bool wcp_pin_to(int cpu);

#endif
