/*
 * The layout of a guest shm buffer's host copy (wayland/shm.h): its stride
 * and its size, which bound the host memory a guest can ask for.
 */
#include <stdint.h>
#include <wayland-server-protocol.h>

#include "test.h"
#include "wayland/shm.h"

#define GIB ((size_t)1 << 30)

/** A buffer at `offset` of a pool of `pool` bytes (never mapped: only sizes are read). */
static struct wcp_shm_buffer buffer(struct wcp_shm_mapping *mapping, size_t pool, int32_t offset,
	int32_t width, int32_t height, int32_t stride, uint32_t format) {
	*mapping = (struct wcp_shm_mapping){.refs = 1, .size = pool};
	return (struct wcp_shm_buffer){
		.guest = mapping,
		.offset = offset,
		.width = width,
		.height = height,
		.stride = stride,
		.format = format,
	};
}

TEST(padded_rows_are_made_compact) {
	struct wcp_shm_mapping m;
	struct wcp_shm_buffer b = buffer(&m, GIB, 0, 100, 10, 1 << 20, WL_SHM_FORMAT_XRGB8888);
	test_assert(shm_buffer_host_stride(&b) == 400);
	test_assert(shm_buffer_size(&b) == 4000);
	// Formats outside the usual three have their pixel size known too.
	b.format = WL_SHM_FORMAT_RGBA8888;
	test_assert(shm_buffer_host_stride(&b) == 400);
	b.format = WL_SHM_FORMAT_ABGR16161616F;
	test_assert(shm_buffer_host_stride(&b) == 800);
	test_assert(shm_buffer_size(&b) == 8000);
	b.format = WL_SHM_FORMAT_R8;
	test_assert(shm_buffer_host_stride(&b) == 100);
}

TEST(compact_rows_stay_aligned) {
	struct wcp_shm_mapping m;
	// 5 pixels of 2 bytes: 12, a multiple of 4.
	struct wcp_shm_buffer b = buffer(&m, GIB, 0, 5, 3, 4096, WL_SHM_FORMAT_RGB565);
	test_assert(shm_buffer_host_stride(&b) == 12);
	// 5 pixels of 3 bytes: 24, a multiple of 4 and of whole pixels.
	b.format = WL_SHM_FORMAT_RGB888;
	test_assert(shm_buffer_host_stride(&b) == 24);
	b.format = WL_SHM_FORMAT_C8;
	test_assert(shm_buffer_host_stride(&b) == 8);
}

TEST(tight_guest_strides_are_kept_when_aligned) {
	struct wcp_shm_mapping m;
	struct wcp_shm_buffer b = buffer(&m, GIB, 0, 640, 480, 2560, WL_SHM_FORMAT_ARGB8888);
	test_assert(shm_buffer_host_stride(&b) == 2560);
	test_assert(shm_buffer_size(&b) == 2560 * 480);
	b = buffer(&m, GIB, 0, 4, 3, 12, WL_SHM_FORMAT_RGB888);
	test_assert(shm_buffer_host_stride(&b) == 12);
}

/*
 * A tight stride that is not whole pixels or not 4 bytes (which the host's
 * libwayland takes, and wlroots or pixman would not) widens on the host.
 */
TEST(tight_unaligned_strides_widen_on_the_host) {
	struct wcp_shm_mapping m;
	struct wcp_shm_buffer b = buffer(&m, GIB, 0, 3, 2, 7, WL_SHM_FORMAT_RGB565);
	test_assert(shm_buffer_host_stride(&b) == 8);
	test_assert(shm_buffer_size(&b) == 16);
	b = buffer(&m, GIB, 0, 5, 3, 15, WL_SHM_FORMAT_RGB888);
	test_assert(shm_buffer_host_stride(&b) == 24);
	test_assert(shm_buffer_size(&b) == 72);
	// No wider than a stride can be: the guest's is kept.
	b = buffer(&m, (size_t)INT32_MAX, 0, INT32_MAX / 2, 1, INT32_MAX, WL_SHM_FORMAT_RGB565);
	test_assert(shm_buffer_host_stride(&b) == INT32_MAX);
}

TEST(planar_formats_are_bounded_by_their_planes) {
	struct wcp_shm_mapping m;
	// A 2x2 NV12 buffer at the start of a 1 GiB pool: its planes, not the pool.
	struct wcp_shm_buffer b = buffer(&m, GIB, 0, 2, 2, 64, WL_SHM_FORMAT_NV12);
	test_assert(shm_buffer_host_stride(&b) == 64);
	test_assert(shm_buffer_size(&b) == 2 * 64 * 2);
	b.format = WL_SHM_FORMAT_YUV444;
	test_assert(shm_buffer_size(&b) == 3 * 64 * 2);
	b.format = WL_SHM_FORMAT_YUYV;
	test_assert(shm_buffer_size(&b) == 64 * 2);
	// Never past the pool's end.
	b = buffer(&m, 4096, 4096 - 3 * 64, 2, 2, 64, WL_SHM_FORMAT_YUV420);
	test_assert(shm_buffer_size(&b) == 3 * 64);
}

TEST(unknown_layouts_take_the_rest_of_the_pool) {
	struct wcp_shm_mapping m;
	struct wcp_shm_buffer b = buffer(&m, 1 << 20, 4096, 4, 4, 16, WL_SHM_FORMAT_YUV410);
	test_assert(shm_buffer_host_stride(&b) == 16);
	test_assert(shm_buffer_size(&b) == (1 << 20) - 4096);
}

int main(int argc, char *argv[]) {
	return test_main(argc, argv);
}
