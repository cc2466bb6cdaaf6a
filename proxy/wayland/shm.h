#ifndef WCP_WAYLAND_SHM_H
#define WCP_WAYLAND_SHM_H

#include <pixman.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wayland-util.h>

struct wcp_object;
struct wl_shm;

/**
 * wl_shm over cross-domain. Guest shm memory cannot reach the host, so the
 * proxy implements the guest's pools and buffers itself (local objects):
 * it maps the guest's memory, and a surface commit copies the buffer into
 * one of the surface's host buffers (wayland/swapchain.h).
 */

/** A guest pool's mapping, shared by the pool and the buffers made from it. */
struct wcp_shm_mapping {
	int refs;
	uint8_t *data;
	size_t size;
};

/** A guest wl_buffer of shm memory (wcp_object.data of its local object). */
struct wcp_shm_buffer {
	struct wcp_shm_mapping *guest;
	struct wl_shm *host_shm; // the host wl_shm its pool came from; lives with the client
	int32_t offset, width, height, stride;
	uint32_t format;
};

/** The shm buffer behind a guest wl_buffer, NULL when it is not one. */
struct wcp_shm_buffer *shm_buffer_from_object(struct wcp_object *object);

/**
 * The stride of the buffer's host copy: for formats whose pixels the proxy
 * knows, its rows without the guest's padding, aligned to 4 bytes and to
 * whole pixels; else the guest's. Host memory is sized by the pixels a
 * guest draws, not by its stride, and every host sees rows it accepts.
 */
int32_t shm_buffer_host_stride(const struct wcp_shm_buffer *buffer);

/** Bytes a host copy of the buffer needs (at its host stride). */
size_t shm_buffer_size(const struct wcp_shm_buffer *buffer);

/** At most how many bytes shm_buffer_copy copies for `region` (its extents). */
size_t shm_buffer_copy_bound(const struct wcp_shm_buffer *buffer, pixman_region32_t *region);

/**
 * Copies `region` (buffer coordinates, clipped to the buffer) from the
 * guest's memory to `dst`, a host copy starting at the buffer's offset,
 * its rows shm_buffer_host_stride apart; *copied gets the bytes copied. With `evict`, a
 * large copy drops the guest's lines from the caches as it reads them (the
 * client runs where it does not share them), and *evicted gets the bytes
 * copied so. False when the guest's memory is gone (its file was shrunk
 * under the mapping).
 */
bool shm_buffer_copy(const struct wcp_shm_buffer *buffer, uint8_t *dst, pixman_region32_t *region,
	bool evict, size_t *copied, size_t *evicted);

/* Interceptors and observers (listed in interceptors.c). */
void wl_shm_req_create_pool(struct wcp_object *object, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args);
void wl_shm_evt_format(struct wcp_object *object, const union wl_argument *args);
void wl_shm_pool_req_create_buffer(struct wcp_object *object, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args);
void wl_shm_pool_req_resize(struct wcp_object *object, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args);

#endif
