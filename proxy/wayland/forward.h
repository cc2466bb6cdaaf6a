#ifndef WCP_WAYLAND_FORWARD_H
#define WCP_WAYLAND_FORWARD_H

#include <stdbool.h>
#include <wayland-client-core.h>
#include <wayland-server-core.h>

#include "wayland/metadata.h"

struct wcp_client;

/**
 * One relayed object: a guest resource and the host proxy it stands for.
 * Requests on the resource are forwarded to the proxy and events on the
 * proxy to the resource, generically from the interface tables; only
 * object, new-object and fd arguments are translated.
 *
 * The struct is freed in the resource's destroy handler. When the host
 * object goes first, the resource stays, inert (proxy NULL).
 */
struct wcp_object {
	struct wl_resource *resource; // guest side
	struct wl_proxy *proxy; // host side; NULL once gone
	struct wcp_client *client; // NULL once the client is torn down
	const struct wcp_interface_meta *meta;
	struct wl_list link; // wcp_client.objects
};

/**
 * Pairs a new guest resource with a host proxy and starts relaying between
 * them. Takes ownership of both; NULL (resource and proxy destroyed) when
 * the interface is unknown or memory runs out.
 */
struct wcp_object *forward_create(
	struct wcp_client *client, struct wl_resource *resource, struct wl_proxy *proxy);

/** Whether the proxy is one of the relay's (not the proxy's own). */
bool forward_is_relayed(struct wl_proxy *proxy);

/** Detaches the object from its client and destroys its host proxy (client teardown). */
void forward_detach(struct wcp_object *object);

/** The relayed object whose host proxy has this id; NULL when none. */
struct wcp_object *forward_find_host_id(struct wcp_client *client, uint32_t id);

/** Switches the protocol trace on from WL_CROSS_PROXY_DEBUG ("guest", "host", "all"). */
void forward_trace_init(void);

#endif
