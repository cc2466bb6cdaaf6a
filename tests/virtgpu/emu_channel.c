/* wl-cross-emu's cross-domain host: the Wayland channel, pipes, host items, images. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emu_fixture.h"
#include "test.h"

static struct wcp_cd_send_receive channel_receive(struct wcp_emu_fixture *f) {
	struct wcp_cd_send_receive receive;
	memcpy(&receive, f->channel_ring, sizeof(receive));
	test_assert(receive.hdr.cmd == WCP_CD_CMD_RECEIVE);
	return receive;
}

static void assert_host_gets(struct wcp_emu_fixture *f, const void *data, size_t size) {
	uint8_t buf[4096];
	int fds[4], n_fds;
	size_t got = 0;
	while (got < size) {
		long n = emu_fixture_host_recv(
			f, buf + got, sizeof(buf) - got, fds, 4, &n_fds, 5000);
		test_assert(n > 0 && n_fds == 0);
		got += (size_t)n;
	}
	test_assert(got == size && memcmp(buf, data, size) == 0);
}

static void assert_host_gets_nothing(struct wcp_emu_fixture *f) {
	uint8_t buf[16];
	int fds[4], n_fds;
	test_assert(emu_fixture_host_recv(f, buf, sizeof(buf), fds, 4, &n_fds, 300) == -1);
}

TEST(init_connects_and_send_arrives_exactly) {
	struct wcp_emu_fixture f;
	emu_fixture_start(&f, NULL);
	emu_fixture_channel(&f, WCP_CD_CHANNEL_WAYLAND);
	static const char hello[] = "wl_display@1.get_registry";
	emu_fixture_send(&f, hello, sizeof(hello), NULL, NULL, 0);
	assert_host_gets(&f, hello, sizeof(hello));
	// Two commands in one submission are processed in order.
	uint8_t two[2 * sizeof(struct wcp_cd_send_receive) + 2] = {0};
	struct wcp_cd_send_receive send = {
		.hdr = {.cmd = WCP_CD_CMD_SEND, .cmd_size = sizeof(send) + 1},
		.opaque_data_size = 1,
	};
	memcpy(two, &send, sizeof(send));
	two[sizeof(send)] = 'a';
	memcpy(two + sizeof(send) + 1, &send, sizeof(send));
	two[2 * sizeof(send) + 1] = 'b';
	emu_fixture_submit(&f, two, sizeof(two), WCP_VIRTGPU_RING_NONE);
	assert_host_gets(&f, "ab", 2);
	// A cmd_size beyond the submission drops that command and the rest.
	send.hdr.cmd_size = sizeof(send) + 100;
	memcpy(two + sizeof(send) + 1, &send, sizeof(send));
	emu_fixture_submit(&f, two, sizeof(two), WCP_VIRTGPU_RING_NONE);
	assert_host_gets(&f, "a", 1);
	assert_host_gets_nothing(&f);
	// More than 28 identifiers: dropped.
	uint32_t ids[WCP_CD_MAX_IDENTIFIERS] = {0}, types[WCP_CD_MAX_IDENTIFIERS] = {0};
	uint8_t cmd[sizeof(struct wcp_cd_send_receive) + 1] = {0};
	send = (struct wcp_cd_send_receive){
		.hdr = {.cmd = WCP_CD_CMD_SEND, .cmd_size = sizeof(cmd)},
		.num_identifiers = 29,
		.opaque_data_size = 1,
	};
	memcpy(cmd, &send, sizeof(send));
	emu_fixture_submit(&f, cmd, sizeof(cmd), WCP_VIRTGPU_RING_NONE);
	(void)ids;
	(void)types;
	assert_host_gets_nothing(&f);
	test_assert(emu_fixture_stop(&f) == 0);
}

TEST(init_sizes_as_rutabaga_takes_them) {
	struct wcp_emu_fixture f;
	emu_fixture_start(&f, NULL);
	emu_fixture_channel(&f, WCP_CD_CHANNEL_NONE);
	// 24 bytes (libkrun's form) is rejected: no connection.
	uint32_t init[9] = {WCP_CD_CMD_INIT | 24u << 16, 0, f.query_res, f.channel_res,
		WCP_CD_CHANNEL_WAYLAND, 1};
	emu_fixture_submit(&f, init, 24, WCP_VIRTGPU_RING_NONE);
	struct pollfd pfd = {.fd = f.listener, .events = POLLIN};
	test_assert(poll(&pfd, 1, 300) == 0);
	// The legacy 16-byte form: channel_type at 12, one page for both rings.
	init[0] = WCP_CD_CMD_INIT | 16u << 16;
	init[3] = WCP_CD_CHANNEL_WAYLAND;
	emu_fixture_submit(&f, init, 16, WCP_VIRTGPU_RING_NONE);
	test_assert(poll(&pfd, 1, 5000) == 1);
	f.host = accept4(f.listener, NULL, NULL, SOCK_CLOEXEC);
	test_assert(f.host >= 0);
	emu_fixture_host_send(&f, "legacy", 6, NULL, 0);
	emu_fixture_poll_event(&f);
	struct wcp_cd_send_receive receive;
	memcpy(&receive, f.query_ring, sizeof(receive));
	test_assert(receive.hdr.cmd == WCP_CD_CMD_RECEIVE && receive.opaque_data_size == 6);
	// A second channel on the same context is rejected (36-byte form).
	init[0] = WCP_CD_CMD_INIT | 36u << 16;
	init[3] = f.channel_res;
	init[4] = WCP_CD_CHANNEL_WAYLAND;
	emu_fixture_submit(&f, init, 36, WCP_VIRTGPU_RING_NONE);
	test_assert(poll(&pfd, 1, 300) == 0);
	test_assert(emu_fixture_stop(&f) == 0);
}

TEST(relative_display_is_in_xdg_runtime_dir) {
	struct wcp_emu_fixture f;
	emu_fixture_start(&f, (const char *const[]){"--wayland-display", "host.sock", NULL});
	emu_fixture_channel(&f, WCP_CD_CHANNEL_WAYLAND);
	emu_fixture_send(&f, "hi", 2, NULL, NULL, 0);
	assert_host_gets(&f, "hi", 2);
	test_assert(emu_fixture_stop(&f) == 0);
}

TEST(received_memfd_becomes_a_shared_blob) {
	struct wcp_emu_fixture f;
	emu_fixture_start(&f, NULL);
	emu_fixture_channel(&f, WCP_CD_CHANNEL_WAYLAND);
	int memfd = emu_fixture_memfd(8192, 0xab);
	emu_fixture_host_send(&f, "keymap", 6, &memfd, 1);
	emu_fixture_poll_event(&f);
	struct wcp_cd_send_receive receive = channel_receive(&f);
	test_assert(receive.num_identifiers == 1);
	test_assert(receive.identifier_types[0] == WCP_CD_ID_VIRTGPU_BLOB);
	test_assert(receive.identifiers[0] == 2); // host item ids start at 2
	test_assert(receive.identifier_sizes[0] == 8192);
	test_assert(receive.opaque_data_size == 6);
	test_assert(memcmp(f.channel_ring + sizeof(receive), "keymap", 6) == 0);

	uint32_t bo, res;
	// The host refuses a size that is not the item's, without using the item up.
	test_assert(virtgpu_create_blob(f.device, WCP_VIRTGPU_BLOB_MEM_HOST3D, 3, 4096,
			    receive.identifiers[0], &bo, &res) == -EINVAL);
	test_assert(virtgpu_create_blob(f.device, WCP_VIRTGPU_BLOB_MEM_HOST3D, 3, 8192,
			    receive.identifiers[0], &bo, &res) == 0);
	uint8_t *ptr = virtgpu_map(f.device, bo, 8192);
	test_assert(ptr != NULL);
	test_assert(ptr[0] == 0xab && ptr[8191] == 0xab);
	ptr[100] = 0x11;
	uint8_t byte;
	test_assert(pread(memfd, &byte, 1, 100) == 1 && byte == 0x11);
	munmap(ptr, 8192);
	// Single use.
	uint32_t bo2, res2;
	test_assert(virtgpu_create_blob(f.device, WCP_VIRTGPU_BLOB_MEM_HOST3D, 3, 8192,
			    receive.identifiers[0], &bo2, &res2) == -EINVAL);
	close(memfd);
	test_assert(emu_fixture_stop(&f) == 0);
}

TEST(one_event_per_poll) {
	struct wcp_emu_fixture f;
	emu_fixture_start(&f, NULL);
	emu_fixture_channel(&f, WCP_CD_CHANNEL_WAYLAND);
	// fds end a stream read, so these stay two messages.
	int a = emu_fixture_memfd(4096, 1), b = emu_fixture_memfd(4096, 2);
	emu_fixture_host_send(&f, "one", 3, &a, 1);
	emu_fixture_host_send(&f, "two", 3, &b, 1);
	close(a);
	close(b);
	emu_fixture_poll_event(&f);
	struct wcp_cd_send_receive receive = channel_receive(&f);
	test_assert(receive.opaque_data_size == 3 && receive.num_identifiers == 1);
	test_assert(memcmp(f.channel_ring + sizeof(receive), "one", 3) == 0);
	test_assert(!emu_fixture_event(&f, 300));
	emu_fixture_poll_event(&f);
	receive = channel_receive(&f);
	test_assert(receive.opaque_data_size == 3 && receive.identifiers[0] == 3);
	test_assert(memcmp(f.channel_ring + sizeof(receive), "two", 3) == 0);
	// A POLL with nothing to report waits, until something comes.
	emu_fixture_poll(&f);
	test_assert(!emu_fixture_event(&f, 300));
	emu_fixture_host_send(&f, "three", 5, NULL, 0);
	test_assert(emu_fixture_event(&f, 5000));
	receive = channel_receive(&f);
	test_assert(receive.opaque_data_size == 5 && receive.num_identifiers == 0);
	test_assert(memcmp(f.channel_ring + sizeof(receive), "three", 5) == 0);
	test_assert(emu_fixture_stop(&f) == 0);
}

TEST(receive_payload_is_at_most_3744_bytes) {
	struct wcp_emu_fixture f;
	emu_fixture_start(&f, NULL);
	emu_fixture_channel(&f, WCP_CD_CHANNEL_WAYLAND);
	enum { TOTAL = 10000 };
	uint8_t *sent = malloc(TOTAL), *got = malloc(TOTAL);
	test_assert(sent != NULL && got != NULL);
	for (size_t i = 0; i < TOTAL; i++) {
		sent[i] = (uint8_t)(i * 7 + i / 256);
	}
	emu_fixture_host_send(&f, sent, TOTAL, NULL, 0);
	size_t have = 0;
	int receives = 0;
	while (have < TOTAL) {
		emu_fixture_poll_event(&f);
		struct wcp_cd_send_receive receive = channel_receive(&f);
		test_assert(receive.num_identifiers == 0);
		test_assert(receive.opaque_data_size > 0);
		test_assert(receive.opaque_data_size <= WCP_CD_MAX_RECEIVE_DATA);
		test_assert(have + receive.opaque_data_size <= TOTAL);
		memcpy(got + have, f.channel_ring + sizeof(receive), receive.opaque_data_size);
		have += receive.opaque_data_size;
		receives++;
	}
	test_assert(receives >= 3);
	test_assert(memcmp(sent, got, TOTAL) == 0);
	free(sent);
	free(got);
	test_assert(emu_fixture_stop(&f) == 0);
}

TEST(host_eof_is_one_empty_receive) {
	struct wcp_emu_fixture f;
	emu_fixture_start(&f, NULL);
	emu_fixture_channel(&f, WCP_CD_CHANNEL_WAYLAND);
	close(f.host);
	f.host = -1;
	memset(f.channel_ring, 0xff, WCP_CD_RING_SIZE);
	emu_fixture_poll_event(&f);
	struct wcp_cd_send_receive receive = channel_receive(&f);
	test_assert(receive.num_identifiers == 0 && receive.opaque_data_size == 0);
	emu_fixture_poll(&f);
	test_assert(!emu_fixture_event(&f, 300));
	test_assert(emu_fixture_stop(&f) == 0);
}

TEST(unreachable_compositor_is_an_eof) {
	struct wcp_emu_fixture f;
	emu_fixture_start(&f, (const char *const[]){"--wayland-display", "/nonexistent/wl", NULL});
	emu_fixture_channel(&f, WCP_CD_CHANNEL_NONE);
	emu_fixture_init(&f, WCP_CD_CHANNEL_WAYLAND);
	emu_fixture_poll_event(&f);
	struct wcp_cd_send_receive receive = channel_receive(&f);
	test_assert(receive.num_identifiers == 0 && receive.opaque_data_size == 0);
	test_assert(emu_fixture_stop(&f) == 0);
}

static void assert_write_end_of_pipe(int fd) {
	struct stat st;
	test_assert(fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode));
	test_assert((fcntl(fd, F_GETFL) & O_ACCMODE) == O_WRONLY);
}

/**
 * A channel whose guest SENDs "receive" with the first read pipe, as
 * wl_data_offer.receive: the pipe's id, and the write end the host got.
 */
static uint32_t channel_with_read_pipe(struct wcp_emu_fixture *f, int *write_end) {
	emu_fixture_start(f, NULL);
	emu_fixture_channel(f, WCP_CD_CHANNEL_WAYLAND);
	uint32_t id = WCP_CD_PIPE_READ_START + 1, type = WCP_CD_ID_READ_PIPE;
	emu_fixture_send(f, "receive", 7, &id, &type, 1);
	uint8_t buf[64];
	int fds[4], n_fds;
	test_assert(emu_fixture_host_recv(f, buf, sizeof(buf), fds, 4, &n_fds, 5000) == 7);
	test_assert(n_fds == 1 && memcmp(buf, "receive", 7) == 0);
	assert_write_end_of_pipe(fds[0]);
	*write_end = fds[0];
	return id;
}

/** POLLs for the next event, which must be a READ of pipe `id`; its data follows it on the ring. */
static struct wcp_cd_read_write next_read(struct wcp_emu_fixture *f, uint32_t id) {
	emu_fixture_poll_event(f);
	struct wcp_cd_read_write event;
	memcpy(&event, f->channel_ring, sizeof(event));
	test_assert(event.hdr.cmd == WCP_CD_CMD_READ && event.identifier == id);
	test_assert(event.opaque_data_size <= WCP_CD_MAX_READ_DATA);
	return event;
}

TEST(read_pipe_delivers_read_events_then_hang_up) {
	struct wcp_emu_fixture f;
	int fds[1];
	uint32_t id = channel_with_read_pipe(&f, &fds[0]);
	enum { TOTAL = 6000 };
	uint8_t *data = malloc(TOTAL), *got = malloc(TOTAL);
	test_assert(data != NULL && got != NULL);
	for (size_t i = 0; i < TOTAL; i++) {
		data[i] = (uint8_t)(i % 251);
	}
	test_assert(write(fds[0], data, TOTAL) == TOTAL);
	close(fds[0]);
	size_t have = 0;
	bool hung_up = false;
	while (!hung_up) {
		struct wcp_cd_read_write event = next_read(&f, id);
		test_assert(have + event.opaque_data_size <= TOTAL);
		memcpy(got + have, f.channel_ring + sizeof(event), event.opaque_data_size);
		have += event.opaque_data_size;
		hung_up = event.hang_up == 1;
		test_assert(!hung_up || event.opaque_data_size == 0);
	}
	test_assert(have == TOTAL && memcmp(data, got, TOTAL) == 0);
	free(data);
	free(got);
	// The pipe is forgotten: nothing more.
	emu_fixture_poll(&f);
	test_assert(!emu_fixture_event(&f, 300));
	test_assert(emu_fixture_stop(&f) == 0);
}

/*
 * The host hands a guest's read pipe back to the guest to fill (a
 * selection offered by one guest client and asked for by another), and
 * the guest writes 9 MiB before it reads any: more than the emulator
 * keeps for a pipe before it waits for the reader, but the reader is the
 * emulator itself, which must not wait for itself. Every byte comes back
 * in READ events, then the hang-up.
 */
TEST_OPTS(read_pipe_filled_through_the_emulator_itself, .timeout_s = 120) {
	struct wcp_emu_fixture f;
	int fds[1];
	uint32_t read_id = channel_with_read_pipe(&f, &fds[0]);
	// Back to the guest, as wl_data_source.send.
	emu_fixture_host_send(&f, "send", 4, fds, 1);
	close(fds[0]);
	emu_fixture_poll_event(&f);
	struct wcp_cd_send_receive receive = channel_receive(&f);
	test_assert(receive.num_identifiers == 1 &&
		receive.identifier_types[0] == WCP_CD_ID_WRITE_PIPE);
	uint32_t write_id = receive.identifiers[0];

	enum { CHUNK = 4000, TOTAL = 2400 * CHUNK };
	uint8_t chunk[CHUNK];
	for (size_t off = 0; off < TOTAL; off += CHUNK) {
		for (size_t i = 0; i < CHUNK; i++) {
			chunk[i] = (uint8_t)((off + i) % 251);
		}
		emu_fixture_write(&f, write_id, chunk, CHUNK, off + CHUNK == TOTAL);
	}
	size_t have = 0;
	bool hung_up = false;
	while (!hung_up) {
		struct wcp_cd_read_write event = next_read(&f, read_id);
		const uint8_t *data = f.channel_ring + sizeof(event);
		for (uint32_t i = 0; i < event.opaque_data_size; i++) {
			test_assert(data[i] == (uint8_t)((have + i) % 251));
		}
		have += event.opaque_data_size;
		test_assert(have <= TOTAL);
		hung_up = event.hang_up == 1;
	}
	test_assert(have == TOTAL);
	test_assert(emu_fixture_stop(&f) == 0);
}

TEST(wrong_read_pipe_id_drops_the_send) {
	struct wcp_emu_fixture f;
	emu_fixture_start(&f, NULL);
	emu_fixture_channel(&f, WCP_CD_CHANNEL_WAYLAND);
	uint32_t id = WCP_CD_PIPE_READ_START + 5, type = WCP_CD_ID_READ_PIPE;
	emu_fixture_send(&f, "dropped", 7, &id, &type, 1);
	// Two read pipes in one SEND, and an unknown identifier type, are dropped too.
	uint32_t ids[2] = {WCP_CD_PIPE_READ_START + 2, WCP_CD_PIPE_READ_START + 3};
	uint32_t types[2] = {WCP_CD_ID_READ_PIPE, WCP_CD_ID_READ_PIPE};
	emu_fixture_send(&f, "two pipes", 9, ids, types, 2);
	types[0] = WCP_CD_ID_VIRTGPU_SYNC;
	emu_fixture_send(&f, "sync", 4, ids, types, 1);
	assert_host_gets_nothing(&f);
	emu_fixture_send(&f, "after", 5, NULL, NULL, 0);
	assert_host_gets(&f, "after", 5);
	test_assert(emu_fixture_stop(&f) == 0);
}

/* The host hands the guest a pipe's write end, as wl_data_source.send does; *read_end is the host's. */
static uint32_t host_write_pipe(struct wcp_emu_fixture *f, int *read_end) {
	int p[2];
	test_assert(pipe2(p, O_CLOEXEC) == 0);
	emu_fixture_host_send(f, "send", 4, &p[1], 1);
	close(p[1]);
	emu_fixture_poll_event(f);
	struct wcp_cd_send_receive receive = channel_receive(f);
	test_assert(receive.num_identifiers == 1);
	test_assert(receive.identifier_types[0] == WCP_CD_ID_WRITE_PIPE);
	*read_end = p[0];
	return receive.identifiers[0];
}

TEST(write_pipe_is_fed_by_write) {
	struct wcp_emu_fixture f;
	emu_fixture_start(&f, NULL);
	emu_fixture_channel(&f, WCP_CD_CHANNEL_WAYLAND);
	int p[2];
	uint32_t id = host_write_pipe(&f, &p[0]);
	emu_fixture_write(&f, id, "clip", 4, false);
	emu_fixture_write(&f, id, "board", 5, false);
	emu_fixture_write(&f, id, NULL, 0, true);
	uint8_t buf[32];
	size_t have = 0;
	for (;;) {
		ssize_t n = read(p[0], buf + have, sizeof(buf) - have);
		test_assert(n >= 0);
		if (n == 0) {
			break;
		}
		have += (size_t)n;
	}
	test_assert(have == 9 && memcmp(buf, "clipboard", 9) == 0);
	close(p[0]);
	// The id is gone after the hang-up; a WRITE to it is only logged.
	emu_fixture_write(&f, id, "x", 1, true);
	test_assert(emu_fixture_stop(&f) == 0);
}

TEST(write_pipe_data_outlives_the_context) {
	struct wcp_emu_fixture f;
	emu_fixture_start(&f, NULL);
	emu_fixture_channel(&f, WCP_CD_CHANNEL_WAYLAND);
	int p[2];
	uint32_t id = host_write_pipe(&f, &p[0]);
	// Four times what a pipe holds, while the host reads nothing; then the
	// guest closes its device, as a client that pasted and exited does.
	enum { CHUNK = 4000, CHUNKS = 64 };
	uint8_t *data = malloc(CHUNK * CHUNKS);
	test_assert(data != NULL);
	for (size_t i = 0; i < CHUNK * CHUNKS; i++) {
		data[i] = (uint8_t)(i * 7 + i / 251);
	}
	for (size_t i = 0; i < CHUNKS; i++) {
		emu_fixture_write(&f, id, data + i * CHUNK, CHUNK, i == CHUNKS - 1);
	}
	test_assert(virtgpu_wait(f.device, f.query_bo, false) == 0); // all of it taken
	munmap(f.query_ring, WCP_CD_RING_SIZE);
	munmap(f.channel_ring, WCP_CD_RING_SIZE);
	f.query_ring = f.channel_ring = NULL;
	virtgpu_device_destroy(f.device);
	f.device = NULL;
	// Every accepted byte still arrives, then the end.
	uint8_t *got = malloc(CHUNK * CHUNKS + 1);
	test_assert(got != NULL);
	size_t have = 0;
	for (;;) {
		struct pollfd pfd = {.fd = p[0], .events = POLLIN};
		test_assert(poll(&pfd, 1, 5000) == 1);
		ssize_t n = read(p[0], got + have, CHUNK * CHUNKS + 1 - have);
		test_assert(n >= 0);
		if (n == 0) {
			break;
		}
		have += (size_t)n;
	}
	test_assert(have == CHUNK * CHUNKS && memcmp(got, data, have) == 0);
	close(p[0]);
	free(got);
	free(data);
	test_assert(emu_fixture_stop(&f) == 0);
}

TEST_OPTS(slow_host_reader_bounds_the_queue, .timeout_s = 120) {
	struct wcp_emu_fixture f;
	emu_fixture_start(&f, NULL);
	emu_fixture_channel(&f, WCP_CD_CHANNEL_WAYLAND);
	int p[2];
	uint32_t id = host_write_pipe(&f, &p[0]);
	// A reader of about 13 MB/s in another process, checking every byte and
	// publishing how far it got.
	enum { CHUNK = 4000, TOTAL = 4200 * CHUNK };
	_Atomic size_t *progress = mmap(
		NULL, sizeof(*progress), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	test_assert(progress != MAP_FAILED);
	*progress = 0;
	pid_t reader = fork();
	test_assert(reader >= 0);
	if (reader == 0) {
		static uint8_t buf[65536];
		size_t have = 0;
		for (;;) {
			ssize_t n = read(p[0], buf, sizeof(buf));
			if (n <= 0) {
				break;
			}
			for (ssize_t i = 0; i < n; i++) {
				if (buf[i] != (uint8_t)((have + (size_t)i) % 253)) {
					_exit(2);
				}
			}
			have += (size_t)n;
			*progress = have;
			usleep(5000);
		}
		_exit(have == TOTAL ? 0 : 1);
	}
	close(p[0]);
	uint8_t chunk[CHUNK];
	for (size_t off = 0; off < TOTAL; off += CHUNK) {
		for (size_t i = 0; i < CHUNK; i++) {
			chunk[i] = (uint8_t)((off + i) % 253);
		}
		emu_fixture_write(&f, id, chunk, CHUNK, off + CHUNK == TOTAL);
	}
	// The last WRITE is sent. The emulator holds at most 8 MiB for the pipe
	// and stops taking submissions beyond that, so what the reader has not
	// taken yet fits in that, the connection's socket and the pipe itself.
	size_t taken = *progress;
	if (taken + (9u << 20) < TOTAL) {
		test_fail("the writer got %zu bytes ahead of a slow reader", TOTAL - taken);
	}
	// Far enough ahead for the queue to have held megabytes: the bound was met.
	if (taken + (4u << 20) > TOTAL) {
		test_fail("the reader kept up (%zu of %d bytes taken): the queue never filled",
			taken, TOTAL);
	}
	int status;
	test_assert(waitpid(reader, &status, 0) == reader);
	test_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	munmap((void *)progress, sizeof(*progress));
	test_assert(emu_fixture_stop(&f) == 0);
}

TEST(socket_fd_from_the_host_is_dropped) {
	struct wcp_emu_fixture f;
	emu_fixture_start(&f, NULL);
	emu_fixture_channel(&f, WCP_CD_CHANNEL_WAYLAND);
	int memfd = emu_fixture_memfd(4096, 3);
	int fds[2] = {f.listener, memfd};
	emu_fixture_host_send(&f, "mixed", 5, fds, 2);
	close(memfd);
	emu_fixture_poll_event(&f);
	struct wcp_cd_send_receive receive = channel_receive(&f);
	test_assert(receive.num_identifiers == 1);
	test_assert(receive.identifier_types[0] == WCP_CD_ID_VIRTGPU_BLOB);
	test_assert(receive.identifier_sizes[0] == 4096);
	test_assert(emu_fixture_stop(&f) == 0);
}

static struct wcp_cd_image_requirements image_requirements(
	struct wcp_emu_fixture *f, uint32_t width, uint32_t height, uint32_t format) {
	struct wcp_cd_get_image_requirements req = {
		.hdr = {.cmd = WCP_CD_CMD_GET_IMAGE_REQUIREMENTS, .cmd_size = sizeof(req)},
		.width = width,
		.height = height,
		.drm_format = format,
		.flags = WCP_CD_FLAG_LINEAR | WCP_CD_FLAG_SCANOUT,
	};
	memset(f->query_ring, 0xff, 64);
	emu_fixture_submit(f, &req, sizeof(req), WCP_CD_QUERY_RING);
	test_assert(virtgpu_wait(f->device, f->query_bo, false) == 0);
	struct wcp_cd_image_requirements reply;
	memcpy(&reply, f->query_ring, sizeof(reply));
	return reply;
}

TEST(image_requirements_and_template_blobs) {
	struct wcp_emu_fixture f;
	emu_fixture_start(&f, NULL);
	emu_fixture_channel(&f, WCP_CD_CHANNEL_WAYLAND);
	struct wcp_cd_image_requirements reply = image_requirements(&f, 256, 256, 0x34325258);
	test_assert(reply.strides[0] == 1024 && reply.offsets[0] == 0);
	test_assert(reply.size == 262144 && reply.modifier == 0);
	test_assert(reply.blob_id == 2);
	test_assert(reply.map_info == 0x31);
	test_assert(reply.memory_idx == 0 && reply.physical_device_idx == -1);
	// The query ring is not polled: no event.
	test_assert(!emu_fixture_event(&f, 100));
	uint32_t bo[2], res[2];
	for (int i = 0; i < 2; i++) {
		test_assert(virtgpu_create_blob(f.device, WCP_VIRTGPU_BLOB_MEM_HOST3D, 3,
				    reply.size, reply.blob_id, &bo[i], &res[i]) == 0);
	}
	test_assert(res[0] != res[1]);
	uint8_t *a = virtgpu_map(f.device, bo[0], reply.size);
	uint8_t *b = virtgpu_map(f.device, bo[1], reply.size);
	test_assert(a != NULL && b != NULL);
	a[0] = 1;
	test_assert(b[0] == 0); // fresh memory each time
	munmap(a, reply.size);
	munmap(b, reply.size);
	uint32_t bad;
	test_assert(virtgpu_create_blob(f.device, WCP_VIRTGPU_BLOB_MEM_HOST3D, 3, 4096,
			    reply.blob_id, &bad, &bad) == -EINVAL);
	// R8 1-row pools are page-rounded.
	reply = image_requirements(&f, 5000, 1, 0x20203852);
	test_assert(reply.strides[0] == 5000 && reply.size == 8192 && reply.blob_id == 3);
	// A format the host cannot allocate gets no answer: the ring is left as it was
	// (image_requirements fills it with 0xff before asking).
	struct wcp_cd_image_requirements untouched = image_requirements(&f, 64, 64, 0x3231564e);
	uint8_t all_ff[sizeof(untouched)];
	memset(all_ff, 0xff, sizeof(all_ff));
	test_assert(memcmp(&untouched, all_ff, sizeof(all_ff)) == 0);
	test_assert(emu_fixture_stop(&f) == 0);
}

/*
 * A host that never answers a query: the query ring's bo stays busy (WAIT
 * reports EBUSY, as the kernel's does after 15 s) and untouched, while
 * other bos are idle and the channel ring still works.
 */
TEST(stalled_images_leave_the_query_busy) {
	struct wcp_emu_fixture f;
	const char *args[] = {"--stalled-images", NULL};
	emu_fixture_start(&f, args);
	emu_fixture_channel(&f, WCP_CD_CHANNEL_WAYLAND);
	struct wcp_cd_get_image_requirements req = {
		.hdr = {.cmd = WCP_CD_CMD_GET_IMAGE_REQUIREMENTS, .cmd_size = sizeof(req)},
		.width = 4096,
		.height = 1,
		.drm_format = 0x20203852,
		.flags = WCP_CD_FLAG_LINEAR,
	};
	memset(f.query_ring, 0xff, 64);
	test_assert(virtgpu_execbuffer(
			    f.device, &req, sizeof(req), WCP_CD_QUERY_RING, &f.query_bo, 1) == 0);
	test_assert(virtgpu_wait(f.device, f.query_bo, false) == -EBUSY);
	test_assert(virtgpu_wait(f.device, f.query_bo, true) == -EBUSY);
	test_assert(virtgpu_wait(f.device, f.channel_bo, false) == 0);
	uint8_t all_ff[64];
	memset(all_ff, 0xff, sizeof(all_ff));
	test_assert(memcmp(f.query_ring, all_ff, sizeof(all_ff)) == 0);
	test_assert(!emu_fixture_event(&f, 100));
	emu_fixture_poll(&f);
	emu_fixture_host_send(&f, "x", 1, NULL, 0);
	emu_fixture_poll_event(&f);
	test_assert(channel_receive(&f).opaque_data_size == 1);
	test_assert(emu_fixture_stop(&f) == 0);
}

TEST(send_of_a_resource_passes_its_memory_and_needs_attachment) {
	struct wcp_emu_fixture f;
	emu_fixture_start(&f, NULL);
	emu_fixture_channel(&f, WCP_CD_CHANNEL_WAYLAND);
	struct wcp_cd_image_requirements reply = image_requirements(&f, 32, 32, 0x34325241);
	uint32_t bo, res;
	test_assert(virtgpu_create_blob(f.device, WCP_VIRTGPU_BLOB_MEM_HOST3D, 3, reply.size,
			    reply.blob_id, &bo, &res) == 0);
	uint8_t *ptr = virtgpu_map(f.device, bo, reply.size);
	test_assert(ptr != NULL);
	ptr[5] = 0x42;
	uint32_t type = WCP_CD_ID_VIRTGPU_BLOB;
	emu_fixture_send(&f, "buffer", 6, &res, &type, 1);
	uint8_t buf[16];
	int fds[4], n_fds;
	test_assert(emu_fixture_host_recv(&f, buf, sizeof(buf), fds, 4, &n_fds, 5000) == 6);
	test_assert(n_fds == 1);
	uint8_t byte;
	test_assert(pread(fds[0], &byte, 1, 5) == 1 && byte == 0x42);
	close(fds[0]);
	munmap(ptr, reply.size);
	// Guest memory (a ring) has no host handle; a closed handle detaches.
	emu_fixture_send(&f, "ring", 4, &f.query_res, &type, 1);
	test_assert(virtgpu_gem_close(f.device, bo) == 0);
	emu_fixture_send(&f, "closed", 6, &res, &type, 1);
	assert_host_gets_nothing(&f);
	emu_fixture_send(&f, "after", 5, NULL, NULL, 0);
	assert_host_gets(&f, "after", 5);
	test_assert(emu_fixture_stop(&f) == 0);
}

int main(int argc, char *argv[]) {
	return test_main(argc, argv);
}
