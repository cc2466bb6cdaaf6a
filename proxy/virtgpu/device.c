#include "virtgpu/device.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct wcp_virtgpu_device *virtgpu_device_open(const char *spec) {
	static const char emu_prefix[] = "emu:";
	if (spec != NULL && strncmp(spec, emu_prefix, strlen(emu_prefix)) == 0) {
		return virtgpu_emu_open(spec + strlen(emu_prefix));
	}
	return virtgpu_drm_open(spec);
}

void virtgpu_device_destroy(struct wcp_virtgpu_device *device) {
	if (device == NULL) {
		return;
	}
	device->impl->destroy(device);
}

int virtgpu_get_param(struct wcp_virtgpu_device *device, uint64_t param, int32_t *value) {
	int out = 0;
	struct drm_virtgpu_getparam arg = {
		.param = param,
		.value = (uint64_t)(uintptr_t)&out,
	};
	int ret = device->impl->ioctl(device, WCP_IOCTL_VIRTGPU_GETPARAM, &arg);
	if (ret == 0) {
		*value = out;
	}
	return ret;
}

int virtgpu_get_caps(struct wcp_virtgpu_device *device, uint32_t capset_id, uint32_t version,
	void *data, uint32_t size) {
	struct drm_virtgpu_get_caps arg = {
		.cap_set_id = capset_id,
		.cap_set_ver = version,
		.addr = (uint64_t)(uintptr_t)data,
		.size = size,
	};
	return device->impl->ioctl(device, WCP_IOCTL_VIRTGPU_GET_CAPS, &arg);
}

int virtgpu_context_init(struct wcp_virtgpu_device *device,
	const struct wcp_virtgpu_context_set_param *params, uint32_t count) {
	struct wcp_virtgpu_context_init arg = {
		.num_params = count,
		.ctx_set_params = (uint64_t)(uintptr_t)params,
	};
	return device->impl->ioctl(device, WCP_IOCTL_VIRTGPU_CONTEXT_INIT, &arg);
}

int virtgpu_create_blob(struct wcp_virtgpu_device *device, uint32_t blob_mem, uint32_t blob_flags,
	uint64_t size, uint64_t blob_id, uint32_t *bo_handle, uint32_t *res_handle) {
	struct wcp_virtgpu_resource_create_blob arg = {
		.blob_mem = blob_mem,
		.blob_flags = blob_flags,
		.size = size,
		.blob_id = blob_id,
	};
	int ret = device->impl->ioctl(device, WCP_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB, &arg);
	if (ret == 0) {
		*bo_handle = arg.bo_handle;
		*res_handle = arg.res_handle;
	}
	return ret;
}

void *virtgpu_map(struct wcp_virtgpu_device *device, uint32_t bo_handle, size_t size) {
	return device->impl->map(device, bo_handle, size);
}

int virtgpu_execbuffer(struct wcp_virtgpu_device *device, const void *command, uint32_t size,
	uint32_t ring_idx, const uint32_t *bo_handles, uint32_t num_bo_handles) {
	struct wcp_virtgpu_execbuffer arg = {
		.size = size,
		.command = (uint64_t)(uintptr_t)command,
		.bo_handles = (uint64_t)(uintptr_t)bo_handles,
		.num_bo_handles = num_bo_handles,
		.fence_fd = -1,
	};
	if (ring_idx != WCP_VIRTGPU_RING_NONE) {
		arg.flags |= WCP_VIRTGPU_EXECBUF_RING_IDX;
		arg.ring_idx = ring_idx;
	}
	return device->impl->ioctl(device, WCP_IOCTL_VIRTGPU_EXECBUFFER, &arg);
}

int virtgpu_wait(struct wcp_virtgpu_device *device, uint32_t bo_handle, bool nowait) {
	struct drm_virtgpu_3d_wait arg = {
		.handle = bo_handle,
		.flags = nowait ? VIRTGPU_WAIT_NOWAIT : 0,
	};
	return device->impl->ioctl(device, WCP_IOCTL_VIRTGPU_WAIT, &arg);
}

int virtgpu_resource_info(struct wcp_virtgpu_device *device, uint32_t bo_handle,
	uint32_t *res_handle, uint32_t *size, uint32_t *blob_mem) {
	// The kernel writes blob_mem for blobs alone: it stays 0 for others.
	// Debian 12's libdrm calls that field stride.
	struct drm_virtgpu_resource_info arg = {.bo_handle = bo_handle};
	int ret = device->impl->ioctl(device, WCP_IOCTL_VIRTGPU_RESOURCE_INFO, &arg);
	if (ret == 0) {
		*res_handle = arg.res_handle;
		if (size != NULL) {
			*size = arg.size;
		}
		if (blob_mem != NULL) {
			*blob_mem = arg.stride; // the kernel's blob_mem (uapi.h)
		}
	}
	return ret;
}

int virtgpu_prime_fd_to_handle(struct wcp_virtgpu_device *device, int fd, uint32_t *bo_handle) {
	struct drm_prime_handle arg = {.fd = fd};
	int ret = device->impl->ioctl(device, DRM_IOCTL_PRIME_FD_TO_HANDLE, &arg);
	if (ret == 0) {
		*bo_handle = arg.handle;
	}
	return ret;
}

int virtgpu_prime_handle_to_fd(struct wcp_virtgpu_device *device, uint32_t bo_handle) {
	struct drm_prime_handle arg = {
		.handle = bo_handle,
		.flags = DRM_CLOEXEC | DRM_RDWR,
		.fd = -1,
	};
	int ret = device->impl->ioctl(device, DRM_IOCTL_PRIME_HANDLE_TO_FD, &arg);
	return ret == 0 ? arg.fd : ret;
}

int virtgpu_gem_close(struct wcp_virtgpu_device *device, uint32_t bo_handle) {
	struct drm_gem_close arg = {.handle = bo_handle};
	return device->impl->ioctl(device, DRM_IOCTL_GEM_CLOSE, &arg);
}
