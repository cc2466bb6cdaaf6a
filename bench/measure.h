#ifndef WCP_BENCH_MEASURE_H
#define WCP_BENCH_MEASURE_H

#include <stdbool.h>
#include <stdint.h>

#include "bench.h"

/**
 * One measurement: the benchmark client runs on a path, and the CPU time of
 * the relay, the emulator, weston and the client is read at the start and
 * the end of the client's measured window.
 */

/**
 * Runs the client `argv` (wcp-bench-client and its options) on `path` and
 * fills *out. False on a failure, which is described on stderr.
 */
bool measure_run(struct wcp_path *path, struct wcp_weston *weston, const char *const argv[],
	uint32_t timeout_ms, struct wcp_sample *out);

/**
 * On a proxy path: the proxy's memory with no client, with one idle client
 * and with 1 + `extra` idle clients (windows without buffers). `client` is
 * wcp-bench-client's path. False on a failure, described on stderr.
 */
bool measure_memory(struct wcp_path *path, struct wcp_weston *weston, const char *client,
	uint32_t extra, struct wcp_memory_result *out);

#endif
