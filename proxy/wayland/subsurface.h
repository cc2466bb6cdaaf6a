#ifndef WCP_WAYLAND_SUBSURFACE_H
#define WCP_WAYLAND_SUBSURFACE_H

#include <stdbool.h>
#include <stdint.h>
#include <wayland-server-core.h>
#include <wayland-util.h>

struct wcp_client;
struct wcp_object;

/*
 * wl_subcompositor and wl_subsurface over cross-domain: the proxy follows
 * which of a client's surfaces are synchronized subsurfaces, whose commits
 * the host only caches until their parent's state is applied.
 *
 * A host buffer attached by such commits alone, none of them applied yet,
 * is shown by nothing: a later commit of the same surface may copy into it
 * again (wayland/swapchain.h). A host that keeps the buffer of every cached
 * commit until the parent's is applied (wlroots does) would otherwise leave
 * a subsurface that draws ahead of its parent without host buffers.
 *
 * Whether a cached commit may since have been applied is told by the
 * subsurface's cache epoch, which moves on whenever the host may apply
 * its cached state: a commit of an ancestor that the host applies (one
 * that is itself only cached applies nothing below it), set_desync on it
 * or on an ancestor, its role or an ancestor's ended, its parent or an
 * ancestor destroyed. Epochs are drawn from one counter per client, so
 * that none comes back. Moving on too often costs only a host buffer more.
 */

struct wcp_subsurface {
	struct wcp_client *client;
	struct wl_resource *surface, *parent; // guest wl_surfaces; NULL once destroyed
	struct wl_listener surface_destroy, parent_destroy;
	bool sync;
	uint64_t epoch;
	struct wl_list link; // wcp_client.subsurfaces
};

/**
 * The cache epoch of `surface` when the host will only cache a commit of
 * it now (it is a synchronized subsurface, or an ancestor is); 0 when the
 * host will apply it.
 */
uint64_t subsurface_cache_epoch(struct wcp_client *client, struct wl_resource *surface);

/**
 * A commit of `surface` went to the host; `epoch` is what
 * subsurface_cache_epoch gave for it. When the host applies it, the
 * cached state of the subsurfaces below may be applied too.
 */
void subsurface_note_commit(struct wcp_client *client, struct wl_resource *surface, uint64_t epoch);

void wl_subcompositor_req_get_subsurface(struct wcp_object *object, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args);
void wl_subsurface_req_set_sync(struct wcp_object *object, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args);
void wl_subsurface_req_set_desync(struct wcp_object *object, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args);

#endif
