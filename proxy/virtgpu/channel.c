#include "virtgpu/channel.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"

struct wcp_cd_image_cache_entry {
	uint32_t width, height, drm_format, flags;
	struct wcp_cd_image_requirements reqs;
	struct wl_list link; // wcp_cd_channel.image_cache
};

static bool submit(struct wcp_cd_channel *channel, const void *cmd, size_t size, uint32_t ring,
	const uint32_t *bos, uint32_t count) {
	int ret = virtgpu_execbuffer(channel->device, cmd, (uint32_t)size, ring, bos, count);
	if (ret < 0) {
		errno = -ret;
		wcp_log_errno(WCP_ERROR, "%s: cannot submit a cross-domain command",
			channel->device->name);
		channel->failed = true;
		return false;
	}
	return true;
}

static bool submit_poll(struct wcp_cd_channel *channel) {
	struct wcp_cd_poll poll = {
		.hdr = {.cmd = WCP_CD_CMD_POLL, .cmd_size = sizeof(poll)},
	};
	// A host that signals the fence without writing an event leaves a
	// header of no command, not the last event to be taken again.
	memset(channel->channel_ring, 0, sizeof(struct wcp_cd_header));
	// The host answers only on the channel ring, and only one event per POLL.
	if (!submit(channel, &poll, sizeof(poll), WCP_CD_CHANNEL_RING, NULL, 0)) {
		return false;
	}
	channel->poll_pending = true;
	return true;
}

static void handle_receive(struct wcp_cd_channel *channel, const uint8_t *ring) {
	struct wcp_cd_send_receive msg;
	memcpy(&msg, ring, sizeof(msg));
	if (msg.num_identifiers > WCP_CD_MAX_IDENTIFIERS ||
		msg.opaque_data_size > WCP_CD_MAX_RECEIVE_DATA) {
		wcp_log(WCP_ERROR, "%s: malformed RECEIVE (%" PRIu32 " ids, %" PRIu32 " bytes)",
			channel->device->name, msg.num_identifiers, msg.opaque_data_size);
		channel->failed = true;
		return;
	}
	if (msg.num_identifiers == 0 && msg.opaque_data_size == 0) {
		// An empty RECEIVE is how hosts report EOF (cross-domain.md 1.4).
		channel->eof = true;
		channel->listener->eof(channel->listener_data);
		return;
	}
	struct wcp_cd_item items[WCP_CD_MAX_IDENTIFIERS];
	for (uint32_t i = 0; i < msg.num_identifiers; i++) {
		items[i] = (struct wcp_cd_item){
			.id = msg.identifiers[i],
			.type = msg.identifier_types[i],
			.size = msg.identifier_sizes[i],
		};
	}
	channel->listener->receive(channel->listener_data, ring + sizeof(msg), msg.opaque_data_size,
		items, msg.num_identifiers);
}

static void handle_read(struct wcp_cd_channel *channel, const uint8_t *ring) {
	struct wcp_cd_read_write msg;
	memcpy(&msg, ring, sizeof(msg));
	if (msg.opaque_data_size > WCP_CD_MAX_READ_DATA) {
		wcp_log(WCP_ERROR, "%s: malformed READ (%" PRIu32 " bytes)", channel->device->name,
			msg.opaque_data_size);
		channel->failed = true;
		return;
	}
	channel->listener->read(channel->listener_data, msg.identifier, ring + sizeof(msg),
		msg.opaque_data_size, msg.hang_up != 0);
}

static void end_if_failed(struct wcp_cd_channel *channel) {
	if (channel->failed && !channel->eof) {
		// No more host events will come: the channel is over for its user.
		channel->eof = true;
		channel->listener->eof(channel->listener_data);
	}
}

/** Handles the event the host wrote for the POLL in flight. */
static void handle_channel_event(struct wcp_cd_channel *channel) {
	channel->poll_pending = false;
	// The host overwrites the ring for the next POLL, so the event is
	// consumed in full before that POLL is submitted.
	struct wcp_cd_header hdr;
	memcpy(&hdr, channel->channel_ring, sizeof(hdr));
	switch (hdr.cmd) {
	case WCP_CD_CMD_RECEIVE:
		handle_receive(channel, channel->channel_ring);
		break;
	case WCP_CD_CMD_READ:
		handle_read(channel, channel->channel_ring);
		break;
	case 0:
		// Cleared by submit_poll: the host wrote nothing.
		if (!channel->blank_logged) {
			wcp_log(WCP_ERROR, "%s: the host signalled a POLL with no event; ignored",
				channel->device->name);
			channel->blank_logged = true;
		}
		break;
	default:
		wcp_log(WCP_ERROR, "%s: unexpected host event %u on the channel ring",
			channel->device->name, (unsigned int)hdr.cmd);
		break;
	}
	// The next POLL waits for channel_flush: the owner first passes this
	// event on, and the host's next one cannot come sooner than it is read.
	channel->poll_owed = !channel->eof && !channel->failed;
	end_if_failed(channel);
}

void channel_flush(struct wcp_cd_channel *channel) {
	if (!channel->poll_owed) {
		return;
	}
	channel->poll_owed = false;
	submit_poll(channel);
	end_if_failed(channel);
}

static int handle_device_event(int fd, uint32_t mask, void *data) {
	struct wcp_cd_channel *channel = data;
	struct drm_event events[16];
	ssize_t len = read(fd, events, sizeof(events));
	if (len < 0) {
		if (errno == EAGAIN || errno == EINTR) {
			return 0;
		}
		wcp_log_errno(WCP_ERROR, "%s: reading fence events", channel->device->name);
		len = 0;
	}
	if (len == 0) {
		if (!channel->eof) {
			wcp_log(WCP_ERROR, "%s: the device went away", channel->device->name);
			channel->eof = true;
			channel->listener->eof(channel->listener_data);
		}
		// A hang-up is reported whatever the mask: the source has to go.
		wl_event_source_remove(channel->event_source);
		channel->event_source = NULL;
		return 0;
	}
	size_t count = (size_t)len / sizeof(events[0]);
	for (size_t i = 0; i < count; i++) {
		// Only ring-1 submissions make events; each one is one POLL's answer.
		if (events[i].type == WCP_VIRTGPU_EVENT_FENCE_SIGNALED && channel->poll_pending) {
			handle_channel_event(channel);
		}
	}
	return 0;
}

static bool create_ring(
	struct wcp_cd_channel *channel, uint32_t *bo, uint32_t *res, uint8_t **map) {
	int ret = virtgpu_create_blob(channel->device, WCP_VIRTGPU_BLOB_MEM_GUEST,
		WCP_VIRTGPU_BLOB_FLAG_USE_MAPPABLE, WCP_CD_RING_SIZE, 0, bo, res);
	if (ret < 0) {
		errno = -ret;
		wcp_log_errno(WCP_ERROR, "%s: cannot create a ring page", channel->device->name);
		return false;
	}
	*map = virtgpu_map(channel->device, *bo, WCP_CD_RING_SIZE);
	if (*map == NULL) {
		wcp_log_errno(WCP_ERROR, "%s: cannot map a ring page", channel->device->name);
		virtgpu_gem_close(channel->device, *bo);
		*bo = 0;
		return false;
	}
	return true;
}

struct wcp_cd_channel *channel_create(struct wl_event_loop *loop, struct wcp_virtgpu_device *device,
	uint32_t channel_type, const struct wcp_cd_channel_listener *listener, void *data) {
	struct wcp_cd_channel *channel = calloc(1, sizeof(*channel));
	if (channel == NULL) {
		wcp_log(WCP_ERROR, "out of memory");
		virtgpu_device_destroy(device);
		return NULL;
	}
	channel->device = device;
	channel->listener = listener;
	channel->listener_data = data;
	channel->last_read_pipe_id = WCP_CD_PIPE_READ_START;
	wl_list_init(&channel->image_cache);

	const struct wcp_virtgpu_context_set_param params[] = {
		{WCP_VIRTGPU_CONTEXT_PARAM_CAPSET_ID, WCP_VIRTGPU_CAPSET_CROSS_DOMAIN},
		{WCP_VIRTGPU_CONTEXT_PARAM_NUM_RINGS, 2},
		{WCP_VIRTGPU_CONTEXT_PARAM_POLL_RINGS_MASK, 1u << WCP_CD_CHANNEL_RING},
	};
	int ret = virtgpu_context_init(device, params, 3);
	if (ret < 0) {
		errno = -ret;
		wcp_log_errno(WCP_ERROR, "%s: cannot create a cross-domain context", device->name);
		goto error;
	}
	if (!create_ring(channel, &channel->query_bo, &channel->query_res, &channel->query_ring) ||
		!create_ring(channel, &channel->channel_bo, &channel->channel_res,
			&channel->channel_ring)) {
		goto error;
	}

	struct wcp_cd_init init = {
		.hdr = {.cmd = WCP_CD_CMD_INIT, .cmd_size = sizeof(init)},
		.query_ring_id = channel->query_res,
		.channel_ring_id = channel->channel_res,
		.channel_type = channel_type,
	};
	if (!submit(channel, &init, sizeof(init), WCP_VIRTGPU_RING_NONE, NULL, 0)) {
		goto error;
	}
	if (channel_type != WCP_CD_CHANNEL_NONE && !submit_poll(channel)) {
		goto error;
	}
	channel->event_source = wl_event_loop_add_fd(
		loop, device->event_fd, WL_EVENT_READABLE, handle_device_event, channel);
	if (channel->event_source == NULL) {
		wcp_log(WCP_ERROR, "%s: cannot watch the device's events", device->name);
		goto error;
	}
	return channel;

error:
	channel_destroy(channel);
	return NULL;
}

void channel_destroy(struct wcp_cd_channel *channel) {
	if (channel == NULL) {
		return;
	}
	struct wcp_cd_image_cache_entry *entry, *tmp;
	wl_list_for_each_safe(entry, tmp, &channel->image_cache, link) {
		wl_list_remove(&entry->link);
		free(entry);
	}
	if (channel->event_source != NULL) {
		wl_event_source_remove(channel->event_source);
	}
	if (channel->channel_ring != NULL) {
		munmap(channel->channel_ring, WCP_CD_RING_SIZE);
	}
	if (channel->query_ring != NULL) {
		munmap(channel->query_ring, WCP_CD_RING_SIZE);
	}
	if (channel->channel_bo != 0) {
		virtgpu_gem_close(channel->device, channel->channel_bo);
	}
	if (channel->query_bo != 0) {
		virtgpu_gem_close(channel->device, channel->query_bo);
	}
	virtgpu_device_destroy(channel->device);
	free(channel);
}

/** Submits a command made of a fixed part followed by `len` payload bytes. */
static bool submit_with_payload(struct wcp_cd_channel *channel, const void *head, size_t head_size,
	const void *bytes, size_t len) {
	size_t size = head_size + len;
	uint8_t *cmd = malloc(size);
	if (cmd == NULL) {
		wcp_log(WCP_ERROR, "out of memory");
		return false;
	}
	memcpy(cmd, head, head_size);
	if (len > 0) {
		memcpy(cmd + head_size, bytes, len);
	}
	bool ok = submit(channel, cmd, size, WCP_VIRTGPU_RING_NONE, NULL, 0);
	free(cmd);
	return ok;
}

bool channel_send(struct wcp_cd_channel *channel, const void *bytes, size_t len,
	const uint32_t *ids, const uint32_t *types, size_t count) {
	if (channel->failed) {
		return false;
	}
	if (len > WCP_CD_MAX_SEND_DATA || count > WCP_CD_MAX_IDENTIFIERS) {
		wcp_log(WCP_ERROR, "%s: a SEND of %zu bytes and %zu ids is too large",
			channel->device->name, len, count);
		return false;
	}
	struct wcp_cd_send_receive msg = {
		.hdr = {.cmd = WCP_CD_CMD_SEND, .cmd_size = (uint16_t)(sizeof(msg) + len)},
		.num_identifiers = (uint32_t)count,
		.opaque_data_size = (uint32_t)len,
	};
	for (size_t i = 0; i < count; i++) {
		msg.identifiers[i] = ids[i];
		msg.identifier_types[i] = types[i];
	}
	return submit_with_payload(channel, &msg, sizeof(msg), bytes, len);
}

uint32_t channel_predict_read_pipe_id(struct wcp_cd_channel *channel) {
	// The host pre-increments its counter and clamps it with
	// max(id, WCP_CD_PIPE_READ_START) when it wraps (cross-domain.md 2.10).
	uint32_t next = channel->last_read_pipe_id + 1;
	if (next < WCP_CD_PIPE_READ_START) {
		next = WCP_CD_PIPE_READ_START;
	}
	channel->last_read_pipe_id = next;
	return next;
}

bool channel_write(struct wcp_cd_channel *channel, uint32_t pipe_id, const void *bytes, size_t len,
	bool hang_up) {
	if (channel->failed) {
		return false;
	}
	if (len > WCP_CD_MAX_WRITE_DATA) {
		wcp_log(WCP_ERROR, "%s: a WRITE of %zu bytes is too large", channel->device->name,
			len);
		return false;
	}
	struct wcp_cd_read_write msg = {
		.hdr = {.cmd = WCP_CD_CMD_WRITE, .cmd_size = (uint16_t)(sizeof(msg) + len)},
		.identifier = pipe_id,
		.hang_up = hang_up ? 1 : 0,
		.opaque_data_size = (uint32_t)len,
	};
	return submit_with_payload(channel, &msg, sizeof(msg), bytes, len);
}

bool channel_image_requirements(struct wcp_cd_channel *channel, uint32_t width, uint32_t height,
	uint32_t drm_format, uint32_t flags, struct wcp_cd_image_requirements *out) {
	struct wcp_cd_image_cache_entry *entry;
	wl_list_for_each(entry, &channel->image_cache, link) {
		if (entry->width == width && entry->height == height &&
			entry->drm_format == drm_format && entry->flags == flags) {
			*out = entry->reqs;
			return true;
		}
	}
	entry = calloc(1, sizeof(*entry));
	if (entry == NULL) {
		wcp_log(WCP_ERROR, "out of memory");
		return false;
	}
	struct wcp_cd_get_image_requirements cmd = {
		.hdr = {.cmd = WCP_CD_CMD_GET_IMAGE_REQUIREMENTS, .cmd_size = sizeof(cmd)},
		.width = width,
		.height = height,
		.drm_format = drm_format,
		.flags = flags,
	};
	// A host that cannot allocate writes nothing: a cleared page tells that
	// apart from the previous query's answer.
	memset(channel->query_ring, 0, sizeof(struct wcp_cd_image_requirements));
	// Naming the query ring's bo attaches the fence to it, which WAIT needs.
	if (!submit(channel, &cmd, sizeof(cmd), WCP_CD_QUERY_RING, &channel->query_bo, 1)) {
		free(entry);
		return false;
	}
	int ret;
	do {
		ret = virtgpu_wait(channel->device, channel->query_bo, false);
	} while (ret == -EINTR);
	if (ret < 0) {
		// EBUSY: the kernel gave up after its 15 s. An answer that came
		// later would land on the next query's page: the channel is over.
		errno = -ret;
		wcp_log_errno(WCP_ERROR,
			ret == -EBUSY ? "%s: the host did not answer a query for image requirements"
				      : "%s: waiting for image requirements",
			channel->device->name);
		channel->failed = true;
		free(entry);
		return false;
	}
	*entry = (struct wcp_cd_image_cache_entry){
		.width = width,
		.height = height,
		.drm_format = drm_format,
		.flags = flags,
	};
	memcpy(&entry->reqs, channel->query_ring, sizeof(entry->reqs));
	if (entry->reqs.size == 0) {
		wcp_log(WCP_ERROR,
			"%s: the host cannot allocate %" PRIu32 "x%" PRIu32
			" images of format 0x%08" PRIx32,
			channel->device->name, width, height, drm_format);
		free(entry);
		return false;
	}
	wl_list_insert(&channel->image_cache, &entry->link);
	*out = entry->reqs;
	return true;
}

int channel_blob_fd(struct wcp_cd_channel *channel, uint32_t blob_id, uint64_t size) {
	uint32_t bo, res;
	int ret = virtgpu_create_blob(channel->device, WCP_VIRTGPU_BLOB_MEM_HOST3D,
		WCP_VIRTGPU_BLOB_FLAG_USE_MAPPABLE | WCP_VIRTGPU_BLOB_FLAG_USE_SHAREABLE, size,
		blob_id, &bo, &res);
	if (ret < 0) {
		errno = -ret;
		wcp_log_errno(WCP_ERROR, "%s: cannot create a blob from host item %" PRIu32,
			channel->device->name, blob_id);
		return -1;
	}
	int fd = virtgpu_prime_handle_to_fd(channel->device, bo);
	// The exported fd keeps the resource alive; the handle is no longer needed.
	virtgpu_gem_close(channel->device, bo);
	if (fd < 0) {
		errno = -fd;
		wcp_log_errno(WCP_ERROR, "%s: cannot export host item %" PRIu32,
			channel->device->name, blob_id);
		return -1;
	}
	return fd;
}

bool channel_import_fd(
	struct wcp_cd_channel *channel, int fd, uint32_t *res_id, uint32_t *bo_handle) {
	int ret = virtgpu_prime_fd_to_handle(channel->device, fd, bo_handle);
	if (ret < 0) {
		errno = -ret;
		wcp_log_errno(WCP_DEBUG, "%s: fd %d is not a buffer of this device",
			channel->device->name, fd);
		return false;
	}
	uint32_t blob_mem;
	ret = virtgpu_resource_info(channel->device, *bo_handle, res_id, NULL, &blob_mem);
	if (ret < 0) {
		errno = -ret;
		wcp_log_errno(WCP_ERROR, "%s: cannot look up the resource of fd %d",
			channel->device->name, fd);
		virtgpu_gem_close(channel->device, *bo_handle);
		return false;
	}
	if (blob_mem != WCP_VIRTGPU_BLOB_MEM_HOST3D &&
		blob_mem != WCP_VIRTGPU_BLOB_MEM_HOST3D_GUEST) {
		// The host finds no memory of its own behind such a resource, and
		// drops the whole SEND that names it, bytes and all, unannounced.
		wcp_log(WCP_ERROR,
			"%s: fd %d is resource %" PRIu32 " without host memory (blob type %" PRIu32
			"), which the host cannot take",
			channel->device->name, fd, *res_id, blob_mem);
		virtgpu_gem_close(channel->device, *bo_handle);
		return false;
	}
	return true;
}
