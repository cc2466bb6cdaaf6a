#ifndef WCP_WAYLAND_SHM_H
#define WCP_WAYLAND_SHM_H

#include <pixman.h>
#include <stdbool.h>
#include <stdint.h>
#include <wayland-util.h>

struct wcp_object;

/**
 * wl_shm over cross-domain. Guest shm memory cannot reach the host, so
 * every guest pool gets a mirror of the same size in host-visible memory
 * (a 1-row R8 image from the host's allocator) backing the host's pool;
 * buffers keep their offsets and strides, and surface commits copy what
 * changed from the guest pool into the mirror.
 */

/** A mapping shared by a pool and the buffers made from it. */
struct wcp_shm_mapping {
	int refs;
	uint8_t *data;
	size_t size;
};

/** The state of a mirrored wl_buffer (wcp_object.data of its object). */
struct wcp_shm_buffer {
	struct wcp_shm_mapping *guest, *host;
	int32_t offset, width, height, stride;
	uint32_t format;
	uint64_t synced_surface; // the surface whose commit last synced the mirror, 0: never
	uint64_t synced_seq; // that surface's commit number
};

/** The mirrored shm buffer behind a guest wl_buffer, NULL when it is not one. */
struct wcp_shm_buffer *shm_buffer_from_object(struct wcp_object *object);

/**
 * Copies `region` (buffer coordinates, clipped to the buffer) from the
 * guest pool to the mirror. False when the guest's memory is gone (its
 * file was shrunk under the mapping).
 */
bool shm_buffer_copy(struct wcp_shm_buffer *buffer, pixman_region32_t *region);

/* Interceptors (listed in interceptors.c). */
void wl_shm_req_create_pool(struct wcp_object *object, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args);
void wl_shm_pool_req_create_buffer(struct wcp_object *object, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args);
void wl_shm_pool_req_resize(struct wcp_object *object, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args);

#endif
