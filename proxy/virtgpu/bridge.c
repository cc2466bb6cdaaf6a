#include "virtgpu/bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util/fdpass.h"

/** Most bytes taken from the local socket for one SEND. */
#define BRIDGE_READ_SIZE 16384

/**
 * Bytes the host sent for a guest pipe that its reader has not taken yet,
 * at most: past them the reader has fallen so far behind (or stopped
 * reading) that the pipe is closed, rather than let one client's pipe
 * take the daemon's memory.
 */
#define READ_PIPE_MAX_PENDING (64u << 20)

/** Bytes and fds waiting for the local socket. */
struct bridge_chunk {
	size_t len, offset;
	int fds[WCP_CD_MAX_IDENTIFIERS];
	size_t fd_count; // sent with the chunk's first byte
	struct wl_list link; // wcp_cd_bridge.out
	uint8_t data[];
};

/** A local fd the host fills through READ events (the host's read pipe). */
struct bridge_read_pipe {
	struct wcp_cd_bridge *bridge;
	uint32_t id;
	int fd; // the write end a client gave us
	struct wl_event_source *source; // writable, while data waits
	uint8_t *pending; // the host's bytes from pending_off to pending_len are unwritten
	size_t pending_off, pending_len, pending_cap;
	bool hang_up; // close once pending is written
	struct wl_list link; // wcp_cd_bridge.read_pipes
};

/** A host write pipe: what a client writes into the local pipe goes out with WRITE. */
struct bridge_write_pipe {
	struct wcp_cd_bridge *bridge;
	uint32_t id;
	int fd; // read end of the local pipe
	struct wl_event_source *source;
	struct wl_list link; // wcp_cd_bridge.write_pipes
};

struct wcp_cd_bridge {
	struct wl_event_loop *loop;
	struct wcp_cd_channel *channel;
	const struct wcp_cd_bridge_listener *listener;
	void *listener_data;
	int fd; // our end of the socket pair; -1 once closed
	struct wl_event_source *source;
	struct wl_list out; // bridge_chunk.link
	struct wl_list read_pipes; // bridge_read_pipe.link
	struct wl_list write_pipes; // bridge_write_pipe.link
	bool host_eof; // close once `out` is drained
	bool want_writable; // the local socket's source also waits for room to write
};

enum wcp_fd_kind bridge_fd_kind(int fd) {
	struct stat st;
	if (fstat(fd, &st) < 0) {
		return WCP_FD_OTHER;
	}
	if (S_ISFIFO(st.st_mode)) {
		int flags = fcntl(fd, F_GETFL);
		return (flags & O_ACCMODE) == O_WRONLY ? WCP_FD_PIPE_WRITE_END
						       : WCP_FD_PIPE_READ_END;
	}
	if (S_ISSOCK(st.st_mode)) {
		return WCP_FD_SOCKET;
	}
	if (S_ISREG(st.st_mode)) {
		return WCP_FD_MEMORY;
	}
	return WCP_FD_OTHER;
}

const char *bridge_fd_kind_name(enum wcp_fd_kind kind) {
	switch (kind) {
	case WCP_FD_DEVICE_BUFFER:
		return "virtio-gpu buffer";
	case WCP_FD_PIPE_WRITE_END:
		return "pipe (write end)";
	case WCP_FD_PIPE_READ_END:
		return "pipe (read end)";
	case WCP_FD_MEMORY:
		return "memfd, shared memory or file";
	case WCP_FD_SOCKET:
		return "socket";
	case WCP_FD_OTHER:
		break;
	}
	return "unknown fd";
}

static void close_fds(int *fds, size_t count) {
	for (size_t i = 0; i < count; i++) {
		if (fds[i] >= 0) {
			close(fds[i]);
		}
	}
}

static void chunk_destroy(struct bridge_chunk *chunk) {
	close_fds(chunk->fds, chunk->fd_count);
	wl_list_remove(&chunk->link);
	free(chunk);
}

static void read_pipe_destroy(struct bridge_read_pipe *pipe) {
	if (pipe->source != NULL) {
		wl_event_source_remove(pipe->source);
	}
	close(pipe->fd);
	free(pipe->pending);
	wl_list_remove(&pipe->link);
	free(pipe);
}

static void write_pipe_destroy(struct bridge_write_pipe *pipe) {
	wl_event_source_remove(pipe->source);
	close(pipe->fd);
	wl_list_remove(&pipe->link);
	free(pipe);
}

/** Closes our end of the socket and tells the listener, once. */
static void bridge_close(struct wcp_cd_bridge *bridge, const char *reason) {
	if (bridge->fd < 0) {
		return;
	}
	wl_event_source_remove(bridge->source);
	bridge->source = NULL;
	close(bridge->fd);
	bridge->fd = -1;
	struct bridge_chunk *chunk, *tmp;
	wl_list_for_each_safe(chunk, tmp, &bridge->out, link) {
		chunk_destroy(chunk);
	}
	bridge->listener->closed(bridge->listener_data, reason);
}

/** Writes queued chunks to the local socket until it would block. */
static void flush_out(struct wcp_cd_bridge *bridge) {
	bool wrote = false;
	while (bridge->fd >= 0 && !wl_list_empty(&bridge->out)) {
		struct bridge_chunk *chunk = wl_container_of(bridge->out.next, chunk, link);
		struct iovec iov = {chunk->data + chunk->offset, chunk->len - chunk->offset};
		ssize_t n =
			fdpass_send(bridge->fd, &iov, 1, chunk->fds, chunk->fd_count, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				if (!bridge->want_writable) {
					bridge->want_writable = true;
					wl_event_source_fd_update(bridge->source,
						WL_EVENT_READABLE | WL_EVENT_WRITABLE);
				}
				break;
			}
			wcp_log_errno(WCP_ERROR, "bridge: writing to the local socket");
			bridge_close(bridge, "the local socket failed");
			return;
		}
		wrote = true;
		// The fds went with the first byte; ours are closed now.
		close_fds(chunk->fds, chunk->fd_count);
		chunk->fd_count = 0;
		chunk->offset += (size_t)n;
		if (chunk->offset == chunk->len) {
			chunk_destroy(chunk);
		}
	}
	if (bridge->fd < 0) {
		return;
	}
	if (wrote && bridge->listener->delivered != NULL) {
		bridge->listener->delivered(bridge->listener_data);
	}
	if (!wl_list_empty(&bridge->out)) {
		return; // the socket is full: its writable event resumes
	}
	if (bridge->want_writable) {
		// A system call per flush otherwise: only when it changes.
		bridge->want_writable = false;
		wl_event_source_fd_update(bridge->source, WL_EVENT_READABLE);
	}
	if (bridge->host_eof) {
		bridge_close(bridge, "the host closed the connection");
	}
}

/**
 * SENDs one flush, its fds as identifiers, in as many SENDs as it has read
 * pipes (a host takes one per SEND). Each SEND but the last carries the fds
 * up to the next pipe and a single byte: the host's compositor gets every
 * fd no later than the message that takes it, since no message is whole
 * before the last SEND's bytes.
 */
static bool send_batch(
	struct wcp_cd_bridge *bridge, const uint8_t *bytes, size_t len, int *fds, size_t count) {
	uint32_t ids[WCP_CD_MAX_IDENTIFIERS], types[WCP_CD_MAX_IDENTIFIERS];
	uint32_t bos[WCP_CD_MAX_IDENTIFIERS];
	struct bridge_read_pipe *pipes[WCP_CD_MAX_IDENTIFIERS] = {NULL};
	size_t bo_count = 0, pipe_count = 0;
	bool ok = false;

	for (size_t i = 0; i < count; i++) {
		enum wcp_fd_kind kind = bridge_fd_kind(fds[i]);
		if (kind == WCP_FD_PIPE_WRITE_END) {
			struct bridge_read_pipe *pipe = calloc(1, sizeof(*pipe));
			if (pipe == NULL) {
				wcp_log(WCP_ERROR, "out of memory");
				goto out;
			}
			pipe->bridge = bridge;
			pipe->fd = -1;
			wl_list_init(&pipe->link);
			// The host numbers read pipes in the order the SENDs come.
			ids[i] = channel_predict_read_pipe_id(bridge->channel);
			types[i] = WCP_CD_ID_READ_PIPE;
			pipe->id = ids[i];
			pipes[i] = pipe;
			pipe_count++;
			continue;
		}
		uint32_t res, bo;
		if (kind != WCP_FD_PIPE_READ_END && kind != WCP_FD_SOCKET &&
			channel_import_fd(bridge->channel, fds[i], &res, &bo)) {
			ids[i] = res;
			types[i] = WCP_CD_ID_VIRTGPU_BLOB;
			// The planes of one buffer share a handle, closed once.
			bool seen = false;
			for (size_t j = 0; j < bo_count; j++) {
				seen = seen || bos[j] == bo;
			}
			if (!seen) {
				bos[bo_count++] = bo;
			}
			continue;
		}
		wcp_log(WCP_ERROR, "bridge: a %s cannot cross the cross-domain channel",
			bridge_fd_kind_name(kind));
		goto out;
	}
	if (pipe_count > 1 && len < pipe_count) {
		wcp_log(WCP_ERROR, "bridge: %zu pipes in a flush of %zu bytes", pipe_count, len);
		goto out;
	}
	size_t first = 0, sent = 0; // fds and bytes gone
	ok = true;
	while (ok && (first < count || sent < len)) {
		// This SEND's fds end before the first pipe after its own.
		size_t end = first;
		bool has_pipe = false;
		while (end < count && !(pipes[end] != NULL && has_pipe)) {
			has_pipe = has_pipe || pipes[end] != NULL;
			end++;
		}
		size_t part = end < count ? 1 : len - sent;
		ok = channel_send(bridge->channel, bytes + sent, part, ids + first, types + first,
			end - first);
		first = end;
		sent += part;
	}

out:
	// Resources stay attached to the context until the SEND was submitted.
	for (size_t i = 0; i < bo_count; i++) {
		virtgpu_gem_close(bridge->channel->device, bos[i]);
	}
	for (size_t i = 0; i < count; i++) {
		struct bridge_read_pipe *pipe = pipes[i];
		if (ok && pipe != NULL) {
			pipe->fd = fds[i];
			int flags = fcntl(pipe->fd, F_GETFL);
			fcntl(pipe->fd, F_SETFL, flags | O_NONBLOCK);
			wl_list_insert(&bridge->read_pipes, &pipe->link);
		} else {
			free(pipe);
			close(fds[i]);
		}
	}
	return ok;
}

static void read_local(struct wcp_cd_bridge *bridge) {
	uint8_t bytes[BRIDGE_READ_SIZE];
	int fds[WCP_CD_MAX_IDENTIFIERS];
	size_t count;
	int flags;
	struct iovec iov = {bytes, sizeof(bytes)};
	ssize_t n = fdpass_recv(
		bridge->fd, &iov, 1, fds, WCP_CD_MAX_IDENTIFIERS, &count, MSG_DONTWAIT, &flags);
	if (n < 0) {
		if (errno == EAGAIN) {
			return;
		}
		wcp_log_errno(WCP_ERROR, "bridge: reading the local socket");
		bridge_close(bridge, "the local socket failed");
		return;
	}
	if (flags & MSG_CTRUNC) {
		wcp_log(WCP_ERROR, "bridge: more than %d fds in one flush", WCP_CD_MAX_IDENTIFIERS);
		close_fds(fds, count);
		bridge_close(bridge, "too many fds");
		return;
	}
	if (n == 0 && count == 0) {
		bridge_close(bridge, "the local end closed");
		return;
	}
	if (!send_batch(bridge, bytes, (size_t)n, fds, count)) {
		bridge_close(bridge, "an fd or message could not be sent to the host");
	}
}

void bridge_pump(struct wcp_cd_bridge *bridge) {
	if (bridge->fd >= 0) {
		read_local(bridge);
	}
}

void bridge_flush(struct wcp_cd_bridge *bridge) {
	channel_flush(bridge->channel);
}

static int handle_local(int fd, uint32_t mask, void *data) {
	struct wcp_cd_bridge *bridge = data;
	if (mask & WL_EVENT_WRITABLE) {
		flush_out(bridge);
	}
	// Data still readable is taken before a hang-up is acted on.
	if (bridge->fd >= 0 && (mask & WL_EVENT_READABLE)) {
		read_local(bridge);
	} else if (bridge->fd >= 0 && (mask & (WL_EVENT_HANGUP | WL_EVENT_ERROR))) {
		bridge_close(bridge, "the local end closed");
	}
	return 0;
}

static int handle_write_pipe(int fd, uint32_t mask, void *data) {
	struct bridge_write_pipe *pipe = data;
	uint8_t buf[4096];
	ssize_t n = read(pipe->fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		return 0;
	}
	struct wcp_cd_channel *channel = pipe->bridge->channel;
	if (n > 0) {
		channel_write(channel, pipe->id, buf, (size_t)n, false);
		return 0;
	}
	// Hang up only at the end of the data, never on a short read.
	channel_write(channel, pipe->id, NULL, 0, true);
	write_pipe_destroy(pipe);
	return 0;
}

static int add_write_pipe(struct wcp_cd_bridge *bridge, uint32_t id) {
	int ends[2];
	if (pipe2(ends, O_CLOEXEC | O_NONBLOCK) < 0) {
		wcp_log_errno(WCP_ERROR, "bridge: pipe");
		return -1;
	}
	struct bridge_write_pipe *pipe = calloc(1, sizeof(*pipe));
	if (pipe == NULL) {
		goto error;
	}
	pipe->bridge = bridge;
	pipe->id = id;
	pipe->fd = ends[0];
	pipe->source = wl_event_loop_add_fd(
		bridge->loop, pipe->fd, WL_EVENT_READABLE, handle_write_pipe, pipe);
	if (pipe->source == NULL) {
		free(pipe);
		goto error;
	}
	wl_list_insert(&bridge->write_pipes, &pipe->link);
	// The client writes blocking, as it would into any pipe.
	fcntl(ends[1], F_SETFL, 0);
	return ends[1];

error:
	wcp_log(WCP_ERROR, "bridge: cannot set up host write pipe %" PRIu32, id);
	close(ends[0]);
	close(ends[1]);
	return -1;
}

/*
 * An empty file for a host fd of no size: no blob can be made of it, and
 * what the guest reads from it is the same nothing. Hosts send one where
 * a protocol wants an fd with nothing in it, such as a keymap of
 * WL_KEYBOARD_KEYMAP_FORMAT_NO_KEYMAP (wlroots sends /dev/null).
 */
static int empty_file(void) {
	int fd = memfd_create("wl-cross-proxy-empty", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		wcp_log_errno(WCP_ERROR, "bridge: memfd_create");
		return -1;
	}
	// Nothing can be written into it either.
	fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
	return fd;
}

static void handle_receive(void *data, const uint8_t *bytes, size_t len,
	const struct wcp_cd_item *items, size_t count) {
	struct wcp_cd_bridge *bridge = data;
	if (bridge->fd < 0) {
		return;
	}
	struct bridge_chunk *chunk = calloc(1, sizeof(*chunk) + len);
	if (chunk == NULL) {
		wcp_log(WCP_ERROR, "out of memory");
		bridge_close(bridge, "out of memory");
		return;
	}
	wl_list_insert(bridge->out.prev, &chunk->link);
	memcpy(chunk->data, bytes, len);
	chunk->len = len;
	for (size_t i = 0; i < count; i++) {
		int fd = -1;
		switch (items[i].type) {
		case WCP_CD_ID_VIRTGPU_BLOB:
			fd = items[i].size == 0
				? empty_file()
				: channel_blob_fd(bridge->channel, items[i].id, items[i].size);
			break;
		case WCP_CD_ID_WRITE_PIPE:
			fd = add_write_pipe(bridge, items[i].id);
			break;
		default:
			wcp_log(WCP_ERROR, "bridge: the host sent an identifier of type %" PRIu32,
				items[i].type);
			break;
		}
		if (fd < 0) {
			bridge_close(bridge, "an fd from the host could not be made");
			return;
		}
		chunk->fds[chunk->fd_count++] = fd;
	}
	if (len == 0 && chunk->fd_count > 0) {
		// fds need a byte to travel with; hosts always send data with them.
		wcp_log(WCP_ERROR, "bridge: the host sent fds without data");
		bridge_close(bridge, "fds without data");
		return;
	}
	flush_out(bridge);
}

static int handle_read_pipe_writable(int fd, uint32_t mask, void *data);

static void flush_read_pipe(struct bridge_read_pipe *pipe) {
	while (pipe->pending_off < pipe->pending_len) {
		ssize_t n = write(pipe->fd, pipe->pending + pipe->pending_off,
			pipe->pending_len - pipe->pending_off);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 && errno == EAGAIN) {
			if (pipe->source == NULL) {
				pipe->source = wl_event_loop_add_fd(pipe->bridge->loop, pipe->fd,
					WL_EVENT_WRITABLE, handle_read_pipe_writable, pipe);
			}
			return;
		}
		if (n < 0) {
			// The reader is gone: what the host still sends is dropped.
			break;
		}
		pipe->pending_off += (size_t)n;
	}
	pipe->pending_off = 0;
	pipe->pending_len = 0;
	if (pipe->hang_up) {
		read_pipe_destroy(pipe);
	}
}

/**
 * Keeps `len` more bytes for the pipe's reader, up to READ_PIPE_MAX_PENDING
 * in all: holding the host back instead would hold the client's Wayland
 * events with them, which it may be waiting for before it reads. What was
 * written is moved out of the way only once it is as large as what is
 * left, so that a slow reader costs each byte a bounded number of moves.
 */
static bool keep_for_reader(struct bridge_read_pipe *pipe, const uint8_t *bytes, size_t len) {
	size_t left = pipe->pending_len - pipe->pending_off;
	if (len > READ_PIPE_MAX_PENDING - left) {
		wcp_log(WCP_ERROR,
			"bridge: the reader of pipe %" PRIu32 " left %zu MiB from the host unread; "
			"the pipe is closed",
			pipe->id, left >> 20);
		return false;
	}
	if (pipe->pending_off > 0 && pipe->pending_off >= left) {
		memmove(pipe->pending, pipe->pending + pipe->pending_off, left);
		pipe->pending_off = 0;
		pipe->pending_len = left;
	}
	if (pipe->pending_cap - pipe->pending_len < len) {
		size_t cap = pipe->pending_cap > 0 ? pipe->pending_cap : 4096;
		while (cap - pipe->pending_len < len) {
			cap *= 2;
		}
		uint8_t *bigger = realloc(pipe->pending, cap);
		if (bigger == NULL) {
			wcp_log(WCP_ERROR, "bridge: out of memory for pipe %" PRIu32, pipe->id);
			return false;
		}
		pipe->pending = bigger;
		pipe->pending_cap = cap;
	}
	memcpy(pipe->pending + pipe->pending_len, bytes, len);
	pipe->pending_len += len;
	return true;
}

static int handle_read_pipe_writable(int fd, uint32_t mask, void *data) {
	struct bridge_read_pipe *pipe = data;
	wl_event_source_remove(pipe->source);
	pipe->source = NULL;
	flush_read_pipe(pipe);
	return 0;
}

static void handle_read(
	void *data, uint32_t pipe_id, const uint8_t *bytes, size_t len, bool hang_up) {
	struct wcp_cd_bridge *bridge = data;
	struct bridge_read_pipe *pipe, *found = NULL;
	wl_list_for_each(pipe, &bridge->read_pipes, link) {
		if (pipe->id == pipe_id) {
			found = pipe;
			break;
		}
	}
	if (found == NULL) {
		wcp_log(WCP_DEBUG, "bridge: data for unknown read pipe %" PRIu32, pipe_id);
		return;
	}
	if (len > 0 && !keep_for_reader(found, bytes, len)) {
		read_pipe_destroy(found); // what the host sends for it from now on is dropped
		return;
	}
	found->hang_up = hang_up;
	if (found->source == NULL) {
		flush_read_pipe(found);
	}
}

static void handle_eof(void *data) {
	struct wcp_cd_bridge *bridge = data;
	bridge->host_eof = true;
	flush_out(bridge);
}

static const struct wcp_cd_channel_listener channel_listener = {
	.receive = handle_receive,
	.read = handle_read,
	.eof = handle_eof,
};

struct wcp_cd_bridge *bridge_create(struct wl_event_loop *loop, struct wcp_virtgpu_device *device,
	uint32_t channel_type, const struct wcp_cd_bridge_listener *listener, void *data,
	int *peer_fd) {
	struct wcp_cd_bridge *bridge = calloc(1, sizeof(*bridge));
	if (bridge == NULL) {
		wcp_log(WCP_ERROR, "out of memory");
		virtgpu_device_destroy(device);
		return NULL;
	}
	bridge->loop = loop;
	bridge->listener = listener;
	bridge->listener_data = data;
	bridge->fd = -1;
	wl_list_init(&bridge->out);
	wl_list_init(&bridge->read_pipes);
	wl_list_init(&bridge->write_pipes);

	int pair[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
		wcp_log_errno(WCP_ERROR, "bridge: socketpair");
		virtgpu_device_destroy(device);
		free(bridge);
		return NULL;
	}
	bridge->fd = pair[0];
	bridge->channel = channel_create(loop, device, channel_type, &channel_listener, bridge);
	if (bridge->channel == NULL) {
		goto error;
	}
	bridge->source =
		wl_event_loop_add_fd(loop, bridge->fd, WL_EVENT_READABLE, handle_local, bridge);
	if (bridge->source == NULL) {
		wcp_log(WCP_ERROR, "bridge: cannot watch the local socket");
		goto error;
	}
	*peer_fd = pair[1];
	return bridge;

error:
	close(pair[1]);
	bridge_destroy(bridge);
	return NULL;
}

void bridge_destroy(struct wcp_cd_bridge *bridge) {
	if (bridge == NULL) {
		return;
	}
	struct bridge_read_pipe *rpipe, *rtmp;
	wl_list_for_each_safe(rpipe, rtmp, &bridge->read_pipes, link) {
		read_pipe_destroy(rpipe);
	}
	struct bridge_write_pipe *wpipe, *wtmp;
	wl_list_for_each_safe(wpipe, wtmp, &bridge->write_pipes, link) {
		write_pipe_destroy(wpipe);
	}
	struct bridge_chunk *chunk, *ctmp;
	wl_list_for_each_safe(chunk, ctmp, &bridge->out, link) {
		chunk_destroy(chunk);
	}
	if (bridge->source != NULL) {
		wl_event_source_remove(bridge->source);
	}
	if (bridge->fd >= 0) {
		close(bridge->fd);
	}
	channel_destroy(bridge->channel);
	free(bridge);
}

struct wcp_cd_channel *bridge_channel(struct wcp_cd_bridge *bridge) {
	return bridge->channel;
}
