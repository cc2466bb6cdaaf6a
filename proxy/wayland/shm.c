#include "wayland/shm.h"

#include <drm_fourcc.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <wayland-client-protocol.h>
#include <wayland-server-protocol.h>

#include "client.h"
#include "log.h"
#include "util/sigbus.h"
#include "virtgpu/bridge.h"
#include "wayland/forward.h"

/** A guest pool: its fd (for resizes) and mirror. */
struct wcp_shm_pool {
	int fd;
	struct wcp_shm_mapping *guest, *host;
	// wl_shm has no destructor in the version relayed (1): it lives as
	// long as the client, and resizes make new host pools from it.
	struct wl_shm *host_shm;
};

static struct wcp_shm_mapping *mapping_create(uint8_t *data, size_t size) {
	struct wcp_shm_mapping *mapping = calloc(1, sizeof(*mapping));
	if (mapping == NULL) {
		munmap(data, size);
		return NULL;
	}
	mapping->refs = 1;
	mapping->data = data;
	mapping->size = size;
	return mapping;
}

static struct wcp_shm_mapping *mapping_ref(struct wcp_shm_mapping *mapping) {
	mapping->refs++;
	return mapping;
}

static void mapping_unref(struct wcp_shm_mapping *mapping) {
	if (mapping == NULL || --mapping->refs > 0) {
		return;
	}
	munmap(mapping->data, mapping->size);
	free(mapping);
}

/** Host-visible memory of at least `size` bytes; *fd is its fd. NULL (logged) on failure. */
static struct wcp_shm_mapping *host_memory(struct wcp_client *client, int32_t size, int *fd) {
	struct wcp_cd_channel *channel = bridge_channel(client->bridge);
	// Page multiples keep the host's per-size templates few.
	uint32_t width = ((uint32_t)size + 4095u) & ~4095u;
	struct wcp_cd_image_requirements reqs;
	if (!channel_image_requirements(channel, width, 1, DRM_FORMAT_R8,
		    WCP_CD_FLAG_LINEAR | WCP_CD_FLAG_SW_WRITE_OFTEN, &reqs)) {
		return NULL;
	}
	*fd = channel_blob_fd(channel, reqs.blob_id, reqs.size);
	if (*fd < 0) {
		return NULL;
	}
	uint8_t *data = mmap(NULL, reqs.size, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (data == MAP_FAILED) {
		wcp_log_errno(WCP_ERROR, "cannot map %" PRIu64 " bytes of host memory", reqs.size);
		close(*fd);
		return NULL;
	}
	struct wcp_shm_mapping *mapping = mapping_create(data, reqs.size);
	if (mapping == NULL) {
		close(*fd);
	}
	return mapping;
}

static void pool_destroy(void *data) {
	struct wcp_shm_pool *pool = data;
	mapping_unref(pool->guest);
	mapping_unref(pool->host);
	close(pool->fd);
	free(pool);
}

static void buffer_destroy(void *data) {
	struct wcp_shm_buffer *buffer = data;
	mapping_unref(buffer->guest);
	mapping_unref(buffer->host);
	free(buffer);
}

/** Maps the guest pool's fd read-only; NULL (error posted) on failure. */
static struct wcp_shm_mapping *map_guest(struct wcp_object *object, int fd, int32_t size) {
	uint8_t *data = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
	if (data == MAP_FAILED) {
		wl_resource_post_error(object->resource, WL_SHM_ERROR_INVALID_FD,
			"failed mmap fd %d: %s", fd, strerror(errno));
		return NULL;
	}
	struct wcp_shm_mapping *mapping = mapping_create(data, (size_t)size);
	if (mapping == NULL) {
		wl_resource_post_no_memory(object->resource);
	}
	return mapping;
}

void wl_shm_req_create_pool(struct wcp_object *object, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args) {
	uint32_t id = args[0].n;
	int fd = args[1].h;
	int32_t size = args[2].i;
	if (size <= 0) {
		wl_resource_post_error(
			object->resource, WL_SHM_ERROR_INVALID_STRIDE, "invalid size (%d)", size);
		close(fd);
		return;
	}
	struct wcp_shm_pool *pool = calloc(1, sizeof(*pool));
	if (pool == NULL) {
		wl_resource_post_no_memory(object->resource);
		close(fd);
		return;
	}
	pool->fd = fd;
	pool->host_shm = (struct wl_shm *)object->proxy;
	pool->guest = map_guest(object, fd, size);
	int host_fd = -1;
	pool->host = pool->guest != NULL ? host_memory(object->client, size, &host_fd) : NULL;
	if (pool->host == NULL) {
		if (pool->guest != NULL) {
			client_fail(object->client, "no host memory for an shm pool");
		}
		pool_destroy(pool);
		return;
	}
	struct wl_shm_pool *host_pool =
		wl_shm_create_pool((struct wl_shm *)object->proxy, host_fd, size);
	close(host_fd);
	struct wl_resource *resource = wl_resource_create(wl_resource_get_client(object->resource),
		&wl_shm_pool_interface, wl_resource_get_version(object->resource), id);
	if (resource == NULL) {
		wl_shm_pool_destroy(host_pool);
		wl_resource_post_no_memory(object->resource);
		pool_destroy(pool);
		return;
	}
	struct wcp_object *pool_object =
		forward_create(object->client, resource, (struct wl_proxy *)host_pool);
	if (pool_object == NULL) {
		pool_destroy(pool);
		return;
	}
	pool_object->data = pool;
	pool_object->data_destroy = pool_destroy;
}

void wl_shm_pool_req_resize(struct wcp_object *object, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args) {
	struct wcp_shm_pool *pool = object->data;
	int32_t size = args[0].i;
	if (size < (int32_t)pool->guest->size) {
		wl_resource_post_error(
			object->resource, WL_SHM_ERROR_INVALID_STRIDE, "shrinking pool invalid");
		return;
	}
	if ((size_t)size == pool->guest->size) {
		return;
	}
	struct wcp_shm_mapping *guest = map_guest(object, pool->fd, size);
	if (guest == NULL) {
		return;
	}
	// A blob cannot grow: the pool gets a new, larger mirror and host pool.
	// Buffers made before keep the old ones, which live as long as they do.
	int host_fd;
	struct wcp_shm_mapping *host = host_memory(object->client, size, &host_fd);
	if (host == NULL) {
		mapping_unref(guest);
		client_fail(object->client, "no host memory for a resized shm pool");
		return;
	}
	struct wl_shm_pool *old = (struct wl_shm_pool *)object->proxy;
	struct wl_shm_pool *replacement = wl_shm_create_pool(pool->host_shm, host_fd, size);
	close(host_fd);
	forward_replace_proxy(object, (struct wl_proxy *)replacement);
	wl_shm_pool_destroy(old);
	mapping_unref(pool->guest);
	mapping_unref(pool->host);
	pool->guest = guest;
	pool->host = host;
}

/** Bytes per pixel of the formats with a plain layout; 0 for others. */
static int32_t format_bpp(uint32_t format) {
	switch (format) {
	case WL_SHM_FORMAT_ARGB8888:
	case WL_SHM_FORMAT_XRGB8888:
	case WL_SHM_FORMAT_ABGR8888:
	case WL_SHM_FORMAT_XBGR8888:
	case WL_SHM_FORMAT_ARGB2101010:
	case WL_SHM_FORMAT_XRGB2101010:
	case WL_SHM_FORMAT_ABGR2101010:
	case WL_SHM_FORMAT_XBGR2101010:
		return 4;
	case WL_SHM_FORMAT_RGB888:
	case WL_SHM_FORMAT_BGR888:
		return 3;
	case WL_SHM_FORMAT_RGB565:
	case WL_SHM_FORMAT_BGR565:
		return 2;
	default:
		return 0;
	}
}

void wl_shm_pool_req_create_buffer(struct wcp_object *object, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args) {
	struct wcp_shm_pool *pool = object->data;
	int32_t offset = args[1].i, width = args[2].i, height = args[3].i, stride = args[4].i;
	uint32_t format = args[5].u;
	int32_t bpp = format_bpp(format);
	// The same checks as the host makes, so the copies stay inside the pool.
	if (offset < 0 || width <= 0 || height <= 0 || stride < width ||
		(bpp > 0 && stride / bpp < width) ||
		(int64_t)offset + (int64_t)stride * height > (int64_t)pool->guest->size) {
		wl_resource_post_error(object->resource, WL_SHM_ERROR_INVALID_STRIDE,
			"invalid width, height or stride (%dx%d, %d)", width, height, stride);
		return;
	}
	struct wcp_shm_buffer *buffer = calloc(1, sizeof(*buffer));
	if (buffer == NULL) {
		wl_resource_post_no_memory(object->resource);
		return;
	}
	struct wcp_object *buffer_object = forward_request(object, opcode, msg, args);
	if (buffer_object == NULL) {
		free(buffer);
		return;
	}
	*buffer = (struct wcp_shm_buffer){
		.guest = mapping_ref(pool->guest),
		.host = mapping_ref(pool->host),
		.offset = offset,
		.width = width,
		.height = height,
		.stride = stride,
		.format = format,
	};
	buffer_object->data = buffer;
	buffer_object->data_destroy = buffer_destroy;
}

struct wcp_shm_buffer *shm_buffer_from_object(struct wcp_object *object) {
	return object != NULL && object->data_destroy == buffer_destroy ? object->data : NULL;
}

#define MAX_COPY_RECTS 64

bool shm_buffer_copy(struct wcp_shm_buffer *buffer, pixman_region32_t *region) {
	int32_t bpp = format_bpp(buffer->format);
	if (bpp == 0) {
		// Planar and unusual formats: their planes may lie anywhere after
		// the offset, so all of it is copied.
		size_t end = buffer->guest->size < buffer->host->size ? buffer->guest->size
								      : buffer->host->size;
		struct wcp_copy_rows all = {
			.dst = buffer->host->data + buffer->offset,
			.src = buffer->guest->data + buffer->offset,
			.row_bytes = end - (size_t)buffer->offset,
			.rows = 1,
		};
		return sigbus_copy_rows(&all, 1);
	}
	pixman_region32_t clipped;
	pixman_region32_init(&clipped);
	pixman_region32_intersect_rect(
		&clipped, region, 0, 0, (unsigned int)buffer->width, (unsigned int)buffer->height);
	int count;
	const pixman_box32_t *boxes = pixman_region32_rectangles(&clipped, &count);
	struct wcp_copy_rows copies[MAX_COPY_RECTS];
	size_t n = 0;
	bool ok = true;
	for (int i = 0; i < count && ok; i++) {
		const pixman_box32_t *box = &boxes[i];
		size_t x0 = (size_t)box->x1 * (size_t)bpp;
		size_t row = (size_t)(box->x2 - box->x1) * (size_t)bpp;
		size_t start =
			(size_t)buffer->offset + (size_t)box->y1 * (size_t)buffer->stride + x0;
		copies[n++] = (struct wcp_copy_rows){
			.dst = buffer->host->data + start,
			.src = buffer->guest->data + start,
			.dst_stride = (size_t)buffer->stride,
			.src_stride = (size_t)buffer->stride,
			.row_bytes = row,
			.rows = (size_t)(box->y2 - box->y1),
		};
		if (n == MAX_COPY_RECTS || i == count - 1) {
			ok = sigbus_copy_rows(copies, n);
			n = 0;
		}
	}
	pixman_region32_fini(&clipped);
	return ok;
}
