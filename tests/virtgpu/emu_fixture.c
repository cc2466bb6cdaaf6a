#include "emu_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "test.h"
#include "util/fdpass.h"

static int listen_at(const char *path) {
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	test_assert(strlen(path) < sizeof(addr.sun_path));
	memcpy(addr.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	test_assert(fd >= 0);
	test_assert(bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	test_assert(listen(fd, 4) == 0);
	return fd;
}

void emu_fixture_spawn(struct wcp_emu_fixture *f, const char *display, const char *const *args) {
	memset(f, 0, sizeof(*f));
	f->host = -1;
	f->listener = -1;
	const char *emu = getenv("WCP_EMU");
	if (emu == NULL) {
		test_error("WCP_EMU is not set (run the tests with meson test)");
	}
	const char *tmp = getenv("TMPDIR");
	test_format(f->dir, sizeof(f->dir), "%s/wcp-emu-%s-XXXXXX", tmp != NULL ? tmp : "/tmp",
		test_name());
	if (mkdtemp(f->dir) == NULL) {
		test_error("mkdtemp %s: %s", f->dir, strerror(errno));
	}
	test_remove_at_end(f->dir);
	test_format(f->emu_socket, sizeof(f->emu_socket), "%s/emu.sock", f->dir);
	test_format(f->host_socket, sizeof(f->host_socket), "%s/host.sock", f->dir);
	if (display == NULL) {
		f->listener = listen_at(f->host_socket);
		display = f->host_socket;
	}

	const char *argv[32] = {emu, "--listen", f->emu_socket, "--wayland-display", display,
		"--log-level", "debug"};
	size_t argc = 7;
	for (size_t i = 0; args != NULL && args[i] != NULL; i++) {
		test_assert(argc + 1 < sizeof(argv) / sizeof(argv[0]));
		argv[argc++] = args[i];
	}
	argv[argc] = NULL;
	// Relative display names resolve in the fixture's directory.
	char runtime_dir[PATH_MAX + 32];
	test_format(runtime_dir, sizeof(runtime_dir), "XDG_RUNTIME_DIR=%s", f->dir);
	const char *env[] = {runtime_dir, NULL};
	f->emu = proc_spawn(argv, &(struct wcp_proc_opts){.env = env});
	test_assert(f->emu != NULL);
	long long deadline = proc_now_ms() + 10000;
	struct stat st;
	while (stat(f->emu_socket, &st) != 0 || !S_ISSOCK(st.st_mode)) {
		if (!proc_alive(f->emu) || proc_now_ms() > deadline) {
			test_fail("wl-cross-emu did not create %s", f->emu_socket);
		}
		proc_sleep_ms(10);
	}
	test_format(f->spec, sizeof(f->spec), "emu:%s", f->emu_socket);
}

void emu_fixture_start(struct wcp_emu_fixture *f, const char *const *args) {
	emu_fixture_spawn(f, NULL, args);
	f->device = virtgpu_device_open(f->spec);
	test_assert(f->device != NULL);
}

int emu_fixture_stop(struct wcp_emu_fixture *f) {
	if (f->query_ring != NULL) {
		munmap(f->query_ring, WCP_CD_RING_SIZE);
	}
	if (f->channel_ring != NULL) {
		munmap(f->channel_ring, WCP_CD_RING_SIZE);
	}
	virtgpu_device_destroy(f->device);
	f->device = NULL;
	if (f->host >= 0) {
		close(f->host);
	}
	if (f->listener >= 0) {
		close(f->listener);
	}
	return proc_stop(f->emu, WCP_PROC_GRACE_MS);
}

int emu_fixture_context(struct wcp_emu_fixture *f) {
	const struct wcp_virtgpu_context_set_param params[] = {
		{WCP_VIRTGPU_CONTEXT_PARAM_CAPSET_ID, WCP_VIRTGPU_CAPSET_CROSS_DOMAIN},
		{WCP_VIRTGPU_CONTEXT_PARAM_NUM_RINGS, 2},
		{WCP_VIRTGPU_CONTEXT_PARAM_POLL_RINGS_MASK, 1u << WCP_CD_CHANNEL_RING},
	};
	return virtgpu_context_init(f->device, params, 3);
}

static uint8_t *ring(struct wcp_emu_fixture *f, uint32_t *bo, uint32_t *res) {
	test_assert(virtgpu_create_blob(f->device, WCP_VIRTGPU_BLOB_MEM_GUEST,
			    WCP_VIRTGPU_BLOB_FLAG_USE_MAPPABLE, WCP_CD_RING_SIZE, 0, bo, res) == 0);
	uint8_t *ptr = virtgpu_map(f->device, *bo, WCP_CD_RING_SIZE);
	test_assert(ptr != NULL);
	return ptr;
}

void emu_fixture_init(struct wcp_emu_fixture *f, uint32_t channel_type) {
	struct wcp_cd_init init = {
		.hdr = {.cmd = WCP_CD_CMD_INIT, .cmd_size = sizeof(init)},
		.query_ring_id = f->query_res,
		.channel_ring_id = f->channel_res,
		.channel_type = channel_type,
	};
	emu_fixture_submit(f, &init, sizeof(init), WCP_VIRTGPU_RING_NONE);
}

void emu_fixture_channel(struct wcp_emu_fixture *f, uint32_t channel_type) {
	test_assert(emu_fixture_context(f) == 0);
	f->query_ring = ring(f, &f->query_bo, &f->query_res);
	f->channel_ring = ring(f, &f->channel_bo, &f->channel_res);
	emu_fixture_init(f, channel_type);
	if (channel_type != WCP_CD_CHANNEL_WAYLAND) {
		return;
	}
	struct pollfd pfd = {.fd = f->listener, .events = POLLIN};
	test_assert(poll(&pfd, 1, 5000) == 1);
	f->host = accept4(f->listener, NULL, NULL, SOCK_CLOEXEC);
	test_assert(f->host >= 0);
}

void emu_fixture_submit(struct wcp_emu_fixture *f, const void *cmd, size_t size, uint32_t ring) {
	const uint32_t *bos = NULL;
	uint32_t n = 0;
	if (ring == WCP_CD_QUERY_RING) {
		bos = &f->query_bo;
		n = 1;
	}
	int ret = virtgpu_execbuffer(f->device, cmd, (uint32_t)size, ring, bos, n);
	if (ret != 0) {
		test_fail("EXECBUFFER of %zu bytes on ring %u: %s", size, ring, strerror(-ret));
	}
	// The submission returns once queued, as the kernel's does: a query's
	// answer is in the ring once the ring's buffer is idle.
	if (ring == WCP_CD_QUERY_RING) {
		ret = virtgpu_wait(f->device, f->query_bo, false);
		if (ret != 0) {
			test_fail("WAIT for the query ring: %s", strerror(-ret));
		}
	}
}

void emu_fixture_poll(struct wcp_emu_fixture *f) {
	struct wcp_cd_poll poll_cmd = {
		.hdr = {.cmd = WCP_CD_CMD_POLL, .cmd_size = sizeof(poll_cmd)}};
	emu_fixture_submit(f, &poll_cmd, sizeof(poll_cmd), WCP_CD_CHANNEL_RING);
}

bool emu_fixture_event(struct wcp_emu_fixture *f, int timeout_ms) {
	struct pollfd pfd = {.fd = f->device->event_fd, .events = POLLIN};
	int ret = poll(&pfd, 1, timeout_ms);
	test_assert(ret >= 0);
	if (ret == 0) {
		return false;
	}
	struct drm_event event;
	test_assert(read(f->device->event_fd, &event, sizeof(event)) == (ssize_t)sizeof(event));
	test_assert(event.type == WCP_VIRTGPU_EVENT_FENCE_SIGNALED);
	test_assert(event.length == sizeof(event));
	return true;
}

void emu_fixture_poll_event(struct wcp_emu_fixture *f) {
	emu_fixture_poll(f);
	if (!emu_fixture_event(f, 5000)) {
		test_fail("no channel event within 5 s of a POLL");
	}
}

void emu_fixture_send(struct wcp_emu_fixture *f, const void *data, uint32_t size,
	const uint32_t *ids, const uint32_t *types, uint32_t n) {
	size_t total = sizeof(struct wcp_cd_send_receive) + size;
	test_assert(total <= UINT16_MAX && n <= WCP_CD_MAX_IDENTIFIERS);
	uint8_t *cmd = calloc(1, total);
	test_assert(cmd != NULL);
	struct wcp_cd_send_receive send = {
		.hdr = {.cmd = WCP_CD_CMD_SEND, .cmd_size = (uint16_t)total},
		.num_identifiers = n,
		.opaque_data_size = size,
	};
	for (uint32_t i = 0; i < n; i++) {
		send.identifiers[i] = ids[i];
		send.identifier_types[i] = types[i];
	}
	memcpy(cmd, &send, sizeof(send));
	if (size > 0) {
		memcpy(cmd + sizeof(send), data, size);
	}
	emu_fixture_submit(f, cmd, total, WCP_VIRTGPU_RING_NONE);
	free(cmd);
}

void emu_fixture_write(
	struct wcp_emu_fixture *f, uint32_t id, const void *data, uint32_t size, bool hang_up) {
	uint8_t cmd[sizeof(struct wcp_cd_read_write) + 4096];
	test_assert(size <= 4096);
	struct wcp_cd_read_write w = {
		.hdr = {.cmd = WCP_CD_CMD_WRITE, .cmd_size = (uint16_t)(sizeof(w) + size)},
		.identifier = id,
		.hang_up = hang_up,
		.opaque_data_size = size,
	};
	memcpy(cmd, &w, sizeof(w));
	if (size > 0) {
		memcpy(cmd + sizeof(w), data, size);
	}
	emu_fixture_submit(f, cmd, sizeof(w) + size, WCP_VIRTGPU_RING_NONE);
}

void emu_fixture_host_send(
	struct wcp_emu_fixture *f, const void *data, size_t size, const int *fds, int n) {
	struct iovec iov = {.iov_base = (void *)data, .iov_len = size};
	test_assert(n >= 0 && n <= WCP_CD_MAX_IDENTIFIERS);
	test_assert(fdpass_send(f->host, &iov, 1, fds, (size_t)n, 0) == (ssize_t)size);
}

long emu_fixture_host_recv(struct wcp_emu_fixture *f, void *buf, size_t size, int *fds, int max_fds,
	int *n_fds, int timeout_ms) {
	*n_fds = 0;
	struct pollfd pfd = {.fd = f->host, .events = POLLIN};
	int ret = poll(&pfd, 1, timeout_ms);
	test_assert(ret >= 0);
	if (ret == 0) {
		return -1;
	}
	struct iovec iov = {.iov_base = buf, .iov_len = size};
	size_t count;
	ssize_t n = fdpass_recv(f->host, &iov, 1, fds, (size_t)max_fds, &count, 0, NULL);
	test_assert(n >= 0);
	*n_fds = (int)count;
	return (long)n;
}

int emu_fixture_memfd(size_t size, uint8_t fill) {
	int fd = memfd_create("emu-test", MFD_CLOEXEC);
	test_assert(fd >= 0);
	test_assert(ftruncate(fd, (off_t)size) == 0);
	uint8_t *ptr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	test_assert(ptr != MAP_FAILED);
	memset(ptr, fill, size);
	munmap(ptr, size);
	return fd;
}
