#ifndef WCP_CLIENT_H
#define WCP_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <wayland-client-core.h>
#include <wayland-server-core.h>

#include "wayland/hold.h"

struct wcp_server;
struct wcp_cd_bridge;

/**
 * One guest client and its own connection to the host compositor: over a
 * cross-domain bridge, or straight to a socket in direct mode.
 */
struct wcp_client {
	struct wcp_server *server;
	struct wl_client *client;
	struct wl_display *host; // the host connection
	struct wcp_cd_bridge *bridge; // NULL in direct mode
	struct wl_event_source *host_source;
	bool host_flush_pending; // the host socket was full
	size_t host_queued, host_fds_queued; // at most, in libwayland-client's buffer
	bool host_broken; // a flush found the connection over; requests are dropped
	bool host_delivered; // the bridge wrote host data that is not read yet
	struct wl_event_source *fail_idle; // set once the client is to be dropped
	bool errored; // a protocol error was sent to it: nothing more of it is handled
	struct wcp_hold hold; // its requests held back while a commit waits

	struct wl_registry *host_registry;
	struct wl_list host_globals; // wcp_host_global.link
	struct wl_callback *registry_sync; // the host's initial globals; NULL once known
	struct wl_list registries; // guest wl_registry resources (wl_resource_get_link)

	struct wl_list objects; // wcp_object.link
	struct wl_array shm_formats; // uint32_t: the host's wl_shm formats, over cross-domain
	struct wl_list subsurfaces; // wcp_subsurface.link, over cross-domain
	uint64_t cache_epoch; // the latest of its subsurfaces' (wayland/subsurface.h)
	int stat_fd; // its /proc/PID/stat; -1 when it cannot be read
	bool stat_opened; // stat_fd was tried

	struct wl_listener client_destroy;
	struct wl_list link; // wcp_server.clients
};

/** Creates the host connection for a new guest client; NULL (client dropped) on failure. */
struct wcp_client *client_create(struct wcp_server *server, struct wl_client *wl_client);

/** The client of a guest connection; NULL when it has none (being torn down). */
struct wcp_client *client_from_wl(struct wl_client *wl_client);

/** Sends what is queued for the host; called before the loop sleeps. */
void client_flush_host(struct wcp_client *client);

/**
 * Makes room for requests of `bytes` bytes and `fds` fds to the host in
 * libwayland-client's buffer, which is of 4 KiB and 28 fds; called before
 * they are marshalled. libwayland-client 1.21 writes a full buffer out
 * inside the marshalling of a request, and gives the connection up if the
 * socket takes nothing then; so, when they would fill it, what is queued
 * goes out first, waiting (up to 2 s) for a host that reads slowly. False
 * when the client is being ended or its host connection is over: the
 * request is to be dropped. It reads nothing from the host, so it may run
 * amid the dispatch of host events as well as of guest requests.
 */

/** What an interceptor may send beside the request it handles (a commit's attach, pool). */
#define WCP_HOST_INTERCEPT_BYTES 128
#define WCP_HOST_INTERCEPT_FDS 1

bool client_host_reserve(struct wcp_client *client, size_t bytes, size_t fds);

/**
 * Reads and dispatches host data that the bridge has just written, without
 * waiting for the event loop to report it; called before the loop sleeps.
 */
void client_read_delivered(struct wcp_client *client);

/**
 * Whether a large copy from the client's memory is to evict what it reads
 * (copy_stream_evict), by --copy-evict: with auto, when the client last ran
 * on a CPU not known to share our last-level cache (cpu.h), since the
 * lines we keep would have to travel back to it as it draws. Where it last
 * ran is its main thread's CPU in /proc/PID/stat: a client drawing on
 * another thread is judged by the main one. False when that cannot be
 * told, or where copies cannot evict.
 */
bool client_copy_evicts(struct wcp_client *client);

/**
 * Ends the guest client (with a log line). Safe from inside any dispatch:
 * the client is destroyed once the loop is back at the top.
 */
void client_fail(struct wcp_client *client, const char *why);

#endif
