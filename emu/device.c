/* The guest kernel's half: DRM requests of one opened render node. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emu.h"
#include "log.h"
#include "virtgpu/cross_domain.h"
#include "virtgpu/uapi.h"

struct wcp_emu_handle {
	struct wl_list link;
	uint32_t handle;
	struct wcp_emu_resource *resource;
};

struct wcp_emu_file {
	struct wcp_emu_host *host;
	int event_fd; // write end of the event pipe, non-blocking
	struct wl_list handles; // wcp_emu_handle.link
	uint32_t next_handle;
	bool context; // CONTEXT_INIT done
	uint32_t capset_id;
	uint32_t num_rings;
	uint64_t poll_rings_mask;
	struct wcp_emu_cd *cd; // capset 5 only
};

/* More rings than this is -EINVAL in the kernel's CONTEXT_INIT. */
#define EMU_MAX_RINGS 64

/* Blobs larger than this are refused, as a guest's memory would be exhausted. */
#define EMU_MAX_BLOB_SIZE (1ull << 32)

struct wcp_emu_file *emu_device_file_create(struct wcp_emu_host *host, int *event_fd) {
	struct wcp_emu_file *file = calloc(1, sizeof(*file));
	if (file == NULL) {
		wcp_log(WCP_ERROR, "out of memory");
		return NULL;
	}
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		wcp_log_errno(WCP_ERROR, "cannot create an event pipe");
		goto error_file;
	}
	// Only our end is non-blocking: a guest reading its end blocks as on a DRM fd.
	if (fcntl(fds[1], F_SETFL, O_NONBLOCK) < 0) {
		wcp_log_errno(WCP_ERROR, "fcntl O_NONBLOCK");
		goto error_pipe;
	}
	file->host = host;
	file->event_fd = fds[1];
	file->next_handle = 1;
	wl_list_init(&file->handles);
	*event_fd = fds[0];
	return file;

error_pipe:
	close(fds[0]);
	close(fds[1]);
error_file:
	free(file);
	return NULL;
}

void emu_device_file_destroy(struct wcp_emu_file *file) {
	if (file == NULL) {
		return;
	}
	emu_cross_domain_destroy(file->cd);
	struct wcp_emu_handle *handle, *tmp;
	wl_list_for_each_safe(handle, tmp, &file->handles, link) {
		emu_resource_unref(handle->resource);
		wl_list_remove(&handle->link);
		free(handle);
	}
	emu_resource_release_owner(file->host, file);
	close(file->event_fd);
	free(file);
}

static struct wcp_emu_handle *find_handle(struct wcp_emu_file *file, uint32_t handle) {
	struct wcp_emu_handle *h;
	wl_list_for_each(h, &file->handles, link) {
		if (h->handle == handle) {
			return h;
		}
	}
	return NULL;
}

static struct wcp_emu_handle *find_handle_of(
	struct wcp_emu_file *file, const struct wcp_emu_resource *resource) {
	struct wcp_emu_handle *h;
	wl_list_for_each(h, &file->handles, link) {
		if (h->resource == resource) {
			return h;
		}
	}
	return NULL;
}

/** A new handle on `resource` (whose reference the caller has taken); 0 on failure. */
static uint32_t add_handle(struct wcp_emu_file *file, struct wcp_emu_resource *resource) {
	struct wcp_emu_handle *h = calloc(1, sizeof(*h));
	if (h == NULL) {
		wcp_log(WCP_ERROR, "out of memory");
		return 0;
	}
	h->handle = file->next_handle++;
	h->resource = resource;
	wl_list_insert(&file->handles, &h->link);
	return h->handle;
}

struct wcp_emu_resource *emu_device_attached(struct wcp_emu_file *file, uint32_t res_id) {
	struct wcp_emu_handle *h;
	wl_list_for_each(h, &file->handles, link) {
		if (h->resource->id == res_id) {
			return h->resource;
		}
	}
	return NULL;
}

void emu_device_fence_signalled(struct wcp_emu_file *file, uint32_t ring) {
	if (ring >= 64 || (file->poll_rings_mask & (1ull << ring)) == 0) {
		return;
	}
	struct drm_event event = {
		.type = WCP_VIRTGPU_EVENT_FENCE_SIGNALED,
		.length = sizeof(event),
	};
	if (write(file->event_fd, &event, sizeof(event)) != (ssize_t)sizeof(event)) {
		// EPIPE: the guest closed its device while the host worked; its close follows.
		wcp_log_errno(errno == EPIPE ? WCP_DEBUG : WCP_ERROR,
			"a fence event of ring %u is lost", ring);
	}
}

static int do_getparam(struct wcp_emu_file *file, void *arg, struct wcp_emu_answer *answer) {
	struct drm_virtgpu_getparam *a = arg;
	const struct wcp_emu_config *config = &file->host->config;
	int32_t value;
	switch (a->param) {
	case WCP_VIRTGPU_PARAM_3D_FEATURES:
	case WCP_VIRTGPU_PARAM_CAPSET_QUERY_FIX:
		value = 1;
		break;
	case WCP_VIRTGPU_PARAM_RESOURCE_BLOB:
		value = config->resource_blob;
		break;
	case WCP_VIRTGPU_PARAM_HOST_VISIBLE:
		value = config->host_visible;
		break;
	case WCP_VIRTGPU_PARAM_CROSS_DEVICE:
		value = 0;
		break;
	case WCP_VIRTGPU_PARAM_CONTEXT_INIT:
		value = config->context_init;
		break;
	case WCP_VIRTGPU_PARAM_SUPPORTED_CAPSET_IDS:
		value = (int32_t)config->capsets;
		break;
	default:
		return -EINVAL;
	}
	memcpy(answer->extra, &value, sizeof(value));
	answer->extra_size = sizeof(value);
	return 0;
}

static int do_get_caps(struct wcp_emu_file *file, void *arg, struct wcp_emu_answer *answer) {
	struct drm_virtgpu_get_caps *a = arg;
	const struct wcp_emu_config *config = &file->host->config;
	// The only capset this host has; its max version is 0 (cross-domain.md 1.1).
	if (a->cap_set_id != WCP_VIRTGPU_CAPSET_CROSS_DOMAIN ||
		(config->capsets & (1ull << WCP_VIRTGPU_CAPSET_CROSS_DOMAIN)) == 0 ||
		a->cap_set_ver > 0) {
		return -EINVAL;
	}
	struct wcp_cd_caps caps = {
		.version = 1,
		.supported_channels =
			config->wayland_path != NULL ? 1u << WCP_CD_CHANNEL_WAYLAND : 0,
	};
	size_t size = a->size < sizeof(caps) ? a->size : sizeof(caps);
	if (size > answer->extra_max) {
		return -EINVAL;
	}
	memcpy(answer->extra, &caps, size);
	answer->extra_size = size;
	return 0;
}

static int do_context_init(
	struct wcp_emu_file *file, void *arg, const uint8_t *extra, size_t extra_size) {
	struct wcp_virtgpu_context_init *a = arg;
	const struct wcp_emu_config *config = &file->host->config;
	if (extra_size != (size_t)a->num_params * sizeof(struct wcp_virtgpu_context_set_param)) {
		return WCP_EMU_MALFORMED;
	}
	if (!config->context_init || a->num_params == 0) {
		return -EINVAL;
	}
	if (file->context) {
		return -EEXIST;
	}
	uint32_t capset_id = 0, num_rings = 0;
	uint64_t poll_rings_mask = 0;
	uint32_t seen = 0;
	for (uint32_t i = 0; i < a->num_params; i++) {
		struct wcp_virtgpu_context_set_param param;
		memcpy(&param, extra + i * sizeof(param), sizeof(param));
		if (param.param < 1 || param.param > 3 || (seen & (1u << param.param)) != 0) {
			return -EINVAL;
		}
		seen |= 1u << param.param;
		switch (param.param) {
		case WCP_VIRTGPU_CONTEXT_PARAM_CAPSET_ID:
			if (param.value >= 64 || (config->capsets & (1ull << param.value)) == 0) {
				return -EINVAL;
			}
			capset_id = (uint32_t)param.value;
			break;
		case WCP_VIRTGPU_CONTEXT_PARAM_NUM_RINGS:
			if (param.value > EMU_MAX_RINGS) {
				return -EINVAL;
			}
			num_rings = (uint32_t)param.value;
			break;
		default:
			poll_rings_mask = param.value;
			break;
		}
	}
	if (capset_id == WCP_VIRTGPU_CAPSET_CROSS_DOMAIN) {
		file->cd = emu_cross_domain_create(file->host, file);
		if (file->cd == NULL) {
			return -ENOMEM;
		}
	} else {
		wcp_log(WCP_ERROR,
			"context of capset %u: only cross-domain (5) is emulated; its "
			"commands will fail",
			capset_id);
	}
	file->context = true;
	file->capset_id = capset_id;
	file->num_rings = num_rings;
	file->poll_rings_mask = poll_rings_mask;
	return 0;
}

static int do_create_blob(struct wcp_emu_file *file, void *arg, size_t extra_size) {
	struct wcp_virtgpu_resource_create_blob *a = arg;
	const struct wcp_emu_config *config = &file->host->config;
	if (extra_size != a->cmd_size) {
		return WCP_EMU_MALFORMED;
	}
	// The checks of the kernel's verify_blob() and vram_create().
	if (!config->resource_blob || (a->blob_flags & ~7u) != 0 || a->size == 0 ||
		a->size > EMU_MAX_BLOB_SIZE || !file->context) {
		return -EINVAL;
	}
	if ((a->blob_flags & WCP_VIRTGPU_BLOB_FLAG_USE_CROSS_DEVICE) != 0) {
		return -EINVAL;
	}
	int fd;
	switch (a->blob_mem) {
	case WCP_VIRTGPU_BLOB_MEM_GUEST:
		if (a->blob_id != 0 || a->cmd_size != 0) {
			return -EINVAL;
		}
		fd = emu_resource_memfd(a->size);
		if (fd < 0) {
			return -ENOMEM;
		}
		break;
	case WCP_VIRTGPU_BLOB_MEM_HOST3D:
		if ((a->blob_flags & WCP_VIRTGPU_BLOB_FLAG_USE_MAPPABLE) != 0 &&
			!config->host_visible) {
			return -EINVAL;
		}
		if (file->cd == NULL) {
			wcp_log(WCP_ERROR,
				"host: blob %llu requested from a context without "
				"cross-domain",
				(unsigned long long)a->blob_id);
			return -EINVAL;
		}
		int ret = emu_cross_domain_blob(file->cd, a->blob_id, a->size, &fd);
		if (ret < 0) {
			return ret;
		}
		break;
	default:
		// HOST3D_GUEST: the cross-domain host has no such blobs.
		return -EINVAL;
	}
	struct wcp_emu_resource *resource =
		emu_resource_create(file->host, file, a->blob_mem, a->blob_flags, a->size, fd);
	if (resource == NULL) {
		return -ENOMEM;
	}
	uint32_t handle = add_handle(file, resource);
	if (handle == 0) {
		emu_resource_unref(resource);
		return -ENOMEM;
	}
	a->bo_handle = handle;
	a->res_handle = resource->id;
	return 0;
}

static int do_map(struct wcp_emu_file *file, void *arg, struct wcp_emu_answer *answer) {
	struct drm_virtgpu_map *a = arg;
	struct wcp_emu_handle *h = find_handle(file, a->handle);
	if (h == NULL) {
		return -ENOENT;
	}
	const struct wcp_emu_resource *resource = h->resource;
	if (resource->blob_mem != WCP_VIRTGPU_BLOB_MEM_GUEST &&
		(resource->blob_flags & WCP_VIRTGPU_BLOB_FLAG_USE_MAPPABLE) == 0) {
		return -EINVAL;
	}
	answer->fd = fcntl(resource->fd, F_DUPFD_CLOEXEC, 0);
	if (answer->fd < 0) {
		wcp_log_errno(WCP_ERROR, "dup");
		return -ENOMEM;
	}
	a->offset = 0;
	return 0;
}

static int do_execbuffer(
	struct wcp_emu_file *file, void *arg, const uint8_t *extra, size_t extra_size) {
	struct wcp_virtgpu_execbuffer *a = arg;
	if (extra_size != (size_t)a->size + (size_t)a->num_bo_handles * sizeof(uint32_t)) {
		return WCP_EMU_MALFORMED;
	}
	if (!file->context || (a->flags & ~7u) != 0) {
		return -EINVAL;
	}
	if ((a->flags & WCP_VIRTGPU_EXECBUF_FENCE_FD_OUT) != 0 || a->num_in_syncobjs != 0 ||
		a->num_out_syncobjs != 0) {
		wcp_log(WCP_ERROR, "EXECBUFFER with an out-fence or syncobjs: not emulated");
		return -EINVAL;
	}
	bool ring = (a->flags & WCP_VIRTGPU_EXECBUF_RING_IDX) != 0;
	if (ring && a->ring_idx >= file->num_rings) {
		return -EINVAL;
	}
	for (uint32_t i = 0; i < a->num_bo_handles; i++) {
		uint32_t handle;
		memcpy(&handle, extra + a->size + i * sizeof(handle), sizeof(handle));
		if (find_handle(file, handle) == NULL) {
			return -ENOENT;
		}
	}
	if (file->cd == NULL) {
		wcp_log(WCP_ERROR,
			"host: submission to a context of capset %u, which is not "
			"emulated",
			file->capset_id);
		return 0;
	}
	if (!emu_cross_domain_submit(file->cd, extra, a->size)) {
		// The fence attached to the named bos never signals.
		for (uint32_t i = 0; i < a->num_bo_handles; i++) {
			uint32_t handle;
			memcpy(&handle, extra + a->size + i * sizeof(handle), sizeof(handle));
			find_handle(file, handle)->resource->stalled = true;
		}
		return 0;
	}
	if (ring) {
		emu_cross_domain_fence(file->cd, a->ring_idx);
	}
	return 0;
}

static int do_resource_info(struct wcp_emu_file *file, void *arg) {
	struct drm_virtgpu_resource_info *a = arg;
	struct wcp_emu_handle *h = find_handle(file, a->bo_handle);
	if (h == NULL) {
		return -ENOENT;
	}
	a->res_handle = h->resource->id;
	a->size = (uint32_t)h->resource->size;
	// The kernel's blob_mem, called stride by Debian 12's libdrm: every
	// resource here is a blob.
	a->stride = h->resource->blob_mem;
	return 0;
}

static int do_prime_fd_to_handle(struct wcp_emu_file *file, void *arg, int fd) {
	struct drm_prime_handle *a = arg;
	if (fd < 0) {
		return WCP_EMU_MALFORMED;
	}
	struct wcp_emu_resource *resource = emu_resource_find_fd(file->host, fd);
	if (resource == NULL) {
		return -EINVAL;
	}
	struct wcp_emu_handle *h = find_handle_of(file, resource);
	if (h != NULL) {
		a->handle = h->handle;
		return 0;
	}
	if (resource->fd < 0) {
		resource->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (resource->fd < 0) {
			wcp_log_errno(WCP_ERROR, "dup");
			return -ENOMEM;
		}
	}
	resource->handles++;
	uint32_t handle = add_handle(file, resource);
	if (handle == 0) {
		emu_resource_unref(resource);
		return -ENOMEM;
	}
	a->handle = handle;
	return 0;
}

static int do_prime_handle_to_fd(
	struct wcp_emu_file *file, void *arg, struct wcp_emu_answer *answer) {
	struct drm_prime_handle *a = arg;
	if ((a->flags & ~(uint32_t)(DRM_CLOEXEC | DRM_RDWR)) != 0) {
		return -EINVAL;
	}
	struct wcp_emu_handle *h = find_handle(file, a->handle);
	if (h == NULL) {
		return -ENOENT;
	}
	answer->fd = fcntl(h->resource->fd, F_DUPFD_CLOEXEC, 0);
	if (answer->fd < 0) {
		wcp_log_errno(WCP_ERROR, "dup");
		return -EMFILE;
	}
	h->resource->exported = true;
	a->fd = -1;
	return 0;
}

static int do_gem_close(struct wcp_emu_file *file, void *arg) {
	struct drm_gem_close *a = arg;
	struct wcp_emu_handle *h = find_handle(file, a->handle);
	if (h == NULL) {
		return -EINVAL;
	}
	emu_resource_unref(h->resource);
	wl_list_remove(&h->link);
	free(h);
	return 0;
}

static size_t arg_size_of(uint32_t request) {
	switch (request) {
	case WCP_IOCTL_VIRTGPU_GETPARAM:
		return sizeof(struct drm_virtgpu_getparam);
	case WCP_IOCTL_VIRTGPU_GET_CAPS:
		return sizeof(struct drm_virtgpu_get_caps);
	case WCP_IOCTL_VIRTGPU_CONTEXT_INIT:
		return sizeof(struct wcp_virtgpu_context_init);
	case WCP_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB:
		return sizeof(struct wcp_virtgpu_resource_create_blob);
	case WCP_IOCTL_VIRTGPU_MAP:
		return sizeof(struct drm_virtgpu_map);
	case WCP_IOCTL_VIRTGPU_EXECBUFFER:
		return sizeof(struct wcp_virtgpu_execbuffer);
	case WCP_IOCTL_VIRTGPU_WAIT:
		return sizeof(struct drm_virtgpu_3d_wait);
	case WCP_IOCTL_VIRTGPU_RESOURCE_INFO:
		return sizeof(struct drm_virtgpu_resource_info);
	case DRM_IOCTL_PRIME_FD_TO_HANDLE:
	case DRM_IOCTL_PRIME_HANDLE_TO_FD:
		return sizeof(struct drm_prime_handle);
	case DRM_IOCTL_GEM_CLOSE:
		return sizeof(struct drm_gem_close);
	default:
		return 0;
	}
}

int emu_device_request(struct wcp_emu_file *file, uint32_t request, void *arg, size_t arg_size,
	const uint8_t *extra, size_t extra_size, int fd, struct wcp_emu_answer *answer) {
	size_t expected = arg_size_of(request);
	if (expected == 0) {
		return -ENOTTY;
	}
	if (arg_size != expected || (fd >= 0 && request != DRM_IOCTL_PRIME_FD_TO_HANDLE)) {
		return WCP_EMU_MALFORMED;
	}
	bool has_extra = request == WCP_IOCTL_VIRTGPU_CONTEXT_INIT ||
		request == WCP_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB ||
		request == WCP_IOCTL_VIRTGPU_EXECBUFFER;
	if (!has_extra && extra_size != 0) {
		return WCP_EMU_MALFORMED;
	}
	switch (request) {
	case WCP_IOCTL_VIRTGPU_GETPARAM:
		return do_getparam(file, arg, answer);
	case WCP_IOCTL_VIRTGPU_GET_CAPS:
		return do_get_caps(file, arg, answer);
	case WCP_IOCTL_VIRTGPU_CONTEXT_INIT:
		return do_context_init(file, arg, extra, extra_size);
	case WCP_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB:
		return do_create_blob(file, arg, extra_size);
	case WCP_IOCTL_VIRTGPU_MAP:
		return do_map(file, arg, answer);
	case WCP_IOCTL_VIRTGPU_EXECBUFFER:
		return do_execbuffer(file, arg, extra, extra_size);
	case WCP_IOCTL_VIRTGPU_WAIT: {
		// Query replies are written synchronously: every bo is idle but
		// those of a submission that never completes, for which the
		// kernel's wait gives up with EBUSY after 15 s.
		const struct drm_virtgpu_3d_wait *a = arg;
		struct wcp_emu_handle *h = find_handle(file, a->handle);
		if (h == NULL) {
			return -ENOENT;
		}
		return h->resource->stalled ? -EBUSY : 0;
	}
	case WCP_IOCTL_VIRTGPU_RESOURCE_INFO:
		return do_resource_info(file, arg);
	case DRM_IOCTL_PRIME_FD_TO_HANDLE:
		return do_prime_fd_to_handle(file, arg, fd);
	case DRM_IOCTL_PRIME_HANDLE_TO_FD:
		return do_prime_handle_to_fd(file, arg, answer);
	default:
		return do_gem_close(file, arg);
	}
}
