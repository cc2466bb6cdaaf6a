#ifndef WCP_SERVER_H
#define WCP_SERVER_H

#include <limits.h>
#include <stdbool.h>
#include <wayland-server-core.h>

#include "util/copy.h"
#include "util/cpu.h"

/**
 * The guest-facing side: a Wayland socket in $XDG_RUNTIME_DIR whose
 * clients each get their own host connection, over cross-domain or
 * directly to a host compositor.
 */
struct wcp_server {
	struct wl_display *display;
	struct wl_protocol_logger *error_logger; // forward_log_errors
	struct wl_event_loop *loop;
	bool direct; // no cross-domain: straight to host_display
	const char *device; // spec for virtgpu_device_open (NULL: search)
	const char *host_display; // direct mode: the host compositor

	char socket_name[108]; // WAYLAND_DISPLAY: a name in $XDG_RUNTIME_DIR, or a path
	char socket_path[PATH_MAX];
	char lock_path[PATH_MAX];
	int listen_fd, lock_fd;
	bool adopted; // the socket was passed in; its owner removes it
	struct wl_event_source *listen_source;
	struct wl_event_source *accept_pause; // a timer: watching the socket again

	struct wl_list clients; // wcp_client.link
	bool running;
	bool failed; // it stopped on an error of its own: the proxy exits with 1

	// Since start, over cross-domain: logged on SIGUSR1 (server_log_stats).
	uint64_t shm_commits; // commits that copied an shm buffer to the host
	uint64_t shm_copied_bytes;
	uint64_t shm_evicted_bytes; // of those, copied with copy_stream_evict
	uint64_t shm_copy_ns; // monotonic time spent in those copies
	uint64_t host_buffers; // surfaces' host buffers now, of every client
	uint64_t host_buffer_bytes; // their host memory, mapped

	struct wcp_cpu_caches caches; // which CPUs share a last-level cache
	enum wcp_copy_evict copy_evict; // --copy-evict
};

/** Logs the counters above as one "stats:" line. */
void server_log_stats(const struct wcp_server *server);

/** A server with no socket yet; NULL on failure. */
struct wcp_server *server_create(bool direct, const char *device, const char *host_display);

/**
 * Creates the socket `name` in $XDG_RUNTIME_DIR, or the first free
 * wayland-N when name is NULL, locked as libwayland does. A socket that
 * another process still serves (a second proxy, or a systemd socket unit)
 * is left alone. False (logged) on failure.
 */
bool server_listen(struct wcp_server *server, const char *name);

/**
 * Serves the listening socket fd (bound at path, reached by clients as
 * WAYLAND_DISPLAY=name) that a service manager passed; it stays in place
 * when the server goes. Takes the name's lock as server_listen does. False
 * (logged) on failure; fd is the server's either way.
 */
bool server_adopt(struct wcp_server *server, int fd, const char *path, const char *name);

/** Runs until server->running is cleared. */
void server_run(struct wcp_server *server);

/** Closes every client and the socket, and frees the server. NULL is a no-op. */
void server_destroy(struct wcp_server *server);

#endif
