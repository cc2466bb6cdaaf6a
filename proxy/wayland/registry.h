#ifndef WCP_WAYLAND_REGISTRY_H
#define WCP_WAYLAND_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>
#include <wayland-server-core.h>
#include <wayland-util.h>

struct wcp_client;

/** A global the host offers this client's connection. */
struct wcp_host_global {
	uint32_t name;
	char *interface;
	uint32_t version; // the host's
	uint32_t advertised; // to the guest; 0 when hidden
	bool removed; // by the host: binds that crossed the removal get inert objects
	struct wl_list link; // wcp_client.host_globals
};

/**
 * Starts the host registry of a client and takes over its guest
 * wl_display requests: wl_display.sync goes to the host (so that a guest
 * round trip covers the host's answers), and wl_display.get_registry gets
 * the proxy's registry, which offers a host global only when the proxy
 * has its XML and it may cross, at the lower of the two versions.
 */
bool registry_init(struct wcp_client *client);

/**
 * Handles a guest request on its wl_display or a wl_registry as their
 * dispatchers do (a request held back, wayland/hold.h).
 */
int registry_dispatch(struct wl_resource *resource, uint32_t opcode, const struct wl_message *msg,
	union wl_argument *args);

/** Drops the registry state of a client being torn down. */
void registry_finish(struct wcp_client *client);

/**
 * The version offered to guests for a host global, 0 when it is hidden
 * (no XML here, or an interface that is never a global). Over the channel
 * (`over_channel`), wl_shm is offered at version 1 at most.
 */
uint32_t registry_policy(const char *interface, uint32_t host_version, bool over_channel);

#endif
