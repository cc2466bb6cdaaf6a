/*
 * Acceptance: the struct sizes and field offsets of cross_domain.h and
 * uapi.h equal the reference tables of cross-domain.md (§1.2, §1.3, §2.1).
 * The headers assert most of these at compile time; this test checks every
 * row at run time and prints each mismatch, so that the check is visible.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "test.h"
#include "virtgpu/cross_domain.h"
#include "virtgpu/uapi.h"

struct layout_row {
	const char *name;
	size_t actual;
	size_t expected;
};

#define SIZE(type, expected) \
	{ "sizeof(" #type ")", sizeof(type), expected }
#define OFF(type, field, expected) \
	{ "offsetof(" #type ", " #field ")", offsetof(type, field), expected }

/* §1.2 header, §1.3 commands, replies and capabilities. */
static const struct layout_row cross_domain_rows[] = {
	SIZE(struct wcp_cd_header, 8),
	OFF(struct wcp_cd_header, cmd, 0),
	OFF(struct wcp_cd_header, ring_idx, 1),
	OFF(struct wcp_cd_header, cmd_size, 2),
	OFF(struct wcp_cd_header, pad, 4),

	SIZE(struct wcp_cd_init, 20),
	OFF(struct wcp_cd_init, hdr, 0),
	OFF(struct wcp_cd_init, query_ring_id, 8),
	OFF(struct wcp_cd_init, channel_ring_id, 12),
	OFF(struct wcp_cd_init, channel_type, 16),

	SIZE(struct wcp_cd_get_image_requirements, 24),
	OFF(struct wcp_cd_get_image_requirements, width, 8),
	OFF(struct wcp_cd_get_image_requirements, height, 12),
	OFF(struct wcp_cd_get_image_requirements, drm_format, 16),
	OFF(struct wcp_cd_get_image_requirements, flags, 20),

	SIZE(struct wcp_cd_image_requirements, 64),
	OFF(struct wcp_cd_image_requirements, strides, 0),
	OFF(struct wcp_cd_image_requirements, offsets, 16),
	OFF(struct wcp_cd_image_requirements, modifier, 32),
	OFF(struct wcp_cd_image_requirements, size, 40),
	OFF(struct wcp_cd_image_requirements, blob_id, 48),
	OFF(struct wcp_cd_image_requirements, map_info, 52),
	OFF(struct wcp_cd_image_requirements, memory_idx, 56),
	OFF(struct wcp_cd_image_requirements, physical_device_idx, 60),

	SIZE(struct wcp_cd_poll, 16),
	OFF(struct wcp_cd_poll, pad, 8),

	SIZE(struct wcp_cd_send_receive, 352),
	OFF(struct wcp_cd_send_receive, num_identifiers, 8),
	OFF(struct wcp_cd_send_receive, opaque_data_size, 12),
	OFF(struct wcp_cd_send_receive, identifiers, 16),
	OFF(struct wcp_cd_send_receive, identifier_types, 128),
	OFF(struct wcp_cd_send_receive, identifier_sizes, 240),

	SIZE(struct wcp_cd_read_write, 24),
	OFF(struct wcp_cd_read_write, identifier, 8),
	OFF(struct wcp_cd_read_write, hang_up, 12),
	OFF(struct wcp_cd_read_write, opaque_data_size, 16),
	OFF(struct wcp_cd_read_write, pad, 20),

	SIZE(struct wcp_cd_caps, 16),
	OFF(struct wcp_cd_caps, version, 0),
	OFF(struct wcp_cd_caps, supported_channels, 4),
	OFF(struct wcp_cd_caps, supports_dmabuf, 8),
	OFF(struct wcp_cd_caps, supports_external_gpu_memory, 12),

	{"WCP_CD_MAX_IDENTIFIERS", WCP_CD_MAX_IDENTIFIERS, 28},
	{"WCP_CD_MAX_RECEIVE_DATA", WCP_CD_MAX_RECEIVE_DATA, 3744},
};

/* §2.1: the request argument structs. */
static const struct layout_row uapi_rows[] = {
	SIZE(struct drm_virtgpu_getparam, 16),
	OFF(struct drm_virtgpu_getparam, param, 0),
	OFF(struct drm_virtgpu_getparam, value, 8),

	SIZE(struct drm_virtgpu_get_caps, 24),
	OFF(struct drm_virtgpu_get_caps, cap_set_id, 0),
	OFF(struct drm_virtgpu_get_caps, cap_set_ver, 4),
	OFF(struct drm_virtgpu_get_caps, addr, 8),
	OFF(struct drm_virtgpu_get_caps, size, 16),
	OFF(struct drm_virtgpu_get_caps, pad, 20),

	SIZE(struct wcp_virtgpu_context_init, 16),
	OFF(struct wcp_virtgpu_context_init, num_params, 0),
	OFF(struct wcp_virtgpu_context_init, pad, 4),
	OFF(struct wcp_virtgpu_context_init, ctx_set_params, 8),
	SIZE(struct wcp_virtgpu_context_set_param, 16),
	OFF(struct wcp_virtgpu_context_set_param, param, 0),
	OFF(struct wcp_virtgpu_context_set_param, value, 8),

	SIZE(struct wcp_virtgpu_resource_create_blob, 48),
	OFF(struct wcp_virtgpu_resource_create_blob, blob_mem, 0),
	OFF(struct wcp_virtgpu_resource_create_blob, blob_flags, 4),
	OFF(struct wcp_virtgpu_resource_create_blob, bo_handle, 8),
	OFF(struct wcp_virtgpu_resource_create_blob, res_handle, 12),
	OFF(struct wcp_virtgpu_resource_create_blob, size, 16),
	OFF(struct wcp_virtgpu_resource_create_blob, pad, 24),
	OFF(struct wcp_virtgpu_resource_create_blob, cmd_size, 28),
	OFF(struct wcp_virtgpu_resource_create_blob, cmd, 32),
	OFF(struct wcp_virtgpu_resource_create_blob, blob_id, 40),

	SIZE(struct drm_virtgpu_map, 16),
	OFF(struct drm_virtgpu_map, offset, 0),
	OFF(struct drm_virtgpu_map, handle, 8),
	OFF(struct drm_virtgpu_map, pad, 12),

	SIZE(struct wcp_virtgpu_execbuffer, 64),
	OFF(struct wcp_virtgpu_execbuffer, flags, 0),
	OFF(struct wcp_virtgpu_execbuffer, size, 4),
	OFF(struct wcp_virtgpu_execbuffer, command, 8),
	OFF(struct wcp_virtgpu_execbuffer, bo_handles, 16),
	OFF(struct wcp_virtgpu_execbuffer, num_bo_handles, 24),
	OFF(struct wcp_virtgpu_execbuffer, fence_fd, 28),
	OFF(struct wcp_virtgpu_execbuffer, ring_idx, 32),
	OFF(struct wcp_virtgpu_execbuffer, syncobj_stride, 36),
	OFF(struct wcp_virtgpu_execbuffer, num_in_syncobjs, 40),
	OFF(struct wcp_virtgpu_execbuffer, num_out_syncobjs, 44),
	OFF(struct wcp_virtgpu_execbuffer, in_syncobjs, 48),
	OFF(struct wcp_virtgpu_execbuffer, out_syncobjs, 56),

	SIZE(struct drm_virtgpu_3d_wait, 8),
	OFF(struct drm_virtgpu_3d_wait, handle, 0),
	OFF(struct drm_virtgpu_3d_wait, flags, 4),

	SIZE(struct drm_virtgpu_resource_info, 16),
	OFF(struct drm_virtgpu_resource_info, bo_handle, 0),
	OFF(struct drm_virtgpu_resource_info, res_handle, 4),
	OFF(struct drm_virtgpu_resource_info, size, 8),
	// The kernel calls the field at 12 blob_mem; Debian 12's libdrm still says stride.
	OFF(struct drm_virtgpu_resource_info, stride, 12),

	SIZE(struct drm_prime_handle, 12),
	OFF(struct drm_prime_handle, handle, 0),
	OFF(struct drm_prime_handle, flags, 4),
	OFF(struct drm_prime_handle, fd, 8),

	SIZE(struct drm_gem_close, 8),
	OFF(struct drm_gem_close, handle, 0),
	OFF(struct drm_gem_close, pad, 4),

	SIZE(struct drm_event, 8),
	OFF(struct drm_event, type, 0),
	OFF(struct drm_event, length, 4),
};

/* §2.1: request numbers ('d', nr) and the argument size each encodes. */
static const struct layout_row request_rows[] = {
	{"nr(WCP_IOCTL_VIRTGPU_MAP)", _IOC_NR(WCP_IOCTL_VIRTGPU_MAP), 0x41},
	{"nr(WCP_IOCTL_VIRTGPU_EXECBUFFER)", _IOC_NR(WCP_IOCTL_VIRTGPU_EXECBUFFER), 0x42},
	{"nr(WCP_IOCTL_VIRTGPU_GETPARAM)", _IOC_NR(WCP_IOCTL_VIRTGPU_GETPARAM), 0x43},
	{"nr(WCP_IOCTL_VIRTGPU_RESOURCE_INFO)", _IOC_NR(WCP_IOCTL_VIRTGPU_RESOURCE_INFO), 0x45},
	{"nr(WCP_IOCTL_VIRTGPU_WAIT)", _IOC_NR(WCP_IOCTL_VIRTGPU_WAIT), 0x48},
	{"nr(WCP_IOCTL_VIRTGPU_GET_CAPS)", _IOC_NR(WCP_IOCTL_VIRTGPU_GET_CAPS), 0x49},
	{"nr(WCP_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB)",
		_IOC_NR(WCP_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB), 0x4a},
	{"nr(WCP_IOCTL_VIRTGPU_CONTEXT_INIT)", _IOC_NR(WCP_IOCTL_VIRTGPU_CONTEXT_INIT), 0x4b},
	{"size(WCP_IOCTL_VIRTGPU_EXECBUFFER)", _IOC_SIZE(WCP_IOCTL_VIRTGPU_EXECBUFFER), 64},
	{"size(WCP_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB)",
		_IOC_SIZE(WCP_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB), 48},
	{"size(WCP_IOCTL_VIRTGPU_CONTEXT_INIT)", _IOC_SIZE(WCP_IOCTL_VIRTGPU_CONTEXT_INIT), 16},
	{"type(WCP_IOCTL_VIRTGPU_CONTEXT_INIT)", _IOC_TYPE(WCP_IOCTL_VIRTGPU_CONTEXT_INIT), 'd'},
	{"dir(WCP_IOCTL_VIRTGPU_CONTEXT_INIT)", _IOC_DIR(WCP_IOCTL_VIRTGPU_CONTEXT_INIT),
		_IOC_READ | _IOC_WRITE},
	{"nr(DRM_IOCTL_VERSION)", _IOC_NR(DRM_IOCTL_VERSION), 0x00},
	{"nr(DRM_IOCTL_GEM_CLOSE)", _IOC_NR(DRM_IOCTL_GEM_CLOSE), 0x09},
	{"nr(DRM_IOCTL_PRIME_HANDLE_TO_FD)", _IOC_NR(DRM_IOCTL_PRIME_HANDLE_TO_FD), 0x2d},
	{"nr(DRM_IOCTL_PRIME_FD_TO_HANDLE)", _IOC_NR(DRM_IOCTL_PRIME_FD_TO_HANDLE), 0x2e},
};

/* Checks every row (none stops the others) and prints each mismatch. */
static size_t layout_check(const struct layout_row *rows, size_t count) {
	size_t mismatches = 0;
	for (size_t i = 0; i < count; i++) {
		if (rows[i].actual != rows[i].expected) {
			test_log("MISMATCH %s = %zu, reference says %zu", rows[i].name,
				rows[i].actual, rows[i].expected);
			mismatches++;
		}
	}
	test_log("%zu rows checked, %zu mismatches", count, mismatches);
	return mismatches;
}

#define CHECK_TABLE(rows) layout_check(rows, sizeof(rows) / sizeof((rows)[0]))

TEST(cross_domain_structs_match_reference) {
	test_assert(CHECK_TABLE(cross_domain_rows) == 0);
}

TEST(uapi_structs_match_reference) {
	test_assert(CHECK_TABLE(uapi_rows) == 0);
}

TEST(request_numbers_match_reference) {
	test_assert(CHECK_TABLE(request_rows) == 0);
}

int main(int argc, char *argv[]) {
	return test_main(argc, argv);
}
