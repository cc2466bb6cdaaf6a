/*
 * The host side of a cross-domain context, as upstream rutabaga does it
 * (cross-domain.md 1.4): rings, the Wayland channel, pipes, host items.
 * Host-side failures are only logged: the guest's EXECBUFFER succeeded.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "emu.h"
#include "log.h"
#include "util/fdpass.h"
#include "virtgpu/cross_domain.h"
#include "virtgpu/uapi.h"

enum wcp_emu_item_kind {
	EMU_ITEM_MEMORY, // a received memory fd: single-use blob
	EMU_ITEM_TEMPLATE, // image requirements: any number of blobs of `size`
	EMU_ITEM_WRITE_PIPE, // a received pipe write end, fed by WRITE
};

struct wcp_emu_item {
	struct wl_list link;
	uint32_t id;
	enum wcp_emu_item_kind kind;
	int fd; // -1 for templates
	uint64_t size;

	// Write pipes: what the host's reader has not taken yet waits here, so
	// that a slow reader holds up no other context (up to a bound), and a
	// context that goes leaves it to be written still (emu_host.draining).
	struct wl_event_loop *loop;
	uint8_t *pending;
	size_t pending_off, pending_len; // the unwritten bytes: pending + off, len of them
	size_t pending_cap;
	bool hang_up; // close once pending is written
	struct wl_event_source *source; // writable, while data waits
	bool feeds_emulator; // the reader is one of this emulator's read pipes: never waited for
};

/*
 * Beyond this many bytes queued for one host pipe the emulator waits for
 * the reader, as a VMM's worker that writes synchronously does.
 */
#define EMU_PIPE_QUEUE_MAX (8u << 20)

struct wcp_emu_read_pipe {
	struct wl_list link;
	struct wcp_emu_cd *cd;
	uint32_t id;
	int fd;
	struct wl_event_source *source; // NULL until watched, or after a hang-up while idle
	bool armed; // the source asks for READABLE
	struct wl_list host_link; // wcp_emu_host.read_pipes
};

struct wcp_emu_cd {
	struct wcp_emu_host *host;
	struct wcp_emu_file *file;
	bool initialized;
	uint32_t query_ring_id;
	uint32_t channel_ring_id;
	bool channel; // an INIT opened (or tried to open) the channel
	int socket; // the host compositor connection; -1 when none or after EOF
	struct wl_event_source *socket_source; // NULL until watched, or after a hang-up while idle
	bool socket_armed; // socket_source asks for READABLE
	bool eof_pending; // the next channel event is the host-EOF RECEIVE
	struct wl_list items; // wcp_emu_item.link
	struct wl_list read_pipes; // wcp_emu_read_pipe.link
	uint32_t last_item_id;
	uint32_t last_read_pipe_id;
	uint32_t pending; // channel-ring fences, each waiting for one event
	bool blank_next; // --blank-fences: the next channel fence is signalled blank
	uint8_t event[WCP_CD_RING_SIZE];
};

static void watch_sources(struct wcp_emu_cd *cd);

struct wcp_emu_cd *emu_cross_domain_create(struct wcp_emu_host *host, struct wcp_emu_file *file) {
	struct wcp_emu_cd *cd = calloc(1, sizeof(*cd));
	if (cd == NULL) {
		wcp_log(WCP_ERROR, "out of memory");
		return NULL;
	}
	cd->host = host;
	cd->file = file;
	cd->socket = -1;
	// Host item ids start at 2 (cross-domain.md 1.1); read-pipe ids at 0x80000001 (2.10).
	cd->last_item_id = 1;
	cd->last_read_pipe_id = WCP_CD_PIPE_READ_START;
	wl_list_init(&cd->items);
	wl_list_init(&cd->read_pipes);
	return cd;
}

static void item_destroy(struct wcp_emu_item *item) {
	if (item->source != NULL) {
		wl_event_source_remove(item->source);
	}
	free(item->pending);
	if (item->fd >= 0) {
		close(item->fd);
	}
	wl_list_remove(&item->link);
	free(item);
}

static void read_pipe_destroy(struct wcp_emu_read_pipe *pipe) {
	if (pipe->source != NULL) {
		wl_event_source_remove(pipe->source);
	}
	close(pipe->fd);
	wl_list_remove(&pipe->link);
	wl_list_remove(&pipe->host_link);
	free(pipe);
}

static void close_socket(struct wcp_emu_cd *cd) {
	if (cd->socket_source != NULL) {
		wl_event_source_remove(cd->socket_source);
		cd->socket_source = NULL;
	}
	cd->socket_armed = false;
	if (cd->socket >= 0) {
		close(cd->socket);
		cd->socket = -1;
	}
}

void emu_cross_domain_destroy(struct wcp_emu_cd *cd) {
	if (cd == NULL) {
		return;
	}
	close_socket(cd);
	struct wcp_emu_item *item, *item_tmp;
	wl_list_for_each_safe(item, item_tmp, &cd->items, link) {
		if (item->kind == EMU_ITEM_WRITE_PIPE && item->pending_len > 0) {
			// Accepted WRITEs reach the reader even after the guest is gone.
			item->hang_up = true;
			wl_list_remove(&item->link);
			wl_list_insert(&cd->host->draining, &item->link);
			continue;
		}
		item_destroy(item);
	}
	struct wcp_emu_read_pipe *pipe, *pipe_tmp;
	wl_list_for_each_safe(pipe, pipe_tmp, &cd->read_pipes, link) {
		read_pipe_destroy(pipe);
	}
	free(cd);
}

static uint32_t add_item(
	struct wcp_emu_cd *cd, enum wcp_emu_item_kind kind, int fd, uint64_t size) {
	struct wcp_emu_item *item = calloc(1, sizeof(*item));
	if (item == NULL) {
		wcp_log(WCP_ERROR, "out of memory");
		return 0;
	}
	item->id = ++cd->last_item_id;
	item->loop = cd->host->loop;
	item->kind = kind;
	item->fd = fd;
	item->size = size;
	wl_list_insert(cd->items.prev, &item->link);
	return item->id;
}

static struct wcp_emu_item *find_item(struct wcp_emu_cd *cd, uint64_t id) {
	struct wcp_emu_item *item;
	wl_list_for_each(item, &cd->items, link) {
		if (item->id == id) {
			return item;
		}
	}
	return NULL;
}

/** The resource of a ring: attached to this context, with guest memory. */
static struct wcp_emu_resource *ring_resource(struct wcp_emu_cd *cd, uint32_t id) {
	struct wcp_emu_resource *resource = emu_device_attached(cd->file, id);
	if (resource == NULL || resource->blob_mem != WCP_VIRTGPU_BLOB_MEM_GUEST) {
		return NULL;
	}
	return resource;
}

static bool ring_write(struct wcp_emu_cd *cd, uint32_t ring_id, const void *data, size_t size) {
	struct wcp_emu_resource *resource = ring_resource(cd, ring_id);
	if (resource == NULL) {
		wcp_log(WCP_ERROR, "ring resource %u is no longer attached to the context",
			ring_id);
		return false;
	}
	if (size > resource->size) {
		wcp_log(WCP_ERROR, "ring resource %u is too small for a %zu-byte reply", ring_id,
			size);
		return false;
	}
	uint8_t *ring = emu_resource_map(resource);
	if (ring == NULL) {
		return false;
	}
	memcpy(ring, data, size);
	return true;
}

/** Writes one channel event and signals the oldest channel fence. */
static void channel_event(struct wcp_emu_cd *cd, size_t size) {
	if (!ring_write(cd, cd->channel_ring_id, cd->event, size)) {
		return;
	}
	cd->pending--;
	emu_device_fence_signalled(cd->file, WCP_CD_CHANNEL_RING);
}

static void host_eof_event(struct wcp_emu_cd *cd) {
	struct wcp_cd_send_receive receive = {.hdr.cmd = WCP_CD_CMD_RECEIVE};
	memcpy(cd->event, &receive, sizeof(receive));
	channel_event(cd, sizeof(receive));
}

/** The new host item for a received fd; 0 (logged) when it cannot be passed on. */
static uint32_t classify_fd(struct wcp_emu_cd *cd, int fd, uint32_t *type, uint32_t *size) {
	struct stat st;
	if (fstat(fd, &st) < 0) {
		wcp_log_errno(WCP_ERROR, "fstat of a received fd");
		return 0;
	}
	// As the host side of rutabaga tells them apart: an fd that seeks is
	// memory of the size its end is at (a memfd, a dma-buf, also
	// /dev/null, of size 0); one that does not may be a pipe.
	off_t end = lseek(fd, 0, SEEK_END);
	if (end >= 0) {
		if ((uint64_t)end > UINT32_MAX) {
			wcp_log(WCP_ERROR, "received a memory fd of unusable size; dropped");
			return 0;
		}
		*type = WCP_CD_ID_VIRTGPU_BLOB;
		*size = (uint32_t)end;
		return add_item(cd, EMU_ITEM_MEMORY, fd, (uint64_t)end);
	}
	int flags = fcntl(fd, F_GETFL);
	if (S_ISFIFO(st.st_mode) && flags >= 0 && (flags & O_ACCMODE) == O_WRONLY) {
		*type = WCP_CD_ID_WRITE_PIPE;
		*size = 0;
		fcntl(fd, F_SETFL, flags | O_NONBLOCK);
		return add_item(cd, EMU_ITEM_WRITE_PIPE, fd, 0);
	}
	wcp_log(WCP_ERROR,
		"received an fd that is neither memory nor a pipe write end "
		"(mode 0%o); dropped",
		(unsigned int)st.st_mode);
	return 0;
}

/*
 * Host fds are read only while a channel fence waits, one event per fence.
 * Their sources stay in the loop across fences: one that turns readable
 * with no fence waiting is quietened then (or dropped, when it hung up, as
 * a hung-up fd is reported even with no events asked for), and asked again
 * at the next fence. A guest that keeps a POLL in flight costs no epoll_ctl.
 */
static void quiet_source(struct wl_event_source **source, bool *armed, uint32_t mask) {
	if (mask & (WL_EVENT_HANGUP | WL_EVENT_ERROR)) {
		wl_event_source_remove(*source);
		*source = NULL;
	} else {
		wl_event_source_fd_update(*source, 0);
	}
	*armed = false;
}

/** Asks for READABLE on `fd`; false (logged) when it cannot be watched. */
static bool watch_fd(struct wcp_emu_cd *cd, int fd, struct wl_event_source **source, bool *armed,
	wl_event_loop_fd_func_t func, void *data) {
	if (*armed) {
		return true;
	}
	if (*source == NULL) {
		*source = wl_event_loop_add_fd(cd->host->loop, fd, WL_EVENT_READABLE, func, data);
		if (*source == NULL) {
			wcp_log_errno(WCP_ERROR, "cannot watch a host fd");
			return false;
		}
	} else {
		wl_event_source_fd_update(*source, WL_EVENT_READABLE);
	}
	*armed = true;
	return true;
}

static int on_socket(int fd, uint32_t mask, void *data) {
	struct wcp_emu_cd *cd = data;
	if (cd->socket < 0) {
		return 0;
	}
	if (cd->pending == 0) {
		quiet_source(&cd->socket_source, &cd->socket_armed, mask);
		return 0;
	}
	struct wcp_cd_send_receive receive = {.hdr.cmd = WCP_CD_CMD_RECEIVE};
	uint8_t *payload = cd->event + sizeof(receive);
	struct iovec iov = {.iov_base = payload, .iov_len = WCP_CD_MAX_RECEIVE_DATA};
	int fds[WCP_CD_MAX_IDENTIFIERS];
	size_t count;
	int flags;
	ssize_t n = fdpass_recv(
		cd->socket, &iov, 1, fds, WCP_CD_MAX_IDENTIFIERS, &count, MSG_DONTWAIT, &flags);
	if (n < 0 && errno == EAGAIN) {
		return 0;
	}
	if (n < 0) {
		wcp_log_errno(WCP_ERROR, "receiving from the Wayland compositor failed; closing");
		n = 0;
		count = 0;
	}
	if ((flags & MSG_CTRUNC) != 0) {
		wcp_log(WCP_ERROR,
			"the Wayland compositor sent more than %d fds at once; the "
			"rest are lost",
			WCP_CD_MAX_IDENTIFIERS);
	}
	for (size_t i = 0; i < count; i++) {
		uint32_t k = receive.num_identifiers;
		uint32_t id = classify_fd(
			cd, fds[i], &receive.identifier_types[k], &receive.identifier_sizes[k]);
		if (id == 0) {
			close(fds[i]);
			continue;
		}
		receive.identifiers[k] = id;
		receive.num_identifiers++;
	}
	if (n == 0 && receive.num_identifiers == 0) {
		// Host EOF: one empty RECEIVE, then the channel is gone (cross-domain.md 1.4).
		wcp_log(WCP_INFO, "the Wayland compositor closed the connection");
		close_socket(cd);
		host_eof_event(cd);
		return 0;
	}
	receive.opaque_data_size = (uint32_t)n;
	memcpy(cd->event, &receive, sizeof(receive));
	channel_event(cd, sizeof(receive) + (size_t)n);
	return 0;
}

static int on_read_pipe(int fd, uint32_t mask, void *data) {
	struct wcp_emu_read_pipe *pipe = data;
	struct wcp_emu_cd *cd = pipe->cd;
	if (cd->pending == 0) {
		quiet_source(&pipe->source, &pipe->armed, mask);
		return 0;
	}
	struct wcp_cd_read_write read_event = {
		.hdr.cmd = WCP_CD_CMD_READ,
		.identifier = pipe->id,
	};
	ssize_t n = read(pipe->fd, cd->event + sizeof(read_event), WCP_CD_MAX_READ_DATA);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		return 0;
	}
	if (n < 0) {
		wcp_log_errno(WCP_ERROR, "reading read pipe %u failed; hanging up", pipe->id);
		n = 0;
	}
	read_event.hang_up = n == 0;
	read_event.opaque_data_size = (uint32_t)n;
	memcpy(cd->event, &read_event, sizeof(read_event));
	if (n == 0) {
		read_pipe_destroy(pipe);
	}
	channel_event(cd, sizeof(read_event) + (size_t)n);
	return 0;
}

static void watch_sources(struct wcp_emu_cd *cd) {
	if (cd->pending == 0) {
		return;
	}
	if (cd->socket >= 0) {
		watch_fd(cd, cd->socket, &cd->socket_source, &cd->socket_armed, on_socket, cd);
	}
	struct wcp_emu_read_pipe *pipe;
	wl_list_for_each(pipe, &cd->read_pipes, link) {
		watch_fd(cd, pipe->fd, &pipe->source, &pipe->armed, on_read_pipe, pipe);
	}
}

void emu_cross_domain_fence(struct wcp_emu_cd *cd, uint32_t ring) {
	switch (ring) {
	case WCP_CD_QUERY_RING:
		// Query replies are written during submission: signalled at once.
		emu_device_fence_signalled(cd->file, ring);
		return;
	case WCP_CD_CHANNEL_RING:
		if (cd->host->config.blank_fences && (cd->blank_next = !cd->blank_next)) {
			// A host that misbehaves: the ring still holds the last event.
			emu_device_fence_signalled(cd->file, ring);
			return;
		}
		cd->pending++;
		if (cd->eof_pending && cd->initialized) {
			cd->eof_pending = false;
			host_eof_event(cd);
		}
		watch_sources(cd);
		return;
	default:
		wcp_log(WCP_ERROR, "fence on ring %u: the cross-domain context has rings 0 and 1",
			ring);
		return;
	}
}

static int connect_wayland(const char *path) {
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	size_t len = strlen(path);
	if (len >= sizeof(addr.sun_path)) {
		wcp_log(WCP_ERROR, "Wayland socket path %s is too long", path);
		return -1;
	}
	memcpy(addr.sun_path, path, len + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		wcp_log_errno(WCP_ERROR, "socket");
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		wcp_log_errno(WCP_ERROR, "cannot connect to the Wayland compositor at %s", path);
		close(fd);
		return -1;
	}
	return fd;
}

static void cmd_init(struct wcp_emu_cd *cd, const uint8_t *cmd, size_t size) {
	uint32_t query_ring_id, channel_ring_id, channel_type;
	// RG accepts the 16-, 20- and 36-byte forms and rejects 24 (cross-domain.md 1.3).
	if (size != 16 && size != 20 && size != 36) {
		wcp_log(WCP_ERROR, "invalid cross domain command: INIT of %zu bytes", size);
		return;
	}
	memcpy(&query_ring_id, cmd + 8, sizeof(uint32_t));
	if (size == 16) {
		memcpy(&channel_type, cmd + 12, sizeof(uint32_t));
		channel_ring_id = query_ring_id;
	} else {
		memcpy(&channel_ring_id, cmd + 12, sizeof(uint32_t));
		memcpy(&channel_type, cmd + 16, sizeof(uint32_t));
	}
	if (ring_resource(cd, query_ring_id) == NULL ||
		(channel_type != WCP_CD_CHANNEL_NONE &&
			ring_resource(cd, channel_ring_id) == NULL)) {
		wcp_log(WCP_ERROR,
			"INIT: invalid ring resource id (query %u, channel %u): not a "
			"guest blob attached to the context",
			query_ring_id, channel_ring_id);
		return;
	}
	if (channel_type != WCP_CD_CHANNEL_NONE) {
		if (cd->channel) {
			wcp_log(WCP_ERROR, "INIT: the context already has a channel");
			return;
		}
		if (channel_type != WCP_CD_CHANNEL_WAYLAND ||
			cd->host->config.wayland_path == NULL) {
			wcp_log(WCP_ERROR, "INIT: no socket configured for channel type %u",
				channel_type);
			return;
		}
	}
	cd->initialized = true;
	cd->query_ring_id = query_ring_id;
	cd->channel_ring_id = channel_ring_id;
	if (channel_type == WCP_CD_CHANNEL_NONE) {
		return;
	}
	cd->channel = true;
	cd->socket = connect_wayland(cd->host->config.wayland_path);
	if (cd->socket < 0) {
		// The channel is dead from the start: the guest learns it as a host EOF.
		if (cd->pending > 0) {
			host_eof_event(cd);
		} else {
			cd->eof_pending = true;
		}
		return;
	}
	wcp_log(WCP_DEBUG, "channel connected to %s", cd->host->config.wayland_path);
	watch_sources(cd);
}

static uint32_t bytes_per_pixel(uint32_t format) {
	switch (format) {
	case 0x34325258: // XR24
	case 0x34325241: // AR24
	case 0x34324258: // XB24
	case 0x34324241: // AB24
	case 0x30335258: // XR30
	case 0x30335241: // AR30
	case 0x30334258: // XB30
	case 0x30334241: // AB30
		return 4;
	case 0x36314752: // RG16
	case 0x38385247: // GR88
		return 2;
	case 0x20203852: // R8
		return 1;
	default:
		return 0;
	}
}

static void cmd_get_image_requirements(struct wcp_emu_cd *cd, const uint8_t *cmd, size_t size) {
	struct wcp_cd_get_image_requirements req;
	if (size < sizeof(req)) {
		wcp_log(WCP_ERROR,
			"invalid cross domain command: GET_IMAGE_REQUIREMENTS of %zu "
			"bytes",
			size);
		return;
	}
	if (!cd->initialized) {
		wcp_log(WCP_ERROR, "GET_IMAGE_REQUIREMENTS before INIT: no query ring");
		return;
	}
	memcpy(&req, cmd, sizeof(req));
	struct wcp_cd_image_requirements reply = {0};
	uint32_t bpp = bytes_per_pixel(req.drm_format);
	uint64_t stride = (uint64_t)req.width * bpp;
	uint64_t bytes = stride * req.height;
	// A host whose gralloc fails writes nothing at all; the guest's ring
	// keeps whatever it held (rutabaga returns before writing the ring).
	if (bpp == 0) {
		wcp_log(WCP_ERROR, "gralloc: unsupported format 0x%08x", req.drm_format);
		return;
	}
	if (req.width == 0 || req.height == 0 || stride > UINT32_MAX || bytes > (1ull << 32)) {
		wcp_log(WCP_ERROR, "gralloc: unsupported size %ux%u", req.width, req.height);
		return;
	}
	reply.strides[0] = (uint32_t)stride;
	reply.size = cd->host->config.short_images ? 4096 : (bytes + 4095) & ~(uint64_t)4095;
	reply.blob_id = add_item(cd, EMU_ITEM_TEMPLATE, -1, reply.size);
	reply.map_info = 0x31; // CACHED | RW (cross-domain.md 1.1)
	reply.memory_idx = 0;
	reply.physical_device_idx = -1;
	ring_write(cd, cd->query_ring_id, &reply, sizeof(reply));
}

/** Frees pipes made for a SEND that is not sent. */
static void drop_pipes(int read_fd, int write_fd) {
	if (read_fd >= 0) {
		close(read_fd);
		close(write_fd);
	}
}

static void cmd_send(struct wcp_emu_cd *cd, const uint8_t *cmd, size_t size) {
	struct wcp_cd_send_receive send;
	if (size < sizeof(send)) {
		wcp_log(WCP_ERROR, "invalid cross domain command: SEND of %zu bytes", size);
		return;
	}
	memcpy(&send, cmd, sizeof(send));
	if (send.num_identifiers > WCP_CD_MAX_IDENTIFIERS ||
		send.opaque_data_size > size - sizeof(send)) {
		wcp_log(WCP_ERROR, "invalid SEND: %u identifiers, %u bytes in a %zu-byte command",
			send.num_identifiers, send.opaque_data_size, size);
		return;
	}
	int fds[WCP_CD_MAX_IDENTIFIERS];
	int pipe_read = -1, pipe_write = -1;
	uint32_t pipe_id = 0;
	for (uint32_t i = 0; i < send.num_identifiers; i++) {
		uint32_t id = send.identifiers[i];
		switch (send.identifier_types[i]) {
		case WCP_CD_ID_VIRTGPU_BLOB: {
			struct wcp_emu_resource *resource = emu_device_attached(cd->file, id);
			if (resource == NULL || resource->blob_mem == WCP_VIRTGPU_BLOB_MEM_GUEST) {
				wcp_log(WCP_ERROR,
					"invalid resource id %u in SEND: not attached to "
					"the context or without host memory",
					id);
				goto error_drop;
			}
			fds[i] = resource->fd;
			break;
		}
		case WCP_CD_ID_READ_PIPE: {
			if (pipe_read >= 0) {
				wcp_log(WCP_ERROR, "invalid SEND: more than one read pipe");
				goto error_drop;
			}
			int p[2];
			if (pipe2(p, O_CLOEXEC) < 0) {
				wcp_log_errno(WCP_ERROR, "pipe2");
				goto error_drop;
			}
			pipe_read = p[0];
			pipe_write = p[1];
			// RG takes the next id before checking the guess, so a bad guess uses it up.
			pipe_id = ++cd->last_read_pipe_id;
			if (pipe_id < WCP_CD_PIPE_READ_START) {
				pipe_id = cd->last_read_pipe_id = WCP_CD_PIPE_READ_START;
			}
			if (id != pipe_id) {
				wcp_log(WCP_ERROR,
					"invalid read pipe id 0x%08x in SEND: the host's is "
					"0x%08x",
					id, pipe_id);
				goto error_drop;
			}
			fds[i] = pipe_write;
			break;
		}
		default:
			wcp_log(WCP_ERROR, "invalid identifier type %u in SEND",
				send.identifier_types[i]);
			goto error_drop;
		}
	}
	if (cd->socket < 0) {
		wcp_log(WCP_ERROR, "SEND without a connected channel; dropped");
		goto error_drop;
	}

	struct iovec iov = {
		.iov_base = (void *)(cmd + sizeof(send)),
		.iov_len = send.opaque_data_size,
	};
	ssize_t sent = fdpass_send(cd->socket, &iov, 1, fds, send.num_identifiers, 0);
	if (sent != (ssize_t)send.opaque_data_size) {
		wcp_log_errno(WCP_ERROR, "sending to the Wayland compositor failed");
		goto error_drop;
	}
	if (pipe_read < 0) {
		return;
	}
	close(pipe_write);
	struct wcp_emu_read_pipe *pipe = calloc(1, sizeof(*pipe));
	if (pipe == NULL) {
		wcp_log(WCP_ERROR, "out of memory");
		close(pipe_read);
		return;
	}
	pipe->cd = cd;
	pipe->id = pipe_id;
	pipe->fd = pipe_read;
	wl_list_insert(cd->read_pipes.prev, &pipe->link);
	wl_list_insert(&cd->host->read_pipes, &pipe->host_link);
	watch_sources(cd);
	return;

error_drop:
	drop_pipes(pipe_read, pipe_write);
}

static int on_write_pipe_writable(int fd, uint32_t mask, void *data);

/** Writes what waits for a host write pipe, as far as its reader lets it. */
static void flush_write_pipe(struct wcp_emu_item *item) {
	while (item->pending_len > 0) {
		ssize_t n = write(item->fd, item->pending + item->pending_off, item->pending_len);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 && errno == EAGAIN) {
			break;
		}
		if (n < 0) {
			// The reader is gone: what the guest still sends is dropped.
			wcp_log_errno(WCP_DEBUG, "writing to write pipe %u failed", item->id);
			item->pending_len = 0;
			break;
		}
		item->pending_off += (size_t)n;
		item->pending_len -= (size_t)n;
	}
	if (item->pending_len == 0) {
		item->pending_off = 0;
	}
	if (item->pending_len > 0) {
		if (item->source == NULL) {
			item->source = wl_event_loop_add_fd(item->loop, item->fd, WL_EVENT_WRITABLE,
				on_write_pipe_writable, item);
			if (item->source == NULL) {
				wcp_log_errno(
					WCP_ERROR, "cannot watch write pipe %u; dropped", item->id);
				item_destroy(item);
			}
		}
		return;
	}
	if (item->source != NULL) {
		wl_event_source_remove(item->source);
		item->source = NULL;
	}
	if (item->hang_up) {
		item_destroy(item);
	}
}

/**
 * Whether a host write pipe is one of the emulator's own read pipes, whose
 * reader is this loop: the host passed a guest's read pipe on to another
 * guest (or the same one) to fill, as a compositor does with a selection
 * from one client to another.
 */
static bool feeds_own_read_pipe(struct wcp_emu_host *host, struct wcp_emu_item *item) {
	struct stat st;
	if (fstat(item->fd, &st) != 0) {
		return false;
	}
	struct wcp_emu_read_pipe *pipe;
	wl_list_for_each(pipe, &host->read_pipes, host_link) {
		struct stat own;
		if (fstat(pipe->fd, &own) == 0 && own.st_ino == st.st_ino &&
			own.st_dev == st.st_dev) {
			return true;
		}
	}
	return false;
}

/**
 * Waits until the pipe's reader has taken enough that `more` bytes fit in
 * the queue; not for a reader that is this loop itself, which would wait
 * for ever: that queue grows instead, as the guest reads through POLLs.
 */
static void wait_for_reader(struct wcp_emu_host *host, struct wcp_emu_item *item, size_t more) {
	if (item->pending_len + more > EMU_PIPE_QUEUE_MAX && !item->feeds_emulator &&
		feeds_own_read_pipe(host, item)) {
		wcp_log(WCP_DEBUG,
			"write pipe %u feeds a read pipe of this emulator: not waited for",
			item->id);
		item->feeds_emulator = true;
	}
	while (!item->feeds_emulator && item->pending_len > 0 &&
		item->pending_len + more > EMU_PIPE_QUEUE_MAX) {
		struct pollfd pfd = {.fd = item->fd, .events = POLLOUT};
		if (poll(&pfd, 1, -1) < 0) {
			continue; // EINTR
		}
		ssize_t n = write(item->fd, item->pending + item->pending_off, item->pending_len);
		if (n > 0) {
			item->pending_off += (size_t)n;
			item->pending_len -= (size_t)n;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			wcp_log_errno(WCP_DEBUG, "writing to write pipe %u failed", item->id);
			item->pending_len = 0; // the reader is gone
		}
	}
	if (item->pending_len == 0) {
		item->pending_off = 0;
	}
	// A source still watching for room finds nothing or the rest; either is fine.
}

/** Appends to the queue, compacting it or growing it as needed; false when out of memory. */
static bool queue_write(struct wcp_emu_item *item, const uint8_t *data, size_t size) {
	if (item->pending_off > 0 &&
		item->pending_off + item->pending_len + size > item->pending_cap) {
		memmove(item->pending, item->pending + item->pending_off, item->pending_len);
		item->pending_off = 0;
	}
	size_t need = item->pending_off + item->pending_len + size;
	if (need > item->pending_cap) {
		size_t cap = item->pending_cap > 0 ? item->pending_cap : 65536;
		while (cap < need) {
			cap *= 2;
		}
		uint8_t *bigger = realloc(item->pending, cap);
		if (bigger == NULL) {
			return false;
		}
		item->pending = bigger;
		item->pending_cap = cap;
	}
	memcpy(item->pending + item->pending_off + item->pending_len, data, size);
	item->pending_len += size;
	return true;
}

static int on_write_pipe_writable(int fd, uint32_t mask, void *data) {
	flush_write_pipe(data);
	return 0;
}

static void cmd_write(struct wcp_emu_cd *cd, const uint8_t *cmd, size_t size) {
	struct wcp_cd_read_write w;
	if (size < sizeof(w)) {
		wcp_log(WCP_ERROR, "invalid cross domain command: WRITE of %zu bytes", size);
		return;
	}
	memcpy(&w, cmd, sizeof(w));
	if (w.opaque_data_size > size - sizeof(w)) {
		wcp_log(WCP_ERROR, "invalid WRITE: %u bytes in a %zu-byte command",
			w.opaque_data_size, size);
		return;
	}
	struct wcp_emu_item *item = find_item(cd, w.identifier);
	if (item == NULL || item->kind != EMU_ITEM_WRITE_PIPE) {
		wcp_log(WCP_ERROR, "invalid write pipe id %u in WRITE", w.identifier);
		return;
	}
	if (item->hang_up) {
		wcp_log(WCP_ERROR, "WRITE to write pipe %u after its hang-up", w.identifier);
		return;
	}
	if (w.opaque_data_size > 0) {
		wait_for_reader(cd->host, item, w.opaque_data_size);
		if (!queue_write(item, cmd + sizeof(w), w.opaque_data_size)) {
			wcp_log(WCP_ERROR, "out of memory: write pipe %u dropped", w.identifier);
			item_destroy(item);
			return;
		}
	}
	item->hang_up = w.hang_up != 0;
	if (item->source == NULL) {
		flush_write_pipe(item);
	}
}

bool emu_cross_domain_submit(struct wcp_emu_cd *cd, const uint8_t *commands, size_t size) {
	size_t offset = 0;
	bool finished = true;
	while (offset < size) {
		struct wcp_cd_header hdr;
		if (size - offset < sizeof(hdr)) {
			wcp_log(WCP_ERROR, "invalid cross domain command: %zu trailing bytes",
				size - offset);
			return finished;
		}
		memcpy(&hdr, commands + offset, sizeof(hdr));
		if (hdr.cmd_size < sizeof(hdr) || hdr.cmd_size > size - offset) {
			wcp_log(WCP_ERROR,
				"invalid cross domain command: cmd_size %u at offset %zu "
				"of a %zu-byte submission; the rest is dropped",
				hdr.cmd_size, offset, size);
			return finished;
		}
		const uint8_t *cmd = commands + offset;
		switch (hdr.cmd) {
		case WCP_CD_CMD_INIT:
			cmd_init(cd, cmd, hdr.cmd_size);
			break;
		case WCP_CD_CMD_GET_IMAGE_REQUIREMENTS:
			if (cd->host->config.stalled_images) {
				// A host stuck in its allocator: no answer, no fence.
				finished = false;
			} else {
				cmd_get_image_requirements(cd, cmd, hdr.cmd_size);
			}
			break;
		case WCP_CD_CMD_POLL:
			// A no-op: the channel fence that comes with it is what waits (1.4).
			if (hdr.cmd_size < sizeof(struct wcp_cd_poll)) {
				wcp_log(WCP_ERROR, "invalid cross domain command: POLL of %u bytes",
					hdr.cmd_size);
			}
			break;
		case WCP_CD_CMD_SEND:
			cmd_send(cd, cmd, hdr.cmd_size);
			break;
		case WCP_CD_CMD_WRITE:
			cmd_write(cd, cmd, hdr.cmd_size);
			break;
		default:
			wcp_log(WCP_ERROR, "invalid cross domain command %u", hdr.cmd);
			break;
		}
		offset += hdr.cmd_size;
	}
	return finished;
}

int emu_cross_domain_blob(struct wcp_emu_cd *cd, uint64_t blob_id, uint64_t size, int *fd) {
	struct wcp_emu_item *item = find_item(cd, blob_id);
	if (item == NULL || item->kind == EMU_ITEM_WRITE_PIPE) {
		wcp_log(WCP_ERROR, "invalid blob id %llu", (unsigned long long)blob_id);
		return -EINVAL;
	}
	if (size != item->size) {
		wcp_log(WCP_ERROR, "blob size mismatch: %llu requested, item %u has %llu",
			(unsigned long long)size, item->id, (unsigned long long)item->size);
		return -EINVAL;
	}
	if (item->kind == EMU_ITEM_TEMPLATE) {
		*fd = emu_resource_memfd(size);
		return *fd < 0 ? -ENOMEM : 0;
	}
	// A received memory fd backs exactly one blob.
	*fd = item->fd;
	item->fd = -1;
	item_destroy(item);
	return 0;
}

void emu_cross_domain_host_finish(struct wcp_emu_host *host) {
	struct wcp_emu_item *item, *tmp;
	wl_list_for_each_safe(item, tmp, &host->draining, link) {
		item_destroy(item);
	}
}
