#include "wayland/subsurface.h"

#include <stdlib.h>
#include <wayland-server-protocol.h>

#include "client.h"
#include "wayland/forward.h"

/**
 * Levels of subsurfaces followed at most: a surface deeper below its root
 * surface (or in a loop of parents, which the host refuses, but only after
 * the proxy has seen it) has its commits taken for ones the host applies.
 */
#define MAX_DEPTH 32

static struct wcp_subsurface *role_of(struct wcp_client *client, struct wl_resource *surface) {
	struct wcp_subsurface *role;
	wl_list_for_each(role, &client->subsurfaces, link) {
		if (role->surface == surface && surface != NULL) {
			return role;
		}
	}
	return NULL;
}

uint64_t subsurface_cache_epoch(struct wcp_client *client, struct wl_resource *surface) {
	struct wcp_subsurface *role = role_of(client, surface), *at = role;
	bool cached = false;
	// Up to the root, so that whatever applies its cache is within
	// move_on_below's reach.
	for (int depth = 0; at != NULL; depth++) {
		if (at->parent == NULL || depth == MAX_DEPTH) {
			return 0; // unmapped with its parent, or too deep
		}
		cached = cached || at->sync;
		at = role_of(client, at->parent);
	}
	return cached ? role->epoch : 0;
}

/**
 * The cached state of every subsurface below `surface` may be applied.
 * Epochs of `pass` or later were given in this pass already: a client may
 * name one parent in many roles.
 */
static void move_on_below(
	struct wcp_client *client, struct wl_resource *surface, uint64_t pass, int depth) {
	struct wcp_subsurface *role;
	if (surface == NULL || depth == MAX_DEPTH) {
		return;
	}
	wl_list_for_each(role, &client->subsurfaces, link) {
		if (role->parent == surface && role->epoch < pass) {
			role->epoch = ++client->cache_epoch;
			move_on_below(client, role->surface, pass, depth + 1);
		}
	}
}

/** ... of the role's surface and every subsurface below it. */
static void move_on(struct wcp_subsurface *role) {
	role->epoch = ++role->client->cache_epoch;
	move_on_below(role->client, role->surface, role->epoch, 0);
}

void subsurface_note_commit(
	struct wcp_client *client, struct wl_resource *surface, uint64_t epoch) {
	if (epoch == 0) {
		move_on_below(client, surface, client->cache_epoch + 1, 0);
	}
}

static void handle_surface_destroy(struct wl_listener *listener, void *data) {
	struct wcp_subsurface *role = wl_container_of(listener, role, surface_destroy);
	wl_list_remove(&listener->link);
	wl_list_init(&listener->link);
	// Its own subsurfaces lose their parent (handle_parent_destroy).
	role->surface = NULL;
}

static void handle_parent_destroy(struct wl_listener *listener, void *data) {
	struct wcp_subsurface *role = wl_container_of(listener, role, parent_destroy);
	wl_list_remove(&listener->link);
	wl_list_init(&listener->link);
	role->parent = NULL;
	move_on(role);
}

static void role_destroy(void *data) {
	struct wcp_subsurface *role = data;
	// Without its role the surface applies what it had cached, and its
	// commits from now on apply what is cached below it.
	move_on(role);
	wl_list_remove(&role->surface_destroy.link);
	wl_list_remove(&role->parent_destroy.link);
	wl_list_remove(&role->link);
	free(role);
}

void wl_subcompositor_req_get_subsurface(struct wcp_object *object, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args) {
	struct wcp_client *client = object->client;
	struct wl_resource *surface = (struct wl_resource *)args[1].o;
	struct wl_resource *parent = (struct wl_resource *)args[2].o;
	struct wcp_object *made = forward_request(object, opcode, msg, args);
	if (made == NULL) {
		return; // inert, or the client is being ended
	}
	struct wcp_subsurface *role = calloc(1, sizeof(*role));
	if (role == NULL) {
		wl_resource_post_no_memory(made->resource);
		return;
	}
	*role = (struct wcp_subsurface){
		.client = client,
		.surface = surface,
		.parent = parent,
		.surface_destroy.notify = handle_surface_destroy,
		.parent_destroy.notify = handle_parent_destroy,
		.sync = true, // a new subsurface is synchronized
		.epoch = ++client->cache_epoch,
	};
	wl_resource_add_destroy_listener(surface, &role->surface_destroy);
	wl_resource_add_destroy_listener(parent, &role->parent_destroy);
	wl_list_insert(&client->subsurfaces, &role->link);
	made->data = role;
	made->data_destroy = role_destroy;
}

void wl_subsurface_req_set_sync(struct wcp_object *object, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args) {
	struct wcp_subsurface *role = object->data;
	if (role != NULL) {
		role->sync = true;
	}
	forward_request(object, opcode, msg, args);
}

void wl_subsurface_req_set_desync(struct wcp_object *object, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args) {
	struct wcp_subsurface *role = object->data;
	if (role != NULL) {
		// The host applies what is cached there, now or at the next
		// commit.
		role->sync = false;
		move_on(role);
	}
	forward_request(object, opcode, msg, args);
}
