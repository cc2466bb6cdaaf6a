#ifndef WCP_CLIENT_H
#define WCP_CLIENT_H

#include <stdbool.h>
#include <wayland-client-core.h>
#include <wayland-server-core.h>

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
	bool host_delivered; // the bridge wrote host data that is not read yet
	struct wl_event_source *fail_idle; // set once the client is to be dropped

	struct wl_registry *host_registry;
	struct wl_list host_globals; // wcp_host_global.link
	struct wl_callback *registry_sync; // the host's initial globals; NULL once known
	struct wl_list registries; // guest wl_registry resources (wl_resource_get_link)

	struct wl_list objects; // wcp_object.link
	struct wl_array shm_formats; // uint32_t: the host's wl_shm formats, over cross-domain
	int stat_fd; // its /proc/PID/stat; -1 when it cannot be read
	bool stat_opened; // stat_fd was tried

	struct wl_listener client_destroy;
	struct wl_list link; // wcp_server.clients
};

/** Creates the host connection for a new guest client; NULL (client dropped) on failure. */
struct wcp_client *client_create(struct wcp_server *server, struct wl_client *wl_client);

/** Sends what is queued for the host; called before the loop sleeps. */
void client_flush_host(struct wcp_client *client);

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
