#include "wayland/surface.h"

#include <pixman.h>
#include <stdint.h>
#include <stdlib.h>
#include <wayland-client-protocol.h>
#include <wayland-server-protocol.h>

#include "client.h"
#include "log.h"
#include "server.h"
#include "util/clock.h"
#include "util/copy.h"
#include "wayland/forward.h"
#include "wayland/hold.h"
#include "wayland/shm.h"
#include "wayland/subsurface.h"
#include "wayland/swapchain.h"

/** Commits whose damage is remembered, for buffers that come back. */
#define HISTORY 8

struct wcp_surface_damage {
	uint64_t seq;
	int32_t width, height; // of the buffer then
	pixman_region32_t region; // buffer coordinates
};

struct wcp_surface {
	uint64_t seq; // commits made
	struct wl_resource *pending, *current; // attached wl_buffers; NULL for none
	bool attached; // an attach is pending; the host gets it with the commit
	int32_t attach_x, attach_y;
	struct wl_listener pending_destroy, current_destroy;
	int32_t scale, pending_scale;
	uint32_t transform, pending_transform;
	bool viewport; // has (or had) a wp_viewport: damage maps to the whole buffer
	pixman_region32_t surface_damage, buffer_damage; // pending
	struct wcp_surface_damage history[HISTORY];
	struct wcp_swapchain chain;
	struct wcp_object *object; // whose data this is
};

static void set_buffer(
	struct wl_resource **slot, struct wl_listener *listener, struct wl_resource *buffer) {
	if (*slot != NULL) {
		wl_list_remove(&listener->link);
	}
	*slot = buffer;
	if (buffer != NULL) {
		wl_resource_add_destroy_listener(buffer, listener);
	}
}

static void handle_pending_destroy(struct wl_listener *listener, void *data) {
	struct wcp_surface *surface = wl_container_of(listener, surface, pending_destroy);
	wl_list_remove(&listener->link);
	surface->pending = NULL;
}

static void handle_current_destroy(struct wl_listener *listener, void *data) {
	struct wcp_surface *surface = wl_container_of(listener, surface, current_destroy);
	wl_list_remove(&listener->link);
	surface->current = NULL;
}

static void surface_destroy(void *data) {
	struct wcp_surface *surface = data;
	set_buffer(&surface->pending, &surface->pending_destroy, NULL);
	set_buffer(&surface->current, &surface->current_destroy, NULL);
	pixman_region32_fini(&surface->surface_damage);
	pixman_region32_fini(&surface->buffer_damage);
	for (size_t i = 0; i < HISTORY; i++) {
		pixman_region32_fini(&surface->history[i].region);
	}
	swapchain_finish(&surface->chain);
	free(surface);
}

static void handle_host_freed(void *data);

/** The surface state, made on the first request that needs it; NULL when out of memory. */
static struct wcp_surface *surface_get(struct wcp_object *object) {
	if (object->data != NULL) {
		return object->data;
	}
	struct wcp_surface *surface = calloc(1, sizeof(*surface));
	if (surface == NULL) {
		wl_resource_post_no_memory(object->resource);
		return NULL;
	}
	surface->scale = surface->pending_scale = 1;
	surface->pending_destroy.notify = handle_pending_destroy;
	surface->current_destroy.notify = handle_current_destroy;
	pixman_region32_init(&surface->surface_damage);
	pixman_region32_init(&surface->buffer_damage);
	for (size_t i = 0; i < HISTORY; i++) {
		pixman_region32_init(&surface->history[i].region);
	}
	swapchain_init(&surface->chain, object->client, handle_host_freed, surface);
	surface->object = object;
	object->data = surface;
	object->data_destroy = surface_destroy;
	return surface;
}

/**
 * Adds a client's rectangle to a region, clamped to what a buffer can be
 * (a buffer of 1-byte pixels may have INT32_MAX rows): clients often
 * damage (0, 0, INT32_MAX, INT32_MAX), which must neither overflow nor be
 * dropped. x1 and y1 are never above INT32_MAX and `scale` is a positive
 * int32, so the products fit.
 */
static void add_damage(pixman_region32_t *region, int64_t x, int64_t y, int64_t width,
	int64_t height, int64_t scale) {
	const int64_t limit = INT32_MAX;
	int64_t x1 = x * scale, y1 = y * scale;
	int64_t x2 = x1 + width * scale, y2 = y1 + height * scale;
	x1 = x1 < 0 ? 0 : (x1 > limit ? limit : x1);
	y1 = y1 < 0 ? 0 : (y1 > limit ? limit : y1);
	x2 = x2 < 0 ? 0 : (x2 > limit ? limit : x2);
	y2 = y2 < 0 ? 0 : (y2 > limit ? limit : y2);
	if (x2 > x1 && y2 > y1) {
		pixman_region32_union_rect(region, region, (int)x1, (int)y1,
			(unsigned int)(x2 - x1), (unsigned int)(y2 - y1));
	}
}

void surface_note_viewport(struct wcp_object *object) {
	struct wcp_surface *surface = surface_get(object);
	if (surface != NULL) {
		surface->viewport = true;
	}
}

void wl_surface_req_attach(struct wcp_object *object, uint32_t opcode, const struct wl_message *msg,
	union wl_argument *args) {
	struct wcp_surface *surface = surface_get(object);
	if (surface == NULL) {
		return;
	}
	// Which host buffer carries an shm buffer is known only at the commit.
	set_buffer(&surface->pending, &surface->pending_destroy, (struct wl_resource *)args[0].o);
	surface->attached = true;
	surface->attach_x = args[1].i;
	surface->attach_y = args[2].i;
}

void wl_surface_req_damage(struct wcp_object *object, uint32_t opcode, const struct wl_message *msg,
	union wl_argument *args) {
	struct wcp_surface *surface = surface_get(object);
	if (surface != NULL && args[2].i > 0 && args[3].i > 0) {
		// Kept in surface coordinates (unscaled) until the commit.
		add_damage(&surface->surface_damage, args[0].i, args[1].i, args[2].i, args[3].i, 1);
	}
	forward_request(object, opcode, msg, args);
}

void wl_surface_req_damage_buffer(struct wcp_object *object, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args) {
	struct wcp_surface *surface = surface_get(object);
	if (surface != NULL && args[2].i > 0 && args[3].i > 0) {
		add_damage(&surface->buffer_damage, args[0].i, args[1].i, args[2].i, args[3].i, 1);
	}
	forward_request(object, opcode, msg, args);
}

void wl_surface_req_set_buffer_scale(struct wcp_object *object, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args) {
	struct wcp_surface *surface = surface_get(object);
	if (surface != NULL && args[0].i > 0) {
		surface->pending_scale = args[0].i;
	}
	forward_request(object, opcode, msg, args);
}

void wl_surface_req_set_buffer_transform(struct wcp_object *object, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args) {
	struct wcp_surface *surface = surface_get(object);
	if (surface != NULL) {
		surface->pending_transform = (uint32_t)args[0].i;
	}
	forward_request(object, opcode, msg, args);
}

/** This commit's damage in buffer coordinates, into `out`. */
static void commit_damage(
	struct wcp_surface *surface, const struct wcp_shm_buffer *buffer, pixman_region32_t *out) {
	pixman_region32_copy(out, &surface->buffer_damage);
	if (!pixman_region32_not_empty(&surface->surface_damage)) {
		return;
	}
	if (surface->transform != WL_OUTPUT_TRANSFORM_NORMAL || surface->viewport) {
		// Rotated, flipped or viewported: the mapping to buffer pixels is
		// not followed here, and the whole buffer is always right.
		pixman_region32_union_rect(
			out, out, 0, 0, (unsigned int)buffer->width, (unsigned int)buffer->height);
		return;
	}
	int count;
	const pixman_box32_t *boxes = pixman_region32_rectangles(&surface->surface_damage, &count);
	for (int i = 0; i < count; i++) {
		add_damage(out, boxes[i].x1, boxes[i].y1, boxes[i].x2 - boxes[i].x1,
			boxes[i].y2 - boxes[i].y1, surface->scale);
	}
}

/**
 * What to copy into a host buffer: everything the surface damaged since
 * the commit whose content it holds, this commit included, or all of it.
 */
static void stale_region(
	struct wcp_surface *surface, const struct wcp_host_buffer *host, pixman_region32_t *out) {
	bool known = host->synced_seq != 0 && surface->seq - host->synced_seq <= HISTORY;
	for (uint64_t seq = host->synced_seq + 1; known && seq <= surface->seq; seq++) {
		const struct wcp_surface_damage *entry = &surface->history[seq % HISTORY];
		known = entry->seq == seq && entry->width == host->width &&
			entry->height == host->height;
		if (known) {
			pixman_region32_union(out, out, &entry->region);
		}
	}
	if (!known) {
		pixman_region32_fini(out);
		pixman_region32_init_rect(
			out, 0, 0, (unsigned int)host->width, (unsigned int)host->height);
	}
}

/**
 * Copies an shm buffer's new content into a free host buffer and attaches
 * that on the host, then hands the guest's buffer back (`attached`, when
 * the commit attached it). False when the client is being ended.
 */
static bool present(struct wcp_object *object, struct wcp_surface *surface,
	struct wcp_shm_buffer *buffer, struct wl_resource *attached, int32_t x, int32_t y,
	uint64_t epoch) {
	struct wcp_host_buffer *host =
		swapchain_acquire(&surface->chain, buffer, object->client->hold.overdue, epoch);
	if (host == NULL) {
		wl_client_post_implementation_error(
			object->client->client, "the host gave no memory for this buffer");
		client_fail(object->client, "no host buffer for a surface");
		return false;
	}
	pixman_region32_t copy;
	pixman_region32_init(&copy);
	stale_region(surface, host, &copy);
	// Only a copy large enough to stream can evict; where the client runs
	// is asked only then.
	bool evict = shm_buffer_copy_bound(buffer, &copy) >= WCP_COPY_STREAM_MIN &&
		client_copy_evicts(object->client);
	size_t copied, evicted;
	uint64_t start = clock_ns();
	bool ok = shm_buffer_copy(buffer, host->data, &copy, evict, &copied, &evicted);
	uint64_t end = clock_ns();
	pixman_region32_fini(&copy);
	struct wcp_server *server = object->client->server;
	server->shm_copy_ns += end - start;
	server->shm_commits++;
	server->shm_copied_bytes += copied;
	server->shm_evicted_bytes += evicted;
	if (!ok) {
		// What the host buffer holds is now unknown.
		host->synced_seq = 0;
		wl_client_post_implementation_error(wl_resource_get_client(object->resource),
			"the shm pool of a committed buffer was truncated");
		return false;
	}
	host->synced_seq = surface->seq;
	wl_surface_attach((struct wl_surface *)object->proxy, host->buffer, x, y);
	swapchain_attached(host, epoch);
	if (attached != NULL) {
		swapchain_release_guest(host, attached);
	}
	return true;
}

/** A host buffer came free: a commit waiting for one may go on. */
static void handle_host_freed(void *data) {
	struct wcp_surface *surface = data;
	if (surface->object->client != NULL) {
		hold_resume(surface->object->client);
	}
}

void wl_surface_req_commit(struct wcp_object *object, uint32_t opcode, const struct wl_message *msg,
	union wl_argument *args) {
	struct wcp_surface *surface = surface_get(object);
	if (surface == NULL) {
		return;
	}
	struct wcp_client *client = object->client;
	struct wcp_shm_buffer *next = shm_buffer_from_object(
		forward_from_resource(surface->attached ? surface->pending : surface->current));
	// Non-zero when the host will only cache this commit.
	uint64_t epoch = subsurface_cache_epoch(client, object->resource);
	if (next != NULL && swapchain_full(&surface->chain, client->hold.overdue) &&
		swapchain_cached(&surface->chain, next, epoch) == NULL &&
		(surface->attached || pixman_region32_not_empty(&surface->surface_damage) ||
			pixman_region32_not_empty(&surface->buffer_damage))) {
		// The host holds every host buffer: this commit, and all the
		// client sends after it, wait for one to come free.
		hold_wait(client, object->meta->interface, object->resource, opcode, msg, args);
		return;
	}
	bool attached = surface->attached;
	if (attached) {
		set_buffer(&surface->current, &surface->current_destroy, surface->pending);
		set_buffer(&surface->pending, &surface->pending_destroy, NULL);
		surface->attached = false;
	}
	surface->scale = surface->pending_scale;
	surface->transform = surface->pending_transform;
	struct wcp_object *current = forward_from_resource(surface->current);
	struct wcp_shm_buffer *buffer = shm_buffer_from_object(current);
	// Every commit is counted, so that a host buffer that comes back after
	// commits of other kinds (no buffer, a non-shm one) is copied whole.
	surface->seq++;
	struct wcp_surface_damage *entry = &surface->history[surface->seq % HISTORY];
	entry->seq = surface->seq;
	entry->width = buffer != NULL ? buffer->width : -1;
	entry->height = buffer != NULL ? buffer->height : -1;
	pixman_region32_clear(&entry->region);
	if (buffer != NULL) {
		commit_damage(surface, buffer, &entry->region);
	}
	pixman_region32_clear(&surface->surface_damage);
	pixman_region32_clear(&surface->buffer_damage);

	if (buffer != NULL && (attached || pixman_region32_not_empty(&entry->region))) {
		// New content, also when damage comes without an attach: the
		// guest's buffer was released, so it may have been drawn again.
		int32_t x = attached ? surface->attach_x : 0, y = attached ? surface->attach_y : 0;
		if (!present(object, surface, buffer, attached ? surface->current : NULL, x, y,
			    epoch)) {
			return;
		}
	} else if (attached) {
		// No buffer, or one that is relayed as it is.
		struct wl_proxy *host = current != NULL ? current->proxy : NULL;
		wl_surface_attach((struct wl_surface *)object->proxy, (struct wl_buffer *)host,
			surface->attach_x, surface->attach_y);
		swapchain_attached_other(&surface->chain);
	}
	forward_request(object, opcode, msg, args);
	subsurface_note_commit(client, object->resource, epoch);
}
