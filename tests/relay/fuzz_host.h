#ifndef WCP_TESTS_RELAY_FUZZ_HOST_H
#define WCP_TESTS_RELAY_FUZZ_HOST_H

#include <stdint.h>
#include <sys/types.h>

/**
 * The fuzzer's host: a small compositor that offers every global the proxy
 * relays, takes every request and checks only what libwayland checks
 * (wl_shm is libwayland's own). At each commit it ends the surface's frame
 * callbacks and releases the buffer replaced, or keeps it for a few
 * commits, as compositors sometimes do (`seed` picks which). Now and then
 * it sends a fuzzing connection an event of its own making, fds included.
 */

/** Forks the host, listening on `socket_name` in $XDG_RUNTIME_DIR; its pid. */
pid_t fuzz_host_start(const char *socket_name, uint64_t seed);

/** Stops the host; fails the test unless it exits cleanly. */
void fuzz_host_stop(pid_t pid);

#endif
