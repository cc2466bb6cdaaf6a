/*
 * The bridge and the channel under it, against wl-cross-emu: a local
 * socket on the guest side, a fake host (or a real weston) on the other.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <wayland-server-core.h>

#include "emu_fixture.h"
#include "log.h"
#include "proc.h"
#include "test.h"
#include "util/fdpass.h"
#include "virtgpu/bridge.h"
#include "weston.h"
#include "wlinfo.h"

struct peer {
	struct wcp_cd_bridge *bridge;
	int fd; // the guest-side end
	bool closed;
	char reason[128];
};

static void handle_bridge_closed(void *data, const char *reason) {
	struct peer *peer = data;
	peer->closed = true;
	snprintf(peer->reason, sizeof(peer->reason), "%s", reason);
}

static const struct wcp_cd_bridge_listener bridge_listener = {
	.closed = handle_bridge_closed,
};

/* The open bridges: the loop flushes them before it sleeps, as the proxy does. */
static struct peer *open_peers[32];

static void peer_open(struct peer *peer, struct wl_event_loop *loop, struct wcp_emu_fixture *emu) {
	*peer = (struct peer){.fd = -1};
	size_t slot = 0;
	while (slot < sizeof(open_peers) / sizeof(open_peers[0]) && open_peers[slot] != NULL) {
		slot++;
	}
	test_assert(slot < sizeof(open_peers) / sizeof(open_peers[0]));
	open_peers[slot] = peer;
	struct wcp_virtgpu_device *device = virtgpu_device_open(emu->spec);
	test_assert(device != NULL);
	peer->bridge = bridge_create(
		loop, device, WCP_CD_CHANNEL_WAYLAND, &bridge_listener, peer, &peer->fd);
	test_assert(peer->bridge != NULL);
}

static void peer_close(struct peer *peer) {
	for (size_t i = 0; i < sizeof(open_peers) / sizeof(open_peers[0]); i++) {
		if (open_peers[i] == peer) {
			open_peers[i] = NULL;
		}
	}
	bridge_destroy(peer->bridge);
	close(peer->fd);
}

static void pump(struct wl_event_loop *loop, int ms) {
	for (size_t i = 0; i < sizeof(open_peers) / sizeof(open_peers[0]); i++) {
		if (open_peers[i] != NULL) {
			bridge_flush(open_peers[i]->bridge);
		}
	}
	wl_event_loop_dispatch(loop, ms);
}

/** Accepts the emulator's connection to the fake host, running the loop meanwhile. */
static int host_accept(struct wcp_emu_fixture *emu, struct wl_event_loop *loop) {
	long long deadline = proc_now_ms() + 5000;
	for (;;) {
		int fd = accept4(emu->listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0) {
			return fd;
		}
		test_assert(errno == EAGAIN && proc_now_ms() < deadline);
		pump(loop, 5);
	}
}

/** Receives exactly len bytes (and any fds) on fd, running the loop meanwhile. */
static void recv_exact(
	int fd, struct wl_event_loop *loop, uint8_t *buf, size_t len, int *fds, size_t *fd_count) {
	size_t got = 0;
	if (fd_count != NULL) {
		*fd_count = 0;
	}
	long long deadline = proc_now_ms() + 10000;
	while (got < len) {
		struct iovec iov = {buf + got, len - got};
		int received[WCP_FDPASS_MAX_FDS];
		size_t count;
		ssize_t n = fdpass_recv(
			fd, &iov, 1, received, WCP_FDPASS_MAX_FDS, &count, MSG_DONTWAIT, NULL);
		if (n < 0 && errno == EAGAIN) {
			test_assert(proc_now_ms() < deadline);
			pump(loop, 5);
			continue;
		}
		test_assert(n > 0);
		for (size_t i = 0; i < count; i++) {
			test_assert(fds != NULL && *fd_count < WCP_FDPASS_MAX_FDS);
			fds[(*fd_count)++] = received[i];
		}
		got += (size_t)n;
	}
}

static void send_with_fd(int sock, const void *bytes, size_t len, int fd) {
	struct iovec iov = {(void *)bytes, len};
	test_assert(fdpass_send(sock, &iov, 1, &fd, fd >= 0 ? 1 : 0, 0) == (ssize_t)len);
}

/** Waits until fd reaches EOF, running the loop meanwhile. */
static void expect_eof(int fd, struct wl_event_loop *loop) {
	long long deadline = proc_now_ms() + 10000;
	for (;;) {
		char c;
		ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
		if (n == 0) {
			return;
		}
		test_assert(n < 0 && errno == EAGAIN && proc_now_ms() < deadline);
		pump(loop, 5);
	}
}

/** One bridge over wl-cross-emu, with the fake host's end of its connection. */
struct bridge_test {
	struct wl_event_loop *loop;
	struct wcp_emu_fixture emu;
	struct peer peer;
	int host; // -1 once closed
};

static void bridge_test_start(struct bridge_test *t) {
	t->loop = wl_event_loop_create();
	emu_fixture_spawn(&t->emu, NULL, NULL);
	fcntl(t->emu.listener, F_SETFL, O_NONBLOCK);
	peer_open(&t->peer, t->loop, &t->emu);
	t->host = host_accept(&t->emu, t->loop);
}

static void bridge_test_stop(struct bridge_test *t) {
	if (t->host >= 0) {
		close(t->host);
	}
	peer_close(&t->peer);
	test_assert(emu_fixture_stop(&t->emu) == 0);
	wl_event_loop_destroy(t->loop);
}

TEST(bytes_cross_both_ways) {
	struct bridge_test t;
	bridge_test_start(&t);
	struct wl_event_loop *loop = t.loop;
	int host = t.host;

	send_with_fd(t.peer.fd, "hello host", 10, -1);
	uint8_t buf[16];
	recv_exact(host, loop, buf, 10, NULL, NULL);
	test_assert(memcmp(buf, "hello host", 10) == 0);
	send_with_fd(host, "hello guest", 11, -1);
	recv_exact(t.peer.fd, loop, buf, 11, NULL, NULL);
	test_assert(memcmp(buf, "hello guest", 11) == 0);

	close(host);
	t.host = -1;
	expect_eof(t.peer.fd, loop);
	test_assert(t.peer.closed);
	bridge_test_stop(&t);
}

TEST(device_lost_before_the_next_poll_closes_the_bridge) {
	struct bridge_test t;
	bridge_test_start(&t);
	send_with_fd(t.host, "hello guest", 11, -1);
	uint8_t buf[16];
	recv_exact(t.peer.fd, t.loop, buf, 11, NULL, NULL);
	// The event is passed on and its POLL owed: the device goes before it.
	test_assert(proc_stop(t.emu.emu, WCP_PROC_GRACE_MS) == 0);
	t.emu.emu = NULL;
	test_assert(!t.peer.closed);
	// The flush alone, without the loop's look at the device's events,
	// finds the device gone and ends the channel for its user.
	bridge_flush(t.peer.bridge);
	test_assert(t.peer.closed);
	expect_eof(t.peer.fd, t.loop);
	// Flushing a channel that has failed submits nothing more.
	bridge_flush(t.peer.bridge);
	close(t.host);
	peer_close(&t.peer);
	emu_fixture_stop(&t.emu);
	wl_event_loop_destroy(t.loop);
}

TEST(large_messages_keep_their_bytes) {
	struct bridge_test t;
	bridge_test_start(&t);
	struct wl_event_loop *loop = t.loop;
	int host = t.host;

	// Larger than one RECEIVE (3744 bytes) and than one SEND read (16 KiB).
	size_t len = 100000;
	uint8_t *out = malloc(len), *in = malloc(len);
	for (size_t i = 0; i < len; i++) {
		out[i] = (uint8_t)(i * 7 + i / 251);
	}
	size_t sent = 0;
	while (sent < len) {
		ssize_t n = send(host, out + sent, len - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			sent += (size_t)n;
		}
		pump(loop, 1);
	}
	recv_exact(t.peer.fd, loop, in, len, NULL, NULL);
	test_assert(memcmp(in, out, len) == 0);

	sent = 0;
	while (sent < len) {
		ssize_t n = send(t.peer.fd, out + sent, len - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			sent += (size_t)n;
		}
		pump(loop, 1);
	}
	recv_exact(host, loop, in, len, NULL, NULL);
	test_assert(memcmp(in, out, len) == 0);
	free(out);
	free(in);
	bridge_test_stop(&t);
}

TEST(host_memory_arrives_as_a_mappable_fd) {
	struct bridge_test t;
	bridge_test_start(&t);
	struct wl_event_loop *loop = t.loop;
	int host = t.host;

	int memfd = memfd_create("keymap", MFD_CLOEXEC);
	test_assert(memfd >= 0 && ftruncate(memfd, 10000) == 0);
	char *host_map = mmap(NULL, 10000, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	test_assert(host_map != MAP_FAILED);
	memcpy(host_map + 9000, "xkb_keymap", 10);
	send_with_fd(host, "K", 1, memfd);
	close(memfd);

	uint8_t byte;
	int fds[28];
	size_t count;
	recv_exact(t.peer.fd, loop, &byte, 1, fds, &count);
	test_assert(byte == 'K' && count == 1);
	off_t size = lseek(fds[0], 0, SEEK_END);
	test_assert(size >= 10000);
	char *guest_map = mmap(NULL, 10000, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	test_assert(guest_map != MAP_FAILED);
	test_assert(memcmp(guest_map + 9000, "xkb_keymap", 10) == 0);
	// One memory: what the guest writes, the host sees.
	memcpy(guest_map, "guest", 5);
	test_assert(memcmp(host_map, "guest", 5) == 0);
	munmap(guest_map, 10000);
	munmap(host_map, 10000);
	close(fds[0]);
	bridge_test_stop(&t);
}

static uint8_t *pattern_bytes(size_t len) {
	uint8_t *data = malloc(len);
	test_assert(data != NULL);
	uint32_t x = 12345;
	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		data[i] = (uint8_t)(x >> 16);
	}
	return data;
}

/**
 * Writes `len` bytes into `writer` and closes it, while reading `reader` to
 * EOF and running the loop; the reader must get exactly what was written.
 * The reader reads only while the writer is `behind` bytes ahead or more,
 * or done.
 */
static void copy_through(
	int writer, int reader, size_t len, size_t behind, struct wl_event_loop *loop) {
	uint8_t *data = pattern_bytes(len);
	uint8_t *got = malloc(len + 1);
	test_assert(got != NULL);
	fcntl(writer, F_SETFL, O_NONBLOCK);
	fcntl(reader, F_SETFL, O_NONBLOCK);
	size_t written = 0, read_len = 0;
	bool writer_open = true;
	long long deadline = proc_now_ms() + 100000;
	for (;;) {
		if (writer_open && written < len) {
			ssize_t n = write(writer, data + written, len - written);
			if (n > 0) {
				written += (size_t)n;
			}
		}
		if (writer_open && written == len) {
			close(writer);
			writer_open = false;
		}
		if (writer_open && written - read_len < behind) {
			test_assert(proc_now_ms() < deadline);
			pump(loop, 0);
			continue;
		}
		ssize_t n = read(reader, got + read_len, len + 1 - read_len);
		if (n == 0) {
			break;
		}
		if (n > 0) {
			read_len += (size_t)n;
			test_assert(read_len <= len);
		}
		test_assert(proc_now_ms() < deadline);
		pump(loop, n > 0 ? 0 : 1);
	}
	test_assert(read_len == len && memcmp(got, data, len) == 0);
	close(reader);
	free(got);
	free(data);
}

#define PIPE_BYTES (16u * 1024u * 1024u)

TEST_OPTS(host_fills_a_guest_pipe, .timeout_s = 120) {
	struct bridge_test t;
	bridge_test_start(&t);
	struct wl_event_loop *loop = t.loop;
	int host = t.host;

	// As wl_data_offer.receive: the guest passes a write end for the host to fill.
	int ends[2];
	test_assert(pipe2(ends, O_CLOEXEC) == 0);
	send_with_fd(t.peer.fd, "R", 1, ends[1]);
	close(ends[1]);
	uint8_t byte;
	int fds[28];
	size_t count;
	recv_exact(host, loop, &byte, 1, fds, &count);
	test_assert(byte == 'R' && count == 1);

	// The host's writer runs in this process too, interleaved with the loop.
	copy_through(fds[0], ends[0], PIPE_BYTES, 0, loop);
	bridge_test_stop(&t);
}

TEST_OPTS(a_guest_pipe_read_far_behind_gets_every_byte, .timeout_s = 120) {
	struct bridge_test t;
	bridge_test_start(&t);
	struct wl_event_loop *loop = t.loop;

	int ends[2];
	test_assert(pipe2(ends, O_CLOEXEC) == 0);
	send_with_fd(t.peer.fd, "R", 1, ends[1]);
	close(ends[1]);
	uint8_t byte;
	int fds[28];
	size_t count;
	recv_exact(t.host, loop, &byte, 1, fds, &count);
	test_assert(byte == 'R' && count == 1);

	// Megabytes wait in the proxy for the reader, and more come while it
	// takes them.
	copy_through(fds[0], ends[0], PIPE_BYTES, PIPE_BYTES / 4, loop);
	bridge_test_stop(&t);
}

TEST(pipes_of_one_flush_each_reach_their_own_host_pipe) {
	struct bridge_test t;
	bridge_test_start(&t);
	struct wl_event_loop *loop = t.loop;

	// As wl_data_offer.receive three times in one flush: the host takes
	// one read pipe a SEND.
	enum { PIPES = 3 };
	int readers[PIPES], writers[PIPES];
	for (size_t i = 0; i < PIPES; i++) {
		int ends[2];
		test_assert(pipe2(ends, O_CLOEXEC) == 0);
		readers[i] = ends[0];
		writers[i] = ends[1];
	}
	static const char bytes[] = "three requests that each pass a pipe";
	struct iovec iov = {(void *)bytes, sizeof(bytes)};
	test_assert(fdpass_send(t.peer.fd, &iov, 1, writers, PIPES, 0) == (ssize_t)sizeof(bytes));
	for (size_t i = 0; i < PIPES; i++) {
		close(writers[i]);
	}
	uint8_t got[sizeof(bytes)];
	int fds[28];
	size_t count;
	recv_exact(t.host, loop, got, sizeof(got), fds, &count);
	test_assert(count == PIPES && memcmp(got, bytes, sizeof(bytes)) == 0);

	// Each host end fills its own guest pipe: the lengths tell them apart.
	for (size_t i = 0; i < PIPES; i++) {
		copy_through(fds[i], readers[i], 1000 * (i + 1), 0, loop);
	}
	test_assert(!t.peer.closed);
	bridge_test_stop(&t);
}

TEST_OPTS(guest_fills_a_host_pipe, .timeout_s = 120) {
	struct bridge_test t;
	bridge_test_start(&t);
	struct wl_event_loop *loop = t.loop;
	int host = t.host;

	// As wl_data_source.send: the host passes a write end for the guest to fill.
	int ends[2];
	test_assert(pipe2(ends, O_CLOEXEC) == 0);
	send_with_fd(host, "S", 1, ends[1]);
	close(ends[1]);
	uint8_t byte;
	int fds[28];
	size_t count;
	recv_exact(t.peer.fd, loop, &byte, 1, fds, &count);
	test_assert(byte == 'S' && count == 1);

	copy_through(fds[0], ends[0], PIPE_BYTES, 0, loop);
	bridge_test_stop(&t);
}

TEST(device_buffer_crosses_as_its_resource) {
	struct bridge_test t;
	bridge_test_start(&t);
	struct wl_event_loop *loop = t.loop;
	int host = t.host;
	struct wcp_cd_channel *channel = bridge_channel(t.peer.bridge);

	// A host-visible buffer of this device, as a guest GPU client has one.
	const uint32_t xrgb8888 = 0x34325258;
	struct wcp_cd_image_requirements reqs;
	test_assert(channel_image_requirements(
		channel, 64, 64, xrgb8888, WCP_CD_FLAG_LINEAR | WCP_CD_FLAG_SCANOUT, &reqs));
	int buffer = channel_blob_fd(channel, reqs.blob_id, reqs.size);
	test_assert(buffer >= 0);
	uint8_t *guest = mmap(NULL, reqs.size, PROT_READ | PROT_WRITE, MAP_SHARED, buffer, 0);
	test_assert(guest != MAP_FAILED);
	memcpy(guest, "pixels", 6);

	// Two planes of one buffer: the same fd twice, both the same resource.
	int planes[2] = {buffer, buffer};
	struct iovec iov = {"D", 1};
	test_assert(fdpass_send(t.peer.fd, &iov, 1, planes, 2, 0) == 1);
	uint8_t byte;
	int fds[28];
	size_t count;
	recv_exact(host, loop, &byte, 1, fds, &count);
	test_assert(byte == 'D' && count == 2);
	// The host gets the buffer's own memory for both.
	for (size_t i = 0; i < 2; i++) {
		uint8_t *host_map =
			mmap(NULL, reqs.size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[i], 0);
		test_assert(host_map != MAP_FAILED);
		test_assert(memcmp(host_map, "pixels", 6) == 0);
		host_map[i + 10] = 0xab;
		test_assert(guest[i + 10] == 0xab);
		munmap(host_map, reqs.size);
		close(fds[i]);
	}
	// The import's handle is gone after the SEND, and the bridge still works.
	test_assert(!t.peer.closed);
	send_with_fd(t.peer.fd, "after", 5, -1);
	uint8_t buf[5];
	recv_exact(host, loop, buf, 5, NULL, NULL);
	test_assert(memcmp(buf, "after", 5) == 0);

	munmap(guest, reqs.size);
	close(buffer);
	bridge_test_stop(&t);
}

TEST(guest_memory_fd_is_refused) {
	struct bridge_test t;
	bridge_test_start(&t);
	struct wl_event_loop *loop = t.loop;
	int host = t.host;

	// Guest shm is not host memory: it cannot be sent, and says why.
	int memfd = memfd_create("shm", MFD_CLOEXEC);
	test_assert(memfd >= 0 && ftruncate(memfd, 4096) == 0);
	send_with_fd(t.peer.fd, "M", 1, memfd);
	close(memfd);
	expect_eof(t.peer.fd, loop);
	test_assert(t.peer.closed);
	test_assert(strstr(t.peer.reason, "could not be sent") != NULL);
	// Nothing of it reached the host.
	char c;
	test_assert(recv(host, &c, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN);
	bridge_test_stop(&t);
}

/*
 * A buffer of the device itself, but in guest memory (as a guest GPU driver
 * may make one): the host has no memory behind it and would drop the
 * whole SEND that names it, unannounced. The bridge refuses it and says
 * why, as it does guest shm.
 */
TEST(device_buffer_in_guest_memory_is_refused) {
	struct bridge_test t;
	bridge_test_start(&t);
	struct wcp_virtgpu_device *device = bridge_channel(t.peer.bridge)->device;
	uint32_t bo, res;
	test_assert(virtgpu_create_blob(device, WCP_VIRTGPU_BLOB_MEM_GUEST,
			    WCP_VIRTGPU_BLOB_FLAG_USE_MAPPABLE, 4096, 0, &bo, &res) == 0);
	int buffer = virtgpu_prime_handle_to_fd(device, bo);
	test_assert(buffer >= 0);
	send_with_fd(t.peer.fd, "G", 1, buffer);
	close(buffer);
	expect_eof(t.peer.fd, t.loop);
	test_assert(t.peer.closed);
	test_assert(strstr(t.peer.reason, "could not be sent") != NULL);
	char c;
	test_assert(recv(t.host, &c, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN);
	bridge_test_stop(&t);
}

TEST(image_requirements_are_cached) {
	struct bridge_test t;
	bridge_test_start(&t);
	struct wcp_cd_channel *channel = bridge_channel(t.peer.bridge);

	// 'XR24', linear: 256 pixels of 4 bytes a row.
	const uint32_t xrgb8888 = 0x34325258;
	struct wcp_cd_image_requirements a, b, c;
	test_assert(channel_image_requirements(
		channel, 256, 256, xrgb8888, WCP_CD_FLAG_LINEAR | WCP_CD_FLAG_SCANOUT, &a));
	test_assert(a.strides[0] == 1024 && a.size == 262144 && a.blob_id != 0);
	// The same query again is answered from the cache: the same template.
	test_assert(channel_image_requirements(
		channel, 256, 256, xrgb8888, WCP_CD_FLAG_LINEAR | WCP_CD_FLAG_SCANOUT, &b));
	test_assert(memcmp(&a, &b, sizeof(a)) == 0);
	// Another size is a new query and a new template.
	test_assert(channel_image_requirements(
		channel, 64, 32, xrgb8888, WCP_CD_FLAG_LINEAR | WCP_CD_FLAG_SCANOUT, &c));
	test_assert(c.blob_id != a.blob_id && c.strides[0] == 256 && c.size == 8192);
	// A format the host cannot allocate fails, not answered by the last reply.
	test_assert(!channel_image_requirements(
		channel, 64, 64, 0x3231564e, WCP_CD_FLAG_LINEAR | WCP_CD_FLAG_SCANOUT, &b));
	// A template makes any number of blobs.
	for (int i = 0; i < 2; i++) {
		int fd = channel_blob_fd(channel, a.blob_id, a.size);
		test_assert(fd >= 0);
		test_assert(lseek(fd, 0, SEEK_END) >= (off_t)a.size);
		close(fd);
	}
	bridge_test_stop(&t);
}

#define CONTEXTS 32

TEST(thirty_two_contexts_at_once) {
	struct wl_event_loop *loop = wl_event_loop_create();
	struct wcp_emu_fixture emu;
	emu_fixture_spawn(&emu, NULL, NULL);
	fcntl(emu.listener, F_SETFL, O_NONBLOCK);
	static struct peer peers[CONTEXTS];
	int hosts[CONTEXTS];
	for (int i = 0; i < CONTEXTS; i++) {
		peer_open(&peers[i], loop, &emu);
		hosts[i] = host_accept(&emu, loop);
	}
	// Connections are accepted in INIT order, which is creation order.
	for (int i = 0; i < CONTEXTS; i++) {
		char msg[16];
		int len = snprintf(msg, sizeof(msg), "ping %02d", i);
		send_with_fd(peers[i].fd, msg, (size_t)len, -1);
	}
	for (int i = 0; i < CONTEXTS; i++) {
		char want[16], got[16] = {0};
		int len = snprintf(want, sizeof(want), "ping %02d", i);
		recv_exact(hosts[i], loop, (uint8_t *)got, (size_t)len, NULL, NULL);
		test_assert(memcmp(got, want, (size_t)len) == 0);
		len = snprintf(want, sizeof(want), "pong %02d", i);
		send_with_fd(hosts[i], want, (size_t)len, -1);
	}
	for (int i = 0; i < CONTEXTS; i++) {
		char want[16], got[16] = {0};
		int len = snprintf(want, sizeof(want), "pong %02d", i);
		recv_exact(peers[i].fd, loop, (uint8_t *)got, (size_t)len, NULL, NULL);
		test_assert(memcmp(got, want, (size_t)len) == 0);
	}
	for (int i = 0; i < CONTEXTS; i++) {
		close(hosts[i]);
		peer_close(&peers[i]);
	}
	test_assert(emu_fixture_stop(&emu) == 0);
	wl_event_loop_destroy(loop);
}

TEST(wayland_info_sees_the_same_globals) {
	if (!proc_have_program("wayland-info")) {
		test_skip("wayland-info is not installed (Debian package wayland-utils)");
	}
	struct wcp_weston *weston = weston_start(NULL);
	char direct[PATH_MAX], bridged[PATH_MAX];
	test_format(direct, sizeof(direct), "%s/direct.txt", weston->runtime_dir);
	test_format(bridged, sizeof(bridged), "%s/bridged.txt", weston->runtime_dir);
	const char *argv[] = {"wayland-info", NULL};
	const char *env[] = {weston->env_display, NULL};
	struct wcp_proc *info =
		proc_spawn(argv, &(struct wcp_proc_opts){.env = env, .output = direct});
	test_assert(info != NULL && proc_wait(info, 10000));
	test_assert(proc_stop(info, 0) == 0);

	struct wl_event_loop *loop = wl_event_loop_create();
	struct wcp_emu_fixture emu;
	char display[PATH_MAX + 64];
	test_format(display, sizeof(display), "%s/%s", weston->runtime_dir, weston->socket);
	emu_fixture_spawn(&emu, display, NULL);
	struct peer peer;
	peer_open(&peer, loop, &emu);
	char socket_env[32];
	test_format(socket_env, sizeof(socket_env), "WAYLAND_SOCKET=%d", peer.fd);
	const char *env_bridged[] = {socket_env, NULL};
	info = proc_spawn(argv,
		&(struct wcp_proc_opts){.env = env_bridged, .output = bridged, .pass_fd = peer.fd});
	test_assert(info != NULL);
	long long deadline = proc_now_ms() + 10000;
	while (proc_alive(info)) {
		test_assert(proc_now_ms() < deadline);
		pump(loop, 5);
	}
	test_assert(proc_stop(info, 0) == 0);

	char *want = wlinfo_parse_file(direct), *got = wlinfo_parse_file(bridged);
	test_log("globals through the bridge:\n%s", got);
	test_assert(strstr(want, "wl_compositor") != NULL);
	test_assert(strcmp(want, got) == 0);
	free(want);
	free(got);
	peer_close(&peer);
	test_assert(emu_fixture_stop(&emu) == 0);
	wl_event_loop_destroy(loop);
	weston_stop(weston);
}

int main(int argc, char *argv[]) {
	log_init("test", WCP_ERROR);
	return test_main(argc, argv);
}
