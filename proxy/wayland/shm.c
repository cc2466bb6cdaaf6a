#include "wayland/shm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <wayland-client-protocol.h>
#include <wayland-server-protocol.h>

#include "client.h"
#include "log.h"
#include "util/sigbus.h"
#include "wayland/forward.h"
#include "wayland/hold.h"

/** A guest pool (wcp_object.data of its local object). */
struct wcp_shm_pool {
	struct wcp_shm_mapping *guest; // shared with its buffers
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

static void pool_destroy(void *data) {
	struct wcp_shm_pool *pool = data;
	mapping_unref(pool->guest);
	free(pool);
}

static void buffer_destroy(void *data) {
	struct wcp_shm_buffer *buffer = data;
	mapping_unref(buffer->guest);
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
	pool->host_shm = (struct wl_shm *)object->proxy;
	pool->guest = map_guest(object, fd, size);
	// The mapping is all the pool needs, resizes included: a client's pools
	// cost the proxy no fds.
	close(fd);
	if (pool->guest == NULL) {
		pool_destroy(pool);
		return;
	}
	struct wl_resource *resource =
		hold_resource_create(wl_resource_get_client(object->resource),
			&wl_shm_pool_interface, wl_resource_get_version(object->resource), id);
	if (resource == NULL) {
		wl_resource_post_no_memory(object->resource);
		pool_destroy(pool);
		return;
	}
	struct wcp_object *pool_object = forward_create_local(object->client, resource);
	if (pool_object == NULL) {
		pool_destroy(pool);
		return;
	}
	pool_object->data = pool;
	pool_object->data_destroy = pool_destroy;
}

void wl_shm_evt_format(struct wcp_object *object, const union wl_argument *args) {
	struct wl_array *formats = &object->client->shm_formats;
	uint32_t *format;
	wl_array_for_each(format, formats) {
		if (*format == args[0].u) {
			return;
		}
	}
	format = wl_array_add(formats, sizeof(*format));
	if (format != NULL) {
		*format = args[0].u;
	}
}

static bool format_offered(struct wcp_object *object, uint32_t format) {
	if (format == WL_SHM_FORMAT_ARGB8888 || format == WL_SHM_FORMAT_XRGB8888) {
		return true; // every compositor supports these two
	}
	uint32_t *offered;
	wl_array_for_each(offered, &object->client->shm_formats) {
		if (*offered == format) {
			return true;
		}
	}
	return false;
}

void wl_shm_pool_req_resize(struct wcp_object *object, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args) {
	struct wcp_shm_pool *pool = object->data;
	struct wcp_shm_mapping *guest = pool->guest;
	int32_t size = args[0].i;
	if (size < 0 || (size_t)size < guest->size) {
		wl_resource_post_error(
			object->resource, WL_SHM_ERROR_INVALID_FD, "shrinking pool invalid");
		return;
	}
	if ((size_t)size == guest->size) {
		return;
	}
	// The pool's buffers see the larger mapping too: they read it through
	// the mapping they share, only while a commit copies.
	void *data = mremap(guest->data, guest->size, (size_t)size, MREMAP_MAYMOVE);
	if (data == MAP_FAILED) {
		wl_resource_post_error(object->resource, WL_SHM_ERROR_INVALID_FD,
			"failed mremap: %s", strerror(errno));
		return;
	}
	guest->data = data;
	guest->size = (size_t)size;
}

/** Where a format's bytes lie, as far as the proxy's copies need to know. */
struct format_layout {
	// Bytes per pixel of one-plane formats whose every pixel has bytes of
	// its own: damage is copied rectangle by rectangle. 0 for the others,
	// copied whole.
	int32_t bpp;
	// With bpp 0: the buffer lies within extent × stride × height bytes
	// from its offset (a bound for subsampled planes). 0: unknown, the
	// rest of the pool.
	int32_t extent;
};

static struct format_layout format_layout(uint32_t format) {
	switch (format) {
	case WL_SHM_FORMAT_C8:
	case WL_SHM_FORMAT_R8:
	case WL_SHM_FORMAT_RGB332:
	case WL_SHM_FORMAT_BGR233:
		return (struct format_layout){1, 0};
	case WL_SHM_FORMAT_XRGB4444:
	case WL_SHM_FORMAT_XBGR4444:
	case WL_SHM_FORMAT_RGBX4444:
	case WL_SHM_FORMAT_BGRX4444:
	case WL_SHM_FORMAT_ARGB4444:
	case WL_SHM_FORMAT_ABGR4444:
	case WL_SHM_FORMAT_RGBA4444:
	case WL_SHM_FORMAT_BGRA4444:
	case WL_SHM_FORMAT_XRGB1555:
	case WL_SHM_FORMAT_XBGR1555:
	case WL_SHM_FORMAT_RGBX5551:
	case WL_SHM_FORMAT_BGRX5551:
	case WL_SHM_FORMAT_ARGB1555:
	case WL_SHM_FORMAT_ABGR1555:
	case WL_SHM_FORMAT_RGBA5551:
	case WL_SHM_FORMAT_BGRA5551:
	case WL_SHM_FORMAT_RGB565:
	case WL_SHM_FORMAT_BGR565:
	case WL_SHM_FORMAT_R16:
	case WL_SHM_FORMAT_RG88:
	case WL_SHM_FORMAT_GR88:
		return (struct format_layout){2, 0};
	case WL_SHM_FORMAT_RGB888:
	case WL_SHM_FORMAT_BGR888:
	case WL_SHM_FORMAT_VUY888:
		return (struct format_layout){3, 0};
	case WL_SHM_FORMAT_ARGB8888:
	case WL_SHM_FORMAT_XRGB8888:
	case WL_SHM_FORMAT_ABGR8888:
	case WL_SHM_FORMAT_XBGR8888:
	case WL_SHM_FORMAT_RGBA8888:
	case WL_SHM_FORMAT_RGBX8888:
	case WL_SHM_FORMAT_BGRA8888:
	case WL_SHM_FORMAT_BGRX8888:
	case WL_SHM_FORMAT_ARGB2101010:
	case WL_SHM_FORMAT_XRGB2101010:
	case WL_SHM_FORMAT_ABGR2101010:
	case WL_SHM_FORMAT_XBGR2101010:
	case WL_SHM_FORMAT_RGBA1010102:
	case WL_SHM_FORMAT_RGBX1010102:
	case WL_SHM_FORMAT_BGRA1010102:
	case WL_SHM_FORMAT_BGRX1010102:
	case WL_SHM_FORMAT_RG1616:
	case WL_SHM_FORMAT_GR1616:
	case WL_SHM_FORMAT_AYUV:
	case WL_SHM_FORMAT_XYUV8888:
	case WL_SHM_FORMAT_XVYU2101010:
	case WL_SHM_FORMAT_Y410:
		return (struct format_layout){4, 0};
	case WL_SHM_FORMAT_XRGB16161616F:
	case WL_SHM_FORMAT_XBGR16161616F:
	case WL_SHM_FORMAT_ARGB16161616F:
	case WL_SHM_FORMAT_ABGR16161616F:
	case WL_SHM_FORMAT_XRGB16161616:
	case WL_SHM_FORMAT_XBGR16161616:
	case WL_SHM_FORMAT_ARGB16161616:
	case WL_SHM_FORMAT_ABGR16161616:
	case WL_SHM_FORMAT_AXBXGXRX106106106106:
	case WL_SHM_FORMAT_XVYU12_16161616:
	case WL_SHM_FORMAT_XVYU16161616:
	case WL_SHM_FORMAT_Y412:
	case WL_SHM_FORMAT_Y416:
		return (struct format_layout){8, 0};
	case WL_SHM_FORMAT_YUYV:
	case WL_SHM_FORMAT_YVYU:
	case WL_SHM_FORMAT_UYVY:
	case WL_SHM_FORMAT_VYUY:
	case WL_SHM_FORMAT_Y210:
	case WL_SHM_FORMAT_Y212:
	case WL_SHM_FORMAT_Y216:
		// One plane, but two pixels share their chroma bytes.
		return (struct format_layout){0, 1};
	case WL_SHM_FORMAT_NV12:
	case WL_SHM_FORMAT_NV21:
	case WL_SHM_FORMAT_YUV420:
	case WL_SHM_FORMAT_YVU420:
	case WL_SHM_FORMAT_P010:
	case WL_SHM_FORMAT_P012:
	case WL_SHM_FORMAT_P016:
	case WL_SHM_FORMAT_NV16:
	case WL_SHM_FORMAT_NV61:
	case WL_SHM_FORMAT_YUV422:
	case WL_SHM_FORMAT_YVU422:
	case WL_SHM_FORMAT_P210:
		// Chroma planes after the luma plane, together no larger than
		// it (half as large for 4:2:0, rounding aside).
		return (struct format_layout){0, 2};
	case WL_SHM_FORMAT_NV24:
	case WL_SHM_FORMAT_NV42:
	case WL_SHM_FORMAT_YUV444:
	case WL_SHM_FORMAT_YVU444:
		return (struct format_layout){0, 3};
	default:
		return (struct format_layout){0, 0};
	}
}

void wl_shm_pool_req_create_buffer(struct wcp_object *object, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args) {
	struct wcp_shm_pool *pool = object->data;
	uint32_t id = args[0].n;
	int32_t offset = args[1].i, width = args[2].i, height = args[3].i, stride = args[4].i;
	uint32_t format = args[5].u;
	int32_t bpp = format_layout(format).bpp;
	// The host's checks, made here because the host never sees this buffer.
	if (!format_offered(object, format)) {
		wl_resource_post_error(object->resource, WL_SHM_ERROR_INVALID_FORMAT,
			"invalid format 0x%x", format);
		return;
	}
	if (offset < 0 || width <= 0 || height <= 0 || stride < width ||
		(bpp > 0 && stride / bpp < width) ||
		(int64_t)offset + (int64_t)stride * height > (int64_t)pool->guest->size) {
		wl_resource_post_error(object->resource, WL_SHM_ERROR_INVALID_STRIDE,
			"invalid width, height or stride (%dx%d, %d)", width, height, stride);
		return;
	}
	struct wcp_shm_buffer *buffer = calloc(1, sizeof(*buffer));
	struct wl_resource *resource = buffer != NULL
		? hold_resource_create(
			  wl_resource_get_client(object->resource), &wl_buffer_interface, 1, id)
		: NULL;
	if (resource == NULL) {
		free(buffer);
		wl_resource_post_no_memory(object->resource);
		return;
	}
	struct wcp_object *buffer_object = forward_create_local(object->client, resource);
	if (buffer_object == NULL) {
		free(buffer);
		return;
	}
	*buffer = (struct wcp_shm_buffer){
		.guest = mapping_ref(pool->guest),
		.host_shm = pool->host_shm,
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

int32_t shm_buffer_host_stride(const struct wcp_shm_buffer *buffer) {
	int32_t bpp = format_layout(buffer->format).bpp;
	if (bpp == 0) {
		return buffer->stride; // the planes' layout follows it
	}
	// Rows without the guest's padding, aligned to 4 bytes and to whole
	// pixels as renderers want them (pixman takes 4-byte multiples alone,
	// wlroots whole pixels alone), whatever stride the guest chose: a
	// tight one of 7 bytes for 3 pixels of 2 bytes is 8 on the host. At
	// most 11 bytes more a row than the guest's, which holds the pixels.
	int32_t align = bpp % 4 == 0 ? bpp : bpp == 3 ? 12 : 4;
	int64_t compact = ((int64_t)buffer->width * bpp + align - 1) / align * align;
	return compact <= INT32_MAX ? (int32_t)compact : buffer->stride;
}

size_t shm_buffer_size(const struct wcp_shm_buffer *buffer) {
	struct format_layout layout = format_layout(buffer->format);
	size_t rest = buffer->guest->size - (size_t)buffer->offset;
	if (layout.bpp > 0) {
		return (size_t)shm_buffer_host_stride(buffer) * (size_t)buffer->height;
	}
	if (layout.extent == 0) {
		// Planes that may lie anywhere after the offset.
		return rest;
	}
	size_t bound = (size_t)layout.extent * (size_t)buffer->stride * (size_t)buffer->height;
	return bound < rest ? bound : rest;
}

size_t shm_buffer_copy_bound(const struct wcp_shm_buffer *buffer, pixman_region32_t *region) {
	int32_t bpp = format_layout(buffer->format).bpp;
	if (bpp == 0) {
		return shm_buffer_size(buffer);
	}
	const pixman_box32_t *e = pixman_region32_extents(region);
	int32_t x1 = e->x1 > 0 ? e->x1 : 0, y1 = e->y1 > 0 ? e->y1 : 0;
	int32_t x2 = e->x2 < buffer->width ? e->x2 : buffer->width;
	int32_t y2 = e->y2 < buffer->height ? e->y2 : buffer->height;
	if (x2 <= x1 || y2 <= y1) {
		return 0;
	}
	return (size_t)(x2 - x1) * (size_t)(y2 - y1) * (size_t)bpp;
}

bool shm_buffer_copy(const struct wcp_shm_buffer *buffer, uint8_t *dst, pixman_region32_t *region,
	bool evict, size_t *copied, size_t *evicted) {
	const uint8_t *src = buffer->guest->data + buffer->offset;
	int32_t bpp = format_layout(buffer->format).bpp;
	size_t dst_stride = (size_t)shm_buffer_host_stride(buffer);
	*copied = 0;
	*evicted = 0;
	if (bpp == 0) {
		*copied = shm_buffer_size(buffer);
		struct wcp_copy_rows all = {
			.dst = dst,
			.src = src,
			.row_bytes = shm_buffer_size(buffer),
			.rows = 1,
		};
		return sigbus_copy_rows(&all, 1, evict, evicted);
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
		size_t x = (size_t)box->x1 * (size_t)bpp;
		copies[n++] = (struct wcp_copy_rows){
			.dst = dst + (size_t)box->y1 * dst_stride + x,
			.src = src + (size_t)box->y1 * (size_t)buffer->stride + x,
			.dst_stride = dst_stride,
			.src_stride = (size_t)buffer->stride,
			.row_bytes = (size_t)(box->x2 - box->x1) * (size_t)bpp,
			.rows = (size_t)(box->y2 - box->y1),
		};
		*copied += copies[n - 1].row_bytes * copies[n - 1].rows;
		if (n == MAX_COPY_RECTS || i == count - 1) {
			ok = sigbus_copy_rows(copies, n, evict, evicted);
			n = 0;
		}
	}
	pixman_region32_fini(&clipped);
	return ok;
}
