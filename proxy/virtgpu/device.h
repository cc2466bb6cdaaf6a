#ifndef WCP_VIRTGPU_DEVICE_H
#define WCP_VIRTGPU_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtgpu/uapi.h"

/**
 * A virtio-gpu device as a cross-domain guest uses it: DRM requests on
 * their real argument structs, blob mappings, and a pollable fd from which
 * fence events are read as struct drm_event records.
 *
 * Two backends: "drm" performs the requests on a virtio_gpu render node;
 * "emu" carries the same requests and structs to wl-cross-emu over a UNIX
 * socket. Everything above this interface is the same for both.
 */

struct wcp_virtgpu_device;

struct wcp_virtgpu_device_impl {
	const char *name;
	/** Performs one request (WCP_IOCTL_* or DRM_IOCTL_*) on arg; 0 or -errno. */
	int (*ioctl)(struct wcp_virtgpu_device *device, uint32_t request, void *arg);
	/** Maps size bytes of a mappable blob; NULL (errno set) on failure. */
	void *(*map)(struct wcp_virtgpu_device *device, uint32_t bo_handle, size_t size);
	void (*destroy)(struct wcp_virtgpu_device *device);
};

struct wcp_virtgpu_device {
	const struct wcp_virtgpu_device_impl *impl;
	/** Readable when fence events wait; read() yields struct drm_event records. */
	int event_fd;
	/** What was opened, for log lines ("/dev/dri/renderD128", "emu:/run/emu.sock"). */
	char name[128];
};

/** The ring_idx of a submission that names no ring. */
#define WCP_VIRTGPU_RING_NONE UINT32_MAX

/**
 * Opens a device: "emu:PATH" is wl-cross-emu's socket, anything else a
 * render node path, NULL the first render node whose driver is virtio_gpu.
 * On failure logs what is wrong and what to do, and returns NULL.
 */
struct wcp_virtgpu_device *virtgpu_device_open(const char *spec);

/** Closes the device. NULL is a no-op. */
void virtgpu_device_destroy(struct wcp_virtgpu_device *device);

/** The drm backend (device_drm.c); path NULL searches the render nodes. */
struct wcp_virtgpu_device *virtgpu_drm_open(const char *path);

/** The emu backend (device_emu.c). */
struct wcp_virtgpu_device *virtgpu_emu_open(const char *socket_path);

/*
 * Typed requests. Each fills the request's struct, calls the backend, and
 * returns 0 or -errno; none logs, callers say what failed.
 */

/** GETPARAM: the kernel writes an int. */
int virtgpu_get_param(struct wcp_virtgpu_device *device, uint64_t param, int32_t *value);

/** GET_CAPS: reads `size` bytes of capset `capset_id` into data. */
int virtgpu_get_caps(struct wcp_virtgpu_device *device, uint32_t capset_id, uint32_t version,
	void *data, uint32_t size);

int virtgpu_context_init(struct wcp_virtgpu_device *device,
	const struct wcp_virtgpu_context_set_param *params, uint32_t count);

/** RESOURCE_CREATE_BLOB with no command; fills *bo_handle and *res_handle. */
int virtgpu_create_blob(struct wcp_virtgpu_device *device, uint32_t blob_mem, uint32_t blob_flags,
	uint64_t size, uint64_t blob_id, uint32_t *bo_handle, uint32_t *res_handle);

/** MAP and mmap; NULL on failure (errno set). Unmap with munmap(ptr, size). */
void *virtgpu_map(struct wcp_virtgpu_device *device, uint32_t bo_handle, size_t size);

/**
 * EXECBUFFER of `size` command bytes, on ring `ring_idx` (or
 * WCP_VIRTGPU_RING_NONE), naming the given bo handles.
 */
int virtgpu_execbuffer(struct wcp_virtgpu_device *device, const void *command, uint32_t size,
	uint32_t ring_idx, const uint32_t *bo_handles, uint32_t num_bo_handles);

/** WAIT until the bo is idle; with nowait, -EBUSY while it is not. */
int virtgpu_wait(struct wcp_virtgpu_device *device, uint32_t bo_handle, bool nowait);

/**
 * RESOURCE_INFO: the resource id behind a bo handle, and its size and
 * blob memory type (0 for a resource that is no blob) where asked.
 */
int virtgpu_resource_info(struct wcp_virtgpu_device *device, uint32_t bo_handle,
	uint32_t *res_handle, uint32_t *size, uint32_t *blob_mem);

int virtgpu_prime_fd_to_handle(struct wcp_virtgpu_device *device, int fd, uint32_t *bo_handle);

/** PRIME_HANDLE_TO_FD (read-write, close-on-exec); the fd or -errno. */
int virtgpu_prime_handle_to_fd(struct wcp_virtgpu_device *device, uint32_t bo_handle);

int virtgpu_gem_close(struct wcp_virtgpu_device *device, uint32_t bo_handle);

#endif
