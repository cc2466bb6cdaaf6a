#ifndef WCP_BENCH_PATH_H
#define WCP_BENCH_PATH_H

#include <stdbool.h>
#include <sys/types.h>

#include "proc.h"
#include "relay.h"
#include "sample.h"
#include "weston.h"

/**
 * The ways a benchmark client reaches the compositor: straight to it, through
 * wl-cross-proxy (over the emulated cross-domain device or --device=none),
 * through two wcp-bench-forward processes in a row (where the proxy and the
 * emulator stand, doing nothing but pass messages on), or through waypipe's
 * client and server over a local socket.
 */

enum wcp_path_kind {
	WCP_PATH_DIRECT,
	WCP_PATH_EMU,
	WCP_PATH_NONE,
	WCP_PATH_FORWARD,
	WCP_PATH_WAYPIPE,
	WCP_PATH_WAYPIPE_LZ4,
	WCP_PATH_COUNT,
};

/** One started path, for one measurement. */
struct wcp_path {
	enum wcp_path_kind kind;
	struct wcp_relay *relay; // proxy paths, else NULL
	struct wcp_proc *waypipe; // waypipe's compositor side, else NULL
	struct wcp_proc *forwarders[2]; // the client's side first, else NULL
	char forward_sockets[2][64]; // where they listen, in runtime_dir
	char runtime_dir[4096]; // weston's, for the forwarders' sockets
	pid_t relay_group; // process group of waypipe's client side, 0 before it runs
	char waypipe_socket[4096];
	char waypipe_display[64];
	char env_display[96]; // "WAYLAND_DISPLAY=..." for a client started directly
};

/** "direct", "emu", "none", "forward", "waypipe" or "waypipe-lz4". */
const char *path_name(enum wcp_path_kind kind);

/** How the path reads in a report. */
const char *path_title(enum wcp_path_kind kind);

/** Parses a path_name(); false for anything else. */
bool path_parse(const char *name, enum wcp_path_kind *kind);

/** Whether the path can run here; if not, *why says what is missing. */
bool path_available(enum wcp_path_kind kind, const char **why);

/**
 * Starts what the path needs in front of `weston` (ending the program with an
 * error when it cannot). `proxy_wrapper` runs the proxy under a command
 * (NULL-terminated, may be NULL).
 */
struct wcp_path *path_start(
	enum wcp_path_kind kind, struct wcp_weston *weston, const char *const *proxy_wrapper);

/**
 * Starts the client `argv` on the path, its stdout on `stdout_fd` and its
 * stderr appended to `log`. NULL if it could not be started.
 */
struct wcp_proc *path_spawn_client(
	struct wcp_path *path, const char *const argv[], int stdout_fd, const char *log);

/**
 * The times so far (sample.h) of the relay (the proxy itself, the forwarder on the
 * client's side, or both waypipe processes together) and of the emulator
 * (or the forwarder in its place; zeroes unless the path has one). `client`
 * is left out of the count.
 */
void path_times(
	const struct wcp_path *path, pid_t client, struct wcp_times *relay, struct wcp_times *emu);

/**
 * The proxy's pid, 0 on a path without one. Under a wrapper that starts it
 * as a child (strace, perf, a shell) it is that child; a wrapper that runs
 * it in its own process (valgrind) is the proxy itself.
 */
pid_t path_proxy_pid(const struct wcp_path *path);

/** Stops what path_start started. NULL is a no-op. */
void path_stop(struct wcp_path *path);

#endif
