/* wl-cross-emu through the emu backend: parameters, caps, the kernel's checks, the wire. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emu_fixture.h"
#include "fdleak.h"
#include "test.h"
#include "util/fdpass.h"
#include "virtgpu/emu_wire.h"

static int32_t param(struct wcp_emu_fixture *f, uint64_t which) {
	int32_t value = -1;
	test_assert(virtgpu_get_param(f->device, which, &value) == 0);
	return value;
}

TEST(caps_of_a_good_vm) {
	struct wcp_emu_fixture f;
	emu_fixture_start(&f, NULL);
	test_assert(param(&f, WCP_VIRTGPU_PARAM_3D_FEATURES) == 1);
	test_assert(param(&f, WCP_VIRTGPU_PARAM_RESOURCE_BLOB) == 1);
	test_assert(param(&f, WCP_VIRTGPU_PARAM_HOST_VISIBLE) == 1);
	test_assert(param(&f, WCP_VIRTGPU_PARAM_CONTEXT_INIT) == 1);
	test_assert(param(&f, WCP_VIRTGPU_PARAM_SUPPORTED_CAPSET_IDS) == 0x20);
	int32_t value;
	test_assert(virtgpu_get_param(f.device, 99, &value) == -EINVAL);
	struct wcp_cd_caps caps = {0};
	test_assert(virtgpu_get_caps(f.device, 5, 0, &caps, sizeof(caps)) == 0);
	test_assert(caps.version == 1);
	test_assert(caps.supported_channels == 1u << WCP_CD_CHANNEL_WAYLAND);
	// Max version 0; other capsets do not exist here.
	test_assert(virtgpu_get_caps(f.device, 5, 1, &caps, sizeof(caps)) == -EINVAL);
	test_assert(virtgpu_get_caps(f.device, 1, 0, &caps, sizeof(caps)) == -EINVAL);
	test_assert(emu_fixture_stop(&f) == 0);
}

TEST(no_wayland_clears_the_channel_bit_and_rejects_init) {
	struct wcp_emu_fixture f;
	const char *args[] = {"--no-wayland", NULL};
	emu_fixture_start(&f, args);
	struct wcp_cd_caps caps = {0};
	test_assert(virtgpu_get_caps(f.device, 5, 0, &caps, sizeof(caps)) == 0);
	test_assert(caps.version == 1);
	test_assert((caps.supported_channels & (1u << WCP_CD_CHANNEL_WAYLAND)) == 0);
	// The INIT is rejected by the host only: the guest's submission succeeds.
	emu_fixture_channel(&f, WCP_CD_CHANNEL_NONE);
	emu_fixture_init(&f, WCP_CD_CHANNEL_WAYLAND);
	test_assert(virtgpu_wait(f.device, f.query_bo, false) == 0);
	struct pollfd pfd = {.fd = f.listener, .events = POLLIN};
	test_assert(poll(&pfd, 1, 300) == 0);
	emu_fixture_poll(&f);
	test_assert(!emu_fixture_event(&f, 300));
	test_assert(emu_fixture_stop(&f) == 0);
}

TEST(no_capsets_fails_get_caps) {
	struct wcp_emu_fixture f;
	const char *args[] = {"--capsets", "0", NULL};
	emu_fixture_start(&f, args);
	test_assert(param(&f, WCP_VIRTGPU_PARAM_SUPPORTED_CAPSET_IDS) == 0);
	struct wcp_cd_caps caps;
	test_assert(virtgpu_get_caps(f.device, 5, 0, &caps, sizeof(caps)) == -EINVAL);
	test_assert(emu_fixture_context(&f) == -EINVAL);
	test_assert(emu_fixture_stop(&f) == 0);
}

TEST(badly_set_up_vm_switches) {
	struct wcp_emu_fixture f;
	const char *args[] = {"--no-context-init", "--no-blob", "--no-host-visible", NULL};
	emu_fixture_start(&f, args);
	test_assert(param(&f, WCP_VIRTGPU_PARAM_CONTEXT_INIT) == 0);
	test_assert(param(&f, WCP_VIRTGPU_PARAM_RESOURCE_BLOB) == 0);
	test_assert(param(&f, WCP_VIRTGPU_PARAM_HOST_VISIBLE) == 0);
	test_assert(emu_fixture_context(&f) == -EINVAL);
	test_assert(emu_fixture_stop(&f) == 0);
}

TEST(no_host_visible_refuses_mappable_host_blobs) {
	struct wcp_emu_fixture f;
	const char *args[] = {"--no-host-visible", NULL};
	emu_fixture_start(&f, args);
	emu_fixture_channel(&f, WCP_CD_CHANNEL_NONE);
	struct wcp_cd_get_image_requirements req = {
		.hdr = {.cmd = WCP_CD_CMD_GET_IMAGE_REQUIREMENTS, .cmd_size = sizeof(req)},
		.width = 16,
		.height = 16,
		.drm_format = 0x34325258,
	};
	emu_fixture_submit(&f, &req, sizeof(req), WCP_CD_QUERY_RING);
	struct wcp_cd_image_requirements reply;
	memcpy(&reply, f.query_ring, sizeof(reply));
	test_assert(reply.size == 4096);
	uint32_t bo, res;
	test_assert(virtgpu_create_blob(f.device, WCP_VIRTGPU_BLOB_MEM_HOST3D, 3, reply.size,
			    reply.blob_id, &bo, &res) == -EINVAL);
	test_assert(emu_fixture_stop(&f) == 0);
}

TEST(kernel_checks_return_errno) {
	struct wcp_emu_fixture f;
	emu_fixture_start(&f, NULL);
	uint8_t cmd[16] = {WCP_CD_CMD_POLL, 0, 16};
	test_assert(virtgpu_execbuffer(
			    f.device, cmd, sizeof(cmd), WCP_VIRTGPU_RING_NONE, NULL, 0) == -EINVAL);
	uint32_t bo, res;
	test_assert(virtgpu_create_blob(f.device, WCP_VIRTGPU_BLOB_MEM_GUEST, 1, 4096, 0, &bo,
			    &res) == -EINVAL);
	test_assert(virtgpu_context_init(f.device, NULL, 0) == -EINVAL);
	test_assert(emu_fixture_context(&f) == 0);
	test_assert(emu_fixture_context(&f) == -EEXIST);
	// Ring 2 does not exist; bo 77 neither.
	test_assert(virtgpu_execbuffer(f.device, cmd, sizeof(cmd), 2, NULL, 0) == -EINVAL);
	uint32_t missing = 77;
	test_assert(virtgpu_execbuffer(f.device, cmd, sizeof(cmd), 1, &missing, 1) == -ENOENT);
	test_assert(virtgpu_gem_close(f.device, 77) == -EINVAL);
	test_assert(virtgpu_wait(f.device, 77, false) == -ENOENT);
	test_assert(virtgpu_resource_info(f.device, 77, &res, NULL, NULL) == -ENOENT);
	test_assert(virtgpu_prime_handle_to_fd(f.device, 77) == -ENOENT);
	errno = 0;
	test_assert(virtgpu_map(f.device, 77, 4096) == NULL && errno == ENOENT);
	test_assert(virtgpu_create_blob(f.device, WCP_VIRTGPU_BLOB_MEM_GUEST, 1, 0, 0, &bo, &res) ==
		-EINVAL);
	test_assert(virtgpu_create_blob(f.device, WCP_VIRTGPU_BLOB_MEM_GUEST, 1, 4096, 5, &bo,
			    &res) == -EINVAL);
	test_assert(virtgpu_create_blob(f.device, WCP_VIRTGPU_BLOB_MEM_HOST3D, 3, 4096, 42, &bo,
			    &res) == -EINVAL);
	int foreign = emu_fixture_memfd(4096, 0);
	test_assert(virtgpu_prime_fd_to_handle(f.device, foreign, &bo) == -EINVAL);
	close(foreign);

	// Handles start at 1 per file; resource ids are global.
	test_assert(virtgpu_create_blob(
			    f.device, WCP_VIRTGPU_BLOB_MEM_GUEST, 1, 4096, 0, &bo, &res) == 0);
	test_assert(bo == 1 && res == 1);
	uint32_t info_res, info_size, info_blob_mem;
	test_assert(
		virtgpu_resource_info(f.device, bo, &info_res, &info_size, &info_blob_mem) == 0);
	test_assert(info_res == res && info_size == 4096);
	test_assert(info_blob_mem == WCP_VIRTGPU_BLOB_MEM_GUEST);
	test_assert(virtgpu_wait(f.device, bo, true) == 0);
	// Blob memory has a fixed size, as in a VM: the guest cannot shrink it
	// under the emulator's own mappings.
	int blob_fd = virtgpu_prime_handle_to_fd(f.device, bo);
	test_assert(blob_fd >= 0);
	test_assert(ftruncate(blob_fd, 0) < 0 && errno == EPERM);
	close(blob_fd);
	// A submission naming a live handle is queued; once closed, it is refused.
	test_assert(virtgpu_execbuffer(f.device, cmd, sizeof(cmd), 1, &bo, 1) == 0);
	test_assert(virtgpu_gem_close(f.device, bo) == 0);
	test_assert(virtgpu_gem_close(f.device, bo) == -EINVAL);
	test_assert(virtgpu_execbuffer(f.device, cmd, sizeof(cmd), 1, &bo, 1) == -ENOENT);
	// The emulator took the queued one: the device still answers.
	test_assert(virtgpu_wait(f.device, 77, false) == -ENOENT);
	test_assert(emu_fixture_stop(&f) == 0);
}

TEST(guest_blob_memory_is_shared_and_fresh_per_map) {
	struct wcp_emu_fixture f;
	emu_fixture_start(&f, NULL);
	test_assert(emu_fixture_context(&f) == 0);
	uint32_t bo, res;
	test_assert(virtgpu_create_blob(
			    f.device, WCP_VIRTGPU_BLOB_MEM_GUEST, 1, 8192, 0, &bo, &res) == 0);
	uint8_t *a = virtgpu_map(f.device, bo, 8192);
	uint8_t *b = virtgpu_map(f.device, bo, 8192);
	test_assert(a != NULL && b != NULL && a != b);
	test_assert(a[8191] == 0);
	a[8191] = 0x5a;
	test_assert(b[8191] == 0x5a);
	munmap(a, 8192);
	munmap(b, 8192);
	test_assert(emu_fixture_stop(&f) == 0);
}

TEST(prime_export_import_round_trip) {
	struct wcp_emu_fixture f;
	emu_fixture_start(&f, NULL);
	emu_fixture_channel(&f, WCP_CD_CHANNEL_NONE);
	struct wcp_cd_get_image_requirements req = {
		.hdr = {.cmd = WCP_CD_CMD_GET_IMAGE_REQUIREMENTS, .cmd_size = sizeof(req)},
		.width = 100,
		.height = 1,
		.drm_format = 0x20203852, // R8
	};
	emu_fixture_submit(&f, &req, sizeof(req), WCP_CD_QUERY_RING);
	struct wcp_cd_image_requirements reply;
	memcpy(&reply, f.query_ring, sizeof(reply));
	test_assert(reply.strides[0] == 100 && reply.size == 4096);
	uint32_t bo, res;
	test_assert(virtgpu_create_blob(f.device, WCP_VIRTGPU_BLOB_MEM_HOST3D, 3, reply.size,
			    reply.blob_id, &bo, &res) == 0);
	int dmabuf = virtgpu_prime_handle_to_fd(f.device, bo);
	test_assert(dmabuf >= 0);
	test_assert(virtgpu_gem_close(f.device, bo) == 0);
	// The dma-buf keeps the memory: write through it, import it again.
	uint8_t *ptr = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, dmabuf, 0);
	test_assert(ptr != MAP_FAILED);
	ptr[10] = 0x77;
	munmap(ptr, 4096);
	uint32_t bo2, res2;
	test_assert(virtgpu_prime_fd_to_handle(f.device, dmabuf, &bo2) == 0);
	uint32_t again;
	test_assert(virtgpu_prime_fd_to_handle(f.device, dmabuf, &again) == 0 && again == bo2);
	test_assert(virtgpu_resource_info(f.device, bo2, &res2, NULL, NULL) == 0);
	test_assert(res2 == res);
	ptr = virtgpu_map(f.device, bo2, 4096);
	test_assert(ptr != NULL && ptr[10] == 0x77);
	munmap(ptr, 4096);
	close(dmabuf);
	test_assert(virtgpu_gem_close(f.device, bo2) == 0);
	test_assert(emu_fixture_stop(&f) == 0);
}

TEST(connect_failure_is_reported) {
	test_assert(virtgpu_device_open("emu:/nonexistent/wl-cross-emu.sock") == NULL);
}

TEST(a_dead_emulator_gives_eio) {
	struct wcp_emu_fixture f;
	emu_fixture_start(&f, NULL);
	test_assert(param(&f, WCP_VIRTGPU_PARAM_CONTEXT_INIT) == 1);
	test_assert(proc_stop(f.emu, WCP_PROC_GRACE_MS) == 0);
	f.emu = NULL;
	int32_t value;
	test_assert(virtgpu_get_param(f.device, WCP_VIRTGPU_PARAM_CONTEXT_INIT, &value) == -EIO);
	test_assert(virtgpu_get_param(f.device, WCP_VIRTGPU_PARAM_CONTEXT_INIT, &value) == -EIO);
	test_assert(virtgpu_map(f.device, 1, 4096) == NULL && errno == EIO);
	emu_fixture_stop(&f);
}

/* A connection of the test's own to the emulator, and the event fd of its hello. */
static int raw_connect_with_events(const char *path, int *event_fd) {
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	memcpy(addr.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	test_assert(fd >= 0);
	test_assert(connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	struct wcp_emu_hello hello;
	struct iovec iov = {.iov_base = &hello, .iov_len = sizeof(hello)};
	size_t count;
	test_assert(
		fdpass_recv(fd, &iov, 1, event_fd, 1, &count, 0, NULL) == (ssize_t)sizeof(hello));
	test_assert(hello.magic == WCP_EMU_MAGIC && hello.version == WCP_EMU_VERSION);
	test_assert(count == 1);
	return fd;
}

static int raw_connect(const char *path) {
	int event_fd;
	int fd = raw_connect_with_events(path, &event_fd);
	close(event_fd);
	return fd;
}

/*
 * An emulator of the test's own, in a child process, that answers the
 * first request (a GETPARAM) correctly but with an fd attached, which no
 * GETPARAM reply carries.
 */
static pid_t fake_emulator_start(const char *path) {
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	memcpy(addr.sun_path, path, strlen(path) + 1);
	int listener = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	test_assert(listener >= 0);
	test_assert(bind(listener, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	test_assert(listen(listener, 1) == 0);
	pid_t pid = fork();
	test_assert(pid >= 0);
	if (pid > 0) {
		close(listener);
		return pid;
	}
	int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	int events[2], null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || null_fd < 0 || pipe2(events, O_CLOEXEC) != 0) {
		_exit(1);
	}
	struct wcp_emu_hello hello = {.magic = WCP_EMU_MAGIC, .version = WCP_EMU_VERSION};
	struct iovec iov = {.iov_base = &hello, .iov_len = sizeof(hello)};
	if (fdpass_send(fd, &iov, 1, &events[0], 1, 0) != (ssize_t)sizeof(hello)) {
		_exit(1);
	}
	uint8_t buffer[256];
	iov = (struct iovec){.iov_base = buffer, .iov_len = sizeof(buffer)};
	size_t count;
	int unused_fd = -1;
	ssize_t n = fdpass_recv(fd, &iov, 1, &unused_fd, 1, &count, 0, NULL);
	struct wcp_emu_request request;
	if (n < (ssize_t)sizeof(request)) {
		_exit(1);
	}
	memcpy(&request, buffer, sizeof(request));
	struct wcp_emu_reply reply = {.arg_size = request.arg_size, .extra_size = sizeof(int32_t)};
	int32_t value = 1;
	size_t size = 0;
	memcpy(buffer + size, &reply, sizeof(reply));
	size += sizeof(reply);
	size += request.arg_size; // the argument, as it came
	memcpy(buffer + size, &value, sizeof(value));
	size += sizeof(value);
	iov = (struct iovec){.iov_base = buffer, .iov_len = size};
	if (fdpass_send(fd, &iov, 1, &null_fd, 1, 0) != (ssize_t)size) {
		_exit(1);
	}
	// Until the other side closes.
	iov = (struct iovec){.iov_base = buffer, .iov_len = sizeof(buffer)};
	while (fdpass_recv(fd, &iov, 1, &unused_fd, 1, &count, 0, NULL) > 0) {
	}
	_exit(0);
}

/*
 * A reply with an fd its request does not take is malformed: the
 * connection ends, and the fd is not left open in the guest.
 */
TEST(a_reply_fd_no_request_takes_is_refused) {
	char dir[PATH_MAX], path[PATH_MAX];
	test_runtime_dir_create(dir);
	test_format(path, sizeof(path), "%s/fake-emu.sock", dir);
	pid_t pid = fake_emulator_start(path);
	char name[PATH_MAX + 8];
	test_format(name, sizeof(name), "emu:%s", path);
	struct wcp_virtgpu_device *device = virtgpu_device_open(name);
	test_assert(device != NULL);
	struct wcp_fd_set before, after;
	test_assert(fdleak_snapshot(&before));
	int32_t value;
	test_assert(virtgpu_get_param(device, WCP_VIRTGPU_PARAM_CONTEXT_INIT, &value) == -EIO);
	test_assert(fdleak_snapshot(&after));
	test_assert(fdleak_report(&before, &after, stderr) == 0);
	virtgpu_device_destroy(device);
	int status;
	test_assert(waitpid(pid, &status, 0) == pid);
	test_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	test_remove_tree(dir);
}

TEST(malformed_messages_close_only_their_connection) {
	struct wcp_emu_fixture f;
	emu_fixture_start(&f, NULL);
	uint8_t reply[64];
	static const uint8_t garbage[3] = {1, 2, 3};
	int fd = raw_connect(f.emu_socket);
	test_assert(send(fd, garbage, sizeof(garbage), 0) == (ssize_t)sizeof(garbage));
	test_assert(recv(fd, reply, sizeof(reply), 0) == 0);
	close(fd);
	// Sizes that do not add up.
	fd = raw_connect(f.emu_socket);
	struct wcp_emu_request request = {
		.request = WCP_IOCTL_VIRTGPU_GETPARAM, .arg_size = 16, .extra_size = 100};
	test_assert(send(fd, &request, sizeof(request), 0) == (ssize_t)sizeof(request));
	test_assert(recv(fd, reply, sizeof(reply), 0) == 0);
	close(fd);
	// A known request with the wrong struct size; an unknown request is only ENOTTY.
	fd = raw_connect(f.emu_socket);
	uint8_t message[sizeof(request) + 16] = {0};
	request = (struct wcp_emu_request){.request = 0xdeadbeef, .arg_size = 16};
	memcpy(message, &request, sizeof(request));
	test_assert(send(fd, message, sizeof(message), 0) == (ssize_t)sizeof(message));
	struct wcp_emu_reply answer;
	test_assert(recv(fd, reply, sizeof(reply), 0) == (ssize_t)(sizeof(answer) + 16));
	memcpy(&answer, reply, sizeof(answer));
	test_assert(answer.result == -ENOTTY);
	request = (struct wcp_emu_request){.request = WCP_IOCTL_VIRTGPU_WAIT, .arg_size = 16};
	memcpy(message, &request, sizeof(request));
	test_assert(send(fd, message, sizeof(message), 0) == (ssize_t)sizeof(message));
	test_assert(recv(fd, reply, sizeof(reply), 0) == 0);
	close(fd);
	// The well-behaved connection still works.
	test_assert(param(&f, WCP_VIRTGPU_PARAM_CONTEXT_INIT) == 1);
	test_assert(emu_fixture_stop(&f) == 0);
}

/* An EXECBUFFER through the backend's ioctl, with what the wrapper never sets. */
static int execbuffer_with(struct wcp_emu_fixture *f, uint32_t flags, uint32_t in_syncobjs) {
	uint8_t cmd[16] = {WCP_CD_CMD_POLL, 0, 16};
	struct wcp_virtgpu_execbuffer arg = {
		.flags = flags,
		.size = sizeof(cmd),
		.command = (uint64_t)(uintptr_t)cmd,
		.fence_fd = -1,
		.num_in_syncobjs = in_syncobjs,
	};
	return f->device->impl->ioctl(f->device, WCP_IOCTL_VIRTGPU_EXECBUFFER, &arg);
}

TEST(execbuffers_the_emulator_refuses) {
	struct wcp_emu_fixture f;
	emu_fixture_start(&f, NULL);
	test_assert(emu_fixture_context(&f) == 0);
	// Out-fences and syncobjs are the emulator's to refuse: the backend
	// waits for its answer instead of posting, and the device goes on.
	test_assert(execbuffer_with(&f, WCP_VIRTGPU_EXECBUF_FENCE_FD_OUT, 0) == -EINVAL);
	test_assert(execbuffer_with(&f, 0, 1) == -EINVAL);
	test_assert(param(&f, WCP_VIRTGPU_PARAM_CONTEXT_INIT) == 1);
	uint8_t cmd[16] = {WCP_CD_CMD_POLL, 0, 16};
	test_assert(virtgpu_execbuffer(f.device, cmd, sizeof(cmd), 1, NULL, 0) == 0);
	test_assert(param(&f, WCP_VIRTGPU_PARAM_CONTEXT_INIT) == 1);

	// A posted one that the emulator refuses (here: no context on a
	// connection of its own) cannot be answered: the device is lost, and
	// its owner learns it from both ends closing.
	int event_fd;
	int fd = raw_connect_with_events(f.emu_socket, &event_fd);
	struct wcp_emu_request request = {
		.request = WCP_IOCTL_VIRTGPU_EXECBUFFER,
		.arg_size = sizeof(struct wcp_virtgpu_execbuffer),
		.extra_size = sizeof(cmd),
		.flags = WCP_EMU_POSTED,
	};
	struct wcp_virtgpu_execbuffer arg = {.size = sizeof(cmd), .fence_fd = -1};
	uint8_t message[sizeof(request) + sizeof(arg) + sizeof(cmd)];
	memcpy(message, &request, sizeof(request));
	memcpy(message + sizeof(request), &arg, sizeof(arg));
	memcpy(message + sizeof(request) + sizeof(arg), cmd, sizeof(cmd));
	test_assert(send(fd, message, sizeof(message), 0) == (ssize_t)sizeof(message));
	uint8_t reply[64];
	test_assert(recv(fd, reply, sizeof(reply), 0) == 0);
	struct pollfd pfd = {.fd = event_fd, .events = POLLIN};
	test_assert(poll(&pfd, 1, 5000) == 1);
	test_assert(read(event_fd, reply, sizeof(reply)) == 0);
	close(event_fd);
	close(fd);
	// Other connections carry on.
	test_assert(param(&f, WCP_VIRTGPU_PARAM_CONTEXT_INIT) == 1);
	test_assert(emu_fixture_stop(&f) == 0);
}

static int count_fds(pid_t pid) {
	char path[64];
	test_format(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *dir = opendir(path);
	test_assert(dir != NULL);
	int count = 0;
	while (readdir(dir) != NULL) {
		count++;
	}
	closedir(dir);
	return count;
}

TEST(disconnect_frees_and_reconnect_works) {
	struct wcp_emu_fixture f;
	emu_fixture_start(&f, NULL);
	// The baseline is a bare connection that has answered a request: after
	// sending the hello, the emulator still closes its copy of the event fd
	// and watches the connection (which dups its fd).
	int32_t value;
	test_assert(virtgpu_get_param(f.device, WCP_VIRTGPU_PARAM_CONTEXT_INIT, &value) == 0);
	int baseline = count_fds(f.emu->pid);
	emu_fixture_channel(&f, WCP_CD_CHANNEL_WAYLAND);
	// Give the host side something of everything: items, a read pipe, blobs, a dma-buf.
	int p[2];
	test_assert(pipe2(p, O_CLOEXEC) == 0);
	int memfd = emu_fixture_memfd(4096, 9);
	int fds[2] = {p[1], memfd};
	emu_fixture_host_send(&f, "x", 1, fds, 2);
	close(p[0]);
	close(p[1]);
	close(memfd);
	emu_fixture_poll_event(&f);
	uint32_t id = WCP_CD_PIPE_READ_START + 1, type = WCP_CD_ID_READ_PIPE;
	emu_fixture_send(&f, "r", 1, &id, &type, 1);
	uint8_t byte;
	int n_fds;
	test_assert(emu_fixture_host_recv(&f, &byte, 1, fds, 1, &n_fds, 5000) == 1);
	test_assert(n_fds == 1);
	close(fds[0]);
	uint32_t bo, res;
	// Item 2 is the pipe, 3 the memfd.
	test_assert(virtgpu_create_blob(
			    f.device, WCP_VIRTGPU_BLOB_MEM_HOST3D, 3, 4096, 3, &bo, &res) == 0);
	int dmabuf = virtgpu_prime_handle_to_fd(f.device, bo);
	test_assert(dmabuf >= 0);
	test_assert(virtgpu_gem_close(f.device, bo) == 0);
	close(dmabuf);
	emu_fixture_poll(&f);
	munmap(f.query_ring, WCP_CD_RING_SIZE);
	munmap(f.channel_ring, WCP_CD_RING_SIZE);
	f.query_ring = f.channel_ring = NULL;
	virtgpu_device_destroy(f.device);
	// The emulator closes the host connection of that context.
	test_assert(emu_fixture_host_recv(&f, &byte, 1, fds, 1, &n_fds, 5000) == 0);
	close(f.host);
	f.host = -1;
	char spec[PATH_MAX + 8];
	test_format(spec, sizeof(spec), "emu:%s", f.emu_socket);
	f.device = virtgpu_device_open(spec);
	test_assert(f.device != NULL);
	emu_fixture_channel(&f, WCP_CD_CHANNEL_WAYLAND);
	// Handles restart at 1 in the new file; resource ids go on.
	test_assert(f.query_bo == 1 && f.query_res == 4);
	emu_fixture_send(&f, "x", 1, NULL, NULL, 0);
	test_assert(emu_fixture_host_recv(&f, &byte, 1, fds, 1, &n_fds, 5000) == 1);
	test_assert(byte == 'x');
	munmap(f.query_ring, WCP_CD_RING_SIZE);
	munmap(f.channel_ring, WCP_CD_RING_SIZE);
	f.query_ring = f.channel_ring = NULL;
	close(f.host);
	f.host = -1;
	// Back to one bare connection: the emulator holds no fd of the closed ones.
	virtgpu_device_destroy(f.device);
	f.device = virtgpu_device_open(spec);
	test_assert(f.device != NULL);
	test_assert(virtgpu_get_param(f.device, WCP_VIRTGPU_PARAM_CONTEXT_INIT, &value) == 0);
	long long deadline = proc_now_ms() + 3000;
	while (count_fds(f.emu->pid) != baseline && proc_now_ms() < deadline) {
		proc_sleep_ms(10);
	}
	test_assert(count_fds(f.emu->pid) == baseline);
	test_assert(emu_fixture_stop(&f) == 0);
}

TEST(sigterm_exits_cleanly_and_removes_the_socket) {
	struct wcp_emu_fixture f;
	emu_fixture_start(&f, NULL);
	emu_fixture_channel(&f, WCP_CD_CHANNEL_WAYLAND);
	char path[PATH_MAX];
	test_format(path, sizeof(path), "%s", f.emu_socket);
	test_assert(emu_fixture_stop(&f) == 0);
	test_assert(access(path, F_OK) != 0);
}

TEST(a_second_emulator_on_the_same_path_is_refused) {
	struct wcp_emu_fixture f;
	emu_fixture_start(&f, NULL);
	const char *argv[] = {getenv("WCP_EMU"), "--listen", f.emu_socket, "--wayland-display",
		f.host_socket, NULL};
	char *out = NULL;
	test_assert(proc_run_capture(argv, NULL, 10000, &out) == 1);
	free(out);
	test_assert(param(&f, WCP_VIRTGPU_PARAM_CONTEXT_INIT) == 1);
	test_assert(emu_fixture_stop(&f) == 0);
	// A stale socket (nobody listening) is replaced.
	int stale = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	memcpy(addr.sun_path, f.emu_socket, strlen(f.emu_socket) + 1);
	test_assert(bind(stale, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	close(stale);
	struct wcp_proc *emu = proc_spawn(argv, NULL);
	test_assert(emu != NULL);
	long long deadline = proc_now_ms() + 10000;
	int fd = -1;
	while (fd < 0 && proc_now_ms() < deadline) {
		fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
			close(fd);
			fd = -1;
			proc_sleep_ms(10);
		}
	}
	test_assert(fd >= 0);
	close(fd);
	test_assert(proc_stop(emu, WCP_PROC_GRACE_MS) == 0);
}

int main(int argc, char *argv[]) {
	return test_main(argc, argv);
}
