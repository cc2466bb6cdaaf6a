/* The emu backend: carries each request to wl-cross-emu (see emu_wire.h). */
#include "virtgpu/device.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <wayland-util.h>

#include "log.h"
#include "util/fdpass.h"
#include "virtgpu/emu_wire.h"

struct wcp_emu_device {
	struct wcp_virtgpu_device base;
	int sock;
	bool broken; // the connection failed once: every later request is -EIO
	uint8_t *buffer; // WCP_EMU_MAX_MESSAGE bytes, for requests and replies

	// What the kernel knows to check an EXECBUFFER before queuing it.
	bool context; // CONTEXT_INIT succeeded
	uint32_t num_rings;
	struct wl_array handles; // uint32_t: the file's live GEM handles
	bool handles_lost; // one could not be recorded: unknown ones are the emulator's to check
};

/** Where a request's pointer data lives, as emu_wire.h lists it. */
struct wcp_emu_call {
	const void *out_extra[2]; // request extra, in pieces
	size_t out_extra_size[2];
	int out_fd; // -1: none
	void *in_extra; // reply extra goes here
	size_t in_extra_max;
	size_t in_extra_size; // out: what the reply carried
	bool in_fd_wanted; // the reply may carry an fd
	int in_fd; // out: the reply's fd or -1
};

static struct wcp_emu_device *emu_device(struct wcp_virtgpu_device *device) {
	return (struct wcp_emu_device *)device;
}

static int emu_fail(struct wcp_emu_device *emu, const char *what) {
	if (!emu->broken) {
		wcp_log(WCP_ERROR, "connection to wl-cross-emu (%s) broken: %s", emu->base.name,
			what);
	}
	emu->broken = true;
	return -EIO;
}

/** Sends one request; with `posted`, returns once it is sent (no reply comes). */
static int emu_call(struct wcp_emu_device *emu, uint32_t request, void *arg, uint32_t arg_size,
	struct wcp_emu_call *call, bool posted) {
	call->in_fd = -1;
	call->in_extra_size = 0;
	if (emu->broken) {
		return -EIO;
	}
	size_t extra = call->out_extra_size[0] + call->out_extra_size[1];
	size_t total = sizeof(struct wcp_emu_request) + arg_size + extra;
	if (total > WCP_EMU_MAX_MESSAGE) {
		// Larger than the emulator takes; the kernel would copy it, but no guest sends this much.
		return -E2BIG;
	}
	struct wcp_emu_request header = {
		.request = request,
		.arg_size = arg_size,
		.extra_size = (uint32_t)extra,
		.flags = posted ? WCP_EMU_POSTED : 0,
	};
	uint8_t *p = emu->buffer;
	memcpy(p, &header, sizeof(header));
	p += sizeof(header);
	memcpy(p, arg, arg_size);
	p += arg_size;
	for (int i = 0; i < 2; i++) {
		if (call->out_extra_size[i] > 0) {
			memcpy(p, call->out_extra[i], call->out_extra_size[i]);
			p += call->out_extra_size[i];
		}
	}

	struct iovec iov = {.iov_base = emu->buffer, .iov_len = total};
	ssize_t sent = fdpass_send(emu->sock, &iov, 1, &call->out_fd, call->out_fd >= 0 ? 1 : 0, 0);
	if (sent < 0 || (size_t)sent != total) {
		return emu_fail(emu, sent < 0 ? strerror(errno) : "short send");
	}
	if (posted) {
		return 0;
	}

	// A reply carries at most one fd, and only where the request takes
	// one; any other makes it malformed.
	iov.iov_len = WCP_EMU_MAX_MESSAGE;
	int fd = -1;
	size_t fd_count;
	int flags;
	ssize_t n = fdpass_recv(emu->sock, &iov, 1, &fd, 1, &fd_count, 0, &flags);
	if (n <= 0) {
		return emu_fail(
			emu, n < 0 ? strerror(errno) : "wl-cross-emu closed the connection");
	}
	struct wcp_emu_reply reply;
	if ((flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 || (size_t)n < sizeof(reply)) {
		goto error_malformed;
	}
	memcpy(&reply, emu->buffer, sizeof(reply));
	if (reply.arg_size != arg_size || reply.extra_size > call->in_extra_max ||
		(size_t)n != sizeof(reply) + reply.arg_size + reply.extra_size ||
		reply.result > 0 || reply.result < -4095 || (fd >= 0 && !call->in_fd_wanted)) {
		goto error_malformed;
	}
	if (reply.result == 0) {
		memcpy(arg, emu->buffer + sizeof(reply), arg_size);
		if (reply.extra_size > 0) {
			memcpy(call->in_extra, emu->buffer + sizeof(reply) + arg_size,
				reply.extra_size);
		}
		call->in_extra_size = reply.extra_size;
		call->in_fd = fd;
	} else if (fd >= 0) {
		close(fd);
	}
	return reply.result;

error_malformed:
	if (fd >= 0) {
		close(fd);
	}
	return emu_fail(emu, "malformed reply");
}

static bool has_handle(struct wcp_emu_device *emu, uint32_t handle) {
	uint32_t *h;
	wl_array_for_each(h, &emu->handles) {
		if (*h == handle) {
			return true;
		}
	}
	return false;
}

static void add_handle(struct wcp_emu_device *emu, uint32_t handle) {
	if (has_handle(emu, handle)) {
		return; // a second import of one buffer gives its handle again
	}
	uint32_t *h = wl_array_add(&emu->handles, sizeof(*h));
	if (h == NULL) {
		// Not known here: submissions naming unknown handles now wait for
		// the emulator's own check.
		wcp_log(WCP_ERROR, "out of memory");
		emu->handles_lost = true;
		return;
	}
	*h = handle;
}

static void remove_handle(struct wcp_emu_device *emu, uint32_t handle) {
	uint32_t *h;
	wl_array_for_each(h, &emu->handles) {
		if (*h == handle) {
			uint32_t *last =
				(uint32_t *)((char *)emu->handles.data + emu->handles.size) - 1;
			*h = *last;
			emu->handles.size -= sizeof(*h);
			return;
		}
	}
}

/*
 * The kernel's checks of an EXECBUFFER before it queues it, on what this
 * file has done: 0 when it can be posted, 1 when it must wait for the
 * emulator's answer (out-fences and syncobjs, which the emulator refuses
 * itself), or -errno.
 */
static int check_execbuffer(struct wcp_emu_device *emu, const struct wcp_virtgpu_execbuffer *a) {
	if ((a->flags & WCP_VIRTGPU_EXECBUF_FENCE_FD_OUT) != 0 || a->num_in_syncobjs != 0 ||
		a->num_out_syncobjs != 0 || (a->flags & ~7u) != 0) {
		return 1;
	}
	if (!emu->context) {
		return -EINVAL;
	}
	if ((a->flags & WCP_VIRTGPU_EXECBUF_RING_IDX) != 0 && a->ring_idx >= emu->num_rings) {
		return -EINVAL;
	}
	const uint32_t *handles = (const uint32_t *)(uintptr_t)a->bo_handles;
	for (uint32_t i = 0; i < a->num_bo_handles; i++) {
		if (!has_handle(emu, handles[i])) {
			return emu->handles_lost ? 1 : -ENOENT;
		}
	}
	return 0;
}

static int emu_ioctl(struct wcp_virtgpu_device *device, uint32_t request, void *arg) {
	struct wcp_emu_device *emu = emu_device(device);
	struct wcp_emu_call call = {.out_fd = -1};
	int ret;
	switch (request) {
	case WCP_IOCTL_VIRTGPU_GETPARAM: {
		struct drm_virtgpu_getparam *a = arg;
		void *out = (void *)(uintptr_t)a->value; // before the reply overwrites *a
		int32_t value = 0;
		call.in_extra = &value;
		call.in_extra_max = sizeof(value);
		ret = emu_call(emu, request, a, sizeof(*a), &call, false);
		if (ret == 0) {
			if (call.in_extra_size != sizeof(value)) {
				return emu_fail(emu, "GETPARAM reply without a value");
			}
			a->value = (uint64_t)(uintptr_t)out;
			memcpy(out, &value, sizeof(value));
		}
		return ret;
	}
	case WCP_IOCTL_VIRTGPU_GET_CAPS: {
		struct drm_virtgpu_get_caps *a = arg;
		call.in_extra = (void *)(uintptr_t)a->addr;
		call.in_extra_max = a->size;
		return emu_call(emu, request, a, sizeof(*a), &call, false);
	}
	case WCP_IOCTL_VIRTGPU_CONTEXT_INIT: {
		struct wcp_virtgpu_context_init *a = arg;
		const struct wcp_virtgpu_context_set_param *params =
			(const void *)(uintptr_t)a->ctx_set_params;
		call.out_extra[0] = params;
		call.out_extra_size[0] =
			(size_t)a->num_params * sizeof(struct wcp_virtgpu_context_set_param);
		ret = emu_call(emu, request, a, sizeof(*a), &call, false);
		if (ret == 0) {
			emu->context = true;
			for (uint32_t i = 0; i < a->num_params; i++) {
				if (params[i].param == WCP_VIRTGPU_CONTEXT_PARAM_NUM_RINGS) {
					emu->num_rings = (uint32_t)params[i].value;
				}
			}
		}
		return ret;
	}
	case WCP_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB: {
		struct wcp_virtgpu_resource_create_blob *a = arg;
		call.out_extra[0] = (const void *)(uintptr_t)a->cmd;
		call.out_extra_size[0] = a->cmd_size;
		ret = emu_call(emu, request, a, sizeof(*a), &call, false);
		if (ret == 0) {
			add_handle(emu, a->bo_handle);
		}
		return ret;
	}
	case WCP_IOCTL_VIRTGPU_EXECBUFFER: {
		struct wcp_virtgpu_execbuffer *a = arg;
		ret = check_execbuffer(emu, a);
		if (ret < 0) {
			return ret;
		}
		call.out_extra[0] = (const void *)(uintptr_t)a->command;
		call.out_extra_size[0] = a->size;
		call.out_extra[1] = (const void *)(uintptr_t)a->bo_handles;
		call.out_extra_size[1] = (size_t)a->num_bo_handles * sizeof(uint32_t);
		// Queued and done with, as the ioctl is: the host's work is not waited for.
		return emu_call(emu, request, a, sizeof(*a), &call, ret == 0);
	}
	case DRM_IOCTL_PRIME_FD_TO_HANDLE: {
		struct drm_prime_handle *a = arg;
		if (a->fd < 0) {
			return -EBADF;
		}
		call.out_fd = a->fd;
		ret = emu_call(emu, request, a, sizeof(*a), &call, false);
		if (ret == 0) {
			add_handle(emu, a->handle);
		}
		return ret;
	}
	case DRM_IOCTL_PRIME_HANDLE_TO_FD: {
		struct drm_prime_handle *a = arg;
		call.in_fd_wanted = true;
		ret = emu_call(emu, request, a, sizeof(*a), &call, false);
		if (ret == 0) {
			if (call.in_fd < 0) {
				return emu_fail(emu, "PRIME_HANDLE_TO_FD reply without an fd");
			}
			a->fd = call.in_fd;
		}
		return ret;
	}
	case WCP_IOCTL_VIRTGPU_MAP: {
		// Through ioctl() the memory fd has no use: only map() mmaps it.
		struct drm_virtgpu_map *a = arg;
		call.in_fd_wanted = true;
		ret = emu_call(emu, request, a, sizeof(*a), &call, false);
		if (call.in_fd >= 0) {
			close(call.in_fd);
		}
		return ret;
	}
	case WCP_IOCTL_VIRTGPU_WAIT:
		return emu_call(
			emu, request, arg, sizeof(struct drm_virtgpu_3d_wait), &call, false);
	case WCP_IOCTL_VIRTGPU_RESOURCE_INFO:
		return emu_call(
			emu, request, arg, sizeof(struct drm_virtgpu_resource_info), &call, false);
	case DRM_IOCTL_GEM_CLOSE: {
		struct drm_gem_close *a = arg;
		ret = emu_call(emu, request, a, sizeof(*a), &call, false);
		if (ret == 0) {
			remove_handle(emu, a->handle);
		}
		return ret;
	}
	default:
		return -ENOTTY;
	}
}

static void *emu_map(struct wcp_virtgpu_device *device, uint32_t bo_handle, size_t size) {
	struct wcp_emu_device *emu = emu_device(device);
	struct drm_virtgpu_map arg = {.handle = bo_handle};
	struct wcp_emu_call call = {.out_fd = -1, .in_fd_wanted = true};
	int ret = emu_call(emu, WCP_IOCTL_VIRTGPU_MAP, &arg, sizeof(arg), &call, false);
	if (ret < 0) {
		errno = -ret;
		return NULL;
	}
	if (call.in_fd < 0) {
		errno = -emu_fail(emu, "MAP reply without a memory fd");
		return NULL;
	}
	void *ptr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, call.in_fd, 0);
	int saved = errno;
	close(call.in_fd);
	if (ptr == MAP_FAILED) {
		errno = saved;
		return NULL;
	}
	return ptr;
}

static void emu_destroy(struct wcp_virtgpu_device *device) {
	struct wcp_emu_device *emu = emu_device(device);
	close(emu->sock);
	close(emu->base.event_fd);
	wl_array_release(&emu->handles);
	free(emu->buffer);
	free(emu);
}

static const struct wcp_virtgpu_device_impl emu_impl = {
	.name = "emu",
	.ioctl = emu_ioctl,
	.map = emu_map,
	.destroy = emu_destroy,
};

/** Receives the hello and its event fd; -1 (logged) on failure. */
static int receive_hello(int sock, const char *path) {
	struct wcp_emu_hello hello;
	struct iovec iov = {.iov_base = &hello, .iov_len = sizeof(hello)};
	int fd = -1;
	size_t fd_count;
	ssize_t n = fdpass_recv(sock, &iov, 1, &fd, 1, &fd_count, 0, NULL);
	if (n < 0) {
		wcp_log_errno(WCP_ERROR, "no hello from wl-cross-emu at %s", path);
		return -1;
	}
	if ((size_t)n != sizeof(hello) || hello.magic != WCP_EMU_MAGIC ||
		hello.version != WCP_EMU_VERSION || fd < 0) {
		wcp_log(WCP_ERROR,
			"%s does not speak wl-cross-emu protocol version %u; is it a wl-cross-emu "
			"socket of the same build?",
			path, WCP_EMU_VERSION);
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	return fd;
}

struct wcp_virtgpu_device *virtgpu_emu_open(const char *socket_path) {
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	size_t len = strlen(socket_path);
	if (len == 0 || len >= sizeof(addr.sun_path)) {
		wcp_log(WCP_ERROR, "wl-cross-emu socket path \"%s\" is empty or too long",
			socket_path);
		return NULL;
	}
	memcpy(addr.sun_path, socket_path, len + 1);

	struct wcp_emu_device *emu = calloc(1, sizeof(*emu));
	if (emu == NULL) {
		wcp_log(WCP_ERROR, "out of memory");
		return NULL;
	}
	wl_array_init(&emu->handles);
	emu->buffer = malloc(WCP_EMU_MAX_MESSAGE);
	if (emu->buffer == NULL) {
		wcp_log(WCP_ERROR, "out of memory");
		goto error_emu;
	}
	emu->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (emu->sock < 0) {
		wcp_log_errno(WCP_ERROR, "cannot create a socket for wl-cross-emu");
		goto error_buffer;
	}
	if (connect(emu->sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int saved = errno;
		wcp_log(WCP_ERROR,
			"cannot connect to wl-cross-emu at %s: %s; is wl-cross-emu --listen %s "
			"running?",
			socket_path, strerror(saved), socket_path);
		goto error_sock;
	}
	emu->base.event_fd = receive_hello(emu->sock, socket_path);
	if (emu->base.event_fd < 0) {
		goto error_sock;
	}
	emu->base.impl = &emu_impl;
	snprintf(emu->base.name, sizeof(emu->base.name), "emu:%s", socket_path);
	return &emu->base;

error_sock:
	close(emu->sock);
error_buffer:
	free(emu->buffer);
error_emu:
	free(emu);
	return NULL;
}
