#ifndef WCP_VIRTGPU_UAPI_H
#define WCP_VIRTGPU_UAPI_H

#include <stddef.h>
#include <stdint.h>

#include <drm.h>
#include <virtgpu_drm.h>

/**
 * The part of the virtio-gpu DRM uAPI that a cross-domain guest uses.
 *
 * libdrm's virtgpu_drm.h is used for the requests it has. Debian 12's copy
 * predates blob resources, context init and ring-indexed submission (Linux
 * 5.16), so those structs are declared here with the kernel's layout, and
 * the layouts are asserted below against the kernel's and libdrm's.
 */

/* Parameters of DRM_IOCTL_VIRTGPU_GETPARAM. */
enum {
	WCP_VIRTGPU_PARAM_3D_FEATURES = 1,
	WCP_VIRTGPU_PARAM_CAPSET_QUERY_FIX = 2,
	WCP_VIRTGPU_PARAM_RESOURCE_BLOB = 3,
	WCP_VIRTGPU_PARAM_HOST_VISIBLE = 4,
	WCP_VIRTGPU_PARAM_CROSS_DEVICE = 5,
	WCP_VIRTGPU_PARAM_CONTEXT_INIT = 6,
	WCP_VIRTGPU_PARAM_SUPPORTED_CAPSET_IDS = 7,
};

/* Parameters of a context init. */
enum {
	WCP_VIRTGPU_CONTEXT_PARAM_CAPSET_ID = 1,
	WCP_VIRTGPU_CONTEXT_PARAM_NUM_RINGS = 2,
	WCP_VIRTGPU_CONTEXT_PARAM_POLL_RINGS_MASK = 3,
};

/* Blob memory types and flags. */
enum {
	WCP_VIRTGPU_BLOB_MEM_GUEST = 1,
	WCP_VIRTGPU_BLOB_MEM_HOST3D = 2,
	WCP_VIRTGPU_BLOB_MEM_HOST3D_GUEST = 3,
};
enum {
	WCP_VIRTGPU_BLOB_FLAG_USE_MAPPABLE = 1,
	WCP_VIRTGPU_BLOB_FLAG_USE_SHAREABLE = 2,
	WCP_VIRTGPU_BLOB_FLAG_USE_CROSS_DEVICE = 4,
};

/* Execbuffer flags. */
enum {
	WCP_VIRTGPU_EXECBUF_FENCE_FD_IN = 1,
	WCP_VIRTGPU_EXECBUF_FENCE_FD_OUT = 2,
	WCP_VIRTGPU_EXECBUF_RING_IDX = 4,
};

/** The event read from the DRM fd when a fence of a polled ring signals. */
#define WCP_VIRTGPU_EVENT_FENCE_SIGNALED 0x90000000u

/** The capset id of the cross-domain context type. */
#define WCP_VIRTGPU_CAPSET_CROSS_DOMAIN 5

/** DRM_IOCTL_VIRTGPU_EXECBUFFER's argument since Linux 5.16 (ring_idx, syncobjs since 6.5). */
struct wcp_virtgpu_execbuffer {
	uint32_t flags;
	uint32_t size;
	uint64_t command; // const void *
	uint64_t bo_handles; // const uint32_t *
	uint32_t num_bo_handles;
	int32_t fence_fd;
	uint32_t ring_idx;
	uint32_t syncobj_stride;
	uint32_t num_in_syncobjs;
	uint32_t num_out_syncobjs;
	uint64_t in_syncobjs;
	uint64_t out_syncobjs;
};

/** DRM_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB's argument. */
struct wcp_virtgpu_resource_create_blob {
	uint32_t blob_mem;
	uint32_t blob_flags;
	uint32_t bo_handle; // out
	uint32_t res_handle; // out
	uint64_t size;
	uint32_t pad;
	uint32_t cmd_size;
	uint64_t cmd; // const void *
	uint64_t blob_id;
};

/** One parameter of a context init. */
struct wcp_virtgpu_context_set_param {
	uint64_t param;
	uint64_t value;
};

/** DRM_IOCTL_VIRTGPU_CONTEXT_INIT's argument. */
struct wcp_virtgpu_context_init {
	uint32_t num_params;
	uint32_t pad;
	uint64_t ctx_set_params; // const struct wcp_virtgpu_context_set_param *
};

/* Request numbers, as the kernel decodes them ('d', DRM_COMMAND_BASE + nr). */
#define WCP_IOCTL_VIRTGPU_MAP DRM_IOWR(DRM_COMMAND_BASE + 0x01, struct drm_virtgpu_map)
#define WCP_IOCTL_VIRTGPU_EXECBUFFER \
	DRM_IOWR(DRM_COMMAND_BASE + 0x02, struct wcp_virtgpu_execbuffer)
#define WCP_IOCTL_VIRTGPU_GETPARAM DRM_IOWR(DRM_COMMAND_BASE + 0x03, struct drm_virtgpu_getparam)
#define WCP_IOCTL_VIRTGPU_RESOURCE_INFO \
	DRM_IOWR(DRM_COMMAND_BASE + 0x05, struct drm_virtgpu_resource_info)
#define WCP_IOCTL_VIRTGPU_WAIT DRM_IOWR(DRM_COMMAND_BASE + 0x08, struct drm_virtgpu_3d_wait)
#define WCP_IOCTL_VIRTGPU_GET_CAPS DRM_IOWR(DRM_COMMAND_BASE + 0x09, struct drm_virtgpu_get_caps)
#define WCP_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB \
	DRM_IOWR(DRM_COMMAND_BASE + 0x0a, struct wcp_virtgpu_resource_create_blob)
#define WCP_IOCTL_VIRTGPU_CONTEXT_INIT \
	DRM_IOWR(DRM_COMMAND_BASE + 0x0b, struct wcp_virtgpu_context_init)

/* The layouts of the kernel uAPI (include/uapi/drm/virtgpu_drm.h). */
_Static_assert(sizeof(struct wcp_virtgpu_execbuffer) == 64, "execbuffer size");
_Static_assert(offsetof(struct wcp_virtgpu_execbuffer, bo_handles) == 16, "bo_handles");
_Static_assert(offsetof(struct wcp_virtgpu_execbuffer, fence_fd) == 28, "fence_fd");
_Static_assert(offsetof(struct wcp_virtgpu_execbuffer, ring_idx) == 32, "ring_idx");
_Static_assert(offsetof(struct wcp_virtgpu_execbuffer, syncobj_stride) == 36, "stride");
_Static_assert(offsetof(struct wcp_virtgpu_execbuffer, num_in_syncobjs) == 40, "in");
_Static_assert(offsetof(struct wcp_virtgpu_execbuffer, num_out_syncobjs) == 44, "out");
_Static_assert(offsetof(struct wcp_virtgpu_execbuffer, in_syncobjs) == 48, "in_syncobjs");
_Static_assert(offsetof(struct wcp_virtgpu_execbuffer, out_syncobjs) == 56, "out_syncobjs");
_Static_assert(sizeof(struct wcp_virtgpu_resource_create_blob) == 48, "create_blob size");
_Static_assert(offsetof(struct wcp_virtgpu_resource_create_blob, bo_handle) == 8, "bo_handle");
_Static_assert(offsetof(struct wcp_virtgpu_resource_create_blob, res_handle) == 12, "res");
_Static_assert(offsetof(struct wcp_virtgpu_resource_create_blob, size) == 16, "size");
_Static_assert(offsetof(struct wcp_virtgpu_resource_create_blob, cmd_size) == 28, "cmd_size");
_Static_assert(offsetof(struct wcp_virtgpu_resource_create_blob, cmd) == 32, "cmd");
_Static_assert(offsetof(struct wcp_virtgpu_resource_create_blob, blob_id) == 40, "blob_id");
_Static_assert(sizeof(struct wcp_virtgpu_context_set_param) == 16, "set_param size");
_Static_assert(sizeof(struct wcp_virtgpu_context_init) == 16, "context_init size");
_Static_assert(offsetof(struct wcp_virtgpu_context_init, ctx_set_params) == 8, "params");

/* The older execbuffer in libdrm's header is a prefix of the current one. */
_Static_assert(offsetof(struct drm_virtgpu_execbuffer, flags) ==
		offsetof(struct wcp_virtgpu_execbuffer, flags),
	"flags");
_Static_assert(offsetof(struct drm_virtgpu_execbuffer, size) ==
		offsetof(struct wcp_virtgpu_execbuffer, size),
	"size");
_Static_assert(offsetof(struct drm_virtgpu_execbuffer, command) ==
		offsetof(struct wcp_virtgpu_execbuffer, command),
	"command");
_Static_assert(offsetof(struct drm_virtgpu_execbuffer, bo_handles) ==
		offsetof(struct wcp_virtgpu_execbuffer, bo_handles),
	"bo_handles");
_Static_assert(offsetof(struct drm_virtgpu_execbuffer, num_bo_handles) ==
		offsetof(struct wcp_virtgpu_execbuffer, num_bo_handles),
	"num_bo_handles");
_Static_assert(offsetof(struct drm_virtgpu_execbuffer, fence_fd) ==
		offsetof(struct wcp_virtgpu_execbuffer, fence_fd),
	"fence_fd");

/* libdrm's structs that are used as they are. */
_Static_assert(sizeof(struct drm_virtgpu_getparam) == 16, "getparam");
_Static_assert(sizeof(struct drm_virtgpu_get_caps) == 24, "get_caps");
_Static_assert(offsetof(struct drm_virtgpu_get_caps, addr) == 8, "get_caps addr");
_Static_assert(offsetof(struct drm_virtgpu_get_caps, size) == 16, "get_caps size");
_Static_assert(sizeof(struct drm_virtgpu_map) == 16, "map");
_Static_assert(sizeof(struct drm_virtgpu_3d_wait) == 8, "wait");
_Static_assert(sizeof(struct drm_virtgpu_resource_info) == 16, "resource_info");
_Static_assert(sizeof(struct drm_prime_handle) == 12, "prime_handle");
_Static_assert(sizeof(struct drm_gem_close) == 8, "gem_close");
_Static_assert(sizeof(struct drm_event) == 8, "drm_event");

/* The request numbers libdrm has agree with ours. */
_Static_assert(WCP_IOCTL_VIRTGPU_MAP == DRM_IOCTL_VIRTGPU_MAP, "MAP");
_Static_assert(WCP_IOCTL_VIRTGPU_GETPARAM == DRM_IOCTL_VIRTGPU_GETPARAM, "GETPARAM");
_Static_assert(WCP_IOCTL_VIRTGPU_RESOURCE_INFO == DRM_IOCTL_VIRTGPU_RESOURCE_INFO, "INFO");
_Static_assert(WCP_IOCTL_VIRTGPU_WAIT == DRM_IOCTL_VIRTGPU_WAIT, "WAIT");
_Static_assert(WCP_IOCTL_VIRTGPU_GET_CAPS == DRM_IOCTL_VIRTGPU_GET_CAPS, "GET_CAPS");

#endif
